//! `bench-export`: a research extract of a large population, end to end.
//!
//! Loads `--families` families of `--records-per-family` sealed records each
//! (default 10,000 × 50 = 500,000), every family with an active research grant
//! (grant key HPKE-wrapped to the server's view key, each record's data key
//! wrapped under it), straight into the database with the real phr-core
//! crypto (untimed). Then starts a real server (this binary re-executed with
//! `PHR_BENCH_SERVE=1`, so the peak RSS is the server's alone), asks for a
//! full export at `GET /research/v1/$export`, polls until the manifest is
//! ready, downloads and checks the files, and prints:
//!
//! - `export_records_per_s`: consented records exported / `export_total_s`;
//! - `export_total_s`: kick-off to manifest (both passes, all files written);
//! - `export_server_cpu_s`: the server's CPU time (user + system) during the export;
//! - `export_peak_rss_mb`: the server's peak resident set (VmHWM) at the end.
//!
//! Targets: ≥ 50,000 records/s and ≤ 200 MB whatever the size.
//! `PHR_RESEARCH_DUMP_DIR` set: the CSVs are kept there (for the pycanon check).
//! stdout: a `# …` context line, then `name value unit` lines. Progress on stderr.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use clap::Parser;
use phr_core::consent::{Access, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState, OrganizationId, Purpose};
use phr_core::crypto::{
    wrap_data_key, wrap_grant_key_to, DataKey, GrantKey, GrantWrapContext, HpkePrivateKey, RecordAad,
};
use phr_core::dataset::common::{GestationalAge, Quantity, Sex};
use phr_core::dataset::delivery::DeliveryMethod;
use phr_core::dataset::immunization::Vaccine;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_core::sync::record_envelope::seal_history;
use phr_core::sync::{Change, DeviceId, Hlc, RecordHistory, RecordVersion, VersionStamp};
use phr_server::keys::{KeyPurpose, KeyStore};
use phr_server::store::{write_transaction, DbConnection};
use phr_tests::bench::{bench_main, SERVE_ENV};
use phr_tests::{http, ServerOptions, ServerProcess};
use uuid::Uuid;

const ORG: &str = "phr-research";

#[derive(Debug, Parser)]
#[command(name = "bench-export", about = "Benchmarks a consented, de-identified research export end to end")]
struct Args {
    /// Families (one account, one research grant each).
    #[arg(long, default_value_t = 10_000)]
    families: usize,
    /// Records per family (at least 10).
    #[arg(long, default_value_t = 50)]
    records_per_family: usize,
    /// PostgreSQL admin URL: bench a fresh database created there (dropped at the end). Default: SQLite.
    #[arg(long)]
    postgres_admin_url: Option<String>,
}

fn main() -> ExitCode {
    bench_main::<Args>("bench-export", run)
}

fn run(args: &Args) -> Result<(), String> {
    if args.families == 0 || args.records_per_family < 10 {
        return Err("--families must be at least 1 and --records-per-family at least 10".into());
    }
    let db = phr_tests::bench::bench_database(args.postgres_admin_url.as_deref())?;
    let data_dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let (keys, _) = KeyStore::open_or_create(&data_dir.path().join("keys")).map_err(|e| e.to_string())?;
    let (pool, _) = phr_server::store::open(&db.target, 2).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;

    let load = Instant::now();
    let org =
        phr_server::app::organizations::check_new_organization(ORG, "Research", "research", &["research".into()], None)
            .map_err(|e| format!("{e:?}"))?;
    phr_server::store::organizations::insert(&mut conn, &org, 1).map_err(|e| e.to_string())?;
    let view = keys.current(KeyPurpose::View).ok_or("no view key")?;
    let view_public = HpkePrivateKey::from_bytes(view.secret()).map_err(|e| e.to_string())?.public_key();
    let mut loaded = 0usize;
    for chunk_start in (0..args.families).step_by(50) {
        let end = (chunk_start + 50).min(args.families);
        write_transaction(&mut conn, |c| -> Result<(), LoadError> {
            for i in chunk_start..end {
                loaded += load_family(c, i, args.records_per_family, &view_public, &view.kid).map_err(LoadError)?;
            }
            Ok(())
        })
        .map_err(|e| e.0)?;
        if end % 1000 == 0 || end == args.families {
            eprintln!("loaded {end} families, {loaded} records ({:.0} s)", load.elapsed().as_secs_f64());
        }
    }
    drop(conn);
    drop(pool);

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let server = ServerProcess::start(ServerOptions {
        binary: &exe,
        data_dir: data_dir.path(),
        database_url: Some(db.url()),
        extra_args: vec!["--rate-limit-per-device".into(), "0".into()],
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    });
    let tokens = phr_server::app::auth::TokenService::new(&keys).map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp();
    let (token, _) = tokens.issue_organization(ORG, "system/*.rs", now).map_err(|e| e.to_string())?;

    let cpu_before = cpu_s(server.pid())?;
    let started = Instant::now();
    let (status, location, body) = get(&server.url("/research/v1/$export"), &token)?;
    if status != 202 {
        return Err(format!("kick-off answered {status}: {body}"));
    }
    let location = location.ok_or("no Content-Location")?;
    let manifest: serde_json::Value = loop {
        let (status, _, body) = get(&location, &token)?;
        match status {
            200 => break serde_json::from_str(&body).map_err(|e| e.to_string())?,
            202 => std::thread::sleep(Duration::from_millis(200)),
            other => return Err(format!("export status {other}: {body}")),
        }
    };
    let total = started.elapsed().as_secs_f64();
    let cpu = cpu_s(server.pid())? - cpu_before;
    let rss = peak_rss_mb(server.pid())?;

    // Check: one Observation per exported row, the report's k, and keep the CSVs for pycanon.
    let report_url = manifest["extension"]["deidentificationReport"]["url"].as_str().ok_or("no report")?;
    let report: serde_json::Value = serde_json::from_str(&get(report_url, &token)?.2).map_err(|e| e.to_string())?;
    let seen = report["deidentification"]["records_seen"].as_u64().unwrap_or(0);
    let k = report["deidentification"]["kanon"]["k_reached"].as_u64().unwrap_or(0);
    if k < 5 {
        return Err(format!("k reached {k} < 5"));
    }
    let emitted: u64 = report["deidentification"]["rows_emitted"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum());
    if let Ok(dir) = std::env::var("PHR_RESEARCH_DUMP_DIR") {
        let dir = Path::new(&dir).join("bench-export");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for f in manifest["extension"]["csv"].as_array().into_iter().flatten() {
            let url = f["url"].as_str().unwrap_or_default();
            let name = url.rsplit('/').next().unwrap_or("x.csv");
            std::fs::write(dir.join(name), get(url, &token)?.2).map_err(|e| e.to_string())?;
        }
    }
    drop(server);

    println!(
        "# backend={} families={} records={loaded} rows_emitted={emitted} k_reached={k} survey_records={seen}",
        db.target.backend_name(),
        args.families
    );
    println!("export_records_per_s {:.0} records/s", loaded as f64 / total);
    println!("export_total_s {total:.2} s");
    println!("export_server_cpu_s {cpu:.2} s");
    println!("export_peak_rss_mb {rss:.1} MB");
    Ok(())
}

/// A load failure (diesel errors of the transaction included).
struct LoadError(String);

impl From<diesel::result::Error> for LoadError {
    fn from(e: diesel::result::Error) -> Self {
        LoadError(e.to_string())
    }
}

fn get(url: &str, token: &str) -> Result<(u16, Option<String>, String), String> {
    let mut resp = http()
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        // Bulk Data: the kick-off requires it; harmless on the status and file requests.
        .header("Prefer", "respond-async")
        .config()
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .call()
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let location = resp.headers().get("content-location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body =
        resp.body_mut().with_config().limit(2 * 1024 * 1024 * 1024).read_to_string().map_err(|e| e.to_string())?;
    Ok((status, location, body))
}

/// One family's records (mother, one child), sealed, with a research grant over all of them.
fn load_family(
    conn: &mut DbConnection,
    i: usize,
    n: usize,
    view_public: &phr_core::crypto::HpkePublicKey,
    view_kid: &str,
) -> Result<usize, String> {
    let account = format!("bench-{i:06}");
    phr_server::store::accounts::insert_account(conn, &account, &[7; 32], 1).map_err(|e| e.to_string())?;
    let child = Uuid::from_u128(0xC000_0000 + i as u128);
    let birth = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() + Days::days((i * 7919 % 730) as i64);
    let bodies = family_bodies(i, n, birth);
    let mut deks = Vec::with_capacity(bodies.len());
    let mut envelopes = Vec::with_capacity(bodies.len());
    for (j, (subject, body)) in bodies.iter().enumerate() {
        let record_id = Uuid::from_u128(((i as u128) << 32) | j as u128);
        let dek = DataKey::generate();
        let stamp =
            VersionStamp::new(Hlc::new(1_700_000_000_000, 0), DeviceId::new("phone").map_err(|e| e.to_string())?);
        let history: RecordHistory<RecordBody> =
            [RecordVersion { stamp, base_version: 0, change: Change::Edit(body.clone()) }].into_iter().collect();
        let envelope = seal_history(&dek, &RecordAad { account_id: &account, record_id, version: 1 }, &history);
        envelopes.push((record_id, *subject, body.kind(), body.effective_date(), envelope));
        deks.push(dek);
    }
    let rows: Vec<phr_server::store::records::RecordWrite<'_>> = envelopes
        .iter()
        .enumerate()
        .map(|(j, (record_id, subject, kind, date, envelope))| phr_server::store::records::RecordWrite {
            account_id: &account,
            record_id: record_id.to_string(),
            kind: kind.as_str(),
            subject: subject.to_string(),
            effective_date: date.map(|d| d.to_string()),
            version: 1,
            seq: j as i64 + 1,
            deleted: false,
            envelope,
            wrapped_key: &[1; 61],
            device_id: "phone",
            updated_at: 1_700_000_000_000,
        })
        .collect();
    phr_server::store::records::insert_records(conn, &rows).map_err(|e| e.to_string())?;

    let grant = ConsentGrant {
        id: GrantId(Uuid::from_u128(0x6000_0000_0000 + i as u128)),
        grantee: OrganizationId::new(ORG).map_err(|e| format!("{e:?}"))?,
        purpose: Purpose::Research,
        scope: GrantScope {
            modules: RecordKind::MODULES.into_iter().collect(),
            subjects: [Subject::Mother, Subject::Child(child)].into_iter().collect(),
            data_from: None,
            data_to: None,
        },
        period: GrantPeriod::OPEN,
        access: Access::Read,
        state: GrantState::Active,
        created_at: "2026-01-01T00:00:00Z".parse().map_err(|e| format!("{e}"))?,
    };
    let grant_key = GrantKey::generate();
    let wrapped = wrap_grant_key_to(view_public, &grant_key, &account, grant.id.0).map_err(|e| e.to_string())?;
    let grant_id = grant.id.0.to_string();
    let json = serde_json::to_string(&grant).map_err(|e| e.to_string())?;
    phr_server::store::grants::insert_grant(
        conn,
        &phr_server::store::grants::NewGrantRow {
            account_id: &account,
            grant_id: &grant_id,
            organization_id: ORG,
            grant_json: &json,
            state: "active",
            wrapped_grant_key: Some(&wrapped),
            view_kid,
            created_at: 1,
            created_by: "phone",
            revoked_at: None,
        },
    )
    .map_err(|e| e.to_string())?;
    let wrapped_keys: Vec<(String, Vec<u8>)> = envelopes
        .iter()
        .zip(&deks)
        .map(|((record_id, ..), dek)| {
            let ctx = GrantWrapContext { account_id: &account, grant_id: grant.id.0, record_id: *record_id };
            (record_id.to_string(), wrap_data_key(&grant_key, dek, &ctx))
        })
        .collect();
    let key_rows: Vec<phr_server::store::grants::RecordKeyRow<'_>> = wrapped_keys
        .iter()
        .map(|(id, k)| phr_server::store::grants::RecordKeyRow {
            account_id: &account,
            grant_id: &grant_id,
            record_id: id.clone(),
            wrapped_key: k,
        })
        .collect();
    phr_server::store::grants::put_record_keys(conn, &key_rows).map_err(|e| e.to_string())?;
    Ok(bodies.len())
}

/// `n` record bodies of one family: profile, pregnancy, delivery, newborn, then visits, checkups, doses, vitals.
fn family_bodies(i: usize, n: usize, birth: NaiveDate) -> Vec<(Subject, RecordBody)> {
    let child = Subject::Child(Uuid::from_u128(0xC000_0000 + i as u128));
    let mut out = Vec::with_capacity(n);
    let mut mother = examples::mother_profile_full();
    mother.name_kanji = format!("母{i}");
    mother.birth_date = birth - Days::days(365 * (20 + (i % 25) as i64));
    mother.parity = Some((i % 5) as u8);
    out.push((Subject::Mother, RecordBody::MotherProfile(mother)));
    out.push((Subject::Mother, RecordBody::Pregnancy(examples::pregnancy_full())));
    let mut delivery = examples::delivery_full();
    delivery.delivered_at = format!("{birth}T10:00:00+09:00").parse().unwrap_or(delivery.delivered_at);
    delivery.method = match i % 20 {
        0..=3 => DeliveryMethod::Caesarean,
        4 => DeliveryMethod::AssistedVacuum,
        _ => DeliveryMethod::Vaginal,
    };
    delivery.number_of_babies = if i % 50 == 7 { 2 } else { 1 };
    // Gestational age at delivery (the mothers' sensitive item) varies: 36 to 41 weeks.
    delivery.gestational_age = Some(GestationalAge::new(36 + (i / 3 % 6) as u8, (i % 7) as u8));
    out.push((Subject::Mother, RecordBody::Delivery(delivery)));
    let mut newborn = examples::newborn_full();
    newborn.birth_date = birth;
    newborn.sex = if i.is_multiple_of(2) { Sex::Female } else { Sex::Male };
    newborn.birth_weight = Some(Quantity::new(2200.0 + ((i * 7907) % 2000) as f64));
    newborn.vitamin_k_doses = vec![birth];
    out.push((child, RecordBody::Newborn(newborn)));
    let vaccines =
        [Vaccine::HepatitisB, Vaccine::DptIpvHib, Vaccine::Pcv20, Vaccine::RotavirusRotarix, Vaccine::Bcg, Vaccine::Mr];
    let mut j = 0usize;
    while out.len() < n {
        let body = match j % 4 {
            0 => {
                let mut v = examples::prenatal_visit_full();
                v.visit_date = birth - Days::days(280 - 14 * (j as i64 % 20));
                v.body_weight = Some(Quantity::new(50.0 + ((i + j) % 30) as f64));
                (Subject::Mother, RecordBody::PrenatalVisit(v))
            }
            1 => {
                let mut c = examples::child_checkup_full();
                c.date = birth + Days::days(30 * (j as i64 / 4 + 1));
                c.weight = Some(Quantity::new(3.0 + (j as f64) * 0.2 + (i % 10) as f64 * 0.05));
                (child, RecordBody::ChildCheckup(c))
            }
            2 => {
                let mut d = examples::immunization_full();
                d.vaccine = vaccines[(j / 4) % vaccines.len()];
                d.date_given = birth + Days::days(60 + 14 * (j as i64 / 4));
                (child, RecordBody::Immunization(d))
            }
            _ => {
                let mut s = examples::self_vitals_full();
                s.measured_at =
                    format!("{}T08:00:00+09:00", birth - Days::days(j as i64 * 3)).parse().unwrap_or(s.measured_at);
                (Subject::Mother, RecordBody::SelfVitals(s))
            }
        };
        out.push(body);
        j += 1;
    }
    out
}

/// CPU time (user + system, all threads) a process has used so far, in seconds: a load-independent
/// cost figure beside the wall-clock rate on a shared machine.
fn cpu_s(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).ok_or("malformed /proc stat");
    // USER_HZ is 100 on Linux.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Peak resident set of a process (VmHWM), in MiB.
fn peak_rss_mb(pid: u32) -> Result<f64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .ok_or_else(|| "no VmHWM".into())
}
