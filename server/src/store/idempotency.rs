//! The `idempotent_requests` table: success answers of enrolment calls made
//! with an `Idempotency-Key`, by the key's hash, for 24 hours.

use diesel::prelude::*;

use crate::store::schema::idempotent_requests;
use crate::store::DbConnection;

/// A stored answer: the endpoint it was for, the request's fingerprint and the answer JSON.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StoredAnswer {
    pub endpoint: String,
    pub fingerprint: String,
    pub response: String,
}

/// The answer stored for `key_hash` since `not_before`, if any.
pub fn find(conn: &mut DbConnection, key_hash: &str, not_before: i64) -> QueryResult<Option<StoredAnswer>> {
    idempotent_requests::table
        .find(key_hash)
        .filter(idempotent_requests::created_at.ge(not_before))
        .select((idempotent_requests::endpoint, idempotent_requests::fingerprint, idempotent_requests::response))
        .first(conn)
        .optional()
}

/// Stores an answer (replacing an expired one for the same key) and purges
/// answers older than `purge_before`.
pub fn store(
    conn: &mut DbConnection,
    key_hash: &str,
    answer: &StoredAnswer,
    now: i64,
    purge_before: i64,
) -> QueryResult<()> {
    diesel::delete(idempotent_requests::table.filter(idempotent_requests::created_at.lt(purge_before)))
        .execute(conn)?;
    diesel::delete(idempotent_requests::table.find(key_hash)).execute(conn)?;
    diesel::insert_into(idempotent_requests::table)
        .values((
            idempotent_requests::key_hash.eq(key_hash),
            idempotent_requests::endpoint.eq(&answer.endpoint),
            idempotent_requests::fingerprint.eq(&answer.fingerprint),
            idempotent_requests::response.eq(&answer.response),
            idempotent_requests::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
