//! The server's size limits as last fetched (`GET /sync/v1/limits`), kept in
//! `meta` so that a local edit made offline is checked against them too.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use phr_core::sync::protocol::SyncLimits;

use crate::engine::error::{Error, Result};

const SYNC_LIMITS_META: &str = "sync_limits";

/// What the engine assumes before it has asked the server: the server's
/// defaults (8 MiB requests, 500 changes, 256 KiB per sealed record).
pub const DEFAULT_SYNC_LIMITS: SyncLimits = SyncLimits {
    max_request_bytes: 8 * 1024 * 1024,
    max_batch_changes: 500,
    max_envelope_bytes: 256 * 1024,
    max_pull_limit: 5000,
};

/// The limits last fetched, or [`DEFAULT_SYNC_LIMITS`].
pub fn sync_limits(conn: &mut SqliteConnection) -> Result<SyncLimits> {
    Ok(super::meta_get(conn, SYNC_LIMITS_META)?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or(DEFAULT_SYNC_LIMITS))
}

/// Keeps the limits the server answered.
pub fn set_sync_limits(conn: &mut SqliteConnection, limits: &SyncLimits) -> Result<()> {
    let value = serde_json::to_vec(limits).map_err(|e| Error::encoding("the sync limits", e))?;
    super::meta_set(conn, SYNC_LIMITS_META, &value)
}

#[derive(QueryableByName)]
struct PendingSize {
    #[diesel(sql_type = Text)]
    record_id: String,
    #[diesel(sql_type = BigInt)]
    size: i64,
}

/// The records with local changes not yet acknowledged, with the size of
/// their sealed history (what their envelope weighs), by id.
pub fn pending_sizes(conn: &mut SqliteConnection) -> Result<Vec<(String, u64)>> {
    let rows: Vec<PendingSize> = diesel::sql_query(
        "SELECT record_id, length(sealed_local) AS size FROM records WHERE pending ORDER BY record_id",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.record_id, u64::try_from(r.size).unwrap_or(0))).collect())
}
