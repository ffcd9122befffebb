//! [`PhrClient`]: the object the apps hold. One per database file.
//!
//! Every call takes the client's lock for its duration (sync too), so calls
//! from several threads are serialised; do not call back into the client from
//! a [`SyncProgress`](crate::SyncProgress) callback except
//! [`cancel_sync`](PhrClient::cancel_sync), which never waits.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDate;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use phr_core::crypto::{unwrap_data_key, wrap_data_key, AccountKey, AccountWrapContext, DataKey, RecordAad};
use phr_core::dataset::{Pregnancy, RecordBody, RecordKind, Subject, Validate, ValidationContext};
use phr_core::sync::protocol::{
    sign_in_message, AccountInfo, ChallengeResponse, CreateAccountRequest, CreateAccountResponse, JoinRequest,
    JoinResponse, NewDevice, PairingCodeResponse, TokenResponse,
};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory};
use phr_core::sync::{Change, DeviceId, Hlc, RecordVersion, VersionStamp};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::PhrError;
use crate::store::{self, secrets, RecordRow, LOCAL_VERSION};
use crate::sync::transport::{call_json, HttpTransport};
use crate::sync::{SyncProgress, SyncReport};

/// The account this device belongs to, as [`PhrClient::account`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountSummary {
    pub account_id: String,
    pub device_id: String,
    pub server_url: String,
}

/// What a signed-in device hands to a new one (shown as a QR code): the
/// single-use pairing code from the server and the account key, which travels
/// device to device and never through the server.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairingInvite {
    pub server_url: String,
    pub account_id: String,
    pub pairing_code: String,
    /// The 32-byte account key. Secret: show it only to the new device.
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

/// One live record on a timeline.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TimelineEntry {
    pub record_id: String,
    /// The dataset module (`prenatal_visit`, ...).
    pub kind: String,
    /// `mother` or `child:<uuid>`.
    pub subject: String,
    /// `YYYY-MM-DD`, if the module is dated.
    pub effective_date: Option<String>,
    /// The winning version as RecordBody JSON (`{"kind": ..., "body": {...}}`).
    pub body_json: String,
    /// How many versions the record's history holds.
    pub version_count: u32,
    /// Concurrent edits lost to the winner are kept: the app may show them.
    pub has_conflicts: bool,
    /// Changed here since the last acknowledged sync.
    pub pending: bool,
}

/// One version of a record's history, for a "versions" screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecordVersionView {
    /// The device that made it.
    pub device_id: String,
    /// Its hybrid logical clock, `wall_ms.counter`.
    pub hlc: String,
    /// The server version it was based on (0: a new record).
    pub base_version: u64,
    /// A tombstone.
    pub deleted: bool,
    /// RecordBody JSON for an edit.
    pub body_json: Option<String>,
    /// The version the merge rule picked.
    pub winner: bool,
}

/// The secrets sealed under the device storage key.
#[derive(Serialize, Deserialize)]
struct DeviceSecrets {
    account_key: String,
    device_pkcs8: String,
}

/// A signed-in device: ids, keys and clock.
pub(crate) struct Session {
    pub server_url: String,
    pub account_id: String,
    pub device_id: String,
    pub account_key: AccountKey,
    pub signing: Ed25519KeyPair,
    pub clock: Hlc,
    pub access_token: Option<String>,
}

/// Everything behind the client's lock.
pub(crate) struct Inner {
    pub conn: SqliteConnection,
    pub storage_key: Zeroizing<Vec<u8>>,
    pub session: Option<Session>,
    /// The server said the account was deleted and this device's copy was
    /// wiped (persisted as the `account_deleted` meta entry).
    pub account_deleted: bool,
}

/// The family's health record on this device: the encrypted local store, the
/// account, and sync.
#[derive(uniffi::Object)]
pub struct PhrClient {
    inner: Mutex<Inner>,
    pub(crate) transport: Arc<dyn HttpTransport>,
    cancel: AtomicBool,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

pub(crate) fn parse_record_id(record_id: &str) -> Result<Uuid, PhrError> {
    Uuid::parse_str(record_id).map_err(|_| PhrError::invalid("record_id", "not a UUID"))
}

pub(crate) fn parse_subject(subject: &str) -> Result<Subject, PhrError> {
    Subject::from_str(subject).map_err(|e| PhrError::invalid("subject", e.to_string()))
}

pub(crate) fn parse_date(field: &str, date: Option<&str>) -> Result<Option<String>, PhrError> {
    date.map(|d| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.to_string())
            .map_err(|_| PhrError::invalid(field, "expected a date YYYY-MM-DD"))
    })
    .transpose()
}

/// Parses a RecordBody JSON and checks that its kind may be about `subject`.
fn parse_body(subject: &Subject, body_json: &str) -> Result<RecordBody, PhrError> {
    let body: RecordBody = serde_json::from_str(body_json).map_err(|e| PhrError::invalid("body", e.to_string()))?;
    if !body.kind().subjects().admits(subject) {
        return Err(PhrError::invalid("subject", format!("{} records cannot be about {subject}", body.kind())));
    }
    Ok(body)
}

/// Validates a body with phr-core against today's date and what the store
/// knows about its subject (see [`Inner::context_facts`]).
fn check_body(body: &RecordBody, pregnancy: Option<&Pregnancy>, birth_date: Option<NaiveDate>) -> Result<(), PhrError> {
    let mut ctx = ValidationContext::new(today());
    if let Some(p) = pregnancy {
        ctx = ctx.with_pregnancy(p);
    }
    if let Some(d) = birth_date {
        ctx = ctx.with_birth_date(d);
    }
    Ok(body.validate(&ctx)?)
}

impl Inner {
    /// What validation may check a new version of a `kind` record about
    /// `subject` against: the mother's pregnancy (for prenatal visits and the
    /// delivery) when she has exactly one live pregnancy record, and a child's
    /// birth date from its one live newborn record. `editing`: the record being
    /// edited, never its own context. With several candidates nothing is
    /// assumed (a visit cannot be tied to a pregnancy yet).
    fn context_facts(
        &mut self,
        subject: &Subject,
        kind: RecordKind,
        editing: Option<&str>,
    ) -> Result<(Option<Pregnancy>, Option<NaiveDate>), PhrError> {
        let (source, wanted) = match (subject, kind) {
            (Subject::Mother, RecordKind::PrenatalVisit | RecordKind::Delivery) => (RecordKind::Pregnancy, true),
            (Subject::Child(_), _) => (RecordKind::Newborn, true),
            _ => (kind, false),
        };
        if !wanted {
            return Ok((None, None));
        }
        let rows = store::timeline(&mut self.conn, &subject.to_string(), Some(source.as_str()), None, None)?;
        let rows: Vec<_> = rows.into_iter().filter(|r| Some(r.record_id.as_str()) != editing).collect();
        let [row] = rows.as_slice() else {
            return Ok((None, None));
        };
        let history = self.history(row)?;
        Ok(match history.winner().and_then(|w| w.edit()) {
            Some(RecordBody::Pregnancy(p)) => (Some(p.clone()), None),
            Some(RecordBody::Newborn(n)) => (None, Some(n.birth_date)),
            _ => (None, None),
        })
    }

    /// Parses and validates a body for a new version of a record.
    fn validated_body(
        &mut self,
        subject: &Subject,
        body_json: &str,
        editing: Option<&str>,
    ) -> Result<RecordBody, PhrError> {
        let body = parse_body(subject, body_json)?;
        let (pregnancy, birth_date) = self.context_facts(subject, body.kind(), editing)?;
        check_body(&body, pregnancy.as_ref(), birth_date)?;
        Ok(body)
    }

    pub(crate) fn session(&self) -> Result<&Session, PhrError> {
        match &self.session {
            Some(s) => Ok(s),
            None => Err(self.no_session()),
        }
    }

    pub(crate) fn session_mut(&mut self) -> Result<&mut Session, PhrError> {
        let missing = self.no_session();
        self.session.as_mut().ok_or(missing)
    }

    /// Why there is no session: the account was deleted, or none was joined.
    fn no_session(&self) -> PhrError {
        if self.account_deleted {
            PhrError::account_deleted()
        } else {
            PhrError::not_signed_in()
        }
    }

    /// `AccountDeleted` once the server has said the account is gone.
    pub(crate) fn check_not_deleted(&self) -> Result<(), PhrError> {
        if self.account_deleted {
            return Err(PhrError::account_deleted());
        }
        Ok(())
    }

    /// The server said the family account is deleted: wipe this device's copy
    /// (records, outbox, grants, sealed keys, ids, cursor, clock) and drop
    /// the keys held in memory, keeping only a marker so every later call,
    /// also after a restart, answers `AccountDeleted`. Returns that error.
    pub(crate) fn account_gone(&mut self) -> PhrError {
        if self.account_deleted && self.session.is_none() {
            return PhrError::account_deleted();
        }
        if let Err(e) = store::wipe_deleted_account(&mut self.conn, now_ms()) {
            // Nothing was dropped: the next call meets the 410 again and retries.
            return e;
        }
        self.session = None;
        self.account_deleted = true;
        PhrError::account_deleted()
    }

    /// `result`, after wiping the store if it is the server's `AccountDeleted`.
    fn wipe_if_deleted<T>(&mut self, result: Result<T, PhrError>) -> Result<T, PhrError> {
        match result {
            Err(PhrError::AccountDeleted { .. }) => Err(self.account_gone()),
            other => other,
        }
    }

    /// Reads the account and keys from the store, if this device has joined one.
    fn load_session(&mut self) -> Result<(), PhrError> {
        self.account_deleted = store::meta_get(&mut self.conn, store::ACCOUNT_DELETED_META)?.is_some();
        let Some(sealed) = store::meta_get(&mut self.conn, "secrets")? else {
            return Ok(());
        };
        let plain = secrets::open(&self.storage_key, &sealed)?;
        let s: DeviceSecrets = serde_json::from_slice(&plain).map_err(PhrError::storage)?;
        let account_key =
            AccountKey::from_bytes(&Zeroizing::new(STANDARD.decode(s.account_key).map_err(PhrError::storage)?))?;
        let pkcs8 = Zeroizing::new(STANDARD.decode(s.device_pkcs8).map_err(PhrError::storage)?);
        let signing = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| PhrError::crypto("bad device key"))?;
        let text = |conn: &mut SqliteConnection, key: &str| -> Result<String, PhrError> {
            store::meta_get_text(conn, key)?.ok_or_else(|| PhrError::storage(format!("meta {key} is missing")))
        };
        let clock = match store::meta_get(&mut self.conn, "clock")? {
            Some(c) => serde_json::from_slice(&c).map_err(PhrError::storage)?,
            None => Hlc::ZERO,
        };
        self.session = Some(Session {
            server_url: text(&mut self.conn, "server_url")?,
            account_id: text(&mut self.conn, "account_id")?,
            device_id: text(&mut self.conn, "device_id")?,
            account_key,
            signing,
            clock,
            access_token: None,
        });
        Ok(())
    }

    /// Persists a new account membership (ids and sealed secrets) in one transaction.
    fn save_session(&mut self, session: Session, pkcs8: &[u8]) -> Result<(), PhrError> {
        let secrets = DeviceSecrets {
            account_key: STANDARD.encode(session.account_key.expose_secret()),
            device_pkcs8: STANDARD.encode(pkcs8),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&secrets).map_err(PhrError::storage)?);
        let sealed = secrets::seal(&self.storage_key, &plain)?;
        self.conn.transaction::<_, PhrError, _>(|conn| {
            store::meta_set(conn, "server_url", session.server_url.as_bytes())?;
            store::meta_set(conn, "account_id", session.account_id.as_bytes())?;
            store::meta_set(conn, "device_id", session.device_id.as_bytes())?;
            store::meta_set(conn, "secrets", &sealed)?;
            store::meta_set(conn, "cursor", b"0")?;
            store::meta_delete(conn, store::ACCOUNT_DELETED_META)
        })?;
        self.session = Some(session);
        self.account_deleted = false;
        Ok(())
    }

    /// Removes the account membership and keys from this device.
    pub(crate) fn forget_session(&mut self) -> Result<(), PhrError> {
        self.conn.transaction::<_, PhrError, _>(|conn| {
            diesel::sql_query(
                "DELETE FROM meta WHERE key IN ('server_url', 'account_id', 'device_id', 'secrets', 'cursor', 'clock')",
            )
            .execute(conn)?;
            Ok(())
        })?;
        self.session = None;
        Ok(())
    }

    /// Signs in with the device key (challenge, Ed25519 signature, tokens).
    /// A server that says the account is deleted gets the store wiped.
    pub(crate) fn sign_in(&mut self, transport: &dyn HttpTransport) -> Result<(), PhrError> {
        let result = self.sign_in_once(transport);
        self.wipe_if_deleted(result)
    }

    fn sign_in_once(&mut self, transport: &dyn HttpTransport) -> Result<(), PhrError> {
        let s = self.session_mut()?;
        let body = serde_json::json!({"account_id": s.account_id, "device_id": s.device_id});
        let challenge: ChallengeResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/challenge", s.server_url),
            None,
            Some(body.to_string().into_bytes()),
        )?;
        let message = sign_in_message(&s.account_id, &s.device_id, &challenge.challenge_id, &challenge.nonce);
        let signature = STANDARD.encode(s.signing.sign(&message).as_ref());
        let body = serde_json::json!({
            "account_id": s.account_id, "device_id": s.device_id,
            "challenge_id": challenge.challenge_id, "signature": signature,
        });
        let tokens: TokenResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/session", s.server_url),
            None,
            Some(body.to_string().into_bytes()),
        )?;
        s.access_token = Some(tokens.access_token);
        Ok(())
    }

    /// An authenticated call: signs in first if needed, and once more if the
    /// server answers 401 (an expired token). If the server answers that the
    /// account is deleted, the store is wiped ([`Inner::account_gone`]).
    pub(crate) fn authed<T: serde::de::DeserializeOwned>(
        &mut self,
        transport: &dyn HttpTransport,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, PhrError> {
        let result = self.authed_once(transport, method, path, body);
        self.wipe_if_deleted(result)
    }

    fn authed_once<T: serde::de::DeserializeOwned>(
        &mut self,
        transport: &dyn HttpTransport,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, PhrError> {
        for attempt in 0..2 {
            if self.session()?.access_token.is_none() {
                self.sign_in(transport)?;
            }
            let s = self.session()?;
            let url = format!("{}{path}", s.server_url);
            match call_json(transport, method, url, s.access_token.as_deref(), body.clone()) {
                Err(PhrError::Auth { .. }) if attempt == 0 => self.session_mut()?.access_token = None,
                other => return other,
            }
        }
        Err(PhrError::Auth { reason: "the server refused the device's credentials".into() })
    }

    /// A fresh version stamp from the device's clock (persist the clock with
    /// [`Inner::save_clock`] in the same transaction as the version).
    pub(crate) fn stamp(&mut self) -> Result<VersionStamp, PhrError> {
        let s = self.session_mut()?;
        s.clock = s.clock.tick(now_ms());
        let device = DeviceId::new(s.device_id.clone()).map_err(|e| PhrError::storage(e.0))?;
        Ok(VersionStamp::new(s.clock, device))
    }

    pub(crate) fn save_clock(conn: &mut SqliteConnection, clock: &Hlc) -> Result<(), PhrError> {
        store::meta_set(conn, "clock", &serde_json::to_vec(clock).map_err(PhrError::storage)?)
    }

    /// A record's data key (unwrapped from the row).
    pub(crate) fn dek(&self, row: &RecordRow) -> Result<DataKey, PhrError> {
        let s = self.session()?;
        let record_id = parse_record_id(&row.record_id)?;
        let ctx = AccountWrapContext { account_id: &s.account_id, record_id };
        Ok(unwrap_data_key(&s.account_key, &row.wrapped_dek, &ctx)?)
    }

    /// Opens a row's local history.
    pub(crate) fn history(&self, row: &RecordRow) -> Result<BodyHistory, PhrError> {
        let s = self.session()?;
        let record_id = parse_record_id(&row.record_id)?;
        let aad = RecordAad { account_id: &s.account_id, record_id, version: LOCAL_VERSION };
        Ok(open_history(&self.dek(row)?, &aad, &row.sealed_local)?)
    }

    /// Builds the row for `history` sealed locally under `dek`, deriving the
    /// plain metadata (effective date, deleted) from the winner.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn seal_row(
        &self,
        record_id: Uuid,
        kind: RecordKind,
        subject: Subject,
        dek: &DataKey,
        history: &BodyHistory,
        server_version: u64,
        pending: bool,
        local_rev: i64,
    ) -> Result<RecordRow, PhrError> {
        let s = self.session()?;
        let aad = RecordAad { account_id: &s.account_id, record_id, version: LOCAL_VERSION };
        let ctx = AccountWrapContext { account_id: &s.account_id, record_id };
        let winner = history.winner();
        Ok(RecordRow {
            record_id: record_id.to_string(),
            kind: kind.as_str().to_owned(),
            subject: subject.to_string(),
            effective_date: winner.and_then(|w| w.edit()).and_then(RecordBody::effective_date).map(|d| d.to_string()),
            server_version: i64::try_from(server_version).map_err(PhrError::storage)?,
            pending,
            deleted: history.is_deleted(),
            local_rev,
            wrapped_dek: wrap_data_key(&s.account_key, dek, &ctx),
            sealed_local: seal_history(dek, &aad, history),
        })
    }

    /// Adds a local version to a record (new, or `existing` as stored) and marks it pending.
    fn local_change(
        &mut self,
        record_id: Uuid,
        kind: RecordKind,
        subject: Subject,
        change: Change<RecordBody>,
        existing: Option<&RecordRow>,
    ) -> Result<(), PhrError> {
        let (dek, mut history, server_version, local_rev) = match existing {
            Some(row) => (self.dek(row)?, self.history(row)?, row.server_version, row.local_rev),
            None => (DataKey::generate(), BodyHistory::new(), 0, 0),
        };
        let stamp = self.stamp()?;
        let base_version = u64::try_from(server_version).map_err(PhrError::storage)?;
        history.merge(RecordVersion { stamp, base_version, change });
        let row = self.seal_row(record_id, kind, subject, &dek, &history, base_version, true, local_rev + 1)?;
        let clock = self.session()?.clock;
        self.conn.transaction::<_, PhrError, _>(|conn| {
            store::record_put(conn, &row)?;
            Inner::save_clock(conn, &clock)
        })
    }

    /// The live record with this id.
    fn live_record(&mut self, record_id: &str) -> Result<(Uuid, RecordRow), PhrError> {
        let id = parse_record_id(record_id)?;
        match store::record_get(&mut self.conn, &id.to_string())? {
            Some(row) if !row.deleted => Ok((id, row)),
            _ => Err(PhrError::NotFound { what: format!("record {record_id}") }),
        }
    }
}

pub(crate) fn row_kind_subject(row: &RecordRow) -> Result<(RecordKind, Subject), PhrError> {
    let kind = RecordKind::from_str(&row.kind).map_err(PhrError::storage)?;
    let subject = Subject::from_str(&row.subject).map_err(PhrError::storage)?;
    Ok((kind, subject))
}

fn body_json(body: &RecordBody) -> Result<String, PhrError> {
    serde_json::to_string(body).map_err(PhrError::storage)
}

impl PhrClient {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the database half
        // written (every write is one transaction), so carry on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or joins an account: new device key, server call, then persist.
    pub(crate) fn enroll(
        &self,
        inner: &mut Inner,
        server_url: &str,
        account_key: AccountKey,
        register: impl FnOnce(&dyn HttpTransport, NewDevice) -> Result<(String, String), PhrError>,
        device_name: &str,
    ) -> Result<(), PhrError> {
        if inner.session.is_some() {
            return Err(PhrError::Conflict { reason: "this device already belongs to an account".into() });
        }
        let name = device_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(PhrError::invalid("device_name", "must be 1 to 100 characters"));
        }
        let server_url = server_url.trim_end_matches('/').to_owned();
        if !(server_url.starts_with("https://") || server_url.starts_with("http://")) {
            return Err(PhrError::invalid("server_url", "must be an http(s) URL"));
        }
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| PhrError::crypto("keygen"))?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let signing = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| PhrError::crypto("keygen"))?;
        let device = NewDevice { public_key: signing.public_key().as_ref().to_vec(), name: name.to_owned() };
        let (account_id, device_id) = register(self.transport.as_ref(), device)?;
        DeviceId::new(device_id.clone()).map_err(|e| PhrError::Network { reason: e.to_string(), retryable: false })?;
        let session =
            Session { server_url, account_id, device_id, account_key, signing, clock: Hlc::ZERO, access_token: None };
        inner.save_session(session, &pkcs8)
    }
}

#[uniffi::export]
impl PhrClient {
    /// Opens (or creates) the store at `path`. `storage_key` is the 32-byte
    /// device storage key from the Keychain/Keystore: the account and device
    /// keys in the file are sealed under it, so the same key must be passed
    /// every time. `transport` is the app's HTTP client.
    #[uniffi::constructor]
    pub fn open(path: String, storage_key: Vec<u8>, transport: Arc<dyn HttpTransport>) -> Result<Arc<Self>, PhrError> {
        if storage_key.len() != 32 {
            return Err(PhrError::invalid("storage_key", "must be 32 bytes"));
        }
        let conn = store::open(&path)?;
        let mut inner = Inner { conn, storage_key: Zeroizing::new(storage_key), session: None, account_deleted: false };
        inner.load_session()?;
        Ok(Arc::new(PhrClient { inner: Mutex::new(inner), transport, cancel: AtomicBool::new(false) }))
    }

    /// Creates a new family account on `server_url` with this device as its
    /// first device: generates the account key and the device key, registers,
    /// and stores both sealed under the device storage key.
    pub fn create_account(&self, server_url: String, device_name: String) -> Result<AccountSummary, PhrError> {
        let mut inner = self.lock();
        let account_key = AccountKey::generate();
        let (_, public) = account_key.hpke_key_pair();
        let url = server_url.trim_end_matches('/').to_owned();
        self.enroll(
            &mut inner,
            &server_url,
            account_key,
            |transport, device| {
                let req = CreateAccountRequest { account_public_key: public.as_bytes().to_vec(), device };
                let body = serde_json::to_vec(&req).map_err(PhrError::storage)?;
                let created: CreateAccountResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1"), None, Some(body))?;
                Ok((created.account_id, created.device_id))
            },
            &device_name,
        )?;
        account_summary(&inner)
    }

    /// On a signed-in device: asks the server for a pairing code and returns
    /// it with the account key, to show to the new device.
    pub fn create_pairing_invite(&self) -> Result<PairingInvite, PhrError> {
        let mut inner = self.lock();
        let code: PairingCodeResponse =
            inner.authed(self.transport.as_ref(), "POST", "/accounts/v1/pairing-codes", Some(b"{}".to_vec()))?;
        let s = inner.session()?;
        Ok(PairingInvite {
            server_url: s.server_url.clone(),
            account_id: s.account_id.clone(),
            pairing_code: code.pairing_code,
            account_key: s.account_key.expose_secret().to_vec(),
            expires_at: code.expires_at,
        })
    }

    /// Joins the account of `invite` as a new device, checks that the account
    /// key matches the account's public key on the server, and stores the keys.
    pub fn join_account(&self, invite: PairingInvite, device_name: String) -> Result<AccountSummary, PhrError> {
        let mut inner = self.lock();
        let account_key = AccountKey::from_bytes(&invite.account_key)
            .map_err(|_| PhrError::invalid("account_key", "must be 32 bytes"))?;
        let (_, expected_public) = account_key.hpke_key_pair();
        let url = invite.server_url.trim_end_matches('/').to_owned();
        let (account_id, code) = (invite.account_id.clone(), invite.pairing_code.clone());
        self.enroll(
            &mut inner,
            &invite.server_url,
            account_key,
            |transport, device| {
                let req = JoinRequest { account_id: account_id.clone(), pairing_code: code, device };
                let body = serde_json::to_vec(&req).map_err(PhrError::storage)?;
                let joined: JoinResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1/join"), None, Some(body))?;
                Ok((account_id, joined.device_id))
            },
            &device_name,
        )?;
        let info: AccountInfo = inner.authed(self.transport.as_ref(), "GET", "/accounts/v1", None)?;
        if info.account_public_key != expected_public.as_bytes() {
            // Never keep a key that cannot open the family's records.
            inner.forget_session()?;
            return Err(PhrError::Crypto { reason: "the account key does not match the account".into() });
        }
        account_summary(&inner)
    }

    /// The account this device belongs to, if any.
    pub fn account(&self) -> Option<AccountSummary> {
        account_summary(&self.lock()).ok()
    }

    /// Whether the server said this device's family account was deleted (and
    /// the local copy was wiped): every call then answers
    /// [`PhrError::AccountDeleted`] until an account is created, joined or
    /// restored here. Lets an app that starts up explain an empty store.
    pub fn account_was_deleted(&self) -> bool {
        self.lock().account_deleted
    }

    /// Adds a record about `subject` (`mother` or `child:<uuid>`), offline.
    /// `body_json` is a RecordBody: `{"kind": "prenatal_visit", "body": {...}}`,
    /// validated by phr-core. Returns the new record's id.
    pub fn add_record(&self, subject: String, body_json: String) -> Result<String, PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let subject = parse_subject(&subject)?;
        let body = inner.validated_body(&subject, &body_json, None)?;
        let record_id = Uuid::now_v7();
        inner.local_change(record_id, body.kind(), subject, Change::Edit(body), None)?;
        Ok(record_id.to_string())
    }

    /// Replaces a record's content with a new version, offline. The kind
    /// cannot change.
    pub fn edit_record(&self, record_id: String, body_json: String) -> Result<(), PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let (id, row) = inner.live_record(&record_id)?;
        let (kind, subject) = row_kind_subject(&row)?;
        let new_kind = parse_body(&subject, &body_json)?.kind();
        if new_kind != kind {
            return Err(PhrError::invalid("kind", format!("this record is a {kind}, not a {new_kind}")));
        }
        let body = inner.validated_body(&subject, &body_json, Some(&row.record_id))?;
        inner.local_change(id, kind, subject, Change::Edit(body), Some(&row))
    }

    /// Deletes a record, offline (a tombstone version; the history is kept).
    pub fn delete_record(&self, record_id: String) -> Result<(), PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let (id, row) = inner.live_record(&record_id)?;
        let (kind, subject) = row_kind_subject(&row)?;
        inner.local_change(id, kind, subject, Change::Delete, Some(&row))
    }

    /// A live record's current content.
    pub fn get_record(&self, record_id: String) -> Result<TimelineEntry, PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let (_, row) = inner.live_record(&record_id)?;
        entry(&inner, &row)
    }

    /// Every version of a record (deleted ones too), oldest first, with the winner marked.
    pub fn record_history(&self, record_id: String) -> Result<Vec<RecordVersionView>, PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let id = parse_record_id(&record_id)?;
        let row = store::record_get(&mut inner.conn, &id.to_string())?
            .ok_or_else(|| PhrError::NotFound { what: format!("record {record_id}") })?;
        let history = inner.history(&row)?;
        let winner = history.winner().map(|w| w.stamp.clone());
        history
            .versions()
            .map(|v| {
                Ok(RecordVersionView {
                    device_id: v.stamp.device.as_str().to_owned(),
                    hlc: v.stamp.hlc.to_string(),
                    base_version: v.base_version,
                    deleted: v.is_delete(),
                    body_json: v.edit().map(body_json).transpose()?,
                    winner: Some(&v.stamp) == winner.as_ref(),
                })
            })
            .collect()
    }

    /// A subject's live records, ordered by date: optionally one `kind`
    /// (module name) and an inclusive `from`/`to` range (`YYYY-MM-DD`; a range
    /// leaves out undated records such as the mother's profile).
    pub fn timeline(
        &self,
        subject: String,
        kind: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Vec<TimelineEntry>, PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        let subject = parse_subject(&subject)?.to_string();
        let kind = kind
            .map(|k| RecordKind::from_str(&k).map(|k| k.as_str().to_owned()))
            .transpose()
            .map_err(|e| PhrError::invalid("kind", e.to_string()))?;
        let from = parse_date("from", from.as_deref())?;
        let to = parse_date("to", to.as_deref())?;
        let rows = store::timeline(&mut inner.conn, &subject, kind.as_deref(), from.as_deref(), to.as_deref())?;
        rows.iter().map(|row| entry(&inner, row)).collect()
    }

    /// Pushes pending changes, pulls new ones, and merges conflicts with the
    /// phr-core rule; see [`crate::sync`]. `progress` is told the counts after
    /// every page. Safe to call again after any error.
    pub fn sync(&self, progress: Option<Arc<dyn SyncProgress>>) -> Result<SyncReport, PhrError> {
        self.cancel.store(false, Ordering::SeqCst);
        let mut inner = self.lock();
        crate::sync::run(&mut inner, self.transport.as_ref(), progress.as_deref(), &self.cancel)
    }

    /// Asks a running [`sync`](Self::sync) to stop at the next page boundary.
    /// Never waits; what was synced so far stays synced.
    pub fn cancel_sync(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Erases the family account: `DELETE /accounts/v1` on the server (every
    /// record, key, grant and audit entry there), then everything in the local
    /// store. Afterwards this client is signed out. If the server call fails
    /// nothing local is touched, so it can be retried.
    pub fn delete_account(&self) -> Result<(), PhrError> {
        let mut inner = self.lock();
        inner.session()?;
        inner.authed::<()>(self.transport.as_ref(), "DELETE", "/accounts/v1", None)?;
        store::wipe(&mut inner.conn)?;
        inner.session = None;
        Ok(())
    }

    /// How many records have local changes not yet acknowledged by the server.
    pub fn pending_count(&self) -> Result<u64, PhrError> {
        let mut inner = self.lock();
        inner.check_not_deleted()?;
        Ok(store::pending_ids(&mut inner.conn)?.len() as u64)
    }
}

pub(crate) fn account_summary(inner: &Inner) -> Result<AccountSummary, PhrError> {
    let s = inner.session()?;
    Ok(AccountSummary {
        account_id: s.account_id.clone(),
        device_id: s.device_id.clone(),
        server_url: s.server_url.clone(),
    })
}

fn entry(inner: &Inner, row: &RecordRow) -> Result<TimelineEntry, PhrError> {
    let history = inner.history(row)?;
    let body = history
        .winner()
        .and_then(|w| w.edit())
        .ok_or_else(|| PhrError::NotFound { what: format!("record {}", row.record_id) })?;
    Ok(TimelineEntry {
        record_id: row.record_id.clone(),
        kind: row.kind.clone(),
        subject: row.subject.clone(),
        effective_date: row.effective_date.clone(),
        body_json: body_json(body)?,
        version_count: u32::try_from(history.len()).unwrap_or(u32::MAX),
        has_conflicts: history.winner().is_some_and(|w| {
            history.losers().any(|l| l.base_version == w.base_version && l.stamp.device != w.stamp.device)
        }),
        pending: row.pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::transport::{HttpRequest, HttpResponse, TransportError};

    /// A transport for tests that must not reach any server.
    struct NoNetwork;

    impl HttpTransport for NoNetwork {
        fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            Err(TransportError::Failed { reason: "no network in unit tests".into() })
        }
    }

    fn client(dir: &tempfile::TempDir) -> Arc<PhrClient> {
        let path = dir.path().join("c.db").to_string_lossy().into_owned();
        PhrClient::open(path, vec![9; 32], Arc::new(NoNetwork)).unwrap()
    }

    #[test]
    fn a_device_without_an_account_refuses_record_calls_as_auth_errors() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(&dir);
        assert!(c.account().is_none());
        assert!(matches!(c.add_record("mother".into(), "{}".into()), Err(PhrError::Auth { .. })));
        assert!(matches!(c.timeline("mother".into(), None, None, None), Err(PhrError::Auth { .. })));
        assert!(matches!(c.sync(None), Err(PhrError::Auth { .. })));
    }

    #[test]
    fn creating_an_account_without_a_network_is_a_retryable_network_error_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(&dir);
        let err = c.create_account("https://phr.example".into(), "Phone".into()).unwrap_err();
        assert!(matches!(err, PhrError::Network { retryable: true, .. }), "{err:?}");
        assert!(c.account().is_none());
        assert!(matches!(
            c.create_account("ftp://x".into(), "Phone".into()),
            Err(PhrError::Validation { field, .. }) if field == "server_url"
        ));
        assert!(matches!(
            c.create_account("https://phr.example".into(), " ".into()),
            Err(PhrError::Validation { field, .. }) if field == "device_name"
        ));
    }

    #[test]
    fn record_bodies_are_validated_with_field_paths() {
        let mut visit =
            serde_json::to_value(RecordBody::PrenatalVisit(phr_core::dataset::examples::prenatal_visit_full()))
                .unwrap();
        visit["body"]["body_weight"]["value"] = serde_json::json!(-1.0);
        let body = parse_body(&Subject::Mother, &visit.to_string()).unwrap();
        let err = check_body(&body, None, None).unwrap_err();
        assert!(matches!(err, PhrError::Validation { ref field, .. } if field == "body_weight"), "{err:?}");
        let err = parse_body(&Subject::Mother, "not json").unwrap_err();
        assert!(matches!(err, PhrError::Validation { ref field, .. } if field == "body"));
    }
}
