//! Break-glass end to end (SQLite, and PostgreSQL when `PHR_TEST_POSTGRES_URL` is set): a
//! night in an emergency department registered with the operator (`org add --kind emergency`)
//! that no family ever granted anything. First the mother is brought in: the ER scans her
//! emergency card (a SMART Health Link, no account) and reads her summary. Then a baby: the ER names the handbook
//! number the parents registered, gives a reason, and reads the child's emergency summary
//! (an IPS document) because the family opted in to the standing emergency consent. For a
//! family that did not opt in it gets the same 404 as for a number nobody registered, and the
//! family sees the attempt. Without a reason it is 400; a clinic is 403; every refusal and
//! every read reaches the family's log (both parents' phones), with the reason. When the
//! family revokes the opt-in, the next read is 404 at once; the mother withdraws her card and its
//! QR code stops working; the audit chains verify; and neither the reason nor the identifier
//! is in the server's logs.

use std::path::Path;

use phr_core::consent::{Access, OrganizationId, Purpose};
use phr_core::crypto::shl::ShlPayload;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use phr_tests::client::Device;
use phr_tests::emergency::{create_card, manifest, mother_summary, read_summary, reader_agent, PushService};
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::start_server;
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const ER: &str = "night-er";
const CLINIC: &str = "day-clinic";
const HANDBOOK: &str = "urn:oid:1.2.392.100495.20.3.81";
const CHILD_NUMBER: &str = "sentinel-2026-0042";
const OTHER_NUMBER: &str = "sentinel-2026-0077";
const REASON: &str = "sentinel-reason infant unresponsive, brought in by ambulance";
const REASON_HEADER: &str = "X-Break-Glass-Reason";

fn add(device: &mut Device, kind: RecordKind, subject: Subject, body: &RecordBody) -> Uuid {
    let id = Uuid::now_v7();
    device.edit(id, kind, subject, serde_json::to_value(body).unwrap());
    id
}

fn summary_path(value: &str) -> String {
    let encoded = format!("{HANDBOOK}|{value}").replace(':', "%3A").replace('|', "%7C");
    format!("/fhir/r4/Patient/$summary?identifier={encoded}")
}

/// The family's break-glass events: (outcome, actor, reason).
fn break_glass_events(device: &Device) -> Vec<(String, String, Option<String>)> {
    let (status, page) = device.call("GET", "/audit/v1/events?action=break_glass_summary", None);
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn register_identifier(device: &Device, subject: Subject, value: &str) {
    let body = json!({"identifiers": [{"subject": subject.to_string(), "system": HANDBOOK, "value": value}]});
    let (status, answer) = device.call("PUT", "/emergency/v1/identifiers", Some(&body));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["registered"], 1);
}

fn is_outcome(body: &Value) -> bool {
    body["resourceType"] == "OperationOutcome"
}

phr_tests::backend_test! {
    fn a_night_in_an_er_card_scan_and_break_glass_for_an_opted_in_child_refused_for_a_family_that_did_not(db) {
        // The family's phone is pushed a notice when a session opens and at each refusal
        // (a local push endpoint, when `PHR_PUSH_PYTHON` names a Python with http_ece).
        let push = std::env::var_os("PHR_PUSH_PYTHON").map(|python| PushService::start(&python));
        let (dir, server) = start_server(Path::new(BIN), &db, &["--push-allow-loopback-http"]);
        let er = OrgClient::register_emergency(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, ER, "system/Patient.r");
        let clinic = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &server.base_url, CLINIC, "system/*.rs");

        // Family A: the baby's records, the handbook number registered, and the opt-in.
        let mut mother = Device::create_account(&server.base_url, "Mother's phone");
        let code = mother.pairing_code();
        let father = Device::join(&mother.server, &mother.account_id, &mother.account_key_bytes(), &code, "Father's phone")
            .expect("the father's phone joins");
        // The mother's emergency card: the ER scans it and reads her summary, no account.
        let card = create_card(&mother, &mother_summary("PHR app"), None);
        let reader = reader_agent();
        let scanned = ShlPayload::parse(&card.shlink).unwrap();
        let (status, _, m) = manifest(&reader, &scanned.url, &json!({"recipient": "Night ER triage"}));
        assert_eq!(status, 200, "{m}");
        assert_eq!(read_summary(&reader, &scanned.key, &m)["type"], "document");

        let baby = Subject::Child(Uuid::now_v7());
        let mut identifiers = examples::subject_identifiers_minimal();
        identifiers.identifiers[0].value = CHILD_NUMBER.into();
        let in_scope = [
            add(&mut mother, RecordKind::Newborn, baby, &RecordBody::Newborn(examples::newborn_full())),
            add(&mut mother, RecordKind::Immunization, baby, &RecordBody::Immunization(examples::immunization_full())),
            add(&mut mother, RecordKind::Allergy, baby, &RecordBody::Allergy(examples::allergy_full())),
            add(&mut mother, RecordKind::SubjectIdentifiers, baby, &RecordBody::SubjectIdentifiers(identifiers)),
        ];
        let milestone =
            add(&mut mother, RecordKind::Development, baby, &RecordBody::Development(examples::development_full()));
        mother.sync();
        register_identifier(&mother, baby, CHILD_NUMBER);
        if let Some(push) = &push {
            push.subscribe(&mother);
        }
        let pushed = || push.as_ref().map(|p| p.next()["plaintext"].as_str().unwrap().to_owned());

        // A break-glass grant may not cover developmental milestones, nor be read-write (422).
        let mut opt_in = grant_of(
            OrganizationId::EMERGENCY_DEPARTMENTS,
            &[RecordKind::Newborn, RecordKind::Immunization, RecordKind::Allergy, RecordKind::Development],
            &[baby],
            Access::Read,
        );
        opt_in.purpose = Purpose::Emergency;
        let (status, body) = mother.call(
            "POST",
            "/consent/v1/grants",
            Some(&json!({"grant": opt_in, "wrapped_grant_key": "AAAA", "view_kid": "x", "record_keys": []})),
        );
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("break-glass"), "{body}");
        opt_in.scope.modules.remove(&RecordKind::Development);
        create_grant(&mother, &opt_in, &in_scope);

        // Family B registered the mother's number but did not opt in.
        let other = Device::create_account(&server.base_url, "Other mother's phone");
        register_identifier(&other, Subject::Mother, OTHER_NUMBER);

        // No reason: 400, an OperationOutcome, audited as a refused attempt.
        let (status, body) = er.get(&summary_path(CHILD_NUMBER));
        assert_eq!(status, 400, "{body}");
        assert!(is_outcome(&body) && body.to_string().contains(REASON_HEADER), "{body}");
        assert!(pushed().is_none_or(|notice| notice.contains("emergency_access")), "the refusal is pushed");

        // With a reason: the child's emergency summary, an IPS document.
        let (status, doc) = er.get_with_headers(&summary_path(CHILD_NUMBER), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 200, "{doc}");
        assert_eq!((doc["resourceType"].as_str(), doc["type"].as_str()), (Some("Bundle"), Some("document")), "{doc}");
        assert_eq!(doc["entry"][0]["resource"]["resourceType"], "Composition");
        let text = doc.to_string();
        for expected in ["\"AllergyIntolerance\"", "\"Immunization\"", CHILD_NUMBER] {
            assert!(text.contains(expected), "{expected} missing from the summary: {text}");
        }
        assert!(!text.contains(&milestone.to_string()), "milestones are outside the opt-in");
        assert!(pushed().is_none_or(|notice| !notice.contains(CHILD_NUMBER)), "the session's opening is pushed");
        // A second read in the same night is served as well (and audited again), within the
        // session it opened: no second notice.
        let (status, again) = er.get_with_headers(&summary_path(CHILD_NUMBER), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 200, "{again}");
        if let Some(push) = &push {
            assert!(push.received.recv_timeout(std::time::Duration::from_millis(1500)).is_err(), "one notice per session");
        }

        // A family that did not opt in, and a number nobody registered: the same 404.
        let (status, refused) = er.get_with_headers(&summary_path(OTHER_NUMBER), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 404, "{refused}");
        let (status, unknown) = er.get_with_headers(&summary_path("sentinel-nobody"), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 404, "{unknown}");
        assert!(is_outcome(&refused));
        assert_eq!(refused["issue"], unknown["issue"], "nothing tells the two apart");

        // A clinic (not an emergency department) is 403 even with a reason.
        let (status, body) = clinic.get_with_headers(&summary_path(CHILD_NUMBER), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 403, "{body}");
        // A reason with a control character: 400, nothing read, the refusal audited.
        let (status, body) = er.get_with_headers(&summary_path(CHILD_NUMBER), &[(REASON_HEADER, "a\tb")]);
        assert_eq!(status, 400, "{body}");
        assert!(is_outcome(&body), "{body}");
        // Bad input: 400 OperationOutcomes.
        for bad in ["/fhir/r4/Patient/$summary", "/fhir/r4/Patient/$summary?identifier=no-bar", "/fhir/r4/Patient/$summary?_count=1"] {
            let (status, body) = er.get_with_headers(bad, &[(REASON_HEADER, REASON)]);
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(is_outcome(&body), "{body}");
        }

        // Both parents' phones see every attempt: who, the outcome and the reason.
        let er_actor = format!("organization:{ER}");
        for phone in [&mother, &father] {
            let events = break_glass_events(phone);
            assert_eq!(
                events,
                vec![
                    ("denied".into(), er_actor.clone(), None),
                    ("success".into(), er_actor.clone(), Some(REASON.into())),
                    ("success".into(), er_actor.clone(), Some(REASON.into())),
                    ("denied".into(), format!("organization:{CLINIC}"), Some(REASON.into())),
                    ("denied".into(), er_actor.clone(), None),
                ],
            );
        }
        assert_eq!(break_glass_events(&other), vec![("denied".into(), er_actor.clone(), Some(REASON.into()))]);
        // The family's FHIR AuditEvents carry the purpose of use BTG and the reason.
        let (status, bundle) = mother.call("GET", "/fhir/r4/AuditEvent?_count=100", None);
        assert_eq!(status, 200, "{bundle}");
        let btg = bundle.to_string();
        phr_tests::fhir::dump(&btg); // validated in CI like every FHIR body
        assert!(btg.contains("\"BTG\"") && btg.contains(REASON), "{bundle}");

        // The family revokes the opt-in: the very next read is 404.
        let (status, body) = mother.call("DELETE", &format!("/consent/v1/grants/{}", opt_in.id), None);
        assert_eq!(status, 204, "{body}");
        let (status, body) = er.get_with_headers(&summary_path(CHILD_NUMBER), &[(REASON_HEADER, REASON)]);
        assert_eq!(status, 404, "{body}");

        // The mother withdraws her card: its QR code is dead.
        let (status, _) = mother.call("DELETE", &format!("/emergency/v1/cards/{}", card.card_id), None);
        assert_eq!(status, 204);
        assert_eq!(manifest(&reader, &scanned.url, &json!({"recipient": "Night ER triage"})).0, 404);
        // Both phones report every emergency access of the night: the card read and the break-glass attempts.
        for phone in [&mother, &father] {
            let (status, page) =
                phone.call("GET", "/audit/v1/events?action=emergency_card_accessed,break_glass_summary", None);
            assert_eq!(status, 200, "{page}");
            let actions: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
            assert_eq!(actions.iter().filter(|a| **a == "emergency_card_accessed").count(), 1, "{page}");
            assert_eq!(actions.iter().filter(|a| **a == "break_glass_summary").count(), 6, "{page}");
        }

        // The audit chains verify.
        phr_tests::assert_audit_verifies(Path::new(BIN), dir.path(), &db);

        // Neither the reason nor an identifier is in the server's logs.
        let logs = server.logs().join("\n");
        for sentinel in ["sentinel-reason", CHILD_NUMBER, OTHER_NUMBER, "sentinel-nobody"] {
            assert!(!logs.contains(sentinel), "{sentinel:?} is in the logs");
        }
    }
}

phr_tests::backend_test! {
    fn bad_identifier_registrations_are_422_with_every_problem_and_change_nothing(db) {
        let (_dir, server) = start_server(Path::new(BIN), &db, &[]);
        let device = Device::create_account(&server.base_url, "phone");
        register_identifier(&device, Subject::Mother, CHILD_NUMBER);
        let bad = json!({"identifiers": [
            {"subject": "mother", "system": "not a uri", "value": "1"},
            {"subject": "mother", "system": HANDBOOK, "value": " "},
        ]});
        let (status, body) = device.call("PUT", "/emergency/v1/identifiers", Some(&bad));
        assert_eq!(status, 422, "{body}");
        let text = body.to_string();
        assert!(text.contains("identifiers[0].system") && text.contains("identifiers[1].value"), "{body}");
        let (status, body) = device.call("PUT", "/emergency/v1/identifiers", Some(&json!({"identifiers": "x"})));
        assert_eq!(status, 400, "{body}");
        let many: Vec<Value> =
            (0..101).map(|i| json!({"subject": "mother", "system": HANDBOOK, "value": format!("n-{i}")})).collect();
        let (status, body) = device.call("PUT", "/emergency/v1/identifiers", Some(&json!({"identifiers": many})));
        assert_eq!(status, 413, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("at most 100"), "{body}");
        let (status, body) = device.call("GET", "/emergency/v1/identifiers", None);
        assert_eq!((status, body["registered"].as_u64()), (200, Some(1)), "nothing changed: {body}");
        let (status, body) = device.call("DELETE", "/emergency/v1/identifiers", None);
        assert_eq!(status, 405, "{body}");
    }
}
