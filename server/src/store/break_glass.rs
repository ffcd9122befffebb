//! Break-glass rows: the keyed hashes of the identifiers families registered, and the
//! emergency departments' time-boxed sessions (the rules are in `crate::app::break_glass`).

use diesel::prelude::*;

use crate::store::schema::{break_glass_sessions, emergency_identifiers};
use crate::store::DbConnection;

/// Replaces the account's registered identifiers with `entries` (`(lookup hash, subject)`).
pub fn replace_identifiers(conn: &mut DbConnection, account_id: &str, entries: &[(String, String)]) -> QueryResult<()> {
    diesel::delete(emergency_identifiers::table.filter(emergency_identifiers::account_id.eq(account_id)))
        .execute(conn)?;
    let rows: Vec<_> = entries
        .iter()
        .map(|(hash, subject)| {
            (
                emergency_identifiers::lookup_hash.eq(hash),
                emergency_identifiers::account_id.eq(account_id),
                emergency_identifiers::subject.eq(subject),
            )
        })
        .collect();
    // At most a hundred rows (the request limit): one statement each on either backend.
    for row in rows {
        diesel::insert_into(emergency_identifiers::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// How many identifiers the account has registered.
pub fn identifier_count(conn: &mut DbConnection, account_id: &str) -> QueryResult<i64> {
    emergency_identifiers::table.filter(emergency_identifiers::account_id.eq(account_id)).count().get_result(conn)
}

/// `(account, subject)` of every registration of `lookup_hash`, in order.
pub fn holders(conn: &mut DbConnection, lookup_hash: &str) -> QueryResult<Vec<(String, String)>> {
    emergency_identifiers::table
        .filter(emergency_identifiers::lookup_hash.eq(lookup_hash))
        .select((emergency_identifiers::account_id, emergency_identifiers::subject))
        .order((emergency_identifiers::account_id, emergency_identifiers::subject))
        .load(conn)
}

/// The organization's session for the subject: `(opened_at, expires_at)`, if it ever had one.
pub fn session(
    conn: &mut DbConnection,
    organization_id: &str,
    account_id: &str,
    subject: &str,
) -> QueryResult<Option<(i64, i64)>> {
    break_glass_sessions::table
        .find((organization_id, account_id, subject))
        .select((break_glass_sessions::opened_at, break_glass_sessions::expires_at))
        .first(conn)
        .optional()
}

/// Opens (or, after an earlier one ended, reopens) the organization's session for the subject.
pub fn open_session(
    conn: &mut DbConnection,
    organization_id: &str,
    account_id: &str,
    subject: &str,
    opened_at: i64,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::delete(break_glass_sessions::table.find((organization_id, account_id, subject))).execute(conn)?;
    diesel::insert_into(break_glass_sessions::table)
        .values((
            break_glass_sessions::organization_id.eq(organization_id),
            break_glass_sessions::account_id.eq(account_id),
            break_glass_sessions::subject.eq(subject),
            break_glass_sessions::opened_at.eq(opened_at),
            break_glass_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_test! {
        fn identifiers_are_replaced_per_account_and_sessions_reopen_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            for account in ["a", "b"] {
                crate::store::accounts::insert_account(&mut conn, account, &[1; 32], 1).unwrap();
            }
            replace_identifiers(&mut conn, "a", &[("h1".into(), "mother".into()), ("h2".into(), "mother".into())]).unwrap();
            replace_identifiers(&mut conn, "b", &[("h1".into(), "mother".into())]).unwrap();
            assert_eq!(holders(&mut conn, "h1").unwrap(), [("a".into(), "mother".into()), ("b".into(), "mother".into())]);
            replace_identifiers(&mut conn, "a", &[("h3".into(), "mother".into())]).unwrap();
            assert_eq!(identifier_count(&mut conn, "a").unwrap(), 1, "the earlier set is replaced");
            assert_eq!(holders(&mut conn, "h1").unwrap(), [("b".into(), "mother".into())]);
            assert!(holders(&mut conn, "h2").unwrap().is_empty());

            assert_eq!(session(&mut conn, "er", "a", "mother").unwrap(), None);
            open_session(&mut conn, "er", "a", "mother", 10, 20).unwrap();
            assert_eq!(session(&mut conn, "er", "a", "mother").unwrap(), Some((10, 20)));
            open_session(&mut conn, "er", "a", "mother", 30, 40).unwrap();
            assert_eq!(session(&mut conn, "er", "a", "mother").unwrap(), Some((30, 40)), "reopened");
            assert_eq!(session(&mut conn, "other-er", "a", "mother").unwrap(), None, "per organization");
        }
    }
}
