//! Consent from the app: choose an organization from the server's list, grant
//! it access to some modules and subjects for a purpose and a period, list the
//! grants in plain language, revoke, and read the account's audit log.
//!
//! Consent is enforced by keys (`docs/architecture.md`): a grant gets a fresh grant key,
//! HPKE-wrapped to the server's view key; the data key of every record in
//! scope that the server already has is wrapped under the grant key and sent
//! with the grant. The grant key is kept on this device (sealed under the
//! device storage key) so that records which come into scope later (new, or
//! pending at grant time) get their keys at the next [`sync`](PhrClient::sync)
//! (`POST /consent/v1/grants/{id}/keys`, see [`send_new_grant_keys`]).

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use phr_core::consent::{
    Access, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState, GrantStatus, ModuleSet, OrganizationId, Purpose,
};
use phr_core::crypto::{wrap_data_key, wrap_grant_key_to, GrantKey, GrantWrapContext, HpkePublicKey};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{
    AddGrantKeysRequest, AuditPage, CreateGrantRequest, GrantInfo, GrantRecordKey, OrganizationInfo, ViewKeyResponse,
};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::client::{row_kind_subject, Inner, PhrClient};
use crate::error::{FieldIssue, PhrError};
use crate::store::{self, secrets, GrantRow, RecordRow};
use crate::sync::transport::HttpTransport;

/// Most record keys sent in one request (the server takes up to 10,000).
const KEYS_PER_REQUEST: usize = 2000;

/// An organization a family can grant access to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Organization {
    pub organization_id: String,
    pub name: String,
    /// clinic, municipality, ehr_network, research
    pub kind: String,
    /// The purposes it may be granted for (treatment, emergency, research).
    pub purposes: Vec<String>,
}

/// What the parent chose on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GrantRequest {
    pub organization_id: String,
    /// treatment, emergency or research.
    pub purpose: String,
    /// Dataset modules (`prenatal_visit`, `immunization`, ...).
    pub modules: Vec<String>,
    /// `mother` and/or `child:<uuid>`.
    pub subjects: Vec<String>,
    /// When access starts: `YYYY-MM-DD` (start of that day, UTC) or RFC 3339;
    /// none = now.
    pub from: Option<String>,
    /// When access ends: `YYYY-MM-DD` (access through the end of that day,
    /// UTC) or RFC 3339 (exclusive); none = until revoked.
    pub to: Option<String>,
    /// read or read_write.
    pub access: String,
}

/// A grant as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GrantView {
    pub grant_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub purpose: String,
    pub modules: Vec<String>,
    pub subjects: Vec<String>,
    /// RFC 3339, if bounded.
    pub from: Option<String>,
    pub to: Option<String>,
    pub access: String,
    /// active, revoked, expired or not_yet_valid (now).
    pub status: String,
    /// One plain-language sentence from phr-core ("Tanaka Clinic (treatment) can read ...").
    pub summary: String,
    /// How many records' keys the server holds for this grant.
    pub record_key_count: u64,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One entry of the account's audit log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuditEntry {
    pub seq: u64,
    /// Epoch milliseconds.
    pub at: i64,
    /// `device:<id>`, `org:<id>`, `recovery`, `admin`, `server`.
    pub actor: String,
    pub action: String,
    pub grant_id: Option<String>,
    pub record_ids: Vec<String>,
    pub outcome: String,
    /// A repeated event the server writes once per so many occurrences (e.g.
    /// `key_backup_fetched`: the 1st, 2nd, 4th, 8th… of each hour): the count
    /// so far in its hour. `None` for ordinary events.
    pub occurrences: Option<u64>,
}

fn invalid_all(issues: Vec<FieldIssue>) -> PhrError {
    let first = issues[0].clone();
    PhrError::Validation { field: first.field, reason: first.reason, issues }
}

fn parse_instant(field: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, PhrError> {
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day =
            if end_of_day { d.succ_opt().ok_or_else(|| PhrError::invalid(field, "date out of range"))? } else { d };
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| PhrError::invalid(field, "expected a date YYYY-MM-DD or an RFC 3339 time"))
}

/// Builds and validates (with phr-core) the grant a request describes.
fn build_grant(req: &GrantRequest, now: DateTime<Utc>) -> Result<ConsentGrant, PhrError> {
    let mut issues = Vec::new();
    let mut issue = |field: &str, reason: String| issues.push(FieldIssue { field: field.into(), reason });
    let grantee = OrganizationId::new(req.organization_id.trim()).map_err(|e| e.to_string());
    if let Err(e) = &grantee {
        issue("organization_id", e.clone());
    }
    let purpose: Result<Purpose, _> = serde_json::from_value(serde_json::Value::String(req.purpose.clone()));
    if purpose.is_err() {
        issue("purpose", "must be treatment, emergency or research".into());
    }
    let access: Result<Access, _> = serde_json::from_value(serde_json::Value::String(req.access.clone()));
    if access.is_err() {
        issue("access", "must be read or read_write".into());
    }
    let mut modules = ModuleSet::new();
    for (i, m) in req.modules.iter().enumerate() {
        match RecordKind::from_str(m) {
            Ok(k) => {
                modules.insert(k);
            }
            Err(e) => issue(&format!("modules[{i}]"), e.to_string()),
        }
    }
    let mut subjects = BTreeSet::new();
    for (i, s) in req.subjects.iter().enumerate() {
        match Subject::from_str(s) {
            Ok(s) => {
                subjects.insert(s);
            }
            Err(e) => issue(&format!("subjects[{i}]"), e.to_string()),
        }
    }
    let from = req.from.as_deref().map(|v| parse_instant("from", v, false));
    let to = req.to.as_deref().map(|v| parse_instant("to", v, true));
    for (field, r) in [("from", &from), ("to", &to)] {
        if let Some(Err(PhrError::Validation { reason, .. })) = r {
            issue(field, reason.clone());
        }
    }
    if let Some(Ok(to)) = &to {
        if *to <= now {
            issue("to", "the period has already ended".into());
        }
    }
    if !issues.is_empty() {
        return Err(invalid_all(issues));
    }
    let (Ok(grantee), Ok(purpose), Ok(access)) = (grantee, purpose, access) else {
        return Err(PhrError::invalid("grant", "invalid"));
    };
    let grant = ConsentGrant {
        id: GrantId(Uuid::new_v4()),
        grantee,
        purpose,
        scope: GrantScope { modules, subjects, data_from: None, data_to: None },
        period: GrantPeriod { from: from.transpose()?, to: to.transpose()? },
        access,
        state: GrantState::Active,
        created_at: now,
    };
    grant.validate().map_err(|invalid| {
        invalid_all(
            invalid
                .problems
                .iter()
                .map(|p| FieldIssue { field: p.field().to_owned(), reason: p.to_string() })
                .collect(),
        )
    })?;
    Ok(grant)
}

/// Whether `row` is a record the grant should hold the key of: live, known
/// to the server (pushed at least once, not waiting for a push), and in scope.
fn in_scope(grant: &ConsentGrant, row: &RecordRow) -> bool {
    if row.deleted || row.pending || row.server_version <= 0 {
        return false;
    }
    let Ok((kind, subject)) = row_kind_subject(row) else { return false };
    let date = row.effective_date.as_deref().and_then(|d| d.parse::<NaiveDate>().ok());
    grant.scope.covers(kind, &subject, date)
}

/// The data keys of `rows`, wrapped under the grant key.
fn wrap_keys(
    inner: &Inner,
    grant: &ConsentGrant,
    grant_key: &GrantKey,
    rows: &[&RecordRow],
) -> Result<Vec<GrantRecordKey>, PhrError> {
    let s = inner.session()?;
    rows.iter()
        .map(|row| {
            let record_id = Uuid::parse_str(&row.record_id).map_err(PhrError::storage)?;
            let dek = inner.dek(row)?;
            let ctx = GrantWrapContext { account_id: &s.account_id, grant_id: grant.id.0, record_id };
            Ok(GrantRecordKey { record_id, wrapped_key: wrap_data_key(grant_key, &dek, &ctx) })
        })
        .collect()
}

fn grant_key_of(inner: &Inner, row: &GrantRow) -> Result<GrantKey, PhrError> {
    let plain = secrets::open(&inner.storage_key, &row.sealed_grant_key)?;
    Ok(GrantKey::from_bytes(&plain)?)
}

/// Sync step: sends each active local grant the keys of records that have come
/// into its scope since (new records, or ones pending when it was made). A
/// grant the server no longer has, or has revoked (404/409), stops here too.
pub(crate) fn send_new_grant_keys(inner: &mut Inner, transport: &dyn HttpTransport) -> Result<u64, PhrError> {
    let grants = store::active_grants(&mut inner.conn)?;
    if grants.is_empty() {
        return Ok(0);
    }
    let rows = store::synced_record_keys(&mut inner.conn)?;
    let now = Utc::now();
    let mut sent = 0u64;
    for g in grants {
        let grant: ConsentGrant = serde_json::from_str(&g.grant_json).map_err(PhrError::storage)?;
        if matches!(grant.status_at(now), GrantStatus::Expired | GrantStatus::Revoked) {
            // Expired (or revoked): no key is of use any more.
            store::grant_deactivate(&mut inner.conn, &g.grant_id)?;
            continue;
        }
        let done: HashSet<String> = store::grant_keys_sent(&mut inner.conn, &g.grant_id)?.into_iter().collect();
        let todo: Vec<&RecordRow> =
            rows.iter().filter(|r| !done.contains(&r.record_id) && in_scope(&grant, r)).collect();
        if todo.is_empty() {
            continue;
        }
        let grant_key = grant_key_of(inner, &g)?;
        for chunk in todo.chunks(KEYS_PER_REQUEST) {
            let record_keys = wrap_keys(inner, &grant, &grant_key, chunk)?;
            let body = serde_json::to_vec(&AddGrantKeysRequest { record_keys }).map_err(PhrError::storage)?;
            let path = format!("/consent/v1/grants/{}/keys", g.grant_id);
            match inner.authed::<serde_json::Value>(transport, "POST", &path, Some(body)) {
                Ok(_) => {}
                Err(PhrError::NotFound { .. } | PhrError::Conflict { .. }) => {
                    store::grant_deactivate(&mut inner.conn, &g.grant_id)?;
                    break;
                }
                Err(e) => return Err(e),
            }
            let ids: Vec<String> = chunk.iter().map(|r| r.record_id.clone()).collect();
            store::grant_keys_mark_sent(&mut inner.conn, &g.grant_id, &ids)?;
            sent += ids.len() as u64;
        }
    }
    Ok(sent)
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn view(info: GrantInfo) -> GrantView {
    let g = &info.grant;
    GrantView {
        grant_id: g.id.0.to_string(),
        organization_id: g.grantee.as_str().to_owned(),
        organization_name: info.organization_name.clone(),
        purpose: g.purpose.as_str().to_owned(),
        modules: g.scope.modules.iter().map(|k| k.as_str().to_owned()).collect(),
        subjects: g.scope.subjects.iter().map(ToString::to_string).collect(),
        from: rfc3339(g.period.from),
        to: rfc3339(g.period.to),
        access: match g.access {
            Access::Read => "read".into(),
            Access::ReadWrite => "read_write".into(),
        },
        status: if info.state == "revoked" { "revoked".into() } else { g.status_at(Utc::now()).as_str().to_owned() },
        summary: info.summary.clone(),
        record_key_count: info.record_key_count,
        created_at: info.created_at,
        revoked_at: info.revoked_at,
    }
}

#[uniffi::export]
impl PhrClient {
    /// The organizations the server lets families grant access to.
    pub fn list_organizations(&self) -> Result<Vec<Organization>, PhrError> {
        let mut inner = self.lock();
        let list: Vec<OrganizationInfo> =
            inner.authed(self.transport.as_ref(), "GET", "/consent/v1/organizations", None)?;
        Ok(list
            .into_iter()
            .map(|o| Organization {
                organization_id: o.organization_id,
                name: o.name,
                kind: o.kind,
                purposes: o.purposes,
            })
            .collect())
    }

    /// Grants an organization access (validated by phr-core first; the server
    /// also checks the organization allows the purpose). The data keys of the
    /// records in scope that are already synced travel with the grant; records
    /// added, or still unsynced, get theirs at the next sync.
    pub fn grant_consent(&self, request: GrantRequest) -> Result<GrantView, PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let grant = build_grant(&request, Utc::now())?;
        let view_key: ViewKeyResponse = inner.authed(self.transport.as_ref(), "GET", "/consent/v1/view-key", None)?;
        let view_public = HpkePublicKey::from_bytes(&view_key.public_key).map_err(|_| PhrError::Network {
            reason: "the server's view key is not an X25519 key".into(),
            retryable: false,
        })?;
        // The key's bytes are drawn here (not GrantKey::generate) so this
        // device can keep them for keys it sends later.
        let mut grant_key_bytes = Zeroizing::new(vec![0u8; 32]);
        SystemRandom::new().fill(&mut grant_key_bytes).map_err(|_| PhrError::crypto("system RNG failed"))?;
        let grant_key = GrantKey::from_bytes(&grant_key_bytes)?;
        let account_id = inner.session()?.account_id.clone();
        let wrapped_grant_key = wrap_grant_key_to(&view_public, &grant_key, &account_id, grant.id.0)?;
        let rows = store::synced_record_keys(&mut inner.conn)?;
        let in_scope_rows: Vec<&RecordRow> = rows.iter().filter(|r| in_scope(&grant, r)).collect();
        let record_keys = wrap_keys(&inner, &grant, &grant_key, &in_scope_rows)?;
        let sent: Vec<String> = record_keys.iter().map(|k| k.record_id.to_string()).collect();
        let req = CreateGrantRequest { grant: grant.clone(), wrapped_grant_key, view_kid: view_key.kid, record_keys };
        let body = serde_json::to_vec(&req).map_err(PhrError::storage)?;
        let info: GrantInfo = inner.authed(self.transport.as_ref(), "POST", "/consent/v1/grants", Some(body))?;
        let sealed_grant_key = secrets::seal(&inner.storage_key, &grant_key_bytes)?;
        let row = GrantRow {
            grant_id: grant.id.0.to_string(),
            grant_json: serde_json::to_string(&grant).map_err(PhrError::storage)?,
            sealed_grant_key,
            active: true,
        };
        inner.conn.transaction::<_, PhrError, _>(|conn| {
            store::grant_put(conn, &row)?;
            store::grant_keys_mark_sent(conn, &row.grant_id, &sent)
        })?;
        Ok(view(info))
    }

    /// The account's grants (made on any device), newest first, each with its
    /// plain-language summary.
    pub fn list_grants(&self) -> Result<Vec<GrantView>, PhrError> {
        let mut inner = self.lock();
        let list: Vec<GrantInfo> = inner.authed(self.transport.as_ref(), "GET", "/consent/v1/grants", None)?;
        Ok(list.into_iter().map(view).collect())
    }

    /// Revokes a grant: the server deletes its grant key and every record key,
    /// so it can no longer decrypt anything for that organization. Revoking an
    /// already revoked grant is a [`PhrError::Conflict`].
    pub fn revoke_grant(&self, grant_id: String) -> Result<(), PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let id = Uuid::parse_str(grant_id.trim()).map_err(|_| PhrError::invalid("grant_id", "not a UUID"))?.to_string();
        inner.authed::<()>(self.transport.as_ref(), "DELETE", &format!("/consent/v1/grants/{id}"), None)?;
        store::grant_deactivate(&mut inner.conn, &id)
    }

    /// The account's audit log after sequence number `since` (0: from the
    /// start), oldest first: sign-ins, devices, grants, every access through a
    /// grant, recoveries.
    pub fn audit_log(&self, since: u64) -> Result<Vec<AuditEntry>, PhrError> {
        let mut inner = self.lock();
        let mut cursor = since;
        let mut entries = Vec::new();
        loop {
            let path = format!("/audit/v1/events?since={cursor}&limit=1000");
            let page: AuditPage = inner.authed(self.transport.as_ref(), "GET", &path, None)?;
            entries.extend(page.events.into_iter().map(|e| AuditEntry {
                seq: e.seq,
                at: e.at,
                actor: e.actor,
                action: e.action,
                grant_id: e.grant_id,
                record_ids: e.record_ids,
                outcome: e.outcome,
                occurrences: e.occurrences,
            }));
            if !page.more || page.next_cursor <= cursor {
                return Ok(entries);
            }
            cursor = page.next_cursor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> GrantRequest {
        GrantRequest {
            organization_id: "tanaka-clinic".into(),
            purpose: "treatment".into(),
            modules: vec!["prenatal_visit".into(), "immunization".into()],
            subjects: vec!["mother".into()],
            from: Some("2026-01-01".into()),
            to: Some("2099-12-31".into()),
            access: "read".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_request_becomes_an_active_grant_whose_end_date_is_inclusive() {
        let g = build_grant(&request(), now()).unwrap();
        assert_eq!(g.grantee.as_str(), "tanaka-clinic");
        assert_eq!(g.purpose, Purpose::Treatment);
        assert_eq!(g.period.from.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(g.period.to.unwrap().to_rfc3339(), "2100-01-01T00:00:00+00:00");
        assert!(g.scope.covers(RecordKind::Immunization, &Subject::Mother, None));
        assert!(!g.scope.covers(RecordKind::SelfVitals, &Subject::Mother, None));
        assert_eq!(g.state, GrantState::Active);
    }

    #[test]
    fn every_bad_field_of_a_request_is_reported_with_its_name() {
        let mut r = request();
        r.purpose = "marketing".into();
        r.access = "everything".into();
        r.modules = vec!["x-rays".into()];
        r.subjects = vec!["father".into()];
        r.to = Some("yesterday".into());
        let PhrError::Validation { issues, .. } = build_grant(&r, now()).unwrap_err() else { panic!() };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["purpose", "access", "modules[0]", "subjects[0]", "to"]);
    }

    #[test]
    fn phr_core_refuses_a_module_that_fits_no_subject_and_an_ended_period() {
        let mut r = request();
        r.modules = vec!["newborn".into()];
        let err = build_grant(&r, now()).unwrap_err();
        assert!(matches!(&err, PhrError::Validation { field, .. } if field.starts_with("scope.")), "{err:?}");
        let mut r = request();
        r.to = Some("2026-05-01".into());
        assert!(matches!(build_grant(&r, now()), Err(PhrError::Validation { field, .. }) if field == "to"));
    }
}
