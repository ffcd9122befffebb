//! The operator's audit log rows (the chain rules are in `crate::app::audit::operator`).

use diesel::prelude::*;

use crate::store::schema::{operator_events, server_meta};
use crate::store::DbConnection;

/// The `server_meta` key of the chain's head, `"<seq>:<hash>"`.
pub const HEAD_KEY: &str = "operator_log_head";

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = operator_events)]
pub struct OperatorEventRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Locks the chain's head for this transaction and reads it (`"<seq>:<hash>"`). The
/// update takes the row lock on PostgreSQL, so appenders queue here; SQLite writers
/// are serialized anyway.
pub fn lock_head(conn: &mut DbConnection, now: i64) -> QueryResult<String> {
    diesel::update(server_meta::table.find(HEAD_KEY)).set(server_meta::updated_at.eq(now)).execute(conn)?;
    server_meta::table.find(HEAD_KEY).select(server_meta::meta_value).first(conn)
}

/// Stores an event and moves the head to it.
pub fn append(conn: &mut DbConnection, row: &OperatorEventRow) -> QueryResult<()> {
    diesel::insert_into(operator_events::table).values(row).execute(conn)?;
    diesel::update(server_meta::table.find(HEAD_KEY))
        .set(server_meta::meta_value.eq(format!("{}:{}", row.seq, row.hash)))
        .execute(conn)
        .map(|_| ())
}

/// The head as stored (`"<seq>:<hash>"`), without locking.
pub fn head(conn: &mut DbConnection) -> QueryResult<String> {
    server_meta::table.find(HEAD_KEY).select(server_meta::meta_value).first(conn)
}

/// Events after `since`, in order, at most `limit`.
pub fn page(conn: &mut DbConnection, since: i64, limit: i64) -> QueryResult<Vec<OperatorEventRow>> {
    operator_events::table
        .filter(operator_events::seq.gt(since))
        .order(operator_events::seq)
        .limit(limit)
        .select(OperatorEventRow::as_select())
        .load(conn)
}
