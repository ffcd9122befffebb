//! Enrolment calls safe to retry: `POST /accounts/v1` and
//! `POST /accounts/v1/join` with an `Idempotency-Key` header (after the IETF
//! httpapi draft of that name). A phone whose answer was lost sends the same
//! call again with the same key; the server answers with the first answer
//! (the same account and device ids) and creates nothing. The same key on
//! another body or endpoint is refused (422). Answers are kept 24 hours,
//! under the SHA-256 of the key, and stored in the same transaction that
//! creates the account or device, so one never exists without the other.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::auth::tokens::secret_hash;
use crate::app::error::AppError;
use crate::app::App;
use crate::store::idempotency::{self as store, StoredAnswer};
use crate::store::DbConnection;

/// How long an answer is replayed.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;

/// A validated `Idempotency-Key` value: 16 to 128 visible ASCII characters.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(..)")
    }
}

impl IdempotencyKey {
    /// Checks a header value (400 if it is not a usable key).
    pub fn parse(value: &str) -> Result<Self, AppError> {
        let ok = (16..=128).contains(&value.len()) && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !ok {
            return Err(AppError::BadRequest(
                "the Idempotency-Key header must be 16 to 128 visible ASCII characters".into(),
            ));
        }
        Ok(IdempotencyKey(value.to_owned()))
    }
}

/// An idempotent call not answered before: what to store with its answer.
pub struct FirstCall {
    key_hash: String,
    endpoint: &'static str,
    fingerprint: String,
}

impl FirstCall {
    /// Stores `answer` for replays, inside the caller's write transaction.
    pub fn remember<T: Serialize>(&self, conn: &mut DbConnection, answer: &T, now: i64) -> Result<(), AppError> {
        let response = serde_json::to_string(answer)
            .map_err(|e| AppError::Internal(format!("cannot encode an enrolment answer: {e}")))?;
        let stored =
            StoredAnswer { endpoint: self.endpoint.to_owned(), fingerprint: self.fingerprint.clone(), response };
        store::store(conn, &self.key_hash, &stored, now, now - RETENTION_MS)?;
        Ok(())
    }
}

/// What an idempotent call is.
pub enum Replay<T> {
    /// No key: an ordinary call.
    NoKey,
    /// The first call with this key: answer it, then [`FirstCall::remember`].
    First(FirstCall),
    /// A retry: its first answer.
    Answered(T),
}

/// Looks the key up for `endpoint` and a request `body` (as read).
pub async fn replay<T: DeserializeOwned, B: Serialize>(
    app: &App,
    key: Option<&IdempotencyKey>,
    endpoint: &'static str,
    body: &B,
) -> Result<Replay<T>, AppError> {
    let Some(key) = key else { return Ok(Replay::NoKey) };
    let bytes = serde_json::to_vec(body).map_err(|e| AppError::Internal(format!("cannot encode a request: {e}")))?;
    let fingerprint = secret_hash(&String::from_utf8_lossy(&bytes));
    let key_hash = secret_hash(&key.0);
    let lookup = key_hash.clone();
    let now = crate::app::now_ms();
    let stored = app.db(move |conn| Ok(store::find(conn, &lookup, now - RETENTION_MS)?)).await?;
    match stored {
        None => Ok(Replay::First(FirstCall { key_hash, endpoint, fingerprint })),
        Some(s) if s.endpoint == endpoint && s.fingerprint == fingerprint => serde_json::from_str(&s.response)
            .map(Replay::Answered)
            .map_err(|e| AppError::Internal(format!("a stored enrolment answer does not read: {e}"))),
        Some(_) => Err(crate::app::error::unprocessable(
            "Idempotency-Key",
            "was already used for another request; use a new key for a new request",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_16_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse(&"a".repeat(16)).is_ok());
        assert!(IdempotencyKey::parse(&"a".repeat(128)).is_ok());
        for bad in ["short", &"a".repeat(129), "sixteen chars ok", "ひらがなひらがなひらがなひらがな"] {
            assert!(matches!(IdempotencyKey::parse(bad), Err(AppError::BadRequest(_))), "{bad}");
        }
    }
}
