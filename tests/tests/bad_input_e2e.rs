//! Limits and bad input (issue item 5), on every configured backend: each
//! case gets a 4xx with an RFC 9457 problem body (`application/problem+json`,
//! `status`, `detail`), and the database shows that nothing was stored.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use phr_core::crypto::{hpke_open, AccountKey};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{
    recovery_challenge_info, sign_in_message, ChallengeResponse, Change, KeyBackupResponse, RecoveryChallengeResponse,
    KEY_BACKUP_KDF, KEY_BACKUP_MIN_ITERATIONS,
};
use phr_server::app::accounts::recovery::{
    KEY_BACKUP_MAX_ITERATIONS, MAX_SALT_BYTES, MAX_SEALED_KEY_BYTES, MIN_SALT_BYTES, MIN_SEALED_KEY_BYTES,
};
use phr_server::store::schema::recovery_challenges;
use phr_tests::client::Device;
use phr_tests::inspect::{post_json, send, Inspector, Reply};
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

/// `good` with `field` set to `value` (a JSON body with one thing wrong).
fn with_field(good: &Value, field: &str, value: Value) -> Value {
    let mut body = good.clone();
    body[field] = value;
    body
}

/// `good` without `field`.
fn without_field(good: &Value, field: &str) -> Value {
    let mut body = good.clone();
    body.as_object_mut().expect("a JSON object").remove(field);
    body
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

phr_tests::backend_test! {
    fn push_bodies_that_are_malformed_have_unknown_fields_or_wrong_types_are_400_and_store_nothing(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);
        let good = serde_json::to_value(new_change(&dev)).unwrap();
        let with = |field: &str, value: Value| {
            json!({"batch_id": Uuid::now_v7(), "changes": [good, with_field(&good, field, value)]}).to_string()
        };
        let without =
            |field: &str| json!({"batch_id": Uuid::now_v7(), "changes": [without_field(&good, field)]}).to_string();
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

phr_tests::backend_test! {
    fn push_values_out_of_range_are_422_naming_each_field_and_store_nothing(db) {
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

phr_tests::backend_test! {
    fn a_body_over_max_body_bytes_is_413_and_stores_nothing(db) {
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

phr_tests::backend_test! {
    fn a_batch_over_max_batch_changes_is_413_and_stores_nothing(db) {
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

phr_tests::backend_test! {
    fn an_envelope_over_max_envelope_bytes_is_413_and_stores_nothing(db) {
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

phr_tests::backend_test! {
    fn records_beyond_max_records_per_account_are_409_and_store_nothing(db) {
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

phr_tests::backend_test! {
    fn requests_over_the_device_rate_limit_get_429_and_store_nothing(db) {
        const BURST: usize = 6;
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

phr_tests::backend_test! {
    fn sign_in_challenges_and_refreshes_of_a_device_over_the_rate_limit_get_429(db) {
        const BURST: usize = 4;
        let (_dir, server) = start(&db, &["--auth-rate-limit", "0.01", "--auth-rate-burst", &BURST.to_string()]);
        let inspector = Inspector::open(&db);
        // Creating the account signs in: one challenge.
        let mut dev = Device::create_account(&server.base_url, "Mother's phone");
        let body = json!({"account_id": dev.account_id, "device_id": dev.device_id}).to_string();
        for _ in 0..BURST - 1 {
            assert_eq!(post_json(&server.url("/auth/v1/challenge"), None, &body).status, 200);
        }
        let challenges = inspector.count_rows("auth_challenges", &dev.account_id);
        let detail = post_json(&server.url("/auth/v1/challenge"), None, &body).problem(429);
        assert!(detail.contains("rate limit"), "{detail}");
        assert_eq!(inspector.count_rows("auth_challenges", &dev.account_id), challenges);
        // Refreshes of the device, likewise.
        for _ in 0..BURST {
            dev.refresh().unwrap();
        }
        let tokens = inspector.count_rows("refresh_tokens", &dev.account_id);
        post_json(&server.url("/auth/v1/refresh"), None, &json!({"refresh_token": dev.refresh_token}).to_string())
            .problem(429);
        assert_eq!(inspector.count_rows("refresh_tokens", &dev.account_id), tokens, "no new session");
        // Signed-in requests are limited separately.
        assert_eq!(dev.call("GET", "/accounts/v1", None).0, 200);
    }
}

phr_tests::backend_test! {
    fn account_creation_over_the_per_address_rate_limit_gets_429_and_creates_nothing(db) {
        const BURST: usize = 3;
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

phr_tests::backend_test! {
    fn replayed_forged_and_expired_credentials_get_401_and_store_nothing(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut dev = family(&server);
        let other = Device::create_account(&server.base_url, "Another family");
        let (keys, _) = phr_server::keys::KeyStore::open_or_create(&server.data_dir.join("keys")).unwrap();
        let tokens = phr_server::app::auth::TokenService::new(&keys).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let (foreign_keys, _) = phr_server::keys::KeyStore::open_or_create(foreign_dir.path()).unwrap();
        let foreign = phr_server::app::auth::TokenService::new(&foreign_keys).unwrap();
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

phr_tests::backend_test! {
    fn another_accounts_ids_are_404_or_401_and_change_nothing(db) {
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

phr_tests::backend_test! {
    fn pull_with_bad_query_parameters_is_400(db) {
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

phr_tests::backend_test! {
    fn audit_log_reads_with_bad_parameters_or_credentials_are_4xx_and_append_nothing(db) {
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

phr_tests::backend_test! {
    fn account_and_auth_bodies_that_are_malformed_or_invalid_are_4xx_and_create_nothing(db) {
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
            (
                "/auth/v1/session",
                "challenge id with a NUL (PostgreSQL refuses it in text)",
                json!({"account_id": dev.account_id, "device_id": dev.device_id, "challenge_id": "c\u{0}",
                       "signature": STANDARD.encode([0u8; 64])})
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

// --- key backup and recovery -------------------------------------------------

/// `PUT /accounts/v1/key-backup` with any bytes, content type and token
/// (`inspect::send` has no PUT).
fn put_key_backup(server: &ServerProcess, token: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Reply {
    let mut req = phr_tests::http().put(server.url("/accounts/v1/key-backup"));
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        req = req.header("Content-Type", content_type);
    }
    let mut resp = req.send(body).expect("PUT /accounts/v1/key-backup");
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, content_type, body }
}

/// A key backup of the accepted shape; `fill` tells backups apart.
fn backup_json(fill: u8) -> Value {
    json!({
        "kdf": KEY_BACKUP_KDF,
        "iterations": KEY_BACKUP_MIN_ITERATIONS,
        "salt": STANDARD.encode(vec![fill; MIN_SALT_BYTES]),
        "sealed_key": STANDARD.encode(vec![fill; MIN_SEALED_KEY_BYTES]),
    })
}

/// Stores `backup` for `dev`'s account with its genuine token.
fn store_backup(server: &ServerProcess, dev: &Device, backup: &Value) {
    let reply =
        put_key_backup(server, Some(&dev.access_token), Some("application/json"), backup.to_string().as_bytes());
    assert_eq!(reply.status, 204, "{reply:?}");
}

/// The account's key backup as stored (read from the database: fetching it
/// through the API would append to the audit log).
fn stored_backup(inspector: &Inspector, account: &str) -> Option<KeyBackupResponse> {
    phr_server::store::accounts::key_backup(&mut inspector.conn(), account).expect("read the key backup")
}

/// The account's audit log as `action:outcome`, through the API (reads append nothing).
fn audit_trail(dev: &Device) -> Vec<String> {
    dev.audit_events()
        .iter()
        .map(|e| format!("{}:{}", e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect()
}

/// A recovery challenge for `dev`'s account, opened with the account key as a
/// recovering phone does: `(challenge_id, nonce, sealed_nonce)`.
fn recovery_challenge(server: &ServerProcess, dev: &Device) -> (String, Vec<u8>, Vec<u8>) {
    let body = json!({"account_id": dev.account_id}).to_string();
    let reply = post_json(&server.url("/accounts/v1/recovery/challenge"), None, &body);
    assert_eq!(reply.status, 200, "{reply:?}");
    let c: RecoveryChallengeResponse = serde_json::from_value(reply.body).unwrap();
    let (private, _) = AccountKey::from_bytes(&dev.account_key_bytes()).unwrap().hpke_key_pair();
    let info = recovery_challenge_info(&dev.account_id, &c.challenge_id);
    let nonce = hpke_open(&private, &info, &[], &c.sealed_nonce).expect("the account key opens the challenge");
    (c.challenge_id, nonce.to_vec(), c.sealed_nonce)
}

fn enrol_json(account_id: &str, challenge_id: &str, nonce: &[u8], name: &str) -> Value {
    json!({
        "account_id": account_id,
        "challenge_id": challenge_id,
        "nonce": STANDARD.encode(nonce),
        "device": {"public_key": STANDARD.encode([5u8; 32]), "name": name},
    })
}

fn enrol(server: &ServerProcess, body: &Value) -> Reply {
    post_json(&server.url("/accounts/v1/recovery/enrol"), None, &body.to_string())
}

phr_tests::backend_test! {
    fn key_backup_puts_that_are_malformed_out_of_range_or_too_large_are_4xx_saying_why_and_keep_the_stored_backup(db) {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let good = backup_json(1);
        store_backup(&server, &dev, &good);
        let stored = stored_backup(&inspector, &dev.account_id);
        assert!(stored.is_some());
        let before = inspector.snapshot(&dev.account_id);
        let trail = audit_trail(&dev);
        assert_eq!(trail.last().map(String::as_str), Some("key_backup_stored:success"));
        let put = |content_type: Option<&str>, body: &[u8]| {
            put_key_backup(&server, Some(&dev.access_token), content_type, body)
        };

        let with = |field: &str, value: Value| with_field(&good, field, value).to_string();
        let without = |field: &str| without_field(&good, field).to_string();
        let bytes = |n: usize| json!(STANDARD.encode(vec![2u8; n]));

        // Malformed JSON, wrong types, unknown and missing fields: 400 saying what is wrong.
        let malformed: Vec<(&str, String, &str)> = vec![
            ("truncated JSON", r#"{"kdf": "#.into(), "malformed JSON"),
            ("not JSON", "my passphrase backup".into(), "malformed JSON"),
            ("empty body", String::new(), "malformed JSON"),
            ("null", "null".into(), "invalid type: null"),
            ("an array", "[]".into(), "invalid length 0"),
            ("unknown field", with("hint", json!("the dog's name")), "unknown field `hint`"),
            ("kdf a number", with("kdf", json!(256)), "invalid type: integer, expected a string"),
            ("kdf null", with("kdf", Value::Null), "invalid type: null, expected a string"),
            ("iterations a string", with("iterations", json!("600000")), "invalid type: string, expected u32"),
            ("iterations negative", with("iterations", json!(-600_000)), "invalid value: integer, expected u32"),
            ("iterations fractional", with("iterations", json!(600_000.5)), "invalid type: floating point"),
            ("iterations beyond u32", with("iterations", json!(u64::from(u32::MAX) + 1)), "expected u32"),
            ("salt not base64", with("salt", json!("%%% not base64 %%%")), "expected a base64 string"),
            ("salt a number", with("salt", json!(16)), "invalid type: integer, expected a string"),
            ("sealed_key an array", with("sealed_key", json!([1, 2, 3])), "invalid type: sequence, expected a string"),
            ("missing kdf", without("kdf"), "missing field `kdf`"),
            ("missing sealed_key", without("sealed_key"), "missing field `sealed_key`"),
        ];
        for (what, body, says) in &malformed {
            let detail = put(Some("application/json"), body.as_bytes()).problem(400);
            assert!(detail.contains(says), "{what}: {detail}");
        }

        // Well-formed but out of range: 422 naming every offending field.
        let out_of_range: Vec<(&str, String, Vec<&str>)> = vec![
            ("another KDF", with("kdf", json!("scrypt")), vec!["kdf"]),
            ("the KDF in capitals", with("kdf", json!(KEY_BACKUP_KDF.to_uppercase())), vec!["kdf"]),
            ("no iterations", with("iterations", json!(0)), vec!["iterations"]),
            ("one iteration too few", with("iterations", json!(KEY_BACKUP_MIN_ITERATIONS - 1)), vec!["iterations"]),
            ("one iteration too many", with("iterations", json!(KEY_BACKUP_MAX_ITERATIONS + 1)), vec!["iterations"]),
            ("u32::MAX iterations", with("iterations", json!(u32::MAX)), vec!["iterations"]),
            ("empty salt", with("salt", bytes(0)), vec!["salt"]),
            ("salt a byte short", with("salt", bytes(MIN_SALT_BYTES - 1)), vec!["salt"]),
            ("salt a byte long", with("salt", bytes(MAX_SALT_BYTES + 1)), vec!["salt"]),
            ("empty sealed key", with("sealed_key", bytes(0)), vec!["sealed_key"]),
            ("sealed key a byte short", with("sealed_key", bytes(MIN_SEALED_KEY_BYTES - 1)), vec!["sealed_key"]),
            ("sealed key a byte long", with("sealed_key", bytes(MAX_SEALED_KEY_BYTES + 1)), vec!["sealed_key"]),
            (
                "everything wrong",
                json!({"kdf": "md5", "iterations": 1000, "salt": bytes(4), "sealed_key": bytes(32)}).to_string(),
                vec!["kdf", "iterations", "salt", "sealed_key"],
            ),
        ];
        for (what, body, fields) in &out_of_range {
            let reply = put(Some("application/json"), body.as_bytes());
            let detail = reply.problem(422);
            assert!(detail.starts_with("invalid key backup: "), "{what}: {detail}");
            let paths: Vec<&str> =
                reply.body["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
            assert_eq!(&paths, fields, "{what}: {reply:?}");
            for field in fields {
                assert!(detail.contains(&format!("{field}: must be")), "{what}: {detail}");
            }
        }
        let too_few = put(Some("application/json"), with("iterations", json!(599_999)).as_bytes()).problem(422);
        assert!(too_few.contains("got 599999"), "the detail says what was sent: {too_few}");

        // Not declared as JSON, or over the body limit.
        let other_backup = backup_json(3).to_string();
        for content_type in [Some("text/plain"), None] {
            let detail = put(content_type, other_backup.as_bytes()).problem(415);
            assert!(detail.contains("application/json"), "{detail}");
        }
        let huge = with("sealed_key", json!(STANDARD.encode(vec![2u8; MAX_BODY])));
        assert!(huge.len() > MAX_BODY);
        let detail = put(Some("application/json"), huge.as_bytes()).problem(413);
        assert!(detail.contains(&MAX_BODY.to_string()), "{detail}");

        assert_eq!(stored_backup(&inspector, &dev.account_id), stored, "the stored backup is untouched");
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing else was stored");
        assert_eq!(audit_trail(&dev), trail, "a refused backup is not audited as stored");

        // The bounds themselves are fine, and replace the old backup.
        let widest = json!({
            "kdf": KEY_BACKUP_KDF,
            "iterations": KEY_BACKUP_MAX_ITERATIONS,
            "salt": bytes(MAX_SALT_BYTES),
            "sealed_key": bytes(MAX_SEALED_KEY_BYTES),
        });
        assert_eq!(put(Some("application/json"), widest.to_string().as_bytes()).status, 204);
        let now = stored_backup(&inspector, &dev.account_id).unwrap();
        assert_eq!(
            (now.kdf.as_str(), now.iterations, now.salt, now.sealed_key),
            (KEY_BACKUP_KDF, KEY_BACKUP_MAX_ITERATIONS, vec![2u8; MAX_SALT_BYTES], vec![2u8; MAX_SEALED_KEY_BYTES])
        );
    }
}

phr_tests::backend_test! {
    fn key_backup_puts_without_a_valid_device_token_are_401_and_keep_the_stored_backup(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let tablet = Device::join(
            &server.base_url,
            &dev.account_id,
            &dev.account_key_bytes(),
            &dev.pairing_code(),
            "Old tablet",
        )
        .unwrap();
        let (status, body) = dev.call("DELETE", &format!("/accounts/v1/devices/{}", tablet.device_id), None);
        assert_eq!(status, 204, "{body}");
        store_backup(&server, &dev, &backup_json(1));
        let (keys, _) = phr_server::keys::KeyStore::open_or_create(&server.data_dir.join("keys")).unwrap();
        let tokens = phr_server::app::auth::TokenService::new(&keys).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let (foreign_keys, _) = phr_server::keys::KeyStore::open_or_create(foreign_dir.path()).unwrap();
        let foreign = phr_server::app::auth::TokenService::new(&foreign_keys).unwrap();
        let stored = stored_backup(&inspector, &dev.account_id);
        let before = inspector.snapshot(&dev.account_id);
        let trail = audit_trail(&dev);

        let replacement = backup_json(2);
        let cases: Vec<(&str, Option<String>, &str)> = vec![
            ("no token", None, "missing Authorization"),
            ("junk", Some("not-a-token".into()), "invalid access token"),
            ("expired", Some(tokens.issue(&dev.account_id, &dev.device_id, now_secs() - 7200).unwrap().0), "expired"),
            (
                "signed by another server",
                Some(foreign.issue(&dev.account_id, &dev.device_id, now_secs()).unwrap().0),
                "invalid access token",
            ),
            ("the refresh token", Some(dev.refresh_token.clone()), "invalid access token"),
            ("a removed device's token", Some(tablet.access_token.clone()), "removed"),
        ];
        for (what, token, says) in &cases {
            let reply =
                put_key_backup(&server, token.as_deref(), Some("application/json"), replacement.to_string().as_bytes());
            let detail = reply.problem(401);
            assert!(detail.contains(says), "{what}: {detail}");
        }
        assert_eq!(stored_backup(&inspector, &dev.account_id), stored, "the stored backup is untouched");
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing else was stored");
        assert_eq!(audit_trail(&dev), trail, "nothing was audited as stored");

        // Only the credentials were wrong: the genuine token stores the same body.
        store_backup(&server, &dev, &replacement);
        assert_eq!(stored_backup(&inspector, &dev.account_id).unwrap().salt, vec![2u8; MIN_SALT_BYTES]);
    }
}

phr_tests::backend_test! {
    fn recovery_backup_fetches_and_challenges_that_are_malformed_or_name_no_backup_are_4xx_and_issue_nothing(db) {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        store_backup(&server, &dev, &backup_json(1));
        let no_backup = Device::create_account(&server.base_url, "A family without a backup");
        let tables = ["accounts", "devices", "key_backups", "recovery_challenges", "audit_events"];
        let totals = || tables.iter().map(|t| inspector.total_rows(t)).collect::<Vec<_>>();
        let before = totals();
        let stored = stored_backup(&inspector, &dev.account_id);
        let trail = audit_trail(&dev);

        let limit = MAX_BODY.to_string();
        let cases: Vec<(&str, String, u16, &str)> = vec![
            ("truncated JSON", r#"{"account_id": "#.into(), 400, "malformed JSON"),
            ("not JSON", "account please".into(), 400, "malformed JSON"),
            ("empty body", String::new(), 400, "malformed JSON"),
            ("null", "null".into(), 400, "invalid type: null"),
            ("an array", "[]".into(), 400, "invalid length 0"),
            ("account_id a number", json!({"account_id": 7}).to_string(), 400, "invalid type: integer"),
            ("account_id null", json!({"account_id": null}).to_string(), 400, "invalid type: null"),
            ("account_id not a UUID", json!({"account_id": "family-1"}).to_string(), 400, "account_id must be a UUID"),
            (
                "account_id with a NUL",
                json!({"account_id": format!("{}\u{0}", dev.account_id)}).to_string(),
                400,
                "account_id must be a UUID",
            ),
            (
                "unknown field",
                json!({"account_id": dev.account_id, "passphrase": "plum tree"}).to_string(),
                400,
                "unknown field `passphrase`",
            ),
            ("missing account_id", "{}".into(), 400, "missing field `account_id`"),
            ("over the body limit", json!({"account_id": "x".repeat(MAX_BODY)}).to_string(), 413, &limit),
        ];
        let unknown = json!({"account_id": Uuid::now_v7()}).to_string();
        let valid = json!({"account_id": dev.account_id}).to_string();
        for (path, no_account) in [
            ("/accounts/v1/recovery/key-backup", "no key backup for this account"),
            ("/accounts/v1/recovery/challenge", "no such account"),
        ] {
            for (what, body, status, says) in &cases {
                let detail = post_json(&server.url(path), None, body).problem(*status);
                assert!(detail.contains(says), "{path} {what}: {detail}");
            }
            let detail = post_json(&server.url(path), None, &unknown).problem(404);
            assert!(detail.contains(no_account), "{path} unknown account: {detail}");
            for content_type in [Some("text/plain"), None] {
                send("POST", &server.url(path), None, content_type, Some(valid.as_bytes())).problem(415);
            }
        }
        let without = json!({"account_id": no_backup.account_id}).to_string();
        let detail = post_json(&server.url("/accounts/v1/recovery/key-backup"), None, &without).problem(404);
        assert!(detail.contains("no key backup for this account"), "{detail}");
        // There is no other way to read a backup, not even for a signed-in device.
        for path in ["/accounts/v1/key-backup", "/accounts/v1/recovery/key-backup"] {
            let detail = send("GET", &server.url(path), Some(&dev.access_token), None, None).problem(404);
            assert!(detail.contains("no route"), "GET {path}: {detail}");
        }

        assert_eq!(totals(), before, "no challenge was issued, nothing was audited");
        assert_eq!(stored_backup(&inspector, &dev.account_id), stored);
        assert_eq!(audit_trail(&dev), trail);

        // A well-formed fetch gets exactly the stored backup, and is audited.
        let reply = post_json(&server.url("/accounts/v1/recovery/key-backup"), None, &valid);
        assert_eq!(reply.status, 200, "{reply:?}");
        let fetched: KeyBackupResponse = serde_json::from_value(reply.body).unwrap();
        assert_eq!(Some(fetched), stored);
        let mut expected = trail.clone();
        expected.push("key_backup_fetched:success".into());
        assert_eq!(audit_trail(&dev), expected);
    }
}

phr_tests::backend_test! {
    fn recovery_enrolments_that_are_malformed_or_invalid_are_4xx_and_neither_add_a_device_nor_spend_the_challenge(db) {
        let (_dir, server) = start_small(&db);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let (challenge_id, nonce, _) = recovery_challenge(&server, &dev);
        let good = enrol_json(&dev.account_id, &challenge_id, &nonce, "New phone");
        let before = inspector.snapshot(&dev.account_id);
        assert_eq!(before.rows["recovery_challenges"], 1);
        let trail = audit_trail(&dev);

        let with = |field: &str, value: Value| with_field(&good, field, value).to_string();
        let with_device = |field: &str, value: Value| {
            with_field(&good, "device", with_field(&good["device"], field, value)).to_string()
        };
        let without = |field: &str| without_field(&good, field).to_string();
        let key = |n: usize| json!(STANDARD.encode(vec![5u8; n]));
        let limit = MAX_BODY.to_string();
        let cases: Vec<(&str, String, u16, &str)> = vec![
            ("truncated JSON", r#"{"account_id": "#.into(), 400, "malformed JSON"),
            ("not JSON", "let me in".into(), 400, "malformed JSON"),
            ("empty body", String::new(), 400, "malformed JSON"),
            ("null", "null".into(), 400, "invalid type: null"),
            ("unknown field", with("admin", json!(true)), 400, "unknown field `admin`"),
            ("unknown device field", with_device("os", json!("iOS")), 400, "unknown field `os`"),
            ("account_id not a UUID", with("account_id", json!("family-1")), 400, "account_id must be a UUID"),
            ("account_id a number", with("account_id", json!(1)), 400, "invalid type: integer"),
            ("challenge_id a number", with("challenge_id", json!(1)), 400, "invalid type: integer"),
            ("challenge_id null", with("challenge_id", Value::Null), 400, "invalid type: null"),
            (
                "challenge_id with a NUL",
                with("challenge_id", json!(format!("{challenge_id}\u{0}"))),
                400,
                "challenge_id must be a UUID",
            ),
            ("challenge_id not a UUID", with("challenge_id", json!("challenge-1")), 400, "challenge_id must be a UUID"),
            ("nonce not base64", with("nonce", json!("%%%")), 400, "expected a base64 string"),
            ("nonce a number", with("nonce", json!(42)), 400, "invalid type: integer"),
            ("device a string", with("device", json!("New phone")), 400, "invalid type: string"),
            ("device key not base64", with_device("public_key", json!("!!")), 400, "expected a base64 string"),
            ("device name a number", with_device("name", json!(7)), 400, "invalid type: integer"),
            ("missing nonce", without("nonce"), 400, "missing field `nonce`"),
            ("missing challenge_id", without("challenge_id"), 400, "missing field `challenge_id`"),
            ("missing device", without("device"), 400, "missing field `device`"),
            ("short device key", with_device("public_key", key(31)), 422, "device.public_key: must be"),
            ("long device key", with_device("public_key", key(33)), 422, "device.public_key: must be"),
            ("empty device key", with_device("public_key", key(0)), 422, "device.public_key: must be"),
            ("blank name", with_device("name", json!("   ")), 422, "device.name: must be"),
            ("name too long", with_device("name", json!("n".repeat(101))), 422, "device.name: must be"),
            ("control characters", with_device("name", json!("Phone\u{0}\n")), 422, "control characters"),
            ("over the body limit", with_device("name", json!("n".repeat(MAX_BODY))), 413, &limit),
        ];
        for (what, body, status, says) in &cases {
            let detail = post_json(&server.url("/accounts/v1/recovery/enrol"), None, body).problem(*status);
            assert!(detail.contains(says), "{what}: {detail}");
        }
        for content_type in [Some("text/plain"), None] {
            let url = server.url("/accounts/v1/recovery/enrol");
            send("POST", &url, None, content_type, Some(good.to_string().as_bytes())).problem(415);
        }
        assert_eq!(inspector.snapshot(&dev.account_id), before, "no device, the challenge still unspent");
        assert_eq!(audit_trail(&dev), trail, "a request that never reached the challenge is not audited");
        assert_eq!(device_names(&dev), vec!["Mother's phone".to_owned()]);

        // The challenge is still good for the well-formed request.
        let reply = enrol(&server, &good);
        assert_eq!(reply.status, 201, "{reply:?}");
        assert_eq!(device_names(&dev), vec!["Mother's phone".to_owned(), "New phone".to_owned()]);
        assert_eq!(inspector.count_rows("recovery_challenges", &dev.account_id), 0);
    }
}

phr_tests::backend_test! {
    fn wrong_recovery_nonces_and_forged_reused_expired_or_foreign_challenges_are_401_audited_as_denied_and_add_no_device(db) {
        // Every attempt here reaches the recovery limits (per address and account).
        let (_dir, server) = start(&db, &["--auth-rate-burst", "1000"]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let other = Device::create_account(&server.base_url, "Another family");
        let devices = inspector.total_rows("devices");
        let mut expected = audit_trail(&dev);
        let other_trail = audit_trail(&other);
        let (spare_id, spare_nonce, _) = recovery_challenge(&server, &dev);
        expected.push("recovery_challenge_issued:success".into());
        let acc = dev.account_id.as_str();

        // A wrong proof spends the challenge: the right nonce afterwards is too late.
        for what in ["an empty nonce", "a guessed nonce", "the sealed nonce echoed back", "another challenge's nonce"] {
            let (challenge_id, nonce, sealed) = recovery_challenge(&server, &dev);
            expected.push("recovery_challenge_issued:success".into());
            let wrong = match what {
                "an empty nonce" => Vec::new(),
                "a guessed nonce" => Uuid::new_v4().as_bytes().repeat(2),
                "the sealed nonce echoed back" => sealed,
                _ => spare_nonce.clone(),
            };
            let detail = enrol(&server, &enrol_json(acc, &challenge_id, &wrong, "Thief")).problem(401);
            assert!(detail.contains("does not match"), "{what}: {detail}");
            let detail = enrol(&server, &enrol_json(acc, &challenge_id, &nonce, "Thief")).problem(401);
            assert!(detail.contains("already used"), "{what}, then the right nonce: {detail}");
            expected.extend(["device_recovered:denied".to_owned(), "device_recovered:denied".to_owned()]);
        }

        // A made-up challenge id.
        let detail = enrol(&server, &enrol_json(acc, &Uuid::new_v4().to_string(), &spare_nonce, "Thief")).problem(401);
        assert!(detail.contains("unknown or already used"), "{detail}");
        expected.push("device_recovered:denied".into());

        // Another account's challenge, opened with that account's key, is not ours, and stays unspent.
        let (their_id, their_nonce, _) = recovery_challenge(&server, &other);
        let detail = enrol(&server, &enrol_json(acc, &their_id, &their_nonce, "Thief")).problem(401);
        assert!(detail.contains("unknown or already used"), "{detail}");
        expected.push("device_recovered:denied".into());
        assert_eq!(inspector.count_rows("recovery_challenges", &other.account_id), 1);
        // Our challenge presented for the other account: denied there, ours stays unspent.
        let detail = enrol(&server, &enrol_json(&other.account_id, &spare_id, &spare_nonce, "Thief")).problem(401);
        assert!(detail.contains("unknown or already used"), "{detail}");

        // An expired challenge, even with the right nonce.
        let (challenge_id, nonce, _) = recovery_challenge(&server, &dev);
        expected.push("recovery_challenge_issued:success".into());
        diesel::update(
            recovery_challenges::table
                .filter(recovery_challenges::account_id.eq(acc))
                .filter(recovery_challenges::challenge_id.eq(&challenge_id)),
        )
        .set(recovery_challenges::expires_at.eq(0i64))
        .execute(&mut *inspector.conn())
        .unwrap();
        let detail = enrol(&server, &enrol_json(acc, &challenge_id, &nonce, "Thief")).problem(401);
        assert!(detail.contains("expired"), "{detail}");
        expected.push("device_recovered:denied".into());

        // An account that does not exist: nothing to audit anywhere.
        let audit_rows = inspector.total_rows("audit_events");
        let nobody = Uuid::now_v7().to_string();
        let detail = enrol(&server, &enrol_json(&nobody, &spare_id, &spare_nonce, "Thief")).problem(401);
        assert!(detail.contains("unknown account or challenge"), "{detail}");
        assert_eq!(inspector.total_rows("audit_events"), audit_rows);

        assert_eq!(inspector.total_rows("devices"), devices, "no device was added to any account");
        assert_eq!(device_names(&dev), vec!["Mother's phone".to_owned()]);
        assert_eq!(audit_trail(&dev), expected, "each refusal is in the family's audit log");
        let mut other_expected = other_trail;
        other_expected.extend(["recovery_challenge_issued:success".to_owned(), "device_recovered:denied".to_owned()]);
        assert_eq!(audit_trail(&other), other_expected);
        assert_eq!(inspector.count_rows("recovery_challenges", acc), 1, "only the spare challenge is left");

        // The spare challenge survived every wrong attempt; it works once, and a replay adds nothing.
        let genuine = enrol_json(acc, &spare_id, &spare_nonce, "New phone");
        let reply = enrol(&server, &genuine);
        assert_eq!(reply.status, 201, "{reply:?}");
        let detail = enrol(&server, &genuine).problem(401);
        assert!(detail.contains("already used"), "{detail}");
        assert_eq!(device_names(&dev), vec!["Mother's phone".to_owned(), "New phone".to_owned()]);
        expected.extend(["device_recovered:success".to_owned(), "device_recovered:denied".to_owned()]);
        assert_eq!(audit_trail(&dev), expected);
    }
}

phr_tests::backend_test! {
    /// Item 7 of issue 12: dates are accepted from 1900-01-01 to 2200-12-31
    /// only (`phr_core::dates`). A pushed change whose `effective_date` lies
    /// outside — year 0, year -1, year 10000, or just past either end — is 422
    /// naming `changes[i].effective_date`, and nothing of the batch is stored;
    /// both ends themselves are accepted.
    fn pushed_effective_dates_outside_1900_to_2200_are_422_naming_the_field_and_store_nothing(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = family(&server);
        let before = inspector.snapshot(&dev.account_id);

        let dated = |date: &str| {
            let mut c = new_change(&dev);
            c.effective_date = Some(date.parse().unwrap());
            c
        };
        let batch = [
            dated("2026-03-01"),
            dated("0000-01-01"),
            dated("-0001-12-31"),
            dated("+10000-01-01"),
            dated("1899-12-31"),
            dated("2201-01-01"),
        ];
        let body = push_body(&batch);
        assert!(body.contains("\"+10000-01-01\"") && body.contains("\"-0001-12-31\""), "{body}");
        let reply = push(&server, &dev, &body);
        reply.problem(422);
        let paths: Vec<&str> =
            reply.body["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
        for i in 1..batch.len() {
            assert!(paths.contains(&format!("changes[{i}].effective_date").as_str()), "{i}: {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.starts_with("changes[0]")), "the valid change is not blamed: {paths:?}");
        assert!(reply.body.to_string().contains("1900-01-01 to 2200-12-31"), "{}", reply.body);
        assert_eq!(inspector.snapshot(&dev.account_id), before, "nothing of the batch was stored");
        assert_pull_shows_nothing_after(&dev, 1);

        // The ends of the range are dates like any other.
        let ends = [dated("1900-01-01"), dated("2200-12-31")];
        let reply = push(&server, &dev, &push_body(&ends));
        assert_eq!(reply.status, 200, "{reply:?}");
    }
}
