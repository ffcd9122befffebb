//! AuditEvent (who accessed what, through which grant).

use super::resource::{backbone_struct, resource_struct};
use super::{CodeableConcept, Coding, Period, Reference};

backbone_struct! {
    /// Network access point of an agent.
    pub struct AuditEventNetwork {
        /// Address (IP, host name).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub address: Option<String>,
        /// 1 machine name, 2 IP, 3 phone, 4 email, 5 URI.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
    }
}

backbone_struct! {
    /// An actor in the event.
    pub struct AuditEventAgent {
        /// Agent type.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<CodeableConcept>,
        /// Roles.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub role: Vec<CodeableConcept>,
        /// Who.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub who: Option<Reference>,
        /// Alternative id.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub alt_id: Option<String>,
        /// Name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Whether this agent started the event.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub requestor: Option<bool>,
        /// Where.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub location: Option<Reference>,
        /// Policies (e.g. the consent grant) authorising the access.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub policy: Vec<String>,
        /// Network.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub network: Option<AuditEventNetwork>,
        /// Purposes of use.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub purpose_of_use: Vec<CodeableConcept>,
    }
}

backbone_struct! {
    /// The system that reported the event.
    pub struct AuditEventSource {
        /// Site.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub site: Option<String>,
        /// The reporting system.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub observer: Option<Reference>,
        /// Source type.
        #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
        pub type_: Vec<Coding>,
    }
}

backbone_struct! {
    /// Data or objects used.
    pub struct AuditEventEntity {
        /// What.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub what: Option<Reference>,
        /// Type.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<Coding>,
        /// Role.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub role: Option<Coding>,
        /// Lifecycle stage.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub lifecycle: Option<Coding>,
        /// Security labels.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub security_label: Vec<Coding>,
        /// Name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Description.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// Query (base64).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub query: Option<String>,
        /// Details (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub detail: Vec<serde_json::Value>,
    }
}

resource_struct! {
    /// A security-relevant event (an access to records).
    pub struct AuditEvent (domain) {
        /// Event type.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<Coding>,
        /// Subtypes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub subtype: Vec<Coding>,
        /// C | R | U | D | E.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub action: Option<String>,
        /// When the activity happened.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// When recorded (instant).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recorded: Option<String>,
        /// 0 | 4 | 8 | 12.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome: Option<String>,
        /// Outcome description.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome_desc: Option<String>,
        /// Purposes of the event.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub purpose_of_event: Vec<CodeableConcept>,
        /// Actors.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub agent: Vec<AuditEventAgent>,
        /// Reporting system.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source: Option<AuditEventSource>,
        /// Data used.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub entity: Vec<AuditEventEntity>,
    }
}
