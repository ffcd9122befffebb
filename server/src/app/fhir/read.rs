//! Read of one resource by id (`GET /fhir/r4/{type}/{id}`) for the types a
//! search returns: the URL a Bundle entry's `fullUrl` names.
//!
//! A resource id is the id of the record it was mapped from, or that id and a
//! suffix (`<record id>-<part>`, e.g. one Observation of a prenatal visit), so
//! the record is found by its id among the families whose grants the
//! organization may use, opened through those grants, mapped, and the
//! resource with exactly that id and type is returned, with `ETag: W/"<version>"`
//! (the record version a `PUT` names in `If-Match`). Anything the grants do not
//! open is 404, as if it did not exist; a record of a family that gave this
//! organization a grant is audited `denied` in that family's log.

use phr_fhir::model::Resource;
use uuid::Uuid;

use super::metadata::SEARCHABLE;
use super::{audit_reads, granting_accounts, kinds_yielding, open_visible, resources_of, FhirResult};
use crate::app::audit::AuditAction;
use crate::app::consent::access::{readable_records, RecordFilter};
use crate::app::error::AppError;
use crate::app::smart::OrganizationToken;
use crate::app::App;

/// The record a resource id was mapped from (its first 36 characters, a UUID).
pub fn record_of(resource_id: &str) -> Option<Uuid> {
    let head = resource_id.get(..36)?;
    let rest = &resource_id[36..];
    if !(rest.is_empty() || rest.starts_with('-')) {
        return None;
    }
    Uuid::parse_str(head).ok()
}

/// The family holding record `record_id` among those `is_candidate` accepts, if any.
pub(super) fn owner_among(
    conn: &mut crate::store::DbConnection,
    record_id: Uuid,
    is_candidate: impl Fn(&str) -> bool,
) -> Result<Option<String>, AppError> {
    let owners = crate::store::fhir::record_owners(conn, &record_id.to_string())?;
    Ok(owners.into_iter().find(|owner| is_candidate(owner)))
}

/// `Ok` if resources of `resource_type` can be read here (404 otherwise).
pub fn readable_type(resource_type: &str) -> Result<(), AppError> {
    if !SEARCHABLE.iter().any(|(t, _)| *t == resource_type) {
        return Err(AppError::NotFound("no resources of this type here; see /fhir/r4/metadata".to_owned()));
    }
    Ok(())
}

/// The resource `resource_type`/`id` and the version of its record, if the
/// organization (already permitted to read the type) may read it (404 otherwise).
pub async fn read(app: &App, org: OrganizationToken, resource_type: String, id: String) -> FhirResult<(Resource, u64)> {
    let missing = format!("this {resource_type} is not known");
    let Some(record_id) = record_of(&id) else {
        return Err(AppError::NotFound(missing).into());
    };
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let found = app
        .db(move |conn| {
            let (org, visible) = open_visible(conn, org, &visibility, &keys)?;
            if let Some(account) = owner_among(conn, record_id, |a| visible.sees_account(a))? {
                let filter = RecordFilter {
                    kinds: Some(kinds_yielding(&resource_type).to_vec()),
                    record_ids: Some(vec![record_id]),
                    ..Default::default()
                };
                for record in readable_records(conn, &visible.grants, &account, &filter, 1)? {
                    let resource = resources_of(&visible, &record)?
                        .into_iter()
                        .find(|r| r.resource_type() == resource_type && r.id() == Some(id.as_str()));
                    if let Some(resource) = resource {
                        audit_reads(conn, &audits, &org.actor(), AuditAction::FhirRead, &[&record])?;
                        return Ok(Some((resource, record.version)));
                    }
                }
            }
            // Not readable: audit the attempt in the family it belongs to, if that family gave this
            // organization a grant (usable now or not).
            let granting = granting_accounts(conn, &org.organization_id)?;
            if let Some(account) = owner_among(conn, record_id, |a| granting.iter().any(|g| g == a))? {
                crate::app::audit::append_denied(conn, &account, &org.actor(), AuditAction::FhirRead, None)?;
            }
            Ok(None)
        })
        .await?;
    found.ok_or_else(|| AppError::NotFound(missing).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_id_names_its_record_with_or_without_a_suffix() {
        let record = Uuid::now_v7();
        assert_eq!(record_of(&record.to_string()), Some(record));
        assert_eq!(record_of(&format!("{record}-weight")), Some(record));
        assert_eq!(record_of(&format!("{record}x")), None);
        assert_eq!(record_of("not-a-record"), None);
        assert_eq!(record_of(""), None);
        assert_eq!(record_of("ü".repeat(20).as_str()), None, "no panic on a multi-byte boundary");
    }
}
