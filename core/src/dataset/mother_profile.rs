//! PLACEHOLDER — to be replaced by the module implementation.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotherProfile {}

impl Validate for MotherProfile {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

impl DatasetModule for MotherProfile {
    const KIND: RecordKind = RecordKind::MotherProfile;
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}
