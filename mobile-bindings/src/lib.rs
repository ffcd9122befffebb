//! `phr-mobile`: the engine the family apps are a thin UI over, exported to
//! Kotlin, Swift and Python with uniffi (proc-macros, no UDL).
//!
//! Two layers, depending one way (`ffi` → `engine`):
//!
//! - [`engine`]: all the logic, with no uniffi in it and its own error,
//!   [`engine::Error`], which says by kind what went wrong (local database,
//!   crypto, validation, an HTTP status of a typed kind, no answer, a bad
//!   answer, ...). Its modules form a chain from the bottom up (the table is
//!   in [`engine`]): `error` ← `transport` ← `store/` ← `keys` (the device
//!   storage key, the account key and what they seal) ← `session` (ids,
//!   device key, access token, sign-in) ← `account` (a signed-in device:
//!   session + keys + clock, enrolment) ← `records`, `child`, `export`,
//!   `backup`, `consent` ← `sync` ← `client` ([`engine::Client`], the facade
//!   holding the store, the storage key and the membership behind one lock).
//!   - `store/`: the local SQLite store, records encrypted at rest (see
//!     [`store`] for exactly what is in the file).
//!   - `sync`: the sans-IO sync client (paged push with a persisted outbox,
//!     paged pull, merge with the phr-core rule, progress, cancellation).
//!   - `backup`: the account key sealed under a passphrase on the server,
//!     and restoring the account on a new phone.
//!   - `consent`: organizations, grants (with their keys), revocation, the
//!     audit log.
//!   - `export`: everything as one FHIR R4 Bundle, built from phr-fhir's
//!     typed models.
//!   - `child`: a child's growth series and immunizations due / overdue.
//! - [`ffi`]: the thin uniffi surface. [`PhrClient`] (an object opened on a
//!   database path with a 32-byte device storage key and the app's
//!   [`HttpTransport`]) creates or joins the family account, adds/edits/
//!   deletes records of every dataset module (validated by phr-core), lists
//!   timelines, and syncs; each method delegates to the engine. The exported
//!   records, the foreign traits ([`HttpTransport`], [`SyncProgress`]), and
//!   [`PhrError`], the one typed error that crosses the FFI, with the one
//!   mapping from [`engine::Error`] (`ffi/error.rs`).

uniffi::setup_scaffolding!();

pub mod engine;
pub mod ffi;

pub use engine::store;
pub use ffi::json::{record_body_from_json, record_body_to_json};
pub use ffi::{
    AccountSummary, AuditEntry, DueImmunization, DueStatus, FieldIssue, GrantRequest, GrantView, GrowthPoint,
    HttpHeader, HttpRequest, HttpResponse, HttpTransport, Organization, PairingInvite, PhrClient, PhrError,
    RecordVersionView, SyncPhase, SyncProgress, SyncProgressUpdate, SyncReport, TimelineEntry, TimelinePage,
    TransportError,
};
pub use phr_core as core;
pub use phr_fhir as fhir;
