//! Care-team portal, staff sign-in with passkeys, end to end (SQLite, and PostgreSQL when
//! `PHR_TEST_POSTGRES_URL` is set). The operator invites a nurse of a clinic with the admin
//! CLI; a software passkey (`phr_tests::passkey`, built by hand, independent of the server's
//! webauthn-rs) registers with the invite and gets a session cookie (`HttpOnly`,
//! `SameSite=Strict`); `GET /portal/api/session` says who is signed in and gives the CSRF
//! token; signing out needs that token; the passkey signs in again; a used, an unknown and
//! an expired invite are refused; a replayed or forged assertion is refused; `staff disable`
//! ends the session at once and refuses the next sign-in; staff of a second clinic see their
//! own organization. Every sign-in, sign-out and refusal is in the operator's audit log,
//! which verifies, and no secret reaches the server's logs.

use std::path::Path;
use std::process::Command;

use phr_core::consent::Access;
use phr_core::dataset::RecordKind;
use phr_tests::fhir::{create_grant, grant_of};
use phr_tests::passkey::SoftPasskey;
use phr_tests::portal::{self, call, register, session, sign_in, with_cookie, Answer};
use phr_tests::{assert_audit_verifies, start_server, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const CLINIC: &str = "sakura-clinic";
const OTHER: &str = "momiji-health-center";
const NURSE: &str = "Nurse Sato Hanako";

fn cli(dir: &Path, db: &TestDatabase, args: &[&str]) -> (bool, String) {
    portal::cli(Path::new(BIN), dir, db, args)
}

fn add_org(dir: &Path, db: &TestDatabase, id: &str) {
    portal::add_org(Path::new(BIN), dir, db, id)
}

fn invite(dir: &Path, db: &TestDatabase, org: &str, name: &str, extra: &[&str]) -> (String, String) {
    portal::invite(Path::new(BIN), dir, db, org, name, extra)
}

/// The operator log: (actor, action, outcome).
fn operator_log(dir: &Path, db: &TestDatabase) -> Vec<(String, String, String)> {
    let (ok, out) = cli(dir, db, &["audit", "operator"]);
    assert!(ok, "{out}");
    out.lines()
        .map(|line| {
            let e: Value = serde_json::from_str(line).expect("a JSON line");
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (f("actor"), f("action"), f("outcome"))
        })
        .collect()
}

const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

fn assert_security_headers(answer: &Answer, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(answer.header(name), Some(value), "{what}: {name}");
    }
}

phr_tests::backend_test! {
    fn a_nurse_registers_a_passkey_with_an_invite_signs_in_and_out_and_is_cut_off_when_disabled(db) {
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        // The default base URL is http://127.0.0.1:PORT: the relying party is `localhost`.
        let port = base.rsplit(':').next().unwrap().to_owned();
        let origin = format!("http://localhost:{port}");
        add_org(dir.path(), &db, CLINIC);
        add_org(dir.path(), &db, OTHER);

        let (nurse_id, token) = invite(dir.path(), &db, CLINIC, NURSE, &[]);
        let (ok, listed) = cli(dir.path(), &db, &["staff", "list", "--org", CLINIC, "--json"]);
        assert!(ok, "{listed}");
        let listed: Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(listed[0]["staff_id"], nurse_id.as_str());
        assert_eq!((listed[0]["name"].as_str(), listed[0]["role"].as_str()), (Some(NURSE), Some("member")));

        // Registration options: the relying party, a discoverable credential with user verification.
        let start = call(&base, "POST", &format!("/portal/api/invites/{token}/register/start"), None, &[]);
        assert_eq!(start.status, 200, "{}", start.body);
        assert_security_headers(&start, "register/start");
        assert_eq!(start.body["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(start.body["publicKey"]["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(start.body["publicKey"]["authenticatorSelection"]["userVerification"], "required");

        // A passkey answering for another origin is refused (401) and the invite stays usable.
        let mut phishing = SoftPasskey::new("http://localhost.evil.example:1", "localhost");
        let forged = phishing.register(&start.body);
        let refused = call(&base, "POST", &format!("/portal/api/invites/{token}/register/finish"), Some(&forged), &[]);
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert!(refused.set_cookie.is_none());

        // Register: a session cookie with the right flags, and who is signed in.
        let mut passkey = SoftPasskey::new(&origin, "localhost");
        let registered = register(&base, &token, &mut passkey);
        assert_eq!(registered.status, 200, "{}", registered.body);
        assert_security_headers(&registered, "register/finish");
        let set = registered.set_cookie.clone().unwrap();
        assert!(set.starts_with("phr_portal="), "{set}");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            assert!(set.split("; ").any(|a| a == flag), "{flag} in {set}");
        }
        assert!(!set.contains("Secure"), "plain http: no Secure flag: {set}");
        let cookie = registered.cookie();
        assert_eq!(registered.body["organization_id"], CLINIC);

        // Who am I: name, organization, role, the CSRF token; no session without the cookie.
        let me = session(&base, &cookie);
        assert_eq!(me.status, 200, "{}", me.body);
        assert_security_headers(&me, "session");
        assert_eq!((me.body["name"].as_str(), me.body["role"].as_str()), (Some(NURSE), Some("member")));
        assert_eq!((me.body["staff_id"].as_str(), me.body["organization_id"].as_str()), (Some(nurse_id.as_str()), Some(CLINIC)));
        let csrf = me.body["csrf_token"].as_str().unwrap().to_owned();
        assert_eq!(registered.body["csrf_token"], csrf.as_str());
        let anonymous = call(&base, "GET", "/portal/api/session", None, &[]);
        assert_eq!(anonymous.status, 401, "{}", anonymous.body);
        assert!(anonymous.body["detail"].is_string());
        assert_security_headers(&anonymous, "401");
        assert_eq!(session(&base, "not-a-session").status, 401);
        assert_eq!(session(&base, &"A".repeat(43)).status, 401);

        // The invite was used: 410; an unknown one 404; both problem documents.
        let reused = call(&base, "POST", &format!("/portal/api/invites/{token}/register/start"), None, &[]);
        assert_eq!(reused.status, 410, "{}", reused.body);
        assert!(reused.body["detail"].as_str().unwrap().contains("used"));
        for unknown in ["x".repeat(43), "short".to_owned()] {
            let answer = call(&base, "POST", &format!("/portal/api/invites/{unknown}/register/start"), None, &[]);
            assert_eq!(answer.status, 404, "{}", answer.body);
        }
        // An expired invite: 410.
        let (_, expired) = invite(dir.path(), &db, CLINIC, "Midwife Kato", &["--valid-minutes", "0"]);
        let answer = call(&base, "POST", &format!("/portal/api/invites/{expired}/register/start"), None, &[]);
        assert_eq!(answer.status, 410, "{}", answer.body);
        assert!(answer.body["detail"].as_str().unwrap().contains("expired"));

        // Sign out needs the CSRF token: none or a wrong one is 403 and the session stays.
        let cookie_header = with_cookie(&cookie);
        let no_csrf = call(&base, "POST", "/portal/api/signout", None, &[("Cookie", &cookie_header)]);
        assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
        assert_security_headers(&no_csrf, "403");
        let wrong = call(&base, "POST", "/portal/api/signout", None, &[("Cookie", &cookie_header), ("X-CSRF-Token", "wrong")]);
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert_eq!(session(&base, &cookie).status, 200);
        let out = call(&base, "POST", "/portal/api/signout", None, &[("Cookie", &cookie_header), ("X-CSRF-Token", &csrf)]);
        assert_eq!(out.status, 204, "{}", out.body);
        assert!(out.set_cookie.as_deref().unwrap().contains("Max-Age=0"));
        assert_eq!(session(&base, &cookie).status, 401, "signed out");

        // Sign in again with the passkey: a new session, a new CSRF token.
        let signed_in = sign_in(&base, &mut passkey);
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        let cookie2 = signed_in.cookie();
        assert_ne!(cookie2, cookie);
        let me = session(&base, &cookie2);
        assert_eq!((me.status, me.body["name"].as_str()), (200, Some(NURSE)));
        assert_ne!(me.body["csrf_token"].as_str(), Some(csrf.as_str()));

        // A replayed assertion (its ceremony is finished) and a key the server does not know: 401.
        let start = call(&base, "POST", "/portal/api/signin/start", None, &[]);
        let assertion = passkey.sign_in(&start.body);
        assert_eq!(call(&base, "POST", "/portal/api/signin/finish", Some(&assertion), &[]).status, 200);
        let replay = call(&base, "POST", "/portal/api/signin/finish", Some(&assertion), &[]);
        assert_eq!(replay.status, 401, "{}", replay.body);
        let mut stranger = SoftPasskey::new(&origin, "localhost");
        stranger.user_handle = passkey.user_handle.clone();
        let forged = sign_in(&base, &mut stranger);
        assert_eq!(forged.status, 401, "{}", forged.body);
        // Malformed bodies: 400 problem documents; a GET on a POST endpoint: 405; unknown: 404.
        let bad = call(&base, "POST", "/portal/api/signin/finish", Some(&json!({"id": 1})), &[]);
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert_security_headers(&bad, "400");
        assert_eq!(call(&base, "GET", "/portal/api/signin/start", None, &[]).status, 405);
        let missing = call(&base, "GET", "/portal/nothing-here", None, &[]);
        assert_eq!(missing.status, 404);
        assert_security_headers(&missing, "404");

        // A second clinic's admin: their session names their own organization, ours ours.
        let (_, other_token) = invite(dir.path(), &db, OTHER, "Dr. Suzuki", &["--admin"]);
        let mut other_passkey = SoftPasskey::new(&origin, "localhost");
        let other = register(&base, &other_token, &mut other_passkey);
        assert_eq!(other.status, 200, "{}", other.body);
        let them = session(&base, &other.cookie());
        assert_eq!((them.body["organization_id"].as_str(), them.body["role"].as_str()), (Some(OTHER), Some("admin")));
        assert_eq!(session(&base, &cookie2).body["organization_id"], CLINIC);

        // Disable the nurse: the session is dead at once, and the passkey signs in no more (403).
        let (ok, out) = cli(dir.path(), &db, &["staff", "disable", "--id", &nurse_id]);
        assert!(ok, "{out}");
        assert_eq!(session(&base, &cookie2).status, 401, "disabled: the session ended");
        let refused = sign_in(&base, &mut passkey);
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(session(&base, &other.cookie()).status, 200, "the other clinic is untouched");
        let (ok, listed) = cli(dir.path(), &db, &["staff", "list", "--org", CLINIC]);
        assert!(ok && listed.contains(&format!("{nurse_id}\tmember\tdisabled\t{NURSE}")), "{listed}");
        let (ok, out) = cli(dir.path(), &db, &["staff", "disable", "--id", "no-such-staff"]);
        assert!(!ok && out.contains("no staff member"), "{out}");
        let (ok, out) = cli(dir.path(), &db, &["staff", "invite", "--org", "no-such-org", "--name", "X"]);
        assert!(!ok && out.contains("no organization"), "{out}");

        // The operator's log: every step, in order; it verifies.
        let nurse = format!("staff:{nurse_id}");
        let log = operator_log(dir.path(), &db);
        let actions: Vec<(&str, &str)> =
            log.iter().filter(|(actor, _, _)| *actor == nurse).map(|(_, a, o)| (a.as_str(), o.as_str())).collect();
        assert_eq!(
            actions,
            vec![
                ("staff_passkey_registered", "denied"),
                ("staff_passkey_registered", "success"),
                ("staff_signed_in", "success"),
                ("staff_passkey_registered", "denied"),
                ("staff_signed_out", "success"),
                ("staff_signed_in", "success"),
                ("staff_signed_in", "success"),
                ("staff_sign_in_refused", "denied"),
                ("staff_sign_in_refused", "denied"),
                ("staff_sign_in_refused", "denied"),
            ],
            "{log:?}"
        );
        assert!(log.iter().any(|(a, action, _)| a == "operator" && action == "staff_invited"));
        assert!(log.iter().any(|(a, action, _)| a == "operator" && action == "staff_disabled"));
        assert_audit_verifies(Path::new(BIN), dir.path(), &db);

        // No secret and no name in the server's logs.
        let logs = server.logs().join("\n");
        for secret in [token.as_str(), cookie.as_str(), cookie2.as_str(), csrf.as_str(), NURSE] {
            assert!(!logs.contains(secret), "a secret or name in the logs");
        }
    }
}

/// The text of an HTML answer.
fn text(answer: &Answer) -> &str {
    answer.body["text"].as_str().unwrap_or_default()
}

phr_tests::backend_test! {
    fn the_portal_pages_are_html_with_one_external_script_and_html_error_pages(db) {
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let port = base.rsplit(':').next().unwrap().to_owned();
        add_org(dir.path(), &db, CLINIC);
        let (_, token) = invite(dir.path(), &db, CLINIC, "Nurse <Ito> & Co", &[]);

        // The invite page names whom it is for (escaped), carries the token for the script,
        // loads the one script from the server, and has no inline script or style.
        let page = call(&base, "GET", &format!("/portal/invite/{token}"), None, &[]);
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        assert_security_headers(&page, "invite page");
        let html = text(&page);
        assert!(html.contains("Nurse &#60;Ito&#62; &#38; Co") || html.contains("Nurse &lt;Ito&gt; &amp; Co"), "{html}");
        assert!(html.contains(&format!("data-token=\"{token}\"")), "{html}");
        assert!(html.contains(r#"<script src="/portal/assets/passkey.js" defer></script>"#), "{html}");
        assert_eq!(html.matches("<script").count(), 1);
        assert!(!html.contains("style="));

        // The script and style sheet are served by the server itself.
        let js = call(&base, "GET", "/portal/assets/passkey.js", None, &[]);
        assert_eq!((js.status, js.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
        assert!(text(&js).contains("navigator.credentials.create"));
        assert_security_headers(&js, "script");
        let css = call(&base, "GET", "/portal/assets/portal.css", None, &[]);
        assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));

        // Without a session the home page sends the browser to the sign-in page.
        let home = call(&base, "GET", "/portal/", None, &[]);
        assert_eq!((home.status, home.header("location")), (303, Some("/portal/signin")));
        let signin = call(&base, "GET", "/portal/signin", None, &[]);
        assert_eq!(signin.status, 200);
        assert!(text(&signin).contains("id=\"signin\""));

        // Registered and signed in: the home page says who, with the CSRF token for signing out.
        let mut passkey = SoftPasskey::new(&format!("http://localhost:{port}"), "localhost");
        let registered = register(&base, &token, &mut passkey);
        assert_eq!(registered.status, 200, "{}", registered.body);
        let csrf = registered.body["csrf_token"].as_str().unwrap().to_owned();
        let home = call(&base, "GET", "/portal/", None, &[("Cookie", &with_cookie(&registered.cookie()))]);
        assert_eq!(home.status, 200);
        assert!(text(&home).contains(&format!("data-csrf=\"{csrf}\"")));
        assert!(text(&home).contains(CLINIC));

        // The used invite, an unknown one and an unknown page: HTML error pages with their status.
        for (path, status) in [
            (format!("/portal/invite/{token}"), 410),
            (format!("/portal/invite/{}", "y".repeat(43)), 404),
            ("/portal/no-such-page".to_owned(), 404),
        ] {
            let answer = call(&base, "GET", &path, None, &[]);
            assert_eq!(answer.status, status, "{path}");
            assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
            assert!(text(&answer).contains("<h1>"), "{path}");
            assert_security_headers(&answer, &path);
        }
        // Under /portal/api an unknown path is still a problem document.
        let api = call(&base, "GET", "/portal/api/nothing", None, &[]);
        assert_eq!((api.status, api.header("content-type")), (404, Some("application/problem+json")));
    }
}

/// Where `.ci/run` installed `tests/browser/package.json` (playwright-core); unset: skipped.
const BROWSER_DIR_ENV: &str = "PHR_PORTAL_BROWSER_DIR";

phr_tests::backend_test! {
    fn a_nurse_registers_signs_out_and_signs_in_with_a_passkey_in_chromium(db) {
        let Some(browser_dir) = std::env::var_os(BROWSER_DIR_ENV) else {
            eprintln!("SKIPPED: set {BROWSER_DIR_ENV} to a directory with playwright-core installed (see .ci/run)");
            return;
        };
        let chromium = std::env::var("PHR_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        // A one-minute idle limit: the SQLite run waits it out at the end (session expiry).
        let (dir, server) = start_server(Path::new(BIN), &db, &["--portal-idle-minutes", "1"]);
        let port = server.base_url.rsplit(':').next().unwrap().to_owned();
        add_org(dir.path(), &db, CLINIC);
        // An admin, so the staff page is among the pages axe-core checks.
        let (_, token) = invite(dir.path(), &db, CLINIC, NURSE, &["--admin"]);
        let expire = db.url().starts_with("sqlite");
        // A family shares its daughter's record with the clinic, read-write: the nurse finds
        // her, sees her growth charts and enters a checkup, which the family then pulls.
        let (mut family, child, records) = portal::family(&server.base_url, "Family Sentinel", "sentinel-hb-0042");
        let modules = [RecordKind::Newborn, RecordKind::ChildCheckup, RecordKind::Immunization, RecordKind::Development];
        let shared: Vec<Uuid> = records.iter().map(|(_, id)| *id).collect();
        create_grant(&family, &grant_of(CLINIC, &modules, &[child], Access::ReadWrite), &shared);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/portal_passkey.cjs");
        let out = Command::new("node")
            .arg(&script)
            .arg(format!("http://localhost:{port}"))
            .arg(&token)
            .arg(&chromium)
            .arg("sentinel-hb-0042")
            .args(expire.then_some("expire"))
            .env("NODE_PATH", Path::new(&browser_dir).join("node_modules"))
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "browser run failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("a JSON line");
        eprintln!("browser: {result}");
        assert_eq!(result["ok"], true, "{result}");
        assert!(result["registered"].as_str().unwrap().contains(NURSE), "{result}");
        assert!(result["signed_in"].as_str().unwrap().contains(NURSE), "{result}");
        assert_eq!(result["signed_out_status"], 401, "{result}");
        assert_eq!((result["credentials"].as_u64(), result["resident"].as_bool()), (Some(1), Some(true)), "{result}");
        assert_eq!(result["charts"], 4, "weight and length against two references: {result}");
        assert_eq!(result["axe"]["violations"], json!([]), "axe-core: no serious or critical violation on any page");
        assert_eq!(result["axe"]["rules_passed_per_page"].as_array().map(Vec::len), Some(10), "{result}");
        assert!(result["saved"].as_str().unwrap().starts_with("Saved: "), "{result}");
        assert!(result["upload_refused"].as_str().unwrap().contains("One row has a problem"), "{result}");
        assert_eq!(result["upload_commit_offered"], 0, "no commit with a bad row: {result}");
        assert!(result["upload_preview"].as_str().unwrap().contains("One row can be stored"), "{result}");
        assert!(result["upload_stored"].as_str().unwrap().contains("One record was stored"), "{result}");
        if expire {
            assert_eq!(result["expired"], true, "after the idle limit the portal asks to sign in again: {result}");
        }
        assert_eq!(family.pull(), 2, "the checkup entered in the browser and the uploaded one reach the family");
        let mut weights: Vec<f64> = family
            .records
            .iter()
            .filter(|(id, r)| r.kind == RecordKind::ChildCheckup && !shared.contains(id))
            .map(|(id, _)| family.current(id).unwrap()["body"]["weight"]["value"].as_f64().unwrap())
            .collect();
        weights.sort_by(f64::total_cmp);
        assert_eq!(weights, [6.9, 7.2]);
    }
}

phr_tests::backend_test! {
    fn guessing_invites_and_starting_ceremonies_from_one_address_is_limited(db) {
        // One attempt per 1,000 s, a burst of 3: the fourth of each is 429 with Retry-After.
        let (dir, server) = start_server(Path::new(BIN), &db, &["--auth-rate-limit", "0.001", "--auth-rate-burst", "3"]);
        let base = server.base_url.clone();
        for _ in 0..3 {
            assert_eq!(call(&base, "POST", "/portal/api/signin/start", None, &[]).status, 200);
        }
        let limited = call(&base, "POST", "/portal/api/signin/start", None, &[]);
        assert_eq!(limited.status, 429, "{}", limited.body);
        assert!(limited.header("retry-after").is_some());
        assert_security_headers(&limited, "429");

        // Wrong invite tokens are refusals charged to the address: after three, even a valid
        // invite waits (the page as well as the API).
        add_org(dir.path(), &db, CLINIC);
        let (_, token) = invite(dir.path(), &db, CLINIC, NURSE, &[]);
        for _ in 0..3 {
            let guess = call(&base, "GET", &format!("/portal/invite/{}", "g".repeat(43)), None, &[]);
            assert_eq!(guess.status, 404);
        }
        let page = call(&base, "GET", &format!("/portal/invite/{token}"), None, &[]);
        assert_eq!((page.status, page.header("content-type")), (429, Some("text/html; charset=utf-8")));
        assert!(page.header("retry-after").is_some());
        let api = call(&base, "POST", &format!("/portal/api/invites/{token}/register/finish"), Some(&json!({})), &[]);
        assert_eq!(api.status, 400, "a malformed body is refused before any limit: {}", api.body);
    }
}

phr_tests::backend_test! {
    fn an_org_admin_invites_reinvites_and_disables_staff_of_their_own_organization_only(db) {
        use phr_tests::portal::{html, SignedIn};
        let (dir, server) = start_server(Path::new(BIN), &db, &[]);
        let base = server.base_url.clone();
        let bin = Path::new(BIN);
        add_org(dir.path(), &db, CLINIC);
        add_org(dir.path(), &db, OTHER);
        let admin = SignedIn::invite_admin(bin, dir.path(), &db, &base, CLINIC, "Head nurse Sentinel-Abe");
        let nurse = SignedIn::invite_and_register(bin, dir.path(), &db, &base, CLINIC, NURSE);
        let elsewhere = SignedIn::invite_and_register(bin, dir.path(), &db, &base, OTHER, "Nurse Sentinel-Other");
        let en = [("Accept-Language", "en")];

        // A member has no staff page; the admin's lists the organization's staff only.
        assert_eq!(nurse.call(&base, "GET", "/portal/staff", None, &en).status, 403);
        let page = admin.call(&base, "GET", "/portal/staff", None, &en);
        assert_eq!(page.status, 200, "{}", html(&page));
        assert!(html(&page).contains(NURSE) && !html(&page).contains("Sentinel-Other"), "{}", html(&page));
        assert!(html(&page).contains("href=\"/portal/staff\""), "the admin's navigation offers it");

        // Invite a new midwife: the link is shown once and registers a passkey.
        let invited = admin.post_form(&base, "/portal/staff/invite", &[("name", "Midwife Sentinel-Ueda")], true);
        assert_eq!(invited.status, 200, "{}", html(&invited));
        let link_of = |page: &str| {
            let at = page.find("/portal/invite/").expect("an invite link") + "/portal/invite/".len();
            page[at..].split('<').next().unwrap().to_owned()
        };
        let first = link_of(html(&invited));
        // A second invite for her: the first link is dead, the second works.
        let again = admin.post_form(&base, "/portal/staff/invite", &[("name", "Midwife Sentinel-Ueda")], true);
        let second = link_of(html(&again));
        assert_ne!(first, second);
        let dead = call(&base, "POST", &format!("/portal/api/invites/{first}/register/start"), None, &[]);
        assert_eq!(dead.status, 404, "a superseded invite: {}", dead.body);
        let midwife = SignedIn::register(&base, String::new(), &second);
        assert_eq!(session(&base, &midwife.cookie).body["organization_id"], CLINIC);
        // Without the CSRF token, nothing.
        assert_eq!(admin.post_form(&base, "/portal/staff/invite", &[("name", "Nobody")], false).status, 403);
        // A blank name: 422 on the page.
        assert_eq!(admin.post_form(&base, "/portal/staff/invite", &[("name", "  ")], true).status, 422);

        // Disable the nurse: her session dies at once. Not oneself (409), not another clinic's (404).
        let me = session(&base, &admin.cookie).body["staff_id"].as_str().unwrap().to_owned();
        assert_eq!(admin.post_form(&base, &format!("/portal/staff/{me}/disable"), &[], true).status, 409);
        assert_eq!(admin.post_form(&base, &format!("/portal/staff/{}/disable", elsewhere.staff_id), &[], true).status, 404);
        assert_eq!(admin.post_form(&base, &format!("/portal/staff/{}/disable", nurse.staff_id), &[], false).status, 403);
        let disabled = admin.post_form(&base, &format!("/portal/staff/{}/disable", nurse.staff_id), &[], true);
        assert_eq!((disabled.status, disabled.header("location")), (303, Some("/portal/staff")));
        assert_eq!(session(&base, &nurse.cookie).status, 401, "her session ended with the disable");
        assert_eq!(session(&base, &elsewhere.cookie).status, 200, "the other clinic's nurse is untouched");

        // The operator's log names the admin for what she did.
        let log = operator_log(dir.path(), &db);
        let actor = format!("staff:{me}");
        assert_eq!(log.iter().filter(|e| e.0 == actor && e.1 == "staff_invited").count(), 2, "{log:?}");
        assert!(log.iter().any(|e| e.0 == actor && e.1 == "staff_disabled"), "{log:?}");
        assert_audit_verifies(bin, dir.path(), &db);
        assert!(!server.logs().join("\n").contains("Sentinel"), "no name in the server log");
    }
}

phr_tests::backend_test! {
    fn behind_a_trusted_balancer_each_forwarded_client_has_its_own_limit_and_no_one_else_can_choose_one(db) {
        let limits = ["--auth-rate-limit", "0.001", "--auth-rate-burst", "2"];
        let start = |base: &str, forwarded: &str| {
            call(base, "POST", "/portal/api/signin/start", None, &[("X-Forwarded-For", forwarded)]).status
        };
        // The balancer is this loopback address: each client it forwards has its own bucket,
        // and an address the client wrote itself (left of the balancer's) changes nothing.
        let (_dir, server) = start_server(Path::new(BIN), &db, &[&limits[..], &["--trusted-proxies", "127.0.0.1"]].concat());
        let base = server.base_url.clone();
        assert_eq!([start(&base, "203.0.113.7"), start(&base, "203.0.113.7")], [200, 200]);
        assert_eq!(start(&base, "203.0.113.7"), 429, "the third start from one forwarded client");
        assert_eq!(start(&base, "198.51.100.9, 203.0.113.7"), 429, "a spoofed hop left of it is not believed");
        assert_eq!(start(&base, "203.0.113.8"), 200, "another client has its own bucket");
        drop(server);

        // Without --trusted-proxies, X-Forwarded-For is never read: one peer, one bucket.
        let (_dir, server) = start_server(Path::new(BIN), &db, &limits);
        let base = server.base_url.clone();
        assert_eq!([start(&base, "203.0.113.1"), start(&base, "203.0.113.2")], [200, 200]);
        assert_eq!(start(&base, "203.0.113.3"), 429, "the forwarded addresses are ignored");
    }
}
