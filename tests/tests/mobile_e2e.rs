//! The mobile core (`phr-mobile`'s `PhrClient`) end to end against a real
//! server (issue 4): offline records encrypted at rest, pairing, sync with
//! conflicts, a crash between push and acknowledgement, cancellation, paging,
//! and typed validation errors. HTTP goes through a Rust `HttpTransport`
//! (ureq), the way the apps plug in URLSession or OkHttp.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use phr_core::dataset::examples;
use phr_core::dataset::{RecordBody, RecordKind};
use phr_mobile::{
    DueStatus, GrantRequest, HttpHeader, HttpRequest, HttpResponse, HttpTransport, PhrClient, PhrError, SyncPhase,
    SyncProgress, SyncProgressUpdate, TransportError,
};
use phr_tests::{ServerProcess, TestDatabase};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const KEY: [u8; 32] = [0x5a; 32];
/// A distinctive value that must never appear in a database file in clear.
const CLINIC: &str = "Zzyzx Maternity Clinic 4711";

fn start() -> (TestDatabase, tempfile::TempDir, ServerProcess) {
    let db = TestDatabase::sqlite();
    let (dir, server) = phr_tests::start_server(Path::new(BIN), &db, &[]);
    (db, dir, server)
}

/// The test transport: ureq, with a log of every request (method and URL)
/// and push bodies, and two fault switches: `offline` (every call fails, as
/// in flight mode) and `lose_push_answers` (the push reaches the server and is
/// applied, then the answer is lost, as if the app crashed).
#[derive(Default)]
struct Transport {
    agent: Option<ureq::Agent>,
    offline: AtomicBool,
    lose_push_answers: AtomicBool,
    calls: Mutex<Vec<String>>,
    push_bodies: Mutex<Vec<Value>>,
}

impl Transport {
    fn new() -> Arc<Transport> {
        Arc::new(Transport { agent: Some(phr_tests::http()), ..Default::default() })
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    fn count(&self, fragment: &str) -> usize {
        self.calls().iter().filter(|c| c.contains(fragment)).count()
    }
}

impl HttpTransport for Transport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.calls.lock().unwrap().push(format!("{} {}", request.method, request.url));
        if self.offline.load(Ordering::SeqCst) {
            return Err(TransportError::Failed { reason: "offline".into() });
        }
        let agent = self.agent.as_ref().expect("agent");
        let is_push = request.url.ends_with("/sync/v1/push");
        if is_push {
            self.push_bodies.lock().unwrap().push(serde_json::from_slice(&request.body).unwrap());
        }
        let result = match request.method.as_str() {
            "GET" | "DELETE" => {
                let mut r = if request.method == "GET" { agent.get(&request.url) } else { agent.delete(&request.url) };
                for h in &request.headers {
                    r = r.header(&h.name, &h.value);
                }
                r.call()
            }
            method => {
                let mut r = if method == "PUT" { agent.put(&request.url) } else { agent.post(&request.url) };
                for h in &request.headers {
                    r = r.header(&h.name, &h.value);
                }
                r.send(&request.body[..])
            }
        };
        let mut resp = result.map_err(|e| TransportError::Failed { reason: e.to_string() })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(name, value)| HttpHeader { name: name.to_string(), value: value.to_str().unwrap_or("").to_owned() })
            .collect();
        let body = resp.body_mut().read_to_vec().map_err(|e| TransportError::Failed { reason: e.to_string() })?;
        if is_push && self.lose_push_answers.load(Ordering::SeqCst) {
            return Err(TransportError::Failed { reason: "connection reset after the server applied it".into() });
        }
        Ok(HttpResponse { status, body, headers })
    }
}

fn db_path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

fn open(path: &str, transport: &Arc<Transport>) -> Arc<PhrClient> {
    PhrClient::open(path.to_owned(), KEY.to_vec(), transport.clone()).expect("open the store")
}

fn visit(clinic: &str, note: &str) -> RecordBody {
    let mut v = examples::prenatal_visit_full();
    v.clinic_name = Some(clinic.into());
    v.note = Some(note.into());
    RecordBody::PrenatalVisit(v)
}

/// The note of a prenatal visit body (`None` for anything else).
fn note(body: &RecordBody) -> Option<&str> {
    match body {
        RecordBody::PrenatalVisit(v) => v.note.as_deref(),
        _ => None,
    }
}

fn pair(first: &PhrClient, path: &str, transport: &Arc<Transport>, name: &str) -> Arc<PhrClient> {
    let invite = first.create_pairing_invite().expect("pairing invite");
    let second = open(path, transport);
    second.join_account(invite, name.into()).expect("join");
    second
}

/// Every file SQLite keeps for the store (main file, WAL, shared memory).
fn store_files(path: &str) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{path}{s}")))
        .filter(|p| p.exists())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_mother_records_a_visit_offline_syncs_it_and_the_file_holds_no_plaintext() {
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let path = db_path(&files, "mother.db");
    let transport = Transport::new();
    let client = open(&path, &transport);
    client.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();

    transport.offline.store(true, Ordering::SeqCst);
    let calls_before = transport.calls().len();
    let id = client.add_record("mother".into(), visit(CLINIC, "first visit")).unwrap();
    let timeline = client.timeline("mother".into(), None, None, None).unwrap();
    assert_eq!(transport.calls().len(), calls_before, "adding and listing offline touches no network");
    assert_eq!(timeline.len(), 1);
    assert!(timeline[0].pending && timeline[0].body == visit(CLINIC, "first visit"));
    assert_eq!(client.pending_count().unwrap(), 1);
    // A sync while offline fails as a retryable network error and keeps the change.
    assert!(matches!(client.sync(None), Err(PhrError::Network { retryable: true, .. })));
    assert_eq!(client.pending_count().unwrap(), 1);

    transport.offline.store(false, Ordering::SeqCst);
    let report = client.sync(None).unwrap();
    assert_eq!((report.pushed, report.pending, report.cancelled), (1, 0, false));
    assert!(!client.get_record(id.clone()).unwrap().pending);

    drop(client);
    for file in store_files(&path) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, CLINIC.as_bytes()), "{} holds the clinic name in clear", file.display());
        assert!(!contains(&bytes, b"first visit"), "{} holds the note in clear", file.display());
    }

    // After a restart the device still has its keys and records ...
    let reopened = open(&path, &transport);
    assert_eq!(reopened.get_record(id).unwrap().body, timeline[0].body);
    assert_eq!(reopened.sync(None).unwrap().pending, 0, "it can still sign in");
    drop(reopened);
    // ... but only with its device storage key.
    let wrong = PhrClient::open(path, vec![1; 32], transport.clone() as Arc<dyn HttpTransport>);
    assert!(matches!(wrong, Err(PhrError::Crypto { .. })));
}

#[test]
fn a_paired_device_pulls_and_concurrent_offline_edits_converge_with_the_loser_kept() {
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let (ta, tb) = (Transport::new(), Transport::new());
    let a = open(&db_path(&files, "a.db"), &ta);
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
    let id = a.add_record("mother".into(), visit(CLINIC, "v1")).unwrap();
    a.sync(None).unwrap();

    // A wrong account key is refused by the server (409) and nothing is kept.
    let mut forged = a.create_pairing_invite().unwrap();
    forged.account_key = vec![7; 32];
    let intruder = open(&db_path(&files, "forged.db"), &tb);
    assert!(matches!(intruder.join_account(forged, "Forged".into()), Err(PhrError::Conflict { .. })));
    assert!(intruder.account().is_none());

    let b = pair(&a, &db_path(&files, "b.db"), &tb, "Father's phone");
    assert_eq!(b.sync(None).unwrap().pulled, 1);
    assert_eq!(b.get_record(id.clone()).unwrap().body, a.get_record(id.clone()).unwrap().body);

    // Both edit the same record offline.
    a.edit_record(id.clone(), visit(CLINIC, "edited on A")).unwrap();
    b.edit_record(id.clone(), visit(CLINIC, "edited on B")).unwrap();
    a.sync(None).unwrap();
    let report = b.sync(None).unwrap();
    assert_eq!(report.conflicts, 1, "B's push conflicts with A's");
    assert_eq!(report.pending, 0, "B merged and pushed again");
    a.sync(None).unwrap();

    let (ra, rb) = (a.get_record(id.clone()).unwrap(), b.get_record(id.clone()).unwrap());
    assert_eq!(ra.body, rb.body, "both devices show the same winner");
    assert!(ra.has_conflicts && rb.has_conflicts);
    let (ha, hb) = (a.record_history(id.clone()).unwrap(), b.record_history(id).unwrap());
    assert_eq!(ha, hb, "both hold the same history");
    assert_eq!(ha.len(), 2, "the winner and the concurrent loser (the first version, superseded by both, is folded)");
    assert_eq!(ha.iter().filter(|v| v.winner).count(), 1);
    let notes: Vec<_> = ha.iter().filter_map(|v| v.body.as_ref().and_then(note)).collect();
    assert!(notes.contains(&"edited on A") && notes.contains(&"edited on B"), "{notes:?}");
}

#[test]
fn a_crash_between_push_and_acknowledgement_neither_duplicates_nor_loses_a_change() {
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let path = db_path(&files, "a.db");
    let transport = Transport::new();
    let a = open(&path, &transport);
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
    let ids: Vec<String> =
        (0..3).map(|i| a.add_record("mother".into(), visit(CLINIC, &format!("visit {i}"))).unwrap()).collect();

    transport.lose_push_answers.store(true, Ordering::SeqCst);
    assert!(matches!(a.sync(None), Err(PhrError::Network { .. })));
    drop(a); // the app dies before it learns the outcome
    transport.lose_push_answers.store(false, Ordering::SeqCst);

    let a = open(&path, &transport);
    assert_eq!(a.pending_count().unwrap(), 3);
    // Edited again before the retry: the retry must not swallow this edit.
    a.edit_record(ids[0].clone(), visit(CLINIC, "edited after the crash")).unwrap();
    let report = a.sync(None).unwrap();
    assert_eq!(report.pending, 0);
    let pushes = transport.push_bodies.lock().unwrap().clone();
    assert_eq!(pushes.len(), 3, "the lost batch, its retry, then the new edit");
    assert_eq!(pushes[0], pushes[1], "the retry resends the same batch, same batch_id");
    assert_eq!(pushes[2]["changes"].as_array().unwrap().len(), 1);
    assert_eq!(pushes[2]["changes"][0]["base_version"], 1, "the edit builds on the acknowledged version");

    let b = pair(&a, &db_path(&files, "b.db"), &Transport::new(), "Father's phone");
    b.sync(None).unwrap();
    assert_eq!(b.timeline("mother".into(), None, None, None).unwrap().len(), 3, "no record is duplicated");
    assert!(note(&b.get_record(ids[0].clone()).unwrap().body) == Some("edited after the crash"));
    assert_eq!(b.record_history(ids[0].clone()).unwrap().len(), 1, "the version the edit replaced is folded");
    for id in &ids[1..] {
        assert_eq!(b.record_history(id.clone()).unwrap().len(), 1, "each change is on the server exactly once");
    }
}

/// Cancels the sync once the first pull page has arrived.
struct CancelAfterFirstPage {
    client: Mutex<Option<Arc<PhrClient>>>,
    updates: AtomicUsize,
}

impl SyncProgress for CancelAfterFirstPage {
    fn on_progress(&self, update: SyncProgressUpdate) {
        self.updates.fetch_add(1, Ordering::SeqCst);
        if update.phase == SyncPhase::Pulling && update.pulled > 0 {
            if let Some(client) = self.client.lock().unwrap().as_ref() {
                client.cancel_sync();
            }
        }
    }
}

#[test]
fn thousands_of_records_sync_in_pages_and_cancel_stops_between_pages() {
    const N: usize = 2_500;
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let ta = Transport::new();
    let a = open(&db_path(&files, "a.db"), &ta);
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
    let body = RecordBody::SelfVitals(examples::self_vitals_minimal());
    for _ in 0..N {
        a.add_record("mother".into(), body.clone()).unwrap();
    }
    let report = a.sync(None).unwrap();
    assert_eq!((report.pushed, report.pending), (N as u64, 0));
    // Small records: the server's count limit (500 changes) fills each batch
    // before its byte limit does.
    assert_eq!(ta.count("/sync/v1/push"), N.div_ceil(500), "pushed in batches of the server's 500 changes");
    assert!(ta.push_bodies.lock().unwrap().iter().all(|b| b["changes"].as_array().unwrap().len() <= 500));

    let tb = Transport::new();
    let b = pair(&a, &db_path(&files, "b.db"), &tb, "Father's phone");
    let progress = Arc::new(CancelAfterFirstPage { client: Mutex::new(Some(b.clone())), updates: AtomicUsize::new(0) });
    let first = b.sync(Some(progress.clone())).unwrap();
    assert!(first.cancelled);
    assert_eq!(first.pulled, 1000, "stopped after one page");
    assert_eq!(b.timeline("mother".into(), None, None, None).unwrap().len(), 1000);
    *progress.client.lock().unwrap() = None;

    let second = b.sync(None).unwrap();
    assert!(!second.cancelled);
    assert_eq!(second.pulled, (N - 1000) as u64, "the next sync resumes at the cursor");
    assert_eq!(b.timeline("mother".into(), Some(RecordKind::SelfVitals), None, None).unwrap().len(), N);
    let pulls = tb.calls().into_iter().filter(|c| c.contains("/sync/v1/pull")).collect::<Vec<_>>();
    assert_eq!(pulls.len(), 3, "2,500 changes come in three pages");
    assert!(pulls.iter().all(|c| c.contains("limit=1000")));
    assert!(progress.updates.load(Ordering::SeqCst) >= 2);
}

/// The body with every date (`"YYYY-…` in its JSON form) moved 4 years back.
fn four_years_earlier(body: &RecordBody) -> RecordBody {
    let json = serde_json::to_string(body).unwrap();
    let mut out = String::with_capacity(json.len());
    let mut rest = json.as_str();
    while let Some(i) = rest.find("\"20") {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        match rest.get(..4).and_then(|y| y.parse::<u32>().ok()) {
            Some(year) if rest.as_bytes().get(4) == Some(&b'-') => {
                out.push_str(&(year - 4).to_string());
                rest = &rest[4..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn every_module_is_added_edited_and_deleted_for_the_mother_and_a_child_and_listed_by_date() {
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let transport = Transport::new();
    let a = open(&db_path(&files, "a.db"), &transport);
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
    let child = format!("child:{}", uuid::Uuid::now_v7());
    let mut ids = Vec::new();
    // The examples are dated for `examples::TODAY` (2029-12-01); the client
    // validates against the real date, so move every example 4 years back
    // (leap years stay leap years, intervals stay the same).
    let bodies = examples::all_full().into_iter().map(|body| four_years_earlier(&body));
    for body in bodies {
        let subject = if examples::is_child_record(body.kind()) { child.clone() } else { "mother".to_owned() };
        let id = a.add_record(subject.clone(), body.clone()).unwrap();
        ids.push((id, subject, body));
    }
    let kinds = |subject: &str| {
        a.timeline(subject.into(), None, None, None).unwrap().into_iter().map(|e| e.kind).collect::<Vec<_>>()
    };
    assert_eq!(kinds("mother").len() + kinds(&child).len(), RecordKind::ALL.len());
    assert!(kinds(&child).contains(&RecordKind::Newborn));

    // Edit every record (same content, new version), then delete every one.
    for (id, _, body) in &ids {
        a.edit_record(id.clone(), body.clone()).unwrap();
        assert_eq!(a.record_history(id.clone()).unwrap().len(), 1, "the replaced version is folded");
        assert_eq!(a.folded_versions(id.clone()).unwrap(), 1);
    }
    let visits = a
        .timeline("mother".into(), Some(RecordKind::PrenatalVisit), Some(date(2022, 4, 1)), Some(date(2022, 4, 30)))
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert!(a.timeline("mother".into(), None, Some(date(2030, 1, 1)), None).unwrap().is_empty());

    a.sync(None).unwrap();
    for (id, _, _) in &ids {
        a.delete_record(id.clone()).unwrap();
        assert!(matches!(a.get_record(id.clone()), Err(PhrError::NotFound { .. })));
    }
    assert!(kinds("mother").is_empty() && kinds(&child).is_empty());
    let report = a.sync(None).unwrap();
    assert_eq!((report.pushed, report.pending), (ids.len() as u64, 0));
    let b = pair(&a, &db_path(&files, "b.db"), &Transport::new(), "Father's phone");
    b.sync(None).unwrap();
    assert!(b.timeline("mother".into(), None, None, None).unwrap().is_empty(), "deletions sync as tombstones");
}

#[test]
fn invalid_input_comes_back_as_validation_errors_with_the_field_path() {
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let transport = Transport::new();
    let a = open(&db_path(&files, "a.db"), &transport);
    assert!(matches!(a.add_record("mother".into(), visit(CLINIC, "x")), Err(PhrError::Auth { .. })));
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();

    let mut high = examples::prenatal_visit_full();
    if let Some(bp) = high.blood_pressure.as_mut() {
        bp.systolic = phr_core::dataset::common::MillimetresOfMercury::new(400.0);
    }
    let field_of = |r: Result<String, PhrError>| match r {
        Err(PhrError::Validation { field, issues, .. }) => {
            assert!(!issues.is_empty());
            field
        }
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field_of(a.add_record("mother".into(), RecordBody::PrenatalVisit(high))), "blood_pressure.systolic");
    assert_eq!(field_of(a.add_record("father".into(), visit(CLINIC, "x"))), "subject");
    let child = format!("child:{}", uuid::Uuid::now_v7());
    assert_eq!(field_of(a.add_record(child, visit(CLINIC, "x"))), "subject", "a child has no prenatal visits");
    assert_eq!(
        field_of(phr_mobile::record_body_from_json("{\"kind\": \"x-ray\"}".into()).map(|_| String::new())),
        "body"
    );

    // The child's birth date (from its newborn record) bounds its checkups.
    let child = format!("child:{}", uuid::Uuid::now_v7());
    let mut newborn = examples::newborn_minimal();
    newborn.birth_date = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    a.add_record(child.clone(), RecordBody::Newborn(newborn)).unwrap();
    let mut checkup = examples::child_checkup_minimal();
    checkup.date = chrono::NaiveDate::from_ymd_opt(2025, 5, 1).unwrap();
    let checkup = RecordBody::ChildCheckup(checkup);
    assert_eq!(field_of(a.add_record(child, checkup)), "date", "a checkup before birth is refused");

    let id = a.add_record("mother".into(), visit(CLINIC, "x")).unwrap();
    let vitals = RecordBody::SelfVitals(examples::self_vitals_minimal());
    assert!(matches!(a.edit_record(id, vitals), Err(PhrError::Validation { field, .. }) if field == "kind"));
    let unknown = uuid::Uuid::now_v7().to_string();
    assert!(matches!(a.delete_record(unknown), Err(PhrError::NotFound { .. })));
    assert!(matches!(
        PhrClient::open(db_path(&files, "short.db"), vec![0; 16], transport.clone() as Arc<dyn HttpTransport>),
        Err(PhrError::Validation { field, .. }) if field == "storage_key"
    ));
}

// --- consent, key backup, export, child views, account deletion (issue 4, item 1) ---

/// A server on `db` (its data directory too, for admin commands).
fn start_on(db: &TestDatabase) -> (tempfile::TempDir, ServerProcess) {
    phr_tests::start_server(Path::new(BIN), db, &[])
}

/// Registers an organization with the admin command, as an operator would.
fn add_org(db: &TestDatabase, data_dir: &Path, id: &str, name: &str, kind: &str, purposes: &[&str]) {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["org", "add", "--id", id, "--name", name, "--kind", kind]);
    for p in purposes {
        cmd.args(["--purpose", p]);
    }
    let out = cmd
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(db.url())
        .env_remove("PHR_DATABASE_URL")
        .env_remove("PHR_DATA_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "org add: {}", String::from_utf8_lossy(&out.stderr));
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn vitals(day: chrono::NaiveDate) -> RecordBody {
    let mut v = examples::self_vitals_minimal();
    v.measured_at =
        day.and_hms_opt(8, 0, 0).unwrap().and_local_timezone(chrono::FixedOffset::east_opt(9 * 3600).unwrap()).unwrap();
    RecordBody::SelfVitals(v)
}

phr_tests::backend_test! {
    fn a_clinic_grant_made_in_the_app_carries_keys_the_server_unwraps_later_records_get_theirs_at_sync_and_revoke_removes_them(db) {
        let (data_dir, server) = start_on(&db);
        add_org(&db, data_dir.path(), "tanaka-clinic", "Tanaka Clinic", "clinic", &["treatment", "emergency"]);
        add_org(&db, data_dir.path(), "phr-research", "PHR Research", "research", &["research"]);
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        let account = a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap().account_id;
        let visits: Vec<String> =
            (0..3).map(|i| a.add_record("mother".into(), visit(CLINIC, &format!("visit {i}"))).unwrap()).collect();
        a.add_record("mother".into(), vitals(date(2026, 5, 1))).unwrap(); // out of scope
        a.sync(None).unwrap();
        let unsynced = a.add_record("mother".into(), visit(CLINIC, "not yet synced")).unwrap();

        let orgs = a.list_organizations().unwrap();
        let clinic = orgs.iter().find(|o| o.organization_id == "tanaka-clinic").expect("the clinic is listed");
        assert_eq!((clinic.name.as_str(), clinic.kind.as_str()), ("Tanaka Clinic", "clinic"));
        assert_eq!(clinic.purposes, ["treatment", "emergency"]);

        let request = GrantRequest {
            organization_id: clinic.organization_id.clone(),
            purpose: "treatment".into(),
            modules: vec!["prenatal_visit".into()],
            subjects: vec!["mother".into()],
            from: None,
            to: Some("2099-12-31".into()),
            access: "read".into(),
        };
        // The server accepts the grant only if every key unwraps (422 otherwise).
        let grant = a.grant_consent(request.clone()).unwrap();
        assert_eq!(grant.record_key_count, 3, "the three synced visits, not the vitals nor the unsynced visit");
        assert_eq!(grant.status, "active");
        assert_eq!(grant.organization_name, "Tanaka Clinic");
        assert!(
            grant.summary.starts_with("Tanaka Clinic (treatment) can read prenatal visits of the mother"),
            "{}",
            grant.summary
        );
        let inspector = phr_tests::inspect::Inspector::open(&db);
        assert_eq!(inspector.count_rows("grant_record_keys", &account), 3);

        // The unsynced visit and a new one get their keys at the next sync; the vitals never.
        let later = a.add_record("mother".into(), visit(CLINIC, "after the grant")).unwrap();
        a.add_record("mother".into(), vitals(date(2026, 5, 2))).unwrap();
        a.sync(None).unwrap();
        let listed = a.list_grants().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].record_key_count, 5, "{} and {later} were added", unsynced);
        assert_eq!(inspector.count_rows("grant_record_keys", &account), 5);
        a.sync(None).unwrap();
        assert_eq!(a.list_grants().unwrap()[0].record_key_count, 5, "keys are sent once");
        assert!(a.get_record(visits[0].clone()).is_ok());

        // The organization must allow the purpose; phr-core refuses bad scopes before any call.
        let research = GrantRequest { purpose: "research".into(), ..request.clone() };
        assert!(matches!(a.grant_consent(research), Err(PhrError::Network { retryable: false, .. })));
        let bad = GrantRequest { modules: vec!["newborn".into()], ..request.clone() };
        assert!(matches!(a.grant_consent(bad), Err(PhrError::Validation { .. })));
        assert_eq!(a.list_grants().unwrap().len(), 1, "refused grants store nothing");

        a.revoke_grant(grant.grant_id.clone()).unwrap();
        assert_eq!(inspector.count_rows("grant_record_keys", &account), 0, "revoking deletes every record key");
        let listed = a.list_grants().unwrap();
        assert_eq!((listed[0].status.as_str(), listed[0].record_key_count), ("revoked", 0));
        assert!(listed[0].revoked_at.is_some());
        assert!(matches!(a.revoke_grant(grant.grant_id.clone()), Err(PhrError::Conflict { .. })));
        // No more keys go to a revoked grant.
        a.add_record("mother".into(), visit(CLINIC, "after the revocation")).unwrap();
        a.sync(None).unwrap();
        assert_eq!(inspector.count_rows("grant_record_keys", &account), 0);

        let log = a.audit_log(0).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        for expected in ["account_created", "grant_created", "grant_keys_added", "grant_revoked"] {
            assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
        }
        assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
        let created = log.iter().find(|e| e.action == "grant_created").unwrap();
        assert_eq!(created.grant_id.as_deref(), Some(grant.grant_id.as_str()));
        assert_eq!(created.record_ids.len(), 3);
        let tail = a.audit_log(created.seq).unwrap();
        assert!(tail.iter().all(|e| e.seq > created.seq) && !tail.is_empty());
    }
}

phr_tests::backend_test! {
    fn a_key_backup_restores_the_account_on_a_new_phone_and_a_wrong_passphrase_is_a_typed_error(db) {
        let (_data_dir, server) = start_on(&db);
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        let summary = a.create_account(server.base_url.clone(), "Lost phone".into()).unwrap();
        let ids: Vec<String> =
            (0..4).map(|i| a.add_record("mother".into(), visit(CLINIC, &format!("visit {i}"))).unwrap()).collect();
        a.delete_record(ids[3].clone()).unwrap();
        a.sync(None).unwrap();

        assert!(matches!(
            a.backup_account_key("too short".into()),
            Err(PhrError::Validation { field, .. }) if field == "passphrase"
        ));
        let passphrase = "plum tree by the river 1987";
        a.backup_account_key(passphrase.into()).unwrap();
        let inspector = phr_tests::inspect::Inspector::open(&db);
        assert_eq!(inspector.count_rows("key_backups", &summary.account_id), 1);
        let devices_before = inspector.count_rows("devices", &summary.account_id);

        // The new phone: a wrong passphrase is an Auth error and enrols nothing.
        let b = open(&db_path(&files, "b.db"), &transport);
        let err = b
            .restore_account(
                server.base_url.clone(),
                summary.account_id.clone(),
                "plum tree by the river 1988".into(),
                "New phone".into(),
            )
            .unwrap_err();
        assert!(matches!(&err, PhrError::Auth { reason } if reason.contains("passphrase")), "{err:?}");
        assert!(b.account().is_none());
        assert_eq!(inspector.count_rows("devices", &summary.account_id), devices_before);
        let unknown = b.restore_account(
            server.base_url.clone(),
            uuid::Uuid::now_v7().to_string(),
            passphrase.into(),
            "New phone".into(),
        );
        assert!(matches!(unknown, Err(PhrError::NotFound { .. })), "{unknown:?}");

        let restored = b
            .restore_account(server.base_url.clone(), summary.account_id.clone(), passphrase.into(), "New phone".into())
            .unwrap();
        assert_eq!(restored.account_id, summary.account_id);
        assert_ne!(restored.device_id, summary.device_id);
        assert_eq!(inspector.count_rows("devices", &summary.account_id), devices_before + 1);
        assert_eq!(b.sync(None).unwrap().pulled, 4);
        for id in &ids[..3] {
            assert_eq!(b.get_record(id.clone()).unwrap().body, a.get_record(id.clone()).unwrap().body);
        }
        assert!(matches!(b.get_record(ids[3].clone()), Err(PhrError::NotFound { .. })), "the deletion came too");
        // The restored phone writes records the old one reads.
        let from_b = b.add_record("mother".into(), visit(CLINIC, "from the new phone")).unwrap();
        b.sync(None).unwrap();
        a.sync(None).unwrap();
        assert!(note(&a.get_record(from_b).unwrap().body) == Some("from the new phone"));
        let actions: Vec<String> =
            b.audit_log(0).unwrap().into_iter().map(|e| format!("{}:{}", e.action, e.outcome)).collect();
        for expected in [
            "key_backup_stored:success",
            "key_backup_fetched:success",
            "recovery_challenge_issued:success",
            "device_recovered:success",
        ] {
            assert!(actions.iter().any(|a| a == expected), "{expected} missing from {actions:?}");
        }

        // Without the account key: a made-up nonce is refused and adds no device,
        // and the challenge is spent either way.
        let url = |p: &str| format!("{}{p}", server.base_url);
        let acc = json!({ "account_id": summary.account_id });
        let challenge = phr_tests::inspect::post_json(&url("/accounts/v1/recovery/challenge"), None, &acc.to_string());
        assert_eq!(challenge.status, 200, "{challenge:?}");
        let enrol = json!({
            "account_id": summary.account_id,
            "challenge_id": challenge.body["challenge_id"],
            "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "device": { "public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "name": "Thief" },
        });
        let reply = phr_tests::inspect::post_json(&url("/accounts/v1/recovery/enrol"), None, &enrol.to_string());
        reply.problem(401);
        let again = phr_tests::inspect::post_json(&url("/accounts/v1/recovery/enrol"), None, &enrol.to_string());
        assert!(again.problem(401).contains("already used"), "{again:?}");
        assert_eq!(inspector.count_rows("devices", &summary.account_id), devices_before + 1);
        // Bad input is a 4xx saying what was wrong.
        let token_free = phr_tests::inspect::send(
            "POST",
            &url("/accounts/v1/recovery/key-backup"),
            None,
            Some("application/json"),
            Some(b"{\"account_id\": \"x\"}"),
        );
        assert!(token_free.problem(400).contains("account_id"), "{token_free:?}");
    }
}

phr_tests::backend_test! {
    fn the_fhir_export_bundle_holds_every_current_record_and_a_patient_per_subject(db) {
        let (_data_dir, server) = start_on(&db);
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        let account = a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap().account_id;
        let child = uuid::Uuid::now_v7();
        let mut ids = Vec::new();
        for body in examples::all_full() {
            let body = four_years_earlier(&body);
            let subject =
                if examples::is_child_record(body.kind()) { format!("child:{child}") } else { "mother".to_owned() };
            ids.push((body.kind(), a.add_record(subject, body).unwrap()));
        }
        let gone = a.add_record("mother".into(), vitals(date(2026, 5, 1))).unwrap();
        a.delete_record(gone.clone()).unwrap();

        let bundle: Value = serde_json::from_str(&a.export_fhir_bundle().unwrap()).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "collection");
        let entries = bundle["entry"].as_array().unwrap();
        let resources: Vec<phr_mobile::fhir::model::Resource> = entries
            .iter()
            .map(|e| serde_json::from_value(e["resource"].clone()).expect("a FHIR R4 resource"))
            .collect();
        let ids_in: Vec<&str> = resources.iter().filter_map(|r| r.id()).collect();
        // The identifiers record has no resource of its own: its identifiers are in
        // the mother's one Patient.
        let (identifiers, ids): (Vec<_>, Vec<_>) =
            ids.into_iter().partition(|(kind, _)| *kind == RecordKind::SubjectIdentifiers);
        let identifiers_record = &identifiers[0].1;
        assert!(!ids_in.iter().any(|i| i.starts_with(identifiers_record.as_str())));
        for (_, id) in &ids {
            // The primary resource has the record's id, secondary ones `<id>-<suffix>`
            // (a mother profile's or newborn's primary resource is the subject's Patient).
            assert!(ids_in.iter().any(|i| i.starts_with(id.as_str())), "record {id} is in the bundle");
        }
        let mother_patient = entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Patient" && r["id"] == format!("mother-{account}").as_str())
            .unwrap();
        assert!(mother_patient["name"].is_array(), "the profile's Patient is the base: {mother_patient}");
        // (The municipal number: `four_years_earlier` shifts the date-like handbook number too.)
        let municipal = &examples::subject_identifiers_full().identifiers[1];
        assert!(
            mother_patient["identifier"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["system"] == municipal.system.as_str() && i["value"] == municipal.value.as_str()),
            "the identifiers are merged into the mother's Patient: {mother_patient}"
        );
        assert!(!ids_in.iter().any(|i| i.starts_with(gone.as_str())), "deleted records are not exported");
        let patients: Vec<&str> =
            resources.iter().filter(|r| r.resource_type() == "Patient").filter_map(|r| r.id()).collect();
        let mut expected = vec![format!("mother-{account}"), format!("child-{child}")];
        expected.sort();
        let mut got: Vec<String> = patients.iter().map(|p| (*p).to_owned()).collect();
        got.sort();
        assert_eq!(got, expected, "one Patient per subject");
        let text = serde_json::to_string(&bundle).unwrap();
        assert!(
            text.contains(&format!("Patient/child-{child}")) && text.contains(&format!("Patient/mother-{account}"))
        );
    }
}

#[test]
fn a_childs_growth_series_and_immunizations_due_match_hand_computed_values() {
    use phr_core::dataset::common::{Quantity, Sex};
    use phr_core::dataset::immunization::{DoseSeries, Vaccine};
    let (_db, _dir, server) = start();
    let files = tempfile::tempdir().unwrap();
    let a = open(&db_path(&files, "a.db"), &Transport::new());
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
    let child = format!("child:{}", uuid::Uuid::now_v7());
    assert!(matches!(a.growth_series(child.clone()), Err(PhrError::NotFound { .. })), "no birth date yet");

    let mut newborn = examples::newborn_minimal();
    newborn.sex = Sex::Male;
    newborn.birth_date = date(2026, 9, 1);
    newborn.birth_weight = Some(Quantity::new(3050.0));
    newborn.birth_length = Some(Quantity::new(49.5));
    newborn.head_circumference = Some(Quantity::new(33.0));
    let newborn_id = a.add_record(child.clone(), RecordBody::Newborn(newborn)).unwrap();
    let checkup = |day, kg: Option<f64>, cm: Option<f64>, head: Option<f64>| {
        let mut c = examples::child_checkup_minimal();
        c.date = day;
        c.weight = kg.map(Quantity::new);
        c.length = cm.map(Quantity::new);
        c.length_position = cm.map(|_| phr_core::dataset::child_checkup::MeasurementPosition::Recumbent);
        c.head_circumference = head.map(Quantity::new);
        RecordBody::ChildCheckup(c)
    };
    let second = a.add_record(child.clone(), checkup(date(2026, 11, 20), Some(5.9), Some(59.8), None)).unwrap();
    let first = a.add_record(child.clone(), checkup(date(2026, 10, 5), Some(4.2), Some(53.1), Some(36.4))).unwrap();
    a.add_record(child.clone(), checkup(date(2026, 11, 21), None, None, None)).unwrap(); // nothing measured

    let series = a.growth_series(child.clone()).unwrap();
    let got: Vec<_> = series
        .iter()
        .map(|p| {
            (
                p.record_id.clone(),
                p.date.to_string(),
                p.age_days,
                p.age_months,
                p.weight_kg,
                p.length_cm,
                p.head_circumference_cm,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (newborn_id, "2026-09-01".to_owned(), 0, 0, Some(3.05), Some(49.5), Some(33.0)),
            (first, "2026-10-05".to_owned(), 34, 1, Some(4.2), Some(53.1), Some(36.4)),
            (second, "2026-11-20".to_owned(), 80, 2, Some(5.9), Some(59.8), None),
        ]
    );
    assert_eq!(series[0].source, RecordKind::Newborn);
    assert!(matches!(
        a.growth_series("mother".into()),
        Err(PhrError::Validation { field, .. }) if field == "child_subject"
    ));

    let mut dose = examples::immunization_minimal();
    dose.vaccine = Vaccine::DptIpvHib;
    dose.routine = true;
    dose.series = DoseSeries::FirstTerm;
    dose.dose_number = 1;
    dose.date_given = date(2026, 11, 2);
    a.add_record(child.clone(), RecordBody::Immunization(dose)).unwrap();

    // Born 2026-09-01, 5-in-1 dose 1 on 2026-11-02; on 2026-11-24, from the
    // schedule table: hepatitis B 1 (2 m – 3 m), either rotavirus dose 1 (2 m –
    // 15 w), 5-in-1 dose 2 (20 – 56 days after dose 1), PCV 1 (2 m – 7 m).
    let due = |on: &str| {
        a.immunizations_due(child.clone(), on.parse().unwrap())
            .unwrap()
            .into_iter()
            .map(|d| {
                let (status, window) = match d.status {
                    DueStatus::Due => ("due", format!("{}..{}", d.due_from.unwrap(), d.due_by.unwrap())),
                    DueStatus::Overdue => ("overdue", format!("since {}", d.overdue_since.unwrap())),
                };
                format!("{} {} {} {status} {window}", d.vaccine.code(), d.series.code(), d.dose_number)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        due("2026-11-24"),
        [
            "hepatitis_b primary 1 due 2026-11-01..2026-11-30",
            "rotavirus_rotarix primary 1 due 2026-11-01..2026-12-14",
            "rotavirus_rotateq primary 1 due 2026-11-01..2026-12-14",
            "dpt_ipv_hib first_term 2 due 2026-11-22..2026-12-28",
            "pcv20 primary 1 due 2026-11-01..2027-03-31",
        ]
    );
    // On 2026-12-20 hepatitis B 1 is overdue (3 months passed on 2026-12-01)
    // and dose 2 due (3 m – 4 m); rotavirus dose 1 is no longer given (15 w).
    let later = due("2026-12-20");
    assert!(later.contains(&"hepatitis_b primary 1 overdue since 2026-12-01".to_owned()), "{later:?}");
    assert!(later.contains(&"hepatitis_b primary 2 due 2026-12-01..2026-12-31".to_owned()), "{later:?}");
    assert!(later.contains(&"dpt_ipv_hib first_term 2 due 2026-11-22..2026-12-28".to_owned()), "{later:?}");
    assert!(!later.iter().any(|d| d.starts_with("rotavirus_rotarix primary 1")), "{later:?}");
}

phr_tests::backend_test! {
    fn deleting_the_account_leaves_only_a_tombstone_on_the_server_and_empties_the_local_store(db) {
        let (data_dir, server) = start_on(&db);
        add_org(&db, data_dir.path(), "tanaka-clinic", "Tanaka Clinic", "clinic", &["treatment"]);
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let path = db_path(&files, "a.db");
        let a = open(&path, &transport);
        let account = a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap().account_id;
        a.add_record("mother".into(), visit(CLINIC, "to be erased")).unwrap();
        a.sync(None).unwrap();
        a.backup_account_key("a long enough passphrase".into()).unwrap();
        a.grant_consent(GrantRequest {
            organization_id: "tanaka-clinic".into(),
            purpose: "treatment".into(),
            modules: vec!["prenatal_visit".into()],
            subjects: vec!["mother".into()],
            from: None,
            to: None,
            access: "read".into(),
        })
        .unwrap();
        let b = pair(&a, &db_path(&files, "b.db"), &Transport::new(), "Father's phone");
        b.sync(None).unwrap();

        a.delete_account().unwrap();
        let inspector = phr_tests::inspect::Inspector::open(&db);
        // Only the tombstone (ids, device keys, refresh-token hashes) stays.
        let left: Vec<(String, i64)> = inspector
            .rows_per_table(&account)
            .into_iter()
            .filter(|(table, n)| *n > 0 && !table.starts_with("tombstone_"))
            .collect();
        assert!(left.is_empty(), "rows left on the server: {left:?}");
        assert!(inspector.account_tables().contains(&"key_backups".to_owned()));
        assert!(
            matches!(b.sync(None), Err(PhrError::AccountDeleted { .. })),
            "the other device is told (the_other_phone_of_a_deleted_account_… has the details)"
        );
        assert!(a.account().is_none(), "signed out");
        assert!(matches!(a.timeline("mother".into(), None, None, None), Err(PhrError::Auth { .. })));
        assert!(matches!(a.delete_account(), Err(PhrError::Auth { .. })));
        drop(a);
        let reopened = open(&path, &transport);
        assert!(reopened.account().is_none());
        drop(reopened);
        let mut conn = phr_mobile::store::open(&path).unwrap();
        for table in ["records", "meta", "grants", "outbox_batches"] {
            let n: i64 = diesel_count(&mut conn, table);
            assert_eq!(n, 0, "{table} is empty");
        }
        drop(conn);
        for file in store_files(&path) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!contains(&bytes, account.as_bytes()), "{} still names the account", file.display());
        }
    }
}

fn diesel_count(conn: &mut diesel::SqliteConnection, table: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(conn).unwrap();
    n.n
}

/// `meta` keys left in a store.
fn meta_keys(conn: &mut diesel::SqliteConnection) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let keys: Vec<K> = diesel::sql_query("SELECT key FROM meta ORDER BY key").load(conn).unwrap();
    keys.into_iter().map(|k| k.key).collect()
}

fn is_account_deleted<T: std::fmt::Debug>(result: Result<T, PhrError>) -> bool {
    matches!(result, Err(PhrError::AccountDeleted { .. }))
}

phr_tests::backend_test! {
    /// Issue 12 item 9, with two phones: the father's phone holds the family's
    /// synced records and a consent grant it made; the mother deletes the
    /// account on her phone. The father's next sync — with the access token it
    /// still holds, or after a restart, by signing in — gets the typed
    /// `AccountDeleted`; by then the phone has wiped its store (records,
    /// outbox, grants, the sealed account and device keys, the ids) down to a
    /// marker, and every later call, also after reopening the file, answers
    /// `AccountDeleted`, until the phone joins or creates an account again.
    fn the_other_phone_of_a_deleted_account_wipes_its_store_and_answers_account_deleted(db) {
        let (data_dir, server) = start_on(&db);
        add_org(&db, data_dir.path(), "tanaka-clinic", "Tanaka Clinic", "clinic", &["treatment"]);
        let files = tempfile::tempdir().unwrap();
        let a = open(&db_path(&files, "a.db"), &Transport::new());
        let account = a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap().account_id;
        let record = a.add_record("mother".into(), visit(CLINIC, "seen by both phones")).unwrap();
        a.sync(None).unwrap();
        let b_path = db_path(&files, "b.db");
        let b = pair(&a, &b_path, &Transport::new(), "Father's phone");
        let c_path = db_path(&files, "c.db");
        let c = pair(&a, &c_path, &Transport::new(), "Grandmother's tablet");
        for phone in [&b, &c] {
            phone.sync(None).unwrap();
            assert!(matches!(phone.get_record(record.clone()).unwrap().body, RecordBody::PrenatalVisit(v) if v.clinic_name.as_deref() == Some(CLINIC)));
        }
        b.grant_consent(GrantRequest {
            organization_id: "tanaka-clinic".into(),
            purpose: "treatment".into(),
            modules: vec!["prenatal_visit".into()],
            subjects: vec!["mother".into()],
            from: None,
            to: None,
            access: "read".into(),
        })
        .unwrap();
        b.add_record("mother".into(), visit(CLINIC, "made offline on the father's phone")).unwrap();
        let b_device = b.account().unwrap().device_id;
        // The tablet is closed; it will come back without an access token.
        drop(c);

        a.delete_account().unwrap();

        // Phone B still holds an access token: its next sync is told at once.
        let err = b.sync(None).unwrap_err();
        assert!(matches!(err, PhrError::AccountDeleted { .. }), "{err:?}");
        assert!(b.account().is_none());
        assert!(b.account_was_deleted());
        assert!(is_account_deleted(b.get_record(record.clone())));
        assert!(is_account_deleted(b.timeline("mother".into(), None, None, None)));
        assert!(is_account_deleted(b.add_record("mother".into(), visit(CLINIC, "after"))));
        assert!(is_account_deleted(b.sync(None)));
        assert!(is_account_deleted(b.pending_count()));
        assert!(is_account_deleted(b.export_fhir_bundle()));
        assert!(is_account_deleted(b.list_grants()));
        assert!(is_account_deleted(b.create_pairing_invite()));
        drop(b);

        // Phone C signs in afresh: the signed challenge is answered 410 and it wipes too.
        let c = open(&c_path, &Transport::new());
        assert!(c.get_record(record.clone()).is_ok(), "offline, the tablet still shows its copy");
        assert!(is_account_deleted(c.sync(None)));
        assert!(is_account_deleted(c.get_record(record.clone())));
        drop(c);

        for path in [&b_path, &c_path] {
            // Reopened: still AccountDeleted, nothing to read.
            let phone = open(path, &Transport::new());
            assert!(phone.account_was_deleted());
            assert!(is_account_deleted(phone.timeline("mother".into(), None, None, None)));
            assert!(is_account_deleted(phone.get_record(record.clone())));
            drop(phone);
            // On disk: no record, no outbox, no grant, no sealed key, no id; only the marker.
            let mut conn = phr_mobile::store::open(path).unwrap();
            for table in ["records", "outbox_batches", "outbox", "grants", "grant_keys_sent"] {
                assert_eq!(diesel_count(&mut conn, table), 0, "{table} of {path} is empty");
            }
            assert_eq!(meta_keys(&mut conn), vec!["account_deleted".to_owned()], "{path}");
            drop(conn);
            for file in store_files(path) {
                let bytes = std::fs::read(&file).unwrap();
                for secret in [account.as_bytes(), b_device.as_bytes(), server.base_url.as_bytes()] {
                    assert!(!contains(&bytes, secret), "{} still holds {:?}", file.display(), String::from_utf8_lossy(secret));
                }
            }
        }

        // The phone can start over: a new account clears the state.
        let b = open(&b_path, &Transport::new());
        b.create_account(server.base_url.clone(), "Father's phone".into()).unwrap();
        assert!(!b.account_was_deleted());
        assert_eq!(b.timeline("mother".into(), None, None, None).unwrap().len(), 0);
    }
}

// --- subject identifiers: a municipality finds the child (issue 14, item 7) ---

const HANDBOOK_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.81";
const CITY_CHILD_SYSTEM: &str = "https://city.example.jp/fhir/child-id";
const MRN_SYSTEM: &str = "urn:oid:1.2.392.200119.6.102.11399.1";

fn identifiers(pairs: &[(&str, &str)]) -> RecordBody {
    RecordBody::SubjectIdentifiers(phr_core::dataset::SubjectIdentifiers {
        identifiers: pairs
            .iter()
            .map(|(system, value)| phr_core::dataset::Identifier { system: (*system).into(), value: (*value).into() })
            .collect(),
    })
}

fn fhir_total(bundle: &Value) -> u64 {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    bundle["total"].as_u64().unwrap()
}

fn fhir_entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect()
}

/// A search that must succeed: its Bundle.
fn search(org: &phr_tests::fhir::OrgClient, path: &str) -> Value {
    let (status, bundle) = org.get(path);
    assert_eq!(status, 200, "{path}: {bundle}");
    phr_tests::fhir::dump(&bundle.to_string());
    bundle
}

fn has_identifier(patient: &Value, system: &str, value: &str) -> bool {
    patient["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["system"] == system && i["value"] == value))
}

phr_tests::backend_test! {
    fn a_municipality_with_a_checkup_grant_finds_the_child_by_the_identifiers_the_family_attached_and_loses_it_on_revocation(db) {
        let (data_dir, server) = start_on(&db);
        let register = |id: &str| {
            phr_tests::fhir::OrgClient::register(
                Path::new(BIN), data_dir.path(), &db.url(), &server.base_url, id, "system/*.rs",
            )
        };
        let city = register("city-yokohama");
        let clinic = register("tanaka-clinic");
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        let account = a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap().account_id;
        let child = format!("child:{}", uuid::Uuid::now_v7());
        a.add_record(child.clone(), four_years_earlier(&RecordBody::Newborn(examples::newborn_full()))).unwrap();
        let checkup = a
            .add_record(child.clone(), four_years_earlier(&RecordBody::ChildCheckup(examples::child_checkup_full())))
            .unwrap();
        let child_ids = a
            .add_record(child.clone(), identifiers(&[(HANDBOOK_SYSTEM, "HB-2022-0042"), (CITY_CHILD_SYSTEM, "C-998877")]))
            .unwrap();
        a.add_record("mother".into(), identifiers(&[(HANDBOOK_SYSTEM, "HB-2022-0041")])).unwrap();
        a.add_record("mother".into(), visit(CLINIC, "first visit")).unwrap();
        // Validated like every module: a system that is not a URI is refused with its path.
        let bad = a.add_record(child.clone(), identifiers(&[("handbook", "HB-1")]));
        assert!(
            matches!(&bad, Err(PhrError::Validation { field, .. }) if field == "identifiers[0].system"),
            "{bad:?}"
        );
        a.sync(None).unwrap();

        let grant = |org: &str, modules: &[&str], subject: &str| {
            a.grant_consent(GrantRequest {
                organization_id: org.into(),
                purpose: "treatment".into(),
                modules: modules.iter().map(|m| (*m).to_owned()).collect(),
                subjects: vec![subject.to_owned()],
                from: None,
                to: Some("2099-12-31".into()),
                access: "read".into(),
            })
            .unwrap()
        };
        // The city: child checkups of the child only. The clinic: prenatal visits of the mother only.
        let city_grant = grant("city-yokohama", &["child_checkup"], &child);
        assert_eq!(city_grant.record_key_count, 2, "the checkup and the child's identifiers, not the newborn record");
        let clinic_grant = grant("tanaka-clinic", &["prenatal_visit"], "mother");
        assert_eq!(clinic_grant.record_key_count, 2, "the visit and the mother's identifiers");

        // The city finds the child by the handbook number, reads it, and finds it by id.
        let found = search(&city, &format!("/fhir/r4/Patient?identifier={HANDBOOK_SYSTEM}|HB-2022-0042"));
        assert_eq!(fhir_total(&found), 1, "{found}");
        let patient = &fhir_entries(&found)[0];
        let pid = patient["id"].as_str().unwrap().to_owned();
        assert!(has_identifier(patient, CITY_CHILD_SYSTEM, "C-998877"), "{patient}");
        assert!(has_identifier(patient, "https://phr.example/fhir/patient-id", &pid), "{patient}");
        assert!(patient.get("birthDate").is_none(), "the newborn record is not in the city's grant: {patient}");
        assert_eq!(fhir_total(&search(&city, "/fhir/r4/Patient?identifier=C-998877")), 1, "value alone");
        assert_eq!(
            fhir_total(&search(&city, &format!("/fhir/r4/Patient?identifier={CITY_CHILD_SYSTEM}|nope,{HANDBOOK_SYSTEM}|HB-2022-0042"))),
            1,
            "comma is OR"
        );
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?identifier={CITY_CHILD_SYSTEM}|HB-2022-0042"))), 0);
        let (status, read) = city.get(&format!("/fhir/r4/Patient/{pid}"));
        assert_eq!(status, 200, "{read}");
        assert!(has_identifier(&read, HANDBOOK_SYSTEM, "HB-2022-0042"), "{read}");
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?_id={pid}"))), 1);
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?_id=unknown,{pid}"))), 1);
        assert_eq!(fhir_total(&search(&city, "/fhir/r4/Patient?_id=unknown")), 0, "an unknown id is no error");
        assert_eq!(
            fhir_total(&search(&city, &format!("/fhir/r4/Patient?_id={pid}&identifier={HANDBOOK_SYSTEM}|HB-2022-0041"))),
            0,
            "_id and identifier AND"
        );
        // Not the mother: the city's grant does not cover her.
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?identifier={HANDBOOK_SYSTEM}|HB-2022-0041"))), 0);

        // _id on the other types: the checkup's Encounter and one Observation, by id.
        let observations = search(&city, &format!("/fhir/r4/Observation?patient={pid}"));
        let obs_id = fhir_entries(&observations)[0]["id"].as_str().unwrap().to_owned();
        let by_id = search(&city, &format!("/fhir/r4/Observation?_id={obs_id}"));
        assert_eq!(fhir_total(&by_id), 1, "{by_id}");
        assert_eq!(fhir_entries(&by_id)[0]["id"], obs_id.as_str());
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Observation?_id=nope,{obs_id}"))), 1);
        assert_eq!(fhir_total(&search(&city, "/fhir/r4/Observation?_id=nope")), 0);
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Encounter?_id={checkup}"))), 1);
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Encounter?_id={checkup}&patient={pid}"))), 1);
        let (status, cs) = city.get("/fhir/r4/metadata");
        assert_eq!(status, 200);
        let patient_params = cs["rest"][0]["resource"][0]["searchParam"].to_string();
        assert!(patient_params.contains("\"_id\"") && patient_params.contains("\"identifier\""), "{cs}");

        // The clinic (mother only) does not find the child by its identifiers; it finds the mother by hers.
        assert_eq!(fhir_total(&search(&clinic, &format!("/fhir/r4/Patient?identifier={HANDBOOK_SYSTEM}|HB-2022-0042"))), 0);
        assert_eq!(fhir_total(&search(&clinic, &format!("/fhir/r4/Patient?_id={pid}"))), 0);
        let mother = search(&clinic, &format!("/fhir/r4/Patient?identifier={HANDBOOK_SYSTEM}|HB-2022-0041"));
        assert_eq!(fhir_total(&mother), 1, "{mother}");

        // The family adds a clinic's MRN: after a sync the city finds the child by it too.
        a.edit_record(
            child_ids.clone(),
            identifiers(&[(HANDBOOK_SYSTEM, "HB-2022-0042"), (CITY_CHILD_SYSTEM, "C-998877"), (MRN_SYSTEM, "MRN-77")]),
        )
        .unwrap();
        a.sync(None).unwrap();
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?identifier={MRN_SYSTEM}|MRN-77"))), 1);

        // Every search is audited in the family's log through the city's grant.
        let log = a.audit_log(0).unwrap();
        assert!(
            log.iter().any(|e| e.action == "fhir_search" && e.grant_id.as_deref() == Some(city_grant.grant_id.as_str())),
            "{log:?}"
        );

        // Revoked: the child is gone from the city's searches and reads.
        a.revoke_grant(city_grant.grant_id.clone()).unwrap();
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?identifier={HANDBOOK_SYSTEM}|HB-2022-0042"))), 0);
        assert_eq!(fhir_total(&search(&city, &format!("/fhir/r4/Patient?_id={pid}"))), 0);
        assert_eq!(city.get(&format!("/fhir/r4/Patient/{pid}")).0, 404);
        let inspector = phr_tests::inspect::Inspector::open(&db);
        assert_eq!(inspector.count_rows("grant_record_keys", &account), 2, "only the clinic's keys are left");
    }
}

phr_tests::backend_test! {
    fn an_emergency_card_made_in_the_app_is_read_by_an_er_refreshed_after_a_sync_rotated_and_withdrawn(db) {
        use phr_core::crypto::shl::ShlPayload;
        use phr_tests::emergency::{manifest, read_summary, reader_agent};

        let (_data_dir, server) = start_on(&db);
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
        // The examples are dated in 2027: the app refuses future dates.
        let mut egg = examples::allergy_full();
        (egg.onset, egg.last_reaction) = (None, None);
        let allergy = a.add_record("mother".into(), RecordBody::Allergy(egg)).unwrap();
        a.add_record("mother".into(), RecordBody::Condition(examples::condition_minimal())).unwrap();
        assert_eq!(a.sync(None).unwrap().emergency_cards_refreshed, 0, "no card yet");

        let card = a.create_emergency_card("mother".into(), Some("sentinel-2468".into()), Some("Hanako".into())).unwrap();
        assert!(card.passcode && card.active);
        let link = ShlPayload::parse(card.shlink.as_deref().expect("the maker holds the link")).unwrap();
        assert!(link.flags.long_term && link.flags.passcode);
        assert_eq!(link.label.as_deref(), Some("Hanako"));
        let svg = a.emergency_card_svg(card.card_id.clone()).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Hanako"), "a printable card");

        // An ER reads it with the link alone.
        let reader = reader_agent();
        let ask = |url: &str, passcode: Option<&str>| {
            let mut body = json!({"recipient": "ER, Example General Hospital"});
            if let Some(p) = passcode {
                body["passcode"] = json!(p);
            }
            manifest(&reader, url, &body)
        };
        let (status, _, m) = ask(&link.url, Some("sentinel-2468"));
        assert_eq!(status, 200, "{m}");
        let first = read_summary(&reader, &link.key, &m);
        assert_eq!(first["type"], "document");
        assert!(first.to_string().contains("\"AllergyIntolerance\""), "{first}");

        // A wrong passcode first (refused), then the read above: the next sync tells the parents.
        assert_eq!(ask(&link.url, Some("wrong-passcode")).0, 401);
        // A sync that changed nothing uploads nothing; one after an edit refreshes under the same link.
        let report = a.sync(None).unwrap();
        assert_eq!(report.emergency_cards_refreshed, 0);
        let told: Vec<(bool, String, Option<String>)> =
            report.emergency_accesses.iter().map(|e| (e.granted, e.recipient.clone(), e.card_id.clone())).collect();
        let er = "ER, Example General Hospital".to_owned();
        assert_eq!(told, [(true, er.clone(), Some(card.card_id.clone())), (false, er.clone(), Some(card.card_id.clone()))]);
        assert!(a.sync(None).unwrap().emergency_accesses.is_empty(), "each access is told once per phone");
        a.edit_record(allergy, RecordBody::Allergy(examples::allergy_minimal())).unwrap();
        assert_eq!(a.sync(None).unwrap().emergency_cards_refreshed, 1);
        let (status, _, m) = ask(&link.url, Some("sentinel-2468"));
        assert_eq!(status, 200);
        assert_ne!(read_summary(&reader, &link.key, &m)["entry"], first["entry"], "the refreshed summary");

        // The other parent's phone sees the card and its reads, not its link.
        let b = pair(&a, &db_path(&files, "b.db"), &transport, "Father's phone");
        let on_b = b.sync(None).unwrap().emergency_accesses;
        assert_eq!(on_b.iter().filter(|e| e.granted).count(), 2, "the father's phone is told too: {on_b:?}");
        assert!(on_b.iter().all(|e| e.recipient == er));
        let seen = b.list_emergency_cards().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].accesses, seen[0].shlink.clone()), (2, None));
        assert!(matches!(b.rotate_emergency_card(card.card_id.clone(), None), Err(PhrError::NotFound { .. })));

        // Rotate on the mother's phone: the old QR code is dead, the new one works (no passcode now).
        let rotated = a.rotate_emergency_card(card.card_id.clone(), None).unwrap();
        let new_link = ShlPayload::parse(rotated.shlink.as_deref().unwrap()).unwrap();
        assert_eq!(ask(&link.url, Some("sentinel-2468")).0, 404);
        let (status, _, m) = ask(&new_link.url, None);
        assert_eq!(status, 200, "{m}");
        read_summary(&reader, &new_link.key, &m);

        // The father withdraws it: dead everywhere, forgotten on the mother's phone at its next look.
        b.withdraw_emergency_card(card.card_id.clone()).unwrap();
        assert_eq!(ask(&new_link.url, None).0, 404);
        assert!(a.list_emergency_cards().unwrap().is_empty());
        assert!(matches!(a.emergency_card_svg(card.card_id.clone()), Err(PhrError::NotFound { .. })));

        // The phone registers for Web Push with the server's VAPID key, and can stop.
        let vapid = a.push_vapid_public_key().unwrap();
        assert_eq!(vapid.len(), 87, "a P-256 point, base64url");
        let auth = "AAAAAAAAAAAAAAAAAAAAAA".to_owned();
        let id = a.register_push_subscription("https://push.example.net/s/1".into(), vapid.clone(), auth.clone()).unwrap();
        let refused = a.register_push_subscription("http://push.example.net/s/1".into(), vapid, auth);
        assert!(format!("{refused:?}").contains("endpoint"), "plain http is refused, naming the field: {refused:?}");
        a.unregister_push_subscription(id.clone()).unwrap();
        assert!(matches!(a.unregister_push_subscription(id), Err(PhrError::NotFound { .. })));
    }
}

phr_tests::backend_test! {
    fn a_family_opts_in_to_break_glass_in_the_app_and_both_phones_are_told_of_the_er_read_with_its_reason(db) {
        let (data_dir, server) = start_on(&db);
        let er = phr_tests::fhir::OrgClient::register_emergency(
            Path::new(BIN), data_dir.path(), &db.url(), &server.base_url, "night-er", "system/Patient.r",
        );
        let files = tempfile::tempdir().unwrap();
        let transport = Transport::new();
        let a = open(&db_path(&files, "a.db"), &transport);
        a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();
        let child = format!("child:{}", uuid::Uuid::now_v7());
        a.add_record(child.clone(), four_years_earlier(&RecordBody::Newborn(examples::newborn_full()))).unwrap();
        a.add_record(child.clone(), identifiers(&[(HANDBOOK_SYSTEM, "HB-2022-0042"), (CITY_CHILD_SYSTEM, "C-998877")]))
            .unwrap();
        a.add_record("mother".into(), identifiers(&[(HANDBOOK_SYSTEM, "HB-2022-0041")])).unwrap();
        a.sync(None).unwrap();
        assert_eq!(a.register_emergency_identifiers().unwrap(), 3, "every identifier of every member");

        let path = format!("/fhir/r4/Patient/$summary?identifier={HANDBOOK_SYSTEM}|HB-2022-0042");
        let reason = [("X-Break-Glass-Reason", "infant unresponsive")];
        // Before the opt-in: 404, and the attempt is told.
        assert_eq!(er.get_with_headers(&path, &reason).0, 404);
        // The opt-in is a grant to the registered emergency departments, made like any grant.
        let opt_in = a
            .grant_consent(GrantRequest {
                organization_id: "emergency-departments".into(),
                purpose: "emergency".into(),
                modules: vec!["newborn".into(), "immunization".into(), "allergy".into()],
                subjects: vec![child.clone()],
                from: None,
                to: None,
                access: "read".into(),
            })
            .unwrap();
        assert_eq!(opt_in.record_key_count, 2, "the newborn record and the child's identifiers");
        let (status, doc) = er.get_with_headers(&path, &reason);
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["type"], "document");

        let told = a.sync(None).unwrap().emergency_accesses;
        let seen: Vec<(bool, bool, String, Option<String>)> =
            told.iter().map(|e| (e.break_glass, e.granted, e.recipient.clone(), e.reason.clone())).collect();
        let why = Some("infant unresponsive".to_owned());
        assert_eq!(seen, [(true, false, "night-er".into(), why.clone()), (true, true, "night-er".into(), why.clone())]);
        assert!(told.iter().all(|e| e.card_id.is_none()));
        let b = pair(&a, &db_path(&files, "b.db"), &transport, "Father's phone");
        assert_eq!(b.sync(None).unwrap().emergency_accesses.len(), 2, "the father's phone is told too");

        // Revoked in the app: dead at once.
        a.revoke_grant(opt_in.grant_id.clone()).unwrap();
        assert_eq!(er.get_with_headers(&path, &reason).0, 404);
    }
}
