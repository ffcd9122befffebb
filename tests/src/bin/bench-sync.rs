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
//! The method lives in `phr_tests::bench::sync` (shared with `bench-scale`, which runs it
//! on a 100,000-family database through one and three nodes).
//!
//! stdout: one `# …` context line, then `name value unit` lines. Progress on stderr.

use std::process::ExitCode;

use clap::Parser;
use phr_tests::bench::sync::{self, loadavg, peak_rss_mb, report_rss, PhaseEvent, SyncParams};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::{ServerOptions, ServerProcess, TestDatabase};

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
    #[command(flatten)]
    sync: SyncParams,
    /// Extra flag for the server, e.g. `--server-arg=--db-pool-size=4` (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-sync", run)
}

fn run(args: &Args) -> Result<(), String> {
    args.sync.validate()?;
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

    let pid = server.pid();
    let result = sync::run(std::slice::from_ref(&server.base_url), &args.sync, &mut |event| {
        if let PhaseEvent::End(phase, _) = event {
            report_rss(pid, &format!("after {}", phase.name()));
        }
    });
    let rss = peak_rss_mb(server.pid());
    let load_end = loadavg();
    drop(server);
    let metrics = result?;
    let rss = rss?;

    let p = &args.sync;
    println!(
        "# backend={backend} devices={} batch_size={} batches={} paced_rate={} record_bytes={} loadavg_start=\"{load_start}\" loadavg_end=\"{load_end}\"",
        p.devices, p.batch_size, p.batches, p.paced_rate, p.record_bytes
    );
    println!("push_records_per_s {:.0} records/s", metrics.push_records_per_s);
    println!("pull_records_per_s {:.0} records/s", metrics.pull_records_per_s);
    println!("push_p99_ms {:.1} ms", metrics.push_p99_ms);
    println!("push_closed_loop_p99_ms {:.1} ms", metrics.push_closed_loop_p99_ms);
    println!("initial_pull_10k_ms {:.1} ms", metrics.initial_pull_ms);
    println!("server_rss_mb {rss:.1} MB");
    Ok(())
}
