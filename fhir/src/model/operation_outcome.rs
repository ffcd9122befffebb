//! OperationOutcome (errors and warnings of the FHIR API).

use super::resource::{backbone_struct, resource_struct};
use super::CodeableConcept;

backbone_struct! {
    /// One issue.
    pub struct OperationOutcomeIssue {
        /// fatal | error | warning | information.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub severity: Option<String>,
        /// Issue type (invalid, required, value, code-invalid, not-found, ...).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        /// Coded details.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub details: Option<CodeableConcept>,
        /// Diagnostic text.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub diagnostics: Option<String>,
        /// Deprecated XPath locations.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub location: Vec<String>,
        /// FHIRPath of the elements concerned.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub expression: Vec<String>,
    }
}

resource_struct! {
    /// Information about the outcome of an operation.
    pub struct OperationOutcome (domain) {
        /// The issues.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub issue: Vec<OperationOutcomeIssue>,
    }
}

impl OperationOutcome {
    /// One `error` issue of `code` with `diagnostics` about the element at `expression`.
    pub fn error(code: &str, diagnostics: impl Into<String>, expression: Option<&str>) -> Self {
        OperationOutcome {
            issue: vec![OperationOutcomeIssue {
                severity: Some("error".into()),
                code: Some(code.into()),
                diagnostics: Some(diagnostics.into()),
                expression: expression.map(|e| vec![e.to_owned()]).unwrap_or_default(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}
