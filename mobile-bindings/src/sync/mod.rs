//! The sync client, sans-IO: every request goes through the app's
//! [`HttpTransport`].
//!
//! One [`run`]:
//!
//! 1. **Resend** every push batch persisted by an earlier run that never got
//!    its acknowledgement (a crash or a lost answer), with the same
//!    `batch_id` and bytes: the server applies a batch once and answers a
//!    retry with the first answer, so a change is neither lost nor duplicated.
//! 2. **Push** pending records in batches of at most [`PUSH_BATCH`]. Each
//!    batch is written to the outbox (with each record's local revision)
//!    *before* it is sent; its answer is applied in one transaction: an
//!    applied change moves the record to the new server version and clears
//!    `pending` unless the record changed again meanwhile; a conflict leaves it
//!    pending.
//! 3. **Pull** in pages of [`PULL_PAGE`], each page merged into the local
//!    histories with the phr-core rule ([`RecordHistory::merge_history`]) and
//!    the cursor advanced in the same transaction.
//! 4. Conflicted records now hold the server's versions too and are based on
//!    the current server version: go round again (at most [`MAX_ROUNDS`]).
//! 5. Send consent grants made on this device the data keys of records that
//!    came into their scope ([`crate::consent::send_new_grant_keys`]).
//!
//! Cancellation ([`crate::PhrClient::cancel_sync`]) is checked between batches
//! and pages; everything before that point is durably synced.
//!
//! [`RecordHistory::merge_history`]: phr_core::sync::RecordHistory::merge_history

pub mod transport;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::Connection;
use phr_core::crypto::{unwrap_data_key, unwrap_data_key_from, wrap_data_key, AccountWrapContext, RecordAad};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{Change, ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory};
use uuid::Uuid;

use crate::client::{now_ms, Inner};
use crate::error::PhrError;
use crate::store;
use transport::HttpTransport;

/// Changes per push request.
pub const PUSH_BATCH: usize = 200;
/// Changes per pull page.
pub const PULL_PAGE: u32 = 1000;
/// Push/pull rounds per sync before giving up on settling conflicts.
pub const MAX_ROUNDS: usize = 5;

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Pushing,
    Pulling,
    Done,
}

/// Counts so far, reported after every batch and page.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgressUpdate {
    pub phase: SyncPhase,
    /// Changes the server has acknowledged as applied.
    pub pushed: u64,
    /// Changes received from the server.
    pub pulled: u64,
    /// Changes the server refused as conflicting (merged and pushed again).
    pub conflicts: u64,
}

/// The app's progress callback. Called on the syncing thread.
#[uniffi::export(with_foreign)]
pub trait SyncProgress: Send + Sync {
    fn on_progress(&self, update: SyncProgressUpdate);
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    /// Stopped early by `cancel_sync`; call `sync` again to finish.
    pub cancelled: bool,
    /// Records still waiting to go out (0 after a complete sync).
    pub pending: u64,
}

struct Run<'a> {
    transport: &'a dyn HttpTransport,
    progress: Option<&'a dyn SyncProgress>,
    cancel: &'a AtomicBool,
    report: SyncReport,
}

impl Run<'_> {
    fn tell(&self, phase: SyncPhase) {
        if let Some(p) = self.progress {
            p.on_progress(SyncProgressUpdate {
                phase,
                pushed: self.report.pushed,
                pulled: self.report.pulled,
                conflicts: self.report.conflicts,
            });
        }
    }

    fn cancelled(&mut self) -> bool {
        self.report.cancelled = self.cancel.load(Ordering::SeqCst);
        self.report.cancelled
    }
}

/// One sync; see the module docs.
pub(crate) fn run(
    inner: &mut Inner,
    transport: &dyn HttpTransport,
    progress: Option<&dyn SyncProgress>,
    cancel: &AtomicBool,
) -> Result<SyncReport, PhrError> {
    inner.session()?;
    let mut run = Run {
        transport,
        progress,
        cancel,
        report: SyncReport { pushed: 0, pulled: 0, conflicts: 0, cancelled: false, pending: 0 },
    };
    for _round in 0..MAX_ROUNDS {
        let conflicts_before = run.report.conflicts;
        while let Some(batch) = store::outbox_oldest(&mut inner.conn)? {
            send_batch(inner, &mut run, &batch.batch_id, batch.request)?;
            if run.cancelled() {
                return finish(inner, run);
            }
        }
        let pending = store::pending_ids(&mut inner.conn)?;
        for chunk in pending.chunks(PUSH_BATCH) {
            let (batch_id, request) = build_batch(inner, chunk)?;
            send_batch(inner, &mut run, &batch_id, request)?;
            if run.cancelled() {
                return finish(inner, run);
            }
        }
        pull(inner, &mut run)?;
        if run.report.cancelled {
            return finish(inner, run);
        }
        if run.report.conflicts == conflicts_before || store::pending_ids(&mut inner.conn)?.is_empty() {
            break;
        }
    }
    // Records that came into the scope of a grant made here get their keys.
    crate::consent::send_new_grant_keys(inner, transport)?;
    finish(inner, run)
}

fn finish(inner: &mut Inner, mut run: Run<'_>) -> Result<SyncReport, PhrError> {
    run.report.pending = store::pending_ids(&mut inner.conn)?.len() as u64;
    run.tell(SyncPhase::Done);
    Ok(run.report)
}

/// Seals the pending records of `ids` as one push batch and persists it in
/// the outbox before anything is sent.
fn build_batch(inner: &mut Inner, ids: &[String]) -> Result<(String, Vec<u8>), PhrError> {
    let mut changes = Vec::with_capacity(ids.len());
    let mut revs = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(row) = store::record_get(&mut inner.conn, id)? else { continue };
        let s = inner.session()?;
        let record_id = Uuid::parse_str(id).map_err(PhrError::storage)?;
        let dek = inner.dek(&row)?;
        let history = inner.history(&row)?;
        let base_version = u64::try_from(row.server_version).map_err(PhrError::storage)?;
        let aad = RecordAad { account_id: &s.account_id, record_id, version: base_version + 1 };
        let ctx = AccountWrapContext { account_id: &s.account_id, record_id };
        changes.push(Change {
            record_id,
            base_version,
            kind: RecordKind::from_str(&row.kind).map_err(PhrError::storage)?,
            subject: Subject::from_str(&row.subject).map_err(PhrError::storage)?,
            effective_date: row.effective_date.as_deref().and_then(|d| d.parse().ok()),
            deleted: history.is_deleted(),
            envelope: seal_history(&dek, &aad, &history),
            wrapped_key: wrap_data_key(&s.account_key, &dek, &ctx),
        });
        revs.push((id.clone(), row.local_rev));
    }
    let batch_id = Uuid::now_v7();
    let request = serde_json::to_vec(&PushRequest { batch_id, changes }).map_err(PhrError::storage)?;
    let batch_id = batch_id.to_string();
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    inner.conn.transaction::<_, PhrError, _>(|conn| store::outbox_put(conn, &batch_id, &request, &revs, now))?;
    Ok((batch_id, request))
}

/// Sends a persisted batch and applies the answer. On a transport failure
/// the batch stays in the outbox for the next run; a batch the server refuses
/// as a whole (400, 413, 422, or 409 such as the account's record limit) is
/// dropped so it is rebuilt from the records, which stay pending.
fn send_batch(inner: &mut Inner, run: &mut Run<'_>, batch_id: &str, request: Vec<u8>) -> Result<(), PhrError> {
    run.tell(SyncPhase::Pushing);
    let response: PushResponse = match inner.authed(run.transport, "POST", "/sync/v1/push", Some(request)) {
        Ok(r) => r,
        Err(e @ (PhrError::Network { retryable: false, .. } | PhrError::Conflict { .. })) => {
            store::outbox_delete(&mut inner.conn, batch_id)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let (mut applied, mut conflicts) = (0, 0);
    inner.conn.transaction::<_, PhrError, _>(|conn| {
        for result in &response.results {
            let id = result.record_id.to_string();
            let (Some(mut row), Some(rev)) = (store::record_get(conn, &id)?, store::outbox_rev(conn, batch_id, &id)?)
            else {
                continue;
            };
            match result.status {
                ChangeStatus::Applied => {
                    applied += 1;
                    row.server_version = i64::try_from(result.version).map_err(PhrError::storage)?;
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
    run.tell(SyncPhase::Pushing);
    Ok(())
}

/// Pulls every page after the stored cursor, merging as it goes.
fn pull(inner: &mut Inner, run: &mut Run<'_>) -> Result<(), PhrError> {
    loop {
        let cursor = store::meta_get_text(&mut inner.conn, "cursor")?.unwrap_or_else(|| "0".into());
        let cursor: u64 = cursor.parse().map_err(PhrError::storage)?;
        let path = format!("/sync/v1/pull?since={cursor}&limit={PULL_PAGE}");
        let page: PullResponse = inner.authed(run.transport, "GET", &path, None)?;
        let mut rows = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            rows.push(merge_pulled(inner, change)?);
        }
        let clock = inner.session()?.clock;
        inner.conn.transaction::<_, PhrError, _>(|conn| {
            for row in &rows {
                store::record_put(conn, row)?;
            }
            Inner::save_clock(conn, &clock)?;
            store::meta_set(conn, "cursor", page.next_cursor.to_string().as_bytes())
        })?;
        run.report.pulled += page.changes.len() as u64;
        run.tell(SyncPhase::Pulling);
        if !page.more {
            return Ok(());
        }
        if run.cancelled() {
            return Ok(());
        }
    }
}

/// Opens a pulled change and merges it into the local record (the union of
/// both histories), returning the row to store.
fn merge_pulled(inner: &mut Inner, change: &PulledChange) -> Result<store::RecordRow, PhrError> {
    let s = inner.session()?;
    let ctx = AccountWrapContext { account_id: &s.account_id, record_id: change.record_id };
    // Family devices wrap under the account key; data a clinic wrote through
    // the server is wrapped to the account's HPKE key.
    let dek = unwrap_data_key(&s.account_key, &change.wrapped_key, &ctx).or_else(|_| {
        let (private, _) = s.account_key.hpke_key_pair();
        unwrap_data_key_from(&private, &change.wrapped_key, &s.account_id, change.record_id)
    })?;
    let aad = RecordAad { account_id: &s.account_id, record_id: change.record_id, version: change.version };
    let remote = open_history(&dek, &aad, &change.envelope)?;
    let session = inner.session_mut()?;
    for v in remote.versions() {
        session.clock = session.clock.receive(&v.stamp.hlc, now_ms());
    }
    let id = change.record_id.to_string();
    let (history, server_version, pending, local_rev) = match store::record_get(&mut inner.conn, &id)? {
        None => (remote, change.version, false, 0),
        Some(row) => {
            let mut local: BodyHistory = inner.history(&row)?;
            let unseen_local = local.versions().any(|v| remote.get(&v.stamp).is_none());
            local.merge_history(&remote);
            let known = u64::try_from(row.server_version).map_err(PhrError::storage)?;
            (local, known.max(change.version), row.pending && unseen_local, row.local_rev)
        }
    };
    inner.seal_row(change.record_id, change.kind, change.subject, &dek, &history, server_version, pending, local_rev)
}
