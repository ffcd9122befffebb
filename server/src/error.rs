//! Errors of the server crate.
//!
//! - [`ServerError`]: start-up and admin failures (config, I/O, keys, database).
//! - [`ApiError`]: everything a request can fail with. Its `ResponseError`
//!   impl is the one place errors become HTTP: an RFC 9457 problem document
//!   (`application/problem+json`) with `type`, `title`, `status`, `detail`,
//!   and for validation failures the list of `{path, reason}` problems.
//!   Internal details are logged (without health data) and never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
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
pub enum ApiError {
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
    /// The caller proved it was a device of an account that has since been
    /// erased (a token that still verifies, a refresh token or a signed
    /// challenge of that device): 410 with problem type `account-deleted`,
    /// so the device wipes its local copy. Answered only to such a caller;
    /// anyone else gets the ordinary 401.
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
    /// Too many or too large header fields.
    #[error("{0}")]
    HeaderFieldsTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The database (or another dependency) is unavailable right now.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The short, stable machine-readable name used in the problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unprocessable { .. } => "validation-failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::AccountDeleted => "account-deleted",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::RequestTimeout(_) => "request-timeout",
            ApiError::UriTooLong(_) => "uri-too-long",
            ApiError::HeaderFieldsTooLarge(_) => "header-fields-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests(_) => "too-many-requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (detail, problems) = match self {
            ApiError::Internal(_) => ("an internal error occurred; it has been logged".to_owned(), Vec::new()),
            ApiError::Unprocessable { detail, problems } => (detail.clone(), problems.clone()),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            type_: format!("https://phr.example/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            problems,
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::AccountDeleted => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeaderFieldsTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => {
                tracing::error!(error = %detail, code = self.code(), "request failed");
            }
            _ => tracing::info!(code = self.code(), "request rejected"),
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let ApiError::Unauthorized(_) = self {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::RequestTimeout(_) = self {
            // The rest of the body may still be on its way: never read it as a next request.
            resp.force_close();
        }
        resp.body(serde_json::to_string(&self.problem()).unwrap_or_else(|_| "{}".to_owned()))
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
    Api(#[from] ApiError),
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

/// The RFC 6749 §5.2 error body.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthErrorBody {
    pub error: &'static str,
    pub error_description: String,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            OAuthError::Api(e) => e.status_code(),
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OAuthError::Api(api) = self {
            return api.error_response();
        }
        let error = self.code().unwrap_or("invalid_request");
        tracing::info!(code = error, "token request rejected");
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(OAuthErrorBody { error, error_description: self.to_string() })
    }
}

/// A 422 for one field.
pub fn unprocessable(path: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::Unprocessable {
        detail: format!("{path}: {reason}"),
        problems: vec![FieldProblem { path: path.to_owned(), reason }],
    }
}

/// `Ok(())` if `problems` is empty, else a 422 listing all of them.
pub fn unprocessable_if_any(detail: &str, problems: Vec<(String, String)>) -> Result<(), ApiError> {
    if problems.is_empty() {
        return Ok(());
    }
    let problems: Vec<FieldProblem> =
        problems.into_iter().map(|(path, reason)| FieldProblem { path, reason }).collect();
    let listed: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.reason)).collect();
    Err(ApiError::Unprocessable { detail: format!("{detail}: {}", listed.join("; ")), problems })
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        // PostgreSQL refuses a NUL character in text (SQLite stores it): that is bad input,
        // not a fault of the server. Every handler validates ids first; this is the backstop.
        if let diesel::result::Error::DatabaseError(_, info) = &e {
            if info.message().contains("invalid byte sequence") && info.message().contains("0x00") {
                return ApiError::BadRequest("text values must not contain NUL (U+0000) characters".into());
            }
        }
        ApiError::Internal(format!("database: {}", describe_database_error(&e)))
    }
}

/// A database error for the log: its kind and the constraint or table it is
/// about. A database's message can quote the values of the statement
/// (`invalid input syntax for type uuid: "…"`), so it is left out.
fn describe_database_error(e: &diesel::result::Error) -> String {
    match e {
        diesel::result::Error::DatabaseError(kind, info) => {
            let mut s = format!("{kind:?}");
            if let Some(table) = info.table_name() {
                s.push_str(&format!(" on table {table}"));
            }
            if let Some(constraint) = info.constraint_name() {
                s.push_str(&format!(" (constraint {constraint})"));
            }
            s
        }
        diesel::result::Error::NotFound => "no row".to_owned(),
        diesel::result::Error::RollbackTransaction => "transaction rolled back".to_owned(),
        other => other.to_string(),
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(format!("database connection unavailable: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<phr_core::dataset::ValidationErrors> for ApiError {
    fn from(e: phr_core::dataset::ValidationErrors) -> Self {
        ApiError::Unprocessable {
            detail: e.to_string(),
            problems: e.0.into_iter().map(|i| FieldProblem { path: i.path, reason: i.reason }).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_json(e: &ApiError) -> serde_json::Value {
        let resp = e.error_response();
        let bytes = resp.into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let e = ApiError::Internal("UNIQUE constraint failed: records.secret_thing".into());
        let body = body_json(&e);
        assert_eq!(body["status"], 500);
        assert!(!body.to_string().contains("secret_thing"), "{body}");
    }

    #[test]
    fn validation_errors_become_422_with_every_path() {
        let v = phr_core::dataset::ValidationErrors(vec![
            phr_core::dataset::ValidationIssue { path: "a.b".into(), reason: "too big".into() },
            phr_core::dataset::ValidationIssue { path: "c".into(), reason: "required".into() },
        ]);
        let e = ApiError::from(v);
        assert_eq!(e.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(&e);
        assert_eq!(body["type"], "https://phr.example/problems/validation-failed");
        assert_eq!(body["problems"][0]["path"], "a.b");
        assert_eq!(body["problems"][1]["reason"], "required");
    }

    #[test]
    fn a_deleted_account_is_410_with_its_own_problem_type() {
        let e = ApiError::AccountDeleted;
        assert_eq!(e.status_code(), StatusCode::GONE);
        let body = body_json(&e);
        assert_eq!(body["type"], "https://phr.example/problems/account-deleted");
        assert_eq!(body["status"], 410);
    }

    #[test]
    fn problem_responses_are_problem_json() {
        let resp = ApiError::NotFound("no such record".into()).error_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
    }
}
