//! Limits and bad input (issue item 5), on every configured backend: each
//! case gets a 4xx with an RFC 9457 problem body (`application/problem+json`,
//! `status`, `detail`), and the database shows that nothing was stored.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{sign_in_message, ChallengeResponse, Change};
use phr_tests::client::Device;
use phr_tests::inspect::{post_json, send, Inspector};
use phr_tests::{ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

const MAX_BODY: usize = 16 * 1024;
const MAX_BATCH: usize = 10;
const MAX_ENVELOPE: usize = 2048;
const MAX_RECORDS: usize = 12;

fn start(db: &TestDatabase, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    phr_tests::start_server(Path::new(BIN), db, extra_args)
}

/// A server with small size limits.
fn start_small(db: &TestDatabase) -> (tempfile::TempDir, ServerProcess) {
    let (body, batch, envelope, records) =
        (MAX_BODY.to_string(), MAX_BATCH.to_string(), MAX_ENVELOPE.to_string(), MAX_RECORDS.to_string());
    start(
        db,
        &[
            "--max-body-bytes",
            &body,
            "--max-batch-changes",
            &batch,
            "--max-envelope-bytes",
            &envelope,
            "--max-records-per-account",
            &records,
        ],
    )
}

fn new_change(dev: &Device) -> Change {
    dev.seal_new_record(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, b"{\"kg\":60}")
}

fn new_changes(dev: &Device, n: usize) -> Vec<Change> {
    (0..n).map(|_| new_change(dev)).collect()
}

fn push_body(changes: &[Change]) -> String {
    json!({"batch_id": Uuid::now_v7(), "changes": changes}).to_string()
}

fn push(server: &ServerProcess, dev: &Device, body: &str) -> phr_tests::inspect::Reply {
    post_json(&server.url("/sync/v1/push"), Some(&dev.access_token), body)
}

/// A family device with one record already synced (change_seq 1).
fn family(server: &ServerProcess) -> Device {
    let mut dev = Device::create_account(&server.base_url, "Mother's phone");
    dev.edit(Uuid::now_v7(), RecordKind::SelfVitals, Subject::Mother, json!({"kg": 59}));
    dev.sync();
    dev
}

fn assert_pull_shows_nothing_after(dev: &Device, cursor: u64) {
    let page = dev.pull_page(cursor, 100);
    assert!(page.changes.is_empty(), "nothing new to pull: {page:?}");
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn push_bodies_that_are_malformed_have_unknown_fields_or_wrong_types_are_400_and_store_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);
        let good = serde_json::to_value(new_change(&dev)).unwrap();
        let with = |field: &str, value: Value| {
            let mut change = good.clone();
            change[field] = value;
            json!({"batch_id": Uuid::now_v7(), "changes": [good, change]}).to_string()
        };
        let without = |field: &str| {
            let mut change = good.clone();
            change.as_object_mut().unwrap().remove(field);
            json!({"batch_id": Uuid::now_v7(), "changes": [change]}).to_string()
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated JSON", br#"{"batch_id": "#.to_vec()),
            ("not JSON", b"batch please".to_vec()),
            ("empty body", Vec::new()),
            ("null", b"null".to_vec()),
            ("an array", b"[]".to_vec()),
            ("nested too deep", "[".repeat(100_000).into_bytes()),
            ("not UTF-8", vec![b'{', 0xff, 0xfe, b'}']),
            (
                "unknown top-level field",
                json!({"batch_id": Uuid::now_v7(), "changes": [good], "priority": "high"}).to_string().into_bytes(),
            ),
            ("unknown change field", with("note", json!("hello")).into_bytes()),
            ("batch_id not a UUID", json!({"batch_id": "batch-1", "changes": []}).to_string().into_bytes()),
            ("batch_id a number", json!({"batch_id": 7, "changes": []}).to_string().into_bytes()),
            ("changes an object", json!({"batch_id": Uuid::now_v7(), "changes": {}}).to_string().into_bytes()),
            ("missing changes", json!({"batch_id": Uuid::now_v7()}).to_string().into_bytes()),
            ("record_id not a UUID", with("record_id", json!("r-1")).into_bytes()),
            ("base_version a string", with("base_version", json!("0")).into_bytes()),
            ("base_version negative", with("base_version", json!(-1)).into_bytes()),
            ("base_version fractional", with("base_version", json!(0.5)).into_bytes()),
            ("base_version beyond u64", with("base_version", json!(1e30)).into_bytes()),
            ("unknown kind", with("kind", json!("x_ray")).into_bytes()),
            ("unknown subject", with("subject", json!("father")).into_bytes()),
            ("bad child subject", with("subject", json!("child:123")).into_bytes()),
            ("envelope not base64", with("envelope", json!("%%%not base64%%%")).into_bytes()),
            ("envelope a number", with("envelope", json!(12345)).into_bytes()),
            ("wrapped_key an array", with("wrapped_key", json!([1, 2, 3])).into_bytes()),
            ("impossible date", with("effective_date", json!("2025-02-30")).into_bytes()),
            ("deleted a string", with("deleted", json!("yes")).into_bytes()),
            ("missing record_id", without("record_id").into_bytes()),
            ("missing envelope", without("envelope").into_bytes()),
        ];
        for (what, body) in &cases {
            let reply = send(
                "POST",
                &server.url("/sync/v1/push"),
                Some(&dev.access_token),
                Some("application/json"),
                Some(body),
            );
            assert_eq!(reply.status, 400, "{what}: {reply:?}");
            reply.problem(400);
        }
        // Valid JSON, but not declared as JSON.
        let valid = push_body(&[new_change(&dev)]);
        for content_type in [Some("text/plain"), None] {
            let reply = send(
                "POST",
                &server.url("/sync/v1/push"),
                Some(&dev.access_token),
                content_type,
                Some(valid.as_bytes()),
            );
            reply.problem(415);
        }
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing stored");
        assert_pull_shows_nothing_after(&dev, 1);
    }
}

#[test]
fn push_values_out_of_range_are_422_naming_each_field_and_store_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);

        let fine = new_change(&dev);
        let mut huge_base = new_change(&dev);
        huge_base.base_version = u64::MAX;
        let mut wrong_subject = new_change(&dev);
        wrong_subject.kind = RecordKind::PrenatalVisit;
        wrong_subject.subject = Subject::Child(Uuid::now_v7());
        let mut empty_envelope = new_change(&dev);
        empty_envelope.envelope.clear();
        let mut no_key = new_change(&dev);
        no_key.wrapped_key.clear();
        let mut big_key = new_change(&dev);
        big_key.wrapped_key = vec![7; 4096];
        let duplicate = fine.clone();
        let batch = [fine, huge_base, wrong_subject, empty_envelope, no_key, big_key, duplicate];

        let reply = push(&server, &dev, &push_body(&batch));
        reply.problem(422);
        let paths: Vec<&str> =
            reply.body["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
        for expected in [
            "changes[1].base_version",
            "changes[2].subject",
            "changes[3].envelope",
            "changes[4].wrapped_key",
            "changes[5].wrapped_key",
            "changes[6].record_id",
        ] {
            assert!(paths.contains(&expected), "{expected} missing in {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.starts_with("changes[0]")), "the valid change is not blamed: {paths:?}");
        assert_eq!(inspector.snapshot(&dev.account_id), before, "the valid change was not applied either");
        assert_pull_shows_nothing_after(&dev, 1);
    }
}

#[test]
fn a_body_over_max_body_bytes_is_413_and_stores_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);

        // Within the batch and envelope limits, but over the body limit as a whole.
        let mut changes = new_changes(&dev, MAX_BATCH - 1);
        for c in &mut changes {
            c.envelope = vec![1; MAX_ENVELOPE - 100];
        }
        let body = push_body(&changes);
        assert!(body.len() > MAX_BODY && body.len() < 2 * MAX_BODY);
        let detail = push(&server, &dev, &body).problem(413);
        assert!(detail.contains(&MAX_BODY.to_string()), "{detail}");
        assert_eq!(inspector.snapshot(&dev.account_id), before);
        assert_pull_shows_nothing_after(&dev, 1);

        // The account endpoints have the same limit.
        let accounts = inspector.total_rows("accounts");
        let create = json!({
            "account_public_key": STANDARD.encode([1u8; 32]),
            "device": {"public_key": STANDARD.encode([2u8; 32]), "name": "x".repeat(MAX_BODY)},
        });
        post_json(&server.url("/accounts/v1"), None, &create.to_string()).problem(413);
        assert_eq!(inspector.total_rows("accounts"), accounts);

        // Just under the limit is fine.
        for c in &mut changes {
            c.envelope = vec![1; 1000];
        }
        assert_eq!(push(&server, &dev, &push_body(&changes)).status, 200);
    }
}

#[test]
fn a_batch_over_max_batch_changes_is_413_and_stores_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let before = inspector.snapshot(&dev.account_id);

        let detail = push(&server, &dev, &push_body(&new_changes(&dev, MAX_BATCH + 1))).problem(413);
        assert!(detail.contains(&MAX_BATCH.to_string()), "{detail}");
        assert_eq!(inspector.snapshot(&dev.account_id), before);
        assert_pull_shows_nothing_after(&dev, 0);

        let reply = push(&server, &dev, &push_body(&new_changes(&dev, MAX_BATCH)));
        assert_eq!(reply.status, 200, "exactly the limit is fine: {reply:?}");
        assert_eq!(inspector.counters(&dev.account_id), Some((MAX_BATCH as i64, MAX_BATCH as i64)));
    }
}

#[test]
fn an_envelope_over_max_envelope_bytes_is_413_and_stores_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);

        let mut changes = new_changes(&dev, 3);
        changes[1].envelope = vec![1; MAX_ENVELOPE + 1];
        let detail = push(&server, &dev, &push_body(&changes)).problem(413);
        assert!(detail.contains("changes[1].envelope"), "{detail}");
        assert_eq!(inspector.snapshot(&dev.account_id), before, "not even the other changes were stored");
        assert_pull_shows_nothing_after(&dev, 1);

        changes[1].envelope = vec![1; MAX_ENVELOPE];
        assert_eq!(push(&server, &dev, &push_body(&changes)).status, 200, "exactly the limit is fine");
    }
}

#[test]
fn records_beyond_max_records_per_account_are_409_and_store_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let first = new_changes(&dev, MAX_RECORDS - 2);
        assert_eq!(push(&server, &dev, &push_body(&first)).status, 200);

        // Three more would be one too many: the whole batch is refused.
        let before = inspector.snapshot(&dev.account_id);
        let detail = push(&server, &dev, &push_body(&new_changes(&dev, 3))).problem(409);
        assert!(detail.contains(&MAX_RECORDS.to_string()), "{detail}");
        assert_eq!(inspector.snapshot(&dev.account_id), before);
        assert_pull_shows_nothing_after(&dev, (MAX_RECORDS - 2) as u64);

        assert_eq!(push(&server, &dev, &push_body(&new_changes(&dev, 1))).status, 200);
        // One slot left: one new record, and a change to a record that does not
        // exist (a conflict, which stores nothing) fit into it.
        let mut ghost = new_change(&dev);
        ghost.base_version = 3;
        let reply = push(&server, &dev, &push_body(&[new_change(&dev), ghost]));
        assert_eq!(reply.status, 200, "a conflicting change takes no slot: {reply:?}");
        assert_eq!(reply.body["results"][0]["status"], "applied");
        assert_eq!(reply.body["results"][1]["status"], "conflict");
        let full = inspector.snapshot(&dev.account_id);
        assert_eq!(full.counters, Some((MAX_RECORDS as i64, MAX_RECORDS as i64)));
        push(&server, &dev, &push_body(&new_changes(&dev, 1))).problem(409);
        assert_eq!(inspector.snapshot(&dev.account_id), full);

        // At the limit, existing records can still be changed.
        let mut edit = first[0].clone();
        edit.base_version = 1;
        let reply = push(&server, &dev, &push_body(&[edit]));
        assert_eq!((reply.status, &reply.body["results"][0]["status"]), (200, &json!("applied")), "{reply:?}");
    }
}

#[test]
fn requests_over_the_device_rate_limit_get_429_and_store_nothing() {
    const BURST: usize = 6;
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &["--rate-limit-per-device", "0.01", "--rate-limit-burst", &BURST.to_string()]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        for _ in 0..BURST - 1 {
            assert_eq!(dev.call("GET", "/sync/v1/pull", None).0, 200);
        }
        assert_eq!(push(&server, &dev, &push_body(&new_changes(&dev, 1))).status, 200, "the last of the burst");
        let before = inspector.snapshot(&dev.account_id);

        let detail = push(&server, &dev, &push_body(&new_changes(&dev, 2))).problem(429);
        assert!(detail.contains("rate limit"), "{detail}");
        send("GET", &server.url("/sync/v1/pull"), Some(&dev.access_token), None, None).problem(429);
        send("GET", &server.url("/accounts/v1"), Some(&dev.access_token), None, None).problem(429);
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing stored");

        // The limit is per device: another device is not slowed down.
        let other = Device::create_account(&server.base_url, "Another family");
        assert_eq!(push(&server, &other, &push_body(&new_changes(&other, 1))).status, 200);
    }
}

#[test]
fn sign_in_attempts_over_the_account_rate_limit_get_429() {
    const BURST: usize = 4;
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &["--auth-rate-limit", "0.01", "--auth-rate-burst", &BURST.to_string()]);
        let inspector = Inspector::open(&db);
        // Creating the account signs in: a challenge and a session.
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let body = json!({"account_id": dev.account_id, "device_id": dev.device_id}).to_string();
        for _ in 0..BURST - 2 {
            assert_eq!(post_json(&server.url("/auth/v1/challenge"), None, &body).status, 200);
        }
        let challenges = inspector.count_rows("auth_challenges", &dev.account_id);
        let detail = post_json(&server.url("/auth/v1/challenge"), None, &body).problem(429);
        assert!(detail.contains("rate limit"), "{detail}");
        post_json(&server.url("/auth/v1/refresh"), None, &json!({"refresh_token": dev.refresh_token}).to_string())
            .problem(429);
        assert_eq!(inspector.count_rows("auth_challenges", &dev.account_id), challenges);
        assert_eq!(inspector.count_rows("refresh_tokens", &dev.account_id), 1, "no new session");
        // Signed-in requests are limited separately.
        assert_eq!(dev.call("GET", "/accounts/v1", None).0, 200);
    }
}

#[test]
fn account_creation_over_the_per_address_rate_limit_gets_429_and_creates_nothing() {
    const BURST: usize = 3;
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &["--auth-rate-limit", "0.01", "--auth-rate-burst", &BURST.to_string()]);
        let inspector = Inspector::open(&db);
        let body = json!({
            "account_public_key": STANDARD.encode([7u8; 32]),
            "device": {"public_key": STANDARD.encode([9u8; 32]), "name": "Mother's phone"},
        })
        .to_string();
        for _ in 0..BURST {
            assert_eq!(post_json(&server.url("/accounts/v1"), None, &body).status, 201);
        }
        let accounts = inspector.total_rows("accounts");
        let detail = post_json(&server.url("/accounts/v1"), None, &body).problem(429);
        assert!(detail.contains("rate limit"), "{detail}");
        assert_eq!(inspector.total_rows("accounts"), accounts, "no account was created");
        assert_eq!(inspector.total_rows("devices"), accounts);
    }
}

#[test]
fn replayed_forged_and_expired_credentials_get_401_and_store_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut dev = family(&server);
        let other = Device::create_account(&server.base_url, "Another family");
        let (keys, _) = phr_server::keys::KeyStore::open_or_create(&server.data_dir.join("keys")).unwrap();
        let tokens = phr_server::auth::TokenService::new(&keys).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let (foreign_keys, _) = phr_server::keys::KeyStore::open_or_create(foreign_dir.path()).unwrap();
        let foreign = phr_server::auth::TokenService::new(&foreign_keys).unwrap();
        let before = inspector.snapshot(&dev.account_id);

        // Access tokens: expired, from another server, re-addressed, unsigned, junk.
        let parts: Vec<&str> = dev.access_token.split('.').collect();
        let mut claims: Value = serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        claims["exp"] = json!(now_secs() + 86_400);
        let extended = format!("{}.{}.{}", parts[0], B64URL.encode(claims.to_string()), parts[2]);
        claims["acc"] = json!(other.account_id);
        let readdressed = format!("{}.{}.{}", parts[0], B64URL.encode(claims.to_string()), parts[2]);
        let bad_tokens = [
            tokens.issue(&dev.account_id, &dev.device_id, now_secs() - 7200).unwrap().0,
            foreign.issue(&dev.account_id, &dev.device_id, now_secs()).unwrap().0,
            tokens.issue(&other.account_id, &dev.device_id, now_secs()).unwrap().0,
            extended,
            readdressed,
            format!("{}.{}.", B64URL.encode(r#"{"alg":"none"}"#), parts[1]),
            "Bearer".to_owned(),
            dev.refresh_token.clone(),
        ];
        let body = push_body(&new_changes(&dev, 2));
        for token in &bad_tokens {
            post_json(&server.url("/sync/v1/push"), Some(token), &body).problem(401);
        }
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing stored");
        assert_pull_shows_nothing_after(&dev, 1);
        // Only the credentials were wrong: the genuine token gets the same batch in.
        assert_eq!(push(&server, &dev, &body).status, 200);
        let after_push = inspector.snapshot(&dev.account_id);
        assert_eq!(after_push.counters, Some((3, 3)));

        // A sign-in answer replayed.
        let challenge_reply = post_json(
            &server.url("/auth/v1/challenge"),
            None,
            &json!({"account_id": dev.account_id, "device_id": dev.device_id}).to_string(),
        );
        let c: ChallengeResponse = serde_json::from_value(challenge_reply.body).unwrap();
        let signature = dev.sign(&sign_in_message(&dev.account_id, &dev.device_id, &c.challenge_id, &c.nonce));
        let session = json!({
            "account_id": dev.account_id,
            "device_id": dev.device_id,
            "challenge_id": c.challenge_id,
            "signature": STANDARD.encode(&signature),
        })
        .to_string();
        assert_eq!(post_json(&server.url("/auth/v1/session"), None, &session).status, 200);
        let sessions = inspector.count_rows("refresh_tokens", &dev.account_id);
        post_json(&server.url("/auth/v1/session"), None, &session).problem(401);
        assert_eq!(inspector.count_rows("refresh_tokens", &dev.account_id), sessions, "no session from a replay");

        // A refresh token replayed after rotation.
        let old = dev.refresh_token.clone();
        dev.refresh().unwrap();
        let refresh = json!({"refresh_token": old}).to_string();
        post_json(&server.url("/auth/v1/refresh"), None, &refresh).problem(401);
        post_json(&server.url("/auth/v1/refresh"), None, &json!({"refresh_token": dev.refresh_token}).to_string())
            .problem(401);
        let live: i64 = inspector.count_rows("refresh_tokens", &dev.account_id);
        assert_eq!(live, 0, "the replay revoked the device's refresh tokens: {live}");

        // The records are as the one genuine push left them.
        assert_eq!(inspector.snapshot(&dev.account_id).records, after_push.records);
        assert_pull_shows_nothing_after(&dev, 3);
    }
}

#[test]
fn another_accounts_ids_are_404_or_401_and_change_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let a = family(&server);
        let b = family(&server);
        let b_before = inspector.snapshot(&b.account_id).without_audit();
        let b_record = b.pull_page(0, 10).changes[0].record_id;

        // A's token cannot remove B's device.
        let path = format!("/accounts/v1/devices/{}", b.device_id);
        send("DELETE", &server.url(&path), Some(&a.access_token), None, None).problem(404);
        // Sign-in with ids mixed between the accounts.
        let challenge_url = server.url("/auth/v1/challenge");
        post_json(&challenge_url, None, &json!({"account_id": a.account_id, "device_id": b.device_id}).to_string())
            .problem(401);
        post_json(&challenge_url, None, &json!({"account_id": b.account_id, "device_id": a.device_id}).to_string())
            .problem(401);
        let reply =
            post_json(&challenge_url, None, &json!({"account_id": a.account_id, "device_id": a.device_id}).to_string());
        let c: ChallengeResponse = serde_json::from_value(reply.body).unwrap();
        let signature = a.sign(&sign_in_message(&b.account_id, &a.device_id, &c.challenge_id, &c.nonce));
        let session = json!({
            "account_id": b.account_id,
            "device_id": a.device_id,
            "challenge_id": c.challenge_id,
            "signature": STANDARD.encode(&signature),
        });
        post_json(&server.url("/auth/v1/session"), None, &session.to_string()).problem(401);
        // A's pairing code does not open B's account.
        let code = a.pairing_code();
        let join = json!({
            "account_id": b.account_id,
            "pairing_code": code,
            "device": {"public_key": STANDARD.encode([9u8; 32]), "name": "Intruder"},
        });
        post_json(&server.url("/accounts/v1/join"), None, &join.to_string()).problem(401);
        // A's refresh token relabelled with B's account id.
        let secret = a.refresh_token.split_once('.').unwrap().1;
        let relabelled = json!({"refresh_token": format!("{}.{secret}", b.account_id)}).to_string();
        post_json(&server.url("/auth/v1/refresh"), None, &relabelled).problem(401);
        // B's record id pushed by A is a change to A's own (absent) record.
        let mut change = new_change(&a);
        change.record_id = b_record;
        change.base_version = 1;
        let reply = push(&server, &a, &push_body(&[change]));
        assert_eq!(reply.status, 200);
        assert_eq!(
            (&reply.body["results"][0]["status"], &reply.body["results"][0]["version"]),
            (&json!("conflict"), &json!(0))
        );

        assert_eq!(inspector.snapshot(&b.account_id).without_audit(), b_before, "nothing of B changed");
        assert_eq!(device_names(&b), vec!["Mother's phone".to_owned()]);
    }
}

fn device_names(dev: &Device) -> Vec<String> {
    let (status, body) = dev.call("GET", "/accounts/v1/devices", None);
    assert_eq!(status, 200);
    body.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn pull_with_bad_query_parameters_is_400() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let dev = family(&server);
        for query in [
            "since=-1",
            "since=abc",
            "since=1.5",
            "since=",
            "since=18446744073709551615",
            "since=18446744073709551616",
            "limit=0",
            "limit=abc",
            "limit=-5",
            "limit=5001",
            "limit=99999999999",
            "since=0&limit=10&page=2",
            "cursor=0",
        ] {
            let reply =
                send("GET", &server.url(&format!("/sync/v1/pull?{query}")), Some(&dev.access_token), None, None);
            assert_eq!(reply.status, 400, "{query}: {reply:?}");
            reply.problem(400);
        }
        let page = dev.pull_page(0, 5000);
        assert_eq!(page.changes.len(), 1, "the limits themselves are fine");
    }
}

#[test]
fn audit_log_reads_with_bad_parameters_or_credentials_are_4xx_and_append_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let events = inspector.count_rows("audit_events", &dev.account_id);
        assert!(events > 0, "account creation and sign-in are audited");
        for query in ["since=-1", "since=abc", "limit=0", "limit=abc", "limit=1001", "cursor=0"] {
            let reply =
                send("GET", &server.url(&format!("/audit/v1/events?{query}")), Some(&dev.access_token), None, None);
            assert_eq!(reply.status, 400, "{query}: {reply:?}");
            reply.problem(400);
        }
        send("GET", &server.url("/audit/v1/events"), None, None, None).problem(401);
        send("GET", &server.url("/audit/v1/events"), Some("not-a-token"), None, None).problem(401);
        assert_eq!(inspector.count_rows("audit_events", &dev.account_id), events, "reads append nothing");
        let (status, page) = dev.call("GET", "/audit/v1/events?limit=1000", None);
        assert_eq!(status, 200);
        assert_eq!(page["events"].as_array().unwrap().len() as i64, events, "the limits themselves are fine");
    }
}

#[test]
fn account_and_auth_bodies_that_are_malformed_or_invalid_are_4xx_and_create_nothing() {
    for db in TestDatabase::all() {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let tables = ["accounts", "devices", "auth_challenges", "refresh_tokens", "pairing_codes", "audit_events"];
        let totals = || tables.iter().map(|t| inspector.total_rows(t)).collect::<Vec<_>>();
        let before = totals();

        let key = |n: usize| STANDARD.encode(vec![3u8; n]);
        let create = |account_key: Value, device: Value| json!({"account_public_key": account_key, "device": device});
        let device = |public_key: Value, name: Value| json!({"public_key": public_key, "name": name});
        let good_device = device(json!(key(32)), json!("Phone"));
        let mut extra = create(json!(key(32)), good_device.clone());
        extra["recovery_email"] = json!("a@example.org");
        let mut extra_device = create(json!(key(32)), good_device.clone());
        extra_device["device"]["os"] = json!("iOS");

        let cases: Vec<(&str, &str, String, u16)> = vec![
            ("/accounts/v1", "malformed", r#"{"account_public_key": "#.into(), 400),
            ("/accounts/v1", "unknown field", extra.to_string(), 400),
            ("/accounts/v1", "unknown device field", extra_device.to_string(), 400),
            ("/accounts/v1", "key a number", create(json!(5), good_device.clone()).to_string(), 400),
            ("/accounts/v1", "key not base64", create(json!("@@@"), good_device.clone()).to_string(), 400),
            ("/accounts/v1", "device missing", json!({"account_public_key": key(32)}).to_string(), 400),
            ("/accounts/v1", "short account key", create(json!(key(31)), good_device.clone()).to_string(), 422),
            ("/accounts/v1", "long device key", create(json!(key(32)), device(json!(key(33)), json!("P"))).to_string(), 422),
            ("/accounts/v1", "blank name", create(json!(key(32)), device(json!(key(32)), json!("  "))).to_string(), 422),
            (
                "/accounts/v1",
                "name too long",
                create(json!(key(32)), device(json!(key(32)), json!("n".repeat(101)))).to_string(),
                422,
            ),
            (
                "/accounts/v1",
                "control characters",
                create(json!(key(32)), device(json!(key(32)), json!("Phone\u{0}\n"))).to_string(),
                422,
            ),
            ("/accounts/v1", "name a number", create(json!(key(32)), device(json!(key(32)), json!(7))).to_string(), 400),
            ("/auth/v1/challenge", "ids not UUIDs", json!({"account_id": "a", "device_id": "d"}).to_string(), 400),
            ("/auth/v1/challenge", "id a number", json!({"account_id": 1, "device_id": dev.device_id}).to_string(), 400),
            (
                "/auth/v1/challenge",
                "unknown field",
                json!({"account_id": dev.account_id, "device_id": dev.device_id, "x": 1}).to_string(),
                400,
            ),
            (
                "/auth/v1/session",
                "signature not base64",
                json!({"account_id": dev.account_id, "device_id": dev.device_id, "challenge_id": "c", "signature": "!!"})
                    .to_string(),
                400,
            ),
            ("/auth/v1/session", "missing fields", json!({"account_id": dev.account_id}).to_string(), 400),
            ("/auth/v1/refresh", "unknown field", json!({"refresh_token": "t", "scope": "all"}).to_string(), 400),
            ("/auth/v1/refresh", "token a number", json!({"refresh_token": 42}).to_string(), 400),
            (
                "/accounts/v1/join",
                "unknown field",
                json!({"account_id": dev.account_id, "pairing_code": "ABCDE-FGHJK", "device": good_device, "admin": true})
                    .to_string(),
                400,
            ),
            (
                "/accounts/v1/join",
                "name too long",
                json!({"account_id": dev.account_id, "pairing_code": "ABCDE-FGHJK",
                       "device": device(json!(key(32)), json!("n".repeat(101)))})
                .to_string(),
                422,
            ),
        ];
        for (path, what, body, status) in &cases {
            let reply = post_json(&server.url(path), None, body);
            assert_eq!(reply.status, *status, "{path} {what}: {reply:?}");
            reply.problem(*status);
        }
        let valid = create(json!(key(32)), good_device.clone()).to_string();
        send("POST", &server.url("/accounts/v1"), None, Some("text/plain"), Some(valid.as_bytes())).problem(415);
        assert_eq!(totals(), before, "nothing was created");

        // The account itself is untouched: its first valid push is change 1.
        let reply = push(&server, &dev, &push_body(&[new_change(&dev)]));
        assert_eq!((reply.status, &reply.body["results"][0]["status"]), (200, &json!("applied")));
        assert_eq!(reply.body["change_seq"], 1);
    }
}
