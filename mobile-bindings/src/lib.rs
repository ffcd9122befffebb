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
//! - `backup.rs`: the account key sealed under a passphrase on the server, and
//!   restoring the account on a new phone.
//! - `consent.rs`: organizations, grants (with their keys), revocation, the
//!   audit log.
//! - `export.rs`: everything as one FHIR R4 Bundle.
//! - `child.rs`: a child's growth series and immunizations due / overdue.
//! - [`PhrError`] (`error.rs`): the one typed error that crosses the FFI.

uniffi::setup_scaffolding!();

pub mod backup;
pub mod child;
pub mod client;
pub mod consent;
pub mod error;
pub mod export;
pub mod store;
pub mod sync;

pub use child::{DueImmunization, GrowthPoint};
pub use client::{AccountSummary, PairingInvite, PhrClient, RecordVersionView, TimelineEntry};
pub use consent::{AuditEntry, GrantRequest, GrantView, Organization};
pub use error::{FieldIssue, PhrError};
pub use phr_core as core;
pub use phr_fhir as fhir;
pub use sync::transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};
pub use sync::{SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport};
