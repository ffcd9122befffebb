//! HTTP as the engine sees it (sans-IO): it builds [`Request`]s and reads
//! [`Response`]s; whoever holds the engine sends them ([`Transport`]; the app's
//! URLSession / OkHttp / ureq through the FFI). The engine never opens a socket.

use serde::de::DeserializeOwned;

use super::error::{Error, HttpErrorKind, Result};

/// How long the app's HTTP client may wait for one answer unless a call says
/// otherwise ([`Request::timeout_ms`]).
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body (JSON), empty for `GET`.
    pub body: Vec<u8>,
    /// The longest the transport may take for the whole exchange (connect,
    /// send, answer); past it, it gives up and fails the request.
    pub timeout_ms: u64,
}

/// The server's answer: any status (4xx/5xx are answers too).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// Response headers (names in any case); the engine reads `Date` and
    /// `Retry-After`.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in ms: delta-seconds, or an HTTP date relative to `Date`
    /// (or to the device clock when there is no `Date`).
    pub fn retry_after_ms(&self) -> Option<u64> {
        let value = self.header("Retry-After")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(secs.saturating_mul(1000));
        }
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?.timestamp_millis();
        let now = match self.header("Date").and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok()) {
            Some(date) => date.timestamp_millis(),
            None => i64::try_from(super::clock::device_now_ms()).unwrap_or(i64::MAX),
        };
        Some(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
    }
}

/// Sends requests for the engine. `Err` is a request that produced no answer
/// (no connection, timeout, TLS failure), with the reason.
pub trait Transport: Send + Sync {
    fn send(&self, request: Request) -> std::result::Result<Response, String>;
}

/// The app's transport as the engine uses it: every answer's `Date` is noted
/// on the [`ServerClock`](super::clock::ServerClock).
pub struct Observed<'a> {
    pub inner: &'a dyn Transport,
    pub clock: &'a super::clock::ServerClock,
}

impl Transport for Observed<'_> {
    fn send(&self, request: Request) -> std::result::Result<Response, String> {
        let response = self.inner.send(request)?;
        if let Some(date) = response.header("Date") {
            self.clock.observe_date(date);
        }
        Ok(response)
    }
}

/// The problem type the server answers (with 410) to a device whose family
/// account has been deleted.
pub const ACCOUNT_DELETED_PROBLEM: &str = "https://phr.example/problems/account-deleted";

/// Sends a JSON request and reads a JSON answer: no answer is
/// [`Error::Network`], an error status [`Error::Http`] (or
/// [`Error::AccountDeleted`]), an unreadable answer [`Error::Protocol`].
pub fn call_json<T: DeserializeOwned>(
    transport: &dyn Transport,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<T> {
    call_json_with(transport, method, url, token, body, &[])
}

/// [`call_json`] with extra request headers.
pub fn call_json_with<T: DeserializeOwned>(
    transport: &dyn Transport,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    extra_headers: &[(&str, &str)],
) -> Result<T> {
    let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    if let Some(token) = token {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    headers.extend(extra_headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
    let request =
        Request { method: method.into(), url, headers, body: body.unwrap_or_default(), timeout_ms: DEFAULT_TIMEOUT_MS };
    let response = transport.send(request).map_err(Error::Network)?;
    read_answer(&response)
}

/// Reads an answer: a 2xx body as JSON, an error status as [`Error::Http`].
pub fn read_answer<T: DeserializeOwned>(response: &Response) -> Result<T> {
    match response.status {
        // An empty answer (204) reads as JSON `null`, i.e. `()`.
        200..=299 if response.body.is_empty() => {
            serde_json::from_slice(b"null").map_err(|e| Error::Protocol(format!("the server's answer was empty ({e})")))
        }
        200..=299 => serde_json::from_slice(&response.body).map_err(|e| {
            if e.is_eof() {
                Error::Protocol(format!("the server's answer was cut off after {} bytes", response.body.len()))
            } else {
                Error::Protocol(format!("the server's answer does not read as expected: {e}"))
            }
        }),
        410 if is_account_deleted(&response.body) => Err(Error::AccountDeleted),
        status => {
            let text = String::from_utf8_lossy(&response.body);
            let text: String = text.chars().take(300).collect();
            Err(Error::Http {
                status,
                kind: HttpErrorKind::of_status(status),
                detail: format!("HTTP {status}: {text}"),
                retry_after_ms: response.retry_after_ms(),
            })
        }
    }
}

/// Encodes a request body.
pub fn json_body<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::encoding(what, e))
}

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

    impl Transport for Answer {
        fn send(&self, _: Request) -> std::result::Result<Response, String> {
            Ok(Response { status: self.0, body: self.1.as_bytes().to_vec(), headers: vec![] })
        }
    }

    fn call(status: u16, body: &'static str) -> Result<serde_json::Value> {
        call_json(&Answer(status, body), "GET", "u".into(), None, None)
    }

    #[test]
    fn only_the_410_account_deleted_problem_reads_as_account_deleted() {
        let gone = r#"{"type":"https://phr.example/problems/account-deleted","status":410}"#;
        assert!(matches!(call(410, gone), Err(Error::AccountDeleted)));
        let other = r#"{"type":"https://phr.example/problems/not-found","status":410}"#;
        assert!(matches!(call(410, other), Err(Error::Http { status: 410, kind: HttpErrorKind::Rejected, .. })));
        assert!(matches!(call(410, "gone"), Err(Error::Http { kind: HttpErrorKind::Rejected, .. })));
        assert!(matches!(call(401, gone), Err(Error::Http { kind: HttpErrorKind::Unauthorized, .. })));
    }

    #[test]
    fn error_statuses_become_typed_kinds_with_the_answer_as_detail() {
        for (status, kind) in [
            (401, HttpErrorKind::Unauthorized),
            (403, HttpErrorKind::Forbidden),
            (404, HttpErrorKind::NotFound),
            (409, HttpErrorKind::Conflict),
            (408, HttpErrorKind::Timeout),
            (429, HttpErrorKind::RateLimited),
            (503, HttpErrorKind::ServerError),
            (422, HttpErrorKind::Rejected),
            (302, HttpErrorKind::Rejected),
        ] {
            match call(status, "why") {
                Err(Error::Http { status: s, kind: k, detail, .. }) => {
                    assert_eq!((s, k), (status, kind));
                    assert_eq!(detail, format!("HTTP {status}: why"));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(call(200, "not json"), Err(Error::Protocol(_))));
        assert_eq!(call(204, "").unwrap(), serde_json::Value::Null);
    }

    #[test]
    fn retry_after_reads_as_seconds_or_as_a_date_after_the_answers_date() {
        let answer = |headers: &[(&str, &str)]| Response {
            status: 429,
            body: vec![],
            headers: headers.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect(),
        };
        assert_eq!(answer(&[("retry-after", "7")]).retry_after_ms(), Some(7_000));
        let dated =
            answer(&[("Date", "Fri, 04 Dec 2026 10:00:00 GMT"), ("Retry-After", "Fri, 04 Dec 2026 10:00:30 GMT")]);
        assert_eq!(dated.retry_after_ms(), Some(30_000));
        assert_eq!(answer(&[("Retry-After", "soon")]).retry_after_ms(), None);
        assert_eq!(answer(&[]).retry_after_ms(), None);
        let Err(Error::Http { retry_after_ms, .. }) = read_answer::<()>(&answer(&[("Retry-After", "2")])) else {
            panic!()
        };
        assert_eq!(retry_after_ms, Some(2_000));
    }

    #[test]
    fn a_cut_off_answer_says_so() {
        let cut = Response { status: 200, body: br#"{"batch_id": "abc", "res"#.to_vec(), headers: vec![] };
        let err = read_answer::<serde_json::Value>(&cut).unwrap_err();
        assert!(matches!(&err, Error::Protocol(why) if why.contains("cut off")), "{err:?}");
    }

    #[test]
    fn a_request_without_an_answer_is_a_network_error() {
        struct Offline;
        impl Transport for Offline {
            fn send(&self, _: Request) -> std::result::Result<Response, String> {
                Err("offline".into())
            }
        }
        let err = call_json::<()>(&Offline, "GET", "u".into(), None, None).unwrap_err();
        assert!(matches!(&err, Error::Network(reason) if reason == "offline"), "{err:?}");
    }
}
