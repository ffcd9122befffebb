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

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use uuid::Uuid;

use super::metadata::SEARCHABLE;
use super::write::version_etag;
use super::{
    audit_reads, authorize, db, fhir_response, granting_accounts, kinds_yielding, resources_of, FhirResult, Visible,
};
use crate::app::consent::access::{readable_records, RecordFilter};
use crate::app::error::AppError;
use crate::app::smart::{Action, AuthenticatedOrganization};
use crate::app::App;
use crate::store::schema::records;

/// The record a resource id was mapped from (its first 36 characters, a UUID).
pub fn record_of(resource_id: &str) -> Option<Uuid> {
    let head = resource_id.get(..36)?;
    let rest = &resource_id[36..];
    if !(rest.is_empty() || rest.starts_with('-')) {
        return None;
    }
    Uuid::parse_str(head).ok()
}

/// Which of `accounts` holds record `record_id`, if any.
pub(super) fn owner_among(
    conn: &mut crate::store::DbConnection,
    record_id: Uuid,
    accounts: &[String],
) -> Result<Option<String>, AppError> {
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in accounts.chunks(500) {
        let owner: Option<String> = records::table
            .filter(records::record_id.eq(record_id.to_string()))
            .filter(records::account_id.eq_any(chunk))
            .select(records::account_id)
            .first(conn)
            .optional()?;
        if owner.is_some() {
            return Ok(owner);
        }
    }
    Ok(None)
}

pub async fn read(
    state: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<(String, String)>,
) -> FhirResult<HttpResponse> {
    let (resource_type, id) = path.into_inner();
    if !SEARCHABLE.iter().any(|(t, _)| *t == resource_type) {
        return Err(AppError::NotFound("no resources of this type here; see /fhir/r4/metadata".to_owned()).into());
    }
    let org = authorize(org, &resource_type, Action::Read)?;
    let missing = format!("this {resource_type} is not known");
    let Some(record_id) = record_of(&id) else {
        return Err(AppError::NotFound(missing).into());
    };
    let keys = state.keys.clone();
    let found = db(&state, move |conn| {
        let visible = Visible::load(conn, &keys, &org.organization_id)?;
        if let Some(account) = owner_among(conn, record_id, &visible.accounts())? {
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
                    audit_reads(conn, &org.actor(), crate::app::audit::AuditAction::FhirRead, &[&record])?;
                    return Ok(Some((resource, record.version)));
                }
            }
        }
        // Not readable: audit the attempt in the family it belongs to, if that family gave this
        // organization a grant (usable now or not).
        let granting = granting_accounts(conn, &org.organization_id)?;
        if let Some(account) = owner_among(conn, record_id, &granting)? {
            crate::app::audit::append_denied(
                conn,
                &account,
                &org.actor(),
                crate::app::audit::AuditAction::FhirRead,
                None,
            )?;
        }
        Ok(None)
    })
    .await?;
    let Some((resource, version)) = found else {
        return Err(AppError::NotFound(missing).into());
    };
    let mut response = fhir_response(StatusCode::OK, &resource)?;
    let etag = header::HeaderValue::from_str(&version_etag(version))
        .map_err(|e| AppError::Internal(format!("cannot write the ETag: {e}")))?;
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
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
