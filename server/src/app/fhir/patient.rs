//! Patient read (`GET /fhir/r4/Patient/{id}`) and search by identifier and id
//! (`GET /fhir/r4/Patient?identifier=system|value&_id=<id>,<id>`).
//!
//! One Patient per (family, subject) an organization's grants cover, with an
//! opaque id (see the module table in `mod.rs`). Its content comes from the
//! consented records that map to a Patient: name and birth date from the
//! mother profile or newborn record when the grant covers one, and the
//! identifiers the family attached to the subject (`subject_identifiers`),
//! which every care grant covering the subject reads (phr-core's consent
//! decision). It always carries our opaque-id identifier.

use phr_core::dataset::Subject;
use phr_fhir::mapping::subject_identifiers::merge_patients;
use phr_fhir::model::{Bundle, Identifier, Patient, Resource};

use super::search::{add_ids, id_matches, searchset, SearchParams};
use super::{bad_request, kinds_yielding, open_visible, resources_of, FhirResult, Visible, PATIENT_ID_SYSTEM};
use crate::app::audit::AuditAction;
use crate::app::consent::access::{readable_records, ReadableRecord, RecordFilter, MAX_PAGE};
use crate::app::error::AppError;
use crate::app::smart::{AuthenticatedOrganization, OrganizationToken};
use crate::app::App;
use crate::store::DbConnection;

/// The Patient of `(account, subject)` and the records it was built from.
pub fn build_patient(
    conn: &mut DbConnection,
    visible: &Visible,
    account: &str,
    subject: Subject,
) -> Result<(Patient, Vec<ReadableRecord>), AppError> {
    let id = visible.patient_id(account, &subject);
    let grants: Vec<_> = visible.grants.iter().filter(|g| g.account_id == account).collect();
    let dated = RecordFilter {
        kinds: Some(kinds_yielding("Patient").iter().copied().filter(|k| !k.follows_subjects()).collect()),
        subject: Some(subject),
        ..Default::default()
    };
    // Identifiers on their own: they are undated, and a grant's data range does not hide them.
    let identifiers = RecordFilter {
        kinds: Some(kinds_yielding("Patient").iter().copied().filter(|k| k.follows_subjects()).collect()),
        subject: Some(subject),
        ..Default::default()
    };
    let mut records = Vec::new();
    for g in grants {
        for filter in [&dated, &identifiers] {
            records.extend(readable_records(conn, std::slice::from_ref(g), account, filter, MAX_PAGE)?);
        }
    }
    records.sort_by_key(|r| r.record_id);
    records.dedup_by_key(|r| r.record_id);
    let mut patients = Vec::new();
    for record in &records {
        for resource in resources_of(visible, record)? {
            if let Resource::Patient(p) = resource {
                patients.push(p);
            }
        }
    }
    let mut patient = merge_patients(patients);
    patient.id = Some(id.clone());
    // Our opaque id is ours alone: an identifier a family typed under its system is not shown.
    patient.identifier.retain(|i| i.system.as_deref() != Some(PATIENT_ID_SYSTEM));
    patient
        .identifier
        .insert(0, Identifier { system: Some(PATIENT_ID_SYSTEM.into()), value: Some(id), ..Default::default() });
    Ok((patient, records))
}

/// The audit events of a Patient access: one per grant for the records read, or (none read)
/// the access itself through the family's first grant.
pub(crate) fn patient_audits(
    visible: &Visible,
    account: &str,
    records: &[ReadableRecord],
) -> Vec<super::cache::ReadAudit> {
    if !records.is_empty() {
        return super::read_audits(&records.iter().collect::<Vec<_>>());
    }
    let Some(grant_id) = visible.grants_of(account).first().map(|g| g.grant_id()) else { return Vec::new() };
    vec![super::cache::ReadAudit { account_id: account.to_owned(), grant_id, record_ids: Vec::new() }]
}

/// Audits a Patient access ([`patient_audits`]), committed before the answer.
pub(crate) fn audit_patient(
    conn: &mut crate::store::Conn,
    audits: &super::ReadAuditCommit,
    visible: &Visible,
    actor: &crate::app::audit::Actor,
    action: crate::app::audit::AuditAction,
    account: &str,
    records: &[ReadableRecord],
) -> Result<(), AppError> {
    super::append_read_audits(conn, audits, actor, action, &patient_audits(visible, account, records))
}

/// The Patient `id`, if the organization (already permitted to read Patients) may see it (404 otherwise).
pub async fn read(app: &App, org: OrganizationToken, id: String) -> FhirResult<Patient> {
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let patient = app
        .db(move |conn| {
            let (org, visible) = open_visible(conn, org, &visibility, &keys)?;
            let Some((account, subject)) = visible.resolve_audited(conn, &org, &id, AuditAction::FhirRead)? else {
                return Ok(None);
            };
            let (patient, records) = build_patient(conn, &visible, &account, subject)?;
            audit_patient(conn, &audits, &visible, &org.actor(), AuditAction::FhirRead, &account, &records)?;
            Ok(Some(patient))
        })
        .await?;
    patient.ok_or_else(|| AppError::NotFound("this Patient is not known".to_owned()).into())
}

/// The Patients matching `query` (`identifier`, `_id`, `_count`, `_offset`) that the
/// organization (already permitted to search Patients) may see, as a `searchset` Bundle.
pub async fn search(app: &App, org: AuthenticatedOrganization, query: String) -> FhirResult<Bundle> {
    let mut params = SearchParams { count: super::search::DEFAULT_COUNT, ..Default::default() };
    let mut identifiers = Vec::new();
    let mut ids = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "identifier" => identifiers.push(value.into_owned()),
            "_id" => add_ids(&mut ids, &value),
            "_count" => {
                params.count = value
                    .parse()
                    .ok()
                    .filter(|c| (1..=super::search::MAX_COUNT).contains(c))
                    .ok_or_else(|| bad_request("_count must be 1–1000"))?
            }
            "_offset" => params.offset = value.parse().map_err(|_| bad_request("_offset must be an integer"))?,
            "_format" => {}
            _ => return Err(bad_request("Patient search supports identifier, _id, _count and _offset only")),
        }
    }
    if identifiers.is_empty() && ids.is_none() {
        return Err(bad_request("Patient search needs an identifier or _id parameter"));
    }
    let base = app.base_url()?.to_owned();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let bundle = app
        .db(move |conn| {
            let visible = Visible::load(conn, &visibility, &keys, &org.organization_id)?;
            let mut found = Vec::new();
            let mut patients: Vec<(String, (String, Subject))> =
                visible.patients.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            patients.sort();
            for (id, (account, subject)) in patients {
                if !id_matches(&ids, Some(&id)) {
                    continue;
                }
                let (patient, records) = build_patient(conn, &visible, &account, subject)?;
                // Repeated parameters AND; the comma-separated tokens of one OR.
                let hit = identifiers.iter().all(|param| {
                    param.split(',').any(|token| {
                        let (system, value) = token.split_once('|').map_or((None, token), |(s, v)| (Some(s), v));
                        patient.identifier.iter().any(|i| {
                            i.value.as_deref() == Some(value) && system.is_none_or(|s| i.system.as_deref() == Some(s))
                        })
                    })
                });
                if hit {
                    audit_patient(conn, &audits, &visible, &org.actor(), AuditAction::FhirSearch, &account, &records)?;
                    found.push(Resource::Patient(patient));
                }
            }
            Ok(searchset(&base, "Patient", &query, &params, found))
        })
        .await?;
    Ok(bundle)
}
