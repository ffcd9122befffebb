//! Records pulled from the server that this device cannot open (sealed under
//! another account key by a phone that joined with a wrong invite, or
//! damaged): kept aside with why, so that one bad record never stops the
//! sync cursor, and tried again when a newer version of the record arrives.
//! Also the count of versions compaction folded per record.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text};
use diesel::sqlite::SqliteConnection;

use crate::engine::error::Result;

/// The tables of this module (created with the rest of the schema).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS quarantine (
    record_id TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    envelope BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    quarantined_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS folded_versions (
    record_id TEXT PRIMARY KEY NOT NULL,
    folded BIGINT NOT NULL
);
";

/// A record kept aside.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct QuarantinedRecord {
    #[diesel(sql_type = Text)]
    pub record_id: String,
    /// The server version that did not open.
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    /// Why it did not open, in words.
    #[diesel(sql_type = Text)]
    pub reason: String,
    /// Epoch ms.
    #[diesel(sql_type = BigInt)]
    pub quarantined_at: i64,
}

/// Keeps a version that did not open (replacing an older one of the record).
pub fn quarantine_put(
    conn: &mut SqliteConnection,
    record: &QuarantinedRecord,
    envelope: &[u8],
    wrapped_key: &[u8],
) -> Result<()> {
    diesel::sql_query(
        "INSERT OR REPLACE INTO quarantine (record_id, version, kind, subject, reason, envelope, wrapped_key, \
         quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind::<Text, _>(&record.record_id)
    .bind::<BigInt, _>(record.version)
    .bind::<Text, _>(&record.kind)
    .bind::<Text, _>(&record.subject)
    .bind::<Text, _>(&record.reason)
    .bind::<Binary, _>(envelope)
    .bind::<Binary, _>(wrapped_key)
    .bind::<BigInt, _>(record.quarantined_at)
    .execute(conn)?;
    Ok(())
}

/// Forgets a record's quarantined version (a newer one opened).
pub fn quarantine_release(conn: &mut SqliteConnection, record_id: &str) -> Result<()> {
    diesel::sql_query("DELETE FROM quarantine WHERE record_id = ?").bind::<Text, _>(record_id).execute(conn)?;
    Ok(())
}

/// Every quarantined record, oldest first.
pub fn quarantine_list(conn: &mut SqliteConnection) -> Result<Vec<QuarantinedRecord>> {
    Ok(diesel::sql_query(
        "SELECT record_id, version, kind, subject, reason, quarantined_at FROM quarantine \
         ORDER BY quarantined_at, record_id",
    )
    .load(conn)?)
}

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = BigInt)]
    folded: i64,
}

/// Adds `n` to the count of versions compaction folded for a record.
pub fn folded_add(conn: &mut SqliteConnection, record_id: &str, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO folded_versions (record_id, folded) VALUES (?, ?) \
         ON CONFLICT (record_id) DO UPDATE SET folded = folded + excluded.folded",
    )
    .bind::<Text, _>(record_id)
    .bind::<BigInt, _>(i64::try_from(n).unwrap_or(i64::MAX))
    .execute(conn)?;
    Ok(())
}

/// How many versions of a record this device has folded.
pub fn folded_count(conn: &mut SqliteConnection, record_id: &str) -> Result<u64> {
    let rows: Vec<Folded> = diesel::sql_query("SELECT folded FROM folded_versions WHERE record_id = ?")
        .bind::<Text, _>(record_id)
        .load(conn)?;
    Ok(rows.first().map_or(0, |r| u64::try_from(r.folded).unwrap_or(0)))
}
