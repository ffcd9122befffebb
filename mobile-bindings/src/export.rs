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
use phr_core::dataset::Subject;
use phr_fhir::mapping::{to_fhir, MappingContext};
use serde_json::{json, Value};

use crate::client::{row_kind_subject, Inner, PhrClient};
use crate::error::PhrError;
use crate::store;

/// The FHIR Patient id of a subject of `account_id`.
pub fn patient_id(account_id: &str, subject: &Subject) -> String {
    match subject {
        Subject::Mother => format!("mother-{account_id}"),
        Subject::Child(id) => format!("child-{id}"),
    }
}

fn bundle(inner: &mut Inner) -> Result<Value, PhrError> {
    let account_id = inner.session()?.account_id.clone();
    let rows = store::live_records(&mut inner.conn)?;
    let mut entries: Vec<Value> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut subjects: Vec<Subject> = Vec::new();
    for row in &rows {
        let (_, subject) = row_kind_subject(row)?;
        let history = inner.history(row)?;
        let Some(body) = history.winner().and_then(|w| w.edit()) else { continue };
        let record_id = uuid::Uuid::parse_str(&row.record_id).map_err(PhrError::storage)?;
        let ctx = MappingContext::new(record_id, patient_id(&account_id, &subject));
        let resources = to_fhir(body, &ctx)
            .map_err(|e| PhrError::invalid("record", format!("record {} has no FHIR form: {e}", row.record_id)))?;
        for resource in resources {
            let key = (resource.resource_type().to_owned(), resource.id().unwrap_or_default().to_owned());
            if !seen.insert(key) {
                continue;
            }
            entries.push(json!({ "resource": serde_json::to_value(&resource).map_err(PhrError::storage)? }));
        }
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    for subject in subjects {
        let id = patient_id(&account_id, &subject);
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

#[uniffi::export]
impl PhrClient {
    /// Every current (not deleted) record of the account as one FHIR R4
    /// Bundle of type `collection` (JSON), with a Patient per subject: the
    /// family's data in a standard form to take elsewhere. Local data only (sync
    /// first for the latest); works offline.
    pub fn export_fhir_bundle(&self) -> Result<String, PhrError> {
        let mut inner = self.lock();
        let bundle = bundle(&mut inner)?;
        serde_json::to_string(&bundle).map_err(PhrError::storage)
    }
}
