//! HTTP supplied by the app (sans-IO): URLSession on iOS, OkHttp on Android,
//! ureq in Rust tests. The core builds requests and reads responses; it never
//! opens a socket.

use serde::de::DeserializeOwned;

use crate::error::PhrError;

/// One header of a request.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request the app must send.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The full URL.
    pub url: String,
    pub headers: Vec<HttpHeader>,
    /// The body (JSON), empty for `GET`.
    pub body: Vec<u8>,
}

/// The server's answer: any status (4xx/5xx are answers too, not transport errors).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The request did not produce an answer (no connection, timeout, TLS failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    #[error("transport failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Failed { reason: e.reason }
    }
}

/// The app's HTTP client. `send` is called from the thread that called
/// `sync()` (and the account calls); it may block.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// Sends one request and returns the server's answer, whatever its status.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Sends a JSON request and reads a JSON answer, mapping failures to [`PhrError`].
pub(crate) fn call_json<T: DeserializeOwned>(
    transport: &dyn HttpTransport,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<T, PhrError> {
    let mut headers = vec![HttpHeader { name: "Accept".into(), value: "application/json".into() }];
    if body.is_some() {
        headers.push(HttpHeader { name: "Content-Type".into(), value: "application/json".into() });
    }
    if let Some(token) = token {
        headers.push(HttpHeader { name: "Authorization".into(), value: format!("Bearer {token}") });
    }
    let request = HttpRequest { method: method.into(), url, headers, body: body.unwrap_or_default() };
    let response = transport.send(request).map_err(|e| PhrError::Network { reason: e.to_string(), retryable: true })?;
    let detail = || {
        let text = String::from_utf8_lossy(&response.body);
        let text: String = text.chars().take(300).collect();
        format!("HTTP {}: {text}", response.status)
    };
    match response.status {
        // An empty answer (204) reads as JSON `null`, i.e. `()`.
        200..=299 if response.body.is_empty() => serde_json::from_slice(b"null").map_err(|e| PhrError::Network {
            reason: format!("unexpected empty answer from the server: {e}"),
            retryable: false,
        }),
        200..=299 => serde_json::from_slice(&response.body).map_err(|e| PhrError::Network {
            reason: format!("unexpected answer from the server: {e}"),
            retryable: false,
        }),
        410 if is_account_deleted(&response.body) => Err(PhrError::account_deleted()),
        401 | 403 => Err(PhrError::Auth { reason: detail() }),
        404 => Err(PhrError::NotFound { what: detail() }),
        409 => Err(PhrError::Conflict { reason: detail() }),
        408 | 429 | 500..=599 => Err(PhrError::Network { reason: detail(), retryable: true }),
        _ => Err(PhrError::Network { reason: detail(), retryable: false }),
    }
}

/// The problem type the server answers (with 410) to a device whose family
/// account has been deleted.
pub(crate) const ACCOUNT_DELETED_PROBLEM: &str = "https://phr.example/problems/account-deleted";

/// Whether a 410 body is the server's `account-deleted` problem (any other
/// 410, e.g. from a proxy, is not: nothing is wiped on a guess).
fn is_account_deleted(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|problem| problem["type"].as_str() == Some(ACCOUNT_DELETED_PROBLEM))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answer(u16, &'static str);

    impl HttpTransport for Answer {
        fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            Ok(HttpResponse { status: self.0, body: self.1.as_bytes().to_vec() })
        }
    }

    #[test]
    fn only_the_410_account_deleted_problem_reads_as_account_deleted() {
        let call = |status, body| call_json::<serde_json::Value>(&Answer(status, body), "GET", "u".into(), None, None);
        let gone = r#"{"type":"https://phr.example/problems/account-deleted","status":410}"#;
        assert!(matches!(call(410, gone), Err(PhrError::AccountDeleted { .. })));
        let other = r#"{"type":"https://phr.example/problems/not-found","status":410}"#;
        assert!(matches!(call(410, other), Err(PhrError::Network { retryable: false, .. })));
        assert!(matches!(call(410, "gone"), Err(PhrError::Network { retryable: false, .. })));
        assert!(matches!(call(401, gone), Err(PhrError::Auth { .. })));
    }
}
