//! Research extracts: consented, de-identified bulk exports (FHIR Bulk Data 2.0 system-level `$export`).
//!
//! | module | owns |
//! |---|---|
//! | [`deidentify`] | the one pure de-identification pipeline every row passes through |
//! | [`jobs`] | background export jobs (two streaming passes, `*.part` files), restart recovery, retention sweeps |
//! | [`kickoff`] | the kick-off's `Prefer` header and parameters (`_type`, `_since`, `_outputFormat`, `module`), lenient handling |
//! | [`exports`] | the use cases of `/research/v1` (`http::research`): kick-off, status/manifest, cancel, files |
//! | [`metadata`] | the research base's CapabilityStatement (`GET /research/v1/metadata`) |
//!
//! The `research_exports` table is `store::research`.

pub mod deidentify;
pub mod exports;
pub mod jobs;
pub mod kickoff;
pub mod metadata;

pub use jobs::ResearchService;
