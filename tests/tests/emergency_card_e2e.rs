//! Emergency cards end to end (SMART Health Links), on SQLite and PostgreSQL: a night in an
//! emergency department that was never granted anything. The mother's phone made a card
//! (her summary built and encrypted on the phone, only ciphertext uploaded); the ER scans
//! it and reads the summary with no account; the family sees every access; refreshing,
//! rotating and withdrawing the card work at once; passcode guessing locks the card; and
//! an independent SHL receiver (npm `kill-the-clipboard`, when `PHR_SHL_VIEWER_DIR` names
//! where it is installed) resolves the same card.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use phr_core::crypto::shl::{seal_file, ShlKey, ShlPayload};
use phr_tests::client::Device;
use phr_tests::emergency::{
    card_from, create_card, manifest, mother_summary, read_summary, reader_agent, PushService, FHIR_JSON,
};
use phr_tests::{start_server, ServerProcess, TestDatabase};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ER: &str = "ER, Example General Hospital";
const PASSCODE: &str = "sentinel-passcode-2468";
const WRONG: &str = "sentinel-wrong-1111";

fn server(db: &TestDatabase) -> (tempfile::TempDir, ServerProcess) {
    start_server(Path::new(BIN), db, &[])
}

/// The family's audit events about cards: (action, outcome, actor).
fn card_events(device: &Device) -> Vec<(String, String, String)> {
    device
        .audit_events()
        .into_iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("emergency_card")))
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("outcome"), s("actor"))
        })
        .collect()
}

fn cards(device: &Device) -> Vec<Value> {
    let (status, body) = device.call("GET", "/emergency/v1/cards", None);
    assert_eq!(status, 200, "{body}");
    body["cards"].as_array().cloned().unwrap_or_default()
}

fn a_random_link(base: &str) -> String {
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    format!("{base}/shl/{secret}")
}

phr_tests::backend_test! {
    fn an_er_never_granted_anything_scans_the_mothers_card_reads_her_summary_and_the_family_sees_it(db) {
        let (dir, server) = server(&db);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let code = mother.pairing_code();
        let father = Device::join(&mother.server, &mother.account_id, &mother.account_key_bytes(), &code, "Father's phone")
            .expect("the father's phone joins");
        let card = create_card(&mother, &mother_summary("PHR app"), Some(PASSCODE));
        let reader = reader_agent();

        // The ER's receiver reads the QR code: a shlink:/ payload with the manifest URL and key.
        let scanned = ShlPayload::parse(&card.shlink).unwrap();
        assert!(scanned.flags.passcode && scanned.flags.long_term);

        // A wrong passcode: 401 with the attempts left, readable by a web page on any origin.
        let (status, cors, body) = manifest(&reader, &scanned.url, &json!({"recipient": ER, "passcode": WRONG}));
        assert_eq!((status, cors.as_deref()), (401, Some("*")), "{body}");
        assert_eq!(body["remainingAttempts"], 9, "{body}");
        // No recipient: 400, and nothing counted.
        let (status, _, body) = manifest(&reader, &scanned.url, &json!({"passcode": PASSCODE}));
        assert_eq!(status, 400, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("recipient"), "{body}");

        // The right passcode: the manifest, the summary embedded, decrypted with the QR's key.
        let (status, cors, m) = manifest(&reader, &scanned.url, &json!({"recipient": ER, "passcode": PASSCODE}));
        assert_eq!((status, cors.as_deref()), (200, Some("*")), "{m}");
        assert_eq!(m["status"], "can-change");
        assert!(m["files"][0]["embedded"].is_string(), "{m}");
        let summary = read_summary(&reader, &scanned.key, &m);
        assert_eq!(summary["resourceType"], "Bundle");
        assert_eq!(summary["type"], "document");
        assert_eq!(summary["entry"][0]["resource"]["resourceType"], "Composition");
        let text = summary.to_string();
        assert!(text.contains("\"AllergyIntolerance\"") && text.contains("\"Condition\""), "IPS sections present: {text}");

        // A receiver that takes files only by location gets one, valid for a while, as application/jose.
        let (status, _, m) =
            manifest(&reader, &scanned.url, &json!({"recipient": ER, "passcode": PASSCODE, "embeddedLengthMax": 10}));
        assert_eq!(status, 200, "{m}");
        assert!(m["files"][0]["location"].as_str().unwrap().contains("/shl/files/"), "{m}");
        assert_eq!(read_summary(&reader, &scanned.key, &m), summary);

        // Both parents' phones see the card and its accesses; the log names the ER.
        for phone in [&mother, &father] {
            let list = cards(phone);
            assert_eq!(list.len(), 1);
            assert_eq!(list[0]["accesses"], 2);
            assert_eq!(list[0]["passcode_attempts_left"], 9);
            assert_eq!(list[0]["active"], true);
            assert!(list[0].get("url").is_none() && !list[0].to_string().contains(&card.url), "a link is never listed");
            let events = card_events(phone);
            let reader_actor = format!("shl-recipient:{ER}");
            assert!(events.contains(&("emergency_card_created".into(), "success".into(), format!("device:{}", mother.device_id))));
            assert_eq!(events.iter().filter(|e| e.0 == "emergency_card_accessed" && e.1 == "success" && e.2 == reader_actor).count(), 2, "{events:?}");
            assert!(events.iter().any(|e| e.0 == "emergency_card_accessed" && e.1 == "denied" && e.2 == reader_actor), "{events:?}");
        }

        // The log filtered to emergency accesses, as a phone asks after each sync; a bad filter is 400.
        let (status, page) = mother.call("GET", "/audit/v1/events?action=emergency_card_accessed", None);
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 3, "{page}");
        assert!(events.iter().all(|e| e["action"] == "emergency_card_accessed"));
        let (status, body) = mother.call("GET", "/audit/v1/events?action=emergency_card_accessed,no_such_action", None);
        assert_eq!(status, 400, "{body}");

        // The audit chain verifies.
        phr_tests::assert_audit_verifies(Path::new(BIN), dir.path(), &db);

        // Nothing the readers sent, and not the link's secret, is in the server's logs.
        let logs = server.logs().join("\n");
        let secret = card.url.rsplit('/').next().unwrap();
        for sentinel in [secret, ER, PASSCODE, WRONG] {
            assert!(!logs.contains(sentinel), "{sentinel:?} is in the logs");
        }
    }
}

phr_tests::backend_test! {
    fn a_refreshed_card_serves_the_new_summary_a_rotated_one_kills_the_old_qr_and_a_withdrawn_one_is_dead_everywhere(db) {
        let (_dir, server) = server(&db);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let card = create_card(&mother, &mother_summary("v1"), None);
        let reader = reader_agent();
        let ask = |url: &str, extra: Value| {
            let mut body = json!({"recipient": ER});
            body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
            manifest(&reader, url, &body)
        };

        // A location handed out before the changes below.
        let (status, _, m) = ask(&card.url, json!({"embeddedLengthMax": 0}));
        assert_eq!(status, 200, "{m}");
        let old_location = m["files"][0]["location"].as_str().unwrap().to_owned();

        // Refresh (after a sync changed her records): same link and key, new content.
        let file = seal_file(&card.key, FHIR_JSON, &mother_summary("v2")).unwrap();
        let (status, body) = mother.call("PUT", &format!("/emergency/v1/cards/{}/file", card.card_id), Some(&json!({"file": file})));
        assert_eq!(status, 200, "{body}");
        let (_, _, m) = ask(&card.url, json!({}));
        let summary = read_summary(&reader, &card.key, &m);
        assert!(summary.to_string().contains("\"v2\""), "the refreshed summary is served");

        // Rotate: a new link and key; the old QR code and its locations are dead at once.
        let new_key = ShlKey::generate().unwrap();
        let file = seal_file(&new_key, FHIR_JSON, &mother_summary("v3")).unwrap();
        let (status, body) = mother.call("POST", &format!("/emergency/v1/cards/{}/rotate", card.card_id), Some(&json!({"file": file})));
        assert_eq!(status, 200, "{body}");
        let rotated = card_from(body, new_key, false);
        assert_eq!(rotated.card_id, card.card_id);
        assert_ne!(rotated.url, card.url);
        let (status, _, dead) = ask(&card.url, json!({}));
        assert_eq!(status, 404, "{dead}");
        let (status, _, unknown) = ask(&a_random_link(&server.base_url), json!({}));
        assert_eq!(status, 404);
        assert_eq!(dead, unknown, "a rotated link says no more than an unknown one");
        let (status, _, _) = phr_tests::emergency::fetch_location(&reader, &old_location);
        assert_eq!(status, 404, "the old link's file locations are dead too");
        let (status, _, m) = ask(&rotated.url, json!({}));
        assert_eq!(status, 200);
        assert!(read_summary(&reader, &rotated.key, &m).to_string().contains("\"v3\""));

        // Another family cannot see or touch the card.
        let stranger = Device::create_account(&server.base_url, "Someone else");
        assert!(cards(&stranger).is_empty());
        let (status, body) = stranger.call("DELETE", &format!("/emergency/v1/cards/{}", card.card_id), None);
        assert_eq!(status, 404, "{body}");
        assert_eq!(ask(&rotated.url, json!({})).0, 200, "still there");

        // Withdraw: the link is dead at once, the card gone from the family's list.
        let (_, _, m) = ask(&rotated.url, json!({"embeddedLengthMax": 0}));
        let location = m["files"][0]["location"].as_str().unwrap().to_owned();
        let (status, _) = mother.call("DELETE", &format!("/emergency/v1/cards/{}", card.card_id), None);
        assert_eq!(status, 204);
        let (status, _, gone) = ask(&rotated.url, json!({}));
        assert_eq!((status, &gone), (404, &unknown));
        assert_eq!(phr_tests::emergency::fetch_location(&reader, &location).0, 404);
        assert!(cards(&mother).is_empty());
        let actions: Vec<String> = card_events(&mother).into_iter().map(|e| e.0).collect();
        for a in ["emergency_card_created", "emergency_card_updated", "emergency_card_rotated", "emergency_card_withdrawn"] {
            assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
        }
    }
}

phr_tests::backend_test! {
    fn guessing_a_cards_passcode_locks_it_after_ten_wrong_attempts_even_for_the_right_one(db) {
        let (_dir, server) = server(&db);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let card = create_card(&mother, &mother_summary("PHR app"), Some("9753"));
        // The guesses come from ten addresses, as a distributed guesser's would: the card's own
        // count stops them, whatever the per-address budgets.
        for (i, left) in (0..10).rev().enumerate() {
            let source = std::net::Ipv4Addr::new(127, 0, 7, 1 + i as u8);
            let body = json!({"recipient": "someone", "passcode": format!("{i:04}")}).to_string();
            let path = card.url.trim_start_matches(&server.base_url);
            let status = phr_tests::post_json_from(source, &server.base_url, path, &body);
            assert_eq!(status, if left > 0 { 401 } else { 404 }, "guess {i}");
        }
        let reader = reader_agent();
        let (status, _, body) = manifest(&reader, &card.url, &json!({"recipient": ER, "passcode": "9753"}));
        assert_eq!(status, 404, "locked: {body}");
        let list = cards(&mother);
        assert_eq!((list[0]["active"].clone(), list[0]["passcode_attempts_left"].clone()), (json!(false), json!(0)));
        // The family can start again with a rotated card.
        let key = ShlKey::generate().unwrap();
        let file = seal_file(&key, FHIR_JSON, &mother_summary("PHR app")).unwrap();
        let (status, body) = mother.call("POST", &format!("/emergency/v1/cards/{}/rotate", card.card_id), Some(&json!({"file": file, "passcode": "8642"})));
        assert_eq!(status, 200, "{body}");
        let rotated = card_from(body, key, true);
        let (status, _, m) = manifest(&reader, &rotated.url, &json!({"recipient": ER, "passcode": "8642"}));
        assert_eq!(status, 200, "{m}");
    }
}

phr_tests::backend_test! {
    fn bad_card_uploads_and_manifest_requests_are_4xx_with_a_json_body_and_change_nothing(db) {
        let (_dir, server) = server(&db);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let key = ShlKey::generate().unwrap();
        let good = seal_file(&key, FHIR_JSON, b"{}").unwrap();
        for (body, status) in [
            (json!({"subject": "mother", "file": "not a jwe"}), 422),
            (json!({"subject": "mother", "file": seal_file(&key, "text/plain", b"x").unwrap()}), 422),
            (json!({"subject": "mother", "file": good, "passcode": "12"}), 422),
            (json!({"subject": "mother", "file": good, "expires_at": "2020-01-01T00:00:00Z"}), 422),
            (json!({"subject": "grandmother", "file": good}), 400),
            (json!({"subject": "mother", "file": good, "key": "never sent"}), 400),
        ] {
            let (got, answer) = mother.call("POST", "/emergency/v1/cards", Some(&body));
            assert_eq!(got, status, "{body} -> {answer}");
            assert!(answer["detail"].is_string(), "{answer}");
        }
        assert!(cards(&mother).is_empty(), "nothing was stored");
        // Without a device token: 401.
        let reader = reader_agent();
        let resp = reader.get(&format!("{}/emergency/v1/cards", server.base_url)).call().unwrap();
        assert_eq!(resp.status().as_u16(), 401);

        let card = create_card(&mother, b"{\"resourceType\":\"Bundle\"}", None);
        // Malformed manifest requests: 400 with a JSON body; a wrong method 405; a bad link 404.
        let resp = reader.post(&card.url).header("Content-Type", "application/json").send("{not json").unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let resp = reader.get(&card.url).call().unwrap();
        assert_eq!(resp.status().as_u16(), 405);
        let (status, _, _) = manifest(&reader, &format!("{}/shl/short", server.base_url), &json!({"recipient": ER}));
        assert_eq!(status, 404);
        // The CORS preflight of a browser-based receiver.
        let preflight = ureq::http::Request::builder()
            .method("OPTIONS")
            .uri(&card.url)
            .header("Origin", "https://viewer.example")
            .header("Access-Control-Request-Method", "POST")
            .body(())
            .unwrap();
        let resp = reader.run(preflight).unwrap();
        assert_eq!(resp.status().as_u16(), 204);
        assert_eq!(resp.headers().get("access-control-allow-origin").unwrap(), "*");
        assert!(resp.headers().get("access-control-allow-methods").unwrap().to_str().unwrap().contains("POST"));
        assert_eq!(cards(&mother)[0]["accesses"], 0, "none of that was an access");

        // Push subscriptions: malformed, unauthenticated and another family's are refused.
        let subscriptions = |d: &Device| d.call("GET", "/notify/v1/push-subscriptions", None).1;
        let (status, vapid) = mother.call("GET", "/notify/v1/vapid-public-key", None);
        assert_eq!(status, 200, "{vapid}");
        let good = json!({"endpoint": "https://push.example.net/s/1",
                          "keys": {"p256dh": vapid["public_key"], "auth": "AAAAAAAAAAAAAAAAAAAAAA"}});
        for bad in [json!({"endpoint": "https://push.example.net/s/1"}), json!({"keys": good["keys"]}), json!([1])] {
            let (status, answer) = mother.call("POST", "/notify/v1/push-subscriptions", Some(&bad));
            assert_eq!(status, 400, "{bad} -> {answer}");
            assert!(answer["detail"].is_string(), "{answer}");
        }
        assert_eq!(subscriptions(&mother), json!([]), "nothing stored");
        let resp = reader.post(&format!("{}/notify/v1/push-subscriptions", server.base_url)).send_json(&good).unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let (status, created) = mother.call("POST", "/notify/v1/push-subscriptions", Some(&good));
        assert_eq!(status, 201, "{created}");
        let stranger = Device::create_account(&server.base_url, "Someone else");
        assert_eq!(subscriptions(&stranger), json!([]), "another family's subscriptions are not listed");
        let path = format!("/notify/v1/push-subscriptions/{}", created["subscription_id"].as_str().unwrap());
        assert_eq!(stranger.call("DELETE", &path, None).0, 404);
        assert_eq!(stranger.call("DELETE", "/notify/v1/push-subscriptions/not-an-id", None).0, 404);
        assert_eq!(subscriptions(&mother).as_array().map(Vec::len), Some(1), "still there");

        // A push that cannot be delivered is logged without the endpoint the device sent.
        let unreachable = json!({"endpoint": "https://127.0.0.1:1/sentinel-endpoint-4711",
                                 "keys": good["keys"]});
        assert_eq!(mother.call("POST", "/notify/v1/push-subscriptions", Some(&unreachable)).0, 201);
        assert_eq!(manifest(&reader, &card.url, &json!({"recipient": ER})).0, 200);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        // Both of the family's subscriptions fail (no such host; nothing listening): two lines.
        while server.logs().iter().filter(|l| l.contains("push notification not delivered")).count() < 2 {
            assert!(std::time::Instant::now() < deadline, "the failed deliveries are logged");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let logs = server.logs().join("\n");
        for sentinel in ["sentinel-endpoint-4711", "push.example.net", "AAAAAAAAAAAAAAAAAAAAAA"] {
            assert!(!logs.contains(sentinel), "{sentinel:?} is in the logs");
        }
    }
}

phr_tests::backend_test! {
    fn an_independent_shl_receiver_resolves_the_card_and_is_refused_a_wrong_passcode_and_a_withdrawn_card(db) {
        let Some(viewer_dir) = std::env::var_os("PHR_SHL_VIEWER_DIR") else {
            eprintln!("SKIPPED: set PHR_SHL_VIEWER_DIR to a directory where npm installed kill-the-clipboard (.ci/run does)");
            return;
        };
        let (_dir, server) = server(&db);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let card = create_card(&mother, &mother_summary("PHR app"), Some("2468"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("shl/resolve.cjs");
        let resolve = |passcode: &str, embedded_max: &str| -> Value {
            let out = Command::new("node")
                .arg(&script)
                .args([&card.shlink, ER, passcode, embedded_max])
                .env("PHR_SHL_VIEWER_DIR", &viewer_dir)
                .output()
                .expect("node runs");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)))
        };
        for embedded_max in ["", "10"] {
            let got = resolve("2468", embedded_max);
            assert_eq!(got["ok"], true, "{got}");
            assert_eq!(got["resources"][0]["resourceType"], "Bundle", "{got}");
            assert_eq!(got["resources"][0]["type"], "document", "{got}");
            assert_eq!(got["manifestStatus"], "can-change", "{got}");
        }
        assert_eq!(resolve("0000", "")["error"], "SHLInvalidPasscodeError");
        let (status, _) = mother.call("DELETE", &format!("/emergency/v1/cards/{}", card.card_id), None);
        assert_eq!(status, 204);
        assert_eq!(resolve("2468", "")["error"], "SHLManifestNotFoundError");
        assert_eq!(cards(&mother).len(), 0);
    }
}

phr_tests::backend_test! {
    fn every_emergency_access_reaches_the_familys_phones_as_an_encrypted_web_push_without_health_data(db) {
        let Some(python) = std::env::var_os("PHR_PUSH_PYTHON") else {
            eprintln!("SKIPPED: set PHR_PUSH_PYTHON to a Python with http_ece (tests/python/requirements-ci.txt; .ci/run does)");
            return;
        };
        let push = PushService::start(&python);
        let (_dir, server) = start_server(Path::new(BIN), &db, &["--push-allow-loopback-http", "--push-contact", "mailto:ops@phr.example"]);
        let mother = Device::create_account(&server.base_url, "Mother's phone");
        let (status, vapid) = mother.call("GET", "/notify/v1/vapid-public-key", None);
        assert_eq!(status, 200, "{vapid}");
        let sub = &push.subscription;
        let body = json!({"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}});
        let (status, created) = mother.call("POST", "/notify/v1/push-subscriptions", Some(&body));
        assert_eq!(status, 201, "{created}");
        let (status, listed) = mother.call("GET", "/notify/v1/push-subscriptions", None);
        assert_eq!(status, 200);
        assert_eq!(listed[0]["device_id"].as_str(), Some(mother.device_id.as_str()), "{listed}");

        // Bad subscriptions: 422 with what is wrong, nothing stored.
        for (bad, field) in [
            (json!({"endpoint": "http://push.example.net/x", "keys": body["keys"]}), "endpoint"),
            (json!({"endpoint": sub["endpoint"], "keys": {"p256dh": "AAAA", "auth": sub["auth"]}}), "keys.p256dh"),
            (json!({"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": "AAAA"}}), "keys.auth"),
        ] {
            let (status, answer) = mother.call("POST", "/notify/v1/push-subscriptions", Some(&bad));
            assert_eq!(status, 422, "{answer}");
            assert!(answer["detail"].as_str().unwrap().contains(field), "{answer}");
        }
        let (_, listed) = mother.call("GET", "/notify/v1/push-subscriptions", None);
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "only the good one is stored: {listed}");

        // The ER reads the card: the phone is pushed an encrypted notice, with no health data.
        let card = create_card(&mother, &mother_summary("PHR app"), None);
        let reader = reader_agent();
        let (status, _, _) = manifest(&reader, &card.url, &json!({"recipient": ER}));
        assert_eq!(status, 200);
        let got = push.next();
        assert!(got.get("decrypt_error").is_none() && got.get("vapid_error").is_none(), "{got}");
        let notice: Value = serde_json::from_str(got["plaintext"].as_str().unwrap()).unwrap();
        assert_eq!(notice["type"], "emergency_access", "{notice}");
        assert_eq!(notice.as_object().unwrap().len(), 2, "only the type and the time: {notice}");
        assert!(!got["plaintext"].as_str().unwrap().contains("Example General"), "not even the reader's words");
        assert_eq!(got["encoding"], "aes128gcm");
        assert_eq!(got["urgency"], "high");
        assert_eq!(got["vapid"]["sub"], "mailto:ops@phr.example");
        assert_eq!(got["vapid_k"], vapid["public_key"], "signed with the key the phone subscribed with");

        // A refused attempt is pushed too.
        let secret = create_card(&mother, &mother_summary("PHR app"), Some(PASSCODE));
        assert_eq!(manifest(&reader, &secret.url, &json!({"recipient": ER, "passcode": WRONG})).0, 401);
        assert_eq!(serde_json::from_str::<Value>(push.next()["plaintext"].as_str().unwrap()).unwrap()["type"], "emergency_access");

        // Unsubscribed: no more pushes to it.
        let id = created["subscription_id"].as_str().unwrap();
        let (status, _) = mother.call("DELETE", &format!("/notify/v1/push-subscriptions/{id}"), None);
        assert_eq!(status, 204);
        let (status, _) = mother.call("DELETE", &format!("/notify/v1/push-subscriptions/{id}"), None);
        assert_eq!(status, 404);
        assert_eq!(manifest(&reader, &card.url, &json!({"recipient": ER})).0, 200);
        assert!(push.received.recv_timeout(std::time::Duration::from_secs(2)).is_err(), "nothing pushed after unsubscribing");

        // A subscription the push service says is gone (410) is dropped after one try.
        let gone = json!({"endpoint": sub["gone_endpoint"], "keys": body["keys"]});
        assert_eq!(mother.call("POST", "/notify/v1/push-subscriptions", Some(&gone)).0, 201);
        assert_eq!(manifest(&reader, &card.url, &json!({"recipient": ER})).0, 200);
        assert_eq!(push.next()["path"], "/push/gone");
        // The server deletes it once it has read the 410 (in the background): wait for that.
        let listed = || mother.call("GET", "/notify/v1/push-subscriptions", None).1.as_array().map_or(0, Vec::len);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while listed() > 0 {
            assert!(std::time::Instant::now() < deadline, "the gone subscription is deleted");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(manifest(&reader, &card.url, &json!({"recipient": ER})).0, 200);
        assert!(push.received.recv_timeout(std::time::Duration::from_secs(2)).is_err(), "nothing pushed to it again");
    }
}
