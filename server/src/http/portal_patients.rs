//! The care-team portal's patient pages (`docs/portal.md`, "Patients" and "Entering results"):
//!
//! | page | what |
//! |---|---|
//! | `GET /portal/patients?identifier=` | find a consented patient by an identifier the family shared |
//! | `GET /portal/patients/{id}` | the patient page (charts, checkups, immunizations, medications, timeline) |
//! | `GET /portal/patients/{id}/results/{form}` | a result form (`prenatal_visit`, `child_checkup`, `immunization`) |
//! | `POST /portal/patients/{id}/results/{form}` | saves it (form fields + the session's CSRF token in `csrf`): 303 to the patient page, or the form again (422) with each problem at its field |
//!
//! Without a session every page redirects to the sign-in page (303). The language is the
//! `lang` query parameter (`ja` or `en`, remembered in the `phr_portal_lang` cookie), else that
//! cookie, else the browser's `Accept-Language`, else Japanese. The rules are in
//! `crate::app::portal::{patients, results}`; pages are askama templates.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::error::AppError;
use crate::app::portal::patients::{self, DoseRow, DoseStateKind, PatientKind, PatientListing, PatientView};
use crate::app::portal::results::{self, field_label, FieldKind, FormErrors, ResultForm};
use crate::app::App;
use crate::http::portal_session::{answer, chrome, posted_form, refused, signed_in, staff_session, Chrome, Texts};

fn kind_label(t: &Texts, kind: PatientKind) -> String {
    t.get(match kind {
        PatientKind::Mother => "portal-patient-mother",
        PatientKind::Child => "portal-patient-child",
    })
}

/// A found patient as the results table shows them.
struct FoundRow {
    patient_id: String,
    name: Option<String>,
    kind: String,
    birth_date: Option<String>,
    identifiers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "portal/patients.html")]
struct PatientsPage {
    title: String,
    c: Chrome,
    consented: String,
    query: String,
    searched: bool,
    problem: Option<String>,
    found: Vec<FoundRow>,
}

/// `GET /portal/patients?identifier=`.
pub async fn patients(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let (staff, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let query = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "identifier")
        .map(|(_, v)| v.into_owned());
    let count = match patients::count(&app, &staff).await {
        Ok(n) => n,
        Err(e) => return refused(e),
    };
    let (found, problem, status) = match &query {
        None => (Vec::new(), None, StatusCode::OK),
        Some(q) => match patients::find(&app, &staff, q).await {
            Ok(found) => (found, None, StatusCode::OK),
            Err(AppError::BadRequest(_)) => {
                (Vec::new(), Some(c.t.get("portal-search-invalid")), StatusCode::BAD_REQUEST)
            }
            Err(e) => return refused(e),
        },
    };
    let found = found
        .into_iter()
        .map(|p: PatientListing| FoundRow {
            kind: kind_label(&c.t, p.kind),
            patient_id: p.patient_id,
            name: p.name,
            birth_date: p.birth_date,
            identifiers: p.identifiers,
        })
        .collect();
    let lang = c.t.lang;
    let template = PatientsPage {
        title: c.t.get("portal-patients-title"),
        consented: c.t.count("portal-patients-consented", "count", count),
        searched: query.is_some(),
        query: query.unwrap_or_default(),
        problem,
        found,
        c,
    };
    answer(status, &template, lang, remember)
}

impl DoseRow {
    /// The CSS class of the row's state.
    pub fn state_class(&self) -> &'static str {
        match self.state {
            DoseStateKind::Done => "done",
            DoseStateKind::Due => "due",
            DoseStateKind::Overdue => "overdue",
            DoseStateKind::Upcoming => "upcoming",
            DoseStateKind::NotApplicable => "not-applicable",
        }
    }
}

#[derive(Template)]
#[template(path = "portal/patient.html")]
struct PatientPage {
    title: String,
    c: Chrome,
    kind: String,
    p: PatientView,
    /// (href, label) of each result form for this patient.
    forms: Vec<(String, String)>,
    saved: Option<String>,
}

fn form_title(t: &Texts, form: ResultForm) -> String {
    t.with("portal-enter", "module", form.kind().label(t.lang))
}

/// `GET /portal/patients/{id}`.
pub async fn patient(app: web::Data<App>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let (staff, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let id = id.into_inner();
    let view = match patients::view(&app, &staff, id.clone(), c.t.lang.to_owned()).await {
        Ok(v) => v,
        Err(e) => return refused(e),
    };
    let saved = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "saved")
        .and_then(|(_, v)| ResultForm::parse(&v))
        .map(|f| c.t.with("portal-saved", "module", f.kind().label(c.t.lang)));
    let kind = kind_label(&c.t, view.patient.kind);
    let forms = ResultForm::ALL
        .into_iter()
        .filter(|f| match view.patient.kind {
            PatientKind::Mother => f.fits(&phr_core::dataset::Subject::Mother),
            PatientKind::Child => f.fits(&phr_core::dataset::Subject::Child(uuid::Uuid::nil())),
        })
        .map(|f| (format!("/portal/patients/{id}/results/{}", f.slug()), form_title(&c.t, f)))
        .collect();
    let lang = c.t.lang;
    let title = view.patient.name.clone().unwrap_or_else(|| c.t.get("portal-patient-unnamed"));
    let template = PatientPage { title, kind, p: view, forms, saved, c };
    answer(StatusCode::OK, &template, lang, remember)
}

/// One field of a result form as the page shows it.
struct FieldView {
    path: &'static str,
    label: String,
    /// `date`, `text`, `number`, `checkbox`, `textarea` or `select`.
    input: &'static str,
    value: String,
    required: bool,
    unit: Option<&'static str>,
    options: Vec<(&'static str, String, bool)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/result_form.html")]
struct ResultFormPage {
    title: String,
    c: Chrome,
    heading: String,
    patient_id: String,
    slug: &'static str,
    fields: Vec<FieldView>,
    general: Vec<String>,
}

fn field_views(form: ResultForm, lang: &str, values: &[(String, String)], errors: &FormErrors) -> Vec<FieldView> {
    form.fields()
        .iter()
        .map(|f| {
            let value = values.iter().find(|(k, _)| k == f.path).map(|(_, v)| v.clone()).unwrap_or_default();
            let (input, unit, options) = match f.kind {
                FieldKind::Date => ("date", None, Vec::new()),
                FieldKind::Text(max) if max > 200 => ("textarea", None, Vec::new()),
                FieldKind::Text(_) => ("text", None, Vec::new()),
                FieldKind::Quantity(unit) => ("text", Some(unit), Vec::new()),
                FieldKind::Integer => ("number", None, Vec::new()),
                FieldKind::Boolean => ("checkbox", None, Vec::new()),
                FieldKind::Code(vocabulary) => (
                    "select",
                    None,
                    vocabulary.codes.iter().map(|code| (*code, vocabulary.label(code, lang), *code == value)).collect(),
                ),
            };
            FieldView {
                path: f.path,
                label: field_label(form, f.path, lang),
                input,
                value,
                required: f.required,
                unit,
                options,
                error: errors.fields.get(f.path).cloned(),
            }
        })
        .collect()
}

fn result_form_page(
    c: Chrome,
    patient_id: String,
    form: ResultForm,
    values: &[(String, String)],
    errors: &FormErrors,
) -> ResultFormPage {
    let heading = form_title(&c.t, form);
    ResultFormPage {
        title: heading.clone(),
        fields: field_views(form, c.t.lang, values, errors),
        general: errors.general.clone(),
        heading,
        patient_id,
        slug: form.slug(),
        c,
    }
}

fn form_of(slug: &str) -> Result<ResultForm, AppError> {
    ResultForm::parse(slug).ok_or_else(|| AppError::NotFound("no such result form".into()))
}

/// `GET /portal/patients/{id}/results/{form}`: the empty form (today's date, the organization
/// as the facility).
pub async fn result_form(app: web::Data<App>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (staff, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let (id, slug) = path.into_inner();
    let form = match form_of(&slug) {
        Ok(f) => f,
        Err(e) => return refused(e),
    };
    match patients::kind_of(&app, &staff, id.clone()).await {
        Ok(kind) if form.fits(&kind) => {}
        Ok(_) => return refused(AppError::NotFound("this form is not for this patient".into())),
        Err(e) => return refused(e),
    }
    let today = chrono::Utc::now().date_naive().to_string();
    let mut defaults = vec![
        (form.date_field().to_owned(), today),
        (form.facility_field().to_owned(), staff.organization_name.clone()),
    ];
    if form == ResultForm::Immunization {
        defaults.push(("routine".to_owned(), "on".to_owned()));
    }
    let lang = c.t.lang;
    let template = result_form_page(c, id, form, &defaults, &FormErrors::default());
    answer(StatusCode::OK, &template, lang, remember)
}

/// `POST /portal/patients/{id}/results/{form}` (`application/x-www-form-urlencoded`).
pub async fn save_result(
    app: web::Data<App>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let staff = match staff_session(&app, &req).await {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let (id, slug) = path.into_inner();
    let form = match form_of(&slug) {
        Ok(f) => f,
        Err(e) => return refused(e),
    };
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return refused(AppError::UnsupportedMediaType("send the form as application/x-www-form-urlencoded".into()));
    }
    let values = match posted_form(&staff, &body) {
        Ok(values) => values,
        Err(e) => return refused(e),
    };
    let (c, _) = chrome(&req, &staff);
    match results::enter(&app, &staff, id.clone(), form, values.clone()).await {
        Ok(Ok(_)) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/portal/patients/{id}?saved={}", form.slug())))
            .finish(),
        Ok(Err(errors)) => {
            let lang = c.t.lang;
            let template = result_form_page(c, id, form, &values, &errors);
            answer(StatusCode::UNPROCESSABLE_ENTITY, &template, lang, false)
        }
        Err(e) => refused(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_form_page_shows_each_problem_at_its_field_and_escapes_what_was_typed() {
        let c = Chrome {
            t: Texts { lang: "en" },
            staff: "Sato".into(),
            organization: "Sakura".into(),
            csrf: "tok".into(),
            here: "/portal/patients/p/results/child_checkup".into(),
            emergency: false,
            admin: false,
        };
        let mut errors = FormErrors::default();
        errors.fields.insert("weight".into(), "must be a number".into());
        let values = vec![("weight".to_owned(), "<b>heavy</b>".to_owned())];
        let html = result_form_page(c, "p".into(), ResultForm::ChildCheckup, &values, &errors).render().unwrap();
        assert!(html.contains("must be a number"), "{html}");
        assert!(html.contains(r#"aria-invalid="true""#));
        assert!(!html.contains("<b>heavy"), "typed text is escaped");
        assert!(html.contains(r#"name="csrf" value="tok""#));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style="), "no inline style");
    }
}
