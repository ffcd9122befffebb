//! Each accepted connection, between the socket and actix-http's HTTP/1
//! dispatcher: request-head deadlines, problem answers for requests the
//! dispatcher could not parse, and the connection cap.
//!
//! **Why a wrapper around the socket.** actix-http answers what it cannot
//! parse itself — 400 for malformed framing, 431 for too many or too large
//! headers (a URI too long ends up as one of these), 408 when a head does not
//! arrive in time — with bodyless responses written straight from its
//! dispatcher, before any application code or middleware runs, and it has no
//! hook for their bodies. So [`Guarded`] reads ahead of the dispatcher and runs
//! a *shadow* `actix_http::h1::Codec` (the dispatcher's own parser, so the same
//! bytes fail the same way) over everything the client sends. Only bytes the
//! shadow decoded — whole request heads and the body bytes after them — are
//! handed on. When a head fails to parse, the dispatcher never sees it: it
//! gets end-of-input after the requests before it, answers those (pipelining
//! and keep-alive stay the dispatcher's business), and shuts the connection
//! down; at that point we write our own answer — a problem document, or an
//! OperationOutcome when the request line names a FHIR base (`/fhir/`, `/research/`) — and close. The
//! answer never repeats what the client sent. A body that fails to parse
//! (a bad chunk size) ends the body early instead: the handler reading it
//! answers, with its own problem document.
//!
//! **Request heads** must arrive within `--request-timeout-secs` of their first
//! byte (of the connection opening, for the first request), or the client gets
//! a 408 problem and the connection closes; the dispatcher's own head timer is
//! off. Bodies have the same time from the end of their head
//! ([`super::deadline`]).
//!
//! **Connection cap.** [`Connections`] counts open connections. When a new one
//! would exceed `--max-connections`, the connection that has been waiting
//! longest for its client to finish sending a request is closed (a 503 problem
//! if it was still sending its head), so a flood of slow clients cannot lock
//! out health checks and devices: each new connection displaces the oldest
//! slow one. Connections whose request the server is working on are never
//! displaced.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::error::ParseError;
use actix_http::h1::{Codec, Message, MessageType};
use actix_http::ServiceConfig;
use actix_web::http::StatusCode;
use actix_web::web::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::app::error::AppError;

/// Longest request line answered 400/431 rather than 414 (the `http` crate's URI limit).
const MAX_REQUEST_LINE: usize = 65_534;
/// Largest request head (actix-http's read buffer limit while parsing one).
const MAX_HEAD: usize = 131_072;

/// Open connections, and which of them wait for their client to send a request.
pub struct Connections {
    cap: usize,
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    open: usize,
    next_turn: u64,
    /// Connections waiting for their client, by when they started waiting.
    waiting: BTreeMap<u64, Arc<Shed>>,
}

/// Set to make one connection give up on its client.
#[derive(Default)]
struct Shed {
    requested: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Shed {
    fn request(&self) {
        self.requested.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            w.wake();
        }
    }
}

impl Connections {
    pub fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections { cap: cap.max(1), inner: Mutex::new(Registry::default()) })
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new connection; over the cap, displaces the longest-waiting one.
    fn open(&self) {
        let displaced = {
            let mut r = self.registry();
            r.open += 1;
            if r.open > self.cap {
                r.waiting.pop_first().map(|(_, shed)| shed)
            } else {
                None
            }
        };
        if let Some(shed) = displaced {
            tracing::warn!(
                cap = self.cap,
                "connection cap reached: closing the connection waiting longest for its client"
            );
            shed.request();
        }
    }

    fn close(&self) {
        let mut r = self.registry();
        r.open = r.open.saturating_sub(1);
    }

    fn start_waiting(&self, shed: &Arc<Shed>) -> u64 {
        let mut r = self.registry();
        r.next_turn += 1;
        let turn = r.next_turn;
        r.waiting.insert(turn, Arc::clone(shed));
        turn
    }

    fn stop_waiting(&self, turn: u64) {
        self.registry().waiting.remove(&turn);
    }

    /// Connections open right now.
    pub fn open_count(&self) -> usize {
        self.registry().open
    }
}

/// Where the client is in sending its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests (the dispatcher's keep-alive timer applies).
    Idle,
    /// Sending a request head (our deadline applies).
    Head,
    /// Sending a request body (the application's deadline applies).
    Body,
}

/// A connection's I/O as the dispatcher sees it. See the module docs.
pub struct Guarded<T> {
    io: T,
    shadow: Codec,
    /// Read from the socket, not yet decoded (a partial head or chunk line).
    raw: BytesMut,
    /// Decoded by the shadow, not yet handed to the dispatcher.
    ready: BytesMut,
    phase: Phase,
    head_timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Tell the dispatcher the input ended, once `ready` is handed on.
    ended: bool,
    /// Our own answer, written when the dispatcher shuts the connection down.
    answer: Option<BytesMut>,
    connections: Arc<Connections>,
    shed: Arc<Shed>,
    waiting_turn: Option<u64>,
}

impl<T> Guarded<T> {
    /// Wraps an accepted connection (counted in `connections` until dropped);
    /// `config` is the worker's (shared: it runs the worker's date clock).
    pub fn new(io: T, connections: Arc<Connections>, head_timeout: Duration, config: &ServiceConfig) -> Guarded<T> {
        connections.open();
        let mut g = Guarded {
            io,
            shadow: Codec::new(config.clone()),
            raw: BytesMut::new(),
            ready: BytesMut::new(),
            phase: Phase::Idle,
            head_timeout,
            deadline: None,
            ended: false,
            answer: None,
            connections,
            shed: Arc::new(Shed::default()),
            waiting_turn: None,
        };
        g.enter(Phase::Head);
        g
    }

    fn enter(&mut self, phase: Phase) {
        if phase == self.phase {
            return;
        }
        self.phase = phase;
        self.deadline = (phase == Phase::Head).then(|| Box::pin(tokio::time::sleep(self.head_timeout)));
        let waiting = matches!(phase, Phase::Head | Phase::Body);
        match (waiting, self.waiting_turn) {
            (true, None) => self.waiting_turn = Some(self.connections.start_waiting(&self.shed)),
            (false, Some(turn)) => {
                self.connections.stop_waiting(turn);
                self.waiting_turn = None;
            }
            _ => {}
        }
    }

    /// Stops reading: what is decoded still goes to the dispatcher, then end of input;
    /// `answer` (if any) is written when the dispatcher shuts the connection down.
    fn end(&mut self, answer: Option<AppError>) {
        if let Some(e) = answer {
            let fhir = request_target(&self.raw).is_some_and(crate::http::fhir::outcome::is_fhir_path);
            self.answer = Some(raw_answer(&e, fhir));
        }
        self.raw.clear();
        self.ended = true;
        self.enter(Phase::Idle);
    }

    /// Decodes what arrived with the shadow codec and moves whole units to `ready`.
    fn scan(&mut self) {
        let mut work = BytesMut::from(&self.raw[..]);
        let start = work.len();
        // Bytes of whole units decoded without error (a head that fails may be consumed first).
        let mut decoded = 0;
        let mut failed = None;
        loop {
            let before = work.len();
            let mut result = self.shadow.decode(&mut work);
            if matches!(result, Ok(Some(Message::Item(_)))) && before - work.len() >= MAX_HEAD {
                // Complete, but the dispatcher reads at most this much while
                // looking for a head's end: it would refuse it half-read.
                result = Err(ParseError::TooLarge);
            }
            if result.is_ok() {
                decoded = start - work.len();
            }
            match result {
                Ok(Some(Message::Item(_))) => match self.shadow.message_type() {
                    MessageType::None => self.enter(Phase::Idle),
                    MessageType::Payload | MessageType::Stream => self.enter(Phase::Body),
                },
                Ok(Some(Message::Chunk(Some(_)))) => {}
                Ok(Some(Message::Chunk(None))) => self.enter(Phase::Idle),
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        self.ready.extend_from_slice(&self.raw[..decoded]);
        self.raw.advance(decoded);
        match failed {
            // A bad body: end it early; the handler reading it answers.
            Some(_) if self.phase == Phase::Body => self.end(None),
            Some(e) => {
                let answer = self.refusal(&e);
                self.end(Some(answer));
            }
            None if self.phase == Phase::Idle && !self.raw.is_empty() => self.enter(Phase::Head),
            None => {}
        }
    }

    /// What a head that does not parse is answered with.
    fn refusal(&self, e: &ParseError) -> AppError {
        let line_end = self.raw.windows(2).position(|w| w == b"\r\n");
        let long_line = line_end.is_none_or(|n| n > MAX_REQUEST_LINE);
        match e {
            ParseError::TooLarge | ParseError::Uri(_) if long_line => {
                AppError::UriTooLong(format!("the request target may be at most {MAX_REQUEST_LINE} bytes"))
            }
            ParseError::TooLarge => AppError::HeaderFieldsTooLarge(
                "the request head is too large: at most 96 header fields and 128 KiB in all".into(),
            ),
            _ => AppError::BadRequest("the request is not well-formed HTTP/1.1".into()),
        }
    }

    /// Whether the client is to be given up on (deadline passed, or displaced).
    fn give_up(&mut self, cx: &mut Context<'_>) -> Option<Option<AppError>> {
        if self.shed.requested.load(Ordering::Acquire) {
            return Some(match self.phase {
                Phase::Head => Some(AppError::Unavailable(
                    "the server is at its connection limit and closed this slow connection".into(),
                )),
                _ => None,
            });
        }
        *self.shed.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Some(Some(AppError::RequestTimeout(super::REQUEST_TIMEOUT_DETAIL.into())));
            }
        }
        None
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        if let Some(turn) = self.waiting_turn.take() {
            self.connections.stop_waiting(turn);
        }
        self.connections.close();
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.ended {
                return Poll::Ready(Ok(()));
            }
            if matches!(this.phase, Phase::Head | Phase::Body) {
                if let Some(answer) = this.give_up(cx) {
                    this.end(answer);
                    continue;
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.io).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if read.filled().is_empty() => {
                    // The client closed its side: a partial head can never complete.
                    this.raw.clear();
                    this.ended = true;
                    this.enter(Phase::Idle);
                }
                Poll::Ready(Ok(())) => {
                    this.raw.extend_from_slice(read.filled());
                    if this.phase == Phase::Idle {
                        this.enter(Phase::Head);
                    }
                    this.scan();
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while let Some(answer) = this.answer.as_mut() {
            if answer.is_empty() {
                this.answer = None;
                break;
            }
            match Pin::new(&mut this.io).poll_write(cx, answer) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => this.answer = None,
                Poll::Ready(Ok(n)) => answer.advance(n),
            }
        }
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(_) => {}
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The request target of the first line in `head`, if it has one.
fn request_target(head: &[u8]) -> Option<&str> {
    let line = head.split(|b| *b == b'\n').next()?;
    let target = line.split(|b| *b == b' ').nth(1)?;
    std::str::from_utf8(target).ok()
}

/// A whole HTTP/1.1 response carrying `e` as a problem document (an
/// OperationOutcome when `fhir`), closing the connection.
fn raw_answer(e: &AppError, fhir: bool) -> BytesMut {
    use actix_web::ResponseError;
    let status: StatusCode = e.status_code();
    let (content_type, body) = if fhir {
        let outcome = crate::http::fhir::outcome::outcome_of(e, None);
        (crate::http::fhir::outcome::FHIR_JSON, serde_json::to_vec(&outcome).unwrap_or_default())
    } else {
        ("application/problem+json", serde_json::to_vec(&crate::http::error::problem(e)).unwrap_or_default())
    };
    let retry_after =
        crate::http::error::retry_after_secs(e).map(|s| format!("retry-after: {s}\r\n")).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{retry_after}connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    );
    let mut out = BytesMut::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the dispatcher would read from a client sending `sent`, and what we answer at shutdown.
    async fn through(sent: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(sent).await.unwrap();
        client.shutdown().await.unwrap();
        let mut g = Guarded::new(server, Connections::new(10), Duration::from_secs(5), &ServiceConfig::default());
        let mut seen = Vec::new();
        g.read_to_end(&mut seen).await.unwrap();
        g.shutdown().await.unwrap();
        drop(g);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        (seen, answer)
    }

    async fn good_requests_pass_unchanged_and_a_bad_head_after_them_is_answered_with_a_problem_on_a_runtime() {
        let good = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
            GET /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
        let (seen, answer) = through(good).await;
        assert_eq!(seen, good);
        assert!(answer.is_empty());

        let mut sent = good.to_vec();
        sent.extend_from_slice(b"GET /c HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n");
        let (seen, answer) = through(&sent).await;
        assert_eq!(seen, good, "the bad head never reaches the dispatcher");
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        assert!(answer.contains("application/problem+json") && answer.contains("\"status\":400"), "{answer}");
    }

    async fn oversized_heads_are_431_long_targets_414_and_fhir_targets_get_an_operation_outcome_on_a_runtime() {
        let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
        let (_, answer) = through(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()).await;
        assert!(answer.starts_with(b"HTTP/1.1 431 "), "{}", String::from_utf8_lossy(&answer));
        let (_, answer) = through(format!("GET /{} HTTP/1.1\r\n\r\n", "u".repeat(200_000)).as_bytes()).await;
        assert!(answer.starts_with(b"HTTP/1.1 414 "), "{}", String::from_utf8_lossy(&answer));
        let (_, answer) =
            through(b"GET /fhir/r4/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .await;
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.contains("application/fhir+json") && answer.contains("OperationOutcome"), "{answer}");
    }

    async fn a_new_connection_over_the_cap_displaces_the_one_waiting_longest_on_a_runtime() {
        let connections = Connections::new(1);
        let (_c1, s1) = tokio::io::duplex(1024);
        let config = ServiceConfig::default();
        let mut first = Guarded::new(s1, Arc::clone(&connections), Duration::from_secs(60), &config);
        let (_c2, s2) = tokio::io::duplex(1024);
        let _second = Guarded::new(s2, Arc::clone(&connections), Duration::from_secs(60), &config);
        let mut seen = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut seen)).await;
        assert!(read.is_ok(), "the first connection gave up on its client");
        assert_eq!(connections.open_count(), 2);
        let answer = String::from_utf8_lossy(first.answer.as_deref().unwrap_or_default()).into_owned();
        assert!(answer.starts_with("HTTP/1.1 503 ") && answer.contains("\r\nretry-after: 5\r\n"), "{answer}");
    }

    #[test]
    fn good_requests_pass_unchanged_and_a_bad_head_after_them_is_answered_with_a_problem() {
        actix_web::rt::System::new()
            .block_on(good_requests_pass_unchanged_and_a_bad_head_after_them_is_answered_with_a_problem_on_a_runtime());
    }

    #[test]
    fn oversized_heads_are_431_long_targets_414_and_fhir_targets_get_an_operation_outcome() {
        actix_web::rt::System::new().block_on(oversized_heads_are_431_long_targets_414_and_fhir_targets_get_an_operation_outcome_on_a_runtime());
    }

    #[test]
    fn a_new_connection_over_the_cap_displaces_the_one_waiting_longest() {
        actix_web::rt::System::new()
            .block_on(a_new_connection_over_the_cap_displaces_the_one_waiting_longest_on_a_runtime());
    }
}
