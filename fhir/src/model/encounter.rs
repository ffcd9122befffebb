//! Encounter (a prenatal visit, a child checkup).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::resource::resource_struct;
use super::{CodeableConcept, Coding, Extension, Identifier, Period, Quantity, Reference};

/// A location the patient was at during the encounter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EncounterLocation {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// The location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Reference>,
    /// planned | active | reserved | completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Period at the location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

resource_struct! {
    /// An interaction between a patient and a provider (a visit).
    pub struct Encounter (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// planned | arrived | triaged | in-progress | onleave | finished | cancelled | ...
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Status history (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub status_history: Vec<Value>,
        /// Classification (v3 ActCode AMB, ...).
        #[serde(rename = "class", skip_serializing_if = "Option::is_none")]
        pub class: Option<Coding>,
        /// Class history (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub class_history: Vec<Value>,
        /// Specific type of encounter (e.g. which checkup).
        #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
        pub type_: Vec<CodeableConcept>,
        /// Service type.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub service_type: Option<CodeableConcept>,
        /// Priority.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub priority: Option<CodeableConcept>,
        /// The patient.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// Episodes of care.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub episode_of_care: Vec<Reference>,
        /// Requests this encounter fulfils.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub based_on: Vec<Reference>,
        /// Participants (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub participant: Vec<Value>,
        /// Appointments.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub appointment: Vec<Reference>,
        /// Start and end.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// Duration.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub length: Option<Quantity>,
        /// Reasons (coded).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_code: Vec<CodeableConcept>,
        /// Reasons (references).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub reason_reference: Vec<Reference>,
        /// Diagnoses (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub diagnosis: Vec<Value>,
        /// Accounts.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub account: Vec<Reference>,
        /// Admission details (kept as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub hospitalization: Option<Value>,
        /// Locations.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub location: Vec<EncounterLocation>,
        /// The organization responsible (the clinic).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub service_provider: Option<Reference>,
        /// Larger encounter this is part of.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub part_of: Option<Reference>,
    }
}
