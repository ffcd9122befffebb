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
//! - At `--store-records` (50,000) records in one phone's store (a mother
//!   with a profile, a live pregnancy, prenatal visits and a long run of
//!   self-measured vitals; two children with a newborn record and thousands
//!   of checkups or immunizations), written straight into the store (sealed
//!   exactly as the engine seals them, one transaction; untimed):
//!   - `mobile_add_prenatal_visit_p99_at_50k` and `mobile_add_p50_at_50k`:
//!     `add_record` of a prenatal visit (validated against the live pregnancy
//!     the engine has to find), over `--adds` adds.
//!   - `mobile_timeline_page_100_at_50k`: the p99 of `timeline_page` with
//!     pages of 100, first pages and deep pages (tokens taken from walking
//!     each timeline to its end), over the mother's whole timeline, her
//!     prenatal visits, and each child's checkups or immunizations; medians
//!     of first and deep pages beside it. The walks must return every record
//!     once in `timeline`'s order, or the bench exits non-zero.
//!   - `mobile_timeline_all_at_50k`: the unpaged `timeline` of the mother
//!     (most of the store), for comparison.
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
use phr_core::crypto::{AccountKey, DataKey};
use phr_core::dataset::common::GestationalAge;
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{examples, Newborn, Pregnancy, PrenatalVisit, RecordBody, RecordKind, Subject};
use phr_core::sync::record_envelope::BodyHistory;
use phr_core::sync::{Change, DeviceId, Hlc, RecordVersion, VersionStamp};
use phr_mobile::engine::keys::RecordKeys;
use phr_mobile::{
    store, HttpHeader, HttpRequest, HttpResponse, HttpTransport, PairingInvite, PhrClient, TransportError,
};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::{ServerOptions, ServerProcess};
use uuid::Uuid;

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
    /// Records in the large store (the `*_at_50k` lines).
    #[arg(long, default_value_t = 50_000)]
    store_records: usize,
    /// Prenatal visits added to the large store for the add percentiles.
    #[arg(long, default_value_t = 300)]
    adds: usize,
    /// Timeline pages read per case (first and deep) in the large store.
    #[arg(long, default_value_t = 40)]
    page_reads: usize,
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
fn bodies(n: usize) -> (Vec<RecordBody>, chrono::NaiveDate, chrono::NaiveDate) {
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
            RecordBody::SelfVitals(v)
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
            .timeline("mother".into(), Some(RecordKind::SelfVitals), Some(from), Some(to))
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
    if on_b.len() != args.records || on_b.iter().zip(&all).any(|(x, y)| x.body != y.body) {
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

    let large = large_store(args, &server.base_url, &open, &files.path().join("c.db"))?;
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
    for (name, value, unit) in large {
        println!("{name} {value:.2} {unit}");
    }
    Ok(())
}

/// Writes `rows` bodies about their subjects straight into the store at
/// `path`, each a one-version history sealed under its own data key and the
/// account key exactly as the engine seals a new record, in one transaction.
fn fill_store(
    path: &std::path::Path,
    invite: &PairingInvite,
    device_id: &str,
    bodies: Vec<(Subject, RecordBody)>,
) -> Result<(), String> {
    let key = AccountKey::from_bytes(&invite.account_key).map_err(|e| e.to_string())?;
    let keys = RecordKeys::new(invite.account_id.clone(), key);
    let device = DeviceId::new(device_id).map_err(|e| e.to_string())?;
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    let n = bodies.len() as u64;
    let mut conn = store::open(&path.to_string_lossy()).map_err(|e| e.to_string())?;
    conn.immediate_transaction::<_, phr_mobile::engine::Error, _>(|conn| {
        for (i, (subject, body)) in bodies.into_iter().enumerate() {
            let stamp = VersionStamp::new(Hlc { wall_ms: now_ms - n + i as u64, counter: 0 }, device.clone());
            let kind = body.kind();
            let mut history = BodyHistory::new();
            history.merge(RecordVersion { stamp, base_version: 0, change: Change::Edit(body) });
            let row = keys.seal_row(Uuid::now_v7(), kind, subject, &DataKey::generate(), &history, 0, true, 1)?;
            store::record_put(conn, &row)?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// What the large store holds: the mother's profile (undated) and live
/// pregnancy (due in 100 days), 4% prenatal visits over the last 150 days,
/// two children with a newborn record and 18% checkups or immunizations
/// each (born 1,501 days ago, over the days since), and the rest the
/// mother's vitals, 10 a day. Returns the bodies and
/// the pregnancy.
fn large_bodies(n: usize) -> (Vec<(Subject, RecordBody)>, Pregnancy) {
    let today = chrono::Local::now().date_naive();
    let edd = today + Duration::days(100);
    let pregnancy = Pregnancy {
        last_menstrual_period: Some(edd - Duration::days(280)),
        estimated_delivery_date: Some(edd),
        number_of_fetuses: Some(1),
        status: PregnancyStatus::Ongoing,
        outcome_date: None,
    };
    let (visits, per_child) = (n / 25, n * 9 / 50);
    let vitals = n.saturating_sub(2 + visits + 2 * per_child);
    let mut out = vec![
        (Subject::Mother, RecordBody::MotherProfile(examples::mother_profile_full())),
        (Subject::Mother, RecordBody::Pregnancy(pregnancy.clone())),
    ];
    out.extend((0..visits).map(|i| (Subject::Mother, RecordBody::PrenatalVisit(visit(&pregnancy, today, i)))));
    let (vital_bodies, _, _) = bodies(vitals);
    out.extend(vital_bodies.into_iter().map(|b| (Subject::Mother, b)));
    for (c, child) in [Uuid::from_u128(1), Uuid::from_u128(2)].into_iter().enumerate() {
        let subject = Subject::Child(child);
        let birth_date = today - Duration::days(1501);
        out.push((subject, RecordBody::Newborn(Newborn { birth_date, ..examples::newborn_full() })));
        out.extend((0..per_child.saturating_sub(1)).map(|i| {
            let day = birth_date + Duration::days(1 + (i % 1500) as i64);
            let body = if c == 0 {
                RecordBody::ChildCheckup(phr_core::dataset::ChildCheckup {
                    date: day,
                    ..examples::child_checkup_minimal()
                })
            } else {
                RecordBody::Immunization(phr_core::dataset::Immunization {
                    date_given: day,
                    ..examples::immunization_minimal()
                })
            };
            (subject, body)
        }));
    }
    (out, pregnancy)
}

/// A full prenatal visit `i % 150` days before `today`, its gestational age
/// by the pregnancy's dating.
fn visit(pregnancy: &Pregnancy, today: chrono::NaiveDate, i: usize) -> PrenatalVisit {
    let visit_date = today - Duration::days((i % 150) as i64);
    let start = pregnancy.dating_start().expect("dated pregnancy");
    PrenatalVisit {
        visit_date,
        gestational_age: GestationalAge::from_days((visit_date - start).num_days()),
        ..examples::prenatal_visit_full()
    }
}

/// The `*_at_50k` lines (see the module doc): a phone with an account on
/// `server_url` whose store at `path` holds `--store-records` records.
fn large_store(
    args: &Args,
    server_url: &str,
    open: &dyn Fn(&str) -> Result<Arc<PhrClient>, String>,
    path: &std::path::Path,
) -> Result<Vec<(String, f64, &'static str)>, String> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or("store file name")?;
    let (invite, device_id) = {
        let c = open(name)?;
        let summary = c.create_account(server_url.to_owned(), "Bench phone C".into()).map_err(|e| e.to_string())?;
        (c.create_pairing_invite().map_err(|e| e.to_string())?, summary.device_id)
    };
    let (list, pregnancy) = large_bodies(args.store_records);
    eprintln!("writing {} records into the large store", list.len());
    let live: Vec<(String, usize)> = {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for (subject, _) in &list {
            *counts.entry(subject.to_string()).or_default() += 1;
        }
        counts.into_iter().collect()
    };
    fill_store(path, &invite, &device_id, list)?;
    let c = open(name)?;
    let at = |suffix: &str| format!("{suffix}_at_{}k", args.store_records / 1000);
    let mut lines = Vec::new();

    eprintln!("adding {} prenatal visits to the large store", args.adds);
    let today = chrono::Local::now().date_naive();
    let (mut adds, mut add_cpus) = (Vec::with_capacity(args.adds), Vec::with_capacity(args.adds));
    for i in 0..args.adds {
        let body = RecordBody::PrenatalVisit(visit(&pregnancy, today, i));
        let (t, cpu) = (Instant::now(), thread_cpu());
        c.add_record("mother".into(), body).map_err(|e| format!("adding a prenatal visit: {e}"))?;
        adds.push(ms(t.elapsed()));
        add_cpus.push(ms(thread_cpu() - cpu));
    }
    adds.sort_by(f64::total_cmp);
    add_cpus.sort_by(f64::total_cmp);
    lines.push((at("mobile_add_prenatal_visit_p99"), percentile(&adds, 0.99), "ms"));
    lines.push((at("mobile_add_p50"), percentile(&adds, 0.5), "ms"));
    lines.push((at("mobile_add_prenatal_visit_p99_cpu"), percentile(&add_cpus, 0.99), "ms"));
    // The mother's count now includes the visits just added.
    let live: Vec<(String, usize)> =
        live.into_iter().map(|(s, n)| if s == "mother" { (s, n + args.adds) } else { (s, n) }).collect();

    eprintln!("timeline pages in the large store");
    let (first, deep) = timeline_pages(args, &c, &live)?;
    let mut all_pages: Vec<f64> = first.iter().chain(&deep).copied().collect();
    all_pages.sort_by(f64::total_cmp);
    lines.push((at("mobile_timeline_page_100"), percentile(&all_pages, 0.99), "ms"));
    lines.push((at("mobile_timeline_page_100_first_median"), percentile(&first, 0.5), "ms"));
    lines.push((at("mobile_timeline_page_100_deep_median"), percentile(&deep, 0.5), "ms"));

    let t = Instant::now();
    let all = c.timeline("mother".into(), None, None, None).map_err(|e| e.to_string())?;
    lines.push((at("mobile_timeline_all"), ms(t.elapsed()), "ms"));
    let mother = live.iter().find(|(s, _)| s == "mother").map_or(0, |(_, n)| *n);
    if all.len() != mother {
        return Err(format!("the mother's timeline holds {} records, not {mother}", all.len()));
    }
    lines.push((at("mobile_timeline_all_records"), all.len() as f64, "records"));
    Ok(lines)
}

/// Times first and deep pages of 100 (sorted) for each case: the mother's
/// whole timeline, her prenatal visits, and each child's one big kind.
/// Walks each case to its end first (untimed) for the deep pages' tokens,
/// checking it against the unpaged timeline.
fn timeline_pages(args: &Args, c: &PhrClient, live: &[(String, usize)]) -> Result<(Vec<f64>, Vec<f64>), String> {
    let children: Vec<&String> = live.iter().map(|(s, _)| s).filter(|s| s.starts_with("child:")).collect();
    let mut cases: Vec<(String, Option<RecordKind>)> =
        vec![("mother".into(), None), ("mother".into(), Some(RecordKind::PrenatalVisit))];
    cases.extend(
        children.iter().zip([RecordKind::ChildCheckup, RecordKind::Immunization]).map(|(s, k)| ((*s).clone(), Some(k))),
    );
    let (mut first, mut deep) = (Vec::new(), Vec::new());
    for (subject, kind) in &cases {
        let page = |token: Option<String>| {
            c.timeline_page(subject.clone(), *kind, None, None, token, 100).map_err(|e| e.to_string())
        };
        let mut walked = Vec::new();
        let mut tokens = Vec::new();
        let mut token = None;
        loop {
            let p = page(token.clone())?;
            walked.extend(p.entries.into_iter().map(|e| e.record_id));
            match p.next_page {
                Some(next) => {
                    tokens.push(next.clone());
                    token = Some(next);
                }
                None => break,
            }
        }
        let unpaged: Vec<String> = c
            .timeline(subject.clone(), *kind, None, None)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|e| e.record_id)
            .collect();
        if walked != unpaged {
            return Err(format!(
                "walking {subject} {kind:?} by pages gave {} records, not the {} of the timeline in order",
                walked.len(),
                unpaged.len()
            ));
        }
        if kind.is_none() && live.iter().any(|(s, n)| s == subject && *n != walked.len()) {
            return Err(format!("{subject}'s timeline holds {} records", walked.len()));
        }
        let deepest = tokens.len().saturating_sub(1);
        let mut rng = Lcg(walked.len() as u64);
        for _ in 0..args.page_reads {
            let t = Instant::now();
            let p = page(None)?;
            first.push(ms(t.elapsed()));
            if p.entries.len() != 100.min(walked.len()) {
                return Err(format!("a first page of {subject} held {} entries", p.entries.len()));
            }
            if tokens.is_empty() {
                continue;
            }
            // Deep: somewhere in the second half of the timeline.
            let token = tokens[deepest / 2 + rng.below((deepest - deepest / 2 + 1) as u64) as usize].clone();
            let t = Instant::now();
            let p = page(Some(token))?;
            deep.push(ms(t.elapsed()));
            if p.entries.is_empty() {
                return Err(format!("a deep page of {subject} was empty"));
            }
        }
    }
    first.sort_by(f64::total_cmp);
    deep.sort_by(f64::total_cmp);
    Ok((first, deep))
}
