//! Observation (measurements, lab results, coded findings, survey answers).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::resource::resource_struct;
use super::{Annotation, CodeableConcept, Element, Extension, Identifier, Period, Reference, ValueX};

/// `effective[x]` of an Observation or MedicationStatement (Timing stays in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EffectiveX {
    /// `effectiveDateTime`.
    #[serde(rename = "effectiveDateTime")]
    DateTime(String),
    /// `effectivePeriod`.
    #[serde(rename = "effectivePeriod")]
    Period(Period),
    /// `effectiveInstant`.
    #[serde(rename = "effectiveInstant")]
    Instant(String),
}

/// One component of an Observation (e.g. systolic inside a blood pressure panel).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObservationComponent {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Modifier extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modifier_extension: Vec<Extension>,
    /// What was observed.
    pub code: CodeableConcept,
    /// `value[x]`.
    #[serde(flatten)]
    pub value: Option<ValueX>,
    /// Why the value is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_absent_reason: Option<CodeableConcept>,
    /// High, low, normal, ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<CodeableConcept>,
    /// Reference ranges (kept as sent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_range: Vec<Value>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource_struct! {
    /// A measurement or simple assertion about a patient.
    pub struct Observation (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Requests this fulfils.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub based_on: Vec<Reference>,
        /// Larger event this is part of.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub part_of: Vec<Reference>,
        /// registered | preliminary | final | amended | ...
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Extensions of `status` (`_status`).
        #[serde(rename = "_status", skip_serializing_if = "Option::is_none")]
        pub status_element: Option<Element>,
        /// vital-signs | exam | laboratory | social-history | survey | ...
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        /// What was observed (LOINC, JP, local).
        pub code: CodeableConcept,
        /// Who or what it is about.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// What it is about when not the subject.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub focus: Vec<Reference>,
        /// The encounter it was made in.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub encounter: Option<Reference>,
        /// `effective[x]`: clinically relevant time.
        #[serde(flatten)]
        pub effective: Option<EffectiveX>,
        /// When made available (instant).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub issued: Option<String>,
        /// Who is responsible.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub performer: Vec<Reference>,
        /// `value[x]`.
        #[serde(flatten)]
        pub value: Option<ValueX>,
        /// Why the value is missing.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub data_absent_reason: Option<CodeableConcept>,
        /// High, low, normal, ...
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub interpretation: Vec<CodeableConcept>,
        /// Comments.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        /// Body site.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub body_site: Option<CodeableConcept>,
        /// Method.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub method: Option<CodeableConcept>,
        /// Specimen.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub specimen: Option<Reference>,
        /// Device.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub device: Option<Reference>,
        /// Reference ranges (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reference_range: Vec<Value>,
        /// Members of a group / panel.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub has_member: Vec<Reference>,
        /// Observations this one was derived from.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub derived_from: Vec<Reference>,
        /// Components (panel items).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub component: Vec<ObservationComponent>,
    }
}
