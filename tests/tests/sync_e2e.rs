//! The sync API end to end (issue items 2 and 6), on every configured
//! backend: convergence of a family's devices (edits, tombstones, paging),
//! offline conflicts resolved by the phr-core rule with the loser kept,
//! idempotent retries, per-change conflicts, many devices pushing at once,
//! and the wall between accounts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Barrier;

use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{Change, ChangeResult, ChangeStatus, PullResponse, PulledChange, PushResponse};
use phr_core::sync::resolve;
use phr_tests::client::Device;
use phr_tests::inspect::{post_json, Inspector};
use phr_tests::{ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

fn start(db: &TestDatabase, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    phr_tests::start_server(Path::new(BIN), db, extra_args)
}

fn pair(first: &Device, name: &str) -> Device {
    let code = first.pairing_code();
    Device::join(&first.server, &first.account_id, &first.account_key_bytes(), &code, name)
        .unwrap_or_else(|e| panic!("join: {e:?}"))
}

fn change_seq(dev: &Device) -> i64 {
    let (status, info) = dev.call("GET", "/accounts/v1", None);
    assert_eq!(status, 200, "{info}");
    info["change_seq"].as_i64().unwrap()
}

/// Every change after `since`, page by page, checking the paging contract on the way.
fn pull_all(dev: &Device, since: u64, limit: u32) -> Vec<PulledChange> {
    let mut out = Vec::new();
    let mut cursor = since;
    for _ in 0..10_000 {
        let page: PullResponse = dev.pull_page(cursor, limit);
        assert!(page.changes.len() <= limit as usize, "a page holds at most `limit` changes");
        if page.more {
            assert_eq!(page.changes.len(), limit as usize, "only full pages say there is more");
        }
        for c in &page.changes {
            assert!(c.seq > cursor, "changes come in sequence order after the cursor");
            cursor = c.seq;
        }
        assert_eq!(page.next_cursor, cursor, "the next cursor is the last change's seq");
        out.extend(page.changes);
        if !page.more {
            return out;
        }
    }
    panic!("pull did not finish");
}

fn push_ok(dev: &Device, changes: &[Change]) -> PushResponse {
    dev.push(Uuid::now_v7(), changes).unwrap_or_else(|(s, b)| panic!("push: {s} {b}"))
}

fn family_bodies(dev: &Device, ids: &[Uuid]) -> Vec<Option<Value>> {
    ids.iter().map(|id| dev.current(id).cloned()).collect()
}

phr_tests::backend_test! {
    fn two_devices_of_a_family_converge_through_edits_tombstones_and_small_pages(db) {
        let (_dir, server) = start(&db, &[]);
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let child = Uuid::now_v7();
        let ids: Vec<Uuid> = (0..25).map(|_| Uuid::now_v7()).collect();
        for (i, id) in ids.iter().enumerate() {
            let (kind, subject) = if i % 2 == 0 {
                (RecordKind::PrenatalVisit, Subject::Mother)
            } else {
                (RecordKind::ChildCheckup, Subject::Child(child))
            };
            mother.edit(*id, kind, subject, json!({"visit": i}));
        }
        mother.sync();
        let mut father = pair(&mother, "Father's phone");

        // Paging with a small limit walks every change exactly once, in order.
        let pulled = pull_all(&father, 0, 7);
        assert_eq!(pulled.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=25).collect::<Vec<u64>>());
        assert_eq!(pulled.iter().map(|c| c.record_id).collect::<BTreeSet<_>>(), ids.iter().copied().collect());
        let end = father.pull_page(25, 7);
        assert!(end.changes.is_empty() && !end.more && end.next_cursor == 25, "{end:?}");

        father.pull();
        assert_eq!(family_bodies(&father, &ids), family_bodies(&mother, &ids));

        // The father edits three records and deletes two; the mother gets all of it.
        for id in &ids[0..3] {
            let r = &father.records[id];
            let (kind, subject) = (r.kind, r.subject);
            father.edit(*id, kind, subject, json!({"visit": "corrected"}));
        }
        father.delete(ids[3]);
        father.delete(ids[4]);
        father.sync();
        mother.sync();
        assert_eq!(family_bodies(&mother, &ids), family_bodies(&father, &ids));
        assert_eq!(mother.current(&ids[0]), Some(&json!({"visit": "corrected"})));
        assert!(mother.current(&ids[3]).is_none() && mother.current(&ids[4]).is_none());

        // Deletions travel as tombstones: the record stays, marked deleted, with a newer version.
        let tail = pull_all(&mother, 25, 2);
        assert_eq!(tail.len(), 5);
        for c in &tail {
            let deleted = c.record_id == ids[3] || c.record_id == ids[4];
            assert_eq!(c.deleted, deleted, "{c:?}");
            assert_eq!(c.version, 2);
            assert_eq!(c.device_id, father.device_id);
        }

        // And back the other way, undeleting one record with a later edit.
        mother.edit(ids[3], RecordKind::ChildCheckup, Subject::Child(child), json!({"visit": "restored"}));
        mother.delete(ids[5]);
        mother.sync();
        father.sync();
        assert_eq!(family_bodies(&father, &ids), family_bodies(&mother, &ids));
        assert_eq!(father.current(&ids[3]), Some(&json!({"visit": "restored"})));
        assert!(father.current(&ids[5]).is_none());

        assert_eq!(change_seq(&mother), 25 + 5 + 2);
        let (_, info) = mother.call("GET", "/accounts/v1", None);
        assert_eq!(info["record_count"], 25, "tombstones and edits add no records");
    }
}

phr_tests::backend_test! {
    fn offline_edits_of_one_record_on_two_devices_end_with_one_deterministic_winner_and_the_loser_in_history(db) {
        let (_dir, server) = start(&db, &[]);
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let (visit, dose) = (Uuid::now_v7(), Uuid::now_v7());
        mother.edit(visit, RecordKind::PrenatalVisit, Subject::Mother, json!({"bp": "120/80"}));
        mother.edit(dose, RecordKind::Immunization, Subject::Mother, json!({"vaccine": "Tdap"}));
        mother.sync();
        let mut father = pair(&mother, "Father's phone");
        father.pull();

        // Both offline, both based on version 1.
        mother.edit(visit, RecordKind::PrenatalVisit, Subject::Mother, json!({"bp": "118/76"}));
        father.edit(visit, RecordKind::PrenatalVisit, Subject::Mother, json!({"bp": "122/81"}));
        mother.delete(dose);
        father.edit(dose, RecordKind::Immunization, Subject::Mother, json!({"vaccine": "Tdap", "lot": "X9"}));
        let mother_edit = mother.records[&visit].history.winner().unwrap().clone();
        let father_edit = father.records[&visit].history.winner().unwrap().clone();
        let father_dose_edit = father.records[&dose].history.winner().unwrap().clone();

        mother.sync();
        father.sync();
        mother.sync();

        for dev in [&mother, &father] {
            let history = &dev.records[&visit].history;
            let winner = history.winner().unwrap();
            // The rule: the greater (HLC, device id) wins.
            let expected = resolve(&mother_edit, &father_edit);
            assert_eq!(winner.stamp, expected.stamp, "{}", dev.device_id);
            assert_eq!(winner.stamp, std::cmp::max(&mother_edit.stamp, &father_edit.stamp).clone());
            let loser = if expected.stamp == mother_edit.stamp { &father_edit } else { &mother_edit };
            assert!(history.losers().any(|v| v == loser), "the losing edit stays in the history");
            assert_eq!(history.len(), 3, "the first version and both edits");

            // A delete beats an edit made from the same version.
            let dose_history = &dev.records[&dose].history;
            assert!(dose_history.is_deleted(), "{}", dev.device_id);
            assert!(dose_history.losers().any(|v| *v == father_dose_edit));
            assert!(dev.current(&dose).is_none());
        }
        assert_eq!(mother.current(&visit), father.current(&visit));
        assert_eq!(
            mother.records[&visit].history.versions().collect::<Vec<_>>(),
            father.records[&visit].history.versions().collect::<Vec<_>>(),
            "both devices hold the same history"
        );
        assert_eq!(mother.records[&visit].server_version, father.records[&visit].server_version);
    }
}

phr_tests::backend_test! {
    fn a_retried_batch_gets_the_identical_answer_and_stores_no_duplicates(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let father = pair(&mother, "Father's phone");
        let stranger = Device::create_account(&server.base_url, "Another family");
        let existing = Uuid::now_v7();
        mother.edit(existing, RecordKind::SelfVitals, Subject::Mother, json!({"kg": 60}));
        mother.sync();

        let changes = vec![
            mother.seal_new_record(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, b"one"),
            mother.seal_new_record(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, b"two"),
            // Stale: the record is at version 1 already.
            mother.seal_new_record(existing, RecordKind::SelfVitals, Subject::Mother, b"stale"),
        ];
        let batch_id = Uuid::now_v7();
        let body = json!({"batch_id": batch_id, "changes": changes}).to_string();
        let url = server.url("/sync/v1/push");
        let first = post_json(&url, Some(&mother.access_token), &body);
        assert_eq!(first.status, 200, "{first:?}");
        let answer: PushResponse = serde_json::from_value(first.body.clone()).unwrap();
        assert_eq!(answer.change_seq, 3);
        let statuses: Vec<ChangeStatus> = answer.results.iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![ChangeStatus::Applied, ChangeStatus::Applied, ChangeStatus::Conflict]);
        let stored = inspector.snapshot(&mother.account_id);

        // Retried (the answer was lost): the same answer, nothing new stored.
        for _ in 0..2 {
            let again = post_json(&url, Some(&mother.access_token), &body);
            assert_eq!((again.status, &again.body), (200, &first.body));
        }
        // Retried at once from several connections: still applied once.
        std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..4).map(|_| s.spawn(|| post_json(&url, Some(&mother.access_token), &body))).collect();
            for h in handles {
                let r = h.join().unwrap();
                assert_eq!((r.status, &r.body), (200, &first.body));
            }
        });
        // The batch id decides: other content under a used id changes nothing.
        let other = vec![mother.seal_new_record(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, b"three")];
        let reused =
            post_json(&url, Some(&mother.access_token), &json!({"batch_id": batch_id, "changes": other}).to_string());
        assert_eq!((reused.status, &reused.body), (200, &first.body));
        assert_eq!(inspector.snapshot(&mother.account_id), stored, "retries stored nothing");
        assert_eq!(change_seq(&mother), 3);
        assert!(mother.pull_page(3, 100).changes.is_empty());

        // Another device of the family cannot take over the batch id.
        let detail = post_json(&url, Some(&father.access_token), &body).problem(409);
        assert!(detail.contains("batch_id"), "{detail}");
        assert_eq!(inspector.snapshot(&mother.account_id), stored);

        // Batch ids are per account: another family's batch with the same id is its own.
        let theirs = vec![stranger.seal_new_record(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, b"x")];
        let response = stranger.push(batch_id, &theirs).unwrap();
        assert_eq!(response.results.len(), 1);
        assert_eq!((response.results[0].status, response.change_seq), (ChangeStatus::Applied, 1));
        assert_eq!(inspector.snapshot(&mother.account_id), stored);
    }
}

phr_tests::backend_test! {
    fn a_conflicting_change_is_reported_alone_while_the_rest_of_the_batch_applies(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let (edited, raced) = (Uuid::now_v7(), Uuid::now_v7());
        mother.edit(edited, RecordKind::Medication, Subject::Mother, json!({"drug": "iron"}));
        mother.edit(raced, RecordKind::Medication, Subject::Mother, json!({"drug": "folate"}));
        mother.sync();
        let raced_before = inspector.records(&mother.account_id).into_iter().find(|r| r.record_id == raced.to_string());

        mother.edit(edited, RecordKind::Medication, Subject::Mother, json!({"drug": "iron", "mg": 65}));
        let new_record = Uuid::now_v7();
        let ghost = Uuid::now_v7();
        let mut ghost_change = mother.seal_new_record(ghost, RecordKind::Medication, Subject::Mother, b"ghost");
        ghost_change.base_version = 5;
        let changes = vec![
            mother.sealed_change(edited),
            mother.seal_new_record(raced, RecordKind::Medication, Subject::Mother, b"stale"),
            mother.seal_new_record(new_record, RecordKind::Medication, Subject::Mother, b"new"),
            ghost_change,
        ];
        let response = push_ok(&mother, &changes);
        let result = |id, status, version| ChangeResult { record_id: id, status, version };
        assert_eq!(
            response.results,
            vec![
                result(edited, ChangeStatus::Applied, 2),
                result(raced, ChangeStatus::Conflict, 1),
                result(new_record, ChangeStatus::Applied, 1),
                result(ghost, ChangeStatus::Conflict, 0),
            ]
        );
        assert_eq!(response.change_seq, 4, "two changes applied after the first two");

        let tail = pull_all(&mother, 2, 100);
        let got: Vec<(Uuid, u64, u64)> = tail.iter().map(|c| (c.record_id, c.version, c.seq)).collect();
        assert_eq!(got, vec![(edited, 2, 3), (new_record, 1, 4)]);
        let stored = inspector.records(&mother.account_id);
        assert_eq!(stored.iter().find(|r| r.record_id == raced.to_string()), raced_before.as_ref());
        assert!(!stored.iter().any(|r| r.record_id == ghost.to_string()), "a conflict stores nothing");
        assert_eq!(inspector.counters(&mother.account_id), Some((4, 3)));
    }
}

/// `batches` batches of `per_batch` new records, sealed by `dev`; each
/// record's plaintext is its own id.
fn new_batches(dev: &Device, batches: usize, per_batch: usize) -> Vec<Vec<Change>> {
    (0..batches)
        .map(|_| {
            (0..per_batch)
                .map(|_| {
                    let id = Uuid::now_v7();
                    dev.seal_new_record(id, RecordKind::SelfVitals, Subject::Mother, id.as_bytes())
                })
                .collect()
        })
        .collect()
}

/// Pushes prepared batches one after the other once every pusher is at
/// `barrier` (the first thing a pusher thread does, so a failure cannot
/// leave the others waiting). Returns every acknowledged (record id,
/// version, plaintext).
fn push_together(dev: &Device, barrier: &Barrier, batches: &[Vec<Change>]) -> Vec<(Uuid, u64, Vec<u8>)> {
    barrier.wait();
    let mut acked = Vec::new();
    for batch in batches {
        let response = push_ok(dev, batch);
        for (change, result) in batch.iter().zip(&response.results) {
            assert_eq!((result.record_id, result.status), (change.record_id, ChangeStatus::Applied));
            acked.push((change.record_id, result.version, change.record_id.as_bytes().to_vec()));
        }
    }
    acked
}

/// Pulls the whole account and checks it holds exactly `acked`, with a gap-free sequence.
fn assert_holds_exactly(dev: &Device, acked: &[(Uuid, u64, Vec<u8>)]) {
    let pulled = pull_all(dev, 0, 1000);
    assert_eq!(pulled.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=acked.len() as u64).collect::<Vec<_>>());
    let by_id: BTreeMap<Uuid, &PulledChange> = pulled.iter().map(|c| (c.record_id, c)).collect();
    assert_eq!(by_id.len(), acked.len(), "no duplicates, nothing extra");
    for (id, version, plaintext) in acked {
        let c = by_id.get(id).unwrap_or_else(|| panic!("acknowledged record {id} is missing"));
        assert_eq!(c.version, *version);
        assert_eq!(&dev.open_bytes(c).unwrap(), plaintext);
    }
    assert_eq!(change_seq(dev), acked.len() as i64);
}

phr_tests::backend_test! {
    fn fifty_devices_of_fifty_families_pushing_at_once_lose_nothing(db) {
        const DEVICES: usize = 50;
        let (_dir, server) = start(&db, &["--auth-rate-limit", "0"]);
        // Fifty families sign up and sign in at the same time...
        let (devices, prepared): (Vec<Device>, Vec<Vec<Vec<Change>>>) = std::thread::scope(|s| {
            let handles: Vec<_> = (0..DEVICES)
                .map(|i| {
                    let url = &server.base_url;
                    s.spawn(move || {
                        let dev = Device::create_account(url, &format!("Family {i}"));
                        let batches = new_batches(&dev, 3, 10);
                        (dev, batches)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("sign-up thread")).unzip()
        });
        // ...and then push at the same time.
        let barrier = Barrier::new(DEVICES);
        let acked: Vec<Vec<(Uuid, u64, Vec<u8>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = devices
                .iter()
                .zip(&prepared)
                .map(|(dev, batches)| {
                    let barrier = &barrier;
                    s.spawn(move || push_together(dev, barrier, batches))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("pusher thread")).collect()
        });
        for (dev, acked) in devices.iter().zip(&acked) {
            assert_eq!(acked.len(), 30);
            assert_holds_exactly(dev, acked);
        }
    }
}

phr_tests::backend_test! {
    fn twenty_devices_of_one_family_pushing_at_once_lose_nothing(db) {
        const DEVICES: usize = 20;
        // Twenty sign-ins of one account in a row would trip the per-account sign-in limit.
        let (_dir, server) = start(&db, &["--auth-rate-limit", "0"]);
        let first = Device::create_account(&server.base_url, "Device 0");
        let mut devices = vec![first];
        for i in 1..DEVICES {
            let next = pair(&devices[0], &format!("Device {i}"));
            devices.push(next);
        }
        let prepared: Vec<Vec<Vec<Change>>> = devices.iter().map(|d| new_batches(d, 3, 10)).collect();
        let barrier = Barrier::new(DEVICES);
        let acked: Vec<(Uuid, u64, Vec<u8>)> = std::thread::scope(|s| {
            let handles: Vec<_> = devices
                .iter()
                .zip(&prepared)
                .map(|(dev, batches)| {
                    let barrier = &barrier;
                    s.spawn(move || push_together(dev, barrier, batches))
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("pusher thread")).collect()
        });
        assert_eq!(acked.len(), DEVICES * 30);
        assert_holds_exactly(&devices[0], &acked);
        assert_holds_exactly(&devices[DEVICES - 1], &acked);
    }
}

phr_tests::backend_test! {
    fn a_token_of_one_family_can_read_or_touch_nothing_of_another(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut a = Device::create_account(&server.base_url, "Family A");
        let mut b = Device::create_account(&server.base_url, "Family B");
        let a_ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let b_ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        for id in &a_ids {
            a.edit(*id, RecordKind::Newborn, Subject::Child(Uuid::now_v7()), json!({"a": true}));
        }
        for id in &b_ids {
            b.edit(*id, RecordKind::Delivery, Subject::Mother, json!({"b": true}));
        }
        a.sync();
        b.sync();
        let b_before = inspector.snapshot(&b.account_id);

        // A's pulls see A's records only, from any cursor.
        let seen: BTreeSet<Uuid> = pull_all(&a, 0, 2).into_iter().map(|c| c.record_id).collect();
        assert_eq!(seen, a_ids.iter().copied().collect());
        assert!(a.pull_page(3, 100).changes.is_empty(), "no other account's later changes leak in");

        // Pushing B's record ids from A makes A's own records; B's stay as they were.
        let takeover = a.seal_new_record(b_ids[0], RecordKind::Delivery, Subject::Mother, b"mine now?");
        let mut overwrite = a.seal_new_record(b_ids[1], RecordKind::Delivery, Subject::Mother, b"overwrite");
        overwrite.base_version = 1;
        let mut delete = a.seal_new_record(b_ids[2], RecordKind::Delivery, Subject::Mother, b"delete");
        delete.base_version = 1;
        delete.deleted = true;
        let response = push_ok(&a, &[takeover, overwrite, delete]);
        let got: Vec<(ChangeStatus, u64)> = response.results.iter().map(|r| (r.status, r.version)).collect();
        assert_eq!(
            got,
            vec![(ChangeStatus::Applied, 1), (ChangeStatus::Conflict, 0), (ChangeStatus::Conflict, 0)],
            "in A's space B's ids are unknown: new, or a conflict at version 0 (never B's version)"
        );
        assert_eq!(inspector.snapshot(&b.account_id), b_before, "nothing of B changed");
        let a_copy = pull_all(&a, 3, 100);
        assert_eq!(a_copy.len(), 1);
        assert_eq!(a.open_bytes(&a_copy[0]).unwrap(), b"mine now?");
        let b_pulled = pull_all(&b, 0, 100);
        assert_eq!(b_pulled.len(), 3);
        assert!(b_pulled.iter().all(|c| c.device_id == b.device_id && c.version == 1));
        b.cursor = 0;
        b.pull();
        assert!(b_ids.iter().all(|id| b.current(id) == Some(&json!({"b": true}))));

        // Nor can A reach B's account or devices through the account API.
        let (_, info) = a.call("GET", "/accounts/v1", None);
        assert_eq!(info["account_id"], a.account_id.as_str());
        assert_eq!(info["change_seq"], 4);
        let (status, _) = a.call("DELETE", &format!("/accounts/v1/devices/{}", b.device_id), None);
        assert_eq!(status, 404);
        let (_, devices) = a.call("GET", "/accounts/v1/devices", None);
        assert!(!devices.to_string().contains(&b.device_id));
        let (status, events) = a.call("GET", "/audit/v1/events", None);
        assert_eq!(status, 200, "{events}");
        assert!(!events.to_string().contains(&b.device_id), "A's audit log shows nothing of B");
        assert_eq!(inspector.snapshot(&b.account_id), b_before);
    }
}
