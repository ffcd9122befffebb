//! [`Client`]: the engine's facade, one per database file. It holds the
//! parts of a device (the local store, the device storage key, and whether
//! and to which account the device belongs) behind one lock and hands each
//! operation the parts it needs.
//!
//! - **Writes** (record edits, account and consent calls, sync) take the
//!   device lock for their duration, so they are serialised; a sync holds it
//!   while it runs.
//! - **Reads** (timelines, a record, its history, pending count, growth,
//!   immunizations, the export, quarantined records) never take that lock:
//!   they use a second connection to the file (SQLite WAL readers see the
//!   last committed state) and the account key held beside it, so the UI
//!   never waits for the network.
//! - **One sync at a time**: a second `sync()` waits for the first.
//!   [`Client::cancel_sync`] never waits and reaches the sync running when
//!   it is called (not one queued after it).
//! - **One client per file**: [`Client::open`] takes an exclusive lock on the
//!   store (`<path>.lock`); a second open, in this process or another, is
//!   [`Error::StoreInUse`].
//! - **Backing off**: after a 429 or 503 with `Retry-After`, `sync()` answers
//!   [`Error::BackingOff`] without sending anything until the time is up.
//!
//! A sync's progress callback must not call back into the client except
//! [`Client::cancel_sync`] and reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use diesel::SqliteConnection;
use phr_core::crypto::AccountKey;
use phr_core::sync::protocol::{
    CreateAccountRequest, CreateAccountResponse, JoinRequest, JoinResponse, PairingCodeResponse, IDEMPOTENCY_KEY_HEADER,
};

use super::account::{
    self, checked_server_url, now_ms, Account, AccountSummary, Enrolment, PairingInvite, Registration,
};
use super::child::{self, DueImmunization, GrowthPoint};
use super::clock::ServerClock;
use super::consent::{self, AuditEntry, GrantRequest, GrantView, Organization};
use super::due;
use super::emergency_card::{self, EmergencyCardView};
use super::error::{Error, Result};
use super::keys::{RecordKeys, StorageKey};
use super::medication_notebook::{self, NotebookExport, NotebookImport};
use super::notices;
use super::notify;
use super::records::{self, RecordVersionView, TimelineEntry, TimelinePage, TimelineQuery};
use super::sync::{self, Progress, SyncReport};
use super::transport::{call_json_with, json_body, Observed, Transport};
use super::{backup, export, store};
use chrono::NaiveDate;
use phr_core::dataset::RecordBody;

/// The `meta` entry holding the last measured server clock offset (ms, text).
const CLOCK_OFFSET_META: &str = "clock_offset";

/// Whether and to which account this device belongs.
enum Membership {
    /// No account created, joined or restored here.
    None,
    /// The server said the family account was deleted and this device's copy
    /// was wiped (persisted as the `account_deleted` meta entry).
    Deleted,
    /// Signed in to an account.
    Member(Box<Account>),
}

/// Everything behind the client's lock.
struct State {
    conn: SqliteConnection,
    storage_key: StorageKey,
    membership: Membership,
}

impl State {
    /// The store and the account.
    fn parts(&mut self) -> Result<(&mut SqliteConnection, &mut Account, &StorageKey)> {
        match &mut self.membership {
            Membership::Member(account) => Ok((&mut self.conn, account, &self.storage_key)),
            Membership::Deleted => Err(Error::AccountDeleted),
            Membership::None => Err(Error::NotSignedIn),
        }
    }

    fn check_not_enrolled(&self) -> Result<()> {
        match self.membership {
            Membership::Member(_) => Err(Error::AlreadyEnrolled),
            _ => Ok(()),
        }
    }

    /// `result`; if it is the server saying the account of this signed-in
    /// device is deleted, first wipe this device's copy (records, outbox,
    /// grants, sealed keys, ids, cursor, clock) and drop the keys held in
    /// memory, keeping only a marker so every later call, also after a
    /// restart, answers `AccountDeleted`. If the wipe fails, nothing is
    /// dropped (the next call meets the 410 again and retries) and the
    /// wipe's error is answered.
    fn settle<T>(&mut self, result: Result<T>) -> Result<T> {
        match result {
            Err(Error::AccountDeleted) if matches!(self.membership, Membership::Member(_)) => {
                store::wipe_deleted_account(&mut self.conn, now_ms())?;
                self.membership = Membership::Deleted;
                Err(Error::AccountDeleted)
            }
            other => other,
        }
    }
}

/// What the read path sees of the membership (a snapshot, updated after
/// every write call).
#[derive(Clone)]
enum View {
    None,
    Deleted,
    Member(Arc<RecordKeys>, AccountSummary),
}

impl View {
    fn of(membership: &Membership) -> View {
        match membership {
            Membership::None => View::None,
            Membership::Deleted => View::Deleted,
            Membership::Member(account) => View::Member(account.keys.clone(), account.summary()),
        }
    }
}

/// How the server's clock compares with this device's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStatus {
    /// Server time minus device time (ms), as last measured; `None` before
    /// the first answer from the server.
    pub offset_ms: Option<i64>,
    /// The device clock is off by more than a minute: the engine uses the
    /// server's time for stamps and dates, and the app should tell the user.
    pub skewed: bool,
}

/// The family's health record on this device: the encrypted local store, the
/// account, and sync.
pub struct Client {
    state: Mutex<State>,
    /// The read path: a second connection and the membership snapshot.
    reader: Mutex<SqliteConnection>,
    view: RwLock<View>,
    /// One sync at a time.
    sync_gate: Mutex<()>,
    /// The number of the latest sync started, and the latest one cancelled.
    sync_started: AtomicU64,
    sync_cancelled: AtomicU64,
    /// Device time (ms) before which `sync()` does not send (Retry-After).
    backoff_until_ms: AtomicU64,
    transport: Arc<dyn Transport>,
    time: Arc<ServerClock>,
    /// Held for the client's life: no second client on this file.
    _lock: store::StoreLock,
}

impl Client {
    /// Opens (or creates) the store at `path` with the 32-byte device storage
    /// key, and reads the account from it if this device has one. A store
    /// another client has open is [`Error::StoreInUse`].
    pub fn open(path: &str, storage_key: Vec<u8>, transport: Arc<dyn Transport>) -> Result<Self> {
        let storage_key = StorageKey::new(storage_key)?;
        let lock = store::StoreLock::acquire(path)?;
        let mut conn = store::open(path)?;
        let reader = store::open_reader(path)?;
        let offset = store::meta_get_text(&mut conn, CLOCK_OFFSET_META)?.and_then(|v| v.parse::<i64>().ok());
        let time = Arc::new(ServerClock::new(offset));
        let deleted = account::deleted_marker(&mut conn)?;
        let membership = match account::load(&mut conn, &storage_key, time.clone())? {
            Some(account) => Membership::Member(Box::new(account)),
            None if deleted => Membership::Deleted,
            None => Membership::None,
        };
        let view = View::of(&membership);
        Ok(Client {
            state: Mutex::new(State { conn, storage_key, membership }),
            reader: Mutex::new(reader),
            view: RwLock::new(view),
            sync_gate: Mutex::new(()),
            sync_started: AtomicU64::new(0),
            sync_cancelled: AtomicU64::new(0),
            backoff_until_ms: AtomicU64::new(0),
            transport,
            time,
            _lock: lock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the database half
        // written (every write is one transaction), so carry on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the state under the lock (with the app's transport, whose
    /// answers' `Date` set trusted time), then [`State::settle`]s its result
    /// and refreshes the read path's snapshot.
    fn with_state<T>(&self, f: impl FnOnce(&mut State, &dyn Transport) -> Result<T>) -> Result<T> {
        let mut state = self.lock();
        let transport = Observed { inner: self.transport.as_ref(), clock: &self.time };
        let result = f(&mut state, &transport);
        let result = state.settle(result);
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = View::of(&state.membership);
        result
    }

    /// Runs `f` on the store, the account and the storage key of a signed-in device.
    fn signed_in<T>(
        &self,
        f: impl FnOnce(&mut SqliteConnection, &mut Account, &StorageKey, &dyn Transport) -> Result<T>,
    ) -> Result<T> {
        self.with_state(|state, transport| {
            let (conn, account, storage_key) = state.parts()?;
            f(conn, account, storage_key, transport)
        })
    }

    /// Runs a read on the read connection with the account key, without the
    /// device lock (a sync on the network does not hold it up).
    fn read<T>(&self, f: impl FnOnce(&mut SqliteConnection, &RecordKeys) -> Result<T>) -> Result<T> {
        let keys = match &*self.view.read().unwrap_or_else(|p| p.into_inner()) {
            View::Member(keys, _) => keys.clone(),
            View::Deleted => return Err(Error::AccountDeleted),
            View::None => return Err(Error::NotSignedIn),
        };
        let mut reader = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut reader, &keys)
    }

    /// Creates a new family account with this device as its first device.
    /// Safe to call again after a failure: a retry sends the same request
    /// (same device key, account key and `Idempotency-Key`), so the server
    /// answers it with the account it already made instead of a second one.
    pub fn create_account(&self, server_url: &str, device_name: &str) -> Result<AccountSummary> {
        let time = self.time.clone();
        self.with_state(|state, transport| {
            state.check_not_enrolled()?;
            let url = checked_server_url(server_url)?;
            let purpose = format!("create {url} {}", device_name.trim());
            let register = move |transport: &dyn Transport, reg: Registration| {
                let req = CreateAccountRequest { account_public_key: reg.account_public_key, device: reg.device };
                let body = json_body("the new account", &req)?;
                let created: CreateAccountResponse = call_json_with(
                    transport,
                    "POST",
                    format!("{url}/accounts/v1"),
                    None,
                    Some(body),
                    &[(IDEMPOTENCY_KEY_HEADER, &reg.idempotency_key)],
                )?;
                Ok((created.account_id, created.device_id))
            };
            let enrolment = Enrolment { purpose, account_key: None, verify: false, register: Box::new(register) };
            let account = account::enroll(
                &mut state.conn,
                &state.storage_key,
                transport,
                server_url,
                enrolment,
                device_name,
                time,
            )?;
            let summary = account.summary();
            state.membership = Membership::Member(Box::new(account));
            Ok(summary)
        })
    }

    /// Asks the server for a pairing code and returns it with the account key.
    pub fn create_pairing_invite(&self) -> Result<PairingInvite> {
        self.signed_in(|_, account, _, transport| {
            let code: PairingCodeResponse =
                account.session.call(transport, "POST", "/accounts/v1/pairing-codes", Some(b"{}".to_vec()))?;
            Ok(PairingInvite {
                server_url: account.session.server_url.clone(),
                account_id: account.session.account_id.clone(),
                pairing_code: code.pairing_code,
                account_key: account.keys.account_key().expose_secret().to_vec(),
                expires_at: code.expires_at,
            })
        })
    }

    /// Joins the account of `invite` as a new device. Atomic: the server
    /// refuses the join unless the invite's account key is the account's,
    /// the key is checked again before anything is saved, and a failed join
    /// leaves nothing here. Safe to call again with the same invite after a
    /// failure (same device key and `Idempotency-Key`: no second device).
    pub fn join_account(&self, invite: &PairingInvite, device_name: &str) -> Result<AccountSummary> {
        let time = self.time.clone();
        self.with_state(|state, transport| {
            let account_key = AccountKey::from_bytes(&invite.account_key)
                .map_err(|_| Error::invalid("account_key", "must be 32 bytes"))?;
            state.check_not_enrolled()?;
            let url = checked_server_url(&invite.server_url)?;
            let (account_id, code) = (invite.account_id.clone(), invite.pairing_code.clone());
            let purpose = format!("join {url} {account_id} {code} {}", device_name.trim());
            let register = move |transport: &dyn Transport, reg: Registration| {
                let req = JoinRequest {
                    account_id: account_id.clone(),
                    pairing_code: code,
                    device: reg.device,
                    account_public_key: Some(reg.account_public_key),
                };
                let body = json_body("the join request", &req)?;
                let joined: JoinResponse = call_json_with(
                    transport,
                    "POST",
                    format!("{url}/accounts/v1/join"),
                    None,
                    Some(body),
                    &[(IDEMPOTENCY_KEY_HEADER, &reg.idempotency_key)],
                )?;
                Ok((account_id, joined.device_id))
            };
            let enrolment =
                Enrolment { purpose, account_key: Some(account_key), verify: true, register: Box::new(register) };
            let account = account::enroll(
                &mut state.conn,
                &state.storage_key,
                transport,
                &invite.server_url,
                enrolment,
                device_name,
                time,
            )?;
            let summary = account.summary();
            state.membership = Membership::Member(Box::new(account));
            Ok(summary)
        })
    }

    /// The account this device belongs to, if any.
    pub fn account(&self) -> Option<AccountSummary> {
        match &*self.view.read().unwrap_or_else(|p| p.into_inner()) {
            View::Member(_, summary) => Some(summary.clone()),
            _ => None,
        }
    }

    /// Whether the server said this device's family account was deleted.
    pub fn account_was_deleted(&self) -> bool {
        matches!(&*self.view.read().unwrap_or_else(|p| p.into_inner()), View::Deleted)
    }

    /// Adds a record about `subject`, offline; returns its id.
    pub fn add_record(&self, subject: &str, body: RecordBody) -> Result<String> {
        self.signed_in(|conn, account, _, _| records::add(conn, account, subject, body))
    }

    /// Replaces a record's content with a new version, offline.
    pub fn edit_record(&self, record_id: &str, body: RecordBody) -> Result<()> {
        self.signed_in(|conn, account, _, _| records::edit(conn, account, record_id, body))
    }

    /// Deletes a record, offline.
    pub fn delete_record(&self, record_id: &str) -> Result<()> {
        self.signed_in(|conn, account, _, _| records::delete(conn, account, record_id))
    }

    /// A live record's current content.
    pub fn get_record(&self, record_id: &str) -> Result<TimelineEntry> {
        self.read(|conn, keys| records::get(conn, keys, record_id))
    }

    /// Every version of a record, oldest first.
    pub fn record_history(&self, record_id: &str) -> Result<Vec<RecordVersionView>> {
        self.read(|conn, keys| records::history(conn, keys, record_id))
    }

    /// A subject's live records by date.
    pub fn timeline(&self, query: &TimelineQuery) -> Result<Vec<TimelineEntry>> {
        self.read(|conn, keys| records::timeline(conn, keys, query))
    }

    /// One page of [`timeline`](Self::timeline) ([`records::timeline_page`]).
    pub fn timeline_page(&self, query: &TimelineQuery, page: Option<&str>, limit: u32) -> Result<TimelinePage> {
        self.read(|conn, keys| records::timeline_page(conn, keys, query, page, limit))
    }

    /// One sync ([`sync::run`]). Waits for a sync already running; answers
    /// [`Error::BackingOff`] while the server's `Retry-After` is not up.
    pub fn sync(&self, progress: Option<&dyn Progress>) -> Result<SyncReport> {
        let now = now_ms();
        let until = self.backoff_until_ms.load(Ordering::SeqCst);
        if now < until {
            return Err(Error::BackingOff { retry_after_ms: until - now });
        }
        let _one_at_a_time = self.sync_gate.lock().unwrap_or_else(|p| p.into_inner());
        let number = self.sync_started.fetch_add(1, Ordering::SeqCst) + 1;
        let cancelled = || self.sync_cancelled.load(Ordering::SeqCst) >= number;
        let result = self.signed_in(|conn, account, storage_key, transport| {
            let report = sync::run(sync::Device { conn, account, storage_key }, transport, progress, &cancelled);
            // Whatever happened, keep what was learnt of the server's clock.
            if let Some(offset) = account.time.measured_offset_ms() {
                store::meta_set(conn, CLOCK_OFFSET_META, offset.to_string().as_bytes())?;
            }
            report
        });
        if let Some(wait) = result.as_ref().err().and_then(Error::retry_after_ms) {
            self.backoff_until_ms.store(now_ms().saturating_add(wait), Ordering::SeqCst);
        }
        result
    }

    /// Asks the sync running now to stop at its next step; never waits. A
    /// sync started after this call is not affected.
    pub fn cancel_sync(&self) {
        self.sync_cancelled.store(self.sync_started.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// How the device clock compares with the server's.
    pub fn clock_status(&self) -> ClockStatus {
        ClockStatus { offset_ms: self.time.measured_offset_ms(), skewed: self.time.device_clock_skewed() }
    }

    /// Erases the family account on the server, then everything local. Safe
    /// to call again: if the server says the account is already erased (the
    /// answer to an earlier call was lost), the local copy is wiped and the
    /// call succeeds; after it this device can create or join an account.
    pub fn delete_account(&self) -> Result<()> {
        self.with_state(|state, transport| {
            match &mut state.membership {
                Membership::Member(account) => {
                    match account.session.call::<()>(transport, "DELETE", "/accounts/v1", None) {
                        Ok(()) | Err(Error::AccountDeleted) => {}
                        Err(e) => return Err(e),
                    }
                }
                Membership::Deleted => {}
                Membership::None => return Err(Error::NotSignedIn),
            }
            store::wipe(&mut state.conn)?;
            state.membership = Membership::None;
            Ok(())
        })
    }

    /// Erases everything on this device (records, outbox, keys, ids), without
    /// asking the server: for a device removed from its account, or an
    /// account erased elsewhere. The device can then create or join again.
    pub fn wipe_local(&self) -> Result<()> {
        self.with_state(|state, _| {
            store::wipe(&mut state.conn)?;
            state.membership = Membership::None;
            Ok(())
        })
    }

    /// How many records have local changes not yet acknowledged.
    pub fn pending_count(&self) -> Result<u64> {
        self.read(|conn, _| Ok(store::pending_ids(conn)?.len() as u64))
    }

    /// Records pulled from the server that this device could not open (see
    /// [`sync`]): kept aside, never blocking the sync.
    pub fn quarantined_records(&self) -> Result<Vec<store::QuarantinedRecord>> {
        self.read(|conn, _| store::quarantine_list(conn))
    }

    /// How many versions of a record compaction folded on this device.
    pub fn folded_versions(&self, record_id: &str) -> Result<u64> {
        let id = records::parse_record_id(record_id)?;
        self.read(|conn, _| store::folded_count(conn, &id.to_string()))
    }

    pub fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.signed_in(|_, account, _, transport| consent::list_organizations(account, transport))
    }

    pub fn grant_consent(&self, request: &GrantRequest) -> Result<GrantView> {
        self.signed_in(|conn, account, storage_key, transport| {
            consent::grant_consent(conn, account, storage_key, transport, request)
        })
    }

    pub fn list_grants(&self, language: Option<&str>) -> Result<Vec<GrantView>> {
        self.signed_in(|_, account, _, transport| consent::list_grants(account, transport, language))
    }

    pub fn revoke_grant(&self, grant_id: &str) -> Result<()> {
        self.signed_in(|conn, account, _, transport| consent::revoke_grant(conn, account, transport, grant_id))
    }

    pub fn audit_log(&self, since: u64) -> Result<Vec<AuditEntry>> {
        self.signed_in(|_, account, _, transport| consent::audit_log(account, transport, since))
    }

    /// A new emergency card for `subject` ([`emergency_card::create_card`]).
    pub fn create_emergency_card(
        &self,
        subject: &str,
        passcode: Option<&str>,
        label: Option<&str>,
    ) -> Result<EmergencyCardView> {
        self.signed_in(|conn, account, storage_key, transport| {
            emergency_card::create_card(conn, account, storage_key, transport, subject, passcode, label)
        })
    }

    /// Registers the family's identifiers for break-glass ([`emergency_card::register_identifiers`]).
    pub fn register_emergency_identifiers(&self) -> Result<u64> {
        self.signed_in(|conn, account, _storage_key, transport| {
            emergency_card::register_identifiers(conn, account, transport)
        })
    }

    /// The family's emergency cards ([`emergency_card::list_cards`]).
    pub fn list_emergency_cards(&self) -> Result<Vec<EmergencyCardView>> {
        self.signed_in(|conn, account, storage_key, transport| {
            emergency_card::list_cards(conn, account, storage_key, transport)
        })
    }

    /// A new link and key for a card made here ([`emergency_card::rotate_card`]).
    pub fn rotate_emergency_card(&self, card_id: &str, passcode: Option<&str>) -> Result<EmergencyCardView> {
        self.signed_in(|conn, account, storage_key, transport| {
            emergency_card::rotate_card(conn, account, storage_key, transport, card_id, passcode)
        })
    }

    /// Withdraws a card ([`emergency_card::withdraw_card`]).
    pub fn withdraw_emergency_card(&self, card_id: &str) -> Result<()> {
        self.signed_in(|conn, account, storage_key, transport| {
            emergency_card::withdraw_card(conn, account, storage_key, transport, card_id)
        })
    }

    /// The server's VAPID public key ([`notify::vapid_public_key`]).
    pub fn push_vapid_public_key(&self) -> Result<String> {
        self.signed_in(|_, account, _, transport| notify::vapid_public_key(account, transport))
    }

    /// Registers this phone's Web Push subscription ([`notify::register`]).
    pub fn register_push_subscription(&self, endpoint: &str, p256dh: &str, auth: &str) -> Result<String> {
        self.signed_in(|_, account, _, transport| notify::register(account, transport, endpoint, p256dh, auth))
    }

    /// Stops pushes to a subscription ([`notify::unregister`]).
    pub fn unregister_push_subscription(&self, subscription_id: &str) -> Result<()> {
        self.signed_in(|_, account, _, transport| notify::unregister(account, transport, subscription_id))
    }

    /// The printable SVG card of a card made here ([`emergency_card::card_svg`]).
    pub fn emergency_card_svg(&self, card_id: &str) -> Result<String> {
        self.signed_in(|conn, _, storage_key, _| emergency_card::card_svg(conn, storage_key, card_id))
    }

    /// Seals the account key under `passphrase` and stores it on the server.
    pub fn backup_account_key(&self, passphrase: &str) -> Result<()> {
        backup::check_passphrase(passphrase)?;
        self.signed_in(|_, account, _, transport| backup::backup_account_key(account, transport, passphrase))
    }

    /// Restores the account from its key backup on a new phone.
    pub fn restore_account(
        &self,
        server_url: &str,
        account_id: &str,
        passphrase: &str,
        device_name: &str,
    ) -> Result<AccountSummary> {
        let time = self.time.clone();
        self.with_state(|state, transport| {
            state.check_not_enrolled()?;
            let account = backup::restore_account(
                &mut state.conn,
                &state.storage_key,
                transport,
                server_url,
                account_id,
                passphrase,
                device_name,
                time,
            )?;
            let summary = account.summary();
            state.membership = Membership::Member(Box::new(account));
            Ok(summary)
        })
    }

    pub fn growth_series(&self, child_subject: &str) -> Result<Vec<GrowthPoint>> {
        self.read(|conn, keys| child::growth_series(conn, keys, child_subject))
    }

    /// What is due next for one person ([`due::due_items`]).
    pub fn due_items(
        &self,
        subject: &str,
        today: NaiveDate,
        horizon_days: u32,
        language: &str,
        infant_schedule_csv: Option<&str>,
    ) -> Result<Vec<phr_core::due::DueItem>> {
        self.read(|conn, keys| due::due_items(conn, keys, subject, today, horizon_days, language, infant_schedule_csv))
    }

    /// Follows a municipality ([`notices::follow`]).
    pub fn follow_municipality(&self, municipality: &str) -> Result<Vec<String>> {
        self.signed_in(|conn, _, _, _| notices::follow(conn, municipality))
    }

    /// Stops following a municipality ([`notices::unfollow`]).
    pub fn unfollow_municipality(&self, municipality: &str) -> Result<Vec<String>> {
        self.signed_in(|conn, _, _, _| notices::unfollow(conn, municipality))
    }

    /// The municipalities followed ([`notices::followed`]).
    pub fn followed_municipalities(&self) -> Result<Vec<String>> {
        self.read(|conn, _| notices::followed(conn))
    }

    /// Fetches the followed municipalities' feeds ([`notices::refresh`]).
    pub fn refresh_notices(&self) -> Result<notices::NoticeRefresh> {
        self.signed_in(|conn, account, _, transport| notices::refresh(conn, &account.session.server_url, transport))
    }

    /// The notices that concern the family on `today` ([`notices::for_family`]).
    pub fn notices(&self, today: NaiveDate, language: &str) -> Result<Vec<notices::NoticeView>> {
        self.read(|conn, keys| notices::for_family(conn, keys, today, language))
    }

    /// A child's growth chart against `reference` ([`child::growth_chart`]).
    pub fn growth_chart(
        &self,
        child_subject: &str,
        measure: phr_core::growth::GrowthMeasure,
        reference: phr_core::growth::GrowthReference,
        lang: &str,
    ) -> Result<String> {
        self.read(|conn, keys| child::growth_chart(conn, keys, child_subject, measure, reference, lang))
    }

    pub fn immunizations_due(&self, child_subject: &str, as_of: NaiveDate) -> Result<Vec<DueImmunization>> {
        self.read(|conn, keys| child::immunizations_due(conn, keys, child_subject, as_of))
    }

    /// Imports JAHIS medication notebook texts ([`medication_notebook::import`]).
    pub fn import_medication_notebook(&self, subject: &str, texts: &[String]) -> Result<NotebookImport> {
        self.signed_in(|conn, account, _, _| medication_notebook::import(conn, account, subject, texts))
    }

    /// Exports a person's medications as JAHIS ([`medication_notebook::export`]).
    pub fn export_medication_notebook(
        &self,
        subject: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        qr_bytes: Option<u32>,
    ) -> Result<NotebookExport> {
        let data_id = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
        let qr_bytes = qr_bytes.map_or(phr_core::medication_notebook::DEFAULT_QR_BYTES, |b| b as usize);
        self.read(|conn, keys| medication_notebook::export(conn, keys, subject, from, to, qr_bytes, &data_id))
    }

    /// A person's current medicines ([`medication_notebook::current_medicines`]).
    pub fn current_medicines(
        &self,
        subject: &str,
        today: NaiveDate,
    ) -> Result<Vec<phr_core::medication_notebook::CurrentDispensing<String>>> {
        self.read(|conn, keys| medication_notebook::current_medicines(conn, keys, subject, today))
    }

    /// Every current record as one FHIR R4 Bundle (JSON); local data only.
    pub fn export_fhir_bundle(&self) -> Result<String> {
        self.read(export::export_bundle)
    }
}
