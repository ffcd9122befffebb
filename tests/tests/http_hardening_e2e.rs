//! HTTP hardening (issue 12, items 3, 4 and 6), on every configured backend:
//!
//! - bad requests of every endpoint family leave no client value, health
//!   value or raw path in the server's log, in either log format;
//! - every answer with a status ≥ 400 — including those of the HTTP layer
//!   itself (malformed framing, oversized heads, slow requests) — carries a
//!   problem document (an OperationOutcome under `/fhir/`) that never echoes
//!   the raw path;
//! - connections that trickle a body cannot take the server hostage.
//!
//! Requests are written by hand over a `TcpStream`, so paths and framing
//! reach the server exactly as sent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use phr_core::consent::Access;
use phr_core::dataset::{examples, Quantity, RecordBody, RecordKind, SelfVitals, Subject};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_tests::client::Device;
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::{ServerOptions, ServerProcess, TestDatabase};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
/// Put into bodies, paths, queries and headers of bad requests; must never be logged.
const SENTINEL: &str = "ZQXSENT";
/// A health value sent in a rejected FHIR write; must never be logged.
const HEALTH_VALUE: &str = "987.6543";

fn start(db: &TestDatabase, text_logs: bool, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(ServerOptions {
        binary: Path::new(BIN),
        data_dir: dir.path(),
        database_url: Some(db.url()),
        extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        text_logs,
        fd_soft_limit: None,
    });
    (dir, server)
}

fn addr(server: &ServerProcess) -> SocketAddr {
    server.base_url.trim_start_matches("http://").parse().unwrap()
}

/// One answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// Parses one response off the front of `bytes`; returns it and the rest.
fn parse_response(bytes: &[u8]) -> Option<(Raw, &[u8])> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).expect("response head is ASCII");
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let len = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse::<usize>().unwrap());
    let len = len.unwrap_or(rest.len());
    if rest.len() < len {
        return None;
    }
    let body = String::from_utf8_lossy(&rest[..len]).into_owned();
    Some((Raw { status, headers, body }, &rest[len..]))
}

/// Writes `request` (raw bytes) and reads until the server closes the connection.
fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends one request with `Connection: close` and returns the answer.
fn call(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let out = exchange(addr, &bytes);
    parse_response(&out)
        .unwrap_or_else(|| panic!("no response to {method} {target}: {:?}", String::from_utf8_lossy(&out)))
        .0
}

/// Checks the JSON error document a status ≥ 400 must carry: a problem
/// document, an OperationOutcome under `/fhir/`, or OAuth JSON from `/auth/token`.
fn error_document_problem(target: &str, reply: &Raw) -> Option<String> {
    let content_type = reply.header("content-type").unwrap_or_default();
    let body: Value = match serde_json::from_str(&reply.body) {
        Ok(body) if reply.status >= 400 => body,
        _ => return Some(format!("not a JSON error: {reply:?}")),
    };
    // Under the FHIR bases (the FHIR API and the research Bulk Data base) errors are OperationOutcomes.
    let ok = if target.starts_with("/fhir/") || target.starts_with("/research/") {
        content_type == "application/fhir+json"
            && body["resourceType"] == "OperationOutcome"
            && body["issue"][0]["code"].is_string()
    } else if target == "/auth/token" && body.get("error").is_some() {
        body["error_description"].is_string()
    } else {
        content_type == "application/problem+json"
            && body["status"] == reply.status
            && body["detail"].as_str().is_some_and(|d| !d.is_empty())
    };
    (!ok).then(|| format!("not the expected error document: {reply:?}"))
}

#[track_caller]
fn assert_error_document(what: &str, target: &str, reply: &Raw) {
    if let Some(problem) = error_document_problem(target, reply) {
        panic!("{what}: {problem}");
    }
}

/// A family with one synced record granted read-write to a clinic, and the clinic's client.
fn family_with_clinic(server: &ServerProcess, dir: &Path, db: &TestDatabase) -> (Device, OrgClient, String) {
    let mut device = Device::create_account(&server.base_url, "Mother's phone");
    let mut visit = examples::prenatal_visit_full();
    visit.visit_date = "2026-02-15".parse().unwrap();
    let id = Uuid::now_v7();
    device.edit(
        id,
        RecordKind::PrenatalVisit,
        Subject::Mother,
        serde_json::to_value(RecordBody::PrenatalVisit(visit)).unwrap(),
    );
    device.sync();
    let org = OrgClient::register(BIN.as_ref(), dir, &db.url(), &server.base_url, "sentinel-clinic", "system/*.cruds");
    let grant = grant_of(
        "sentinel-clinic",
        &[RecordKind::PrenatalVisit, RecordKind::SelfVitals],
        &[Subject::Mother],
        Access::ReadWrite,
    );
    create_grant(&device, &grant, &[id]);
    let (status, bundle) = org.get("/fhir/r4/Encounter");
    assert_eq!(status, 200, "{bundle}");
    let reference = bundle["entry"][0]["resource"]["subject"]["reference"].as_str().unwrap();
    let patient = reference.strip_prefix("Patient/").unwrap().to_owned();
    (device, org, patient)
}

/// An unsigned client assertion naming `iss` (the server reads `iss` before it verifies).
fn assertion_naming(iss: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let header = B64URL.encode(json!({"alg": "ES384", "typ": "JWT", "kid": "k1"}).to_string());
    let claims =
        B64URL.encode(json!({"iss": iss, "sub": iss, "aud": "x", "exp": 4_000_000_000u64, "jti": iss}).to_string());
    format!("{header}.{claims}.{}", B64URL.encode([0u8; 96]))
}

/// `value` with one more field named `key`.
fn with_key(mut value: Value, key: &str) -> Value {
    value[key] = json!(key);
    value
}

/// 32 zero bytes in base64: a well-formed key for a body that must get past JSON parsing.
const ZERO_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// `headers` with an `Idempotency-Key`.
fn idempotent(mut headers: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
    headers.push(("Idempotency-Key".to_owned(), key.to_owned()));
    headers
}

/// What, method, target, headers, body, and whether the sentinel is only in the target.
type SentinelRequest = (&'static str, String, String, Vec<(String, String)>, Vec<u8>, bool);

/// Bad requests of every endpoint family, with the sentinel in bodies, paths,
/// queries and headers. `path_only` marks those whose sentinel is only in the
/// request target: their answers must not echo it either.
fn sentinel_requests(device: &Device, org: &OrgClient, patient: &str) -> Vec<SentinelRequest> {
    let s = SENTINEL;
    let bearer = |t: &str| vec![("Authorization".to_owned(), format!("Bearer {t}"))];
    let json_ct = |mut h: Vec<(String, String)>| {
        h.push(("Content-Type".to_owned(), "application/json".to_owned()));
        h
    };
    let dev = json_ct(bearer(&device.access_token));
    let clinic = json_ct(bearer(&org.token));
    let heavy = to_fhir(
        &RecordBody::SelfVitals(SelfVitals {
            weight: Some(Quantity::new(HEALTH_VALUE.parse().unwrap())),
            ..examples::self_vitals_minimal()
        }),
        &MappingContext::new(Uuid::now_v7(), patient),
    )
    .unwrap();
    let heavy = serde_json::to_vec(&heavy[0]).unwrap();
    let none: Vec<(String, String)> = vec![];
    let form = vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    let b = |v: Value| v.to_string().into_bytes();
    vec![
        // accounts
        ("create account, unknown field and bad key", "POST".into(), "/accounts/v1".into(), json_ct(none.clone()),
            b(with_key(json!({"account_public_key": s, "device": {"public_key": s, "name": s}}), s)), false),
        ("create account, a name of the wrong type", "POST".into(), "/accounts/v1".into(), json_ct(none.clone()),
            b(json!({"account_public_key": format!("{s}x"), "device": {"public_key": 5, "name": [s]}})), false),
        ("create account with an unusable Idempotency-Key", "POST".into(), "/accounts/v1".into(),
            idempotent(json_ct(none.clone()), s),
            b(json!({"account_public_key": ZERO_KEY, "device": {"public_key": ZERO_KEY, "name": "phone"}})), false),
        ("join with a bad code and an Idempotency-Key", "POST".into(), "/accounts/v1/join".into(),
            idempotent(json_ct(none.clone()), &format!("{s}-0123456789abcdef")),
            b(json!({"account_id": device.account_id, "pairing_code": s, "device": {"public_key": ZERO_KEY, "name": "phone"}})), false),
        ("remove a device by a raw id", "DELETE".into(), format!("/accounts/v1/devices/{s}-dev"), dev.clone(), vec![], true),
        ("join with a bad code", "POST".into(), "/accounts/v1/join".into(), json_ct(none.clone()),
            b(json!({"account_id": s, "pairing_code": s, "device": {"public_key": s, "name": s}})), false),
        ("recovery fetch for a raw id", "POST".into(), "/accounts/v1/recovery/key-backup".into(), json_ct(none.clone()),
            b(json!({"account_id": s})), false),
        ("key backup with bad values", "PUT".into(), "/accounts/v1/key-backup".into(), dev.clone(),
            b(json!({"kdf": s, "iterations": s, "salt": s, "sealed_key": s})), false),
        // auth
        ("challenge for raw ids", "POST".into(), "/auth/v1/challenge".into(), json_ct(none.clone()),
            b(json!({"account_id": s, "device_id": s})), false),
        ("session with a bad signature", "POST".into(), "/auth/v1/session".into(), json_ct(none.clone()),
            b(json!({"account_id": device.account_id, "device_id": device.device_id, "challenge_id": s, "signature": s})), false),
        ("refresh with a raw token", "POST".into(), "/auth/v1/refresh".into(), json_ct(none.clone()),
            b(json!({"refresh_token": s})), false),
        ("a forged bearer token", "GET".into(), "/accounts/v1".into(), bearer(&format!("{s}.{s}.{s}")), vec![], false),
        // sync
        ("push with raw values", "POST".into(), "/sync/v1/push".into(), dev.clone(),
            b(json!({"batch_id": s, "changes": [{"record_id": s, "kind": s}]})), false),
        ("pull with raw query values", "GET".into(), format!("/sync/v1/pull?since={s}&{s}=1"), dev.clone(), vec![], true),
        // consent
        ("grant with raw values", "POST".into(), "/consent/v1/grants".into(), dev.clone(),
            b(json!({"grant": {"grantee": s, "purpose": s}, "wrapped_grant_key": s})), false),
        ("a grant by a raw id", "GET".into(), format!("/consent/v1/grants/{s}-grant"), dev.clone(), vec![], true),
        ("revoke a grant by a raw id", "DELETE".into(), format!("/consent/v1/grants/{s}-grant"), dev.clone(), vec![], true),
        // audit
        ("audit with raw query values", "GET".into(), format!("/audit/v1/events?since={s}&limit={s}"), dev.clone(), vec![], true),
        // SMART token endpoint
        ("token with a raw grant type", "POST".into(), "/auth/token".into(), form.clone(),
            format!("grant_type={s}&scope={s}").into_bytes(), false),
        ("token with an assertion from an unknown issuer", "POST".into(), "/auth/token".into(), form.clone(),
            format!("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}&scope=system%2F{s}.rs", assertion_naming(&format!("{s}-org"))).into_bytes(), false),
        // FHIR
        ("a health value out of range", "POST".into(), "/fhir/r4/Observation".into(), clinic.clone(), heavy, false),
        ("FHIR JSON of wrong types", "POST".into(), "/fhir/r4/Observation".into(), clinic.clone(),
            b(json!({"resourceType": "Observation", "status": [s], "subject": {"reference": format!("Patient/{s}")}})), false),
        ("a FHIR read of a raw id", "GET".into(), format!("/fhir/r4/Observation/{s}-obs"), clinic.clone(), vec![], true),
        ("a FHIR search with raw values", "GET".into(), format!("/fhir/r4/Observation?patient={s}&date=ge{s}&{s}=1"), clinic.clone(), vec![], true),
        ("an unknown FHIR type", "GET".into(), format!("/fhir/r4/{s}Type"), clinic.clone(), vec![], true),
        ("an unknown FHIR interaction", "PATCH".into(), format!("/fhir/r4/Observation/{s}/x"), clinic.clone(), vec![], true),
        ("a FHIR path outside r4", "GET".into(), format!("/fhir/{s}"), clinic.clone(), vec![], true),
        // research
        ("an export kick-off with raw values", "GET".into(), format!("/research/v1/$export?_type={s}&_since={s}"), clinic.clone(), vec![], true),
        ("a traversal under an export's files", "GET".into(), format!("/research/v1/exports/{s}/files/../../{s}/etc/passwd"), clinic.clone(), vec![], true),
        ("an encoded traversal under an export's files", "GET".into(), format!("/research/v1/exports/{s}/files/..%2F..%2F{s}"), clinic.clone(), vec![], true),
        ("a research path outside v1", "GET".into(), format!("/research/{s}?{s}={s}"), clinic.clone(), vec![], true),
        // anything else
        ("no such route", "GET".into(), format!("/{s}/nowhere?{s}={s}"), vec![("X-Request-Id".to_owned(), s.to_owned())], vec![], true),
        ("a method no route takes", "PATCH".into(), "/healthz".into(), json_ct(none.clone()), b(json!({"x": s})), false),
    ]
}

fn sentinel_scenario(db: &TestDatabase, text_logs: bool) {
    let (dir, server) = start(db, text_logs, &[]);
    let (device, org, patient) = family_with_clinic(&server, dir.path(), db);
    let addr = addr(&server);
    let mut failures = Vec::new();
    for (what, method, target, headers, body, path_only) in sentinel_requests(&device, &org, &patient) {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let reply = call(addr, &method, &target, &headers, &body);
        if let Some(problem) = error_document_problem(&target, &reply) {
            failures.push(format!("{what}: {problem}"));
        }
        if path_only && reply.body.contains(SENTINEL) {
            failures.push(format!("{what}: the answer echoes the request target: {reply:?}"));
        }
    }
    // The server is still fine, and it logged each request (so the log was written at all).
    assert_eq!(call(addr, "GET", "/healthz", &[], &[]).status, 200);
    let logs = server.logs().join("\n");
    assert!(logs.contains("request finished"), "{logs}");
    for needle in [SENTINEL, &SENTINEL.to_ascii_lowercase(), HEALTH_VALUE, "passwd", "../"] {
        for leak in logs.lines().filter(|l| l.contains(needle)) {
            failures.push(format!("the log carries {needle:?}: {leak}"));
        }
    }
    let format = if text_logs { "text" } else { "json" };
    assert!(failures.is_empty(), "{} failures ({format} logs):\n{}", failures.len(), failures.join("\n"));
}

phr_tests::backend_test! {
    /// Item 4: the JSON log of bad requests carries no client value, health value or raw path.
    fn bad_requests_leave_no_client_values_health_data_or_raw_paths_in_json_logs(db) {
        sentinel_scenario(&db, false);
    }
}

phr_tests::backend_test! {
    /// Item 4: the same with text logs.
    fn bad_requests_leave_no_client_values_health_data_or_raw_paths_in_text_logs(db) {
        sentinel_scenario(&db, true);
    }
}

/// Raw requests the HTTP layer itself refuses, and the status each must get.
fn framing_cases() -> Vec<(&'static str, Vec<u8>, u16)> {
    let many_headers: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big_header = format!("X-Big: {}\r\n", "h".repeat(140 * 1024));
    vec![
        ("a malformed request line", b"NOT AN HTTP REQUEST\r\n\r\n".to_vec(), 400),
        ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n".to_vec(), 400),
        (
            "two different Content-Lengths",
            b"POST /sync/v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello".to_vec(),
            400,
        ),
        (
            "a bad chunk size",
            b"POST /auth/v1/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        ("too many headers", format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(), 431),
        ("a header too large", format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{big_header}\r\n").into_bytes(), 431),
        ("a URI too long", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "u".repeat(70 * 1024)).into_bytes(), 414),
        (
            "a URI longer than a whole head may be",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "u".repeat(140 * 1024)).into_bytes(),
            414,
        ),
    ]
}

phr_tests::backend_test! {
    /// Item 6: answers of the HTTP layer itself (bad framing 400, oversized
    /// heads 431, long URIs 414) are problem documents too, after the answers
    /// to the well-formed requests pipelined before them; the connection then closes.
    fn errors_raised_by_the_http_layer_itself_are_problem_documents(db) {
        let (_dir, server) = start(&db, false, &[]);
        let addr = addr(&server);
        for (what, bad, status) in framing_cases() {
            let reply = exchange(addr, &bad);
            let (reply, rest) = parse_response(&reply)
                .unwrap_or_else(|| panic!("{what}: no response: {:?}", String::from_utf8_lossy(&reply)));
            assert_eq!(reply.status, status, "{what}: {reply:?}");
            assert_error_document(what, "/", &reply);
            assert!(rest.is_empty(), "{what}: nothing follows: {:?}", String::from_utf8_lossy(rest));

            // The same behind a well-formed request on one connection: first its answer, then the error.
            let mut pipelined = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
            pipelined.extend_from_slice(&bad);
            let out = exchange(addr, &pipelined);
            let (first, rest) = parse_response(&out).unwrap_or_else(|| panic!("{what}: {:?}", String::from_utf8_lossy(&out)));
            assert_eq!(first.status, 200, "{what}: {first:?}");
            assert_eq!(first.json()["status"], "ok", "{what}");
            let (second, rest) = parse_response(rest).unwrap_or_else(|| panic!("{what}: {:?}", String::from_utf8_lossy(rest)));
            assert_eq!(second.status, status, "{what} (pipelined): {second:?}");
            assert_error_document(what, "/", &second);
            assert!(rest.is_empty(), "{what} (pipelined): nothing follows");
        }
        // Under /fhir/ the same answers are OperationOutcomes.
        let (_, bad, _) = &framing_cases()[2];
        let bad = String::from_utf8_lossy(bad).replace("/sync/v1/push", "/fhir/r4/Observation");
        let out = exchange(addr, bad.as_bytes());
        let (reply, _) = parse_response(&out).expect("a response");
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_error_document("bad framing under /fhir/", "/fhir/r4/Observation", &reply);

        // Keep-alive and pipelining of good requests are unchanged: three answers on one connection.
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = br#"{"x":1}"#;
        let mut reqs = Vec::new();
        reqs.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        reqs.extend_from_slice(format!("POST /auth/v1/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        reqs.extend_from_slice(body);
        reqs.extend_from_slice(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(&reqs).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        let mut answers = Vec::new();
        while answers.len() < 3 {
            let n = s.read(&mut buf).expect("three answers before the timeout");
            assert!(n > 0, "the connection closed after {} answers", answers.len());
            got.extend_from_slice(&buf[..n]);
            while let Some((reply, rest)) = parse_response(&got) {
                answers.push(reply);
                got = rest.to_vec();
            }
        }
        assert_eq!(answers.iter().map(|a| a.status).collect::<Vec<_>>(), vec![200, 400, 200], "{answers:?}");
        // ...and the connection stays open for more.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let n = s.read(&mut buf).unwrap();
        assert!(parse_response(&buf[..n]).is_some_and(|(r, _)| r.status == 200));
    }
}

/// Raises this test process's open-file soft limit to its hard limit (1,100 sockets).
fn raise_own_fd_limit() {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl), 0);
        rl.rlim_cur = rl.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &rl), 0);
    }
    assert!(rl.rlim_cur >= 1_500, "this test needs 1,500 descriptors; the hard limit is {}", rl.rlim_cur);
}

/// A client that sends a head announcing a body, and one byte of that body.
fn slow_body_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect a slow client");
    s.write_all(
        b"POST /auth/v1/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    )
    .unwrap();
    s
}

/// `GET /healthz` and a device sync, each of which must answer within 1 s.
fn assert_health_and_sync_answer_within_a_second(addr: SocketAddr, device: &mut Device, what: &str) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let took = started.elapsed();
    let reply = parse_response(&out).map(|(r, _)| r);
    assert!(reply.as_ref().is_some_and(|r| r.status == 200), "{what}: /healthz answered {reply:?} after {took:?}");
    assert!(took < Duration::from_secs(1), "{what}: /healthz took {took:?}");

    let started = Instant::now();
    let id = Uuid::now_v7();
    device.edit(id, RecordKind::PrenatalVisit, Subject::Mother, json!({"note": "visit"}));
    device.sync();
    let took = started.elapsed();
    assert!(device.records.get(&id).is_some_and(|r| !r.pending), "{what}: the record synced");
    assert!(took < Duration::from_secs(1), "{what}: a device sync took {took:?}");
}

phr_tests::backend_test! {
    /// Item 3: 1,100 clients that send headers and then trickle a body, on a
    /// server started with a 1,024 open-file soft limit, do not keep `/healthz`
    /// or a device sync from answering within 1 s; once the request deadline
    /// passes, each slow client gets a 408 problem and its connection closes.
    fn slow_bodies_do_not_hold_the_server_hostage_and_are_dropped_with_408_at_the_deadline(db) {
        raise_own_fd_limit();
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(ServerOptions {
            binary: Path::new(BIN),
            data_dir: dir.path(),
            database_url: Some(db.url()),
            extra_args: vec!["--request-timeout-secs".into(), "10".into()],
            env: vec![],
            text_logs: false,
            fd_soft_limit: Some(1024),
        });
        let addr = addr(&server);
        let mut device = Device::create_account(&server.base_url, "Mother's phone");
        let opened = Instant::now();
        let mut slow: Vec<TcpStream> = (0..1_100).map(|_| slow_body_client(addr)).collect();
        std::thread::sleep(Duration::from_millis(300));
        assert_health_and_sync_answer_within_a_second(addr, &mut device, "with 1,100 slow bodies open");
        assert!(opened.elapsed() < Duration::from_secs(9), "the checks ran before the deadline");
        // The slow clients were all still connected, waiting.
        for s in slow.iter().step_by(100) {
            s.set_nonblocking(true).unwrap();
            let mut byte = [0u8; 1];
            let still_open = matches!((&*s).read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
            assert!(still_open, "a slow client was dropped before the deadline");
            s.set_nonblocking(false).unwrap();
        }

        // After the deadline: a 408 problem each, then the connection closes.
        for (i, s) in slow.iter_mut().enumerate() {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            let reply = parse_response(&out).map(|(r, _)| r).unwrap_or_else(|| {
                panic!("slow client {i}: no answer: {:?}", String::from_utf8_lossy(&out))
            });
            assert_eq!(reply.status, 408, "slow client {i}: {reply:?}");
            assert_error_document("a slow body", "/auth/v1/challenge", &reply);
            assert_eq!(reply.header("connection"), Some("close"), "slow client {i}: {reply:?}");
        }
        assert!(opened.elapsed() >= Duration::from_secs(9), "not dropped before the deadline");
        assert_health_and_sync_answer_within_a_second(addr, &mut device, "afterwards");
        let logs = server.logs().join("\n");
        assert!(logs.contains("open-file limit") && logs.contains("\"soft_before\":1024"), "both limits are logged");
    }
}

phr_tests::backend_test! {
    /// Item 3: at `--max-connections`, each new connection closes the one that
    /// has waited longest for its client, so 1,100 slow clients against a cap
    /// of 500 still leave room for `/healthz` and a device sync within 1 s.
    fn over_the_connection_cap_new_connections_displace_the_slowest_clients(db) {
        raise_own_fd_limit();
        let (_dir, server) = start(&db, false, &["--max-connections", "500"]);
        let addr = addr(&server);
        let mut device = Device::create_account(&server.base_url, "Mother's phone");
        let mut slow: Vec<TcpStream> = (0..1_100).map(|_| slow_body_client(addr)).collect();
        std::thread::sleep(Duration::from_millis(500));
        assert_health_and_sync_answer_within_a_second(addr, &mut device, "1,100 slow clients over a cap of 500");
        // The first slow clients were displaced (closed); the last ones still wait.
        let mut closed = 0;
        for s in slow.iter_mut() {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 4096];
            match s.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                _ => closed += 1,
            }
        }
        assert!(closed >= 500, "only {closed} of 1,100 slow clients were displaced");
        assert!(closed < 1_100, "the newest slow clients still wait");
        assert!(server.logs().join("\n").contains("connection cap reached"));
    }
}
