//! Per-module projection of a record into one de-identified row: which columns
//! leave (codes, bands, relative days, top/bottom-coded numbers) and which never
//! do (names, identifiers, free text, clinics, lot numbers, exact dates).

use chrono::NaiveDate;
use phr_core::dataset::immunization::Vaccine;
use phr_core::dataset::medication::DrugCodeSystem;
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use serde_json::{json, Value};

use super::generalize::{
    days_from, gestational_weeks_band, mother_age_band, parity_band, period, plurality_band, top_bottom_code,
};
use super::{CodeDecision, DeidRow, Plan, Pseudonymizer, SourceRecord};

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
    }
}

/// The numeric items of a module: (column, value), top/bottom-coded at the 1st/99th percentile.
fn numeric_fields(body: &RecordBody) -> Vec<(&'static str, Option<f64>)> {
    match body {
        RecordBody::MotherProfile(m) => vec![
            ("height_cm", m.height.map(|v| v.value)),
            ("pre_pregnancy_weight_kg", m.pre_pregnancy_weight.map(|v| v.value)),
        ],
        RecordBody::Pregnancy(_) | RecordBody::Development(_) | RecordBody::Immunization(_) => vec![],
        RecordBody::PrenatalVisit(p) => vec![
            ("body_weight_kg", p.body_weight.map(|v| v.value)),
            ("systolic_mmhg", p.blood_pressure.as_ref().map(|b| b.systolic.value)),
            ("diastolic_mmhg", p.blood_pressure.as_ref().map(|b| b.diastolic.value)),
            ("fundal_height_cm", p.fundal_height.map(|v| v.value)),
            ("abdominal_girth_cm", p.abdominal_girth.map(|v| v.value)),
            ("fetal_heart_rate", p.fetal_heart_rate.map(|v| v.value)),
            ("hemoglobin_g_dl", p.labs.as_ref().and_then(|l| l.hemoglobin).map(|v| v.value)),
        ],
        RecordBody::Delivery(d) => vec![
            ("labour_duration_h", d.labour_duration.map(|v| v.value)),
            ("blood_loss_ml", d.blood_loss.map(|v| v.value)),
        ],
        RecordBody::Newborn(n) => vec![
            ("birth_length_cm", n.birth_length.map(|v| v.value)),
            ("head_circumference_cm", n.head_circumference.map(|v| v.value)),
        ],
        RecordBody::ChildCheckup(c) => vec![
            ("weight_kg", c.weight.map(|v| v.value)),
            ("length_cm", c.length.map(|v| v.value)),
            ("head_circumference_cm", c.head_circumference.map(|v| v.value)),
        ],
        RecordBody::Medication(m) => vec![("days_supplied", m.days_supplied.map(f64::from))],
        RecordBody::SelfVitals(s) => vec![
            ("systolic_mmhg", s.blood_pressure.as_ref().map(|b| b.systolic.value)),
            ("diastolic_mmhg", s.blood_pressure.as_ref().map(|b| b.diastolic.value)),
            ("weight_kg", s.weight.map(|v| v.value)),
            ("body_temperature_cel", s.body_temperature.map(|v| v.value)),
            ("heart_rate", s.heart_rate.map(|v| v.value)),
            ("spo2_percent", s.spo2.map(|v| v.value)),
            ("blood_glucose_mg_dl", s.blood_glucose.map(|v| v.value)),
            ("steps", s.steps.map(|v| v.value)),
        ],
    }
}

/// Interned `module.column` keys for the percentile table.
fn numeric_key(kind: RecordKind, column: &'static str) -> &'static str {
    macro_rules! keys {
        ($($k:ident),*) => {
            match kind { $( RecordKind::$k => leak(kind, column), )* }
        };
    }
    keys!(
        MotherProfile,
        Pregnancy,
        PrenatalVisit,
        Delivery,
        Newborn,
        ChildCheckup,
        Development,
        Immunization,
        Medication,
        SelfVitals
    )
}

fn leak(kind: RecordKind, column: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static KEYS: OnceLock<Mutex<HashMap<(RecordKind, &'static str), &'static str>>> = OnceLock::new();
    let mut map = KEYS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    map.entry((kind, column)).or_insert_with(|| Box::leak(format!("{}.{column}", kind.as_str()).into_boxed_str()))
}

/// Calls `f(module.column, value)` for every numeric value of `body` (pass 1).
/// Whether records of `kind` can add anything to the pass-1 survey beyond the birth anchors
/// (codes or numeric items): pass 1 reads only these. Exhaustive, so a new kind must decide.
pub(crate) fn feeds_survey(kind: RecordKind) -> bool {
    match kind {
        RecordKind::Pregnancy | RecordKind::Development => false,
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

pub(crate) fn numbers_of(body: &RecordBody, mut f: impl FnMut(&'static str, f64)) {
    let kind = body.kind();
    for (column, value) in numeric_fields(body) {
        if let Some(v) = value {
            f(numeric_key(kind, column), v);
        }
    }
}

/// The CSV header of a module.
pub fn header(kind: RecordKind) -> &'static [&'static str] {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static HEADERS: OnceLock<HashMap<RecordKind, Vec<&'static str>>> = OnceLock::new();
    let headers = HEADERS.get_or_init(|| {
        // The numeric columns do not depend on the values: take them from an example body of each kind.
        phr_core::dataset::examples::all_full()
            .into_iter()
            .map(|body| {
                let kind = body.kind();
                let mut cols = vec!["person_id"];
                cols.extend_from_slice(fixed_columns(kind));
                cols.extend(numeric_fields(&body).into_iter().map(|(c, _)| c));
                (kind, cols)
            })
            .collect()
    });
    headers.get(&kind).map_or(&[], Vec::as_slice)
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
    // Anchor of relative days: the child's own birth, or the family's first emitted child for the mother.
    let anchor: Option<NaiveDate> = match rec.subject {
        Subject::Child(child) => {
            let plan = plan.children.get(&(rec.account_id.clone(), child))?;
            plan.period.as_ref()?;
            Some(plan.birth_date)
        }
        Subject::Mother => plan.anchors.get(&rec.account_id).copied(),
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
        RecordBody::MotherProfile(m) => cells.extend([
            opt(m.abo.map(|v| v.code())),
            opt(m.rh_d.map(|v| v.code())),
            opt(m.irregular_antibodies.map(|v| v.code())),
            opt(m.gravida.map(parity_band)),
            opt(m.parity.map(parity_band)),
            opt(m.previous_caesareans.map(parity_band)),
            opt(m.smoking.map(|v| v.code())),
            opt(m.alcohol.map(|v| v.code())),
        ]),
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
            let level = plan.delivery_levels.get(&(rec.account_id.clone(), date)).copied().flatten()?;
            let age = plan.mothers.get(&rec.account_id).and_then(|b| mother_age_band(*b, date));
            cells.extend([
                period(date, level),
                opt(d.gestational_age.map(|g| gestational_weeks_band(g.weeks))),
                d.method.category().code().to_owned(),
                plurality_band(d.number_of_babies).to_owned(),
                opt(age),
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
    }
    for (column, value) in numeric_fields(&rec.body) {
        let bounds = plan.bounds.get(numeric_key(kind, column)).copied();
        cells.push(opt(value.map(|v| top_bottom_code(v, bounds))));
    }
    Some(DeidRow { kind, id: pseudo.record(&rec.account_id, &rec.record_id), cells })
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
    let component = header
        .iter()
        .zip(&row.cells)
        .skip(1)
        .filter(|(_, v)| !v.is_empty())
        .map(|(col, v)| Component { code: Concept::of(ITEM_SYSTEM, col), value_string: v })
        .collect();
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
    pub code: Concept<'a>,
    pub value_string: &'a str,
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
