//! `bench-emergency`: an emergency card scanned, over loopback HTTP.
//!
//! Starts a real server (this binary re-executed with `PHR_BENCH_SERVE=1`, limits off), makes
//! `--cards` families each with an emergency card for the mother (her IPS summary sealed on
//! the "device", uploaded as ciphertext; half of the cards with a passcode), then times
//! `--scans` scans, each of another card in turn (no two consecutive scans of one card), from
//! the text of the QR code to the decrypted, parsed summary:
//!
//! - `card_scan_p50_ms` / `card_scan_p99_ms`: the link parsed, the manifest request (the file
//!   embedded), the JWE decrypted, the Bundle parsed and its Composition checked;
//! - `card_scan_passcode_p99_ms`: the same for the cards with a passcode (PBKDF2 on the server);
//! - `card_scan_location_p99_ms`: a receiver that asks for locations (`embeddedLengthMax: 0`):
//!   the manifest, then the file at its location.
//!
//! Then break-glass: each family also recorded the mother's summary records and her handbook
//! number, registered the number and opted in (a grant to `emergency-departments`); an
//! emergency department (`--kind emergency`, SMART Backend Services) asks, family after family,
//! `GET /fhir/r4/Patient/$summary?identifier=…` with a reason:
//!
//! - `summary_p50_ms` / `summary_p99_ms`: from request to the parsed IPS document (the server
//!   finds the family by the identifier's keyed hash, opens the grant, decrypts and maps the
//!   records, assembles the document, and audits the read durably before answering).
//!
//! Every scan and every read is also an audited access (a durable write) on the server.
//! stdout: one `# …` context line, then `name value unit` lines.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use phr_core::consent::{Access, OrganizationId, Purpose};
use phr_core::crypto::shl::ShlPayload;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_tests::bench::{bench_database, bench_main, bench_server, SERVE_ENV};
use phr_tests::client::Device;
use phr_tests::emergency::{create_card, manifest, mother_records, mother_summary, read_summary, reader_agent};
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use serde_json::json;
use uuid::Uuid;

const HANDBOOK: &str = "urn:oid:1.2.392.100495.20.3.81";

/// The mother's emergency records, her handbook number `number` registered, and the opt-in.
fn opt_in_to_break_glass(device: &mut Device, number: &str) -> Result<(), String> {
    let mut identifiers = examples::subject_identifiers_minimal();
    identifiers.identifiers[0].value = number.to_owned();
    let mut records = mother_records().to_vec();
    records.push(RecordBody::SubjectIdentifiers(identifiers));
    let mut ids = Vec::new();
    for body in &records {
        let id = Uuid::now_v7();
        device.edit(id, body.kind(), Subject::Mother, serde_json::to_value(body).map_err(|e| e.to_string())?);
        ids.push(id);
    }
    device.sync();
    let body = json!({"identifiers": [{"subject": "mother", "system": HANDBOOK, "value": number}]});
    let (status, answer) = device.call("PUT", "/emergency/v1/identifiers", Some(&body));
    if status != 200 {
        return Err(format!("registering the identifier answered {status}: {answer}"));
    }
    let modules: Vec<RecordKind> = records.iter().map(RecordBody::kind).filter(|k| !k.follows_subjects()).collect();
    let mut grant = grant_of(OrganizationId::EMERGENCY_DEPARTMENTS, &modules, &[Subject::Mother], Access::Read);
    grant.purpose = Purpose::Emergency;
    create_grant(device, &grant, &ids);
    Ok(())
}

#[derive(Debug, Parser)]
#[command(
    name = "bench-emergency",
    about = "Benchmarks scanning an emergency card (SMART Health Link) over loopback HTTP"
)]
struct Args {
    /// Families, each with one card.
    #[arg(long, default_value_t = 50)]
    cards: usize,
    /// Timed scans of each kind.
    #[arg(long, default_value_t = 400)]
    scans: usize,
    /// Run on PostgreSQL: an admin URL (the bench creates and drops its own database).
    #[arg(long)]
    postgres_admin_url: Option<String>,
}

const PASSCODE: &str = "bench-2468";

fn main() -> ExitCode {
    bench_main::<Args>("bench-emergency", run)
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn run(args: &Args) -> Result<(), String> {
    if args.cards < 2 || args.scans == 0 {
        return Err("--cards must be at least 2 and --scans at least 1".into());
    }
    let db = bench_database(args.postgres_admin_url.as_deref())?;
    let backend = db.target.backend_name();
    let data_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let server = bench_server(&db, data_dir.path(), &["--rate-limit-per-device", "0", "--auth-rate-limit", "0"])?;
    eprintln!("server pid {} at {} ({backend})", server.pid(), server.base_url);

    // The families and their cards (untimed): even ones with a passcode.
    let summary = mother_summary("bench");
    let mut links = Vec::with_capacity(args.cards);
    for i in 0..args.cards {
        let mut device = Device::create_account(&server.base_url, "bench phone");
        let card = create_card(&device, &summary, (i % 2 == 0).then_some(PASSCODE));
        links.push((card.shlink, i % 2 == 0));
        opt_in_to_break_glass(&mut device, &format!("HB-{i:06}"))?;
    }
    let reader = reader_agent();
    let scan = |shlink: &str, passcode: bool, embedded_max: Option<u64>| -> Result<Duration, String> {
        let started = Instant::now();
        let link = ShlPayload::parse(shlink).map_err(|e| e.to_string())?;
        let mut body = json!({"recipient": "bench ER"});
        if passcode {
            body["passcode"] = json!(PASSCODE);
        }
        if let Some(max) = embedded_max {
            body["embeddedLengthMax"] = json!(max);
        }
        let (status, _, m) = manifest(&reader, &link.url, &body);
        if status != 200 {
            return Err(format!("manifest answered {status}: {m}"));
        }
        let doc = read_summary(&reader, &link.key, &m);
        let elapsed = started.elapsed();
        if doc["entry"][0]["resource"]["resourceType"] != "Composition" {
            return Err("the summary does not start with its Composition".into());
        }
        Ok(elapsed)
    };
    // Warm up, untimed.
    for (shlink, passcode) in links.iter().take(4) {
        scan(shlink, *passcode, None)?;
    }
    let mut open = Vec::new();
    let mut with_passcode = Vec::new();
    let mut by_location = Vec::new();
    for i in 0..args.scans {
        let (shlink, passcode) = &links[i % links.len()];
        let t = scan(shlink, *passcode, None)?;
        if *passcode {
            with_passcode.push(t);
        } else {
            open.push(t);
        }
        let (shlink, passcode) = &links[(i * 7 + 3) % links.len()];
        by_location.push(scan(shlink, *passcode, Some(0))?);
    }
    // Break-glass: an emergency department reads one family's summary after another.
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let er = OrgClient::register_kind(
        &exe,
        &[(SERVE_ENV, "1")],
        data_dir.path(),
        &db.url(),
        &server.base_url,
        "bench-er",
        "system/Patient.r",
        "emergency",
    );
    let reason = [("X-Break-Glass-Reason", "bench: unconscious on arrival")];
    let summary_read = |i: usize| -> Result<Duration, String> {
        let path = format!("/fhir/r4/Patient/$summary?identifier={}%7CHB-{:06}", HANDBOOK.replace(':', "%3A"), i);
        let started = Instant::now();
        let (status, doc) = er.get_with_headers(&path, &reason);
        let elapsed = started.elapsed();
        if status != 200 || doc["entry"][0]["resource"]["resourceType"] != "Composition" {
            return Err(format!("Patient/$summary answered {status}: {doc}"));
        }
        Ok(elapsed)
    };
    for i in 0..4 {
        summary_read(i)?;
    }
    let mut summaries = Vec::with_capacity(args.scans);
    for i in 0..args.scans {
        summaries.push(summary_read((i * 7 + 5) % args.cards)?);
    }
    let mut all: Vec<Duration> = open.iter().chain(&with_passcode).copied().collect();
    for v in [&mut all, &mut open, &mut with_passcode, &mut by_location, &mut summaries] {
        v.sort();
    }
    println!(
        "# backend={backend} cards={} scans={} summary_bytes={} loadavg=\"{}\"",
        args.cards,
        args.scans,
        summary.len(),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("card_scan_p50_ms {:.2} ms", percentile_ms(&all, 0.50));
    println!("card_scan_p99_ms {:.2} ms", percentile_ms(&all, 0.99));
    println!("card_scan_open_p99_ms {:.2} ms", percentile_ms(&open, 0.99));
    println!("card_scan_passcode_p99_ms {:.2} ms", percentile_ms(&with_passcode, 0.99));
    println!("card_scan_location_p99_ms {:.2} ms", percentile_ms(&by_location, 0.99));
    println!("summary_p50_ms {:.2} ms", percentile_ms(&summaries, 0.50));
    println!("summary_p99_ms {:.2} ms", percentile_ms(&summaries, 0.99));
    Ok(())
}
