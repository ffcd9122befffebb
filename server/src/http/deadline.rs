//! The innermost middleware: the request-body deadline, and a JSON error
//! document on every answer with a status ≥ 400.
//!
//! **Body deadline.** A client that sends a head and then trickles its body
//! would otherwise hold its connection (and descriptor) for as long as it
//! likes. The body stream a handler reads fails with a timeout once
//! `--request-timeout-secs` have passed since the head arrived (heads have
//! their own deadline, [`super::conn`]); whatever the handler then answers is
//! replaced by a 408 problem (an OperationOutcome under `/fhir/`) with
//! `Connection: close`, so the rest of the body is never read as a request.
//!
//! **JSON errors.** Errors raised by actix-web itself (an extractor without
//! our error handler, a payload error) come with plain-text or empty bodies;
//! any answer ≥ 400 that is not already a JSON document is given a problem
//! document for its status. It never repeats the path or what was sent.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_core::Stream;
use phr_fhir::model::OperationOutcome;
use tokio::time::{Instant, Sleep};

use super::error::Problem;
use crate::app::error::AppError;
use crate::app::fhir::FhirError;
use crate::app::App;
use crate::http::fhir::FHIR_JSON;

/// See the module docs.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<App>>()
        .map(|s| Duration::from_secs(s.limits.request_timeout_secs))
        .unwrap_or(Duration::from_secs(30));
    let expired = Arc::new(AtomicBool::new(false));
    match req.take_payload() {
        Payload::None => {}
        payload => req.set_payload(Payload::Stream {
            payload: Box::pin(DeadlineBody {
                inner: payload,
                deadline: Instant::now() + timeout,
                timer: None,
                expired: Arc::clone(&expired),
            }),
        }),
    }
    let fhir = crate::http::fhir::outcome::is_fhir_path(req.path());
    let res = next.call(req).await?.map_into_boxed_body();
    if expired.load(Ordering::Acquire) {
        let e = AppError::RequestTimeout(super::REQUEST_TIMEOUT_DETAIL.into());
        let resp = if fhir { FhirError::from(e).error_response() } else { e.error_response() };
        return Ok(res.into_response(resp));
    }
    if res.status().as_u16() >= 400 && !is_json_error(&res) {
        let status = res.status();
        return Ok(res.into_response(problem_for_status(status, fhir)));
    }
    Ok(res)
}

fn is_json_error(res: &ServiceResponse<BoxBody>) -> bool {
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    // text/html: the care-team portal's error pages (`http::error::html_error`).
    matches!(media, "application/problem+json" | "application/fhir+json" | "application/json" | "text/html")
        && !matches!(
            res.response().body().size(),
            actix_web::body::BodySize::None | actix_web::body::BodySize::Sized(0)
        )
}

/// A problem document (an OperationOutcome when `fhir`) naming only the status.
pub fn problem_for_status(status: StatusCode, fhir: bool) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut resp = HttpResponse::build(status);
    resp.force_close();
    if fhir {
        let code = if status.is_server_error() { "exception" } else { "processing" };
        let outcome = OperationOutcome::error(code, reason.to_owned(), None);
        return resp.content_type(FHIR_JSON).body(serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".into()));
    }
    let problem = Problem {
        type_: "about:blank".into(),
        title: reason.to_owned(),
        status: status.as_u16(),
        detail: format!("the request failed: {}", reason.to_ascii_lowercase()),
        problems: Vec::new(),
        remaining_attempts: None,
    };
    resp.content_type("application/problem+json").body(serde_json::to_string(&problem).unwrap_or_else(|_| "{}".into()))
}

/// A request body that fails with a timeout once its deadline has passed.
struct DeadlineBody {
    inner: Payload,
    deadline: Instant,
    /// Started only when the body is not all there at once.
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        let deadline = this.deadline;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Release);
            let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "request deadline passed");
            return Poll::Ready(Some(Err(PayloadError::Io(e))));
        }
        Poll::Pending
    }
}
