//! The consent API end to end: organizations registered with the admin
//! command and listed to devices; grants created with real phr-core crypto
//! (grant key wrapped to the server's view key, record data keys wrapped under
//! the grant key); every refusal storing nothing; revocation deleting the keys;
//! the hash-chained audit log and `phr-server audit verify`. Runs on SQLite and,
//! when `PHR_TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine;
use diesel::connection::SimpleConnection;
use phr_core::consent::{Access, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState, OrganizationId, Purpose};
use phr_core::crypto::{wrap_grant_key_to, GrantKey, HpkePublicKey};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{CreateGrantRequest, GrantInfo, GrantRecordKey, OrganizationInfo, ViewKeyResponse};
use phr_server::store::PooledDb;
use phr_tests::client::Device;
use phr_tests::{http, ServerOptions, ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

// --- harness -------------------------------------------------------------------

/// A server on one test database, with its data directory.
struct Env {
    db: TestDatabase,
    dir: tempfile::TempDir,
    server: Option<ServerProcess>,
}

impl Env {
    /// A data directory and database with the usual organizations, and a server on them.
    fn start(db: TestDatabase) -> Env {
        let mut env = Env { db, dir: tempfile::tempdir().unwrap(), server: None };
        env.add_org("tanaka-clinic", "Tanaka Clinic", "clinic", &["treatment", "emergency"]);
        env.add_org("yokohama-city", "Yokohama City", "municipality", &["treatment"]);
        env.add_org("phr-research", "PHR Research Programme", "research", &["research"]);
        env.server = Some(ServerProcess::start(ServerOptions {
            binary: Path::new(BIN),
            data_dir: env.dir.path(),
            database_url: Some(env.db.url()),
            extra_args: vec![],
            env: vec![],
            text_logs: false,
            fd_soft_limit: None,
        }));
        env
    }

    fn url(&self) -> String {
        self.server.as_ref().expect("server is running").base_url.clone()
    }

    /// Runs `phr-server ARGS… --data-dir … --database-url …` (an admin command).
    fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--database-url")
            .arg(self.db.url())
            .env_remove("PHR_DATABASE_URL")
            .env_remove("PHR_DATA_DIR")
            .output()
            .expect("cannot run the admin command")
    }

    fn add_org(&self, id: &str, name: &str, kind: &str, purposes: &[&str]) {
        let mut args = vec!["org", "add", "--id", id, "--name", name, "--kind", kind];
        for p in purposes {
            args.extend(["--purpose", p]);
        }
        let out = self.admin(&args);
        assert!(out.status.success(), "org add {id}: {}", text(&out));
    }

    /// A direct connection to the server's database.
    fn conn(&self) -> PooledDb {
        let (pool, _) = phr_server::store::open(&self.db.target, 1).expect("open the test database");
        pool.get().expect("database connection")
    }

    fn family(&self) -> Device {
        Device::create_account(&self.url(), "Mother's phone")
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A device's family with one in-scope record (a prenatal visit of the
/// mother) and one out-of-scope record (an immunization of a child), synced.
struct Family {
    device: Device,
    in_scope: Uuid,
    out_of_scope: Uuid,
}

fn family_with_records(env: &Env) -> Family {
    let mut device = env.family();
    let in_scope = Uuid::now_v7();
    let out_of_scope = Uuid::now_v7();
    device.edit(in_scope, RecordKind::PrenatalVisit, Subject::Mother, json!({"weeks": 12}));
    device.edit(out_of_scope, RecordKind::Immunization, Subject::Child(Uuid::now_v7()), json!({"vaccine": "BCG"}));
    device.sync();
    Family { device, in_scope, out_of_scope }
}

fn view_key(device: &Device) -> (String, HpkePublicKey) {
    let (status, body) = device.call("GET", "/consent/v1/view-key", None);
    assert_eq!(status, 200, "{body}");
    let key: ViewKeyResponse = serde_json::from_value(body).unwrap();
    (key.kid, HpkePublicKey::from_bytes(&key.public_key).unwrap())
}

/// A treatment grant for `grantee`: prenatal visits of the mother, open period.
fn prenatal_grant(grantee: &str) -> ConsentGrant {
    ConsentGrant {
        id: GrantId(Uuid::now_v7()),
        grantee: OrganizationId::new(grantee).unwrap(),
        purpose: Purpose::Treatment,
        scope: GrantScope {
            modules: [RecordKind::PrenatalVisit].into_iter().collect(),
            subjects: [Subject::Mother].into_iter().collect(),
            data_from: None,
            data_to: None,
        },
        period: GrantPeriod::OPEN,
        access: Access::Read,
        state: GrantState::Active,
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

/// A create request made the way a parent's device makes it.
fn create_request(device: &Device, grant: &ConsentGrant, grant_key: &GrantKey, records: &[Uuid]) -> Value {
    let (kid, public) = view_key(device);
    let grant_id = grant.id.0;
    let request = CreateGrantRequest {
        grant: grant.clone(),
        wrapped_grant_key: wrap_grant_key_to(&public, grant_key, &device.account_id, grant_id).unwrap(),
        view_kid: kid,
        record_keys: records.iter().map(|r| record_key(device, grant_key, grant_id, *r)).collect(),
    };
    serde_json::to_value(request).unwrap()
}

fn record_key(device: &Device, grant_key: &GrantKey, grant_id: Uuid, record_id: Uuid) -> GrantRecordKey {
    GrantRecordKey {
        record_id,
        wrapped_key: device.wrap_record_key_for_grant(record_id, grant_key, grant_id).expect("device knows the record"),
    }
}

/// Creates a grant over `records`; returns it and its key.
fn create_grant(device: &Device, grantee: &str, records: &[Uuid]) -> (ConsentGrant, GrantKey) {
    let grant = prenatal_grant(grantee);
    let key = GrantKey::generate();
    let (status, body) =
        device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, records)));
    assert_eq!(status, 201, "{body}");
    (grant, key)
}

fn grants(device: &Device) -> Vec<GrantInfo> {
    let (status, body) = device.call("GET", "/consent/v1/grants", None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

fn audit_actions(device: &Device) -> Vec<(String, Option<String>, Vec<String>)> {
    device
        .audit_events()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["grant_id"].as_str().map(str::to_owned),
                serde_json::from_value(e["record_ids"].clone()).unwrap(),
            )
        })
        .collect()
}

fn stored_grant(env: &Env, account: &str, grant_id: Uuid) -> Option<phr_server::store::grants::GrantRow> {
    phr_server::store::grants::grant(&mut env.conn(), account, &grant_id.to_string()).unwrap()
}

fn stored_key_count(env: &Env, account: &str, grant_id: Uuid) -> i64 {
    phr_server::store::grants::record_key_count(&mut env.conn(), account, &grant_id.to_string()).unwrap()
}

fn assert_problem(status: u16, body: &Value, expected_status: u16, path: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["status"], expected_status, "{body}");
    let paths: Vec<&str> =
        body["problems"].as_array().map_or(vec![], |p| p.iter().filter_map(|x| x["path"].as_str()).collect());
    assert!(paths.contains(&path), "expected a problem at {path}: {body}");
}

/// Nothing of the account's consent state exists: no grant, no keys, no grant audit events.
fn assert_no_grant_stored(env: &Env, device: &Device, grant_id: Uuid) {
    assert!(stored_grant(env, &device.account_id, grant_id).is_none());
    assert_eq!(stored_key_count(env, &device.account_id, grant_id), 0);
    let (status, _) = device.call("GET", &format!("/consent/v1/grants/{grant_id}"), None);
    assert_eq!(status, 404);
    assert!(grants(device).is_empty());
    assert!(audit_actions(device).iter().all(|(action, ..)| !action.starts_with("grant_")));
}

// --- organizations ---------------------------------------------------------------

phr_tests::backend_test! {
    fn organizations_registered_by_the_admin_command_are_listed_to_devices_by_name_and_disabled_ones_hidden(db) {
        let env = Env::start(db);
        // Registered while the server runs.
        env.add_org("aoba-ehr", "Aoba EHR Network", "ehr_network", &["treatment", "emergency"]);
        let device = env.family();
        let (status, body) = device.call("GET", "/consent/v1/organizations", None);
        assert_eq!(status, 200, "{body}");
        let orgs: Vec<OrganizationInfo> = serde_json::from_value(body).unwrap();
        let names: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["Aoba EHR Network", "PHR Research Programme", "Tanaka Clinic", "Yokohama City"]);
        assert_eq!(orgs[0].kind, "ehr_network");
        assert_eq!(orgs[0].purposes, vec!["treatment", "emergency"]);
        assert_eq!(orgs[1].purposes, vec!["research"]);

        let out = env.admin(&["org", "disable", "--id", "yokohama-city"]);
        assert!(out.status.success(), "{}", text(&out));
        let (_, body) = device.call("GET", "/consent/v1/organizations", None);
        let ids: Vec<&str> = body.as_array().unwrap().iter().map(|o| o["organization_id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["aoba-ehr", "phr-research", "tanaka-clinic"]);

        // A disabled organization can no longer be granted.
        let grant = prenatal_grant("yokohama-city");
        let req = create_request(&device, &grant, &GrantKey::generate(), &[]);
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "grant.grantee");
        assert_no_grant_stored(&env, &device, grant.id.0);
    }
}

phr_tests::backend_test! {
    fn org_admin_commands_refuse_duplicates_with_exit_1_bad_arguments_with_exit_2_and_list_everything(db) {
        let env = Env::start(db);
        let dup = env.admin(&[
            "org",
            "add",
            "--id",
            "tanaka-clinic",
            "--name",
            "Other",
            "--kind",
            "clinic",
            "--purpose",
            "treatment",
        ]);
        assert_eq!(dup.status.code(), Some(1), "{}", text(&dup));
        assert!(String::from_utf8_lossy(&dup.stderr).contains("already registered"), "{}", text(&dup));

        for bad in [
            vec!["org", "add", "--id", "x", "--name", "X", "--kind", "hospital", "--purpose", "treatment"],
            vec!["org", "add", "--id", "x", "--name", "X", "--kind", "clinic"],
            vec!["org", "add", "--id", "Bad Id", "--name", "X", "--kind", "clinic", "--purpose", "treatment"],
            vec!["org", "add", "--id", "x", "--name", "X", "--kind", "research", "--purpose", "treatment"],
        ] {
            let out = env.admin(&bad);
            assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        }
        let jwks = env.dir.path().join("bad-jwks.json");
        std::fs::write(&jwks, "[1, 2]").unwrap();
        let out = env.admin(&[
            "org",
            "add",
            "--id",
            "x",
            "--name",
            "X",
            "--kind",
            "clinic",
            "--purpose",
            "treatment",
            "--jwks-file",
            jwks.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("jwks"), "{}", text(&out));

        let good_jwks = env.dir.path().join("jwks.json");
        std::fs::write(&good_jwks, r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}"#).unwrap();
        let out = env.admin(&[
            "org",
            "add",
            "--id",
            "x-clinic",
            "--name",
            "X Clinic",
            "--kind",
            "clinic",
            "--purpose",
            "treatment",
            "--jwks-file",
            good_jwks.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));

        let out = env.admin(&["org", "disable", "--id", "no-such-org"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));

        let out = env.admin(&["org", "list", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let ids: Vec<&str> = list.as_array().unwrap().iter().map(|o| o["organization_id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["phr-research", "tanaka-clinic", "x-clinic", "yokohama-city"], "one row per id, by name");
        assert_eq!(list[1]["name"], "Tanaka Clinic", "the duplicate did not overwrite the first");
        assert_eq!(list[2]["has_jwks"], true);
        let plain = env.admin(&["org", "list"]);
        assert_eq!(stdout(&plain).lines().count(), 4, "{}", text(&plain));
    }
}

// --- grants ------------------------------------------------------------------------

phr_tests::backend_test! {
    fn a_grant_is_created_with_its_wrapped_keys_and_listed_with_summary_and_key_count(db) {
        let env = Env::start(db);
        let mut fam = family_with_records(&env);
        let second = Uuid::now_v7();
        fam.device.edit(second, RecordKind::PrenatalVisit, Subject::Mother, json!({"weeks": 20}));
        fam.device.sync();
        let device = &fam.device;

        let (kid, _) = view_key(device);
        let key_files: Vec<String> = std::fs::read_dir(env.dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(key_files.iter().any(|f| f == &format!("view-{kid}.key")), "{kid} not in {key_files:?}");

        let grant = prenatal_grant("tanaka-clinic");
        let key = GrantKey::generate();
        let req = create_request(device, &grant, &key, &[fam.in_scope, second]);
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_eq!(status, 201, "{body}");
        let info: GrantInfo = serde_json::from_value(body).unwrap();
        assert_eq!(info.grant, grant);
        assert_eq!(info.state, "active");
        assert_eq!(info.organization_name, "Tanaka Clinic");
        assert_eq!(info.record_key_count, 2);
        assert_eq!(info.revoked_at, None);
        assert_eq!(info.summary, grant.summary_with_name("Tanaka Clinic"));
        assert!(info.summary.starts_with("Tanaka Clinic (treatment) can read"), "{}", info.summary);

        // A second grant is listed first (newest first).
        let (later, _) = create_grant(device, "yokohama-city", &[fam.in_scope]);
        let list = grants(device);
        assert_eq!(list.iter().map(|g| g.grant.id).collect::<Vec<_>>(), vec![later.id, grant.id]);
        assert_eq!(list[1], info);
        assert_eq!(list[0].record_key_count, 1);
        assert_eq!(list[0].organization_name, "Yokohama City");

        let (status, body) = device.call("GET", &format!("/consent/v1/grants/{}", grant.id), None);
        assert_eq!(status, 200, "{body}");
        assert_eq!(serde_json::from_value::<GrantInfo>(body).unwrap(), info);

        let row = stored_grant(&env, &device.account_id, grant.id.0).unwrap();
        assert_eq!(row.state, "active");
        assert_eq!(row.view_kid, kid);
        assert_eq!(row.created_by, device.device_id);
        assert_eq!(row.wrapped_grant_key.as_deref().map(<[u8]>::len), Some(81));
        assert_eq!(serde_json::from_str::<ConsentGrant>(&row.grant_json).unwrap(), grant);
        assert_eq!(stored_key_count(&env, &device.account_id, grant.id.0), 2);

        let created: Vec<_> = audit_actions(device).into_iter().filter(|(a, ..)| a == "grant_created").collect();
        assert_eq!(created.len(), 2);
        let mut expected = vec![fam.in_scope.to_string(), second.to_string()];
        expected.sort();
        let mut recorded = created[0].2.clone();
        recorded.sort();
        assert_eq!(created[0].1.as_deref(), Some(grant.id.to_string().as_str()));
        assert_eq!(recorded, expected);
    }
}

phr_tests::backend_test! {
    fn a_record_key_for_a_record_outside_the_grant_scope_is_422_and_nothing_is_stored(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let grant = prenatal_grant("tanaka-clinic");
        let req = create_request(&fam.device, &grant, &GrantKey::generate(), &[fam.in_scope, fam.out_of_scope]);
        let (status, body) = fam.device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "record_keys[1].record_id");
        assert_eq!(body["problems"].as_array().unwrap().len(), 1, "{body}");
        assert_no_grant_stored(&env, &fam.device, grant.id.0);

        // A record id that names nothing in this account.
        let mut req = create_request(&fam.device, &grant, &GrantKey::generate(), &[fam.in_scope]);
        req["record_keys"][0]["record_id"] = json!(Uuid::now_v7());
        let (status, body) = fam.device.call("POST", "/consent/v1/grants", Some(&req));
        assert_eq!(status, 422, "{body}");
        assert_no_grant_stored(&env, &fam.device, grant.id.0);
    }
}

phr_tests::backend_test! {
    fn a_grant_for_an_unknown_organization_a_disallowed_purpose_or_an_invalid_scope_is_422_and_nothing_is_stored(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let device = &fam.device;
        let key = GrantKey::generate();

        let grant = prenatal_grant("no-such-clinic");
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[fam.in_scope])));
        assert_problem(status, &body, 422, "grant.grantee");
        assert_no_grant_stored(&env, device, grant.id.0);

        // The research programme may only be granted research access.
        let grant = prenatal_grant("phr-research");
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[])));
        assert_problem(status, &body, 422, "grant.purpose");
        assert_no_grant_stored(&env, device, grant.id.0);

        // Core validation problems, all reported at once.
        let mut grant = prenatal_grant("phr-research");
        grant.purpose = Purpose::Research;
        grant.access = Access::ReadWrite;
        grant.scope.modules.clear();
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[])));
        assert_problem(status, &body, 422, "grant.scope.modules");
        assert_problem(status, &body, 422, "grant.access");
        assert_no_grant_stored(&env, device, grant.id.0);

        // A grant must be created active.
        let mut grant = prenatal_grant("tanaka-clinic");
        grant.state = GrantState::Revoked { at: "2026-02-01T00:00:00Z".parse().unwrap() };
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[])));
        assert_problem(status, &body, 422, "grant.state");

        // Unknown view key, a grant key wrapped for another grant, a garbage data key.
        let grant = prenatal_grant("tanaka-clinic");
        let mut req = create_request(device, &grant, &key, &[fam.in_scope]);
        req["view_kid"] = json!("20200101T000000Z-nope");
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "view_kid");
        let other = prenatal_grant("tanaka-clinic");
        let mut req = create_request(device, &grant, &key, &[fam.in_scope]);
        req["wrapped_grant_key"] = create_request(device, &other, &key, &[])["wrapped_grant_key"].clone();
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "wrapped_grant_key");
        let mut req = create_request(device, &grant, &key, &[fam.in_scope]);
        req["wrapped_grant_key"] = json!(b64(&[7u8; 20]));
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "wrapped_grant_key");
        let mut req = create_request(device, &grant, &key, &[fam.in_scope]);
        req["record_keys"][0]["wrapped_key"] = json!(b64(&[0x11u8; 61]));
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "record_keys[0].wrapped_key");
        let mut req = create_request(device, &grant, &key, &[fam.in_scope]);
        let dup = req["record_keys"][0].clone();
        req["record_keys"].as_array_mut().unwrap().push(dup);
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&req));
        assert_problem(status, &body, 422, "record_keys[1].record_id");
        assert_no_grant_stored(&env, device, grant.id.0);
    }
}

phr_tests::backend_test! {
    fn malformed_json_unknown_fields_and_wrong_types_are_400_problem_json_and_store_nothing(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let device = &fam.device;
        let grant = prenatal_grant("tanaka-clinic");
        let good = create_request(device, &grant, &GrantKey::generate(), &[fam.in_scope]);
        let url = format!("{}/consent/v1/grants", env.url());
        let auth = format!("Bearer {}", device.access_token);

        let mut unknown = good.clone();
        unknown["share_everything"] = json!(true);
        let mut unknown_in_grant = good.clone();
        unknown_in_grant["grant"]["owner"] = json!("me");
        let mut wrong_type = good.clone();
        wrong_type["record_keys"] = json!("all of them");
        let mut bad_b64 = good.clone();
        bad_b64["wrapped_grant_key"] = json!("not base64!!");
        let mut bad_record_id = good.clone();
        bad_record_id["record_keys"][0]["record_id"] = json!("not-a-uuid");
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("view_kid");
        let bodies: Vec<String> = [unknown, unknown_in_grant, wrong_type, bad_b64, bad_record_id, missing]
            .iter()
            .map(Value::to_string)
            .chain(["{".to_owned(), "[]".to_owned(), String::new()])
            .collect();
        for body in bodies {
            let mut resp = http()
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(body.as_str())
                .unwrap();
            assert_eq!(resp.status().as_u16(), 400, "{body}");
            assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
            let problem: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
            assert_eq!(problem["status"], 400);
            assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
        }
        let mut keys_body = http()
            .post(&format!("{url}/{}/keys", grant.id))
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(r#"{"record_keys": [], "extra": 1}"#)
            .unwrap();
        assert_eq!(keys_body.status().as_u16(), 400, "{}", keys_body.body_mut().read_to_string().unwrap());
        assert_no_grant_stored(&env, device, grant.id.0);

        // The well-formed request still works afterwards.
        let (status, body) = device.call("POST", "/consent/v1/grants", Some(&good));
        assert_eq!(status, 201, "{body}");
    }
}

phr_tests::backend_test! {
    fn consent_endpoints_refuse_a_missing_or_forged_token_with_401(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let device = &fam.device;
        let (grant, _) = create_grant(device, "tanaka-clinic", &[fam.in_scope]);
        let new_grant = prenatal_grant("tanaka-clinic");
        let req = create_request(device, &new_grant, &GrantKey::generate(), &[fam.in_scope]);
        let gid = grant.id;
        let calls: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", "/consent/v1/organizations".into(), None),
            ("GET", "/consent/v1/view-key".into(), None),
            ("GET", "/consent/v1/grants".into(), None),
            ("POST", "/consent/v1/grants".into(), Some(req)),
            ("GET", format!("/consent/v1/grants/{gid}"), None),
            ("POST", format!("/consent/v1/grants/{gid}/keys"), Some(json!({"record_keys": []}))),
            ("DELETE", format!("/consent/v1/grants/{gid}"), None),
        ];
        // A token signed by another key, and one with its signature altered.
        let mut forged = device.access_token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        let header = b64(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let foreign = format!("{header}.{}.{}", b64(b"{}"), b64(&[0u8; 64]));
        for (method, path, body) in &calls {
            let url = format!("{}{path}", env.url());
            let resp = match (*method, body) {
                ("GET", _) => http().get(&url).call(),
                ("DELETE", _) => http().delete(&url).call(),
                (_, Some(b)) => http().post(&url).send_json(b),
                _ => unreachable!(),
            };
            let (status, answer) = phr_tests::json_response(resp);
            assert_eq!(status, 401, "{method} {path} without a token: {answer}");
            assert_eq!(answer["status"], 401);
            for token in [forged.as_str(), foreign.as_str(), "garbage"] {
                let (status, answer) = device.call_with_token(token, method, path, body.as_ref());
                assert_eq!(status, 401, "{method} {path} with a bad token: {answer}");
            }
        }
        // Nothing changed: the old grant is intact and the new one absent.
        let list = grants(device);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].state, "active");
        assert_eq!(list[0].record_key_count, 1);
        assert!(stored_grant(&env, &device.account_id, new_grant.id.0).is_none());
    }
}

phr_tests::backend_test! {
    fn another_accounts_grant_is_404_for_every_operation_and_left_unchanged(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let (grant, key) = create_grant(&fam.device, "tanaka-clinic", &[fam.in_scope]);
        let before = grants(&fam.device);

        let other = family_with_records(&env);
        let gid = grant.id;
        let (status, body) = other.device.call("GET", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["status"], 404);
        let keys = json!({"record_keys": [record_key(&other.device, &key, gid.0, other.in_scope)]});
        let (status, body) = other.device.call("POST", &format!("/consent/v1/grants/{gid}/keys"), Some(&keys));
        assert_eq!(status, 404, "{body}");
        let (status, body) = other.device.call("DELETE", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 404, "{body}");
        assert!(grants(&other.device).is_empty());
        for malformed in ["not-a-uuid", "1", "%20"] {
            let (status, body) = fam.device.call("GET", &format!("/consent/v1/grants/{malformed}"), None);
            assert_eq!(status, 404, "{malformed}: {body}");
            let (status, body) = fam.device.call("DELETE", &format!("/consent/v1/grants/{malformed}"), None);
            assert_eq!(status, 404, "{malformed}: {body}");
        }

        assert_eq!(grants(&fam.device), before);
        let row = stored_grant(&env, &fam.device.account_id, gid.0).unwrap();
        assert_eq!(row.state, "active");
        assert!(row.wrapped_grant_key.is_some());
        assert_eq!(stored_key_count(&env, &fam.device.account_id, gid.0), 1);
        assert!(audit_actions(&other.device).iter().all(|(a, ..)| !a.starts_with("grant_")));
    }
}

phr_tests::backend_test! {
    fn a_grant_id_already_used_in_the_account_is_409_and_changes_nothing(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let (grant, _) = create_grant(&fam.device, "tanaka-clinic", &[fam.in_scope]);
        let before = grants(&fam.device);
        let mut again = grant.clone();
        again.grantee = OrganizationId::new("yokohama-city").unwrap();
        let req = create_request(&fam.device, &again, &GrantKey::generate(), &[]);
        let (status, body) = fam.device.call("POST", "/consent/v1/grants", Some(&req));
        assert_eq!(status, 409, "{body}");
        assert_eq!(grants(&fam.device), before);
        assert_eq!(stored_key_count(&env, &fam.device.account_id, grant.id.0), 1);
    }
}

phr_tests::backend_test! {
    fn keys_for_records_that_came_into_scope_later_are_added_replaced_and_audited(db) {
        let env = Env::start(db);
        let mut fam = family_with_records(&env);
        let (grant, key) = create_grant(&fam.device, "tanaka-clinic", &[fam.in_scope]);
        let gid = grant.id.0;
        let later = Uuid::now_v7();
        fam.device.edit(later, RecordKind::PrenatalVisit, Subject::Mother, json!({"weeks": 30}));
        fam.device.sync();
        let device = &fam.device;
        let path = format!("/consent/v1/grants/{gid}/keys");

        let (status, body) =
            device.call("POST", &path, Some(&json!({"record_keys": [record_key(device, &key, gid, later)]})));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["record_key_count"], 2, "{body}");

        // The same record again replaces its key; the count stays.
        let (status, body) = device.call(
            "POST",
            &path,
            Some(&json!({"record_keys": [record_key(device, &key, gid, later), record_key(device, &key, gid, fam.in_scope)]})),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["record_key_count"], 2, "{body}");

        // Out of scope, wrapped under another grant key, or empty: 422, nothing added.
        let bad = [
            json!({"record_keys": [record_key(device, &key, gid, fam.out_of_scope)]}),
            json!({"record_keys": [record_key(device, &GrantKey::generate(), gid, later)]}),
            json!({"record_keys": []}),
        ];
        for body in &bad {
            let (status, resp) = device.call("POST", &path, Some(body));
            assert_eq!(status, 422, "{resp}");
        }
        assert_eq!(stored_key_count(&env, &device.account_id, gid), 2);
        let added: Vec<_> = audit_actions(device).into_iter().filter(|(a, ..)| a == "grant_keys_added").collect();
        assert_eq!(added.len(), 2);
        assert_eq!(added[0].2, vec![later.to_string()]);
    }
}

phr_tests::backend_test! {
    fn revoking_a_grant_deletes_its_grant_key_and_record_keys_in_the_database_and_is_audited(db) {
        let env = Env::start(db);
        let mut fam = family_with_records(&env);
        let second = Uuid::now_v7();
        fam.device.edit(second, RecordKind::PrenatalVisit, Subject::Mother, json!({"weeks": 24}));
        fam.device.sync();
        let device = &fam.device;
        let (grant, key) = create_grant(device, "tanaka-clinic", &[fam.in_scope, second]);
        let (kept, _) = create_grant(device, "yokohama-city", &[fam.in_scope]);
        let gid = grant.id.0;
        assert_eq!(stored_key_count(&env, &device.account_id, gid), 2);

        let (status, body) = device.call("DELETE", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 204, "{body}");

        let row = stored_grant(&env, &device.account_id, gid).unwrap();
        assert_eq!(row.state, "revoked");
        assert_eq!(row.wrapped_grant_key, None, "the grant key is gone");
        assert!(row.revoked_at.is_some());
        assert_eq!(stored_key_count(&env, &device.account_id, gid), 0, "every wrapped data key is gone");
        let stored: ConsentGrant = serde_json::from_str(&row.grant_json).unwrap();
        assert!(matches!(stored.state, GrantState::Revoked { .. }), "{stored:?}");
        // The other grant keeps its keys.
        assert_eq!(stored_key_count(&env, &device.account_id, kept.id.0), 1);
        assert!(stored_grant(&env, &device.account_id, kept.id.0).unwrap().wrapped_grant_key.is_some());

        let (status, body) = device.call("GET", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 200, "{body}");
        let info: GrantInfo = serde_json::from_value(body).unwrap();
        assert_eq!(info.state, "revoked");
        assert_eq!(info.revoked_at, Some(row.revoked_at.unwrap()));
        assert_eq!(info.record_key_count, 0);
        assert!(info.summary.contains("revoked on"), "{}", info.summary);

        // Revoking again, or adding keys to a revoked grant: 409, nothing changes.
        let (status, body) = device.call("DELETE", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 409, "{body}");
        let keys = json!({"record_keys": [record_key(device, &key, gid, fam.in_scope)]});
        let (status, body) = device.call("POST", &format!("/consent/v1/grants/{gid}/keys"), Some(&keys));
        assert_eq!(status, 409, "{body}");
        let after = stored_grant(&env, &device.account_id, gid).unwrap();
        assert_eq!(after.revoked_at, row.revoked_at, "the first revocation time stays");
        assert_eq!(after.grant_json, row.grant_json);
        assert_eq!(stored_key_count(&env, &device.account_id, gid), 0);

        let events = audit_actions(device);
        let for_grant: Vec<&str> = events
            .iter()
            .filter(|(_, g, _)| g.as_deref() == Some(gid.to_string().as_str()))
            .map(|(a, ..)| a.as_str())
            .collect();
        assert_eq!(for_grant, vec!["grant_created", "grant_revoked"]);
        let revoked = events.iter().find(|(a, ..)| a == "grant_revoked").unwrap();
        let mut ids = revoked.2.clone();
        ids.sort();
        let mut expected = vec![fam.in_scope.to_string(), second.to_string()];
        expected.sort();
        assert_eq!(ids, expected, "the audit event names the records whose keys were deleted");
    }
}

phr_tests::backend_test! {
    fn more_than_10000_record_keys_in_one_request_is_413_and_nothing_is_stored(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let grant = prenatal_grant("tanaka-clinic");
        let mut req = create_request(&fam.device, &grant, &GrantKey::generate(), &[]);
        let keys: Vec<Value> =
            (0..10_001).map(|_| json!({"record_id": Uuid::now_v7(), "wrapped_key": b64(&[0x11u8; 61])})).collect();
        req["record_keys"] = Value::Array(keys);
        let (status, body) = fam.device.call("POST", "/consent/v1/grants", Some(&req));
        assert_eq!(status, 413, "{body}");
        assert_eq!(body["status"], 413);
        assert_no_grant_stored(&env, &fam.device, grant.id.0);
    }
}

// --- audit verify ----------------------------------------------------------------

phr_tests::backend_test! {
    fn audit_verify_passes_on_an_intact_log_and_fails_after_an_edited_or_a_deleted_last_entry(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let (grant, _) = create_grant(&fam.device, "tanaka-clinic", &[fam.in_scope]);
        let (status, _) = fam.device.call("DELETE", &format!("/consent/v1/grants/{}", grant.id), None);
        assert_eq!(status, 204);
        let second = env.family();
        let events = audit_actions(&fam.device).len() + audit_actions(&second).len();

        let out = env.admin(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(stdout(&out).trim(), format!("audit log OK: 2 accounts, {events} events; operator log OK: 0 events"));

        // Edit one entry's outcome: the chain no longer verifies.
        let account = fam.device.account_id.clone();
        let sql = |q: &str| env.conn().batch_execute(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        sql(&format!("UPDATE audit_events SET outcome = 'denied' WHERE account_id = '{account}' AND seq = 2"));
        let out = env.admin(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stdout(&out).contains(&format!("account {account}: event 2 was altered")), "{}", text(&out));

        // Put it back: OK again.
        sql(&format!("UPDATE audit_events SET outcome = 'success' WHERE account_id = '{account}' AND seq = 2"));
        let out = env.admin(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));

        // Delete the last entry (the grant_revoked event): detected through the account's head.
        sql(&format!(
            "DELETE FROM audit_events WHERE account_id = '{account}' AND seq = \
             (SELECT MAX(seq) FROM audit_events WHERE account_id = '{account}')"
        ));
        let out = env.admin(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stdout(&out).contains(&format!("account {account}: the log ends at event")), "{}", text(&out));
        assert!(!stdout(&out).contains(&second.account_id), "the intact account is not reported: {}", text(&out));
    }
}

phr_tests::backend_test! {
    /// Item 7 of issue 12: a grant's dates (`scope.data_from`/`data_to`,
    /// `period.from`/`to`, `created_at`) outside 1900-01-01 to 2200-12-31
    /// are 422 naming each field, and nothing is stored.
    fn grant_dates_outside_1900_to_2200_are_422_naming_each_field_and_store_nothing(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let device = &fam.device;
        let key = GrantKey::generate();

        let mut grant = prenatal_grant("tanaka-clinic");
        grant.scope.data_from = Some("-0001-12-31".parse().unwrap());
        grant.scope.data_to = Some("+10000-01-01".parse().unwrap());
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[])));
        assert_problem(status, &body, 422, "grant.scope.data_from");
        assert_problem(status, &body, 422, "grant.scope.data_to");
        assert!(body.to_string().contains("1900-01-01 to 2200-12-31"), "{body}");
        assert_no_grant_stored(&env, device, grant.id.0);

        let mut grant = prenatal_grant("tanaka-clinic");
        grant.scope.data_from = Some("0000-01-01".parse().unwrap());
        grant.period.to = Some("2201-01-01T00:00:00Z".parse().unwrap());
        grant.created_at = "1899-12-31T00:00:00Z".parse().unwrap();
        let (status, body) =
            device.call("POST", "/consent/v1/grants", Some(&create_request(device, &grant, &key, &[fam.in_scope])));
        assert_problem(status, &body, 422, "grant.scope.data_from");
        assert_problem(status, &body, 422, "grant.period.to");
        assert_problem(status, &body, 422, "grant.created_at");
        assert_no_grant_stored(&env, device, grant.id.0);
    }
}

phr_tests::backend_test! {
    /// Item 8 of issue 12: a device of another account that tries to add
    /// record keys to, revoke or read a family's grant gets the same 404 as
    /// for a grant that does not exist, and each attempt appears in the
    /// *family's* audit log as `denied` (naming the grant it aimed at, never
    /// the refused record keys); the grant is unchanged and the intruder's
    /// own log gains no grant event.
    fn another_accounts_grant_operations_are_404_and_audited_as_denied_in_the_familys_log(db) {
        let env = Env::start(db);
        let fam = family_with_records(&env);
        let (grant, key) = create_grant(&fam.device, "tanaka-clinic", &[fam.in_scope]);
        let gid = grant.id;
        let before = audit_actions(&fam.device).len();

        let other = family_with_records(&env);
        let keys = json!({"record_keys": [record_key(&other.device, &key, gid.0, other.in_scope)]});
        let (status, body) = other.device.call("POST", &format!("/consent/v1/grants/{gid}/keys"), Some(&keys));
        assert_eq!(status, 404, "{body}");
        let (status, body) = other.device.call("DELETE", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 404, "{body}");
        let (status, body) = other.device.call("GET", &format!("/consent/v1/grants/{gid}"), None);
        assert_eq!(status, 404, "{body}");
        // An id no account holds is not audited anywhere.
        let (status, _) = other.device.call("DELETE", &format!("/consent/v1/grants/{}", Uuid::now_v7()), None);
        assert_eq!(status, 404);

        let events = fam.device.audit_events();
        let new: Vec<&Value> = events[before..].iter().collect();
        let actions: Vec<(&str, &str)> =
            new.iter().map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
        assert_eq!(
            actions,
            vec![("grant_keys_added", "denied"), ("grant_revoked", "denied"), ("grant_read", "denied")],
            "{new:?}"
        );
        let intruder = format!("device:{}", other.device.device_id);
        for e in &new {
            assert_eq!(e["actor"], intruder.as_str(), "{e}");
            assert_eq!(e["grant_id"], gid.0.to_string(), "{e}");
            assert_eq!(e["record_ids"], json!([]), "the refused record keys are not stored: {e}");
        }
        assert!(!serde_json::to_string(&events).unwrap().contains(&other.in_scope.to_string()));

        let row = stored_grant(&env, &fam.device.account_id, gid.0).unwrap();
        assert_eq!(row.state, "active");
        assert_eq!(stored_key_count(&env, &fam.device.account_id, gid.0), 1);
        assert!(audit_actions(&other.device).iter().all(|(a, ..)| !a.starts_with("grant_")));
        let verify = env.admin(&["audit", "verify"]);
        assert!(verify.status.success(), "{}", text(&verify));
    }
}
