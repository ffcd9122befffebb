//! The sync client, sans-IO: every request goes through the app's
//! [`Transport`].
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
//!    came into their scope ([`super::consent::send_new_grant_keys`]).
//!
//! Cancellation (the `cancel` flag, set by `cancel_sync`) is checked between batches
//! and pages; everything before that point is durably synced.
//!
//! [`RecordHistory::merge_history`]: phr_core::sync::RecordHistory::merge_history

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::{Connection, SqliteConnection};
use phr_core::crypto::{unwrap_data_key, unwrap_data_key_from, AccountWrapContext, RecordAad};
use phr_core::sync::protocol::{Change, ChangeStatus, PullResponse, PulledChange, PushRequest, PushResponse};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory};
use uuid::Uuid;

use super::account::{now_ms, save_clock, Account};
use super::consent::send_new_grant_keys;
use super::error::{Error, HttpErrorKind, Result};
use super::keys::StorageKey;
use super::store;
use super::transport::{json_body, Transport};

/// Changes per push request.
pub const PUSH_BATCH: usize = 200;
/// Changes per pull page.
pub const PULL_PAGE: u32 = 1000;
/// Push/pull rounds per sync before giving up on settling conflicts.
pub const MAX_ROUNDS: usize = 5;

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

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    transport: &'a dyn Transport,
    progress: Option<&'a dyn Progress>,
    cancel: &'a AtomicBool,
    report: SyncReport,
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
        self.report.cancelled = self.cancel.load(Ordering::SeqCst);
        self.report.cancelled
    }
}

/// The parts of the device a sync works on.
pub struct Device<'a> {
    pub conn: &'a mut SqliteConnection,
    pub account: &'a mut Account,
    /// Opens the grant keys kept on this device.
    pub storage_key: &'a StorageKey,
}

/// One sync; see the module docs.
pub fn run(
    device: Device<'_>,
    transport: &dyn Transport,
    progress: Option<&dyn Progress>,
    cancel: &AtomicBool,
) -> Result<SyncReport> {
    let Device { conn, account, storage_key } = device;
    let mut run = Run {
        transport,
        progress,
        cancel,
        report: SyncReport { pushed: 0, pulled: 0, conflicts: 0, cancelled: false, pending: 0 },
    };
    for _round in 0..MAX_ROUNDS {
        let conflicts_before = run.report.conflicts;
        while let Some(batch) = store::outbox_oldest(conn)? {
            send_batch(conn, account, &mut run, &batch.batch_id, batch.request)?;
            if run.cancelled() {
                return finish(conn, run);
            }
        }
        let pending = store::pending_ids(conn)?;
        for chunk in pending.chunks(PUSH_BATCH) {
            let (batch_id, request) = build_batch(conn, account, chunk)?;
            send_batch(conn, account, &mut run, &batch_id, request)?;
            if run.cancelled() {
                return finish(conn, run);
            }
        }
        pull(conn, account, &mut run)?;
        if run.report.cancelled {
            return finish(conn, run);
        }
        if run.report.conflicts == conflicts_before || store::pending_ids(conn)?.is_empty() {
            break;
        }
    }
    // Records that came into the scope of a grant made here get their keys.
    send_new_grant_keys(conn, account, storage_key, transport)?;
    finish(conn, run)
}

fn finish(conn: &mut SqliteConnection, mut run: Run<'_>) -> Result<SyncReport> {
    run.report.pending = store::pending_ids(conn)?.len() as u64;
    run.tell(Phase::Done);
    Ok(run.report)
}

/// Seals the pending records of `ids` as one push batch and persists it in
/// the outbox before anything is sent.
fn build_batch(conn: &mut SqliteConnection, account: &Account, ids: &[String]) -> Result<(String, Vec<u8>)> {
    let keys = &account.keys;
    let mut changes = Vec::with_capacity(ids.len());
    let mut revs = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(row) = store::record_get(conn, id)? else { continue };
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
    let batch_id = Uuid::now_v7();
    let request = json_body("the push batch", &PushRequest { batch_id, changes })?;
    let batch_id = batch_id.to_string();
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    conn.transaction::<_, Error, _>(|conn| store::outbox_put(conn, &batch_id, &request, &revs, now))?;
    Ok((batch_id, request))
}

/// Sends a persisted batch and applies the answer. On a transport failure
/// the batch stays in the outbox for the next run; a batch the server refuses
/// as a whole (400, 413, 422, or 409 such as the account's record limit) is
/// dropped so it is rebuilt from the records, which stay pending.
fn send_batch(
    conn: &mut SqliteConnection,
    account: &mut Account,
    run: &mut Run<'_>,
    batch_id: &str,
    request: Vec<u8>,
) -> Result<()> {
    run.tell(Phase::Pushing);
    let response: PushResponse = match account.session.call(run.transport, "POST", "/sync/v1/push", Some(request)) {
        Ok(r) => r,
        Err(e) if refuses_the_batch(&e) => {
            store::outbox_delete(conn, batch_id)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
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

/// Whether the server's answer to a push refuses the batch as a whole, so
/// that resending the same bytes cannot help: any error status other than a
/// refused token, a missing resource or a transient failure (400, 413, 422,
/// or 409 such as the account's record limit), or an answer that does not
/// read as a push answer.
fn refuses_the_batch(e: &Error) -> bool {
    match e {
        Error::Http { kind, .. } => matches!(kind, HttpErrorKind::Conflict | HttpErrorKind::Rejected),
        Error::Protocol(_) => true,
        _ => false,
    }
}

/// Pulls every page after the stored cursor, merging as it goes.
fn pull(conn: &mut SqliteConnection, account: &mut Account, run: &mut Run<'_>) -> Result<()> {
    loop {
        let cursor = store::meta_get_text(conn, "cursor")?.unwrap_or_else(|| "0".into());
        let cursor: u64 = cursor.parse().map_err(Error::corrupt)?;
        let path = format!("/sync/v1/pull?since={cursor}&limit={PULL_PAGE}");
        let page: PullResponse = account.session.call(run.transport, "GET", &path, None)?;
        let mut rows = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            rows.push(merge_pulled(conn, account, change)?);
        }
        let clock = account.clock;
        conn.transaction::<_, Error, _>(|conn| {
            for row in &rows {
                store::record_put(conn, row)?;
            }
            save_clock(conn, &clock)?;
            store::meta_set(conn, "cursor", page.next_cursor.to_string().as_bytes())
        })?;
        run.report.pulled += page.changes.len() as u64;
        run.tell(Phase::Pulling);
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
fn merge_pulled(conn: &mut SqliteConnection, account: &mut Account, change: &PulledChange) -> Result<store::RecordRow> {
    let keys = &account.keys;
    let account_id = keys.account_id();
    let ctx = AccountWrapContext { account_id, record_id: change.record_id };
    // Family devices wrap under the account key; data a clinic wrote through
    // the server is wrapped to the account's HPKE key.
    let dek = unwrap_data_key(keys.account_key(), &change.wrapped_key, &ctx).or_else(|_| {
        let (private, _) = keys.account_key().hpke_key_pair();
        unwrap_data_key_from(&private, &change.wrapped_key, account_id, change.record_id)
    })?;
    let aad = RecordAad { account_id, record_id: change.record_id, version: change.version };
    let remote = open_history(&dek, &aad, &change.envelope)?;
    for v in remote.versions() {
        account.clock = account.clock.receive(&v.stamp.hlc, now_ms());
    }
    let keys = &account.keys;
    let id = change.record_id.to_string();
    let (history, server_version, pending, local_rev) = match store::record_get(conn, &id)? {
        None => (remote, change.version, false, 0),
        Some(row) => {
            let mut local: BodyHistory = keys.history(&row)?;
            let unseen_local = local.versions().any(|v| remote.get(&v.stamp).is_none());
            local.merge_history(&remote);
            let known = row.base_version()?;
            (local, known.max(change.version), row.pending && unseen_local, row.local_rev)
        }
    };
    keys.seal_row(change.record_id, change.kind, change.subject, &dek, &history, server_version, pending, local_rev)
}
