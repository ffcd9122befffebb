//! Consented access: the one place where the server turns a consent grant
//! into readable records (`docs/architecture.md`, "What the system is").
//!
//! 1. [`open_grants`] finds the grants of an organization that are usable now
//!    for one of the given purposes ([`usable_grants`]: active, right grantee
//!    and purpose) and opens each grant key with the server view key named by
//!    the grant. A revoked grant has no wrapped grant key left, so it yields
//!    nothing even before its state is looked at.
//! 2. [`readable_records`] reads, for one account, the records those grants
//!    hold data keys for, in scope and matching a [`RecordFilter`] (kind,
//!    subject and date are plain columns and narrowed in SQL), unwraps each
//!    data key with the grant key, opens the envelope and yields the winning
//!    version of the body. Deleted records are excluded. Records come in
//!    `record_id` order after a cursor, `limit` at a time, so a caller can
//!    stream any number of records (the research export) page by page.
//!
//! Keys ([`GrantKey`], [`DataKey`]) zeroize on drop and print nothing in
//! `Debug`; nothing here logs a key or a body.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use phr_core::consent::{usable_grants, Action as ConsentAction, ConsentGrant, OrganizationId, Purpose};
use phr_core::crypto::{unwrap_data_key, unwrap_grant_key, GrantKey, GrantWrapContext, HpkePrivateKey, RecordAad};
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use phr_core::sync::record_envelope::open_history;
use phr_core::sync::Change;
use uuid::Uuid;

use crate::app::error::AppError;
use crate::app::ids::AccountId;
use crate::keys::{KeyPurpose, KeyStore, OpenedGrantKeyId};
use crate::store::grants as store;
use crate::store::DbConnection;

/// The most records one [`readable_records`] call returns.
pub const MAX_PAGE: i64 = 10_000;

/// Pages of at least this many rows are decrypted on every core (rayon): a
/// `$everything` of thousands of records spends most of its time opening and
/// parsing envelopes. Smaller pages stay on the calling thread.
const PARALLEL_DECRYPT_FROM: usize = 256;

/// A record opened through a grant for an update: its full history, its data key and its stored row.
pub struct OpenedRecord {
    pub history: phr_core::sync::record_envelope::BodyHistory,
    pub dek: phr_core::crypto::DataKey,
    pub row: crate::store::records::RecordRow,
}

/// Opens record `record_id` of the grant's account through the grant (its whole
/// history, for writing a new version); `None` if the grant holds no key for it,
/// it is deleted, or it does not open.
pub fn open_record(
    conn: &mut DbConnection,
    open: &OpenGrant,
    record_id: Uuid,
) -> Result<Option<OpenedRecord>, AppError> {
    let found = store::granted_record(conn, &open.account_id, &open.grant_id(), &record_id.to_string())?;
    let Some(store::GrantedRecord { row, grant_wrapped_key }) = found else { return Ok(None) };
    let ctx = GrantWrapContext { account_id: &open.account_id, grant_id: open.grant.id.0, record_id };
    let Ok(dek) = unwrap_data_key(&*open.key, &grant_wrapped_key, &ctx) else { return Ok(None) };
    let aad = RecordAad { account_id: &open.account_id, record_id, version: row.version as u64 };
    let Ok(history) = open_history(&dek, &aad, &row.envelope) else { return Ok(None) };
    Ok(Some(OpenedRecord { history, dek, row }))
}

/// Opens a grant key with the view key `kid`; `None` if the key is unknown or the wrap does not open.
pub fn open_grant_key(
    keys: &KeyStore,
    kid: &str,
    wrapped: &[u8],
    account_id: &str,
    grant_id: Uuid,
) -> Result<Option<GrantKey>, AppError> {
    let Some(view) = keys.by_kid(KeyPurpose::View, kid) else {
        return Ok(None);
    };
    let private =
        HpkePrivateKey::from_bytes(view.secret()).map_err(|_| AppError::Internal("view key is not usable".into()))?;
    Ok(unwrap_grant_key(&private, wrapped, account_id, grant_id).ok())
}

fn grant_key_cache_key(view_secret: &[u8], wrapped: &[u8], account_id: &str, grant_id: Uuid) -> OpenedGrantKeyId {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(view_secret);
    ctx.update(&[0]);
    ctx.update(wrapped);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(ctx.finish().as_ref());
    (account_id.to_owned(), grant_id, digest)
}

/// [`open_grant_key`] through the key store's cache of opened grant keys: for a grant row the caller
/// has just read from the database (active, wrapped key present).
fn open_grant_key_cached(
    keys: &KeyStore,
    kid: &str,
    wrapped: &[u8],
    account_id: &str,
    grant_id: Uuid,
) -> Result<Option<Arc<GrantKey>>, AppError> {
    let Some(view) = keys.by_kid(KeyPurpose::View, kid) else {
        return Ok(None);
    };
    let cache_key = grant_key_cache_key(view.secret(), wrapped, account_id, grant_id);
    if let Some(key) = keys.opened_grant_key(&cache_key) {
        return Ok(Some(key));
    }
    let Some(key) = open_grant_key(keys, kid, wrapped, account_id, grant_id)? else {
        return Ok(None);
    };
    let key = Arc::new(key);
    keys.remember_grant_key(cache_key, Arc::clone(&key));
    Ok(Some(key))
}

fn grant_row_digest(json: &str, wrapped: &[u8], kid: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [json.as_bytes(), wrapped, kid.as_bytes()] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(ctx.finish().as_ref());
    digest
}

/// A usable grant to an organization with its opened key.
pub struct OpenGrant {
    pub account_id: AccountId,
    pub grant: ConsentGrant,
    key: Arc<GrantKey>,
    /// SHA-256 over the stored grant row (JSON, wrapped key, view key id).
    stored_digest: [u8; 32],
}

impl OpenGrant {
    /// The grant id as stored (hyphenated lowercase UUID).
    pub fn grant_id(&self) -> String {
        self.grant.id.0.to_string()
    }

    /// A digest of the grant row as stored (its JSON with scope and period, its wrapped key and
    /// view key id): any change to the grant changes it.
    pub fn stored_digest(&self) -> &[u8] {
        &self.stored_digest
    }

    /// Whether this grant lets its grantee read a record of `kind` about `subject`
    /// dated `date` at `at`: the consent decision ([`super::decide`]) for this grant alone.
    pub fn permits_read(&self, kind: RecordKind, subject: Subject, date: Option<NaiveDate>, at: DateTime<Utc>) -> bool {
        super::decide(
            std::slice::from_ref(&self.grant),
            &self.grant.grantee,
            &[self.grant.purpose],
            ConsentAction::Read,
            (kind, subject, date),
            at,
        )
        .is_allowed()
    }

    /// Wraps a new record's data key under this grant's key (for data the server writes through the grant).
    pub fn wrap_data_key(&self, dek: &phr_core::crypto::DataKey, record_id: Uuid) -> Vec<u8> {
        let ctx = GrantWrapContext { account_id: &self.account_id, grant_id: self.grant.id.0, record_id };
        phr_core::crypto::wrap_data_key(&*self.key, dek, &ctx)
    }
}

impl fmt::Debug for OpenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenGrant").field("account_id", &self.account_id).field("grant", &self.grant.id).finish()
    }
}

/// The grants of `organization_id` usable at `now` for one of `purposes`,
/// optionally only those of one account, with their keys opened. Ordered by
/// account, then grant id. Grants whose key does not open (no longer held,
/// or a retired view key) are skipped.
pub fn open_grants(
    conn: &mut DbConnection,
    keys: &KeyStore,
    organization_id: &str,
    purposes: &[Purpose],
    account_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<OpenGrant>, AppError> {
    Ok(open_grants_until(conn, keys, organization_id, purposes, account_id, now)?.0)
}

/// [`open_grants`], and the first instant after `now` at which one of the active grants starts
/// or ends (`None`: none does): until then, and while no grant changes, the answer stands.
pub fn open_grants_until(
    conn: &mut DbConnection,
    keys: &KeyStore,
    organization_id: &str,
    purposes: &[Purpose],
    account_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<OpenGrant>, Option<DateTime<Utc>>), AppError> {
    let Ok(grantee) = OrganizationId::new(organization_id) else {
        return Ok((Vec::new(), None));
    };
    let rows = store::active_grants_to(conn, organization_id, account_id)?;
    let mut out = Vec::new();
    let mut until: Option<DateTime<Utc>> = None;
    for (account, json, wrapped, kid) in rows {
        let grant: ConsentGrant = serde_json::from_str(&json)
            .map_err(|e| AppError::Internal(format!("stored grant is not a valid ConsentGrant: {e}")))?;
        for edge in [grant.period.from, grant.period.to].into_iter().flatten().filter(|t| *t > now) {
            until = Some(until.map_or(edge, |u| u.min(edge)));
        }
        let usable =
            purposes.iter().any(|p| usable_grants(std::slice::from_ref(&grant), &grantee, *p, now).next().is_some());
        if !usable {
            continue;
        }
        match open_grant_key_cached(keys, &kid, &wrapped, &account, grant.id.0)? {
            Some(key) => {
                let stored_digest = grant_row_digest(&json, &wrapped, &kid);
                out.push(OpenGrant { account_id: AccountId::new(account), grant, key, stored_digest })
            }
            None => tracing::warn!(grant_id = %grant.id.0, "a usable grant key does not open; skipped"),
        }
    }
    Ok((out, until))
}

/// Which records to read (all of them by default). Every filter narrows the grants' scope, never widens it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only these kinds (`None` = every kind in scope).
    pub kinds: Option<Vec<RecordKind>>,
    /// Only records about this subject.
    pub subject: Option<Subject>,
    /// Only records with an effective date on or after this day (excludes undated records).
    pub date_from: Option<NaiveDate>,
    /// Only records with an effective date on or before this day (excludes undated records).
    pub date_to: Option<NaiveDate>,
    /// Only these records.
    pub record_ids: Option<Vec<Uuid>>,
    /// Only records whose id sorts after this one (the paging cursor).
    pub after: Option<Uuid>,
}

/// One record a grant lets the server read, decrypted (winning version).
#[derive(Clone, PartialEq)]
pub struct ReadableRecord {
    pub account_id: AccountId,
    pub record_id: Uuid,
    pub kind: RecordKind,
    pub subject: Subject,
    pub effective_date: Option<NaiveDate>,
    pub version: u64,
    pub updated_at: i64,
    /// The grant through which the record was read.
    pub grant_id: Uuid,
    pub body: RecordBody,
}

impl fmt::Debug for ReadableRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is health data: never printed.
        f.debug_struct("ReadableRecord")
            .field("account_id", &self.account_id)
            .field("record_id", &self.record_id)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Up to `limit` readable records of `grants` (all of one account; grants
/// of other accounts are ignored), in `record_id` order after
/// `filter.after`. A record covered by several grants appears once (read
/// through the first grant, in slice order). To page, pass the last
/// record's id as the next `filter.after`; fewer than `limit` records means
/// the end.
pub fn readable_records(
    conn: &mut DbConnection,
    grants: &[OpenGrant],
    account_id: &str,
    filter: &RecordFilter,
    limit: i64,
) -> Result<Vec<ReadableRecord>, AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut found: BTreeMap<Uuid, ReadableRecord> = BTreeMap::new();
    let at = Utc::now();
    for open in grants.iter().filter(|g| g.account_id == account_id) {
        let Some(rows) = keyed_rows(conn, open, filter, limit)? else { continue };
        let opened: Vec<Option<ReadableRecord>> = if rows.len() >= PARALLEL_DECRYPT_FROM {
            use rayon::prelude::*;
            rows.into_par_iter().with_min_len(PARALLEL_DECRYPT_FROM / 2).map(|row| decrypt(open, row, at)).collect()
        } else {
            rows.into_iter().map(|row| decrypt(open, row, at)).collect()
        };
        for record in opened.into_iter().flatten() {
            found.entry(record.record_id).or_insert(record);
        }
    }
    Ok(found.into_values().take(limit as usize).collect())
}

/// Where a grant's scope and a filter overlap, as stored in the metadata
/// columns: the record kinds and subjects both allow, and the tighter date bounds.
struct ScopeWindow {
    kinds: Vec<&'static str>,
    subjects: Vec<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl ScopeWindow {
    /// `None` when no kind or no subject is in both (nothing can match).
    ///
    /// The kinds are the grant's modules, plus the subjects' identifiers when
    /// the consent decision lets the grant read them ([`ConsentGrant::covers_record`]).
    /// Identifiers are undated, so a window of identifiers alone ignores the
    /// grant's data range (a date-restricted grant still reads them); mixed
    /// with dated kinds under a data range they would be cut by the dates, so
    /// they are left out there (readers ask for them on their own).
    fn of(grant: &ConsentGrant, filter: &RecordFilter) -> Option<Self> {
        let scope = &grant.scope;
        let wanted = |k: &RecordKind| filter.kinds.as_ref().is_none_or(|ks| ks.contains(k));
        let identifiers = RecordKind::ALL
            .into_iter()
            .filter(|k| k.follows_subjects() && wanted(k))
            .filter(|k| scope.subjects.iter().any(|s| grant.covers_record(*k, s, None)));
        let modules: Vec<&'static str> = scope.modules.iter().filter(|k| wanted(k)).map(|k| k.as_str()).collect();
        let identifiers_alone = modules.is_empty();
        let kinds: Vec<&'static str> = if identifiers_alone || !scope.is_date_restricted() {
            modules.into_iter().chain(identifiers.map(RecordKind::as_str)).collect()
        } else {
            modules
        };
        let subjects: Vec<String> = scope
            .subjects
            .iter()
            .filter(|s| filter.subject.as_ref().is_none_or(|f| f == *s))
            .map(Subject::to_string)
            .collect();
        if kinds.is_empty() || subjects.is_empty() {
            return None;
        }
        let scope_from = if identifiers_alone { None } else { scope.data_from };
        let scope_to = if identifiers_alone { None } else { scope.data_to };
        let from = [scope_from, filter.date_from].into_iter().flatten().max();
        let to = [scope_to, filter.date_to].into_iter().flatten().min();
        Some(Self { kinds, subjects, from, to })
    }

    /// This window and the filter's cursor and ids, in the stored form of the metadata columns.
    fn stored(self, filter: &RecordFilter) -> store::GrantedWindow {
        store::GrantedWindow {
            kinds: self.kinds,
            subjects: self.subjects,
            from: self.from.map(|d| d.to_string()),
            to: self.to.map(|d| d.to_string()),
            after: filter.after.map(|id| id.to_string()),
            record_ids: filter.record_ids.as_ref().map(|ids| ids.iter().map(Uuid::to_string).collect()),
        }
    }
}

/// A record's stored metadata columns, parsed; `None` if any is malformed.
fn parse_meta(
    record_id: &str,
    kind: &str,
    subject: &str,
    effective_date: Option<&str>,
) -> Option<(Uuid, RecordKind, Subject, Option<NaiveDate>)> {
    let date = match effective_date {
        None => None,
        Some(d) => Some(d.parse::<NaiveDate>().ok()?),
    };
    Some((Uuid::parse_str(record_id).ok()?, kind.parse().ok()?, subject.parse().ok()?, date))
}

/// The rows (with this grant's wrapped data key) in the grant's scope and the filter; `None` if they cannot overlap.
fn keyed_rows(
    conn: &mut DbConnection,
    open: &OpenGrant,
    filter: &RecordFilter,
    limit: i64,
) -> Result<Option<Vec<store::GrantedRead>>, AppError> {
    let Some(window) = ScopeWindow::of(&open.grant, filter).map(|w| w.stored(filter)) else {
        return Ok(None);
    };
    if window.record_ids.as_ref().is_some_and(Vec::is_empty) {
        return Ok(None);
    }
    Ok(Some(store::granted_records(conn, &open.account_id, &open.grant_id(), &window, limit)?))
}

/// The ids and effective dates of the records `grants` (of one account) hold
/// keys for, in scope and matching `filter`, read from the metadata columns
/// only: nothing is decrypted. Each record appears once, and only if some
/// grant's scope covers its metadata. Unordered. This is what a caller pages
/// over before it decrypts just one page with [`readable_records`] and
/// `filter.record_ids`.
pub fn readable_record_dates(
    conn: &mut DbConnection,
    grants: &[&OpenGrant],
    account_id: &str,
    filter: &RecordFilter,
) -> Result<Vec<(Uuid, Option<NaiveDate>)>, AppError> {
    let mut found: BTreeMap<Uuid, Option<NaiveDate>> = BTreeMap::new();
    let at = Utc::now();
    for open in grants.iter().filter(|g| g.account_id == account_id) {
        if filter.record_ids.is_some() || filter.after.is_some() {
            continue;
        }
        let Some(window) = ScopeWindow::of(&open.grant, filter).map(|w| w.stored(filter)) else { continue };
        let rows = store::granted_record_meta(conn, &open.account_id, &open.grant_id(), &window)?;
        for (record_id, kind, subject, date) in rows {
            let Some((record_id, kind, subject, date)) = parse_meta(&record_id, &kind, &subject, date.as_deref())
            else {
                continue;
            };
            if open.permits_read(kind, subject, date, at) {
                found.entry(record_id).or_insert(date);
            }
        }
    }
    Ok(found.into_iter().collect())
}

/// Unwraps the data key, opens the envelope and keeps the winning edit; `None`
/// (logged without content) when something does not open or is out of scope.
fn decrypt(open: &OpenGrant, record: store::GrantedRead, at: DateTime<Utc>) -> Option<ReadableRecord> {
    let store::GrantedRead {
        record_id,
        kind,
        subject,
        effective_date,
        version,
        envelope,
        updated_at,
        grant_wrapped_key: wrapped,
    } = record;
    let parsed = parse_meta(&record_id, &kind, &subject, effective_date.as_deref())
        .zip(u64::try_from(version).ok())
        .map(|((record_id, kind, subject, date), version)| (record_id, kind, subject, date, version));
    let Some((record_id, kind, subject, effective_date, version)) = parsed else {
        tracing::warn!("a stored record has malformed metadata; skipped");
        return None;
    };
    // The decision: the SQL filter only narrowed the rows to the scope.
    if !open.permits_read(kind, subject, effective_date, at) {
        return None;
    }
    let ctx = GrantWrapContext { account_id: &open.account_id, grant_id: open.grant.id.0, record_id };
    let Ok(dek) = unwrap_data_key(&*open.key, &wrapped, &ctx) else {
        tracing::warn!(%record_id, "a grant's data key does not unwrap; skipped");
        return None;
    };
    let aad = RecordAad { account_id: &open.account_id, record_id, version };
    let history = match open_history(&dek, &aad, &envelope) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(%record_id, error = %kind_of(&e), "a consented record does not open; skipped");
            return None;
        }
    };
    let body = match history.into_winner().map(|v| v.change) {
        Some(Change::Edit(body)) if body.kind() == kind => body,
        _ => return None,
    };
    Some(ReadableRecord {
        account_id: open.account_id.clone(),
        record_id,
        kind,
        subject,
        effective_date,
        version,
        updated_at,
        grant_id: open.grant.id.0,
        body,
    })
}

/// A content-free name of an envelope error (serde messages may quote plaintext).
fn kind_of(e: &phr_core::sync::record_envelope::EnvelopeError) -> &'static str {
    match e {
        phr_core::sync::record_envelope::EnvelopeError::Crypto(_) => "crypto",
        phr_core::sync::record_envelope::EnvelopeError::Malformed(_) => "malformed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::TestDatabase;
    use phr_core::consent::{Access, GrantId, GrantPeriod, GrantScope, GrantState};
    use phr_core::crypto::{wrap_data_key, wrap_grant_key_to, DataKey};
    use phr_core::dataset::examples;
    use phr_core::sync::record_envelope::seal_history;
    use phr_core::sync::{DeviceId, Hlc, RecordHistory, RecordVersion, VersionStamp};

    const ACCOUNT: &str = "acc-1";
    const ORG: &str = "tanaka-clinic";

    struct Fixture {
        _db: TestDatabase,
        _dir: tempfile::TempDir,
        keys: KeyStore,
        pool: crate::store::DbPool,
        child: Uuid,
    }

    fn fixture(db: TestDatabase) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyStore::open_or_create(&dir.path().join("keys")).unwrap();
        let (pool, _) = crate::store::open(&db.target, 2).unwrap();
        let mut conn = pool.get().unwrap();
        crate::store::accounts::insert_account(&mut conn, ACCOUNT, &[7; 32], 1).unwrap();
        crate::store::accounts::insert_account(&mut conn, "acc-2", &[8; 32], 1).unwrap();
        let org = crate::app::organizations::check_new_organization(
            ORG,
            "Tanaka Clinic",
            "clinic",
            &["treatment".to_owned(), "research".to_owned()],
            None,
        )
        .unwrap();
        crate::store::organizations::insert(&mut conn, &org, 1).unwrap();
        Fixture { _db: db, _dir: dir, keys, pool, child: Uuid::from_u128(99) }
    }

    fn history(body: RecordBody, deleted: bool) -> RecordHistory<RecordBody> {
        let stamp = |ms| VersionStamp::new(Hlc::new(ms, 0), DeviceId::new("phone-a").unwrap());
        let mut h: RecordHistory<RecordBody> =
            [RecordVersion { stamp: stamp(10), base_version: 0, change: phr_core::sync::Change::Edit(body) }]
                .into_iter()
                .collect();
        if deleted {
            h.merge(RecordVersion { stamp: stamp(20), base_version: 1, change: phr_core::sync::Change::Delete });
        }
        h
    }

    /// Stores a sealed record (version 1, or 2 when deleted) and returns its id and data key.
    fn put_record(
        conn: &mut DbConnection,
        account: &str,
        n: u128,
        body: RecordBody,
        subject: Subject,
        deleted: bool,
    ) -> (Uuid, DataKey) {
        let record_id = Uuid::from_u128(n);
        let dek = DataKey::generate();
        let version = if deleted { 2 } else { 1 };
        let aad = RecordAad { account_id: account, record_id, version };
        let envelope = seal_history(&dek, &aad, &history(body.clone(), deleted));
        let row = crate::store::records::RecordWrite {
            account_id: account,
            record_id: record_id.to_string(),
            kind: body.kind().as_str(),
            subject: subject.to_string(),
            effective_date: body.effective_date().map(|d| d.to_string()),
            version: version as i64,
            seq: n as i64,
            deleted,
            envelope: &envelope,
            wrapped_key: &[1; 61],
            device_id: "phone-a",
            updated_at: 5,
        };
        crate::store::records::insert_records(conn, &[row]).unwrap();
        (record_id, dek)
    }

    fn grant(n: u128, modules: &[RecordKind], subjects: &[Subject], purpose: Purpose) -> ConsentGrant {
        ConsentGrant {
            id: GrantId(Uuid::from_u128(n)),
            grantee: OrganizationId::new(ORG).unwrap(),
            purpose,
            scope: GrantScope {
                modules: modules.iter().copied().collect(),
                subjects: subjects.iter().copied().collect(),
                data_from: None,
                data_to: None,
            },
            period: GrantPeriod::OPEN,
            access: Access::Read,
            state: GrantState::Active,
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// Stores a grant with its HPKE-wrapped key and the data keys of `records` wrapped under it.
    fn put_grant(f: &Fixture, account: &str, g: &ConsentGrant, records: &[(Uuid, &DataKey)]) {
        let mut conn = f.pool.get().unwrap();
        let view = f.keys.current(KeyPurpose::View).unwrap();
        let public = HpkePrivateKey::from_bytes(view.secret()).unwrap().public_key();
        let grant_key = GrantKey::generate();
        let wrapped = wrap_grant_key_to(&public, &grant_key, account, g.id.0).unwrap();
        let grant_id = g.id.0.to_string();
        let json = serde_json::to_string(g).unwrap();
        crate::store::grants::insert_grant(
            &mut conn,
            &crate::store::grants::NewGrantRow {
                account_id: account,
                grant_id: &grant_id,
                organization_id: g.grantee.as_str(),
                grant_json: &json,
                state: "active",
                wrapped_grant_key: Some(&wrapped),
                view_kid: &view.kid,
                created_at: 1,
                created_by: "phone-a",
                revoked_at: None,
            },
        )
        .unwrap();
        let keys: Vec<(String, Vec<u8>)> = records
            .iter()
            .map(|(id, dek)| {
                let ctx = GrantWrapContext { account_id: account, grant_id: g.id.0, record_id: *id };
                (id.to_string(), wrap_data_key(&grant_key, dek, &ctx))
            })
            .collect();
        let rows: Vec<crate::store::grants::RecordKeyRow<'_>> = keys
            .iter()
            .map(|(id, k)| crate::store::grants::RecordKeyRow {
                account_id: account,
                grant_id: &grant_id,
                record_id: id.clone(),
                wrapped_key: k,
            })
            .collect();
        crate::store::grants::put_record_keys(&mut conn, &rows).unwrap();
    }

    fn now() -> DateTime<Utc> {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    const CARE: &[Purpose] = &[Purpose::Treatment, Purpose::Emergency];

    fn ids(records: &[ReadableRecord]) -> Vec<u128> {
        records.iter().map(|r| r.record_id.as_u128()).collect()
    }

    crate::store_test! {
        fn a_grant_reads_exactly_its_live_in_scope_records_decrypted_on_every_backend(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let visit = RecordBody::PrenatalVisit(examples::prenatal_visit_full());
            let (r1, k1) = put_record(&mut conn, ACCOUNT, 1, visit.clone(), Subject::Mother, false);
            let (r2, k2) = put_record(&mut conn, ACCOUNT, 2, visit.clone(), Subject::Mother, true);
            let vitals = RecordBody::SelfVitals(examples::self_vitals_full());
            let (r3, k3) = put_record(&mut conn, ACCOUNT, 3, vitals.clone(), Subject::Mother, false);
            // Record 4 is in scope but the grant holds no key for it.
            put_record(&mut conn, ACCOUNT, 4, visit.clone(), Subject::Mother, false);
            // A grant over prenatal visits holding keys for 1, 2 (deleted) and 3 (vitals: out of scope).
            let g = grant(7, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            put_grant(&f, ACCOUNT, &g, &[(r1, &k1), (r2, &k2), (r3, &k3)]);
            let grants = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert_eq!(grants.len(), 1);
            let got = readable_records(&mut conn, &grants, ACCOUNT, &RecordFilter::default(), 100).unwrap();
            assert_eq!(ids(&got), vec![1], "deleted, out-of-scope and keyless records are not readable");
            assert_eq!(got[0].body, visit);
            assert_eq!(got[0].kind, RecordKind::PrenatalVisit);
            assert_eq!(got[0].version, 1);
            assert_eq!(got[0].grant_id, g.id.0);
            assert!(!format!("{got:?}").contains("さくら"), "Debug prints no body");
            // Another organization, another purpose, or another account sees nothing.
            assert!(open_grants(&mut conn, &f.keys, "other-clinic", CARE, None, now()).unwrap().is_empty());
            assert!(open_grants(&mut conn, &f.keys, ORG, &[Purpose::Research], None, now()).unwrap().is_empty());
            assert!(open_grants(&mut conn, &f.keys, ORG, CARE, Some("acc-2"), now()).unwrap().is_empty());
            assert!(readable_records(&mut conn, &grants, "acc-2", &RecordFilter::default(), 100).unwrap().is_empty());
        }
    }

    crate::store_test! {
        fn filters_narrow_by_kind_subject_date_and_ids_and_pages_follow_the_record_id_cursor(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let child = Subject::Child(f.child);
            let mut keys = Vec::new();
            for n in 1..=5u128 {
                let mut dose = examples::immunization_full();
                dose.date_given = NaiveDate::from_ymd_opt(2026, 1, n as u32).unwrap();
                keys.push(put_record(&mut conn, ACCOUNT, n, RecordBody::Immunization(dose), child, false));
            }
            keys.push(put_record(
                &mut conn,
                ACCOUNT,
                6,
                RecordBody::Immunization(examples::immunization_full()),
                Subject::Mother,
                false,
            ));
            keys.push(put_record(
                &mut conn,
                ACCOUNT,
                7,
                RecordBody::SelfVitals(examples::self_vitals_full()),
                child,
                false,
            ));
            let g = grant(
                7,
                &[RecordKind::Immunization, RecordKind::SelfVitals],
                &[child, Subject::Mother],
                Purpose::Treatment,
            );
            let refs: Vec<(Uuid, &DataKey)> = keys.iter().map(|(id, k)| (*id, k)).collect();
            put_grant(&f, ACCOUNT, &g, &refs);
            let grants = open_grants(&mut conn, &f.keys, ORG, CARE, Some(ACCOUNT), now()).unwrap();
            let read = |conn: &mut DbConnection, filter: RecordFilter, limit| {
                ids(&readable_records(conn, &grants, ACCOUNT, &filter, limit).unwrap())
            };
            assert_eq!(read(&mut conn, RecordFilter::default(), 100), vec![1, 2, 3, 4, 5, 6, 7]);
            let imm = Some(vec![RecordKind::Immunization]);
            assert_eq!(
                read(&mut conn, RecordFilter { kinds: imm.clone(), subject: Some(child), ..Default::default() }, 100),
                vec![1, 2, 3, 4, 5]
            );
            let d = |day| NaiveDate::from_ymd_opt(2026, 1, day);
            assert_eq!(
                read(
                    &mut conn,
                    RecordFilter {
                        kinds: imm.clone(),
                        subject: Some(child),
                        date_from: d(2),
                        date_to: d(4),
                        ..Default::default()
                    },
                    100
                ),
                vec![2, 3, 4]
            );
            assert_eq!(
                read(
                    &mut conn,
                    RecordFilter {
                        record_ids: Some(vec![Uuid::from_u128(3), Uuid::from_u128(7)]),
                        ..Default::default()
                    },
                    100
                ),
                vec![3, 7]
            );
            // Paging: 3 at a time, by cursor.
            let mut pages = Vec::new();
            let mut after = None;
            loop {
                let page = read(&mut conn, RecordFilter { after, ..Default::default() }, 3);
                let Some(last) = page.last() else { break };
                after = Some(Uuid::from_u128(*last));
                pages.push(page);
            }
            assert_eq!(pages, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
        }
    }

    crate::store_test! {
        fn a_date_restricted_grant_reads_only_inside_its_dates_and_two_grants_yield_each_record_once(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let mut keys = Vec::new();
            for (n, day) in [(1u128, 1u32), (2, 15), (3, 28)] {
                let mut v = examples::prenatal_visit_full();
                v.visit_date = NaiveDate::from_ymd_opt(2026, 2, day).unwrap();
                keys.push(put_record(&mut conn, ACCOUNT, n, RecordBody::PrenatalVisit(v), Subject::Mother, false));
            }
            let refs: Vec<(Uuid, &DataKey)> = keys.iter().map(|(id, k)| (*id, k)).collect();
            let mut narrow = grant(7, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            narrow.scope.data_from = NaiveDate::from_ymd_opt(2026, 2, 10);
            narrow.scope.data_to = NaiveDate::from_ymd_opt(2026, 2, 20);
            put_grant(&f, ACCOUNT, &narrow, &refs);
            let grants = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert_eq!(ids(&readable_records(&mut conn, &grants, ACCOUNT, &RecordFilter::default(), 10).unwrap()), [2]);
            let wide = grant(8, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Emergency);
            put_grant(&f, ACCOUNT, &wide, &refs);
            let grants = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert_eq!(grants.len(), 2);
            let got = readable_records(&mut conn, &grants, ACCOUNT, &RecordFilter::default(), 10).unwrap();
            assert_eq!(ids(&got), [1, 2, 3]);
            assert_eq!(got[1].grant_id, narrow.id.0, "read through the first grant that holds it");
        }
    }

    fn cached(f: &Fixture, account: &str, g: &ConsentGrant) -> bool {
        let mut conn = f.pool.get().unwrap();
        let wrapped = crate::store::grants::grant(&mut conn, account, &g.id.0.to_string())
            .unwrap()
            .and_then(|row| row.wrapped_grant_key);
        let view = f.keys.current(KeyPurpose::View).unwrap();
        wrapped.is_some_and(|w| {
            let key = grant_key_cache_key(view.secret(), &w, account, g.id.0);
            f.keys.opened_grant_key(&key).is_some()
        })
    }

    crate::store_test! {
        fn what_an_organization_may_see_is_kept_only_until_a_grant_changes_even_on_another_connection_on_every_backend(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let body = RecordBody::PrenatalVisit(examples::prenatal_visit_full());
            let (r1, k1) = put_record(&mut conn, ACCOUNT, 1, body, Subject::Mother, false);
            let g = grant(9, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            put_grant(&f, ACCOUNT, &g, &[(r1, &k1)]);
            let cache = crate::app::fhir::VisibleCache::default();
            let first = crate::app::fhir::Visible::load(&mut conn, &cache, &f.keys, ORG).unwrap();
            assert_eq!(first.grants.len(), 1);
            let again = crate::app::fhir::Visible::load(&mut conn, &cache, &f.keys, ORG).unwrap();
            assert!(Arc::ptr_eq(&first, &again), "nothing changed: kept");
            // Another grant, then a revocation, each on another connection (as another server
            // process sharing the database would): the next load sees each at once.
            let g2 = grant(10, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            put_grant(&f, ACCOUNT, &g2, &[(r1, &k1)]);
            assert_eq!(crate::app::fhir::Visible::load(&mut conn, &cache, &f.keys, ORG).unwrap().grants.len(), 2);
            let mut other = f.pool.get().unwrap();
            for g in [&g, &g2] {
                let mut revoked = g.clone();
                revoked.revoke(now());
                let json = serde_json::to_string(&revoked).unwrap();
                crate::store::grants::revoke(&mut other, ACCOUNT, &g.id.0.to_string(), &json, 2).unwrap();
            }
            let after = crate::app::fhir::Visible::load(&mut conn, &cache, &f.keys, ORG).unwrap();
            assert!(after.grants.is_empty() && after.patients.is_empty(), "revoked: gone at once");
        }
    }

    #[test]
    fn opened_grants_hold_until_the_first_start_or_end_of_an_active_grant_after_now() {
        let f = fixture(crate::store::testing::TestDatabase::sqlite());
        let mut conn = f.pool.get().unwrap();
        let (r1, k1) = put_record(
            &mut conn,
            ACCOUNT,
            1,
            RecordBody::PrenatalVisit(examples::prenatal_visit_full()),
            Subject::Mother,
            false,
        );
        let mut ends = grant(11, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
        ends.period.to = Some(now() + chrono::Duration::days(3));
        let mut starts = grant(12, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
        starts.period.from = Some(now() + chrono::Duration::days(2));
        put_grant(&f, ACCOUNT, &ends, &[(r1, &k1)]);
        assert_eq!(open_grants_until(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap().1, ends.period.to);
        put_grant(&f, ACCOUNT, &starts, &[(r1, &k1)]);
        let (open, until) = open_grants_until(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
        assert_eq!(open.len(), 1, "the grant not started yet is not usable");
        assert_eq!(until, starts.period.from, "but its start ends the answer");
        let later = now() + chrono::Duration::days(4);
        let (open, until) = open_grants_until(&mut conn, &f.keys, ORG, CARE, None, later).unwrap();
        assert_eq!((open.len(), open[0].grant.id, until), (1, starts.id, None), "one ended, one started: no edge left");
    }

    crate::store_test! {
        fn a_cached_grant_key_still_reads_and_a_revoked_grant_is_not_served_from_the_cache(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let body = RecordBody::PrenatalVisit(examples::prenatal_visit_full());
            let (r1, k1) = put_record(&mut conn, ACCOUNT, 1, body, Subject::Mother, false);
            let g = grant(9, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            put_grant(&f, ACCOUNT, &g, &[(r1, &k1)]);
            let first = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert!(cached(&f, ACCOUNT, &g), "the opened key is cached");
            // A second request takes the key from the cache and reads the same records.
            let second = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert_eq!(second.len(), 1);
            assert!(Arc::ptr_eq(&first[0].key, &second[0].key), "served from the cache");
            assert_eq!(ids(&readable_records(&mut conn, &second, ACCOUNT, &RecordFilter::default(), 10).unwrap()), [1]);
            // Revocation deletes the wrapped key: the cached key is never served again.
            let mut revoked = g.clone();
            revoked.revoke(now());
            let json = serde_json::to_string(&revoked).unwrap();
            crate::store::grants::revoke(&mut conn, ACCOUNT, &g.id.0.to_string(), &json, 2).unwrap();
            assert!(open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap().is_empty());
            assert!(open_grants(&mut conn, &f.keys, ORG, CARE, Some(ACCOUNT), now()).unwrap().is_empty());
            // Another key store (another view key) misses the cache even for the same wrapped bytes.
            let other_dir = tempfile::tempdir().unwrap();
            let (other_keys, _) = KeyStore::open_or_create(&other_dir.path().join("keys")).unwrap();
            let view = f.keys.current(KeyPurpose::View).unwrap();
            let other_view = other_keys.current(KeyPurpose::View).unwrap();
            let w = [5u8; 80];
            assert_ne!(
                grant_key_cache_key(view.secret(), &w, ACCOUNT, g.id.0),
                grant_key_cache_key(other_view.secret(), &w, ACCOUNT, g.id.0)
            );
        }
    }

    crate::store_test! {
        fn revoked_expired_and_not_yet_valid_grants_open_nothing(db) {
            let f = fixture(db);
            let mut conn = f.pool.get().unwrap();
            let (r1, k1) = put_record(
                &mut conn,
                ACCOUNT,
                1,
                RecordBody::PrenatalVisit(examples::prenatal_visit_full()),
                Subject::Mother,
                false,
            );
            let mut expired = grant(7, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            expired.period.to = Some("2026-05-01T00:00:00Z".parse().unwrap());
            put_grant(&f, ACCOUNT, &expired, &[(r1, &k1)]);
            let mut future = grant(8, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            future.period.from = Some("2026-07-01T00:00:00Z".parse().unwrap());
            put_grant(&f, ACCOUNT, &future, &[(r1, &k1)]);
            assert!(open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap().is_empty());

            let live = grant(9, &[RecordKind::PrenatalVisit], &[Subject::Mother], Purpose::Treatment);
            put_grant(&f, ACCOUNT, &live, &[(r1, &k1)]);
            let grants = open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap();
            assert_eq!(grants.len(), 1);
            let mut revoked = live.clone();
            revoked.revoke(now());
            let json = serde_json::to_string(&revoked).unwrap();
            crate::store::grants::revoke(&mut conn, ACCOUNT, &live.id.0.to_string(), &json, 2).unwrap();
            assert!(open_grants(&mut conn, &f.keys, ORG, CARE, None, now()).unwrap().is_empty());
            // Even a key opened before the revocation finds no data keys any more.
            assert!(readable_records(&mut conn, &grants, ACCOUNT, &RecordFilter::default(), 10).unwrap().is_empty());
        }
    }
}
