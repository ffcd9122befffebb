//! Composition: the first entry of a `document` Bundle, e.g. the International
//! Patient Summary (IPS) the emergency card carries.

use super::resource::{backbone_struct, resource_struct};
use super::{CodeableConcept, Identifier, Narrative, Reference};

backbone_struct! {
    /// One section of the document (IPS: problems, allergies, medications, ...).
    pub struct CompositionSection {
        /// Label for the section.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        /// What the section is about (LOINC section code).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        /// The section's narrative.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub text: Option<Narrative>,
        /// The resources the section is made of.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub entry: Vec<Reference>,
        /// Why the section is empty.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub empty_reason: Option<CodeableConcept>,
        /// Nested sections.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub section: Vec<CompositionSection>,
    }
}

resource_struct! {
    /// A set of healthcare-related information assembled into a single document.
    pub struct Composition (domain) {
        /// Version-independent identifier.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub identifier: Option<Identifier>,
        /// preliminary | final | amended | entered-in-error.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Kind of document (LOINC).
        #[serde(rename = "type")]
        pub type_: CodeableConcept,
        /// Who the document is about.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// When the document was assembled.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub date: Option<String>,
        /// Who and/or what authored it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub author: Vec<Reference>,
        /// Human-readable title.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        /// Confidentiality as a whole (v3 Confidentiality code).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub confidentiality: Option<String>,
        /// Organization which maintains the document.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub custodian: Option<Reference>,
        /// The sections.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub section: Vec<CompositionSection>,
    }
}
