//! `phr-mobile`: the engine the family apps are a thin UI over, exported to
//! Kotlin, Swift and Python with uniffi (proc-macros, no UDL).
//!
//! - [`PhrClient`] (`client.rs`): an object opened on a database path with a
//!   32-byte device storage key and the app's [`HttpTransport`]. It creates or
//!   joins the family account, adds/edits/deletes records of every dataset
//!   module (validated by phr-core), lists timelines, and syncs.
//! - `store/`: the local SQLite store, records encrypted at rest (see
//!   [`store`] for exactly what is in the file).
//! - `sync/`: the sans-IO sync client (paged push with a persisted outbox,
//!   paged pull, merge with the phr-core rule, progress, cancellation).
//! - [`PhrError`] (`error.rs`): the one typed error that crosses the FFI.

uniffi::setup_scaffolding!();

pub mod client;
pub mod error;
pub mod store;
pub mod sync;

pub use client::{AccountSummary, PairingInvite, PhrClient, RecordVersionView, TimelineEntry};
pub use error::{FieldIssue, PhrError};
pub use phr_core as core;
pub use phr_fhir as fhir;
pub use sync::transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};
pub use sync::{SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport};
