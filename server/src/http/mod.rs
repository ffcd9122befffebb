//! The actix-web application: shared state, routes, request ids, body limits,
//! and JSON error handling (every extractor failure becomes a problem JSON).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{error, web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

use crate::auth::{AuthLimiter, RateLimiter, TokenService};
use crate::config::Limits;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::keys::KeyStore;

pub mod health;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub keys: Arc<KeyStore>,
    pub tokens: Arc<TokenService>,
    /// Requests per device (authenticated endpoints).
    pub rate_limiter: Arc<RateLimiter>,
    /// The unauthenticated endpoints: refusals per source address, work per
    /// known subject and address, guesses per account ([`crate::auth::limits`]).
    pub auth_limiter: Arc<AuthLimiter>,
    /// Counts of repeated unauthenticated events (key backup fetches,
    /// recovery challenges) so the audit log gets a counted entry, not one each.
    pub audit_repeats: Arc<crate::audit::Repeats>,
    pub limits: Limits,
    /// The public base URL (no trailing slash): from `--public-base-url`, or
    /// set from the bound address once the server listens.
    pub public_base_url: Arc<OnceLock<String>>,
    pub instance_id: String,
    pub backend: &'static str,
    /// Research export files, k and retention.
    pub research: Arc<crate::research::ResearchService>,
    /// Answers to repeated FHIR searches ([`crate::fhir::cache`]).
    pub fhir_search_cache: Arc<crate::fhir::cache::SearchCache>,
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl AppState {
    /// The public base URL, e.g. `https://phr.example.org` (no trailing slash).
    pub fn base_url(&self) -> Result<&str, ApiError> {
        self.public_base_url
            .get()
            .map(String::as_str)
            .ok_or_else(|| ApiError::Internal("public base URL not known yet".into()))
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut crate::db::DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }
}

/// Registers every route and the extractor configuration. Used by `serve` and by tests.
pub fn configure(state: AppState, max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(
                web::JsonConfig::default().limit(max_body_bytes).error_handler(|err, _req| json_error(&err).into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                let detail = format!("invalid query parameters: {}", strip_prefix_message(&err.to_string()));
                rejected(err, ApiError::BadRequest(detail))
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _req| rejected(err, ApiError::NotFound("no such resource".into()))),
            )
            .service(health::healthz)
            .service(health::version)
            .configure(crate::accounts::routes)
            .configure(crate::sync::routes)
            .configure(crate::consent::routes)
            .configure(crate::organizations::routes)
            .service(crate::audit::api::events)
            .configure(crate::smart::routes)
            .configure(crate::fhir::routes)
            .configure(crate::research::routes)
            .default_service(web::to(not_found));
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())))
}

fn rejected<E: std::fmt::Debug + std::fmt::Display + 'static>(cause: E, api: ApiError) -> error::Error {
    error::InternalError::from_response(cause, api.error_response()).into()
}

fn json_error(err: &error::JsonPayloadError) -> error::InternalError<String> {
    use error::JsonPayloadError as J;
    let api = match err {
        J::OverflowKnownLength { length, limit } => {
            ApiError::PayloadTooLarge(format!("request body of {length} bytes exceeds the limit of {limit} bytes"))
        }
        J::Overflow { limit } => ApiError::PayloadTooLarge(format!("request body exceeds the limit of {limit} bytes")),
        J::ContentType => ApiError::UnsupportedMediaType("expected Content-Type: application/json".into()),
        J::Deserialize(e) if e.is_data() => ApiError::BadRequest(format!("invalid request body: {e}")),
        J::Deserialize(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
        other => ApiError::BadRequest(format!("cannot read request body: {other}")),
    };
    error::InternalError::from_response(api.to_string(), api.error_response())
}

fn strip_prefix_message(s: &str) -> &str {
    s.strip_prefix("Query deserialize error: ").unwrap_or(s)
}

/// Request spans carry the method, the matched route pattern (never the raw
/// path or query, which may hold identifiers) and the request id.
pub struct PhrRootSpan;

impl RootSpanBuilder for PhrRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|r| r.to_string()).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        request.extensions_mut().insert(Instant::now());
        tracing::info_span!("request", method = %request.method(), route = %route, request_id = %request_id, status = tracing::field::Empty)
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
