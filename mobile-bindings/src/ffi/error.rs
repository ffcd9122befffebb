//! [`PhrError`]: the one error type that crosses the FFI, and the one place
//! engine errors become it (`From<engine::Error>`).
//!
//! Apps branch on the variant, never on a message string: `Validation` shows
//! the field, `Auth` sends the user to pair again, `Network` retries later
//! (when `retryable`), `Conflict`/`NotFound` refresh the screen, `Storage` and
//! `Crypto` are reported, `AccountDeleted` tells the user the family account
//! is gone (this device's copy has been wiped).

use crate::engine::{self, HttpErrorKind};

/// One problem with a record, by field path (`blood_pressure.systolic`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldIssue {
    pub field: String,
    pub reason: String,
}

/// Everything that can go wrong in a [`PhrClient`](crate::PhrClient) call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PhrError {
    /// The input was refused by phr-core: `field` and `reason` name the first
    /// problem, `issues` lists all of them.
    #[error("invalid {field}: {reason}")]
    Validation { field: String, reason: String, issues: Vec<FieldIssue> },
    /// Not signed in, no account on this device, or the server refused the
    /// device's credentials (pair the device again).
    #[error("authentication failed: {reason}")]
    Auth { reason: String },
    /// The transport failed or the server answered unexpectedly. `retryable`:
    /// trying again later may succeed (no connection, 429, 5xx, an answer cut
    /// off or not matching the request). `retry_after_ms`: the server asked
    /// to wait this long first (`Retry-After` on 429/503; `sync()` refuses to
    /// send before then).
    #[error("network error: {reason}")]
    Network { reason: String, retryable: bool, retry_after_ms: Option<u64> },
    /// Another `PhrClient` has this store file open (in this process or
    /// another); use that one, or close it first.
    #[error("store in use: {reason}")]
    StoreInUse { reason: String },
    /// The change would make the record too large for the server to ever
    /// accept (`size` sealed bytes, `limit` allowed); nothing was saved.
    /// Shorten the record (e.g. its notes) and save again.
    #[error("record too large: {size} bytes, the limit is {limit}")]
    RecordTooLarge { size: u64, limit: u64 },
    /// The operation clashes with the current state (an account already
    /// exists here, the server refused a change as conflicting).
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// No such record (or it is deleted).
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The local database failed.
    #[error("local storage error: {reason}")]
    Storage { reason: String },
    /// A key or envelope did not open: wrong device storage key, wrong account
    /// key, or tampered data.
    #[error("crypto error: {reason}")]
    Crypto { reason: String },
    /// A medication notebook (JAHIS) text was refused; nothing was stored.
    /// `reason` names the line and field (or the missing QR parts), `line` is
    /// the line when the problem is on one.
    #[error("medication notebook: {reason}")]
    Notebook { line: Option<u64>, reason: String },
    /// The family account was deleted (by another device of the family): the
    /// server answered 410 `account-deleted`. The engine has already wiped
    /// this device's copy (every record, the outbox, grants, the sealed
    /// account and device keys) and answers this to every later call, also
    /// after the store is opened again, until a new account is created,
    /// joined or restored here. The app shows that the account is gone and
    /// may delete its device storage key from the Keychain/Keystore.
    #[error("the family account has been deleted: {reason}")]
    AccountDeleted { reason: String },
}

impl From<engine::Error> for PhrError {
    fn from(e: engine::Error) -> Self {
        use engine::Error as E;
        match e {
            E::InvalidInput { field, reason } => PhrError::Validation {
                issues: vec![FieldIssue { field: field.clone(), reason: reason.clone() }],
                field,
                reason,
            },
            E::Validation(problems) => {
                let issues: Vec<FieldIssue> =
                    problems.into_iter().map(|p| FieldIssue { field: p.field, reason: p.reason }).collect();
                let first =
                    issues.first().cloned().unwrap_or(FieldIssue { field: "body".into(), reason: "invalid".into() });
                PhrError::Validation { field: first.field, reason: first.reason, issues }
            }
            e @ (E::NotSignedIn | E::WrongPassphrase) => PhrError::Auth { reason: e.to_string() },
            e @ E::AlreadyEnrolled => PhrError::Conflict { reason: e.to_string() },
            E::AccountDeleted => PhrError::AccountDeleted {
                reason: "another device of the family deleted the account; this device's copy has been erased".into(),
            },
            E::NotFound(what) => PhrError::NotFound { what },
            E::Notebook { line, reason } => PhrError::Notebook { line, reason },
            E::Ambiguous(reason) => PhrError::Conflict { reason },
            E::Storage(e) => PhrError::Storage { reason: e.to_string() },
            E::StorageOpen(e) => PhrError::Storage { reason: e.to_string() },
            E::CorruptStore(reason) => PhrError::Storage { reason },
            // No variant says "internal": encoding the engine's own values
            // fails only if the program is wrong, and is reported like a
            // local failure, as before.
            e @ E::Encoding { .. } => PhrError::Storage { reason: e.to_string() },
            E::Crypto(reason) => PhrError::Crypto { reason },
            e @ E::Network(_) => PhrError::Network { reason: e.to_string(), retryable: true, retry_after_ms: None },
            E::Http { kind, detail, retry_after_ms, .. } => match kind {
                HttpErrorKind::Unauthorized | HttpErrorKind::Forbidden => PhrError::Auth { reason: detail },
                HttpErrorKind::NotFound => PhrError::NotFound { what: detail },
                HttpErrorKind::Conflict => PhrError::Conflict { reason: detail },
                HttpErrorKind::Timeout | HttpErrorKind::RateLimited | HttpErrorKind::ServerError => {
                    PhrError::Network { reason: detail, retryable: true, retry_after_ms }
                }
                HttpErrorKind::Rejected => PhrError::Network { reason: detail, retryable: false, retry_after_ms: None },
            },
            e @ E::Protocol(_) => PhrError::Network { reason: e.to_string(), retryable: true, retry_after_ms: None },
            e @ E::BackingOff { retry_after_ms } => {
                PhrError::Network { reason: e.to_string(), retryable: true, retry_after_ms: Some(retry_after_ms) }
            }
            E::StoreInUse(reason) => PhrError::StoreInUse { reason },
            E::RecordTooLarge { size, limit } => PhrError::RecordTooLarge { size, limit },
        }
    }
}

#[cfg(test)]
mod tests {
    use engine::{Error, FieldProblem};

    use super::*;

    fn http(status: u16) -> Error {
        Error::http(status, format!("HTTP {status}: why"))
    }

    #[test]
    fn input_and_validation_errors_become_validation_naming_the_first_field_and_listing_all() {
        assert_eq!(
            PhrError::from(Error::invalid("record_id", "not a UUID")),
            PhrError::Validation {
                field: "record_id".into(),
                reason: "not a UUID".into(),
                issues: vec![FieldIssue { field: "record_id".into(), reason: "not a UUID".into() }],
            }
        );
        let e = Error::Validation(vec![FieldProblem::new("purpose", "bad"), FieldProblem::new("to", "ended")]);
        let PhrError::Validation { field, reason, issues } = PhrError::from(e) else { panic!() };
        assert_eq!((field.as_str(), reason.as_str()), ("purpose", "bad"));
        assert_eq!(issues.iter().map(|i| i.field.as_str()).collect::<Vec<_>>(), ["purpose", "to"]);
    }

    #[test]
    fn local_state_errors_map_to_auth_conflict_not_found_and_account_deleted() {
        assert!(
            matches!(PhrError::from(Error::NotSignedIn), PhrError::Auth { reason } if reason.contains("no account"))
        );
        assert!(matches!(
            PhrError::from(Error::WrongPassphrase),
            PhrError::Auth { reason } if reason.contains("wrong passphrase")
        ));
        assert!(matches!(PhrError::from(Error::AlreadyEnrolled), PhrError::Conflict { .. }));
        assert!(matches!(PhrError::from(Error::Ambiguous("two newborns".into())), PhrError::Conflict { .. }));
        assert_eq!(PhrError::from(Error::NotFound("record x".into())), PhrError::NotFound { what: "record x".into() });
        assert!(matches!(PhrError::from(Error::AccountDeleted), PhrError::AccountDeleted { .. }));
    }

    #[test]
    fn local_database_damage_and_encoding_failures_are_storage_and_keys_are_crypto() {
        assert!(matches!(PhrError::from(Error::Storage(diesel::result::Error::NotFound)), PhrError::Storage { .. }));
        let open = diesel::ConnectionError::BadConnection("locked".into());
        assert!(matches!(PhrError::from(Error::StorageOpen(open)), PhrError::Storage { .. }));
        assert_eq!(
            PhrError::from(Error::corrupt("meta cursor is not text")),
            PhrError::Storage { reason: "meta cursor is not text".into() }
        );
        assert!(matches!(PhrError::from(Error::encoding("the grant", "x")), PhrError::Storage { .. }));
        assert_eq!(PhrError::from(Error::crypto("tampered")), PhrError::Crypto { reason: "tampered".into() });
    }

    #[test]
    fn transport_failures_and_bad_answers_are_retryable_network_errors() {
        assert_eq!(
            PhrError::from(Error::Network("offline".into())),
            PhrError::Network { reason: "transport failed: offline".into(), retryable: true, retry_after_ms: None }
        );
        assert_eq!(
            PhrError::from(Error::Protocol("the server's answer was cut off after 12 bytes".into())),
            PhrError::Network {
                reason: "unexpected answer from the server: the server's answer was cut off after 12 bytes".into(),
                retryable: true,
                retry_after_ms: None
            }
        );
        assert_eq!(
            PhrError::from(Error::BackingOff { retry_after_ms: 1500 }),
            PhrError::Network {
                reason: "the server asked to wait 1500 ms more before syncing again".into(),
                retryable: true,
                retry_after_ms: Some(1500)
            }
        );
        let limited = Error::Http {
            status: 429,
            kind: HttpErrorKind::RateLimited,
            detail: "HTTP 429: slow down".into(),
            retry_after_ms: Some(3000),
        };
        assert!(matches!(PhrError::from(limited), PhrError::Network { retry_after_ms: Some(3000), .. }));
    }

    #[test]
    fn a_second_client_and_a_too_large_record_have_their_own_variants() {
        assert!(matches!(PhrError::from(Error::StoreInUse("open".into())), PhrError::StoreInUse { .. }));
        assert_eq!(
            PhrError::from(Error::RecordTooLarge { size: 300_000, limit: 262_144 }),
            PhrError::RecordTooLarge { size: 300_000, limit: 262_144 }
        );
    }

    #[test]
    fn each_http_error_kind_maps_to_the_variant_apps_branch_on() {
        let why = |s: u16| format!("HTTP {s}: why");
        assert_eq!(PhrError::from(http(401)), PhrError::Auth { reason: why(401) });
        assert_eq!(PhrError::from(http(403)), PhrError::Auth { reason: why(403) });
        assert_eq!(PhrError::from(http(404)), PhrError::NotFound { what: why(404) });
        assert_eq!(PhrError::from(http(409)), PhrError::Conflict { reason: why(409) });
        for status in [408, 429, 500, 503] {
            assert_eq!(
                PhrError::from(http(status)),
                PhrError::Network { reason: why(status), retryable: true, retry_after_ms: None }
            );
        }
        for status in [400, 410, 413, 422, 302] {
            assert_eq!(
                PhrError::from(http(status)),
                PhrError::Network { reason: why(status), retryable: false, retry_after_ms: None }
            );
        }
    }
}
