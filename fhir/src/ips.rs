//! The emergency summary of one person (the mother or a child) as an
//! International Patient Summary–style FHIR `document` Bundle, built on the
//! device from the records the family holds.
//!
//! - The Patient merges what the records say of the person (the mother profile's
//!   or the newborn's names and birth date, the identifiers the family attached:
//!   handbook number, municipal id), so the team can match the person.
//! - The Bundle (`type: document`, an `identifier`, a `timestamp`) starts with a
//!   Composition (LOINC 60591-5 "Patient summary Document", status `final`,
//!   the person as `subject`, the app as `author`), then the Patient, then
//!   every resource a section lists and every resource those reference (the
//!   Encounter of a checkup's Observations). Every entry has a `urn:uuid:`
//!   `fullUrl` and every reference between entries is rewritten to it, so the
//!   document stands alone.
//! - Sections, with their LOINC codes as IPS names them: problems (11450-4),
//!   allergies (48765-2) and medications (10160-0) are always present — empty
//!   ones say so with `emptyReason` `unavailable` (the record does not know,
//!   which is not the same as "none") — then immunizations (11369-6), vital
//!   signs (8716-3), results (30954-2) and pregnancy (10162-6), each only when
//!   it has entries. Each section has a generated XHTML narrative listing its
//!   entries, so a reader without FHIR software can read it.
//! - Vital signs and results keep only the latest Observation of each code
//!   (an emergency team needs the last blood pressure, not the series);
//!   immunizations, medications, problems and allergies are kept whole.
//! - Pregnancy: the pregnancy record's Observations (status, EDD, LMP, fetuses)
//!   of a pregnancy still ongoing, and the gestational age on the summary's
//!   date (LOINC 49051-6, in days) computed from its dating.
//!
//! Which records to pass is the caller's choice (the mobile core passes the
//! person's current records); records of other kinds (development milestones,
//! …) add nothing to an emergency summary and are skipped.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{RecordBody, RecordKind};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::code_systems;
use crate::mapping::subject_identifiers::merge_patients;
use crate::mapping::{to_fhir, MappingContext, MappingError};
use crate::model::{
    Bundle, BundleEntry, CodeableConcept, Coding, Composition, CompositionSection, Identifier, Narrative, Patient,
    Reference, Resource,
};

/// LOINC: Patient summary Document.
pub const IPS_DOCUMENT: &str = "60591-5";
/// LOINC: gestational age in weeks (sent in days, the exact count).
pub const GESTATIONAL_AGE: &str = "49051-6";

/// One section of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Problems (Conditions: gestational diabetes, ...).
    Problems,
    /// Allergies and intolerances.
    Allergies,
    /// Medications (dispensed drugs, newborn vitamin K).
    Medications,
    /// Immunizations given.
    Immunizations,
    /// The latest vital signs and body measurements.
    VitalSigns,
    /// The latest laboratory results (blood group, labs of checkups).
    Results,
    /// The ongoing pregnancy (status, EDD, gestational age today).
    Pregnancy,
}

impl Section {
    /// Every section, in the order the Composition lists them.
    pub const ALL: [Section; 7] = [
        Section::Problems,
        Section::Allergies,
        Section::Medications,
        Section::Immunizations,
        Section::VitalSigns,
        Section::Results,
        Section::Pregnancy,
    ];

    /// The section's LOINC code and title.
    pub const fn loinc(self) -> (&'static str, &'static str) {
        match self {
            Section::Problems => ("11450-4", "Problem list"),
            Section::Allergies => ("48765-2", "Allergies and intolerances"),
            Section::Medications => ("10160-0", "Medication summary"),
            Section::Immunizations => ("11369-6", "Immunizations"),
            Section::VitalSigns => ("8716-3", "Vital signs"),
            Section::Results => ("30954-2", "Results"),
            Section::Pregnancy => ("10162-6", "History of pregnancies"),
        }
    }

    /// Sections IPS requires even when empty.
    pub const fn required(self) -> bool {
        matches!(self, Section::Problems | Section::Allergies | Section::Medications)
    }
}

/// One record of the person, as the device holds it.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRecord<'a> {
    /// The record id (resource ids derive from it).
    pub id: Uuid,
    /// Its current body.
    pub body: &'a RecordBody,
}

/// What the summary is built from.
#[derive(Debug, Clone)]
pub struct SummaryInput<'a> {
    /// The person's Patient (its `id` is what the records' `subject` references name).
    pub patient: Patient,
    /// The person's current records.
    pub records: Vec<SummaryRecord<'a>>,
    /// The day the summary is for (gestational age is counted to it).
    pub today: NaiveDate,
    /// When the document is assembled.
    pub now: DateTime<Utc>,
    /// Who assembled it, for `Composition.author` (e.g. the app's name).
    pub author: String,
}

/// Where a mapped resource goes, if anywhere.
fn section_of(kind: RecordKind, resource: &Value) -> Option<Section> {
    match resource["resourceType"].as_str()? {
        "Condition" => Some(Section::Problems),
        "AllergyIntolerance" => Some(Section::Allergies),
        "MedicationStatement" | "MedicationDispense" => Some(Section::Medications),
        "Immunization" => Some(Section::Immunizations),
        "Observation" if kind == RecordKind::Pregnancy => Some(Section::Pregnancy),
        "Observation" => {
            let categories: Vec<&str> = resource["category"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["coding"].as_array().into_iter().flatten())
                .filter_map(|c| c["code"].as_str())
                .collect();
            if categories.contains(&"vital-signs") {
                Some(Section::VitalSigns)
            } else if categories.contains(&"laboratory") {
                Some(Section::Results)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `Type/id` of a resource JSON.
fn key_of(resource: &Value) -> Option<String> {
    Some(format!("{}/{}", resource["resourceType"].as_str()?, resource["id"].as_str()?))
}

/// The date an Observation is about (its effective date or period start), for "latest".
fn effective(resource: &Value) -> String {
    resource["effectiveDateTime"]
        .as_str()
        .or_else(|| resource["effectivePeriod"]["start"].as_str())
        .or_else(|| resource["effectiveInstant"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// The first coding `system|code` of a resource's `code`.
fn code_key(resource: &Value) -> String {
    let c = &resource["code"]["coding"][0];
    format!("{}|{}", c["system"].as_str().unwrap_or(""), c["code"].as_str().unwrap_or(""))
}

/// Rewrites every `reference` naming a key of `urls` to its `fullUrl`.
fn rewrite_references(value: &mut Value, urls: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("reference") {
                if let Some(url) = urls.get(r.as_str()) {
                    *r = url.clone();
                }
            }
            for v in map.values_mut() {
                rewrite_references(v, urls);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, urls)),
        _ => {}
    }
}

/// Every `reference` in a resource.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                out.push(r.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A one-line description of an entry for the section's narrative.
fn describe(resource: &Value) -> String {
    let concept = |cc: &Value| -> Option<String> {
        cc["text"]
            .as_str()
            .or_else(|| cc["coding"].as_array()?.iter().find_map(|c| c["display"].as_str()))
            .or_else(|| cc["coding"][0]["code"].as_str())
            .map(str::to_owned)
    };
    let what = match resource["resourceType"].as_str().unwrap_or("") {
        "Immunization" => concept(&resource["vaccineCode"]),
        "MedicationStatement" | "MedicationDispense" => concept(&resource["medicationCodeableConcept"]),
        _ => concept(&resource["code"]),
    }
    .unwrap_or_else(|| resource["resourceType"].as_str().unwrap_or("entry").to_owned());
    let value = if let Some(q) = resource.get("valueQuantity") {
        Some(format!("{} {}", q["value"], q["unit"].as_str().or_else(|| q["code"].as_str()).unwrap_or("")))
    } else if let Some(cc) = resource.get("valueCodeableConcept") {
        concept(cc)
    } else {
        ["valueString", "valueDateTime", "valueInteger", "valueBoolean"]
            .iter()
            .find_map(|k| resource.get(*k))
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
    };
    let components: Vec<String> = resource["component"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let value = match (c.get("valueQuantity"), c.get("valueCodeableConcept")) {
                (Some(q), _) => format!("{} {}", q["value"], q["unit"].as_str().unwrap_or("")),
                (None, Some(cc)) => concept(cc)?,
                (None, None) => c.get("valueString")?.as_str()?.to_owned(),
            };
            Some(format!("{} {value}", concept(&c["code"]).unwrap_or_default()))
        })
        .collect();
    let when = resource["occurrenceDateTime"]
        .as_str()
        .or_else(|| resource["effectiveDateTime"].as_str())
        .or_else(|| resource["whenHandedOver"].as_str())
        .or_else(|| resource["recordedDate"].as_str())
        .or_else(|| resource["onsetDateTime"].as_str());
    let mut line = what;
    if let Some(v) = value {
        line.push_str(&format!(": {v}"));
    }
    if !components.is_empty() {
        line.push_str(&format!(": {}", components.join(", ")));
    }
    if let Some(w) = when {
        line.push_str(&format!(" ({w})"));
    }
    line
}

fn narrative(lines: &[String]) -> Narrative {
    let items: String = lines.iter().map(|l| format!("<li>{}</li>", escape(l))).collect();
    Narrative {
        status: Some("generated".into()),
        div: Some(format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><ul>{items}</ul></div>")),
        ..Default::default()
    }
}

fn urn() -> String {
    format!("urn:uuid:{}", Uuid::new_v4())
}

/// The gestational age on `today` of the ongoing pregnancy, as an Observation JSON.
fn gestational_age_today(body: &RecordBody, today: NaiveDate, patient_ref: &str, id: Uuid) -> Option<Value> {
    let RecordBody::Pregnancy(p) = body else { return None };
    if p.status != PregnancyStatus::Ongoing {
        return None;
    }
    let start = p.dating_start()?;
    let days = (today - start).num_days();
    if !(0..=45 * 7).contains(&days) {
        return None;
    }
    Some(json!({
        "resourceType": "Observation",
        "id": format!("{id}-gestational-age-today"),
        "status": "final",
        "code": {"coding": [{"system": code_systems::LOINC, "code": GESTATIONAL_AGE, "display": "Gestational age"}],
                 "text": format!("Gestational age today: {}w{}d", days / 7, days % 7)},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": today.format("%Y-%m-%d").to_string(),
        "valueQuantity": {"value": days, "unit": "d", "system": code_systems::UCUM, "code": "d"},
    }))
}

/// The summary document of one person.
pub fn emergency_summary(input: &SummaryInput<'_>) -> Result<Bundle, MappingError> {
    let patient_id = input.patient.id.clone().unwrap_or_else(|| "subject".to_owned());
    let patient_key = format!("Patient/{patient_id}");
    // Every resource of the relevant records, with the section it goes to.
    let mut mapped: Vec<(Option<Section>, Value)> = Vec::new();
    for record in &input.records {
        let kind = record.body.kind();
        if !kind.in_emergency_summary() {
            continue;
        }
        let ctx = MappingContext::new(record.id, patient_id.clone());
        for resource in to_fhir(record.body, &ctx)? {
            let value = serde_json::to_value(&resource).map_err(|e| MappingError::Invalid {
                path: resource.resource_type().to_owned(),
                reason: e.to_string(),
            })?;
            // The pregnancy section is about the ongoing pregnancy only.
            let section = section_of(kind, &value);
            if section == Some(Section::Pregnancy) {
                if let RecordBody::Pregnancy(p) = record.body {
                    if p.status != PregnancyStatus::Ongoing {
                        continue;
                    }
                }
            }
            mapped.push((section, value));
        }
        if let Some(ga) = gestational_age_today(record.body, input.today, &patient_key, record.id) {
            mapped.push((Some(Section::Pregnancy), ga));
        }
    }
    // The person's Patient: what a record maps to (the mother profile's or the newborn's, with
    // names and birth date) over the one given, which keeps its id.
    let mut patients = vec![input.patient.clone()];
    for (_, v) in mapped.iter().filter(|(_, v)| key_of(v).as_deref() == Some(patient_key.as_str())) {
        if let Ok(Resource::Patient(p)) = Resource::from_value(v.clone()) {
            patients.push(p);
        }
    }
    let mut merged = merge_patients(patients);
    merged.id = Some(patient_id.clone());
    let mut patient = serde_json::to_value(&merged)
        .map_err(|e| MappingError::Invalid { path: "Patient".into(), reason: e.to_string() })?;
    mapped.retain(|(_, v)| key_of(v).as_deref() != Some(patient_key.as_str()));
    // Vital signs and results: the latest Observation of each code.
    let mut latest: BTreeMap<(Section, String), String> = BTreeMap::new();
    for (section, v) in &mapped {
        if let Some(s @ (Section::VitalSigns | Section::Results)) = section {
            let entry = latest.entry((*s, code_key(v))).or_default();
            let date = effective(v);
            if date > *entry {
                *entry = date;
            }
        }
    }
    mapped.retain(|(section, v)| match section {
        Some(s @ (Section::VitalSigns | Section::Results)) => latest.get(&(*s, code_key(v))) == Some(&effective(v)),
        _ => true,
    });
    // What the kept entries reference (the Encounter of a checkup) comes along, outside any section.
    let by_key: HashMap<String, Value> = mapped.iter().filter_map(|(_, v)| Some((key_of(v)?, v.clone()))).collect();
    let mut kept: Vec<(Option<Section>, Value)> = mapped.iter().filter(|(s, _)| s.is_some()).cloned().collect();
    let mut present: Vec<String> = kept.iter().filter_map(|(_, v)| key_of(v)).collect();
    let mut i = 0;
    while i < kept.len() {
        let mut refs = Vec::new();
        references(&kept[i].1, &mut refs);
        for r in refs {
            if !present.contains(&r) {
                if let Some(v) = by_key.get(&r) {
                    present.push(r);
                    kept.push((None, v.clone()));
                }
            }
        }
        i += 1;
    }
    // fullUrls, then references rewritten to them.
    let mut urls: HashMap<String, String> = HashMap::new();
    urls.insert(patient_key.clone(), urn());
    for (_, v) in &kept {
        if let Some(k) = key_of(v) {
            urls.entry(k).or_insert_with(urn);
        }
    }
    let patient_url = urls[&patient_key].clone();
    let mut sections: BTreeMap<Section, (Vec<Reference>, Vec<String>)> = BTreeMap::new();
    let mut entries = Vec::new();
    rewrite_references(&mut patient, &urls);
    entries.push((patient_url.clone(), patient));
    for (section, mut v) in kept {
        let Some(url) = key_of(&v).and_then(|k| urls.get(&k).cloned()) else { continue };
        if let Some(s) = section {
            let (refs, lines) = sections.entry(s).or_default();
            refs.push(Reference { reference: Some(url.clone()), ..Default::default() });
            lines.push(describe(&v));
        }
        rewrite_references(&mut v, &urls);
        entries.push((url, v));
    }
    let composition_sections: Vec<CompositionSection> = Section::ALL
        .iter()
        .filter_map(|s| {
            let (code, title) = s.loinc();
            let code = CodeableConcept::from_codings(vec![Coding::new(code_systems::LOINC, code, Some(title))]);
            match sections.remove(s) {
                Some((entry, lines)) => Some(CompositionSection {
                    title: Some(title.into()),
                    code: Some(code),
                    text: Some(narrative(&lines)),
                    entry,
                    ..Default::default()
                }),
                None if s.required() => Some(CompositionSection {
                    title: Some(title.into()),
                    code: Some(code),
                    text: Some(narrative(&["No information in the family's record".to_owned()])),
                    empty_reason: Some(CodeableConcept::from_codings(vec![Coding::new(
                        "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                        "unavailable",
                        Some("Unavailable"),
                    )])),
                    ..Default::default()
                }),
                None => None,
            }
        })
        .collect();
    let now = input.now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let composition = Composition {
        id: Some(Uuid::new_v4().to_string()),
        status: Some("final".into()),
        type_: CodeableConcept::from_codings(vec![Coding::new(
            code_systems::LOINC,
            IPS_DOCUMENT,
            Some("Patient summary Document"),
        )]),
        subject: Some(Reference { reference: Some(patient_url), ..Default::default() }),
        date: Some(now.clone()),
        author: vec![Reference { display: Some(input.author.clone()), ..Default::default() }],
        title: Some("Emergency summary (International Patient Summary)".into()),
        section: composition_sections,
        ..Default::default()
    };
    let mut bundle_entries = vec![BundleEntry {
        full_url: Some(urn()),
        resource: Some(Box::new(Resource::Composition(composition))),
        ..Default::default()
    }];
    for (url, v) in entries {
        let resource = Resource::from_value(v)
            .map_err(|e| MappingError::Invalid { path: "entry".into(), reason: e.to_string() })?;
        bundle_entries.push(BundleEntry {
            full_url: Some(url),
            resource: Some(Box::new(resource)),
            ..Default::default()
        });
    }
    Ok(Bundle {
        identifier: Some(Identifier {
            system: Some("urn:ietf:rfc:3986".into()),
            value: Some(urn()),
            ..Default::default()
        }),
        type_: Some("document".into()),
        timestamp: Some(now),
        entry: bundle_entries,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::examples;

    use super::*;

    fn mother_records() -> Vec<(Uuid, RecordBody)> {
        let mut visit_early = examples::prenatal_visit_full();
        visit_early.visit_date -= chrono::Duration::days(28);
        vec![
            (Uuid::now_v7(), RecordBody::MotherProfile(examples::mother_profile_full())),
            (Uuid::now_v7(), RecordBody::Pregnancy(examples::pregnancy_minimal())),
            (Uuid::now_v7(), RecordBody::PrenatalVisit(visit_early)),
            (Uuid::now_v7(), RecordBody::PrenatalVisit(examples::prenatal_visit_full())),
            (Uuid::now_v7(), RecordBody::Immunization(examples::immunization_full())),
            (Uuid::now_v7(), RecordBody::Medication(examples::medication_full())),
            (Uuid::now_v7(), RecordBody::Development(examples::development_full())),
            (Uuid::now_v7(), RecordBody::SubjectIdentifiers(examples::subject_identifiers_full())),
        ]
    }

    fn summary(records: &[(Uuid, RecordBody)], today: NaiveDate) -> Value {
        let input = SummaryInput {
            patient: Patient { id: Some("mother-acc".into()), ..Default::default() },
            records: records.iter().map(|(id, body)| SummaryRecord { id: *id, body }).collect(),
            today,
            now: Utc::now(),
            author: "PHR app".into(),
        };
        serde_json::to_value(emergency_summary(&input).unwrap()).unwrap()
    }

    fn section<'a>(doc: &'a Value, loinc: &str) -> Option<&'a Value> {
        doc["entry"][0]["resource"]["section"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"]["coding"][0]["code"] == loinc)
    }

    #[test]
    fn the_summary_is_a_document_with_the_composition_first_and_every_reference_resolving_inside_it() {
        let records = mother_records();
        let doc =
            summary(&records, examples::pregnancy_minimal().dating_start().unwrap() + chrono::Duration::days(200));
        assert_eq!(doc["type"], "document");
        assert!(doc["identifier"]["value"].as_str().unwrap().starts_with("urn:uuid:"));
        assert!(doc["timestamp"].is_string());
        let comp = &doc["entry"][0]["resource"];
        assert_eq!(comp["resourceType"], "Composition");
        assert_eq!(comp["type"]["coding"][0]["code"], IPS_DOCUMENT);
        assert_eq!(comp["subject"]["reference"], doc["entry"][1]["fullUrl"]);
        assert_eq!(doc["entry"][1]["resource"]["resourceType"], "Patient");
        let urls: Vec<&str> = doc["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].as_str().unwrap()).collect();
        let mut refs = Vec::new();
        references(&doc, &mut refs);
        for r in refs.iter().filter(|r| !r.starts_with('#')) {
            assert!(urls.contains(&r.as_str()), "{r} does not resolve inside the document");
        }
        let patients: Vec<&Value> =
            doc["entry"].as_array().unwrap().iter().filter(|e| e["resource"]["resourceType"] == "Patient").collect();
        assert_eq!(patients.len(), 1, "one Patient, the profile's content merged in");
        assert!(patients[0]["resource"]["name"].is_array(), "{}", patients[0]);
        assert_eq!(patients[0]["resource"]["id"], "mother-acc");
        let handbook = &examples::subject_identifiers_full().identifiers[0];
        assert!(
            patients[0]["resource"]["identifier"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["value"] == handbook.value.as_str()),
            "the identifiers the family attached let the team match the person: {}",
            patients[0]
        );
        let results = section(&doc, "30954-2").unwrap()["text"]["div"].as_str().unwrap();
        assert!(results.contains("Blood group panel:"), "the blood group's components are described: {results}");
        // Development milestones are not part of an emergency summary.
        assert!(!doc.to_string().contains("development"), "{doc}");
        let parsed: Bundle = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(parsed.entry.len(), urls.len());
    }

    #[test]
    fn required_sections_are_present_empty_ones_saying_unavailable_and_vitals_keep_the_latest_per_code() {
        let records = mother_records();
        let doc =
            summary(&records, examples::pregnancy_minimal().dating_start().unwrap() + chrono::Duration::days(200));
        let allergies = section(&doc, "48765-2").expect("allergies section");
        assert_eq!(allergies["emptyReason"]["coding"][0]["code"], "unavailable");
        assert!(allergies["text"]["div"].as_str().unwrap().starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"));
        assert!(section(&doc, "11450-4").unwrap()["entry"].as_array().is_some(), "the GDM condition is a problem");
        assert_eq!(section(&doc, "10160-0").unwrap()["entry"].as_array().unwrap().len(), 1);
        assert_eq!(section(&doc, "11369-6").unwrap()["entry"].as_array().unwrap().len(), 1);
        // Two visits measured the same vitals: only the later one's are listed.
        let vitals = section(&doc, "8716-3").unwrap()["entry"].as_array().unwrap();
        let later = examples::prenatal_visit_full().visit_date.format("%Y-%m-%d").to_string();
        for r in vitals {
            let url = r["reference"].as_str().unwrap();
            let entry = doc["entry"].as_array().unwrap().iter().find(|e| e["fullUrl"] == url).unwrap();
            let date = effective(&entry["resource"]);
            assert!(date.is_empty() || date.starts_with(&later), "{date}");
        }
    }

    #[test]
    fn allergies_and_the_problem_list_list_the_allergy_and_condition_records() {
        let mut records = mother_records();
        records.push((Uuid::now_v7(), RecordBody::Allergy(examples::allergy_full())));
        records.push((Uuid::now_v7(), RecordBody::Condition(examples::condition_full())));
        let doc =
            summary(&records, examples::pregnancy_minimal().dating_start().unwrap() + chrono::Duration::days(200));
        let allergies = section(&doc, "48765-2").expect("allergies section");
        assert!(allergies.get("emptyReason").is_none(), "{allergies}");
        assert_eq!(allergies["entry"].as_array().unwrap().len(), 1);
        assert!(allergies["text"]["div"].as_str().unwrap().contains("卵"), "{allergies}");
        let problems = section(&doc, "11450-4").expect("problem list");
        let text = problems["text"]["div"].as_str().unwrap();
        assert!(text.contains("妊娠高血圧腎症"), "preeclampsia is on the problem list: {text}");
        assert_eq!(problems["entry"].as_array().unwrap().len(), 3, "two visits' GDM and the preeclampsia");
        let urls: Vec<&str> = doc["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].as_str().unwrap()).collect();
        let mut refs = Vec::new();
        references(&doc, &mut refs);
        for r in refs.iter().filter(|r| !r.starts_with('#')) {
            assert!(urls.contains(&r.as_str()), "{r} does not resolve inside the document");
        }
    }

    #[test]
    fn an_ongoing_pregnancy_gives_the_gestational_age_on_the_summary_day() {
        let records = mother_records();
        let start = examples::pregnancy_minimal().dating_start().unwrap();
        let doc = summary(&records, start + chrono::Duration::days(214));
        let pregnancy = section(&doc, "10162-6").expect("pregnancy section");
        let text = pregnancy["text"]["div"].as_str().unwrap();
        assert!(text.contains("30w4d"), "{text}");
        let ga = doc["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["code"]["coding"][0]["code"] == GESTATIONAL_AGE);
        assert_eq!(ga.unwrap()["resource"]["valueQuantity"]["value"], 214);
    }

    #[test]
    fn a_person_with_no_records_still_gets_the_three_required_sections() {
        let doc = summary(&[], NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
        let sections = doc["entry"][0]["resource"]["section"].as_array().unwrap();
        let codes: Vec<&str> = sections.iter().map(|s| s["code"]["coding"][0]["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["11450-4", "48765-2", "10160-0"]);
        assert_eq!(doc["entry"].as_array().unwrap().len(), 2, "the Composition and the Patient");
    }
}
