//! [`Error`]: what went wrong inside the engine, said by kind.
//!
//! The engine branches on these kinds (a 401 signs in again, a refused push
//! batch leaves the outbox, the server's `account-deleted` wipes the store);
//! the FFI layer maps each kind to the app-facing `PhrError` in one place
//! (`crate::ffi::error`).

use phr_core::dataset::ValidationErrors;

/// One problem with an input, by field path (`blood_pressure.systolic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldProblem { field: field.into(), reason: reason.into() }
    }
}

/// What an HTTP error status from the server means to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// 401: the access token (or the device's credentials) was refused.
    Unauthorized,
    /// 403: the device may not do this.
    Forbidden,
    /// 404: no such resource on the server.
    NotFound,
    /// 409: the change clashes with the server's state.
    Conflict,
    /// 408: the server gave up waiting for the request.
    Timeout,
    /// 429: too many requests; try later.
    RateLimited,
    /// 5xx: the server failed or is unavailable.
    ServerError,
    /// Any other status: the server refused the request as it is (400, 413,
    /// 422, a 410 that is not `account-deleted`, ...). Sending it again as it
    /// is will not help.
    Rejected,
}

impl HttpErrorKind {
    /// The kind of a non-2xx status (other than the `account-deleted` 410,
    /// which is [`Error::AccountDeleted`]).
    pub fn of_status(status: u16) -> Self {
        match status {
            401 => HttpErrorKind::Unauthorized,
            403 => HttpErrorKind::Forbidden,
            404 => HttpErrorKind::NotFound,
            409 => HttpErrorKind::Conflict,
            408 => HttpErrorKind::Timeout,
            429 => HttpErrorKind::RateLimited,
            500..=599 => HttpErrorKind::ServerError,
            _ => HttpErrorKind::Rejected,
        }
    }

    /// The server refused the device's credentials (sign in again).
    pub fn is_credentials_refused(self) -> bool {
        matches!(self, HttpErrorKind::Unauthorized | HttpErrorKind::Forbidden)
    }

    /// Trying the same request again later may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, HttpErrorKind::Timeout | HttpErrorKind::RateLimited | HttpErrorKind::ServerError)
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One argument is malformed (not a UUID, not a date, wrong length, ...).
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A record or grant was refused by validation (phr-core); every problem
    /// with its field path, at least one.
    #[error("invalid input: {} problem(s), first {}", .0.len(), .0.first().map(|p| p.field.as_str()).unwrap_or("?"))]
    Validation(Vec<FieldProblem>),
    /// No account on this device (none created, joined or restored yet).
    #[error("no account on this device: create or join one first")]
    NotSignedIn,
    /// This device already belongs to an account.
    #[error("this device already belongs to an account")]
    AlreadyEnrolled,
    /// The family account was deleted (the server's `account-deleted` 410, or
    /// remembered from an earlier one).
    #[error("the family account has been deleted")]
    AccountDeleted,
    /// Something this device holds locally does not exist (a record, a
    /// child's newborn record, ...).
    #[error("not found: {0}")]
    NotFound(String),
    /// A medication notebook (JAHIS) text was refused: `reason` names the line
    /// and field; nothing was stored.
    #[error("medication notebook: {reason}")]
    Notebook { line: Option<u64>, reason: String },
    /// The local records do not decide a question (e.g. two newborn records
    /// for one child).
    #[error("ambiguous: {0}")]
    Ambiguous(String),
    /// The local database failed.
    #[error("local database: {0}")]
    Storage(#[from] diesel::result::Error),
    /// The local database could not be opened.
    #[error("opening the local database: {0}")]
    StorageOpen(#[from] diesel::ConnectionError),
    /// A value stored locally does not read back (a missing or malformed
    /// entry): the file is damaged or from an incompatible version.
    #[error("the local store is damaged: {0}")]
    CorruptStore(String),
    /// Encoding one of the engine's own values as JSON failed.
    #[error("encoding {what}: {reason}")]
    Encoding { what: &'static str, reason: String },
    /// A key or envelope did not open or could not be made: wrong device
    /// storage key, wrong account key, tampered data, no randomness.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The key backup did not open with the passphrase given.
    #[error("wrong passphrase: the account key backup did not open with it")]
    WrongPassphrase,
    /// The app's transport produced no answer (no connection, timeout, TLS).
    #[error("transport failed: {0}")]
    Network(String),
    /// The server answered with an error status. `retry_after_ms`: what its
    /// `Retry-After` header said (429, 503), if anything.
    #[error("HTTP {status} ({kind:?}): {detail}")]
    Http { status: u16, kind: HttpErrorKind, detail: String, retry_after_ms: Option<u64> },
    /// The server's answer is not what the protocol says (unreadable or cut
    /// off JSON, an answer to another request, an invalid id or key). Nothing
    /// was applied from it; trying again may succeed.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// Another `PhrClient` (in this process or another) has this store open;
    /// two engines on one file would lose each other's writes.
    #[error("the local store is in use by another client: {0}")]
    StoreInUse(String),
    /// A local change would make a record too big to ever sync (the server's
    /// limit on one sealed record); nothing was saved.
    #[error("the record would be {size} bytes sealed; the server accepts at most {limit}")]
    RecordTooLarge { size: u64, limit: u64 },
    /// The server asked this device to wait (a 429 or 503 with
    /// `Retry-After`) and the time is not up yet; nothing was sent.
    #[error("the server asked to wait {retry_after_ms} ms more before syncing again")]
    BackingOff { retry_after_ms: u64 },
}

/// The engine's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A malformed argument.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.into(), reason: reason.into() }
    }

    /// An id argument (`field`) as a UUID, surrounding whitespace ignored; anything else is
    /// [`Error::InvalidInput`].
    pub fn uuid_arg(field: &str, text: &str) -> Result<uuid::Uuid> {
        uuid::Uuid::parse_str(text.trim()).map_err(|_| Error::invalid(field, "not a UUID"))
    }

    /// A damaged local value.
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Error::CorruptStore(what.to_string())
    }

    /// A key or envelope problem.
    pub fn crypto(what: impl std::fmt::Display) -> Self {
        Error::Crypto(what.to_string())
    }

    /// Encoding `what` as JSON failed.
    pub fn encoding(what: &'static str, e: impl std::fmt::Display) -> Self {
        Error::Encoding { what, reason: e.to_string() }
    }

    /// An error status from the server (no `Retry-After`).
    pub fn http(status: u16, detail: impl Into<String>) -> Self {
        Error::Http { status, kind: HttpErrorKind::of_status(status), detail: detail.into(), retry_after_ms: None }
    }

    /// How long the server asked to wait before trying again, if it said.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Error::Http { retry_after_ms, .. } => *retry_after_ms,
            Error::BackingOff { retry_after_ms } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// The server answered `kind`.
    pub fn is_http(&self, kind: HttpErrorKind) -> bool {
        matches!(self, Error::Http { kind: k, .. } if *k == kind)
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        let mut problems: Vec<FieldProblem> =
            errors.0.into_iter().map(|i| FieldProblem { field: i.path, reason: i.reason }).collect();
        if problems.is_empty() {
            problems.push(FieldProblem::new("body", "invalid"));
        }
        Error::Validation(problems)
    }
}

impl From<phr_core::crypto::CryptoError> for Error {
    fn from(e: phr_core::crypto::CryptoError) -> Self {
        Error::crypto(e)
    }
}

impl From<phr_core::sync::record_envelope::EnvelopeError> for Error {
    fn from(e: phr_core::sync::record_envelope::EnvelopeError) -> Self {
        Error::crypto(e)
    }
}
