//! What the `bench-*` binaries share: each binary is also the server it
//! measures (started again with [`SERVE_ENV`]`=1`, so the figures are of the
//! same build), parses its flags, runs, and prints `name value unit` lines.
//! [`sync`] is the method of `bench-sync` (also run by `bench-scale`, on one node or
//! several); [`families`] the consenting families of `bench-fhir` (also `bench-scale`'s).

use std::process::ExitCode;

/// Set to `1` in the environment of the child process that plays the server.
pub const SERVE_ENV: &str = "PHR_BENCH_SERVE";

/// The `main` of a benchmark binary: the server when [`SERVE_ENV`] is `1`,
/// otherwise `run` with the parsed flags; a failure is one line on stderr and exit 1.
pub fn bench_main<A: clap::Parser>(name: &str, run: impl FnOnce(&A) -> Result<(), String>) -> ExitCode {
    if std::env::var_os(SERVE_ENV).is_some_and(|v| v == "1") {
        return phr_server::cli::main();
    }
    let args = A::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database a bench runs on: a fresh SQLite file, or with `postgres_admin_url` a fresh
/// PostgreSQL database the bench creates there (and drops when the value is dropped).
pub fn bench_database(postgres_admin_url: Option<&str>) -> Result<crate::TestDatabase, String> {
    match postgres_admin_url {
        Some(admin) => {
            std::env::set_var(phr_server::store::testing::POSTGRES_URL_ENV, admin);
            crate::TestDatabase::postgres().ok_or_else(|| "cannot create a PostgreSQL database".to_owned())
        }
        None => Ok(crate::TestDatabase::sqlite()),
    }
}

/// This binary started again as the server ([`SERVE_ENV`]) on `db`, with `data_dir` and `extra_args`.
pub fn bench_server(
    db: &crate::TestDatabase,
    data_dir: &std::path::Path,
    extra_args: &[&str],
) -> Result<crate::ServerProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    Ok(crate::ServerProcess::start(crate::ServerOptions {
        binary: &exe,
        data_dir,
        database_url: Some(db.url()),
        extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    }))
}

/// Consenting families enrolled through the API, as `bench-fhir` and `bench-scale` make them.
pub mod families {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use chrono::{Duration as Days, NaiveDate};
    use phr_core::consent::Access;
    use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
    use serde_json::Value;
    use uuid::Uuid;

    use crate::client::Device;
    use crate::fhir::{create_grant, grant_of};

    /// Record `i` of `n`, dated evenly over two years from `start`.
    pub fn body_of(i: usize, n: usize, start: NaiveDate) -> (RecordKind, RecordBody) {
        let date = start + Days::days((i * 730 / n.max(1)) as i64);
        match i % 20 {
            0..=14 => {
                let mut v = examples::self_vitals_minimal();
                v.measured_at = format!("{date}T07:30:00+09:00").parse().expect("date-time");
                (RecordKind::SelfVitals, RecordBody::SelfVitals(v))
            }
            15..=18 => {
                let mut v = examples::prenatal_visit_minimal();
                v.visit_date = date;
                v.body_weight = examples::prenatal_visit_full().body_weight;
                (RecordKind::PrenatalVisit, RecordBody::PrenatalVisit(v))
            }
            _ => {
                let mut d = examples::immunization_minimal();
                d.date_given = date;
                (RecordKind::Immunization, RecordBody::Immunization(d))
            }
        }
    }

    /// One consenting family of the clinic phase: its Patient id and what `$everything` returned at setup.
    pub struct Family {
        pub pid: String,
        /// `(resource type, id)` of every resource of its `$everything` (the Patient first).
        pub resources: Vec<(String, String)>,
        /// Encounters and Immunizations a search by patient finds.
        pub encounters: usize,
        pub immunizations: usize,
    }

    /// Records of family `f` (`n` of them, over two years): the same mix as the big family, each family starting another day.
    pub fn family_records(device: &mut Device, f: usize, n: usize) -> Result<Vec<Uuid>, String> {
        let start = NaiveDate::from_ymd_opt(2024, 6, 1).ok_or("date")? + Days::days((f % 28) as i64);
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let (kind, body) = body_of(i, n, start);
            let id = Uuid::now_v7();
            device.edit(id, kind, Subject::Mother, serde_json::to_value(&body).map_err(|e| e.to_string())?);
            ids.push(id);
        }
        Ok(ids)
    }

    /// Enrols `count` families through the HTTP API as a family would (account, records synced, a
    /// treatment grant to `org` with the records' keys), `threads` at a time; then reads each
    /// family's `$everything` once to learn its Patient id and resources.
    pub fn enrol_families(
        base: &str,
        token: &str,
        org: &str,
        count: usize,
        records: usize,
    ) -> Result<Vec<Family>, String> {
        let threads = 6usize;
        let next = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::new();
        for _ in 0..threads {
            let (next, base, token, org) = (next.clone(), base.to_owned(), token.to_owned(), org.to_owned());
            handles.push(std::thread::spawn(move || -> Result<Vec<(usize, Family)>, String> {
                let agent = crate::http();
                let mut out = Vec::new();
                loop {
                    let f = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if f >= count {
                        return Ok(out);
                    }
                    let mut device = Device::create_account(&base, "family phone");
                    let ids = family_records(&mut device, f, records)?;
                    device.sync();
                    let grant = grant_of(
                        &org,
                        &[RecordKind::SelfVitals, RecordKind::PrenatalVisit, RecordKind::Immunization],
                        &[Subject::Mother],
                        Access::Read,
                    );
                    create_grant(&device, &grant, &ids);
                    // The Patient id: the subject of the family's first record (an immunization is one resource).
                    let (status, body) =
                        get_json(&agent, &base, &token, &format!("/fhir/r4/Immunization/{}", ids[19]))?;
                    check(status == 200, &body)?;
                    let pid = body["patient"]["reference"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("Patient/"))
                        .ok_or("no patient reference")?
                        .to_owned();
                    let (status, body) =
                        get_json(&agent, &base, &token, &format!("/fhir/r4/Patient/{pid}/$everything"))?;
                    check(status == 200, &body)?;
                    let resources: Vec<(String, String)> = body["entry"]
                        .as_array()
                        .ok_or("no entries")?
                        .iter()
                        .map(|e| {
                            let r = &e["resource"];
                            (
                                r["resourceType"].as_str().unwrap_or_default().to_owned(),
                                r["id"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect();
                    let of = |t: &str| resources.iter().filter(|(ty, _)| ty == t).count();
                    let (encounters, immunizations) = (of("Encounter"), of("Immunization"));
                    check(resources.len() > records && encounters > 0 && immunizations > 0, &body)?;
                    out.push((f, Family { pid, resources, encounters, immunizations }));
                }
            }));
        }
        let mut all = Vec::with_capacity(count);
        for h in handles {
            all.extend(h.join().map_err(|_| "enrolment thread panicked")??);
        }
        all.sort_by_key(|(f, _)| *f);
        Ok(all.into_iter().map(|(_, family)| family).collect())
    }

    /// GET `path` with `token`: (status, the JSON answer).
    pub fn get_json(agent: &ureq::Agent, base: &str, token: &str, path: &str) -> Result<(u16, Value), String> {
        let mut resp = agent
            .get(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
        let body = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: not JSON: {e}"))?;
        Ok((status, body))
    }

    /// `Ok` if `ok`, else the start of the unexpected answer.
    pub fn check(ok: bool, body: &Value) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            let text = body.to_string();
            Err(format!("unexpected response: {}", &text[..text.len().min(500)]))
        }
    }
}

/// The method of `bench-sync`: family devices push sealed records and pull them back over
/// loopback HTTP, on one server node or spread round-robin over several.
pub mod sync {
    use std::collections::{HashMap, HashSet};
    use std::path::PathBuf;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    use phr_core::dataset::{RecordKind, Subject};
    use phr_core::sync::protocol::{ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse};
    use uuid::Uuid;

    use crate::client::Device;

    /// Largest response body we read (a 5,000-record pull page is ~8 MB).
    const BODY_LIMIT: u64 = 256 * 1024 * 1024;
    /// Batch size for the untimed load of the initial-pull account (server default maximum).
    const LOAD_BATCH: usize = 500;

    /// The parameters of a sync run (`bench-sync`'s defaults are its 50-family run).
    #[derive(Debug, Clone, clap::Args)]
    pub struct SyncParams {
        /// Simulated devices (one account, thread and HTTP connection each).
        #[arg(long, default_value_t = 50)]
        pub devices: usize,
        /// Batches each device pushes in the throughput phase.
        #[arg(long, default_value_t = 40)]
        pub batches: usize,
        /// Records per push batch.
        #[arg(long, default_value_t = 100)]
        pub batch_size: usize,
        /// Plaintext bytes per record.
        #[arg(long, default_value_t = 1024)]
        pub record_bytes: usize,
        /// Total records/s offered in the latency phase (spread evenly over the devices).
        #[arg(long, default_value_t = 20_000.0)]
        pub paced_rate: f64,
        /// Batches each device pushes in the latency phase.
        #[arg(long, default_value_t = 20)]
        pub paced_batches: usize,
        /// Page size of the concurrent pull phase.
        #[arg(long, default_value_t = 1000)]
        pub pull_limit: u32,
        /// Records in the account of the initial-pull measurement.
        #[arg(long, default_value_t = 10_000)]
        pub initial_records: usize,
        /// Page size of the initial pull (the server's maximum).
        #[arg(long, default_value_t = phr_server::app::sync::MAX_PULL_LIMIT)]
        pub initial_pull_limit: u32,
        /// Timed runs of the initial pull (the median is reported).
        #[arg(long, default_value_t = 3)]
        pub initial_pull_runs: usize,
    }

    impl SyncParams {
        pub fn validate(&self) -> Result<(), String> {
            if self.devices == 0 || self.batch_size == 0 || self.initial_pull_runs == 0 || self.pull_limit == 0 {
                return Err("--devices, --batch-size, --pull-limit and --initial-pull-runs must be at least 1".into());
            }
            Ok(())
        }
    }

    /// The figures of a sync run.
    #[derive(Debug, Clone)]
    pub struct SyncMetrics {
        pub push_records_per_s: f64,
        pub pull_records_per_s: f64,
        pub push_p99_ms: f64,
        /// p99 while all devices push back to back (queueing included).
        pub push_closed_loop_p99_ms: f64,
        pub initial_pull_ms: f64,
    }

    /// A timed phase of a sync run.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SyncPhase {
        ClosedLoopPush,
        PacedPush,
        Pull,
        InitialPull,
    }

    impl SyncPhase {
        pub fn name(self) -> &'static str {
            match self {
                SyncPhase::ClosedLoopPush => "the closed-loop push",
                SyncPhase::PacedPush => "the paced push",
                SyncPhase::Pull => "the concurrent pull",
                SyncPhase::InitialPull => "the initial pull",
            }
        }
    }

    /// What a run tells its caller around each timed phase (untimed preparation is outside).
    #[derive(Debug, Clone, Copy)]
    pub enum PhaseEvent {
        Start(SyncPhase),
        /// The phase ended after this many sync HTTP calls (pushes or pull pages).
        End(SyncPhase, usize),
    }

    /// A device's view of the bench: its account, the node it talks to, and the records it
    /// pushed (record id -> SHA-256 of the envelope the server must give back).
    pub struct BenchDevice {
        pub device: Device,
        pub auth: String,
        pub base_url: String,
        pub pushed: HashMap<Uuid, [u8; 32]>,
    }

    impl BenchDevice {
        /// A new family account (created through the API) with this device, on `base_url`.
        pub fn create(base_url: &str, name: &str) -> BenchDevice {
            let device = Device::create_account(base_url, name);
            let auth = format!("Bearer {}", device.access_token);
            BenchDevice { device, auth, base_url: base_url.to_owned(), pushed: HashMap::new() }
        }
    }

    /// The whole sync run of `bench-sync`: `params.devices` accounts spread round-robin over
    /// `nodes` (base URLs), closed-loop push, paced push, concurrent pull (every record checked),
    /// initial pull of a fresh account. `on_phase` is called around each timed phase.
    pub fn run(
        nodes: &[String],
        params: &SyncParams,
        on_phase: &mut dyn FnMut(PhaseEvent),
    ) -> Result<SyncMetrics, String> {
        params.validate()?;
        if nodes.is_empty() {
            return Err("no server node".into());
        }
        let started = Instant::now();
        let mut devices: Vec<BenchDevice> = (0..params.devices)
            .map(|i| BenchDevice::create(&nodes[i % nodes.len()], &format!("bench device {i}")))
            .collect();
        eprintln!("{} accounts created in {:.1} s", devices.len(), started.elapsed().as_secs_f64());

        // --- push, closed loop: throughput ---------------------------------
        let bodies = prepare_all(&mut devices, params, params.batches)?;
        on_phase(PhaseEvent::Start(SyncPhase::ClosedLoopPush));
        let (wall, latencies, applied) = push_phase(&devices, bodies, params.batch_size, None)?;
        on_phase(PhaseEvent::End(SyncPhase::ClosedLoopPush, latencies.len()));
        let push_records_per_s = applied as f64 / wall.as_secs_f64();
        let push_closed_loop_p99_ms = percentile_ms(&latencies, 0.99);
        eprintln!(
            "push (closed loop): {applied} records in {:.2} s = {push_records_per_s:.0} records/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            wall.as_secs_f64(),
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99),
            percentile_ms(&latencies, 1.0),
        );

        // --- push, paced at the target rate: latency ------------------------
        let bodies = prepare_all(&mut devices, params, params.paced_batches)?;
        on_phase(PhaseEvent::Start(SyncPhase::PacedPush));
        let (wall, latencies, applied) = push_phase(&devices, bodies, params.batch_size, Some(params.paced_rate))?;
        on_phase(PhaseEvent::End(SyncPhase::PacedPush, latencies.len()));
        let push_p99_ms = percentile_ms(&latencies, 0.99);
        eprintln!(
            "push (paced at {:.0} records/s): {applied} records in {:.2} s = {:.0} records/s; latency p50 {:.1} ms, p99 {push_p99_ms:.1} ms, max {:.1} ms",
            params.paced_rate,
            wall.as_secs_f64(),
            applied as f64 / wall.as_secs_f64(),
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 1.0),
        );

        // --- pull: every device at once -------------------------------------
        on_phase(PhaseEvent::Start(SyncPhase::Pull));
        let (wall, pulled, pages) = pull_phase(&devices, params.pull_limit)?;
        on_phase(PhaseEvent::End(SyncPhase::Pull, pages));
        let total: usize = pulled.iter().map(Vec::len).sum();
        let pull_records_per_s = total as f64 / wall.as_secs_f64();
        eprintln!("pull: {total} records in {:.2} s = {pull_records_per_s:.0} records/s", wall.as_secs_f64());
        for (bench_device, changes) in devices.iter().zip(&pulled) {
            verify_pull(bench_device, changes, params.record_bytes)?;
        }
        drop(pulled);
        eprintln!("pull verified: every pushed record came back intact, in order");

        // --- initial pull of 10k by a fresh device --------------------------
        let initial_pull_ms = initial_pull(&nodes[devices.len() % nodes.len()], params, on_phase)?;
        eprintln!("total sync bench time {:.1} s", started.elapsed().as_secs_f64());
        Ok(SyncMetrics {
            push_records_per_s,
            pull_records_per_s,
            push_p99_ms,
            push_closed_loop_p99_ms,
            initial_pull_ms,
        })
    }

    /// Deterministic plaintext of a record, so a pulled record can be checked after decryption.
    pub fn plaintext(record_id: Uuid, len: usize) -> Vec<u8> {
        let seed = record_id.as_bytes();
        (0..len).map(|i| seed[i % 16] ^ (i as u8)).collect()
    }

    pub fn sha256(bytes: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
        out
    }

    /// Seals and serializes `batches` push bodies for one device (remembering what it pushes).
    pub fn prepare_device(
        d: &mut BenchDevice,
        batches: usize,
        batch_size: usize,
        record_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, String> {
        let kinds = [RecordKind::PrenatalVisit, RecordKind::SelfVitals, RecordKind::Medication];
        let mut bodies = Vec::with_capacity(batches);
        for b in 0..batches {
            let changes = (0..batch_size)
                .map(|i| {
                    let id = Uuid::now_v7();
                    let change = d.device.seal_new_record(
                        id,
                        kinds[(b + i) % kinds.len()],
                        Subject::Mother,
                        &plaintext(id, record_bytes),
                    );
                    d.pushed.insert(id, sha256(&change.envelope));
                    change
                })
                .collect();
            let body = serde_json::to_vec(&PushRequest { batch_id: Uuid::now_v7(), changes })
                .map_err(|e| format!("cannot encode a push batch: {e}"))?;
            bodies.push(body);
        }
        Ok(bodies)
    }

    /// Prepares every device's bodies (`batches` of `params.batch_size` each), using every core (untimed).
    pub fn prepare_all(
        devices: &mut [BenchDevice],
        params: &SyncParams,
        batches: usize,
    ) -> Result<Vec<Vec<Vec<u8>>>, String> {
        prepare_batches(devices, batches, params.batch_size, params.record_bytes)
    }

    /// Prepares `batches` bodies of `batch_size` records of `record_bytes` for every device, on every core (untimed).
    pub fn prepare_batches(
        devices: &mut [BenchDevice],
        batches: usize,
        batch_size: usize,
        record_bytes: usize,
    ) -> Result<Vec<Vec<Vec<u8>>>, String> {
        let started = Instant::now();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let per_thread = devices.len().div_ceil(threads).max(1);
        let bodies: Vec<Result<Vec<Vec<u8>>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = devices
                .chunks_mut(per_thread)
                .map(|chunk| {
                    s.spawn(move || {
                        chunk
                            .iter_mut()
                            .map(|d| prepare_device(d, batches, batch_size, record_bytes))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|_| vec![Err("a preparing thread panicked".into())]))
                .collect()
        });
        let bodies = bodies.into_iter().collect::<Result<Vec<_>, _>>()?;
        let bytes: usize = bodies.iter().flatten().map(Vec::len).sum();
        eprintln!(
            "prepared {} batches ({:.1} MB of JSON) in {:.2} s",
            bodies.iter().map(Vec::len).sum::<usize>(),
            bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        Ok(bodies)
    }

    /// Runs `work` for each item on its own thread with its own HTTP agent, every thread let go
    /// at the same moment behind a barrier. Returns the wall time from that moment until the
    /// last thread ended, and each thread's result in item order (`what` names the threads in
    /// the error of one that panicked).
    pub fn at_once<I: Send, T: Send>(
        items: impl IntoIterator<Item = I>,
        what: &str,
        work: impl Fn(I, &ureq::Agent) -> Result<T, String> + Sync,
    ) -> (Duration, Vec<Result<T, String>>) {
        let items: Vec<I> = items.into_iter().collect();
        let barrier = Barrier::new(items.len() + 1);
        std::thread::scope(|s| {
            let handles: Vec<_> = items
                .into_iter()
                .map(|item| {
                    let (barrier, work) = (&barrier, &work);
                    s.spawn(move || {
                        let agent = crate::http();
                        barrier.wait();
                        work(item, &agent)
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(format!("a {what} thread panicked"))))
                .collect();
            (start.elapsed(), results)
        })
    }

    /// Every device pushes its bodies (`batch_size` records each) at once, to its node.
    /// `paced`: total records/s to offer (each device sends on a fixed schedule; latency counts
    /// from the due time); `None`: back to back. Returns (wall time, latencies, applied records).
    pub fn push_phase(
        devices: &[BenchDevice],
        bodies: Vec<Vec<Vec<u8>>>,
        batch_size: usize,
        paced: Option<f64>,
    ) -> Result<(Duration, Vec<Duration>, usize), String> {
        let n = devices.len();
        // Per device: one batch every `period`; devices staggered evenly over it.
        let period = paced.map(|rate| Duration::from_secs_f64((n * batch_size) as f64 / rate));
        let (wall, results) = at_once(devices.iter().zip(bodies).enumerate(), "pushing", |(i, (d, bodies)), agent| {
            let url = format!("{}/sync/v1/push", d.base_url);
            let mut latencies = Vec::with_capacity(bodies.len());
            let mut applied = 0;
            let start = Instant::now();
            for (b, body) in bodies.iter().enumerate() {
                let due = match period {
                    Some(p) => {
                        let due = start + p.mul_f64(b as f64 + i as f64 / n as f64);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        due
                    }
                    None => Instant::now(),
                };
                let response = push(agent, &url, &d.auth, body)?;
                latencies.push(due.elapsed());
                check_applied(&response, batch_size)?;
                applied += response.results.len();
            }
            Ok((latencies, applied))
        });
        let mut latencies = Vec::new();
        let mut applied = 0;
        for r in results {
            let (l, a) = r?;
            latencies.extend(l);
            applied += a;
        }
        latencies.sort_unstable();
        Ok((wall, latencies, applied))
    }

    /// Every record of a push of `batch_size` new records was applied as version 1.
    pub fn check_applied(response: &PushResponse, batch_size: usize) -> Result<(), String> {
        for r in &response.results {
            if r.status != ChangeStatus::Applied || r.version != 1 {
                return Err(format!("record {} was not applied as version 1: {r:?}", r.record_id));
            }
        }
        if response.results.len() != batch_size {
            return Err(format!("a push of {batch_size} records got {} results", response.results.len()));
        }
        Ok(())
    }

    /// Every device pulls everything at once from its node. Returns (wall time, each device's
    /// changes, pull calls made).
    pub fn pull_phase(
        devices: &[BenchDevice],
        limit: u32,
    ) -> Result<(Duration, Vec<Vec<PulledChange>>, usize), String> {
        let (wall, results) = at_once(devices, "pulling", |d, agent| pull_since(agent, &d.base_url, &d.auth, 0, limit));
        let mut all = Vec::with_capacity(results.len());
        let mut pages = 0;
        for r in results {
            let pulled = r?;
            pages += pulled.pages;
            all.push(pulled.changes);
        }
        Ok((wall, all, pages))
    }

    /// Checks a device's pull against what it pushed: same set of records, same
    /// envelopes, increasing sequence, and (for a sample) the plaintext after decryption.
    pub fn verify_pull(d: &BenchDevice, changes: &[PulledChange], record_bytes: usize) -> Result<(), String> {
        let account = &d.device.account_id;
        if changes.len() != d.pushed.len() {
            return Err(format!("account {account}: pushed {} records, pulled {}", d.pushed.len(), changes.len()));
        }
        let mut seen = HashSet::with_capacity(changes.len());
        let mut last_seq = 0;
        for (i, c) in changes.iter().enumerate() {
            if c.seq <= last_seq {
                return Err(format!("account {account}: pull is out of order at seq {}", c.seq));
            }
            last_seq = c.seq;
            if !seen.insert(c.record_id) {
                return Err(format!("account {account}: record {} pulled twice", c.record_id));
            }
            match d.pushed.get(&c.record_id) {
                None => return Err(format!("account {account}: pulled record {} was never pushed", c.record_id)),
                Some(digest) if *digest != sha256(&c.envelope) => {
                    return Err(format!("account {account}: record {} came back with another envelope", c.record_id))
                }
                Some(_) => {}
            }
            if i % 97 == 0 || i + 1 == changes.len() {
                let opened = d.device.open_bytes(c)?;
                if opened != plaintext(c.record_id, record_bytes) {
                    return Err(format!("account {account}: record {} decrypts to other bytes", c.record_id));
                }
            }
        }
        Ok(())
    }

    /// A fresh account on `node` with `params.initial_records` records (pushed untimed), pulled
    /// by one device; median milliseconds of the timed runs.
    pub fn initial_pull(node: &str, params: &SyncParams, on_phase: &mut dyn FnMut(PhaseEvent)) -> Result<f64, String> {
        let mut d = BenchDevice::create(node, "bench initial-pull device");
        let full = params.initial_records / LOAD_BATCH;
        let rest = params.initial_records % LOAD_BATCH;
        let mut bodies = prepare_device(&mut d, full, LOAD_BATCH, params.record_bytes)?;
        bodies.extend(prepare_device(&mut d, usize::from(rest > 0), rest, params.record_bytes)?);
        let agent = crate::http();
        let url = format!("{node}/sync/v1/push");
        for body in &bodies {
            push(&agent, &url, &d.auth, body)?;
        }
        drop(bodies);
        let mut times = Vec::with_capacity(params.initial_pull_runs);
        let mut pages = 0;
        on_phase(PhaseEvent::Start(SyncPhase::InitialPull));
        for run in 0..params.initial_pull_runs {
            // A new connection each run, as a freshly installed app would have.
            let agent = crate::http();
            let start = Instant::now();
            let pulled = pull_since(&agent, node, &d.auth, 0, params.initial_pull_limit)?;
            let elapsed = start.elapsed();
            pages += pulled.pages;
            verify_pull(&d, &pulled.changes, params.record_bytes)?;
            eprintln!(
                "initial pull run {}: {} records in {:.1} ms",
                run + 1,
                pulled.changes.len(),
                elapsed.as_secs_f64() * 1e3
            );
            times.push(elapsed);
        }
        on_phase(PhaseEvent::End(SyncPhase::InitialPull, pages));
        times.sort_unstable();
        Ok(times[times.len() / 2].as_secs_f64() * 1e3)
    }

    /// One push call; the parsed answer (an error unless HTTP 200).
    pub fn push(agent: &ureq::Agent, url: &str, auth: &str, body: &[u8]) -> Result<PushResponse, String> {
        let mut resp = agent
            .post(url)
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| format!("push request failed: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| format!("push: {e}"))?;
        if status != 200 {
            return Err(format!("push: HTTP {status}: {}", String::from_utf8_lossy(&bytes)));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("push: bad response: {e}"))
    }

    /// What a pull from a cursor brought.
    pub struct Pulled {
        pub changes: Vec<PulledChange>,
        /// The cursor to pull from next time.
        pub cursor: u64,
        /// Pull calls made.
        pub pages: usize,
    }

    /// Pulls every change after `since`, page by page (response JSON parsed).
    pub fn pull_since(
        agent: &ureq::Agent,
        base_url: &str,
        auth: &str,
        since: u64,
        limit: u32,
    ) -> Result<Pulled, String> {
        let mut all = Vec::new();
        let mut since = since;
        let mut pages = 0;
        loop {
            let url = format!("{base_url}/sync/v1/pull?since={since}&limit={limit}");
            let mut resp = agent
                .get(&url)
                .header("Authorization", auth)
                .call()
                .map_err(|e| format!("pull request failed: {e}"))?;
            pages += 1;
            let status = resp.status().as_u16();
            let bytes =
                resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| format!("pull: {e}"))?;
            if status != 200 {
                return Err(format!("pull: HTTP {status}: {}", String::from_utf8_lossy(&bytes)));
            }
            let page: PullResponse = serde_json::from_slice(&bytes).map_err(|e| format!("pull: bad response: {e}"))?;
            if page.more && page.changes.is_empty() {
                return Err("pull: an empty page says there is more".into());
            }
            all.extend(page.changes);
            since = page.next_cursor;
            if !page.more {
                return Ok(Pulled { changes: all, cursor: since, pages });
            }
        }
    }

    /// The `p`-quantile of sorted latencies, in milliseconds (nearest rank).
    pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1e3
    }

    /// Peak resident set of a process (VmHWM), in MiB.
    pub fn peak_rss_mb(pid: u32) -> Result<f64, String> {
        let path = PathBuf::from(format!("/proc/{pid}/status"));
        let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .ok_or_else(|| format!("no VmHWM in {}", path.display()))?;
        Ok(kb / 1024.0)
    }

    /// Prints the server's current and peak resident set (context on stderr).
    pub fn report_rss(pid: u32, when: &str) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_default()
        };
        eprintln!(
            "server memory {when}: VmRSS {} (anon {}, file {}, shmem {}), VmHWM {}, threads {}",
            field("VmRSS:"),
            field("RssAnon:"),
            field("RssFile:"),
            field("RssShmem:"),
            field("VmHWM:"),
            field("Threads:")
        );
    }

    /// The 1, 5 and 15-minute load averages.
    pub fn loadavg() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}
