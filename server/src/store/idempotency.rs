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

/// Claims `key_hash` for `answer` inside the caller's write transaction:
/// purges answers older than `purge_before` (an expired answer for the same
/// key among them), then `INSERT … ON CONFLICT DO NOTHING`. `true` if this
/// call claimed the key (its answer commits or rolls back with the
/// transaction), `false` if an answer for the key is stored already (read it
/// with [`find`]).
///
/// Two transactions claiming one key never both win: on SQLite write
/// transactions run one at a time (`BEGIN IMMEDIATE`), so the second sees the
/// first's committed row; on PostgreSQL the second insert waits on the unique
/// key until the first transaction ends, and inserts nothing if it committed
/// (it wins if the first rolled back).
pub fn claim(
    conn: &mut DbConnection,
    key_hash: &str,
    answer: &StoredAnswer,
    now: i64,
    purge_before: i64,
) -> QueryResult<bool> {
    diesel::delete(idempotent_requests::table.filter(idempotent_requests::created_at.lt(purge_before)))
        .execute(conn)?;
    let row = (
        idempotent_requests::key_hash.eq(key_hash),
        idempotent_requests::endpoint.eq(&answer.endpoint),
        idempotent_requests::fingerprint.eq(&answer.fingerprint),
        idempotent_requests::response.eq(&answer.response),
        idempotent_requests::created_at.eq(now),
    );
    let inserted = crate::on_backend!(conn, c => diesel::insert_into(idempotent_requests::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open, write_transaction};

    fn answer(response: &str) -> StoredAnswer {
        StoredAnswer { endpoint: "create-account".into(), fingerprint: "f".into(), response: response.into() }
    }

    crate::store_test! {
        fn a_key_is_claimed_once_and_the_first_answer_stays(test_db) {
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let claimed = write_transaction(&mut conn, |c| claim(c, "k", &answer("first"), 1_000, 0)).unwrap();
            assert!(claimed);
            let again = write_transaction(&mut conn, |c| claim(c, "k", &answer("second"), 2_000, 0)).unwrap();
            assert!(!again, "the second claim of a key loses");
            assert_eq!(find(&mut conn, "k", 0).unwrap(), Some(answer("first")));
            assert!(write_transaction(&mut conn, |c| claim(c, "other", &answer("x"), 2_000, 0)).unwrap());
        }
    }

    crate::store_test! {
        fn a_claim_rolled_back_with_its_transaction_leaves_the_key_free(test_db) {
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let failed: Result<(), diesel::result::Error> = write_transaction(&mut conn, |c| {
                assert!(claim(c, "k", &answer("lost"), 1_000, 0)?);
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(failed.is_err());
            assert_eq!(find(&mut conn, "k", 0).unwrap(), None);
            assert!(write_transaction(&mut conn, |c| claim(c, "k", &answer("kept"), 2_000, 0)).unwrap());
            assert_eq!(find(&mut conn, "k", 0).unwrap(), Some(answer("kept")));
        }
    }

    crate::store_test! {
        fn an_expired_answer_is_purged_and_its_key_can_be_claimed_again(test_db) {
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            assert!(write_transaction(&mut conn, |c| claim(c, "k", &answer("old"), 1_000, 0)).unwrap());
            assert_eq!(find(&mut conn, "k", 1_001).unwrap(), None, "expired answers are not found");
            assert!(write_transaction(&mut conn, |c| claim(c, "k", &answer("new"), 5_000, 1_001)).unwrap());
            assert_eq!(find(&mut conn, "k", 1_001).unwrap(), Some(answer("new")));
        }
    }

    crate::store_test! {
        fn a_claim_racing_an_uncommitted_claim_of_the_same_key_gets_that_transactions_outcome(test_db) {
            let (pool, _) = open(&test_db.target, 2).unwrap();
            for first_commits in [true, false] {
                let key = if first_commits { "committed" } else { "rolled-back" };
                let (claimed, claimed_seen) = std::sync::mpsc::channel();
                let first = {
                    let pool = pool.clone();
                    std::thread::spawn(move || {
                        let mut conn = pool.get().unwrap();
                        let _: Result<(), diesel::result::Error> = write_transaction(&mut conn, |c| {
                            assert!(claim(c, key, &answer("first"), 1_000, 0)?);
                            claimed.send(()).unwrap();
                            std::thread::sleep(std::time::Duration::from_millis(300));
                            if first_commits {
                                Ok(())
                            } else {
                                Err(diesel::result::Error::RollbackTransaction)
                            }
                        });
                    })
                };
                claimed_seen.recv().unwrap();
                // The first transaction holds its claim, uncommitted: the second waits for its outcome.
                let mut conn = pool.get().unwrap();
                let second = write_transaction(&mut conn, |c| claim(c, key, &answer("second"), 2_000, 0)).unwrap();
                first.join().unwrap();
                assert_eq!(second, !first_commits, "the second claim wins only if the first rolled back");
                let stays = if first_commits { "first" } else { "second" };
                assert_eq!(find(&mut conn, key, 0).unwrap(), Some(answer(stays)));
            }
        }
    }
}
