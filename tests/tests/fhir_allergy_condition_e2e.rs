//! End-to-end (SQLite, and PostgreSQL when `PHR_TEST_POSTGRES_URL` is set): the
//! emergency dataset over the FHIR API. A family records a child's egg allergy
//! and the mother's preeclampsia, grants a clinic the `allergy` and `condition`
//! modules, the clinic reads and searches them as AllergyIntolerance and
//! Condition, and an AllergyIntolerance the clinic writes reaches the family's device.

use chrono::NaiveDate;
use phr_core::consent::Access;
use phr_core::dataset::allergy::{Allergy, AllergyCategory, AllergyClinicalStatus};
use phr_core::dataset::medication::{DrugCode, DrugCodeSystem};
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::start_server;
use serde_json::Value;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ORG: &str = "sakura-clinic";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn add(device: &mut Device, kind: RecordKind, subject: Subject, body: &RecordBody) -> Uuid {
    let id = Uuid::now_v7();
    device.edit(id, kind, subject, serde_json::to_value(body).unwrap());
    id
}

fn entries(org: &OrgClient, path: &str) -> Vec<Value> {
    let (status, bundle) = org.get(path);
    assert_eq!(status, 200, "{path}: {bundle}");
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    bundle["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect()
}

fn patient_of(resource: &Value, field: &str) -> String {
    resource[field]["reference"].as_str().unwrap().strip_prefix("Patient/").unwrap().to_owned()
}

/// The child's egg allergy, dated before the test clock's today.
fn egg_allergy() -> RecordBody {
    let mut a = examples::allergy_full();
    a.onset = Some(day("2026-11-01"));
    a.last_reaction = Some(day("2026-11-20"));
    RecordBody::Allergy(a)
}

phr_tests::backend_test! {
    fn a_clinic_reads_searches_and_writes_the_allergies_and_problems_the_family_granted(db) {
        let (dir, server) = start_server(BIN.as_ref(), &db, &[]);
        let org = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ORG, "system/*.cruds");
        let mut device = Device::create_account(&server.base_url, "Mother's phone");
        let child = Subject::Child(Uuid::now_v7());
        let allergy = add(&mut device, RecordKind::Allergy, child, &egg_allergy());
        let preeclampsia = RecordBody::Condition(examples::condition_full());
        let condition = add(&mut device, RecordKind::Condition, Subject::Mother, &preeclampsia);
        // A module the clinic is not granted stays invisible.
        add(&mut device, RecordKind::Medication, child, &RecordBody::Medication(examples::medication_full()));
        device.sync();
        let grant = grant_of(
            ORG,
            &[RecordKind::Allergy, RecordKind::Condition],
            &[Subject::Mother, child],
            Access::ReadWrite,
        );
        create_grant(&device, &grant, &[allergy, condition]);

        let (status, cs) = org.get("/fhir/r4/metadata");
        assert_eq!(status, 200, "{cs}");
        let allergy_type = cs["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == "AllergyIntolerance");
        assert!(allergy_type.is_some_and(|r| r["documentation"].as_str().unwrap().contains("allergyintolerance")), "{cs}");

        // The child's allergy, as AllergyIntolerance, searchable by patient and code.
        let allergies = entries(&org, "/fhir/r4/AllergyIntolerance");
        assert_eq!(allergies.len(), 1, "{allergies:?}");
        let a = &allergies[0];
        assert_eq!(a["id"], allergy.to_string());
        assert_eq!(a["code"]["text"], "卵");
        assert_eq!(a["category"][0], "food");
        assert_eq!(a["criticality"], "high");
        assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "active");
        let child_pid = patient_of(a, "patient");
        assert_eq!(entries(&org, &format!("/fhir/r4/AllergyIntolerance?patient={child_pid}")).len(), 1);
        assert_eq!(
            entries(&org, &format!("/fhir/r4/AllergyIntolerance?patient={child_pid}&code=http://snomed.info/sct|102263004")).len(),
            1
        );
        assert_eq!(entries(&org, &format!("/fhir/r4/AllergyIntolerance?patient={child_pid}&code=http://snomed.info/sct|3718001")).len(), 0);
        let (status, read) = org.get(&format!("/fhir/r4/AllergyIntolerance/{allergy}"));
        assert_eq!(status, 200, "{read}");
        assert_eq!(read["meta"]["versionId"], "1");

        // The mother's preeclampsia, as a problem-list Condition.
        let conditions = entries(&org, "/fhir/r4/Condition");
        assert_eq!(conditions.len(), 1, "{conditions:?}");
        let c = &conditions[0];
        assert_eq!(c["code"]["coding"][0]["code"], "398254007");
        assert_eq!(c["category"][0]["coding"][0]["code"], "problem-list-item");
        let mother_pid = patient_of(c, "subject");
        assert_ne!(mother_pid, child_pid);
        assert_eq!(entries(&org, &format!("/fhir/r4/Condition?patient={mother_pid}")).len(), 1);
        assert_eq!(entries(&org, &format!("/fhir/r4/Condition?patient={child_pid}")).len(), 0);
        assert_eq!(entries(&org, &format!("/fhir/r4/Condition?subject=Patient/{mother_pid}&code=http://hl7.org/fhir/sid/icd-10|O14.9")).len(), 1);
        assert_eq!(entries(&org, &format!("/fhir/r4/AllergyIntolerance?patient={mother_pid}")).len(), 0);
        assert!(entries(&org, "/fhir/r4/MedicationDispense").is_empty(), "medication was not granted");

        // The clinic records a drug allergy for the child; the family's device receives it intact.
        let penicillin = RecordBody::Allergy(Allergy {
            category: AllergyCategory::Medication,
            substance: "アモキシシリン".into(),
            drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "6131001C1210".into() }),
            clinical_status: AllergyClinicalStatus::Active,
            ..examples::allergy_minimal()
        });
        let resource = serde_json::to_value(&to_fhir(&penicillin, &MappingContext::new(Uuid::now_v7(), &child_pid)).unwrap()[0]).unwrap();
        let (status, created) = org.post("/fhir/r4/AllergyIntolerance", &resource);
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["resourceType"], "AllergyIntolerance");
        assert_eq!(device.pull(), 1, "the clinic's allergy reaches the device");
        let bodies: Vec<RecordBody> = device
            .records
            .keys()
            .filter_map(|id| device.current(id))
            .filter_map(|v| serde_json::from_value::<RecordBody>(v.clone()).ok())
            .collect();
        assert!(bodies.contains(&penicillin), "{bodies:?}");
        assert_eq!(entries(&org, &format!("/fhir/r4/AllergyIntolerance?patient={child_pid}")).len(), 2);

        // A pregnancy disorder written for the mother as a problem-list Condition is a record of the condition module.
        let gdm = RecordBody::Condition(phr_core::dataset::Condition {
            code: phr_core::dataset::condition::ConditionCode::GestationalDiabetes,
            ..examples::condition_minimal()
        });
        let resource = serde_json::to_value(&to_fhir(&gdm, &MappingContext::new(Uuid::now_v7(), &mother_pid)).unwrap()[0]).unwrap();
        let (status, created) = org.post("/fhir/r4/Condition", &resource);
        assert_eq!(status, 201, "{created}");
        assert_eq!(device.pull(), 1);
        assert_eq!(entries(&org, &format!("/fhir/r4/Condition?patient={mother_pid}")).len(), 2);

        // Preeclampsia cannot be a child's problem: 422, nothing written.
        let for_child = serde_json::to_value(
            &to_fhir(&RecordBody::Condition(examples::condition_minimal()), &MappingContext::new(Uuid::now_v7(), &child_pid))
                .unwrap()[0],
        )
        .unwrap();
        let (status, body) = org.post("/fhir/r4/Condition", &for_child);
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("only the mother"), "{body}");
        assert_eq!(device.pull(), 0);

        // A write that fails validation is a 422 OperationOutcome, not a record.
        let mut bad = resource.clone();
        bad["onsetDateTime"] = Value::from("2999-01-01");
        let (status, body) = org.post("/fhir/r4/Condition", &bad);
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    }
}
