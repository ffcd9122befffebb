//! The care-team portal's municipal CSV upload pages (`docs/portal.md`, "Municipal upload";
//! the rules are `crate::app::portal::upload`):
//!
//! | page | what |
//! |---|---|
//! | `GET /portal/uploads` | the upload form and the templates |
//! | `GET /portal/uploads/{form}/template.csv` | the template of a form: its header row (`text/csv`, UTF-8) |
//! | `POST /portal/uploads` | `multipart/form-data`: `csrf`, `form`, `encoding`, `file` → the preview (200 when every row can be stored, 422 listing each row's problems; a file that cannot be read is a 400 page). Nothing is stored |
//! | `POST /portal/uploads/commit` | `application/x-www-form-urlencoded`: `csrf`, `form`, `csv` (the preview's file, as text) → every row stored (200, the report), or none (422, the preview again) |

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt as _;

use crate::app::error::AppError;
use crate::app::portal::results::ResultForm;
use crate::app::portal::upload::{self, Encoding, RowOutcome, UploadReport, MAX_BYTES};
use crate::app::portal::{self as portal_app, StaffSession};
use crate::app::App;
use crate::http::portal_session::{answer, field, posted_form, refused, signed_in, staff_session, Chrome};

/// The forms a file may hold results of.
const UPLOAD_FORMS: [ResultForm; 3] = [ResultForm::ChildCheckup, ResultForm::Immunization, ResultForm::PrenatalVisit];
/// Most bytes of a form field other than the file.
const MAX_FIELD_BYTES: usize = 256;

#[derive(Template)]
#[template(path = "portal/upload.html")]
struct UploadPage {
    title: String,
    c: Chrome,
    forms: Vec<(&'static str, String)>,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/upload_report.html")]
struct ReportPage {
    title: String,
    c: Chrome,
    heading: String,
    summary: String,
    problems: usize,
    committed: bool,
    slug: &'static str,
    rows: Vec<RowOutcome>,
    /// The file as text, for the commit.
    csv: String,
}

fn forms(c: &Chrome) -> Vec<(&'static str, String)> {
    UPLOAD_FORMS.iter().map(|f| (f.slug(), f.kind().label(c.t.lang))).collect()
}

fn upload_page(c: Chrome, problem: Option<String>) -> UploadPage {
    UploadPage { title: c.t.get("portal-upload-title"), forms: forms(&c), problem, c }
}

/// `GET /portal/uploads`.
pub async fn page(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let (_, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    answer(StatusCode::OK, &upload_page(c, None), lang, remember)
}

fn upload_form(slug: &str) -> Result<ResultForm, AppError> {
    ResultForm::parse(slug)
        .filter(|f| UPLOAD_FORMS.contains(f))
        .ok_or_else(|| AppError::NotFound("no such upload form".into()))
}

/// `GET /portal/uploads/{form}/template.csv`.
pub async fn template(app: web::Data<App>, req: HttpRequest, slug: web::Path<String>) -> HttpResponse {
    if let Err(e) = staff_session(&app, &req).await {
        return refused(e);
    }
    match upload_form(&slug) {
        Ok(form) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", form.slug())))
            .body(upload::template(form)),
        Err(e) => refused(e),
    }
}

/// The multipart fields of an upload: (csrf, form, encoding, file bytes).
async fn read_upload(mut body: Multipart) -> Result<(Option<String>, String, String, Vec<u8>), AppError> {
    let bad = |m: &str| AppError::BadRequest(m.to_owned());
    let (mut csrf, mut form, mut encoding, mut file) = (None, String::new(), String::new(), None);
    while let Some(field) = body.next().await {
        let mut field = field.map_err(|_| bad("the upload is not a readable multipart/form-data body"))?;
        let name = field.content_disposition().and_then(|d| d.get_name()).unwrap_or_default().to_owned();
        let limit = if name == "file" { MAX_BYTES } else { MAX_FIELD_BYTES };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad("the upload is not a readable multipart/form-data body"))?;
            if bytes.len() + chunk.len() > limit {
                return Err(AppError::PayloadTooLarge(format!("the {name} field may have at most {limit} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8(bytes.clone()).map_err(|_| bad("a form field is not UTF-8"));
        match name.as_str() {
            "csrf" => csrf = Some(text()?),
            "form" => form = text()?,
            "encoding" => encoding = text()?,
            "file" => file = Some(bytes),
            _ => return Err(bad("the upload has a field it does not know")),
        }
    }
    Ok((csrf, form, encoding, file.ok_or_else(|| bad("the upload has no file"))?))
}

fn report_page(c: Chrome, report: UploadReport, csv: String) -> (StatusCode, ReportPage) {
    let problems = report.problem_rows();
    let rows = report.rows.len();
    let count = |key: &str, name: &str, n: usize| c.t.count(key, name, n);
    let (heading, summary, status) = if report.committed {
        (c.t.get("portal-upload-report-title"), count("portal-upload-summary-stored", "rows", rows), StatusCode::OK)
    } else if problems > 0 {
        (
            c.t.get("portal-upload-preview-title"),
            count("portal-upload-summary-problems", "problems", problems),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    } else {
        (c.t.get("portal-upload-preview-title"), count("portal-upload-summary-ok", "rows", rows), StatusCode::OK)
    };
    let page = ReportPage {
        title: heading.clone(),
        heading,
        summary,
        problems,
        committed: report.committed,
        slug: report.form.slug(),
        rows: report.rows,
        csv,
        c,
    };
    (status, page)
}

async fn preview_or_commit(
    app: &App,
    staff: &StaffSession,
    c: Chrome,
    form: ResultForm,
    text: String,
    commit: bool,
) -> HttpResponse {
    let lang = c.t.lang;
    let rows = match upload::parse(&text, form) {
        Ok(rows) => rows,
        Err(AppError::BadRequest(m)) | Err(AppError::PayloadTooLarge(m)) => {
            return answer(StatusCode::BAD_REQUEST, &upload_page(c, Some(m)), lang, false);
        }
        Err(e) => return refused(e),
    };
    match upload::process(app, staff, form, rows, commit).await {
        Ok(report) => {
            let (status, page) = report_page(c, report, text);
            answer(status, &page, lang, false)
        }
        Err(e) => refused(e),
    }
}

/// `POST /portal/uploads`: the preview.
pub async fn preview(app: web::Data<App>, req: HttpRequest, body: Multipart) -> HttpResponse {
    let (staff, c, _) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    let (csrf, form, encoding, file) = match read_upload(body).await {
        Ok(fields) => fields,
        Err(AppError::BadRequest(m)) | Err(AppError::PayloadTooLarge(m)) => {
            return answer(StatusCode::BAD_REQUEST, &upload_page(c, Some(m)), lang, false);
        }
        Err(e) => return refused(e),
    };
    if let Err(e) = portal_app::check_csrf(&staff, csrf.as_deref()) {
        return refused(e);
    }
    let form = match upload_form(&form) {
        Ok(f) => f,
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                &upload_page(c, Some("choose what the file holds".into())),
                lang,
                false,
            )
        }
    };
    let Some(encoding) = Encoding::parse(&encoding) else {
        return answer(StatusCode::BAD_REQUEST, &upload_page(c, Some("unknown encoding".into())), lang, false);
    };
    let text = match upload::decode(&file, encoding) {
        Ok(text) => text,
        Err(AppError::BadRequest(m)) => return answer(StatusCode::BAD_REQUEST, &upload_page(c, Some(m)), lang, false),
        Err(e) => return refused(e),
    };
    preview_or_commit(&app, &staff, c, form, text, false).await
}

/// `POST /portal/uploads/commit`.
pub async fn commit(app: web::Data<App>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (staff, c, _) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let fields = match posted_form(&staff, &body) {
        Ok(fields) => fields,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    let (form, csv) = (field(&fields, "form").unwrap_or_default(), field(&fields, "csv").map(str::to_owned));
    let (Ok(form), Some(csv)) = (upload_form(form), csv) else {
        return answer(StatusCode::BAD_REQUEST, &upload_page(c, Some("upload the file again".into())), lang, false);
    };
    preview_or_commit(&app, &staff, c, form, csv, true).await
}
