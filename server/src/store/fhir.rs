//! The queries of the FHIR API beyond the record reads of `app::consent::access`:
//! who gave an organization grants, which family holds a record, the change
//! counters a cached search answer is checked against, and a family's audit log.

use diesel::prelude::*;

use crate::store::schema::{accounts, consent_grants, records};
use crate::store::DbConnection;

/// The families that gave `organization_id` any grant, usable now or not.
pub fn granting_accounts(conn: &mut DbConnection, organization_id: &str) -> QueryResult<Vec<String>> {
    consent_grants::table
        .filter(consent_grants::organization_id.eq(organization_id))
        .select(consent_grants::account_id)
        .distinct()
        .load(conn)
}

/// The distinct subjects (as stored) of the records of `account_id`.
pub fn record_subjects(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<String>> {
    records::table.filter(records::account_id.eq(account_id)).select(records::subject).distinct().load(conn)
}

/// The families that hold a record `record_id` (record ids are chosen by devices, so there may be
/// more than one; almost always one or none), in account order.
pub fn record_owners(conn: &mut DbConnection, record_id: &str) -> QueryResult<Vec<String>> {
    records::table
        .filter(records::record_id.eq(record_id))
        .select(records::account_id)
        .order(records::account_id.asc())
        .load(conn)
}

/// `(account, change_seq, consent_seq)` of each of `families` (sorted, without
/// repeats), in account order.
pub fn change_counters(conn: &mut DbConnection, families: &[&str]) -> QueryResult<Vec<(String, i64, i64)>> {
    let mut out = Vec::with_capacity(families.len());
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in families.chunks(500) {
        let rows: Vec<(String, i64, i64)> = accounts::table
            .filter(accounts::account_id.eq_any(chunk))
            .select((accounts::account_id, accounts::change_seq, accounts::consent_seq))
            .order(accounts::account_id.asc())
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}
