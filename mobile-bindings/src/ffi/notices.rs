//! Municipal notices across the FFI: what a refresh of the followed municipalities' feeds
//! did, and the notices that concern the family today.

use phr_core::ffi::LocalDate;

use crate::engine;

/// One municipality whose feed could not be refreshed (its last copy, if any, is kept).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoticeFeedFailure {
    pub municipality: String,
    pub reason: String,
}

/// What [`PhrClient::refresh_notices`](super::PhrClient::refresh_notices) did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoticeRefresh {
    /// Feeds that changed and were stored.
    pub updated: u32,
    /// Feeds the server said were unchanged (`304 Not Modified`).
    pub unchanged: u32,
    /// Feeds that could not be fetched (offline, or the municipality is gone).
    pub failed: Vec<NoticeFeedFailure>,
}

impl From<engine::notices::NoticeRefresh> for NoticeRefresh {
    fn from(r: engine::notices::NoticeRefresh) -> Self {
        NoticeRefresh {
            updated: r.updated,
            unchanged: r.unchanged,
            failed: r
                .failed
                .into_iter()
                .map(|f| NoticeFeedFailure { municipality: f.municipality, reason: f.reason })
                .collect(),
        }
    }
}

/// A municipal notice that concerns the family today.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoticeView {
    pub notice_id: String,
    /// The municipality's organization id.
    pub municipality: String,
    /// The municipality's display name.
    pub municipality_name: String,
    /// Plain text, one line.
    pub title: String,
    /// Plain text; lines separated by `\n`.
    pub body: String,
    /// Where to read more (https).
    pub link: Option<String>,
    /// The language it is written in (BCP 47).
    pub language: String,
    pub valid_from: LocalDate,
    pub valid_until: LocalDate,
    /// When the municipality last edited it (RFC 3339).
    pub updated_at: String,
    /// Whom of the family it concerns (`mother`, `child:<uuid>`); empty: every family.
    pub subjects: Vec<String>,
    /// Why it is shown, in the language asked for.
    pub reason: String,
}

impl From<engine::notices::NoticeView> for NoticeView {
    fn from(v: engine::notices::NoticeView) -> Self {
        NoticeView {
            notice_id: v.notice_id,
            municipality: v.municipality,
            municipality_name: v.municipality_name,
            title: v.title,
            body: v.body,
            link: v.link,
            language: v.language,
            valid_from: v.valid_from,
            valid_until: v.valid_until,
            updated_at: v.updated_at,
            subjects: v.subjects,
            reason: v.reason,
        }
    }
}
