//! `bench-sync`: the sync server under load, over loopback HTTP.
//!
//! Starts a real server (this very binary, re-executed with
//! `PHR_BENCH_SERVE=1`, so `server_rss_mb` is the server's alone), creates one
//! family account per simulated device, and measures:
//!
//! - `push_records_per_s`: every device pushes `--batches` batches of
//!   `--batch-size` new 1 KiB records back to back (closed loop, all devices
//!   at once); applied records / wall time.
//! - `push_p99_ms`: the 99th percentile push latency while the same devices
//!   push at the target rate (`--paced-rate`, default 20,000 records/s in
//!   total, spread evenly over the devices). Latency is counted from the
//!   moment a batch was *due*, so a server that falls behind is charged for
//!   the wait (no coordinated omission).
//! - `push_closed_loop_p99_ms`: the same percentile during the closed-loop
//!   phase; there it is mostly queueing (devices / throughput), reported so the
//!   saturated tail is never hidden.
//! - `pull_records_per_s`: every device pulls all its records at once, in
//!   pages of `--pull-limit`; records / wall time, JSON parsing included.
//! - `initial_pull_10k_ms`: a fresh account holding 10,000 records (pushed
//!   untimed) is pulled by one device, paging with the largest limit the
//!   server allows; median of `--initial-pull-runs` runs.
//! - `server_rss_mb`: the server's peak resident set (VmHWM) at the end.
//!
//! Records are sealed with the real phr-core crypto before any timing starts.
//! Every pushed record must come back from the pull byte for byte (and a
//! sample is decrypted): a bench that loses data exits non-zero.
//!
//! stdout: one `# …` context line, then `name value unit` lines. Progress on stderr.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use clap::Parser;
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::client::Device;
use phr_tests::{ServerOptions, ServerProcess, TestDatabase};
use uuid::Uuid;

/// Set (to `1`) when this binary is started as the server.
/// Largest response body we read (a 5,000-record pull page is ~8 MB).
const BODY_LIMIT: u64 = 256 * 1024 * 1024;
/// Batch size for the untimed load of the initial-pull account (server default maximum).
const LOAD_BATCH: usize = 500;

#[derive(Debug, Parser)]
#[command(
    name = "bench-sync",
    about = "Benchmarks phr-server sync (push/pull of 1 KiB sealed records) over loopback HTTP",
    after_help = "Database: SQLite in a temporary directory by default. For PostgreSQL either\n  \
        --postgres-admin-url postgres://postgres@127.0.0.1:5432/postgres\n      \
        (creates a uniquely named database for the run and drops it afterwards), or\n  \
        --database-url postgres://user@host:5432/phr_bench\n      \
        (used as is: the bench WRITES accounts and records INTO that database and leaves\n      \
        them there, so give it a dedicated, empty database and drop it afterwards).\n\n\
        Output: a '# …' context line, then 'name value unit' lines on stdout; progress on stderr.\n\
        Exit status 1 if any request failed or any record did not come back intact."
)]
struct Args {
    /// Database URL for the server, used as is (see below). Default: SQLite in a temp dir.
    #[arg(long, conflicts_with = "postgres_admin_url")]
    database_url: Option<String>,
    /// PostgreSQL admin URL: bench a fresh database created on that server (dropped at the end).
    #[arg(long)]
    postgres_admin_url: Option<String>,
    /// Simulated devices (one account, thread and HTTP connection each).
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Batches each device pushes in the throughput phase.
    #[arg(long, default_value_t = 40)]
    batches: usize,
    /// Records per push batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Plaintext bytes per record.
    #[arg(long, default_value_t = 1024)]
    record_bytes: usize,
    /// Total records/s offered in the latency phase (spread evenly over the devices).
    #[arg(long, default_value_t = 20_000.0)]
    paced_rate: f64,
    /// Batches each device pushes in the latency phase.
    #[arg(long, default_value_t = 20)]
    paced_batches: usize,
    /// Page size of the concurrent pull phase.
    #[arg(long, default_value_t = 1000)]
    pull_limit: u32,
    /// Records in the account of the initial-pull measurement.
    #[arg(long, default_value_t = 10_000)]
    initial_records: usize,
    /// Page size of the initial pull (the server's maximum).
    #[arg(long, default_value_t = phr_server::app::sync::MAX_PULL_LIMIT)]
    initial_pull_limit: u32,
    /// Timed runs of the initial pull (the median is reported).
    #[arg(long, default_value_t = 3)]
    initial_pull_runs: usize,
    /// Extra flag for the server, e.g. `--server-arg=--db-pool-size=4` (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-sync", run)
}

/// A device's view of the bench: its account, and the records it pushed
/// (record id -> SHA-256 of the envelope the server must give back).
struct BenchDevice {
    device: Device,
    auth: String,
    pushed: HashMap<Uuid, [u8; 32]>,
}

fn run(args: &Args) -> Result<(), String> {
    if args.devices == 0 || args.batch_size == 0 || args.initial_pull_runs == 0 || args.pull_limit == 0 {
        return Err("--devices, --batch-size, --pull-limit and --initial-pull-runs must be at least 1".into());
    }
    let load_start = loadavg();
    // The database: a fresh one per run for --postgres-admin-url (kept alive by `_db`).
    let (database_url, _db) = match (&args.database_url, &args.postgres_admin_url) {
        (Some(url), _) => (Some(url.clone()), None),
        (None, Some(admin)) => {
            // Single-threaded here: nothing else reads the environment yet.
            std::env::set_var(phr_server::store::testing::POSTGRES_URL_ENV, admin);
            let db = TestDatabase::postgres().ok_or("cannot create a PostgreSQL database")?;
            (Some(db.url()), Some(db))
        }
        (None, None) => (None, None),
    };
    let backend = match &database_url {
        Some(url) => phr_server::store::DatabaseTarget::parse(url).map_err(|e| e.to_string())?.backend_name(),
        None => "sqlite",
    };
    let data_dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut extra_args: Vec<String> =
        ["--rate-limit-per-device", "0", "--auth-rate-limit", "0"].iter().map(|s| s.to_string()).collect();
    extra_args.extend(args.server_arg.iter().cloned());
    let server = ServerProcess::start(ServerOptions {
        binary: &exe,
        data_dir: data_dir.path(),
        database_url,
        extra_args: extra_args.clone(),
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    });
    eprintln!("server pid {} at {} ({backend}); server args {:?}", server.pid(), server.base_url, extra_args);

    let result = bench(args, &server);
    let rss = peak_rss_mb(server.pid());
    let load_end = loadavg();
    drop(server);
    let metrics = result?;
    let rss = rss?;

    println!(
        "# backend={backend} devices={} batch_size={} batches={} paced_rate={} record_bytes={} loadavg_start=\"{load_start}\" loadavg_end=\"{load_end}\"",
        args.devices, args.batch_size, args.batches, args.paced_rate, args.record_bytes
    );
    println!("push_records_per_s {:.0} records/s", metrics.push_records_per_s);
    println!("pull_records_per_s {:.0} records/s", metrics.pull_records_per_s);
    println!("push_p99_ms {:.1} ms", metrics.push_p99_ms);
    println!("push_closed_loop_p99_ms {:.1} ms", metrics.push_closed_loop_p99_ms);
    println!("initial_pull_10k_ms {:.1} ms", metrics.initial_pull_ms);
    println!("server_rss_mb {rss:.1} MB");
    Ok(())
}

struct Metrics {
    push_records_per_s: f64,
    pull_records_per_s: f64,
    push_p99_ms: f64,
    /// p99 while all devices push back to back (queueing included).
    push_closed_loop_p99_ms: f64,
    initial_pull_ms: f64,
}

fn bench(args: &Args, server: &ServerProcess) -> Result<Metrics, String> {
    let started = Instant::now();
    let mut devices: Vec<BenchDevice> = (0..args.devices)
        .map(|i| {
            let device = Device::create_account(&server.base_url, &format!("bench device {i}"));
            let auth = format!("Bearer {}", device.access_token);
            BenchDevice { device, auth, pushed: HashMap::new() }
        })
        .collect();
    eprintln!("{} accounts created in {:.1} s", devices.len(), started.elapsed().as_secs_f64());

    // --- push, closed loop: throughput ---------------------------------
    let bodies = prepare_all(&mut devices, args, args.batches)?;
    let (wall, latencies, applied) = push_phase(server, &devices, bodies, args, None)?;
    let push_records_per_s = applied as f64 / wall.as_secs_f64();
    let push_closed_loop_p99_ms = percentile_ms(&latencies, 0.99);
    eprintln!(
        "push (closed loop): {applied} records in {:.2} s = {push_records_per_s:.0} records/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        wall.as_secs_f64(),
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        percentile_ms(&latencies, 1.0),
    );

    report_rss(server.pid(), "after the closed-loop push");

    // --- push, paced at the target rate: latency ------------------------
    let bodies = prepare_all(&mut devices, args, args.paced_batches)?;
    let (wall, latencies, applied) = push_phase(server, &devices, bodies, args, Some(args.paced_rate))?;
    let push_p99_ms = percentile_ms(&latencies, 0.99);
    eprintln!(
        "push (paced at {:.0} records/s): {applied} records in {:.2} s = {:.0} records/s; latency p50 {:.1} ms, p99 {push_p99_ms:.1} ms, max {:.1} ms",
        args.paced_rate,
        wall.as_secs_f64(),
        applied as f64 / wall.as_secs_f64(),
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 1.0),
    );

    report_rss(server.pid(), "after the paced push");

    // --- pull: every device at once -------------------------------------
    let (wall, pulled) = pull_phase(server, &devices, args.pull_limit)?;
    let total: usize = pulled.iter().map(Vec::len).sum();
    let pull_records_per_s = total as f64 / wall.as_secs_f64();
    eprintln!("pull: {total} records in {:.2} s = {pull_records_per_s:.0} records/s", wall.as_secs_f64());
    for (bench_device, changes) in devices.iter().zip(&pulled) {
        verify_pull(bench_device, changes, args.record_bytes)?;
    }
    drop(pulled);
    eprintln!("pull verified: every pushed record came back intact, in order");

    report_rss(server.pid(), "after the concurrent pull");

    // --- initial pull of 10k by a fresh device --------------------------
    let initial_pull_ms = initial_pull(server, args)?;
    report_rss(server.pid(), "after the initial pull");
    eprintln!("total bench time {:.1} s", started.elapsed().as_secs_f64());
    Ok(Metrics { push_records_per_s, pull_records_per_s, push_p99_ms, push_closed_loop_p99_ms, initial_pull_ms })
}

/// Deterministic plaintext of a record, so a pulled record can be checked after decryption.
fn plaintext(record_id: Uuid, len: usize) -> Vec<u8> {
    let seed = record_id.as_bytes();
    (0..len).map(|i| seed[i % 16] ^ (i as u8)).collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Seals and serializes `batches` push bodies for one device (remembering what it pushes).
fn prepare_device(
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

/// Prepares every device's bodies, using every core (untimed).
fn prepare_all(devices: &mut [BenchDevice], args: &Args, batches: usize) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let per_thread = devices.len().div_ceil(threads);
    let bodies: Vec<Result<Vec<Vec<u8>>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .chunks_mut(per_thread)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter_mut()
                        .map(|d| prepare_device(d, batches, args.batch_size, args.record_bytes))
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

/// Every device pushes its bodies at once. `paced`: total records/s to offer
/// (each device sends on a fixed schedule; latency counts from the due time);
/// `None`: back to back. Returns (wall time, latencies, applied records).
fn push_phase(
    server: &ServerProcess,
    devices: &[BenchDevice],
    bodies: Vec<Vec<Vec<u8>>>,
    args: &Args,
    paced: Option<f64>,
) -> Result<(Duration, Vec<Duration>, usize), String> {
    let url = server.url("/sync/v1/push");
    let n = devices.len();
    // Per device: one batch every `period`; devices staggered evenly over it.
    let period = paced.map(|rate| Duration::from_secs_f64((n * args.batch_size) as f64 / rate));
    let barrier = Barrier::new(n + 1);
    let (wall, results) = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .zip(bodies)
            .enumerate()
            .map(|(i, (d, bodies))| {
                let (url, barrier) = (&url, &barrier);
                s.spawn(move || -> Result<(Vec<Duration>, usize), String> {
                    let agent = phr_tests::http();
                    let mut latencies = Vec::with_capacity(bodies.len());
                    let mut applied = 0;
                    barrier.wait();
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
                        let response = push(&agent, url, &d.auth, body)?;
                        latencies.push(due.elapsed());
                        for r in &response.results {
                            if r.status != ChangeStatus::Applied || r.version != 1 {
                                return Err(format!("record {} was not applied as version 1: {r:?}", r.record_id));
                            }
                        }
                        if response.results.len() != args.batch_size {
                            return Err(format!(
                                "a push of {} records got {} results",
                                args.batch_size,
                                response.results.len()
                            ));
                        }
                        applied += response.results.len();
                    }
                    Ok((latencies, applied))
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> =
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a pushing thread panicked".into()))).collect();
        (start.elapsed(), results)
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

/// Every device pulls everything at once. Returns (wall time, each device's changes).
fn pull_phase(
    server: &ServerProcess,
    devices: &[BenchDevice],
    limit: u32,
) -> Result<(Duration, Vec<Vec<PulledChange>>), String> {
    let barrier = Barrier::new(devices.len() + 1);
    let (wall, results) = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .map(|d| {
                let barrier = &barrier;
                s.spawn(move || {
                    let agent = phr_tests::http();
                    barrier.wait();
                    pull_all(&agent, &server.base_url, &d.auth, limit)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> =
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a pulling thread panicked".into()))).collect();
        (start.elapsed(), results)
    });
    Ok((wall, results.into_iter().collect::<Result<Vec<_>, _>>()?))
}

/// Checks a device's pull against what it pushed: same set of records, same
/// envelopes, increasing sequence, and (for a sample) the plaintext after decryption.
fn verify_pull(d: &BenchDevice, changes: &[PulledChange], record_bytes: usize) -> Result<(), String> {
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

/// A fresh account with `--initial-records` records (pushed untimed), pulled
/// by one device; median milliseconds of the timed runs.
fn initial_pull(server: &ServerProcess, args: &Args) -> Result<f64, String> {
    let mut d = BenchDevice {
        device: Device::create_account(&server.base_url, "bench initial-pull device"),
        auth: String::new(),
        pushed: HashMap::new(),
    };
    d.auth = format!("Bearer {}", d.device.access_token);
    let full = args.initial_records / LOAD_BATCH;
    let rest = args.initial_records % LOAD_BATCH;
    let mut bodies = prepare_device(&mut d, full, LOAD_BATCH, args.record_bytes)?;
    bodies.extend(prepare_device(&mut d, usize::from(rest > 0), rest, args.record_bytes)?);
    let agent = phr_tests::http();
    let url = server.url("/sync/v1/push");
    for body in &bodies {
        push(&agent, &url, &d.auth, body)?;
    }
    drop(bodies);
    let mut times = Vec::with_capacity(args.initial_pull_runs);
    for run in 0..args.initial_pull_runs {
        // A new connection each run, as a freshly installed app would have.
        let agent = phr_tests::http();
        let start = Instant::now();
        let changes = pull_all(&agent, &server.base_url, &d.auth, args.initial_pull_limit)?;
        let elapsed = start.elapsed();
        verify_pull(&d, &changes, args.record_bytes)?;
        eprintln!("initial pull run {}: {} records in {:.1} ms", run + 1, changes.len(), elapsed.as_secs_f64() * 1e3);
        times.push(elapsed);
    }
    times.sort_unstable();
    Ok(times[times.len() / 2].as_secs_f64() * 1e3)
}

fn push(agent: &ureq::Agent, url: &str, auth: &str, body: &[u8]) -> Result<PushResponse, String> {
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

/// Pulls every change from cursor 0, page by page (response JSON parsed).
fn pull_all(agent: &ureq::Agent, base_url: &str, auth: &str, limit: u32) -> Result<Vec<PulledChange>, String> {
    let mut all = Vec::new();
    let mut since = 0;
    loop {
        let url = format!("{base_url}/sync/v1/pull?since={since}&limit={limit}");
        let mut resp =
            agent.get(&url).header("Authorization", auth).call().map_err(|e| format!("pull request failed: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| format!("pull: {e}"))?;
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
            return Ok(all);
        }
    }
}

/// The `p`-quantile of sorted latencies, in milliseconds (nearest rank).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

/// Peak resident set of a process (VmHWM), in MiB.
fn peak_rss_mb(pid: u32) -> Result<f64, String> {
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
fn report_rss(pid: u32, when: &str) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field =
        |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_default();
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

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
