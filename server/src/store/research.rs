//! The `research_exports` table: one row per export job (state, progress, manifest, and
//! which node's run holds it).

use diesel::prelude::*;

use crate::store::schema::research_exports;
use crate::store::DbConnection;

/// Job states. `queued`/`running` are unfinished; the rest are final.
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";
pub const EXPIRED: &str = "expired";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = research_exports)]
pub struct ExportRow {
    pub export_id: String,
    pub organization_id: String,
    pub state: String,
    pub request_json: String,
    pub progress: i64,
    pub records_done: i64,
    pub manifest_json: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
    /// The claim token of the run holding a running job (`None` while queued).
    pub claim: Option<String>,
    /// How many times the job was claimed.
    pub attempts: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ExportRow) -> QueryResult<()> {
    diesel::insert_into(research_exports::table).values(row).execute(conn).map(|_| ())
}

pub fn get(conn: &mut DbConnection, export_id: &str) -> QueryResult<Option<ExportRow>> {
    research_exports::table.find(export_id).select(ExportRow::as_select()).first(conn).optional()
}

/// Moves a job from one of `from` to `to`; false when it was in none of them (e.g. cancelled meanwhile).
pub fn transition(
    conn: &mut DbConnection,
    export_id: &str,
    from: &[&str],
    to: &str,
    error: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq_any(from))
        .set((research_exports::state.eq(to), research_exports::error.eq(error), research_exports::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Claims the oldest queued job for the run `claim`: it becomes running, held by that run.
/// On PostgreSQL the candidate row is locked with `FOR UPDATE SKIP LOCKED`, so nodes claiming
/// at once each take a different job without waiting for one another; on SQLite one process
/// owns the database. The update is conditioned on the job still being queued either way, so
/// a job is claimed by exactly one run.
pub fn claim_next<C>(conn: &mut C, claim: &str, now: i64) -> QueryResult<Option<ExportRow>>
where
    C: crate::store::WriteConnection + ?Sized,
{
    let oldest_queued = || {
        research_exports::table
            .filter(research_exports::state.eq(QUEUED))
            .order((research_exports::created_at.asc(), research_exports::export_id.asc()))
            .select(research_exports::export_id)
    };
    let claim_one = |conn: &mut DbConnection, export_id: String| -> QueryResult<Option<ExportRow>> {
        let claimed = diesel::update(research_exports::table.find(&export_id))
            .filter(research_exports::state.eq(QUEUED))
            .set((
                research_exports::state.eq(RUNNING),
                research_exports::claim.eq(claim),
                research_exports::attempts.eq(research_exports::attempts + 1),
                research_exports::progress.eq(0),
                research_exports::records_done.eq(0),
                research_exports::updated_at.eq(now),
            ))
            .execute(conn)?;
        if claimed == 1 {
            get(conn, &export_id)
        } else {
            Ok(None)
        }
    };
    crate::store::write_transaction(conn, |conn| {
        let candidate = match conn {
            DbConnection::Postgresql(c) => oldest_queued().for_update().skip_locked().first::<String>(c).optional()?,
            DbConnection::Sqlite(c) => oldest_queued().first::<String>(c).optional()?,
        };
        match candidate {
            Some(export_id) => claim_one(conn, export_id),
            None => Ok(None),
        }
    })
}

/// Records progress of a running job held by `claim`; false when the job is no longer running
/// (cancelled) or no longer held by that run (taken over).
pub fn progress(
    conn: &mut DbConnection,
    export_id: &str,
    claim: &str,
    percent: i64,
    records: i64,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .filter(research_exports::claim.eq(claim))
        .set((
            research_exports::progress.eq(percent),
            research_exports::records_done.eq(records),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks a running job held by `claim` completed with its manifest; false when it was
/// cancelled or taken over meanwhile.
pub fn complete(
    conn: &mut DbConnection,
    export_id: &str,
    claim: &str,
    manifest: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .filter(research_exports::claim.eq(claim))
        .set((
            research_exports::state.eq(COMPLETED),
            research_exports::progress.eq(100),
            research_exports::manifest_json.eq(manifest),
            research_exports::expires_at.eq(expires_at),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// How many unfinished jobs an organization has.
pub fn unfinished_of(conn: &mut DbConnection, organization_id: &str) -> QueryResult<i64> {
    research_exports::table
        .filter(research_exports::organization_id.eq(organization_id))
        .filter(research_exports::state.eq_any([QUEUED, RUNNING]))
        .count()
        .get_result(conn)
}

/// Refreshes `updated_at` of the running jobs held by the runs in `claims` (the heartbeat of
/// the process running them).
pub fn heartbeat(conn: &mut DbConnection, claims: &[String], now: i64) -> QueryResult<usize> {
    if claims.is_empty() {
        return Ok(0);
    }
    diesel::update(research_exports::table)
        .filter(research_exports::claim.eq_any(claims))
        .filter(research_exports::state.eq(RUNNING))
        .set(research_exports::updated_at.eq(now))
        .execute(conn)
}

/// A running job whose heartbeat stopped: its id, claim token and how often it was claimed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StaleJob {
    pub export_id: String,
    pub claim: String,
    pub attempts: i64,
}

/// Running jobs not updated since `before` (the process running them is gone).
pub fn stale(conn: &mut DbConnection, before: i64) -> QueryResult<Vec<StaleJob>> {
    research_exports::table
        .filter(research_exports::state.eq(RUNNING))
        .filter(research_exports::updated_at.lt(before))
        .filter(research_exports::claim.is_not_null())
        .select((research_exports::export_id, research_exports::claim.assume_not_null(), research_exports::attempts))
        .order(research_exports::export_id.asc())
        .load(conn)
}

/// Queues a stale running job again (for any node to claim), unless another run claimed or
/// refreshed it meanwhile; false then.
pub fn requeue(conn: &mut DbConnection, export_id: &str, claim: &str, before: i64, now: i64) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .filter(research_exports::claim.eq(claim))
        .filter(research_exports::updated_at.lt(before))
        .set((
            research_exports::state.eq(QUEUED),
            research_exports::claim.eq(None::<String>),
            research_exports::progress.eq(0),
            research_exports::records_done.eq(0),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Fails a running job held by `claim` that was last refreshed before `before` (`i64::MAX`: any
/// time); false when it was cancelled, taken over or refreshed meanwhile.
pub fn fail(
    conn: &mut DbConnection,
    export_id: &str,
    claim: &str,
    before: i64,
    error: &str,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(research_exports::table.find(export_id))
        .filter(research_exports::state.eq(RUNNING))
        .filter(research_exports::claim.eq(claim))
        .filter(research_exports::updated_at.lt(before))
        .set((
            research_exports::state.eq(FAILED),
            research_exports::error.eq(error),
            research_exports::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Ids of completed jobs whose retention period ended before `now`.
pub fn expired(conn: &mut DbConnection, now: i64) -> QueryResult<Vec<String>> {
    research_exports::table
        .filter(research_exports::state.eq(COMPLETED))
        .filter(research_exports::expires_at.lt(now))
        .select(research_exports::export_id)
        .load(conn)
}

/// The heartbeat time before which a running job counts as orphaned (its
/// process gone). On SQLite one server owns the database, so at start-up every
/// running job is; on PostgreSQL, where several servers may share the
/// database, only jobs whose heartbeat stopped `stale_after_ms` ago.
pub fn orphaned_before(conn: &DbConnection, now_ms: i64, stale_after_ms: i64) -> i64 {
    match conn {
        DbConnection::Sqlite(_) => i64::MAX,
        DbConnection::Postgresql(_) => now_ms - stale_after_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(export_id: &str, created_at: i64) -> ExportRow {
        ExportRow {
            export_id: export_id.into(),
            organization_id: "org".into(),
            state: QUEUED.into(),
            request_json: "{}".into(),
            progress: 0,
            records_done: 0,
            manifest_json: None,
            error: None,
            created_at,
            updated_at: created_at,
            expires_at: None,
            claim: None,
            attempts: 0,
        }
    }

    crate::store_test! {
        fn a_queued_job_is_claimed_by_one_run_and_only_that_run_writes_it(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            insert(&mut conn, &queued("older", 1)).unwrap();
            insert(&mut conn, &queued("newer", 2)).unwrap();
            let first = claim_next(&mut conn, "run-a", 10).unwrap().expect("the oldest queued job");
            assert_eq!((first.export_id.as_str(), first.state.as_str()), ("older", RUNNING));
            assert_eq!((first.claim.as_deref(), first.attempts), (Some("run-a"), 1));
            let second = claim_next(&mut conn, "run-b", 11).unwrap().expect("the next one");
            assert_eq!(second.export_id, "newer");
            assert!(claim_next(&mut conn, "run-c", 12).unwrap().is_none(), "nothing left to claim");

            assert!(!progress(&mut conn, "older", "run-b", 50, 5, 13).unwrap(), "another run's job");
            assert!(!complete(&mut conn, "older", "run-b", "{}", 99, 13).unwrap());
            assert!(!fail(&mut conn, "older", "run-b", i64::MAX, "no", 13).unwrap());
            assert!(progress(&mut conn, "older", "run-a", 50, 5, 13).unwrap());
            assert!(complete(&mut conn, "older", "run-a", "{}", 99, 14).unwrap());
            assert_eq!(get(&mut conn, "older").unwrap().unwrap().state, COMPLETED);
        }
    }

    crate::store_test! {
        fn a_job_whose_node_stopped_is_queued_again_and_its_old_run_can_no_longer_write(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            insert(&mut conn, &queued("job", 1)).unwrap();
            claim_next(&mut conn, "dead-run", 10).unwrap().unwrap();
            assert_eq!(heartbeat(&mut conn, &["dead-run".into()], 20).unwrap(), 1);
            assert!(stale(&mut conn, 20).unwrap().is_empty(), "refreshed at 20: not stale before 20");
            let found = stale(&mut conn, 30).unwrap();
            assert_eq!(found, [StaleJob { export_id: "job".into(), claim: "dead-run".into(), attempts: 1 }]);
            // A refresh between finding it and queueing it again wins: the run is alive.
            heartbeat(&mut conn, &["dead-run".into()], 40).unwrap();
            assert!(!requeue(&mut conn, "job", &found[0].claim, 30, 41).unwrap());
            let found = stale(&mut conn, 50).unwrap();
            assert!(requeue(&mut conn, "job", &found[0].claim, 50, 51).unwrap());
            let row = get(&mut conn, "job").unwrap().unwrap();
            assert_eq!((row.state.as_str(), row.claim, row.progress), (QUEUED, None, 0));
            assert!(!progress(&mut conn, "job", "dead-run", 60, 1, 52).unwrap(), "the old run is fenced off");

            let taken = claim_next(&mut conn, "new-run", 60).unwrap().unwrap();
            assert_eq!(taken.attempts, 2);
            assert!(!complete(&mut conn, "job", "dead-run", "{}", 99, 61).unwrap());
            let found = stale(&mut conn, 70).unwrap();
            assert!(fail(&mut conn, "job", &found[0].claim, 70, "interrupted", 71).unwrap());
            let row = get(&mut conn, "job").unwrap().unwrap();
            assert_eq!((row.state.as_str(), row.error.as_deref()), (FAILED, Some("interrupted")));
        }
    }

    crate::store_test! {
        fn nodes_claiming_at_once_each_take_a_different_job_and_no_job_twice(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 8).unwrap();
            {
                let mut conn = pool.get().unwrap();
                for i in 0..4 {
                    insert(&mut conn, &queued(&format!("job-{i}"), i)).unwrap();
                }
            }
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let claimers: Vec<_> = (0..8)
                .map(|n| {
                    let (pool, barrier) = (pool.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut conn = pool.get().unwrap();
                        barrier.wait();
                        claim_next(&mut conn, &format!("run-{n}"), 100).unwrap().map(|j| j.export_id)
                    })
                })
                .collect();
            let mut claimed: Vec<String> = claimers.into_iter().filter_map(|c| c.join().unwrap()).collect();
            claimed.sort();
            assert_eq!(claimed, ["job-0", "job-1", "job-2", "job-3"], "each job once, every job");
        }
    }
}
