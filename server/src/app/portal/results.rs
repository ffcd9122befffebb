//! Entering results in the care-team portal: a prenatal checkup, an infant / child checkup or
//! a vaccination typed into a form becomes a new record of the family, validated by phr-core
//! and saved exactly as a FHIR write is ([`crate::app::fhir::write::write_record`]: sealed for
//! the family, its key wrapped under the writing organization's grant, the next change of the
//! family's log, audited `portal_write` naming the staff member) — it reaches the family's
//! phones at their next sync (`docs/portal.md`, "Entering results").
//!
//! A form's fields are named by the dataset's item paths (`weight`, `blood_pressure.systolic`,
//! `gestational_age.weeks`), so phr-core's validation problems, which name those paths, are
//! shown at the field they concern.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use phr_core::dataset::child_checkup::{CheckupType, MeasurementPosition, OverallJudgement};
use phr_core::dataset::common::Vocabulary;
use phr_core::dataset::immunization::{DoseSeries, InjectionSite, Vaccine};
use phr_core::dataset::prenatal_visit::{Edema, UrineStrip};
use phr_core::dataset::{item_label, RecordBody, RecordKind, Subject};
use serde_json::{Map, Value};

use super::patients::{resolve, staff_writer};
use super::StaffSession;
use crate::app::error::AppError;
use crate::app::fhir::write::write_record;
use crate::app::fhir::Visible;
use crate::app::App;

/// The result forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultForm {
    /// A prenatal checkup (妊婦健診) of the mother.
    PrenatalVisit,
    /// An infant / child checkup (乳幼児健診) of a child.
    ChildCheckup,
    /// A vaccine dose given to a child.
    Immunization,
}

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// `YYYY-MM-DD`.
    Date,
    /// Free text up to so many characters.
    Text(usize),
    /// A decimal number stored as a quantity in this UCUM unit.
    Quantity(&'static str),
    /// A whole number.
    Integer,
    /// Yes / no (a checkbox: absent is no).
    Boolean,
    /// One code of a dataset vocabulary (its codes, and its labels in the catalogs).
    Code(&'static Vocabulary),
}

/// One field of a form, named by its dataset item path.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub path: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

const fn field(path: &'static str, kind: FieldKind, required: bool) -> Field {
    Field { path, kind, required }
}

const PRENATAL_VISIT: &[Field] = &[
    field("visit_date", FieldKind::Date, true),
    field("gestational_age.weeks", FieldKind::Integer, false),
    field("gestational_age.days", FieldKind::Integer, false),
    field("body_weight", FieldKind::Quantity("kg"), false),
    field("blood_pressure.systolic", FieldKind::Quantity("mm[Hg]"), false),
    field("blood_pressure.diastolic", FieldKind::Quantity("mm[Hg]"), false),
    field("fundal_height", FieldKind::Quantity("cm"), false),
    field("abdominal_girth", FieldKind::Quantity("cm"), false),
    field("edema", FieldKind::Code(&Edema::VOCABULARY), false),
    field("urine_protein", FieldKind::Code(&UrineStrip::VOCABULARY), false),
    field("urine_glucose", FieldKind::Code(&UrineStrip::VOCABULARY), false),
    field("clinic_name", FieldKind::Text(200), false),
    field("note", FieldKind::Text(2000), false),
];

const CHILD_CHECKUP: &[Field] = &[
    field("date", FieldKind::Date, true),
    field("checkup_type", FieldKind::Code(&CheckupType::VOCABULARY), true),
    field("weight", FieldKind::Quantity("kg"), false),
    field("length", FieldKind::Quantity("cm"), false),
    field("length_position", FieldKind::Code(&MeasurementPosition::VOCABULARY), false),
    field("head_circumference", FieldKind::Quantity("cm"), false),
    field("chest_circumference", FieldKind::Quantity("cm"), false),
    field("overall_judgement", FieldKind::Code(&OverallJudgement::VOCABULARY), false),
    field("facility", FieldKind::Text(200), false),
    field("note", FieldKind::Text(2000), false),
];

const IMMUNIZATION: &[Field] = &[
    field("date_given", FieldKind::Date, true),
    field("vaccine", FieldKind::Code(&Vaccine::VOCABULARY), true),
    field("series", FieldKind::Code(&DoseSeries::VOCABULARY), true),
    field("dose_number", FieldKind::Integer, true),
    field("routine", FieldKind::Boolean, false),
    field("lot_number", FieldKind::Text(64), false),
    field("site", FieldKind::Code(&InjectionSite::VOCABULARY), false),
    field("performer", FieldKind::Text(200), false),
    field("location", FieldKind::Text(200), false),
];

impl ResultForm {
    /// Every form.
    pub const ALL: [ResultForm; 3] = [ResultForm::PrenatalVisit, ResultForm::ChildCheckup, ResultForm::Immunization];

    /// The form's name in URLs: the record kind's (`prenatal_visit`, `child_checkup`, `immunization`).
    pub fn slug(self) -> &'static str {
        self.kind().as_str()
    }

    /// The form of a URL name.
    pub fn parse(slug: &str) -> Option<ResultForm> {
        ResultForm::ALL.into_iter().find(|f| f.slug() == slug)
    }

    /// The record kind it writes.
    pub fn kind(self) -> RecordKind {
        match self {
            ResultForm::PrenatalVisit => RecordKind::PrenatalVisit,
            ResultForm::ChildCheckup => RecordKind::ChildCheckup,
            ResultForm::Immunization => RecordKind::Immunization,
        }
    }

    /// Whether it is about this kind of subject (the mother, or a child).
    pub fn fits(self, subject: &Subject) -> bool {
        self.kind().subjects().admits(subject)
    }

    /// Its fields, in order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ResultForm::PrenatalVisit => PRENATAL_VISIT,
            ResultForm::ChildCheckup => CHILD_CHECKUP,
            ResultForm::Immunization => IMMUNIZATION,
        }
    }

    /// The field holding the date the result is of.
    pub fn date_field(self) -> &'static str {
        self.fields()[0].path
    }

    /// The name of the organization's facility fields, filled in by default.
    pub fn facility_field(self) -> &'static str {
        match self {
            ResultForm::PrenatalVisit => "clinic_name",
            ResultForm::ChildCheckup => "facility",
            ResultForm::Immunization => "location",
        }
    }
}

/// The label of a field in `language` (the dataset's item labels).
pub fn field_label(form: ResultForm, path: &str, language: &str) -> String {
    item_label(form.kind(), path, language).unwrap_or_else(|| path.to_owned())
}

/// The problems of a submitted form: by field path, and about the form as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    pub fields: BTreeMap<String, String>,
    pub general: Vec<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }
}

fn set_path(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let inner = object.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                set_path(inner, rest, value);
            }
        }
        None => {
            object.insert(path.to_owned(), value);
        }
    }
}

/// The record body a submitted form describes, or the problems of its fields (numbers that are
/// not numbers, codes not in the list, required fields left empty). Values not of the form's
/// fields are problems too: a form carries exactly its own fields (and the CSRF token, taken
/// out before).
pub fn body_of(form: ResultForm, values: &[(String, String)]) -> Result<RecordBody, FormErrors> {
    let mut errors = FormErrors::default();
    let mut given: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in values {
        match form.fields().iter().find(|f| f.path == name) {
            Some(f) if given.insert(f.path, value.trim()).is_some() => {
                errors.fields.insert(f.path.to_owned(), "given more than once".into());
            }
            Some(_) => {}
            None => errors.general.push("the form has a field it does not know".into()),
        }
    }
    let mut body = Map::new();
    for f in form.fields() {
        let value = given.get(f.path).copied().unwrap_or("");
        if value.is_empty() {
            if f.required {
                errors.fields.insert(f.path.to_owned(), "is required".into());
            }
            if matches!(f.kind, FieldKind::Boolean) {
                set_path(&mut body, f.path, Value::Bool(false));
            }
            continue;
        }
        let parsed = match f.kind {
            FieldKind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|_| Value::String(value.to_owned()))
                .map_err(|_| "must be a date (YYYY-MM-DD)".to_owned()),
            FieldKind::Text(max) if value.chars().count() > max => Err(format!("must be at most {max} characters")),
            FieldKind::Text(_) => Ok(Value::String(value.to_owned())),
            FieldKind::Quantity(unit) => value
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(|n| serde_json::json!({ "value": n, "unit": unit }))
                .ok_or_else(|| "must be a number".to_owned()),
            FieldKind::Integer => {
                value.parse::<u32>().map(Value::from).map_err(|_| "must be a whole number".to_owned())
            }
            FieldKind::Boolean => Ok(Value::Bool(matches!(value, "on" | "true" | "yes" | "1"))),
            FieldKind::Code(vocabulary) => {
                if vocabulary.codes.contains(&value) {
                    Ok(Value::String(value.to_owned()))
                } else {
                    Err("is not one of the choices".to_owned())
                }
            }
        };
        match parsed {
            Ok(v) => set_path(&mut body, f.path, v),
            Err(reason) => {
                errors.fields.insert(f.path.to_owned(), reason);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value(serde_json::json!({ "kind": form.kind().as_str(), "body": body })).map_err(|e| {
        // Whatever serde still refuses (a value out of a type's range): about the form as a whole.
        FormErrors { general: vec![format!("the form does not make a {}: {e}", form.kind())], ..Default::default() }
    })
}

/// Writes the result a staff member entered for patient `patient_id`: `Ok(Ok(record id))`,
/// `Ok(Err(problems))` when the form or phr-core's validation refuses it (nothing is stored);
/// 404 for a patient the organization cannot see (audited `denied` in the family it belongs
/// to, if that family gave the organization a grant), 403 when no grant lets the organization
/// write this (audited `denied`), 400 for a form not about this kind of patient.
pub async fn enter(
    app: &App,
    staff: &StaffSession,
    patient_id: String,
    form: ResultForm,
    values: Vec<(String, String)>,
) -> Result<Result<uuid::Uuid, FormErrors>, AppError> {
    let body = match body_of(form, &values) {
        Ok(body) => body,
        Err(errors) => return Ok(Err(errors)),
    };
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let max_records = app.limits.max_records_per_account;
    let writer = staff_writer(staff);
    app.db(move |conn| {
        let visible = Visible::load(conn, &visibility, &keys, &writer.organization_id)?;
        let found = resolve(conn, &visible, &writer.organization_id, &writer.actor, &patient_id, writer.action)?;
        let Some((account, subject)) = found else {
            return Err(AppError::NotFound("no such patient".into()));
        };
        if !form.fits(&subject) {
            return Err(AppError::BadRequest(format!("a {} is not about this patient", form.kind())));
        }
        match write_record(conn, &visible, &writer, (account, subject), body, max_records) {
            Ok(id) => Ok(Ok(id)),
            Err(AppError::Unprocessable { problems, detail }) => {
                let mut errors = FormErrors::default();
                for p in problems {
                    // A problem deeper than a field (`blood_pressure.systolic.value`) belongs to it.
                    let at = form
                        .fields()
                        .iter()
                        .map(|f| f.path)
                        .find(|f| p.path == *f || p.path.starts_with(&format!("{f}.")));
                    match at {
                        Some(f) => {
                            errors.fields.entry(f.to_owned()).or_insert(p.reason);
                        }
                        None => errors.general.push(format!("{}: {}", p.path, p.reason)),
                    }
                }
                if errors.is_empty() {
                    errors.general.push(detail);
                }
                Ok(Err(errors))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_filled_child_checkup_form_makes_the_record_with_its_quantities_in_their_units() {
        let body = body_of(
            ResultForm::ChildCheckup,
            &values(&[
                ("date", "2026-11-02"),
                ("checkup_type", "months_3_4"),
                ("weight", "6,8"),
                ("length", "62.5"),
                ("length_position", "recumbent"),
                ("head_circumference", ""),
                ("note", " ok "),
            ]),
        )
        .unwrap();
        let RecordBody::ChildCheckup(c) = body else { panic!("not a checkup") };
        assert_eq!(c.date.to_string(), "2026-11-02");
        assert_eq!(c.checkup_type, CheckupType::Months3To4);
        assert_eq!(c.weight.map(|w| w.value), Some(6.8), "a decimal comma is read as a point");
        assert_eq!(c.length.map(|l| l.value), Some(62.5));
        assert_eq!(c.head_circumference, None, "an empty field is absent");
        assert_eq!(c.note.as_deref(), Some("ok"));
    }

    #[test]
    fn bad_numbers_unknown_codes_and_missing_required_fields_are_named_at_their_field() {
        let errors = body_of(
            ResultForm::ChildCheckup,
            &values(&[("date", "2026-13-40"), ("checkup_type", "months_5"), ("weight", "heavy")]),
        )
        .unwrap_err();
        assert_eq!(errors.fields.keys().collect::<Vec<_>>(), ["checkup_type", "date", "weight"]);
        let missing = body_of(ResultForm::Immunization, &values(&[])).unwrap_err();
        for f in ["date_given", "vaccine", "series", "dose_number"] {
            assert_eq!(missing.fields.get(f).map(String::as_str), Some("is required"), "{f}");
        }
        let unknown = body_of(ResultForm::ChildCheckup, &values(&[("date", "2026-11-02"), ("x", "1")])).unwrap_err();
        assert_eq!(unknown.general.len(), 1);
        let twice =
            body_of(ResultForm::ChildCheckup, &values(&[("date", "2026-11-02"), ("date", "2026-11-03")])).unwrap_err();
        assert!(twice.fields.contains_key("date"));
    }

    #[test]
    fn a_prenatal_form_nests_blood_pressure_and_gestational_age_by_path() {
        let body = body_of(
            ResultForm::PrenatalVisit,
            &values(&[
                ("visit_date", "2026-10-01"),
                ("gestational_age.weeks", "24"),
                ("gestational_age.days", "3"),
                ("blood_pressure.systolic", "118"),
                ("blood_pressure.diastolic", "72"),
                ("urine_protein", "negative"),
            ]),
        )
        .unwrap();
        let RecordBody::PrenatalVisit(v) = body else { panic!("not a visit") };
        assert_eq!(v.gestational_age.map(|g| g.total_days()), Some(24 * 7 + 3));
        assert_eq!(v.blood_pressure.map(|b| b.systolic.value), Some(118.0));
    }

    #[test]
    fn every_field_of_every_form_has_a_label_in_both_languages_and_forms_fit_their_subjects() {
        for form in ResultForm::ALL {
            assert_eq!(ResultForm::parse(form.slug()), Some(form));
            for f in form.fields() {
                for language in ["ja", "en"] {
                    assert!(item_label(form.kind(), f.path, language).is_some(), "{form:?} {} {language}", f.path);
                }
            }
        }
        assert!(ResultForm::PrenatalVisit.fits(&Subject::Mother));
        assert!(!ResultForm::ChildCheckup.fits(&Subject::Mother));
        assert!(ResultForm::Immunization.fits(&Subject::Child(uuid::Uuid::nil())));
    }
}
