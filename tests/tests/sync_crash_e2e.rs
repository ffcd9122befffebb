//! A server process killed (SIGKILL) in the middle of pushes, on every
//! configured backend: after a restart on the same data, every acknowledged
//! batch is there in full, every other batch is all or nothing, the change
//! sequence has no gaps, and retrying the unanswered batches applies each
//! exactly once.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{Change, ChangeStatus, PullResponse, PulledChange, PushResponse};
use phr_tests::client::Device;
use phr_tests::inspect::Inspector;
use phr_tests::{http, ServerOptions, ServerProcess, TestDatabase};
use serde_json::json;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
/// Records per batch.
const BATCH: usize = 100;
/// Concurrent pushers (threads) while the server is killed.
const PUSHERS: usize = 2;
/// Acknowledged batches to wait for before each kill.
const ACKS_BEFORE_KILL: usize = 4;
/// Batches each pusher has ready: far more than it gets to send before the kill.
const BATCHES_PER_PUSHER: usize = 12;
/// Kill-and-restart rounds per backend, and how long after the last awaited
/// acknowledgement each kill comes (a push takes some 15-70 ms in debug builds).
const KILL_DELAYS_MS: [u64; 3] = [0, 6, 15];

fn start(db: &TestDatabase, data_dir: &Path) -> ServerProcess {
    ServerProcess::start(ServerOptions {
        binary: Path::new(BIN),
        data_dir,
        database_url: Some(db.url()),
        extra_args: vec!["--rate-limit-per-device".into(), "0".into()],
        env: vec![],
        text_logs: false,
        fd_soft_limit: None,
    })
}

/// A batch a pusher sent (or was about to send): its id and its changes.
#[derive(Clone)]
struct Sent {
    batch_id: Uuid,
    changes: Vec<Change>,
}

/// The push of one batch over a fresh HTTP call: `Ok(None)` when the
/// connection failed (the server is gone), `Err` for any answer but 200.
fn push(url: &str, token: &str, sent: &Sent) -> Result<Option<PushResponse>, String> {
    let body = json!({"batch_id": sent.batch_id, "changes": sent.changes});
    let resp = http().post(url).header("Authorization", &format!("Bearer {token}")).send_json(&body);
    let Ok(mut resp) = resp else { return Ok(None) };
    let status = resp.status().as_u16();
    let Ok(text) = resp.body_mut().read_to_string() else { return Ok(None) };
    if status != 200 {
        return Err(format!("push answered {status}: {text}"));
    }
    serde_json::from_str(&text).map(Some).map_err(|e| format!("push answer: {e}: {text}"))
}

/// Runs `PUSHERS` threads pushing new batches until the server goes away,
/// and SIGKILLs the server `kill_delay` after `ACKS_BEFORE_KILL` acknowledgements.
/// Returns every batch sent and the ids of those acknowledged.
fn push_until_killed(server: &mut ServerProcess, dev: &Device, kill_delay: Duration) -> (Vec<Sent>, Vec<Uuid>) {
    let url = server.url("/sync/v1/push");
    let sent = Mutex::new(Vec::new());
    let acked = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<()>();
    let outcome = std::thread::scope(|s| {
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|_| {
                let (url, sent, acked, stop, tx) = (&url, &sent, &acked, &stop, tx.clone());
                // Sealed up front, so a pusher sends its next batch the moment the last is answered.
                let batches: Vec<Sent> = (0..BATCHES_PER_PUSHER)
                    .map(|_| Sent {
                        batch_id: Uuid::now_v7(),
                        changes: (0..BATCH)
                            .map(|_| {
                                let id = Uuid::now_v7();
                                dev.seal_new_record(id, RecordKind::SelfVitals, Subject::Mother, id.as_bytes())
                            })
                            .collect(),
                    })
                    .collect();
                s.spawn(move || -> Result<(), String> {
                    for batch in batches {
                        if stop.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        sent.lock().unwrap().push(batch.clone());
                        match push(url, &dev.access_token, &batch)? {
                            Some(answer) => {
                                if answer.results.iter().any(|r| r.status != ChangeStatus::Applied) {
                                    return Err(format!("new records conflicted: {:?}", answer.results));
                                }
                                acked.lock().unwrap().push(batch.batch_id);
                                let _ = tx.send(());
                            }
                            None => return Ok(()),
                        }
                    }
                    Err("the server was never killed".into())
                })
            })
            .collect();
        drop(tx);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut waited = Ok(());
        for _ in 0..ACKS_BEFORE_KILL {
            let left = deadline.saturating_duration_since(Instant::now());
            if rx.recv_timeout(left).is_err() {
                waited = Err("pushes were not acknowledged within 60 s");
                break;
            }
        }
        // Kill the process while the pushers keep going: a push is in flight.
        // The short pause differs per round (not a synchronisation: any outcome
        // must pass) so the kill falls at different stages of a push.
        std::thread::sleep(kill_delay);
        server.signal(libc::SIGKILL);
        let status = server.wait_for_exit(Duration::from_secs(20)).expect("the killed server did not exit");
        stop.store(true, Ordering::SeqCst);
        let results: Vec<Result<(), String>> = pushers.into_iter().map(|p| p.join().expect("pusher")).collect();
        (waited, status, results)
    });
    let (waited, status, results) = outcome;
    for r in results {
        r.unwrap();
    }
    waited.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "killed, not stopped: {status}");
    (sent.into_inner().unwrap(), acked.into_inner().unwrap())
}

fn pull_all(dev: &Device) -> Vec<PulledChange> {
    let mut out = Vec::new();
    let mut cursor = 0;
    for _ in 0..1000 {
        let page: PullResponse = dev.pull_page(cursor, 1000);
        cursor = page.next_cursor;
        out.extend(page.changes);
        if !page.more {
            return out;
        }
    }
    panic!("pull did not finish");
}

/// Checks the account holds whole batches only (all of the acknowledged
/// ones), in gap-free sequence order; returns the ids of the batches present.
fn assert_whole_batches(dev: &Device, inspector: &Inspector, sent: &[Sent], acked: &[Uuid]) -> Vec<Uuid> {
    let pulled = pull_all(dev);
    let n = pulled.len() as u64;
    assert_eq!(pulled.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>(), "gap-free sequence");
    let by_id: BTreeMap<Uuid, &PulledChange> = pulled.iter().map(|c| (c.record_id, c)).collect();
    assert_eq!(by_id.len(), pulled.len(), "no record twice");
    let mut present = Vec::new();
    let mut accounted = 0;
    for batch in sent {
        let found: Vec<&PulledChange> = batch.changes.iter().filter_map(|c| by_id.get(&c.record_id).copied()).collect();
        if acked.contains(&batch.batch_id) {
            assert_eq!(found.len(), BATCH, "acknowledged batch {} lost records", batch.batch_id);
        }
        assert!(found.is_empty() || found.len() == BATCH, "half a batch stored: {} of {BATCH}", found.len());
        if found.is_empty() {
            continue;
        }
        // One batch, one transaction: its records took consecutive numbers.
        let first = found[0].seq;
        let seqs: Vec<u64> = found.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (first..first + BATCH as u64).collect::<Vec<_>>(), "a batch is applied in one piece");
        for c in &found {
            assert_eq!(c.version, 1);
            assert_eq!(dev.open_bytes(c).unwrap(), c.record_id.as_bytes(), "stored intact");
        }
        accounted += found.len();
        present.push(batch.batch_id);
    }
    assert_eq!(accounted, pulled.len(), "nothing stored that no batch sent");
    let (status, info) = dev.call("GET", "/accounts/v1", None);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["change_seq"].as_u64(), Some(n), "change_seq counts the stored changes");
    assert_eq!(inspector.counters(&dev.account_id), Some((n as i64, n as i64)));
    assert_eq!(inspector.count_rows("push_batches", &dev.account_id), present.len() as i64);
    present
}

phr_tests::backend_test! {
    fn a_server_killed_mid_push_keeps_every_acknowledged_batch_and_no_half_batch(db) {
        let data = tempfile::tempdir().unwrap();
        let mut server = start(&db, data.path());
        let inspector = Inspector::open(&db);
        let mut dev = Device::create_account(&server.base_url, "Mother's phone");
        let (mut sent, mut acked) = (Vec::new(), Vec::new());
        for delay in KILL_DELAYS_MS {
            let (s, a) = push_until_killed(&mut server, &dev, Duration::from_millis(delay));
            sent.extend(s);
            acked.extend(a);
            // Restart on the same data directory and database; the access token stays valid.
            server = start(&db, data.path());
            dev.server = server.base_url.clone();
            let present = assert_whole_batches(&dev, &inspector, &sent, &acked);
            eprintln!(
                "{}: {} batches sent, {} acknowledged, {} stored",
                db.target.backend_name(),
                sent.len(),
                acked.len(),
                present.len()
            );
        }
        assert!(acked.len() >= KILL_DELAYS_MS.len() * ACKS_BEFORE_KILL);

        // The client retries every batch it got no answer for: each lands exactly once.
        let url = server.url("/sync/v1/push");
        let unanswered: Vec<&Sent> = sent.iter().filter(|b| !acked.contains(&b.batch_id)).collect();
        for batch in unanswered {
            let answer = push(&url, &dev.access_token, batch).unwrap().expect("the restarted server answers");
            assert!(answer.results.iter().all(|r| r.status == ChangeStatus::Applied && r.version == 1), "{answer:?}");
            acked.push(batch.batch_id);
        }
        let present = assert_whole_batches(&dev, &inspector, &sent, &acked);
        assert_eq!(present.len(), sent.len());
        drop(server);
    }
}
