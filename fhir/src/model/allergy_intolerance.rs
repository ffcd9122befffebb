//! AllergyIntolerance (JP Core `JP_AllergyIntolerance`-aligned): a substance the
//! person reacts to, with the reactions seen.

use super::condition::OnsetX;
use super::resource::{backbone_struct, resource_struct};
use super::{Annotation, CodeableConcept, Identifier, Reference};

backbone_struct! {
    /// One reaction event.
    pub struct AllergyIntoleranceReaction {
        /// The substance of this reaction, when more specific than the allergy's code.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub substance: Option<CodeableConcept>,
        /// Clinical symptoms and signs.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub manifestation: Vec<CodeableConcept>,
        /// Description of the event as a whole.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// When the reaction started.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub onset: Option<String>,
        /// mild | moderate | severe.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub severity: Option<String>,
        /// How the subject was exposed (route).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub exposure_route: Option<CodeableConcept>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
    }
}

resource_struct! {
    /// Allergy or intolerance (a propensity to an adverse reaction to a substance).
    pub struct AllergyIntolerance (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// active | inactive | resolved.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub clinical_status: Option<CodeableConcept>,
        /// unconfirmed | confirmed | refuted | entered-in-error.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub verification_status: Option<CodeableConcept>,
        /// allergy | intolerance.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// food | medication | environment | biologic.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<String>,
        /// low | high | unable-to-assess.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub criticality: Option<String>,
        /// The substance (or the statement that there is none).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        /// Who it is about.
        pub patient: Reference,
        /// `onset[x]`.
        #[serde(flatten)]
        pub onset: Option<OnsetX>,
        /// When recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorded_date: Option<String>,
        /// Date of the last known reaction.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_occurrence: Option<String>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        /// Adverse reactions seen.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reaction: Vec<AllergyIntoleranceReaction>,
    }
}
