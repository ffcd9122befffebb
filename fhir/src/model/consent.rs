//! Consent (a parent's grant of access, in FHIR form).

use super::resource::{backbone_struct, resource_struct};
use super::{Attachment, CodeableConcept, Coding, Identifier, Period, Reference};

backbone_struct! {
    /// Who the rule applies to.
    pub struct ConsentActor {
        /// Role of the actor.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub role: Option<CodeableConcept>,
        /// The actor.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reference: Option<Reference>,
    }
}

backbone_struct! {
    /// Data the rule applies to.
    pub struct ConsentData {
        /// instance | related | dependents | authoredby.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub meaning: Option<String>,
        /// The data.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reference: Option<Reference>,
    }
}

backbone_struct! {
    /// A permit or deny rule (nestable).
    pub struct ConsentProvision {
        /// deny | permit.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// When the rule applies.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// Who.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub actor: Vec<ConsentActor>,
        /// Actions (access, correct, ...).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub action: Vec<CodeableConcept>,
        /// Security labels.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub security_label: Vec<Coding>,
        /// Purposes of use.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub purpose: Vec<Coding>,
        /// Resource types / data classes.
        #[serde(rename = "class", skip_serializing_if = "Vec::is_empty")]
        pub class: Vec<Coding>,
        /// Codes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub code: Vec<CodeableConcept>,
        /// Period of the data covered.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub data_period: Option<Period>,
        /// Specific data.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub data: Vec<ConsentData>,
        /// Nested rules.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub provision: Vec<ConsentProvision>,
    }
}

resource_struct! {
    /// A healthcare consumer's choice to permit or deny access.
    pub struct Consent (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// draft | proposed | active | rejected | inactive | entered-in-error.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// patient-privacy | research | treatment | adr.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub scope: Option<CodeableConcept>,
        /// Categories.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        /// Whose data.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub patient: Option<Reference>,
        /// When agreed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub date_time: Option<String>,
        /// Who agreed.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub performer: Vec<Reference>,
        /// Custodians.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub organization: Vec<Reference>,
        /// `sourceAttachment`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_attachment: Option<Attachment>,
        /// `sourceReference`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_reference: Option<Reference>,
        /// Policies (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub policy: Vec<serde_json::Value>,
        /// Regulation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub policy_rule: Option<CodeableConcept>,
        /// Verification (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub verification: Vec<serde_json::Value>,
        /// The rules.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub provision: Option<ConsentProvision>,
    }
}
