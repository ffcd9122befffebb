//! The uniffi layer: the exported object [`PhrClient`], the records and enums
//! it takes and returns, the foreign traits the app implements
//! ([`HttpTransport`], [`SyncProgress`]) and [`PhrError`]. Nothing here
//! decides anything: each method delegates to [`crate::engine::Client`].
//!
//! | module | what it holds |
//! |---|---|
//! | `client.rs` | `PhrClient` and its exported methods |
//! | `records.rs` | the exported records and their conversions from/to the engine's types |
//! | `sync.rs` | `SyncPhase`, `SyncProgressUpdate`, `SyncReport`, the `SyncProgress` callback |
//! | `transport.rs` | `HttpRequest`/`HttpResponse`, `TransportError`, the `HttpTransport` foreign trait and its adapter to the engine |
//! | `error.rs` | `PhrError`, `FieldIssue`, and the one mapping from `engine::Error` |
//! | `medication_notebook.rs` | the medication notebook's records (import, export, current medicines, QR scan progress) |
//! | `json.rs` | `record_body_from_json` / `record_body_to_json`: the only JSON form of a record body, for import and export; `message`, `message_languages` and the dataset's labels (`module_label`, `item_label`, `code_label`) |
//!
//! The dataset records themselves (`RecordBody`, `PrenatalVisit`,
//! `Kilograms`, the coded enums, `LocalDate`) are phr-core's own types,
//! exported by phr-core behind its `uniffi` feature; the bindings hold them
//! in their own module (`phr_core`).

pub mod client;
pub mod error;
pub mod json;
pub use json::{code_label, item_label, message, message_languages, module_label};
pub mod medication_notebook;
pub mod notices;
pub mod records;
pub mod sync;
pub mod transport;

pub use client::PhrClient;
pub use error::{FieldIssue, PhrError};
pub use medication_notebook::{
    CurrentDispensing, CurrentDrug, NotebookExport, NotebookImport, NotebookWarning, QrScanProgress,
};
pub use notices::{NoticeFeedFailure, NoticeRefresh, NoticeView};
pub use records::{
    AccountSummary, AuditEntry, ClockStatus, DueImmunization, DueStatus, EmergencyCardView, GrantRequest, GrantView,
    GrowthPoint, Organization, PairingInvite, QuarantinedRecord, RecordVersionView, TimelineEntry, TimelinePage,
};
pub use sync::{EmergencyAccess, RefusedRecord, SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport};
pub use transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};
