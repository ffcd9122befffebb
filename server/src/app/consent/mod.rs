//! The consent API (`/consent/v1`); consent is enforced by keys (see
//! `docs/architecture.md`, "What the system is" and "Where each rule lives").
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `GET /consent/v1/view-key` | device | the current server view key (X25519) that grant keys are wrapped to |
//! | `POST /consent/v1/grants` | device | create a grant with its wrapped grant key and the wrapped data keys of the records in scope (201) |
//! | `GET /consent/v1/grants` | device | the account's grants, newest first |
//! | `GET /consent/v1/grants/{id}` | device | one grant (404 for unknown, malformed or another account's ids) |
//! | `POST /consent/v1/grants/{id}/keys` | device | add data keys of records that came into scope later (replaces a record's earlier key) |
//! | `DELETE /consent/v1/grants/{id}` | device | revoke: the grant key and every wrapped data key are deleted (204; 409 if already revoked) |
//!
//! Every change is all-or-nothing: one transaction writes the grant rows and
//! its audit event, and a refused request stores nothing. Besides the shape
//! checks, the server opens the wrapped grant key with its view key and
//! unwraps every data key with the grant key, so it never stores a key it
//! could not use; it checks that each record named is a live record of the
//! account inside the grant's scope ([`ConsentGrant::covers`], evaluated at
//! the later of now and the period's start, so a grant that starts tomorrow
//! can be given its keys today).
//!
//! Another account's grant id is 404 like an unknown one; reading it, adding
//! keys to it or revoking it is audited `denied` in the log of the family that
//! holds it (`grant_read`, `grant_keys_added`, `grant_revoked`), naming only the grant.
//!
//! Revoking twice is a 409 that changes nothing: the first revocation time
//! stays, and the parent's app learns that its view was stale.

use crate::store::grants as store;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use phr_core::consent::{ConsentGrant, GrantState, GrantStatus};
use phr_core::crypto::{unwrap_data_key, GrantKey, GrantWrapContext, HpkePrivateKey};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{AddGrantKeysRequest, CreateGrantRequest, GrantInfo, GrantRecordKey, ViewKeyResponse};
use uuid::Uuid;

use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::{unprocessable_if_any, AppError};
use crate::app::{now_ms, App};
use crate::keys::KeyPurpose;
use crate::store::{write_transaction, DbConnection};

pub mod access;
mod decision;

pub use decision::decide;

use access::open_grant_key;

use store::{GrantRow, NewGrantRow, RecordKeyRow};

/// How the grantee of a break-glass grant (every registered emergency department,
/// [`phr_core::consent::OrganizationId::EMERGENCY_DEPARTMENTS`]) is named to the family.
pub const EMERGENCY_DEPARTMENTS_NAME: &str = "Registered emergency departments (break-glass)";
/// Most record keys in one request (413 beyond).
pub const MAX_RECORD_KEYS: usize = 10_000;
/// Bounds of a wrapped grant key (an HPKE wrap of a 32-byte key is 81 bytes).
pub const MIN_WRAPPED_GRANT_KEY_BYTES: usize = 48;
pub const MAX_WRAPPED_GRANT_KEY_BYTES: usize = 512;
/// The largest wrapped data key accepted (an AES-GCM wrap of 32 bytes is 61).
pub const MAX_WRAPPED_KEY_BYTES: usize = 1024;

const STATE_ACTIVE: &str = "active";
const STATE_REVOKED: &str = "revoked";

type Problems = Vec<(String, String)>;

/// Epoch milliseconds as a UTC instant.
fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The instant at which record keys are checked against the grant's scope:
/// now, or the start of a period that has not begun yet.
fn scope_time(grant: &ConsentGrant, now: DateTime<Utc>) -> DateTime<Utc> {
    grant.period.from.map_or(now, |from| from.max(now))
}

/// Problems of the grant itself: its own validation, plus it must be active
/// and not already over.
fn grant_problems(grant: &ConsentGrant, now: DateTime<Utc>) -> Problems {
    let mut problems: Problems = match grant.validate() {
        Ok(()) => Vec::new(),
        Err(invalid) => invalid.problems.iter().map(|p| (format!("grant.{}", p.field()), p.to_string())).collect(),
    };
    if grant.state != GrantState::Active {
        problems.push(("grant.state".into(), "a new grant must be active".into()));
    } else if grant.status_at(now) == GrantStatus::Expired {
        problems.push(("grant.period".into(), "the period has already ended".into()));
    }
    problems
}

/// Count (413), duplicate and size checks of record keys, needing no database.
fn record_key_shape_problems(keys: &[GrantRecordKey]) -> Result<Problems, AppError> {
    if keys.len() > MAX_RECORD_KEYS {
        return Err(AppError::PayloadTooLarge(format!(
            "a request may carry at most {MAX_RECORD_KEYS} record keys, this one has {}",
            keys.len()
        )));
    }
    let mut problems = Vec::new();
    let mut seen = HashSet::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        if !seen.insert(key.record_id) {
            problems.push((format!("record_keys[{i}].record_id"), "appears more than once".into()));
        }
        if key.wrapped_key.is_empty() || key.wrapped_key.len() > MAX_WRAPPED_KEY_BYTES {
            problems
                .push((format!("record_keys[{i}].wrapped_key"), format!("must be 1–{MAX_WRAPPED_KEY_BYTES} bytes")));
        }
    }
    Ok(problems)
}

fn wrapped_grant_key_problem(wrapped: &[u8]) -> Option<(String, String)> {
    (!(MIN_WRAPPED_GRANT_KEY_BYTES..=MAX_WRAPPED_GRANT_KEY_BYTES).contains(&wrapped.len())).then(|| {
        (
            "wrapped_grant_key".to_owned(),
            format!("must be {MIN_WRAPPED_GRANT_KEY_BYTES}–{MAX_WRAPPED_GRANT_KEY_BYTES} bytes, got {}", wrapped.len()),
        )
    })
}

/// Every record key must unwrap with the grant key, bound to this account, grant and record.
fn unwrap_problems(grant_key: &GrantKey, account_id: &str, grant_id: Uuid, keys: &[GrantRecordKey]) -> Problems {
    keys.iter()
        .enumerate()
        .filter(|(_, k)| {
            let ctx = GrantWrapContext { account_id, grant_id, record_id: k.record_id };
            unwrap_data_key(grant_key, &k.wrapped_key, &ctx).is_err()
        })
        .map(|(i, _)| {
            (
                format!("record_keys[{i}].wrapped_key"),
                "does not unwrap with the grant key for this account, grant and record".to_owned(),
            )
        })
        .collect()
}

/// Every record key must name a live record of the account that the grant covers.
fn scope_problems(
    conn: &mut DbConnection,
    account_id: &str,
    grant: &ConsentGrant,
    keys: &[GrantRecordKey],
    now: DateTime<Utc>,
) -> Result<Problems, AppError> {
    let ids: Vec<String> = keys.iter().map(|k| k.record_id.to_string()).collect();
    let meta = store::record_meta(conn, account_id, &ids)?;
    let at = scope_time(grant, now);
    let mut problems = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let path = format!("record_keys[{i}].record_id");
        let Some(record) = meta.get(id).filter(|m| !m.deleted) else {
            problems.push((path, "names no record of this account".into()));
            continue;
        };
        let kind = record.kind.parse::<RecordKind>().ok();
        let subject = record.subject.parse::<Subject>().ok();
        let date = match &record.effective_date {
            None => Some(None),
            Some(d) => d.parse::<NaiveDate>().ok().map(Some),
        };
        let covered = match (kind, subject, date) {
            (Some(kind), Some(subject), Some(date)) => decide(
                std::slice::from_ref(grant),
                &grant.grantee,
                &[grant.purpose],
                phr_core::consent::Action::Read,
                (kind, subject, date),
                at,
            )
            .is_allowed(),
            _ => false,
        };
        if !covered {
            problems.push((path, "the record is outside the grant's scope".into()));
        }
    }
    Ok(problems)
}

/// The grantee must be registered, enabled, and allow the grant's purpose.
fn grantee_problems(conn: &mut DbConnection, grant: &ConsentGrant) -> Result<(Problems, String), AppError> {
    let mut problems = Vec::new();
    if grant.grantee.is_emergency_departments() {
        // Not one organization: every registered emergency department, by break-glass
        // (what such a grant may be is checked with the grant itself).
        return Ok((problems, EMERGENCY_DEPARTMENTS_NAME.to_owned()));
    }
    let org = crate::store::organizations::get(conn, grant.grantee.as_str())?;
    let name = match org {
        None => {
            problems.push(("grant.grantee".into(), "no organization with this id is registered".into()));
            grant.grantee.to_string()
        }
        Some(org) if !org.is_enabled() => {
            problems.push(("grant.grantee".into(), "this organization no longer accepts grants".into()));
            org.name
        }
        Some(org) if !org.allows(grant.purpose) => {
            problems.push((
                "grant.purpose".into(),
                format!("{} may not be granted access for {}; it allows: {}", org.name, grant.purpose, org.purposes),
            ));
            org.name
        }
        Some(org) => org.name,
    };
    Ok((problems, name))
}

/// The grant of a stored row.
fn parse_grant(row: &GrantRow) -> Result<ConsentGrant, AppError> {
    serde_json::from_str(&row.grant_json)
        .map_err(|e| AppError::Internal(format!("stored grant is not a valid ConsentGrant: {e}")))
}

/// A grant of this account, or 404.
fn stored_grant(conn: &mut DbConnection, account_id: &str, grant_id: &str) -> Result<GrantRow, AppError> {
    store::grant(conn, account_id, grant_id)?.ok_or_else(|| AppError::NotFound("no such grant in this account".into()))
}

/// A stored grant as listed back to the family, with its key count and organization name.
fn stored_grant_info(conn: &mut DbConnection, account_id: &str, row: &GrantRow) -> Result<GrantInfo, AppError> {
    let count = store::record_key_count(conn, account_id, &row.grant_id)?;
    let name = organization_name(conn, &row.organization_id)?;
    grant_info(row, &name, count)
}

fn grant_info(row: &GrantRow, organization_name: &str, record_key_count: i64) -> Result<GrantInfo, AppError> {
    let grant = parse_grant(row)?;
    Ok(GrantInfo {
        summary: grant.summary_with_name(organization_name),
        grant,
        state: row.state.clone(),
        organization_name: organization_name.to_owned(),
        record_key_count: record_key_count.max(0) as u64,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    })
}

fn organization_name(conn: &mut DbConnection, organization_id: &str) -> Result<String, AppError> {
    if organization_id == phr_core::consent::OrganizationId::EMERGENCY_DEPARTMENTS {
        return Ok(EMERGENCY_DEPARTMENTS_NAME.to_owned());
    }
    Ok(crate::store::organizations::get(conn, organization_id)?.map_or_else(|| organization_id.to_owned(), |o| o.name))
}

/// The `success` event of a change the family made to one of its grants, naming the records it concerns.
fn audit_grant_change(
    conn: &mut DbConnection,
    account: &str,
    device: &AuthenticatedDevice,
    action: AuditAction,
    grant_id: &str,
    records: Vec<String>,
    now: i64,
) -> Result<(), AppError> {
    let actor = device.actor();
    let event = NewAuditEvent::new(&actor, action, AuditOutcome::Success).grant(grant_id).records(records);
    audit::append(conn, account, now, &event)?;
    Ok(())
}

/// After a grant id this account does not hold was refused (404): audits the
/// attempt as `denied` in the log of the family that does hold it, naming the
/// grant and nothing of the refused request. The caller's answer is the same
/// 404 as for an id no one holds, so this leaks nothing to it.
fn audit_other_accounts_grant(
    conn: &mut DbConnection,
    device: &AuthenticatedDevice,
    grant_id: &str,
    action: crate::app::audit::AuditAction,
) -> Result<(), AppError> {
    for account in store::other_accounts_with_grant(conn, grant_id, &device.account_id)? {
        audit::append_denied(conn, &account, &device.actor().into(), action, Some(grant_id))?;
    }
    Ok(())
}

/// Runs a grant operation; when it is refused as not found, audits the attempt in
/// the family that holds the grant ([`audit_other_accounts_grant`]).
fn audited_if_not_found<T>(
    conn: &mut crate::store::Conn,
    device: &AuthenticatedDevice,
    grant_id: &str,
    action: crate::app::audit::AuditAction,
    op: impl FnOnce(&mut crate::store::Conn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let result = op(conn);
    if let Err(AppError::NotFound(_)) = &result {
        audit_other_accounts_grant(conn, device, grant_id, action)?;
    }
    result
}

/// A grant id from the path; malformed ids are simply not found.
fn path_grant_id(value: &str) -> Result<String, AppError> {
    Uuid::parse_str(value)
        .map(|id| id.to_string())
        .map_err(|_| AppError::NotFound("no such grant in this account".into()))
}

fn record_key_rows<'a>(account_id: &'a str, grant_id: &'a str, keys: &'a [GrantRecordKey]) -> Vec<RecordKeyRow<'a>> {
    keys.iter()
        .map(|k| RecordKeyRow { account_id, grant_id, record_id: k.record_id.to_string(), wrapped_key: &k.wrapped_key })
        .collect()
}

/// The current view key that grant keys are wrapped to.
pub fn view_key(state: &App) -> Result<ViewKeyResponse, AppError> {
    let key = state.keys.current(KeyPurpose::View).ok_or_else(|| AppError::Internal("no view key".into()))?;
    let private =
        HpkePrivateKey::from_bytes(key.secret()).map_err(|_| AppError::Internal("view key is not usable".into()))?;
    Ok(ViewKeyResponse { kid: key.kid.clone(), public_key: private.public_key().as_bytes().to_vec() })
}

/// Creates a grant with its wrapped grant key and record keys (all-or-nothing).
pub async fn create_grant(
    state: &App,
    device: AuthenticatedDevice,
    req: CreateGrantRequest,
) -> Result<GrantInfo, AppError> {
    let now = now_ms();
    let account = device.account_id.clone();
    let grant_uuid = req.grant.id.0;

    let mut problems = grant_problems(&req.grant, utc(now));
    problems.extend(wrapped_grant_key_problem(&req.wrapped_grant_key));
    let key_problems = record_key_shape_problems(&req.record_keys)?;
    let keys_well_formed = key_problems.is_empty();
    problems.extend(key_problems);
    if state.keys.by_kid(KeyPurpose::View, &req.view_kid).is_none() {
        problems.push(("view_kid".into(), "is not a view key of this server; fetch /consent/v1/view-key".into()));
    } else if problems.iter().all(|(path, _)| path != "wrapped_grant_key") {
        match open_grant_key(&state.keys, &req.view_kid, &req.wrapped_grant_key, &account, grant_uuid)? {
            None => problems.push((
                "wrapped_grant_key".into(),
                "does not open with this view key for this account and grant".into(),
            )),
            Some(grant_key) if keys_well_formed => {
                problems.extend(unwrap_problems(&grant_key, &account, grant_uuid, &req.record_keys));
            }
            Some(_) => {}
        }
    }
    unprocessable_if_any("invalid consent grant", problems)?;

    let grant_id = grant_uuid.to_string();
    let grant_json =
        serde_json::to_string(&req.grant).map_err(|e| AppError::Internal(format!("cannot encode the grant: {e}")))?;
    let info = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                crate::app::records::RecordLog::lock_for_device(conn, &account)?;
                if store::grant(conn, &account, &grant_id)?.is_some() {
                    return Err(AppError::Conflict("a grant with this id already exists in this account".into()));
                }
                let (mut problems, org_name) = grantee_problems(conn, &req.grant)?;
                problems.extend(scope_problems(conn, &account, &req.grant, &req.record_keys, utc(now))?);
                unprocessable_if_any("invalid consent grant", problems)?;
                let created_by = device.device_id.as_str();
                let row = NewGrantRow {
                    account_id: &account,
                    grant_id: &grant_id,
                    organization_id: req.grant.grantee.as_str(),
                    grant_json: &grant_json,
                    state: STATE_ACTIVE,
                    wrapped_grant_key: Some(&req.wrapped_grant_key),
                    view_kid: &req.view_kid,
                    created_at: now,
                    created_by,
                    revoked_at: None,
                };
                store::insert_grant(conn, &row)?;
                store::put_record_keys(conn, &record_key_rows(&account, &grant_id, &req.record_keys))?;
                audit_grant_change(
                    conn,
                    &account,
                    &device,
                    AuditAction::GrantCreated,
                    &grant_id,
                    req.record_keys.iter().map(|k| k.record_id.to_string()).collect(),
                    now,
                )?;
                let stored = store::grant(conn, &account, &grant_id)?
                    .ok_or_else(|| AppError::Internal("grant vanished after insert".into()))?;
                grant_info(&stored, &org_name, req.record_keys.len() as i64)
            })
        })
        .await?;
    Ok(info)
}

/// The account's grants, newest first.
pub async fn list_grants(state: &App, device: AuthenticatedDevice) -> Result<Vec<GrantInfo>, AppError> {
    state
        .db(move |conn| {
            let rows = store::grants_of(conn, &device.account_id)?;
            let counts = store::record_key_counts(conn, &device.account_id)?;
            let names: HashMap<String, String> = crate::store::organizations::list(conn, true)?
                .into_iter()
                .map(|o| (o.organization_id, o.name))
                .collect();
            rows.iter()
                .map(|row| {
                    let name = names.get(&row.organization_id).unwrap_or(&row.organization_id);
                    grant_info(row, name, counts.get(&row.grant_id).copied().unwrap_or(0))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
}

/// One grant of the account (404 for unknown, malformed or another account's ids).
pub async fn get_grant(state: &App, device: AuthenticatedDevice, grant_id: &str) -> Result<GrantInfo, AppError> {
    let grant_id = path_grant_id(grant_id)?;
    state
        .db(move |conn| {
            audited_if_not_found(conn, &device, &grant_id, AuditAction::GrantRead, |conn| {
                let row = stored_grant(conn, &device.account_id, &grant_id)?;
                stored_grant_info(conn, &device.account_id, &row)
            })
        })
        .await
}

/// Adds data keys of records that came into the grant's scope later.
pub async fn add_keys(
    state: &App,
    device: AuthenticatedDevice,
    grant_id: &str,
    req: AddGrantKeysRequest,
) -> Result<GrantInfo, AppError> {
    let grant_id = path_grant_id(grant_id)?;
    let mut problems = record_key_shape_problems(&req.record_keys)?;
    if req.record_keys.is_empty() {
        problems.push(("record_keys".into(), "must name at least one record".into()));
    }
    unprocessable_if_any("invalid record keys", problems)?;
    let keys = Arc::clone(&state.keys);
    let now = now_ms();
    state
        .db(move |conn| {
            audited_if_not_found(conn, &device, &grant_id, AuditAction::GrantKeysAdded, |conn| {
                write_transaction(conn, |conn| {
                    let account = device.account_id.as_str();
                    crate::app::records::RecordLog::lock_for_device(conn, account)?;
                    let row = stored_grant(conn, account, &grant_id)?;
                    if row.state != STATE_ACTIVE {
                        return Err(AppError::Conflict("the grant has been revoked; create a new grant".into()));
                    }
                    let grant = parse_grant(&row)?;
                    if grant.status_at(utc(now)) == GrantStatus::Expired {
                        return Err(AppError::Conflict("the grant's period has ended".into()));
                    }
                    let wrapped = row.wrapped_grant_key.as_deref().unwrap_or_default();
                    let grant_key = open_grant_key(&keys, &row.view_kid, wrapped, account, grant.id.0)?
                        .ok_or_else(|| AppError::Internal("the stored grant key does not open".into()))?;
                    let mut problems = unwrap_problems(&grant_key, account, grant.id.0, &req.record_keys);
                    drop(grant_key);
                    problems.extend(scope_problems(conn, account, &grant, &req.record_keys, utc(now))?);
                    unprocessable_if_any("invalid record keys", problems)?;
                    store::put_record_keys(conn, &record_key_rows(account, &grant_id, &req.record_keys))?;
                    audit_grant_change(
                        conn,
                        account,
                        &device,
                        AuditAction::GrantKeysAdded,
                        &grant_id,
                        req.record_keys.iter().map(|k| k.record_id.to_string()).collect(),
                        now,
                    )?;
                    stored_grant_info(conn, account, &row)
                })
            })
        })
        .await
}

/// Revokes a grant: its grant key and every wrapped data key are deleted (409 if already revoked).
pub async fn revoke_grant(state: &App, device: AuthenticatedDevice, grant_id: &str) -> Result<(), AppError> {
    let grant_id = path_grant_id(grant_id)?;
    let account_id = device.account_id.clone();
    state
        .db(move |conn| {
            audited_if_not_found(conn, &device, &grant_id, AuditAction::GrantRevoked, |conn| {
                write_transaction(conn, |conn| {
                    let account = device.account_id.as_str();
                    crate::app::records::RecordLog::lock_for_device(conn, account)?;
                    let row = stored_grant(conn, account, &grant_id)?;
                    if row.state == STATE_REVOKED {
                        return Err(AppError::Conflict("the grant is already revoked".into()));
                    }
                    let mut grant = parse_grant(&row)?;
                    let now = now_ms();
                    grant.revoke(utc(now));
                    let grant_json = serde_json::to_string(&grant)
                        .map_err(|e| AppError::Internal(format!("cannot encode the grant: {e}")))?;
                    let record_ids = store::record_key_ids(conn, account, &grant_id)?;
                    store::revoke(conn, account, &grant_id, &grant_json, now)?;
                    audit_grant_change(conn, account, &device, AuditAction::GrantRevoked, &grant_id, record_ids, now)?;
                    Ok(())
                })
            })
        })
        .await?;
    // Cached FHIR answers holding this family's data are no longer served (their fingerprint
    // names the grant); drop them now rather than keep the plaintext until they expire.
    state.fhir_search_cache.forget_account(&account_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyStore;
    use phr_core::consent::{Access, GrantId, GrantPeriod, GrantScope, OrganizationId, Purpose};
    use phr_core::crypto::{wrap_data_key, wrap_grant_key_to, DataKey};

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn grant() -> ConsentGrant {
        ConsentGrant {
            id: GrantId(Uuid::from_u128(7)),
            grantee: OrganizationId::new("tanaka-clinic").unwrap(),
            purpose: Purpose::Treatment,
            scope: GrantScope {
                modules: [RecordKind::PrenatalVisit].into_iter().collect(),
                subjects: [Subject::Mother].into_iter().collect(),
                data_from: None,
                data_to: None,
            },
            period: GrantPeriod { from: None, to: Some(ts("2030-01-01T00:00:00Z")) },
            access: Access::Read,
            state: GrantState::Active,
            created_at: ts("2026-01-01T00:00:00Z"),
        }
    }

    fn paths(problems: &Problems) -> Vec<&str> {
        problems.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn a_sensible_active_grant_has_no_problems() {
        assert!(grant_problems(&grant(), ts("2026-06-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn grant_problems_are_reported_under_grant_dot_field_paths() {
        let mut g = grant();
        g.scope.modules.clear();
        g.purpose = Purpose::Research;
        g.access = Access::ReadWrite;
        let problems = grant_problems(&g, ts("2026-06-01T00:00:00Z"));
        assert_eq!(paths(&problems), vec!["grant.scope.modules", "grant.access"]);
    }

    #[test]
    fn a_new_grant_must_be_active_and_not_over() {
        let mut g = grant();
        g.state = GrantState::Revoked { at: ts("2026-02-01T00:00:00Z") };
        assert_eq!(paths(&grant_problems(&g, ts("2026-06-01T00:00:00Z"))), vec!["grant.state"]);
        let g = grant();
        assert_eq!(paths(&grant_problems(&g, ts("2030-01-01T00:00:00Z"))), vec!["grant.period"]);
    }

    #[test]
    fn scope_is_checked_at_the_start_of_a_period_that_has_not_begun() {
        let mut g = grant();
        let now = ts("2026-06-01T00:00:00Z");
        assert_eq!(scope_time(&g, now), now);
        g.period.from = Some(ts("2026-07-01T00:00:00Z"));
        assert_eq!(scope_time(&g, now), ts("2026-07-01T00:00:00Z"));
        assert!(g.covers(RecordKind::PrenatalVisit, &Subject::Mother, None, scope_time(&g, now)));
        g.period.from = Some(ts("2026-01-01T00:00:00Z"));
        assert_eq!(scope_time(&g, now), now);
    }

    #[test]
    fn wrapped_grant_keys_must_be_48_to_512_bytes() {
        assert!(wrapped_grant_key_problem(&[0; 47]).is_some());
        assert!(wrapped_grant_key_problem(&[0; 48]).is_none());
        assert!(wrapped_grant_key_problem(&[0; 512]).is_none());
        assert!(wrapped_grant_key_problem(&[0; 513]).is_some());
    }

    fn key(n: u128, len: usize) -> GrantRecordKey {
        GrantRecordKey { record_id: Uuid::from_u128(n), wrapped_key: vec![1; len] }
    }

    #[test]
    fn record_keys_must_be_unique_and_1_to_1024_bytes() {
        let problems = record_key_shape_problems(&[key(1, 61), key(2, 0), key(1, 1025), key(3, 1024)]).unwrap();
        assert_eq!(
            paths(&problems),
            vec!["record_keys[1].wrapped_key", "record_keys[2].record_id", "record_keys[2].wrapped_key"]
        );
    }

    #[test]
    fn more_than_10000_record_keys_is_413() {
        let keys: Vec<GrantRecordKey> = (0..=MAX_RECORD_KEYS as u128).map(|n| key(n, 61)).collect();
        let err = record_key_shape_problems(&keys).unwrap_err();
        assert!(matches!(err, AppError::PayloadTooLarge(_)), "{err:?}");
        assert!(record_key_shape_problems(&keys[..MAX_RECORD_KEYS]).unwrap().is_empty());
    }

    #[test]
    fn record_keys_must_unwrap_with_the_grant_key_for_their_own_record() {
        let grant_key = GrantKey::generate();
        let grant_id = Uuid::from_u128(7);
        let dek = DataKey::generate();
        let wrap = |record: u128, grant: Uuid, account: &str| {
            wrap_data_key(
                &grant_key,
                &dek,
                &GrantWrapContext { account_id: account, grant_id: grant, record_id: Uuid::from_u128(record) },
            )
        };
        let keys = vec![
            GrantRecordKey { record_id: Uuid::from_u128(1), wrapped_key: wrap(1, grant_id, "acc") },
            // Wrapped for another record, another grant, another account.
            GrantRecordKey { record_id: Uuid::from_u128(2), wrapped_key: wrap(1, grant_id, "acc") },
            GrantRecordKey { record_id: Uuid::from_u128(3), wrapped_key: wrap(3, Uuid::from_u128(8), "acc") },
            GrantRecordKey { record_id: Uuid::from_u128(4), wrapped_key: wrap(4, grant_id, "other") },
        ];
        let problems = unwrap_problems(&grant_key, "acc", grant_id, &keys);
        assert_eq!(
            paths(&problems),
            vec!["record_keys[1].wrapped_key", "record_keys[2].wrapped_key", "record_keys[3].wrapped_key"]
        );
    }

    #[test]
    fn the_grant_key_opens_only_with_the_right_view_key_account_and_grant() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyStore::open_or_create(&dir.path().join("keys")).unwrap();
        let view = keys.current(KeyPurpose::View).unwrap();
        let public = HpkePrivateKey::from_bytes(view.secret()).unwrap().public_key();
        let grant_key = GrantKey::generate();
        let grant_id = Uuid::from_u128(7);
        let wrapped = wrap_grant_key_to(&public, &grant_key, "acc", grant_id).unwrap();
        assert!(open_grant_key(&keys, &view.kid, &wrapped, "acc", grant_id).unwrap().is_some());
        assert!(open_grant_key(&keys, &view.kid, &wrapped, "other", grant_id).unwrap().is_none());
        assert!(open_grant_key(&keys, &view.kid, &wrapped, "acc", Uuid::from_u128(8)).unwrap().is_none());
        assert!(open_grant_key(&keys, "no-such-kid", &wrapped, "acc", grant_id).unwrap().is_none());
        assert!(open_grant_key(&keys, &view.kid, &[0x21; 81], "acc", grant_id).unwrap().is_none());
    }

    #[test]
    fn malformed_grant_ids_in_paths_are_not_found() {
        assert!(matches!(path_grant_id("nope"), Err(AppError::NotFound(_))));
        let id = Uuid::from_u128(9);
        assert_eq!(path_grant_id(&id.to_string().to_uppercase()).unwrap(), id.to_string());
    }
}
