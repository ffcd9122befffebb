//! Per-module projection of a record into one de-identified row: which columns
//! leave (codes, bands, relative days, top/bottom-coded numbers) and which never
//! do (names, identifiers, free text, clinics, lot numbers, exact dates).

use chrono::NaiveDate;
use phr_core::dataset::immunization::Vaccine;
use phr_core::dataset::medication::DrugCodeSystem;
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use serde_json::{json, Value};

use super::generalize::{
    code_number, days_from, gestational_weeks_band, mother_parity_band, parity_band, plurality_band, Coded,
};
use super::{delivery_quasi_identifiers, CodeDecision, DeidRow, Plan, Pseudonymizer, SourceRecord};

/// `meta.security` of every emitted resource.
pub fn pseudonymized_label() -> Value {
    json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "PSEUDED",
        "display": "pseudonymized"
    })
}

/// Local code system of the research modules and their columns.
pub const MODULE_SYSTEM: &str = "https://phr.example/CodeSystem/research-module";
pub const ITEM_SYSTEM: &str = "https://phr.example/CodeSystem/research-item";
pub const BIRTH_PERIOD_EXTENSION: &str = "https://phr.example/StructureDefinition/birth-period";
/// On an Observation component: `valueBoolean: true` when the value was clamped to its item's
/// 1st or 99th percentile (the CSV says the same in the column `<item>_clamped`).
pub const CLAMPED_EXTENSION: &str = "https://phr.example/StructureDefinition/research-clamped";
/// The CSV flag column after each numeric column: `true` (clamped), `false` (as measured), or
/// empty (no value, or a value withheld as implausible).
pub const CLAMPED_SUFFIX: &str = "_clamped";
const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";

/// Columns before the numeric ones, per module (after `person_id`).
fn fixed_columns(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::MotherProfile => {
            &["abo", "rh_d", "irregular_antibodies", "gravida", "parity", "previous_caesareans", "smoking", "alcohol"]
        }
        RecordKind::Pregnancy => &["status", "plurality"],
        RecordKind::PrenatalVisit => &[
            "gestational_weeks",
            "edema",
            "urine_protein",
            "urine_glucose",
            "fetal_presentation",
            "hypertensive_disorder",
            "gestational_diabetes",
        ],
        RecordKind::Delivery => {
            &["delivery_period", "gestational_weeks", "delivery_method", "plurality", "mother_age", "transfusion"]
        }
        RecordKind::Newborn => &[
            "birth_period",
            "sex",
            "plurality",
            "delivery_method",
            "birth_weight_band",
            "apgar_1",
            "apgar_5",
            "hearing_screen",
            "metabolic_screen",
            "vitamin_k_given",
        ],
        RecordKind::ChildCheckup => &["age_days", "checkup_type", "overall_judgement"],
        RecordKind::Development => &["age_days", "milestone", "achieved", "achieved_age_days"],
        RecordKind::Immunization => &["age_days", "vaccine", "routine", "dose_number", "series"],
        RecordKind::Medication => &["age_days", "drug_code_system", "drug_code"],
        RecordKind::SelfVitals => &["age_days"],
        // Identifiers never leave in an export (`project` withholds them).
        RecordKind::SubjectIdentifiers => &[],
        // Closed vocabularies only: no substance name, drug code, reaction text or note.
        RecordKind::Allergy => &["age_days", "category", "food", "clinical_status", "criticality", "severity"],
        RecordKind::Condition => &["age_days", "condition", "clinical_status", "abatement_age_days"],
    }
}

/// The numeric items of a module: (column, value, plausible range). Values are top/bottom-coded at
/// the 1st/99th percentile of their item when it has at least
/// [`super::generalize::CLAMP_MIN_VALUES`] values; below that they are emitted as measured inside
/// the plausible range (inclusive) and withheld outside it: a reading that rare singles a person
/// out of a small extract. The ranges hold the usual readings of pregnant women, newborns and
/// young children; what lies beyond is rare.
type Numeric = (&'static str, Option<f64>, (f64, f64));

fn numeric_fields(body: &RecordBody) -> Vec<Numeric> {
    const SYSTOLIC: (f64, f64) = (80.0, 170.0);
    const DIASTOLIC: (f64, f64) = (40.0, 110.0);
    const ADULT_WEIGHT: (f64, f64) = (35.0, 120.0);
    match body {
        RecordBody::MotherProfile(m) => vec![
            ("height_cm", m.height.map(|v| v.value), (140.0, 185.0)),
            ("pre_pregnancy_weight_kg", m.pre_pregnancy_weight.map(|v| v.value), ADULT_WEIGHT),
        ],
        RecordBody::Pregnancy(_) | RecordBody::Development(_) | RecordBody::Immunization(_) => vec![],
        RecordBody::PrenatalVisit(p) => vec![
            ("body_weight_kg", p.body_weight.map(|v| v.value), ADULT_WEIGHT),
            ("systolic_mmhg", p.blood_pressure.as_ref().map(|b| b.systolic.value), SYSTOLIC),
            ("diastolic_mmhg", p.blood_pressure.as_ref().map(|b| b.diastolic.value), DIASTOLIC),
            ("fundal_height_cm", p.fundal_height.map(|v| v.value), (5.0, 45.0)),
            ("abdominal_girth_cm", p.abdominal_girth.map(|v| v.value), (60.0, 130.0)),
            ("fetal_heart_rate", p.fetal_heart_rate.map(|v| v.value), (100.0, 180.0)),
            ("hemoglobin_g_dl", p.labs.as_ref().and_then(|l| l.hemoglobin).map(|v| v.value), (7.0, 16.0)),
        ],
        RecordBody::Delivery(d) => vec![
            ("labour_duration_h", d.labour_duration.map(|v| v.value), (0.0, 48.0)),
            ("blood_loss_ml", d.blood_loss.map(|v| v.value), (0.0, 2000.0)),
        ],
        RecordBody::Newborn(n) => vec![
            ("birth_length_cm", n.birth_length.map(|v| v.value), (40.0, 56.0)),
            ("head_circumference_cm", n.head_circumference.map(|v| v.value), (29.0, 38.0)),
        ],
        RecordBody::ChildCheckup(c) => vec![
            ("weight_kg", c.weight.map(|v| v.value), (1.5, 30.0)),
            ("length_cm", c.length.map(|v| v.value), (40.0, 130.0)),
            ("head_circumference_cm", c.head_circumference.map(|v| v.value), (30.0, 56.0)),
        ],
        RecordBody::Medication(m) => vec![("days_supplied", m.days_supplied.map(f64::from), (1.0, 90.0))],
        RecordBody::SubjectIdentifiers(_) | RecordBody::Allergy(_) | RecordBody::Condition(_) => vec![],
        RecordBody::SelfVitals(s) => vec![
            ("systolic_mmhg", s.blood_pressure.as_ref().map(|b| b.systolic.value), SYSTOLIC),
            ("diastolic_mmhg", s.blood_pressure.as_ref().map(|b| b.diastolic.value), DIASTOLIC),
            ("weight_kg", s.weight.map(|v| v.value), ADULT_WEIGHT),
            ("body_temperature_cel", s.body_temperature.map(|v| v.value), (35.0, 39.5)),
            ("heart_rate", s.heart_rate.map(|v| v.value), (45.0, 140.0)),
            ("spo2_percent", s.spo2.map(|v| v.value), (88.0, 100.0)),
            ("blood_glucose_mg_dl", s.blood_glucose.map(|v| v.value), (50.0, 250.0)),
            ("steps", s.steps.map(|v| v.value), (0.0, 30_000.0)),
        ],
    }
}

/// The key of a numeric item in the percentile table: its module and column.
pub(crate) type NumericKey = (RecordKind, &'static str);

/// Calls `f(module.column, value)` for every numeric value of `body` (pass 1).
/// Whether records of `kind` can add anything to the pass-1 survey beyond the birth anchors
/// (codes or numeric items): pass 1 reads only these. Exhaustive, so a new kind must decide.
pub(crate) fn feeds_survey(kind: RecordKind) -> bool {
    match kind {
        RecordKind::Pregnancy
        | RecordKind::Development
        | RecordKind::SubjectIdentifiers
        | RecordKind::Allergy
        | RecordKind::Condition => false,
        RecordKind::MotherProfile
        | RecordKind::PrenatalVisit
        | RecordKind::Delivery
        | RecordKind::Newborn
        | RecordKind::ChildCheckup
        | RecordKind::Immunization
        | RecordKind::Medication
        | RecordKind::SelfVitals => true,
    }
}

pub(crate) fn numbers_of(body: &RecordBody, mut f: impl FnMut(NumericKey, f64)) {
    let kind = body.kind();
    for (column, value, _) in numeric_fields(body) {
        if let Some(v) = value {
            f((kind, column), v);
        }
    }
}

/// The numeric columns of each module, each with its `_clamped` flag column,
/// in the order [`numeric_fields`] yields them (a unit test holds the two together).
fn numeric_columns(kind: RecordKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        RecordKind::MotherProfile => {
            &[("height_cm", "height_cm_clamped"), ("pre_pregnancy_weight_kg", "pre_pregnancy_weight_kg_clamped")]
        }
        RecordKind::Pregnancy
        | RecordKind::Development
        | RecordKind::Immunization
        | RecordKind::SubjectIdentifiers
        | RecordKind::Allergy
        | RecordKind::Condition => &[],
        RecordKind::PrenatalVisit => &[
            ("body_weight_kg", "body_weight_kg_clamped"),
            ("systolic_mmhg", "systolic_mmhg_clamped"),
            ("diastolic_mmhg", "diastolic_mmhg_clamped"),
            ("fundal_height_cm", "fundal_height_cm_clamped"),
            ("abdominal_girth_cm", "abdominal_girth_cm_clamped"),
            ("fetal_heart_rate", "fetal_heart_rate_clamped"),
            ("hemoglobin_g_dl", "hemoglobin_g_dl_clamped"),
        ],
        RecordKind::Delivery => {
            &[("labour_duration_h", "labour_duration_h_clamped"), ("blood_loss_ml", "blood_loss_ml_clamped")]
        }
        RecordKind::Newborn => &[
            ("birth_length_cm", "birth_length_cm_clamped"),
            ("head_circumference_cm", "head_circumference_cm_clamped"),
        ],
        RecordKind::ChildCheckup => &[
            ("weight_kg", "weight_kg_clamped"),
            ("length_cm", "length_cm_clamped"),
            ("head_circumference_cm", "head_circumference_cm_clamped"),
        ],
        RecordKind::Medication => &[("days_supplied", "days_supplied_clamped")],
        RecordKind::SelfVitals => &[
            ("systolic_mmhg", "systolic_mmhg_clamped"),
            ("diastolic_mmhg", "diastolic_mmhg_clamped"),
            ("weight_kg", "weight_kg_clamped"),
            ("body_temperature_cel", "body_temperature_cel_clamped"),
            ("heart_rate", "heart_rate_clamped"),
            ("spo2_percent", "spo2_percent_clamped"),
            ("blood_glucose_mg_dl", "blood_glucose_mg_dl_clamped"),
            ("steps", "steps_clamped"),
        ],
    }
}

/// The CSV header of a module: `person_id`, its fixed columns, then each numeric column and its flag.
pub fn header(kind: RecordKind) -> Vec<&'static str> {
    let mut cols = vec!["person_id"];
    cols.extend_from_slice(fixed_columns(kind));
    for (column, flag) in numeric_columns(kind) {
        cols.extend([*column, *flag]);
    }
    cols
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn declared_numeric_columns_follow_the_numeric_items_of_every_module() {
        for body in
            phr_core::dataset::examples::all_full().into_iter().chain(phr_core::dataset::examples::all_minimal())
        {
            let kind = body.kind();
            let items: Vec<&str> = numeric_fields(&body).into_iter().map(|(c, _, _)| c).collect();
            let declared: Vec<&str> = numeric_columns(kind).iter().map(|(c, _)| *c).collect();
            assert_eq!(items, declared, "{kind}");
            for (column, flag) in numeric_columns(kind) {
                assert_eq!(*flag, format!("{column}{CLAMPED_SUFFIX}"), "{kind}");
            }
        }
    }
}

const VACCINE_PREFIX: &str = "vaccine:";
const VACCINE_GROUP_PREFIX: &str = "vaccine-group:";
const DRUG_PREFIX: &str = "drug:";
const DRUG_CLASS_PREFIX: &str = "drug-class:";

fn vaccine_group(v: Vaccine) -> &'static str {
    match v {
        Vaccine::RotavirusRotarix | Vaccine::RotavirusRotateq => "rotavirus",
        Vaccine::Pcv15 | Vaccine::Pcv20 => "pneumococcal",
        Vaccine::Mr | Vaccine::Measles | Vaccine::Rubella => "measles_rubella",
        Vaccine::DptIpvHib | Vaccine::DptIpv | Vaccine::Dt => "diphtheria_tetanus",
        _ => "other",
    }
}

fn drug_class(system: DrugCodeSystem, code: &str) -> String {
    match system {
        // The first four characters of a YJ code are its therapeutic category.
        DrugCodeSystem::Yj => format!("{DRUG_CLASS_PREFIX}yj:{}", code.get(..4).unwrap_or(code)),
        other => format!("{DRUG_CLASS_PREFIX}{}:other", other.code()),
    }
}

/// The coded values of `body` that must be held by at least k subjects, each followed by its parent concept.
pub(crate) fn codes_of(body: &RecordBody) -> Vec<String> {
    match body {
        RecordBody::Immunization(i) => vec![
            format!("{VACCINE_PREFIX}{}", i.vaccine.code()),
            format!("{VACCINE_GROUP_PREFIX}{}", vaccine_group(i.vaccine)),
        ],
        RecordBody::Medication(m) => match &m.drug_code {
            Some(c) => vec![format!("{DRUG_PREFIX}{}:{}", c.system.code(), c.code), drug_class(c.system, &c.code)],
            None => vec![],
        },
        _ => vec![],
    }
}

/// The parent concept key of a code key; `None` for keys that are parents themselves.
pub(crate) fn parent_code(key: &str) -> Option<String> {
    if let Some(code) = key.strip_prefix(VACCINE_PREFIX) {
        let v = Vaccine::ALL.iter().copied().find(|v| v.code() == code)?;
        return Some(format!("{VACCINE_GROUP_PREFIX}{}", vaccine_group(v)));
    }
    let rest = key.strip_prefix(DRUG_PREFIX)?;
    let (system, code) = rest.split_once(':')?;
    let system = DrugCodeSystem::ALL.iter().copied().find(|s| s.code() == system)?;
    Some(drug_class(system, code))
}

/// The emitted value of a code or parent key (`vaccine-group:rotavirus` -> `rotavirus`).
pub(crate) fn code_value(key: &str) -> &str {
    let rest = key.split_once(':').map_or(key, |(_, r)| r);
    if key.starts_with(DRUG_PREFIX) || key.starts_with(DRUG_CLASS_PREFIX) {
        rest.split_once(':').map_or(rest, |(_, r)| r)
    } else {
        rest
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The row of one record, or `None` when it is withheld.
pub(crate) fn project(plan: &Plan, rec: &SourceRecord, pseudo: &Pseudonymizer) -> Option<DeidRow> {
    let kind = rec.body.kind();
    // A subject's identifiers (handbook, municipal, clinic numbers) identify the
    // person outright: never a row, whatever reached this far.
    if kind.follows_subjects() {
        return None;
    }
    // Anchor of relative days: the child's own birth, or the family's first emitted child for the mother.
    let anchor: Option<NaiveDate> = match rec.subject {
        Subject::Child(child) => {
            let plan = plan.children.get(&(rec.account_id.clone(), child))?;
            plan.period.as_ref()?;
            Some(plan.birth_date)
        }
        // A mother's rows leave only when she is emitted (her own class is k-anonymous and l-diverse).
        Subject::Mother => Some(*plan.anchors.get(&rec.account_id)?),
    };
    let days = |d: Option<NaiveDate>| -> String { opt(anchor.zip(d).map(|(a, d)| days_from(a, d))) };
    let code_cell = |key: String| -> Option<String> {
        match plan.codes.get(&key) {
            Some(CodeDecision::Keep) | None => Some(code_value(&key).to_owned()),
            Some(CodeDecision::Parent(p)) => Some(p.clone()),
            Some(CodeDecision::Suppress) => None,
        }
    };

    let mut cells = vec![pseudo.person(&rec.account_id, &rec.subject)];
    match &rec.body {
        RecordBody::MotherProfile(m) => {
            let level = *plan.mother_levels.get(&rec.account_id)?;
            cells.extend([
                opt(m.abo.map(|v| v.code())),
                opt(m.rh_d.map(|v| v.code())),
                opt(m.irregular_antibodies.map(|v| v.code())),
                opt(m.gravida.map(parity_band)),
                opt(m.parity.map(|p| mother_parity_band(p, level))),
                opt(m.previous_caesareans.map(parity_band)),
                opt(m.smoking.map(|v| v.code())),
                opt(m.alcohol.map(|v| v.code())),
            ])
        }
        RecordBody::Pregnancy(p) => {
            cells.extend([p.status.code().to_owned(), opt(p.number_of_fetuses.map(plurality_band))])
        }
        RecordBody::PrenatalVisit(p) => cells.extend([
            opt(p.gestational_age.map(|g| g.weeks)),
            opt(p.edema.map(|v| v.code())),
            opt(p.urine_protein.map(|v| v.code())),
            opt(p.urine_glucose.map(|v| v.code())),
            opt(p.fetal_presentation.map(|v| v.code())),
            opt(p.hypertensive_disorder),
            opt(p.gestational_diabetes),
        ]),
        RecordBody::Delivery(d) => {
            let date = d.delivery_date();
            let child_level = plan.delivery_levels.get(&(rec.account_id.clone(), date)).copied().flatten()?;
            let level = *plan.mother_levels.get(&rec.account_id)?;
            let birth = plan.mothers.get(&rec.account_id).map(|m| m.birth_date);
            let [delivery_period, method, plurality, age] = delivery_quasi_identifiers(
                date,
                d.method.category().code(),
                d.number_of_babies,
                child_level,
                birth,
                level,
            );
            cells.extend([
                delivery_period,
                opt(d.gestational_age.map(|g| gestational_weeks_band(g.weeks))),
                method,
                plurality,
                age,
                opt(d.transfusion),
            ])
        }
        RecordBody::Newborn(n) => {
            let Subject::Child(child) = rec.subject else { return None };
            let child = plan.children.get(&(rec.account_id.clone(), child))?;
            cells.extend([
                child.period.clone()?,
                super::sex_code(n.sex).to_owned(),
                child.plurality.to_owned(),
                child.delivery_method.to_owned(),
                opt(n.birth_weight.map(|w| super::generalize::birth_weight_band(w.value))),
                opt(n.apgar.map(|a| a.one_minute)),
                opt(n.apgar.map(|a| a.five_minute)),
                opt(n.hearing_screen.map(|v| v.code())),
                opt(n.metabolic_screen.map(|v| v.code())),
                n.vitamin_k_given().to_string(),
            ])
        }
        RecordBody::ChildCheckup(c) => cells.extend([
            days(Some(c.date)),
            c.checkup_type.code().to_owned(),
            opt(c.overall_judgement.map(|v| v.code())),
        ]),
        RecordBody::Development(d) => cells.extend([
            days(Some(d.answered_on)),
            d.milestone.code().to_owned(),
            d.achieved.code().to_owned(),
            days(d.achieved_on),
        ]),
        RecordBody::Immunization(i) => {
            let vaccine = code_cell(format!("{VACCINE_PREFIX}{}", i.vaccine.code()))?;
            cells.extend([
                days(Some(i.date_given)),
                vaccine,
                i.routine.to_string(),
                i.dose_number.to_string(),
                i.series.code().to_owned(),
            ])
        }
        RecordBody::Medication(m) => {
            let (system, code) = match &m.drug_code {
                Some(c) => {
                    (c.system.code().to_owned(), code_cell(format!("{DRUG_PREFIX}{}:{}", c.system.code(), c.code))?)
                }
                None => (String::new(), String::new()),
            };
            cells.extend([days(Some(m.dispensed_on)), system, code])
        }
        RecordBody::SelfVitals(s) => cells.push(days(Some(s.measured_at.date_naive()))),
        RecordBody::SubjectIdentifiers(_) => return None,
        RecordBody::Allergy(a) => cells.extend([
            days(a.onset),
            a.category.code().to_owned(),
            opt(a.food.map(|v| v.code())),
            a.clinical_status.code().to_owned(),
            opt(a.criticality.map(|v| v.code())),
            opt(a.severity.map(|v| v.code())),
        ]),
        RecordBody::Condition(c) => cells.extend([
            days(c.onset),
            c.code.code().to_owned(),
            c.clinical_status.code().to_owned(),
            days(c.abatement),
        ]),
    }
    let mut masked = Vec::new();
    for (column, value, plausible) in numeric_fields(&rec.body) {
        let Some(value) = value else {
            cells.extend([String::new(), String::new()]);
            continue;
        };
        let bounds = plan.bounds.get(&(kind, column)).copied();
        match code_number(value, bounds, plausible) {
            Coded::AsMeasured(v) => cells.extend([v.to_string(), "false".to_owned()]),
            Coded::Clamped(v) => cells.extend([v.to_string(), "true".to_owned()]),
            Coded::Masked => {
                masked.push(cells.len());
                cells.extend([String::new(), String::new()]);
            }
        }
    }
    Some(DeidRow { kind, id: pseudo.record(&rec.account_id, &rec.record_id), cells, masked })
}

/// One CSV line (RFC 4180 quoting), with its line break.
pub fn csv_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell = cell.as_ref();
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(cell);
        }
    }
    line.push_str("\r\n");
    line
}

/// The FHIR Observation of a de-identified row: the module as code, each
/// non-empty column as a component, the person as a pseudonymous Patient.
/// Serialized straight from borrowed fields (no intermediate JSON tree).
pub fn observation(row: &DeidRow) -> Observation<'_> {
    let header = header(row.kind);
    let mut component = Vec::with_capacity(header.len());
    for (i, (col, v)) in header.iter().zip(&row.cells).enumerate().skip(1) {
        if col.ends_with(CLAMPED_SUFFIX) {
            continue;
        }
        let clamped = row.cells.get(i + 1).is_some_and(|f| f == "true")
            && header.get(i + 1).is_some_and(|h| h.ends_with(CLAMPED_SUFFIX));
        if !v.is_empty() {
            component.push(Component {
                extension: if clamped { vec![Extension::CLAMPED] } else { vec![] },
                code: Concept::of(ITEM_SYSTEM, col),
                value_string: Some(v),
                data_absent_reason: None,
            });
        } else if row.masked.contains(&i) {
            component.push(Component {
                extension: vec![],
                code: Concept::of(ITEM_SYSTEM, col),
                value_string: None,
                data_absent_reason: Some(Concept::of(DATA_ABSENT_REASON, "masked")),
            });
        }
    }
    Observation {
        resource_type: "Observation",
        id: &row.id,
        meta: Meta::PSEUDED,
        status: "final",
        code: Concept::of(MODULE_SYSTEM, row.kind.as_str()),
        subject: Reference { reference: format!("Patient/{}", row.cells.first().map_or("", String::as_str)) },
        component,
    }
}

/// A FHIR R4 Observation as emitted in research NDJSON.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub meta: Meta,
    pub status: &'static str,
    pub code: Concept<'a>,
    pub subject: Reference,
    pub component: Vec<Component<'a>>,
}

#[derive(Debug, serde::Serialize)]
pub struct Meta {
    pub security: [Coding<'static>; 1],
}

impl Meta {
    const PSEUDED: Meta = Meta {
        security: [Coding {
            system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            code: "PSEUDED",
            display: Some("pseudonymized"),
        }],
    };
}

#[derive(Debug, serde::Serialize)]
pub struct Coding<'a> {
    pub system: &'a str,
    pub code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<&'a str>,
}

#[derive(Debug, serde::Serialize)]
pub struct Concept<'a> {
    pub coding: [Coding<'a>; 1],
}

impl<'a> Concept<'a> {
    fn of(system: &'a str, code: &'a str) -> Self {
        Concept { coding: [Coding { system, code, display: None }] }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct Reference {
    pub reference: String,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub code: Concept<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_string: Option<&'a str>,
    /// `masked` when a value was withheld as implausible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_absent_reason: Option<Concept<'a>>,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: &'static str,
    pub value_boolean: bool,
}

impl Extension {
    const CLAMPED: Extension = Extension { url: CLAMPED_EXTENSION, value_boolean: true };
}

/// A pseudonymous Patient: gender and birth period for a child, nothing else.
pub fn patient(id: &str, child: Option<(&str, &str)>) -> Value {
    let mut p = json!({"resourceType": "Patient", "id": id, "meta": {"security": [pseudonymized_label()]}});
    if let Some((period, sex)) = child {
        p["gender"] = json!(sex);
        p["extension"] = json!([{"url": BIRTH_PERIOD_EXTENSION, "valueString": period}]);
    }
    p
}
