//! A signed-in device ([`Account`]: its session, its record keys and its
//! clock), how it is kept in the store (ids in `meta`, keys sealed under the
//! device storage key), and enrolling a new device key with the server.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::{Connection, SqliteConnection};
use phr_core::crypto::AccountKey;
use phr_core::sync::protocol::NewDevice;
use phr_core::sync::{DeviceId, Hlc, VersionStamp};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

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
    pub keys: RecordKeys,
    /// The device's hybrid logical clock.
    pub clock: Hlc,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Account {
    pub fn summary(&self) -> AccountSummary {
        AccountSummary {
            account_id: self.session.account_id.clone(),
            device_id: self.session.device_id.clone(),
            server_url: self.session.server_url.clone(),
        }
    }

    /// A fresh version stamp from the device's clock (persist the clock with
    /// [`save_clock`] in the same transaction as the version).
    pub fn stamp(&mut self) -> Result<VersionStamp> {
        self.clock = self.clock.tick(now_ms());
        let device = DeviceId::new(self.session.device_id.clone()).map_err(|e| Error::corrupt(e.0))?;
        Ok(VersionStamp::new(self.clock, device))
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
pub fn load(conn: &mut SqliteConnection, storage_key: &StorageKey) -> Result<Option<Account>> {
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
    let keys = RecordKeys::new(session.account_id.clone(), account_key);
    Ok(Some(Account { session, keys, clock }))
}

/// Persists a new account membership (ids and sealed secrets) in one
/// transaction, clearing the account-deleted marker.
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
        store::meta_delete(conn, store::ACCOUNT_DELETED_META)
    })
}

/// The server's half of enrolling: registers `device` (create, join or
/// recover) and answers the account id and the new device id.
pub type Register<'a> = dyn FnOnce(&dyn Transport, NewDevice) -> Result<(String, String)> + 'a;

/// Enrols this device in an account: checks the name and URL, makes a new
/// device key, registers it with the server (`register`), and persists the
/// membership. The caller has checked the device belongs to no account.
pub fn enroll(
    conn: &mut SqliteConnection,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    server_url: &str,
    account_key: AccountKey,
    register: Box<Register<'_>>,
    device_name: &str,
) -> Result<Account> {
    let name = device_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("device_name", "must be 1 to 100 characters"));
    }
    let server_url = checked_server_url(server_url)?;
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| Error::crypto("keygen"))?;
    let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
    let signing = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::crypto("keygen"))?;
    let device = NewDevice { public_key: signing.public_key().as_ref().to_vec(), name: name.to_owned() };
    let (account_id, device_id) = register(transport, device)?;
    DeviceId::new(device_id.clone()).map_err(|e| Error::Protocol(e.to_string()))?;
    let keys = RecordKeys::new(account_id.clone(), account_key);
    let account = Account { session: Session::new(server_url, account_id, device_id, signing), keys, clock: Hlc::ZERO };
    save(conn, storage_key, &account, &pkcs8)?;
    Ok(account)
}

/// `server_url` without a trailing `/`, if it is an http(s) URL.
pub fn checked_server_url(server_url: &str) -> Result<String> {
    let url = server_url.trim_end_matches('/').to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid("server_url", "must be an http(s) URL"));
    }
    Ok(url)
}
