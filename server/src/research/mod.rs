//! Research extracts: consented, de-identified bulk exports (FHIR Bulk Data style).
//!
//! | module | owns |
//! |---|---|
//! | [`deidentify`] | the one pure de-identification pipeline every row passes through |

pub mod deidentify;
