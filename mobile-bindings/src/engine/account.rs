//! A signed-in device ([`Account`]: its session, its record keys and its
//! clock), how it is kept in the store (ids in `meta`, keys sealed under the
//! device storage key), and enrolling a new device key with the server.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::{Connection, SqliteConnection};
use phr_core::crypto::AccountKey;
use phr_core::sync::protocol::{AccountInfo, NewDevice};
use phr_core::sync::{DeviceId, Hlc, VersionStamp};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use std::sync::Arc;

use super::clock::ServerClock;
use super::error::{Error, Result};
use super::keys::{RecordKeys, StorageKey};
use super::session::Session;
use super::store;
use super::transport::Transport;

/// The account this device belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub account_id: String,
    pub device_id: String,
    pub server_url: String,
}

/// What a signed-in device hands to a new one: the single-use pairing code
/// and the account key (device to device, never through the server).
#[derive(Clone, PartialEq, Eq)]
pub struct PairingInvite {
    pub server_url: String,
    pub account_id: String,
    pub pairing_code: String,
    /// The 32-byte account key. Secret.
    pub account_key: Vec<u8>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for PairingInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingInvite")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The secrets sealed under the device storage key.
#[derive(Serialize, Deserialize)]
struct DeviceSecrets {
    account_key: String,
    device_pkcs8: String,
}

/// A signed-in device.
pub struct Account {
    pub session: Session,
    /// Shared with the client's read path (reads do not take the device lock).
    pub keys: Arc<RecordKeys>,
    /// The device's hybrid logical clock.
    pub clock: Hlc,
    /// Trusted time (the device clock, corrected by the server's `Date`).
    pub time: Arc<ServerClock>,
}

/// The device's wall clock in epoch milliseconds (for bookkeeping, never for stamps).
pub fn now_ms() -> u64 {
    super::clock::device_now_ms()
}

impl Account {
    pub fn summary(&self) -> AccountSummary {
        AccountSummary {
            account_id: self.session.account_id.clone(),
            device_id: self.session.device_id.clone(),
            server_url: self.session.server_url.clone(),
        }
    }

    /// A fresh version stamp for an edit of a record whose greatest known
    /// stamp is `after`: from the device's clock at trusted time, and above
    /// `after` whatever the clocks say (persist the clock with [`save_clock`]
    /// in the same transaction as the version). A record stamp far in the
    /// future (a skewed phone) lifts this one stamp, not the device's clock.
    pub fn stamp(&mut self, after: Option<&Hlc>) -> Result<VersionStamp> {
        let now = self.time.now_ms();
        self.clock = self.clock.tick(now);
        let mut hlc = self.clock;
        if let Some(after) = after.filter(|a| **a >= hlc) {
            hlc = hlc.receive(after, now);
            if !self.time.is_too_far_ahead(after) {
                self.clock = hlc;
            }
        }
        let device = DeviceId::new(self.session.device_id.clone()).map_err(|e| Error::corrupt(e.0))?;
        Ok(VersionStamp::new(hlc, device))
    }

    /// Moves the device clock past a stamp pulled from the server, unless the
    /// stamp is too far ahead of trusted time (see [`super::clock`]).
    /// Returns whether the stamp was too far ahead.
    pub fn receive(&mut self, remote: &Hlc) -> bool {
        let too_far = self.time.is_too_far_ahead(remote);
        self.clock = self.clock.receive(&self.time.bounded(remote), self.time.now_ms());
        too_far
    }

    /// Today's date by trusted time, in the device's time zone: what
    /// "not in the future" is checked against.
    pub fn today(&self) -> chrono::NaiveDate {
        let correction = chrono::Duration::milliseconds(self.time.correction_ms());
        (chrono::Local::now() + correction).date_naive()
    }
}

/// Persists the device clock.
pub fn save_clock(conn: &mut SqliteConnection, clock: &Hlc) -> Result<()> {
    store::meta_set(conn, "clock", &serde_json::to_vec(clock).map_err(|e| Error::encoding("the clock", e))?)
}

/// Whether the store remembers that the server deleted the account.
pub fn deleted_marker(conn: &mut SqliteConnection) -> Result<bool> {
    Ok(store::meta_get(conn, store::ACCOUNT_DELETED_META)?.is_some())
}

/// Reads the account and keys from the store, if this device has joined one.
pub fn load(conn: &mut SqliteConnection, storage_key: &StorageKey, time: Arc<ServerClock>) -> Result<Option<Account>> {
    let Some(sealed) = store::meta_get(conn, "secrets")? else {
        return Ok(None);
    };
    let plain = storage_key.open(&sealed)?;
    let s: DeviceSecrets = serde_json::from_slice(&plain).map_err(Error::corrupt)?;
    let account_key = AccountKey::from_bytes(&Zeroizing::new(STANDARD.decode(s.account_key).map_err(Error::corrupt)?))?;
    let pkcs8 = Zeroizing::new(STANDARD.decode(s.device_pkcs8).map_err(Error::corrupt)?);
    let signing = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::crypto("bad device key"))?;
    let text = |conn: &mut SqliteConnection, key: &str| -> Result<String> {
        store::meta_get_text(conn, key)?.ok_or_else(|| Error::corrupt(format!("meta {key} is missing")))
    };
    let clock = match store::meta_get(conn, "clock")? {
        Some(c) => serde_json::from_slice(&c).map_err(Error::corrupt)?,
        None => Hlc::ZERO,
    };
    let session = Session::new(text(conn, "server_url")?, text(conn, "account_id")?, text(conn, "device_id")?, signing);
    let keys = Arc::new(RecordKeys::new(session.account_id.clone(), account_key));
    Ok(Some(Account { session, keys, clock, time }))
}

/// Persists a new account membership (ids and sealed secrets) in one
/// transaction, clearing the account-deleted marker and the pending enrolment.
fn save(conn: &mut SqliteConnection, storage_key: &StorageKey, account: &Account, pkcs8: &[u8]) -> Result<()> {
    let secrets = DeviceSecrets {
        account_key: STANDARD.encode(account.keys.account_key().expose_secret()),
        device_pkcs8: STANDARD.encode(pkcs8),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&secrets).map_err(|e| Error::encoding("the device secrets", e))?);
    let sealed = storage_key.seal(&plain)?;
    let s = &account.session;
    conn.transaction::<_, Error, _>(|conn| {
        store::meta_set(conn, "server_url", s.server_url.as_bytes())?;
        store::meta_set(conn, "account_id", s.account_id.as_bytes())?;
        store::meta_set(conn, "device_id", s.device_id.as_bytes())?;
        store::meta_set(conn, "secrets", &sealed)?;
        store::meta_set(conn, "cursor", b"0")?;
        store::meta_delete(conn, PENDING_ENROLMENT_META)?;
        store::meta_delete(conn, store::ACCOUNT_DELETED_META)
    })
}

/// The `meta` entry of an enrolment sent but not finished (sealed under the
/// device storage key): a retry of the same call sends the same request.
pub const PENDING_ENROLMENT_META: &str = "pending_enrolment";

/// An enrolment in progress: the device key and account key it registers and
/// the idempotency key it sends, kept until the membership is saved so that a
/// retry after a lost answer is the same request (the server answers it with
/// the first answer instead of making a second account or device).
#[derive(Serialize, Deserialize)]
struct PendingEnrolment {
    purpose: String,
    idempotency_key: String,
    device_pkcs8: String,
    account_key: String,
}

/// What the server's half of enrolling is given.
pub struct Registration {
    pub device: NewDevice,
    /// The account's HPKE public key (from the account key being enrolled).
    pub account_public_key: Vec<u8>,
    /// The same on every retry of the same call (`Idempotency-Key`).
    pub idempotency_key: String,
}

/// The server's half of enrolling: registers the device (create, join or
/// recover) and answers the account id and the new device id.
pub type Register<'a> = dyn FnOnce(&dyn Transport, Registration) -> Result<(String, String)> + 'a;

/// One way into an account.
pub struct Enrolment<'a> {
    /// Names the call (kind, server, account, code, device name): a retry of
    /// the same call reuses the pending enrolment, any other call starts afresh.
    pub purpose: String,
    /// The account key (join, restore), or `None` to make one (create).
    pub account_key: Option<AccountKey>,
    /// Check, before anything is saved, that the server's account has this
    /// account key (join, restore).
    pub verify: bool,
    pub register: Box<Register<'a>>,
}

/// Enrols this device in an account: checks the name and URL, takes the
/// device key (new, or the pending one of the same call), registers it with
/// the server, checks the account key if asked, and only then persists the
/// membership. A failure leaves no membership; a failure that may pass
/// (no answer, 5xx, 429, a bad answer) keeps the pending enrolment so that
/// calling again resends the same request; a refusal forgets it.
pub fn enroll(
    conn: &mut SqliteConnection,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    server_url: &str,
    enrolment: Enrolment<'_>,
    device_name: &str,
    time: Arc<ServerClock>,
) -> Result<Account> {
    let name = device_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("device_name", "must be 1 to 100 characters"));
    }
    let server_url = checked_server_url(server_url)?;
    let Enrolment { purpose, account_key, verify, register } = enrolment;
    let pending = pending_enrolment(conn, storage_key, &purpose, account_key)?;
    let pkcs8 = Zeroizing::new(STANDARD.decode(&pending.device_pkcs8).map_err(Error::corrupt)?);
    let account_key =
        AccountKey::from_bytes(&Zeroizing::new(STANDARD.decode(&pending.account_key).map_err(Error::corrupt)?))?;
    let signing = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::crypto("bad device key"))?;
    let (_, expected_public) = account_key.hpke_key_pair();
    let registration = Registration {
        device: NewDevice { public_key: signing.public_key().as_ref().to_vec(), name: name.to_owned() },
        account_public_key: expected_public.as_bytes().to_vec(),
        idempotency_key: pending.idempotency_key.clone(),
    };
    let refused = |conn: &mut SqliteConnection, e: Error| -> Error {
        let final_refusal = matches!(&e, Error::Http { kind, .. } if !kind.is_transient())
            || matches!(e, Error::Crypto(_) | Error::InvalidInput { .. });
        if final_refusal {
            // Best effort: a later call starts afresh either way.
            let _ = store::meta_delete(conn, PENDING_ENROLMENT_META);
        }
        e
    };
    let (account_id, device_id) = match register(transport, registration) {
        Ok(ids) => ids,
        Err(e) => return Err(refused(conn, e)),
    };
    DeviceId::new(device_id.clone()).map_err(|e| Error::Protocol(e.to_string()))?;
    let keys = Arc::new(RecordKeys::new(account_id.clone(), account_key));
    let mut account =
        Account { session: Session::new(server_url, account_id, device_id, signing), keys, clock: Hlc::ZERO, time };
    if verify {
        let info: AccountInfo = match account.session.call(transport, "GET", "/accounts/v1", None) {
            Ok(info) => info,
            Err(e) => return Err(refused(conn, e)),
        };
        if info.account_public_key != expected_public.as_bytes() {
            let e = Error::crypto("the account key given does not match the account on the server; nothing was saved");
            return Err(refused(conn, e));
        }
    }
    save(conn, storage_key, &account, &pkcs8)?;
    Ok(account)
}

/// The pending enrolment for `purpose` (made and persisted, sealed, before
/// anything is sent, if there is none for it).
fn pending_enrolment(
    conn: &mut SqliteConnection,
    storage_key: &StorageKey,
    purpose: &str,
    account_key: Option<AccountKey>,
) -> Result<PendingEnrolment> {
    if let Some(sealed) = store::meta_get(conn, PENDING_ENROLMENT_META)? {
        if let Ok(plain) = storage_key.open(&sealed) {
            if let Ok(pending) = serde_json::from_slice::<PendingEnrolment>(&plain) {
                let same_key = account_key.as_ref().is_none_or(|k| {
                    STANDARD.decode(&pending.account_key).is_ok_and(|b| b.as_slice() == k.expose_secret().as_slice())
                });
                if pending.purpose == purpose && same_key {
                    return Ok(pending);
                }
            }
        }
    }
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::crypto("keygen"))?;
    let mut idempotency = [0u8; 24];
    ring::rand::SecureRandom::fill(&rng, &mut idempotency).map_err(|_| Error::crypto("no randomness"))?;
    let account_key = account_key.unwrap_or_else(AccountKey::generate);
    let pending = PendingEnrolment {
        purpose: purpose.to_owned(),
        idempotency_key: idempotency.iter().map(|b| format!("{b:02x}")).collect(),
        device_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        account_key: STANDARD.encode(account_key.expose_secret()),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&pending).map_err(|e| Error::encoding("the pending enrolment", e))?);
    store::meta_set(conn, PENDING_ENROLMENT_META, &storage_key.seal(&plain)?)?;
    Ok(pending)
}

/// `server_url` without a trailing `/`, if it is an http(s) URL.
pub fn checked_server_url(server_url: &str) -> Result<String> {
    let url = server_url.trim_end_matches('/').to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid("server_url", "must be an http(s) URL"));
    }
    Ok(url)
}
