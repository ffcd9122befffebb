//! PLACEHOLDER — to be replaced by the module implementation.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Newborn {}

impl Validate for Newborn {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

impl DatasetModule for Newborn {
    const KIND: RecordKind = RecordKind::Newborn;
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}
