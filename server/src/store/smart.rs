//! Client assertion ids seen per organization (`smart_client_assertions`),
//! kept until the assertion has expired (plus clock skew): a jti is used once.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::store::schema::smart_client_assertions as seen;
use crate::store::DbConnection;

/// Records `jti` of `organization_id`, valid until `expires_at` (epoch s).
/// Returns false (and changes nothing) if it was seen before: a replay.
/// First drops every row whose assertion can no longer verify anyway.
pub fn record_jti(
    conn: &mut DbConnection,
    organization_id: &str,
    jti: &str,
    expires_at: i64,
    purge_before: i64,
) -> QueryResult<bool> {
    diesel::delete(seen::table.filter(seen::expires_at.lt(purge_before))).execute(conn)?;
    let inserted = diesel::insert_into(seen::table)
        .values((seen::organization_id.eq(organization_id), seen::jti.eq(jti), seen::expires_at.eq(expires_at)))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &mut DbConnection) -> i64 {
        seen::table.count().get_result(conn).unwrap()
    }

    crate::store_test! {
        fn a_jti_is_accepted_once_per_organization_and_expired_ones_are_purged_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            assert!(record_jti(&mut conn, "org-a", "j1", 1_000, 0).unwrap());
            assert!(!record_jti(&mut conn, "org-a", "j1", 1_000, 0).unwrap(), "replay");
            assert!(record_jti(&mut conn, "org-b", "j1", 1_000, 0).unwrap(), "another organization's jti space");
            assert!(record_jti(&mut conn, "org-a", "j2", 2_000, 0).unwrap());
            assert_eq!(count(&mut conn), 3);
            // Rows expiring before 1_500 go; the one still live stays a replay.
            assert!(record_jti(&mut conn, "org-a", "j3", 3_000, 1_500).unwrap());
            assert_eq!(count(&mut conn), 2);
            assert!(!record_jti(&mut conn, "org-a", "j2", 2_000, 1_500).unwrap());
        }
    }
}
