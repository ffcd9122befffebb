//! `bench-scale`: what sync and FHIR search cost as the data grows (issue 19), on PostgreSQL.
//!
//! One run, one database (created on `--postgres-admin-url`, dropped at the end):
//!
//! 1. The first server node runs the migrations. A clinic registers and `--fhir-families`
//!    families enrol through the API (account, records synced, a treatment grant to the clinic
//!    with their record keys), as in `bench-fhir`. One of them is the **template**: the sizes
//!    of its rows (record envelopes and wrapped keys by kind, its device, audit events, grant
//!    and grant record keys) are what the filler families are made of, so a filler family
//!    looks to the database like a real one of `--records-per-family` records.
//! 2. **Baseline**: `--baseline-families` (50) filler families are loaded (the storage they
//!    take is the baseline per-family figure), then the measurements below run through 1 node,
//!    then through 3 nodes (`--nodes`), `--repeats` (3) rounds each; before each baseline round
//!    but the first, the accounts of the previous one are deleted and the database vacuumed, so
//!    every baseline round measures the same small database.
//! 3. **Load**: `--families` filler families (default 100,000 × 100 records = 10 M) are
//!    streamed into the parent tables with `COPY … FROM STDIN (FORMAT binary)` by column name
//!    (so the same code loads plain and hash-partitioned tables), `--load-streams` connections
//!    at once; then `ANALYZE` and `CHECKPOINT`. Load time, rows/s and the storage per family are
//!    reported.
//! 4. **Scale**: the same measurements again, through 1 node, then 3 nodes (the rounds' own
//!    accounts are kept: 0.3 M records a round on top of the 10 M); each figure (the median of
//!    the rounds) is printed with its `ratio` to the baseline figure of the same node count.
//!
//! Each measurement round starts fresh server processes (this binary re-executed with
//! `PHR_BENCH_SERVE=1`) on one shared data directory (so they share the server keys): the
//! first node, its `/healthz`, then the others; the clients are spread round-robin over the
//! nodes. A round measures, with new accounts created through the API (real crypto, auth and
//! audit chain):
//!
//! - the `bench-sync` run with the same method and parameters (`phr_tests::bench::sync`):
//!   `push_records_per_s`, `push_p99_ms`, `push_closed_loop_p99_ms`, `pull_records_per_s`,
//!   `initial_pull_10k_ms`; every record pulled back is checked;
//! - `server_cpu_ms_per_sync_call`: the server processes' CPU time (utime + stime from
//!   `/proc/<pid>/stat`) over those four phases divided by their sync calls (push calls of
//!   `--batch-size` records and pull pages); per push and per pull page too; and the CPU of the
//!   PostgreSQL backends serving the bench database (`postgres_cpu_ms_per_sync_call`);
//! - **morning syncs**: each of `--devices` families (holding `--records-per-family` records)
//!   does `--morning-syncs` syncs back to back, each a push of `--morning-records` new records
//!   and a pull of what is new since its cursor: latency p50/p99, syncs/s, server and
//!   PostgreSQL CPU per sync, and per sync the database's commits, blocks read and hit
//!   (`pg_stat_database` deltas, read after PostgreSQL's 10-second statistics flush) and WAL
//!   bytes (`pg_current_wal_lsn`, cluster-wide);
//! - `fhir_search_p50_ms` / `p99`: `Observation?patient=&code=<body weight>&date=ge&date=le`
//!   of the clinic over its consenting families, each call another family or window (no answer
//!   cache hit), sequential;
//! - `server_rss_mb`: the largest peak resident set of the nodes.
//!
//! Filler families are written without the server: their audit hashes have the right shape but
//! do not chain (`phr-server audit verify` fails on them), and their grants are to other
//! organizations than the measured clinic. Every measured request is checked; a failed check
//! exits non-zero. stdout: one `# …` context line, then `name value unit` lines; progress on stderr.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{Duration as Days, NaiveDate};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::pg::CopyFormat;
use diesel::prelude::ExecuteCopyFromDsl;
use diesel::{Connection, PgConnection, RunQueryDsl};
use phr_server::store::schema::{
    accounts, audit_events, consent_grants, devices, grant_record_keys, record_owners, records, refresh_tokens,
};
use phr_tests::bench::families::{check, enrol_families};
use phr_tests::bench::sync::{
    self, at_once, check_applied, loadavg, peak_rss_mb, percentile_ms, prepare_batches, pull_since, push, sha256,
    BenchDevice, PhaseEvent, SyncParams, SyncPhase,
};
use phr_tests::bench::{bench_database, bench_main, bench_server, SERVE_ENV};
use phr_tests::fhir::OrgClient;
use phr_tests::{ServerProcess, TestDatabase};
use serde_json::Value;

const ORG: &str = "bench-clinic";
/// Organizations the filler families' grants go to (never the measured clinic).
const FILLER_ORGS: usize = 50;
/// Families generated and copied per COPY statement of a load stream.
const CHUNK_FAMILIES: usize = 2_000;
/// Untimed searches before the timed ones.
const WARM_UP: usize = 3;
/// PostgreSQL backends flush their statistics within 10 s of going idle (`PGSTAT_IDLE_INTERVAL`).
const STATS_FLUSH: Duration = Duration::from_secs(11);

#[derive(Debug, Parser)]
#[command(
    name = "bench-scale",
    about = "Measures sync and FHIR search on an empty PostgreSQL database and after loading 100,000 families, through 1 and 3 nodes",
    after_help = "Quick run: --families 2000 --records-per-family 20 --devices 8 --batches 4 --paced-batches 4 \
        --initial-records 1000 --morning-syncs 5 --search-runs 30 --fhir-families 4\n\n\
        Output: a '# …' context line, then 'name value unit' lines on stdout; progress on stderr.\n\
        Exit status 1 if any request failed or any record did not come back intact."
)]
struct Args {
    /// PostgreSQL admin URL: the bench creates its database there and drops it at the end.
    #[arg(long)]
    postgres_admin_url: String,
    /// Filler families loaded for the scale measurements.
    #[arg(long, default_value_t = 100_000)]
    families: usize,
    /// Records of each filler family.
    #[arg(long, default_value_t = 100)]
    records_per_family: usize,
    /// Filler families loaded before the baseline measurements (the baseline storage per family).
    #[arg(long, default_value_t = 50)]
    baseline_families: usize,
    /// Node counts to measure, in order (each round starts that many server processes).
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    nodes: Vec<usize>,
    /// Share of filler families with a consent grant (and a grant record key per record).
    #[arg(long, default_value_t = 0.1)]
    grant_fraction: f64,
    /// Audit events per filler family (the template family's first ones).
    #[arg(long, default_value_t = 4)]
    audit_events_per_family: usize,
    /// Connections copying at once.
    #[arg(long, default_value_t = 2)]
    load_streams: usize,
    /// Families consenting to the clinic (enrolled through the API; the first is the template).
    #[arg(long, default_value_t = 20)]
    fhir_families: usize,
    /// Records of each of them (at least 20, as in bench-fhir).
    #[arg(long, default_value_t = 24)]
    fhir_family_records: usize,
    /// Timed FHIR searches per round.
    #[arg(long, default_value_t = 300)]
    search_runs: usize,
    /// Syncs per device in the morning-sync phase.
    #[arg(long, default_value_t = 40)]
    morning_syncs: usize,
    /// Records pushed by each morning sync.
    #[arg(long, default_value_t = 3)]
    morning_records: usize,
    /// Measurement rounds per node count and database size (each figure is their median).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// `--db-pool-size` of each node when there are several (a single node keeps the server default).
    #[arg(long, default_value_t = 12)]
    cluster_db_pool_size: u32,
    #[command(flatten)]
    sync: SyncParams,
    /// Extra flag for every server node, e.g. `--server-arg=--workers=2` (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-scale", run)
}

/// `name value unit` lines, printed together at the end.
#[derive(Default)]
struct Report {
    lines: Vec<(String, f64, &'static str)>,
}

impl Report {
    fn add(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        let name = name.into();
        eprintln!("figure: {name} {value:.3} {unit}");
        self.lines.push((name, value, unit));
    }
}

fn run(args: &Args) -> Result<(), String> {
    args.sync.validate()?;
    if args.fhir_family_records < 20 || args.fhir_families == 0 {
        return Err("--fhir-families must be at least 1 and --fhir-family-records at least 20".into());
    }
    if args.nodes.is_empty()
        || args.nodes.contains(&0)
        || args.records_per_family == 0
        || args.load_streams == 0
        || args.repeats == 0
    {
        return Err("--nodes, --records-per-family, --load-streams and --repeats must be at least 1".into());
    }
    let started = Instant::now();
    let load_start = loadavg();
    let db = bench_database(Some(&args.postgres_admin_url))?;
    let db_url = db.url();
    let db_name = db_url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_owned();
    let data_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut conn = PgConnection::establish(&db_url).map_err(|e| format!("cannot connect to {db_name}: {e}"))?;
    let mut report = Report::default();

    // --- 1. migrations, the clinic, its consenting families, the template ---------
    let nodes = start_nodes(&db, data_dir.path(), 1, args)?;
    eprintln!("database {db_name}; first node pid {} at {} (migrations applied)", nodes[0].pid(), nodes[0].base_url);
    let mut org = OrgClient::register_with_env(
        &exe,
        &[(SERVE_ENV, "1")],
        data_dir.path(),
        &db_url,
        &nodes[0].base_url,
        ORG,
        "system/*.cruds",
    );
    let t = Instant::now();
    let families = enrol_families(&nodes[0].base_url, &org.token, ORG, args.fhir_families, args.fhir_family_records)?;
    let pids: Vec<String> = families.into_iter().map(|f| f.pid).collect();
    eprintln!("{} families enrolled with grants to {ORG} in {:.1} s", pids.len(), t.elapsed().as_secs_f64());
    drop(nodes);
    let template = Template::read(&mut conn)?;
    template.describe();
    report.add("real_envelope_bytes_mean", template.envelope_mean(), "B");

    // --- 2. baseline ---------------------------------------------------------------
    let before = storage(&mut conn)?;
    let baseline_load = load(&db_url, &template, args, 0, args.baseline_families)?;
    db.analyze()?;
    let after = storage(&mut conn)?;
    let baseline_per_family = (after.tables - before.tables) as f64 / args.baseline_families.max(1) as f64;
    eprintln!(
        "baseline load: {} families, {} rows in {:.1} s",
        args.baseline_families, baseline_load.rows, baseline_load.seconds
    );
    let mut baseline = Vec::new();
    let mut first = true;
    for &n in &args.nodes {
        let mut rounds = Vec::with_capacity(args.repeats);
        for r in 0..args.repeats {
            // Each baseline round finds the database as small as the first did. (The last
            // round's accounts stay: the load then finds no space freed by deleted rows.)
            if !first {
                forget_measured_accounts(&mut conn)?;
            }
            first = false;
            let label = format!("baseline {n} node(s), round {} of {}", r + 1, args.repeats);
            rounds.push(measure_round(&label, n, &db, data_dir.path(), &mut org, &pids, &db_name, args)?);
        }
        baseline.push(median(rounds));
    }

    // --- 3. the load -----------------------------------------------------------------
    let before = storage(&mut conn)?;
    let wal_before = wal_lsn(&mut conn)?;
    let loaded = load(&db_url, &template, args, args.baseline_families, args.families)?;
    let wal_after = wal_lsn(&mut conn)?;
    let t = Instant::now();
    db.analyze()?;
    let analyze_s = t.elapsed().as_secs_f64();
    // The load's dirty pages on disk before measuring, as the baseline had none pending.
    let t = Instant::now();
    conn.batch_execute("CHECKPOINT").map_err(|e| format!("CHECKPOINT: {e}"))?;
    let checkpoint_s = t.elapsed().as_secs_f64();
    let after = storage(&mut conn)?;
    let scale_per_family = (after.tables - before.tables) as f64 / args.families.max(1) as f64;
    eprintln!("after the load: ANALYZE {analyze_s:.1} s, CHECKPOINT {checkpoint_s:.1} s");
    report_tables(&mut conn)?;
    let partitions =
        text(&mut conn, "SELECT greatest(count(*), 1)::text AS v FROM pg_partition_tree('records') WHERE isleaf")?;
    report.add("records_partitions", partitions.parse().unwrap_or(0.0), "partitions");
    report.add("load_families", args.families as f64, "families");
    report.add("load_records", loaded.records as f64, "records");
    report.add("load_s", loaded.seconds, "s");
    report.add("load_rows_per_s", loaded.rows as f64 / loaded.seconds, "rows/s");
    report.add("load_records_per_s", loaded.records as f64 / loaded.seconds, "records/s");
    report.add("load_mb_per_s", loaded.bytes as f64 / 1e6 / loaded.seconds, "MB/s");
    report.add("load_wal_bytes_per_record", (wal_after - wal_before) as f64 / loaded.records.max(1) as f64, "B");
    report.add("analyze_s", analyze_s, "s");
    report.add("checkpoint_s", checkpoint_s, "s");
    report.add("storage_bytes_per_family_baseline", baseline_per_family, "B");
    report.add("storage_bytes_per_family_scale", scale_per_family, "B");
    report.add("storage_bytes_per_family_ratio", scale_per_family / baseline_per_family, "x");
    report.add(
        "storage_bytes_per_record_scale",
        (after.tables - before.tables) as f64 / loaded.records.max(1) as f64,
        "B",
    );
    report.add(
        "storage_index_bytes_per_family_scale",
        (after.indexes - before.indexes) as f64 / args.families.max(1) as f64,
        "B",
    );
    report.add("database_bytes_scale", after.database as f64, "B");

    // --- 4. scale ---------------------------------------------------------------------
    for (i, &n) in args.nodes.iter().enumerate() {
        let mut rounds = Vec::with_capacity(args.repeats);
        for r in 0..args.repeats {
            let label = format!("scale {n} node(s), round {} of {}", r + 1, args.repeats);
            rounds.push(measure_round(&label, n, &db, data_dir.path(), &mut org, &pids, &db_name, args)?);
        }
        let scale = median(rounds);
        for (&(name, unit, base), &(_, _, value)) in baseline[i].iter().zip(&scale) {
            report.add(format!("{name}_{n}node_baseline"), base, unit);
            report.add(format!("{name}_{n}node_scale"), value, unit);
            report.add(format!("{name}_{n}node_ratio"), if base == 0.0 { 0.0 } else { value / base }, "x");
        }
    }
    let database_end = storage(&mut conn)?.database;
    drop(conn);
    drop(db);
    eprintln!("database {db_name} dropped; total bench time {:.1} s", started.elapsed().as_secs_f64());

    let p = &args.sync;
    println!(
        "# backend=postgres families={} records_per_family={} baseline_families={} nodes={:?} repeats={} grant_fraction={} devices={} batch_size={} batches={} paced_rate={} record_bytes={} morning={}x{} fhir_families={} database_bytes_end={database_end} total_s={:.0} cores={} loadavg_start=\"{load_start}\" loadavg_end=\"{}\"",
        args.families,
        args.records_per_family,
        args.baseline_families,
        args.nodes,
        args.repeats,
        args.grant_fraction,
        p.devices,
        p.batch_size,
        p.batches,
        p.paced_rate,
        p.record_bytes,
        args.morning_syncs,
        args.morning_records,
        args.fhir_families,
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        loadavg(),
    );
    for (name, value, unit) in &report.lines {
        if value.abs() >= 100.0 {
            println!("{name} {value:.0} {unit}");
        } else {
            println!("{name} {value:.3} {unit}");
        }
    }
    Ok(())
}

// --- server nodes --------------------------------------------------------------------------

/// `n` server processes on one database and data directory: the first, its `/healthz`, then
/// the others (so only the first ever creates the server keys or runs migrations).
fn start_nodes(
    db: &TestDatabase,
    data_dir: &std::path::Path,
    n: usize,
    args: &Args,
) -> Result<Vec<ServerProcess>, String> {
    let pool = args.cluster_db_pool_size.to_string();
    let mut flags: Vec<&str> = vec!["--rate-limit-per-device", "0", "--auth-rate-limit", "0"];
    if n > 1 {
        flags.extend(["--db-pool-size", pool.as_str()]);
    }
    flags.extend(args.server_arg.iter().map(String::as_str));
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let node = bench_server(db, data_dir, &flags)?;
        if i == 0 {
            wait_healthy(&node.base_url)?;
        }
        nodes.push(node);
    }
    for node in &nodes[1..] {
        wait_healthy(&node.base_url)?;
    }
    Ok(nodes)
}

fn wait_healthy(base_url: &str) -> Result<(), String> {
    let agent = phr_tests::http();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(resp) = agent.get(&format!("{base_url}/healthz")).call() {
            if resp.status().as_u16() == 200 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{base_url}/healthz did not answer 200 within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// --- CPU of processes ----------------------------------------------------------------------

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf reads a constant of the system; no memory is touched.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU ticks of each PostgreSQL backend serving `db_name` (its process title names the database).
fn postgres_backends(db_name: &str) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let title = String::from_utf8_lossy(&cmdline);
        if title.starts_with("postgres: ") && title.split_whitespace().any(|w| w == db_name) {
            if let Some(ticks) = cpu_ticks(pid) {
                out.insert(pid, ticks);
            }
        }
    }
    out
}

/// CPU of the server nodes and of the database's PostgreSQL backends at one moment.
struct CpuSnapshot {
    servers: u64,
    postgres: HashMap<u32, u64>,
}

impl CpuSnapshot {
    fn take(nodes: &[u32], db_name: &str) -> CpuSnapshot {
        CpuSnapshot { servers: nodes.iter().filter_map(|p| cpu_ticks(*p)).sum(), postgres: postgres_backends(db_name) }
    }

    /// (server ms, PostgreSQL backends ms) since `self`; a backend that started since counts whole.
    fn since(&self, nodes: &[u32], db_name: &str) -> (f64, f64) {
        let now = CpuSnapshot::take(nodes, db_name);
        let ms = 1000.0 / clock_ticks_per_s();
        let pg: u64 = now.postgres.iter().map(|(pid, t)| t.saturating_sub(*self.postgres.get(pid).unwrap_or(&0))).sum();
        (now.servers.saturating_sub(self.servers) as f64 * ms, pg as f64 * ms)
    }
}

// --- PostgreSQL ------------------------------------------------------------------------------

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

/// The `v` column (text) of each row of `sql`.
fn texts(conn: &mut PgConnection, sql: &str) -> Result<Vec<String>, String> {
    diesel::sql_query(sql)
        .load::<TextRow>(conn)
        .map(|rows| rows.into_iter().map(|r| r.v).collect())
        .map_err(|e| format!("{sql}: {e}"))
}

fn text(conn: &mut PgConnection, sql: &str) -> Result<String, String> {
    texts(conn, sql)?.into_iter().next().ok_or_else(|| format!("{sql}: no row"))
}

/// Bytes of every table with storage (partitions included, with their indexes and TOAST), of
/// their indexes alone, and of the database.
struct Storage {
    tables: i64,
    indexes: i64,
    database: i64,
}

fn storage(conn: &mut PgConnection) -> Result<Storage, String> {
    let v = text(
        conn,
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text || ' ' || coalesce(sum(pg_indexes_size(c.oid)), 0)::text \
         || ' ' || pg_database_size(current_database())::text AS v FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')",
    )?;
    let mut it = v.split(' ').map(|s| s.parse::<i64>().unwrap_or(0));
    Ok(Storage { tables: it.next().unwrap_or(0), indexes: it.next().unwrap_or(0), database: it.next().unwrap_or(0) })
}

/// Per-table sizes (all partitions, indexes and TOAST) and row estimates, on stderr.
fn report_tables(conn: &mut PgConnection) -> Result<(), String> {
    // A plain table is its own only leaf; a partitioned one is the sum of its partitions.
    let rows = texts(
        conn,
        "WITH leaves AS (SELECT t, coalesce((SELECT array_agg(relid) FROM pg_partition_tree(t::regclass) WHERE isleaf), \
         array[t::regclass]) AS rels FROM unnest(array['accounts', 'devices', 'refresh_tokens', 'records', 'record_owners', 'audit_events', \
         'consent_grants', 'grant_record_keys']) t) \
         SELECT t || ': ' || pg_size_pretty(sum(pg_total_relation_size(r))) || ' total, ' || pg_size_pretty(sum(pg_relation_size(r))) \
         || ' heap, ' || pg_size_pretty(sum(pg_indexes_size(r))) || ' indexes, ' || count(*) || ' leaf relation(s), ~' \
         || sum(greatest(c.reltuples, 0))::bigint || ' rows' AS v \
         FROM leaves, unnest(rels) r JOIN pg_class c ON c.oid = r GROUP BY t ORDER BY t",
    )?;
    for row in rows {
        eprintln!("table {row}");
    }
    Ok(())
}

/// The cluster's WAL position, in bytes.
fn wal_lsn(conn: &mut PgConnection) -> Result<u64, String> {
    let v = text(conn, "SELECT pg_current_wal_lsn()::text AS v")?;
    let (hi, lo) = v.split_once('/').ok_or_else(|| format!("bad LSN {v}"))?;
    let hi = u64::from_str_radix(hi, 16).map_err(|e| e.to_string())?;
    let lo = u64::from_str_radix(lo, 16).map_err(|e| e.to_string())?;
    Ok((hi << 32) | lo)
}

/// The database's counters (`pg_stat_database`) and the cluster's WAL position.
#[derive(Clone, Copy, Default)]
struct DbStats {
    xact_commit: f64,
    blks_read: f64,
    blks_hit: f64,
    tup_inserted: f64,
    wal: f64,
}

fn db_stats(conn: &mut PgConnection) -> Result<DbStats, String> {
    let v = text(
        conn,
        "SELECT xact_commit::text || ' ' || blks_read::text || ' ' || blks_hit::text || ' ' || tup_inserted::text AS v \
         FROM pg_stat_database WHERE datname = current_database()",
    )?;
    let n: Vec<f64> = v.split(' ').map(|s| s.parse().unwrap_or(0.0)).collect();
    Ok(DbStats { xact_commit: n[0], blks_read: n[1], blks_hit: n[2], tup_inserted: n[3], wal: wal_lsn(conn)? as f64 })
}

// --- the template family ----------------------------------------------------------------------

/// One record of the template family: what a filler record copies (its sizes, kind and subject).
struct TemplateRecord {
    kind: String,
    subject: String,
    dated: bool,
    envelope: usize,
    wrapped_key: usize,
}

/// One audit event of the template family (its hashes are made anew for each filler family).
struct TemplateAudit {
    actor: String,
    action: String,
    has_grant: bool,
    record_ids: String,
    outcome: String,
    occurrences: Option<i64>,
    reason: Option<String>,
    actor_name: Option<String>,
}

/// The rows of a real family (enrolled through the API), as sizes and shapes.
struct Template {
    account_key: usize,
    device_key: usize,
    device_name: String,
    records: Vec<TemplateRecord>,
    audit: Vec<TemplateAudit>,
    grant_json: String,
    grant_id: String,
    grant_org: String,
    grant_created_by: String,
    template_device: String,
    wrapped_grant_key: usize,
    view_kid: String,
    grant_record_key: usize,
}

/// Field separator of the template queries (never in the values read).
const SEP: char = '\u{1f}';
const NULL: &str = "\u{2}";

impl Template {
    fn read(conn: &mut PgConnection) -> Result<Template, String> {
        let account = text(
            conn,
            &format!("SELECT account_id AS v FROM consent_grants WHERE organization_id = '{ORG}' ORDER BY account_id LIMIT 1"),
        )?;
        let q = |sql: &str| sql.replace("$A", &account).replace("$S", &SEP.to_string()).replace("$N", NULL);
        let account_key =
            text(conn, &q("SELECT octet_length(public_key)::text AS v FROM accounts WHERE account_id = '$A'"))?;
        let device = text(
            conn,
            &q("SELECT octet_length(public_key)::text || '$S' || name || '$S' || device_id AS v FROM devices WHERE account_id = '$A' LIMIT 1"),
        )?;
        let device: Vec<&str> = device.split(SEP).collect();
        let records = texts(
            conn,
            &q("SELECT kind || '$S' || subject || '$S' || (effective_date IS NOT NULL)::text || '$S' || octet_length(envelope)::text \
                || '$S' || octet_length(wrapped_key)::text AS v FROM records WHERE account_id = '$A' ORDER BY seq"),
        )?
        .into_iter()
        .map(|row| {
            let f: Vec<&str> = row.split(SEP).collect();
            TemplateRecord {
                kind: f[0].to_owned(),
                subject: f[1].to_owned(),
                dated: f[2] == "true",
                envelope: f[3].parse().unwrap_or(0),
                wrapped_key: f[4].parse().unwrap_or(0),
            }
        })
        .collect::<Vec<_>>();
        let opt = |s: &str| (s != NULL).then(|| s.to_owned());
        let audit = texts(
            conn,
            &q("SELECT actor || '$S' || action || '$S' || (grant_id IS NOT NULL)::text || '$S' || record_ids || '$S' || outcome \
                || '$S' || coalesce(occurrences::text, '$N') || '$S' || coalesce(reason, '$N') || '$S' || coalesce(actor_name, '$N') AS v \
                FROM audit_events WHERE account_id = '$A' ORDER BY seq"),
        )?
        .into_iter()
        .map(|row| {
            let f: Vec<&str> = row.split(SEP).collect();
            TemplateAudit {
                actor: f[0].to_owned(),
                action: f[1].to_owned(),
                has_grant: f[2] == "true",
                record_ids: f[3].to_owned(),
                outcome: f[4].to_owned(),
                occurrences: opt(f[5]).and_then(|s| s.parse().ok()),
                reason: opt(f[6]),
                actor_name: opt(f[7]),
            }
        })
        .collect::<Vec<_>>();
        let grant = text(
            conn,
            &q("SELECT grant_id || '$S' || organization_id || '$S' || grant_json || '$S' || octet_length(wrapped_grant_key)::text \
                || '$S' || view_kid || '$S' || created_by AS v FROM consent_grants WHERE account_id = '$A' LIMIT 1"),
        )?;
        let g: Vec<&str> = grant.split(SEP).collect();
        let grant_record_key = text(
            conn,
            &q("SELECT coalesce(avg(octet_length(wrapped_key))::bigint, 0)::text AS v FROM grant_record_keys WHERE account_id = '$A'"),
        )?;
        if records.is_empty() || audit.is_empty() || device.len() < 3 || g.len() < 6 {
            return Err(format!("the template family {account} lacks records, audit events, a device or a grant"));
        }
        Ok(Template {
            account_key: account_key.parse().unwrap_or(32),
            device_key: device[0].parse().unwrap_or(32),
            device_name: device[1].to_owned(),
            template_device: device[2].to_owned(),
            records,
            audit,
            grant_id: g[0].to_owned(),
            grant_org: g[1].to_owned(),
            grant_json: g[2].to_owned(),
            wrapped_grant_key: g[3].parse().unwrap_or(0),
            view_kid: g[4].to_owned(),
            grant_created_by: g[5].to_owned(),
            grant_record_key: grant_record_key.parse().unwrap_or(0),
        })
    }

    fn envelope_mean(&self) -> f64 {
        self.records.iter().map(|r| r.envelope as f64).sum::<f64>() / self.records.len() as f64
    }

    fn describe(&self) {
        let mut by_kind: HashMap<&str, (usize, usize, usize)> = HashMap::new();
        for r in &self.records {
            let e = by_kind.entry(&r.kind).or_default();
            e.0 += 1;
            e.1 += r.envelope;
            e.2 += r.wrapped_key;
        }
        for (kind, (n, env, key)) in &by_kind {
            eprintln!("template records {kind}: {n}, envelope {} B, wrapped key {} B (mean)", env / n, key / n);
        }
        let actions: Vec<&str> = self.audit.iter().map(|a| a.action.as_str()).collect();
        eprintln!(
            "template: account key {} B, device key {} B, audit events {actions:?}, grant JSON {} B, wrapped grant key {} B, grant record key {} B",
            self.account_key,
            self.device_key,
            self.grant_json.len(),
            self.wrapped_grant_key,
            self.grant_record_key
        );
    }
}

// --- filler families ---------------------------------------------------------------------------

/// A small fast generator (splitmix64): filler ids, hashes and ciphertext-like bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// A UUIDv7 string for a time in ms, as the server and the apps make ids.
    fn uuid_v7(&mut self, ms: u64) -> String {
        let mut rand = [0u8; 10];
        self.fill(&mut rand);
        uuid::Builder::from_unix_timestamp_millis(ms, &rand).into_uuid().to_string()
    }

    fn hex(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.fill(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// One filler family's ids and times (its ciphertext is generated as it is copied).
struct Filler {
    account_id: String,
    device_id: String,
    created_at: i64,
    /// (record id, updated_at)
    records: Vec<(String, i64)>,
    /// (hash, at)
    audit: Vec<(String, i64)>,
    /// (grant id, organization)
    grant: Option<(String, String)>,
}

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Filler family `f` of `total`: created at a time spread over the two years before `now`.
fn filler(f: usize, total: usize, now: i64, args: &Args, template: &Template) -> Filler {
    let mut rng = Rng(0x5EED_0000_0000_0000 ^ (f as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let span = 730 * DAY_MS;
    let created_at = now - span + (span as f64 * (f as f64 / total.max(1) as f64)) as i64;
    let account_id = rng.uuid_v7(created_at as u64);
    let device_id = rng.uuid_v7(created_at as u64);
    let n = args.records_per_family;
    let records = (0..n)
        .map(|i| {
            let at = created_at + (now - created_at) * (i as i64 + 1) / (n as i64 + 1);
            (rng.uuid_v7(at as u64), at)
        })
        .collect();
    let audit = (0..args.audit_events_per_family.min(template.audit.len()).max(1))
        .map(|i| (rng.hex(32), created_at + i as i64 * 1000))
        .collect();
    // Every 1/grant_fraction-th family consents (spread evenly over the load).
    let granted = args.grant_fraction > 0.0
        && ((f as f64 * args.grant_fraction).floor() != ((f + 1) as f64 * args.grant_fraction).floor());
    let grant =
        granted.then(|| (rng.uuid_v7((created_at + DAY_MS) as u64), format!("filler-clinic-{}", f % FILLER_ORGS)));
    Filler { account_id, device_id, created_at, records, audit, grant }
}

/// Rows in PostgreSQL's binary COPY format, written out to the COPY stream in large pieces.
struct CopyRows<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    rows: u64,
    bytes: u64,
}

impl<'w> CopyRows<'w> {
    fn new(out: &'w mut dyn Write) -> CopyRows<'w> {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyRows { out, buf, rows: 0, bytes: 0 }
    }

    fn row(&mut self, fields: i16) -> std::io::Result<()> {
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        self.rows += 1;
        self.buf.extend_from_slice(&fields.to_be_bytes());
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(&(b.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(b);
    }

    fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn int8(&mut self, v: i64) {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn boolean(&mut self, v: bool) {
        self.buf.extend_from_slice(&1i32.to_be_bytes());
        self.buf.push(u8::from(v));
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// `len` random bytes (ciphertext does not compress).
    fn random(&mut self, rng: &mut Rng, len: usize) {
        self.buf.extend_from_slice(&(len as i32).to_be_bytes());
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        rng.fill(&mut self.buf[start..]);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.bytes += self.buf.len() as u64;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<(u64, u64)> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.flush()?;
        Ok((self.rows, self.bytes))
    }
}

fn io_err(e: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(e))
}

/// What a load did.
#[derive(Default)]
struct Loaded {
    rows: u64,
    records: u64,
    bytes: u64,
    seconds: f64,
}

/// Copies filler families `first .. first + count` (of one generation, `first + count` in all)
/// into the database, `--load-streams` connections at once.
fn load(db_url: &str, template: &Template, args: &Args, first: usize, count: usize) -> Result<Loaded, String> {
    if count == 0 {
        return Ok(Loaded::default());
    }
    let started = Instant::now();
    let now = now_ms();
    let total = first + count;
    let streams = args.load_streams.min(count);
    let done = Arc::new(AtomicU64::new(0));
    let results: Vec<Result<Loaded, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..streams)
            .map(|i| {
                let from = first + count * i / streams;
                let to = first + count * (i + 1) / streams;
                let done = done.clone();
                s.spawn(move || load_stream(db_url, template, args, from..to, total, now, &done))
            })
            .collect();
        let mut last = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(200));
            if last.elapsed() >= Duration::from_secs(15) {
                last = Instant::now();
                let d = done.load(Ordering::Relaxed) as f64;
                let t = started.elapsed().as_secs_f64();
                eprintln!(
                    "load: {d:.0} / {count} families in {t:.0} s ({:.0} records/s); loadavg {}",
                    d * args.records_per_family as f64 / t,
                    loadavg()
                );
            }
        }
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a load stream panicked".into()))).collect()
    });
    let mut loaded = Loaded::default();
    for r in results {
        let r = r?;
        loaded.rows += r.rows;
        loaded.records += r.records;
        loaded.bytes += r.bytes;
    }
    loaded.seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "loaded {count} families: {} rows ({} records, {:.0} MB sent) in {:.1} s = {:.0} rows/s, {:.0} records/s",
        loaded.rows,
        loaded.records,
        loaded.bytes as f64 / 1e6,
        loaded.seconds,
        loaded.rows as f64 / loaded.seconds,
        loaded.records as f64 / loaded.seconds
    );
    Ok(loaded)
}

/// One load connection: families `range`, chunk by chunk, each table by `COPY` on its parent
/// table and named columns. Triggers and foreign-key checks are off for this session
/// (`session_replication_role = replica`, the usual bulk-load setting): the rows are consistent
/// by construction, and what the triggers would write (the audit head in the account, the
/// `record_owners` row of each record) is copied with them.
fn load_stream(
    db_url: &str,
    template: &Template,
    args: &Args,
    range: std::ops::Range<usize>,
    total: usize,
    now: i64,
    done: &AtomicU64,
) -> Result<Loaded, String> {
    let mut conn = PgConnection::establish(db_url).map_err(|e| format!("load connection: {e}"))?;
    conn.batch_execute("SET session_replication_role = replica").map_err(|e| format!("load session: {e}"))?;
    let mut loaded = Loaded::default();
    let mut start = range.start;
    while start < range.end {
        let end = (start + CHUNK_FAMILIES).min(range.end);
        let fams: Vec<Filler> = (start..end).map(|f| filler(f, total, now, args, template)).collect();
        let (rows, bytes) = copy_chunk(&mut conn, &fams, template).map_err(|e| format!("COPY: {e}"))?;
        loaded.rows += rows;
        loaded.bytes += bytes;
        loaded.records += fams.iter().map(|f| f.records.len() as u64).sum::<u64>();
        done.fetch_add((end - start) as u64, Ordering::Relaxed);
        start = end;
    }
    Ok(loaded)
}

/// Copies one chunk of families into every table; returns (rows, bytes sent).
fn copy_chunk(conn: &mut PgConnection, fams: &[Filler], t: &Template) -> Result<(u64, u64), diesel::result::Error> {
    let totals = std::cell::Cell::new((0u64, 0u64));
    let add = |r: (u64, u64)| {
        let (a, b) = totals.get();
        totals.set((a + r.0, b + r.1));
    };
    let seed = fams.first().map_or(0, |f| f.created_at as u64);

    diesel::copy_from(accounts::table)
        .from_raw_data(
            (
                accounts::account_id,
                accounts::public_key,
                accounts::change_seq,
                accounts::record_count,
                accounts::consent_seq,
                accounts::audit_seq,
                accounts::audit_head,
                accounts::created_at,
            ),
            |w: &mut dyn Write| {
                let mut rng = Rng(seed ^ 1);
                let mut c = CopyRows::new(w);
                for f in fams {
                    c.row(8).map_err(io_err)?;
                    c.text(&f.account_id);
                    c.random(&mut rng, t.account_key);
                    c.int8(f.records.len() as i64);
                    c.int8(f.records.len() as i64);
                    c.int8(i64::from(f.grant.is_some()));
                    c.int8(f.audit.len() as i64);
                    c.text(f.audit.last().map_or("", |(h, _)| h.as_str()));
                    c.int8(f.created_at);
                }
                add(c.finish().map_err(io_err)?);
                Ok::<(), diesel::result::Error>(())
            },
        )
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    diesel::copy_from(devices::table)
        .from_raw_data(
            (
                devices::account_id,
                devices::device_id,
                devices::public_key,
                devices::name,
                devices::created_at,
                devices::last_seen_at,
            ),
            |w: &mut dyn Write| {
                let mut rng = Rng(seed ^ 2);
                let mut c = CopyRows::new(w);
                for f in fams {
                    c.row(6).map_err(io_err)?;
                    c.text(&f.account_id);
                    c.text(&f.device_id);
                    c.random(&mut rng, t.device_key);
                    c.text(&t.device_name);
                    c.int8(f.created_at);
                    c.int8(f.records.last().map_or(f.created_at, |r| r.1));
                }
                add(c.finish().map_err(io_err)?);
                Ok::<(), diesel::result::Error>(())
            },
        )
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    diesel::copy_from(refresh_tokens::table)
        .from_raw_data(
            (
                refresh_tokens::account_id,
                refresh_tokens::token_hash,
                refresh_tokens::device_id,
                refresh_tokens::created_at,
                refresh_tokens::expires_at,
                refresh_tokens::used_at,
            ),
            |w: &mut dyn Write| {
                let mut rng = Rng(seed ^ 3);
                let mut c = CopyRows::new(w);
                for f in fams {
                    let last = f.records.last().map_or(f.created_at, |r| r.1);
                    c.row(6).map_err(io_err)?;
                    c.text(&f.account_id);
                    c.text(&rng.hex(32));
                    c.text(&f.device_id);
                    c.int8(last);
                    c.int8(last + 30 * DAY_MS);
                    c.null();
                }
                add(c.finish().map_err(io_err)?);
                Ok::<(), diesel::result::Error>(())
            },
        )
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    diesel::copy_from(records::table)
        .from_raw_data(
            (
                records::account_id,
                records::record_id,
                records::kind,
                records::subject,
                records::effective_date,
                records::version,
                records::seq,
                records::deleted,
                records::envelope,
                records::wrapped_key,
                records::device_id,
                records::updated_at,
            ),
            |w: &mut dyn Write| {
                let mut rng = Rng(seed ^ 4);
                let mut c = CopyRows::new(w);
                for f in fams {
                    for (i, (record_id, at)) in f.records.iter().enumerate() {
                        let tr = &t.records[i % t.records.len()];
                        c.row(12).map_err(io_err)?;
                        c.text(&f.account_id);
                        c.text(record_id);
                        c.text(&tr.kind);
                        c.text(&tr.subject);
                        let date = tr.dated.then(|| {
                            chrono::DateTime::from_timestamp_millis(*at)
                                .map(|d| d.format("%Y-%m-%d").to_string())
                                .unwrap_or_default()
                        });
                        c.opt_text(date.as_deref());
                        c.int8(1);
                        c.int8(i as i64 + 1);
                        c.boolean(false);
                        c.random(&mut rng, tr.envelope);
                        c.random(&mut rng, tr.wrapped_key);
                        c.text(&f.device_id);
                        c.int8(*at);
                    }
                }
                add(c.finish().map_err(io_err)?);
                Ok::<(), diesel::result::Error>(())
            },
        )
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    // What the `records_owner` trigger (off in this session) adds for each new record id.
    diesel::copy_from(record_owners::table)
        .from_raw_data((record_owners::record_id, record_owners::account_id), |w: &mut dyn Write| {
            let mut c = CopyRows::new(w);
            for f in fams {
                for (record_id, _) in &f.records {
                    c.row(2).map_err(io_err)?;
                    c.text(record_id);
                    c.text(&f.account_id);
                }
            }
            add(c.finish().map_err(io_err)?);
            Ok::<(), diesel::result::Error>(())
        })
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    diesel::copy_from(audit_events::table)
        .from_raw_data(
            (
                audit_events::account_id,
                audit_events::seq,
                audit_events::at,
                audit_events::actor,
                audit_events::action,
                audit_events::grant_id,
                audit_events::record_ids,
                audit_events::outcome,
                audit_events::prev_hash,
                audit_events::hash,
                audit_events::occurrences,
                audit_events::reason,
                audit_events::actor_name,
            ),
            |w: &mut dyn Write| {
                let mut c = CopyRows::new(w);
                for f in fams {
                    let mut prev = "";
                    for (i, (hash, at)) in f.audit.iter().enumerate() {
                        let ta = &t.audit[i % t.audit.len()];
                        c.row(13).map_err(io_err)?;
                        c.text(&f.account_id);
                        c.int8(i as i64 + 1);
                        c.int8(*at);
                        c.text(&ta.actor.replace(&t.template_device, &f.device_id));
                        c.text(&ta.action);
                        let grant = f.grant.as_ref().map(|g| g.0.as_str()).or(Some(t.grant_id.as_str()));
                        c.opt_text(if ta.has_grant { grant } else { None });
                        c.text(&ta.record_ids);
                        c.text(&ta.outcome);
                        c.text(prev);
                        c.text(hash);
                        match ta.occurrences {
                            Some(n) => c.int8(n),
                            None => c.null(),
                        }
                        c.opt_text(ta.reason.as_deref());
                        c.opt_text(ta.actor_name.as_deref());
                        prev = hash;
                    }
                }
                add(c.finish().map_err(io_err)?);
                Ok::<(), diesel::result::Error>(())
            },
        )
        .with_format(CopyFormat::Binary)
        .execute(conn)?;

    if fams.iter().any(|f| f.grant.is_some()) {
        diesel::copy_from(consent_grants::table)
            .from_raw_data(
                (
                    consent_grants::account_id,
                    consent_grants::grant_id,
                    consent_grants::organization_id,
                    consent_grants::grant_json,
                    consent_grants::state,
                    consent_grants::wrapped_grant_key,
                    consent_grants::view_kid,
                    consent_grants::created_at,
                    consent_grants::created_by,
                    consent_grants::revoked_at,
                ),
                |w: &mut dyn Write| {
                    let mut rng = Rng(seed ^ 5);
                    let mut c = CopyRows::new(w);
                    for f in fams {
                        let Some((grant_id, org)) = &f.grant else { continue };
                        c.row(10).map_err(io_err)?;
                        c.text(&f.account_id);
                        c.text(grant_id);
                        c.text(org);
                        c.text(&t.grant_json.replace(&t.grant_id, grant_id).replace(&t.grant_org, org));
                        c.text("active");
                        c.random(&mut rng, t.wrapped_grant_key);
                        c.text(&t.view_kid);
                        c.int8(f.created_at + DAY_MS);
                        c.text(&t.grant_created_by.replace(&t.template_device, &f.device_id));
                        c.null();
                    }
                    add(c.finish().map_err(io_err)?);
                    Ok::<(), diesel::result::Error>(())
                },
            )
            .with_format(CopyFormat::Binary)
            .execute(conn)?;

        diesel::copy_from(grant_record_keys::table)
            .from_raw_data(
                (
                    grant_record_keys::account_id,
                    grant_record_keys::grant_id,
                    grant_record_keys::record_id,
                    grant_record_keys::wrapped_key,
                ),
                |w: &mut dyn Write| {
                    let mut rng = Rng(seed ^ 6);
                    let mut c = CopyRows::new(w);
                    for f in fams {
                        let Some((grant_id, _)) = &f.grant else { continue };
                        for (record_id, _) in &f.records {
                            c.row(4).map_err(io_err)?;
                            c.text(&f.account_id);
                            c.text(grant_id);
                            c.text(record_id);
                            c.random(&mut rng, t.grant_record_key);
                        }
                    }
                    add(c.finish().map_err(io_err)?);
                    Ok::<(), diesel::result::Error>(())
                },
            )
            .with_format(CopyFormat::Binary)
            .execute(conn)?;
    }
    Ok(totals.get())
}

/// The median of each figure over the rounds (all rounds list the same figures in the same order).
fn median(rounds: Vec<Figures>) -> Figures {
    let mut out = rounds[0].clone();
    for (i, figure) in out.iter_mut().enumerate() {
        let mut values: Vec<f64> = rounds.iter().map(|r| r[i].2).collect();
        values.sort_by(f64::total_cmp);
        figure.2 = values[values.len() / 2];
    }
    out
}

/// Deletes the accounts a measurement round created (with everything of theirs, by the
/// schema's cascades) and vacuums, so that the next baseline round measures the same small
/// database. The filler and clinic families have other device names.
fn forget_measured_accounts(conn: &mut PgConnection) -> Result<(), String> {
    let t = Instant::now();
    conn.batch_execute(
        "DELETE FROM accounts WHERE account_id IN (SELECT account_id FROM devices WHERE name LIKE 'bench device %' \
         OR name LIKE 'morning device %' OR name = 'bench initial-pull device')",
    )
    .map_err(|e| format!("cannot delete the measured accounts: {e}"))?;
    conn.batch_execute("VACUUM ANALYZE").map_err(|e| format!("VACUUM: {e}"))?;
    eprintln!("measured accounts deleted and vacuumed in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

// --- a measurement round ---------------------------------------------------------------------

/// (figure name, unit, value) of one round, in a fixed order.
type Figures = Vec<(&'static str, &'static str, f64)>;

#[allow(clippy::too_many_arguments)]
fn measure_round(
    label: &str,
    n: usize,
    db: &TestDatabase,
    data_dir: &std::path::Path,
    org: &mut OrgClient,
    pids: &[String],
    db_name: &str,
    args: &Args,
) -> Result<Figures, String> {
    eprintln!("=== {label} (loadavg {}) ===", loadavg());
    let nodes = start_nodes(db, data_dir, n, args)?;
    let urls: Vec<String> = nodes.iter().map(|s| s.base_url.clone()).collect();
    let node_pids: Vec<u32> = nodes.iter().map(ServerProcess::pid).collect();
    eprintln!("nodes {:?} at {urls:?}", node_pids);
    let mut conn = PgConnection::establish(&db.url()).map_err(|e| format!("stats connection: {e}"))?;

    // The bench-sync run, with the CPU of each timed phase.
    let mut phases: HashMap<&'static str, (f64, f64, usize)> = HashMap::new();
    let mut open: Option<CpuSnapshot> = None;
    let metrics = sync::run(&urls, &args.sync, &mut |event| match event {
        PhaseEvent::Start(_) => open = Some(CpuSnapshot::take(&node_pids, db_name)),
        PhaseEvent::End(phase, calls) => {
            if let Some(snap) = open.take() {
                let (server, pg) = snap.since(&node_pids, db_name);
                let key = match phase {
                    SyncPhase::ClosedLoopPush => "push",
                    SyncPhase::PacedPush => "paced",
                    SyncPhase::Pull => "pull",
                    SyncPhase::InitialPull => "initial",
                };
                eprintln!("{}: {calls} calls, server CPU {server:.0} ms, PostgreSQL CPU {pg:.0} ms", phase.name());
                phases.insert(key, (server, pg, calls));
            }
        }
    })?;
    let (server_ms, pg_ms, calls) =
        phases.values().fold((0.0, 0.0, 0usize), |acc, p| (acc.0 + p.0, acc.1 + p.1, acc.2 + p.2));
    let per = |key: &str| phases.get(key).map_or(0.0, |p| p.0 / p.2.max(1) as f64);

    let morning = morning_phase(&urls, &node_pids, db_name, &mut conn, args)?;

    org.server = urls[0].clone();
    org.token = org.new_token("system/*.cruds");
    let search = search_phase(&urls, &node_pids, &org.token, pids, args.search_runs)?;

    let rss = node_pids.iter().map(|p| peak_rss_mb(*p)).collect::<Result<Vec<_>, _>>()?;
    drop(nodes);
    Ok(vec![
        ("push_records_per_s", "records/s", metrics.push_records_per_s),
        ("push_p99_ms", "ms", metrics.push_p99_ms),
        ("push_closed_loop_p99_ms", "ms", metrics.push_closed_loop_p99_ms),
        ("pull_records_per_s", "records/s", metrics.pull_records_per_s),
        ("initial_pull_10k_ms", "ms", metrics.initial_pull_ms),
        ("server_cpu_ms_per_sync_call", "ms", server_ms / calls.max(1) as f64),
        ("server_cpu_ms_per_push", "ms", per("push")),
        ("server_cpu_ms_per_pull_page", "ms", per("pull")),
        ("postgres_cpu_ms_per_sync_call", "ms", pg_ms / calls.max(1) as f64),
        ("morning_syncs_per_s", "syncs/s", morning.syncs_per_s),
        ("morning_sync_p50_ms", "ms", morning.p50_ms),
        ("morning_sync_p99_ms", "ms", morning.p99_ms),
        ("server_cpu_ms_per_morning_sync", "ms", morning.server_cpu_ms),
        ("postgres_cpu_ms_per_morning_sync", "ms", morning.postgres_cpu_ms),
        ("db_commits_per_morning_sync", "xact", morning.db.xact_commit),
        ("db_blocks_read_per_morning_sync", "blocks", morning.db.blks_read),
        ("db_blocks_hit_per_morning_sync", "blocks", morning.db.blks_hit),
        ("db_rows_inserted_per_morning_sync", "rows", morning.db.tup_inserted),
        ("wal_bytes_per_morning_sync", "B", morning.db.wal),
        ("fhir_search_p50_ms", "ms", search.p50_ms),
        ("fhir_search_p99_ms", "ms", search.p99_ms),
        ("server_cpu_ms_per_fhir_search", "ms", search.server_cpu_ms),
        ("server_rss_mb", "MB", rss.into_iter().fold(0.0, f64::max)),
    ])
}

struct Morning {
    syncs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_ms: f64,
    postgres_cpu_ms: f64,
    /// Per sync.
    db: DbStats,
}

/// Each of `--devices` families (new accounts, `--records-per-family` records pushed untimed)
/// syncs `--morning-syncs` times back to back: a push of `--morning-records` new records, then a
/// pull of everything after its cursor, which must be exactly those records.
fn morning_phase(
    urls: &[String],
    node_pids: &[u32],
    db_name: &str,
    conn: &mut PgConnection,
    args: &Args,
) -> Result<Morning, String> {
    let p = &args.sync;
    let mut devices: Vec<BenchDevice> =
        (0..p.devices).map(|i| BenchDevice::create(&urls[i % urls.len()], &format!("morning device {i}"))).collect();
    // Their records so far (untimed), and each device's cursor after pulling them.
    let preload = prepare_batches(&mut devices, 1, args.records_per_family, p.record_bytes)?;
    let mut cursors = Vec::with_capacity(devices.len());
    for (d, bodies) in devices.iter().zip(preload) {
        let agent = phr_tests::http();
        for body in &bodies {
            check_applied(
                &push(&agent, &format!("{}/sync/v1/push", d.base_url), &d.auth, body)?,
                args.records_per_family,
            )?;
        }
        let pulled = pull_since(&agent, &d.base_url, &d.auth, 0, p.pull_limit)?;
        if pulled.changes.len() != args.records_per_family {
            return Err(format!("a morning device pulled {} of its records", pulled.changes.len()));
        }
        cursors.push(pulled.cursor);
    }
    let bodies = prepare_batches(&mut devices, args.morning_syncs, args.morning_records, p.record_bytes)?;

    let stats_before = db_stats(conn)?;
    let cpu = CpuSnapshot::take(node_pids, db_name);
    let (wall, results) =
        at_once(devices.iter().zip(bodies).zip(cursors), "syncing", |((d, bodies), cursor), agent| {
            let url = format!("{}/sync/v1/push", d.base_url);
            let mut cursor = cursor;
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in &bodies {
                let t = Instant::now();
                let pushed = push(agent, &url, &d.auth, body)?;
                let pulled = pull_since(agent, &d.base_url, &d.auth, cursor, p.pull_limit)?;
                latencies.push(t.elapsed());
                check_applied(&pushed, args.morning_records)?;
                if pulled.changes.len() != pushed.results.len() {
                    return Err(format!(
                        "a morning sync pushed {} records and pulled {} changes",
                        pushed.results.len(),
                        pulled.changes.len()
                    ));
                }
                for (c, r) in pulled.changes.iter().zip(&pushed.results) {
                    if c.record_id != r.record_id || d.pushed.get(&c.record_id) != Some(&sha256(&c.envelope)) {
                        return Err(format!("a morning sync pulled record {} not as pushed", c.record_id));
                    }
                }
                cursor = pulled.cursor;
            }
            Ok(latencies)
        });
    let (server_ms, pg_ms) = cpu.since(node_pids, db_name);
    let mut latencies = Vec::new();
    for r in results {
        latencies.extend(r?);
    }
    latencies.sort_unstable();
    let syncs = latencies.len() as f64;
    std::thread::sleep(STATS_FLUSH);
    let after = db_stats(conn)?;
    let db = DbStats {
        xact_commit: (after.xact_commit - stats_before.xact_commit) / syncs,
        blks_read: (after.blks_read - stats_before.blks_read) / syncs,
        blks_hit: (after.blks_hit - stats_before.blks_hit) / syncs,
        tup_inserted: (after.tup_inserted - stats_before.tup_inserted) / syncs,
        wal: (after.wal - stats_before.wal) / syncs,
    };
    let m = Morning {
        syncs_per_s: syncs / wall.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        server_cpu_ms: server_ms / syncs,
        postgres_cpu_ms: pg_ms / syncs,
        db,
    };
    eprintln!(
        "morning syncs: {syncs:.0} in {:.2} s = {:.0} syncs/s; p50 {:.1} ms, p99 {:.1} ms; CPU per sync: server {:.2} ms, PostgreSQL {:.2} ms",
        wall.as_secs_f64(),
        m.syncs_per_s,
        m.p50_ms,
        m.p99_ms,
        m.server_cpu_ms,
        m.postgres_cpu_ms
    );
    Ok(m)
}

struct Search {
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_ms: f64,
}

/// The clinic's Observation search (body weight, one-year window) over its consenting
/// families, sequential, round-robin over the nodes: each call another family or window.
fn search_phase(
    urls: &[String],
    node_pids: &[u32],
    token: &str,
    pids: &[String],
    runs: usize,
) -> Result<Search, String> {
    let agent = phr_tests::http();
    let auth = format!("Bearer {token}");
    let first_day = NaiveDate::from_ymd_opt(2024, 6, 1).ok_or("date")?;
    let search = |i: usize| -> Result<Duration, String> {
        let pid = &pids[i % pids.len()];
        let from = first_day + Days::days(((i / pids.len()) % 300) as i64);
        let to = from + Days::days(365);
        let url = format!(
            "{}/fhir/r4/Observation?patient={pid}&code=http://loinc.org|29463-7&date=ge{from}&date=le{to}",
            urls[i % urls.len()]
        );
        let t = Instant::now();
        let mut resp = agent.get(&url).header("Authorization", &auth).call().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
        let took = t.elapsed();
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| format!("search answer is not JSON: {e}"))?;
        let patient = format!("Patient/{pid}");
        let entries = body["entry"].as_array().cloned().unwrap_or_default();
        check(
            status == 200
                && body["total"].as_u64().unwrap_or(0) > 0
                && entries.iter().all(|e| e["resource"]["subject"]["reference"].as_str() == Some(patient.as_str())),
            &body,
        )?;
        Ok(took)
    };
    for i in 0..WARM_UP {
        search(runs + i)?;
    }
    let cpu = CpuSnapshot::take(node_pids, "");
    let mut times = (0..runs).map(search).collect::<Result<Vec<_>, _>>()?;
    let (server_ms, _) = cpu.since(node_pids, "");
    times.sort_unstable();
    let s = Search {
        p50_ms: percentile_ms(&times, 0.50),
        p99_ms: percentile_ms(&times, 0.99),
        server_cpu_ms: server_ms / runs.max(1) as f64,
    };
    eprintln!(
        "FHIR search: {runs} calls, p50 {:.1} ms, p99 {:.1} ms, server CPU {:.2} ms each",
        s.p50_ms, s.p99_ms, s.server_cpu_ms
    );
    Ok(s)
}
