//! Care-team portal patients, end to end (SQLite, and PostgreSQL when `PHR_TEST_POSTGRES_URL`
//! is set): a family shares its daughter's newborn record, checkups, immunizations and
//! milestones, and the mother's prenatal visits and medication, with a clinic (read-write).
//! The clinic's nurse, signed in with a passkey, finds the daughter by the handbook number the
//! family shared (a second family, which shared nothing with the clinic, is never listed),
//! opens her page (growth charts against the Japanese and WHO references, immunization status,
//! checkups, milestones, in Japanese or English), enters a checkup through the form (a
//! CSRF-less post and a form with a bad value store nothing; the bad value is named at its
//! field), and the family's device pulls the new record and opens it. The family's audit log
//! names the nurse for every search, view and write. A nurse of another clinic gets 404 (audited
//! as denied); when the family revokes the grant, the daughter is gone from the clinic's
//! search and page at once. The audit chains verify; no identifier or name reaches the log.

use std::path::Path;

use phr_core::consent::Access;
use phr_core::dataset::RecordKind;
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of};
use phr_tests::portal::{self, days_ago, family, html, SignedIn};
use phr_tests::{assert_audit_verifies, start_server};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const CLINIC: &str = "sakura-clinic";
const OTHER: &str = "momiji-clinic";
const NURSE: &str = "Nurse Sentinel-Sato";
const OTHER_NURSE: &str = "Nurse Sentinel-Kato";
const CHILD_NUMBER: &str = "sentinel-hb-0042";
const OTHER_CHILD_NUMBER: &str = "sentinel-hb-0077";

fn patient_id_in(page: &str) -> String {
    portal::patient_id_in(page).expect("a link to a patient")
}

/// The family's audit events by the portal: (actor, actor_name, action, outcome).
fn portal_events(device: &Device) -> Vec<(String, String, String, String)> {
    let (status, page) = device.call("GET", "/audit/v1/events?action=portal_search,portal_view,portal_write", None);
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (f("actor"), f("actor_name"), f("action"), f("outcome"))
        })
        .collect()
}

phr_tests::backend_test! {
    fn a_nurse_finds_a_consented_child_sees_her_charts_enters_a_checkup_the_family_pulls_it_and_a_revoked_grant_hides_her(db) {
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let bin = Path::new(BIN);
        portal::add_org(bin, dir.path(), &db, CLINIC);
        portal::add_org(bin, dir.path(), &db, OTHER);
        let nurse = SignedIn::invite_and_register(bin, dir.path(), &db, &base, CLINIC, NURSE);
        let other_nurse = SignedIn::invite_and_register(bin, dir.path(), &db, &base, OTHER, OTHER_NURSE);

        // The family shares the daughter's record with the clinic, read-write.
        let (mut mother, child, records) = family(&base, "Family Sentinel", CHILD_NUMBER);
        let modules = [RecordKind::Newborn, RecordKind::ChildCheckup, RecordKind::Immunization, RecordKind::Development];
        let grant = grant_of(CLINIC, &modules, &[child], Access::ReadWrite);
        let shared: Vec<Uuid> = records.iter().map(|(_, id)| *id).collect();
        create_grant(&mother, &grant, &shared);
        // Another family shares nothing with the clinic (only with the other clinic).
        let (stranger, stranger_child, stranger_records) = family(&base, "Family Other", OTHER_CHILD_NUMBER);
        let other_grant = grant_of(OTHER, &modules, &[stranger_child], Access::Read);
        create_grant(&stranger, &other_grant, &stranger_records.iter().map(|(_, id)| *id).collect::<Vec<_>>());

        // Without a session: to the sign-in page.
        let anonymous = portal::call(&base, "GET", "/portal/patients", None, &[]);
        assert_eq!((anonymous.status, anonymous.header("location")), (303, Some("/portal/signin")));

        // The search page says how many patients shared their record; a search finds the daughter.
        let en = [("Accept-Language", "en-GB,en;q=0.9")];
        let search = nurse.call(&base, "GET", "/portal/patients", None, &en);
        assert_eq!(search.status, 200);
        assert!(html(&search).contains("One patient has shared"), "{}", html(&search));
        let found = nurse.call(&base, "GET", &format!("/portal/patients?identifier={CHILD_NUMBER}"), None, &en);
        assert_eq!(found.status, 200);
        let patient = patient_id_in(html(&found));
        assert!(html(&found).contains(CHILD_NUMBER));
        // The other family's number, a partial number and a bad query find nobody.
        for q in [OTHER_CHILD_NUMBER, "sentinel-hb-004"] {
            let none = nurse.call(&base, "GET", &format!("/portal/patients?identifier={q}"), None, &en);
            assert_eq!(none.status, 200);
            assert!(!html(&none).contains("/portal/patients/"), "{q}: {}", html(&none));
        }
        let bad = nurse.call(&base, "GET", "/portal/patients?identifier=%20", None, &en);
        assert_eq!(bad.status, 400);
        assert!(html(&bad).contains("Type an identifier"));

        // The page: growth charts (Japanese and WHO), immunizations, checkups, milestones.
        let page = nurse.call(&base, "GET", &format!("/portal/patients/{patient}"), None, &en);
        assert_eq!(page.status, 200, "{}", html(&page));
        let text = html(&page);
        assert_eq!(text.matches("<svg").count(), 4, "weight and length against two references");
        assert!(text.contains("Japanese 2000 growth reference") && text.contains("WHO standards"));
        assert!(text.contains("Done on"), "the hepatitis B dose given");
        assert!(text.contains("dose-due") || text.contains("dose-overdue") || text.contains("dose-upcoming"));
        assert!(text.contains("4.2"), "the 1-month checkup's weight");
        assert!(!text.contains("<script>"), "no inline script");
        assert_eq!(page.header("content-security-policy").map(|c| c.contains("script-src 'self'")), Some(true));
        // In Japanese by the switch, remembered in a cookie.
        let ja = nurse.call(&base, "GET", &format!("/portal/patients/{patient}?lang=ja"), None, &en);
        assert!(html(&ja).contains("発育") && html(&ja).contains("<html lang=\"ja\">"));
        assert!(ja.set_cookie.as_deref().is_some_and(|c| c.starts_with("phr_portal_lang=ja")));

        // A result form; a post without the CSRF token, or with a bad weight, stores nothing.
        let form_path = format!("/portal/patients/{patient}/results/child_checkup");
        let form = nurse.call(&base, "GET", &form_path, None, &en);
        assert_eq!(form.status, 200);
        assert!(html(&form).contains("name=\"csrf\""));
        let not_for_her = nurse.call(&base, "GET", &format!("/portal/patients/{patient}/results/prenatal_visit"), None, &en);
        assert_eq!(not_for_her.status, 404);
        let today = days_ago(0);
        let fields = [("date", today.as_str()), ("checkup_type", "months_3_4"), ("weight", "6.9"), ("length", "61.0"), ("length_position", "recumbent")];
        let forged = nurse.post_form(&base, &form_path, &fields, false);
        assert_eq!(forged.status, 403, "no CSRF token");
        let heavy = [("date", today.as_str()), ("checkup_type", "months_3_4"), ("weight", "600"), ("length", "61.0"), ("length_position", "recumbent")];
        let refused = nurse.post_form(&base, &form_path, &heavy, true);
        assert_eq!(refused.status, 422, "{}", html(&refused));
        assert!(html(&refused).contains("aria-invalid=\"true\""));
        assert!(html(&refused).contains("value=\"600\""), "what was typed is kept");
        assert_eq!(mother.pull(), 0, "nothing was stored");

        let saved = nurse.post_form(&base, &form_path, &fields, true);
        assert_eq!(saved.status, 303, "{}", html(&saved));
        assert_eq!(saved.header("location"), Some(format!("/portal/patients/{patient}?saved=child_checkup").as_str()));
        let after = nurse.call(&base, "GET", saved.header("location").unwrap(), None, &en);
        assert!(html(&after).contains("Saved: "), "{}", html(&after));
        assert!(html(&after).contains("6.9"));

        // The family's device pulls the checkup and opens it.
        assert_eq!(mother.pull(), 1);
        let written = mother
            .records
            .iter()
            .find(|(id, r)| r.kind == RecordKind::ChildCheckup && !shared.contains(id))
            .map(|(id, _)| *id)
            .expect("the new checkup");
        let body = mother.current(&written).expect("readable by the family").clone();
        assert_eq!(body["body"]["weight"]["value"], 6.9);
        assert_eq!(body["body"]["checkup_type"], "months_3_4");
        assert_eq!(body["body"]["facility"], Value::Null, "no field the nurse left empty");

        // A nurse of another clinic: 404 for the daughter, audited as denied.
        let elsewhere = other_nurse.call(&base, "GET", &format!("/portal/patients/{patient}"), None, &en);
        assert_eq!(elsewhere.status, 404);
        let elsewhere_post = other_nurse.post_form(&base, &form_path, &fields, true);
        assert_eq!(elsewhere_post.status, 404);

        // The family's log names the nurse, her organization and what she did.
        let actor = format!("organization:{CLINIC}/staff:{}", nurse.staff_id);
        let events = portal_events(&mother);
        for action in ["portal_search", "portal_view", "portal_write"] {
            assert!(
                events.iter().any(|e| e == &(actor.clone(), NURSE.to_owned(), action.to_owned(), "success".to_owned())),
                "{action}: {events:?}"
            );
        }
        // The other nurse's attempts are not in this family's log: it gave that clinic no grant.
        assert!(events.iter().all(|e| e.1 != OTHER_NURSE), "{events:?}");

        // The family revokes the grant: gone from the search and the page at once.
        let (status, body) = mother.call("DELETE", &format!("/consent/v1/grants/{}", grant.id), None);
        assert_eq!(status, 204, "{body}");
        let gone = nurse.call(&base, "GET", &format!("/portal/patients/{patient}"), None, &en);
        assert_eq!(gone.status, 404);
        let unlisted = nurse.call(&base, "GET", &format!("/portal/patients?identifier={CHILD_NUMBER}"), None, &en);
        assert!(!html(&unlisted).contains("/portal/patients/"), "{}", html(&unlisted));
        let write_after = nurse.post_form(&base, &form_path, &fields, true);
        assert_eq!(write_after.status, 404);
        assert!(
            portal_events(&mother).iter().any(|e| e.0 == actor && e.2 == "portal_view" && e.3 == "denied"),
            "the refused view is in the family's log"
        );

        assert_audit_verifies(bin, dir.path(), &db);
        let logs = server.logs().join("\n");
        for sentinel in [CHILD_NUMBER, OTHER_CHILD_NUMBER, "Sentinel", &patient] {
            assert!(!logs.contains(sentinel), "{sentinel} in the server log");
        }
    }
}

const CITY: &str = "midori-city-health-center";
const HEALTH_NURSE: &str = "Public health nurse Sentinel-Mori";

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// The new child checkups of a family after a pull: (weight, note).
fn new_checkups(device: &Device, known: &[Uuid]) -> Vec<(f64, Option<String>)> {
    device
        .records
        .iter()
        .filter(|(id, r)| r.kind == RecordKind::ChildCheckup && !known.contains(id))
        .map(|(id, _)| {
            let body = device.current(id).unwrap();
            (body["body"]["weight"]["value"].as_f64().unwrap(), body["body"]["note"].as_str().map(str::to_owned))
        })
        .collect()
}

phr_tests::backend_test! {
    fn a_health_centers_shift_jis_upload_with_a_bad_row_is_refused_whole_and_then_stored_fixed(db) {
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let bin = Path::new(BIN);
        portal::add_org(bin, dir.path(), &db, CITY);
        let nurse = SignedIn::invite_and_register(bin, dir.path(), &db, &base, CITY, HEALTH_NURSE);
        let modules = [RecordKind::Newborn, RecordKind::ChildCheckup, RecordKind::Immunization, RecordKind::Development];
        let mut families = Vec::new();
        for (name, number) in [("Family A", "sentinel-hb-0101"), ("Family B", "sentinel-hb-0102")] {
            let (device, child, records) = family(&base, name, number);
            let ids: Vec<Uuid> = records.iter().map(|(_, id)| *id).collect();
            create_grant(&device, &grant_of(CITY, &modules, &[child], Access::ReadWrite), &ids);
            families.push((device, ids));
        }

        // The template: the identifier and the form's fields.
        let template = nurse.call(&base, "GET", "/portal/uploads/child_checkup/template.csv", None, &[]);
        assert_eq!(template.status, 200);
        assert_eq!(template.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(html(&template).starts_with("identifier,date,checkup_type,weight,"), "{}", html(&template));

        // A session's results in Shift_JIS: one bad weight, one identifier nobody shared.
        let today = days_ago(0);
        let header = "identifier,date,checkup_type,weight,length,length_position,note";
        let bad = shift_jis(&format!(
            "{header}\r\nsentinel-hb-0101,{today},months_3_4,6.4,60.5,recumbent,異常なし\r\n\
             sentinel-hb-0102,{today},months_3_4,重い,61.0,recumbent,\r\n\
             sentinel-hb-9999,{today},months_3_4,6.0,60.0,recumbent,\r\n"
        ));
        let forged = nurse.upload(&base, "child_checkup", "auto", &bad, false);
        assert_eq!(forged.status, 403, "no CSRF token");
        let preview = nurse.upload(&base, "child_checkup", "auto", &bad, true);
        assert_eq!(preview.status, 422, "{}", html(&preview));
        let page = html(&preview);
        assert!(page.contains("2 rows have problems"), "{page}");
        assert!(page.contains("weight: must be a number"), "{page}");
        assert!(page.contains("no patient who shared their record has it"), "{page}");
        assert!(!page.contains("/portal/uploads/commit"), "no commit button with problems");
        // Committing the bad file anyway stores nothing.
        let text = encoding_rs::SHIFT_JIS.decode(&bad).0.into_owned();
        let commit = nurse.post_form(&base, "/portal/uploads/commit", &[("form", "child_checkup"), ("csv", &text)], true);
        assert_eq!(commit.status, 422, "{}", html(&commit));
        for (device, _) in families.iter_mut() {
            assert_eq!(device.pull(), 0, "nothing was stored");
        }

        // Fixed: a preview that can be stored, then the commit stores both rows.
        let fixed = shift_jis(&format!(
            "{header}\r\nsentinel-hb-0101,{today},months_3_4,6.4,60.5,recumbent,異常なし\r\n\
             {}|sentinel-hb-0102,{today},months_3_4,7.1,61.0,recumbent,\r\n",
            phr_tests::portal::HANDBOOK
        ));
        let preview = nurse.upload(&base, "child_checkup", "shift_jis", &fixed, true);
        assert_eq!(preview.status, 200, "{}", html(&preview));
        assert!(html(&preview).contains("All 2 rows can be stored"), "{}", html(&preview));
        let text = encoding_rs::SHIFT_JIS.decode(&fixed).0.into_owned();
        let stored = nurse.post_form(&base, "/portal/uploads/commit", &[("form", "child_checkup"), ("csv", &text)], true);
        assert_eq!(stored.status, 200, "{}", html(&stored));
        assert!(html(&stored).contains("2 records were stored"), "{}", html(&stored));
        let (a, a_known) = &mut families[0];
        assert_eq!(a.pull(), 1);
        assert_eq!(new_checkups(a, a_known), vec![(6.4, Some("異常なし".to_owned()))]);
        let (b, b_known) = &mut families[1];
        assert_eq!(b.pull(), 1);
        assert_eq!(new_checkups(b, b_known), vec![(7.1, None)]);

        // Each family's log names the nurse for the write.
        let actor = format!("organization:{CITY}/staff:{}", nurse.staff_id);
        for (device, _) in &families {
            let events = portal_events(device);
            assert!(events.iter().any(|e| e.0 == actor && e.1 == HEALTH_NURSE && e.2 == "portal_write" && e.3 == "success"), "{events:?}");
        }
        // A file that is not CSV text, and an unknown column: 400 pages naming the problem.
        let binary = nurse.upload(&base, "child_checkup", "utf-8", &[0xff, 0xfe, 0x00], true);
        assert_eq!(binary.status, 400);
        let unknown = nurse.upload(&base, "child_checkup", "auto", b"identifier,date,checkup_type,height\r\nx,2026-01-01,month_1,1\r\n", true);
        assert_eq!(unknown.status, 400);
        assert!(html(&unknown).contains("&#34;height&#34; is not a field"), "{}", html(&unknown));

        assert_audit_verifies(bin, dir.path(), &db);
        let logs = server.logs().join("\n");
        for sentinel in ["sentinel-hb-01", "Sentinel-Mori", "異常なし"] {
            assert!(!logs.contains(sentinel), "{sentinel} in the server log");
        }
    }
}

const ER: &str = "night-er";
const ER_DOCTOR: &str = "Doctor Sentinel-Ishida";
const ER_NUMBER: &str = "sentinel-hb-0911";

phr_tests::backend_test! {
    fn an_er_doctor_opens_an_opted_in_childs_emergency_summary_by_break_glass_with_a_reason_and_the_family_sees_her_name(db) {
        use phr_core::consent::{OrganizationId, Purpose};
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let bin = Path::new(BIN);
        let (ok, out) = portal::cli(bin, dir.path(), &db, &["org", "add", "--id", ER, "--name", "Night ER", "--kind", "emergency", "--purpose", "emergency"]);
        assert!(ok, "{out}");
        portal::add_org(bin, dir.path(), &db, CLINIC);
        let doctor = SignedIn::invite_and_register(bin, dir.path(), &db, &base, ER, ER_DOCTOR);
        let nurse = SignedIn::invite_and_register(bin, dir.path(), &db, &base, CLINIC, NURSE);

        // The family registers the handbook number for emergencies and opts in.
        let (mother, child, records) = family(&base, "Family Sentinel", ER_NUMBER);
        let body = json!({"identifiers": [{"subject": child.to_string(), "system": portal::HANDBOOK, "value": ER_NUMBER}]});
        let (status, answer) = mother.call("PUT", "/emergency/v1/identifiers", Some(&body));
        assert_eq!(status, 200, "{answer}");
        let mut opt_in = grant_of(
            OrganizationId::EMERGENCY_DEPARTMENTS,
            &[RecordKind::Newborn, RecordKind::Immunization],
            &[child],
            Access::Read,
        );
        opt_in.purpose = Purpose::Emergency;
        let in_scope: Vec<Uuid> = records
            .iter()
            .filter(|(k, _)| matches!(k, RecordKind::Newborn | RecordKind::Immunization))
            .map(|(_, id)| *id)
            .collect();
        create_grant(&mother, &opt_in, &in_scope);

        // The form is offered to the ER only.
        let en = [("Accept-Language", "en")];
        let er_page = doctor.call(&base, "GET", "/portal/emergency", None, &en);
        assert_eq!(er_page.status, 200);
        assert!(html(&er_page).contains("href=\"/portal/emergency\""), "the ER's navigation offers it");
        let clinic_page = nurse.call(&base, "GET", "/portal/patients", None, &en);
        assert!(!html(&clinic_page).contains("href=\"/portal/emergency\""));

        // Without a reason: 400, nothing read. Without the CSRF token: 403.
        let fields = |reason: &'static str| [("system", portal::HANDBOOK), ("value", ER_NUMBER), ("reason", reason)];
        let no_reason = doctor.post_form(&base, "/portal/emergency", &fields(""), true);
        assert_eq!(no_reason.status, 400, "{}", html(&no_reason));
        assert_eq!(doctor.post_form(&base, "/portal/emergency", &fields("sentinel-reason unconscious"), false).status, 403);
        // A clinic is no emergency department: 403 (and the family is told of the attempt).
        let clinic = nurse.post_form(&base, "/portal/emergency", &fields("sentinel-reason unconscious"), true);
        assert_eq!(clinic.status, 403, "{}", html(&clinic));
        // An identifier nobody registered: 404.
        let unknown = doctor.post_form(&base, "/portal/emergency", &[("system", portal::HANDBOOK), ("value", "sentinel-hb-0000"), ("reason", "sentinel-reason x")], true);
        assert_eq!(unknown.status, 404);

        let opened = doctor.post_form(&base, "/portal/emergency", &fields("sentinel-reason unconscious, brought in by ambulance"), true);
        assert_eq!(opened.status, 200, "{}", html(&opened));
        let page = html(&opened);
        assert!(page.contains("Opened by break-glass"), "{page}");
        assert!(page.contains("<h2>"), "the summary's sections: {page}");
        assert!(page.contains("<h2>Immunizations</h2>") && page.contains(&format!("({})", days_ago(55))), "the dose: {page}");

        // The family's log: the break-glass read names the doctor and the reason; the clinic's
        // attempt is there as denied.
        let (status, log) = mother.call("GET", "/audit/v1/events?action=break_glass_summary", None);
        assert_eq!(status, 200);
        let events = log["events"].as_array().unwrap();
        let doctor_actor = format!("organization:{ER}/staff:{}", doctor.staff_id);
        assert!(events.iter().any(|e| e["actor"] == doctor_actor.as_str()
            && e["actor_name"] == ER_DOCTOR
            && e["outcome"] == "success"
            && e["reason"] == "sentinel-reason unconscious, brought in by ambulance"), "{log}");
        assert!(events.iter().any(|e| e["actor_name"] == NURSE && e["outcome"] == "denied"), "{log}");

        assert_audit_verifies(bin, dir.path(), &db);
        let logs = server.logs().join("\n");
        for sentinel in [ER_NUMBER, "Sentinel-Ishida", "sentinel-reason"] {
            assert!(!logs.contains(sentinel), "{sentinel} in the server log");
        }
    }
}

phr_tests::backend_test! {
    fn a_midwife_sees_the_mothers_prenatal_charts_and_current_medication_and_enters_a_prenatal_checkup(db) {
        use phr_core::dataset::Subject;
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let bin = Path::new(BIN);
        portal::add_org(bin, dir.path(), &db, CLINIC);
        let midwife = SignedIn::invite_and_register(bin, dir.path(), &db, &base, CLINIC, "Midwife Sentinel-Ueda");
        let mut mother = Device::create_account(&base, "Mother's phone");
        let me = Subject::Mother;
        let profile = json!({"kind": "mother_profile", "body": {"name_kanji": "山田 花子", "birth_date": "1994-07-15",
            "pre_pregnancy_weight": {"value": 52.0, "unit": "kg"}}});
        let visit = |days: i64, weeks: u32, systolic: f64, kg: f64, fundal: f64| {
            json!({"kind": "prenatal_visit", "body": {"visit_date": days_ago(days),
                "gestational_age": {"weeks": weeks, "days": 0},
                "blood_pressure": {"systolic": {"value": systolic, "unit": "mm[Hg]"}, "diastolic": {"value": 72.0, "unit": "mm[Hg]"}},
                "body_weight": {"value": kg, "unit": "kg"}, "fundal_height": {"value": fundal, "unit": "cm"}}})
        };
        let medication = json!({"kind": "medication", "body": {"dispensed_on": days_ago(3), "drug_name": "Ferrous sentinel-drug 50 mg",
            "days_supplied": 14}});
        let old_medication = json!({"kind": "medication", "body": {"dispensed_on": days_ago(200), "drug_name": "Old sentinel-drug",
            "days_supplied": 7}});
        let ids = json!({"kind": "subject_identifiers", "body": {"identifiers": [{"system": "https://sakura.example/mrn", "value": "sentinel-mrn-77"}]}});
        let shared: Vec<Uuid> = [profile, visit(60, 20, 112.0, 56.0, 19.0), visit(30, 24, 118.0, 58.5, 23.0), medication, old_medication, ids]
            .into_iter()
            .map(|body| portal::add(&mut mother, me, body))
            .collect();
        mother.sync();
        let modules = [RecordKind::MotherProfile, RecordKind::PrenatalVisit, RecordKind::Medication];
        create_grant(&mother, &grant_of(CLINIC, &modules, &[me], Access::ReadWrite), &shared);

        let en = [("Accept-Language", "en")];
        let found = midwife.call(&base, "GET", "/portal/patients?identifier=sentinel-mrn-77", None, &en);
        let patient = patient_id_in(html(&found));
        assert!(html(&found).contains("山田 花子") && html(&found).contains("Mother"), "{}", html(&found));
        let page = midwife.call(&base, "GET", &format!("/portal/patients/{patient}"), None, &en);
        assert_eq!(page.status, 200);
        let text = html(&page);
        assert_eq!(text.matches("<svg").count(), 3, "blood pressure, weight gain, fundal height");
        assert!(text.contains("Blood pressure during pregnancy") && text.contains("Fundal height during pregnancy"));
        assert!(text.contains("Ferrous sentinel-drug 50 mg"), "the current medication");
        assert!(!text.contains("Old sentinel-drug"), "a medication long finished is not current");
        assert!(text.contains("/results/prenatal_visit") && !text.contains("/results/child_checkup"), "the mother's forms only");

        // A bad blood pressure is named at its field; a good visit is stored and reaches the phone.
        let form_path = format!("/portal/patients/{patient}/results/prenatal_visit");
        let today = days_ago(0);
        let bad = midwife.post_form(&base, &form_path, &[("visit_date", &today), ("blood_pressure.systolic", "high")], true);
        assert_eq!(bad.status, 422);
        assert!(html(&bad).contains("must be a number"));
        let fields = [
            ("visit_date", today.as_str()),
            ("gestational_age.weeks", "28"),
            ("gestational_age.days", "2"),
            ("blood_pressure.systolic", "142"),
            ("blood_pressure.diastolic", "91"),
            ("body_weight", "60,5"),
            ("urine_protein", "negative"),
        ];
        let saved = midwife.post_form(&base, &form_path, &fields, true);
        assert_eq!(saved.status, 303, "{}", html(&saved));
        assert_eq!(mother.pull(), 1);
        let (_, body) = mother
            .records
            .iter()
            .find(|(id, r)| r.kind == RecordKind::PrenatalVisit && !shared.contains(id))
            .map(|(id, _)| (id, mother.current(id).unwrap().clone()))
            .expect("the new visit");
        assert_eq!(body["body"]["blood_pressure"]["systolic"]["value"], 142.0);
        assert_eq!(body["body"]["gestational_age"], json!({"weeks": 28, "days": 2}));
        assert_eq!(body["body"]["body_weight"]["value"], 60.5);
        let after = midwife.call(&base, "GET", &format!("/portal/patients/{patient}"), None, &en);
        assert!(html(&after).contains("<title id=\"chart-title\">Blood pressure during pregnancy"), "the chart redrawn");
        assert_audit_verifies(bin, dir.path(), &db);
        assert!(!server.logs().join("\n").contains("sentinel"), "no record content in the server log");
    }
}
