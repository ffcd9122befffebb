//! Data portability: every current record of the account as one FHIR R4
//! Bundle (`type: collection`, JSON), mapped with phr-fhir and built from its
//! typed models (`phr_fhir::model::Bundle`), plus a Patient for each subject
//! (the mother and each child).
//!
//! Patient ids: `mother-<account id>` and `child-<child uuid>`. A mother
//! profile or newborn record already carries its subject's Patient (name,
//! birth date, sex); a subject without one gets a bare Patient so every
//! `subject` reference resolves inside the bundle.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use phr_core::dataset::{RecordBody, Subject};
use phr_fhir::mapping::subject_identifiers::merge_patients;
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_fhir::model::{Bundle, BundleEntry, Meta, Patient, Resource};
use uuid::Uuid;

use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::store;

/// The FHIR Patient id of a subject of `account_id`.
pub fn patient_id(account_id: &str, subject: &Subject) -> String {
    match subject {
        Subject::Mother => format!("mother-{account_id}"),
        Subject::Child(id) => format!("child-{id}"),
    }
}

fn entry(resource: Resource) -> BundleEntry {
    BundleEntry { resource: Some(Box::new(resource)), ..Default::default() }
}

/// The `collection` Bundle of `records` (id, subject and current body of
/// each, in order) assembled at `now`: each record's resources (a resource
/// two records map to is kept once), then a bare Patient for each subject
/// that has none yet.
pub fn bundle_of<'a>(
    account_id: &str,
    records: impl IntoIterator<Item = (Uuid, Subject, &'a RecordBody)>,
    now: DateTime<Utc>,
) -> Result<Bundle> {
    let mut entries = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut subjects: Vec<Subject> = Vec::new();
    // Where each subject's Patient is, with every Patient its records map to (merged at the end).
    let mut patients: Vec<(usize, Vec<Patient>)> = Vec::new();
    let mut patient_at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (record_id, subject, body) in records {
        let ctx = MappingContext::new(record_id, patient_id(account_id, &subject));
        let resources = to_fhir(body, &ctx)
            .map_err(|e| Error::invalid("record", format!("record {record_id} has no FHIR form: {e}")))?;
        for resource in resources {
            if let Resource::Patient(p) = resource {
                // A subject's profile or newborn record and its identifiers: one Patient.
                let id = p.id.clone().unwrap_or_default();
                match patient_at.get(&id) {
                    Some(&i) => patients[i].1.push(p),
                    None => {
                        seen.insert(("Patient".to_owned(), id.clone()));
                        patient_at.insert(id, patients.len());
                        patients.push((entries.len(), vec![p.clone()]));
                        entries.push(entry(Resource::Patient(p)));
                    }
                }
                continue;
            }
            let key = (resource.resource_type().to_owned(), resource.id().unwrap_or_default().to_owned());
            if seen.insert(key) {
                entries.push(entry(resource));
            }
        }
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    for (at, of_subject) in patients {
        if of_subject.len() > 1 {
            entries[at] = entry(Resource::Patient(merge_patients(of_subject)));
        }
    }
    for subject in subjects {
        let id = patient_id(account_id, &subject);
        if seen.insert(("Patient".to_owned(), id.clone())) {
            entries.push(entry(Patient { id: Some(id), active: Some(true), ..Default::default() }.into()));
        }
    }
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Bundle {
        id: Some(Uuid::new_v4().to_string()),
        meta: Some(Meta { last_updated: Some(now.clone()), ..Default::default() }),
        type_: Some("collection".to_owned()),
        timestamp: Some(now),
        entry: entries,
        ..Default::default()
    })
}

/// Every current (not deleted) record in the store as one Bundle, as JSON.
pub fn export_bundle(conn: &mut SqliteConnection, keys: &RecordKeys) -> Result<String> {
    let rows = store::live_records(conn)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let (_, subject) = row.kind_subject()?;
        let Some(body) = keys.winner(row)? else { continue };
        records.push((row.id()?, subject, body));
    }
    let bundle = bundle_of(keys.account_id(), records.iter().map(|(id, s, b)| (*id, *s, b)), Utc::now())?;
    serde_json::to_string(&bundle).map_err(|e| Error::encoding("the FHIR bundle", e))
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::examples;
    use serde_json::{json, Value};

    use super::*;

    /// The entries as the export wrote them by hand before it used the typed
    /// models: the reference the typed Bundle must match.
    fn entries_written_by_hand(account_id: &str, records: &[(Uuid, Subject, RecordBody)]) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        let mut subjects: Vec<Subject> = Vec::new();
        for (record_id, subject, body) in records {
            let ctx = MappingContext::new(*record_id, patient_id(account_id, subject));
            for resource in to_fhir(body, &ctx).unwrap() {
                let key = (resource.resource_type().to_owned(), resource.id().unwrap_or_default().to_owned());
                if seen.insert(key) {
                    entries.push(json!({ "resource": serde_json::to_value(&resource).unwrap() }));
                }
            }
            if !subjects.contains(subject) {
                subjects.push(*subject);
            }
        }
        for subject in subjects {
            let id = patient_id(account_id, &subject);
            if seen.insert(("Patient".to_owned(), id.clone())) {
                entries.push(json!({ "resource": { "resourceType": "Patient", "id": id, "active": true } }));
            }
        }
        entries
    }

    #[test]
    fn the_export_is_a_phr_fhir_collection_bundle_with_the_entries_written_by_hand_before() {
        let child_id = Uuid::new_v4();
        let child = Subject::Child(child_id);
        let records = vec![
            (Uuid::new_v4(), Subject::Mother, RecordBody::MotherProfile(examples::mother_profile_full())),
            (Uuid::new_v4(), Subject::Mother, RecordBody::PrenatalVisit(examples::prenatal_visit_full())),
            (Uuid::new_v4(), child, RecordBody::Immunization(examples::immunization_full())),
        ];
        let now: DateTime<Utc> = "2026-06-01T09:30:00Z".parse().unwrap();
        let bundle = bundle_of("acc-1", records.iter().map(|(id, s, b)| (*id, *s, b)), now).unwrap();
        let text = serde_json::to_string(&bundle).unwrap();

        let parsed: Bundle = serde_json::from_str(&text).expect("a phr_fhir Bundle");
        assert_eq!(parsed, bundle);
        assert_eq!(parsed.type_.as_deref(), Some("collection"));
        assert_eq!(parsed.timestamp.as_deref(), Some("2026-06-01T09:30:00Z"));
        assert_eq!(parsed.meta.as_ref().and_then(|m| m.last_updated.as_deref()), Some("2026-06-01T09:30:00Z"));
        assert!(matches!(Resource::from_json(&text), Ok(Resource::Bundle(_))));

        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["resourceType"], "Bundle");
        let expected = entries_written_by_hand("acc-1", &records);
        assert_eq!(value["entry"], Value::Array(expected));
        let patients: Vec<&str> =
            parsed.resources().filter(|r| r.resource_type() == "Patient").filter_map(|r| r.id()).collect();
        assert!(patients.contains(&"mother-acc-1"), "{patients:?}");
        assert!(patients.contains(&format!("child-{child_id}").as_str()), "{patients:?}");
    }

    #[test]
    fn a_subjects_identifiers_are_merged_into_its_one_patient() {
        let child = Subject::Child(Uuid::new_v4());
        let records = [
            (Uuid::new_v4(), child, RecordBody::SubjectIdentifiers(examples::subject_identifiers_full())),
            (Uuid::new_v4(), child, RecordBody::Newborn(examples::newborn_full())),
            (Uuid::new_v4(), Subject::Mother, RecordBody::SubjectIdentifiers(examples::subject_identifiers_minimal())),
        ];
        let now: DateTime<Utc> = "2026-06-01T09:30:00Z".parse().unwrap();
        let bundle = bundle_of("acc-1", records.iter().map(|(id, s, b)| (*id, *s, b)), now).unwrap();
        let patients: Vec<&Patient> = bundle
            .resources()
            .filter_map(|r| match r {
                Resource::Patient(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(patients.len(), 2, "one Patient per subject: {patients:?}");
        let of_child = patients.iter().find(|p| p.id.as_deref() != Some("mother-acc-1")).unwrap();
        assert!(of_child.birth_date.is_some(), "the newborn's Patient is the base");
        assert_eq!(of_child.identifier.len(), 2, "{of_child:?}");
        let mother = patients.iter().find(|p| p.id.as_deref() == Some("mother-acc-1")).unwrap();
        assert_eq!(mother.identifier[0].value.as_deref(), Some("2026-0001234"));
    }
}
