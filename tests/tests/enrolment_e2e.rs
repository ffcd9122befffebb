//! What a phone needs to enrol and sync reliably (issue 21), end to end on
//! every configured backend: enrolment calls safe to retry with an
//! `Idempotency-Key` (also when the retries race each other), a join refused
//! when the invite carries the wrong account key, the sync size limits the
//! server advertises, and a `Retry-After` on 429 computed from the limit.

use std::path::Path;
use std::sync::{Arc, Barrier};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use phr_core::crypto::AccountKey;
use phr_core::sync::protocol::SyncLimits;
use phr_tests::client::Device;
use phr_tests::inspect::Inspector;
use phr_tests::{ServerProcess, TestDatabase};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

fn start(db: &TestDatabase, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    phr_tests::start_server(Path::new(BIN), db, extra_args)
}

fn device_key() -> String {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    STANDARD.encode(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap().public_key().as_ref())
}

fn account_public_key(key: &AccountKey) -> String {
    STANDARD.encode(key.hpke_key_pair().1.as_bytes())
}

/// POSTs JSON with an optional `Idempotency-Key`; (status, JSON body).
fn post(server: &ServerProcess, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let mut req = phr_tests::http().post(&server.url(path)).header("Content-Type", "application/json");
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    phr_tests::json_response(req.send(body.to_string().as_bytes()))
}

/// Sends the same POST from `n` threads released at once; every (status, body).
fn post_at_once(server: &ServerProcess, n: usize, path: &str, body: &Value, key: &str) -> Vec<(u16, Value)> {
    let start = Arc::new(Barrier::new(n));
    let url = server.url(path);
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (start, url, body, key) = (Arc::clone(&start), url.clone(), body.to_string(), key.to_owned());
            std::thread::spawn(move || {
                let req = phr_tests::http()
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", &key);
                start.wait();
                phr_tests::json_response(req.send(body.as_bytes()))
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a request thread panicked")).collect()
}

/// Asserts every answer is the same 201 and returns it.
fn one_answer(answers: &[(u16, Value)]) -> Value {
    let first = &answers[0].1;
    for (status, body) in answers {
        assert_eq!((*status, body), (201, first), "every racing call gets the one first answer: {answers:?}");
    }
    first.clone()
}

fn devices(dev: &Device) -> usize {
    let (status, body) = dev.call("GET", "/accounts/v1/devices", None);
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().len()
}

phr_tests::backend_test! {
    fn a_retried_create_account_with_the_same_key_gets_the_first_answer_and_makes_one_account(db) {
        let (_dir, server) = start(&db, &[]);
        let body = json!({
            "account_public_key": account_public_key(&AccountKey::generate()),
            "device": {"public_key": device_key(), "name": "Mother's phone"},
        });
        let key = "0123456789abcdef-create";
        let (first_status, first) = post(&server, "/accounts/v1", &body, Some(key));
        assert_eq!(first_status, 201, "{first}");
        let (again_status, again) = post(&server, "/accounts/v1", &body, Some(key));
        assert_eq!((again_status, &again), (201, &first), "the retry is answered with the first answer");

        let mut other = body.clone();
        other["device"]["name"] = json!("Another phone");
        let (status, problem) = post(&server, "/accounts/v1", &other, Some(key));
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key"), "{problem}");

        let (status, problem) = post(&server, "/accounts/v1", &body, Some("short"));
        assert_eq!(status, 400, "{problem}");
        // Without a key every call is a new account, as before.
        let (status, fresh) = post(&server, "/accounts/v1", &body, None);
        assert_eq!(status, 201);
        assert_ne!(fresh["account_id"], first["account_id"]);
    }
}

phr_tests::backend_test! {
    fn racing_create_account_calls_with_one_key_make_one_account_and_all_get_its_answer(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let body = json!({
            "account_public_key": account_public_key(&AccountKey::generate()),
            "device": {"public_key": device_key(), "name": "Mother's phone"},
        });
        let key = "race-create-0123456789abcdef";
        let answer = one_answer(&post_at_once(&server, 6, "/accounts/v1", &body, key));
        assert!(answer["account_id"].is_string(), "{answer}");
        assert_eq!(inspector.total_rows("accounts"), 1, "one account for one retried call");
        assert_eq!(inspector.total_rows("devices"), 1);
        assert_eq!(inspector.count_rows("devices", answer["account_id"].as_str().unwrap()), 1);
        // A later retry gets the same answer too.
        assert_eq!(post(&server, "/accounts/v1", &body, Some(key)), (201, answer));
        let logs = server.logs().join("\n");
        assert!(!logs.contains(key), "the Idempotency-Key is never logged");
    }
}

/// A registered mother's device, and the body of a valid join of the
/// partner's phone (a fresh pairing code, the right account key).
fn mother_and_a_join_request(server: &ServerProcess) -> (Device, serde_json::Value) {
    let mother = Device::create_account(&server.base_url, "Mother's phone");
    let code = mother.pairing_code();
    let key = AccountKey::from_bytes(&mother.account_key_bytes()).unwrap();
    let body = json!({
        "account_id": mother.account_id,
        "pairing_code": code,
        "device": {"public_key": device_key(), "name": "Partner's phone"},
        "account_public_key": account_public_key(&key),
    });
    (mother, body)
}

phr_tests::backend_test! {
    fn racing_join_calls_with_one_key_add_one_device_and_all_get_its_answer(db) {
        let (_dir, server) = start(&db, &[]);
        let (mother, body) = mother_and_a_join_request(&server);
        let idempotency_key = "race-join-0123456789abcdef";
        let answer = one_answer(&post_at_once(&server, 6, "/accounts/v1/join", &body, idempotency_key));
        assert!(answer["device_id"].is_string(), "{answer}");
        assert_eq!(devices(&mother), 2, "one device joined");
        assert!(!server.logs().join("\n").contains(idempotency_key), "the Idempotency-Key is never logged");
    }
}

phr_tests::backend_test! {
    fn a_retried_join_with_the_same_key_adds_one_device(db) {
        let (_dir, server) = start(&db, &[]);
        let (mother, body) = mother_and_a_join_request(&server);
        let (status, first) = post(&server, "/accounts/v1/join", &body, Some("join-key-0123456789"));
        assert_eq!(status, 201, "{first}");
        let (status, again) = post(&server, "/accounts/v1/join", &body, Some("join-key-0123456789"));
        assert_eq!((status, &again), (201, &first));
        assert_eq!(devices(&mother), 2, "no ghost device");
    }
}

phr_tests::backend_test! {
    fn a_join_whose_invite_has_another_account_key_is_refused_and_the_code_stays_usable(db) {
        let (_dir, server) = start(&db, &[]);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let code = mother.pairing_code();
        let mut body = json!({
            "account_id": mother.account_id,
            "pairing_code": code,
            "device": {"public_key": device_key(), "name": "Partner's phone"},
            "account_public_key": account_public_key(&AccountKey::generate()),
        });
        let (status, problem) = post(&server, "/accounts/v1/join", &body, None);
        assert_eq!(status, 409, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("account key"), "{problem}");
        assert_eq!(devices(&mother), 1, "no device was made");

        let key = AccountKey::from_bytes(&mother.account_key_bytes()).unwrap();
        body["account_public_key"] = json!(account_public_key(&key));
        let (status, joined) = post(&server, "/accounts/v1/join", &body, None);
        assert_eq!(status, 201, "the same code still works with the right key: {joined}");
        assert_eq!(devices(&mother), 2);
    }
}

phr_tests::backend_test! {
    fn the_server_advertises_the_sync_limits_it_was_started_with(db) {
        let (_dir, server) =
            start(&db, &["--max-body-bytes", "65536", "--max-envelope-bytes", "16384", "--max-batch-changes", "50"]);
        let (status, body) = phr_tests::json_response(phr_tests::http().get(&server.url("/sync/v1/limits")).call());
        assert_eq!(status, 200, "{body}");
        let limits: SyncLimits = serde_json::from_value(body).unwrap();
        assert_eq!(
            limits,
            SyncLimits {
                max_request_bytes: 65536,
                max_batch_changes: 50,
                max_envelope_bytes: 16384,
                max_pull_limit: 5000
            }
        );
    }
}

phr_tests::backend_test! {
    fn a_device_over_its_rate_limit_is_told_when_its_bucket_refills(db) {
        // One request every ten seconds, bursts of two: an emptied bucket has
        // a token again in just under ten seconds, and the 429 says so.
        let (_dir, server) = start(&db, &["--rate-limit-per-device", "0.1", "--rate-limit-burst", "2"]);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let token = mother.access_token.clone();
        let mut limited = None;
        for _ in 0..10 {
            let resp = phr_tests::http()
                .get(&server.url("/accounts/v1"))
                .header("Authorization", &format!("Bearer {token}"))
                .call()
                .unwrap();
            if resp.status().as_u16() == 429 {
                limited = Some(resp);
                break;
            }
        }
        let resp = limited.expect("a 429 within ten quick requests");
        let retry_after = resp.headers().get("Retry-After").expect("Retry-After on 429").to_str().unwrap();
        let secs: u64 = retry_after.parse().unwrap_or_else(|_| panic!("delta-seconds: {retry_after}"));
        assert!((9..=10).contains(&secs), "computed from the refill rate, got {secs}");
    }
}
