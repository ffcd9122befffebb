//! Research extracts: consented, de-identified bulk exports (FHIR Bulk Data style).
//!
//! | module | owns |
//! |---|---|
//! | [`deidentify`] | the one pure de-identification pipeline every row passes through |
//! | [`jobs`] | background export jobs (two streaming passes, `*.part` files), restart recovery, retention sweeps |
//! | [`exports`] | the use cases of `/research/v1` (`http::research`): kick-off, status/manifest, cancel, files |
//!
//! The `research_exports` table is `store::research`.

pub mod deidentify;
pub mod exports;
pub mod jobs;

pub use jobs::ResearchService;
