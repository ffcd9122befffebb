//! Export jobs: queued rows in `research_exports`, claimed by one server node
//! at a time ([`claim_jobs`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL) and run
//! there on their own thread, in two streaming passes over the consented
//! records, writing `*.part` files that are renamed only when the whole
//! extract is complete. The per-extract pseudonym secret lives only in the
//! run's memory: a run cut off by its node's death is never resumed with
//! another secret nor delivered half-written; its job is queued again and run
//! from the start by whichever node claims it next (at most [`MAX_ATTEMPTS`]
//! claims, then it fails). Every write of a run is conditioned on its claim
//! token, and each run writes into its own directory, so a run whose job was
//! taken over changes nothing. Both passes go through the families in batches
//! on one worker thread per core (`in_batches`), each worker with its own
//! pooled connection; the job thread merges the results in family order, so
//! the files are the same as a single thread would write, and workers run
//! only a few batches ahead, so memory does not grow with the number of
//! records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use phr_core::consent::Purpose;
use phr_core::dataset::RecordKind;
use serde::{Deserialize, Serialize};

use super::deidentify::{rows, DeidConfig, EmitCounts, Plan, Pseudonymizer, SourceRecord, Survey};
use super::kickoff::{ignored_outcome, ExportType, Ignored};
use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::consent::access::{open_grants, readable_records, OpenGrant, RecordFilter};
use crate::app::error::AppError;
use crate::app::now_ms;
use crate::keys::KeyStore;
use crate::store::research::{self as store, ExportRow, StaleJob};
use crate::store::{write_transaction, DbConnection, DbPool, PooledDb, StoreError};

/// Records read per page from the consent access layer.
const PAGE: i64 = 1_000;
/// How often a running job writes its progress (and notices a cancel).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What the researcher asked for, as stored with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    /// The dataset modules to export (the kick-off's `module`).
    pub modules: Vec<RecordKind>,
    /// The FHIR resource types to write (the kick-off's `_type`).
    pub resources: Vec<ExportType>,
    /// The kick-off parameters ignored under `Prefer: handling=lenient` (the export's error file).
    pub ignored: Vec<Ignored>,
    /// Only records changed at or after this instant (epoch ms), from `_since`.
    pub since_ms: Option<i64>,
    /// The request URL, echoed in the manifest.
    pub request_url: String,
    pub k: usize,
}

/// One file of a completed export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    /// FHIR resource type (`Observation`, `Patient`; `OperationOutcome`: the error file), `csv:<module>`, or `report`.
    pub r#type: String,
    pub name: String,
    pub count: u64,
}

/// What a completed job stores: the manifest without URLs (they depend on the base URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredManifest {
    pub transaction_time: String,
    pub request_url: String,
    pub files: Vec<ExportFile>,
    pub k_reached: Option<usize>,
    pub l_reached: Option<usize>,
}

/// A running job refreshes its row at least this often (from the sweeper thread of its process).
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A running job whose row is older than this has lost its process (crash, restart).
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Most export jobs one server process runs at once; more wait in the queue for a free node.
pub const MAX_JOBS_PER_NODE: usize = 2;
/// How many times a job is claimed before it fails instead of being queued again.
pub const MAX_ATTEMPTS: i64 = 3;

/// Where export files live and how long they stay; the jobs this process runs.
#[derive(Debug, Clone)]
pub struct ResearchService {
    pub export_dir: PathBuf,
    pub k: usize,
    pub retention: Duration,
    /// The jobs this process runs: export id → the claim token of its run.
    running: Arc<Mutex<HashMap<String, String>>>,
    /// Held while claiming, so two threads of this process never claim past [`MAX_JOBS_PER_NODE`].
    claiming: Arc<Mutex<()>>,
}

impl ResearchService {
    pub fn new(data_dir: &Path, k: u32, retention_secs: u64) -> Self {
        ResearchService {
            export_dir: data_dir.join("research"),
            k: k as usize,
            retention: Duration::from_secs(retention_secs),
            running: Arc::default(),
            claiming: Arc::default(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory of one export (all its runs).
    pub fn dir(&self, export_id: &str) -> PathBuf {
        self.export_dir.join(export_id)
    }

    /// The directory the run `claim` writes an export's files in: one per run, so a run whose
    /// job was taken over never writes over the files of the run that holds it.
    pub fn run_dir(&self, export_id: &str, claim: &str) -> PathBuf {
        self.dir(export_id).join(claim)
    }

    /// Where a completed export's files are (exports finished before claims are directly in [`Self::dir`]).
    pub fn files_dir(&self, job: &ExportRow) -> PathBuf {
        match &job.claim {
            Some(claim) => self.run_dir(&job.export_id, claim),
            None => self.dir(&job.export_id),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Failed(format!("database error: {e}"))
    }
}

impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        JobError::Failed(format!("cannot read consented records: {e}"))
    }
}

impl From<std::io::Error> for JobError {
    fn from(e: std::io::Error) -> Self {
        JobError::Failed(format!("cannot write export files: {e}"))
    }
}

fn no_connection(e: impl std::fmt::Display) -> StoreError {
    StoreError::QueryBuilderError(format!("no database connection: {e}").into())
}

/// Claims queued jobs while this process runs fewer than [`MAX_JOBS_PER_NODE`], and starts
/// each on its own thread. Returns how many it started.
pub fn claim_jobs(pool: &DbPool, keys: &Arc<KeyStore>, service: &Arc<ResearchService>) -> Result<usize, StoreError> {
    let _claimer = service.claiming.lock().unwrap_or_else(|e| e.into_inner());
    let mut started = 0;
    while service.running().len() < MAX_JOBS_PER_NODE {
        let claim = uuid::Uuid::new_v4().simple().to_string();
        let job = {
            let mut conn = pool.get().map_err(no_connection)?;
            store::claim_next(&mut conn, &claim, now_ms())?
        };
        let Some(job) = job else { break };
        service.running().insert(job.export_id.clone(), claim.clone());
        let name = format!("export-{}", &job.export_id[..8.min(job.export_id.len())]);
        let export_id = job.export_id.clone();
        let (pool_, keys_, service_) = (pool.clone(), keys.clone(), service.clone());
        let spawned =
            std::thread::Builder::new().name(name).spawn(move || run_job(&pool_, &keys_, &service_, job, &claim));
        if let Err(e) = spawned {
            // The claim stays in the row without a heartbeat: the job is queued again once stale.
            service.running().remove(&export_id);
            tracing::error!(error = %e, "cannot start an export thread");
            break;
        }
        started += 1;
    }
    Ok(started)
}

/// Claims queued jobs on a background thread (after a kick-off: the request does not wait).
pub fn wake(pool: DbPool, keys: Arc<KeyStore>, service: Arc<ResearchService>) {
    let spawned = std::thread::Builder::new().name("export-claim".into()).spawn(move || {
        if let Err(e) = claim_jobs(&pool, &keys, &service) {
            tracing::warn!(error = %e, "cannot claim research exports");
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the export claimer");
    }
}

fn run_job(pool: &DbPool, keys: &Arc<KeyStore>, service: &Arc<ResearchService>, job: ExportRow, claim: &str) {
    let export_id = job.export_id.clone();
    run_claimed(pool, keys, service, job, claim);
    service.running().remove(&export_id);
    // A slot is free: the next queued job may start here.
    if let Err(e) = claim_jobs(pool, keys, service) {
        tracing::warn!(error = %e, "cannot claim research exports");
    }
}

fn run_claimed(pool: &DbPool, keys: &KeyStore, service: &ResearchService, job: ExportRow, claim: &str) {
    let started = Instant::now();
    let export_id = job.export_id.as_str();
    let outcome = (|| -> Result<(), JobError> {
        let mut conn = pool.get().map_err(|e| JobError::Failed(format!("database unavailable: {e}")))?;
        let request: ExportRequest = serde_json::from_str(&job.request_json)
            .map_err(|e| JobError::Failed(format!("stored request unreadable: {e}")))?;
        let run = Run { export_id, claim };
        let manifest = export(pool, &mut conn, keys, service, run, &job.organization_id, &request)?;
        let json = serde_json::to_string(&manifest).map_err(|e| JobError::Failed(e.to_string()))?;
        let expires = now_ms() + service.retention.as_millis() as i64;
        if !store::complete(&mut conn, export_id, claim, &json, expires, now_ms())? {
            return Err(JobError::Cancelled);
        }
        Ok(())
    })();
    let attempt = job.attempts;
    match outcome {
        Ok(()) => tracing::info!(
            export_id,
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "research export completed"
        ),
        Err(JobError::Cancelled) => {
            remove_run_dir(service, export_id, claim);
            tracing::info!(export_id, attempt, "research export cancelled or taken over by another node");
        }
        Err(JobError::Failed(reason)) => {
            remove_run_dir(service, export_id, claim);
            tracing::warn!(export_id, attempt, reason = %reason, "research export failed");
            if let Ok(mut conn) = pool.get() {
                if let Err(e) = store::fail(&mut conn, export_id, claim, i64::MAX, &reason, now_ms()) {
                    tracing::error!(export_id, error = %e, "cannot record a failed export");
                }
            }
        }
    }
}

/// Removes one run's files, and the export's directory once no run has files in it.
fn remove_run_dir(service: &ResearchService, export_id: &str, claim: &str) {
    remove_dir(&service.run_dir(export_id, claim));
    // Fails (and is left) while another run of the same export still writes in it.
    let _ = fs::remove_dir(service.dir(export_id));
}

fn remove_dir(dir: &Path) {
    if dir.exists() {
        if let Err(e) = fs::remove_dir_all(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove export files");
        }
    }
}

/// The usable research grants of `organization_id`, opened once for the whole job (both passes),
/// grouped by family in account order. The grant keys zeroize when the job drops them; a grant
/// revoked meanwhile loses its wrapped data keys, so it reads nothing more in pass 2.
fn research_families(
    conn: &mut DbConnection,
    keys: &KeyStore,
    organization_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Vec<OpenGrant>)>, JobError> {
    let mut families: Vec<(String, Vec<OpenGrant>)> = Vec::new();
    for grant in open_grants(conn, keys, organization_id, &[Purpose::Research], None, now)? {
        match families.last_mut() {
            Some((account, grants)) if *account == grant.account_id => grants.push(grant),
            _ => families.push((grant.account_id.to_string(), vec![grant])),
        }
    }
    Ok(families)
}

/// Streams every consented record of one family in `kinds`, page by page, through its opened grants.
fn each_record(
    conn: &mut DbConnection,
    grants: &[OpenGrant],
    account_id: &str,
    kinds: &[RecordKind],
    mut f: impl FnMut(SourceRecord, i64) -> Result<(), JobError>,
) -> Result<(), JobError> {
    if grants.is_empty() || kinds.is_empty() {
        return Ok(());
    }
    let mut filter = RecordFilter { kinds: Some(kinds.to_vec()), ..RecordFilter::default() };
    loop {
        let page = readable_records(conn, grants, account_id, &filter, PAGE)?;
        let full = page.len() as i64 == PAGE;
        filter.after = page.last().map(|r| r.record_id);
        for r in page {
            let updated_at = r.updated_at;
            f(
                SourceRecord {
                    account_id: r.account_id.into(),
                    subject: r.subject,
                    record_id: r.record_id,
                    body: r.body,
                },
                updated_at,
            )?;
        }
        if !full {
            break;
        }
    }
    Ok(())
}

/// Families per batch of the parallel passes: large enough that a batch is tens of
/// milliseconds of work (one result handed over per batch, not per record), small
/// enough that the few batches in flight stay a few megabytes.
const BATCH_FAMILIES: usize = 128;
/// Most threads reading and de-identifying families at once (each with its own connection).
const MAX_WORKERS: usize = 8;
/// Batches a worker may be ahead of the one being written, per worker: bounds the memory of
/// the finished batches waiting for an earlier one, whatever the size of the extract.
const AHEAD_PER_WORKER: usize = 2;

type Families = [(String, Vec<OpenGrant>)];

/// Pooled connections for the workers of [`in_batches`]: one per core (at most
/// [`MAX_WORKERS`], no more than there are batches), as many as the pool can spare
/// right now. The calling thread keeps its own connection for progress, cancel and audit.
fn worker_connections(pool: &DbPool, batches: usize) -> Vec<PooledDb> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = cores.min(MAX_WORKERS).min(batches);
    let mut conns = Vec::with_capacity(wanted);
    while conns.len() < wanted {
        match pool.get_timeout(Duration::from_millis(200)) {
            Ok(conn) => conns.push(conn),
            Err(_) => break,
        }
    }
    conns
}

/// Where the workers of [`in_batches`] stand: batches handed to `consume` so far, or stop.
struct Flow {
    state: Mutex<(usize, bool)>,
    room: Condvar,
}

impl Flow {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until batch `index` may be worked on; `false` when the workers must stop.
    fn wait_for_room(&self, index: usize, ahead: usize) -> bool {
        let mut state = self.lock();
        while !state.1 && index >= state.0 + ahead {
            state = self.room.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        !state.1
    }

    fn consumed(&self, batches: usize) {
        self.lock().0 = batches;
        self.room.notify_all();
    }

    fn stop(&self) {
        self.lock().1 = true;
        self.room.notify_all();
    }
}

/// Runs `work` over batches of `batch_size` families ([`BATCH_FAMILIES`]) on one thread per core, each with
/// its own pooled connection, and hands each batch's result to `consume` on the calling thread
/// in family order (with `conn` and the batch's range in `families`), so what `consume` writes is
/// the same as one thread going through the families in turn. Workers stay at most a few
/// batches ahead of `consume`: memory does not grow with the extract. An error of `work` or
/// `consume` (a cancel) stops the workers after their current batch. Without a spare
/// connection the batches run on the calling thread.
fn in_batches<T: Send>(
    pool: &DbPool,
    conn: &mut DbConnection,
    families: &Families,
    batch_size: usize,
    work: impl Fn(&mut DbConnection, &Families) -> Result<T, JobError> + Sync,
    mut consume: impl FnMut(&mut DbConnection, Range<usize>, T) -> Result<(), JobError>,
) -> Result<(), JobError> {
    let batch_size = batch_size.max(1);
    let batches: Vec<&Families> = families.chunks(batch_size).collect();
    let range = |i: usize| i * batch_size..i * batch_size + batches[i].len();
    let mut workers = worker_connections(pool, batches.len());
    if workers.is_empty() {
        for (i, batch) in batches.iter().enumerate() {
            let result = work(conn, batch)?;
            consume(conn, range(i), result)?;
        }
        return Ok(());
    }
    let ahead = AHEAD_PER_WORKER * workers.len();
    let next = AtomicUsize::new(0);
    let flow = Flow { state: Mutex::new((0, false)), room: Condvar::new() };
    let (tx, rx) = mpsc::channel::<(usize, Result<T, JobError>)>();
    std::thread::scope(|scope| {
        for (n, mut worker_conn) in workers.drain(..).enumerate() {
            let (tx, next, flow, batches, work) = (tx.clone(), &next, &flow, &batches, &work);
            let spawned =
                std::thread::Builder::new().name(format!("export-worker-{n}")).spawn_scoped(scope, move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= batches.len() || !flow.wait_for_room(index, ahead) {
                        break;
                    }
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        work(&mut worker_conn, batches[index])
                    }))
                    .unwrap_or_else(|_| Err(JobError::Failed("an export worker failed".into())));
                    let failed = result.is_err();
                    if tx.send((index, result)).is_err() || failed {
                        break;
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start an export worker");
            }
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, Result<T, JobError>> = BTreeMap::new();
        let mut expected = 0;
        let outcome = (|| {
            while expected < batches.len() {
                while let Some(result) = waiting.remove(&expected) {
                    consume(conn, range(expected), result?)?;
                    expected += 1;
                    flow.consumed(expected);
                }
                if expected == batches.len() {
                    break;
                }
                let (index, result) =
                    rx.recv().map_err(|_| JobError::Failed("the export workers stopped early".into()))?;
                waiting.insert(index, result);
            }
            Ok(())
        })();
        flow.stop();
        drop(rx);
        outcome
    })
}

/// Pass 1 of one batch of families: what they tell the survey.
fn survey_batch(conn: &mut DbConnection, batch: &Families, kinds: &[RecordKind]) -> Result<Survey, JobError> {
    let mut survey = Survey::new();
    for (account, grants) in batch {
        each_record(conn, grants, account, kinds, |rec, _| {
            survey.observe(&rec);
            Ok(())
        })?;
    }
    Ok(survey)
}

/// Pass 2 of one batch of families: their rows, already formatted, in family and record order.
struct EmittedBatch {
    /// CSV lines and their count, per requested module (in `request.modules` order).
    csv: Vec<(Vec<u8>, u64)>,
    observations: Vec<u8>,
    observation_count: u64,
    /// Indices (in the batch) of the families with at least one row.
    with_rows: Vec<usize>,
    counts: EmitCounts,
    records_read: u64,
}

fn emit_batch(
    conn: &mut DbConnection,
    batch: &Families,
    request: &ExportRequest,
    plan: &Plan,
    pseudo: &Pseudonymizer,
) -> Result<EmittedBatch, JobError> {
    let mut out = EmittedBatch {
        csv: vec![(Vec::new(), 0); request.modules.len()],
        observations: Vec::new(),
        observation_count: 0,
        with_rows: Vec::new(),
        counts: EmitCounts::default(),
        records_read: 0,
    };
    let with_observations = request.resources.contains(&ExportType::Observation);
    for (family, (account, grants)) in batch.iter().enumerate() {
        let mut emitted = false;
        each_record(conn, grants, account, &request.modules, |rec, updated_at| {
            out.records_read += 1;
            if request.since_ms.is_some_and(|since| updated_at < since) {
                return Ok(());
            }
            let Some(row) = plan.emit_counted(&rec, pseudo, &mut out.counts) else { return Ok(()) };
            if let Some(pos) = request.modules.iter().position(|k| *k == row.kind) {
                let (lines, count) = &mut out.csv[pos];
                lines.extend_from_slice(rows::csv_line(&row.cells).as_bytes());
                *count += 1;
            }
            if with_observations {
                serde_json::to_writer(&mut out.observations, &rows::observation(&row))
                    .map_err(|e| JobError::Failed(e.to_string()))?;
                out.observations.push(b'\n');
                out.observation_count += 1;
            }
            emitted = true;
            Ok(())
        })?;
        if emitted {
            out.with_rows.push(family);
        }
    }
    Ok(out)
}

/// Families whose export audit event is still to be written: flushed in one transaction every
/// [`AUDIT_BATCH`] families (and at the end), instead of one commit per family.
const AUDIT_BATCH: usize = 500;

fn flush_audit(conn: &mut DbConnection, actor: &str, pending: &mut Vec<(String, String)>) -> Result<(), JobError> {
    if pending.is_empty() {
        return Ok(());
    }
    let at = now_ms();
    write_transaction(conn, |c| {
        for (account, grant) in pending.iter() {
            audit::append(
                c,
                account,
                at,
                &NewAuditEvent::new(actor, AuditAction::ResearchExport, AuditOutcome::Success).grant(grant),
            )?;
        }
        Ok::<(), StoreError>(())
    })?;
    pending.clear();
    Ok(())
}

/// One run of a job: the export and the claim token every write of the run is conditioned on.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    export_id: &'a str,
    claim: &'a str,
}

/// Throttled progress writes that also notice a cancel.
struct Progress<'a> {
    run: Run<'a>,
    last: Instant,
}

impl Progress<'_> {
    fn tick(&mut self, conn: &mut DbConnection, percent: i64, records: u64, force: bool) -> Result<(), JobError> {
        if !force && self.last.elapsed() < PROGRESS_EVERY {
            return Ok(());
        }
        self.last = Instant::now();
        let Run { export_id, claim } = self.run;
        if store::progress(conn, export_id, claim, percent.clamp(0, 99), records as i64, now_ms())? {
            Ok(())
        } else {
            Err(JobError::Cancelled)
        }
    }
}

/// A file being written as `NAME.part`, renamed to `NAME` by [`PartFile::finish`].
struct PartFile {
    name: String,
    part: PathBuf,
    out: BufWriter<File>,
    count: u64,
}

impl PartFile {
    fn create(dir: &Path, name: String) -> Result<PartFile, JobError> {
        let part = dir.join(format!("{name}.part"));
        let file = crate::files::create_private_file(&part)?;
        Ok(PartFile { name, part, out: BufWriter::with_capacity(256 * 1024, file), count: 0 })
    }

    fn finish(self, dir: &Path) -> Result<(String, u64), JobError> {
        let file = self.out.into_inner().map_err(|e| JobError::Failed(format!("cannot flush export file: {e}")))?;
        file.sync_all()?;
        fs::rename(&self.part, dir.join(&self.name))?;
        Ok((self.name, self.count))
    }
}

fn export(
    pool: &DbPool,
    conn: &mut DbConnection,
    keys: &KeyStore,
    service: &ResearchService,
    run: Run<'_>,
    organization_id: &str,
    request: &ExportRequest,
) -> Result<StoredManifest, JobError> {
    let now = Utc::now();
    let dir = service.run_dir(run.export_id, run.claim);
    crate::files::create_private_dir(&dir)?;
    let pseudo =
        Pseudonymizer::random().map_err(|_| JobError::Failed("no randomness for the extract secret".into()))?;
    let families = research_families(conn, keys, organization_id, now)?;
    let n = families.len().max(1) as i64;
    let mut progress = Progress { run, last: Instant::now() };

    // Pass 1: the facts de-identification needs, from the birth anchors and the requested modules
    // that carry codes or numbers (the others are filtered out in SQL: never read nor decrypted).
    let mut survey_kinds: Vec<RecordKind> =
        request.modules.iter().copied().filter(|k| rows::feeds_survey(*k)).collect();
    for k in [RecordKind::MotherProfile, RecordKind::Delivery, RecordKind::Newborn] {
        if !survey_kinds.contains(&k) {
            survey_kinds.push(k);
        }
    }
    let mut survey = Survey::new();
    in_batches(
        pool,
        conn,
        &families,
        BATCH_FAMILIES,
        |c, batch| survey_batch(c, batch, &survey_kinds),
        |c, range, partial| {
            survey.merge(partial);
            progress.tick(c, range.end as i64 * 50 / n, 0, false)
        },
    )?;
    let config = DeidConfig { k: request.k, ..DeidConfig::default() };
    let mut plan = survey.plan(config);

    // Pass 2: every requested record through the plan, batch by batch, written to the files in
    // family order (the same files as one thread going through the families).
    let mut csv: Vec<(RecordKind, PartFile)> = Vec::new();
    for kind in &request.modules {
        let mut f = PartFile::create(&dir, format!("{}.csv", kind.as_str()))?;
        f.out.write_all(rows::csv_line(&rows::header(*kind)).as_bytes())?;
        csv.push((*kind, f));
    }
    let wants = |t: ExportType| request.resources.contains(&t);
    let mut observations =
        if wants(ExportType::Observation) { Some(PartFile::create(&dir, "Observation.ndjson".into())?) } else { None };
    let mut consents: Vec<String> = Vec::new();
    let mut done: u64 = 0;
    let actor = format!("organization:{organization_id}");
    let mut pending_audit: Vec<(String, String)> = Vec::new();
    let mut counts = EmitCounts::default();
    let shared_plan = &plan;
    in_batches(
        pool,
        conn,
        &families,
        BATCH_FAMILIES,
        |c, batch| emit_batch(c, batch, request, shared_plan, &pseudo),
        |c, range, emitted| {
            let EmittedBatch {
                csv: lines,
                observations: ndjson,
                observation_count,
                with_rows,
                counts: batch_counts,
                records_read,
            } = emitted;
            for ((_, f), (bytes, count)) in csv.iter_mut().zip(lines) {
                f.out.write_all(&bytes)?;
                f.count += count;
            }
            if let Some(observations) = observations.as_mut() {
                observations.out.write_all(&ndjson)?;
                observations.count += observation_count;
            }
            counts.merge(batch_counts);
            done += records_read;
            for i in with_rows {
                let (account, grants) = &families[range.start + i];
                let grant_ids: Vec<String> = grants.iter().map(|g| g.grant_id()).collect();
                pending_audit.push((account.clone(), grant_ids.first().cloned().unwrap_or_default()));
                consents.extend(grant_ids);
                if pending_audit.len() >= AUDIT_BATCH {
                    flush_audit(c, &actor, &mut pending_audit)?;
                }
            }
            progress.tick(c, 50 + range.end as i64 * 50 / n, done, false)
        },
    )?;
    plan.add_counts(counts);
    flush_audit(conn, &actor, &mut pending_audit)?;
    drop(families);

    let mut patients =
        if wants(ExportType::Patient) { Some(PartFile::create(&dir, "Patient.ndjson".into())?) } else { None };
    if let Some(patients) = patients.as_mut() {
        let mut written: Result<(), JobError> = Ok(());
        plan.each_patient(&pseudo, |p| {
            if written.is_ok() {
                written = serde_json::to_writer(&mut patients.out, &p)
                    .map_err(|e| JobError::Failed(e.to_string()))
                    .and_then(|_| Ok(patients.out.write_all(b"\n")?));
                patients.count += 1;
            }
        });
        written?;
    }
    // The secret is no longer needed: drop (and zeroize) it before the files are published.
    drop(pseudo);

    let k_reached = plan.report.kanon.k_reached;
    let l_reached = plan.report.kanon.l_reached;
    let mut report = PartFile::create(&dir, "report.json".into())?;
    let report_json = serde_json::json!({
        "export_id": run.export_id,
        "transaction_time": now.to_rfc3339(),
        "types": request.modules,
        "consents_covered": consents,
        "deidentification": plan.report,
    });
    serde_json::to_writer_pretty(&mut report.out, &report_json).map_err(|e| JobError::Failed(e.to_string()))?;
    report.count = 1;
    progress.tick(conn, 99, done, true)?;

    let mut files = Vec::new();
    for (type_, f) in [(ExportType::Observation, observations), (ExportType::Patient, patients)] {
        if let Some(f) = f {
            let (name, count) = f.finish(&dir)?;
            files.push(ExportFile { r#type: type_.as_str().to_owned(), name, count });
        }
    }
    if !request.ignored.is_empty() {
        // The error file: one OperationOutcome per parameter ignored under handling=lenient (Bulk Data 2.0).
        let mut errors = PartFile::create(&dir, "OperationOutcome.ndjson".into())?;
        for ignored in &request.ignored {
            serde_json::to_writer(&mut errors.out, &ignored_outcome(std::slice::from_ref(ignored)))
                .map_err(|e| JobError::Failed(e.to_string()))?;
            errors.out.write_all(b"\n")?;
            errors.count += 1;
        }
        let (name, count) = errors.finish(&dir)?;
        files.push(ExportFile { r#type: "OperationOutcome".into(), name, count });
    }
    csv.sort_by_key(|(kind, _)| *kind);
    for (kind, f) in csv {
        let (name, count) = f.finish(&dir)?;
        files.push(ExportFile { r#type: format!("csv:{}", kind.as_str()), name, count });
    }
    let (name, count) = report.finish(&dir)?;
    files.push(ExportFile { r#type: "report".into(), name, count });
    Ok(StoredManifest {
        transaction_time: now.to_rfc3339(),
        request_url: request.request_url.clone(),
        files,
        k_reached,
        l_reached,
    })
}

/// Why a job fails after its runs were cut off [`MAX_ATTEMPTS`] times.
fn interrupted(attempts: i64) -> String {
    format!(
        "interrupted: the server running it stopped {attempts} times; the per-extract secret is never stored, \
         so a run cannot resume: start a new export"
    )
}

/// At start-up: running jobs whose run is gone (their secret was never stored, so it cannot
/// resume) are queued again to run from the start, or failed after [`MAX_ATTEMPTS`] claims;
/// their partial files are removed. On SQLite (one server per database) that is every
/// running job; on PostgreSQL, where several servers may share the database, only jobs
/// whose heartbeat stopped ([`STALE_AFTER`]); the sweepers handle the rest once stale.
/// Returns how many jobs were queued again or failed.
pub fn recover(pool: &DbPool, service: &ResearchService) -> Result<usize, StoreError> {
    let mut conn = pool.get().map_err(no_connection)?;
    let before = store::orphaned_before(&conn, now_ms(), STALE_AFTER.as_millis() as i64);
    let recovered = requeue_stale(&mut conn, service, before)?;
    sweep(&mut conn, service)?;
    Ok(recovered)
}

/// Queues again (or fails, after [`MAX_ATTEMPTS`]) the running jobs not refreshed since
/// `before`, except this process's own runs.
fn requeue_stale(conn: &mut DbConnection, service: &ResearchService, before: i64) -> Result<usize, StoreError> {
    let live: HashSet<String> = service.running().values().cloned().collect();
    let mut changed = 0;
    for StaleJob { export_id, claim, attempts } in store::stale(conn, before)? {
        if live.contains(&claim) {
            continue;
        }
        if attempts >= MAX_ATTEMPTS {
            if store::fail(conn, &export_id, &claim, before, &interrupted(attempts), now_ms())? {
                remove_dir(&service.dir(&export_id));
                tracing::warn!(export_id = %export_id, attempts, "research export failed: its runs were cut off");
                changed += 1;
            }
        } else if store::requeue(conn, &export_id, &claim, before, now_ms())? {
            remove_run_dir(service, &export_id, &claim);
            tracing::warn!(export_id = %export_id, attempts, "research export queued again: the node running it stopped");
            changed += 1;
        }
    }
    Ok(changed)
}

/// Deletes the files of completed exports past their retention period.
pub fn sweep(conn: &mut DbConnection, service: &ResearchService) -> Result<usize, StoreError> {
    let ids = store::expired(conn, now_ms())?;
    for id in &ids {
        remove_dir(&service.dir(id));
        store::transition(conn, id, &[store::COMPLETED], store::EXPIRED, None, now_ms())?;
    }
    Ok(ids.len())
}

/// Queues this process's running jobs again at once (at shutdown: another node, or this one
/// restarted, takes them over without waiting for their heartbeat to go stale).
pub fn release(pool: &DbPool, service: &ResearchService) -> Result<usize, StoreError> {
    let claims: Vec<(String, String)> = service.running().iter().map(|(id, c)| (id.clone(), c.clone())).collect();
    if claims.is_empty() {
        return Ok(0);
    }
    let mut conn = pool.get().map_err(no_connection)?;
    let mut released = 0;
    for (export_id, claim) in claims {
        // Whenever it was last refreshed: this process is stopping its run now.
        if store::requeue(&mut conn, &export_id, &claim, i64::MAX, now_ms())? {
            released += 1;
        }
    }
    Ok(released)
}

/// A background thread that claims queued jobs at once and then every few seconds, beats
/// the heart of this process's running jobs, queues again the jobs whose process is gone,
/// and deletes exports past their retention period.
pub fn start_sweeper(pool: DbPool, keys: Arc<KeyStore>, service: Arc<ResearchService>) {
    let every = (service.retention / 2).clamp(Duration::from_secs(1), HEARTBEAT);
    let spawned = std::thread::Builder::new().name("export-sweeper".into()).spawn(move || loop {
        match pool.get() {
            Ok(mut conn) => {
                let live: Vec<String> = service.running().values().cloned().collect();
                let stale_before = now_ms() - STALE_AFTER.as_millis() as i64;
                let result = store::heartbeat(&mut conn, &live, now_ms())
                    .and_then(|_| requeue_stale(&mut conn, &service, stale_before))
                    .and_then(|_| sweep(&mut conn, &service));
                drop(conn);
                if let Err(e) = result.and_then(|_| claim_jobs(&pool, &keys, &service)) {
                    tracing::warn!(error = %e, "cannot sweep research exports");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot sweep research exports: no connection"),
        }
        std::thread::sleep(every);
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the export sweeper");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::TestDatabase;

    fn families(n: usize) -> Vec<(String, Vec<OpenGrant>)> {
        (0..n).map(|i| (format!("acct-{i:04}"), Vec::new())).collect()
    }

    fn names(batch: &Families) -> Vec<String> {
        batch.iter().map(|(a, _)| a.clone()).collect()
    }

    #[test]
    fn batches_are_consumed_in_family_order_with_a_bounded_number_in_flight() {
        let db = TestDatabase::sqlite();
        let (pool, _) = crate::store::open(&db.target, 4).unwrap();
        let mut conn = pool.get().unwrap();
        let all = families(1_000);
        let consumed = AtomicUsize::new(0);
        let most_ahead = AtomicUsize::new(0);
        let mut seen: Vec<String> = Vec::new();
        in_batches(
            &pool,
            &mut conn,
            &all,
            7,
            |c, batch| {
                crate::store::meta::get(c, "schema_version")?;
                let index: usize = batch[0].0[5..].parse::<usize>().unwrap() / 7;
                most_ahead.fetch_max(index.saturating_sub(consumed.load(Ordering::SeqCst)), Ordering::SeqCst);
                // Uneven batches so that they finish out of order.
                std::thread::sleep(Duration::from_micros((index % 3) as u64 * 300));
                Ok(names(batch))
            },
            |_, range, names| {
                assert_eq!(range.start, seen.len());
                assert_eq!(range.len(), names.len());
                seen.extend(names);
                consumed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, names(&all));
        assert!(most_ahead.into_inner() <= AHEAD_PER_WORKER * MAX_WORKERS);
    }

    #[test]
    fn an_error_stops_the_workers_and_is_returned() {
        let db = TestDatabase::sqlite();
        let (pool, _) = crate::store::open(&db.target, 4).unwrap();
        let mut conn = pool.get().unwrap();
        let all = families(1_000);
        let worked = AtomicUsize::new(0);
        let outcome = in_batches(
            &pool,
            &mut conn,
            &all,
            5,
            |_, _| {
                worked.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
            |_, range, ()| if range.start >= 10 { Err(JobError::Cancelled) } else { Ok(()) },
        );
        assert!(matches!(outcome, Err(JobError::Cancelled)));
        assert!(worked.into_inner() < 200, "the workers went on after the cancel");

        let outcome = in_batches(
            &pool,
            &mut conn,
            &all,
            5,
            |_, batch| if batch[0].0 == "acct-0050" { Err(JobError::Failed("boom".into())) } else { Ok(()) },
            |_, range, ()| {
                assert!(range.start < 50);
                Ok(())
            },
        );
        assert!(matches!(outcome, Err(JobError::Failed(reason)) if reason == "boom"));
    }

    #[test]
    fn without_a_spare_connection_the_batches_run_on_the_calling_thread() {
        let db = TestDatabase::sqlite();
        let (pool, _) = crate::store::open(&db.target, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let all = families(20);
        let caller = std::thread::current().id();
        let mut seen = Vec::new();
        in_batches(
            &pool,
            &mut conn,
            &all,
            3,
            |_, batch| {
                assert_eq!(std::thread::current().id(), caller);
                Ok(names(batch))
            },
            |_, _, names| {
                seen.extend(names);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, names(&all));
    }
}
