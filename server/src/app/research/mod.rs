//! Research extracts: consented, de-identified bulk exports (FHIR Bulk Data style).
//!
//! | module | owns |
//! |---|---|
//! | [`deidentify`] | the one pure de-identification pipeline every row passes through |
//! | [`jobs`] | background export jobs (two streaming passes, `*.part` files), restart recovery, retention sweeps |
//! | [`store`] | the `research_exports` table |
//! | [`api`] | `/research/v1`: kick-off, status/manifest, download, cancel |

pub mod api;
pub mod deidentify;
pub mod jobs;

pub use api::routes;
pub use jobs::ResearchService;
