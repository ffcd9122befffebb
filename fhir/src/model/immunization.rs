//! Immunization (one vaccine dose given).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::resource::resource_struct;
use super::{Annotation, CodeableConcept, Extension, Identifier, Integer, Quantity, Reference};

/// `occurrence[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OccurrenceX {
    /// `occurrenceDateTime`.
    #[serde(rename = "occurrenceDateTime")]
    DateTime(String),
    /// `occurrenceString`.
    #[serde(rename = "occurrenceString")]
    String(String),
}

/// `doseNumber[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DoseNumberX {
    /// `doseNumberPositiveInt`.
    #[serde(rename = "doseNumberPositiveInt")]
    PositiveInt(Integer),
    /// `doseNumberString`.
    #[serde(rename = "doseNumberString")]
    String(String),
}

/// `seriesDoses[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SeriesDosesX {
    /// `seriesDosesPositiveInt`.
    #[serde(rename = "seriesDosesPositiveInt")]
    PositiveInt(Integer),
    /// `seriesDosesString`.
    #[serde(rename = "seriesDosesString")]
    String(String),
}

/// Who performed the vaccination and in what role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImmunizationPerformer {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Role (OP administering provider, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<CodeableConcept>,
    /// The performer.
    pub actor: Reference,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The protocol (series, dose number) the dose was given under.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImmunizationProtocolApplied {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Name of the series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Who recommends the protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<Reference>,
    /// Diseases targeted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_disease: Vec<CodeableConcept>,
    /// `doseNumber[x]`.
    #[serde(flatten)]
    pub dose_number: Option<DoseNumberX>,
    /// `seriesDoses[x]`.
    #[serde(flatten)]
    pub series_doses: Option<SeriesDosesX>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource_struct! {
    /// A vaccine dose given (or reported as given).
    pub struct Immunization (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// completed | entered-in-error | not-done.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Why not done.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status_reason: Option<CodeableConcept>,
        /// The vaccine (JP HOT9 and the local vaccine list).
        pub vaccine_code: CodeableConcept,
        /// The vaccinated person.
        pub patient: Reference,
        /// The encounter.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub encounter: Option<Reference>,
        /// `occurrence[x]`: when given.
        #[serde(flatten)]
        pub occurrence: Option<OccurrenceX>,
        /// When recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorded: Option<String>,
        /// Whether the record came from the person who gave the dose.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub primary_source: Option<bool>,
        /// Where a secondary report came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub report_origin: Option<CodeableConcept>,
        /// Where given.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub location: Option<Reference>,
        /// Manufacturer.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub manufacturer: Option<Reference>,
        /// Lot number.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub lot_number: Option<String>,
        /// Expiry of the lot.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub expiration_date: Option<String>,
        /// Body site.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub site: Option<CodeableConcept>,
        /// Route.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub route: Option<CodeableConcept>,
        /// Amount given.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub dose_quantity: Option<Quantity>,
        /// Who gave it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub performer: Vec<ImmunizationPerformer>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        /// Why given (coded).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_code: Vec<CodeableConcept>,
        /// Why given (references).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_reference: Vec<Reference>,
        /// Whether the dose was subpotent.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub is_subpotent: Option<bool>,
        /// Why subpotent.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub subpotent_reason: Vec<CodeableConcept>,
        /// Education given (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub education: Vec<Value>,
        /// Eligibility for a funding programme (routine 定期 / voluntary 任意).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub program_eligibility: Vec<CodeableConcept>,
        /// Funding source.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub funding_source: Option<CodeableConcept>,
        /// Reactions (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reaction: Vec<Value>,
        /// Protocol followed.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub protocol_applied: Vec<ImmunizationProtocolApplied>,
    }
}
