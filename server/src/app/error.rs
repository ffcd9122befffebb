//! Errors of the server crate.
//!
//! - [`ServerError`]: start-up and admin failures (config, I/O, keys, database).
//! - [`AppError`]: everything a use case can fail with, in the terms of the
//!   product (bad input, not allowed, not found, conflict, …). It knows
//!   nothing of HTTP: `http::error` is the one place it becomes an
//!   HTTP answer (problem JSON, OperationOutcome or OAuth error).
//! - [`OAuthError`]: the refusals of the OAuth 2.0 token endpoint.

use serde::Serialize;

/// Start-up, admin and storage failures outside a request.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration error: {0}")]
    Config(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("key store error: {0}")]
    Keys(String),
    #[error("database error: {0}")]
    Database(String),
}

/// One problem in a request body: where (`changes[3].base_version`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub path: String,
    pub reason: String,
}

/// What a request can fail with. Each variant maps to one status code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed JSON, wrong types, unknown fields, bad query parameters.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but semantically invalid (e.g. a value out of range).
    #[error("{detail}")]
    Unprocessable { detail: String, problems: Vec<FieldProblem> },
    /// Missing, expired, forged or revoked credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` precondition failed: the resource changed since the version the client named.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The caller proved it was a device of an account that has since been
    /// erased (a token that still verifies, a refresh token or a signed
    /// challenge of that device): 410 with problem type `account-deleted`,
    /// so the device wipes its local copy. Answered only to such a caller;
    /// anyone else gets the ordinary 401.
    /// What the request names existed but is no longer usable (a used or expired invite).
    #[error("{0}")]
    Gone(String),
    #[error("this account has been deleted: erase this device's copy of its records and keys")]
    AccountDeleted,
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request (head and body) was not received within the request deadline.
    #[error("{0}")]
    RequestTimeout(String),
    /// The request target is longer than the server reads.
    #[error("{0}")]
    UriTooLong(String),
    /// A SMART Health Link's passcode is missing or wrong: 401 with `remainingAttempts`
    /// (the SHL manifest protocol), the wrong passcodes the link still takes.
    #[error("the passcode is missing or wrong")]
    WrongPasscode { remaining_attempts: u32 },
    /// Too many or too large header fields.
    #[error("{0}")]
    HeaderFieldsTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Over a rate or concurrency limit; `retry_after_secs`: when the limit
    /// lets a request through again, as the limiter computed it (whole
    /// seconds, at least 1), for the `Retry-After` header.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    /// The database (or another dependency) is unavailable right now.
    #[error("{0}")]
    Unavailable(String),
    /// A research export job failed, for this reason (written by the job,
    /// without health data): its status answers 500 with the reason.
    #[error("{0}")]
    ExportFailed(String),
    /// A bug or an unexpected failure; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The short, stable machine-readable name used in the problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unprocessable { .. } => "validation-failed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::WrongPasscode { .. } => "wrong-passcode",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::MethodNotAllowed(_) => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "precondition-failed",
            AppError::Gone(_) => "gone",
            AppError::AccountDeleted => "account-deleted",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::RequestTimeout(_) => "request-timeout",
            AppError::UriTooLong(_) => "uri-too-long",
            AppError::HeaderFieldsTooLarge(_) => "header-fields-too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::ExportFailed(_) => "export-failed",
            AppError::Internal(_) => "internal",
        }
    }

    /// A 429: `detail` for the client, and the whole seconds (at least 1)
    /// after which the limit lets a request through again.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u64) -> AppError {
        AppError::TooManyRequests { detail: detail.into(), retry_after_secs: retry_after_secs.max(1) }
    }

    /// Whether the caller is at fault (bad input, credentials, not allowed,
    /// not found, conflict …) as opposed to the server or a dependency.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, AppError::Internal(_) | AppError::Unavailable(_) | AppError::ExportFailed(_))
    }
}

/// Errors of the OAuth 2.0 token endpoint (`POST /auth/token`): RFC 6749
/// §5.2 JSON `{"error","error_description"}`, not problem documents, because
/// that is what SMART/OAuth client libraries read. `invalid_client` is 401,
/// the others 400; failures of the server itself stay problem documents.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error(transparent)]
    Api(#[from] AppError),
}

impl OAuthError {
    /// The RFC 6749 error code (`None` for server failures).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            OAuthError::InvalidRequest(_) => Some("invalid_request"),
            OAuthError::InvalidClient(_) => Some("invalid_client"),
            OAuthError::UnsupportedGrantType(_) => Some("unsupported_grant_type"),
            OAuthError::InvalidScope(_) => Some("invalid_scope"),
            OAuthError::Api(_) => None,
        }
    }
}

/// A 422 for one field.
pub fn unprocessable(path: &str, reason: impl Into<String>) -> AppError {
    let reason = reason.into();
    AppError::Unprocessable {
        detail: format!("{path}: {reason}"),
        problems: vec![FieldProblem { path: path.to_owned(), reason }],
    }
}

/// `Ok(())` if `problems` is empty, else a 422 listing all of them.
pub fn unprocessable_if_any(detail: &str, problems: Vec<(String, String)>) -> Result<(), AppError> {
    if problems.is_empty() {
        return Ok(());
    }
    let problems: Vec<FieldProblem> =
        problems.into_iter().map(|(path, reason)| FieldProblem { path, reason }).collect();
    let listed: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.reason)).collect();
    Err(AppError::Unprocessable { detail: format!("{detail}: {}", listed.join("; ")), problems })
}

impl From<crate::store::DbError> for AppError {
    fn from(e: crate::store::DbError) -> Self {
        // PostgreSQL refuses a NUL character in text (SQLite stores it): that is bad input,
        // not a fault of the server. Every handler validates ids first; this is the backstop.
        if crate::store::is_nul_in_text(&e) {
            return AppError::BadRequest("text values must not contain NUL (U+0000) characters".into());
        }
        AppError::Internal(format!("database: {}", crate::store::describe_error(&e)))
    }
}

impl From<crate::store::PoolError> for AppError {
    fn from(e: crate::store::PoolError) -> Self {
        AppError::Unavailable(format!("database connection unavailable: {e}"))
    }
}

impl From<phr_core::dataset::ValidationErrors> for AppError {
    fn from(e: phr_core::dataset::ValidationErrors) -> Self {
        AppError::Unprocessable {
            detail: e.to_string(),
            problems: e.0.into_iter().map(|i| FieldProblem { path: i.path, reason: i.reason }).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_keep_every_path() {
        let v = phr_core::dataset::ValidationErrors(vec![
            phr_core::dataset::ValidationIssue { path: "a.b".into(), reason: "too big".into() },
            phr_core::dataset::ValidationIssue { path: "c".into(), reason: "required".into() },
        ]);
        let AppError::Unprocessable { problems, .. } = AppError::from(v) else { panic!("not a validation error") };
        assert_eq!(problems.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["a.b", "c"]);
    }

    #[test]
    fn server_faults_are_not_refusals() {
        assert!(AppError::NotFound("x".into()).is_refusal());
        assert!(!AppError::Internal("x".into()).is_refusal());
        assert!(!AppError::Unavailable("x".into()).is_refusal());
    }
}
