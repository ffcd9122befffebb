//! Organization (clinics, pharmacies, municipalities).

use serde_json::Value;

use super::resource::resource_struct;
use super::{Address, CodeableConcept, ContactPoint, Identifier, Reference};

resource_struct! {
    /// A clinic, pharmacy, municipality or research programme.
    pub struct Organization (domain) {
        /// Identifiers (e.g. medical institution code).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Whether the record is in active use.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        /// Kind of organization.
        #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
        pub type_: Vec<CodeableConcept>,
        /// Name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Other names.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub alias: Vec<String>,
        /// Contact details.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub telecom: Vec<ContactPoint>,
        /// Addresses.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub address: Vec<Address>,
        /// Parent organization.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub part_of: Option<Reference>,
        /// Contacts (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub contact: Vec<Value>,
        /// Technical endpoints.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub endpoint: Vec<Reference>,
    }
}
