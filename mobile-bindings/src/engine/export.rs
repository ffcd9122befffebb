//! Data portability: every current record of the account as one FHIR R4
//! Bundle (`type: collection`, JSON), mapped with phr-fhir, plus a Patient for
//! each subject (the mother and each child).
//!
//! Patient ids: `mother-<account id>` and `child-<child uuid>`. A mother
//! profile or newborn record already carries its subject's Patient (name,
//! birth date, sex); a subject without one gets a bare Patient so every
//! `subject` reference resolves inside the bundle.

use std::collections::HashSet;

use chrono::Utc;
use diesel::SqliteConnection;
use phr_core::dataset::Subject;
use phr_fhir::mapping::{to_fhir, MappingContext};
use serde_json::{json, Value};

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

fn bundle(conn: &mut SqliteConnection, keys: &RecordKeys) -> Result<Value> {
    let account_id = keys.account_id();
    let rows = store::live_records(conn)?;
    let mut entries: Vec<Value> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut subjects: Vec<Subject> = Vec::new();
    for row in &rows {
        let (_, subject) = row.kind_subject()?;
        let Some(body) = keys.winner(row)? else { continue };
        let record_id = row.id()?;
        let ctx = MappingContext::new(record_id, patient_id(account_id, &subject));
        let resources = to_fhir(&body, &ctx)
            .map_err(|e| Error::invalid("record", format!("record {} has no FHIR form: {e}", row.record_id)))?;
        for resource in resources {
            let key = (resource.resource_type().to_owned(), resource.id().unwrap_or_default().to_owned());
            if !seen.insert(key) {
                continue;
            }
            let resource = serde_json::to_value(&resource).map_err(|e| Error::encoding("a FHIR resource", e))?;
            entries.push(json!({ "resource": resource }));
        }
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    for subject in subjects {
        let id = patient_id(account_id, &subject);
        if seen.insert(("Patient".to_owned(), id.clone())) {
            entries.push(json!({ "resource": { "resourceType": "Patient", "id": id, "active": true } }));
        }
    }
    Ok(json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true) },
        "type": "collection",
        "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "entry": entries,
    }))
}

/// Every current (not deleted) record in the store as one Bundle, as JSON.
pub fn export_bundle(conn: &mut SqliteConnection, keys: &RecordKeys) -> Result<String> {
    let bundle = bundle(conn, keys)?;
    serde_json::to_string(&bundle).map_err(|e| Error::encoding("the FHIR bundle", e))
}
