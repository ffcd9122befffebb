//! `docs/dataset.md`, generated from the code so it cannot drift.
//!
//! [`render`] writes the page; `cargo run -p phr-tests --bin dataset-doc >
//! docs/dataset.md` regenerates it, and `tests/tests/dataset_doc.rs` fails when
//! the committed file differs or when a fact below no longer holds.
//!
//! Where each column comes from:
//! - **items, types, units, required**: the JSON of the module's fully filled
//!   and minimal examples (`phr_core::dataset::examples`), i.e. the serde
//!   types themselves. A quantity's unit is the UCUM code its type carries.
//! - **not after today**: probed: the date is moved to the day after
//!   `examples::TODAY` and `validate()` must name the item.
//! - **allowed values / range**: the table [`rules`] below. Coded values are
//!   taken from the enums' own `ALL` lists; numeric ranges and text lengths are
//!   written once here and *probed* against `validate()` by [`check`] (the
//!   bounds pass, one step outside is refused with that range in the message).
//!   [`check`] also fails when an item of the examples has no rule, or a rule
//!   names no item.
//! - **FHIR**: every coding `phr_fhir::mapping::to_fhir` writes for the full
//!   example, with its resource and element.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use phr_core::dataset::allergy::{
    AllergyCategory, AllergyClinicalStatus, AllergyType, AllergyVerification, Criticality, FoodAllergen, Manifestation,
    ReactionSeverity, MAX_SUBSTANCE_CHARS, MAX_TEXT_CHARS as ALLERGY_TEXT_CHARS,
};
use phr_core::dataset::child_checkup::{
    self, CheckupType, FindingResult, GrowthIndicator, MeasurementPosition, OverallJudgement, ScreeningResult,
    UrineStrip as ChildUrineStrip, MAX_FACILITY_CHARS, MAX_NOTE_CHARS as CHECKUP_NOTE_CHARS,
};
use phr_core::dataset::common::Sex;
use phr_core::dataset::condition::{ConditionClinicalStatus, ConditionCode, MAX_TEXT_CHARS as CONDITION_TEXT_CHARS};
use phr_core::dataset::delivery::DeliveryMethod;
use phr_core::dataset::development::{Achieved, Milestone, MAX_NOTE_CHARS as DEVELOPMENT_NOTE_CHARS};
use phr_core::dataset::immunization::{
    DoseSeries, InjectionSite, Vaccine, MAX_LOCATION_CHARS, MAX_LOT_NUMBER_CHARS, MAX_NAME_CHARS as VACCINE_NAME_CHARS,
};
use phr_core::dataset::medication::{
    DrugCodeSystem, MedicationNoteKind, MedicationSource, MAX_DRUG_NAME_CHARS, MAX_JAHIS_RECORD_CHARS,
    MAX_NAME_CHARS as PHARMACY_NAME_CHARS, MAX_TEXT_CHARS, MAX_UNIT_CHARS,
};
use phr_core::dataset::mother_profile::{
    AboGroup, AntibodyScreen, RhD, SubstanceUse, MAX_IDENTIFIER_CHARS, MAX_NAME_CHARS as MOTHER_NAME_CHARS,
};
use phr_core::dataset::newborn::{HearingScreen, MetabolicScreen};
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::prenatal_visit::{
    CervicalCytology, Edema, FetalPresentation, RubellaImmunity, ScreenResult, UrineStrip, MAX_CLINIC_ID_CHARS,
    MAX_CLINIC_NAME_CHARS, MAX_NOTE_CHARS as VISIT_NOTE_CHARS,
};
use phr_core::dataset::{examples, RecordBody, RecordKind, SubjectKinds, Validate, ValidationContext};
use phr_fhir::mapping::{to_fhir, MappingContext};
use serde_json::{json, Value};
use uuid::Uuid;

/// What the code allows for one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Allowed {
    /// A number inside `[min, max]`, inclusive (probed).
    Range(f64, f64),
    /// A text of at most this many characters (probed).
    MaxChars(usize),
    /// One of these codes (the enum's `ALL`; each is probed to deserialize at the item).
    Codes(Vec<&'static str>),
    /// A format rule in words (not probed; used only where no range applies).
    Format(&'static str),
}

/// One row of the rule table: an item of a module and what it allows.
#[derive(Debug, Clone)]
pub struct Rule {
    pub kind: RecordKind,
    /// JSON path inside the body; `[]` marks "each element of the array".
    pub path: &'static str,
    pub allowed: Allowed,
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Allowed {
    Allowed::Codes(all.iter().map(|v| code(*v)).collect())
}

/// What each item allows, beyond its type. Every coded, numeric and free-text
/// item of every module has exactly one row ([`check`] enforces it).
pub fn rules() -> Vec<Rule> {
    use Allowed::{Format, MaxChars, Range};
    use RecordKind::*;
    let r = |kind, path, allowed| Rule { kind, path, allowed };
    let ga = |kind| {
        [
            r(kind, "gestational_age.weeks", Range(0.0, f64::from(phr_core::dataset::GestationalAge::MAX_WEEKS))),
            r(kind, "gestational_age.days", Range(0.0, 6.0)),
        ]
    };
    let mut rules = vec![
        // mother_profile
        r(MotherProfile, "name_kanji", MaxChars(MOTHER_NAME_CHARS)),
        r(MotherProfile, "name_kana", MaxChars(MOTHER_NAME_CHARS)),
        r(MotherProfile, "identifiers[].system", MaxChars(MAX_IDENTIFIER_CHARS)),
        r(MotherProfile, "identifiers[].value", MaxChars(MAX_IDENTIFIER_CHARS)),
        r(MotherProfile, "height", Range(100.0, 230.0)),
        r(MotherProfile, "pre_pregnancy_weight", Range(25.0, 200.0)),
        r(MotherProfile, "abo", codes(AboGroup::ALL, AboGroup::code)),
        r(MotherProfile, "rh_d", codes(RhD::ALL, RhD::code)),
        r(MotherProfile, "irregular_antibodies", codes(AntibodyScreen::ALL, AntibodyScreen::code)),
        r(MotherProfile, "gravida", Range(0.0, 30.0)),
        r(MotherProfile, "parity", Range(0.0, 30.0)),
        r(MotherProfile, "previous_caesareans", Range(0.0, 15.0)),
        r(MotherProfile, "smoking", codes(SubstanceUse::ALL, SubstanceUse::code)),
        r(MotherProfile, "alcohol", codes(SubstanceUse::ALL, SubstanceUse::code)),
        // pregnancy
        r(Pregnancy, "number_of_fetuses", Range(1.0, f64::from(phr_core::dataset::pregnancy::MAX_FETUSES))),
        r(Pregnancy, "status", codes(PregnancyStatus::ALL, PregnancyStatus::code)),
        // prenatal_visit
        r(PrenatalVisit, "clinic_name", MaxChars(MAX_CLINIC_NAME_CHARS)),
        r(PrenatalVisit, "clinic_id", MaxChars(MAX_CLINIC_ID_CHARS)),
        r(PrenatalVisit, "body_weight", Range(25.0, 200.0)),
        r(PrenatalVisit, "blood_pressure.systolic", Range(50.0, 260.0)),
        r(PrenatalVisit, "blood_pressure.diastolic", Range(30.0, 160.0)),
        r(PrenatalVisit, "fundal_height", Range(0.0, 50.0)),
        r(PrenatalVisit, "abdominal_girth", Range(40.0, 200.0)),
        r(PrenatalVisit, "edema", codes(Edema::ALL, Edema::code)),
        r(PrenatalVisit, "urine_protein", codes(UrineStrip::ALL, UrineStrip::code)),
        r(PrenatalVisit, "urine_glucose", codes(UrineStrip::ALL, UrineStrip::code)),
        r(PrenatalVisit, "fetal_heart_rate", Range(50.0, 240.0)),
        r(PrenatalVisit, "fetal_presentation", codes(FetalPresentation::ALL, FetalPresentation::code)),
        r(PrenatalVisit, "labs.hemoglobin", Range(3.0, 25.0)),
        r(PrenatalVisit, "labs.hematocrit", Range(10.0, 70.0)),
        r(PrenatalVisit, "labs.platelets", Range(1.0, 1_500.0)),
        r(PrenatalVisit, "infection_screens.hbs_ag", codes(ScreenResult::ALL, ScreenResult::code)),
        r(PrenatalVisit, "infection_screens.hcv_antibody", codes(ScreenResult::ALL, ScreenResult::code)),
        r(PrenatalVisit, "infection_screens.rubella_antibody", codes(RubellaImmunity::ALL, RubellaImmunity::code)),
        r(PrenatalVisit, "infection_screens.htlv1_antibody", codes(ScreenResult::ALL, ScreenResult::code)),
        r(PrenatalVisit, "infection_screens.gbs", codes(ScreenResult::ALL, ScreenResult::code)),
        r(PrenatalVisit, "infection_screens.cervical_cytology", codes(CervicalCytology::ALL, CervicalCytology::code)),
        r(PrenatalVisit, "dental.caries_count", Range(0.0, 32.0)),
        r(PrenatalVisit, "note", MaxChars(VISIT_NOTE_CHARS)),
        // delivery
        r(Delivery, "method", codes(DeliveryMethod::ALL, DeliveryMethod::code)),
        r(Delivery, "labour_duration", Range(0.0, 72.0)),
        r(Delivery, "blood_loss", Range(0.0, 10_000.0)),
        r(Delivery, "number_of_babies", Range(1.0, f64::from(phr_core::dataset::pregnancy::MAX_FETUSES))),
        // newborn
        r(Newborn, "sex", codes(Sex::ALL, Sex::fhir_code)),
        r(Newborn, "birth_weight", Range(200.0, 7_000.0)),
        r(Newborn, "birth_length", Range(20.0, 70.0)),
        r(Newborn, "head_circumference", Range(15.0, 50.0)),
        r(Newborn, "chest_circumference", Range(15.0, 50.0)),
        r(Newborn, "apgar.one_minute", Range(0.0, 10.0)),
        r(Newborn, "apgar.five_minute", Range(0.0, 10.0)),
        r(Newborn, "apgar.ten_minute", Range(0.0, 10.0)),
        r(Newborn, "hearing_screen", codes(HearingScreen::ALL, HearingScreen::code)),
        r(Newborn, "metabolic_screen", codes(MetabolicScreen::ALL, MetabolicScreen::code)),
        // child_checkup
        r(ChildCheckup, "checkup_type", codes(CheckupType::ALL, CheckupType::code)),
        r(ChildCheckup, "facility", MaxChars(MAX_FACILITY_CHARS)),
        r(ChildCheckup, "weight", range(child_checkup::WEIGHT_KG)),
        r(ChildCheckup, "length", range(child_checkup::LENGTH_CM)),
        r(ChildCheckup, "length_position", codes(MeasurementPosition::ALL, MeasurementPosition::code)),
        r(ChildCheckup, "head_circumference", range(child_checkup::HEAD_CIRCUMFERENCE_CM)),
        r(ChildCheckup, "chest_circumference", range(child_checkup::CHEST_CIRCUMFERENCE_CM)),
        r(ChildCheckup, "growth_scores[].indicator", codes(GrowthIndicator::ALL, GrowthIndicator::code)),
        r(ChildCheckup, "growth_scores[].percentile", Range(0.0, 100.0)),
        r(
            ChildCheckup,
            "growth_scores[].z_score",
            Range(-child_checkup::MAX_ABS_Z_SCORE, child_checkup::MAX_ABS_Z_SCORE),
        ),
        r(ChildCheckup, "overall_judgement", codes(OverallJudgement::ALL, OverallJudgement::code)),
        r(ChildCheckup, "three_year.urine_protein", codes(ChildUrineStrip::ALL, ChildUrineStrip::code)),
        r(ChildCheckup, "three_year.urine_blood", codes(ChildUrineStrip::ALL, ChildUrineStrip::code)),
        r(ChildCheckup, "three_year.vision", codes(ScreeningResult::ALL, ScreeningResult::code)),
        r(ChildCheckup, "three_year.hearing", codes(ScreeningResult::ALL, ScreeningResult::code)),
        r(ChildCheckup, "note", MaxChars(CHECKUP_NOTE_CHARS)),
        // development
        r(Development, "milestone", codes(Milestone::ALL, Milestone::code)),
        r(Development, "achieved", codes(Achieved::ALL, Achieved::code)),
        r(Development, "note", MaxChars(DEVELOPMENT_NOTE_CHARS)),
        // immunization
        r(Immunization, "vaccine", codes(Vaccine::ALL, Vaccine::code)),
        r(Immunization, "vaccine_name", MaxChars(VACCINE_NAME_CHARS)),
        r(Immunization, "hot9_code", Format("9 digits (JP HOT9)")),
        r(Immunization, "yj_code", Format("12 letters or digits (YJ)")),
        r(Immunization, "dose_number", Range(1.0, f64::from(phr_core::dataset::immunization::MAX_DOSE_NUMBER))),
        r(Immunization, "series", codes(DoseSeries::ALL, DoseSeries::code)),
        r(Immunization, "lot_number", MaxChars(MAX_LOT_NUMBER_CHARS)),
        r(Immunization, "manufacturer", MaxChars(VACCINE_NAME_CHARS)),
        r(Immunization, "site", codes(InjectionSite::ALL, InjectionSite::code)),
        r(Immunization, "performer", MaxChars(VACCINE_NAME_CHARS)),
        r(Immunization, "location", MaxChars(MAX_LOCATION_CHARS)),
        // medication
        r(Medication, "pharmacy", MaxChars(PHARMACY_NAME_CHARS)),
        r(Medication, "prescriber", MaxChars(PHARMACY_NAME_CHARS)),
        r(Medication, "drug_name", MaxChars(MAX_DRUG_NAME_CHARS)),
        r(Medication, "drug_code.system", codes(DrugCodeSystem::ALL, DrugCodeSystem::code)),
        r(
            Medication,
            "drug_code.code",
            Format(
                "by system: `yj` and `mhlw` 12 alphanumeric characters, `hot` 9 or 13 digits, `receipt` 9 digits, \
                 `local` 1–64 characters",
            ),
        ),
        r(Medication, "dose", MaxChars(MAX_TEXT_CHARS)),
        r(Medication, "directions", MaxChars(MAX_TEXT_CHARS)),
        r(Medication, "source", codes(MedicationSource::ALL, MedicationSource::code)),
        r(Medication, "dose_unit", MaxChars(MAX_UNIT_CHARS)),
        r(Medication, "pharmacist", MaxChars(PHARMACY_NAME_CHARS)),
        r(Medication, "prescribing_doctor", MaxChars(PHARMACY_NAME_CHARS)),
        r(Medication, "dispensing_id", Format("32 lowercase hex characters (the fingerprint of a JAHIS dispensing)")),
        r(Medication, "notes[].kind", codes(MedicationNoteKind::ALL, MedicationNoteKind::code)),
        r(Medication, "notes[].text", MaxChars(MAX_TEXT_CHARS)),
        r(Medication, "notes[].code", MaxChars(MAX_UNIT_CHARS)),
        r(Medication, "jahis_records[]", MaxChars(MAX_JAHIS_RECORD_CHARS)),
        r(
            Medication,
            "days_supplied",
            Range(
                f64::from(phr_core::dataset::medication::DAYS_SUPPLIED.0),
                f64::from(phr_core::dataset::medication::DAYS_SUPPLIED.1),
            ),
        ),
        // self_vitals
        r(SelfVitals, "blood_pressure.systolic", range(phr_core::dataset::self_vitals::SYSTOLIC_MMHG)),
        r(SelfVitals, "blood_pressure.diastolic", range(phr_core::dataset::self_vitals::DIASTOLIC_MMHG)),
        r(SelfVitals, "weight", range(phr_core::dataset::self_vitals::WEIGHT_KG)),
        r(SelfVitals, "body_temperature", range(phr_core::dataset::self_vitals::TEMPERATURE_CEL)),
        r(SelfVitals, "heart_rate", range(phr_core::dataset::self_vitals::HEART_RATE_PER_MIN)),
        r(SelfVitals, "spo2", range(phr_core::dataset::self_vitals::SPO2_PERCENT)),
        r(SelfVitals, "blood_glucose", range(phr_core::dataset::self_vitals::GLUCOSE_MG_DL)),
        r(SelfVitals, "steps", range(phr_core::dataset::self_vitals::STEPS)),
        // subject_identifiers
        r(SubjectIdentifiers, "identifiers[].system", MaxChars(MAX_IDENTIFIER_CHARS)),
        r(SubjectIdentifiers, "identifiers[].value", MaxChars(MAX_IDENTIFIER_CHARS)),
        // allergy
        r(Allergy, "category", codes(AllergyCategory::ALL, AllergyCategory::code)),
        r(Allergy, "substance", MaxChars(MAX_SUBSTANCE_CHARS)),
        r(Allergy, "food", codes(FoodAllergen::ALL, FoodAllergen::code)),
        r(Allergy, "allergy_type", codes(AllergyType::ALL, AllergyType::code)),
        r(Allergy, "clinical_status", codes(AllergyClinicalStatus::ALL, AllergyClinicalStatus::code)),
        r(Allergy, "verification", codes(AllergyVerification::ALL, AllergyVerification::code)),
        r(Allergy, "criticality", codes(Criticality::ALL, Criticality::code)),
        r(Allergy, "reactions[]", codes(Manifestation::ALL, Manifestation::code)),
        r(Allergy, "reaction_text", MaxChars(ALLERGY_TEXT_CHARS)),
        r(Allergy, "severity", codes(ReactionSeverity::ALL, ReactionSeverity::code)),
        r(Allergy, "note", MaxChars(ALLERGY_TEXT_CHARS)),
        // condition
        r(Condition, "code", codes(ConditionCode::ALL, ConditionCode::code)),
        r(Condition, "text", MaxChars(CONDITION_TEXT_CHARS)),
        r(Condition, "icd10", Format("ICD-10: a capital letter, two digits, optionally `.` and 1–2 more (`O14.9`)")),
        r(Condition, "clinical_status", codes(ConditionClinicalStatus::ALL, ConditionClinicalStatus::code)),
        r(Condition, "note", MaxChars(CONDITION_TEXT_CHARS)),
    ];
    for path in [
        "findings.head_control",
        "findings.eye_tracking",
        "findings.strabismus",
        "findings.hearing",
        "findings.heart_murmur",
        "findings.hip_abduction_limit",
        "findings.undescended_testis",
        "findings.naevus",
        "findings.signs_of_maltreatment",
    ] {
        rules.push(r(ChildCheckup, path, codes(FindingResult::ALL, FindingResult::code)));
    }
    rules.extend(ga(PrenatalVisit));
    rules.extend(ga(Delivery));
    rules
}

fn range((min, max): (f64, f64)) -> Allowed {
    Allowed::Range(min, max)
}

// ---------------------------------------------------------------------------
// Items, read off the examples' JSON
// ---------------------------------------------------------------------------

/// The JSON type of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemType {
    /// `{"value": n, "unit": "<UCUM>"}`.
    Quantity(String),
    Integer,
    Number,
    Boolean,
    Date,
    DateTime,
    /// A string that only takes listed codes (anything else fails to deserialize).
    Code,
    Text,
}

/// One item of a module: a leaf of its JSON.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: String,
    pub ty: ItemType,
    /// Present in the minimal example (so required, at least inside its group).
    pub required: bool,
    /// Probed: a date after today is refused with "future".
    pub not_future: bool,
}

fn example_body(kind: RecordKind, full: bool) -> Value {
    let all = if full { examples::all_full() } else { examples::all_minimal() };
    let body = all.into_iter().find(|b| b.kind() == kind).expect("every kind has examples");
    let mut v = serde_json::to_value(&body).expect("examples serialize");
    v["body"].take()
}

fn leaves(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    let join = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
    match v {
        Value::Object(m) if m.len() == 2 && m.contains_key("value") && m.get("unit").is_some_and(Value::is_string) => {
            out.push((path.to_owned(), v.clone()))
        }
        Value::Object(m) => m.iter().for_each(|(k, v)| leaves(v, &join(k), out)),
        Value::Array(a) if !a.is_empty() => leaves(&a[0], &format!("{path}[]"), out),
        _ => out.push((path.to_owned(), v.clone())),
    }
}

/// The issue path `validate()` uses for a doc path: `a[].b` → `a[0].b`.
fn issue_path(path: &str) -> String {
    path.replace("[]", "[0]")
}

/// The JSON pointer of a doc path inside a body: `a[].b` → `/a/0/b`.
fn pointer(path: &str) -> String {
    path.split('.').map(|seg| format!("/{}", seg.replace("[]", "/0"))).collect()
}

/// Deserializes and validates a body of `kind` as the examples are validated.
fn validate_json(kind: RecordKind, body: &Value) -> Result<Vec<(String, String)>, String> {
    let record: RecordBody = serde_json::from_value(json!({"kind": kind.as_str(), "body": body}))
        .map_err(|e| format!("does not deserialize: {e}"))?;
    let mut ctx = ValidationContext::new(examples::TODAY);
    if examples::is_child_record(kind) {
        ctx = ctx.with_birth_date(examples::CHILD_BIRTH_DATE);
    }
    Ok(match record.validate(&ctx) {
        Ok(()) => vec![],
        Err(errs) => errs.issues().iter().map(|i| (i.path.clone(), i.reason.clone())).collect(),
    })
}

/// The full example of `kind` with the item at `path` (its `value` for a
/// quantity) set to `value`.
fn with_value(kind: RecordKind, path: &str, value: Value) -> Value {
    let mut body = example_body(kind, true);
    let mut ptr = pointer(path);
    if body.pointer(&ptr).is_some_and(|v| v.get("unit").is_some()) {
        ptr.push_str("/value");
    }
    *body.pointer_mut(&ptr).unwrap_or_else(|| panic!("{kind}: no item {path}")) = value;
    body
}

/// Whether `validate()` names `path` with a reason containing `needle`.
fn names(issues: &[(String, String)], path: &str, needle: &str) -> bool {
    let path = issue_path(path);
    issues.iter().any(|(p, r)| *p == path && r.contains(needle))
}

/// Every item of a module, in the order of its JSON.
pub fn items(kind: RecordKind) -> Vec<Item> {
    let mut full = Vec::new();
    leaves(&example_body(kind, true), "", &mut full);
    let mut minimal = Vec::new();
    leaves(&example_body(kind, false), "", &mut minimal);
    let required: BTreeSet<String> = minimal.into_iter().map(|(p, _)| p).collect();
    let tomorrow = examples::TODAY.succ_opt().expect("a day after TODAY");
    full.into_iter()
        .map(|(path, v)| {
            let ty = match &v {
                Value::Object(m) => ItemType::Quantity(m["unit"].as_str().unwrap_or_default().to_owned()),
                Value::Bool(_) => ItemType::Boolean,
                Value::Number(n) if n.is_i64() || n.is_u64() => ItemType::Integer,
                Value::Number(_) => ItemType::Number,
                Value::String(s) if s.parse::<chrono::NaiveDate>().is_ok() => ItemType::Date,
                Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => ItemType::DateTime,
                Value::String(_) => {
                    let junk = with_value(kind, &path, json!("zz-not-a-code"));
                    match validate_json(kind, &junk) {
                        Err(_) => ItemType::Code,
                        Ok(_) => ItemType::Text,
                    }
                }
                other => panic!("{kind}.{path}: unexpected JSON {other}"),
            };
            let not_future = match ty {
                ItemType::Date => validate_json(kind, &with_value(kind, &path, json!(tomorrow.to_string())))
                    .is_ok_and(|issues| names(&issues, &path, "future")),
                ItemType::DateTime => {
                    validate_json(kind, &with_value(kind, &path, json!(format!("{tomorrow}T12:00:00+09:00"))))
                        .is_ok_and(|issues| names(&issues, &path, "future"))
                }
                _ => false,
            };
            Item { required: required.contains(&path), path, ty, not_future }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The check: every item has a rule, every rule holds in validate()
// ---------------------------------------------------------------------------

/// Shortest text of a bound, as `validate()` writes it (`0.3`, `1500`, `-6`).
fn bound(v: f64) -> String {
    format!("{v}")
}

/// What is wrong with one rule, probed against the code (empty: it holds).
pub fn probe(rule: &Rule) -> Vec<String> {
    let (kind, path) = (rule.kind, rule.path);
    let Some(item) = items(kind).into_iter().find(|i| i.path == path) else {
        return vec![format!("{kind}.{path}: no such item in the examples")];
    };
    let mut wrong = Vec::new();
    let at = |v: Value| validate_json(kind, &with_value(kind, path, v));
    match &rule.allowed {
        Allowed::Range(min, max) => {
            let integer = item.ty == ItemType::Integer;
            if !matches!(item.ty, ItemType::Integer | ItemType::Number | ItemType::Quantity(_)) {
                wrong.push(format!("{kind}.{path}: a range on a {:?} item", item.ty));
            }
            let step = if integer || max - min >= 10.0 { 1.0 } else { 0.1 };
            let num = |v: f64| if integer { json!(v as i64) } else { json!(v) };
            let needle = format!("must be {}–{}", bound(*min), bound(*max));
            for inside in [*min, *max] {
                match at(num(inside)) {
                    Ok(issues) if !names(&issues, path, &needle) => {}
                    other => wrong.push(format!("{kind}.{path}: {inside} should pass its range, got {other:?}")),
                }
            }
            for outside in [min - step, max + step] {
                match at(num(outside)) {
                    Err(_) => {}
                    Ok(issues) if names(&issues, path, &needle) => {}
                    other => {
                        wrong.push(format!("{kind}.{path}: {outside} should fail with \"{needle}\", got {other:?}"))
                    }
                }
            }
        }
        Allowed::MaxChars(n) => {
            if item.ty != ItemType::Text {
                wrong.push(format!("{kind}.{path}: a length on a {:?} item", item.ty));
            }
            let needle = format!("at most {n} characters");
            match at(json!("あ".repeat(*n))) {
                Ok(issues) if !names(&issues, path, &needle) => {}
                other => wrong.push(format!("{kind}.{path}: {n} characters should pass, got {other:?}")),
            }
            match at(json!("あ".repeat(n + 1))) {
                Ok(issues) if names(&issues, path, &needle) => {}
                other => wrong.push(format!("{kind}.{path}: {} characters should fail, got {other:?}", n + 1)),
            }
        }
        Allowed::Codes(codes) => {
            if item.ty != ItemType::Code {
                wrong.push(format!("{kind}.{path}: codes on a {:?} item", item.ty));
            }
            for code in codes {
                if let Err(e) = at(json!(code)) {
                    wrong.push(format!("{kind}.{path}: code {code:?} is not accepted: {e}"));
                }
            }
        }
        Allowed::Format(_) => {
            if item.ty != ItemType::Text {
                wrong.push(format!("{kind}.{path}: a format rule on a {:?} item", item.ty));
            }
        }
    }
    wrong
}

/// Everything that makes `docs/dataset.md` disagree with the code: items
/// without a rule (coded, numeric or text), rules without an item, duplicate
/// rules, and rules `validate()` does not enforce. Empty when all is well.
pub fn check() -> Vec<String> {
    let rules = rules();
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in &rules {
        if !seen.insert((rule.kind, rule.path)) {
            wrong.push(format!("{}.{}: two rules", rule.kind, rule.path));
        }
        wrong.extend(probe(rule));
    }
    for kind in RecordKind::ALL {
        for item in items(kind) {
            let needs_rule = matches!(
                item.ty,
                ItemType::Code | ItemType::Text | ItemType::Integer | ItemType::Number | ItemType::Quantity(_)
            );
            if needs_rule && !seen.contains(&(kind, item.path.as_str())) {
                wrong.push(format!(
                    "{kind}.{}: a {:?} item without a rule in tests/src/dataset_doc.rs",
                    item.path, item.ty
                ));
            }
        }
    }
    wrong
}

// ---------------------------------------------------------------------------
// FHIR codes, read off the mapping's output
// ---------------------------------------------------------------------------

/// One code the FHIR mapping writes: resource (id suffix), element, system, code, display.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FhirCode {
    pub resource: String,
    pub element: String,
    pub system: String,
    pub code: String,
    pub display: String,
}

fn codings(v: &Value, element: &str, resource: &str, out: &mut Vec<FhirCode>) {
    let join = |k: &str| if element.is_empty() { k.to_owned() } else { format!("{element}.{k}") };
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(system)), Some(Value::String(code))) = (m.get("system"), m.get("code")) {
                let element = element.trim_end_matches(".coding[]").to_owned();
                out.push(FhirCode {
                    resource: resource.to_owned(),
                    element,
                    system: system.clone(),
                    code: code.clone(),
                    display: m.get("display").and_then(Value::as_str).unwrap_or_default().to_owned(),
                });
                return;
            }
            for (k, v) in m {
                if k != "category" && k != "meta" {
                    codings(v, &join(k), resource, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| codings(v, &format!("{element}[]"), resource, out)),
        _ => {}
    }
}

/// Every code (and UCUM unit) the mapping writes for the full example of `kind`.
pub fn fhir_codes(kind: RecordKind) -> Vec<FhirCode> {
    let body = examples::all_full().into_iter().find(|b| b.kind() == kind).expect("every kind has examples");
    let ctx = MappingContext::new(Uuid::nil(), "patient");
    let resources = to_fhir(&body, &ctx).unwrap_or_else(|e| panic!("{kind}: the full example maps to FHIR: {e}"));
    let prefix = format!("{}-", Uuid::nil());
    let mut out = Vec::new();
    for r in resources {
        let v = serde_json::to_value(&r).expect("resources serialize");
        let ty = v["resourceType"].as_str().unwrap_or_default().to_owned();
        let id = v["id"].as_str().unwrap_or_default();
        let name = match id.strip_prefix(&prefix) {
            Some(suffix) => format!("{ty} `…-{suffix}`"),
            None => ty,
        };
        codings(&v, "", &name, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------

const INTRO: &str = "\
# The minimum dataset (generated)

<!-- Generated by `cargo run -p phr-tests --bin dataset-doc > docs/dataset.md`
     from tests/src/dataset_doc.rs; `cargo test -p phr-tests --test dataset_doc`
     fails when this file and the code differ. Do not edit by hand. -->

Every record a family keeps is one entry of one dataset module: its
`RecordKind` (the `kind` in sync, the unit of a consent scope) and its typed body
(`core/src/dataset/<module>.rs`). This page lists, per module, every item of the
body as it appears in JSON, and the codes the FHIR mapping
(`fhir/src/mapping/<module>.rs`) writes for it. How the page is made and checked:
`tests/src/dataset_doc.rs`. Architecture: [architecture.md](architecture.md).

The items follow the \"dataset spec\" the code's comments mention: the checkup
items Japan's MHLW committee lists for electronic storage, the paper Maternal and
Child Health Handbook, JP Core and the WHO SMART guidelines, coded with LOINC where
it has a code, JP (MEDIS / HOT) codes next to it where JP Core names one, and
local codes otherwise. Where the code departs from that list (an elided code, a
different LOINC), the module's source says so and why.

One kind is identity, not health data: `subject_identifiers` holds the business
identifiers a family attaches to the mother or a child (the Maternal and Child
Health Handbook number, a municipal resident or child number, a clinic's MRN,
each with the URI of its issuing system); an app keeps one such record per
subject and edits it (the Patient merges every one it finds). A
grant does not select it as a module: every treatment or emergency grant that
covers the subject may read it (so the grantee can find the subject with
`Patient?identifier=`), no organization may write it, and no research grant or
export ever includes it (phr-core's consent decision, `core/src/consent/evaluate.rs`).

Conventions of the tables:

- **item**: the JSON path in the record body; `a[]` is each element of the array `a`.
- **type**: `quantity` is `{\"value\": <number>, \"unit\": \"<UCUM>\"}`; the unit is
  fixed by the Rust type (`Quantity<Kg>` …) and any other unit is refused when
  the record is read. `code` items take only the listed codes. Dates are
  `YYYY-MM-DD`, date-times RFC 3339 with an offset.
- **required**: present in the module's minimal example, so every record has
  it. An item inside an optional group (`apgar.one_minute`) shows blank even
  when the group, once given, needs it.
- **allowed**: the range or length `validate()` enforces (inclusive; probed by
  the test), or the codes. \"not after today\" is probed too. Rules that relate
  items to each other (diastolic below systolic, parity not above gravida, a
  visit inside its pregnancy, gestational age against the EDD …) are written in
  each module's `validate()`.
- **FHIR**: every coding and UCUM unit in the resources `to_fhir` makes of the
  module's fully filled example (Observation categories left out). `…-<suffix>`
  is the resource id after the record id. `https://phr.example/CodeSystem/…` are
  the local code systems (`phr_fhir::code_systems`).
";

fn subjects(kind: RecordKind) -> &'static str {
    match kind.subjects() {
        SubjectKinds::MotherOnly => "the mother",
        SubjectKinds::ChildOnly => "a child",
        SubjectKinds::Either => "the mother or a child",
    }
}

fn allowed_text(a: &Allowed) -> String {
    match a {
        Allowed::Range(min, max) => format!("{}–{}", bound(*min), bound(*max)),
        Allowed::MaxChars(n) => format!("≤ {n} characters"),
        Allowed::Codes(codes) => codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
        Allowed::Format(f) => (*f).to_owned(),
    }
}

/// The whole of `docs/dataset.md`.
pub fn render() -> String {
    let rules: BTreeMap<(RecordKind, &str), Allowed> =
        rules().into_iter().map(|r| ((r.kind, r.path), r.allowed)).collect();
    let mut out = String::from(INTRO);
    let _ = writeln!(out, "\n## Modules\n");
    let _ = writeln!(out, "| kind | about | module | FHIR mapping |\n|---|---|---|---|");
    for kind in RecordKind::ALL {
        let _ = writeln!(
            out,
            "| [`{kind}`](#{kind}) | {} | `core/src/dataset/{kind}.rs` | `fhir/src/mapping/{kind}.rs` |",
            subjects(kind)
        );
    }
    for kind in RecordKind::ALL {
        let _ = writeln!(out, "\n## {kind}\n");
        let _ = writeln!(out, "About {}. Items:\n", subjects(kind));
        let _ = writeln!(out, "| item | type | unit | required | allowed |\n|---|---|---|---|---|");
        for item in items(kind) {
            let (ty, unit) = match &item.ty {
                ItemType::Quantity(u) => ("quantity", format!("`{u}`")),
                ItemType::Integer => ("integer", String::new()),
                ItemType::Number => ("number", String::new()),
                ItemType::Boolean => ("boolean", String::new()),
                ItemType::Date => ("date", String::new()),
                ItemType::DateTime => ("date-time", String::new()),
                ItemType::Code => ("code", String::new()),
                ItemType::Text => ("text", String::new()),
            };
            let mut allowed = rules.get(&(kind, item.path.as_str())).map(allowed_text).unwrap_or_default();
            if item.not_future {
                allowed = if allowed.is_empty() {
                    "not after today".to_owned()
                } else {
                    format!("{allowed}; not after today")
                };
            }
            let required = if item.required { "yes" } else { "" };
            let _ = writeln!(out, "| `{}` | {ty} | {unit} | {required} | {allowed} |", item.path);
        }
        let _ = writeln!(out, "\nFHIR codes:\n");
        let _ = writeln!(out, "| resource | element | system | code | display |\n|---|---|---|---|---|");
        for c in fhir_codes(kind) {
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | `{}` | {} |",
                c.resource,
                c.element,
                c.system,
                c.code,
                c.display.replace('|', "\\|")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n## Immunization schedule\n\nThe routine schedule that drives \"due / overdue\" is data, not code: \
         [`core/src/dataset/immunization_schedule.csv`](../core/src/dataset/immunization_schedule.csv) \
         (one row per dose; its columns are described at the top of the file), loaded and checked by \
         `core/src/dataset/immunization_schedule.rs`."
    );
    out
}
