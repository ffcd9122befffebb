//! The `research_exports` table: one row per export job (state, progress, manifest).

use diesel::prelude::*;

use crate::store::schema::research_exports;
use crate::store::DbConnection;

/// Job states. `queued`/`running` are unfinished; the rest are final.
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";
pub const EXPIRED: &str = "expired";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = research_exports)]
pub struct ExportRow {
    pub export_id: String,
    pub organization_id: String,
    pub state: String,
    pub request_json: String,
    pub progress: i64,
    pub records_done: i64,
    pub manifest_json: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &ExportRow) -> QueryResult<()> {
    diesel::insert_into(research_exports::table).values(row).execute(conn).map(|_| ())
}

pub fn get(conn: &mut DbConnection, export_id: &str) -> QueryResult<Option<ExportRow>> {
    research_exports::table.find(export_id).select(ExportRow::as_select()).first(conn).optional()
}

/// Moves a job from one of `from` to `to`; false when it was in none of them (e.g. cancelled meanwhile).
pub fn transition(
    conn: &mut DbConnection,
    export_id: &str,
    from: &[&str],
    to: &str,
    error: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq_any(from))
        .set((research_exports::state.eq(to), research_exports::error.eq(error), research_exports::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records progress of a running job; false when the job is no longer running (cancelled).
pub fn progress(conn: &mut DbConnection, export_id: &str, percent: i64, records: i64, now: i64) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .set((
            research_exports::progress.eq(percent),
            research_exports::records_done.eq(records),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks a running job completed with its manifest; false when it was cancelled meanwhile.
pub fn complete(
    conn: &mut DbConnection,
    export_id: &str,
    manifest: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .set((
            research_exports::state.eq(COMPLETED),
            research_exports::progress.eq(100),
            research_exports::manifest_json.eq(manifest),
            research_exports::expires_at.eq(expires_at),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// How many unfinished jobs an organization has.
pub fn unfinished_of(conn: &mut DbConnection, organization_id: &str) -> QueryResult<i64> {
    research_exports::table
        .filter(research_exports::organization_id.eq(organization_id))
        .filter(research_exports::state.eq_any([QUEUED, RUNNING]))
        .count()
        .get_result(conn)
}

/// Ids of jobs in one of `states`.
pub fn ids_in(conn: &mut DbConnection, states: &[&str]) -> QueryResult<Vec<String>> {
    research_exports::table
        .filter(research_exports::state.eq_any(states))
        .select(research_exports::export_id)
        .order(research_exports::export_id.asc())
        .load(conn)
}

/// Refreshes `updated_at` of the running jobs in `ids` (the heartbeat of the process running them).
pub fn heartbeat(conn: &mut DbConnection, ids: &[String], now: i64) -> QueryResult<usize> {
    diesel::update(research_exports::table)
        .filter(research_exports::export_id.eq_any(ids))
        .filter(research_exports::state.eq(RUNNING))
        .set(research_exports::updated_at.eq(now))
        .execute(conn)
}

/// Unfinished jobs not updated since `before` (their process is gone), except `live` ones.
pub fn stale(conn: &mut DbConnection, before: i64) -> QueryResult<Vec<String>> {
    research_exports::table
        .filter(research_exports::state.eq_any([QUEUED, RUNNING]))
        .filter(research_exports::updated_at.lt(before))
        .select(research_exports::export_id)
        .order(research_exports::export_id.asc())
        .load(conn)
}

/// Ids of completed jobs whose retention period ended before `now`.
pub fn expired(conn: &mut DbConnection, now: i64) -> QueryResult<Vec<String>> {
    research_exports::table
        .filter(research_exports::state.eq(COMPLETED))
        .filter(research_exports::expires_at.lt(now))
        .select(research_exports::export_id)
        .load(conn)
}

/// The heartbeat time before which an unfinished job counts as orphaned (its
/// process gone). On SQLite one server owns the database, so at start-up every
/// unfinished job is; on PostgreSQL, where several servers may share the
/// database, only jobs whose heartbeat stopped `stale_after_ms` ago.
pub fn orphaned_before(conn: &DbConnection, now_ms: i64, stale_after_ms: i64) -> i64 {
    match conn {
        DbConnection::Sqlite(_) => i64::MAX,
        DbConnection::Postgresql(_) => now_ms - stale_after_ms,
    }
}
