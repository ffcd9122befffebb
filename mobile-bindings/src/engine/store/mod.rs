//! The local store: one SQLite file (bundled SQLite through diesel).
//!
//! # What is in the file
//!
//! - `meta(key, value)`: the account id, device id, server URL, the sync
//!   cursor, the hybrid logical clock, and `secrets`: the account key and the
//!   device's Ed25519 key, sealed under the **device storage key** (see
//!   [`secrets`]). The app passes that 32-byte key to `PhrClient::open`; on iOS
//!   it lives in the Keychain, on Android in the Keystore. Without it the file
//!   opens to nothing. After the server said the account was deleted, `meta`
//!   holds only `account_deleted` (when) and every other table is empty
//!   ([`wipe_deleted_account`]).
//! - `records`: one row per record. Plain columns are exactly the metadata the
//!   server also sees in clear (id, kind, subject, effective date, server
//!   version) plus local bookkeeping (`pending`, `local_rev`, `deleted`), so
//!   timelines can be queried without decrypting everything. The content is
//!   `sealed_local`: the record's full `RecordHistory<RecordBody>` sealed with
//!   `phr_core::sync::record_envelope::seal_history` under the record's own data
//!   key (the same DEK the record syncs with, so consent wraps stay valid),
//!   with associated data version [`LOCAL_VERSION`] (0, which no server version
//!   ever is). The DEK is stored wrapped under the account key
//!   (`wrapped_dek`). So no health data is in the file in plaintext.
//! - `outbox_batches` / `outbox`: a push batch persisted *before* it is sent
//!   (its exact request body and, per record, the local revision it carried).
//!   A retry after a crash resends the same `batch_id` and bytes, which the
//!   server answers idempotently.
//! - `grants` / `grant_keys_sent`: the consent grants made from this account
//!   (the grant JSON the server also holds, and the grant key sealed under the
//!   device storage key), and which records' data keys each grant has been
//!   given, so records that come into scope later get theirs at the next sync.

pub mod limits;
pub mod lock;
pub mod quarantine;
pub mod secrets;

pub use limits::{pending_sizes, set_sync_limits, sync_limits, DEFAULT_SYNC_LIMITS};
pub use lock::StoreLock;
pub use quarantine::{
    folded_add, folded_count, quarantine_list, quarantine_put, quarantine_release, QuarantinedRecord,
};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Bool, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use phr_core::dataset::{RecordKind, Subject};
use uuid::Uuid;

use crate::engine::error::{Error, Result};

/// The associated-data version of a locally sealed history: never a server version.
pub const LOCAL_VERSION: u64 = 0;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    effective_date TEXT,
    server_version BIGINT NOT NULL,
    pending BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL,
    local_rev BIGINT NOT NULL,
    wrapped_dek BLOB NOT NULL,
    sealed_local BLOB NOT NULL
);
DROP INDEX IF EXISTS records_timeline;
CREATE INDEX IF NOT EXISTS records_subject_live ON records (subject, deleted, effective_date, record_id);
CREATE INDEX IF NOT EXISTS records_subject_kind_live ON records (subject, kind, deleted, effective_date, record_id);
CREATE INDEX IF NOT EXISTS records_pending ON records (pending);
CREATE TABLE IF NOT EXISTS outbox_batches (
    batch_id TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL,
    request BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    batch_id TEXT NOT NULL REFERENCES outbox_batches (batch_id) ON DELETE CASCADE,
    record_id TEXT NOT NULL,
    local_rev BIGINT NOT NULL,
    PRIMARY KEY (batch_id, record_id)
);
CREATE TABLE IF NOT EXISTS grants (
    grant_id TEXT PRIMARY KEY NOT NULL,
    grant_json TEXT NOT NULL,
    sealed_grant_key BLOB NOT NULL,
    active BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS grant_keys_sent (
    grant_id TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
    record_id TEXT NOT NULL,
    PRIMARY KEY (grant_id, record_id)
);
";

/// Opens (creating if needed) the store at `path` and applies the schema.
pub fn open(path: &str) -> Result<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
         PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
    )?;
    conn.batch_execute(SCHEMA)?;
    conn.batch_execute(quarantine::SCHEMA)?;
    Ok(conn)
}

/// A second connection to the store at `path` for reads (the writer's
/// [`open`] has made the schema): in WAL mode it reads the last committed
/// state while the writer works.
pub fn open_reader(path: &str) -> Result<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA query_only = ON;")?;
    Ok(conn)
}

#[derive(QueryableByName)]
struct MetaValue {
    #[diesel(sql_type = Binary)]
    value: Vec<u8>,
}

/// A `meta` value.
pub fn meta_get(conn: &mut SqliteConnection, key: &str) -> Result<Option<Vec<u8>>> {
    let rows: Vec<MetaValue> =
        diesel::sql_query("SELECT value FROM meta WHERE key = ?").bind::<Text, _>(key).load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.value))
}

/// A `meta` value as UTF-8 text.
pub fn meta_get_text(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>> {
    meta_get(conn, key)?
        .map(|v| String::from_utf8(v).map_err(|_| Error::corrupt(format!("meta {key} is not text"))))
        .transpose()
}

/// Sets a `meta` value.
pub fn meta_set(conn: &mut SqliteConnection, key: &str, value: &[u8]) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind::<Text, _>(key)
    .bind::<Binary, _>(value)
    .execute(conn)?;
    Ok(())
}

/// One row of `records`.
#[derive(Debug, Clone, QueryableByName)]
pub struct RecordRow {
    #[diesel(sql_type = Text)]
    pub record_id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub effective_date: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub server_version: i64,
    #[diesel(sql_type = Bool)]
    pub pending: bool,
    #[diesel(sql_type = Bool)]
    pub deleted: bool,
    #[diesel(sql_type = BigInt)]
    pub local_rev: i64,
    #[diesel(sql_type = Binary)]
    pub wrapped_dek: Vec<u8>,
    #[diesel(sql_type = Binary)]
    pub sealed_local: Vec<u8>,
}

impl RecordRow {
    /// The record's id.
    pub fn id(&self) -> Result<Uuid> {
        Uuid::parse_str(&self.record_id).map_err(|e| Error::corrupt(format!("record id {}: {e}", self.record_id)))
    }

    /// The record's kind and subject.
    pub fn kind_subject(&self) -> Result<(RecordKind, Subject)> {
        let kind = self.kind.parse::<RecordKind>().map_err(Error::corrupt)?;
        let subject = self.subject.parse::<Subject>().map_err(Error::corrupt)?;
        Ok((kind, subject))
    }

    /// The server version the row is based on.
    pub fn base_version(&self) -> Result<u64> {
        u64::try_from(self.server_version).map_err(Error::corrupt)
    }
}

const RECORD_COLUMNS: &str = "record_id, kind, subject, effective_date, server_version, pending, deleted, local_rev, \
                              wrapped_dek, sealed_local";

/// The record with this id, if stored.
pub fn record_get(conn: &mut SqliteConnection, record_id: &str) -> Result<Option<RecordRow>> {
    let rows: Vec<RecordRow> = diesel::sql_query(format!("SELECT {RECORD_COLUMNS} FROM records WHERE record_id = ?"))
        .bind::<Text, _>(record_id)
        .load(conn)?;
    Ok(rows.into_iter().next())
}

/// Inserts or replaces a record row.
pub fn record_put(conn: &mut SqliteConnection, row: &RecordRow) -> Result<()> {
    diesel::sql_query(format!(
        "INSERT OR REPLACE INTO records ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind::<Text, _>(&row.record_id)
    .bind::<Text, _>(&row.kind)
    .bind::<Text, _>(&row.subject)
    .bind::<Nullable<Text>, _>(row.effective_date.as_deref())
    .bind::<BigInt, _>(row.server_version)
    .bind::<Bool, _>(row.pending)
    .bind::<Bool, _>(row.deleted)
    .bind::<BigInt, _>(row.local_rev)
    .bind::<Binary, _>(&row.wrapped_dek)
    .bind::<Binary, _>(&row.sealed_local)
    .execute(conn)?;
    Ok(())
}

/// A value bound to a `?` of a [`Query`].
enum Param {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

/// SQL and its parameters, built piece by piece so that each shape of a
/// query is its own statement (a `?x IS NULL OR ...` term would keep SQLite
/// from using an index for it).
struct Query {
    sql: String,
    params: Vec<Param>,
}

impl Query {
    fn new(sql: impl Into<String>) -> Self {
        Query { sql: sql.into(), params: Vec::new() }
    }

    /// Appends `sql` and the values of its `?`s, in order.
    fn push(mut self, sql: &str, params: impl IntoIterator<Item = Param>) -> Self {
        self.sql.push_str(sql);
        self.params.extend(params);
        self
    }

    fn boxed(
        self,
        head: &str,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(format!("{head}{}", self.sql)).into_boxed();
        for p in self.params {
            q = match p {
                Param::Text(v) => q.bind::<Text, _>(v),
                Param::OptText(v) => q.bind::<Nullable<Text>, _>(v),
                Param::Int(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }

    fn load<T: QueryableByName<diesel::sqlite::Sqlite> + 'static>(self, conn: &mut SqliteConnection) -> Result<Vec<T>> {
        Ok(self.boxed("").load(conn)?)
    }

    /// The plan SQLite makes for the query (`EXPLAIN QUERY PLAN` details).
    #[cfg(test)]
    fn plan(self, conn: &mut SqliteConnection) -> Vec<String> {
        #[derive(QueryableByName)]
        struct PlanRow {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let rows: Vec<PlanRow> = self.boxed("EXPLAIN QUERY PLAN ").load(conn).expect("query plan");
        rows.into_iter().map(|r| r.detail).collect()
    }
}

/// The live records of a subject, optionally of one kind and within an
/// inclusive date range, without an order. With a kind SQLite answers from
/// `records_subject_kind_live`, without from `records_subject_live`; both
/// hold the rows in timeline order.
fn timeline_rows(subject: &str, kind: Option<&str>, from: Option<&str>, to: Option<&str>) -> Query {
    let mut q = Query::new(format!("SELECT {RECORD_COLUMNS} FROM records WHERE subject = ?"))
        .push("", [Param::Text(subject.into())]);
    if let Some(kind) = kind {
        q = q.push(" AND kind = ?", [Param::Text(kind.into())]);
    }
    q = q.push(" AND deleted = 0", []);
    if let Some(from) = from {
        q = q.push(" AND effective_date >= ?", [Param::Text(from.into())]);
    }
    if let Some(to) = to {
        q = q.push(" AND effective_date <= ?", [Param::Text(to.into())]);
    }
    q
}

/// The timeline order: undated records first (SQLite sorts NULL first), then
/// by date, then by id.
const TIMELINE_ORDER: &str = " ORDER BY effective_date, record_id";

/// Live (not deleted) records of a subject, optionally of one kind and within
/// an inclusive date range (`YYYY-MM-DD`; a range leaves out undated records),
/// undated first, then by date and id. Every match at once: a long timeline
/// is better read with [`timeline_page`].
pub fn timeline(
    conn: &mut SqliteConnection,
    subject: &str,
    kind: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<RecordRow>> {
    timeline_rows(subject, kind, from, to).push(TIMELINE_ORDER, []).load(conn)
}

/// Where a timeline page starts: after the entry with this effective date
/// (`None`: undated) and record id.
pub type TimelineKey = (Option<String>, String);

/// The queries of one [`timeline_page`]: one, or two after an undated entry
/// (the undated rest by id, then the dated rows), each an index range.
fn timeline_page_queries(
    subject: &str,
    kind: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    after: Option<&TimelineKey>,
) -> Vec<Query> {
    let rows = || timeline_rows(subject, kind, from, to);
    match after {
        None => vec![rows().push(TIMELINE_ORDER, [])],
        // After a date on or past `from`, `from` says nothing more: leaving it
        // out lets SQLite start the range at the cursor, not at `from`.
        Some((Some(date), id)) => vec![timeline_rows(subject, kind, from.filter(|f| *f > date.as_str()), to)
            .push(" AND (effective_date, record_id) > (?, ?)", [Param::Text(date.clone()), Param::Text(id.clone())])
            .push(TIMELINE_ORDER, [])],
        Some((None, id)) => vec![
            rows()
                .push(" AND effective_date IS NULL AND record_id > ?", [Param::Text(id.clone())])
                .push(TIMELINE_ORDER, []),
            rows().push(" AND effective_date IS NOT NULL", []).push(TIMELINE_ORDER, []),
        ],
    }
}

/// Up to `limit` entries of the [`timeline`] (same filter, same order) that
/// come after `after` (from the start when `None`): keyset paging, so a page
/// deep into a long timeline costs what the first one does.
pub fn timeline_page(
    conn: &mut SqliteConnection,
    subject: &str,
    kind: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    after: Option<TimelineKey>,
    limit: u32,
) -> Result<Vec<RecordRow>> {
    let mut out: Vec<RecordRow> = Vec::new();
    for q in timeline_page_queries(subject, kind, from, to, after.as_ref()) {
        let left = i64::from(limit) - out.len() as i64;
        if left <= 0 {
            break;
        }
        out.extend(q.push(" LIMIT ?", [Param::Int(left)]).load::<RecordRow>(conn)?);
    }
    Ok(out)
}

/// At most `limit` live records of one kind about a subject, leaving out
/// `except`, by date and id: enough to tell none, one, or several apart
/// without reading them all (the kind index serves it).
fn live_of_kind_query(subject: &str, kind: &str, except: Option<&str>, limit: u32) -> Query {
    Query::new(format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE subject = ? AND kind = ? AND deleted = 0 \
         AND record_id IS NOT ?{TIMELINE_ORDER} LIMIT ?"
    ))
    .push(
        "",
        [
            Param::Text(subject.into()),
            Param::Text(kind.into()),
            Param::OptText(except.map(str::to_owned)),
            Param::Int(i64::from(limit)),
        ],
    )
}

/// At most `limit` live records of one kind about a subject other than
/// `except`, by date and id (see [`live_of_kind_query`]).
pub fn live_of_kind(
    conn: &mut SqliteConnection,
    subject: &str,
    kind: &str,
    except: Option<&str>,
    limit: u32,
) -> Result<Vec<RecordRow>> {
    live_of_kind_query(subject, kind, except, limit).load(conn)
}

/// Every live record of one kind, whoever it is about, by subject, date and id.
pub fn live_of_kind_any_subject(conn: &mut SqliteConnection, kind: &str) -> Result<Vec<RecordRow>> {
    Query::new(format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = ? AND deleted = 0 ORDER BY subject, effective_date, record_id"))
        .push("", [Param::Text(kind.into())])
        .load(conn)
}

/// Every live (not deleted) record, ordered by subject, date and id.
pub fn live_records(conn: &mut SqliteConnection) -> Result<Vec<RecordRow>> {
    Ok(diesel::sql_query(format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE NOT deleted ORDER BY subject, effective_date, record_id"
    ))
    .load(conn)?)
}

/// Live records already on the server (not pending), without their sealed
/// content (`sealed_local` is empty): what consent needs to wrap their keys.
pub fn synced_record_keys(conn: &mut SqliteConnection) -> Result<Vec<RecordRow>> {
    Ok(diesel::sql_query(
        "SELECT record_id, kind, subject, effective_date, server_version, pending, deleted, local_rev, wrapped_dek, \
         X'' AS sealed_local FROM records WHERE NOT deleted AND NOT pending AND server_version > 0 ORDER BY record_id",
    )
    .load(conn)?)
}

/// One locally known consent grant.
#[derive(Debug, Clone, QueryableByName)]
pub struct GrantRow {
    #[diesel(sql_type = Text)]
    pub grant_id: String,
    #[diesel(sql_type = Text)]
    pub grant_json: String,
    #[diesel(sql_type = Binary)]
    pub sealed_grant_key: Vec<u8>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
}

/// Stores a grant made on this device.
pub fn grant_put(conn: &mut SqliteConnection, row: &GrantRow) -> Result<()> {
    diesel::sql_query(
        "INSERT OR REPLACE INTO grants (grant_id, grant_json, sealed_grant_key, active) VALUES (?, ?, ?, ?)",
    )
    .bind::<Text, _>(&row.grant_id)
    .bind::<Text, _>(&row.grant_json)
    .bind::<Binary, _>(&row.sealed_grant_key)
    .bind::<Bool, _>(row.active)
    .execute(conn)?;
    Ok(())
}

/// The grants this device still sends record keys for.
pub fn active_grants(conn: &mut SqliteConnection) -> Result<Vec<GrantRow>> {
    Ok(diesel::sql_query(
        "SELECT grant_id, grant_json, sealed_grant_key, active FROM grants WHERE active ORDER BY grant_id",
    )
    .load(conn)?)
}

/// Stops sending keys for a grant (revoked, or gone on the server) and forgets its key.
pub fn grant_deactivate(conn: &mut SqliteConnection, grant_id: &str) -> Result<()> {
    diesel::sql_query("DELETE FROM grant_keys_sent WHERE grant_id = ?").bind::<Text, _>(grant_id).execute(conn)?;
    diesel::sql_query("UPDATE grants SET active = FALSE, sealed_grant_key = X'' WHERE grant_id = ?")
        .bind::<Text, _>(grant_id)
        .execute(conn)?;
    Ok(())
}

/// Ids of the records whose data keys grant `grant_id` already has.
pub fn grant_keys_sent(conn: &mut SqliteConnection, grant_id: &str) -> Result<Vec<String>> {
    let rows: Vec<IdRow> = diesel::sql_query("SELECT record_id FROM grant_keys_sent WHERE grant_id = ?")
        .bind::<Text, _>(grant_id)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.record_id).collect())
}

/// Notes that grant `grant_id` now has these records' data keys.
pub fn grant_keys_mark_sent(conn: &mut SqliteConnection, grant_id: &str, record_ids: &[String]) -> Result<()> {
    for id in record_ids {
        diesel::sql_query("INSERT OR IGNORE INTO grant_keys_sent (grant_id, record_id) VALUES (?, ?)")
            .bind::<Text, _>(grant_id)
            .bind::<Text, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// The `meta` entry left by [`wipe_deleted_account`]: the server said the
/// account is deleted (value: when this device learnt it, epoch ms as text).
pub const ACCOUNT_DELETED_META: &str = "account_deleted";

/// Erases everything the store holds (records, outbox, grants, account and
/// keys), in one transaction. `secure_delete` overwrites the freed pages.
pub fn wipe(conn: &mut SqliteConnection) -> Result<()> {
    wipe_leaving(conn, None)
}

/// [`wipe`] for an account the server says is deleted: erases everything and
/// leaves only the [`ACCOUNT_DELETED_META`] marker (no id, no key), in the
/// same transaction.
pub fn wipe_deleted_account(conn: &mut SqliteConnection, now_ms: u64) -> Result<()> {
    wipe_leaving(conn, Some(now_ms.to_string().as_bytes()))
}

fn wipe_leaving(conn: &mut SqliteConnection, account_deleted: Option<&[u8]>) -> Result<()> {
    conn.transaction::<_, Error, _>(|conn| {
        conn.batch_execute(
            "DELETE FROM grant_keys_sent; DELETE FROM grants; DELETE FROM outbox; DELETE FROM outbox_batches; \
             DELETE FROM records; DELETE FROM quarantine; DELETE FROM folded_versions; DELETE FROM meta;",
        )?;
        if let Some(at) = account_deleted {
            meta_set(conn, ACCOUNT_DELETED_META, at)?;
        }
        Ok(())
    })?;
    // Fold the WAL into the file (the freed pages are zeroed) and rebuild it, so no
    // old page survives in the WAL or in free pages.
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// Removes a `meta` entry.
pub fn meta_delete(conn: &mut SqliteConnection, key: &str) -> Result<()> {
    diesel::sql_query("DELETE FROM meta WHERE key = ?").bind::<Text, _>(key).execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    record_id: String,
}

/// Ids of the records with local changes not yet acknowledged by the server.
pub fn pending_ids(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    let rows: Vec<IdRow> =
        diesel::sql_query("SELECT record_id FROM records WHERE pending ORDER BY record_id").load(conn)?;
    Ok(rows.into_iter().map(|r| r.record_id).collect())
}

/// A persisted push batch.
#[derive(Debug, Clone, QueryableByName)]
pub struct OutboxBatch {
    #[diesel(sql_type = Text)]
    pub batch_id: String,
    #[diesel(sql_type = Binary)]
    pub request: Vec<u8>,
}

/// Persists a batch (its exact request body) and the local revision of each
/// record it carries, before it is sent.
pub fn outbox_put(
    conn: &mut SqliteConnection,
    batch_id: &str,
    request: &[u8],
    revs: &[(String, i64)],
    now_ms: i64,
) -> Result<()> {
    diesel::sql_query("INSERT INTO outbox_batches (batch_id, created_at, request) VALUES (?, ?, ?)")
        .bind::<Text, _>(batch_id)
        .bind::<BigInt, _>(now_ms)
        .bind::<Binary, _>(request)
        .execute(conn)?;
    for (record_id, rev) in revs {
        diesel::sql_query("INSERT INTO outbox (batch_id, record_id, local_rev) VALUES (?, ?, ?)")
            .bind::<Text, _>(batch_id)
            .bind::<Text, _>(record_id)
            .bind::<BigInt, _>(*rev)
            .execute(conn)?;
    }
    Ok(())
}

/// The oldest batch still waiting for its acknowledgement.
pub fn outbox_oldest(conn: &mut SqliteConnection) -> Result<Option<OutboxBatch>> {
    let rows: Vec<OutboxBatch> =
        diesel::sql_query("SELECT batch_id, request FROM outbox_batches ORDER BY created_at, batch_id LIMIT 1")
            .load(conn)?;
    Ok(rows.into_iter().next())
}

#[derive(QueryableByName)]
struct RevRow {
    #[diesel(sql_type = BigInt)]
    local_rev: i64,
}

/// The local revision of `record_id` that batch `batch_id` carried.
pub fn outbox_rev(conn: &mut SqliteConnection, batch_id: &str, record_id: &str) -> Result<Option<i64>> {
    let rows: Vec<RevRow> = diesel::sql_query("SELECT local_rev FROM outbox WHERE batch_id = ? AND record_id = ?")
        .bind::<Text, _>(batch_id)
        .bind::<Text, _>(record_id)
        .load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.local_rev))
}

/// The records a persisted batch carries, in id order.
pub fn outbox_record_ids(conn: &mut SqliteConnection, batch_id: &str) -> Result<Vec<String>> {
    let rows: Vec<IdRow> = diesel::sql_query("SELECT record_id FROM outbox WHERE batch_id = ? ORDER BY record_id")
        .bind::<Text, _>(batch_id)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.record_id).collect())
}

/// Forgets an acknowledged (or refused) batch.
pub fn outbox_delete(conn: &mut SqliteConnection, batch_id: &str) -> Result<()> {
    diesel::sql_query("DELETE FROM outbox WHERE batch_id = ?").bind::<Text, _>(batch_id).execute(conn)?;
    diesel::sql_query("DELETE FROM outbox_batches WHERE batch_id = ?").bind::<Text, _>(batch_id).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, kind: &str, date: Option<&str>, deleted: bool) -> RecordRow {
        RecordRow {
            record_id: id.into(),
            kind: kind.into(),
            subject: "mother".into(),
            effective_date: date.map(str::to_owned),
            server_version: 0,
            pending: true,
            deleted,
            local_rev: 1,
            wrapped_dek: vec![1],
            sealed_local: vec![2],
        }
    }

    fn store() -> (tempfile::TempDir, SqliteConnection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("s.db").to_string_lossy()).unwrap();
        (dir, conn)
    }

    #[test]
    fn the_timeline_filters_by_kind_and_inclusive_dates_and_skips_deleted_records() {
        let (_dir, mut conn) = store();
        record_put(&mut conn, &row("a", "prenatal_visit", Some("2026-04-02"), false)).unwrap();
        record_put(&mut conn, &row("b", "prenatal_visit", Some("2026-05-01"), false)).unwrap();
        record_put(&mut conn, &row("c", "self_vitals", Some("2026-04-10"), false)).unwrap();
        record_put(&mut conn, &row("d", "mother_profile", None, false)).unwrap();
        record_put(&mut conn, &row("e", "prenatal_visit", Some("2026-04-03"), true)).unwrap();
        let ids = |rows: Vec<RecordRow>| rows.into_iter().map(|r| r.record_id).collect::<Vec<_>>();
        assert_eq!(ids(timeline(&mut conn, "mother", None, None, None).unwrap()), ["d", "a", "c", "b"]);
        assert_eq!(ids(timeline(&mut conn, "mother", Some("prenatal_visit"), None, None).unwrap()), ["a", "b"]);
        assert_eq!(
            ids(timeline(&mut conn, "mother", None, Some("2026-04-02"), Some("2026-04-10")).unwrap()),
            ["a", "c"]
        );
        assert!(timeline(&mut conn, "child:x", None, None, None).unwrap().is_empty());
    }

    fn ids(rows: Vec<RecordRow>) -> Vec<String> {
        rows.into_iter().map(|r| r.record_id).collect()
    }

    /// A mother's timeline with undated records, several records on one day
    /// (ties broken by id), two kinds, a deleted record, and another subject.
    fn paging_store() -> (tempfile::TempDir, SqliteConnection) {
        let (dir, mut conn) = store();
        let dates = [None, Some("2026-04-01"), Some("2026-04-02"), Some("2026-04-02"), None, Some("2026-04-03")];
        for i in 0..30 {
            let kind = if i % 3 == 0 { "self_vitals" } else { "prenatal_visit" };
            let date = dates[(i * 7) % dates.len()];
            record_put(&mut conn, &row(&format!("r{:02}", (i * 11) % 30), kind, date, i == 13)).unwrap();
        }
        record_put(&mut conn, &RecordRow { subject: "child:x".into(), ..row("z", "newborn", None, false) }).unwrap();
        (dir, conn)
    }

    #[test]
    fn pages_of_any_size_walk_the_timeline_in_its_order_without_gaps_or_repeats() {
        let (_dir, mut conn) = paging_store();
        let filters: [(Option<&str>, Option<&str>, Option<&str>); 5] = [
            (None, None, None),
            (Some("prenatal_visit"), None, None),
            (Some("self_vitals"), None, None),
            (None, Some("2026-04-02"), None),
            (Some("prenatal_visit"), None, Some("2026-04-02")),
        ];
        for (kind, from, to) in filters {
            let all = timeline(&mut conn, "mother", kind, from, to).unwrap();
            assert!(!all.is_empty());
            for size in 1..=all.len() as u32 + 1 {
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let page = timeline_page(&mut conn, "mother", kind, from, to, after, size).unwrap();
                    assert!(page.len() <= size as usize);
                    let Some(last) = page.last() else { break };
                    after = Some((last.effective_date.clone(), last.record_id.clone()));
                    walked.extend(page);
                }
                assert_eq!(ids(walked), ids(all.clone()), "kind {kind:?} from {from:?} to {to:?} pages of {size}");
            }
        }
    }

    #[test]
    fn the_timeline_lists_undated_records_first_then_by_date_and_id() {
        let (_dir, mut conn) = paging_store();
        let all = timeline(&mut conn, "mother", None, None, None).unwrap();
        assert_eq!(all.len(), 29);
        let keys: Vec<_> = all.iter().map(|r| (r.effective_date.clone(), r.record_id.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "None sorts first, as in SQLite");
        assert!(keys.iter().any(|k| k.0.is_none()) && keys.last().unwrap().0.is_some());
        let after_undated = (None, keys[0].1.clone());
        let page = timeline_page(&mut conn, "mother", None, None, None, Some(after_undated), 100).unwrap();
        assert_eq!(ids(page), ids(all[1..].to_vec()));
    }

    #[test]
    fn live_of_kind_reads_at_most_the_limit_and_leaves_out_the_record_edited() {
        let (_dir, mut conn) = paging_store();
        let all = ids(timeline(&mut conn, "mother", Some("self_vitals"), None, None).unwrap());
        assert_eq!(ids(live_of_kind(&mut conn, "mother", "self_vitals", None, 2).unwrap()), all[..2]);
        assert_eq!(ids(live_of_kind(&mut conn, "mother", "self_vitals", Some(&all[0]), 2).unwrap()), all[1..3]);
        assert!(live_of_kind(&mut conn, "mother", "newborn", None, 2).unwrap().is_empty());
        assert_eq!(ids(live_of_kind(&mut conn, "child:x", "newborn", None, 2).unwrap()), ["z"]);
    }

    /// Asserts that SQLite answers `q` from `index` alone, in index order:
    /// no table scan and no temporary B-tree to sort.
    fn assert_indexed(conn: &mut SqliteConnection, q: Query, index: &str) {
        let sql = q.sql.clone();
        let plan = q.plan(conn);
        assert!(plan.iter().all(|d| d.contains(&format!("USING INDEX {index} ("))), "{sql}: {plan:?}");
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE") || d.starts_with("SCAN")), "{sql}: {plan:?}");
    }

    #[test]
    fn every_timeline_query_is_an_index_range_in_timeline_order() {
        let (_dir, mut conn) = paging_store();
        let dated = (Some("2026-04-02".to_owned()), "r05".to_owned());
        let undated = (None, "r05".to_owned());
        for kind in [None, Some("prenatal_visit")] {
            let index = if kind.is_some() { "records_subject_kind_live" } else { "records_subject_live" };
            for (from, to) in [
                (None, None),
                (Some("2026-04-01"), None),
                (None, Some("2026-04-02")),
                (Some("2026-04-01"), Some("2026-04-02")),
            ] {
                assert_indexed(&mut conn, timeline_rows("mother", kind, from, to).push(TIMELINE_ORDER, []), index);
                for after in [None, Some(&dated), Some(&undated)] {
                    for q in timeline_page_queries("mother", kind, from, to, after) {
                        assert_indexed(&mut conn, q.push(" LIMIT ?", [Param::Int(7)]), index);
                    }
                }
            }
        }
        for except in [None, Some("r05")] {
            assert_indexed(
                &mut conn,
                live_of_kind_query("mother", "pregnancy", except, 2),
                "records_subject_kind_live",
            );
        }
    }

    #[test]
    fn opening_a_store_made_before_the_timeline_indexes_replaces_the_old_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db").to_string_lossy().into_owned();
        {
            let mut old = SqliteConnection::establish(&path).unwrap();
            let before: Vec<&str> =
                SCHEMA.lines().filter(|l| !l.contains("records_subject") && !l.contains("DROP INDEX")).collect();
            old.batch_execute(&before.join("\n")).unwrap();
            old.batch_execute("CREATE INDEX records_timeline ON records (subject, kind, effective_date);").unwrap();
        }
        let mut conn = open(&path).unwrap();
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = Text)]
            name: String,
        }
        let names: Vec<Name> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL ORDER BY name",
        )
        .load(&mut conn)
        .unwrap();
        let names: Vec<_> = names.into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["records_pending", "records_subject_kind_live", "records_subject_live"]);
    }

    #[test]
    fn an_outbox_batch_survives_until_it_is_acknowledged() {
        let (_dir, mut conn) = store();
        outbox_put(&mut conn, "b1", b"{}", &[("r1".into(), 3)], 10).unwrap();
        let batch = outbox_oldest(&mut conn).unwrap().unwrap();
        assert_eq!((batch.batch_id.as_str(), batch.request.as_slice()), ("b1", &b"{}"[..]));
        assert_eq!(outbox_rev(&mut conn, "b1", "r1").unwrap(), Some(3));
        outbox_delete(&mut conn, "b1").unwrap();
        assert!(outbox_oldest(&mut conn).unwrap().is_none());
        assert_eq!(outbox_rev(&mut conn, "b1", "r1").unwrap(), None);
    }

    #[test]
    fn meta_values_are_replaced_in_place() {
        let (_dir, mut conn) = store();
        assert_eq!(meta_get(&mut conn, "cursor").unwrap(), None);
        meta_set(&mut conn, "cursor", b"1").unwrap();
        meta_set(&mut conn, "cursor", b"2").unwrap();
        assert_eq!(meta_get_text(&mut conn, "cursor").unwrap().as_deref(), Some("2"));
    }
}
