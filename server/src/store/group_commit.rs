//! Group commit: small writes of concurrent requests committed together.
//!
//! A request that must see its write committed before it answers (a FHIR
//! read's audit events) hands the write to [`GroupCommit::write`] as a job (a
//! value of a [`Batched`] type) and waits. The first waiting request with no
//! batch in flight becomes the *leader*: it takes every job queued so far,
//! writes them all at once ([`Batched::write_all`]: a FHIR read's audit
//! events cost two statements per batch, not two per read) on its own
//! connection in one [`write_transaction`], commits once, and hands each job
//! its result. If the batch fails, it is rolled back and run again with each
//! job written alone in a savepoint of its own, so a failing job is rolled back
//! alone and gets its own error. Jobs queued meanwhile wait for the next
//! leader, one of themselves. So under load one commit (one writer
//! turn on SQLite, one WAL flush on PostgreSQL) serves many requests, and
//! alone a request commits at once, as before: nothing waits on a timer.
//!
//! A job's result is what its own statements answered and, if they
//! succeeded, whether the commit did: `Ok` only once the batch holding it is
//! committed. The app keeps one [`GroupCommit`] per kind of job and pool: nothing
//! process-global.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel::Connection;

use super::{write_transaction, DbConnection, QueryResult, WriteConnection};

/// A kind of job that can be written many at a time.
pub trait Batched: Send + Sized {
    /// Writes `jobs` (one or many, in queue order) inside the batch's transaction.
    fn write_all(conn: &mut DbConnection, jobs: &[&Self]) -> QueryResult<()>;
}

/// The jobs of one kind waiting to be committed, and who commits them.
pub struct GroupCommit<J> {
    state: Mutex<State<J>>,
    finished: Condvar,
}

impl<J> Default for GroupCommit<J> {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::new(State { queue: Vec::new(), leading: false, next_ticket: 0, results: HashMap::new() }),
            finished: Condvar::new(),
        }
    }
}

struct State<J> {
    queue: Vec<(u64, J)>,
    leading: bool,
    next_ticket: u64,
    results: HashMap<u64, QueryResult<()>>,
}

/// Resets `leading` (and fails the batch's jobs) if a leader unwinds mid-batch,
/// so the others are not left waiting for it.
struct Leading<'a, J> {
    group: &'a GroupCommit<J>,
    tickets: Vec<u64>,
    finished: bool,
}

impl<J> Drop for Leading<'_, J> {
    fn drop(&mut self) {
        if !self.finished {
            let mut state = self.group.state.lock().unwrap_or_else(|p| p.into_inner());
            for t in &self.tickets {
                state.results.entry(*t).or_insert_with(|| Err(failed("the batch's leader failed")));
            }
            state.leading = false;
            self.group.finished.notify_all();
        }
    }
}

fn failed(why: &str) -> DbError {
    DbError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(why.to_owned()))
}

impl<J: Batched> GroupCommit<J> {
    /// Writes `job` in a write transaction shared with the jobs of concurrent callers and returns
    /// once that transaction is committed (or `job` failed). `conn` is the caller's pooled
    /// connection: it commits the batch if the caller becomes the leader. Top level only (not
    /// inside another transaction).
    pub fn write<C: WriteConnection + ?Sized>(&self, conn: &mut C, job: J) -> QueryResult<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push((ticket, job));
        loop {
            if let Some(result) = state.results.remove(&ticket) {
                return result;
            }
            if !state.leading {
                state.leading = true;
                let batch = std::mem::take(&mut state.queue);
                drop(state);
                let mut guard =
                    Leading { group: self, tickets: batch.iter().map(|(t, _)| *t).collect(), finished: false };
                let results = commit_batch(conn, batch);
                state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state.results.extend(results);
                for t in &guard.tickets {
                    state.results.entry(*t).or_insert_with(|| Err(failed("the batch's transaction did not start")));
                }
                state.leading = false;
                guard.finished = true;
                self.finished.notify_all();
                continue;
            }
            state = self.finished.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Writes a batch in one transaction, all jobs at once; if that fails, each job alone in a
/// savepoint of its own (a batch of one: its error is its answer). The jobs' results.
fn commit_batch<J: Batched, C: WriteConnection + ?Sized>(
    conn: &mut C,
    batch: Vec<(u64, J)>,
) -> Vec<(u64, QueryResult<()>)> {
    let jobs: Vec<&J> = batch.iter().map(|(_, job)| job).collect();
    match write_transaction(conn, |conn| J::write_all(conn, &jobs)) {
        Ok(()) => batch.iter().map(|(ticket, _)| (*ticket, Ok(()))).collect(),
        Err(e) if batch.len() == 1 => vec![(batch[0].0, Err(e))],
        Err(_) => commit_isolated(conn, &batch),
    }
}

/// The batch again after it failed: each job in a savepoint of its own, so only failing jobs
/// are rolled back; one commit for the rest.
fn commit_isolated<J: Batched, C: WriteConnection + ?Sized>(
    conn: &mut C,
    batch: &[(u64, J)],
) -> Vec<(u64, QueryResult<()>)> {
    let mut outcomes: Vec<(u64, QueryResult<()>)> = Vec::with_capacity(batch.len());
    let committed = write_transaction(conn, |conn| {
        for (ticket, job) in batch {
            outcomes.push((*ticket, conn.transaction(|c| J::write_all(c, &[job]))));
        }
        Ok::<(), DbError>(())
    });
    let commit_error = committed.err().map(|e| e.to_string());
    let mut results: Vec<(u64, QueryResult<()>)> = outcomes
        .into_iter()
        .map(|(ticket, result)| {
            let result = match (result, &commit_error) {
                (Err(e), _) => Err(e),
                (Ok(()), Some(why)) => Err(failed(why)),
                (Ok(()), None) => Ok(()),
            };
            (ticket, result)
        })
        .collect();
    // Jobs not reached (the transaction did not start): the batch's error.
    for (ticket, _) in batch.iter().skip(results.len()) {
        results
            .push((*ticket, Err(failed(commit_error.as_deref().unwrap_or("the batch's transaction did not start")))));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::{Batched, GroupCommit};
    use crate::app::audit::{append_all, verify_account, AuditAction, AuditOutcome, NewAuditEvent};
    use crate::store::{DbConnection, QueryResult};

    /// An audit event of `account` at `at`, written with the events of concurrent jobs.
    struct AuditJob {
        account: &'static str,
        at: i64,
    }

    impl Batched for AuditJob {
        fn write_all(conn: &mut DbConnection, jobs: &[&Self]) -> QueryResult<()> {
            let event = NewAuditEvent::new("organization:o", AuditAction::FhirRead, AuditOutcome::Success);
            let events: Vec<_> = jobs.iter().map(|j| (j.account, j.at, &event)).collect();
            append_all(conn, &events).map(|_| ())
        }
    }

    crate::store_test! {
        fn concurrent_grouped_writes_all_commit_in_one_chain_and_a_failing_job_fails_alone_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 6).unwrap();
            let group = std::sync::Arc::new(GroupCommit::<AuditJob>::default());
            crate::store::accounts::insert_account(&mut pool.get().unwrap(), "acc", &[1; 32], 1).unwrap();
            crate::store::accounts::insert_account(&mut pool.get().unwrap(), "other", &[2; 32], 1).unwrap();
            let writers: Vec<_> = (0..24i64)
                .map(|i| {
                    let (pool, group) = (pool.clone(), group.clone());
                    std::thread::spawn(move || {
                        let mut conn = pool.get().unwrap();
                        // Job 5 names an account that does not exist: its append fails.
                        let account = match i {
                            5 => "no-such-account",
                            _ if i % 3 == 0 => "other",
                            _ => "acc",
                        };
                        group.write(&mut conn, AuditJob { account, at: i })
                    })
                })
                .collect();
            let results: Vec<bool> = writers.into_iter().map(|w| w.join().unwrap().is_ok()).collect();
            assert_eq!(results.iter().filter(|ok| !**ok).count(), 1, "{results:?}");
            assert!(!results[5]);
            let mut conn = pool.get().unwrap();
            assert_eq!(verify_account(&mut conn, "acc").unwrap(), 15, "every other job committed, the chain verifies");
            assert_eq!(verify_account(&mut conn, "other").unwrap(), 8, "the second account's chain too");
        }
    }
}
