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
use serde_json::Value;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const CLINIC: &str = "sakura-clinic";
const OTHER: &str = "momiji-clinic";
const NURSE: &str = "Nurse Sentinel-Sato";
const OTHER_NURSE: &str = "Nurse Sentinel-Kato";
const CHILD_NUMBER: &str = "sentinel-hb-0042";
const OTHER_CHILD_NUMBER: &str = "sentinel-hb-0077";

fn patient_id_in(page: &str) -> String {
    let at = page.find("/portal/patients/").expect("a link to a patient") + "/portal/patients/".len();
    page[at..at + 32].to_owned()
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
