//! The sync API (`/sync/v1`), per `docs/architecture.md`, "Data flow: a sync push".
//!
//! - `POST /sync/v1/push`: a batch of changes, committed in one transaction
//!   before it is acknowledged. Each change applies only if its base version
//!   is still the record's current version (optimistic concurrency); a change
//!   that lost the race is answered as a conflict with the current version,
//!   and the rest of the batch still applies. Every applied change takes the
//!   next number of the account's change sequence. A retried batch (same
//!   `batch_id`) gets its first answer back and changes nothing.
//! - `GET /sync/v1/limits` (no authentication): the sizes the server accepts
//!   ([`limits`]), so a client sizes push batches by bytes and refuses a local
//!   edit that could never sync.
//! - `GET /sync/v1/pull?since=CURSOR&limit=N`: the records changed after the
//!   cursor, in sequence order, with the next cursor. Deletions are
//!   tombstones (the sealed delete stays, with its clock stamp).
//!
//! The server never reads a record: it stores the sealed envelope, the
//! wrapped data key, and the plain metadata `docs/architecture.md` lists ("Storage").

use crate::store::records as store;
use std::collections::HashSet;

use phr_core::sync::protocol::{
    Change, ChangeResult, ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse, SyncLimits,
};

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::{unprocessable_if_any, AppError};
use crate::app::ids::RecordId;
use crate::app::records::{Appended, NewVersion, RecordLog};
use crate::app::{now_ms, App};
use crate::store::write_transaction;

/// How long a batch's answer is kept for retries.
const BATCH_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// The largest wrapped data key accepted (an AES-GCM wrap of 32 bytes is ~61).
const MAX_WRAPPED_KEY_BYTES: usize = 1024;
pub const DEFAULT_PULL_LIMIT: u32 = 1000;
pub const MAX_PULL_LIMIT: u32 = 5000;

/// What the server accepts: `max_body_bytes` (the HTTP layer's request
/// limit) and the configured batch and envelope limits.
pub fn limits(app: &App, max_body_bytes: usize) -> SyncLimits {
    SyncLimits {
        max_request_bytes: max_body_bytes as u64,
        max_batch_changes: app.limits.max_batch_changes as u64,
        max_envelope_bytes: app.limits.max_envelope_bytes as u64,
        max_pull_limit: MAX_PULL_LIMIT,
    }
}

/// Checks a batch before any database work: sizes (413) and shape (422).
fn check_batch(req: &PushRequest, limits: &crate::config::Limits) -> Result<(), AppError> {
    if req.changes.len() > limits.max_batch_changes {
        return Err(AppError::PayloadTooLarge(format!(
            "a push batch may hold at most {} changes, this one has {}",
            limits.max_batch_changes,
            req.changes.len()
        )));
    }
    let mut problems = Vec::new();
    let mut seen = HashSet::with_capacity(req.changes.len());
    for (i, change) in req.changes.iter().enumerate() {
        if change.envelope.len() > limits.max_envelope_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "changes[{i}].envelope is {} bytes; the limit is {}",
                change.envelope.len(),
                limits.max_envelope_bytes
            )));
        }
        check_change(i, change, &mut seen, &mut problems);
    }
    unprocessable_if_any("invalid push batch", problems)
}

fn check_change(i: usize, change: &Change, seen: &mut HashSet<uuid::Uuid>, problems: &mut Vec<(String, String)>) {
    let mut problem = |field: &str, reason: String| problems.push((format!("changes[{i}].{field}"), reason));
    if !seen.insert(change.record_id) {
        problem("record_id", "appears more than once in the batch".into());
    }
    if change.base_version > i64::MAX as u64 {
        problem("base_version", "is out of range".into());
    }
    if let Some(Err(e)) = change.effective_date.map(phr_core::dates::check) {
        problem("effective_date", e.to_string());
    }
    if !change.kind.subjects().admits(&change.subject) {
        problem("subject", format!("{} records cannot be about {}", change.kind, change.subject));
    }
    if change.envelope.is_empty() {
        problem("envelope", "must not be empty".into());
    }
    if change.wrapped_key.is_empty() || change.wrapped_key.len() > MAX_WRAPPED_KEY_BYTES {
        problem("wrapped_key", format!("must be 1–{MAX_WRAPPED_KEY_BYTES} bytes"));
    }
}

/// `POST /sync/v1/push`: checks the batch (413 / 422), then applies it in one
/// write transaction; returns the answer JSON (a retried batch gets its first answer).
pub async fn push(app: &App, device: AuthenticatedDevice, req: PushRequest) -> Result<String, AppError> {
    check_batch(&req, &app.limits)?;
    let max_records = app.limits.max_records_per_account;
    app.db(move |conn| write_transaction(conn, |conn| apply_batch(conn, &device, &req, max_records))).await
}

/// Applies one batch inside the caller's transaction; returns the answer JSON.
fn apply_batch(
    conn: &mut crate::store::DbConnection,
    device: &AuthenticatedDevice,
    req: &PushRequest,
    max_records: i64,
) -> Result<String, AppError> {
    let account = device.account_id.as_str();
    let batch_id = req.batch_id.to_string();
    let mut log = RecordLog::lock_for_device(conn, account)?;
    if let Some((batch_device, response)) = store::stored_batch(conn, account, &batch_id)? {
        if batch_device != device.device_id {
            return Err(AppError::Conflict("this batch_id was already used by another device".into()));
        }
        return Ok(response);
    }
    let versions: Vec<NewVersion<'_>> = req
        .changes
        .iter()
        .map(|c| NewVersion {
            record_id: RecordId(c.record_id),
            kind: c.kind,
            subject: c.subject,
            effective_date: c.effective_date,
            base_version: c.base_version,
            deleted: c.deleted,
            envelope: &c.envelope,
            wrapped_key: &c.wrapped_key,
        })
        .collect();
    let now = now_ms();
    let appended = log.append(conn, &device.device_id, &versions, max_records, now)?;
    let results = req
        .changes
        .iter()
        .zip(appended)
        .map(|(change, appended)| match appended {
            Appended::Applied { version } => {
                ChangeResult { record_id: change.record_id, status: ChangeStatus::Applied, version }
            }
            Appended::Conflict { current } => {
                ChangeResult { record_id: change.record_id, status: ChangeStatus::Conflict, version: current }
            }
        })
        .collect();
    let response =
        serde_json::to_string(&PushResponse { batch_id: req.batch_id, results, change_seq: log.change_seq() })
            .map_err(|e| AppError::Internal(format!("cannot encode push response: {e}")))?;
    store::store_batch(conn, account, &batch_id, &device.device_id, &response, now, now - BATCH_RETENTION_MS)?;
    Ok(response)
}

/// `GET /sync/v1/pull`: up to `limit` changes after the cursor `since`, as the answer JSON.
pub async fn pull(app: &App, device: AuthenticatedDevice, since: u64, limit: Option<u32>) -> Result<Vec<u8>, AppError> {
    let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT);
    if limit == 0 || limit > MAX_PULL_LIMIT {
        return Err(AppError::BadRequest(format!("limit must be 1–{MAX_PULL_LIMIT}")));
    }
    let cursor = i64::try_from(since).map_err(|_| AppError::BadRequest("since is out of range".into()))?;
    let account = device.account_id;
    // Rows are loaded and encoded on the same blocking thread, straight into
    // a buffer of the right size: a page's memory is freed where it was taken
    // and never held twice (rows + a doubling JSON buffer) on the async worker.
    app.db(move |conn| {
        let rows = store::changes_since(conn, &account, cursor, i64::from(limit) + 1)?;
        pull_response_json(rows, limit as usize, since)
    })
    .await
}

/// The JSON of a pull page: the first `limit` rows (one more was loaded to tell whether there is `more`).
fn pull_response_json(rows: Vec<store::RecordRow>, limit: usize, since: u64) -> Result<Vec<u8>, AppError> {
    let more = rows.len() > limit;
    let b64_len = |n: usize| n.div_ceil(3) * 4;
    // Envelopes and keys travel as base64; the rest of a change is under ~400 bytes.
    let capacity = 64
        + rows
            .iter()
            .take(limit)
            .map(|r| b64_len(r.envelope.len()) + b64_len(r.wrapped_key.len()) + 400)
            .sum::<usize>();
    let mut changes = Vec::with_capacity(rows.len().min(limit));
    for row in rows.into_iter().take(limit) {
        changes.push(pulled(row)?);
    }
    let next_cursor = changes.last().map(|c| c.seq).unwrap_or(since);
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, &PullResponse { changes, next_cursor, more })
        .map_err(|e| AppError::Internal(format!("cannot encode pull response: {e}")))?;
    Ok(body)
}

fn pulled(row: store::RecordRow) -> Result<PulledChange, AppError> {
    let corrupt = |what: &str| AppError::Internal(format!("stored record has an invalid {what}"));
    Ok(PulledChange {
        record_id: row.record_id.parse().map_err(|_| corrupt("record id"))?,
        version: row.version as u64,
        seq: row.seq as u64,
        kind: row.kind.parse().map_err(|_| corrupt("kind"))?,
        subject: row.subject.parse().map_err(|_| corrupt("subject"))?,
        effective_date: row.effective_date.map(|d| d.parse()).transpose().map_err(|_| corrupt("date"))?,
        deleted: row.deleted,
        envelope: row.envelope,
        wrapped_key: row.wrapped_key,
        device_id: row.device_id,
        updated_at: row.updated_at,
    })
}
