//! Accounts and devices end to end (issue item 1), on every configured
//! backend: account creation by the first device, challenge sign-in, access
//! and refresh tokens, pairing, the device list, device removal, and account
//! erasure checked table by table in the database itself.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use diesel::prelude::*;
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{sign_in_message, ChallengeResponse, DeviceInfo, PairingCodeResponse};
use phr_server::store::schema::{
    auth_challenges, consent_grants, devices, grant_record_keys, pairing_codes, refresh_tokens,
};
use phr_tests::client::Device;
use phr_tests::inspect::{post_json, send, Inspector};
use phr_tests::{ServerProcess, TestDatabase};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

fn start(db: &TestDatabase, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    phr_tests::start_server(Path::new(BIN), db, extra_args)
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("JWT part");
    serde_json::from_slice(&B64URL.decode(part).expect("base64url JWT part")).expect("JSON JWT part")
}

fn sha256_hex(s: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn random_key() -> Ed25519KeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

fn challenge(server: &ServerProcess, dev: &Device) -> ChallengeResponse {
    let reply = post_json(
        &server.url("/auth/v1/challenge"),
        None,
        &json!({"account_id": dev.account_id, "device_id": dev.device_id}).to_string(),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    serde_json::from_value(reply.body).unwrap()
}

fn session_body(dev: &Device, c: &ChallengeResponse, signature: &[u8]) -> String {
    json!({
        "account_id": dev.account_id,
        "device_id": dev.device_id,
        "challenge_id": c.challenge_id,
        "signature": STANDARD.encode(signature),
    })
    .to_string()
}

fn signed_session_body(dev: &Device, c: &ChallengeResponse) -> String {
    session_body(dev, c, &dev.sign(&sign_in_message(&dev.account_id, &dev.device_id, &c.challenge_id, &c.nonce)))
}

fn refresh_body(token: &str) -> String {
    json!({ "refresh_token": token }).to_string()
}

fn join_body(account_id: &str, code: &str) -> String {
    json!({
        "account_id": account_id,
        "pairing_code": code,
        "device": { "public_key": STANDARD.encode(random_key().public_key().as_ref()), "name": "Tablet" },
    })
    .to_string()
}

fn pair(first: &Device, name: &str) -> Device {
    let code = first.pairing_code();
    Device::join(&first.server, &first.account_id, &first.account_key_bytes(), &code, name)
        .unwrap_or_else(|e| panic!("join: {e:?}"))
}

fn device_list(dev: &Device) -> Vec<DeviceInfo> {
    let (status, body) = dev.call("GET", "/accounts/v1/devices", None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

fn refresh_tokens_of(inspector: &Inspector, account: &str, device: &str) -> Vec<(String, Option<i64>)> {
    refresh_tokens::table
        .filter(refresh_tokens::account_id.eq(account))
        .filter(refresh_tokens::device_id.eq(device))
        .select((refresh_tokens::token_hash, refresh_tokens::used_at))
        .load(&mut *inspector.conn())
        .unwrap()
}

fn device_count(inspector: &Inspector, account: &str) -> i64 {
    inspector.count_rows("devices", account)
}

phr_tests::backend_test! {
    fn creating_an_account_signs_in_with_a_short_lived_eddsa_token_and_a_refresh_token_stored_hashed(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");

        let (status, info) = dev.call("GET", "/accounts/v1", None);
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["account_id"], dev.account_id.as_str());
        assert_eq!(STANDARD.decode(info["account_public_key"].as_str().unwrap()).unwrap().len(), 32);
        assert_eq!((info["change_seq"].as_i64(), info["record_count"].as_i64()), (Some(0), Some(0)));

        let header = jwt_part(&dev.access_token, 0);
        let claims = jwt_part(&dev.access_token, 1);
        assert_eq!(header["alg"], "EdDSA");
        assert!(header["kid"].is_string(), "{header}");
        assert_eq!(claims["sub"], dev.device_id.as_str());
        assert_eq!(claims["acc"], dev.account_id.as_str());
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(lifetime > 0 && lifetime <= 15 * 60, "access tokens live at most 15 minutes: {lifetime} s");

        let stored = refresh_tokens_of(&inspector, &dev.account_id, &dev.device_id);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].0, sha256_hex(&dev.refresh_token), "only the token's hash is stored");
        assert!(!stored[0].0.contains(&dev.refresh_token));

        let devices: Vec<(String, Vec<u8>)> = devices::table
            .filter(devices::account_id.eq(&dev.account_id))
            .select((devices::device_id, devices::public_key))
            .load(&mut *inspector.conn())
            .unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].0, dev.device_id);
        assert_eq!(devices[0].1.len(), 32, "the device's Ed25519 public key");
        let list = device_list(&dev);
        assert_eq!(list.len(), 1);
        assert!(list[0].current);
    }
}

phr_tests::backend_test! {
    fn a_challenge_signed_by_another_key_is_refused_and_every_challenge_is_single_use(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        let session_url = server.url("/auth/v1/session");

        // Signed by a key that is not the device's: refused, and the challenge is gone.
        let c = challenge(&server, &dev);
        let wrong = random_key();
        let message = sign_in_message(&dev.account_id, &dev.device_id, &c.challenge_id, &c.nonce);
        let detail = post_json(&session_url, None, &session_body(&dev, &c, wrong.sign(&message).as_ref())).problem(401);
        assert!(detail.contains("signature"), "{detail}");
        let detail = post_json(&session_url, None, &signed_session_body(&dev, &c)).problem(401);
        assert!(detail.contains("already used"), "a refused challenge cannot be retried: {detail}");

        // A correct signature over a different message (another nonce) is refused too.
        let c = challenge(&server, &dev);
        let other = dev.sign(&sign_in_message(&dev.account_id, &dev.device_id, &c.challenge_id, b"another nonce"));
        post_json(&session_url, None, &session_body(&dev, &c, &other)).problem(401);

        // A good answer works once; the very same request replayed is refused.
        let c = challenge(&server, &dev);
        let body = signed_session_body(&dev, &c);
        let ok = post_json(&session_url, None, &body);
        assert_eq!(ok.status, 200, "{ok:?}");
        post_json(&session_url, None, &body).problem(401);

        // An expired challenge is refused.
        let c = challenge(&server, &dev);
        diesel::update(auth_challenges::table.filter(auth_challenges::challenge_id.eq(&c.challenge_id)))
            .set(auth_challenges::expires_at.eq(0i64))
            .execute(&mut *inspector.conn())
            .unwrap();
        let detail = post_json(&session_url, None, &signed_session_body(&dev, &c)).problem(401);
        assert!(detail.contains("expired"), "{detail}");

        // Challenges for devices that are not in the account.
        let unknown = json!({"account_id": dev.account_id, "device_id": Uuid::now_v7()}).to_string();
        post_json(&server.url("/auth/v1/challenge"), None, &unknown).problem(401);
        let unknown = json!({"account_id": Uuid::now_v7(), "device_id": dev.device_id}).to_string();
        post_json(&server.url("/auth/v1/challenge"), None, &unknown).problem(401);

        // Only the two successful sign-ins left a refresh token; no challenge is left over.
        assert_eq!(refresh_tokens_of(&inspector, &dev.account_id, &dev.device_id).len(), 2);
        assert_eq!(inspector.count_rows("auth_challenges", &dev.account_id), 0);
    }
}

phr_tests::backend_test! {
    fn expired_forged_and_foreign_access_tokens_are_refused_with_401(db) {
        let (_dir, server) = start(&db, &[]);
        let a = Device::create_account(&server.base_url, "A");
        let b = Device::create_account(&server.base_url, "B");
        let (keys, _) = phr_server::keys::KeyStore::open_or_create(&server.data_dir.join("keys")).unwrap();
        let ours = phr_server::app::auth::TokenService::new(&keys).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let (foreign_keys, _) = phr_server::keys::KeyStore::open_or_create(foreign_dir.path()).unwrap();
        let foreign = phr_server::app::auth::TokenService::new(&foreign_keys).unwrap();

        let expired = ours.issue(&a.account_id, &a.device_id, now_secs() - 3600).unwrap().0;
        let other_server = foreign.issue(&a.account_id, &a.device_id, now_secs()).unwrap().0;
        let unknown_device = ours.issue(&a.account_id, &Uuid::now_v7().to_string(), now_secs()).unwrap().0;
        // A's signed token with B's ids put in: the signature no longer matches.
        let mut claims = jwt_part(&a.access_token, 1);
        claims["acc"] = json!(b.account_id);
        claims["sub"] = json!(b.device_id);
        let parts: Vec<&str> = a.access_token.split('.').collect();
        let swapped = format!("{}.{}.{}", parts[0], B64URL.encode(claims.to_string()), parts[2]);
        let unsigned = format!("{}.{}.", B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        let hs256 = format!("{}.{}.{}", B64URL.encode(r#"{"alg":"HS256","typ":"JWT"}"#), parts[1], parts[2]);
        let truncated = a.access_token[..a.access_token.len() - 4].to_owned();

        let cases: Vec<(&str, Option<String>)> = vec![
            ("expired", Some(expired)),
            ("signed by another server", Some(other_server)),
            ("for a device not in the account", Some(unknown_device)),
            ("payload swapped", Some(swapped)),
            ("alg none", Some(unsigned)),
            ("alg HS256", Some(hs256)),
            ("truncated signature", Some(truncated)),
            ("not a JWT", Some("not-a-jwt".to_owned())),
            ("missing", None),
        ];
        for (what, token) in &cases {
            for path in ["/accounts/v1", "/sync/v1/pull", "/accounts/v1/devices"] {
                let reply = send("GET", &server.url(path), token.as_deref(), None, None);
                let detail = reply.problem(401);
                if *what == "expired" {
                    assert!(detail.contains("expired"), "{detail}");
                }
            }
            let push = json!({"batch_id": Uuid::now_v7(), "changes": []}).to_string();
            post_json(&server.url("/sync/v1/push"), token.as_deref(), &push).problem(401);
        }
        // Other schemes than Bearer.
        let reply = http_with_auth(&server.url("/accounts/v1"), &format!("Basic {}", a.access_token));
        assert_eq!(reply, 401);
        // The genuine tokens still work, and saw nothing of each other.
        let (status, info) = a.call("GET", "/accounts/v1", None);
        assert_eq!((status, info["account_id"].as_str()), (200, Some(a.account_id.as_str())));
        let (status, info) = b.call("GET", "/accounts/v1", None);
        assert_eq!((status, info["account_id"].as_str()), (200, Some(b.account_id.as_str())));
    }
}

fn http_with_auth(url: &str, authorization: &str) -> u16 {
    phr_tests::http().get(url).header("Authorization", authorization).call().unwrap().status().as_u16()
}

phr_tests::backend_test! {
    fn refresh_rotates_the_tokens_and_reusing_a_rotated_refresh_token_revokes_the_device_sessions(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let refresh_url = server.url("/auth/v1/refresh");
        let mut dev = Device::create_account(&server.base_url, "Mother's phone");
        let mut other = pair(&dev, "Father's phone");

        let first = dev.refresh_token.clone();
        let first_access = dev.access_token.clone();
        dev.refresh().expect("refresh");
        assert_ne!(dev.refresh_token, first);
        assert_ne!(dev.access_token, first_access);
        assert_eq!(dev.call("GET", "/accounts/v1", None).0, 200, "the new access token works");
        let stored = refresh_tokens_of(&inspector, &dev.account_id, &dev.device_id);
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().any(|(h, used)| *h == sha256_hex(&first) && used.is_some()), "{stored:?}");

        // The rotated token comes back (a stolen copy): refused, and the device's
        // current refresh token stops working too.
        let detail = post_json(&refresh_url, None, &refresh_body(&first)).problem(401);
        assert!(detail.contains("already used"), "{detail}");
        assert!(refresh_tokens_of(&inspector, &dev.account_id, &dev.device_id).is_empty());
        let (status, body) = dev.refresh().unwrap_err();
        assert_eq!((status, body["status"].as_i64()), (401, Some(401)), "{body}");
        post_json(&refresh_url, None, &refresh_body(&first)).problem(401);

        // Only that device: the other device of the family keeps its session.
        other.refresh().expect("the other device's refresh token is untouched");
        // Signing in again starts a new chain.
        dev.sign_in().expect("sign in again");
        dev.refresh().expect("refresh after signing in again");

        // Tokens that never existed, or are not even shaped like one.
        let made_up = format!("{}.{}", dev.account_id, B64URL.encode([7u8; 32]));
        for token in [made_up.as_str(), "garbage", "", "a.b"] {
            post_json(&refresh_url, None, &refresh_body(token)).problem(401);
        }
    }
}

phr_tests::backend_test! {
    fn a_second_device_joins_with_a_single_use_pairing_code_and_the_list_marks_the_current_device(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let join_url = server.url("/accounts/v1/join");
        let first = Device::create_account(&server.base_url, "Mother's phone");
        let stranger = Device::create_account(&server.base_url, "Another family");

        let (status, body) = first.call("POST", "/accounts/v1/pairing-codes", None);
        assert_eq!(status, 201, "{body}");
        let code: PairingCodeResponse = serde_json::from_value(body).unwrap();
        let ttl_ms = code.expires_at - now_secs() * 1000;
        assert!(ttl_ms > 9 * 60 * 1000 && ttl_ms <= 10 * 60 * 1000 + 1000, "pairing codes live 10 minutes: {ttl_ms}");

        for wrong in ["ABCDE-FGHJK", "00000-00000", "short", ""] {
            post_json(&join_url, None, &join_body(&first.account_id, wrong)).problem(401);
        }
        // The code only opens the account it was issued for.
        post_json(&join_url, None, &join_body(&stranger.account_id, &code.pairing_code)).problem(401);
        assert_eq!(device_count(&inspector, &first.account_id), 1);
        assert_eq!(device_count(&inspector, &stranger.account_id), 1);

        // Typed in lower case: still the same code.
        let second = Device::join(
            &server.base_url,
            &first.account_id,
            &first.account_key_bytes(),
            &code.pairing_code.to_lowercase(),
            "Father's phone",
        )
        .expect("join with the pairing code");
        post_json(&join_url, None, &join_body(&first.account_id, &code.pairing_code)).problem(401);
        assert_eq!(device_count(&inspector, &first.account_id), 2, "a used code adds no device");

        // An expired code is refused.
        let late = first.pairing_code();
        diesel::update(pairing_codes::table.filter(pairing_codes::account_id.eq(&first.account_id)))
            .set(pairing_codes::expires_at.eq(0i64))
            .execute(&mut *inspector.conn())
            .unwrap();
        post_json(&join_url, None, &join_body(&first.account_id, &late)).problem(401);
        assert_eq!(device_count(&inspector, &first.account_id), 2);

        for (me, other) in [(&first, &second), (&second, &first)] {
            let list = device_list(me);
            assert_eq!(list.len(), 2, "{list:?}");
            let mine = list.iter().find(|d| d.device_id == me.device_id).expect("own device listed");
            let theirs = list.iter().find(|d| d.device_id == other.device_id).expect("other device listed");
            assert!(mine.current && !theirs.current, "{list:?}");
        }
        assert_eq!(list_names(&first), vec!["Father's phone".to_owned(), "Mother's phone".to_owned()]);
        assert_eq!(device_list(&stranger).len(), 1, "another account sees only its own device");
    }
}

fn list_names(dev: &Device) -> Vec<String> {
    let mut names: Vec<String> = device_list(dev).into_iter().map(|d| d.name).collect();
    names.sort();
    names
}

phr_tests::backend_test! {
    fn removing_a_device_stops_its_access_and_refresh_tokens_at_once(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let mut first = Device::create_account(&server.base_url, "Mother's phone");
        let mut second = pair(&first, "Old tablet");
        let record = Uuid::now_v7();
        second.edit(record, RecordKind::SelfVitals, Subject::Mother, json!({"weight_kg": 61.5}));
        second.sync();

        let (status, body) = first.call("DELETE", &format!("/accounts/v1/devices/{}", second.device_id), None);
        assert_eq!(status, 204, "{body}");

        // The removed device's still unexpired access token fails on the very next request.
        let token = second.access_token.clone();
        for path in ["/accounts/v1", "/accounts/v1/devices", "/sync/v1/pull"] {
            let detail = send("GET", &server.url(path), Some(&token), None, None).problem(401);
            assert!(detail.contains("removed"), "{detail}");
        }
        let push = json!({"batch_id": Uuid::now_v7(), "changes": [second.sealed_change(record)]}).to_string();
        post_json(&server.url("/sync/v1/push"), Some(&token), &push).problem(401);
        post_json(&server.url("/accounts/v1/pairing-codes"), Some(&token), "").problem(401);
        post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&second.refresh_token)).problem(401);
        assert!(second.refresh().is_err());
        assert!(second.sign_in().is_err(), "a removed device cannot sign in again");
        assert!(refresh_tokens_of(&inspector, &first.account_id, &second.device_id).is_empty());
        assert_eq!(device_count(&inspector, &first.account_id), 1);
        assert_eq!(inspector.counters(&first.account_id), Some((1, 1)), "the refused push stored nothing");

        let list = device_list(&first);
        assert_eq!(list.iter().map(|d| d.device_id.as_str()).collect::<Vec<_>>(), vec![first.device_id.as_str()]);
        let path = format!("/accounts/v1/devices/{}", second.device_id);
        send("DELETE", &server.url(&path), Some(&first.access_token), None, None).problem(404);
        send("DELETE", &server.url("/accounts/v1/devices/not-a-uuid"), Some(&first.access_token), None, None)
            .problem(404);
        // What the removed device wrote stays with the family.
        first.sync();
        assert_eq!(first.current(&record), Some(&json!({"weight_kg": 61.5})));
    }
}

/// A grant row and one wrapped record key, written straight into the tables
/// (the consent API has its own tests); erasure must take them too.
fn insert_consent_rows(inspector: &Inspector, account: &str, record_id: &str) {
    let grant_id = Uuid::now_v7().to_string();
    let mut conn = inspector.conn();
    diesel::insert_into(consent_grants::table)
        .values((
            consent_grants::account_id.eq(account),
            consent_grants::grant_id.eq(&grant_id),
            consent_grants::organization_id.eq("clinic-1"),
            consent_grants::grant_json.eq("{}"),
            consent_grants::state.eq("active"),
            consent_grants::wrapped_grant_key.eq(Some(vec![1u8; 48])),
            consent_grants::view_kid.eq("view-1"),
            consent_grants::created_at.eq(1i64),
            consent_grants::created_by.eq("device:x"),
            consent_grants::revoked_at.eq(None::<i64>),
        ))
        .execute(&mut *conn)
        .unwrap();
    diesel::insert_into(grant_record_keys::table)
        .values((
            grant_record_keys::account_id.eq(account),
            grant_record_keys::grant_id.eq(&grant_id),
            grant_record_keys::record_id.eq(record_id),
            grant_record_keys::wrapped_key.eq(vec![2u8; 60]),
        ))
        .execute(&mut *conn)
        .unwrap();
}

/// An account with data in every table: two devices, records (edited and
/// deleted), push batches, a used and a fresh refresh token, an unused
/// pairing code, an open challenge, consent rows, audit events.
fn populated_family(server: &ServerProcess, inspector: &Inspector, name: &str) -> (Device, Device) {
    let mut first = Device::create_account(&server.base_url, name);
    let mut second = pair(&first, "Tablet");
    let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    for (i, id) in ids.iter().enumerate() {
        first.edit(*id, RecordKind::Immunization, Subject::Mother, json!({"dose": i}));
    }
    first.sync();
    second.sync();
    second.edit(ids[0], RecordKind::Immunization, Subject::Mother, json!({"dose": 0, "lot": "A1"}));
    second.delete(ids[1]);
    second.sync();
    second.refresh().unwrap();
    first.pairing_code();
    challenge(server, &first);
    insert_consent_rows(inspector, &first.account_id, &ids[2].to_string());
    (first, second)
}

phr_tests::backend_test! {
    fn deleting_an_account_erases_every_row_of_it_in_every_table_and_keeps_other_accounts(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let (a1, mut a2) = populated_family(&server, &inspector, "Family A");
        let (mut b1, _b2) = populated_family(&server, &inspector, "Family B");

        let before_a = inspector.rows_per_table(&a1.account_id);
        let before_b = inspector.snapshot(&b1.account_id);
        for table in [
            "accounts",
            "devices",
            "auth_challenges",
            "refresh_tokens",
            "pairing_codes",
            "records",
            "push_batches",
            "consent_grants",
            "grant_record_keys",
            "audit_events",
        ] {
            assert!(
                before_a.get(table).copied().unwrap_or(0) > 0,
                "family A should have rows in {table}: {before_a:?}"
            );
        }

        let (status, body) = a1.call("DELETE", "/accounts/v1", None);
        assert_eq!(status, 204, "{body}");

        let after_a = inspector.rows_per_table(&a1.account_id);
        assert_eq!(after_a.len(), before_a.len());
        for (table, rows) in &after_a {
            if TOMBSTONE_TABLES.contains(&table.as_str()) {
                continue;
            }
            assert_eq!(*rows, 0, "{table} still holds {rows} rows of the erased account");
        }
        // Only the tombstone stays: one row per device, the refresh tokens still valid.
        assert_eq!(after_a["tombstone_devices"], 2, "{after_a:?}");
        assert!(after_a["tombstone_refresh_tokens"] >= 2, "{after_a:?}");
        assert_eq!(inspector.snapshot(&b1.account_id), before_b, "another account is untouched");

        // Every credential of the erased account is dead: its devices are told the
        // account is gone (a_device_of_a_deleted_account_is_told_410_… has the details).
        for dev in [&a1, &a2] {
            assert_account_deleted(&send("GET", &server.url("/accounts/v1"), Some(&dev.access_token), None, None));
            assert_account_deleted(&send("GET", &server.url("/sync/v1/pull"), Some(&dev.access_token), None, None));
        }
        assert_account_deleted(&post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&a2.refresh_token)));
        assert!(a2.sign_in().is_err());

        // The other family still syncs all of its records.
        let before = b1.records.len();
        b1.cursor = 0;
        b1.pull();
        assert_eq!(b1.records.len(), before);
        assert_eq!(b1.call("GET", "/accounts/v1", None).0, 200);
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn codes_issued_by(inspector: &Inspector, account: &str, device: &str) -> i64 {
    pairing_codes::table
        .filter(pairing_codes::account_id.eq(account))
        .filter(pairing_codes::created_by.eq(device))
        .count()
        .get_result(&mut *inspector.conn())
        .unwrap()
}

phr_tests::backend_test! {
    /// A stolen phone's pairing code dies with the phone: removing the device
    /// removes the codes it issued, `join` refuses them (and any code whose
    /// issuer is gone) with a 401, and no device is added.
    fn a_removed_device_cannot_redeem_its_pairing_codes(db) {
        let (_dir, server) = start(&db, &[]);
        let inspector = Inspector::open(&db);
        let first = Device::create_account(&server.base_url, "Mother's phone");
        let stolen = pair(&first, "Stolen phone");
        let code = stolen.pairing_code();
        assert_eq!(codes_issued_by(&inspector, &first.account_id, &stolen.device_id), 1);

        let (status, body) = first.call("DELETE", &format!("/accounts/v1/devices/{}", stolen.device_id), None);
        assert_eq!(status, 204, "{body}");
        assert_eq!(codes_issued_by(&inspector, &first.account_id, &stolen.device_id), 0, "its codes went with it");
        let devices = device_count(&inspector, &first.account_id);
        let detail = post_json(&server.url("/accounts/v1/join"), None, &join_body(&first.account_id, &code)).problem(401);
        assert!(detail.contains("pairing code"), "{detail}");
        assert_eq!(device_count(&inspector, &first.account_id), devices, "the thief is not a device again");

        // A code row whose issuer no longer exists (left behind by anything) is refused as well.
        let orphan = "7K2M9-QX4TB";
        diesel::insert_into(pairing_codes::table)
            .values((
                pairing_codes::account_id.eq(&first.account_id),
                pairing_codes::code_hash.eq(sha256_hex("7K2M9QX4TB")),
                pairing_codes::created_by.eq(Uuid::now_v7().to_string()),
                pairing_codes::expires_at.eq(now_ms() + 600_000),
                pairing_codes::used_at.eq(None::<i64>),
            ))
            .execute(&mut *inspector.conn())
            .unwrap();
        post_json(&server.url("/accounts/v1/join"), None, &join_body(&first.account_id, orphan)).problem(401);
        assert_eq!(device_count(&inspector, &first.account_id), devices);

        // Codes of a device still in the family keep working.
        let tablet = pair(&first, "Tablet");
        assert_eq!(device_count(&inspector, &first.account_id), devices + 1);
        assert_eq!(list_names(&tablet), ["Mother's phone", "Tablet"]);
    }
}

/// The account id written in every way that names the same UUID.
fn spellings(account_id: &str) -> Vec<String> {
    let id = Uuid::parse_str(account_id).unwrap();
    vec![
        id.hyphenated().to_string(),
        id.hyphenated().to_string().to_uppercase(),
        id.simple().to_string(),
        id.braced().to_string(),
        id.urn().to_string(),
    ]
}

phr_tests::backend_test! {
    /// Someone who knows only the account id floods challenge, session,
    /// refresh and join from another address (127.0.0.2), with random device
    /// ids and every spelling of the account id: he is answered 429, and
    /// meanwhile the real device signs in (challenge + session) and refreshes
    /// normally, round after round.
    fn a_flood_with_random_device_ids_slows_the_attacker_and_not_the_family(db) {
        let (_dir, server) = start(&db, &[]);
        let mut real = Device::create_account(&server.base_url, "Mother's phone");
        let attacker = Ipv4Addr::new(127, 0, 0, 2);
        let names = spellings(&real.account_id);
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        let flood_started = std::time::Instant::now();
        for round in 0..6 {
            for i in 0..50 {
                let account = &names[(round + i) % names.len()];
                let device = Uuid::new_v4().to_string();
                let (path, body) = match i % 4 {
                    0 => ("/auth/v1/challenge", json!({"account_id": account, "device_id": device}).to_string()),
                    1 => (
                        "/auth/v1/session",
                        json!({
                            "account_id": account,
                            "device_id": device,
                            "challenge_id": Uuid::new_v4(),
                            "signature": STANDARD.encode([7u8; 64]),
                        })
                        .to_string(),
                    ),
                    2 => ("/auth/v1/refresh", refresh_body(&format!("{account}.{}", "A".repeat(43)))),
                    _ => ("/accounts/v1/join", join_body(account, "ABCDE-FGHJK")),
                };
                *statuses.entry(phr_tests::post_json_from(attacker, &server.base_url, path, &body)).or_default() += 1;
            }
            real.sign_in().unwrap_or_else(|e| panic!("round {round}: the real device cannot sign in: {e}"));
            real.refresh().unwrap_or_else(|e| panic!("round {round}: the real device cannot refresh: {e:?}"));
            let (status, body) = real.call("GET", "/accounts/v1", None);
            assert_eq!(status, 200, "round {round}: {body}");
        }
        assert!(statuses.keys().all(|s| [401, 429].contains(s)), "only refusals: {statuses:?}");
        // His address gets the default budget (burst 20, 1 per second) of refusals, and no more.
        let refused_in_full = statuses.get(&401).copied().unwrap_or(0);
        let budget = 20 + flood_started.elapsed().as_secs() as usize + 1;
        assert!(refused_in_full <= budget, "the attacker is slowed down: {statuses:?} in {:?}", flood_started.elapsed());
        assert_eq!(refused_in_full + statuses.get(&429).copied().unwrap_or(0), 300);
        // His made-up sessions reach the family's audit log only as counted entries (1st, 2nd, 4th…).
        let denied: Vec<Option<u64>> = real
            .audit_events()
            .iter()
            .filter(|e| e["action"] == "sign_in" && e["outcome"] == "denied")
            .map(|e| e["occurrences"].as_u64())
            .collect();
        let powers: Vec<Option<u64>> = (0..denied.len() as u32).map(|i| Some(1 << i)).collect();
        assert!(!denied.is_empty() && denied == powers, "{denied:?}");
    }
}

fn put_key_backup(dev: &Device) {
    let backup = json!({
        "kdf": phr_core::sync::protocol::KEY_BACKUP_KDF,
        "iterations": phr_core::sync::protocol::KEY_BACKUP_MIN_ITERATIONS,
        "salt": STANDARD.encode([1u8; 16]),
        "sealed_key": STANDARD.encode([2u8; 60]),
    });
    let resp = phr_tests::http()
        .put(&format!("{}/accounts/v1/key-backup", dev.server))
        .header("Authorization", &format!("Bearer {}", dev.access_token))
        .send_json(&backup)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

/// The `occurrences` of the account's audit events with `action`, oldest first.
fn occurrences(dev: &Device, action: &str) -> Vec<Option<u64>> {
    dev.audit_events().iter().filter(|e| e["action"] == action).map(|e| e["occurrences"].as_u64()).collect()
}

phr_tests::backend_test! {
    /// Repeated fetches of the sealed key backup (the account id spelled in
    /// any way) do not write one audit event each: within a window the 1st,
    /// 2nd, 4th, 8th, 16th… fetch is recorded, each event carrying the count
    /// so far; the audit chain still verifies.
    fn repeated_recovery_fetches_are_audited_as_counted_events_not_one_each(db) {
        let (_dir, server) = start(&db, &["--auth-rate-burst", "100"]);
        let inspector = Inspector::open(&db);
        let dev = Device::create_account(&server.base_url, "Mother's phone");
        put_key_backup(&dev);
        let names = spellings(&dev.account_id);
        let url = server.url("/accounts/v1/recovery/key-backup");
        for i in 0..20 {
            let reply = post_json(&url, None, &json!({ "account_id": names[i % names.len()] }).to_string());
            assert_eq!(reply.status, 200, "fetch #{i}: {reply:?}");
        }
        assert_eq!(occurrences(&dev, "key_backup_fetched"), [Some(1), Some(2), Some(4), Some(8), Some(16)]);
        assert!(occurrences(&dev, "key_backup_stored").iter().all(Option::is_none), "ordinary events carry no count");
        assert_eq!(inspector.count_rows("audit_events", &dev.account_id), dev.audit_events().len() as i64);
        phr_server::app::audit::verify_account(&mut inspector.conn(), &dev.account_id).expect("the chain verifies");
    }
}

/// What erasure keeps of an account (ids, device public keys, token hashes, times).
const TOMBSTONE_TABLES: [&str; 2] = ["tombstone_devices", "tombstone_refresh_tokens"];

const ACCOUNT_DELETED: &str = "https://phr.example/problems/account-deleted";

/// Asserts the 410 `account-deleted` problem.
#[track_caller]
fn assert_account_deleted(reply: &phr_tests::inspect::Reply) {
    reply.problem(410);
    assert_eq!(reply.body["type"], ACCOUNT_DELETED, "{reply:?}");
}

/// Asserts a 401 that is not the account-deleted problem.
#[track_caller]
fn assert_plain_401(reply: &phr_tests::inspect::Reply) {
    reply.problem(401);
    assert_ne!(reply.body["type"], ACCOUNT_DELETED, "{reply:?}");
}

phr_tests::backend_test! {
    /// Issue 12 item 9: after one parent erases the account, the other parent's
    /// phone learns it unambiguously, whichever credential it still holds: its
    /// unexpired access token (every device endpoint), its refresh token, or a
    /// challenge signed with its device key all get 410 with the problem type
    /// `account-deleted`, while the server keeps only a tombstone of ids and
    /// keys. Nobody else can use that answer as an oracle: a device removed
    /// before the erasure, forged tokens, a wrong signature, a used challenge,
    /// guessed refresh tokens and unknown accounts keep their plain 401.
    fn a_device_of_a_deleted_account_is_told_410_account_deleted_and_nobody_else_is(db) {
        let (_dir, server) = start(&db, &["--auth-rate-burst", "1000"]);
        let inspector = Inspector::open(&db);
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let mut father = pair(&mother, "Father's phone");
        let tablet = pair(&mother, "Old tablet");
        let record = Uuid::now_v7();
        mother.edit(record, RecordKind::SelfVitals, Subject::Mother, json!({"weight_kg": 61.5}));
        mother.sync();
        father.sync();
        assert_eq!(father.current(&record), Some(&json!({"weight_kg": 61.5})));
        let (status, body) = mother.call("DELETE", &format!("/accounts/v1/devices/{}", tablet.device_id), None);
        assert_eq!(status, 204, "{body}");
        let other = Device::create_account(&server.base_url, "Another family");

        let (status, body) = mother.call("DELETE", "/accounts/v1", None);
        assert_eq!(status, 204, "{body}");

        // The father's still unexpired access token, on every kind of device endpoint.
        let token = father.access_token.clone();
        for path in ["/accounts/v1", "/accounts/v1/devices", "/sync/v1/pull", "/consent/v1/grants", "/audit/v1/events"] {
            assert_account_deleted(&send("GET", &server.url(path), Some(&token), None, None));
        }
        let push = json!({"batch_id": Uuid::now_v7(), "changes": [father.sealed_change(record)]}).to_string();
        assert_account_deleted(&post_json(&server.url("/sync/v1/push"), Some(&token), &push));
        assert_account_deleted(&post_json(&server.url("/accounts/v1/pairing-codes"), Some(&token), "{}"));
        assert_account_deleted(&send("DELETE", &server.url("/accounts/v1"), Some(&token), None, None));
        // The mother's too (the phone that erased it).
        assert_account_deleted(&send("GET", &server.url("/accounts/v1"), Some(&mother.access_token), None, None));

        // Its refresh token (and again: the answer does not wear out).
        for _ in 0..2 {
            assert_account_deleted(&post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&father.refresh_token)));
        }

        // Sign-in: the challenge is issued as before the erasure; the signature says who it is.
        let c = challenge(&server, &father);
        let reply = post_json(&server.url("/auth/v1/session"), None, &signed_session_body(&father, &c));
        assert_account_deleted(&reply);
        assert!(father.sign_in().unwrap_err().contains("410"), "the test client sees 410 too");
        // ... each challenge once, and only with the device's own key.
        assert_plain_401(&post_json(&server.url("/auth/v1/session"), None, &signed_session_body(&father, &c)));
        let c = challenge(&server, &father);
        let message = sign_in_message(&father.account_id, &father.device_id, &c.challenge_id, &c.nonce);
        let forged = random_key().sign(&message);
        assert_plain_401(&post_json(&server.url("/auth/v1/session"), None, &session_body(&father, &c, forged.as_ref())));
        // A challenge of the mother's device signed by the father's key.
        let c = challenge(&server, &mother);
        let message = sign_in_message(&mother.account_id, &mother.device_id, &c.challenge_id, &c.nonce);
        assert_plain_401(&post_json(
            &server.url("/auth/v1/session"),
            None,
            &session_body(&mother, &c, &father.sign(&message)),
        ));

        // Not an oracle: callers that never proved they were a device of the account.
        let (keys, _) = phr_server::keys::KeyStore::open_or_create(&server.data_dir.join("keys")).unwrap();
        let ours = phr_server::app::auth::TokenService::new(&keys).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let (foreign_keys, _) = phr_server::keys::KeyStore::open_or_create(foreign_dir.path()).unwrap();
        let foreign = phr_server::app::auth::TokenService::new(&foreign_keys).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], parts[1], B64URL.encode([7u8; 64]));
        for forged in [
            foreign.issue(&father.account_id, &father.device_id, now_secs()).unwrap().0,
            ours.issue(&father.account_id, &father.device_id, now_secs() - 3600).unwrap().0,
            tampered,
        ] {
            assert_plain_401(&send("GET", &server.url("/accounts/v1"), Some(&forged), None, None));
        }
        // A device removed before the erasure keeps the answer it had.
        let detail = send("GET", &server.url("/accounts/v1"), Some(&tablet.access_token), None, None).problem(401);
        assert!(detail.contains("removed"), "{detail}");
        assert_plain_401(&post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&tablet.refresh_token)));
        let c = json!({"account_id": tablet.account_id, "device_id": tablet.device_id}).to_string();
        assert_plain_401(&post_json(&server.url("/auth/v1/challenge"), None, &c));
        // Guessed refresh tokens and made-up devices of the erased account.
        let guessed = format!("{}.{}", father.account_id, B64URL.encode([1u8; 32]));
        assert_plain_401(&post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&guessed)));
        let c = json!({"account_id": father.account_id, "device_id": Uuid::now_v7()}).to_string();
        assert_plain_401(&post_json(&server.url("/auth/v1/challenge"), None, &c));
        // An account that never existed, and a token of a device unknown to a live account.
        let c = json!({"account_id": Uuid::now_v7(), "device_id": Uuid::now_v7()}).to_string();
        assert_plain_401(&post_json(&server.url("/auth/v1/challenge"), None, &c));
        let unknown = format!("{}.{}", Uuid::now_v7(), B64URL.encode([2u8; 32]));
        assert_plain_401(&post_json(&server.url("/auth/v1/refresh"), None, &refresh_body(&unknown)));
        let stranger = ours.issue(&other.account_id, &Uuid::now_v7().to_string(), now_secs()).unwrap().0;
        assert_plain_401(&send("GET", &server.url("/accounts/v1"), Some(&stranger), None, None));
        // The other family is untouched.
        assert_eq!(other.call("GET", "/accounts/v1", None).0, 200);

        // What the server kept: ids, device keys and hashes of live refresh tokens; no record,
        // no device name, nothing of the removed tablet.
        let account = &mother.account_id;
        assert_eq!(inspector.count_rows("records", account), 0);
        assert_eq!(inspector.count_rows("devices", account), 0);
        // Two: the mother's and the father's phones, not the tablet removed before.
        assert_eq!(inspector.count_rows("tombstone_devices", account), 2);
        assert!(inspector.count_rows("tombstone_refresh_tokens", account) >= 2);
    }
}
