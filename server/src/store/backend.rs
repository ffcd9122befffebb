//! The few statements whose SQL differs between PostgreSQL and SQLite
//! (upserts, RETURNING). Everything else is written once against `DbConnection`.

use diesel::prelude::*;

use super::schema::server_meta;
use super::DbConnection;

/// Runs `$body` with `$c` bound to the concrete connection of either backend.
/// The body is compiled twice, once per backend, so backend-only query
/// builders (`on_conflict`, `returning`) are available inside it.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Postgresql($c) => $body,
            $crate::store::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// `INSERT … ON CONFLICT DO NOTHING` into `server_meta`; returns rows inserted (0 or 1).
pub fn insert_meta_if_absent(conn: &mut DbConnection, key: &str, value: &str, now_ms: i64) -> QueryResult<usize> {
    let row = (server_meta::meta_key.eq(key), server_meta::meta_value.eq(value), server_meta::updated_at.eq(now_ms));
    on_backend!(conn, c => diesel::insert_into(server_meta::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
}
