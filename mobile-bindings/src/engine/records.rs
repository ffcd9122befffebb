//! Records on the device: parsing and validating bodies (phr-core, with what
//! the store knows about the subject), local versions, and the views the app
//! lists (timelines, a record's history).

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::crypto::DataKey;
use phr_core::dataset::{DatasetModule, Pregnancy, RecordBody, RecordKind, Subject, Validate, ValidationContext};
use phr_core::sync::record_envelope::BodyHistory;
use phr_core::sync::{Change, RecordVersion};
use uuid::Uuid;

use super::account::{save_clock, Account};
use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::store::{self, RecordRow};

/// One live record on a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub record_id: String,
    pub kind: RecordKind,
    pub subject: String,
    pub effective_date: Option<NaiveDate>,
    /// The winning version.
    pub body: RecordBody,
    pub version_count: u32,
    pub has_conflicts: bool,
    pub pending: bool,
}

/// One page of a timeline ([`timeline_page`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePage {
    pub entries: Vec<TimelineEntry>,
    /// Where the next page starts (pass it back as `page`); `None` on the last page.
    pub next_page: Option<String>,
}

/// The most entries one timeline page may ask for.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// One version of a record's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVersionView {
    pub device_id: String,
    pub hlc: String,
    pub base_version: u64,
    pub deleted: bool,
    /// The content of an edit; `None` for a deletion.
    pub body: Option<RecordBody>,
    pub winner: bool,
}

pub fn parse_record_id(record_id: &str) -> Result<Uuid> {
    Uuid::parse_str(record_id).map_err(|_| Error::invalid("record_id", "not a UUID"))
}

pub fn parse_subject(subject: &str) -> Result<Subject> {
    Subject::from_str(subject).map_err(|e| Error::invalid("subject", e.to_string()))
}

/// A record body from its JSON form (`{"kind": "prenatal_visit", "body":
/// {...}}`, as phr-core serializes it): for apps that import records, never
/// for the typed API.
pub fn body_from_json(json: &str) -> Result<RecordBody> {
    serde_json::from_str(json).map_err(|e| Error::invalid("body", e.to_string()))
}

/// A record body's JSON form (the inverse of [`body_from_json`]).
pub fn body_to_json(body: &RecordBody) -> Result<String> {
    serde_json::to_string(body).map_err(|e| Error::encoding("a record body", e))
}

/// Checks that a body's kind may be about `subject`.
fn check_subject(subject: &Subject, body: &RecordBody) -> Result<()> {
    if !body.kind().subjects().admits(subject) {
        return Err(Error::invalid("subject", format!("{} records cannot be about {subject}", body.kind())));
    }
    if let Some((field, reason)) = body.subject_problem(subject) {
        return Err(Error::invalid(field, reason));
    }
    Ok(())
}

/// Validates a body with phr-core against `today` (by trusted time, see
/// [`Account::today`]) and what the store knows about its subject (see
/// [`context_facts`]).
fn check_body(
    body: &RecordBody,
    today: NaiveDate,
    pregnancy: Option<&Pregnancy>,
    birth_date: Option<NaiveDate>,
) -> Result<()> {
    let mut ctx = ValidationContext::new(today);
    if let Some(p) = pregnancy {
        ctx = ctx.with_pregnancy(p);
    }
    if let Some(d) = birth_date {
        ctx = ctx.with_birth_date(d);
    }
    Ok(body.validate(&ctx)?)
}

/// What validation may check a new version of a `kind` record about
/// `subject` against: the mother's pregnancy (for prenatal visits and the
/// delivery) when she has exactly one live pregnancy record, and a child's
/// birth date from its one live newborn record. `editing`: the record being
/// edited, never its own context. With several candidates nothing is
/// assumed (a visit cannot be tied to a pregnancy yet).
fn context_facts(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &Subject,
    kind: RecordKind,
    editing: Option<&str>,
) -> Result<(Option<Pregnancy>, Option<NaiveDate>)> {
    let (source, wanted) = match (subject, kind) {
        (Subject::Mother, RecordKind::PrenatalVisit | RecordKind::Delivery) => (RecordKind::Pregnancy, true),
        (Subject::Child(_), _) => (RecordKind::Newborn, true),
        _ => (kind, false),
    };
    if !wanted {
        return Ok((None, None));
    }
    // Two rows are enough to know there is not exactly one.
    let rows = store::live_of_kind(conn, &subject.to_string(), source.as_str(), editing, 2)?;
    let [row] = rows.as_slice() else {
        return Ok((None, None));
    };
    Ok(match keys.winner(row)? {
        Some(RecordBody::Pregnancy(p)) => (Some(p), None),
        Some(RecordBody::Newborn(n)) => (None, Some(n.birth_date)),
        _ => (None, None),
    })
}

/// Validates a body for a new version of a record about `subject`.
fn validate_body(
    conn: &mut SqliteConnection,
    account: &Account,
    subject: &Subject,
    body: &RecordBody,
    editing: Option<&str>,
) -> Result<()> {
    check_subject(subject, body)?;
    let (pregnancy, birth_date) = context_facts(conn, &account.keys, subject, body.kind(), editing)?;
    check_body(body, account.today(), pregnancy.as_ref(), birth_date)
}

/// Adds a local version to a record (new, or `existing` as stored), folds the
/// versions the merge rule no longer needs, and marks it pending, in one
/// transaction with the clock. Refuses ([`Error::RecordTooLarge`], nothing
/// saved) a version that would make the record too big for the server to
/// accept ([`store::sync_limits`]): it could never sync.
fn local_change(
    conn: &mut SqliteConnection,
    account: &mut Account,
    record_id: Uuid,
    kind: RecordKind,
    subject: Subject,
    change: Change<RecordBody>,
    existing: Option<&RecordRow>,
) -> Result<()> {
    let (dek, mut history, base_version, local_rev) = match existing {
        Some(row) => (account.keys.dek(row)?, account.keys.history(row)?, row.base_version()?, row.local_rev),
        None => (DataKey::generate(), BodyHistory::new(), 0, 0),
    };
    let clock_before = account.clock;
    let stamp = account.stamp(history.latest_stamp().map(|s| &s.hlc))?;
    history.merge(RecordVersion { stamp, base_version, change });
    let folded = history.compact();
    let row = account.keys.seal_row(record_id, kind, subject, &dek, &history, base_version, true, local_rev + 1)?;
    let limits = store::sync_limits(conn)?;
    let size = sealed_size_to_sync(&row);
    if size > limits.max_envelope_bytes || push_bytes_of(size) > limits.max_request_bytes {
        account.clock = clock_before;
        return Err(Error::RecordTooLarge { size, limit: limits.max_envelope_bytes });
    }
    let clock = account.clock;
    conn.immediate_transaction::<_, Error, _>(|conn| {
        store::record_put(conn, &row)?;
        store::folded_add(conn, &row.record_id, folded)?;
        save_clock(conn, &clock)
    })
}

/// The size of the envelope a row syncs as: the same history sealed under
/// the same key, so the same length as the local seal.
pub fn sealed_size_to_sync(row: &RecordRow) -> u64 {
    row.sealed_local.len() as u64
}

/// A generous estimate of the bytes one change of a sealed record of `size`
/// bytes adds to a push request (base64 and the change's other fields).
pub fn push_bytes_of(size: u64) -> u64 {
    size.div_ceil(3) * 4 + 512
}

/// The live record with this id.
fn live_record(conn: &mut SqliteConnection, record_id: &str) -> Result<(Uuid, RecordRow)> {
    let id = parse_record_id(record_id)?;
    match store::record_get(conn, &id.to_string())? {
        Some(row) if !row.deleted => Ok((id, row)),
        _ => Err(Error::NotFound(format!("record {record_id}"))),
    }
}

/// Adds a record about `subject`, offline; returns its id.
pub fn add(conn: &mut SqliteConnection, account: &mut Account, subject: &str, body: RecordBody) -> Result<String> {
    let subject = parse_subject(subject)?;
    validate_body(conn, account, &subject, &body, None)?;
    let record_id = Uuid::now_v7();
    local_change(conn, account, record_id, body.kind(), subject, Change::Edit(body), None)?;
    Ok(record_id.to_string())
}

/// Replaces a record's content with a new version of the same kind, offline.
pub fn edit(conn: &mut SqliteConnection, account: &mut Account, record_id: &str, body: RecordBody) -> Result<()> {
    let (id, row) = live_record(conn, record_id)?;
    let (kind, subject) = row.kind_subject()?;
    let new_kind = body.kind();
    if new_kind != kind {
        return Err(Error::invalid("kind", format!("this record is a {kind}, not a {new_kind}")));
    }
    validate_body(conn, account, &subject, &body, Some(&row.record_id))?;
    local_change(conn, account, id, kind, subject, Change::Edit(body), Some(&row))
}

/// Deletes a record, offline (a tombstone version).
pub fn delete(conn: &mut SqliteConnection, account: &mut Account, record_id: &str) -> Result<()> {
    let (id, row) = live_record(conn, record_id)?;
    let (kind, subject) = row.kind_subject()?;
    local_change(conn, account, id, kind, subject, Change::Delete, Some(&row))
}

/// A live record's current content.
pub fn get(conn: &mut SqliteConnection, keys: &RecordKeys, record_id: &str) -> Result<TimelineEntry> {
    let (_, row) = live_record(conn, record_id)?;
    entry(keys, &row)
}

/// Every version of a record, oldest first, with the winner marked.
pub fn history(conn: &mut SqliteConnection, keys: &RecordKeys, record_id: &str) -> Result<Vec<RecordVersionView>> {
    let id = parse_record_id(record_id)?;
    let row =
        store::record_get(conn, &id.to_string())?.ok_or_else(|| Error::NotFound(format!("record {record_id}")))?;
    let history = keys.history(&row)?;
    let winner = history.winner().map(|w| w.stamp.clone());
    history
        .versions()
        .map(|v| {
            Ok(RecordVersionView {
                device_id: v.stamp.device.as_str().to_owned(),
                hlc: v.stamp.hlc.to_string(),
                base_version: v.base_version,
                deleted: v.is_delete(),
                body: v.edit().cloned(),
                winner: Some(&v.stamp) == winner.as_ref(),
            })
        })
        .collect()
}

/// What a timeline lists, as the app asked: a subject's live records,
/// optionally of one `kind` and in an inclusive `from`/`to` range of dates.
/// The subject is checked when the timeline is read ([`TimelineFilter`]).
#[derive(Debug, Clone, Copy)]
pub struct TimelineQuery<'a> {
    pub subject: &'a str,
    pub kind: Option<RecordKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A timeline's filter in its stored form: the subject and kind as stored,
/// the dates as `YYYY-MM-DD`.
struct TimelineFilter {
    subject: String,
    kind: Option<&'static str>,
    from: Option<String>,
    to: Option<String>,
}

impl TimelineFilter {
    fn new(q: &TimelineQuery) -> Result<Self> {
        Ok(TimelineFilter {
            subject: parse_subject(q.subject)?.to_string(),
            kind: q.kind.map(RecordKind::as_str),
            from: q.from.map(|d| d.to_string()),
            to: q.to.map(|d| d.to_string()),
        })
    }
}

/// A subject's live records, optionally of one kind and in a range:
/// undated first, then by date and id. Every match at once, each decrypted:
/// the unpaged convenience for short lists; [`timeline_page`] reads a long
/// timeline a page at a time.
pub fn timeline(conn: &mut SqliteConnection, keys: &RecordKeys, query: &TimelineQuery) -> Result<Vec<TimelineEntry>> {
    let f = TimelineFilter::new(query)?;
    let rows = store::timeline(conn, &f.subject, f.kind, f.from.as_deref(), f.to.as_deref())?;
    rows.iter().map(|row| entry(keys, row)).collect()
}

/// The version tag of a page token.
const PAGE_TOKEN_VERSION: &str = "1";

/// The token of the page that starts after this entry: opaque to the app
/// (URL-safe base64 of `1|date|record_id`, the date empty when undated).
fn page_token(after: &store::TimelineKey) -> String {
    let (date, id) = after;
    URL_SAFE_NO_PAD.encode(format!("{PAGE_TOKEN_VERSION}|{}|{id}", date.as_deref().unwrap_or("")))
}

/// The position a [`page_token`] names; anything else is invalid `page`.
fn parse_page_token(token: &str) -> Result<store::TimelineKey> {
    let bad = || Error::invalid("page", "not a page token from timeline_page");
    let text = URL_SAFE_NO_PAD.decode(token).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let mut parts = text.split('|');
    let (Some(PAGE_TOKEN_VERSION), Some(date), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let date = match date {
        "" => None,
        d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())?.to_string()),
    };
    let id = Uuid::parse_str(id).map_err(|_| bad())?.to_string();
    Ok((date, id))
}

/// One page of [`timeline`] (same filter, same order): up to `limit`
/// (1..=[`MAX_PAGE_LIMIT`]) entries after `page`, a token from the previous
/// page's `next_page` (`None`: the first page). Keyset paging, so a deep page
/// costs what the first does, and records added or deleted between pages
/// neither repeat nor shift the others.
pub fn timeline_page(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    query: &TimelineQuery,
    page: Option<&str>,
    limit: u32,
) -> Result<TimelinePage> {
    let f = TimelineFilter::new(query)?;
    if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be 1 to {MAX_PAGE_LIMIT}")));
    }
    let after = page.map(parse_page_token).transpose()?;
    let mut rows =
        store::timeline_page(conn, &f.subject, f.kind, f.from.as_deref(), f.to.as_deref(), after, limit + 1)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page = match rows.last() {
        Some(last) if more => Some(page_token(&(last.effective_date.clone(), last.record_id.clone()))),
        _ => None,
    };
    let entries = rows.iter().map(|row| entry(keys, row)).collect::<Result<_>>()?;
    Ok(TimelinePage { entries, next_page })
}

/// The winning bodies of a subject's live records of one kind, with their ids, by date.
pub fn bodies(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &Subject,
    kind: RecordKind,
) -> Result<Vec<(String, RecordBody)>> {
    let rows = store::timeline(conn, &subject.to_string(), Some(kind.as_str()), None, None)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(body) = keys.winner(row)? {
            out.push((row.record_id.clone(), body));
        }
    }
    Ok(out)
}

/// The winning bodies of a subject's live records of module `M`, typed, with
/// their ids, by date.
pub fn modules<M: DatasetModule + TryFrom<RecordBody>>(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &Subject,
) -> Result<Vec<(String, M)>> {
    Ok(bodies(conn, keys, subject, M::KIND)?
        .into_iter()
        .filter_map(|(id, body)| M::try_from(body).ok().map(|m| (id, m)))
        .collect())
}

fn entry(keys: &RecordKeys, row: &RecordRow) -> Result<TimelineEntry> {
    let history = keys.history(row)?;
    let body =
        history.winner().and_then(|w| w.edit()).ok_or_else(|| Error::NotFound(format!("record {}", row.record_id)))?;
    Ok(TimelineEntry {
        record_id: row.record_id.clone(),
        kind: body.kind(),
        subject: row.subject.clone(),
        effective_date: body.effective_date(),
        body: body.clone(),
        version_count: u32::try_from(history.len()).unwrap_or(u32::MAX),
        has_conflicts: history.winner().is_some_and(|w| {
            history.losers().any(|l| l.base_version == w.base_version && l.stamp.device != w.stamp.device)
        }),
        pending: row.pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::crypto::AccountKey;
    use phr_core::dataset::examples;
    use phr_core::sync::{DeviceId, Hlc, VersionStamp};

    /// A store holding `bodies` about the mother, sealed as the engine seals them.
    fn store_with(bodies: &[RecordBody]) -> (tempfile::TempDir, SqliteConnection, RecordKeys) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = store::open(&dir.path().join("s.db").to_string_lossy()).unwrap();
        let keys = RecordKeys::new("acct".into(), AccountKey::generate());
        for (i, body) in bodies.iter().enumerate() {
            let mut history = BodyHistory::new();
            let stamp = VersionStamp::new(Hlc { wall_ms: 1 + i as u64, counter: 0 }, DeviceId::new("d").unwrap());
            history.merge(RecordVersion { stamp, base_version: 0, change: Change::Edit(body.clone()) });
            let row = keys
                .seal_row(Uuid::now_v7(), body.kind(), Subject::Mother, &DataKey::generate(), &history, 0, true, 1)
                .unwrap();
            store::record_put(&mut conn, &row).unwrap();
        }
        (dir, conn, keys)
    }

    /// Undated profiles, visits that share dates, and vitals.
    fn mixed_bodies() -> Vec<RecordBody> {
        let mut bodies = vec![RecordBody::MotherProfile(examples::mother_profile_minimal()); 3];
        for i in 0..12 {
            let mut v = examples::prenatal_visit_minimal();
            v.visit_date += chrono::TimeDelta::days(i / 3);
            bodies.push(RecordBody::PrenatalVisit(v));
        }
        bodies.extend(vec![RecordBody::SelfVitals(examples::self_vitals_minimal()); 6]);
        bodies
    }

    /// The mother's whole timeline.
    const MOTHER: TimelineQuery<'static> = TimelineQuery { subject: "mother", kind: None, from: None, to: None };

    #[test]
    fn timeline_pages_follow_their_tokens_to_the_end_in_timeline_order() {
        let (_dir, mut conn, keys) = store_with(&mixed_bodies());
        for kind in [None, Some(RecordKind::PrenatalVisit)] {
            let query = TimelineQuery { kind, ..MOTHER };
            let all = timeline(&mut conn, &keys, &query).unwrap();
            let mut walked = Vec::new();
            let mut page = None;
            loop {
                let p = timeline_page(&mut conn, &keys, &query, page.as_deref(), 4).unwrap();
                assert!(p.entries.len() <= 4);
                walked.extend(p.entries);
                match p.next_page {
                    Some(next) => page = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked, all, "kind {kind:?}");
        }
        let whole = timeline_page(&mut conn, &keys, &MOTHER, None, 21).unwrap();
        assert_eq!((whole.entries.len(), whole.next_page), (21, None), "a full last page says there is no next one");
    }

    #[test]
    fn a_page_token_that_timeline_page_did_not_make_is_invalid_page() {
        let (_dir, mut conn, keys) = store_with(&mixed_bodies());
        let id = Uuid::now_v7().to_string();
        let round = |key: store::TimelineKey| parse_page_token(&page_token(&key)).unwrap() == key;
        assert!(round((None, id.clone())) && round((Some("2026-04-02".into()), id.clone())));
        let raw = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "".to_owned(),
            "not base64!".to_owned(),
            raw("nonsense"),
            raw(&format!("2|2026-04-02|{id}")),
            raw(&format!("1|2026-13-02|{id}")),
            raw("1|2026-04-02|not-a-uuid"),
            raw(&format!("1|2026-04-02|{id}|extra")),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            let err = timeline_page(&mut conn, &keys, &MOTHER, Some(&bad), 5).unwrap_err();
            assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "page"), "{bad:?}: {err:?}");
        }
        for limit in [0, MAX_PAGE_LIMIT + 1] {
            let err = timeline_page(&mut conn, &keys, &MOTHER, None, limit).unwrap_err();
            assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "limit"), "{limit}: {err:?}");
        }
        assert_eq!(timeline_page(&mut conn, &keys, &MOTHER, None, MAX_PAGE_LIMIT).unwrap().entries.len(), 21);
    }

    #[test]
    fn preeclampsia_is_refused_on_a_childs_problem_list_and_an_egg_allergy_is_not() {
        let child = Subject::Child(Uuid::now_v7());
        let preeclampsia = RecordBody::Condition(examples::condition_minimal());
        assert!(check_subject(&Subject::Mother, &preeclampsia).is_ok());
        let err = check_subject(&child, &preeclampsia).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "code"), "{err:?}");
        assert!(check_subject(&child, &RecordBody::Allergy(examples::allergy_full())).is_ok());
    }

    #[test]
    fn a_visit_is_checked_against_the_one_live_pregnancy_and_not_against_several() {
        let visit = RecordKind::PrenatalVisit;
        let (_dir, mut conn, keys) = store_with(&[RecordBody::Pregnancy(examples::pregnancy_minimal())]);
        let (pregnancy, _) = context_facts(&mut conn, &keys, &Subject::Mother, visit, None).unwrap();
        assert_eq!(pregnancy, Some(examples::pregnancy_minimal()));
        let (_dir, mut conn, keys) = store_with(&[
            RecordBody::Pregnancy(examples::pregnancy_minimal()),
            RecordBody::Pregnancy(examples::pregnancy_full()),
            RecordBody::Pregnancy(examples::pregnancy_full()),
        ]);
        assert_eq!(context_facts(&mut conn, &keys, &Subject::Mother, visit, None).unwrap(), (None, None));
        let rows = store::timeline(&mut conn, "mother", None, None, None).unwrap();
        let is_minimal =
            |r: &&RecordRow| keys.winner(r).unwrap() == Some(RecordBody::Pregnancy(examples::pregnancy_minimal()));
        let minimal = rows.iter().find(is_minimal).unwrap();
        let full = rows.iter().find(|r| !is_minimal(r)).unwrap();
        store::record_put(&mut conn, &RecordRow { deleted: true, ..full.clone() }).unwrap();
        let (pregnancy, _) = context_facts(&mut conn, &keys, &Subject::Mother, visit, None).unwrap();
        assert_eq!(pregnancy, None, "still two live");
        let (pregnancy, _) =
            context_facts(&mut conn, &keys, &Subject::Mother, visit, Some(&minimal.record_id)).unwrap();
        assert_eq!(pregnancy, Some(examples::pregnancy_full()), "the one edited is left out before the limit");
    }

    #[test]
    fn record_bodies_are_validated_with_field_paths() {
        let mut visit = examples::prenatal_visit_full();
        visit.body_weight = Some(phr_core::dataset::common::Kilograms::new(-1.0));
        let body = RecordBody::PrenatalVisit(visit);
        check_subject(&Subject::Mother, &body).unwrap();
        let err = check_body(&body, chrono::Local::now().date_naive(), None, None).unwrap_err();
        assert!(matches!(&err, Error::Validation(problems) if problems[0].field == "body_weight"), "{err:?}");
        let err = body_from_json("not json").unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "body"), "{err:?}");
    }

    #[test]
    fn a_body_of_a_mother_only_module_is_refused_for_a_child() {
        let child = Subject::Child(Uuid::now_v7());
        let err = check_subject(&child, &RecordBody::PrenatalVisit(examples::prenatal_visit_full())).unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "subject"), "{err:?}");
    }
}
