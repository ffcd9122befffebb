//! `bench-portal`: the care-team portal's patient page, over loopback HTTP.
//!
//! Target (docs/portal.md): **the patient page's p99 ≤ 100 ms for a family with 2,000 records.**
//!
//! Starts a real server (this binary re-executed with `PHR_BENCH_SERVE=1`, limits off, SQLite
//! by default or a fresh PostgreSQL database with `--postgres-admin-url`), registers a clinic and
//! a nurse (`org add`, `staff invite`, a software passkey: `phr_tests::portal`), and makes one
//! family whose daughter, born three years ago, has `--records` records (default 2,000): her
//! newborn record, her handbook number, a milestone, and the rest checkups (nine in ten, with
//! weight and length along a growth curve, dated evenly from birth to today) and immunizations
//! (one in ten), synced; the family shares them with the clinic (read-write treatment grant on
//! newborn, checkups, immunizations and development, for the daughter). Then the nurse, after
//! 5 untimed requests of each, sends `--requests` sequential requests (default 200) of:
//!
//! - `portal_patient_page_2000_records_p50` / `_p99` / `_mean` (ms): `GET /portal/patients/{id}`,
//!   the HTML page (every shared record of the daughter decrypted, growth charts drawn against two
//!   references, the immunization schedule, the timeline, and a durable `portal_view` audit
//!   event); `portal_patient_page_bytes`: its size. (The `2000` in the names is the default
//!   `--records`; the names follow that flag.)
//! - `portal_search_p50` / `_p99` (ms): `GET /portal/patients?identifier=<handbook number>`.
//! - Then `--upload-rows` more families (default 1,000; 0 skips this part), each a child with
//!   her newborn record and handbook number shared read-write with the clinic, and a municipal
//!   CSV of one checkup per child (issue target: **1,000 rows in ≤ 5 s**):
//!   `portal_csv_upload_<n>_rows_preview` (ms: `POST /portal/uploads`, every row matched among
//!   all the clinic's patients and checked), `_commit` (ms: `POST /portal/uploads/commit`, the
//!   same checks again and every row written in one transaction) and `_total`; and the search
//!   again among all those patients (`portal_search_<n>_patients_p50` / `_p99`, 20 requests).
//!
//! Each request is timed from the request to the last byte of the answer, through
//! `SignedIn::call` (one new loopback connection per request, as a browser without keep-alive);
//! the answer is checked (status, and the patient page's four charts) after the clock stops.
//!
//! Caches: the patient page decrypts every record of the patient on each request (no answer
//! cache). The search and the upload match against the organization's patient listings, kept
//! in memory while their fingerprint holds; `--no-cache` starts the server with
//! `--fhir-search-cache-mb 0`, which keeps nothing, for the honest case of every search reading
//! every patient's identity afresh.
//!
//! stdout: one `# …` context line, then `name value unit` lines.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use phr_core::consent::Access;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_tests::bench::{bench_database, bench_main, bench_server, SERVE_ENV};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of};
use phr_tests::portal::{self, add, days_ago, html, patient_id_in, SignedIn, HANDBOOK};
use serde_json::json;
use uuid::Uuid;

const ORG: &str = "bench-clinic";
const NURSE: &str = "Bench Nurse";
const NUMBER: &str = "bench-hb-2000";
/// The daughter's age in days (three years).
const BIRTH_DAYS_AGO: i64 = 1096;
/// Untimed requests before each timed series.
const WARM_UP: usize = 5;

#[derive(Debug, Parser)]
#[command(
    name = "bench-portal",
    about = "Benchmarks the care-team portal's patient page over loopback HTTP (SQLite by default)",
    after_help = "Target: the patient page's p99 ≤ 100 ms for a family with 2,000 records."
)]
struct Args {
    /// Records of the daughter (at least 10): newborn, handbook number, a milestone, then checkups and immunizations.
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// Timed sequential requests of each page.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Families (one child each) for the municipal CSV upload, one row each (0: no upload).
    #[arg(long, default_value_t = 1000)]
    upload_rows: usize,
    /// Start the server with `--fhir-search-cache-mb 0`: no cache of answers, nor of the
    /// organization's patient listings the search and the upload match against.
    #[arg(long)]
    no_cache: bool,
    /// Run on PostgreSQL: an admin URL (the bench creates and drops its own database).
    #[arg(long)]
    postgres_admin_url: Option<String>,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-portal", run)
}

/// Girls' medians (age in days, weight kg, length cm), roughly WHO: the checkups follow them.
const GROWTH: [(f64, f64, f64); 6] = [
    (0.0, 3.2, 49.1),
    (91.0, 5.8, 59.8),
    (182.0, 7.3, 65.7),
    (365.0, 8.9, 74.0),
    (730.0, 11.5, 86.4),
    (1096.0, 13.9, 95.1),
];

/// Weight and length at `age` days, linearly between the [`GROWTH`] points.
fn growth_at(age: f64) -> (f64, f64) {
    let i = GROWTH.iter().position(|g| g.0 >= age).unwrap_or(GROWTH.len() - 1).max(1);
    let (a, b) = (GROWTH[i - 1], GROWTH[i]);
    let t = ((age - a.0) / (b.0 - a.0)).clamp(0.0, 1.0);
    (a.1 + t * (b.1 - a.1), a.2 + t * (b.2 - a.2))
}

fn checkup_type(age: i64) -> &'static str {
    match age {
        28..=45 => "month_1",
        90..=135 => "months_3_4",
        180..=225 => "months_6_7",
        270..=315 => "months_9_10",
        540..=570 => "months_18",
        1080.. => "years_3",
        _ => "other",
    }
}

/// A family whose daughter (born [`BIRTH_DAYS_AGO`] days ago) has `records` records, synced:
/// the device, the daughter and the records' ids.
fn family(base: &str, records: usize) -> Result<(Device, Subject, Vec<Uuid>), String> {
    let mut device = Device::create_account(base, "bench phone");
    let child = Subject::Child(Uuid::now_v7());
    let mut ids = Vec::with_capacity(records);
    let newborn = json!({"kind": "newborn", "body": {"sex": "female", "birth_date": days_ago(BIRTH_DAYS_AGO),
        "birth_weight": {"value": 3050.0, "unit": "g"}, "birth_length": {"value": 49.5, "unit": "cm"}}});
    ids.push(add(&mut device, child, newborn));
    let identifiers =
        json!({"kind": "subject_identifiers", "body": {"identifiers": [{"system": HANDBOOK, "value": NUMBER}]}});
    ids.push(add(&mut device, child, identifiers));
    let milestone = json!({"kind": "development", "body": {"milestone": "social_smile", "achieved": "yes",
        "answered_on": days_ago(BIRTH_DAYS_AGO - 60)}});
    ids.push(add(&mut device, child, milestone));
    // The rest, dated evenly from the day after birth to today: one in ten an immunization.
    let rest = records - ids.len();
    for i in 0..rest {
        let age = 1 + (i as i64) * (BIRTH_DAYS_AGO - 1) / (rest as i64 - 1).max(1);
        let date = days_ago(BIRTH_DAYS_AGO - age);
        let body = if i % 10 == 9 {
            let mut dose = examples::immunization_minimal();
            dose.date_given = date.parse().map_err(|e| format!("{date}: {e}"))?;
            dose.dose_number = 1 + (i / 10 % 2) as u32;
            serde_json::to_value(RecordBody::Immunization(dose)).map_err(|e| e.to_string())?
        } else {
            let (weight, length) = growth_at(age as f64);
            let jitter = ((i * 37) % 11) as f64 - 5.0;
            let position = if age < 730 { "recumbent" } else { "standing" };
            json!({"kind": "child_checkup", "body": {"date": date, "checkup_type": checkup_type(age),
                "weight": {"value": ((weight + jitter * 0.02) * 100.0).round() / 100.0, "unit": "kg"},
                "length": {"value": ((length + jitter * 0.05) * 10.0).round() / 10.0, "unit": "cm"},
                "length_position": position}})
        };
        ids.push(add(&mut device, child, body));
    }
    device.sync();
    Ok((device, child, ids))
}

/// `runs` timed calls of `path` (after [`WARM_UP`] untimed ones), each answer checked by `ok`
/// after the clock stops: the sorted latencies and the last answer's size in bytes.
fn timed(
    nurse: &SignedIn,
    base: &str,
    path: &str,
    runs: usize,
    ok: impl Fn(&str) -> bool,
) -> Result<(Vec<Duration>, usize), String> {
    let lang = [("Accept-Language", "en")];
    let mut bytes = 0;
    let mut times = Vec::with_capacity(runs);
    for i in 0..WARM_UP + runs {
        let t = Instant::now();
        let answer = nurse.call(base, "GET", path, None, &lang);
        let took = t.elapsed();
        let text = html(&answer);
        if answer.status != 200 || !ok(text) {
            return Err(format!("{path} answered {}: {}", answer.status, text.chars().take(300).collect::<String>()));
        }
        bytes = text.len();
        if i >= WARM_UP {
            times.push(took);
        }
    }
    times.sort();
    Ok((times, bytes))
}

/// The `p`-quantile of sorted latencies in ms (nearest rank).
fn pct(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn mean(times: &[Duration]) -> f64 {
    times.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3 / times.len() as f64
}

fn run(args: &Args) -> Result<(), String> {
    if args.records < 10 || args.requests == 0 {
        return Err("--records must be at least 10 and --requests at least 1".into());
    }
    let db = bench_database(args.postgres_admin_url.as_deref())?;
    let backend = db.target.backend_name();
    let data_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut server_args = vec!["--rate-limit-per-device", "0", "--auth-rate-limit", "0"];
    if args.no_cache {
        server_args.extend(["--fhir-search-cache-mb", "0"]);
    }
    let server = bench_server(&db, data_dir.path(), &server_args)?;
    let base = server.base_url.clone();
    eprintln!("server pid {} at {base} ({backend})", server.pid());

    // The clinic and its nurse (untimed). The admin commands run this binary as the server
    // (`portal::cli` passes its own environment on): still one thread here, so setting it is safe.
    std::env::set_var(SERVE_ENV, "1");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    portal::add_org(&exe, data_dir.path(), &db, ORG);
    let nurse = SignedIn::invite_and_register(&exe, data_dir.path(), &db, &base, ORG, NURSE);

    // The family and its grant (untimed).
    let t = Instant::now();
    let (device, child, ids) = family(&base, args.records)?;
    let modules = [RecordKind::Newborn, RecordKind::ChildCheckup, RecordKind::Immunization, RecordKind::Development];
    create_grant(&device, &grant_of(ORG, &modules, &[child], Access::ReadWrite), &ids);
    eprintln!("daughter with {} records synced and shared in {:.1} s", ids.len(), t.elapsed().as_secs_f64());
    db.analyze()?;

    // The patient id, from the search page.
    let search_path = format!("/portal/patients?identifier={NUMBER}");
    let found = nurse.call(&base, "GET", &search_path, None, &[]);
    let patient = patient_id_in(html(&found))
        .ok_or_else(|| format!("the search found nobody ({}): {}", found.status, html(&found)))?;
    let page_path = format!("/portal/patients/{patient}");

    let (page, page_bytes) = timed(&nurse, &base, &page_path, args.requests, |text| {
        text.matches("<svg").count() == 4 && text.contains("</html>")
    })?;
    let (search, _) = timed(&nurse, &base, &search_path, args.requests, |text| text.contains(&page_path))?;

    println!(
        "# backend={backend} records={} requests={} cache={} loadavg=\"{}\"",
        ids.len(),
        args.requests,
        if args.no_cache { "off" } else { "on" },
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let name = format!("portal_patient_page_{}_records", ids.len());
    println!("{name}_p50 {:.1} ms", pct(&page, 0.50));
    println!("{name}_p99 {:.1} ms", pct(&page, 0.99));
    println!("{name}_mean {:.1} ms", mean(&page));
    println!("portal_patient_page_bytes {page_bytes} bytes");
    println!("portal_search_p50 {:.1} ms", pct(&search, 0.50));
    println!("portal_search_p99 {:.1} ms", pct(&search, 0.99));
    if args.upload_rows > 0 {
        upload(&nurse, &base, args.upload_rows)?;
    }
    Ok(())
}

/// The municipal CSV upload of `rows` checkups, one per child of as many families.
fn upload(nurse: &SignedIn, base: &str, rows: usize) -> Result<(), String> {
    let t = Instant::now();
    let modules = [RecordKind::Newborn, RecordKind::ChildCheckup];
    for i in 0..rows {
        let mut device = Device::create_account(base, "bench phone");
        let child = Subject::Child(Uuid::now_v7());
        let newborn = json!({"kind": "newborn", "body": {"sex": if i % 2 == 0 { "female" } else { "male" },
            "birth_date": days_ago(120), "birth_weight": {"value": 3000.0, "unit": "g"}}});
        let number = format!("bench-csv-{i:05}");
        let identifiers =
            json!({"kind": "subject_identifiers", "body": {"identifiers": [{"system": HANDBOOK, "value": number}]}});
        let ids = vec![add(&mut device, child, newborn), add(&mut device, child, identifiers)];
        device.sync();
        create_grant(&device, &grant_of(ORG, &modules, &[child], Access::ReadWrite), &ids);
    }
    eprintln!("{rows} families for the upload made and shared in {:.1} s", t.elapsed().as_secs_f64());
    let today = days_ago(0);
    let mut csv = String::from("identifier,date,checkup_type,weight,length,length_position,note\r\n");
    for i in 0..rows {
        let weight = 6.0 + (i % 20) as f64 * 0.1;
        csv.push_str(&format!("bench-csv-{i:05},{today},months_3_4,{weight:.1},61.0,recumbent,異常なし\r\n"));
    }
    let t = Instant::now();
    let preview = nurse.upload(base, "child_checkup", "auto", csv.as_bytes(), true);
    let previewed = t.elapsed();
    if preview.status != 200 {
        return Err(format!(
            "the preview answered {}: {}",
            preview.status,
            html(&preview).chars().take(500).collect::<String>()
        ));
    }
    let t = Instant::now();
    let commit = nurse.post_form(base, "/portal/uploads/commit", &[("form", "child_checkup"), ("csv", &csv)], true);
    let committed = t.elapsed();
    if commit.status != 200 || !html(&commit).contains(&format!("{rows} records were stored")) {
        return Err(format!(
            "the commit answered {}: {}",
            commit.status,
            html(&commit).chars().take(500).collect::<String>()
        ));
    }
    let search_path = format!("/portal/patients?identifier=bench-csv-{:05}", rows / 2);
    let (search, _) = timed(nurse, base, &search_path, 20, |text| text.contains("/portal/patients/"))?;
    let name = format!("portal_csv_upload_{rows}_rows");
    println!("{name}_preview {:.1} ms", previewed.as_secs_f64() * 1e3);
    println!("{name}_commit {:.1} ms", committed.as_secs_f64() * 1e3);
    println!("{name}_total {:.1} ms", (previewed + committed).as_secs_f64() * 1e3);
    println!("portal_search_{}_patients_p50 {:.1} ms", rows + 1, pct(&search, 0.50));
    println!("portal_search_{}_patients_p99 {:.1} ms", rows + 1, pct(&search, 0.99));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_growth_curve_runs_through_its_points_and_stays_in_range() {
        assert_eq!(growth_at(0.0), (3.2, 49.1));
        assert_eq!(growth_at(1096.0), (13.9, 95.1));
        let (w, l) = growth_at(500.0);
        assert!((8.9..11.5).contains(&w) && (74.0..86.4).contains(&l));
    }
}
