//! Sync progress and results as the app sees them.

use crate::engine;

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

/// A local record the server would not take on its own (too large, over
/// the account's record limit, invalid): it stays pending and the rest of the
/// sync went on without it. Editing it (e.g. shortening it) lets it go out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedRecord {
    pub record_id: String,
    /// The server's status (413, 409, 422, ...).
    pub status: u16,
    pub reason: String,
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
    /// Local records the server refused one by one this time.
    pub refused: Vec<RefusedRecord>,
    /// Pulled records that did not open and were set aside this time (see
    /// `quarantined_records`); the sync went past them.
    pub quarantined: u64,
    /// Record versions folded by compaction while merging.
    pub folded: u64,
    /// Pulled stamps too far ahead of trusted time to move this device's clock
    /// (another device's clock is wrong).
    pub future_stamps: u64,
    /// Server time minus device time (ms), as measured on this sync.
    pub clock_offset_ms: Option<i64>,
    /// This device's clock is off by more than a minute: tell the user to fix
    /// it (the engine uses the server's time meanwhile).
    pub clock_skewed: bool,
    /// Emergency cards made on this device whose encrypted summary was
    /// refreshed after this sync (same link: the printed QR code keeps working).
    pub emergency_cards_refreshed: u64,
    /// Emergency accesses since the last sync (oldest first): tell the parents.
    pub emergency_accesses: Vec<EmergencyAccess>,
}

/// An emergency access to the family's data: who, when, which card, let in or refused.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EmergencyAccess {
    /// Epoch milliseconds.
    pub at: i64,
    /// Who was reading: the emergency team's own words (a card), or the emergency
    /// department's organization id (break-glass).
    pub recipient: String,
    /// The card read, if it was a card.
    pub card_id: Option<String>,
    /// A break-glass read by a registered emergency department rather than a card.
    pub break_glass: bool,
    /// The reason the emergency department gave (break-glass).
    pub reason: Option<String>,
    /// The summary was handed out (`false`: refused, e.g. a wrong passcode).
    pub granted: bool,
    /// How many attempts this entry stands for (refusals are coalesced).
    pub occurrences: u64,
}

impl From<engine::SyncReport> for SyncReport {
    fn from(r: engine::SyncReport) -> Self {
        SyncReport {
            pushed: r.pushed,
            pulled: r.pulled,
            conflicts: r.conflicts,
            cancelled: r.cancelled,
            pending: r.pending,
            refused: r
                .refused
                .into_iter()
                .map(|r| RefusedRecord { record_id: r.record_id, status: r.status, reason: r.reason })
                .collect(),
            quarantined: r.quarantined,
            folded: r.folded,
            future_stamps: r.future_stamps,
            clock_offset_ms: r.clock_offset_ms,
            clock_skewed: r.clock_skewed,
            emergency_cards_refreshed: r.emergency_cards_refreshed,
            emergency_accesses: r
                .emergency_accesses
                .into_iter()
                .map(|a| EmergencyAccess {
                    at: a.at,
                    recipient: a.recipient,
                    card_id: a.card_id,
                    break_glass: a.break_glass,
                    reason: a.reason,
                    granted: a.granted,
                    occurrences: a.occurrences,
                })
                .collect(),
        }
    }
}

/// The app's [`SyncProgress`] as the engine's [`engine::Progress`].
pub(crate) struct AppProgress<'a>(pub &'a dyn SyncProgress);

impl engine::Progress for AppProgress<'_> {
    fn on_progress(&self, update: engine::ProgressUpdate) {
        let phase = match update.phase {
            engine::Phase::Pushing => SyncPhase::Pushing,
            engine::Phase::Pulling => SyncPhase::Pulling,
            engine::Phase::Done => SyncPhase::Done,
        };
        self.0.on_progress(SyncProgressUpdate {
            phase,
            pushed: update.pushed,
            pulled: update.pulled,
            conflicts: update.conflicts,
        });
    }
}
