//! `bench-fhir`: the FHIR R4 API under load, over loopback HTTP.
//!
//! Starts a real server (this binary re-executed with `PHR_BENCH_SERVE=1`),
//! registers a clinic (SMART Backend Services, ES384), and makes one family
//! with `--records` records (default 2,000: 75 % self-measured vitals, 20 %
//! prenatal visits, 5 % immunizations, dated over two years) all covered by
//! one read-write treatment grant to the clinic. Then it measures:
//!
//! - `everything_2k_p50_ms` / `everything_2k_p99_ms`: `Patient/{id}/$everything`
//!   (every record decrypted and mapped), `--everything-runs` sequential calls
//!   after a few untimed ones, each timed from request to last byte (the
//!   response is parsed and checked after the clock stops);
//! - `search_p99_ms`: `Observation?patient=&code=<body weight>&date=ge&date=le`
//!   (a one-month window, another one for each call), `--search-runs` sequential calls;
//! - `transaction_write_p99_ms`: a clinic's prenatal visit as a transaction
//!   Bundle (Encounter + Observations), `--write-runs` sequential calls;
//! - `fhir_requests_per_s`: `--clients` concurrent clients (default 32) doing
//!   mixed reads (the search above, a Patient read, an Encounter search with
//!   `_count=10`) for `--seconds` seconds. The clients repeat the same searches,
//!   so with the server's search answer cache (the default) most are answered
//!   from memory (still authorized, fingerprinted and audited on each request);
//!   `PHR_FHIR_SEARCH_CACHE_MB=0 bench-fhir` measures every search fresh.
//!
//! Every response is checked (status and content); a failure exits non-zero.
//! stdout: one `# …` context line, then `name value unit` lines.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use clap::Parser;
use phr_core::consent::Access;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::{ServerOptions, ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const ORG: &str = "bench-clinic";
/// Untimed calls before each timed series.
const WARM_UP: usize = 3;

#[derive(Debug, Parser)]
#[command(name = "bench-fhir", about = "Benchmarks the phr-server FHIR R4 API over loopback HTTP (SQLite by default)")]
struct Args {
    /// Records of the family.
    #[arg(long, default_value_t = 2000)]
    records: usize,
    #[arg(long, default_value_t = 40)]
    everything_runs: usize,
    #[arg(long, default_value_t = 300)]
    search_runs: usize,
    #[arg(long, default_value_t = 60)]
    write_runs: usize,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// The mixed reads, comma-separated, from `search`, `patient`, `encounter`, `metadata` (to measure one kind alone).
    #[arg(long, default_value = "search,patient,encounter", value_delimiter = ',')]
    mix: Vec<MixedRead>,
    /// Create a PostgreSQL database for the run through this admin URL instead of SQLite.
    #[arg(long)]
    postgres_admin_url: Option<String>,
}

/// One kind of request of the mixed-read phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MixedRead {
    /// The Observation search of `search_p99_ms`.
    Search,
    /// `Patient/{id}`.
    Patient,
    /// `Encounter?_count=10`.
    Encounter,
    /// `metadata` (no token, no database: the floor of the HTTP stack and of this client).
    Metadata,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-fhir", run)
}

/// Record `i` of `n`, dated evenly over two years from `start`.
fn body_of(i: usize, n: usize, start: NaiveDate) -> (RecordKind, RecordBody) {
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

fn run(args: &Args) -> Result<(), String> {
    let db = match &args.postgres_admin_url {
        Some(admin) => {
            std::env::set_var(phr_server::store::testing::POSTGRES_URL_ENV, admin);
            TestDatabase::postgres().ok_or("cannot create a PostgreSQL database")?
        }
        None => TestDatabase::sqlite(),
    };
    let backend = db.target.backend_name();
    let data_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let server = ServerProcess::start(ServerOptions {
        binary: &exe,
        data_dir: data_dir.path(),
        database_url: Some(db.url()),
        extra_args: ["--rate-limit-per-device", "0", "--auth-rate-limit", "0"].iter().map(|s| s.to_string()).collect(),
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    });
    eprintln!("server pid {} at {} ({backend})", server.pid(), server.base_url);
    let org = OrgClient::register_with_env(
        &exe,
        &[(SERVE_ENV, "1")],
        data_dir.path(),
        &db.url(),
        &server.base_url,
        ORG,
        "system/*.cruds",
    );

    // The family and its grant (untimed).
    let mut device = Device::create_account(&server.base_url, "bench phone");
    let start = NaiveDate::from_ymd_opt(2024, 6, 1).ok_or("date")?;
    let mut ids = Vec::with_capacity(args.records);
    for i in 0..args.records {
        let (kind, body) = body_of(i, args.records, start);
        let id = Uuid::now_v7();
        device.edit(id, kind, Subject::Mother, serde_json::to_value(&body).map_err(|e| e.to_string())?);
        ids.push(id);
    }
    device.sync();
    let grant = grant_of(
        ORG,
        &[RecordKind::SelfVitals, RecordKind::PrenatalVisit, RecordKind::Immunization],
        &[Subject::Mother],
        Access::ReadWrite,
    );
    create_grant(&device, &grant, &ids);
    eprintln!("family with {} records granted", ids.len());

    let (status, enc) = org.get("/fhir/r4/Encounter?_count=1");
    check(status == 200, &enc)?;
    let pid = enc["entry"][0]["resource"]["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .ok_or("no patient reference")?
        .to_owned();

    // $everything.
    let everything_url = format!("/fhir/r4/Patient/{pid}/$everything");
    let (status, first) = org.get(&everything_url);
    check(status == 200, &first)?;
    let resources = first["entry"].as_array().map_or(0, Vec::len);
    // Warm-up (untimed): the first calls also start the server's worker threads and grow its heap.
    for _ in 0..WARM_UP {
        check(org.get(&everything_url).0 == 200, &first)?;
    }
    // Timed: request sent to last byte received; each response is then parsed and checked, untimed.
    let mut everything = Vec::with_capacity(args.everything_runs);
    for _ in 0..args.everything_runs {
        let t = Instant::now();
        let (status, bytes) = org.get_bytes(&everything_url);
        let took = t.elapsed();
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| format!("$everything is not JSON: {e}"))?;
        check(status == 200 && body["entry"].as_array().map_or(0, Vec::len) == resources, &body)?;
        everything.push(took);
    }
    everything.sort();

    // Search.
    let search_url =
        format!("/fhir/r4/Observation?patient={pid}&code=http://loinc.org|29463-7&date=ge2025-01-01&date=le2025-01-31");
    let (status, found) = org.get(&search_url);
    check(status == 200 && found["total"].as_u64().unwrap_or(0) > 0, &found)?;
    // Each timed search asks for another one-month window (sliding a day per call over the
    // two years), so every one is answered from the records, never from the answer cache.
    let first_day = NaiveDate::from_ymd_opt(2024, 6, 1).ok_or("date")?;
    let mut run = 0i64;
    let mut search = timed(args.search_runs, || {
        let from = first_day + Days::days(run % 700);
        run += 1;
        let to = from + Days::days(30);
        let (status, body) = org.get(&format!(
            "/fhir/r4/Observation?patient={pid}&code=http://loinc.org|29463-7&date=ge{from}&date=le{to}"
        ));
        check(status == 200 && body["total"].as_u64().unwrap_or(0) > 0, &body)
    })?;
    search.sort();

    // Mixed reads, concurrent.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(args.clients + 1));
    let urls: Arc<Vec<String>> = Arc::new(
        args.mix
            .iter()
            .map(|m| match m {
                MixedRead::Search => search_url.clone(),
                MixedRead::Patient => format!("/fhir/r4/Patient/{pid}"),
                MixedRead::Encounter => "/fhir/r4/Encounter?_count=10".into(),
                MixedRead::Metadata => "/fhir/r4/metadata".into(),
            })
            .collect(),
    );
    if urls.is_empty() {
        return Err("--mix names no request".into());
    }
    let mut handles = Vec::new();
    for c in 0..args.clients {
        let (stop, count, barrier, urls) = (stop.clone(), count.clone(), barrier.clone(), urls.clone());
        let agent = phr_tests::http();
        let base = server.base_url.clone();
        let auth = format!("Bearer {}", org.token);
        handles.push(std::thread::spawn(move || -> Result<(), String> {
            barrier.wait();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let mut resp = agent
                    .get(&format!("{base}{}", urls[i % urls.len()]))
                    .header("Authorization", &auth)
                    .call()
                    .map_err(|e| e.to_string())?;
                let _ = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
                if resp.status() != 200 {
                    return Err(format!("mixed read got {}", resp.status()));
                }
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok(())
        }));
    }
    barrier.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| "client thread panicked")??;
    }
    let rps = count.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();

    // Transaction writes.
    let mut n = 0u64;
    let mut writes = timed(args.write_runs, || {
        n += 1;
        let mut visit = examples::prenatal_visit_full();
        visit.visit_date = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")? + Days::days((n % 300) as i64);
        let bundle = transaction(&RecordBody::PrenatalVisit(visit), &pid)?;
        let (status, body) = org.post("/fhir/r4", &bundle);
        check(status == 200 && body["type"] == "transaction-response", &body)
    })?;
    writes.sort();
    let pulled = device.pull();
    if pulled != args.write_runs {
        return Err(format!("the device pulled {pulled} records, expected {}", args.write_runs));
    }

    println!(
        "# backend={backend} records={} everything_resources={resources} clients={} mix={:?} seconds={} loadavg=\"{}\"",
        args.records,
        args.clients,
        args.mix,
        args.seconds,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("everything_2k_p50_ms {:.1} ms", pct(&everything, 0.50));
    println!("everything_2k_p99_ms {:.1} ms", pct(&everything, 0.99));
    println!("search_p99_ms {:.1} ms", pct(&search, 0.99));
    println!("transaction_write_p99_ms {:.1} ms", pct(&writes, 0.99));
    println!("fhir_requests_per_s {rps:.0} req/s");
    Ok(())
}

fn transaction(visit: &RecordBody, pid: &str) -> Result<Value, String> {
    let resources = to_fhir(visit, &MappingContext::new(Uuid::now_v7(), pid)).map_err(|e| e.to_string())?;
    let entry: Vec<Value> = resources
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).unwrap_or_default();
            let ty = v["resourceType"].as_str().unwrap_or_default().to_owned();
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            json!({"fullUrl": format!("{ty}/{id}"), "resource": v, "request": {"method": "POST", "url": ty}})
        })
        .collect();
    Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": entry}))
}

fn check(ok: bool, body: &Value) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        let text = body.to_string();
        Err(format!("unexpected response: {}", &text[..text.len().min(500)]))
    }
}

fn timed(runs: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// The `p`-quantile of sorted latencies in ms (nearest rank).
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}
