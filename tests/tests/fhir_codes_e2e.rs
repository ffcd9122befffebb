//! End-to-end: writes coded the way Japanese systems code them (JP Core, the
//! national exchange specs) are accepted and mapped to the dataset's codes —
//! HOT9/HOT13/YJ product codes with target diseases in SNOMED CT or ICD-10,
//! and the JP Core URL spellings of those code systems — on SQLite (and
//! PostgreSQL when `PHR_TEST_POSTGRES_URL` is set).

use chrono::NaiveDate;
use phr_core::consent::Access;
use phr_core::dataset::immunization::Vaccine;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::{start_server, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ORG: &str = "suzuki-pediatrics";

/// A family whose mother granted the clinic read-write on immunizations, one dose
/// already synced and shared, and the clinic's client and the mother's Patient id.
fn clinic_with_a_shared_dose(
    db: &TestDatabase,
) -> (tempfile::TempDir, phr_tests::ServerProcess, OrgClient, Device, String) {
    let (dir, server) = start_server(BIN.as_ref(), db, &[]);
    let org = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ORG, "system/*.cruds");
    let mut device = Device::create_account(&server.base_url, "Mother's phone");
    let id = Uuid::now_v7();
    let mut first = examples::immunization_minimal();
    first.date_given = day("2026-01-10");
    device.edit(
        id,
        RecordKind::Immunization,
        Subject::Mother,
        serde_json::to_value(RecordBody::Immunization(first)).unwrap(),
    );
    device.sync();
    create_grant(&device, &grant_of(ORG, &[RecordKind::Immunization], &[Subject::Mother], Access::ReadWrite), &[id]);
    let (status, bundle) = org.get("/fhir/r4/Immunization");
    assert_eq!(status, 200, "{bundle}");
    let patient = bundle["entry"][0]["resource"]["patient"]["reference"].as_str().unwrap();
    let pid = patient.strip_prefix("Patient/").unwrap().to_owned();
    (dir, server, org, device, pid)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An Immunization as a JP Core system sends it: product codes, target diseases, no local code.
fn jp_core_dose(pid: &str, coding: Value, text: Option<&str>, diseases: Value) -> Value {
    let mut dose = examples::immunization_full();
    dose.date_given = day("2026-10-10");
    let mut imm = serde_json::to_value(
        &to_fhir(&RecordBody::Immunization(dose), &MappingContext::new(Uuid::now_v7(), pid)).unwrap()[0],
    )
    .unwrap();
    imm.as_object_mut().unwrap().remove("id");
    imm["vaccineCode"] = json!({"coding": coding});
    if let Some(text) = text {
        imm["vaccineCode"]["text"] = json!(text);
    }
    imm["protocolApplied"][0]["targetDisease"] = diseases;
    imm
}

fn pulled_doses(device: &mut Device) -> Vec<phr_core::dataset::Immunization> {
    device.pull();
    device
        .records
        .keys()
        .filter_map(|id| device.current(id))
        .filter_map(|v| match serde_json::from_value::<RecordBody>(v.clone()) {
            Ok(RecordBody::Immunization(d)) => Some(d),
            _ => None,
        })
        .collect()
}

phr_tests::backend_test! {
    fn an_immunization_coded_in_hot9_or_yj_with_target_diseases_is_stored_as_the_local_vaccine_with_its_codes(db) {
        let (_dir, _server, org, mut device, pid) = clinic_with_a_shared_dose(&db);

        // HOT9 (JP Core URL spelling) with MR's diseases in SNOMED CT and MHLW ICD-10.
        let mr = jp_core_dose(
            &pid,
            json!([{"system": "http://medis.or.jp/CodeSystem/master-HOT9", "code": "123456701", "display": "ミールビック"}]),
            None,
            json!([
                {"coding": [{"system": "http://snomed.info/sct", "code": "14189004"}]},
                {"coding": [{"system": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full", "code": "B06"}]}
            ]),
        );
        let (status, created) = org.post("/fhir/r4/Immunization", &mr);
        assert_eq!(status, 201, "{created}");
        // The answer is the stored dose: the HOT9 code (OID spelling), the local vaccine and its diseases.
        let codings = created["vaccineCode"]["coding"].as_array().unwrap();
        assert!(codings.contains(&json!({"system": "urn:oid:1.2.392.200119.4.403.1", "code": "123456701"})), "{created}");
        assert!(codings.iter().any(|c| c["code"] == "mr"), "{created}");

        // YJ alone, as JP Core's own Immunization example: no diseases that name one vaccine → kept as "other".
        let yj = jp_core_dose(
            &pid,
            json!([{"system": "urn:oid:1.2.392.100495.20.1.73", "code": "6311400A1010", "display": "肺炎球菌ワクチン"}]),
            None,
            json!([{"coding": [{"system": "http://snomed.info/sct", "code": "16814004"}]}]),
        );
        let (status, created) = org.post("/fhir/r4/Immunization", &yj);
        assert_eq!(status, 201, "{created}");

        let doses = pulled_doses(&mut device);
        let mr = doses.iter().find(|d| d.vaccine == Vaccine::Mr).expect("the MR dose reached the family");
        assert_eq!(mr.hot9_code.as_deref(), Some("123456701"));
        let other = doses.iter().find(|d| d.vaccine == Vaccine::Other).expect("the pneumococcal dose reached the family");
        assert_eq!((other.vaccine_name.as_deref(), other.yj_code.as_deref()), (Some("肺炎球菌ワクチン"), Some("6311400A1010")));
    }
}

phr_tests::backend_test! {
    fn an_immunization_with_a_product_code_but_no_name_or_a_foreign_code_alone_is_400_and_stores_nothing(db) {
        let (_dir, _server, org, mut device, pid) = clinic_with_a_shared_dose(&db);
        let before = pulled_doses(&mut device).len();
        for (coding, path) in [
            (json!([{"system": "urn:oid:1.2.392.200119.4.403.1", "code": "123456701"}]), "vaccineCode.text"),
            (json!([{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]), "vaccineCode.coding"),
        ] {
            let (status, body) = org.post("/fhir/r4/Immunization", &jp_core_dose(&pid, coding, None, json!([])));
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["resourceType"], "OperationOutcome");
            assert!(body["issue"][0].to_string().contains(path), "the outcome names {path}: {body}");
        }
        assert_eq!(pulled_doses(&mut device).len(), before, "nothing was stored");
    }
}

phr_tests::backend_test! {
    fn the_capability_statement_says_which_code_systems_each_writable_type_accepts(db) {
        let (dir, server) = start_server(BIN.as_ref(), &db, &[]);
        let org = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ORG, "system/*.rs");
        let (status, cs) = org.get("/fhir/r4/metadata");
        assert_eq!(status, 200, "{cs}");
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        let doc = |ty: &str| {
            resources.iter().find(|r| r["type"] == ty).and_then(|r| r["documentation"].as_str()).unwrap_or_default().to_owned()
        };
        assert!(doc("Immunization").contains("http://medis.or.jp/CodeSystem/master-HOT9"));
        assert!(doc("Condition").contains("O24.4"));
        assert!(doc("Observation").contains("JP_ObservationBodyMeasurementCode_CS"));
    }
}
