//! Records on the device: parsing and validating bodies (phr-core, with what
//! the store knows about the subject), local versions, and the views the app
//! lists (timelines, a record's history).

use std::str::FromStr;

use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::crypto::DataKey;
use phr_core::dataset::{Pregnancy, RecordBody, RecordKind, Subject, Validate, ValidationContext};
use phr_core::sync::record_envelope::BodyHistory;
use phr_core::sync::{Change, RecordVersion};
use uuid::Uuid;

use super::account::{save_clock, Account};
use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::store::{self, RecordRow};

/// One live record on a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub record_id: String,
    pub kind: String,
    pub subject: String,
    pub effective_date: Option<String>,
    /// The winning version as RecordBody JSON.
    pub body_json: String,
    pub version_count: u32,
    pub has_conflicts: bool,
    pub pending: bool,
}

/// One version of a record's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersionView {
    pub device_id: String,
    pub hlc: String,
    pub base_version: u64,
    pub deleted: bool,
    pub body_json: Option<String>,
    pub winner: bool,
}

pub fn parse_record_id(record_id: &str) -> Result<Uuid> {
    Uuid::parse_str(record_id).map_err(|_| Error::invalid("record_id", "not a UUID"))
}

pub fn parse_subject(subject: &str) -> Result<Subject> {
    Subject::from_str(subject).map_err(|e| Error::invalid("subject", e.to_string()))
}

/// A `YYYY-MM-DD` argument named `field`.
pub fn parse_date(field: &str, date: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| Error::invalid(field, "expected a date YYYY-MM-DD"))
}

fn parse_optional_date(field: &str, date: Option<&str>) -> Result<Option<String>> {
    date.map(|d| parse_date(field, d).map(|d| d.to_string())).transpose()
}

/// Parses a RecordBody JSON and checks that its kind may be about `subject`.
fn parse_body(subject: &Subject, body_json: &str) -> Result<RecordBody> {
    let body: RecordBody = serde_json::from_str(body_json).map_err(|e| Error::invalid("body", e.to_string()))?;
    if !body.kind().subjects().admits(subject) {
        return Err(Error::invalid("subject", format!("{} records cannot be about {subject}", body.kind())));
    }
    Ok(body)
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
    let rows = store::timeline(conn, &subject.to_string(), Some(source.as_str()), None, None)?;
    let rows: Vec<_> = rows.into_iter().filter(|r| Some(r.record_id.as_str()) != editing).collect();
    let [row] = rows.as_slice() else {
        return Ok((None, None));
    };
    Ok(match keys.winner(row)? {
        Some(RecordBody::Pregnancy(p)) => (Some(p), None),
        Some(RecordBody::Newborn(n)) => (None, Some(n.birth_date)),
        _ => (None, None),
    })
}

/// Parses and validates a body for a new version of a record.
fn validated_body(
    conn: &mut SqliteConnection,
    account: &Account,
    subject: &Subject,
    body_json: &str,
    editing: Option<&str>,
) -> Result<RecordBody> {
    let body = parse_body(subject, body_json)?;
    let (pregnancy, birth_date) = context_facts(conn, &account.keys, subject, body.kind(), editing)?;
    check_body(&body, account.today(), pregnancy.as_ref(), birth_date)?;
    Ok(body)
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

fn body_json(body: &RecordBody) -> Result<String> {
    serde_json::to_string(body).map_err(|e| Error::encoding("a record body", e))
}

/// Adds a record about `subject`, offline; returns its id.
pub fn add(conn: &mut SqliteConnection, account: &mut Account, subject: &str, body_json: &str) -> Result<String> {
    let subject = parse_subject(subject)?;
    let body = validated_body(conn, account, &subject, body_json, None)?;
    let record_id = Uuid::now_v7();
    local_change(conn, account, record_id, body.kind(), subject, Change::Edit(body), None)?;
    Ok(record_id.to_string())
}

/// Replaces a record's content with a new version of the same kind, offline.
pub fn edit(conn: &mut SqliteConnection, account: &mut Account, record_id: &str, body_json: &str) -> Result<()> {
    let (id, row) = live_record(conn, record_id)?;
    let (kind, subject) = row.kind_subject()?;
    let new_kind = parse_body(&subject, body_json)?.kind();
    if new_kind != kind {
        return Err(Error::invalid("kind", format!("this record is a {kind}, not a {new_kind}")));
    }
    let body = validated_body(conn, account, &subject, body_json, Some(&row.record_id))?;
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
                body_json: v.edit().map(body_json).transpose()?,
                winner: Some(&v.stamp) == winner.as_ref(),
            })
        })
        .collect()
}

/// A subject's live records by date, optionally of one kind and in a range.
pub fn timeline(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &str,
    kind: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<TimelineEntry>> {
    let subject = parse_subject(subject)?.to_string();
    let kind = kind
        .map(|k| RecordKind::from_str(k).map(|k| k.as_str().to_owned()))
        .transpose()
        .map_err(|e| Error::invalid("kind", e.to_string()))?;
    let from = parse_optional_date("from", from)?;
    let to = parse_optional_date("to", to)?;
    let rows = store::timeline(conn, &subject, kind.as_deref(), from.as_deref(), to.as_deref())?;
    rows.iter().map(|row| entry(keys, row)).collect()
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

fn entry(keys: &RecordKeys, row: &RecordRow) -> Result<TimelineEntry> {
    let history = keys.history(row)?;
    let body =
        history.winner().and_then(|w| w.edit()).ok_or_else(|| Error::NotFound(format!("record {}", row.record_id)))?;
    Ok(TimelineEntry {
        record_id: row.record_id.clone(),
        kind: row.kind.clone(),
        subject: row.subject.clone(),
        effective_date: row.effective_date.clone(),
        body_json: body_json(body)?,
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

    #[test]
    fn record_bodies_are_validated_with_field_paths() {
        let mut visit =
            serde_json::to_value(RecordBody::PrenatalVisit(phr_core::dataset::examples::prenatal_visit_full()))
                .unwrap();
        visit["body"]["body_weight"]["value"] = serde_json::json!(-1.0);
        let body = parse_body(&Subject::Mother, &visit.to_string()).unwrap();
        let err = check_body(&body, chrono::Local::now().date_naive(), None, None).unwrap_err();
        assert!(matches!(&err, Error::Validation(problems) if problems[0].field == "body_weight"), "{err:?}");
        let err = parse_body(&Subject::Mother, "not json").unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "body"), "{err:?}");
    }
}
