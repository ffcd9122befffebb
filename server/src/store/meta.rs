//! `server_meta`: facts about this installation, such as its instance id.

use diesel::prelude::*;

use super::schema::server_meta;
use super::{backend, DbConnection};

pub const INSTANCE_ID: &str = "instance_id";

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    server_meta::table
        .filter(server_meta::meta_key.eq(key))
        .select(server_meta::meta_value)
        .first::<String>(conn)
        .optional()
}

/// The installation's instance id: created once (first start), then stable.
/// Safe when several servers start against one database at the same time.
pub fn instance_id(conn: &mut DbConnection, now_ms: i64) -> QueryResult<String> {
    if let Some(id) = get(conn, INSTANCE_ID)? {
        return Ok(id);
    }
    backend::insert_meta_if_absent(conn, INSTANCE_ID, &uuid::Uuid::now_v7().to_string(), now_ms)?;
    get(conn, INSTANCE_ID)?.ok_or(diesel::result::Error::NotFound)
}

/// One round trip to the database (`SELECT 1`): whether it answers now.
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::connection::SimpleConnection::batch_execute(conn, "SELECT 1")
}
