//! PLACEHOLDER — to be replaced by the module implementation.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pregnancy {}

impl Validate for Pregnancy {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

impl DatasetModule for Pregnancy {
    const KIND: RecordKind = RecordKind::Pregnancy;
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}
