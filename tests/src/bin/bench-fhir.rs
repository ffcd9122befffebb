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
//! - `fhir_uncached_requests_per_s`: a clinic. `--families` (default 1,000) more
//!   families enrol through the API as a family does (account, `--family-records`
//!   records synced, a read treatment grant to the clinic with their keys); then
//!   `--clients` clients for `--seconds` seconds each walk the families in their own
//!   order, taking in turn a Patient read, an Observation search by patient, code and
//!   a moving date window, Encounter and Immunization searches by patient, a read of
//!   one of the family's resources and its `$everything`: no client asks the same
//!   thing twice in a row. The search answer cache is left on, and a family's searches come
//!   round again within its minute (a search is kept from its second asking on), so it answers
//!   some of them: `PHR_FHIR_SEARCH_CACHE_MB=0 bench-fhir` measures every one fresh.
//!   Each answer is parsed into just the fields its check needs (the load generator shares
//!   the two cores with the server).
//!
//! After each bulk load the bench refreshes PostgreSQL's planner statistics (`ANALYZE`, what
//! autovacuum does on its own within a minute), so it measures the plans of a server in steady
//! state rather than plans made for empty tables.
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
use phr_tests::bench::families::{body_of, check, enrol_families, Family};
use phr_tests::bench::{bench_database, bench_main, bench_server, SERVE_ENV};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
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
    /// Consenting families of the clinic phase (`fhir_uncached_requests_per_s`); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    families: usize,
    /// Records of each of those families (at least 20: the mix of `--records` has one immunization in 20).
    #[arg(long, default_value_t = 24)]
    family_records: usize,
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

fn run(args: &Args) -> Result<(), String> {
    let db = bench_database(args.postgres_admin_url.as_deref())?;
    let backend = db.target.backend_name();
    let data_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let server = bench_server(&db, data_dir.path(), &["--rate-limit-per-device", "0", "--auth-rate-limit", "0"])?;
    eprintln!("server pid {} at {} ({backend})", server.pid(), server.base_url);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
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
    db.analyze()?;

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

    // The clinic: many consenting families, every request another question.
    let uncached = if args.families > 0 {
        if args.family_records < 20 {
            return Err("--family-records must be at least 20".into());
        }
        let t = Instant::now();
        let token = org.new_token("system/*.cruds");
        let families = enrol_families(&server.base_url, &token, ORG, args.families, args.family_records)?;
        eprintln!(
            "{} families of {} records enrolled and granted in {:.1} s",
            families.len(),
            args.family_records,
            t.elapsed().as_secs_f64()
        );
        db.analyze()?;
        let token = org.new_token("system/*.cruds");
        Some(clinic_phase(&server.base_url, &token, Arc::new(families), args.clients, args.seconds)?)
    } else {
        None
    };

    println!(
        "# backend={backend} records={} everything_resources={resources} clients={} mix={:?} seconds={} families={}x{} loadavg=\"{}\"",
        args.records,
        args.clients,
        args.mix,
        args.seconds,
        args.families,
        args.family_records,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("everything_2k_p50_ms {:.1} ms", pct(&everything, 0.50));
    println!("everything_2k_p99_ms {:.1} ms", pct(&everything, 0.99));
    println!("search_p99_ms {:.1} ms", pct(&search, 0.99));
    println!("transaction_write_p99_ms {:.1} ms", pct(&writes, 0.99));
    println!("fhir_requests_per_s {rps:.0} req/s");
    if let Some(uncached) = uncached {
        println!("fhir_uncached_requests_per_s {uncached:.0} req/s");
    }
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

/// The parts of a FHIR answer the clinic phase checks, borrowed from the response bytes: the
/// load generator parses each answer this way (the rest is skipped unparsed) so that it takes
/// less of the machine's two cores from the server than a full `serde_json::Value` would.
#[derive(Debug, serde::Deserialize)]
struct Answer<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default, borrow)]
    entry: Vec<AnswerEntry<'a>>,
}

#[derive(Debug, serde::Deserialize)]
struct AnswerEntry<'a> {
    #[serde(borrow)]
    resource: AnswerResource<'a>,
}

#[derive(Debug, serde::Deserialize)]
struct AnswerResource<'a> {
    #[serde(default, borrow)]
    subject: Option<AnswerReference<'a>>,
    #[serde(default, borrow)]
    patient: Option<AnswerReference<'a>>,
}

#[derive(Debug, serde::Deserialize)]
struct AnswerReference<'a> {
    #[serde(default, borrow)]
    reference: Option<std::borrow::Cow<'a, str>>,
}

/// Whether an answer is the right one.
type Check<'a> = Box<dyn Fn(&Answer<'_>) -> bool + 'a>;

/// The kinds of request of the clinic phase, taken in turn by each client.
const CLINIC_KINDS: usize = 6;

/// Request `step` of client `client`: a path and a check of its answer. Each client walks the
/// families in its own order (a stride coprime to their number, from its own start) and the
/// request kinds in turn, so no two consecutive requests of a client are alike, and the
/// Observation date window moves too.
fn clinic_request<'a>(families: &'a [Family], client: usize, step: usize) -> (String, Check<'a>) {
    let n = families.len();
    let stride = [7919usize, 104_729, 1_299_709, 15_485_863].into_iter().find(|p| !n.is_multiple_of(*p)).unwrap_or(1);
    let f = (client * (n / 32).max(1) + (step / CLINIC_KINDS) * stride) % n;
    let fam = &families[f];
    let pid = fam.pid.as_str();
    let kind = (step + client) % CLINIC_KINDS;
    let patient_ref = format!("Patient/{pid}");
    let of_patient = move |b: &Answer<'_>| {
        b.resource_type == "Bundle"
            && b.entry.iter().all(|e| {
                let r = &e.resource;
                let subject = r.subject.as_ref().or(r.patient.as_ref());
                subject.and_then(|s| s.reference.as_deref()) == Some(patient_ref.as_str())
            })
    };
    match kind {
        0 => (
            format!("/fhir/r4/Patient/{pid}"),
            Box::new(move |b: &Answer<'_>| b.resource_type == "Patient" && b.id.as_deref() == Some(pid)),
        ),
        1 => {
            // A one-year window starting in one of the first 12 months: always holds some weights.
            let from = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap_or_default()
                + Days::days(((step / CLINIC_KINDS + client) % 12) as i64 * 30);
            let to = from + Days::days(365);
            (
                format!("/fhir/r4/Observation?patient={pid}&code=http://loinc.org|29463-7&date=ge{from}&date=le{to}"),
                Box::new(move |b: &Answer<'_>| of_patient(b) && b.total.unwrap_or(0) > 0),
            )
        }
        2 => {
            let want = fam.encounters as u64;
            (
                format!("/fhir/r4/Encounter?patient={pid}"),
                Box::new(move |b: &Answer<'_>| of_patient(b) && b.total == Some(want)),
            )
        }
        3 => {
            let want = fam.immunizations as u64;
            (
                format!("/fhir/r4/Immunization?patient={pid}"),
                Box::new(move |b: &Answer<'_>| of_patient(b) && b.total == Some(want)),
            )
        }
        4 => {
            // One resource (not the Patient), another one each time.
            let (ty, id) = &fam.resources[1 + (step / CLINIC_KINDS + client) % (fam.resources.len() - 1)];
            (
                format!("/fhir/r4/{ty}/{id}"),
                Box::new(move |b: &Answer<'_>| b.resource_type == ty.as_str() && b.id.as_deref() == Some(id.as_str())),
            )
        }
        _ => {
            let want = fam.resources.len();
            (format!("/fhir/r4/Patient/{pid}/$everything"), Box::new(move |b: &Answer<'_>| b.entry.len() == want))
        }
    }
}

/// One clinic request: its status and the raw answer.
fn get_bytes(agent: &ureq::Agent, url: &str, authorization: &str) -> Result<(u16, Vec<u8>), String> {
    let mut resp = agent.get(url).header("Authorization", authorization).call().map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    Ok((status, bytes))
}

/// `clients` concurrent clients issuing [`clinic_request`]s for `seconds`; every answer is
/// parsed and checked. Returns requests per second.
fn clinic_phase(
    base: &str,
    token: &str,
    families: Arc<Vec<Family>>,
    clients: usize,
    seconds: u64,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut handles = Vec::new();
    for c in 0..clients {
        let (stop, count, barrier, families) = (stop.clone(), count.clone(), barrier.clone(), families.clone());
        let (base, token) = (base.to_owned(), token.to_owned());
        handles.push(std::thread::spawn(move || -> Result<(), String> {
            let agent = phr_tests::http();
            let authorization = format!("Bearer {token}");
            barrier.wait();
            let mut step = 0;
            let mut last = String::new();
            while !stop.load(Ordering::Relaxed) {
                let (path, ok) = clinic_request(&families, c, step);
                if path == last {
                    return Err(format!("client {c} would repeat its previous request at step {step}"));
                }
                let (status, bytes) = get_bytes(&agent, &format!("{base}{path}"), &authorization)?;
                let answer: Result<Answer<'_>, _> = serde_json::from_slice(&bytes);
                if status != 200 || !answer.as_ref().is_ok_and(&ok) {
                    let text = String::from_utf8_lossy(&bytes);
                    return Err(format!(
                        "clinic read {} got {status}: {}",
                        path.split('?').next().unwrap_or_default(),
                        text.chars().take(300).collect::<String>()
                    ));
                }
                count.fetch_add(1, Ordering::Relaxed);
                last = path;
                step += 1;
            }
            Ok(())
        }));
    }
    barrier.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| "client thread panicked")??;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64())
}
