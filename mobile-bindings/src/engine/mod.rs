//! The engine: everything the app does, with no FFI in it. The FFI layer
//! ([`crate::ffi`]) is a thin shell over [`Client`].
//!
//! Modules depend on each other in one direction only, from the bottom up:
//!
//! | module | what it holds | uses |
//! |---|---|---|
//! | `error` | [`Error`], the engine's error, by kind | – |
//! | `clock` | trusted time (the server's `Date` when the device clock is off) and the bound on clock drift | – |
//! | `transport` | the sans-IO [`Transport`] trait, JSON calls, HTTP statuses → [`HttpErrorKind`] | error |
//! | `store/` | the local SQLite file (rows, outbox, grants, quarantine, `meta`), the storage-key seal, the one-client lock | error |
//! | `keys` | [`keys::StorageKey`] and [`keys::RecordKeys`]: what the device storage key and the account key seal | store |
//! | `session` | [`session::Session`]: ids, device key, access token, sign-in, authenticated calls | transport |
//! | `account` | [`account::Account`] (session + record keys + clock), its persistence, enrolling a device | keys, session, store |
//! | `records` | validating bodies, local versions, timelines and histories | account, keys, store |
//! | `child` | growth series, immunizations due | records |
//! | `due` | what is due next per person (checkups, prenatal checkups, immunizations) | child, records |
//! | `medication_notebook` | JAHIS お薬手帳 import and export, the current medicines view | records |
//! | `export` | the FHIR R4 Bundle | keys, store |
//! | `backup` | the passphrase key backup and restore | account |
//! | `consent` | grants with their keys, revocation, audit log | account, keys, store |
//! | `sync` | one sync run (outbox, push, pull, merge, new grant keys) | account, consent, store |
//! | `client` | [`Client`], the facade: the device's parts behind one lock | all of the above |

pub mod account;
pub mod backup;
pub mod child;
pub mod client;
pub mod clock;
pub mod consent;
pub mod due;
pub mod emergency_card;
pub mod error;
pub mod export;
pub mod keys;
pub mod medication_notebook;
pub mod notices;
pub mod notify;
pub mod records;
pub mod session;
pub mod store;
pub mod sync;
pub mod transport;

pub use account::{AccountSummary, PairingInvite};
pub use child::{DueImmunization, DueStatus, GrowthPoint};
pub use client::{Client, ClockStatus};
pub use consent::{AuditEntry, GrantRequest, GrantView, Organization};
pub use emergency_card::{EmergencyAccess, EmergencyCardView};
pub use error::{Error, FieldProblem, HttpErrorKind, Result};
pub use medication_notebook::{NotebookExport, NotebookImport};
pub use records::{RecordVersionView, TimelineEntry, TimelinePage, TimelineQuery};
pub use store::QuarantinedRecord;
pub use sync::{Phase, Progress, ProgressUpdate, RefusedRecord, SyncReport};
pub use transport::{Request, Response, Transport};
