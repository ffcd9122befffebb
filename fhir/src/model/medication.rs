//! MedicationStatement and MedicationDispense (the お薬手帳 and vitamin K).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::resource::resource_struct;
use super::{Annotation, CodeableConcept, Dosage, EffectiveX, Extension, Identifier, Quantity, Reference};

/// `medication[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MedicationX {
    /// `medicationCodeableConcept` (YJ / HOT / local codings).
    #[serde(rename = "medicationCodeableConcept")]
    CodeableConcept(CodeableConcept),
    /// `medicationReference`.
    #[serde(rename = "medicationReference")]
    Reference(Reference),
}

resource_struct! {
    /// A medication being or having been taken.
    pub struct MedicationStatement (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Requests this fulfils.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub based_on: Vec<Reference>,
        /// Larger event this is part of.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub part_of: Vec<Reference>,
        /// active | completed | entered-in-error | intended | stopped | on-hold | unknown | not-taken.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Reasons for the status.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub status_reason: Vec<CodeableConcept>,
        /// Category.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<CodeableConcept>,
        /// `medication[x]`.
        #[serde(flatten)]
        pub medication: Option<MedicationX>,
        /// Who takes it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// Encounter or episode.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub context: Option<Reference>,
        /// `effective[x]`.
        #[serde(flatten)]
        pub effective: Option<EffectiveX>,
        /// When asserted.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub date_asserted: Option<String>,
        /// Who asserted it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub information_source: Option<Reference>,
        /// Supporting information.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub derived_from: Vec<Reference>,
        /// Reasons (coded).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_code: Vec<CodeableConcept>,
        /// Reasons (references).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_reference: Vec<Reference>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        /// How taken.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub dosage: Vec<Dosage>,
    }
}

/// Who dispensed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MedicationDispensePerformer {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<CodeableConcept>,
    /// The performer (pharmacy).
    pub actor: Reference,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource_struct! {
    /// A medication handed out by a pharmacy.
    pub struct MedicationDispense (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Larger event this is part of.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub part_of: Vec<Reference>,
        /// preparation | in-progress | cancelled | on-hold | completed | ...
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Category.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub category: Option<CodeableConcept>,
        /// `medication[x]`.
        #[serde(flatten)]
        pub medication: Option<MedicationX>,
        /// Who receives the medication.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// Encounter or episode.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub context: Option<Reference>,
        /// Supporting information.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub supporting_information: Vec<Reference>,
        /// Who dispensed.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub performer: Vec<MedicationDispensePerformer>,
        /// Where dispensed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub location: Option<Reference>,
        /// The prescriptions.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub authorizing_prescription: Vec<Reference>,
        /// Trial fill, partial fill, ...
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<CodeableConcept>,
        /// Amount dispensed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub quantity: Option<Quantity>,
        /// Days supplied.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub days_supply: Option<Quantity>,
        /// When prepared.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub when_prepared: Option<String>,
        /// When handed over.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub when_handed_over: Option<String>,
        /// Where sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub destination: Option<Reference>,
        /// Who collected it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub receiver: Vec<Reference>,
        /// Notes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub note: Vec<Annotation>,
        /// How to take it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub dosage_instruction: Vec<Dosage>,
        /// Substitution (kept as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub substitution: Option<Value>,
    }
}
