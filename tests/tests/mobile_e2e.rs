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
    HttpRequest, HttpResponse, HttpTransport, PhrClient, PhrError, SyncPhase, SyncProgress, SyncProgressUpdate,
    TransportError,
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
        let result = if request.method == "GET" {
            let mut r = agent.get(&request.url);
            for h in &request.headers {
                r = r.header(&h.name, &h.value);
            }
            r.call()
        } else {
            let mut r = agent.post(&request.url);
            for h in &request.headers {
                r = r.header(&h.name, &h.value);
            }
            r.send(&request.body[..])
        };
        let mut resp = result.map_err(|e| TransportError::Failed { reason: e.to_string() })?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().map_err(|e| TransportError::Failed { reason: e.to_string() })?;
        if is_push && self.lose_push_answers.load(Ordering::SeqCst) {
            return Err(TransportError::Failed { reason: "connection reset after the server applied it".into() });
        }
        Ok(HttpResponse { status, body })
    }
}

fn db_path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

fn open(path: &str, transport: &Arc<Transport>) -> Arc<PhrClient> {
    PhrClient::open(path.to_owned(), KEY.to_vec(), transport.clone()).expect("open the store")
}

fn visit_json(clinic: &str, note: &str) -> String {
    let mut v = examples::prenatal_visit_full();
    v.clinic_name = Some(clinic.into());
    v.note = Some(note.into());
    serde_json::to_string(&RecordBody::PrenatalVisit(v)).unwrap()
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
    let id = client.add_record("mother".into(), visit_json(CLINIC, "first visit")).unwrap();
    let timeline = client.timeline("mother".into(), None, None, None).unwrap();
    assert_eq!(transport.calls().len(), calls_before, "adding and listing offline touches no network");
    assert_eq!(timeline.len(), 1);
    assert!(timeline[0].pending && timeline[0].body_json.contains(CLINIC));
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
    assert_eq!(reopened.get_record(id).unwrap().body_json, timeline[0].body_json);
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
    let id = a.add_record("mother".into(), visit_json(CLINIC, "v1")).unwrap();
    a.sync(None).unwrap();

    // A wrong account key is refused and not kept.
    let mut forged = a.create_pairing_invite().unwrap();
    forged.account_key = vec![7; 32];
    let intruder = open(&db_path(&files, "forged.db"), &tb);
    assert!(matches!(intruder.join_account(forged, "Forged".into()), Err(PhrError::Crypto { .. })));
    assert!(intruder.account().is_none());

    let b = pair(&a, &db_path(&files, "b.db"), &tb, "Father's phone");
    assert_eq!(b.sync(None).unwrap().pulled, 1);
    assert_eq!(b.get_record(id.clone()).unwrap().body_json, a.get_record(id.clone()).unwrap().body_json);

    // Both edit the same record offline.
    a.edit_record(id.clone(), visit_json(CLINIC, "edited on A")).unwrap();
    b.edit_record(id.clone(), visit_json(CLINIC, "edited on B")).unwrap();
    a.sync(None).unwrap();
    let report = b.sync(None).unwrap();
    assert_eq!(report.conflicts, 1, "B's push conflicts with A's");
    assert_eq!(report.pending, 0, "B merged and pushed again");
    a.sync(None).unwrap();

    let (ra, rb) = (a.get_record(id.clone()).unwrap(), b.get_record(id.clone()).unwrap());
    assert_eq!(ra.body_json, rb.body_json, "both devices show the same winner");
    assert!(ra.has_conflicts && rb.has_conflicts);
    let (ha, hb) = (a.record_history(id.clone()).unwrap(), b.record_history(id).unwrap());
    assert_eq!(ha, hb, "both hold the same history");
    assert_eq!(ha.len(), 3, "the first version, the winner and the loser");
    assert_eq!(ha.iter().filter(|v| v.winner).count(), 1);
    let notes: Vec<_> = ha.iter().filter_map(|v| v.body_json.clone()).collect();
    assert!(notes.iter().any(|n| n.contains("edited on A")) && notes.iter().any(|n| n.contains("edited on B")));
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
        (0..3).map(|i| a.add_record("mother".into(), visit_json(CLINIC, &format!("visit {i}"))).unwrap()).collect();

    transport.lose_push_answers.store(true, Ordering::SeqCst);
    assert!(matches!(a.sync(None), Err(PhrError::Network { .. })));
    drop(a); // the app dies before it learns the outcome
    transport.lose_push_answers.store(false, Ordering::SeqCst);

    let a = open(&path, &transport);
    assert_eq!(a.pending_count().unwrap(), 3);
    // Edited again before the retry: the retry must not swallow this edit.
    a.edit_record(ids[0].clone(), visit_json(CLINIC, "edited after the crash")).unwrap();
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
    assert!(b.get_record(ids[0].clone()).unwrap().body_json.contains("edited after the crash"));
    assert_eq!(b.record_history(ids[0].clone()).unwrap().len(), 2);
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
    let body = serde_json::to_string(&RecordBody::SelfVitals(examples::self_vitals_minimal())).unwrap();
    for _ in 0..N {
        a.add_record("mother".into(), body.clone()).unwrap();
    }
    let report = a.sync(None).unwrap();
    assert_eq!((report.pushed, report.pending), (N as u64, 0));
    assert_eq!(ta.count("/sync/v1/push"), N.div_ceil(200), "pushed in batches of 200");
    assert!(ta.push_bodies.lock().unwrap().iter().all(|b| b["changes"].as_array().unwrap().len() <= 200));

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
    assert_eq!(b.timeline("mother".into(), Some("self_vitals".into()), None, None).unwrap().len(), N);
    let pulls = tb.calls().into_iter().filter(|c| c.contains("/sync/v1/pull")).collect::<Vec<_>>();
    assert_eq!(pulls.len(), 3, "2,500 changes come in three pages");
    assert!(pulls.iter().all(|c| c.contains("limit=1000")));
    assert!(progress.updates.load(Ordering::SeqCst) >= 2);
}

/// The RecordBody JSON with every date (`"YYYY-…`) moved 4 years back.
fn four_years_earlier(body: &RecordBody) -> String {
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
    out
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
        let body: RecordBody = serde_json::from_str(&body).unwrap();
        let subject = if examples::is_child_record(body.kind()) { child.clone() } else { "mother".to_owned() };
        let id = a.add_record(subject.clone(), serde_json::to_string(&body).unwrap()).unwrap();
        ids.push((id, subject, body));
    }
    let kinds = |subject: &str| {
        a.timeline(subject.into(), None, None, None).unwrap().into_iter().map(|e| e.kind).collect::<Vec<_>>()
    };
    assert_eq!(kinds("mother").len() + kinds(&child).len(), RecordKind::ALL.len());
    assert!(kinds(&child).contains(&"newborn".to_owned()));

    // Edit every record (same content, new version), then delete every one.
    for (id, _, body) in &ids {
        a.edit_record(id.clone(), serde_json::to_string(body).unwrap()).unwrap();
        assert_eq!(a.record_history(id.clone()).unwrap().len(), 2);
    }
    let visits = a
        .timeline("mother".into(), Some("prenatal_visit".into()), Some("2022-04-01".into()), Some("2022-04-30".into()))
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert!(a.timeline("mother".into(), None, Some("2030-01-01".into()), None).unwrap().is_empty());

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
    assert!(matches!(a.add_record("mother".into(), visit_json(CLINIC, "x")), Err(PhrError::Auth { .. })));
    a.create_account(server.base_url.clone(), "Mother's phone".into()).unwrap();

    let mut visit: Value = serde_json::from_str(&visit_json(CLINIC, "x")).unwrap();
    visit["body"]["blood_pressure"]["systolic"]["value"] = json!(400.0);
    let field_of = |r: Result<String, PhrError>| match r {
        Err(PhrError::Validation { field, issues, .. }) => {
            assert!(!issues.is_empty());
            field
        }
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field_of(a.add_record("mother".into(), visit.to_string())), "blood_pressure.systolic");
    assert_eq!(field_of(a.add_record("father".into(), visit_json(CLINIC, "x"))), "subject");
    let child = format!("child:{}", uuid::Uuid::now_v7());
    assert_eq!(field_of(a.add_record(child, visit_json(CLINIC, "x"))), "subject", "a child has no prenatal visits");
    assert_eq!(field_of(a.add_record("mother".into(), "{\"kind\": \"x-ray\"}".into())), "body");

    // The child's birth date (from its newborn record) bounds its checkups.
    let child = format!("child:{}", uuid::Uuid::now_v7());
    let mut newborn = examples::newborn_minimal();
    newborn.birth_date = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    a.add_record(child.clone(), serde_json::to_string(&RecordBody::Newborn(newborn)).unwrap()).unwrap();
    let mut checkup = examples::child_checkup_minimal();
    checkup.date = chrono::NaiveDate::from_ymd_opt(2025, 5, 1).unwrap();
    let checkup = serde_json::to_string(&RecordBody::ChildCheckup(checkup)).unwrap();
    assert_eq!(field_of(a.add_record(child, checkup)), "date", "a checkup before birth is refused");

    let id = a.add_record("mother".into(), visit_json(CLINIC, "x")).unwrap();
    let vitals = serde_json::to_string(&RecordBody::SelfVitals(examples::self_vitals_minimal())).unwrap();
    assert!(matches!(a.edit_record(id, vitals), Err(PhrError::Validation { field, .. }) if field == "kind"));
    let unknown = uuid::Uuid::now_v7().to_string();
    assert!(matches!(a.delete_record(unknown), Err(PhrError::NotFound { .. })));
    assert!(matches!(
        a.timeline("mother".into(), None, Some("April".into()), None),
        Err(PhrError::Validation { field, .. }) if field == "from"
    ));
    assert!(matches!(
        PhrClient::open(db_path(&files, "short.db"), vec![0; 16], transport.clone() as Arc<dyn HttpTransport>),
        Err(PhrError::Validation { field, .. }) if field == "storage_key"
    ));
}
