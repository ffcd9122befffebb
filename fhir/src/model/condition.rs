//! Condition (e.g. gestational diabetes).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resource::resource_struct;
use super::{Annotation, CodeableConcept, Identifier, Period, Quantity, Range, Reference};

/// `onset[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OnsetX {
    /// `onsetDateTime`.
    #[serde(rename = "onsetDateTime")]
    DateTime(String),
    /// `onsetAge`.
    #[serde(rename = "onsetAge")]
    Age(Quantity),
    /// `onsetPeriod`.
    #[serde(rename = "onsetPeriod")]
    Period(Period),
    /// `onsetRange`.
    #[serde(rename = "onsetRange")]
    Range(Box<Range>),
    /// `onsetString`.
    #[serde(rename = "onsetString")]
    String(String),
}

/// `abatement[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AbatementX {
    /// `abatementDateTime`.
    #[serde(rename = "abatementDateTime")]
    DateTime(String),
    /// `abatementAge`.
    #[serde(rename = "abatementAge")]
    Age(Quantity),
    /// `abatementPeriod`.
    #[serde(rename = "abatementPeriod")]
    Period(Period),
    /// `abatementRange`.
    #[serde(rename = "abatementRange")]
    Range(Box<Range>),
    /// `abatementString`.
    #[serde(rename = "abatementString")]
    String(String),
}

resource_struct! {
    /// A problem, diagnosis or other condition.
    pub struct Condition (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// active | recurrence | relapse | inactive | remission | resolved.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub clinical_status: Option<CodeableConcept>,
        /// unconfirmed | provisional | differential | confirmed | refuted | entered-in-error.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub verification_status: Option<CodeableConcept>,
        /// problem-list-item | encounter-diagnosis.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        /// Severity.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub severity: Option<CodeableConcept>,
        /// What the condition is.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        /// Where.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub body_site: Vec<CodeableConcept>,
        /// Who has it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// The encounter it was found in.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub encounter: Option<Reference>,
        /// `onset[x]`.
        #[serde(flatten)]
        pub onset: Option<OnsetX>,
        /// `abatement[x]`.
        #[serde(flatten)]
        pub abatement: Option<AbatementX>,
        /// When recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorded_date: Option<String>,
        /// Who recorded it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorder: Option<Reference>,
        /// Who asserted it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub asserter: Option<Reference>,
        /// Stages (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub stage: Vec<Value>,
        /// Evidence (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub evidence: Vec<Value>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
    }
}
