//! HTTP supplied by the app (sans-IO): URLSession on iOS, OkHttp on Android,
//! ureq in Rust tests. The engine builds requests and reads responses through
//! [`AppTransport`]; it never opens a socket.

use std::sync::Arc;

use crate::engine;

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
    /// The longest the whole exchange may take (connect, send, answer), in
    /// milliseconds: set it as the HTTP client's timeout for this request and
    /// fail the request (`TransportError`) when it passes.
    pub timeout_ms: u64,
}

/// The server's answer: any status (4xx/5xx are answers too, not transport errors).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The answer's headers. Pass at least `Date` (the engine bounds clock
    /// drift with it) and `Retry-After` (it backs off as told on 429/503).
    #[uniffi(default)]
    pub headers: Vec<HttpHeader>,
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

/// The app's [`HttpTransport`] as the engine's [`engine::Transport`].
pub(crate) struct AppTransport(pub Arc<dyn HttpTransport>);

impl engine::Transport for AppTransport {
    fn send(&self, request: engine::Request) -> Result<engine::Response, String> {
        let request = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request.headers.into_iter().map(|(name, value)| HttpHeader { name, value }).collect(),
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        match self.0.send(request) {
            Ok(response) => Ok(engine::Response {
                status: response.status,
                body: response.body,
                headers: response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            }),
            Err(TransportError::Failed { reason }) => Err(reason),
        }
    }
}
