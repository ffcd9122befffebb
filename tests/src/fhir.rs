//! A FHIR client as a clinic runs it against a real server: an organization
//! registered with an ES384 JWKS, SMART Backend Services tokens, and FHIR
//! JSON requests; plus the family side of consent (a device granting access).
//!
//! When the env var `PHR_FHIR_DUMP_DIR` is set, every FHIR JSON response body
//! received through [`OrgClient`] is written to
//! `$PHR_FHIR_DUMP_DIR/<test-name>-<n>.json` (the test name is the test
//! thread's name) for external validators.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use phr_core::consent::{Access, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState, OrganizationId, Purpose};
use phr_core::crypto::{wrap_grant_key_to, GrantKey, HpkePublicKey};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{CreateGrantRequest, GrantRecordKey, ViewKeyResponse};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::client::Device;
use crate::http;

/// The env var naming the directory FHIR responses are dumped to.
pub const DUMP_DIR_ENV: &str = "PHR_FHIR_DUMP_DIR";

/// Writes a FHIR response body to the dump directory, if one is configured.
pub fn dump(body: &str) {
    let Some(dir) = std::env::var_os(DUMP_DIR_ENV).filter(|d| !d.is_empty()) else { return };
    static COUNTERS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    let name: String = std::thread::current()
        .name()
        .unwrap_or("main")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    let n = {
        let mut guard = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
        let counter = guard.get_or_insert_with(HashMap::new).entry(name.clone()).or_insert(0);
        *counter += 1;
        *counter
    };
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(Path::new(&dir).join(format!("{name}-{n}.json")), body);
}

/// A registered organization with an access token.
pub struct OrgClient {
    pub server: String,
    pub organization_id: String,
    key: EncodingKey,
    pub token: String,
    agent: ureq::Agent,
}

impl OrgClient {
    /// Registers `organization_id` (admin command on the server's data dir and
    /// database) with a fresh ES384 key and gets a token with `scope`.
    pub fn register(
        binary: &Path,
        data_dir: &Path,
        database_url: &str,
        server: &str,
        organization_id: &str,
        scope: &str,
    ) -> OrgClient {
        Self::register_with_env(binary, &[], data_dir, database_url, server, organization_id, scope)
    }

    /// [`OrgClient::register`], running the admin command with extra environment variables.
    pub fn register_with_env(
        binary: &Path,
        env: &[(&str, &str)],
        data_dir: &Path,
        database_url: &str,
        server: &str,
        organization_id: &str,
        scope: &str,
    ) -> OrgClient {
        Self::register_kind(binary, env, data_dir, database_url, server, organization_id, scope, "clinic")
    }

    /// [`OrgClient::register`] as an emergency department (`--kind emergency`, emergency purpose).
    pub fn register_emergency(
        binary: &Path,
        data_dir: &Path,
        database_url: &str,
        server: &str,
        organization_id: &str,
        scope: &str,
    ) -> OrgClient {
        Self::register_kind(binary, &[], data_dir, database_url, server, organization_id, scope, "emergency")
    }

    /// [`OrgClient::register_with_env`] with `--kind kind` (`emergency`: the emergency purpose
    /// only; `research`: the research purpose only).
    #[allow(clippy::too_many_arguments)]
    pub fn register_kind(
        binary: &Path,
        env: &[(&str, &str)],
        data_dir: &Path,
        database_url: &str,
        server: &str,
        organization_id: &str,
        scope: &str,
        kind: &str,
    ) -> OrgClient {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("P-384 keygen");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let point = pair.public_key().as_ref();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "k1", "alg": "ES384", "use": "sig",
            "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97])}]});
        let jwks_path = data_dir.join(format!("{organization_id}.jwks.json"));
        std::fs::write(&jwks_path, jwks.to_string()).expect("write JWKS");
        let out = Command::new(binary)
            .args(["org", "add", "--id", organization_id, "--name", organization_id, "--kind", kind])
            .args(match kind {
                "emergency" => &["--purpose", "emergency"][..],
                "research" => &["--purpose", "research"][..],
                _ => &["--purpose", "treatment", "--purpose", "emergency"][..],
            })
            .arg("--jwks-file")
            .arg(&jwks_path)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--database-url")
            .arg(database_url)
            .env_remove("PHR_DATABASE_URL")
            .env_remove("PHR_DATA_DIR")
            .envs(env.iter().copied())
            .output()
            .expect("run org add");
        assert!(out.status.success(), "org add: {}", String::from_utf8_lossy(&out.stderr));
        let mut client = OrgClient {
            server: server.to_owned(),
            organization_id: organization_id.to_owned(),
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            token: String::new(),
            agent: http(),
        };
        client.token = client.new_token(scope);
        client
    }

    /// A fresh access token with `scope` (SMART Backend Services client_credentials).
    pub fn new_token(&self, scope: &str) -> String {
        let token_url = format!("{}/auth/token", self.server);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({"iss": self.organization_id, "sub": self.organization_id, "aud": token_url,
            "exp": now + 240, "jti": Uuid::new_v4().to_string()});
        let mut header = Header::new(Algorithm::ES384);
        header.kid = Some("k1".into());
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key).expect("sign assertion");
        let body = form_body(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
            ("scope", scope),
        ]);
        let mut resp = self
            .agent
            .post(&token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .expect("token request");
        let text = resp.body_mut().read_to_string().expect("token body");
        let v: Value = serde_json::from_str(&text).expect("token JSON");
        v["access_token"].as_str().unwrap_or_else(|| panic!("no token: {text}")).to_owned()
    }

    /// GET a FHIR path (`/fhir/r4/...` or an absolute URL) with the client's token.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.get_with_token(&self.token, path)
    }

    pub fn get_with_token(&self, token: &str, path: &str) -> (u16, Value) {
        read(self.get_response(token, path, &[]))
    }

    /// GET a FHIR path with the client's token and extra request headers.
    pub fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        read(self.get_response(&self.token, path, headers))
    }

    /// GET a FHIR path or absolute URL with `token` (none if empty) and extra `headers`.
    fn get_response(
        &self,
        token: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.server) };
        let mut req = self.agent.get(&url).header("Accept", "application/fhir+json");
        if !token.is_empty() {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.call()
    }

    /// GET `path` and read the whole body, unparsed (for latency measurements).
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let url = format!("{}{path}", self.server);
        let req = self.agent.get(&url).header("Accept", "application/fhir+json");
        let mut resp =
            req.header("Authorization", &format!("Bearer {}", self.token)).call().expect("HTTP request failed");
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(u64::MAX).read_to_vec().expect("response body");
        (status, body)
    }

    /// POST FHIR JSON.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(&self.token, path, body.to_string().into_bytes())
    }

    /// POST raw bytes as `application/fhir+json` with `token`.
    pub fn post_raw(&self, token: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
        let url = format!("{}{path}", self.server);
        let mut req = self.agent.post(&url).header("Content-Type", "application/fhir+json");
        if !token.is_empty() {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        read(req.send(body))
    }

    /// PUT FHIR JSON, with an `If-Match` header when given; returns (status, ETag, body).
    pub fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> (u16, Option<String>, Value) {
        let url = format!("{}{path}", self.server);
        let mut req = self
            .agent
            .put(&url)
            .header("Content-Type", "application/fhir+json")
            .header("Authorization", &format!("Bearer {}", self.token));
        if let Some(v) = if_match {
            req = req.header("If-Match", v);
        }
        let mut resp = req.send(body.to_string()).expect("HTTP request failed");
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if !text.is_empty() {
            dump(&text);
        }
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (resp.status().as_u16(), etag, json)
    }

    /// GET returning the status, the `ETag` header and the JSON body.
    pub fn get_with_etag(&self, path: &str) -> (u16, Option<String>, Value) {
        let resp = self.get_response(&self.token, path, &[]);
        let etag =
            resp.as_ref().ok().and_then(|r| r.headers().get("etag")).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, json) = read(resp);
        (status, etag, json)
    }

    /// Any method on a JSON (not FHIR) API path with the client's token (none if `token` is
    /// empty), an optional JSON body and extra headers: (status, the `ETag` header, body).
    pub fn call_json(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Option<String>, Value) {
        let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.server));
        if !token.is_empty() {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = match body {
            Some(body) => self.agent.run(req.body(body.to_string()).expect("a request")),
            None => self.agent.run(req.body(()).expect("a request")),
        };
        let etag =
            resp.as_ref().ok().and_then(|r| r.headers().get("etag")).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // Not FHIR: kept away from the FHIR validators' dump.
        let (status, json) = read_body(resp, false);
        (status, etag, json)
    }

    /// GET returning the status and the `WWW-Authenticate` header.
    pub fn get_www_authenticate(&self, token: &str, path: &str) -> (u16, Option<String>) {
        let mut req = self.agent.get(&format!("{}{path}", self.server));
        if !token.is_empty() {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        let mut resp = req.call().expect("HTTP request");
        let www = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        dump(&text);
        (resp.status().as_u16(), www)
    }
}
/// An `application/x-www-form-urlencoded` body.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    read_body(resp, true)
}

/// (status, JSON body) of an answer; `fhir`: the body is FHIR, kept for the validators ([`dump`]).
fn read_body(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>, fhir: bool) -> (u16, Value) {
    let mut resp = resp.expect("HTTP request failed");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if fhir {
        dump(&text);
    }
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, json)
}

/// A grant the family's device makes: `modules` of `subjects`, open period, treatment.
pub fn grant_of(grantee: &str, modules: &[RecordKind], subjects: &[Subject], access: Access) -> ConsentGrant {
    ConsentGrant {
        id: GrantId(Uuid::now_v7()),
        grantee: OrganizationId::new(grantee).expect("organization id"),
        purpose: Purpose::Treatment,
        scope: GrantScope {
            modules: modules.iter().copied().collect(),
            subjects: subjects.iter().copied().collect(),
            data_from: None,
            data_to: None,
        },
        period: GrantPeriod::OPEN,
        access,
        state: GrantState::Active,
        created_at: "2026-01-01T00:00:00Z".parse().expect("date"),
    }
}

/// Creates `grant` from `device` with the data keys of `records` (the device's
/// records in scope); returns the grant key.
pub fn create_grant(device: &Device, grant: &ConsentGrant, records: &[Uuid]) -> GrantKey {
    let (status, body) = device.call("GET", "/consent/v1/view-key", None);
    assert_eq!(status, 200, "{body}");
    let view: ViewKeyResponse = serde_json::from_value(body).expect("view key");
    let public = HpkePublicKey::from_bytes(&view.public_key).expect("view public key");
    let key = GrantKey::generate();
    let grant_id = grant.id.0;
    let request = CreateGrantRequest {
        grant: grant.clone(),
        wrapped_grant_key: wrap_grant_key_to(&public, &key, &device.account_id, grant_id).expect("wrap grant key"),
        view_kid: view.kid,
        record_keys: records
            .iter()
            .map(|r| GrantRecordKey {
                record_id: *r,
                wrapped_key: device.wrap_record_key_for_grant(*r, &key, grant_id).expect("device knows the record"),
            })
            .collect(),
    };
    let (status, body) = device.call("POST", "/consent/v1/grants", Some(&serde_json::to_value(request).unwrap()));
    assert_eq!(status, 201, "{body}");
    key
}
