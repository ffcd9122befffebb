//! FHIR errors: every failure of the FHIR API is an `OperationOutcome` with
//! the status of the [`AppError`] it wraps (the one mapping, reused from the
//! rest of the server). 401 carries `WWW-Authenticate: Bearer`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use phr_fhir::model::{OperationOutcome, OperationOutcomeIssue};

use crate::app::error::AppError;

/// The FHIR content type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// An [`AppError`] answered as an OperationOutcome, optionally naming the failing element.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FhirError(pub AppError, pub Option<String>);

impl From<AppError> for FhirError {
    fn from(e: AppError) -> Self {
        FhirError(e, None)
    }
}

impl From<diesel::result::Error> for FhirError {
    fn from(e: diesel::result::Error) -> Self {
        FhirError(e.into(), None)
    }
}

/// Result of a FHIR handler.
pub type FhirResult<T> = Result<T, FhirError>;

/// The OperationOutcome issue `code` for an error.
fn issue_code(e: &AppError) -> &'static str {
    match e {
        AppError::BadRequest(_) => "invalid",
        AppError::Unprocessable { .. } => "business-rule",
        AppError::Unauthorized(_) => "login",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not-found",
        AppError::MethodNotAllowed(_) => "not-supported",
        AppError::Conflict(_) => "conflict",
        AppError::AccountDeleted => "deleted",
        AppError::PayloadTooLarge(_) => "too-costly",
        AppError::RequestTimeout(_) => "timeout",
        AppError::UriTooLong(_) | AppError::HeaderFieldsTooLarge(_) => "too-long",
        AppError::UnsupportedMediaType(_) => "not-supported",
        AppError::TooManyRequests(_) => "throttled",
        AppError::Unavailable(_) => "transient",
        AppError::Internal(_) => "exception",
    }
}

/// The OperationOutcome of an error: one issue per failing item (422) or one issue.
pub fn outcome_of(e: &AppError, expression: Option<&str>) -> OperationOutcome {
    let code = issue_code(e);
    let problem = crate::http::error::problem(e);
    if let AppError::Unprocessable { problems, .. } = e {
        if !problems.is_empty() {
            let issue = problems
                .iter()
                .map(|p| OperationOutcomeIssue {
                    severity: Some("error".into()),
                    code: Some(if p.reason.contains("unknown code") { "code-invalid" } else { "value" }.into()),
                    diagnostics: Some(format!("{}: {}", p.path, p.reason)),
                    expression: vec![p.path.clone()],
                    ..Default::default()
                })
                .collect();
            return OperationOutcome { issue, ..Default::default() };
        }
    }
    OperationOutcome::error(code, problem.detail, expression)
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        match &self.0 {
            AppError::Internal(detail) | AppError::Unavailable(detail) => {
                tracing::error!(error = %detail, code = self.0.code(), "FHIR request failed");
            }
            other => tracing::info!(code = other.code(), "FHIR request rejected"),
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, FHIR_JSON));
        if let AppError::Unauthorized(_) = self.0 {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"fhir\", error=\"invalid_token\""));
        }
        if let AppError::RequestTimeout(_) = self.0 {
            resp.force_close();
        }
        resp.body(serde_json::to_string(&outcome_of(&self.0, self.1.as_deref())).unwrap_or_else(|_| "{}".to_owned()))
    }
}

/// A 400 about the element at `path` (the OperationOutcome names it as its expression).
pub fn bad_element(path: &str, reason: impl std::fmt::Display) -> FhirError {
    FhirError(AppError::BadRequest(format!("{path}: {reason}")), Some(path.to_owned()))
}

/// A plain 400.
pub fn bad_request(reason: impl Into<String>) -> FhirError {
    FhirError(AppError::BadRequest(reason.into()), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_422_lists_each_failing_item_with_its_path_as_expression() {
        let e = crate::app::error::unprocessable_if_any(
            "invalid",
            vec![("body_weight".into(), "must be 20–200 kg".into()), ("visit_date".into(), "is in the future".into())],
        )
        .unwrap_err();
        let o = outcome_of(&e, None);
        assert_eq!(o.issue.len(), 2);
        assert_eq!(o.issue[0].expression, vec!["body_weight"]);
        assert!(o.issue[0].diagnostics.as_deref().unwrap().contains("20–200"));
    }

    #[test]
    fn errors_keep_their_status_and_401_says_how_to_authenticate() {
        let resp = FhirError::from(AppError::Unauthorized("no token".into())).error_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_some());
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), FHIR_JSON);
        assert_eq!(FhirError::from(AppError::NotFound("x".into())).status_code(), StatusCode::NOT_FOUND);
        let internal = outcome_of(&AppError::Internal("secret detail".into()), None);
        assert!(!internal.issue[0].diagnostics.as_deref().unwrap().contains("secret"));
        let bad = bad_element("Observation.status", "is required");
        assert_eq!(outcome_of(&bad.0, bad.1.as_deref()).issue[0].expression, vec!["Observation.status"]);
    }
}
