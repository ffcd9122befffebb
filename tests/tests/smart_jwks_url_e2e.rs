//! End-to-end: an organization registered with a JWKS URL (`org add --jwks-url`,
//! SMART client-confidential-asymmetric's preferred registration) gets tokens
//! with keys the server fetches from that URL, rotates its key by publishing a
//! new JWKS there, and cannot point the server at another URL with `jku` — on
//! SQLite (and PostgreSQL when `PHR_TEST_POSTGRES_URL` is set).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use phr_tests::fhir::form_body;
use phr_tests::{http, start_server, TestDatabase};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ORG: &str = "keys-by-url-clinic";

/// A P-384 signing key and its public JWK under `kid`.
fn es384(kid: &str) -> (EncodingKey, Value) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
        "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97])});
    (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

/// The organization's own web server on loopback, publishing `jwks` (which the
/// test may change) at `/jwks.json`, counting the requests it answers.
struct JwksHost {
    url: String,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksHost {
    fn start(jwks: Value) -> JwksHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let published = Arc::new(Mutex::new(jwks.to_string()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (body, count) = (published.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                count.fetch_add(1, Ordering::SeqCst);
                let body = body.lock().unwrap().clone();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        JwksHost { url, jwks: published, fetches }
    }

    fn publish(&self, jwks: Value) {
        *self.jwks.lock().unwrap() = jwks.to_string();
    }
}

/// `POST /auth/token` with an assertion signed by `key` under `kid`, naming `jku` if given.
fn token_request(server: &str, key: &EncodingKey, kid: &str, jku: Option<&str>) -> (u16, Value) {
    let token_url = format!("{server}/auth/token");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"iss": ORG, "sub": ORG, "aud": token_url, "exp": now + 240, "jti": Uuid::new_v4().to_string()});
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some(kid.into());
    header.jku = jku.map(str::to_owned);
    let assertion = jsonwebtoken::encode(&header, &claims, key).unwrap();
    let body = form_body(&[
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", &assertion),
        ("scope", "system/Patient.rs"),
    ]);
    let mut resp = http()
        .post(&token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body)
        .expect("token request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn org_add(dir: &std::path::Path, db: &TestDatabase, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["org", "add", "--id", ORG, "--name", "Keys by URL Clinic", "--kind", "clinic", "--purpose", "treatment"])
        .args(extra)
        .arg("--data-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(db.url())
        .env_remove("PHR_DATABASE_URL")
        .env_remove("PHR_DATA_DIR")
        .output()
        .unwrap()
}

phr_tests::backend_test! {
    fn an_organization_registered_by_jwks_url_gets_tokens_rotates_keys_there_and_cannot_redirect_jku(db) {
        let (dir, server) = start_server(BIN.as_ref(), &db, &[]);
        let (key1, jwk1) = es384("k1");
        let host = JwksHost::start(json!({"keys": [jwk1]}));
        let out = org_add(dir.path(), &db, &["--jwks-url", &host.url]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        // The registered key signs; the server fetched the JWKS once and keeps it.
        let (status, body) = token_request(&server.base_url, &key1, "k1", None);
        assert_eq!(status, 200, "{body}");
        assert!(body["access_token"].is_string());
        let (status, body) = token_request(&server.base_url, &key1, "k1", Some(&host.url));
        assert_eq!(status, 200, "a jku equal to the registered URL is accepted: {body}");
        assert_eq!(host.fetches.load(Ordering::SeqCst), 1, "the JWKS is cached between requests");

        // A jku elsewhere is refused before anything is fetched from it.
        let (status, body) = token_request(&server.base_url, &key1, "k1", Some("http://127.0.0.1:9/evil.json"));
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");

        // Rotation: the client publishes a new key and signs with it (the server refetches a
        // set at most every MIN_REFETCH_SECS = 5 s, so a forged kid cannot make it hammer the host).
        let (key2, jwk2) = es384("k2");
        host.publish(json!({"keys": [jwk2]}));
        std::thread::sleep(std::time::Duration::from_millis(5100));
        let (status, body) = token_request(&server.base_url, &key2, "k2", None);
        assert_eq!(status, 200, "an unknown kid makes the server fetch the JWKS again: {body}");
        assert_eq!(host.fetches.load(Ordering::SeqCst), 2);
        // The retired key is refused once the new set is in; a forged kid does not refetch again so soon.
        let (status, body) = token_request(&server.base_url, &key1, "k1", None);
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
        let (status, _) = token_request(&server.base_url, &key2, "no-such-kid", None);
        assert_eq!(status, 401);
        assert_eq!(host.fetches.load(Ordering::SeqCst), 2, "refetches are limited per URL");
    }
}

phr_tests::backend_test! {
    fn org_add_refuses_a_plain_http_jwks_url_and_a_jwks_file_with_a_url(db) {
        let (dir, _server) = start_server(BIN.as_ref(), &db, &[]);
        let out = org_add(dir.path(), &db, &["--jwks-url", "http://keys.clinic.example/jwks.json"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("https"), "{}", String::from_utf8_lossy(&out.stderr));
        let file = dir.path().join("keys.json");
        std::fs::write(&file, r#"{"keys": []}"#).unwrap();
        let out = org_add(dir.path(), &db, &["--jwks-url", "https://keys.clinic.example/jwks.json", "--jwks-file", file.to_str().unwrap()]);
        assert!(!out.status.success(), "a JWKS file and a JWKS URL together are refused");
    }
}
