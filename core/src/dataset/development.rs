//! PLACEHOLDER — to be replaced by the module implementation.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevelopmentMilestone {}

impl Validate for DevelopmentMilestone {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

impl DatasetModule for DevelopmentMilestone {
    const KIND: RecordKind = RecordKind::Development;
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}
