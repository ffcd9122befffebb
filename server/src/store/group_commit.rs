//! Group commit: small writes of concurrent requests committed together.
//!
//! A request that must see its write committed before it answers (a FHIR
//! read's audit event) hands the write to [`GroupCommit::write`] as a job and
//! waits. The first waiting request with no batch in flight becomes the
//! *leader*: it takes every job queued so far, runs them on its own
//! connection in one [`write_transaction`], commits once, and hands each job
//! its result. Jobs run bare, one after the other (a savepoint per job would
//! cost two more statements each); if one fails, the batch is rolled back and
//! run again with each job in a savepoint of its own, so the failing job is
//! rolled back alone and gets its own error (a job is `Fn`: it can run twice). Jobs queued meanwhile wait for
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
pub type Job = Box<dyn Fn(&mut DbConnection) -> QueryResult<()> + Send>;

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
    // First bare: every job's statements in the one transaction. A failing job (or a failing
    // commit) makes this `Err`, with what the failing job answered kept aside.
    let mut job_error: Option<(u64, DbError)> = None;
    let bare = write_transaction(conn, |conn| {
        for (ticket, job) in &batch {
            if let Err(e) = job(conn) {
                let why = failed(&e.to_string());
                job_error = Some((*ticket, e));
                return Err(why);
            }
        }
        Ok::<(), DbError>(())
    });
    match (bare, job_error) {
        (Ok(()), _) => batch.into_iter().map(|(ticket, _)| (ticket, Ok(()))).collect(),
        // A batch of one needs no second run: the job's own error is its answer.
        (Err(_), Some((ticket, e))) if batch.len() == 1 => vec![(ticket, Err(e))],
        (Err(_), Some(_)) => commit_isolated(conn, batch),
        (Err(e), None) => {
            let why = e.to_string();
            batch.into_iter().map(|(ticket, _)| (ticket, Err(failed(&why)))).collect()
        }
    }
}

/// The batch again after one of its jobs failed: each job in a savepoint of its own, so only
/// failing jobs are rolled back; one commit for the rest.
fn commit_isolated<C: WriteConnection + ?Sized>(conn: &mut C, batch: Vec<(u64, Job)>) -> Vec<(u64, QueryResult<()>)> {
    let mut outcomes: Vec<(u64, QueryResult<()>)> = Vec::with_capacity(batch.len());
    let committed = write_transaction(conn, |conn| {
        for (ticket, job) in &batch {
            outcomes.push((*ticket, conn.transaction(|c| job(c))));
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
