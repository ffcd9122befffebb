//! Enrolment calls safe to retry: `POST /accounts/v1` and
//! `POST /accounts/v1/join` with an `Idempotency-Key` header (after the IETF
//! httpapi draft of that name). A phone whose answer was lost sends the same
//! call again with the same key; the server answers with the first answer
//! (the same account and device ids) and creates nothing. The same key on
//! another body or endpoint is refused (422). Answers are kept 24 hours,
//! under the SHA-256 of the key (the key itself is never stored or logged).
//!
//! Exactly one call per key creates, however the calls interleave. A call
//! first looks for a stored answer ([`replay`]: a cheap read, outside any
//! transaction). If there is none, the creating write transaction *claims*
//! the key before it writes anything else ([`FirstCall::claim`]: `INSERT …
//! ON CONFLICT DO NOTHING` of the answer the call is about to give), so the
//! account or device and the answer commit together or not at all. A call
//! that loses the claim creates nothing and answers with the winner's stored
//! answer: its claim waited for the winner's transaction to end (SQLite runs
//! write transactions one at a time; PostgreSQL makes the conflicting insert
//! wait on the key), so that answer is committed. If the winner rolled back
//! (e.g. a wrong pairing code), the key is free again and the waiting call
//! claims it itself.

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

/// An idempotent call with no stored answer yet: what its claim stores.
pub struct FirstCall {
    key_hash: String,
    endpoint: &'static str,
    fingerprint: String,
}

/// What claiming a key inside the creating transaction found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim<T> {
    /// This call holds the key: create; the answer commits with the creation.
    Won,
    /// An earlier call with this key and body committed this answer: give it,
    /// create nothing.
    Answered(T),
}

impl FirstCall {
    /// The call with `key` to `endpoint` with request `body` (as read).
    fn new<B: Serialize>(key: &IdempotencyKey, endpoint: &'static str, body: &B) -> Result<FirstCall, AppError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| AppError::Internal(format!("cannot encode a request: {e}")))?;
        Ok(FirstCall {
            key_hash: secret_hash(&key.0),
            endpoint,
            fingerprint: secret_hash(&String::from_utf8_lossy(&bytes)),
        })
    }

    /// Claims the key for `answer` inside the caller's write transaction,
    /// before anything is created (see the module doc). 422 if the key's
    /// stored answer is for another endpoint or body.
    pub fn claim<T: Serialize + DeserializeOwned>(
        &self,
        conn: &mut DbConnection,
        answer: &T,
        now: i64,
    ) -> Result<Claim<T>, AppError> {
        let response = serde_json::to_string(answer)
            .map_err(|e| AppError::Internal(format!("cannot encode an enrolment answer: {e}")))?;
        let stored =
            StoredAnswer { endpoint: self.endpoint.to_owned(), fingerprint: self.fingerprint.clone(), response };
        if store::claim(conn, &self.key_hash, &stored, now, now - RETENTION_MS)? {
            return Ok(Claim::Won);
        }
        match store::find(conn, &self.key_hash, now - RETENTION_MS)? {
            Some(first) => self.answer_of(first).map(Claim::Answered),
            // Only if the database let the claim see a row its next statement
            // cannot (not under the default isolation): nothing was created,
            // and a retry with the same key gets the first answer.
            None => Err(AppError::Conflict(
                "another request with this Idempotency-Key is still being processed; retry with the same key".into(),
            )),
        }
    }

    /// The answer to replay from a stored one, or 422 if the key was used
    /// for another endpoint or body.
    fn answer_of<T: DeserializeOwned>(&self, stored: StoredAnswer) -> Result<T, AppError> {
        if stored.endpoint != self.endpoint || stored.fingerprint != self.fingerprint {
            return Err(crate::app::error::unprocessable(
                "Idempotency-Key",
                "was already used for another request; use a new key for a new request",
            ));
        }
        serde_json::from_str(&stored.response)
            .map_err(|e| AppError::Internal(format!("a stored enrolment answer does not read: {e}")))
    }
}

/// What an idempotent call is.
pub enum Replay<T> {
    /// No key: an ordinary call.
    NoKey,
    /// No answer stored for the key yet: [`FirstCall::claim`] it in the
    /// creating transaction.
    First(FirstCall),
    /// A retry: its first answer.
    Answered(T),
}

/// Looks the key up for `endpoint` and a request `body` (as read): the
/// stored answer of a retry, without taking a write transaction.
pub async fn replay<T: DeserializeOwned, B: Serialize>(
    app: &App,
    key: Option<&IdempotencyKey>,
    endpoint: &'static str,
    body: &B,
) -> Result<Replay<T>, AppError> {
    let Some(key) = key else { return Ok(Replay::NoKey) };
    let first = FirstCall::new(key, endpoint, body)?;
    let lookup = first.key_hash.clone();
    let now = crate::app::now_ms();
    let stored = app.db(move |conn| Ok(store::find(conn, &lookup, now - RETENTION_MS)?)).await?;
    match stored {
        None => Ok(Replay::First(first)),
        Some(stored) => first.answer_of(stored).map(Replay::Answered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open, write_transaction};

    fn call(key: &str, endpoint: &'static str, body: &str) -> FirstCall {
        FirstCall::new(&IdempotencyKey::parse(key).unwrap(), endpoint, &body).unwrap()
    }

    crate::store_test! {
        fn a_lost_claim_answers_with_the_first_answer_and_refuses_another_body(test_db) {
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let key = "0123456789abcdef";
            let mut claim = |c: FirstCall, answer: &str| {
                write_transaction(&mut conn, |conn| c.claim(conn, &answer.to_owned(), crate::app::now_ms()))
            };
            assert_eq!(claim(call(key, "create-account", "body"), "first").unwrap(), Claim::Won);
            assert_eq!(
                claim(call(key, "create-account", "body"), "second").unwrap(),
                Claim::Answered("first".to_owned()),
                "the same call again gets the first answer"
            );
            for other in [call(key, "create-account", "another body"), call(key, "join", "body")] {
                match claim(other, "third") {
                    Err(AppError::Unprocessable { problems, .. }) => assert_eq!(problems[0].path, "Idempotency-Key"),
                    other => panic!("expected a 422, got {other:?}"),
                }
            }
            assert_eq!(claim(call("another-key-0123456", "create-account", "body"), "x").unwrap(), Claim::Won);
        }
    }

    #[test]
    fn a_key_is_16_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse(&"a".repeat(16)).is_ok());
        assert!(IdempotencyKey::parse(&"a".repeat(128)).is_ok());
        for bad in ["short", &"a".repeat(129), "sixteen chars ok", "ひらがなひらがなひらがなひらがな"] {
            assert!(matches!(IdempotencyKey::parse(bad), Err(AppError::BadRequest(_))), "{bad}");
        }
    }
}
