//! `bench-mobile`: the mobile core (`phr-mobile`'s `PhrClient`) on this
//! machine, against a real server over loopback HTTP.
//!
//! Starts a server (this very binary re-executed with `PHR_BENCH_SERVE=1`,
//! per-device rate limit off) on SQLite in a temporary directory, and measures:
//!
//! - `local_insert_10k_ms`: 10,000 `add_record` calls (self-measured vitals of
//!   the mother, every item set, validated by phr-core, sealed and stored in
//!   the encrypted local store, one transaction each), offline.
//! - `timeline_query_p99_ms`: with those 10,000 records of one subject, the
//!   99th percentile of `timeline(mother, self_vitals, from, to)` over
//!   `--queries` random 30-day windows (about 300 records each, every one
//!   decrypted and returned as JSON). `timeline_query_median_ms` and the
//!   records per query are printed too, and `timeline_all_10k_ms` (the whole
//!   subject at once) for scale.
//! - `initial_sync_10k_ms`: a new phone paired to the account (untimed) runs
//!   its first `sync()`: sign-in, 10 pull pages of 1,000, every record
//!   unwrapped, opened, merged and re-sealed into its local store.
//! - `incremental_sync_ms`: the first phone adds 10 records and runs `sync()`
//!   (push 10, pull); median of `--incremental-runs` runs. `incremental_pull_ms`
//!   is the second phone's `sync()` receiving them.
//!
//! `*_cpu_ms` lines give the client thread's CPU time for the same work
//! (`CLOCK_THREAD_CPUTIME_ID`): on a machine shared with other jobs the wall
//! times include waiting for a core, the CPU times do not.
//!
//! Every figure is checked: the new phone must hold exactly the 10,000 records
//! with the same content, or the bench exits non-zero.
//!
//! stdout: one `# …` context line, then `name value unit` lines. Progress on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, FixedOffset, TimeZone};
use clap::Parser;
use phr_core::dataset::{examples, RecordBody};
use phr_mobile::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, PhrClient, TransportError};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::{ServerOptions, ServerProcess};

const STORAGE_KEY: [u8; 32] = [0x42; 32];

#[derive(Debug, Parser)]
#[command(name = "bench-mobile", about = "Benchmarks the mobile core: local store, timeline queries and sync")]
struct Args {
    /// Records in the local store.
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Timeline queries for the percentile.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Incremental sync runs (median reported).
    #[arg(long, default_value_t = 7)]
    incremental_runs: usize,
}

/// The app's HTTP client, here ureq.
struct Ureq(ureq::Agent);

impl HttpTransport for Ureq {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let fail = |e: ureq::Error| TransportError::Failed { reason: e.to_string() };
        let result = match request.method.as_str() {
            "GET" | "DELETE" => {
                let mut r =
                    if request.method == "GET" { self.0.get(&request.url) } else { self.0.delete(&request.url) };
                for h in &request.headers {
                    r = r.header(&h.name, &h.value);
                }
                r.call()
            }
            method => {
                let mut r = if method == "PUT" { self.0.put(&request.url) } else { self.0.post(&request.url) };
                for h in &request.headers {
                    r = r.header(&h.name, &h.value);
                }
                r.send(&request.body[..])
            }
        };
        let mut resp = result.map_err(fail)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(name, value)| HttpHeader { name: name.to_string(), value: value.to_str().unwrap_or("").to_owned() })
            .collect();
        let body = resp.body_mut().with_config().limit(256 * 1024 * 1024).read_to_vec().map_err(fail)?;
        Ok(HttpResponse { status, body, headers })
    }
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-mobile", run)
}

/// CPU time of the calling thread (all client work runs on it), so figures
/// can be told apart from waiting for a CPU on a loaded machine.
fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Vitals bodies, 10 a day going back from yesterday, every item set.
fn bodies(n: usize) -> (Vec<String>, chrono::NaiveDate, chrono::NaiveDate) {
    let jst = FixedOffset::east_opt(9 * 3600).expect("offset");
    let today = chrono::Utc::now().with_timezone(&jst).date_naive();
    let first = today - Duration::days(1 + (n as i64 + 9) / 10);
    let list = (0..n)
        .map(|i| {
            let day = first + Duration::days(i as i64 / 10);
            let mut v = examples::self_vitals_full();
            let at = day.and_hms_opt(7 + (i % 10) as u32, 30, 0).expect("time");
            v.measured_at = jst.from_local_datetime(&at).single().expect("local time");
            v.steps = Some(phr_core::dataset::Quantity::new(1000.0 + i as f64));
            serde_json::to_string(&RecordBody::SelfVitals(v)).expect("json")
        })
        .collect();
    (list, first, first + Duration::days((n as i64 - 1) / 10))
}

/// A small deterministic generator for query windows (no rand dependency).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn run(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let data_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ServerProcess::start(ServerOptions {
        binary: &exe,
        data_dir: data_dir.path(),
        database_url: Some(data_dir.path().join("phr.db").to_string_lossy().into_owned()),
        extra_args: vec!["--rate-limit-per-device".into(), "0".into()],
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    });
    eprintln!("server pid {} at {}", server.pid(), server.base_url);
    let files = tempfile::tempdir().map_err(|e| e.to_string())?;
    let transport: Arc<dyn HttpTransport> = Arc::new(Ureq(phr_tests::http()));
    let open = |name: &str| -> Result<Arc<PhrClient>, String> {
        let path: PathBuf = files.path().join(name);
        PhrClient::open(path.to_string_lossy().into_owned(), STORAGE_KEY.to_vec(), transport.clone())
            .map_err(|e| e.to_string())
    };
    let a = open("a.db")?;
    a.create_account(server.base_url.clone(), "Bench phone A".into()).map_err(|e| e.to_string())?;
    let (list, first_day, last_day) = bodies(args.records);

    eprintln!("inserting {} records", args.records);
    let (start, cpu) = (Instant::now(), thread_cpu());
    for body in &list {
        a.add_record("mother".into(), body.clone()).map_err(|e| e.to_string())?;
    }
    let (insert, insert_cpu) = (start.elapsed(), thread_cpu() - cpu);

    eprintln!("timeline queries");
    let all_start = Instant::now();
    let all = a.timeline("mother".into(), None, None, None).map_err(|e| e.to_string())?;
    let all_ms = ms(all_start.elapsed());
    if all.len() != args.records {
        return Err(format!("the timeline holds {} records, not {}", all.len(), args.records));
    }
    let span = (last_day - first_day).num_days().max(30) - 29;
    let mut rng = Lcg(0x5eed);
    let mut times = Vec::with_capacity(args.queries);
    let mut cpu_times = Vec::with_capacity(args.queries);
    let mut returned = 0usize;
    for _ in 0..args.queries {
        let from = first_day + Duration::days(rng.below(span as u64) as i64);
        let to = from + Duration::days(29);
        let (t, cpu) = (Instant::now(), thread_cpu());
        let page = a
            .timeline("mother".into(), Some("self_vitals".into()), Some(from.to_string()), Some(to.to_string()))
            .map_err(|e| e.to_string())?;
        times.push(ms(t.elapsed()));
        cpu_times.push(ms(thread_cpu() - cpu));
        returned += page.len();
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);

    eprintln!("pushing (untimed), pairing a new phone");
    a.sync(None).map_err(|e| e.to_string())?;
    let invite = a.create_pairing_invite().map_err(|e| e.to_string())?;
    let b = open("b.db")?;
    b.join_account(invite, "Bench phone B".into()).map_err(|e| e.to_string())?;
    let (start, cpu) = (Instant::now(), thread_cpu());
    let report = b.sync(None).map_err(|e| e.to_string())?;
    let (initial, initial_cpu) = (start.elapsed(), thread_cpu() - cpu);
    if report.pulled != args.records as u64 {
        return Err(format!("the new phone pulled {} records, not {}", report.pulled, args.records));
    }
    let on_b = b.timeline("mother".into(), None, None, None).map_err(|e| e.to_string())?;
    if on_b.len() != args.records || on_b.iter().zip(&all).any(|(x, y)| x.body_json != y.body_json) {
        return Err("the new phone's records differ from the first phone's".into());
    }

    eprintln!("incremental syncs");
    let mut incremental = Vec::new();
    let mut pulls = Vec::new();
    for run in 0..args.incremental_runs {
        for body in list.iter().take(10) {
            a.add_record("mother".into(), body.clone()).map_err(|e| e.to_string())?;
        }
        let t = Instant::now();
        let r = a.sync(None).map_err(|e| e.to_string())?;
        incremental.push(ms(t.elapsed()));
        if r.pushed != 10 || r.pending != 0 {
            return Err(format!("incremental run {run} pushed {} (pending {})", r.pushed, r.pending));
        }
        let t = Instant::now();
        let r = b.sync(None).map_err(|e| e.to_string())?;
        pulls.push(ms(t.elapsed()));
        if r.pulled != 10 {
            return Err(format!("incremental run {run}: the other phone pulled {}", r.pulled));
        }
    }
    incremental.sort_by(f64::total_cmp);
    pulls.sort_by(f64::total_cmp);
    drop(server);

    println!(
        "# records={} queries={} incremental_runs={} cpus={} loadavg=\"{}\" backend=sqlite transport=ureq-loopback",
        args.records,
        args.queries,
        args.incremental_runs,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("local_insert_10k_ms {:.0} ms", ms(insert));
    println!("local_insert_10k_cpu_ms {:.0} ms", ms(insert_cpu));
    println!("timeline_query_p99_ms {:.2} ms", percentile(&times, 0.99));
    println!("timeline_query_median_ms {:.2} ms", percentile(&times, 0.5));
    println!("timeline_query_p99_cpu_ms {:.2} ms", percentile(&cpu_times, 0.99));
    println!("timeline_query_records {:.0} records", returned as f64 / args.queries.max(1) as f64);
    println!("timeline_all_10k_ms {all_ms:.0} ms");
    println!("initial_sync_10k_ms {:.0} ms", ms(initial));
    println!("initial_sync_10k_client_cpu_ms {:.0} ms", ms(initial_cpu));
    println!("incremental_sync_ms {:.1} ms", percentile(&incremental, 0.5));
    println!("incremental_pull_ms {:.1} ms", percentile(&pulls, 0.5));
    Ok(())
}
