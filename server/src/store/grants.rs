//! Consent grant rows and the record keys wrapped under each grant's key.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::store::schema::{accounts, consent_grants, grant_generation, grant_record_keys, records};
use crate::store::DbConnection;

/// A stored grant. `grant_json` is the `phr_core` [`ConsentGrant`](phr_core::consent::ConsentGrant).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consent_grants)]
pub struct GrantRow {
    pub account_id: String,
    pub grant_id: String,
    pub organization_id: String,
    pub grant_json: String,
    pub state: String,
    pub wrapped_grant_key: Option<Vec<u8>>,
    pub view_kid: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

/// A grant to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = consent_grants)]
pub struct NewGrantRow<'a> {
    pub account_id: &'a str,
    pub grant_id: &'a str,
    pub organization_id: &'a str,
    pub grant_json: &'a str,
    pub state: &'a str,
    pub wrapped_grant_key: Option<&'a [u8]>,
    pub view_kid: &'a str,
    pub created_at: i64,
    pub created_by: &'a str,
    pub revoked_at: Option<i64>,
}

/// One record key wrapped under a grant key.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = grant_record_keys)]
pub struct RecordKeyRow<'a> {
    pub account_id: &'a str,
    pub grant_id: &'a str,
    pub record_id: String,
    pub wrapped_key: &'a [u8],
}

/// The plain metadata of a record that scope checks need.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = records)]
pub struct RecordMeta {
    pub record_id: String,
    pub kind: String,
    pub subject: String,
    pub effective_date: Option<String>,
    pub deleted: bool,
}

pub fn insert_grant(conn: &mut DbConnection, row: &NewGrantRow<'_>) -> QueryResult<()> {
    diesel::insert_into(consent_grants::table).values(row).execute(conn)?;
    bump_grant_generation(conn)
}

pub fn grant(conn: &mut DbConnection, account_id: &str, grant_id: &str) -> QueryResult<Option<GrantRow>> {
    consent_grants::table.find((account_id, grant_id)).select(GrantRow::as_select()).first(conn).optional()
}

/// The accounts other than `except_account` that hold a grant with this id (for auditing refusals).
pub fn other_accounts_with_grant(
    conn: &mut DbConnection,
    grant_id: &str,
    except_account: &str,
) -> QueryResult<Vec<String>> {
    consent_grants::table
        .filter(consent_grants::grant_id.eq(grant_id))
        .filter(consent_grants::account_id.ne(except_account))
        .select(consent_grants::account_id)
        .load(conn)
}

/// The account's grants, newest first.
pub fn grants_of(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<GrantRow>> {
    consent_grants::table
        .filter(consent_grants::account_id.eq(account_id))
        .order((consent_grants::created_at.desc(), consent_grants::grant_id.desc()))
        .select(GrantRow::as_select())
        .load(conn)
}

/// How many record keys each grant of the account holds (grants without keys are absent).
pub fn record_key_counts(conn: &mut DbConnection, account_id: &str) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = grant_record_keys::table
        .filter(grant_record_keys::account_id.eq(account_id))
        .group_by(grant_record_keys::grant_id)
        .select((grant_record_keys::grant_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn record_key_count(conn: &mut DbConnection, account_id: &str, grant_id: &str) -> QueryResult<i64> {
    grant_record_keys::table
        .filter(grant_record_keys::account_id.eq(account_id))
        .filter(grant_record_keys::grant_id.eq(grant_id))
        .count()
        .get_result(conn)
}

/// The ids of the records a grant holds keys for.
pub fn record_key_ids(conn: &mut DbConnection, account_id: &str, grant_id: &str) -> QueryResult<Vec<String>> {
    grant_record_keys::table
        .filter(grant_record_keys::account_id.eq(account_id))
        .filter(grant_record_keys::grant_id.eq(grant_id))
        .order(grant_record_keys::record_id.asc())
        .select(grant_record_keys::record_id)
        .load(conn)
}

/// Metadata of the given records of the account (absent ones are missing from the map).
pub fn record_meta(
    conn: &mut DbConnection,
    account_id: &str,
    record_ids: &[String],
) -> QueryResult<HashMap<String, RecordMeta>> {
    let mut out = HashMap::with_capacity(record_ids.len());
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in record_ids.chunks(500) {
        let rows: Vec<RecordMeta> = records::table
            .filter(records::account_id.eq(account_id))
            .filter(records::record_id.eq_any(chunk))
            .select(RecordMeta::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(|r| (r.record_id.clone(), r)));
    }
    Ok(out)
}

/// Stores record keys of a grant, replacing any key already stored for the same record.
pub fn put_record_keys(conn: &mut DbConnection, rows: &[RecordKeyRow<'_>]) -> QueryResult<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let ids: Vec<&str> = rows.iter().map(|r| r.record_id.as_str()).collect();
    for chunk in ids.chunks(500) {
        diesel::delete(
            grant_record_keys::table
                .filter(grant_record_keys::account_id.eq(first.account_id))
                .filter(grant_record_keys::grant_id.eq(first.grant_id))
                .filter(grant_record_keys::record_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    for chunk in rows.chunks(100) {
        crate::on_backend!(conn, c => diesel::insert_into(grant_record_keys::table).values(chunk).execute(c))?;
    }
    bump_consent_seq(conn, first.account_id)
}

/// Marks a change of the record keys the account's grants hold (see the `consent_seq` migration):
/// consented reads cached before it no longer match.
fn bump_consent_seq(conn: &mut DbConnection, account_id: &str) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set(accounts::consent_seq.eq(accounts::consent_seq + 1))
        .execute(conn)
        .map(|_| ())
}

/// Revokes a grant: state, time and updated grant JSON; its grant key and
/// every record key wrapped under it are deleted. Returns the record keys deleted.
pub fn revoke(
    conn: &mut DbConnection,
    account_id: &str,
    grant_id: &str,
    grant_json: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(consent_grants::table.find((account_id, grant_id)))
        .set((
            consent_grants::state.eq("revoked"),
            consent_grants::revoked_at.eq(Some(now)),
            consent_grants::wrapped_grant_key.eq(None::<Vec<u8>>),
            consent_grants::grant_json.eq(grant_json),
        ))
        .execute(conn)?;
    let deleted = diesel::delete(
        grant_record_keys::table
            .filter(grant_record_keys::account_id.eq(account_id))
            .filter(grant_record_keys::grant_id.eq(grant_id)),
    )
    .execute(conn)?;
    bump_consent_seq(conn, account_id)?;
    bump_grant_generation(conn)?;
    Ok(deleted)
}

/// Marks a change of some grant (created, revoked, deleted): what a server process remembers of
/// an organization's usable grants ([`crate::app::fhir::VisibleCache`]) is stale from this
/// transaction's commit on. Every statement that changes `consent_grants` calls this in its transaction.
pub fn bump_grant_generation(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::update(grant_generation::table.find(1))
        .set(grant_generation::generation.eq(grant_generation::generation + 1))
        .execute(conn)
        .map(|_| ())
}

/// The current grant generation ([`bump_grant_generation`]).
pub fn grant_generation(conn: &mut DbConnection) -> QueryResult<i64> {
    grant_generation::table.find(1).select(grant_generation::generation).first(conn)
}

/// `(account_id, grant_json, wrapped_grant_key, view_kid)` of an active grant.
pub type ActiveGrantRow = (String, String, Vec<u8>, String);

/// `(record_id, kind, subject, effective_date)` of a record, as stored.
pub type RecordMetaRow = (String, String, String, Option<String>);

/// The active grants to `organization_id` that still hold a wrapped grant key
/// (optionally of one account), ordered by account then grant id:
/// `(account_id, grant_json, wrapped_grant_key, view_kid)`.
pub fn active_grants_to(
    conn: &mut DbConnection,
    organization_id: &str,
    account_id: Option<&str>,
) -> QueryResult<Vec<ActiveGrantRow>> {
    let mut query = consent_grants::table
        .filter(consent_grants::organization_id.eq(organization_id))
        .filter(consent_grants::state.eq("active"))
        .filter(consent_grants::wrapped_grant_key.is_not_null())
        .select((
            consent_grants::account_id,
            consent_grants::grant_json,
            consent_grants::wrapped_grant_key,
            consent_grants::view_kid,
        ))
        .order((consent_grants::account_id.asc(), consent_grants::grant_id.asc()))
        .into_boxed();
    if let Some(account) = account_id {
        query = query.filter(consent_grants::account_id.eq(account.to_owned()));
    }
    let rows: Vec<(String, String, Option<Vec<u8>>, String)> = query.load(conn)?;
    Ok(rows.into_iter().filter_map(|(a, j, w, k)| w.map(|w| (a, j, w, k))).collect())
}

/// Which of a grant's records to read, in the stored (text) form of the
/// metadata columns. Every field narrows; none widens.
#[derive(Debug, Clone, Default)]
pub struct GrantedWindow {
    /// Only these kinds (empty: none).
    pub kinds: Vec<&'static str>,
    /// Only these subjects (empty: none).
    pub subjects: Vec<String>,
    /// Effective date on or after (undated records excluded when set).
    pub from: Option<String>,
    /// Effective date on or before (undated records excluded when set).
    pub to: Option<String>,
    /// Record ids after this one (paging cursor).
    pub after: Option<String>,
    /// Only these record ids.
    pub record_ids: Option<Vec<String>>,
}

/// A live record a grant holds a data key for, with that wrapped key.
#[derive(Debug, Clone)]
pub struct GrantedRecord {
    pub row: crate::store::records::RecordRow,
    /// The data key wrapped under the grant key.
    pub grant_wrapped_key: Vec<u8>,
}

/// The columns a read through a grant needs: what it opens and what it reports.
/// (Not the account-wrapped key or the writing device: a page of `$everything`
/// or of a research export loads thousands of these.)
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = records)]
pub struct GrantedRead {
    pub record_id: String,
    pub kind: String,
    pub subject: String,
    pub effective_date: Option<String>,
    pub version: i64,
    pub envelope: Vec<u8>,
    pub updated_at: i64,
    /// The data key wrapped under the grant key.
    #[diesel(select_expression = grant_record_keys::wrapped_key)]
    pub grant_wrapped_key: Vec<u8>,
}

/// The live (not deleted) records of `account_id` that grant `grant_id` holds
/// a data key for, joined to that key: the one join of `grant_record_keys`
/// and `records`, boxed so each query below adds its own filters and select.
macro_rules! granted_join {
    ($account_id:expr, $grant_id:expr) => {
        grant_record_keys::table
            .inner_join(
                records::table.on(records::account_id
                    .eq(grant_record_keys::account_id)
                    .and(records::record_id.eq(grant_record_keys::record_id))),
            )
            .filter(grant_record_keys::account_id.eq($account_id.to_owned()))
            .filter(grant_record_keys::grant_id.eq($grant_id.to_owned()))
            .filter(records::deleted.eq(false))
    };
}

/// Narrows a [`granted_join!`] query by a [`GrantedWindow`] (kinds, subjects, dates, cursor, ids).
macro_rules! within_window {
    ($query:expr, $window:expr) => {{
        let w: &GrantedWindow = $window;
        let mut query =
            $query.filter(records::kind.eq_any(w.kinds.clone())).filter(records::subject.eq_any(w.subjects.clone()));
        if let Some(from) = &w.from {
            query = query.filter(records::effective_date.ge(from.clone()));
        }
        if let Some(to) = &w.to {
            query = query.filter(records::effective_date.le(to.clone()));
        }
        if let Some(after) = &w.after {
            query = query.filter(records::record_id.gt(after.clone()));
        }
        if let Some(ids) = &w.record_ids {
            query = query.filter(records::record_id.eq_any(ids.clone()));
        }
        query
    }};
}

/// One live record through a grant (for writing a new version of it).
pub fn granted_record(
    conn: &mut DbConnection,
    account_id: &str,
    grant_id: &str,
    record_id: &str,
) -> QueryResult<Option<GrantedRecord>> {
    let found: Option<(crate::store::records::RecordRow, Vec<u8>)> = granted_join!(account_id, grant_id)
        .filter(records::record_id.eq(record_id.to_owned()))
        .select((crate::store::records::RecordRow::as_select(), grant_record_keys::wrapped_key))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, grant_wrapped_key)| GrantedRecord { row, grant_wrapped_key }))
}

/// Up to `limit` records of the grant inside `window`, in record id order.
pub fn granted_records(
    conn: &mut DbConnection,
    account_id: &str,
    grant_id: &str,
    window: &GrantedWindow,
    limit: i64,
) -> QueryResult<Vec<GrantedRead>> {
    let query = granted_join!(account_id, grant_id)
        .select(GrantedRead::as_select())
        .order(records::record_id.asc())
        .limit(limit)
        .into_boxed();
    within_window!(query, window).load(conn)
}

/// The metadata `(record_id, kind, subject, effective_date)` of every record
/// of the grant inside `window`, unordered; nothing sealed is loaded.
pub fn granted_record_meta(
    conn: &mut DbConnection,
    account_id: &str,
    grant_id: &str,
    window: &GrantedWindow,
) -> QueryResult<Vec<RecordMetaRow>> {
    let query = granted_join!(account_id, grant_id)
        .select((records::record_id, records::kind, records::subject, records::effective_date))
        .into_boxed();
    within_window!(query, window).load(conn)
}
