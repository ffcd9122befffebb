//! Patient (JP Core Patient for the mother; the child's Patient for newborns).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resource::resource_struct;
use super::{Address, CodeableConcept, ContactPoint, HumanName, Identifier, Integer, Reference};

/// `deceased[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeceasedX {
    /// `deceasedBoolean`.
    #[serde(rename = "deceasedBoolean")]
    Boolean(bool),
    /// `deceasedDateTime`.
    #[serde(rename = "deceasedDateTime")]
    DateTime(String),
}

/// `multipleBirth[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MultipleBirthX {
    /// `multipleBirthBoolean`.
    #[serde(rename = "multipleBirthBoolean")]
    Boolean(bool),
    /// `multipleBirthInteger` (birth order).
    #[serde(rename = "multipleBirthInteger")]
    Integer(Integer),
}

resource_struct! {
    /// A person receiving care: the mother or a child.
    pub struct Patient (domain) {
        /// Identifiers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// Whether the record is in active use.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        /// Names (JP Core: kanji with IDE, kana with SYL representation).
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
        /// `deceased[x]`.
        #[serde(flatten)]
        pub deceased: Option<DeceasedX>,
        /// Addresses.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub address: Vec<Address>,
        /// Marital status.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub marital_status: Option<CodeableConcept>,
        /// `multipleBirth[x]`.
        #[serde(flatten)]
        pub multiple_birth: Option<MultipleBirthX>,
        /// Photos (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub photo: Vec<Value>,
        /// Contacts (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub contact: Vec<Value>,
        /// Languages (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub communication: Vec<Value>,
        /// Primary care providers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub general_practitioner: Vec<Reference>,
        /// Organization that is the custodian of the record.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub managing_organization: Option<Reference>,
        /// Links to other patient records (kept as sent).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub link: Vec<Value>,
    }
}
