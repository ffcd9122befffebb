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

impl From<engine::SyncReport> for SyncReport {
    fn from(r: engine::SyncReport) -> Self {
        SyncReport {
            pushed: r.pushed,
            pulled: r.pulled,
            conflicts: r.conflicts,
            cancelled: r.cancelled,
            pending: r.pending,
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
