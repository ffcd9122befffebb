//! What the FHIR use cases fail with: an [`AppError`] (which gives the status)
//! with, when known, the element it is about and what kind of problem the
//! failing items of a 422 have. `http/fhir/outcome.rs` is the one place
//! this becomes an OperationOutcome.

use crate::app::error::{unprocessable, AppError};

/// What the failing items of a 422 are about (each becomes one OperationOutcome issue).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ItemProblem {
    /// A value out of range or otherwise not acceptable.
    #[default]
    Value,
    /// A code this server does not know.
    UnknownCode,
}

/// A failed FHIR interaction.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct FhirError {
    pub error: AppError,
    /// The element the error is about (the OperationOutcome issue's expression).
    pub element: Option<String>,
    /// What the failing items of a 422 are about.
    pub items: ItemProblem,
}

impl From<AppError> for FhirError {
    fn from(error: AppError) -> Self {
        FhirError { error, element: None, items: ItemProblem::Value }
    }
}

/// Result of a FHIR use case.
pub type FhirResult<T> = Result<T, FhirError>;

/// A 400 about the element at `path` (the OperationOutcome names it as its expression).
pub fn bad_element(path: &str, reason: impl std::fmt::Display) -> FhirError {
    FhirError {
        error: AppError::BadRequest(format!("{path}: {reason}")),
        element: Some(path.to_owned()),
        items: ItemProblem::Value,
    }
}

/// A plain 400.
pub fn bad_request(reason: impl Into<String>) -> FhirError {
    AppError::BadRequest(reason.into()).into()
}

/// A 422 for a code at `path` this server does not know.
pub fn unknown_code(path: &str, reason: impl Into<String>) -> FhirError {
    FhirError { error: unprocessable(path, reason), element: None, items: ItemProblem::UnknownCode }
}
