//! Municipal notices end to end (SQLite, and PostgreSQL when `PHR_TEST_POSTGRES_URL` is set):
//! a city registered as a municipality gets a SMART Backend Services token with
//! `notices.write`, publishes a notice for mothers at 20–27 weeks, edits it (with `If-Match`)
//! and withdraws it; the public feed serves it to anyone without credentials, with an `ETag`
//! that answers `If-None-Match` with 304 and changes with every edit. A clinic cannot
//! publish, another town cannot touch the city's notice (the same 404 as an unknown id),
//! HTML is refused; every action and refusal is in the operator's audit log, which
//! verifies; and no notice text reaches the server's logs.

use std::path::Path;
use std::process::Command;

use phr_tests::fhir::OrgClient;
use phr_tests::{assert_audit_verifies, http, start_server, TestDatabase};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const CITY: &str = "city-minato";
const TOWN: &str = "town-okutama";
const CLINIC: &str = "day-clinic";
const TITLE: &str = "sentinel-title 妊婦歯科健診のご案内";
const BODY: &str = "sentinel-body 妊娠20〜27週の方は無料で歯科健診を受けられます。\n受診票をお持ちください。";

/// A notice valid from a month ago for a year (the feed lists only unexpired notices).
fn draft(title: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    json!({
        "title": title,
        "body": BODY,
        "link": "https://www.city.minato.example.lg.jp/dental",
        "language": "ja",
        "valid_from": (today - chrono::Days::new(30)).to_string(),
        "valid_until": (today + chrono::Days::new(365)).to_string(),
        "target": {"pregnancy_weeks": {"from": 20, "to": 27}},
    })
}

/// The public feed with optional `If-None-Match`: (status, ETag, Cache-Control, allow-origin, body).
fn feed(base: &str, municipality: &str, if_none_match: Option<&str>) -> (u16, Option<String>, String, String, String) {
    let mut req = http().get(format!("{base}/notices/v1/municipalities/{municipality}/feed"));
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    let mut resp = req.call().expect("feed request");
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (etag, cache, origin) =
        (header("etag"), header("cache-control").unwrap_or_default(), header("access-control-allow-origin"));
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    (status, etag, cache, origin.unwrap_or_default(), body)
}

fn municipality(db: &TestDatabase, dir: &Path, base: &str, id: &str) -> OrgClient {
    OrgClient::register_kind(
        BIN.as_ref(),
        &[],
        dir,
        &db.url(),
        base,
        id,
        "system/Immunization.rs notices.write",
        "municipality",
    )
}

/// The operator log as `phr-server audit operator` prints it: (actor, action, target, outcome).
fn operator_log(dir: &Path, db: &TestDatabase) -> Vec<(String, String, String, String)> {
    let out = Command::new(BIN)
        .args(["audit", "operator", "--data-dir"])
        .arg(dir)
        .args(["--database-url", &db.url()])
        .env_remove("PHR_DATABASE_URL")
        .output()
        .expect("run audit operator");
    assert!(out.status.success(), "audit operator: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let e: Value = serde_json::from_str(line).expect("a JSON line");
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (field("actor"), field("action"), field("target"), field("outcome"))
        })
        .collect()
}

phr_tests::backend_test! {
    fn a_city_publishes_edits_and_withdraws_a_notice_served_by_a_public_cacheable_feed_and_audited(db) {
        // A small body limit, so that an oversized draft is cheap to send.
        let (dir, server) = start_server(Path::new(BIN), &db, &["--max-body-bytes", "65536"]);
        let base = server.base_url.clone();
        let city = municipality(&db, dir.path(), &base, CITY);
        let town = municipality(&db, dir.path(), &base, TOWN);
        let clinic = OrgClient::register(BIN.as_ref(), dir.path(), &db.url(), &base, CLINIC, "system/*.rs notices.write");

        // The feed of a city that has published nothing: an empty list, cacheable, any origin.
        let (status, empty_tag, cache, origin, body) = feed(&base, CITY, None);
        assert_eq!(status, 200, "{body}");
        assert_eq!((cache.as_str(), origin.as_str()), ("public, max-age=300", "*"));
        let empty: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((empty["municipality"].as_str(), empty["name"].as_str()), (Some(CITY), Some(CITY)));
        assert_eq!(empty["notices"], json!([]));

        // Publish: 201 with Location and ETag.
        let (status, etag, published) = city.call_json(&city.token, "POST", "/notices/v1/notices", Some(&draft(TITLE)), &[]);
        assert_eq!(status, 201, "{published}");
        assert_eq!(etag.as_deref(), Some("\"1\""));
        let id = published["id"].as_str().unwrap().to_owned();
        assert_eq!((published["version"].as_u64(), published["municipality"].as_str()), (Some(1), Some(CITY)));
        assert_eq!(published["target"]["pregnancy_weeks"], json!({"from": 20, "to": 27}));
        let path = format!("/notices/v1/notices/{id}");

        // The public feed lists it; the same ETag back is 304 with no body; the old one is 200.
        let (status, tag, _, _, body) = feed(&base, CITY, None);
        assert_eq!(status, 200);
        let listed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(listed["notices"][0]["id"], id.as_str());
        assert_eq!(listed["notices"][0]["title"], TITLE);
        let tag = tag.expect("the feed has an ETag");
        assert_ne!(Some(&tag), empty_tag.as_ref());
        let (status, again, _, _, body) = feed(&base, CITY, Some(&tag));
        assert_eq!((status, again.as_ref(), body.as_str()), (304, Some(&tag), ""));
        assert_eq!(feed(&base, CITY, Some(&format!("W/{tag}"))).0, 304, "weak comparison");
        assert_eq!(feed(&base, CITY, empty_tag.as_deref()).0, 200);
        let mut head = http().head(format!("{base}/notices/v1/municipalities/{CITY}/feed")).call().expect("HEAD");
        assert_eq!(head.status().as_u16(), 200);
        assert_eq!(head.headers().get("etag").and_then(|v| v.to_str().ok()), Some(tag.as_str()));
        assert_eq!(head.body_mut().read_to_string().unwrap_or_default(), "");

        // Bad drafts change nothing: HTML (422 naming the field), an unknown field (400).
        let mut html = draft("<b>Free</b> checkups");
        html["body"] = json!("See <a href=\"x\">here</a> &amp; more");
        let (status, _, problem) = city.call_json(&city.token, "POST", "/notices/v1/notices", Some(&html), &[]);
        assert_eq!(status, 422, "{problem}");
        assert!(problem.to_string().contains("plain text"), "{problem}");
        let mut extra = draft(TITLE);
        extra["audience_html"] = json!("x");
        assert_eq!(city.call_json(&city.token, "POST", "/notices/v1/notices", Some(&extra), &[]).0, 400);
        // No token: 401. A clinic asked for notices.write but was not granted it: 403.
        assert_eq!(city.call_json("", "POST", "/notices/v1/notices", Some(&draft(TITLE)), &[]).0, 401);
        let (status, _, refused) = clinic.call_json(&clinic.token, "POST", "/notices/v1/notices", Some(&draft(TITLE)), &[]);
        assert_eq!(status, 403, "{refused}");
        // A draft over the body limit: 413 with a problem body.
        let mut oversized = draft(TITLE);
        oversized["body"] = json!("x".repeat(70_000));
        let (status, _, too_big) = city.call_json(&city.token, "POST", "/notices/v1/notices", Some(&oversized), &[]);
        assert_eq!(status, 413, "{too_big}");
        assert!(too_big["detail"].is_string(), "{too_big}");
        // None of the refused publications was stored: the city's own list holds the one notice.
        let (status, _, mine) = city.call_json(&city.token, "GET", "/notices/v1/notices", None, &[]);
        assert_eq!(status, 200);
        let ids: Vec<&str> = mine["notices"].as_array().unwrap().iter().filter_map(|n| n["id"].as_str()).collect();
        assert_eq!(ids, vec![id.as_str()], "{mine}");
        // Another town: the city's notice is the same 404 as an unknown one, for reads and writes.
        let unknown = format!("/notices/v1/notices/{}", uuid::Uuid::new_v4());
        let (status, _, not_its) = town.call_json(&town.token, "PUT", &path, Some(&draft("taken over")), &[]);
        let (status_unknown, _, not_any) = town.call_json(&town.token, "PUT", &unknown, Some(&draft("x")), &[]);
        assert_eq!((status, status_unknown), (404, 404));
        assert_eq!(not_its["detail"], not_any["detail"]);
        assert_eq!(town.call_json(&town.token, "DELETE", &path, None, &[]).0, 404);
        assert_eq!(town.call_json(&town.token, "GET", &path, None, &[]).0, 404);
        assert_eq!(town.call_json(&town.token, "GET", "/notices/v1/notices/not-a-uuid", None, &[]).0, 404);

        // Edit with If-Match: version 2; a stale If-Match is 412 and changes nothing.
        let edited_title = "sentinel-title 妊婦歯科健診（日程を追加しました）";
        let (status, etag, edited) =
            city.call_json(&city.token, "PUT", &path, Some(&draft(edited_title)), &[("If-Match", "\"1\"")]);
        assert_eq!((status, etag.as_deref()), (200, Some("\"2\"")), "{edited}");
        assert_eq!((edited["version"].as_u64(), edited["title"].as_str()), (Some(2), Some(edited_title)));
        let (status, _, stale) = city.call_json(&city.token, "PUT", &path, Some(&draft("stale")), &[("If-Match", "\"1\"")]);
        assert_eq!(status, 412, "{stale}");
        let (status, etag, own) = city.call_json(&city.token, "GET", &path, None, &[]);
        assert_eq!((status, etag.as_deref(), own["title"].as_str()), (200, Some("\"2\""), Some(edited_title)));
        let (status, _, _, _, body) = feed(&base, CITY, Some(&tag));
        assert_eq!(status, 200, "the edit changed the feed's ETag");
        assert!(body.contains(edited_title));

        // Withdraw: 204, again 204; gone from the feed at once; a withdrawn notice is not edited.
        assert_eq!(city.call_json(&city.token, "DELETE", &path, None, &[]).0, 204);
        assert_eq!(city.call_json(&city.token, "DELETE", &path, None, &[]).0, 204);
        let (_, _, _, _, body) = feed(&base, CITY, None);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["notices"], json!([]));
        assert_eq!(city.call_json(&city.token, "PUT", &path, Some(&draft(TITLE)), &[]).0, 409);
        let (status, _, mine) = city.call_json(&city.token, "GET", "/notices/v1/notices", None, &[]);
        assert_eq!(status, 200);
        assert!(mine["notices"][0]["withdrawn_at"].is_string(), "{mine}");

        // Feeds of a clinic or of nobody: 404 with a problem body.
        for other in [CLINIC, "nobody-here", "Not_An_Id!"] {
            let (status, _, _, origin, body) = feed(&base, other, None);
            assert_eq!((status, origin.as_str()), (404, "*"), "{other}");
            assert!(serde_json::from_str::<Value>(&body).unwrap()["detail"].is_string());
        }
        // Other methods on the feed: 405 with a problem body.
        let (status, _, body) = city.call_json("", "POST", &format!("/notices/v1/municipalities/{CITY}/feed"), Some(&json!({})), &[]);
        assert_eq!(status, 405, "{body}");

        // The operator's log: every action and refusal, by whom, on which notice; it verifies.
        let city_actor = format!("organization:{CITY}");
        let town_actor = format!("organization:{TOWN}");
        let log = operator_log(dir.path(), &db);
        let row = |actor: &str, action: &str, target: &str, outcome: &str| {
            (actor.to_owned(), action.to_owned(), target.to_owned(), outcome.to_owned())
        };
        assert_eq!(
            log,
            vec![
                row(&city_actor, "notice_published", &id, "success"),
                row(&format!("organization:{CLINIC}"), "notice_published", "-", "denied"),
                row(&town_actor, "notice_edited", &id, "denied"),
                row(&town_actor, "notice_edited", "-", "denied"),
                row(&town_actor, "notice_withdrawn", &id, "denied"),
                row(&city_actor, "notice_edited", &id, "success"),
                row(&city_actor, "notice_withdrawn", &id, "success"),
            ]
        );
        assert_audit_verifies(BIN.as_ref(), dir.path(), &db);

        // The server's logs never hold a notice's text.
        let logs = server.logs().join("\n");
        assert!(!logs.contains("sentinel-"), "notice text in the server log");
    }
}
