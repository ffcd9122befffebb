//! The actix-web application: shared state, routes, request ids, body limits,
//! and JSON error handling (every extractor failure becomes a problem JSON).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

use crate::app::error::AppError;
use crate::app::App;

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod break_glass;
pub mod conn;
pub mod consent;
pub mod deadline;
pub mod emergency_card;
pub mod error;
pub mod fhir;
pub mod health;
pub mod notices;
pub mod notify;
pub mod organizations;
pub mod portal;
pub mod portal_emergency;
pub mod portal_pages;
pub mod portal_patients;
pub mod portal_session;
pub mod portal_staff;
pub mod portal_upload;
pub mod research;
pub mod smart;
pub mod sync;

/// Registers every route and the extractor configuration. Used by `serve` and by tests.
pub fn configure(state: App, max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::Data::new(sync::MaxBodyBytes(max_body_bytes)))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(
                web::JsonConfig::default().limit(max_body_bytes).error_handler(|err, _req| json_error(&err).into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                let detail = format!("invalid query parameters: {}", without_client_values(&err.to_string()));
                rejected(err, AppError::BadRequest(detail))
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _req| rejected(err, AppError::NotFound("no such resource".into()))),
            )
            .service(health::healthz)
            .service(health::version)
            .configure(accounts::routes)
            .configure(sync::routes)
            .configure(consent::routes)
            .configure(organizations::routes)
            .configure(audit::routes)
            .configure(smart::routes)
            .configure(fhir::routes)
            .configure(research::routes)
            .configure(emergency_card::routes)
            .configure(break_glass::routes)
            .configure(notify::routes)
            .configure(notices::routes)
            .configure(portal::routes)
            .default_service(web::to(not_found));
    }
}

/// Anything no route takes: 404 (an OperationOutcome under `/fhir/` and
/// `/research/`). The detail never repeats the path or method, which are the client's.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if req.path().starts_with("/research/") {
        let e = AppError::NotFound(
            "no such research endpoint; the research Bulk Data base is /research/v1 (see /research/v1/metadata)".into(),
        );
        return Err(crate::app::fhir::FhirError::from(e).into());
    }
    if req.path().starts_with("/fhir/") {
        let e = AppError::NotFound(
            "no FHIR endpoint here; the FHIR R4 API is under /fhir/r4 (see /fhir/r4/metadata)".into(),
        );
        return Err(crate::app::fhir::FhirError::from(e).into());
    }
    Err(AppError::NotFound("no route for this method and path".into()).into())
}

/// Any method a resource does not route: 405 with a problem body (not actix's empty one).
pub async fn method_not_allowed() -> Result<HttpResponse, AppError> {
    Err(AppError::MethodNotAllowed("this method is not supported on this path".into()))
}

/// An extractor's failure as our problem answer; the extractor's own message
/// (which may quote the client) is dropped, only the error kind stays.
fn rejected<E>(_cause: E, api: AppError) -> actix_web::error::Error {
    actix_web::error::InternalError::from_response(api.code(), api.error_response()).into()
}

fn json_error(err: &actix_web::error::JsonPayloadError) -> actix_web::error::InternalError<String> {
    use actix_web::error::JsonPayloadError as J;
    let api = match err {
        J::OverflowKnownLength { length, limit } => {
            AppError::PayloadTooLarge(format!("request body of {length} bytes exceeds the limit of {limit} bytes"))
        }
        J::Overflow { limit } => AppError::PayloadTooLarge(format!("request body exceeds the limit of {limit} bytes")),
        J::ContentType => AppError::UnsupportedMediaType("expected Content-Type: application/json".into()),
        J::Deserialize(e) => AppError::BadRequest(json_error_detail(e)),
        J::Payload(actix_web::error::PayloadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            AppError::RequestTimeout(REQUEST_TIMEOUT_DETAIL.into())
        }
        J::Payload(_) => AppError::BadRequest("cannot read the request body (incomplete or malformed)".into()),
        _ => AppError::BadRequest("cannot read the request body".into()),
    };
    actix_web::error::InternalError::from_response(api.code().to_owned(), api.error_response())
}

/// Whether reading a body failed because the request deadline passed.
pub fn is_request_timeout(e: &actix_web::Error) -> bool {
    matches!(e.as_error::<actix_web::error::PayloadError>(), Some(actix_web::error::PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// What was wrong with a JSON body, where, without the client's values
/// (serde quotes them: `invalid value: string "…"`, `unknown field `…``).
pub fn json_error_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("at line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Data => format!("invalid request body: {} {at}", without_client_values(&e.to_string())),
        Category::Eof => format!("malformed JSON: unexpected end of input {at}"),
        Category::Syntax | Category::Io => format!("malformed JSON {at}"),
    }
}

/// A serde error message with the client's values left out: the kind of
/// mistake, the field names of our types and what was expected, never what
/// was sent (`invalid type: string "…", expected u32` becomes
/// `invalid type: string, expected u32`). Unknown field names are repeated
/// only when they look like field names; our own messages only when they
/// quote nothing.
pub fn without_client_values(message: &str) -> String {
    let message = message.strip_prefix("Query deserialize error: ").unwrap_or(message);
    let message = message.split(" at line ").next().unwrap_or(message);
    // What serde expected comes from our types; the text before it may quote the client.
    let (head, expected) = match message.rfind(", expected ") {
        Some(i) => (&message[..i], &message[i..]),
        None => (message, ""),
    };
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = head.strip_prefix(kind) {
            // `integer `7``, `string "abc"`, `floating point `0.5``, `null`, `sequence`, ...
            let sent = rest.split([' ', '`', '"']).take_while(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
            let sent = if sent.chars().all(|c| c.is_ascii_lowercase() || c == ' ') { sent } else { String::new() };
            let kind = kind.trim_end_matches(": ");
            return if sent.is_empty() { format!("{kind}{expected}") } else { format!("{kind}: {sent}{expected}") };
        }
    }
    if let Some(rest) = head.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or("");
        let plain = (1..=64).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let tail = message.rfind(", there are no fields").map(|i| &message[i..]).unwrap_or(expected);
        return if plain { format!("unknown field `{name}`{tail}") } else { format!("unknown field{tail}") };
    }
    if head.starts_with("unknown variant `") {
        return format!("unknown variant{expected}");
    }
    if ["missing field", "duplicate field", "invalid length"].iter().any(|k| message.starts_with(k))
        || !message.contains(['"', '`'])
    {
        // Our names, counts, or one of our own messages that quotes nothing.
        return message.to_owned();
    }
    "invalid value".to_owned()
}

/// Request spans carry the method, the matched route pattern (never the raw
/// path or query, which may hold identifiers) and the request id.
pub struct PhrRootSpan;

impl RootSpanBuilder for PhrRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|r| r.to_string()).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        request.extensions_mut().insert(Instant::now());
        // Extension methods are the client's words: only standard ones are named.
        let method = match *request.method() {
            Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::DELETE => request.method().as_str(),
            Method::PATCH | Method::OPTIONS | Method::TRACE | Method::CONNECT => request.method().as_str(),
            _ => "other",
        };
        tracing::info_span!("request", method = %method, route = %route, request_id = %request_id, status = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let (status, started) = match outcome {
            Ok(resp) => (resp.status().as_u16(), resp.request().extensions().get::<Instant>().copied()),
            Err(e) => (e.as_response_error().status_code().as_u16(), None),
        };
        span.record("status", status);
        let elapsed_ms = started.map(|t| t.elapsed().as_secs_f64() * 1000.0).unwrap_or(0.0);
        let _enter = span.enter();
        tracing::info!(status, elapsed_ms, "request finished");
    }
}

/// The tracing middleware with our span builder.
pub fn tracing_middleware() -> TracingLogger<PhrRootSpan> {
    TracingLogger::<PhrRootSpan>::new()
}

/// Copies the request id into an `X-Request-Id` response header so clients can
/// quote it in support requests.
pub async fn request_id_header(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.to_string());
    let mut resp = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        resp.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(resp)
}

/// A JSON 200 response.
pub fn ok_json<T: serde::Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// The detail of a 408: the request was not read completely in time.
pub const REQUEST_TIMEOUT_DETAIL: &str = "the request was not received completely in time; the connection is closed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_keep_the_mistake_and_drop_the_client_values() {
        let cases = [
            ("invalid type: string \"SECRET\", expected u32 at line 1 column 9", "invalid type: string, expected u32"),
            ("invalid type: integer `7`, expected a string", "invalid type: integer, expected a string"),
            ("invalid type: floating point `0.5`, expected u64", "invalid type: floating point, expected u64"),
            ("invalid type: null, expected a string", "invalid type: null, expected a string"),
            ("invalid value: string \"SECRET, expected x\", expected a UUID", "invalid value: string, expected a UUID"),
            ("unknown field `hint`, expected one of `a`, `b`", "unknown field `hint`, expected one of `a`, `b`"),
            ("unknown field `SE CRET`, expected one of `a`, `b`", "unknown field, expected one of `a`, `b`"),
            ("unknown field `hint`, there are no fields", "unknown field `hint`, there are no fields"),
            ("unknown variant `SECRET`, expected `x` or `y`", "unknown variant, expected `x` or `y`"),
            ("invalid organization id \"SECRET\": expected 1-64 characters", "invalid value"),
            ("unit must be \"kg\", got \"SECRET\"", "invalid value"),
            ("missing field `changes`", "missing field `changes`"),
            ("account_id must be a UUID", "account_id must be a UUID"),
            ("Query deserialize error: invalid digit found in string", "invalid digit found in string"),
        ];
        for (message, said) in cases {
            assert_eq!(without_client_values(message), said, "{message}");
        }
        let e = serde_json::from_str::<u32>("\"SECRET\"").unwrap_err();
        let detail = json_error_detail(&e);
        assert!(
            !detail.contains("SECRET") && detail.contains("invalid type: string") && detail.contains("line 1"),
            "{detail}"
        );
    }
}
