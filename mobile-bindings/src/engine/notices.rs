//! Municipal notices on the device: the municipalities the family follows, their public
//! feeds (fetched with `If-None-Match`, kept for offline use), and which notices concern the
//! family today — decided here from the family's own records (`phr_core::notices::applies`),
//! never on the server.
//!
//! A feed request carries **no account data**: no token, no device or account id, no
//! cookie; only the municipality's id in the path and the feed's last `ETag`. What the family
//! follows and the feeds it fetched live in the local store's `meta` table (erased with
//! everything else when the device leaves the account).

use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::consent::OrganizationId;
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{Newborn, Pregnancy, RecordKind, Subject};
use phr_core::i18n::text;
use phr_core::notices::{self, FamilyMember, Matched, NoticeFeed, NoticeMatch};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::records::modules;
use super::store;
use super::transport::{Request, Transport, DEFAULT_TIMEOUT_MS};

/// The `meta` entry listing the municipalities followed (JSON array of ids).
const FOLLOWED_META: &str = "notices.followed";
/// The most municipalities a family follows (home, a parent's workplace, grandparents').
pub const MAX_FOLLOWED: usize = 20;
/// The largest feed read, in bytes (200 notices of the largest size fit).
pub const MAX_FEED_BYTES: usize = 4 * 1024 * 1024;

/// The `meta` entry of a municipality's cached feed.
fn feed_meta(municipality: &str) -> String {
    format!("notices.feed.{municipality}")
}

/// A feed as fetched, with its entity tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedFeed {
    etag: Option<String>,
    feed: NoticeFeed,
}

/// One municipality whose feed could not be refreshed (its last copy, if any, is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFeedFailure {
    pub municipality: String,
    pub reason: String,
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoticeRefresh {
    /// Feeds that changed and were stored.
    pub updated: u32,
    /// Feeds the server said were unchanged (304).
    pub unchanged: u32,
    /// Feeds that could not be fetched.
    pub failed: Vec<NoticeFeedFailure>,
}

/// A notice that concerns the family today, for the app to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeView {
    pub notice_id: String,
    pub municipality: String,
    /// The municipality's display name.
    pub municipality_name: String,
    pub title: String,
    /// Plain text; lines separated by `\n`.
    pub body: String,
    pub link: Option<String>,
    /// The language the municipality wrote it in (BCP 47).
    pub language: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub updated_at: String,
    /// Whom of the family it concerns (`mother`, `child:<uuid>`); empty: a notice to every family.
    pub subjects: Vec<String>,
    /// Why it is shown, in the language asked for ("For mothers at 24 weeks of pregnancy").
    pub reason: String,
}

/// The municipalities followed, in the order they were followed.
pub fn followed(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    match store::meta_get(conn, FOLLOWED_META)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(format!("the followed list: {e}"))),
    }
}

fn set_followed(conn: &mut SqliteConnection, ids: &[String]) -> Result<()> {
    let bytes = serde_json::to_vec(ids).map_err(|e| Error::encoding("the followed list", e))?;
    store::meta_set(conn, FOLLOWED_META, &bytes)
}

fn checked_id(municipality: &str) -> Result<String> {
    OrganizationId::new(municipality.trim())
        .map(|id| id.as_str().to_owned())
        .map_err(|_| Error::invalid("municipality", "must be an organization id (1–64 of a-z, 0-9, '.', '_', '-')"))
}

/// Follows a municipality (following it again changes nothing). Its feed is fetched at the
/// next [`refresh`].
pub fn follow(conn: &mut SqliteConnection, municipality: &str) -> Result<Vec<String>> {
    let id = checked_id(municipality)?;
    let mut ids = followed(conn)?;
    if !ids.contains(&id) {
        if ids.len() >= MAX_FOLLOWED {
            return Err(Error::invalid("municipality", format!("at most {MAX_FOLLOWED} municipalities are followed")));
        }
        ids.push(id);
        set_followed(conn, &ids)?;
    }
    Ok(ids)
}

/// Stops following a municipality and forgets its feed.
pub fn unfollow(conn: &mut SqliteConnection, municipality: &str) -> Result<Vec<String>> {
    let id = checked_id(municipality)?;
    let mut ids = followed(conn)?;
    ids.retain(|i| *i != id);
    set_followed(conn, &ids)?;
    store::meta_delete(conn, &feed_meta(&id))?;
    Ok(ids)
}

fn cached(conn: &mut SqliteConnection, municipality: &str) -> Result<Option<CachedFeed>> {
    match store::meta_get(conn, &feed_meta(municipality))? {
        None => Ok(None),
        // An unreadable cache (an older app version's) is refetched, not an error.
        Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
    }
}

/// Fetches the feed of every municipality followed from `server_url`, asking with the last
/// `ETag` so an unchanged feed costs a 304. A feed that cannot be fetched keeps its last
/// copy (offline); a municipality the server no longer knows (404) loses it.
pub fn refresh(conn: &mut SqliteConnection, server_url: &str, transport: &dyn Transport) -> Result<NoticeRefresh> {
    let mut report = NoticeRefresh::default();
    for id in followed(conn)? {
        let previous = cached(conn, &id)?;
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        if let Some(etag) = previous.as_ref().and_then(|c| c.etag.clone()) {
            headers.push(("If-None-Match".to_owned(), etag));
        }
        let request = Request {
            method: "GET".into(),
            url: format!("{server_url}/notices/v1/municipalities/{id}/feed"),
            headers,
            body: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
        };
        let fail = |reason: String| NoticeFeedFailure { municipality: id.clone(), reason };
        match transport.send(request) {
            Err(reason) => report.failed.push(fail(format!("no answer: {reason}"))),
            Ok(r) if r.status == 304 && previous.is_some() => report.unchanged += 1,
            Ok(r) if r.status == 200 => match read_feed(&id, &r.body) {
                Ok(feed) => {
                    let entry = CachedFeed { etag: r.header("ETag").map(str::to_owned), feed };
                    let bytes = serde_json::to_vec(&entry).map_err(|e| Error::encoding("a notice feed", e))?;
                    store::meta_set(conn, &feed_meta(&id), &bytes)?;
                    report.updated += 1;
                }
                Err(reason) => report.failed.push(fail(reason)),
            },
            Ok(r) if r.status == 404 => {
                store::meta_delete(conn, &feed_meta(&id))?;
                report.failed.push(fail("the server knows no municipality with this id that publishes notices".into()));
            }
            Ok(r) => report.failed.push(fail(format!("HTTP {}", r.status))),
        }
    }
    Ok(report)
}

/// A fetched feed, checked: it is the municipality's, and only notices that pass the content
/// rules are kept (the server enforces them too; the app shows nothing it would refuse).
fn read_feed(municipality: &str, body: &[u8]) -> std::result::Result<NoticeFeed, String> {
    if body.len() > MAX_FEED_BYTES {
        return Err(format!("the feed is larger than {MAX_FEED_BYTES} bytes"));
    }
    let mut feed: NoticeFeed = serde_json::from_slice(body).map_err(|e| format!("the feed does not read: {e}"))?;
    if feed.municipality.as_str() != municipality {
        return Err("the feed is another municipality's".into());
    }
    feed.notices.retain(|n| n.municipality == feed.municipality && n.content.validate().is_ok());
    Ok(feed)
}

/// The family as the notices' targets see it on `today`: the mother if a pregnancy is
/// ongoing (its completed week), and each child with a newborn record (completed months).
fn family(conn: &mut SqliteConnection, keys: &RecordKeys, today: NaiveDate) -> Result<Vec<FamilyMember>> {
    let mut members = Vec::new();
    let weeks = modules::<Pregnancy>(conn, keys, &Subject::Mother)?
        .into_iter()
        .filter(|(_, p)| p.status == PregnancyStatus::Ongoing)
        .filter_map(|(_, p)| p.gestational_age_on(today))
        .map(|ga| u32::from(ga.weeks))
        .max();
    if let Some(week) = weeks {
        members.push(FamilyMember::PregnantMother { week });
    }
    for row in store::live_of_kind_any_subject(conn, RecordKind::Newborn.as_str())? {
        let (_, subject) = row.kind_subject()?;
        if let Some(newborn) = keys.winner(&row)?.and_then(|body| Newborn::try_from(body).ok()) {
            if let Some(months) = notices::age_in_completed_months(newborn.birth_date, today) {
                members.push(FamilyMember::Child { subject, months });
            }
        }
    }
    Ok(members)
}

/// Why a notice is shown, in `language`.
fn reason(language: &str, matches: &[NoticeMatch]) -> String {
    let parts: Vec<String> = matches
        .iter()
        .map(|m| match m.matched {
            None => text(language, "notice-for-everyone", &[]),
            Some(Matched::PregnancyWeek(week)) => text(language, "notice-for-pregnancy", &[("week", week.to_string())]),
            Some(Matched::ChildAgeMonths(months)) => {
                text(language, "notice-for-child", &[("months", months.to_string())])
            }
        })
        .collect();
    parts.join(" / ")
}

/// The notices of the municipalities followed that concern the family on `today`, from the
/// last feeds fetched: those in `language` first, then the newest first.
pub fn for_family(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    today: NaiveDate,
    language: &str,
) -> Result<Vec<NoticeView>> {
    let members = family(conn, keys, today)?;
    let primary = |tag: &str| tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase();
    let wanted = primary(language);
    let mut views = Vec::new();
    for id in followed(conn)? {
        let Some(CachedFeed { feed, .. }) = cached(conn, &id)? else { continue };
        for notice in feed.notices {
            let matches = notices::applies(&notice.content, &members, today);
            if matches.is_empty() {
                continue;
            }
            let content = notice.content;
            views.push(NoticeView {
                notice_id: notice.id.to_string(),
                municipality: feed.municipality.as_str().to_owned(),
                municipality_name: feed.name.clone(),
                reason: reason(language, &matches),
                subjects: matches.iter().filter_map(|m| m.subject.as_ref().map(Subject::to_string)).collect(),
                title: content.title,
                body: content.body,
                link: content.link,
                language: content.language,
                valid_from: content.valid_from,
                valid_until: content.valid_until,
                updated_at: notice.updated_at,
            });
        }
    }
    // In the language asked for first, then the newest, then by id (a stable order).
    views.sort_by_cached_key(|v| {
        (
            std::cmp::Reverse(primary(&v.language) == wanted),
            std::cmp::Reverse(v.updated_at.clone()),
            v.notice_id.clone(),
        )
    });
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::transport::Response;
    use std::sync::Mutex;

    /// Answers from a list, remembering the requests.
    struct Script {
        answers: Mutex<Vec<std::result::Result<Response, String>>>,
        seen: Mutex<Vec<Request>>,
    }

    impl Transport for Script {
        fn send(&self, request: Request) -> std::result::Result<Response, String> {
            self.seen.lock().unwrap().push(request);
            self.answers.lock().unwrap().remove(0)
        }
    }

    fn feed_json(municipality: &str, title: &str) -> Vec<u8> {
        serde_json::json!({
            "municipality": municipality, "name": "Minato City",
            "notices": [{
                "id": "00000000-0000-0000-0000-000000000001", "municipality": municipality, "version": 1,
                "published_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z",
                "title": title, "body": "b", "language": "ja",
                "valid_from": "2026-12-01", "valid_until": "2027-03-31",
                "target": {"pregnancy_weeks": {"from": 20, "to": 27}}
            }]
        })
        .to_string()
        .into_bytes()
    }

    fn store() -> (tempfile::TempDir, SqliteConnection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(dir.path().join("s.db").to_str().unwrap()).unwrap();
        (dir, conn)
    }

    #[test]
    fn feeds_are_fetched_without_credentials_and_then_with_their_etag_and_kept_when_offline() {
        let (_dir, mut conn) = store();
        follow(&mut conn, "city-minato").unwrap();
        let ok = Response {
            status: 200,
            body: feed_json("city-minato", "t"),
            headers: vec![("ETag".into(), "\"abc\"".into())],
        };
        let script = Script {
            answers: Mutex::new(vec![
                Ok(ok),
                Ok(Response { status: 304, ..Default::default() }),
                Err("offline".into()),
            ]),
            seen: Mutex::new(Vec::new()),
        };
        assert_eq!(refresh(&mut conn, "https://phr.example", &script).unwrap().updated, 1);
        assert_eq!(refresh(&mut conn, "https://phr.example", &script).unwrap().unchanged, 1);
        let offline = refresh(&mut conn, "https://phr.example", &script).unwrap();
        assert_eq!(offline.failed.len(), 1);
        assert!(cached(&mut conn, "city-minato").unwrap().is_some(), "the last copy is kept");
        let seen = script.seen.lock().unwrap();
        assert_eq!(seen[0].url, "https://phr.example/notices/v1/municipalities/city-minato/feed");
        for request in seen.iter() {
            assert!(request.headers.iter().all(|(n, _)| !n.eq_ignore_ascii_case("authorization")));
            assert!(request.body.is_empty());
        }
        assert!(!seen[0].headers.iter().any(|(n, _)| n == "If-None-Match"));
        assert!(seen[1].headers.contains(&("If-None-Match".into(), "\"abc\"".into())));
    }

    #[test]
    fn a_feed_of_another_municipality_or_with_markup_is_not_shown() {
        assert!(read_feed("city-minato", &feed_json("town-x", "t")).is_err());
        let feed = read_feed("city-minato", &feed_json("city-minato", "<b>t</b>")).unwrap();
        assert!(feed.notices.is_empty(), "a notice the rules refuse is dropped");
    }

    #[test]
    fn following_checks_the_id_keeps_order_and_unfollowing_forgets_the_feed() {
        let (_dir, mut conn) = store();
        assert!(follow(&mut conn, "City Hall!").is_err());
        follow(&mut conn, "city-a").unwrap();
        follow(&mut conn, "city-b").unwrap();
        assert_eq!(follow(&mut conn, "city-a").unwrap(), vec!["city-a", "city-b"]);
        store::meta_set(&mut conn, &feed_meta("city-a"), b"{}").unwrap();
        assert_eq!(unfollow(&mut conn, "city-a").unwrap(), vec!["city-b"]);
        assert!(store::meta_get(&mut conn, &feed_meta("city-a")).unwrap().is_none());
    }
}
