//! RelatedPerson (a parent acting for a child).

use serde_json::Value;

use super::resource::resource_struct;
use super::{Address, CodeableConcept, ContactPoint, HumanName, Identifier, Period, Reference};

resource_struct! {
    /// A person related to a patient (e.g. the mother of a child), not a care provider.
    pub struct RelatedPerson (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Whether the record is in active use.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        /// The patient this person is related to.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub patient: Option<Reference>,
        /// The relationship (e.g. v3 RoleCode MTH).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub relationship: Vec<CodeableConcept>,
        /// Names.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub name: Vec<HumanName>,
        /// Contact details.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub telecom: Vec<ContactPoint>,
        /// male | female | other | unknown.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub gender: Option<String>,
        /// Birth date.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub birth_date: Option<String>,
        /// Addresses.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub address: Vec<Address>,
        /// Photos (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub photo: Vec<Value>,
        /// Period of the relationship.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub period: Option<Period>,
        /// Languages (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub communication: Vec<Value>,
    }
}
