//! SMART Backend Services end to end: an organization registered with its
//! JWKS (`phr-server org add --jwks-file`) signs RS384 or ES384 client
//! assertions and gets scoped access tokens at `POST /auth/token`, exactly as
//! a standard SMART / Bulk Data client does; every way an assertion can be
//! wrong is answered with OAuth 2.0 error JSON. Runs on SQLite and, when
//! `PHR_TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use phr_tests::client::Device;
use phr_tests::{http, start_server, ServerProcess, TestDatabase};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ORG: &str = "tanaka-clinic";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// --- client keys -------------------------------------------------------------

/// A client signing key and its public JWK (with `kid` and `alg`).
struct ClientKey {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

/// One RSA-2048 key per test binary (generation is slow in debug builds):
/// PKCS#1 DER of the private key and the public `n`, `e`.
fn rsa_material() -> &'static (Vec<u8>, String, String) {
    static KEY: OnceLock<(Vec<u8>, String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA key generation");
        let der = key.to_pkcs1_der().expect("PKCS#1 DER").as_bytes().to_vec();
        (der, B64URL.encode(key.n().to_bytes_be()), B64URL.encode(key.e().to_bytes_be()))
    })
}

fn rs384_key(kid: &str) -> ClientKey {
    let (der, n, e) = rsa_material();
    ClientKey {
        alg: Algorithm::RS384,
        kid: kid.to_owned(),
        encoding: EncodingKey::from_rsa_der(der),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS384", "use": "sig", "n": n, "e": e}),
    }
}

fn es384_key(kid: &str) -> ClientKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("P-384 key generation");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("P-384 key");
    let point = pair.public_key().as_ref(); // 0x04 || x (48) || y (48)
    ClientKey {
        alg: Algorithm::ES384,
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({
            "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
            "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97]),
        }),
    }
}

impl ClientKey {
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign client assertion")
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

// --- harness -------------------------------------------------------------------

/// A server with `tanaka-clinic` registered with an RS384 key (`rsa-1`) and an
/// ES384 key (`ec-1`) in its JWKS.
struct Env {
    db: TestDatabase,
    dir: tempfile::TempDir,
    server: ServerProcess,
    rsa: ClientKey,
    ec: ClientKey,
}

impl Env {
    fn start(db: TestDatabase) -> Env {
        let (dir, server) = start_server(BIN.as_ref(), &db, &[]);
        let (rsa, ec) = (rs384_key("rsa-1"), es384_key("ec-1"));
        let env = Env { db, dir, server, rsa, ec };
        env.add_org(ORG, Some(&json!({"keys": [env.rsa.jwk, env.ec.jwk]})));
        env
    }

    fn admin(&self, args: &[&str]) {
        let out = Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--database-url")
            .arg(self.db.url())
            .env_remove("PHR_DATABASE_URL")
            .env_remove("PHR_DATA_DIR")
            .output()
            .expect("cannot run the admin command");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn add_org(&self, id: &str, jwks: Option<&Value>) {
        self.add_org_of_kind(id, jwks, "clinic", "treatment");
    }

    fn add_org_of_kind(&self, id: &str, jwks: Option<&Value>, kind: &str, purpose: &str) {
        let mut args = vec!["org", "add", "--id", id, "--name", id, "--kind", kind, "--purpose", purpose];
        let path = self.dir.path().join(format!("{id}.jwks.json"));
        if let Some(jwks) = jwks {
            std::fs::write(&path, jwks.to_string()).expect("write JWKS file");
            args.extend(["--jwks-file", path.to_str().expect("UTF-8 path")]);
        }
        self.admin(&args);
    }

    fn token_url(&self) -> String {
        self.server.url("/auth/token")
    }

    /// Claims a SMART client signs: iss = sub = client id, aud = token URL, exp ≤ 5 min, a fresh jti.
    fn claims(&self, client_id: &str) -> Value {
        json!({"iss": client_id, "sub": client_id, "aud": self.token_url(), "exp": now() + 240,
            "jti": uuid::Uuid::new_v4().to_string()})
    }

    /// POST /auth/token with a form body.
    fn token_request(&self, pairs: &[(&str, &str)]) -> (u16, Value) {
        let body =
            pairs.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let mut resp = http()
            .post(&self.token_url())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .expect("HTTP request failed");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().expect("response body");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}")))
    }

    /// A client_credentials request with `assertion` and `scope`.
    fn request_token(&self, assertion: &str, scope: &str) -> (u16, Value) {
        self.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", scope),
        ])
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts an RFC 6749 §5.2 error: status, `error` code and a description.
fn assert_oauth_error(response: &(u16, Value), status: u16, error: &str, what: &str) {
    let (got, body) = response;
    assert_eq!(*got, status, "{what}: {body}");
    assert_eq!(body["error"], error, "{what}: {body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {body}");
    assert!(body.get("access_token").is_none(), "{what}: {body}");
}

// --- tests ---------------------------------------------------------------------

phr_tests::backend_test! {
    fn smart_configuration_names_the_absolute_token_endpoint_and_backend_services_support(db) {
        let env = Env::start(db);
        let (status, config) =
            phr_tests::json_response(http().get(&env.server.url("/.well-known/smart-configuration")).call());
        assert_eq!(status, 200, "{config}");
        assert_eq!(config["token_endpoint"], env.token_url());
        assert_eq!(config["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
        assert_eq!(config["token_endpoint_auth_signing_alg_values_supported"], json!(["RS384", "ES384"]));
        assert_eq!(config["grant_types_supported"], json!(["client_credentials"]));
        let capabilities = config["capabilities"].as_array().unwrap();
        assert!(capabilities.contains(&json!("client-confidential-asymmetric")), "{config}");
        assert!(capabilities.contains(&json!("permission-v2")), "{config}");
        let scopes = config["scopes_supported"].as_array().unwrap();
        assert!(scopes.contains(&json!("system/Observation.rs")) && scopes.contains(&json!("system/*.rs")));
    }
}

phr_tests::backend_test! {
    fn smart_configuration_is_served_relative_to_each_fhir_base_as_at_the_origin(db) {
        let env = Env::start(db);
        let get = |path: &str| {
            let mut resp = http().get(&env.server.url(path)).call().expect("HTTP request failed");
            let status = resp.status().as_u16();
            let content_type =
                resp.headers().get("Content-Type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
            (status, content_type, body)
        };
        let (status, _, at_origin) = get("/.well-known/smart-configuration");
        assert_eq!(status, 200, "{at_origin}");
        // SMART App Launch 2.x: `<FHIR base>/.well-known/smart-configuration`, for the FHIR API
        // and for the research (Bulk Data) base.
        for base in ["/fhir/r4", "/research/v1"] {
            let (status, content_type, config) = get(&format!("{base}/.well-known/smart-configuration"));
            assert_eq!(status, 200, "{base}: {config}");
            assert!(content_type.starts_with("application/json"), "{base}: {content_type}");
            assert_eq!(config, at_origin, "{base}");
            assert_eq!(config["token_endpoint"], env.token_url());
        }
        // Every advertised scope is one a token can be granted; AuditEvent is no organization resource.
        // `notices.write` is granted to municipalities only (tests/tests/notices_e2e.rs): this
        // organization, a clinic, is refused it.
        let scopes = at_origin["scopes_supported"].as_array().unwrap();
        assert!(!scopes.iter().any(|s| s.as_str().unwrap().contains("AuditEvent")), "{at_origin}");
        assert!(scopes.contains(&json!("system/MedicationDispense.rs")), "{at_origin}");
        for scope in scopes {
            let scope = scope.as_str().unwrap();
            if scope == "notices.write" {
                let (status, body) = env.request_token(&env.ec.sign(&env.claims(ORG)), scope);
                assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
                continue;
            }
            let (status, body) = env.request_token(&env.ec.sign(&env.claims(ORG)), scope);
            assert_eq!((status, body["scope"].as_str()), (200, Some(scope)), "{body}");
        }
    }
}

phr_tests::backend_test! {
    fn a_research_organization_is_granted_read_scopes_only_and_write_scopes_are_narrowed_or_refused(db) {
        let env = Env::start(db);
        let research = "cohort-study";
        env.add_org_of_kind(research, Some(&json!({"keys": [env.ec.jwk]})), "research", "research");
        let token = |client: &str, scope: &str| env.request_token(&env.ec.sign(&env.claims(client)), scope);
        // Narrowed to read and search (RFC 6749 §3.3), in the syntax asked.
        for (asked, granted) in [
            ("system/*.cruds", "system/*.rs"),
            ("system/*.*", "system/*.read"),
            ("system/*.read", "system/*.read"),
            ("system/Observation.rs system/Patient.cud", "system/Observation.rs"),
            ("system/Observation.write system/Patient.read", "system/Patient.read"),
        ] {
            let (status, body) = token(research, asked);
            assert_eq!((status, body["scope"].as_str()), (200, Some(granted)), "{asked}: {body}");
        }
        // Nothing but writes asked: nothing to grant.
        for asked in ["system/Observation.write", "system/*.cud", "system/Patient.c"] {
            assert_oauth_error(&token(research, asked), 400, "invalid_scope", asked);
        }
        // A clinic keeps its write scopes, in the syntax asked.
        for asked in ["system/*.cruds", "system/*.*", "system/Observation.write", "system/Observation.cud"] {
            let (status, body) = token(ORG, asked);
            assert_eq!((status, body["scope"].as_str()), (200, Some(asked)), "{body}");
        }
    }
}

#[test]
fn the_public_base_url_flag_sets_the_token_endpoint_and_the_assertion_audience() {
    let db = TestDatabase::sqlite();
    let (dir, server) = start_server(BIN.as_ref(), &db, &["--public-base-url", "https://phr.example.org/"]);
    let (status, config) = phr_tests::json_response(http().get(&server.url("/.well-known/smart-configuration")).call());
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["token_endpoint"], "https://phr.example.org/auth/token");
    let (status, config) =
        phr_tests::json_response(http().get(&server.url("/fhir/r4/.well-known/smart-configuration")).call());
    assert_eq!((status, config["token_endpoint"].as_str()), (200, Some("https://phr.example.org/auth/token")));
    drop((server, dir));
}

phr_tests::backend_test! {
    fn rs384_and_es384_client_assertions_get_scoped_five_minute_organization_tokens(db) {
        let env = Env::start(db);
        for key in [&env.rsa, &env.ec] {
            let scope = "system/Observation.rs system/Patient.read system/Practitioner.rs launch";
            let (status, body) = env.request_token(&key.sign(&env.claims(ORG)), scope);
            assert_eq!(status, 200, "{:?}: {body}", key.alg);
            assert_eq!(body["token_type"], "bearer");
            assert_eq!(body["expires_in"], 300);
            // Only what was requested and can be granted, each in the syntax it was asked in.
            assert_eq!(body["scope"], "system/Observation.rs system/Patient.read", "{body}");
            let token = body["access_token"].as_str().unwrap();
            let payload: Value =
                serde_json::from_slice(&B64URL.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
            assert_eq!(payload["sub"], ORG);
            assert!(payload["exp"].as_i64().unwrap() - now() <= 300);
        }
        // client_id is optional, but when sent it must be the assertion's issuer.
        let (status, body) = env.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &env.ec.sign(&env.claims(ORG))),
            ("client_id", ORG),
            ("scope", "system/*.cruds"),
        ]);
        assert_eq!((status, body["scope"].as_str()), (200, Some("system/*.cruds")), "{body}");
        let logs = env.server.logs().join("\n");
        assert!(logs.contains("organization access token") && logs.contains("issued"), "issuance is logged");
    }
}

phr_tests::backend_test! {
    fn a_replayed_client_assertion_jti_is_refused_as_invalid_client(db) {
        let env = Env::start(db);
        let claims = env.claims(ORG);
        let assertion = env.rsa.sign(&claims);
        assert_eq!(env.request_token(&assertion, "system/Observation.rs").0, 200);
        assert_oauth_error(&env.request_token(&assertion, "system/Observation.rs"), 401, "invalid_client", "replay");
        // The same jti in a newly signed assertion is a replay too.
        assert_oauth_error(
            &env.request_token(&env.ec.sign(&claims), "system/Observation.rs"),
            401,
            "invalid_client",
            "jti reused with another key",
        );
    }
}

phr_tests::backend_test! {
    fn assertions_with_long_exp_wrong_aud_unknown_kid_or_another_alg_are_refused(db) {
        let env = Env::start(db);
        let scope = "system/Observation.rs";
        let mut long = env.claims(ORG);
        long["exp"] = json!(now() + 600);
        assert_oauth_error(&env.request_token(&env.rsa.sign(&long), scope), 401, "invalid_client", "exp > 5 min");
        let mut expired = env.claims(ORG);
        expired["exp"] = json!(now() - 120);
        assert_oauth_error(&env.request_token(&env.ec.sign(&expired), scope), 401, "invalid_client", "expired");
        let mut aud = env.claims(ORG);
        aud["aud"] = json!(env.server.url("/"));
        assert_oauth_error(&env.request_token(&env.rsa.sign(&aud), scope), 401, "invalid_client", "wrong aud");
        let mut sub = env.claims(ORG);
        sub["sub"] = json!("someone-else");
        assert_oauth_error(&env.request_token(&env.rsa.sign(&sub), scope), 401, "invalid_client", "sub != iss");

        let unknown_kid = ClientKey { kid: "rsa-9".into(), ..rs384_key("rsa-9") };
        assert_oauth_error(
            &env.request_token(&unknown_kid.sign(&env.claims(ORG)), scope),
            401,
            "invalid_client",
            "unknown kid",
        );
        let impostor = es384_key("ec-1");
        assert_oauth_error(
            &env.request_token(&impostor.sign(&env.claims(ORG)), scope),
            401,
            "invalid_client",
            "registered kid, another key",
        );
        let mut hs256 = Header::new(Algorithm::HS256);
        hs256.kid = Some("ec-1".into());
        let hs = jsonwebtoken::encode(&hs256, &env.claims(ORG), &EncodingKey::from_secret(b"shared")).unwrap();
        assert_oauth_error(&env.request_token(&hs, scope), 401, "invalid_client", "HS256");
        let none = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#),
            B64URL.encode(env.claims(ORG).to_string())
        );
        assert_oauth_error(&env.request_token(&none, scope), 401, "invalid_client", "alg none");
        assert_oauth_error(&env.request_token("not-a-jwt", scope), 401, "invalid_client", "garbage");
    }
}

phr_tests::backend_test! {
    fn unknown_disabled_and_keyless_clients_are_refused_as_invalid_client(db) {
        let env = Env::start(db);
        let scope = "system/Observation.rs";
        assert_oauth_error(
            &env.request_token(&env.rsa.sign(&env.claims("no-such-clinic")), scope),
            401,
            "invalid_client",
            "unknown client",
        );
        env.add_org("keyless-clinic", None);
        assert_oauth_error(
            &env.request_token(&env.rsa.sign(&env.claims("keyless-clinic")), scope),
            401,
            "invalid_client",
            "no JWKS registered",
        );
        let (status, body) = env.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &env.rsa.sign(&env.claims(ORG))),
            ("client_id", "another-clinic"),
            ("scope", scope),
        ]);
        assert_oauth_error(&(status, body), 401, "invalid_client", "client_id differs from iss");
        let (status, body) = env.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion", &env.rsa.sign(&env.claims(ORG))),
            ("scope", scope),
        ]);
        assert_oauth_error(&(status, body), 401, "invalid_client", "no client_assertion_type");

        env.admin(&["org", "disable", "--id", ORG]);
        assert_oauth_error(
            &env.request_token(&env.rsa.sign(&env.claims(ORG)), scope),
            401,
            "invalid_client",
            "disabled organization",
        );
    }
}

phr_tests::backend_test! {
    fn unsupported_grant_types_bad_scopes_and_malformed_requests_are_refused(db) {
        let env = Env::start(db);
        let (status, body) = env.token_request(&[
            ("grant_type", "authorization_code"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &env.rsa.sign(&env.claims(ORG))),
            ("scope", "system/Observation.rs"),
        ]);
        assert_oauth_error(&(status, body), 400, "unsupported_grant_type", "authorization_code");
        let (status, body) = env.token_request(&[("client_assertion_type", JWT_BEARER)]);
        assert_oauth_error(&(status, body), 400, "invalid_request", "no grant_type");
        let (status, body) =
            env.token_request(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]);
        assert_oauth_error(&(status, body), 400, "invalid_request", "repeated parameter");
        for scope in ["patient/Observation.rs", "system/Practitioner.rs", "system/Observation.xyz", ""] {
            assert_oauth_error(
                &env.request_token(&env.ec.sign(&env.claims(ORG)), scope),
                400,
                "invalid_scope",
                &format!("scope {scope:?}"),
            );
        }
        let (status, body) = phr_tests::json_response(
            http().post(&env.token_url()).send_json(json!({"grant_type": "client_credentials"})),
        );
        assert_oauth_error(&(status, body), 400, "invalid_request", "JSON body");
    }
}

phr_tests::backend_test! {
    fn organization_tokens_are_refused_by_device_endpoints_and_device_tokens_are_not_assertions(db) {
        let env = Env::start(db);
        let (status, body) = env.request_token(&env.ec.sign(&env.claims(ORG)), "system/*.cruds");
        assert_eq!(status, 200, "{body}");
        let org_token = body["access_token"].as_str().unwrap();
        let device = Device::create_account(&env.server.base_url, "Mother's phone");
        let (status, problem) = device.call_with_token(org_token, "GET", "/sync/v1/pull", None);
        assert_eq!(status, 401, "organization token on a device endpoint: {problem}");
        assert_eq!(device.call("GET", "/sync/v1/pull", None).0, 200, "the device's own token works");
        // A device access token (signed by the server, EdDSA) is no client assertion.
        assert_oauth_error(
            &env.request_token(&device.access_token, "system/*.cruds"),
            401,
            "invalid_client",
            "device token as client assertion",
        );
    }
}
