//! The one place errors become HTTP answers.
//!
//! - [`AppError`] becomes an RFC 9457 problem document
//!   (`application/problem+json`) with `type`, `title`, `status`, `detail`,
//!   and for validation failures the list of `{path, reason}` problems.
//!   Internal details are logged (without health data) and never sent.
//! - [`OAuthError`] becomes the RFC 6749 §5.2 `{"error","error_description"}` body.
//! - Under `/fhir/r4`, the same errors become OperationOutcomes (`http::fhir::outcome`).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::app::error::{AppError, FieldProblem, OAuthError};

/// The status code of an error.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Unauthorized(_) | AppError::WrongPasscode { .. } => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        AppError::AccountDeleted | AppError::Gone(_) => StatusCode::GONE,
        AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        AppError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
        AppError::HeaderFieldsTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::ExportFailed(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `Retry-After` of a 503 (the database unreachable, the server shutting
/// down or over its connection cap): nothing knows when that ends, so it asks
/// for a few seconds.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The `Retry-After` (seconds) sent with an error: a 429 says what the limit
/// that refused it computed (when its token bucket holds a token again, or
/// when a research client should look again), a 503
/// [`UNAVAILABLE_RETRY_AFTER_SECS`]; nothing else has one.
pub fn retry_after_secs(e: &AppError) -> Option<u64> {
    match e {
        AppError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
        AppError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
        _ => None,
    }
}

/// The `Retry-After` header for `secs` seconds: how every answer that has one
/// (errors here and in `http::fhir::outcome`, a running research export's
/// 202) writes it.
pub fn retry_after(secs: u64) -> (header::HeaderName, String) {
    (header::RETRY_AFTER, secs.to_string())
}

/// The problem document sent to the client.
pub fn problem(e: &AppError) -> Problem {
    let status = status_of(e);
    let (detail, problems) = match e {
        AppError::Internal(_) => ("an internal error occurred; it has been logged".to_owned(), Vec::new()),
        AppError::Unprocessable { detail, problems } => (detail.clone(), problems.clone()),
        other => (other.to_string(), Vec::new()),
    };
    Problem {
        type_: format!("https://phr.example/problems/{}", e.code()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        problems,
        remaining_attempts: match e {
            AppError::WrongPasscode { remaining_attempts } => Some(*remaining_attempts),
            _ => None,
        },
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
    /// A SMART Health Link's wrong passcode: the attempts it still takes (the SHL spec's name).
    #[serde(rename = "remainingAttempts", skip_serializing_if = "Option::is_none")]
    pub remaining_attempts: Option<u32>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(detail) | AppError::Unavailable(detail) => {
                tracing::error!(error = %detail, code = self.code(), "request failed");
            }
            _ => tracing::info!(code = self.code(), "request rejected"),
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let AppError::Unauthorized(_) = self {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = retry_after_secs(self) {
            resp.insert_header(retry_after(secs));
        }
        if let AppError::RequestTimeout(_) = self {
            // The rest of the body may still be on its way: never read it as a next request.
            resp.force_close();
        }
        resp.body(serde_json::to_string(&problem(self)).unwrap_or_else(|_| "{}".to_owned()))
    }
}

/// The HTML error page of the care-team portal's pages.
#[derive(askama::Template)]
#[template(path = "portal/error.html")]
struct HtmlErrorPage<'a> {
    title: &'a str,
    detail: &'a str,
}

/// An error as an HTML page (the portal's pages): the status and detail of its problem
/// document (internal details are logged, never shown), logged like every error answer.
pub fn html_error(e: &AppError) -> HttpResponse {
    use askama::Template as _;
    match e {
        AppError::Internal(detail) | AppError::Unavailable(detail) => {
            tracing::error!(error = %detail, code = e.code(), "request failed");
        }
        _ => tracing::info!(code = e.code(), "request rejected"),
    }
    let p = problem(e);
    let body = HtmlErrorPage { title: &p.title, detail: &p.detail }
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Error</p>".to_owned());
    let mut resp = HttpResponse::build(status_of(e));
    if let Some(secs) = retry_after_secs(e) {
        resp.insert_header(retry_after(secs));
    }
    resp.content_type("text/html; charset=utf-8").body(body)
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
            OAuthError::Api(e) => status_of(e),
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn retry_after_of(e: AppError) -> Option<String> {
        e.error_response().headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn every_429_and_503_says_when_to_retry_and_nothing_else_does() {
        assert_eq!(retry_after_of(AppError::too_many_requests("slow down", 1)).as_deref(), Some("1"));
        assert_eq!(retry_after_of(AppError::Unavailable("database down".into())).as_deref(), Some("5"));
        assert_eq!(retry_after_of(AppError::BadRequest("no".into())), None);
        assert_eq!(retry_after_of(AppError::Conflict("no".into())), None);
        assert_eq!(retry_after_of(AppError::Internal("bug".into())), None);
    }

    #[test]
    fn a_429_carries_the_wait_its_limiter_computed() {
        for secs in [1, 2, 10, 3600] {
            let e = AppError::too_many_requests("slow down", secs);
            assert_eq!(status_of(&e), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(retry_after_secs(&e), Some(secs));
            assert_eq!(retry_after_of(e), Some(secs.to_string()));
        }
        // A limiter never asks for "now": 0 is read as one second.
        assert_eq!(retry_after_of(AppError::too_many_requests("slow down", 0)).as_deref(), Some("1"));
    }

    #[test]
    fn a_503_asks_for_the_named_interval() {
        let e = AppError::Unavailable("database down".into());
        assert_eq!(retry_after_secs(&e), Some(UNAVAILABLE_RETRY_AFTER_SECS));
        assert_eq!(retry_after_of(e), Some(UNAVAILABLE_RETRY_AFTER_SECS.to_string()));
    }

    #[test]
    fn the_retry_after_header_is_delta_seconds() {
        let (name, value) = retry_after(7);
        assert_eq!(name, header::RETRY_AFTER);
        assert_eq!(value, "7");
    }

    fn body_json(e: &AppError) -> serde_json::Value {
        let resp = e.error_response();
        let bytes = resp.into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let e = AppError::Internal("UNIQUE constraint failed: records.secret_thing".into());
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
        let e = AppError::from(v);
        assert_eq!(status_of(&e), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(&e);
        assert_eq!(body["type"], "https://phr.example/problems/validation-failed");
        assert_eq!(body["problems"][0]["path"], "a.b");
        assert_eq!(body["problems"][1]["reason"], "required");
    }

    #[test]
    fn a_deleted_account_is_410_with_its_own_problem_type() {
        let e = AppError::AccountDeleted;
        assert_eq!(status_of(&e), StatusCode::GONE);
        let body = body_json(&e);
        assert_eq!(body["type"], "https://phr.example/problems/account-deleted");
        assert_eq!(body["status"], 410);
    }

    #[test]
    fn html_error_pages_keep_the_status_and_hide_internal_details() {
        let resp = html_error(&AppError::Gone("this invite has expired".into()));
        assert_eq!(resp.status(), StatusCode::GONE);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), "text/html; charset=utf-8");
        let body = String::from_utf8(resp.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("this invite has expired") && body.contains("<h1>Gone</h1>"), "{body}");
        let resp = html_error(&AppError::Internal("secret_table".into()));
        let body = String::from_utf8(resp.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
        assert!(!body.contains("secret_table"), "{body}");
    }

    #[test]
    fn problem_responses_are_problem_json() {
        let resp = AppError::NotFound("no such record".into()).error_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
    }
}
