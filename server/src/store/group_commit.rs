//! Group commit: small writes of concurrent requests committed together.
//!
//! A request that must see its write committed before it answers (a FHIR
//! read's audit event) hands the write to [`GroupCommit::write`] as a job and
//! waits. The first waiting request with no batch in flight becomes the
//! *leader*: it takes every job queued so far, runs them on its own
//! connection in one [`write_transaction`] (each job in a savepoint of its
//! own — a batch of one job needs none — so a failing job is rolled back alone and gets its own error),
//! commits once, and hands each job its result. Jobs queued meanwhile wait for
//! the next leader, one of themselves. So under load one commit (one writer
//! turn on SQLite, one WAL flush on PostgreSQL) serves many requests, and
//! alone a request commits at once, as before: nothing waits on a timer.
//!
//! A job's result is what its own statements answered and, if they
//! succeeded, whether the commit did: `Ok` only once the batch holding it is
//! committed. One [`GroupCommit`] per [`super::DbPool`]: nothing process-global.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel::Connection;

use super::{write_transaction, DbConnection, QueryResult, WriteConnection};

/// One write of a batch.
pub type Job = Box<dyn FnOnce(&mut DbConnection) -> QueryResult<()> + Send>;

/// The jobs of one pool waiting to be committed, and who commits them.
#[derive(Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    finished: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<(u64, Job)>,
    leading: bool,
    next_ticket: u64,
    results: HashMap<u64, QueryResult<()>>,
}

/// Resets `leading` (and fails the batch's jobs) if a leader unwinds mid-batch,
/// so the others are not left waiting for it.
struct Leading<'a> {
    group: &'a GroupCommit,
    tickets: Vec<u64>,
    finished: bool,
}

impl Drop for Leading<'_> {
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

impl GroupCommit {
    /// Runs `job` in a write transaction shared with the jobs of concurrent callers and returns
    /// once that transaction is committed (or `job` failed). `conn` is the caller's pooled
    /// connection: it commits the batch if the caller becomes the leader. Top level only (not
    /// inside another transaction).
    pub fn write<C: WriteConnection + ?Sized>(&self, conn: &mut C, job: Job) -> QueryResult<()> {
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

/// Runs a batch in one transaction, each job in its own savepoint (a batch of one job: the
/// transaction is its savepoint); the jobs' results.
fn commit_batch<C: WriteConnection + ?Sized>(conn: &mut C, batch: Vec<(u64, Job)>) -> Vec<(u64, QueryResult<()>)> {
    let mut outcomes: Vec<(u64, Option<QueryResult<()>>)> = Vec::with_capacity(batch.len());
    let alone = batch.len() == 1;
    let committed = write_transaction(conn, |conn| {
        for (ticket, job) in batch {
            if alone {
                // Its failure rolls the whole transaction back: nothing else is in it.
                let result = job(conn);
                let failed_alone = result.as_ref().err().map(|e| failed(&e.to_string()));
                outcomes.push((ticket, Some(result)));
                if let Some(e) = failed_alone {
                    return Err(e);
                }
            } else {
                outcomes.push((ticket, Some(conn.transaction(|c| job(c)))));
            }
        }
        Ok::<(), DbError>(())
    });
    let commit_error = committed.err().map(|e| e.to_string());
    outcomes
        .into_iter()
        .map(|(ticket, result)| {
            let result = match (result.unwrap_or(Ok(())), &commit_error) {
                (Err(e), _) => Err(e),
                (Ok(()), Some(why)) => Err(failed(why)),
                (Ok(()), None) => Ok(()),
            };
            (ticket, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::app::audit::{append, verify_account, AuditAction, AuditOutcome, NewAuditEvent};

    crate::store_test! {
        fn concurrent_grouped_writes_all_commit_in_one_chain_and_a_failing_job_fails_alone_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 6).unwrap();
            crate::store::accounts::insert_account(&mut pool.get().unwrap(), "acc", &[1; 32], 1).unwrap();
            let writers: Vec<_> = (0..24i64)
                .map(|i| {
                    let pool = pool.clone();
                    std::thread::spawn(move || {
                        let mut conn = pool.get().unwrap();
                        // Job 5 names an account that does not exist: its append fails.
                        let account = if i == 5 { "no-such-account" } else { "acc" };
                        conn.write_grouped(Box::new(move |c| {
                            let event = NewAuditEvent::new("organization:o", AuditAction::FhirRead, AuditOutcome::Success);
                            append(c, account, i, &event).map(|_| ())
                        }))
                    })
                })
                .collect();
            let results: Vec<bool> = writers.into_iter().map(|w| w.join().unwrap().is_ok()).collect();
            assert_eq!(results.iter().filter(|ok| !**ok).count(), 1, "{results:?}");
            assert!(!results[5]);
            let mut conn = pool.get().unwrap();
            assert_eq!(verify_account(&mut conn, "acc").unwrap(), 23, "every other job committed, the chain verifies");
        }
    }
}
