//! `subject_identifiers` (one per subject, the mother or a child): the
//! business identifiers a family attaches to a person so that the
//! organizations it shares with can find that person's Patient — the maternal
//! and child health handbook number, a municipal resident or child number, a
//! clinic's medical record number, each with the namespace (system) that
//! issued it. Maps to FHIR `Patient.identifier`.
//!
//! It is identity data, not a dataset module a grant selects: every grant
//! that covers the subject may read it, whatever modules the grant selects;
//! no organization may write it and research never sees it
//! ([`crate::consent`] decides this in one place).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{check_identifiers, Problems, Validate, ValidationContext, ValidationErrors};
pub use super::common::{Identifier, MAX_IDENTIFIER_CHARS};
use super::{DatasetModule, RecordKind};

/// Most identifiers one subject may carry.
pub const MAX_IDENTIFIERS: usize = 20;

/// The identifiers of one subject. Undated: they describe the person, not an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct SubjectIdentifiers {
    /// The identifiers (`Patient.identifier`): 1–20, no two alike. To remove
    /// them all, delete the record.
    pub identifiers: Vec<Identifier>,
}

impl Validate for SubjectIdentifiers {
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        if self.identifiers.is_empty() {
            p.push("identifiers", "needs at least one identifier (delete the record to remove them all)");
        } else if self.identifiers.len() > MAX_IDENTIFIERS {
            p.push("identifiers", format!("at most {MAX_IDENTIFIERS} identifiers, got {}", self.identifiers.len()));
        }
        check_identifiers(&mut p, "identifiers", &self.identifiers);
        p.finish()
    }
}

impl DatasetModule for SubjectIdentifiers {
    const KIND: RecordKind = RecordKind::SubjectIdentifiers;
    /// Always `None`: identifiers are undated.
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new("2026-05-01".parse().unwrap())
    }

    fn id(system: &str, value: &str) -> Identifier {
        Identifier { system: system.into(), value: value.into() }
    }

    fn handbook() -> Identifier {
        id("urn:oid:1.2.392.100495.20.3.81", "2026-0001234")
    }

    #[test]
    fn a_handbook_number_and_a_municipal_child_number_pass() {
        let ids =
            SubjectIdentifiers { identifiers: vec![handbook(), id("https://city.example.jp/child-id", "C-998877")] };
        assert_eq!(ids.validate(&ctx()), Ok(()));
    }

    #[test]
    fn an_empty_list_is_refused() {
        let errs = SubjectIdentifiers { identifiers: vec![] }.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("identifiers"), "{errs}");
    }

    #[test]
    fn more_than_twenty_identifiers_are_refused() {
        let many = (0..=MAX_IDENTIFIERS).map(|i| id("urn:oid:1.2.3", &i.to_string())).collect();
        let errs = SubjectIdentifiers { identifiers: many }.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues()[0].path, "identifiers", "{errs}");
        let twenty = (0..MAX_IDENTIFIERS).map(|i| id("urn:oid:1.2.3", &i.to_string())).collect();
        assert_eq!(SubjectIdentifiers { identifiers: twenty }.validate(&ctx()), Ok(()));
    }

    #[test]
    fn systems_must_be_uris_values_present_and_no_duplicates() {
        let too_long = "9".repeat(MAX_IDENTIFIER_CHARS + 1);
        let ids = SubjectIdentifiers {
            identifiers: vec![handbook(), id("handbook number", ""), handbook(), id("urn:oid:1.2.3", &too_long)],
        };
        let errs = ids.validate(&ctx()).unwrap_err();
        let paths: Vec<&str> = errs.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["identifiers[1].system", "identifiers[1].value", "identifiers[2]", "identifiers[3].value"],
            "{errs}"
        );
    }

    #[test]
    fn json_is_stable_snake_case_and_unknown_fields_are_refused() {
        let ids = SubjectIdentifiers { identifiers: vec![handbook()] };
        let json = serde_json::to_value(&ids).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"identifiers": [{"system": "urn:oid:1.2.392.100495.20.3.81", "value": "2026-0001234"}]})
        );
        assert_eq!(serde_json::from_value::<SubjectIdentifiers>(json).unwrap(), ids);
        assert!(serde_json::from_str::<SubjectIdentifiers>(r#"{"identifiers":[],"mrn":"1"}"#).is_err());
    }

    #[test]
    fn identifiers_are_undated() {
        assert_eq!(SubjectIdentifiers { identifiers: vec![handbook()] }.effective_date(), None);
    }
}
