//! Consent from the app: choose an organization from the server's list, grant
//! it access to some modules and subjects for a purpose and a period, list the
//! grants in plain language, revoke, and read the account's audit log.
//!
//! Consent is enforced by keys (`docs/architecture.md`): a grant gets a fresh grant key,
//! HPKE-wrapped to the server's view key; the data key of every record in
//! scope that the server already has is wrapped under the grant key and sent
//! with the grant. The grant key is kept on this device (sealed under the
//! device storage key) so that records which come into scope later (new, or
//! pending at grant time) get their keys at the next sync
//! (`POST /consent/v1/grants/{id}/keys`, see [`send_new_grant_keys`]).

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, SqliteConnection};
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

use super::account::Account;
use super::error::{Error, FieldProblem, HttpErrorKind, Result};
use super::keys::{RecordKeys, StorageKey};
use super::store::{self, GrantRow, RecordRow};
use super::transport::{json_body, Transport};

/// Most record keys sent in one request (the server takes up to 10,000).
const KEYS_PER_REQUEST: usize = 2000;

/// An organization a family can grant access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub organization_id: String,
    pub name: String,
    /// clinic, municipality, ehr_network, research
    pub kind: String,
    /// The purposes it may be granted for (treatment, emergency, research).
    pub purposes: Vec<String>,
}

/// What the parent chose on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The person who acted for the actor: a care-team portal staff member's name (the actor
    /// is then `organization:<id>/staff:<staff id>`). `None` otherwise.
    pub actor_name: Option<String>,
}

/// A period bound: `YYYY-MM-DD` (the start of that day, or with
/// `end_of_day` the start of the next) or RFC 3339; `Err` is the reason.
fn parse_instant(value: &str, end_of_day: bool) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if end_of_day { d.succ_opt().ok_or("date out of range")? } else { d };
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "expected a date YYYY-MM-DD or an RFC 3339 time".to_owned())
}

/// Builds and validates (with phr-core) the grant a request describes.
fn build_grant(req: &GrantRequest, now: DateTime<Utc>) -> Result<ConsentGrant> {
    let mut issues = Vec::new();
    let mut issue = |field: &str, reason: String| issues.push(FieldProblem::new(field, reason));
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
    let from = req.from.as_deref().map(|v| parse_instant(v, false)).transpose();
    let to = req.to.as_deref().map(|v| parse_instant(v, true)).transpose();
    for (field, r) in [("from", &from), ("to", &to)] {
        if let Err(reason) = r {
            issue(field, reason.clone());
        }
    }
    if let Ok(Some(to)) = &to {
        if *to <= now {
            issue("to", "the period has already ended".into());
        }
    }
    if !issues.is_empty() {
        return Err(Error::Validation(issues));
    }
    let (Ok(grantee), Ok(purpose), Ok(access), Ok(from), Ok(to)) = (grantee, purpose, access, from, to) else {
        return Err(Error::invalid("grant", "invalid"));
    };
    let grant = ConsentGrant {
        id: GrantId(Uuid::new_v4()),
        grantee,
        purpose,
        scope: GrantScope { modules, subjects, data_from: None, data_to: None },
        period: GrantPeriod { from, to },
        access,
        state: GrantState::Active,
        created_at: now,
    };
    grant.validate().map_err(|invalid| {
        Error::Validation(invalid.problems.iter().map(|p| FieldProblem::new(p.field(), p.to_string())).collect())
    })?;
    Ok(grant)
}

/// Whether `row` is a record the grant should hold the key of: live, known
/// to the server (pushed at least once, not waiting for a push), and in scope.
fn in_scope(grant: &ConsentGrant, row: &RecordRow) -> bool {
    if row.deleted || row.pending || row.server_version <= 0 {
        return false;
    }
    let Ok((kind, subject)) = row.kind_subject() else { return false };
    let date = row.effective_date.as_deref().and_then(|d| d.parse::<NaiveDate>().ok());
    grant.covers_record(kind, &subject, date)
}

/// The data keys of `rows`, wrapped under the grant key.
fn wrap_keys(
    keys: &RecordKeys,
    grant: &ConsentGrant,
    grant_key: &GrantKey,
    rows: &[&RecordRow],
) -> Result<Vec<GrantRecordKey>> {
    rows.iter()
        .map(|row| {
            let record_id = row.id()?;
            let dek = keys.dek(row)?;
            let ctx = GrantWrapContext { account_id: keys.account_id(), grant_id: grant.id.0, record_id };
            Ok(GrantRecordKey { record_id, wrapped_key: wrap_data_key(grant_key, &dek, &ctx) })
        })
        .collect()
}

fn grant_key_of(storage_key: &StorageKey, row: &GrantRow) -> Result<GrantKey> {
    let plain = storage_key.open(&row.sealed_grant_key)?;
    Ok(GrantKey::from_bytes(&plain)?)
}

/// Sync step: sends each active local grant the keys of records that have come
/// into its scope since (new records, or ones pending when it was made). A
/// grant the server no longer has, or has revoked (404/409), stops here too.
pub fn send_new_grant_keys(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
) -> Result<u64> {
    let grants = store::active_grants(conn)?;
    if grants.is_empty() {
        return Ok(0);
    }
    let rows = store::synced_record_keys(conn)?;
    let now = Utc::now();
    let mut sent = 0u64;
    for g in grants {
        let grant: ConsentGrant = serde_json::from_str(&g.grant_json).map_err(Error::corrupt)?;
        if matches!(grant.status_at(now), GrantStatus::Expired | GrantStatus::Revoked) {
            // Expired (or revoked): no key is of use any more.
            store::grant_deactivate(conn, &g.grant_id)?;
            continue;
        }
        let done: HashSet<String> = store::grant_keys_sent(conn, &g.grant_id)?.into_iter().collect();
        let todo: Vec<&RecordRow> =
            rows.iter().filter(|r| !done.contains(&r.record_id) && in_scope(&grant, r)).collect();
        if todo.is_empty() {
            continue;
        }
        let grant_key = grant_key_of(storage_key, &g)?;
        for chunk in todo.chunks(KEYS_PER_REQUEST) {
            let record_keys = wrap_keys(&account.keys, &grant, &grant_key, chunk)?;
            let body = json_body("the grant's record keys", &AddGrantKeysRequest { record_keys })?;
            let path = format!("/consent/v1/grants/{}/keys", g.grant_id);
            match account.session.call::<serde_json::Value>(transport, "POST", &path, Some(body)) {
                Ok(_) => {}
                Err(Error::Http { kind: HttpErrorKind::NotFound | HttpErrorKind::Conflict, .. }) => {
                    store::grant_deactivate(conn, &g.grant_id)?;
                    break;
                }
                Err(e) => return Err(e),
            }
            let ids: Vec<String> = chunk.iter().map(|r| r.record_id.clone()).collect();
            store::grant_keys_mark_sent(conn, &g.grant_id, &ids)?;
            sent += ids.len() as u64;
        }
    }
    Ok(sent)
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The app's view of a grant; its summary in `language` made here from the
/// grant, or (`None`) the server's English one.
fn view(info: GrantInfo, language: Option<&str>) -> GrantView {
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
        summary: match language {
            Some(language) => g.summary_in(language, &info.organization_name),
            None => info.summary.clone(),
        },
        record_key_count: info.record_key_count,
        created_at: info.created_at,
        revoked_at: info.revoked_at,
    }
}

/// The organizations the server lets families grant access to.
pub fn list_organizations(account: &mut Account, transport: &dyn Transport) -> Result<Vec<Organization>> {
    let list: Vec<OrganizationInfo> = account.session.call(transport, "GET", "/consent/v1/organizations", None)?;
    Ok(list
        .into_iter()
        .map(|o| Organization { organization_id: o.organization_id, name: o.name, kind: o.kind, purposes: o.purposes })
        .collect())
}

/// Grants an organization access: validated by phr-core first; the data keys
/// of the records in scope that are already synced travel with the grant.
pub fn grant_consent(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    request: &GrantRequest,
) -> Result<GrantView> {
    let grant = build_grant(request, Utc::now())?;
    let view_key: ViewKeyResponse = account.session.call(transport, "GET", "/consent/v1/view-key", None)?;
    let view_public = HpkePublicKey::from_bytes(&view_key.public_key)
        .map_err(|_| Error::Protocol("the server's view key is not an X25519 key".into()))?;
    // The key's bytes are drawn here (not GrantKey::generate) so this
    // device can keep them for keys it sends later.
    let mut grant_key_bytes = Zeroizing::new(vec![0u8; 32]);
    SystemRandom::new().fill(&mut grant_key_bytes).map_err(|_| Error::crypto("system RNG failed"))?;
    let grant_key = GrantKey::from_bytes(&grant_key_bytes)?;
    let wrapped_grant_key = wrap_grant_key_to(&view_public, &grant_key, account.keys.account_id(), grant.id.0)?;
    let rows = store::synced_record_keys(conn)?;
    let in_scope_rows: Vec<&RecordRow> = rows.iter().filter(|r| in_scope(&grant, r)).collect();
    let record_keys = wrap_keys(&account.keys, &grant, &grant_key, &in_scope_rows)?;
    let sent: Vec<String> = record_keys.iter().map(|k| k.record_id.to_string()).collect();
    let req = CreateGrantRequest { grant: grant.clone(), wrapped_grant_key, view_kid: view_key.kid, record_keys };
    let body = json_body("the grant", &req)?;
    let info: GrantInfo = account.session.call(transport, "POST", "/consent/v1/grants", Some(body))?;
    let sealed_grant_key = storage_key.seal(&grant_key_bytes)?;
    let row = GrantRow {
        grant_id: grant.id.0.to_string(),
        grant_json: serde_json::to_string(&grant).map_err(|e| Error::encoding("the grant", e))?,
        sealed_grant_key,
        active: true,
    };
    conn.transaction::<_, Error, _>(|conn| {
        store::grant_put(conn, &row)?;
        store::grant_keys_mark_sent(conn, &row.grant_id, &sent)
    })?;
    Ok(view(info, None))
}

/// The account's grants (made on any device), newest first, with summaries in
/// `language` (a tag of phr-core's message catalogs), or (`None`) the server's
/// English ones.
pub fn list_grants(account: &mut Account, transport: &dyn Transport, language: Option<&str>) -> Result<Vec<GrantView>> {
    let list: Vec<GrantInfo> = account.session.call(transport, "GET", "/consent/v1/grants", None)?;
    Ok(list.into_iter().map(|info| view(info, language)).collect())
}

/// Revokes a grant on the server and stops sending it keys.
pub fn revoke_grant(
    conn: &mut SqliteConnection,
    account: &mut Account,
    transport: &dyn Transport,
    grant_id: &str,
) -> Result<()> {
    let id = Error::uuid_arg("grant_id", grant_id)?.to_string();
    account.session.call::<()>(transport, "DELETE", &format!("/consent/v1/grants/{id}"), None)?;
    store::grant_deactivate(conn, &id)
}

/// The account's audit log after sequence number `since`, oldest first.
pub fn audit_log(account: &mut Account, transport: &dyn Transport, since: u64) -> Result<Vec<AuditEntry>> {
    let mut cursor = since;
    let mut entries = Vec::new();
    loop {
        let path = format!("/audit/v1/events?since={cursor}&limit=1000");
        let page: AuditPage = account.session.call(transport, "GET", &path, None)?;
        entries.extend(page.events.into_iter().map(|e| AuditEntry {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            action: e.action,
            grant_id: e.grant_id,
            record_ids: e.record_ids,
            outcome: e.outcome,
            occurrences: e.occurrences,
            actor_name: e.actor_name,
        }));
        if !page.more || page.next_cursor <= cursor {
            return Ok(entries);
        }
        cursor = page.next_cursor;
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

    fn info(grant: ConsentGrant) -> GrantInfo {
        GrantInfo {
            summary: grant.summary_with_name("Tanaka Clinic"),
            grant,
            state: "active".into(),
            organization_name: "Tanaka Clinic".into(),
            record_key_count: 0,
            created_at: 0,
            revoked_at: None,
        }
    }

    #[test]
    fn a_grant_view_keeps_the_servers_summary_or_says_it_in_the_language_asked() {
        let grant = build_grant(&request(), now()).unwrap();
        let english = view(info(grant.clone()), None).summary;
        assert_eq!(
            english,
            "Tanaka Clinic (treatment) can read prenatal visits and immunizations of the mother \
             from 2026-01-01 until 2099-12-31"
        );
        assert_eq!(view(info(grant.clone()), Some("en")).summary, english);
        assert_eq!(
            view(info(grant), Some("ja")).summary,
            "Tanaka Clinic（診療）は、母の妊婦健診、予防接種の記録を2026-01-01から2099-12-31まで閲覧できます"
        );
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
        let Error::Validation(issues) = build_grant(&r, now()).unwrap_err() else { panic!() };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["purpose", "access", "modules[0]", "subjects[0]", "to"]);
    }

    #[test]
    fn phr_core_refuses_a_module_that_fits_no_subject_and_an_ended_period() {
        let mut r = request();
        r.modules = vec!["newborn".into()];
        let err = build_grant(&r, now()).unwrap_err();
        assert!(matches!(&err, Error::Validation(p) if p[0].field.starts_with("scope.")), "{err:?}");
        let mut r = request();
        r.to = Some("2026-05-01".into());
        assert!(matches!(build_grant(&r, now()), Err(Error::Validation(p)) if p[0].field == "to"));
    }
}
