//! CapabilityStatement (`GET /metadata`).

use super::resource::{backbone_struct, resource_struct};
use super::CodeableConcept;

backbone_struct! {
    /// Software.
    pub struct CapabilityStatementSoftware {
        /// Name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Version.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub version: Option<String>,
        /// Release date.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub release_date: Option<String>,
    }
}

backbone_struct! {
    /// The instance.
    pub struct CapabilityStatementImplementation {
        /// Description.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// Base URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
    }
}

backbone_struct! {
    /// An interaction (read, search-type, create, ...).
    pub struct CapabilityStatementInteraction {
        /// The interaction code.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        /// Documentation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub documentation: Option<String>,
    }
}

backbone_struct! {
    /// A search parameter.
    pub struct CapabilityStatementSearchParam {
        /// Name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Definition (canonical).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub definition: Option<String>,
        /// number | date | string | token | reference | ...
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// Documentation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub documentation: Option<String>,
    }
}

backbone_struct! {
    /// What is supported for one resource type.
    pub struct CapabilityStatementResource {
        /// The resource type.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// Base profile.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub profile: Option<String>,
        /// Supported profiles.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub supported_profile: Vec<String>,
        /// Documentation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub documentation: Option<String>,
        /// Interactions.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub interaction: Vec<CapabilityStatementInteraction>,
        /// no-version | versioned | versioned-update.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub versioning: Option<String>,
        /// Whether vRead of history is supported.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub read_history: Option<bool>,
        /// Whether update can create.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub update_create: Option<bool>,
        /// Search parameters.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub search_param: Vec<CapabilityStatementSearchParam>,
    }
}

backbone_struct! {
    /// Security of a REST endpoint (SMART on FHIR is declared here).
    pub struct CapabilityStatementSecurity {
        /// CORS headers supported.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cors: Option<bool>,
        /// OAuth, SMART-on-FHIR, ...
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub service: Vec<CodeableConcept>,
        /// Description.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }
}

backbone_struct! {
    /// A REST endpoint.
    pub struct CapabilityStatementRest {
        /// client | server.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub mode: Option<String>,
        /// Documentation.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub documentation: Option<String>,
        /// Security.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub security: Option<CapabilityStatementSecurity>,
        /// Resources.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub resource: Vec<CapabilityStatementResource>,
        /// System interactions.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub interaction: Vec<CapabilityStatementInteraction>,
    }
}

resource_struct! {
    /// What this server supports.
    pub struct CapabilityStatement (domain) {
        /// Canonical URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// Version.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub version: Option<String>,
        /// Name (computer friendly).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Title.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        /// draft | active | retired | unknown.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// For testing only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub experimental: Option<bool>,
        /// Date last changed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub date: Option<String>,
        /// Publisher.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub publisher: Option<String>,
        /// Description.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// instance | capability | requirements.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub kind: Option<String>,
        /// Software.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub software: Option<CapabilityStatementSoftware>,
        /// The instance.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub implementation: Option<CapabilityStatementImplementation>,
        /// FHIR version (4.0.1).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub fhir_version: Option<String>,
        /// Formats (json, application/fhir+json).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub format: Vec<String>,
        /// Patch formats.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub patch_format: Vec<String>,
        /// Implementation guides.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub implementation_guide: Vec<String>,
        /// REST endpoints.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub rest: Vec<CapabilityStatementRest>,
    }
}
