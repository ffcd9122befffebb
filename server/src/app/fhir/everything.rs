//! `$everything` (`GET /fhir/r4/Patient/{id}/$everything`): the Patient and every resource of
//! every consented record about it, as a `searchset` Bundle (all in one page).
//!
//! A family may hold thousands of records: they are decrypted, mapped and
//! serialised on every core (rayon), chunk by chunk, each chunk straight to
//! JSON bytes, and the Bundle is written around those bytes. Nothing but the
//! JSON of the response is kept of a record once its chunk is written.

use phr_fhir::model::Resource;
use rayon::prelude::*;

use super::patient::build_patient;
use super::{audit_reads, bundle_entry, open_visible, resources_of, FhirResult, Visible};
use crate::app::audit::AuditAction;
use crate::app::consent::access::ReadableRecord;
use crate::app::error::AppError;
use crate::app::smart::OrganizationToken;
use crate::app::App;

/// Records mapped and serialised per parallel chunk.
const CHUNK: usize = 128;

/// The `searchset` Bundle (JSON) of the Patient `id` and every resource of every
/// consented record about it, if the organization (already permitted to read
/// Patients) may see it (404 otherwise).
pub async fn everything(app: &App, org: OrganizationToken, id: String) -> FhirResult<Vec<u8>> {
    let base = app.base_url()?.to_owned();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let body = app
        .db(move |conn| {
            let (org, visible) = open_visible(conn, org, &visibility, &keys)?;
            let Some((account, subject)) = visible.resolve_audited(conn, &org, &id, AuditAction::FhirEverything)?
            else {
                return Ok(None);
            };
            let (patient, _) = build_patient(conn, &visible, &account, subject)?;
            let records = visible.records_of(conn, &account, subject)?;
            let patient_entry = entry_json(&base, Resource::Patient(patient))?;
            let chunks: Vec<(usize, Vec<u8>)> = records
                .par_chunks(CHUNK)
                .map(|chunk| entries_json(&base, &visible, chunk))
                .collect::<Result<_, _>>()?;
            audit_reads(conn, &audits, &org.actor(), AuditAction::FhirEverything, &records.iter().collect::<Vec<_>>())?;
            Ok(Some(searchset_json(&patient_entry, &chunks)))
        })
        .await?;
    body.ok_or_else(|| AppError::NotFound("this Patient is not known".to_owned()).into())
}

fn entry_json(base: &str, resource: Resource) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(&bundle_entry(base, resource))
        .map_err(|e| AppError::Internal(format!("cannot encode FHIR JSON: {e}")))
}

/// The entries of `records` (every resource but their Patients), as JSON
/// objects separated by commas, and how many there are.
fn entries_json(base: &str, visible: &Visible, records: &[ReadableRecord]) -> Result<(usize, Vec<u8>), AppError> {
    let mut out = Vec::with_capacity(records.len() * 1024);
    let mut n = 0;
    for record in records {
        for resource in resources_of(visible, record)? {
            if matches!(resource, Resource::Patient(_)) {
                continue;
            }
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&entry_json(base, resource)?);
            n += 1;
        }
    }
    Ok((n, out))
}

/// `{"resourceType":"Bundle","type":"searchset","total":N,"entry":[patient, chunks…]}`.
fn searchset_json(patient_entry: &[u8], chunks: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let total = 1 + chunks.iter().map(|(n, _)| n).sum::<usize>();
    let mut out = Vec::with_capacity(patient_entry.len() + chunks.iter().map(|(_, b)| b.len() + 1).sum::<usize>() + 96);
    out.extend_from_slice(
        format!(r#"{{"resourceType":"Bundle","type":"searchset","total":{total},"entry":["#).as_bytes(),
    );
    out.extend_from_slice(patient_entry);
    for (n, bytes) in chunks {
        if *n > 0 {
            out.push(b',');
            out.extend_from_slice(bytes);
        }
    }
    out.extend_from_slice(b"]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_fhir::model::{Bundle, Integer, Observation, Patient};

    #[test]
    fn the_hand_written_bundle_is_the_bundle_serde_would_write() {
        let entry = |r: Resource| entry_json("http://h", r).unwrap();
        let obs = |id: &str| Resource::Observation(Observation { id: Some(id.into()), ..Default::default() });
        let patient = Resource::Patient(Patient { id: Some("p".into()), ..Default::default() });
        let mut first = entry(obs("o1"));
        first.push(b',');
        first.extend_from_slice(&entry(obs("o2")));
        let chunks = vec![(2, first), (0, Vec::new()), (1, entry(obs("o3")))];
        let written: serde_json::Value =
            serde_json::from_slice(&searchset_json(&entry(patient.clone()), &chunks)).unwrap();
        let expected = Bundle {
            type_: Some("searchset".into()),
            total: Some(Integer(4.into())),
            entry: [patient, obs("o1"), obs("o2"), obs("o3")]
                .into_iter()
                .map(|r| bundle_entry("http://h", r))
                .collect(),
            ..Default::default()
        };
        assert_eq!(written, serde_json::to_value(&expected).unwrap());
    }
}
