//! The sync client, sans-IO: every request goes through the app's
//! [`Transport`].
//!
//! One [`run`]:
//!
//! 0. **Limits**: ask the server what it accepts (`GET /sync/v1/limits`,
//!    kept for offline edits; an older server without it: the defaults).
//! 1. **Resend** every push batch persisted by an earlier run that never got
//!    its acknowledgement (a crash or a lost answer), with the same
//!    `batch_id` and bytes: the server applies a batch once and answers a
//!    retry with the first answer, so a change is neither lost nor duplicated.
//! 2. **Push** pending records in batches sized by **bytes** against the
//!    server's request limit (and its count limit). Each batch is written to
//!    the outbox (with each record's local revision) *before* it is sent.
//!    Its answer is checked first: it must name the batch sent and answer
//!    exactly its changes, once each, or nothing of it is applied and the
//!    batch is kept for the next run (so is a cut-off answer). A checked
//!    answer is applied in one transaction: an applied change moves the
//!    record to the new server version and clears `pending` unless the record
//!    changed again meanwhile; a conflict leaves it pending.
//!    A batch the server refuses as a whole (400, 409, 413, 422) is split in
//!    halves and sent again, down to single records, so **one record the
//!    server will not take never stops the others**: it is reported in
//!    [`SyncReport::refused`] and stays pending (an edit can fix it).
//! 3. **Pull** in pages of [`PULL_PAGE`], each page merged into the local
//!    histories with the phr-core rule ([`RecordHistory::merge_history`],
//!    then [`RecordHistory::compact`]) and the cursor advanced in the same
//!    transaction. A pulled record that does not open (another account key,
//!    damaged) is **quarantined** with the reason ([`store::quarantine`]) and
//!    the cursor moves past it; a later version that opens releases it.
//!    Pulled stamps move the device clock only up to trusted time plus
//!    [`super::clock::MAX_AHEAD_MS`].
//! 4. Conflicted records now hold the server's versions too and are based on
//!    the current server version: go round again (at most [`MAX_ROUNDS`]).
//! 5. Send consent grants made on this device the data keys of records that
//!    came into their scope ([`super::consent::send_new_grant_keys`]).
//!
//! Cancellation (`cancel_sync`) is checked before every request; everything
//! before that point is durably synced.
//!
//! [`RecordHistory::merge_history`]: phr_core::sync::RecordHistory::merge_history
//! [`RecordHistory::compact`]: phr_core::sync::RecordHistory::compact

use std::collections::{BTreeSet, HashSet, VecDeque};

use diesel::{Connection, SqliteConnection};
use phr_core::crypto::{unwrap_data_key, unwrap_data_key_from, AccountWrapContext, RecordAad};
use phr_core::sync::protocol::{
    Change, ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse, SyncLimits,
};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory, EnvelopeError};
use uuid::Uuid;

use super::account::{now_ms, save_clock, Account};
use super::consent::send_new_grant_keys;
use super::emergency_card::{new_accesses, refresh_cards, EmergencyAccess};
use super::error::{Error, HttpErrorKind, Result};
use super::keys::StorageKey;
use super::records::push_bytes_of;
use super::store::{self, QuarantinedRecord};
use super::transport::{call_json, json_body, Transport};

/// Changes per pull page.
pub const PULL_PAGE: u32 = 1000;
/// Push/pull rounds per sync before giving up on settling conflicts.
pub const MAX_ROUNDS: usize = 5;
/// The share of the server's request limit a push batch may fill (the rest
/// is headroom for the estimate of JSON around the envelopes).
const REQUEST_FILL: f64 = 0.9;

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pushing,
    Pulling,
    Done,
}

/// Counts so far, reported after every batch and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub phase: Phase,
    /// Changes the server has acknowledged as applied.
    pub pushed: u64,
    /// Changes received from the server.
    pub pulled: u64,
    /// Changes the server refused as conflicting (merged and pushed again).
    pub conflicts: u64,
}

/// Told the counts after every batch and page, on the syncing thread.
pub trait Progress {
    fn on_progress(&self, update: ProgressUpdate);
}

/// A local record the server would not take on its own (too large for it,
/// over the account's record limit, invalid): still pending, and the rest of
/// the sync went on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRecord {
    pub record_id: String,
    /// The server's status (413, 409, 422, ...), or 413 when the engine did
    /// not send it because it is over the server's advertised size limit.
    pub status: u16,
    pub reason: String,
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    /// Stopped early by `cancel_sync`; call `sync` again to finish.
    pub cancelled: bool,
    /// Records still waiting to go out (0 after a complete sync).
    pub pending: u64,
    /// Local records the server refused one by one this time.
    pub refused: Vec<RefusedRecord>,
    /// Pulled records that did not open and were set aside (see `quarantined_records`).
    pub quarantined: u64,
    /// Versions folded by compaction while merging.
    pub folded: u64,
    /// Pulled stamps too far ahead of trusted time to move this device's clock.
    pub future_stamps: u64,
    /// Server time minus device time (ms) as measured on this sync's answers.
    pub clock_offset_ms: Option<i64>,
    /// The device clock is off by more than the tolerance (the engine uses the
    /// server's time; the app should tell the user to fix the clock).
    pub clock_skewed: bool,
    /// Emergency cards made on this device whose summary was refreshed after this sync.
    pub emergency_cards_refreshed: u64,
    /// Emergency accesses (card reads and refused attempts) since the last sync, oldest first.
    pub emergency_accesses: Vec<EmergencyAccess>,
}

struct Run<'a> {
    transport: &'a dyn Transport,
    progress: Option<&'a dyn Progress>,
    cancel: &'a dyn Fn() -> bool,
    report: SyncReport,
    /// Records refused on their own in this run: not sent again in it.
    refused: HashSet<String>,
}

impl Run<'_> {
    fn tell(&self, phase: Phase) {
        if let Some(p) = self.progress {
            p.on_progress(ProgressUpdate {
                phase,
                pushed: self.report.pushed,
                pulled: self.report.pulled,
                conflicts: self.report.conflicts,
            });
        }
    }

    fn cancelled(&mut self) -> bool {
        self.report.cancelled = (self.cancel)();
        self.report.cancelled
    }

    fn refuse(&mut self, record_id: &str, status: u16, reason: String) {
        if self.refused.insert(record_id.to_owned()) {
            self.report.refused.push(RefusedRecord { record_id: record_id.to_owned(), status, reason });
        }
    }
}

/// The parts of the device a sync works on.
pub struct Device<'a> {
    pub conn: &'a mut SqliteConnection,
    pub account: &'a mut Account,
    /// Opens the grant keys kept on this device.
    pub storage_key: &'a StorageKey,
}

/// One sync; see the module docs. `cancel` says whether `cancel_sync` was
/// called for this sync.
pub fn run(
    device: Device<'_>,
    transport: &dyn Transport,
    progress: Option<&dyn Progress>,
    cancel: &dyn Fn() -> bool,
) -> Result<SyncReport> {
    let Device { conn, account, storage_key } = device;
    let mut run = Run { transport, progress, cancel, report: SyncReport::default(), refused: HashSet::new() };
    if run.cancelled() {
        return finish(conn, account, run);
    }
    let limits = fetch_limits(conn, account, transport)?;
    for _round in 0..MAX_ROUNDS {
        let conflicts_before = run.report.conflicts;
        while let Some(batch) = store::outbox_oldest(conn)? {
            if run.cancelled() {
                return finish(conn, account, run);
            }
            match send_batch(conn, account, &mut run, &batch.batch_id, batch.request) {
                // Its records are still pending: they go out in new batches below.
                Err(e) if refuses_the_batch(&e) => store::outbox_delete(conn, &batch.batch_id)?,
                other => other?,
            }
        }
        push_pending(conn, account, &mut run, &limits)?;
        if run.report.cancelled {
            return finish(conn, account, run);
        }
        pull(conn, account, &mut run)?;
        if run.report.cancelled {
            return finish(conn, account, run);
        }
        let pending = store::pending_ids(conn)?;
        if run.report.conflicts == conflicts_before || pending.iter().all(|id| run.refused.contains(id)) {
            break;
        }
    }
    if run.cancelled() {
        return finish(conn, account, run);
    }
    // Records that came into the scope of a grant made here get their keys.
    send_new_grant_keys(conn, account, storage_key, transport)?;
    // Emergency cards made here get a fresh summary if their person's records (or the day) changed.
    run.report.emergency_cards_refreshed = refresh_cards(conn, account, storage_key, transport)?;
    // Emergency accesses since the last sync, for the app to tell the parents.
    run.report.emergency_accesses = new_accesses(conn, account, transport)?;
    finish(conn, account, run)
}

fn finish(conn: &mut SqliteConnection, account: &Account, mut run: Run<'_>) -> Result<SyncReport> {
    run.report.pending = store::pending_ids(conn)?.len() as u64;
    run.report.clock_offset_ms = account.time.measured_offset_ms();
    run.report.clock_skewed = account.time.device_clock_skewed();
    run.tell(Phase::Done);
    Ok(run.report)
}

/// The server's limits (kept for offline checks); an older server that does
/// not say keeps the ones kept (or the defaults).
fn fetch_limits(conn: &mut SqliteConnection, account: &Account, transport: &dyn Transport) -> Result<SyncLimits> {
    let url = format!("{}/sync/v1/limits", account.session.server_url);
    match call_json::<SyncLimits>(transport, "GET", url, None, None) {
        Ok(limits) if limits.max_request_bytes > 0 && limits.max_batch_changes > 0 && limits.max_envelope_bytes > 0 => {
            store::set_sync_limits(conn, &limits)?;
            Ok(limits)
        }
        Ok(_) | Err(Error::Http { kind: HttpErrorKind::NotFound | HttpErrorKind::Rejected, .. }) => {
            store::sync_limits(conn)
        }
        Err(e) => Err(e),
    }
}

/// Pushes every pending record in batches sized by bytes; a batch refused as
/// a whole is split until the record the server will not take is alone.
fn push_pending(
    conn: &mut SqliteConnection,
    account: &mut Account,
    run: &mut Run<'_>,
    limits: &SyncLimits,
) -> Result<()> {
    let budget = (limits.max_request_bytes as f64 * REQUEST_FILL) as u64;
    let max_changes = usize::try_from(limits.max_batch_changes).unwrap_or(usize::MAX).max(1);
    let mut queue: VecDeque<Vec<String>> = VecDeque::new();
    let (mut batch, mut bytes) = (Vec::new(), 0u64);
    for (id, size) in store::pending_sizes(conn)? {
        if run.refused.contains(&id) {
            continue;
        }
        let weight = push_bytes_of(size);
        if size > limits.max_envelope_bytes || weight > budget {
            let reason = format!(
                "the record is {size} bytes sealed; the server accepts at most {} per record and {} per request",
                limits.max_envelope_bytes, limits.max_request_bytes
            );
            run.refuse(&id, 413, reason);
            continue;
        }
        if !batch.is_empty() && (bytes + weight > budget || batch.len() >= max_changes) {
            queue.push_back(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(id);
        bytes += weight;
    }
    if !batch.is_empty() {
        queue.push_back(batch);
    }
    while let Some(ids) = queue.pop_front() {
        if run.cancelled() {
            return Ok(());
        }
        let Some((batch_id, request)) = build_batch(conn, account, &ids)? else { continue };
        match send_batch(conn, account, run, &batch_id, request) {
            Ok(()) => {}
            Err(e) if refuses_the_batch(&e) => {
                store::outbox_delete(conn, &batch_id)?;
                if ids.len() > 1 {
                    let (first, second) = ids.split_at(ids.len() / 2);
                    queue.push_front(second.to_vec());
                    queue.push_front(first.to_vec());
                } else {
                    let status = match &e {
                        Error::Http { status, .. } => *status,
                        _ => 0,
                    };
                    run.refuse(&ids[0], status, e.to_string());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Seals the pending records of `ids` as one push batch and persists it in
/// the outbox before anything is sent (`None` if none of them is left).
fn build_batch(conn: &mut SqliteConnection, account: &Account, ids: &[String]) -> Result<Option<(String, Vec<u8>)>> {
    let keys = &account.keys;
    let mut changes = Vec::with_capacity(ids.len());
    let mut revs = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(row) = store::record_get(conn, id)? else { continue };
        if !row.pending {
            continue;
        }
        let record_id = row.id()?;
        let dek = keys.dek(&row)?;
        let history = keys.history(&row)?;
        let base_version = row.base_version()?;
        let (kind, subject) = row.kind_subject()?;
        let aad = RecordAad { account_id: keys.account_id(), record_id, version: base_version + 1 };
        changes.push(Change {
            record_id,
            base_version,
            kind,
            subject,
            effective_date: row.effective_date.as_deref().and_then(|d| d.parse().ok()),
            deleted: history.is_deleted(),
            envelope: seal_history(&dek, &aad, &history),
            wrapped_key: keys.wrap(record_id, &dek),
        });
        revs.push((id.clone(), row.local_rev));
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let batch_id = Uuid::now_v7();
    let request = json_body("the push batch", &PushRequest { batch_id, changes })?;
    let batch_id = batch_id.to_string();
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    conn.transaction::<_, Error, _>(|conn| store::outbox_put(conn, &batch_id, &request, &revs, now))?;
    Ok(Some((batch_id, request)))
}

/// Sends a persisted batch and applies the answer, once checked
/// ([`check_push_answer`]). On a transport failure or a bad answer the batch
/// stays in the outbox for the next run; the caller drops a batch the server
/// refuses as a whole ([`refuses_the_batch`]).
fn send_batch(
    conn: &mut SqliteConnection,
    account: &mut Account,
    run: &mut Run<'_>,
    batch_id: &str,
    request: Vec<u8>,
) -> Result<()> {
    run.tell(Phase::Pushing);
    let response: PushResponse = account.session.call(run.transport, "POST", "/sync/v1/push", Some(request))?;
    let sent = store::outbox_record_ids(conn, batch_id)?;
    check_push_answer(batch_id, &sent, &response)?;
    let (mut applied, mut conflicts) = (0, 0);
    conn.transaction::<_, Error, _>(|conn| {
        for result in &response.results {
            let id = result.record_id.to_string();
            let (Some(mut row), Some(rev)) = (store::record_get(conn, &id)?, store::outbox_rev(conn, batch_id, &id)?)
            else {
                continue;
            };
            match result.status {
                ChangeStatus::Applied => {
                    applied += 1;
                    row.server_version = i64::try_from(result.version)
                        .map_err(|_| Error::Protocol(format!("server version {} is out of range", result.version)))?;
                    row.pending = row.local_rev != rev;
                    store::record_put(conn, &row)?;
                }
                ChangeStatus::Conflict => conflicts += 1,
            }
        }
        store::outbox_delete(conn, batch_id)
    })?;
    run.report.pushed += applied;
    run.report.conflicts += conflicts;
    run.tell(Phase::Pushing);
    Ok(())
}

/// A push answer must be the answer to the batch sent: its `batch_id`, and
/// one result for each change sent, no other and none twice. Anything else
/// (a proxy or a confused transport handing back another request's answer)
/// is [`Error::Protocol`], and nothing of it is applied.
fn check_push_answer(batch_id: &str, sent: &[String], answer: &PushResponse) -> Result<()> {
    if answer.batch_id.to_string() != batch_id {
        return Err(Error::Protocol(format!(
            "the push answer is for batch {}, not for the batch sent ({batch_id}); nothing was applied",
            answer.batch_id
        )));
    }
    let expected: BTreeSet<&str> = sent.iter().map(String::as_str).collect();
    let mut answered = BTreeSet::new();
    for result in &answer.results {
        let id = result.record_id.to_string();
        if !expected.contains(id.as_str()) || !answered.insert(id) {
            return Err(Error::Protocol(format!(
                "the push answer for batch {batch_id} answers a change that was not sent, or one twice; nothing was applied"
            )));
        }
    }
    if answered.len() != expected.len() {
        return Err(Error::Protocol(format!(
            "the push answer for batch {batch_id} answers {} of its {} changes; nothing was applied",
            answered.len(),
            expected.len()
        )));
    }
    Ok(())
}

/// Whether the server's answer to a push refuses the batch as a whole, so
/// that resending the same bytes cannot help: 400, 413, 422, or 409 (such as
/// the account's record limit). Not a refused token, a missing resource, a
/// transient failure, or an answer that does not read: those keep the batch.
fn refuses_the_batch(e: &Error) -> bool {
    matches!(e, Error::Http { kind: HttpErrorKind::Conflict | HttpErrorKind::Rejected, .. })
}

/// Pulls every page after the stored cursor, merging as it goes.
fn pull(conn: &mut SqliteConnection, account: &mut Account, run: &mut Run<'_>) -> Result<()> {
    loop {
        if run.cancelled() {
            return Ok(());
        }
        let cursor = store::meta_get_text(conn, "cursor")?.unwrap_or_else(|| "0".into());
        let cursor: u64 = cursor.parse().map_err(Error::corrupt)?;
        let path = format!("/sync/v1/pull?since={cursor}&limit={PULL_PAGE}");
        let page: PullResponse = account.session.call(run.transport, "GET", &path, None)?;
        let mut rows = Vec::with_capacity(page.changes.len());
        let mut set_aside = Vec::new();
        for change in &page.changes {
            match merge_pulled(conn, account, change)? {
                Ok(merged) => {
                    run.report.folded += merged.folded as u64;
                    run.report.future_stamps += merged.future_stamps;
                    rows.push(merged);
                }
                Err(reason) => set_aside.push((change, reason)),
            }
        }
        let clock = account.clock;
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        conn.transaction::<_, Error, _>(|conn| {
            for merged in &rows {
                store::record_put(conn, &merged.row)?;
                store::folded_add(conn, &merged.row.record_id, merged.folded)?;
                store::quarantine_release(conn, &merged.row.record_id)?;
            }
            for (change, reason) in &set_aside {
                let record = QuarantinedRecord {
                    record_id: change.record_id.to_string(),
                    version: i64::try_from(change.version).unwrap_or(i64::MAX),
                    kind: change.kind.as_str().to_owned(),
                    subject: change.subject.to_string(),
                    reason: reason.clone(),
                    quarantined_at: now,
                };
                store::quarantine_put(conn, &record, &change.envelope, &change.wrapped_key)?;
            }
            save_clock(conn, &clock)?;
            store::meta_set(conn, "cursor", page.next_cursor.to_string().as_bytes())
        })?;
        run.report.quarantined += set_aside.len() as u64;
        run.report.pulled += page.changes.len() as u64;
        run.tell(Phase::Pulling);
        if !page.more {
            return Ok(());
        }
    }
}

/// A pulled change merged into the local record.
struct Merged {
    row: store::RecordRow,
    folded: usize,
    future_stamps: u64,
}

/// Opens a pulled change and merges it into the local record (the union of
/// both histories, compacted), returning the row to store; or, as the inner
/// `Err`, why the change does not open (it is then quarantined).
fn merge_pulled(
    conn: &mut SqliteConnection,
    account: &mut Account,
    change: &PulledChange,
) -> Result<std::result::Result<Merged, String>> {
    let keys = account.keys.clone();
    let account_id = keys.account_id();
    let ctx = AccountWrapContext { account_id, record_id: change.record_id };
    // Family devices wrap under the account key; data a clinic wrote through
    // the server is wrapped to the account's HPKE key.
    let dek = match unwrap_data_key(keys.account_key(), &change.wrapped_key, &ctx).or_else(|_| {
        let (private, _) = keys.account_key().hpke_key_pair();
        unwrap_data_key_from(&private, &change.wrapped_key, account_id, change.record_id)
    }) {
        Ok(dek) => dek,
        Err(_) => {
            return Ok(Err(format!(
                "version {} of this record was written with another account key than this family's (by a phone \
                 that joined with a wrong invite, or from another account): its data key does not unwrap",
                change.version
            )))
        }
    };
    let aad = RecordAad { account_id, record_id: change.record_id, version: change.version };
    let remote = match open_history(&dek, &aad, &change.envelope) {
        Ok(history) => history,
        Err(EnvelopeError::Crypto(_)) => {
            return Ok(Err(format!(
                "version {} of this record does not open with its data key: it is damaged or was altered",
                change.version
            )))
        }
        Err(EnvelopeError::Malformed(_)) => {
            return Ok(Err(format!(
                "version {} of this record opened but does not hold a record this app version can read (made by a \
                 newer app?)",
                change.version
            )))
        }
    };
    let mut future_stamps = 0;
    for v in remote.versions() {
        if account.receive(&v.stamp.hlc) {
            future_stamps += 1;
        }
    }
    let id = change.record_id.to_string();
    let (mut history, server_version, pending, local_rev) = match store::record_get(conn, &id)? {
        None => (remote, change.version, false, 0),
        Some(row) => {
            let mut local: BodyHistory = keys.history(&row)?;
            let unseen_local = local.versions().any(|v| remote.get(&v.stamp).is_none());
            local.merge_history(&remote);
            let known = row.base_version()?;
            (local, known.max(change.version), row.pending && unseen_local, row.local_rev)
        }
    };
    let folded = history.compact();
    let row = keys.seal_row(
        change.record_id,
        change.kind,
        change.subject,
        &dek,
        &history,
        server_version,
        pending,
        local_rev,
    )?;
    Ok(Ok(Merged { row, folded, future_stamps }))
}

#[cfg(test)]
mod tests {
    use phr_core::sync::protocol::ChangeResult;

    use super::*;

    fn answer(batch: Uuid, ids: &[Uuid]) -> PushResponse {
        PushResponse {
            batch_id: batch,
            results: ids
                .iter()
                .map(|id| ChangeResult { record_id: *id, status: ChangeStatus::Applied, version: 1 })
                .collect(),
            change_seq: 1,
        }
    }

    #[test]
    fn a_push_answer_must_name_the_batch_and_answer_exactly_its_changes() {
        let (batch, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let sent = [a.to_string(), b.to_string()];
        check_push_answer(&batch.to_string(), &sent, &answer(batch, &[b, a])).unwrap();
        for wrong in [
            answer(other, &[a, b]),
            answer(batch, &[a]),
            answer(batch, &[a, b, c]),
            answer(batch, &[a, a]),
            answer(batch, &[a, c]),
        ] {
            let err = check_push_answer(&batch.to_string(), &sent, &wrong).unwrap_err();
            assert!(matches!(&err, Error::Protocol(why) if why.contains("nothing was applied")), "{err:?}");
        }
    }

    #[test]
    fn only_a_refusal_of_the_whole_batch_drops_it() {
        for status in [400, 409, 413, 422] {
            assert!(refuses_the_batch(&Error::http(status, "no")), "{status}");
        }
        for status in [401, 403, 404, 408, 429, 500, 503] {
            assert!(!refuses_the_batch(&Error::http(status, "later")), "{status}");
        }
        assert!(!refuses_the_batch(&Error::Protocol("cut off".into())));
        assert!(!refuses_the_batch(&Error::Network("offline".into())));
    }
}
