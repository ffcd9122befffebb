//! End-to-end: the FHIR R4 API against a real server on SQLite (and
//! PostgreSQL when `PHR_TEST_POSTGRES_URL` is set), with a real family device
//! granting consent and a clinic authenticating with SMART Backend Services.

use chrono::NaiveDate;
use phr_core::consent::Access;
use phr_core::dataset::{examples, Quantity, RecordBody, RecordKind, SelfVitals, Subject};
use phr_core::sync::protocol::{AddGrantKeysRequest, GrantRecordKey};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::{start_server, ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ORG: &str = "tanaka-clinic";
const PATIENT_ID_SYSTEM: &str = "https://phr.example/fhir/patient-id";

struct Env {
    _db: TestDatabase,
    _dir: tempfile::TempDir,
    server: ServerProcess,
    org: OrgClient,
}

impl Env {
    fn start(db: TestDatabase) -> Env {
        Env::start_with(db, &[])
    }

    fn start_with(db: TestDatabase, args: &[&str]) -> Env {
        let (dir, server) = start_server(BIN.as_ref(), &db, args);
        let org = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ORG, "system/*.cruds");
        Env { _db: db, _dir: dir, server, org }
    }

    fn family(&self) -> Device {
        Device::create_account(&self.server.base_url, "Mother's phone")
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A dose given in the past (the example's date lies in the future of the test clock).
fn dose() -> RecordBody {
    let mut d = examples::immunization_full();
    d.date_given = day("2026-10-10");
    RecordBody::Immunization(d)
}

fn visit_on(date: &str) -> RecordBody {
    let mut v = examples::prenatal_visit_full();
    v.visit_date = day(date);
    RecordBody::PrenatalVisit(v)
}

/// Adds a dataset record to the device (synced later).
fn add(device: &mut Device, kind: RecordKind, subject: Subject, body: &RecordBody) -> Uuid {
    let id = Uuid::now_v7();
    device.edit(id, kind, subject, serde_json::to_value(body).unwrap());
    id
}

fn total(bundle: &Value) -> u64 {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    bundle["total"].as_u64().unwrap_or_else(|| panic!("no total: {bundle}"))
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect()
}

/// The Patient id of the mother, as the clinic learns it from a visible Encounter.
fn patient_of_first_encounter(org: &OrgClient) -> String {
    let (status, bundle) = org.get("/fhir/r4/Encounter");
    assert_eq!(status, 200, "{bundle}");
    let reference = entries(&bundle)[0]["subject"]["reference"].as_str().unwrap().to_owned();
    reference.strip_prefix("Patient/").unwrap().to_owned()
}

fn audit_events(device: &Device) -> Vec<Value> {
    device.audit_events()
}

fn assert_outcome(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
}

/// Follows `next` links from `first`, returning every resource.
fn all_pages(org: &OrgClient, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..100 {
        let (status, bundle) = org.get(&url);
        assert_eq!(status, 200, "{bundle}");
        out.extend(entries(&bundle));
        let next = bundle["link"].as_array().and_then(|links| {
            links.iter().find(|l| l["relation"] == "next").and_then(|l| l["url"].as_str()).map(str::to_owned)
        });
        match next {
            Some(n) => url = n,
            None => return out,
        }
    }
    panic!("paging did not end");
}

phr_tests::backend_test! {
    fn a_clinic_sees_exactly_the_consented_subjects_modules_and_dates_and_revocation_ends_it_at_once(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let child = Subject::Child(Uuid::now_v7());
        let _early = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-01"));
        let mid = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        let late = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-03-01"));
        let vitals = RecordBody::SelfVitals(examples::self_vitals_full());
        add(&mut device, RecordKind::SelfVitals, Subject::Mother, &vitals);
        add(&mut device, RecordKind::Immunization, child, &RecordBody::Immunization(examples::immunization_full()));
        device.sync();
        let mut grant = grant_of(ORG, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::Read);
        grant.scope.data_from = Some(day("2026-02-10"));
        create_grant(&device, &grant, &[mid, late]);

        let (status, cs) = env.org.get("/fhir/r4/metadata");
        assert_eq!(status, 200, "{cs}");
        assert_eq!(cs["resourceType"], "CapabilityStatement");
        assert_eq!(cs["fhirVersion"], "4.0.1");

        // Two visits inside the dates; the earlier visit, the vitals and the child's dose stay invisible.
        let (status, encounters) = env.org.get("/fhir/r4/Encounter");
        assert_eq!(status, 200);
        assert_eq!(total(&encounters), 2, "{encounters}");
        let (_, immunizations) = env.org.get("/fhir/r4/Immunization");
        assert_eq!(total(&immunizations), 0);
        let pid = patient_of_first_encounter(&env.org);
        assert!(!pid.contains(&device.account_id), "patient ids are opaque");

        let (status, patient) = env.org.get(&format!("/fhir/r4/Patient/{pid}"));
        assert_eq!(status, 200, "{patient}");
        assert_eq!(patient["resourceType"], "Patient");
        assert_eq!(patient["identifier"][0]["system"], PATIENT_ID_SYSTEM);
        let (_, found) = env.org.get(&format!("/fhir/r4/Patient?identifier={PATIENT_ID_SYSTEM}|{pid}"));
        assert_eq!(total(&found), 1);
        let (_, not_found) = env.org.get(&format!("/fhir/r4/Patient?identifier={PATIENT_ID_SYSTEM}|nobody"));
        assert_eq!(total(&not_found), 0);

        // Search: patient + code + date prefixes.
        let weight = |q: &str| {
            let (status, b) =
                env.org.get(&format!("/fhir/r4/Observation?patient=Patient/{pid}&code=http://loinc.org|29463-7{q}"));
            assert_eq!(status, 200, "{b}");
            b
        };
        assert_eq!(total(&weight("")), 2);
        let ge = weight("&date=ge2026-03-01");
        assert_eq!(total(&ge), 1);
        assert!(entries(&ge)[0]["effectiveDateTime"].as_str().unwrap().starts_with("2026-03-01"));
        let le = weight("&date=le2026-02-20");
        assert_eq!(total(&le), 1);
        assert!(entries(&le)[0]["effectiveDateTime"].as_str().unwrap().starts_with("2026-02-15"));
        assert_eq!(total(&weight("&date=lt2026-02-15")), 0);
        assert_eq!(total(&weight("&date=ge2026-02-01&date=le2026-03-31")), 2);
        let desc = weight("&_sort=-date");
        assert!(entries(&desc)[0]["effectiveDateTime"].as_str().unwrap().starts_with("2026-03-01"));

        // Paging: next links walk every match once.
        let (_, first) = env.org.get(&format!("/fhir/r4/Observation?patient={pid}&_count=5"));
        let all_total = total(&first);
        assert!(all_total > 5, "{first}");
        let paged = all_pages(&env.org, &format!("/fhir/r4/Observation?patient={pid}&_count=5"));
        let mut ids: Vec<&str> = paged.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len() as u64, all_total);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len() as u64, all_total, "no resource twice");
        assert!(paged.iter().all(|o| o["encounter"]["reference"].is_string()), "only visit observations, no vitals");

        // Encounter pages (matched and paged on record metadata, one page decrypted) walk both visits in date order.
        let paged = all_pages(&env.org, &format!("/fhir/r4/Encounter?patient={pid}&_count=1"));
        let dates: Vec<&str> = paged.iter().map(|e| e["period"]["start"].as_str().unwrap()).collect();
        assert_eq!(dates.len(), 2, "{paged:?}");
        assert!(dates[0] < dates[1], "{dates:?}");
        let (_, desc) = env.org.get(&format!("/fhir/r4/Encounter?patient={pid}&_count=1&_sort=-date"));
        assert_eq!((total(&desc), entries(&desc).len()), (2, 1));
        assert_eq!(entries(&desc)[0]["period"]["start"].as_str(), Some(dates[1]));
        let (_, after) = env.org.get(&format!("/fhir/r4/Encounter?patient={pid}&date=gt{}", &dates[0][..10]));
        assert_eq!(total(&after), 1, "{after}");

        // $everything: the Patient first, then both visits and all their observations.
        let (status, everything) = env.org.get(&format!("/fhir/r4/Patient/{pid}/$everything"));
        assert_eq!(status, 200, "{everything}");
        let res = entries(&everything);
        assert_eq!(res[0]["resourceType"], "Patient");
        assert_eq!(res.iter().filter(|r| r["resourceType"] == "Encounter").count(), 2);
        assert_eq!(res.iter().filter(|r| r["resourceType"] == "Observation").count() as u64, all_total);

        // Every access is in the family's audit log, through the grant.
        let grant_id = grant.id.0.to_string();
        let events = audit_events(&device);
        for action in ["fhir_search", "fhir_read", "fhir_everything"] {
            assert!(
                events.iter().any(|e| e["action"] == action && e["grant_id"] == grant_id.as_str()),
                "{action} audited: {events:?}"
            );
        }
        let read_ids: Vec<String> = events
            .iter()
            .filter(|e| e["action"] == "fhir_everything")
            .flat_map(|e| serde_json::from_value::<Vec<String>>(e["record_ids"].clone()).unwrap())
            .collect();
        let mut expected = vec![mid.to_string(), late.to_string()];
        expected.sort();
        assert_eq!(read_ids, expected);

        // The parent reads the same log as FHIR AuditEvents; organizations cannot.
        let (status, log) = device.call("GET", "/fhir/r4/AuditEvent?_count=1000", None);
        phr_tests::fhir::dump(&log.to_string());
        assert_eq!(status, 200, "{log}");
        assert!(
            entries(&log).iter().any(|e| e["resourceType"] == "AuditEvent"
                && e["subtype"][0]["code"] == "fhir_everything"
                && e["outcome"] == "0"
                && e["action"] == "R"),
            "{log}"
        );
        let (status, body) = env.org.get("/fhir/r4/AuditEvent");
        assert_outcome(status, &body, 401);

        // Revocation ends access at once; the denied read is audited.
        let (status, body) = device.call("DELETE", &format!("/consent/v1/grants/{grant_id}"), None);
        assert_eq!(status, 204, "{body}");
        let (_, after) = env.org.get("/fhir/r4/Encounter");
        assert_eq!(total(&after), 0);
        let (status, body) = env.org.get(&format!("/fhir/r4/Patient/{pid}"));
        assert_outcome(status, &body, 404);
        let (status, body) = env.org.get(&format!("/fhir/r4/Patient/{pid}/$everything"));
        assert_outcome(status, &body, 404);
        let events = audit_events(&device);
        assert!(
            events.iter().any(|e| e["action"] == "fhir_read" && e["outcome"] == "denied"),
            "denied read audited: {events:?}"
        );
    }
}

phr_tests::backend_test! {
    fn every_search_entry_reads_back_at_its_full_url_and_ids_outside_the_grant_are_404_and_audited(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let early = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-01"));
        let visit = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-03-01"));
        let dose = add(&mut device, RecordKind::Immunization, Subject::Mother, &dose());
        device.sync();
        let mut grant = grant_of(
            ORG,
            &[RecordKind::PrenatalVisit, RecordKind::Immunization],
            &[Subject::Mother],
            Access::ReadWrite,
        );
        grant.scope.data_from = Some(day("2026-02-15"));
        create_grant(&device, &grant, &[visit, dose]);
        let pid = patient_of_first_encounter(&env.org);

        // Each entry's fullUrl answers the same resource, with the record version as ETag.
        for ty in ["Encounter", "Observation", "Immunization"] {
            let (status, bundle) = env.org.get(&format!("/fhir/r4/{ty}?patient={pid}"));
            assert_eq!(status, 200, "{bundle}");
            let listed = bundle["entry"].as_array().unwrap();
            assert!(!listed.is_empty(), "{ty}: {bundle}");
            for entry in listed {
                let (status, etag, resource) = env.org.get_with_etag(entry["fullUrl"].as_str().unwrap());
                assert_eq!(status, 200, "{resource}");
                assert_eq!(resource, entry["resource"]);
                assert_eq!(etag.as_deref(), Some("W/\"1\""));
            }
        }
        // The ETag is what an update names in If-Match.
        let (_, etag, immunization) = env.org.get_with_etag(&format!("/fhir/r4/Immunization/{dose}"));
        let (status, _, body) = env.org.put(&format!("/fhir/r4/Immunization/{dose}"), &immunization, etag.as_deref());
        assert_eq!(status, 200, "{body}");
        let (_, etag, _) = env.org.get_with_etag(&format!("/fhir/r4/Immunization/{dose}"));
        assert_eq!(etag.as_deref(), Some("W/\"2\""));

        // Outside the grant's dates, of another type, unknown or malformed: 404 as if it did not exist.
        let denied_before = audit_events(&device).iter().filter(|e| e["outcome"] == "denied").count();
        for path in [
            format!("/fhir/r4/Encounter/{early}"),
            format!("/fhir/r4/Immunization/{visit}"),
            format!("/fhir/r4/Encounter/{}", Uuid::now_v7()),
            "/fhir/r4/Encounter/not-an-id".to_owned(),
            format!("/fhir/r4/Encounter/{visit}x"),
        ] {
            let (status, body) = env.org.get(&path);
            assert_outcome(status, &body, 404);
        }
        let (status, body) = env.org.get(&format!("/fhir/r4/Patient/{pid}/Encounter/{visit}"));
        assert_outcome(status, &body, 404);
        let mut deleted = phr_tests::http()
            .delete(&format!("{}/fhir/r4/Encounter/{visit}", env.server.base_url))
            .header("Authorization", &format!("Bearer {}", env.org.token))
            .call()
            .unwrap();
        let body: Value = serde_json::from_str(&deleted.body_mut().read_to_string().unwrap()).unwrap();
        assert_outcome(deleted.status().as_u16(), &body, 405);
        let denied: Vec<Value> =
            audit_events(&device).into_iter().filter(|e| e["outcome"] == "denied").skip(denied_before).collect();
        assert_eq!(denied.len(), 2, "the two reads of this family's records are audited: {denied:?}");
        assert!(denied.iter().all(|e| e["action"] == "fhir_read"));

        // No token or a forged one is 401, a token without Encounter.r 403; after revocation the ids are gone.
        let read_visit = format!("/fhir/r4/Encounter/{visit}");
        for token in ["", "eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl"] {
            let (status, body) = env.org.get_with_token(token, &read_visit);
            assert_outcome(status, &body, 401);
        }
        let observation_only = env.org.new_token("system/Observation.rs");
        let (status, body) = env.org.get_with_token(&observation_only, &format!("/fhir/r4/Encounter/{visit}"));
        assert_outcome(status, &body, 403);
        let (status, body) = device.call("DELETE", &format!("/consent/v1/grants/{}", grant.id.0), None);
        assert_eq!(status, 204, "{body}");
        let (status, body) = env.org.get(&format!("/fhir/r4/Encounter/{visit}"));
        assert_outcome(status, &body, 404);
    }
}

phr_tests::backend_test! {
    fn every_everything_entry_reads_back_at_its_full_url_and_medication_dispenses_are_searchable_by_patient(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let visit = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-03-01"));
        let dose = add(&mut device, RecordKind::Immunization, Subject::Mother, &dose());
        let medication = add(
            &mut device,
            RecordKind::Medication,
            Subject::Mother,
            &RecordBody::Medication(examples::medication_full()),
        );
        device.sync();
        let grant = grant_of(
            ORG,
            &[RecordKind::PrenatalVisit, RecordKind::Immunization, RecordKind::Medication],
            &[Subject::Mother],
            Access::Read,
        );
        create_grant(&device, &grant, &[visit, dose, medication]);
        let pid = patient_of_first_encounter(&env.org);

        // Item 9: every resource `$everything` returns is readable at its fullUrl.
        let (status, everything) = env.org.get(&format!("/fhir/r4/Patient/{pid}/$everything"));
        assert_eq!(status, 200, "{everything}");
        let listed = everything["entry"].as_array().unwrap();
        let types: std::collections::BTreeSet<&str> =
            listed.iter().map(|e| e["resource"]["resourceType"].as_str().unwrap()).collect();
        assert!(types.contains("MedicationDispense"), "{types:?}");
        for entry in listed {
            let (status, resource) = env.org.get(entry["fullUrl"].as_str().unwrap());
            assert_eq!(status, 200, "{}: {resource}", entry["fullUrl"]);
            assert_eq!(resource, entry["resource"]);
        }

        // MedicationDispense is searchable by patient (and subject), listed in the CapabilityStatement.
        let dispensed = format!("/fhir/r4/MedicationDispense/{medication}");
        let (status, read) = env.org.get(&dispensed);
        assert_eq!(status, 200, "{read}");
        assert_eq!(read["subject"]["reference"], format!("Patient/{pid}"));
        for query in [format!("patient={pid}"), format!("subject=Patient/{pid}"), String::new()] {
            let (status, bundle) = env.org.get(&format!("/fhir/r4/MedicationDispense?{query}"));
            assert_eq!(status, 200, "{bundle}");
            assert_eq!(total(&bundle), 1, "{query}: {bundle}");
            assert_eq!(entries(&bundle)[0], read);
        }
        let (status, bundle) = env.org.get("/fhir/r4/MedicationDispense?patient=Patient/unknown");
        assert_eq!((status, total(&bundle)), (200, 0), "{bundle}");
        let (status, body) = env.org.get(&format!("/fhir/r4/MedicationDispense?date=2026-03-01&patient={pid}"));
        assert_outcome(status, &body, 400);
        let (status, statement) = env.org.get("/fhir/r4/metadata");
        assert_eq!(status, 200, "{statement}");
        let listed = statement["rest"][0]["resource"].as_array().unwrap();
        let dispense = listed.iter().find(|r| r["type"] == "MedicationDispense").expect("MedicationDispense listed");
        assert!(dispense["searchParam"].as_array().unwrap().iter().any(|p| p["name"] == "patient"), "{dispense}");
        // Its scope decides, as for every type: a token without MedicationDispense.r(s) is 403.
        let other = env.org.new_token("system/Immunization.rs");
        let (status, body) = env.org.get_with_token(&other, &dispensed);
        assert_outcome(status, &body, 403);
        let (status, body) = env.org.get_with_token(&other, &format!("/fhir/r4/MedicationDispense?patient={pid}"));
        assert_outcome(status, &body, 403);
    }
}

phr_tests::backend_test! {
    fn every_type_scope_the_smart_configuration_advertises_opens_that_types_search(db) {
        let env = Env::start(db);
        let (status, config) = phr_tests::json_response(
            phr_tests::http().get(&format!("{}/fhir/r4/.well-known/smart-configuration", env.server.base_url)).call(),
        );
        assert_eq!(status, 200, "{config}");
        let types: Vec<String> = config["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str().unwrap().strip_prefix("system/")?.strip_suffix(".rs").map(str::to_owned))
            .filter(|t| t != "*")
            .collect();
        assert!(types.len() >= 7, "{config}");
        let (_, statement) = env.org.get("/fhir/r4/metadata");
        for ty in &types {
            assert!(
                statement["rest"][0]["resource"].as_array().unwrap().iter().any(|r| r["type"] == ty.as_str()),
                "{ty} is advertised but not in the CapabilityStatement"
            );
            let token = env.org.new_token(&format!("system/{ty}.rs"));
            let query = if ty == "Patient" { "?identifier=none" } else { "" };
            let (status, bundle) = env.org.get_with_token(&token, &format!("/fhir/r4/{ty}{query}"));
            assert_eq!(status, 200, "{ty}: {bundle}");
            assert_eq!(bundle["resourceType"], "Bundle", "{ty}: {bundle}");
        }
    }
}

phr_tests::backend_test! {
    fn the_capability_statement_declares_smart_on_fhir_with_the_discovered_token_endpoint(db) {
        let env = Env::start(db);
        let (status, statement) = env.org.get("/fhir/r4/metadata");
        assert_eq!(status, 200, "{statement}");
        let security = &statement["rest"][0]["security"];
        let service = &security["service"][0]["coding"][0];
        assert_eq!(service["system"], "http://terminology.hl7.org/CodeSystem/restful-security-service");
        assert_eq!(service["code"], "SMART-on-FHIR");
        let oauth = security["extension"]
            .as_array()
            .and_then(|exts| {
                exts.iter().find(|e| e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")
            })
            .unwrap_or_else(|| panic!("no oauth-uris extension: {security}"));
        let token = oauth["extension"].as_array().unwrap().iter().find(|e| e["url"] == "token").unwrap();
        // The same token endpoint the FHIR base's SMART configuration names.
        let (status, config) = phr_tests::json_response(
            phr_tests::http().get(&format!("{}/fhir/r4/.well-known/smart-configuration", env.server.base_url)).call(),
        );
        assert_eq!(status, 200, "{config}");
        assert_eq!(token["valueUri"], config["token_endpoint"]);
        assert_eq!(token["valueUri"], format!("{}/auth/token", env.server.base_url));
    }
}

phr_tests::backend_test! {
    fn a_transaction_posted_to_the_base_with_a_trailing_slash_is_the_same_transaction(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        device.sync();
        let grant = grant_of(ORG, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::ReadWrite);
        create_grant(&device, &grant, &[first]);
        let pid = patient_of_first_encounter(&env.org);

        let (status, with_slash) = env.org.post("/fhir/r4/", &visit_transaction(&visit_on("2026-03-10"), &pid));
        assert_eq!(status, 200, "{with_slash}");
        let (status, without) = env.org.post("/fhir/r4", &visit_transaction(&visit_on("2026-03-11"), &pid));
        assert_eq!(status, 200, "{without}");
        for response in [&with_slash, &without] {
            assert_eq!(response["type"], "transaction-response");
            let statuses: Vec<&str> = response["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["response"]["status"].as_str().unwrap())
                .collect();
            assert!(!statuses.is_empty() && statuses.iter().all(|s| *s == "201 Created"), "{response}");
        }
        assert_eq!(device.pull(), 2, "both transactions stored a visit");
        // Refusals are the same too: a malformed body is a 400 OperationOutcome at both.
        for base in ["/fhir/r4", "/fhir/r4/"] {
            let (status, body) = env.org.post_raw(&env.org.token, base, b"{not json".to_vec());
            assert_outcome(status, &body, 400);
        }
    }
}

/// A new, empty database on the same backend as `db`.
fn another_database_like(db: &TestDatabase) -> TestDatabase {
    match db.target.backend_name() {
        "postgres" => TestDatabase::postgres().expect("PostgreSQL is configured: this test runs on it"),
        _ => TestDatabase::sqlite(),
    }
}

/// The `fhir_search` audit events of the family, oldest first: the record ids each names.
fn searches_audited(device: &Device) -> Vec<Vec<String>> {
    audit_events(device)
        .iter()
        .filter(|e| e["action"] == "fhir_search" && e["outcome"] == "success")
        .map(|e| serde_json::from_value(e["record_ids"].clone()).unwrap())
        .collect()
}

phr_tests::backend_test! {
    fn repeated_searches_give_the_same_answer_only_while_records_record_keys_and_grants_are_unchanged(db) {
        // With the search answer cache (the default) and without it: the same answers, the same audit.
        // Each setting runs on its own fresh database of this backend.
        let fresh = another_database_like(&db);
        for (cache, db) in [(None, db), (Some("0"), fresh)] {
            let args: Vec<&str> = cache.map(|mb| vec!["--fhir-search-cache-mb", mb]).unwrap_or_default();
            let (dir, server) = start_server(BIN.as_ref(), &db, &args);
            let org = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ORG, "system/*.cruds");
            let mut device = Device::create_account(&server.base_url, "Mother's phone");
            let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-01"));
            device.sync();
            let grant = grant_of(ORG, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::ReadWrite);
            let grant_key = create_grant(&device, &grant, &[first]);
            let pid = patient_of_first_encounter(&org);
            let search = format!("/fhir/r4/Encounter?patient={pid}");
            let visits = || -> Vec<String> {
                let (status, bundle) = org.get(&search);
                assert_eq!(status, 200, "{bundle}");
                let mut ids: Vec<String> =
                    entries(&bundle).iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
                ids.sort();
                ids
            };

            // The same search twice: byte-identical answers, each audited with the record it read.
            let audited = searches_audited(&device).len();
            let (s1, b1) = org.get_bytes(&search);
            let (s2, b2) = org.get_bytes(&search);
            assert_eq!((s1, s2), (200, 200));
            assert_eq!(b1, b2, "cache {cache:?}");
            let after = searches_audited(&device);
            assert_eq!(after.len(), audited + 2, "every search is audited, answered from memory or not");
            assert_eq!(after[after.len() - 2..], [vec![first.to_string()], vec![first.to_string()]]);

            // A new record the grant holds no key for changes nothing the clinic sees ...
            let second = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-03-01"));
            device.sync();
            assert_eq!(visits(), [first.to_string()]);
            // ... until the family adds its key to the grant.
            let keys = serde_json::to_value(AddGrantKeysRequest {
                record_keys: vec![GrantRecordKey {
                    record_id: second,
                    wrapped_key: device.wrap_record_key_for_grant(second, &grant_key, grant.id.0).unwrap(),
                }],
            })
            .unwrap();
            let (status, body) = device.call("POST", &format!("/consent/v1/grants/{}/keys", grant.id.0), Some(&keys));
            assert_eq!(status, 200, "{body}");
            let mut both = vec![first.to_string(), second.to_string()];
            both.sort();
            assert_eq!(visits(), both);

            // A deletion on the device and a write by the clinic both show at once.
            device.delete(first);
            device.sync();
            assert_eq!(visits(), [second.to_string()]);
            let (status, body) = org.post("/fhir/r4", &visit_transaction(&visit_on("2026-04-01"), &pid));
            assert_eq!(status, 200, "{body}");
            assert_eq!(visits().len(), 2);

            // Revocation ends it at once.
            let (status, body) = device.call("DELETE", &format!("/consent/v1/grants/{}", grant.id.0), None);
            assert_eq!(status, 204, "{body}");
            let (status, bundle) = org.get(&search);
            assert_eq!((status, total(&bundle)), (200, 0), "{bundle}");
            let (status, bundle) = org.get("/fhir/r4/Encounter");
            assert_eq!((status, total(&bundle)), (200, 0), "{bundle}");
        }
    }
}

/// The transaction Bundle a clinic sends for one prenatal visit about `pid`.
fn visit_transaction(visit: &RecordBody, pid: &str) -> Value {
    let resources = to_fhir(visit, &MappingContext::new(Uuid::now_v7(), pid)).unwrap();
    let entry: Vec<Value> = resources
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).unwrap();
            let ty = v["resourceType"].as_str().unwrap().to_owned();
            let id = v["id"].as_str().unwrap().to_owned();
            json!({"fullUrl": format!("{ty}/{id}"), "resource": v,
                "request": {"method": "POST", "url": ty}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entry})
}

fn pulled_bodies(device: &Device) -> Vec<RecordBody> {
    device
        .records
        .keys()
        .filter_map(|id| device.current(id))
        .filter_map(|v| serde_json::from_value::<RecordBody>(v.clone()).ok())
        .collect()
}

phr_tests::backend_test! {
    fn a_clinic_transaction_write_reaches_the_family_device_at_its_next_pull_and_decrypts_to_the_same_values(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        device.sync();
        let grant = grant_of(
            ORG,
            &[RecordKind::PrenatalVisit, RecordKind::Immunization],
            &[Subject::Mother],
            Access::ReadWrite,
        );
        create_grant(&device, &grant, &[first]);
        let pid = patient_of_first_encounter(&env.org);

        let written = visit_on("2026-03-10");
        let (status, response) = env.org.post("/fhir/r4", &visit_transaction(&written, &pid));
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["type"], "transaction-response");
        let statuses: Vec<&str> =
            response["entry"].as_array().unwrap().iter().map(|e| e["response"]["status"].as_str().unwrap()).collect();
        assert!(statuses.iter().all(|s| *s == "201 Created"), "{response}");

        // A single resource by POST as well.
        let dose = dose();
        let imm =
            serde_json::to_value(&to_fhir(&dose, &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0]).unwrap();
        let (status, created) = env.org.post("/fhir/r4/Immunization", &imm);
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["resourceType"], "Immunization");

        // The family's device pulls both, opens the server-wrapped keys, and reads the same values.
        assert_eq!(device.pull(), 2);
        let bodies = pulled_bodies(&device);
        assert!(bodies.contains(&written), "the visit arrives intact");
        assert!(bodies.contains(&dose), "the dose arrives intact");

        // An update with If-Match: the current version applies, a stale one is 409 and changes nothing.
        let id = created["id"].as_str().unwrap().to_owned();
        let mut amended = created.clone();
        amended["lotNumber"] = json!("LOT-AMENDED");
        let (status, etag, body) = env.org.put(&format!("/fhir/r4/Immunization/{id}"), &amended, Some("W/\"1\""));
        assert_eq!(status, 200, "{body}");
        assert_eq!(etag.as_deref(), Some("W/\"2\""));
        amended["lotNumber"] = json!("LOT-STALE");
        let (status, _, body) = env.org.put(&format!("/fhir/r4/Immunization/{id}"), &amended, Some("W/\"1\""));
        assert_outcome(status, &body, 409);
        assert_eq!(device.pull(), 1, "the amended dose reaches the device");
        let lots: Vec<Option<String>> = pulled_bodies(&device)
            .into_iter()
            .filter_map(|b| match b {
                RecordBody::Immunization(d) => Some(d.lot_number),
                _ => None,
            })
            .collect();
        assert_eq!(lots, vec![Some("LOT-AMENDED".to_owned())]);
        // The clinic reads back what it wrote; the write is audited.
        let (_, encounters) = env.org.get("/fhir/r4/Encounter?date=2026-03-10");
        assert_eq!(total(&encounters), 1);
        let events = audit_events(&device);
        assert_eq!(events.iter().filter(|e| e["action"] == "fhir_write" && e["outcome"] == "success").count(), 3);
    }
}

phr_tests::backend_test! {
    fn writes_need_a_read_write_grant_covering_the_module_and_a_refused_write_stores_nothing(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        device.sync();
        create_grant(&device, &grant_of(ORG, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::Read), &[first]);
        let pid = patient_of_first_encounter(&env.org);
        let (status, body) = env.org.post("/fhir/r4", &visit_transaction(&visit_on("2026-03-10"), &pid));
        assert_outcome(status, &body, 403);
        // A module outside the grant is refused too.
        let dose = dose();
        let imm =
            serde_json::to_value(&to_fhir(&dose, &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0]).unwrap();
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm);
        assert_outcome(status, &body, 403);
        // An unknown patient is answered as if it did not exist.
        let imm_other = serde_json::to_value(
            &to_fhir(&dose, &MappingContext::new(Uuid::now_v7(), "0123456789abcdef0123456789abcdef")).unwrap()[0],
        )
        .unwrap();
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm_other);
        assert_outcome(status, &body, 404);
        assert_eq!(device.pull(), 0, "nothing was stored");
    }
}

phr_tests::backend_test! {
    fn bad_input_is_an_operation_outcome_with_the_right_status_and_stores_nothing(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        device.sync();
        let grant = grant_of(
            ORG,
            &[RecordKind::PrenatalVisit, RecordKind::SelfVitals, RecordKind::Immunization],
            &[Subject::Mother],
            Access::ReadWrite,
        );
        create_grant(&device, &grant, &[first]);
        let pid = patient_of_first_encounter(&env.org);
        let token = env.org.token.clone();

        let (status, body) = env.org.post_raw(&token, "/fhir/r4/Immunization", b"{not json".to_vec());
        assert_outcome(status, &body, 400);
        let vitals = |v: SelfVitals| {
            serde_json::to_value(
                &to_fhir(&RecordBody::SelfVitals(v), &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0],
            )
            .unwrap()
        };
        let observation = vitals(examples::self_vitals_minimal());
        let (status, body) = env.org.post("/fhir/r4/Immunization", &observation);
        assert_outcome(status, &body, 400);
        assert_eq!(body["issue"][0]["expression"][0], "resourceType");

        let mut missing_subject = observation.clone();
        missing_subject.as_object_mut().unwrap().remove("subject");
        let (status, body) = env.org.post("/fhir/r4/Observation", &missing_subject);
        assert_outcome(status, &body, 400);
        assert_eq!(body["issue"][0]["expression"][0], "Observation.subject");

        let huge = vec![b' '; 2 << 20];
        let (status, body) = env.org.post_raw(&token, "/fhir/r4/Observation", huge);
        assert_outcome(status, &body, 413);

        let mut unknown_code = observation.clone();
        unknown_code["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "0000-0"}]});
        let (status, body) = env.org.post("/fhir/r4/Observation", &unknown_code);
        assert_outcome(status, &body, 422);
        assert!(body.to_string().contains("0000-0"), "{body}");

        let heavy = vitals(SelfVitals { weight: Some(Quantity::new(500.0)), ..examples::self_vitals_minimal() });
        let (status, body) = env.org.post("/fhir/r4/Observation", &heavy);
        assert_outcome(status, &body, 422);
        assert_eq!(body["issue"][0]["expression"][0], "weight", "{body}");
        assert!(body["issue"][0]["diagnostics"].as_str().unwrap().contains("kg"), "{body}");

        let (status, body) = env.org.get("/fhir/r4/Observation?flavour=sweet");
        assert_outcome(status, &body, 400);
        let (status, body) = env.org.get("/fhir/r4/Observation?date=soon");
        assert_outcome(status, &body, 400);

        // Authentication and scopes.
        let (status, www) = env.org.get_www_authenticate("", "/fhir/r4/Observation");
        assert_eq!(status, 401);
        assert!(www.unwrap().starts_with("Bearer"));
        let (status, body) = env.org.get_with_token("eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl", "/fhir/r4/Observation");
        assert_outcome(status, &body, 401);
        let narrow = env.org.new_token("system/Patient.rs");
        let (status, body) = env.org.get_with_token(&narrow, "/fhir/r4/Observation");
        assert_outcome(status, &body, 403);
        let (status, body) = env.org.post_raw(&narrow, "/fhir/r4/Observation", observation.to_string().into_bytes());
        assert_outcome(status, &body, 403);

        assert_eq!(device.pull(), 0, "no bad request stored anything");
        assert!(audit_events(&device).iter().all(|e| e["action"] != "fhir_write"));
    }
}

/// The events appended to the family's log since `before` that are `denied`.
fn denied_since(device: &Device, before: usize) -> Vec<Value> {
    audit_events(device)[before..].iter().filter(|e| e["outcome"] == "denied").cloned().collect()
}

phr_tests::backend_test! {
    /// Item 8 of issue 12: a clinic's write the family's grants do not allow
    /// (a read-only grant), by POST, by transaction and by PUT of a record it
    /// may read, is 403 and appears as `fhir_write` `denied` in the
    /// family's audit log, naming the clinic and neither records nor any of
    /// the refused content; nothing is stored.
    fn a_clinics_out_of_scope_write_and_transaction_are_403_and_audited_as_denied_in_the_familys_log(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        let given = add(&mut device, RecordKind::Immunization, Subject::Mother, &dose());
        device.sync();
        let read_only =
            grant_of(ORG, &[RecordKind::PrenatalVisit, RecordKind::Immunization], &[Subject::Mother], Access::Read);
        create_grant(&device, &read_only, &[first, given]);
        let pid = patient_of_first_encounter(&env.org);
        let (status, readable) = env.org.get(&format!("/fhir/r4/Immunization/{given}"));
        assert_eq!(status, 200, "{readable}");
        let before = audit_events(&device).len();

        // A transaction under a read-only grant.
        let (status, body) = env.org.post("/fhir/r4", &visit_transaction(&visit_on("2026-03-10"), &pid));
        assert_outcome(status, &body, 403);
        // A module outside the grant, carrying a recognisable lot number.
        let mut dose = examples::immunization_full();
        dose.date_given = day("2026-10-10");
        dose.lot_number = Some("LOT-REFUSED-4711".into());
        let imm = serde_json::to_value(
            &to_fhir(&RecordBody::Immunization(dose), &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0],
        )
        .unwrap();
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm);
        assert_outcome(status, &body, 403);
        // An update of a dose it may read but not write.
        let mut amended = readable.clone();
        amended["lotNumber"] = json!("LOT-REFUSED-4711");
        let (status, _, body) = env.org.put(&format!("/fhir/r4/Immunization/{given}"), &amended, None);
        assert_outcome(status, &body, 403);

        let denied = denied_since(&device, before);
        assert_eq!(denied.len(), 3, "one denied event per refused write: {denied:?}");
        for e in &denied {
            assert_eq!(e["action"], "fhir_write", "{e}");
            assert_eq!(e["actor"], format!("organization:{ORG}"), "{e}");
            assert_eq!(e["record_ids"], json!([]), "{e}");
        }
        let log = serde_json::to_string(&audit_events(&device)).unwrap();
        assert!(!log.contains("LOT-REFUSED-4711") && !log.contains("2026-03-10"), "no refused content: {log}");
        assert_eq!(device.pull(), 0, "nothing was stored");
    }
}

phr_tests::backend_test! {
    /// Item 7 of issue 12: a clinic's write dated outside 1900-01-01 to
    /// 2200-12-31 is a 422 OperationOutcome naming the element and stores
    /// nothing; a search `date` outside the range is a 400 OperationOutcome
    /// naming `date`.
    fn fhir_writes_and_searches_dated_outside_1900_to_2200_are_refused_naming_the_field(db) {
        let env = Env::start(db);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        device.sync();
        let grant = grant_of(
            ORG,
            &[RecordKind::PrenatalVisit, RecordKind::Immunization],
            &[Subject::Mother],
            Access::ReadWrite,
        );
        create_grant(&device, &grant, &[first]);
        let pid = patient_of_first_encounter(&env.org);

        for given in ["1899-12-31", "1000-01-01"] {
            let mut dose = examples::immunization_full();
            dose.date_given = day(given);
            dose.next_due_date = None;
            let imm = serde_json::to_value(
                &to_fhir(&RecordBody::Immunization(dose), &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0],
            )
            .unwrap();
            let (status, body) = env.org.post("/fhir/r4/Immunization", &imm);
            assert_outcome(status, &body, 422);
            assert_eq!(body["issue"][0]["expression"][0], "date_given", "{given}: {body}");
            assert!(body.to_string().contains("1900-01-01 to 2200-12-31"), "{body}");
        }
        let mut dose = examples::immunization_full();
        dose.date_given = day("2026-10-10");
        dose.next_due_date = Some(day("2201-01-01"));
        let imm = serde_json::to_value(
            &to_fhir(&RecordBody::Immunization(dose), &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0],
        )
        .unwrap();
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm);
        assert_outcome(status, &body, 422);
        assert!(body.to_string().contains("next_due_date"), "{body}");
        let (status, body) = env.org.post("/fhir/r4", &visit_transaction(&visit_on("1899-12-31"), &pid));
        assert_outcome(status, &body, 422);
        assert!(body.to_string().contains("visit_date"), "{body}");
        assert_eq!(device.pull(), 0, "nothing was stored");

        for date in ["0000-01-01", "ge1899-12-31", "le2201-01-01"] {
            let (status, body) = env.org.get(&format!("/fhir/r4/Encounter?date={date}"));
            assert_outcome(status, &body, 400);
            assert_eq!(body["issue"][0]["expression"][0], "date", "{date}: {body}");
        }
        let (status, body) = env.org.get("/fhir/r4/Encounter?date=ge1900-01-01&date=le2200-12-31");
        assert_eq!(status, 200, "the ends of the range are fine: {body}");
    }
}

phr_tests::backend_test! {
    fn a_clinic_write_that_would_pass_the_record_limit_is_409_and_stores_nothing(db) {
        // The family holds 3 of its 4 records: one transaction of two visits would make 5.
        let env = Env::start_with(db, &["--max-records-per-account", "4"]);
        let mut device = env.family();
        let first = add(&mut device, RecordKind::PrenatalVisit, Subject::Mother, &visit_on("2026-02-15"));
        add(&mut device, RecordKind::SelfVitals, Subject::Mother, &RecordBody::SelfVitals(examples::self_vitals_minimal()));
        add(&mut device, RecordKind::SelfVitals, Subject::Mother, &RecordBody::SelfVitals(examples::self_vitals_minimal()));
        device.sync();
        let grant = grant_of(ORG, &[RecordKind::PrenatalVisit, RecordKind::Immunization], &[Subject::Mother], Access::ReadWrite);
        create_grant(&device, &grant, &[first]);
        let pid = patient_of_first_encounter(&env.org);

        let mut two_visits = visit_transaction(&visit_on("2026-03-10"), &pid);
        let second = visit_transaction(&visit_on("2026-04-07"), &pid);
        two_visits["entry"].as_array_mut().unwrap().extend(second["entry"].as_array().unwrap().iter().cloned());
        let (status, body) = env.org.post("/fhir/r4", &two_visits);
        assert_outcome(status, &body, 409);
        assert!(body.to_string().contains("more than 4 records"), "{body}");
        assert_eq!(device.pull(), 0, "nothing of the refused transaction was stored");
        let (_, encounters) = env.org.get("/fhir/r4/Encounter");
        assert_eq!(total(&encounters), 1, "the clinic still sees only the first visit");

        // One more record fits exactly; the next one does not, by POST as by transaction.
        let imm = |date: &str| {
            let mut d = examples::immunization_full();
            d.date_given = day(date);
            serde_json::to_value(&to_fhir(&RecordBody::Immunization(d), &MappingContext::new(Uuid::now_v7(), &pid)).unwrap()[0])
                .unwrap()
        };
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm("2026-10-10"));
        assert_eq!(status, 201, "{body}");
        let (status, body) = env.org.post("/fhir/r4/Immunization", &imm("2026-10-11"));
        assert_outcome(status, &body, 409);
        assert_eq!(device.pull(), 1, "only the dose that fitted reached the family");
    }
}
