//! FHIR errors: every failure under a FHIR base ([`is_fhir_path`]: the FHIR
//! API `/fhir/r4` and the research Bulk Data base `/research/v1`) is an
//! `OperationOutcome` with the status of the [`AppError`] it wraps (the one
//! mapping, reused from the rest of the server). 401 carries
//! `WWW-Authenticate: Bearer`. This is the one place the OperationOutcome
//! issue codes are chosen.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use phr_fhir::model::{OperationOutcome, OperationOutcomeIssue};

use crate::app::error::AppError;
use crate::app::fhir::{FhirError, ItemProblem};
use crate::http::error::status_of;

/// The FHIR content type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Whether a request path is under a FHIR base, whose errors are
/// OperationOutcomes rather than problem documents: the FHIR API (`/fhir/…`)
/// and the research Bulk Data export (`/research/…`).
pub fn is_fhir_path(path: &str) -> bool {
    path.starts_with("/fhir/") || path.starts_with("/research/")
}

/// The OperationOutcome issue `code` for an error.
fn issue_code(e: &AppError) -> &'static str {
    match e {
        AppError::BadRequest(_) => "invalid",
        AppError::Unprocessable { .. } => "business-rule",
        AppError::Unauthorized(_) | AppError::WrongPasscode { .. } => "login",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not-found",
        AppError::MethodNotAllowed(_) => "not-supported",
        AppError::Conflict(_) | AppError::PreconditionFailed(_) => "conflict",
        AppError::AccountDeleted | AppError::Gone(_) => "deleted",
        AppError::PayloadTooLarge(_) => "too-costly",
        AppError::RequestTimeout(_) => "timeout",
        AppError::UriTooLong(_) | AppError::HeaderFieldsTooLarge(_) => "too-long",
        AppError::UnsupportedMediaType(_) => "not-supported",
        AppError::TooManyRequests { .. } => "throttled",
        AppError::Unavailable(_) => "transient",
        AppError::ExportFailed(_) | AppError::Internal(_) => "exception",
    }
}

/// The OperationOutcome issue `code` of each failing item of a 422.
fn item_code(items: ItemProblem) -> &'static str {
    match items {
        ItemProblem::Value => "value",
        ItemProblem::UnknownCode => "code-invalid",
    }
}

/// The OperationOutcome of an error without an element or item kind (e.g. a refused connection).
pub fn outcome_of(e: &AppError, expression: Option<&str>) -> OperationOutcome {
    outcome(e, expression, ItemProblem::default())
}

/// The OperationOutcome of a FHIR error.
pub fn operation_outcome(e: &FhirError) -> OperationOutcome {
    outcome(&e.error, e.element.as_deref(), e.items)
}

/// One issue per failing item (422), or one issue.
fn outcome(e: &AppError, expression: Option<&str>, items: ItemProblem) -> OperationOutcome {
    let problem = crate::http::error::problem(e);
    if let AppError::Unprocessable { problems, .. } = e {
        if !problems.is_empty() {
            let issue = problems
                .iter()
                .map(|p| OperationOutcomeIssue {
                    severity: Some("error".into()),
                    code: Some(item_code(items).into()),
                    diagnostics: Some(format!("{}: {}", p.path, p.reason)),
                    expression: vec![p.path.clone()],
                    ..Default::default()
                })
                .collect();
            return OperationOutcome { issue, ..Default::default() };
        }
    }
    OperationOutcome::error(issue_code(e), problem.detail, expression)
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.error)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.error {
            AppError::Internal(detail) | AppError::Unavailable(detail) => {
                tracing::error!(error = %detail, code = self.error.code(), "FHIR request failed");
            }
            other => tracing::info!(code = other.code(), "FHIR request rejected"),
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, FHIR_JSON));
        if let AppError::Unauthorized(_) = self.error {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"fhir\", error=\"invalid_token\""));
        }
        if let Some(secs) = crate::http::error::retry_after_secs(&self.error) {
            resp.insert_header(crate::http::error::retry_after(secs));
        }
        if let AppError::RequestTimeout(_) = self.error {
            resp.force_close();
        }
        resp.body(serde_json::to_string(&operation_outcome(self)).unwrap_or_else(|_| "{}".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fhir::{bad_element, unknown_code};

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
        assert_eq!(o.issue[0].code.as_deref(), Some("value"));
        assert!(o.issue[0].diagnostics.as_deref().unwrap().contains("20–200"));
    }

    #[test]
    fn an_unknown_code_is_a_code_invalid_issue_whatever_its_text() {
        let o = operation_outcome(&unknown_code("Observation[0].code", "not a code we read"));
        assert_eq!(o.issue.len(), 1);
        assert_eq!(o.issue[0].code.as_deref(), Some("code-invalid"));
        assert_eq!(o.issue[0].expression, vec!["Observation[0].code"]);
        assert_eq!(o.issue[0].diagnostics.as_deref(), Some("Observation[0].code: not a code we read"));
    }

    #[test]
    fn a_throttled_fhir_request_carries_the_wait_its_limiter_computed() {
        let resp = FhirError::from(AppError::too_many_requests("slow down", 7)).error_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "7");
        assert_eq!(
            outcome_of(&AppError::too_many_requests("slow down", 7), None).issue[0].code.as_deref(),
            Some("throttled")
        );
    }

    #[test]
    fn the_fhir_api_and_the_research_base_answer_operation_outcomes_and_nothing_else_does() {
        for path in ["/fhir/r4/Patient", "/fhir/x", "/research/v1/$export", "/research/v2"] {
            assert!(is_fhir_path(path), "{path}");
        }
        for path in ["/", "/fhir", "/researchers", "/sync/v1/push", "/consent/v1/grants"] {
            assert!(!is_fhir_path(path), "{path}");
        }
    }

    #[test]
    fn a_failed_export_is_a_500_exception_that_keeps_its_reason() {
        let e = FhirError::from(AppError::ExportFailed("interrupted: start a new export".into()));
        let resp = e.error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), FHIR_JSON);
        let o = operation_outcome(&e);
        assert_eq!(o.issue[0].code.as_deref(), Some("exception"));
        assert_eq!(o.issue[0].diagnostics.as_deref(), Some("interrupted: start a new export"));
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
        assert_eq!(operation_outcome(&bad).issue[0].expression, vec!["Observation.status"]);
    }
}
