//! Record rows and the per-account change sequence.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::store::schema::{accounts, push_batches, records};
use crate::store::DbConnection;

/// A stored record version (ciphertext and the plain metadata of `docs/architecture.md`, "Storage").
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub record_id: String,
    pub kind: String,
    pub subject: String,
    pub effective_date: Option<String>,
    pub version: i64,
    pub seq: i64,
    pub deleted: bool,
    pub envelope: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub device_id: String,
    pub updated_at: i64,
}

/// A record version to write.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = records)]
pub struct RecordWrite<'a> {
    pub account_id: &'a str,
    pub record_id: String,
    pub kind: &'static str,
    pub subject: String,
    pub effective_date: Option<String>,
    pub version: i64,
    pub seq: i64,
    pub deleted: bool,
    pub envelope: &'a [u8],
    pub wrapped_key: &'a [u8],
    pub device_id: &'a str,
    pub updated_at: i64,
}

/// Takes the account's write lock for this transaction (the first statement
/// is a write, so SQLite takes its lock at once and PostgreSQL locks the
/// account row) and returns `(change_seq, record_count)`; `None` if the
/// account does not exist.
pub fn lock_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<Option<(i64, i64)>> {
    let touched = diesel::update(accounts::table.find(account_id))
        .set(accounts::change_seq.eq(accounts::change_seq))
        .execute(conn)?;
    if touched == 0 {
        return Ok(None);
    }
    accounts::table.find(account_id).select((accounts::change_seq, accounts::record_count)).first(conn).optional()
}

pub fn set_account_counters(
    conn: &mut DbConnection,
    account_id: &str,
    change_seq: i64,
    record_count: i64,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((accounts::change_seq.eq(change_seq), accounts::record_count.eq(record_count)))
        .execute(conn)
        .map(|_| ())
}

/// The stored answer of a batch already applied: `(device_id, response JSON)`.
pub fn stored_batch(
    conn: &mut DbConnection,
    account_id: &str,
    batch_id: &str,
) -> QueryResult<Option<(String, String)>> {
    push_batches::table
        .find((account_id, batch_id))
        .select((push_batches::device_id, push_batches::response))
        .first(conn)
        .optional()
}

/// Remembers a batch's answer so a retry gets it again; forgets answers older than `keep_since`.
pub fn store_batch(
    conn: &mut DbConnection,
    account_id: &str,
    batch_id: &str,
    device_id: &str,
    response: &str,
    now: i64,
    keep_since: i64,
) -> QueryResult<()> {
    diesel::delete(
        push_batches::table
            .filter(push_batches::account_id.eq(account_id))
            .filter(push_batches::created_at.lt(keep_since)),
    )
    .execute(conn)?;
    diesel::insert_into(push_batches::table)
        .values((
            push_batches::account_id.eq(account_id),
            push_batches::batch_id.eq(batch_id),
            push_batches::device_id.eq(device_id),
            push_batches::response.eq(response),
            push_batches::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Current versions of the given records (absent ones are missing from the map).
pub fn current_versions(
    conn: &mut DbConnection,
    account_id: &str,
    record_ids: &[String],
) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(record_ids.len());
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in record_ids.chunks(500) {
        let rows: Vec<(String, i64)> = records::table
            .filter(records::account_id.eq(account_id))
            .filter(records::record_id.eq_any(chunk))
            .select((records::record_id, records::version))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

pub fn insert_records(conn: &mut DbConnection, rows: &[RecordWrite<'_>]) -> QueryResult<()> {
    for chunk in rows.chunks(50) {
        crate::on_backend!(conn, c => diesel::insert_into(records::table).values(chunk).execute(c))?;
    }
    Ok(())
}

pub fn update_record(conn: &mut DbConnection, row: &RecordWrite<'_>) -> QueryResult<()> {
    diesel::update(records::table.find((row.account_id, &row.record_id))).set(row).execute(conn).map(|_| ())
}

/// Up to `limit` changes after `since`, in sequence order.
pub fn changes_since(conn: &mut DbConnection, account_id: &str, since: i64, limit: i64) -> QueryResult<Vec<RecordRow>> {
    records::table
        .filter(records::account_id.eq(account_id))
        .filter(records::seq.gt(since))
        .order(records::seq.asc())
        .limit(limit)
        .select(RecordRow::as_select())
        .load(conn)
}
