//! The queries of the FHIR API beyond the record reads of `app::consent::access`:
//! who gave an organization grants, which family holds a record, the change
//! counters a cached search answer is checked against, and a family's audit log.

use diesel::prelude::*;

use crate::store::schema::{accounts, consent_grants, record_owners, records};
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
/// more than one; almost always one or none), in account order. On PostgreSQL, where `records`
/// is partitioned by family, one lookup in `record_owners`; on SQLite the records' own index.
pub fn record_owners(conn: &mut DbConnection, record_id: &str) -> QueryResult<Vec<String>> {
    match conn {
        DbConnection::Postgresql(c) => record_owners::table
            .filter(record_owners::record_id.eq(record_id))
            .select(record_owners::account_id)
            .order(record_owners::account_id.asc())
            .load(c),
        DbConnection::Sqlite(c) => records::table
            .filter(records::record_id.eq(record_id))
            .select(records::account_id)
            .order(records::account_id.asc())
            .load(c),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store_record(conn: &mut DbConnection, account_id: &str, record_id: &str) {
        diesel::insert_into(records::table)
            .values((
                records::account_id.eq(account_id),
                records::record_id.eq(record_id),
                records::kind.eq("growth_measurement"),
                records::subject.eq("child:1"),
                records::effective_date.eq(None::<String>),
                records::version.eq(1),
                records::seq.eq(1 + record_id.len() as i64),
                records::deleted.eq(false),
                records::envelope.eq(vec![1u8]),
                records::wrapped_key.eq(vec![2u8]),
                records::device_id.eq("d"),
                records::updated_at.eq(1),
            ))
            .execute(conn)
            .unwrap();
    }

    crate::store_test! {
        fn the_families_holding_a_record_id_are_found_by_it_alone_and_an_erased_family_is_forgotten(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            for account in ["fam-a", "fam-b", "fam-c"] {
                crate::store::accounts::insert_account(&mut conn, account, &[1; 32], 1).unwrap();
            }
            store_record(&mut conn, "fam-b", "shared-id");
            store_record(&mut conn, "fam-a", "shared-id");
            store_record(&mut conn, "fam-c", "own-id");
            // A new version of a record adds no holder.
            diesel::update(records::table.find(("fam-a", "shared-id")))
                .set((records::version.eq(2), records::seq.eq(99)))
                .execute(&mut *conn)
                .unwrap();
            assert_eq!(record_owners(&mut conn, "shared-id").unwrap(), ["fam-a", "fam-b"]);
            assert_eq!(record_owners(&mut conn, "own-id").unwrap(), ["fam-c"]);
            assert!(record_owners(&mut conn, "unknown").unwrap().is_empty());
            crate::store::accounts::delete_account(&mut conn, "fam-a").unwrap();
            assert_eq!(record_owners(&mut conn, "shared-id").unwrap(), ["fam-b"]);
        }
    }
}
