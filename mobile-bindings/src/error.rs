//! [`PhrError`]: the one error type that crosses the FFI.
//!
//! Apps branch on the variant, never on a message string: `Validation` shows
//! the field, `Auth` sends the user to pair again, `Network` retries later
//! (when `retryable`), `Conflict`/`NotFound` refresh the screen, `Storage` and
//! `Crypto` are reported, `AccountDeleted` tells the user the family account
//! is gone (this device's copy has been wiped).

use phr_core::dataset::ValidationErrors;

/// One problem with a record, by field path (`blood_pressure.systolic`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldIssue {
    pub field: String,
    pub reason: String,
}

/// Everything that can go wrong in a [`PhrClient`](crate::PhrClient) call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PhrError {
    /// The input was refused by phr-core: `field` and `reason` name the first
    /// problem, `issues` lists all of them.
    #[error("invalid {field}: {reason}")]
    Validation { field: String, reason: String, issues: Vec<FieldIssue> },
    /// Not signed in, no account on this device, or the server refused the
    /// device's credentials (pair the device again).
    #[error("authentication failed: {reason}")]
    Auth { reason: String },
    /// The transport failed or the server answered unexpectedly. `retryable`:
    /// trying again later may succeed (no connection, 429, 5xx).
    #[error("network error: {reason}")]
    Network { reason: String, retryable: bool },
    /// The operation clashes with the current state (an account already
    /// exists here, the server refused a change as conflicting).
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// No such record (or it is deleted).
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The local database failed.
    #[error("local storage error: {reason}")]
    Storage { reason: String },
    /// A key or envelope did not open: wrong device storage key, wrong account
    /// key, or tampered data.
    #[error("crypto error: {reason}")]
    Crypto { reason: String },
    /// The family account was deleted (by another device of the family): the
    /// server answered 410 `account-deleted`. The engine has already wiped
    /// this device's copy (every record, the outbox, grants, the sealed
    /// account and device keys) and answers this to every later call, also
    /// after the store is opened again, until a new account is created,
    /// joined or restored here. The app shows that the account is gone and
    /// may delete its device storage key from the Keychain/Keystore.
    #[error("the family account has been deleted: {reason}")]
    AccountDeleted { reason: String },
}

impl PhrError {
    /// A validation error about one field.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        PhrError::Validation {
            issues: vec![FieldIssue { field: field.clone(), reason: reason.clone() }],
            field,
            reason,
        }
    }

    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        PhrError::Storage { reason: e.to_string() }
    }

    pub(crate) fn crypto(e: impl std::fmt::Display) -> Self {
        PhrError::Crypto { reason: e.to_string() }
    }

    pub(crate) fn account_deleted() -> Self {
        PhrError::AccountDeleted {
            reason: "another device of the family deleted the account; this device's copy has been erased".into(),
        }
    }

    pub(crate) fn not_signed_in() -> Self {
        PhrError::Auth { reason: "no account on this device: create or join one first".into() }
    }
}

impl From<ValidationErrors> for PhrError {
    fn from(errors: ValidationErrors) -> Self {
        let issues: Vec<FieldIssue> =
            errors.0.into_iter().map(|i| FieldIssue { field: i.path, reason: i.reason }).collect();
        let first = issues.first().cloned().unwrap_or(FieldIssue { field: "body".into(), reason: "invalid".into() });
        PhrError::Validation { field: first.field, reason: first.reason, issues }
    }
}

impl From<diesel::result::Error> for PhrError {
    fn from(e: diesel::result::Error) -> Self {
        PhrError::storage(e)
    }
}

impl From<diesel::ConnectionError> for PhrError {
    fn from(e: diesel::ConnectionError) -> Self {
        PhrError::storage(e)
    }
}

impl From<phr_core::crypto::CryptoError> for PhrError {
    fn from(e: phr_core::crypto::CryptoError) -> Self {
        PhrError::crypto(e)
    }
}

impl From<phr_core::sync::record_envelope::EnvelopeError> for PhrError {
    fn from(e: phr_core::sync::record_envelope::EnvelopeError) -> Self {
        PhrError::crypto(e)
    }
}
