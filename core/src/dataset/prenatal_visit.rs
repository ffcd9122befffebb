//! PLACEHOLDER — to be replaced by the module implementation.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrenatalVisit {}

impl Validate for PrenatalVisit {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

impl DatasetModule for PrenatalVisit {
    const KIND: RecordKind = RecordKind::PrenatalVisit;
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}
