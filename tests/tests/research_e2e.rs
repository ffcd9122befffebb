//! Research extracts end to end: a research programme registered by the admin
//! command gets a SMART token, asks for a FHIR Bulk Data 2.0 export (`_type` as
//! FHIR resource types, `module` for dataset modules, `Prefer: respond-async`,
//! lenient handling, GET or POST kick-off, the spec's manifest, OperationOutcome
//! errors, the research base's CapabilityStatement), polls it and downloads
//! de-identified NDJSON/CSV built only from families whose research grant is
//! active; revoked families are excluded; every included family's audit log
//! shows the extract; pseudonyms differ between extracts; a family cannot be
//! singled out by its exact birth date, clinic and birth weight; bad requests
//! are clear 4xx; an export cut off by a restart is failed cleanly; files go
//! after the retention period. Runs on SQLite and, when
//! `PHR_TEST_POSTGRES_URL` is set, on PostgreSQL. Set `PHR_RESEARCH_DUMP_DIR`
//! to keep the produced CSV files (the CI pycanon check measures them).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::NaiveDate;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use phr_core::consent::{Access, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState, OrganizationId, Purpose};
use phr_core::crypto::{wrap_grant_key_to, GrantKey, HpkePublicKey};
use phr_core::dataset::common::{Quantity, Sex};
use phr_core::dataset::prenatal_visit::BloodPressure;
use phr_core::dataset::{examples, Identifier, RecordBody, RecordKind, Subject, SubjectIdentifiers};
use phr_core::sync::protocol::{CreateGrantRequest, GrantRecordKey, ViewKeyResponse};
use phr_server::app::research::exports::POLL_AFTER_SECS;
use phr_tests::client::Device;
use phr_tests::inspect::send;
use phr_tests::{http, ServerOptions, ServerProcess, TestDatabase};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const RESEARCH: &str = "phr-research";
const CLINIC: &str = "tanaka-clinic";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// --- harness -------------------------------------------------------------------

struct ClientKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn es384_key(kid: &str) -> ClientKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("P-384 key generation");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("P-384 key");
    let point = pair.public_key().as_ref();
    ClientKey {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
            "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97])}),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

struct Env {
    db: TestDatabase,
    dir: tempfile::TempDir,
    /// The server's data directory, `dir/data`: created by the server itself.
    data: std::path::PathBuf,
    server: Option<ServerProcess>,
    key: ClientKey,
    extra_args: Vec<String>,
}

impl Env {
    /// A server with the research programme and a clinic registered, each with an ES384 JWKS.
    fn start(db: TestDatabase, extra_args: &[&str]) -> Env {
        let mut env = Env {
            db,
            data: std::path::PathBuf::new(),
            dir: tempfile::tempdir().unwrap(),
            server: None,
            key: es384_key("ec-1"),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        env.data = env.dir.path().join("data");
        env.add_org(RESEARCH, "research", "research");
        env.add_org(CLINIC, "clinic", "treatment");
        env.restart();
        env
    }

    fn restart(&mut self) {
        if let Some(mut old) = self.server.take() {
            old.kill();
        }
        self.server = Some(ServerProcess::start(ServerOptions {
            binary: Path::new(BIN),
            data_dir: &self.data,
            database_url: Some(self.db.url()),
            extra_args: self.extra_args.clone(),
            env: vec![],
            text_logs: false,
            fd_soft_limit: None,
        }));
    }

    fn url(&self, path: &str) -> String {
        self.server.as_ref().expect("server running").url(path)
    }

    fn add_org(&self, id: &str, kind: &str, purpose: &str) {
        let jwks = self.dir.path().join(format!("{id}.jwks.json"));
        std::fs::write(&jwks, json!({"keys": [self.key.jwk]}).to_string()).unwrap();
        let out = Command::new(BIN)
            .args(["org", "add", "--id", id, "--name", id, "--kind", kind, "--purpose", purpose, "--jwks-file"])
            .arg(&jwks)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--database-url")
            .arg(self.db.url())
            .env_remove("PHR_DATABASE_URL")
            .env_remove("PHR_DATA_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "org add {id}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A SMART Backend Services token for `org` with `scope`.
    fn token(&self, org: &str, scope: &str) -> String {
        let aud = self.url("/auth/token");
        let claims =
            json!({"iss": org, "sub": org, "aud": aud, "exp": now_secs() + 240, "jti": Uuid::new_v4().to_string()});
        let mut header = Header::new(Algorithm::ES384);
        header.kid = Some(self.key.kid.clone());
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key.encoding).unwrap();
        let form = format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}&scope={}",
            JWT_BEARER.replace(':', "%3A"),
            scope.replace(' ', "+").replace('/', "%2F").replace('*', "%2A")
        );
        let mut resp =
            http().post(&aud).header("Content-Type", "application/x-www-form-urlencoded").send(form).unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        body["access_token"].as_str().unwrap_or_else(|| panic!("no token: {body}")).to_owned()
    }

    fn research_token(&self) -> String {
        self.token(RESEARCH, "system/*.rs")
    }
}

/// The `Prefer` header every Bulk Data kick-off here sends (required by the spec).
const RESPOND_ASYNC: (&str, &str) = ("Prefer", "respond-async");

/// Any request with extra `headers` and an optional body: the status, the headers (lower-case
/// names) and the answer as a [`Reply`] (for its OperationOutcome checks).
fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, HashMap<String, String>, phr_tests::inspect::Reply) {
    let (reply, headers) = phr_tests::inspect::send_with_headers(method, url, token, headers, body);
    (reply.status, headers, reply)
}

/// A GET or DELETE (with `Prefer: respond-async`, as a Bulk Data client sends it) with the
/// status, the headers we check and the body text.
fn call(method: &str, url: &str, token: &str) -> (u16, HashMap<String, String>, String) {
    let agent = http();
    let req = if method == "GET" { agent.get(url) } else { agent.delete(url) };
    let mut resp = req
        .header("Authorization", &format!("Bearer {token}"))
        .header(RESPOND_ASYNC.0, RESPOND_ASYNC.1)
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    (status, headers, resp.body_mut().read_to_string().unwrap())
}

/// A GET kick-off with `Prefer: respond-async` and no other header: the answer.
fn kick(env: &Env, token: Option<&str>, query: &str) -> phr_tests::inspect::Reply {
    request("GET", &env.url(&format!("/research/v1/$export{query}")), token, &[RESPOND_ASYNC], None).2
}

/// Kicks off an export; returns its status URL. The answer is Bulk Data's: `202`, the status URL
/// in `Content-Location`, an OperationOutcome body.
fn kick_off(env: &Env, token: &str, query: &str) -> String {
    let (status, headers, reply) =
        request("GET", &env.url(&format!("/research/v1/$export{query}")), Some(token), &[RESPOND_ASYNC], None);
    assert_eq!(status, 202, "{reply:?}");
    assert_eq!(headers.get("content-type").map(String::as_str), Some("application/fhir+json"));
    assert_eq!(reply.body["resourceType"], "OperationOutcome", "{reply:?}");
    phr_tests::fhir::dump(&reply.body.to_string());
    let location = headers.get("content-location").cloned().expect("Content-Location");
    assert!(location.starts_with(&env.url("/research/v1/exports/")), "{location}");
    location
}

/// Polls until the export is done; returns the manifest (and whether a 202 with X-Progress was seen).
fn wait_manifest(status_url: &str, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, headers, body) = call("GET", status_url, token);
        match status {
            200 => {
                let manifest: Value = serde_json::from_str(&body).unwrap();
                assert_manifest_shape(&manifest, &headers);
                return manifest;
            }
            202 => {
                assert!(headers.contains_key("x-progress"), "202 carries X-Progress");
                let poll = POLL_AFTER_SECS.to_string();
                assert_eq!(headers.get("retry-after"), Some(&poll), "202 says when to poll again");
            }
            other => panic!("export status {other}: {body}"),
        }
        assert!(Instant::now() < deadline, "export did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The complete-status answer is the Bulk Data 2.0 manifest: JSON with `transactionTime` (an
/// instant), `request` (the kick-off URL), `requiresAccessToken: true`, `output` and `error`
/// (`{type, url, count}` each), the product's `extension` object, and an `Expires` header.
#[track_caller]
fn assert_manifest_shape(manifest: &Value, headers: &HashMap<String, String>) {
    assert!(headers.get("content-type").is_some_and(|c| c.starts_with("application/json")), "{headers:?}");
    assert!(headers.contains_key("expires"), "{headers:?}");
    let at = manifest["transactionTime"].as_str().unwrap_or_else(|| panic!("transactionTime: {manifest}"));
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "transactionTime is an instant: {at}");
    assert!(manifest["request"].as_str().is_some_and(|r| r.contains("/research/v1/$export")), "{manifest}");
    assert_eq!(manifest["requiresAccessToken"], true);
    for list in ["output", "error"] {
        for f in manifest[list].as_array().unwrap_or_else(|| panic!("{list} is an array: {manifest}")) {
            assert!(f["type"].is_string() && f["url"].is_string() && f["count"].is_u64(), "{list}: {f}");
        }
    }
    assert!(manifest["error"].as_array().unwrap().iter().all(|f| f["type"] == "OperationOutcome"), "{manifest}");
    assert!(manifest["extension"].is_object(), "{manifest}");
}

/// The resource types of a manifest's `output`, in order.
fn output_types(manifest: &Value) -> Vec<String> {
    manifest["output"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap().to_owned()).collect()
}

fn download(url: &str, token: &str) -> String {
    let (status, _, body) = call("GET", url, token);
    assert_eq!(status, 200, "{url}: {body}");
    body
}

/// The CSV of `module` as (header, rows of column -> value).
fn csv_of(manifest: &Value, module: &str, token: &str) -> Vec<HashMap<String, String>> {
    let url = manifest["extension"]["csv"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == format!("csv:{module}"))
        .unwrap_or_else(|| panic!("no {module} CSV in {manifest}"))["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = download(&url, token);
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
    lines.map(|l| header.iter().cloned().zip(l.split(',').map(str::to_owned)).collect()).collect()
}

/// Keeps every CSV of the export under `$PHR_RESEARCH_DUMP_DIR/<label>/` for the pycanon check.
fn dump(manifest: &Value, token: &str, label: &str) {
    let Ok(dir) = std::env::var("PHR_RESEARCH_DUMP_DIR") else { return };
    let dir = Path::new(&dir).join(label);
    std::fs::create_dir_all(&dir).unwrap();
    for f in manifest["extension"]["csv"].as_array().unwrap() {
        let url = f["url"].as_str().unwrap();
        let name = url.rsplit('/').next().unwrap();
        std::fs::write(dir.join(name), download(url, token)).unwrap();
    }
}

// --- families ------------------------------------------------------------------

struct Family {
    device: Device,
    child: Uuid,
    birth_date: NaiveDate,
    birth_weight: f64,
    grant: Option<ConsentGrant>,
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A family with a mother profile, a prenatal visit (with clinic and note), a
/// delivery, the newborn, a checkup and an immunization, synced.
fn family(env: &Env, i: usize, birth_date: NaiveDate, sex: Sex, birth_weight: f64) -> Family {
    family_with(env, i, birth_date, sex, birth_weight, |_| {})
}

/// [`family`] with its record bodies changed (or more added) by `edit` before they are synced.
/// Gestational age at delivery varies with `i` (37 to 40 weeks), the mothers' sensitive item.
fn family_with(
    env: &Env,
    i: usize,
    birth_date: NaiveDate,
    sex: Sex,
    birth_weight: f64,
    edit: impl FnOnce(&mut Vec<(Subject, RecordBody)>),
) -> Family {
    let mut device = Device::create_account(&env.url(""), "Mother's phone");
    let child = Uuid::now_v7();
    let mut bodies = phr_tests::families::birth_records(i, "研究", child, birth_date, sex, birth_weight);
    edit(&mut bodies);
    for (subject, body) in bodies {
        device.edit(Uuid::now_v7(), body.kind(), subject, serde_json::to_value(&body).unwrap());
    }
    device.sync();
    Family { device, child, birth_date, birth_weight, grant: None }
}

/// The family grants the research programme every module for the mother and the child, all records
/// the grant covers (as the app does: never the subjects' identifiers).
fn grant_research(f: &mut Family) {
    let grant = research_grant(f);
    let records = f.device.records_covered_by(&grant);
    let (status, body) = post_research_grant(f, &grant, &records);
    assert_eq!(status, 201, "{body}");
    f.grant = Some(grant);
}

/// A research grant of every module for the mother and the child, all records.
fn research_grant(f: &Family) -> ConsentGrant {
    ConsentGrant {
        id: GrantId(Uuid::now_v7()),
        grantee: OrganizationId::new(RESEARCH).unwrap(),
        purpose: Purpose::Research,
        scope: GrantScope {
            modules: RecordKind::MODULES.into_iter().collect(),
            subjects: [Subject::Mother, Subject::Child(f.child)].into_iter().collect(),
            data_from: None,
            data_to: None,
        },
        period: GrantPeriod::OPEN,
        access: Access::Read,
        state: GrantState::Active,
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

/// Posts `grant` with the data keys of `records` wrapped under a new grant key: (status, body).
fn post_research_grant(f: &Family, grant: &ConsentGrant, records: &[Uuid]) -> (u16, Value) {
    let (status, body) = f.device.call("GET", "/consent/v1/view-key", None);
    assert_eq!(status, 200, "{body}");
    let view: ViewKeyResponse = serde_json::from_value(body).unwrap();
    let public = HpkePublicKey::from_bytes(&view.public_key).unwrap();
    let key = GrantKey::generate();
    let grant_id = grant.id.0;
    let request = CreateGrantRequest {
        grant: grant.clone(),
        wrapped_grant_key: wrap_grant_key_to(&public, &key, &f.device.account_id, grant_id).unwrap(),
        view_kid: view.kid,
        record_keys: records
            .iter()
            .map(|r| GrantRecordKey {
                record_id: *r,
                wrapped_key: f.device.wrap_record_key_for_grant(*r, &key, grant_id).unwrap(),
            })
            .collect(),
    };
    f.device.call("POST", "/consent/v1/grants", Some(&serde_json::to_value(request).unwrap()))
}

fn revoke(f: &Family) {
    let id = f.grant.as_ref().unwrap().id.0;
    let (status, body) = f.device.call("DELETE", &format!("/consent/v1/grants/{id}"), None);
    assert!(status == 200 || status == 204, "{status} {body}");
}

fn audit_actions(device: &Device) -> Vec<String> {
    device.audit_events().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

/// `n` consenting families born in January 2026, sexes alternating, weights spread over several bands.
fn consenting_families(env: &Env, n: usize) -> Vec<Family> {
    (0..n)
        .map(|i| {
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            let mut f =
                family(env, i, d("2026-01-03") + chrono::Duration::days(i as i64 * 2), sex, 2500.0 + 113.0 * i as f64);
            grant_research(&mut f);
            f
        })
        .collect()
}

// --- tests -----------------------------------------------------------------------

phr_tests::backend_test! {
    fn an_export_delivers_deidentified_files_of_actively_consenting_families_only_and_is_audited_in_each(db) {
        let backend = db.target.backend_name();
        let env = Env::start(db, &[]);
        let families = consenting_families(&env, 12);
        let mut revoked = family(&env, 100, d("2026-01-20"), Sex::Female, 3000.0);
        grant_research(&mut revoked);
        revoke(&revoked);
        let unconsented = family(&env, 101, d("2026-01-21"), Sex::Male, 3100.0);

        let token = env.research_token();
        let status_url = kick_off(&env, &token, "?module=newborn,child_checkup,immunization,delivery,prenatal_visit");
        let manifest = wait_manifest(&status_url, &token);
        assert_eq!(manifest["requiresAccessToken"], true);
        let types: HashSet<&str> =
            manifest["output"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
        assert_eq!(types, HashSet::from(["Observation", "Patient"]));

        // Only the 12 consenting children; the revoked and the never-consenting families are absent.
        let newborns = csv_of(&manifest, "newborn", &token);
        assert_eq!(newborns.len(), 12, "{newborns:?}");
        let children: HashSet<String> = newborns.iter().map(|r| r["person_id"].clone()).collect();
        assert_eq!(children.len(), 12);
        let checkups = csv_of(&manifest, "child_checkup", &token);
        assert_eq!(
            checkups.iter().map(|r| r["person_id"].clone()).collect::<HashSet<_>>(),
            children,
            "same pseudonyms across modules"
        );
        assert!(checkups.iter().all(|r| r["age_days"] == "31"));
        assert!(newborns.iter().all(|r| r["birth_period"] == "2026-01"), "{newborns:?}");

        // Every resource is labelled pseudonymized; no identifier or exact date leaves.
        let mut all_text = String::new();
        for out in manifest["output"].as_array().unwrap() {
            let text = download(out["url"].as_str().unwrap(), &token);
            let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(lines.len() as u64, out["count"].as_u64().unwrap());
            assert!(lines.iter().all(|r| r["meta"]["security"][0]["code"] == "PSEUDED"));
            all_text.push_str(&text);
        }
        for f in manifest["extension"]["csv"].as_array().unwrap() {
            all_text.push_str(&download(f["url"].as_str().unwrap(), &token));
        }
        for f in families.iter().chain([&revoked, &unconsented]) {
            assert!(!all_text.contains(&f.device.account_id), "account id leaked");
            assert!(!all_text.contains(&f.child.to_string()), "child id leaked");
            assert!(!all_text.contains(&f.birth_date.to_string()), "birth date leaked");
        }
        assert!(!all_text.contains("研究"), "a name leaked");
        assert!(!all_text.contains(examples::prenatal_visit_full().clinic_name.unwrap().as_str()), "clinic leaked");

        // The report: k and l reached, the consents covered (not the revoked one).
        let report_url = manifest["extension"]["deidentificationReport"]["url"].as_str().unwrap();
        let report: Value = serde_json::from_str(&download(report_url, &token)).unwrap();
        assert!(report["deidentification"]["kanon"]["k_reached"].as_u64().unwrap() >= 5, "{report}");
        assert!(report["deidentification"]["kanon"]["l_reached"].as_u64().unwrap() >= 2, "{report}");
        let covered: HashSet<String> =
            report["consents_covered"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        let expected: HashSet<String> = families.iter().map(|f| f.grant.as_ref().unwrap().id.0.to_string()).collect();
        assert_eq!(covered, expected);

        // Audited in each included family's log, and in no other.
        for f in &families {
            assert!(audit_actions(&f.device).contains(&"research_export".to_owned()), "{backend}: not audited");
        }
        assert!(!audit_actions(&revoked.device).contains(&"research_export".to_owned()));
        assert!(!audit_actions(&unconsented.device).contains(&"research_export".to_owned()));

        dump(&manifest, &token, &format!("consented-{backend}"));

        // A second extract of the same data shares no pseudonym with the first.
        let second = wait_manifest(&kick_off(&env, &token, "?module=newborn"), &token);
        let again: HashSet<String> =
            csv_of(&second, "newborn", &token).iter().map(|r| r["person_id"].clone()).collect();
        assert_eq!(again.len(), 12);
        assert!(again.is_disjoint(&children), "two extracts share pseudonyms");

        // Revoking now excludes that family from every later extract.
        revoke(&families[0]);
        let third = wait_manifest(&kick_off(&env, &token, "?module=newborn"), &token);
        assert_eq!(csv_of(&third, "newborn", &token).len(), 11);
    }
}

phr_tests::backend_test! {
    fn linking_a_known_family_by_exact_birth_date_clinic_and_birth_weight_fails(db) {
        let env = Env::start(db, &[]);
        let families = consenting_families(&env, 12);
        let token = env.research_token();
        let manifest = wait_manifest(&kick_off(&env, &token, "?module=newborn,prenatal_visit"), &token);
        let rows = csv_of(&manifest, "newborn", &token);
        let visits = csv_of(&manifest, "prenatal_visit", &token);
        let clinic = examples::prenatal_visit_full().clinic_name.unwrap();
        for target in &families {
            // What the attacker knows exactly never appears; only generalized values do.
            let exact_date = target.birth_date.to_string();
            let exact_weight = format!("{}", target.birth_weight);
            let matches: Vec<_> =
                rows.iter().filter(|r| r.values().any(|v| v == &exact_date || v == &exact_weight)).collect();
            assert!(matches.is_empty(), "an exact quasi-identifier is in the extract");
            assert!(visits.iter().all(|r| r.values().all(|v| v != &clinic)));
            // The best linking the generalized values allow leaves at least k candidates.
            let month = target.birth_date.format("%Y-%m").to_string();
            let candidates =
                rows.iter().filter(|r| r["birth_period"] == month || r["birth_period"].starts_with("2026")).count();
            assert!(candidates >= 5, "the family is narrowed to {candidates} rows");
        }
    }
}

phr_tests::backend_test! {
    fn bad_export_requests_are_clear_4xx_and_other_organizations_cannot_see_an_export(db) {
        let env = Env::start(db, &[]);
        let token = env.research_token();
        let url = |q: &str| env.url(&format!("/research/v1/$export{q}"));
        for (q, what) in [
            ("?module=Patient", "unknown dataset module"),
            ("?_type=newborn", "_type"),
            ("?_since=yesterday", "_since"),
            ("?foo=1", "unknown parameter"),
            ("?_outputFormat=text%2Fcsv", "_outputFormat"),
            ("?_typeFilter=Observation%3Fcode%3Dx", "_typeFilter: not supported"),
        ] {
            let detail = kick(&env, Some(&token), q).outcome(400);
            assert!(detail.contains(what), "{q}: {detail}");
        }
        // Every output format name of Bulk Data for NDJSON is accepted (then cancelled at once).
        for f in ["application%2Ffhir%2Bndjson", "application%2Fndjson", "ndjson"] {
            let status_url = kick_off(&env, &token, &format!("?_outputFormat={f}&module=newborn"));
            assert_eq!(call("DELETE", &status_url, &token).0, 202, "{f}");
        }
        // Without Prefer: respond-async (required by Bulk Data) nothing starts.
        let reply = send("GET", &url(""), Some(&token), None, None);
        assert!(reply.outcome(400).contains("Prefer: respond-async"), "{reply:?}");
        kick(&env, None, "").outcome(401);
        kick(&env, Some("junk"), "").outcome(401);
        // A clinic (treatment purpose) may not request research exports.
        let clinic = env.token(CLINIC, "system/*.rs");
        kick(&env, Some(&clinic), "").outcome(403);
        // A research token without read scopes is refused.
        let narrow = env.token(RESEARCH, "system/Immunization.rs");
        kick(&env, Some(&narrow), "").outcome(403);
        // Anything else under the research base is an OperationOutcome too.
        send("GET", &env.url("/research/v1/nowhere"), Some(&token), None, None).outcome(404);
        send("GET", &env.url("/research/v2/$export"), Some(&token), None, None).outcome(404);
        request("PUT", &url(""), Some(&token), &[RESPOND_ASYNC], None).2.outcome(405);

        let status_url = kick_off(&env, &token, "?module=newborn");
        let manifest = wait_manifest(&status_url, &token);
        let file = manifest["extension"]["deidentificationReport"]["url"].as_str().unwrap().to_owned();
        // Unknown ids and names outside the manifest are 404.
        send("GET", &env.url("/research/v1/exports/nope"), Some(&token), None, None).outcome(404);
        send("GET", &format!("{status_url}/files/..%2Fphr.db"), Some(&token), None, None).outcome(404);
        send("GET", &format!("{status_url}/files/secret.part"), Some(&token), None, None).outcome(404);
        // DELETE removes the export: files and status are gone.
        assert_eq!(call("DELETE", &status_url, &token).0, 202);
        send("GET", &status_url, Some(&token), None, None).outcome(404);
        send("GET", &file, Some(&token), None, None).outcome(404);
        let export_id = status_url.rsplit('/').next().unwrap();
        assert!(!env.data.join("research").join(export_id).exists(), "files deleted");
        send("DELETE", &status_url, Some(&token), None, None).outcome(404);

        // At most two exports run at once per organization: a third is 429 until one is cancelled.
        let (pool, _) = phr_server::store::open(&env.db.target, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let running: Vec<String> = (0..2).map(|_| Uuid::new_v4().to_string()).collect();
        for id in &running {
            let now = chrono::Utc::now().timestamp_millis();
            let row = phr_server::store::research::ExportRow {
                export_id: id.clone(),
                organization_id: RESEARCH.into(),
                state: "running".into(),
                request_json: "{}".into(),
                progress: 0,
                records_done: 0,
                manifest_json: None,
                error: None,
                created_at: now,
                updated_at: now,
                expires_at: None,
                claim: Some("another-node".into()),
                attempts: 1,
            };
            phr_server::store::research::insert(&mut conn, &row).unwrap();
        }
        kick(&env, Some(&token), "").outcome(429);
        let (status, headers, _) = call("GET", &url(""), &token);
        let poll = POLL_AFTER_SECS.to_string();
        assert_eq!((status, headers.get("retry-after")), (429, Some(&poll)), "429 says when to look again");
        let (status, headers, _) = call("GET", &env.url(&format!("/research/v1/exports/{}", running[1])), &token);
        assert_eq!((status, headers.get("retry-after")), (202, Some(&poll)), "a running export: when to poll again");
        let first = env.url(&format!("/research/v1/exports/{}", running[0]));
        assert_eq!(call("DELETE", &first, &token).0, 202);
        send("GET", &first, Some(&token), None, None).outcome(404);
        assert_eq!(call("GET", &url("?module=newborn"), &token).0, 202);
    }
}

phr_tests::backend_test! {
    fn type_selects_fhir_resource_types_module_selects_dataset_modules_and_the_manifest_repeats_the_request(db) {
        let env = Env::start(db, &[]);
        consenting_families(&env, 12);
        let token = env.research_token();

        let query = "?_type=Patient,Observation&module=newborn";
        let manifest = wait_manifest(&kick_off(&env, &token, query), &token);
        assert_eq!(manifest["request"], env.url(&format!("/research/v1/$export{query}")));
        assert_eq!(output_types(&manifest), ["Observation", "Patient"]);
        assert_eq!(manifest["error"], json!([]));
        let csv: Vec<&str> =
            manifest["extension"]["csv"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(csv, ["csv:newborn"], "module selects the dataset modules");

        // Only Patient: exactly that type in the output; the module CSVs stay in the extension.
        let manifest = wait_manifest(&kick_off(&env, &token, "?_type=Patient"), &token);
        assert_eq!(output_types(&manifest), ["Patient"]);
        let patients = download(manifest["output"][0]["url"].as_str().unwrap(), &token);
        assert!(patients.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["resourceType"] == "Patient"));
        assert_eq!(patients.lines().count() as u64, manifest["output"][0]["count"].as_u64().unwrap());
        assert!(!manifest["extension"]["csv"].as_array().unwrap().is_empty());

        // Only Observation, of one module.
        let manifest = wait_manifest(&kick_off(&env, &token, "?_type=Observation&module=newborn"), &token);
        assert_eq!(output_types(&manifest), ["Observation"]);
        let observations = download(manifest["output"][0]["url"].as_str().unwrap(), &token);
        let newborns = csv_of(&manifest, "newborn", &token);
        assert!(!newborns.is_empty());
        assert_eq!(observations.lines().count(), newborns.len(), "one Observation per newborn row");
        assert!(observations.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["resourceType"] == "Observation"));

        // The same export kicked off by POST with a Parameters resource.
        let parameters = json!({"resourceType": "Parameters", "parameter": [
            {"name": "_type", "valueString": "Patient"},
            {"name": "module", "valueString": "newborn"},
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
        ]});
        let body = parameters.to_string();
        let kick_url = env.url("/research/v1/$export");
        let headers = [RESPOND_ASYNC, ("Content-Type", "application/fhir+json")];
        let (status, headers, reply) = request("POST", &kick_url, Some(&token), &headers, Some(body.as_bytes()));
        assert_eq!(status, 202, "{reply:?}");
        assert_eq!(reply.body["resourceType"], "OperationOutcome");
        let manifest = wait_manifest(headers.get("content-location").unwrap(), &token);
        assert_eq!(manifest["request"], kick_url, "a POST's request URL carries no parameters");
        assert_eq!(output_types(&manifest), ["Patient"]);
        let text_plain = [RESPOND_ASYNC, ("Content-Type", "text/plain")];
        request("POST", &kick_url, Some(&token), &text_plain, Some(body.as_bytes())).2.outcome(415);
        let not_parameters = [RESPOND_ASYNC, ("Content-Type", "application/fhir+json")];
        let reply = request("POST", &kick_url, Some(&token), &not_parameters, Some(b"{\"resourceType\": \"Bundle\"}")).2;
        assert!(reply.outcome(400).contains("Parameters"), "{reply:?}");
    }
}

phr_tests::backend_test! {
    fn a_resource_type_without_data_has_no_output_item_and_no_data_at_all_is_an_empty_output(db) {
        let env = Env::start(db, &[]);
        let token = env.research_token();
        let manifest = wait_manifest(&kick_off(&env, &token, "?_type=Patient,Observation"), &token);
        assert_eq!(manifest["output"], json!([]), "no consenting family: nothing to list");
        assert_eq!(manifest["error"], json!([]));
        assert!(manifest["extension"]["deidentificationReport"]["url"].is_string(), "{manifest}");

        consenting_families(&env, 12);
        let manifest = wait_manifest(&kick_off(&env, &token, "?_type=Patient,Observation"), &token);
        assert_eq!(output_types(&manifest), ["Observation", "Patient"]);
        assert!(manifest["output"].as_array().unwrap().iter().all(|o| o["count"].as_u64().unwrap() > 0), "{manifest}");
    }
}

phr_tests::backend_test! {
    fn unsupported_parameters_are_400_unless_handling_is_lenient_then_ignored_and_reported_in_operation_outcomes(db) {
        let env = Env::start(db, &[]);
        consenting_families(&env, 12);
        let token = env.research_token();
        let query = "?_type=Patient,Immunization&_elements=id&foo=1&module=newborn";
        let detail = kick(&env, Some(&token), query).outcome(400);
        assert!(detail.contains("Immunization is not exported"), "{detail}");
        assert!(!detail.contains("foo"), "a client's parameter name is never repeated: {detail}");

        let url = env.url(&format!("/research/v1/$export{query}"));
        let lenient = [("Prefer", "respond-async, handling=lenient")];
        let (status, headers, reply) = request("GET", &url, Some(&token), &lenient, None);
        assert_eq!(status, 202, "{reply:?}");
        phr_tests::fhir::dump(&reply.body.to_string());
        let issues = reply.body["issue"].as_array().unwrap();
        assert_eq!(issues.len(), 3, "{reply:?}");
        assert!(issues.iter().all(|i| i["severity"] == "warning" && i["code"] == "not-supported"), "{reply:?}");
        let expressions: Vec<&Value> = issues.iter().map(|i| &i["expression"]).collect();
        assert_eq!(expressions, [&json!(["_type"]), &json!(["_elements"]), &Value::Null]);

        let manifest = wait_manifest(headers.get("content-location").unwrap(), &token);
        assert_eq!(output_types(&manifest), ["Patient"], "the supported type is exported");
        let errors = manifest["error"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{manifest}");
        // The error file: one OperationOutcome per ignored parameter.
        assert_eq!((&errors[0]["type"], &errors[0]["count"]), (&json!("OperationOutcome"), &json!(3)));
        let text = download(errors[0]["url"].as_str().unwrap(), &token);
        assert_eq!(text.lines().count(), 3, "{text}");
        for (line, issue) in text.lines().zip(issues) {
            let outcome: Value = serde_json::from_str(line).unwrap();
            assert_eq!(outcome["resourceType"], "OperationOutcome");
            assert_eq!(outcome["issue"], json!([issue]));
            phr_tests::fhir::dump(line);
        }

        // Bad values of supported parameters are refused even when lenient.
        let bad = env.url("/research/v1/$export?_since=yesterday");
        assert!(request("GET", &bad, Some(&token), &lenient, None).2.outcome(400).contains("_since"));
    }
}

phr_tests::backend_test! {
    fn the_research_base_serves_a_capability_statement_naming_the_bulk_export_operation_and_smart_discovery(db) {
        let env = Env::start(db, &[]);
        let (status, headers, reply) = request("GET", &env.url("/research/v1/metadata"), None, &[], None);
        assert_eq!(status, 200, "{reply:?}");
        assert_eq!(headers.get("content-type").map(String::as_str), Some("application/fhir+json"));
        let cs = &reply.body;
        assert_eq!(cs["resourceType"], "CapabilityStatement");
        assert_eq!(cs["kind"], "instance");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        assert!(cs["format"].as_array().unwrap().iter().any(|f| f == "application/fhir+ndjson"));
        let op = &cs["rest"][0]["operation"][0];
        assert_eq!(op["name"], "export");
        assert_eq!(op["definition"], "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export");
        assert!(op["documentation"].as_str().unwrap().contains("_type"));
        phr_tests::fhir::dump(&cs.to_string());
        // SMART discovery at the base too (where Bulk Data clients look for the token endpoint).
        let (status, _, reply) =
            request("GET", &env.url("/research/v1/.well-known/smart-configuration"), None, &[], None);
        assert_eq!(status, 200, "{reply:?}");
        assert_eq!(reply.body["token_endpoint"], env.url("/auth/token"));
    }
}

phr_tests::backend_test! {
    fn an_export_cut_off_by_a_restart_is_run_again_from_the_start_or_failed_after_three_runs_and_files_go_after_retention(db) {
        let mut env = Env::start(db, &["--research-retention-secs", "2"]);
        consenting_families(&env, 6);
        let token = env.research_token();

        use phr_server::app::research::jobs::ExportRequest;
        use phr_server::store::research::{insert, ExportRow};
        let request = ExportRequest {
            modules: vec![phr_core::dataset::RecordKind::Newborn],
            resources: vec![phr_server::app::research::kickoff::ExportType::Patient],
            ignored: Vec::new(),
            since_ms: None,
            request_url: env.url("/research/v1/$export?module=newborn&_type=Patient"),
            k: 2,
        };
        let minute_ago = chrono::Utc::now().timestamp_millis() - 60_000;
        let running = |export_id: &str, claim: &str, attempts: i64, updated_at: i64| ExportRow {
            export_id: export_id.into(),
            organization_id: RESEARCH.into(),
            state: "running".into(),
            request_json: serde_json::to_string(&request).unwrap(),
            progress: 42,
            records_done: 10,
            manifest_json: None,
            error: None,
            created_at: minute_ago,
            updated_at,
            expires_at: None,
            claim: Some(claim.into()),
            attempts,
        };
        let (pool, _) = phr_server::store::open(&env.db.target, 1).unwrap();
        let mut conn = pool.get().unwrap();
        // A job whose run died with its server a minute ago (heartbeat stopped), half-written files
        // in its run's directory.
        let cut_off = Uuid::new_v4().to_string();
        insert(&mut conn, &running(&cut_off, "dead-run", 1, minute_ago)).unwrap();
        let part_dir = env.data.join("research").join(&cut_off).join("dead-run");
        std::fs::create_dir_all(&part_dir).unwrap();
        std::fs::write(part_dir.join("newborn.csv.part"), "person_id\r\nhalf").unwrap();
        // A job whose runs were cut off three times already: it fails.
        let hopeless = Uuid::new_v4().to_string();
        insert(&mut conn, &running(&hopeless, "third-run", 3, minute_ago)).unwrap();
        // On PostgreSQL another server may be running a job right now (fresh heartbeat): left alone.
        let live_id = Uuid::new_v4().to_string();
        let later = chrono::Utc::now().timestamp_millis() + 10_000;
        insert(&mut conn, &running(&live_id, "live-run", 1, later)).unwrap();
        drop(conn);
        env.restart();

        // The cut-off job runs again from the start, under a new secret, and completes.
        let status_url = env.url(&format!("/research/v1/exports/{cut_off}"));
        let manifest = wait_manifest(&status_url, &token);
        assert!(!part_dir.exists(), "the dead run's partial files are removed, never delivered");
        let outputs = manifest["output"].as_array().unwrap();
        assert_eq!(outputs.len(), 1, "{manifest}");
        let patients = download(outputs[0]["url"].as_str().unwrap(), &token);
        assert!(!patients.is_empty());
        let (pool, _) = phr_server::store::open(&env.db.target, 1).unwrap();
        let row = phr_server::store::research::get(&mut pool.get().unwrap(), &cut_off).unwrap().unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("completed", 2), "claimed a second time");

        let reply = send("GET", &env.url(&format!("/research/v1/exports/{hopeless}")), Some(&token), None, None);
        let detail = reply.outcome(500);
        assert!(detail.contains("interrupted") && detail.contains("3 times") && detail.contains("cannot resume"), "{detail}");
        let live = phr_server::store::research::get(&mut pool.get().unwrap(), &live_id).unwrap().unwrap();
        match env.db.target.backend_name() {
            "postgres" => assert_eq!(
                (live.claim.as_deref(), live.attempts),
                (Some("live-run"), 1),
                "a job with a live heartbeat is left to its node"
            ),
            _ => assert_eq!(live.attempts, 2, "SQLite has one server: every running job was cut off and claimed again"),
        }

        // A completed export is downloadable, then deleted after the retention period.
        let token = env.research_token();
        let status_url = kick_off(&env, &token, "?module=newborn");
        let manifest = wait_manifest(&status_url, &token);
        let file = manifest["extension"]["deidentificationReport"]["url"].as_str().unwrap().to_owned();
        download(&file, &token);
        let deadline = Instant::now() + Duration::from_secs(20);
        while call("GET", &status_url, &token).0 == 200 {
            assert!(Instant::now() < deadline, "files outlived the retention period");
            std::thread::sleep(Duration::from_millis(200));
        }
        let detail = send("GET", &status_url, Some(&token), None, None).outcome(404);
        assert!(detail.contains("retention"), "{detail}");
        send("GET", &file, Some(&token), None, None).outcome(404);
        let export_id = status_url.rsplit('/').next().unwrap();
        assert!(!env.data.join("research").join(export_id).exists());
    }
}

/// The permission bits of `path`.
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

phr_tests::backend_test! {
    /// Item 5 of issue 12: started under umask 022, the server creates its
    /// data directory 0700, and every file it writes — the SQLite database
    /// with its `-wal` and `-shm`, server keys, research extract files and
    /// their directories — is owner-only (0600 / 0700).
    fn under_umask_022_the_data_dir_database_files_and_research_extracts_are_owner_only(db) {
        // SAFETY: umask(2) only sets this test process's creation mask; servers inherit it.
        unsafe { libc::umask(0o022) };
        let env = Env::start(db, &[]);
        consenting_families(&env, 2);
        let token = env.research_token();
        let manifest = wait_manifest(&kick_off(&env, &token, ""), &token);
        assert!(manifest["extension"]["deidentificationReport"]["url"].is_string(), "{manifest}");

        assert_eq!(mode_of(&env.data), 0o700, "data dir");
        if let phr_server::store::DatabaseTarget::Sqlite(path) = &env.db.target {
            for suffix in ["", "-wal", "-shm"] {
                let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                assert!(file.exists(), "{} exists while the server runs", file.display());
                assert_eq!(mode_of(&file), 0o600, "{}", file.display());
            }
        }
        let exports = env.data.join("research");
        assert_eq!(mode_of(&exports), 0o700, "research dir");
        let mut files = 0;
        // research/<export>/<run>/<file>
        for export in std::fs::read_dir(&exports).unwrap() {
            let export = export.unwrap().path();
            assert_eq!(mode_of(&export), 0o700, "{}", export.display());
            for run in std::fs::read_dir(&export).unwrap() {
                let run = run.unwrap().path();
                assert_eq!(mode_of(&run), 0o700, "{}", run.display());
                for file in std::fs::read_dir(&run).unwrap() {
                    let file = file.unwrap().path();
                    assert_eq!(mode_of(&file), 0o600, "{}", file.display());
                    files += 1;
                }
            }
        }
        assert!(files >= 3, "the extract wrote its files ({files})");
        for key in std::fs::read_dir(env.data.join("keys")).unwrap() {
            assert_eq!(mode_of(&key.unwrap().path()), 0o600);
        }
    }
}

phr_tests::backend_test! {
    /// Item 7 of issue 12: an export's `_since` outside 1900-01-01 to
    /// 2200-12-31 is a 400 naming `_since`, and no export is started.
    fn an_export_since_outside_1900_to_2200_is_400_naming_since(db) {
        let env = Env::start(db, &[]);
        let token = env.research_token();
        for since in ["0000-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "2201-01-01T00:00:00Z"] {
            let detail = kick(&env, Some(&token), &format!("?_since={since}")).outcome(400);
            assert!(detail.contains("_since") && detail.contains("1900-01-01 to 2200-12-31"), "{since}: {detail}");
        }
        let started = std::fs::read_dir(env.data.join("research")).map_or(0, |d| d.count());
        assert_eq!(started, 0, "no export was started");
    }
}

// --- small groups, dangling references, top/bottom coding (issue 12, item 10) ---------------

/// Every file of an export: (name, text), NDJSON and CSV alike.
fn all_files(manifest: &Value, token: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for f in manifest["output"].as_array().unwrap().iter().chain(manifest["extension"]["csv"].as_array().unwrap()) {
        let url = f["url"].as_str().unwrap();
        files.push((url.rsplit('/').next().unwrap().to_owned(), download(url, token)));
    }
    files
}

/// The mother's modules (her own rows, as opposed to her child's).
const MOTHER_MODULES: [&str; 5] = ["mother_profile", "pregnancy", "prenatal_visit", "delivery", "self_vitals"];

/// A prenatal visit and a home reading of severe hypertension: systolic 187.3.
fn with_severe_hypertension(bodies: &mut Vec<(Subject, RecordBody)>) {
    let bp = BloodPressure { systolic: Quantity::new(187.3), diastolic: Quantity::new(112.0) };
    for (_, body) in bodies.iter_mut() {
        if let RecordBody::PrenatalVisit(v) = body {
            v.blood_pressure = Some(bp.clone());
        }
    }
    let mut vitals = examples::self_vitals_full();
    vitals.blood_pressure = Some(bp);
    bodies.push((Subject::Mother, RecordBody::SelfVitals(vitals)));
    bodies.push((Subject::Mother, RecordBody::Pregnancy(examples::pregnancy_full())));
}

phr_tests::backend_test! {
    /// A one-family extract (and one of four families, still fewer than k = 5) carries no row of
    /// the mothers: not her profile, pregnancy, visits, delivery or home readings, so her exact
    /// systolic 187.3 appears in no output file, and no Patient is left without its rows' group.
    fn a_small_extract_carries_no_mother_rows_of_a_group_smaller_than_k(db) {
        let backend = db.target.backend_name();
        let env = Env::start(db, &["--research-k", "5"]);
        let mut families = vec![family_with(&env, 0, d("2026-01-03"), Sex::Female, 3000.0, with_severe_hypertension)];
        grant_research(&mut families[0]);
        let token = env.research_token();
        for round in 0..2 {
            let manifest = wait_manifest(&kick_off(&env, &token, ""), &token);
            for (name, text) in all_files(&manifest, &token) {
                assert!(!text.contains("187.3"), "{backend} round {round}: {name} carries the exact reading 187.3");
            }
            for module in MOTHER_MODULES {
                let rows = csv_of(&manifest, module, &token);
                assert!(rows.is_empty(), "{backend} round {round}: {module} has {} mother rows: {rows:?}", rows.len());
            }
            dump(&manifest, &token, &format!("small-{round}-{backend}"));
            // Three more families (four in all, still fewer than k): still nothing of the mothers.
            for i in 1..4 {
                let mut f = family_with(&env, i, d("2026-01-03") + chrono::Duration::days(i as i64), Sex::Female,
                    2800.0 + 300.0 * i as f64, with_severe_hypertension);
                grant_research(&mut f);
                families.push(f);
            }
        }
    }
}

phr_tests::backend_test! {
    /// With k = 5 and 14 consenting families, four of them alone in their birth year (their
    /// children suppressed): every row of every NDJSON and CSV file names a Patient that is in
    /// Patient.ndjson, and the suppressed children's mothers have no rows at all.
    fn every_patient_reference_in_an_extract_names_a_patient_of_the_extract(db) {
        let backend = db.target.backend_name();
        let env = Env::start(db, &["--research-k", "5"]);
        let mut families = consenting_families(&env, 10);
        for (i, year) in [2019, 2020, 2021, 2022].into_iter().enumerate() {
            let mut f = family_with(&env, 20 + i, d(&format!("{year}-06-1{i}")), Sex::Male, 3300.0,
                with_severe_hypertension);
            grant_research(&mut f);
            families.push(f);
        }
        assert_eq!(families.len(), 14);
        let token = env.research_token();
        let manifest = wait_manifest(&kick_off(&env, &token, ""), &token);
        let files = all_files(&manifest, &token);
        let patients: HashSet<String> = files
            .iter()
            .find(|(name, _)| name == "Patient.ndjson")
            .expect("Patient.ndjson")
            .1
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
            .collect();
        let mut dangling = Vec::new();
        let mut checked = 0;
        for (name, text) in &files {
            if name.ends_with(".ndjson") {
                for line in text.lines() {
                    let r: Value = serde_json::from_str(line).unwrap();
                    if let Some(reference) = r["subject"]["reference"].as_str() {
                        checked += 1;
                        let id = reference.strip_prefix("Patient/").unwrap_or(reference);
                        if !patients.contains(id) {
                            dangling.push(format!("{name}: {reference}"));
                        }
                    }
                }
            } else if name.ends_with(".csv") {
                for line in text.lines().skip(1) {
                    checked += 1;
                    let person = line.split(',').next().unwrap();
                    if !patients.contains(person) {
                        dangling.push(format!("{name}: {person}"));
                    }
                }
            }
        }
        assert!(dangling.is_empty(), "{backend}: {} dangling references: {dangling:?}", dangling.len());
        assert!(checked > 100, "{backend}: only {checked} rows checked");
        for (name, text) in &files {
            assert!(!text.contains("187.3"), "{backend}: {name} carries a suppressed family's reading");
        }
        // The ten January families are all there, mothers included.
        assert_eq!(csv_of(&manifest, "newborn", &token).len(), 10);
        assert_eq!(csv_of(&manifest, "delivery", &token).len(), 10);
        assert_eq!(csv_of(&manifest, "mother_profile", &token).len(), 10);
        dump(&manifest, &token, &format!("references-{backend}"));
    }
}

phr_tests::backend_test! {
    /// With ten values of an item, ordinary readings (61.8 kg, 124/78) come out as measured and
    /// flagged unclamped; with 120 home readings the 1st/99th percentile bounds apply, and every
    /// clamped value is flagged `true` in the CSV and carries the clamped extension in the NDJSON.
    fn numbers_are_clamped_only_with_enough_values_and_every_clamped_value_is_marked(db) {
        let backend = db.target.backend_name();
        let env = Env::start(db, &["--research-k", "5"]);
        for i in 0..10 {
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            let mut f = family_with(&env, i, d("2026-01-03") + chrono::Duration::days(i as i64 * 2), sex,
                2500.0 + 113.0 * i as f64, |bodies| {
                    for (_, body) in bodies.iter_mut() {
                        if let RecordBody::PrenatalVisit(v) = body {
                            // Family 0 has the highest weight and pressure of the ten visits.
                            let (weight, sys, dia) = if i == 0 { (61.8, 124.0, 78.0) }
                                else { (50.0 + i as f64, 100.0 + i as f64, 60.0 + i as f64) };
                            v.body_weight = Some(Quantity::new(weight));
                            v.blood_pressure = Some(BloodPressure { systolic: Quantity::new(sys),
                                diastolic: Quantity::new(dia) });
                            // Family 1's fetal heart rate is beyond the plausible 100-180/min.
                            if i == 1 {
                                v.fetal_heart_rate = Some(Quantity::new(196.0));
                            }
                        }
                    }
                    // Twelve home readings each: systolic 100 + n for n = 0..120 over the ten mothers.
                    for j in 0..12 {
                        let mut vitals = examples::self_vitals_full();
                        vitals.measured_at = format!("2025-12-{:02}T07:30:00+09:00", j + 1).parse().unwrap();
                        vitals.blood_pressure = Some(BloodPressure {
                            systolic: Quantity::new(100.0 + (i * 12 + j) as f64),
                            diastolic: Quantity::new(60.0),
                        });
                        bodies.push((Subject::Mother, RecordBody::SelfVitals(vitals)));
                    }
                });
            grant_research(&mut f);
        }
        let token = env.research_token();
        let manifest = wait_manifest(&kick_off(&env, &token, "?module=prenatal_visit,self_vitals,delivery,mother_profile"), &token);

        // Few values: nothing is clamped, the ordinary readings are as measured.
        let visits = csv_of(&manifest, "prenatal_visit", &token);
        assert_eq!(visits.len(), 10, "{backend}: {visits:?}");
        let top = visits.iter().find(|r| r["body_weight_kg"] == "61.8")
            .unwrap_or_else(|| panic!("{backend}: 61.8 kg was changed: {visits:?}"));
        assert_eq!((top["systolic_mmhg"].as_str(), top["diastolic_mmhg"].as_str()), ("124", "78"), "{backend}");
        for r in &visits {
            for col in ["body_weight_kg", "systolic_mmhg", "diastolic_mmhg"] {
                assert_eq!(r[&format!("{col}_clamped")], "false", "{backend}: {col} {r:?}");
            }
        }
        // ... and an implausible one is withheld (too few values to clamp it safely).
        let withheld: Vec<_> = visits.iter().filter(|r| r["fetal_heart_rate"].is_empty()).collect();
        assert_eq!(withheld.len(), 1, "{backend}: {visits:?}");
        assert_eq!(withheld[0]["fetal_heart_rate_clamped"], "", "{backend}");
        assert!(visits.iter().all(|r| r["fetal_heart_rate"] != "196"), "{backend}");

        // Enough values (120 home readings): lower-rank percentiles of 100..=219 are 101 and 217.
        let vitals = csv_of(&manifest, "self_vitals", &token);
        assert_eq!(vitals.len(), 120, "{backend}");
        let mut clamped: Vec<f64> = Vec::new();
        for r in &vitals {
            let value: f64 = r["systolic_mmhg"].parse().unwrap();
            assert!((101.0..=217.0).contains(&value), "{backend}: {r:?}");
            match r["systolic_mmhg_clamped"].as_str() {
                "true" => clamped.push(value),
                "false" => {}
                other => panic!("{backend}: flag {other:?}"),
            }
        }
        clamped.sort_by(f64::total_cmp);
        assert_eq!(clamped, vec![101.0, 217.0, 217.0], "{backend}: 100 -> 101, 218 and 219 -> 217");
        let unflagged_at_bounds = vitals.iter().filter(|r| r["systolic_mmhg_clamped"] == "false"
            && (r["systolic_mmhg"] == "101" || r["systolic_mmhg"] == "217")).count();
        assert_eq!(unflagged_at_bounds, 2, "{backend}: 101 and 217 themselves are as measured");

        // The NDJSON marks the same three values, on the systolic component.
        let observations = all_files(&manifest, &token).into_iter()
            .find(|(n, _)| n == "Observation.ndjson").unwrap().1;
        let mut marked = Vec::new();
        let mut masked = 0;
        for line in observations.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            let mut dumped = false;
            for c in r["component"].as_array().unwrap() {
                if c["dataAbsentReason"]["coding"][0]["code"] == "masked" {
                    assert_eq!(c["code"]["coding"][0]["code"], "fetal_heart_rate", "{backend}");
                    assert!(c.get("valueString").is_none(), "{backend}");
                    masked += 1;
                }
                // The FHIR R4 validators of CI (PHR_FHIR_DUMP_DIR) check the marked resources.
                if !dumped && (c.get("extension").is_some() || c.get("dataAbsentReason").is_some()) {
                    phr_tests::fhir::dump(line);
                    dumped = true;
                }
                let flagged = c["extension"].as_array().is_some_and(|e| e.iter().any(|x|
                    x["url"] == "https://phr.example/StructureDefinition/research-clamped" && x["valueBoolean"] == true));
                if flagged {
                    marked.push((r["code"]["coding"][0]["code"].as_str().unwrap().to_owned(),
                        c["code"]["coding"][0]["code"].as_str().unwrap().to_owned(),
                        c["valueString"].as_str().unwrap().to_owned()));
                }
                assert!(c["code"]["coding"][0]["code"].as_str().is_some_and(|code| !code.ends_with("_clamped")));
            }
        }
        assert_eq!(masked, 1, "{backend}");
        marked.sort();
        let expected: Vec<(String, String, String)> = ["101", "217", "217"]
            .iter()
            .map(|v| ("self_vitals".to_owned(), "systolic_mmhg".to_owned(), v.to_string()))
            .collect();
        assert_eq!(marked, expected, "{backend}");
        let report: Value = serde_json::from_str(&download(
            manifest["extension"]["deidentificationReport"]["url"].as_str().unwrap(), &token)).unwrap();
        let coded = &report["deidentification"]["top_bottom_coded"];
        assert!(coded.as_array().unwrap().iter().any(|v| v == "self_vitals.systolic_mmhg"), "{report}");
        assert!(!coded.as_array().unwrap().iter().any(|v| v == "prenatal_visit.systolic_mmhg"), "{report}");
        dump(&manifest, &token, &format!("clamping-{backend}"));
    }
}

/// The handbook-number system the identifier sentinels are issued under.
const HANDBOOK_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.81";
/// A value that must appear in no export file.
const IDENTIFIER_SENTINEL: &str = "SENTINEL-HB-4711";

/// The mother's and the child's identifiers records, each value carrying the sentinel.
fn with_identifier_sentinels(i: usize) -> impl FnOnce(&mut Vec<(Subject, RecordBody)>) {
    move |bodies| {
        let child = bodies.iter().find_map(|(s, _)| matches!(s, Subject::Child(_)).then_some(*s)).unwrap();
        for (subject, who) in [(Subject::Mother, "M"), (child, "C")] {
            let ids = SubjectIdentifiers {
                identifiers: vec![
                    Identifier { system: HANDBOOK_SYSTEM.into(), value: format!("{IDENTIFIER_SENTINEL}-{who}{i}") },
                    Identifier {
                        system: "https://city.example.jp/resident-id".into(),
                        value: format!("{IDENTIFIER_SENTINEL}-R{who}{i}"),
                    },
                ],
            };
            bodies.push((subject, RecordBody::SubjectIdentifiers(ids)));
        }
    }
}

phr_tests::backend_test! {
    /// Families attach handbook and resident numbers to the mother and the child: a research
    /// grant cannot carry the identifiers' keys (422), and a full export of every module of
    /// 12 consenting families carries none of their values in any file.
    fn identifiers_never_reach_a_research_grant_or_any_export_file(db) {
        let backend = db.target.backend_name();
        let env = Env::start(db, &[]);
        let mut families = Vec::new();
        for i in 0..12 {
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            let birth = d("2026-01-03") + chrono::Duration::days(i as i64 * 2);
            let mut f = family_with(&env, i, birth, sex, 2500.0 + 113.0 * i as f64, with_identifier_sentinels(i));
            if i == 0 {
                // The identifiers are outside every research grant: the server refuses their keys.
                let grant = research_grant(&f);
                let all: Vec<Uuid> = f.device.records.keys().copied().collect();
                let (status, body) = post_research_grant(&f, &grant, &all);
                assert_eq!(status, 422, "{backend}: {body}");
                assert!(body.to_string().contains("outside the grant's scope"), "{body}");
            }
            grant_research(&mut f);
            families.push(f);
        }
        let token = env.research_token();
        // Not a module an export can ask for.
        let refused = kick(&env, Some(&token), "?module=subject_identifiers");
        assert_eq!(refused.status, 400, "{refused:?}");
        let manifest = wait_manifest(&kick_off(&env, &token, ""), &token);
        let files = all_files(&manifest, &token);
        assert!(!files.is_empty());
        for (name, text) in &files {
            assert!(!text.contains(IDENTIFIER_SENTINEL), "{backend}: {name} carries an identifier");
            assert!(!text.contains(HANDBOOK_SYSTEM), "{backend}: {name} carries an identifier system");
        }
        assert_eq!(csv_of(&manifest, "newborn", &token).len(), 12, "the export itself went through");
    }
}
