//! `phr-mobile`: the engine the family apps are a thin UI over.
//!
//! This crate will own (issue "Mobile core via uniffi"): `PhrClient`, a uniffi
//! object over a local SQLite store holding records encrypted at rest; the
//! sans-IO sync client (the app supplies HTTP through a foreign trait); consent
//! management; FHIR Bundle export; and the typed `PhrError` that crosses the FFI.
//! Kotlin, Swift and Python bindings are generated from it by `scripts/bindings.sh`.
//!
//! Today it only re-exports the core so app-side code has one import path.

pub use phr_core as core;
pub use phr_fhir as fhir;
