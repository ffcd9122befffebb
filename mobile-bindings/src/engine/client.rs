//! [`Client`]: the engine's facade, one per database file. It holds the
//! parts of a device (the local store, the device storage key, and whether
//! and to which account the device belongs) behind one lock and hands each
//! operation the parts it needs.
//!
//! Every call takes the lock for its duration (sync too), so calls from
//! several threads are serialised; a sync's progress callback must not call
//! back into the client except [`Client::cancel_sync`], which never waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use diesel::SqliteConnection;
use phr_core::crypto::{AccountKey, HpkePublicKey};
use phr_core::sync::protocol::{
    AccountInfo, CreateAccountRequest, CreateAccountResponse, JoinRequest, JoinResponse, PairingCodeResponse,
};

use super::account::{self, now_ms, Account, AccountSummary, PairingInvite};
use super::child::{self, DueImmunization, GrowthPoint};
use super::consent::{self, AuditEntry, GrantRequest, GrantView, Organization};
use super::error::{Error, Result};
use super::keys::StorageKey;
use super::records::{self, RecordVersionView, TimelineEntry};
use super::sync::{self, Progress, SyncReport};
use super::transport::{call_json, json_body, Transport};
use super::{backup, export, store};

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
    /// The account, or why there is none.
    fn account(&mut self) -> Result<&mut Account> {
        match &mut self.membership {
            Membership::Member(account) => Ok(account),
            Membership::Deleted => Err(Error::AccountDeleted),
            Membership::None => Err(Error::NotSignedIn),
        }
    }

    /// The store and the account.
    fn parts(&mut self) -> Result<(&mut SqliteConnection, &mut Account, &StorageKey)> {
        match &mut self.membership {
            Membership::Member(account) => Ok((&mut self.conn, account, &self.storage_key)),
            Membership::Deleted => Err(Error::AccountDeleted),
            Membership::None => Err(Error::NotSignedIn),
        }
    }

    /// `AccountDeleted` once the server has said the account is gone.
    fn check_not_deleted(&self) -> Result<()> {
        match self.membership {
            Membership::Deleted => Err(Error::AccountDeleted),
            _ => Ok(()),
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

    /// After enrolling with `account_key`: checks that it matches the
    /// account's public key on the server; never keeps a key that cannot
    /// open the family's records.
    fn verify_account_key(
        &mut self,
        transport: &dyn Transport,
        expected: &HpkePublicKey,
        mismatch: &str,
    ) -> Result<AccountSummary> {
        let account = self.account()?;
        let info: AccountInfo = account.session.call(transport, "GET", "/accounts/v1", None)?;
        if info.account_public_key != expected.as_bytes() {
            store::forget_membership(&mut self.conn)?;
            self.membership = Membership::None;
            return Err(Error::crypto(mismatch));
        }
        Ok(account.summary())
    }
}

/// The family's health record on this device: the encrypted local store, the
/// account, and sync.
pub struct Client {
    state: Mutex<State>,
    transport: Arc<dyn Transport>,
    cancel: AtomicBool,
}

impl Client {
    /// Opens (or creates) the store at `path` with the 32-byte device storage
    /// key, and reads the account from it if this device has one.
    pub fn open(path: &str, storage_key: Vec<u8>, transport: Arc<dyn Transport>) -> Result<Self> {
        let storage_key = StorageKey::new(storage_key)?;
        let mut conn = store::open(path)?;
        let deleted = account::deleted_marker(&mut conn)?;
        let membership = match account::load(&mut conn, &storage_key)? {
            Some(account) => Membership::Member(Box::new(account)),
            None if deleted => Membership::Deleted,
            None => Membership::None,
        };
        Ok(Client {
            state: Mutex::new(State { conn, storage_key, membership }),
            transport,
            cancel: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the database half
        // written (every write is one transaction), so carry on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the state under the lock, then [`State::settle`]s its result.
    fn with_state<T>(&self, f: impl FnOnce(&mut State, &dyn Transport) -> Result<T>) -> Result<T> {
        let mut state = self.lock();
        let result = f(&mut state, self.transport.as_ref());
        state.settle(result)
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

    /// Creates a new family account with this device as its first device.
    pub fn create_account(&self, server_url: &str, device_name: &str) -> Result<AccountSummary> {
        self.with_state(|state, transport| {
            state.check_not_enrolled()?;
            let account_key = AccountKey::generate();
            let (_, public) = account_key.hpke_key_pair();
            let url = server_url.trim_end_matches('/').to_owned();
            let register = move |transport: &dyn Transport, device| {
                let req = CreateAccountRequest { account_public_key: public.as_bytes().to_vec(), device };
                let body = json_body("the new account", &req)?;
                let created: CreateAccountResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1"), None, Some(body))?;
                Ok((created.account_id, created.device_id))
            };
            let account = account::enroll(
                &mut state.conn,
                &state.storage_key,
                transport,
                server_url,
                account_key,
                Box::new(register),
                device_name,
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

    /// Joins the account of `invite` as a new device, checking the account key.
    pub fn join_account(&self, invite: &PairingInvite, device_name: &str) -> Result<AccountSummary> {
        self.with_state(|state, transport| {
            let account_key = AccountKey::from_bytes(&invite.account_key)
                .map_err(|_| Error::invalid("account_key", "must be 32 bytes"))?;
            state.check_not_enrolled()?;
            let (_, expected_public) = account_key.hpke_key_pair();
            let url = invite.server_url.trim_end_matches('/').to_owned();
            let (account_id, code) = (invite.account_id.clone(), invite.pairing_code.clone());
            let register = move |transport: &dyn Transport, device| {
                let req = JoinRequest { account_id: account_id.clone(), pairing_code: code, device, account_public_key: None };
                let body = json_body("the join request", &req)?;
                let joined: JoinResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1/join"), None, Some(body))?;
                Ok((account_id, joined.device_id))
            };
            let account = account::enroll(
                &mut state.conn,
                &state.storage_key,
                transport,
                &invite.server_url,
                account_key,
                Box::new(register),
                device_name,
            )?;
            state.membership = Membership::Member(Box::new(account));
            state.verify_account_key(transport, &expected_public, "the account key does not match the account")
        })
    }

    /// The account this device belongs to, if any.
    pub fn account(&self) -> Option<AccountSummary> {
        self.lock().account().ok().map(|a| a.summary())
    }

    /// Whether the server said this device's family account was deleted.
    pub fn account_was_deleted(&self) -> bool {
        matches!(self.lock().membership, Membership::Deleted)
    }

    /// Adds a record about `subject`, offline; returns its id.
    pub fn add_record(&self, subject: &str, body_json: &str) -> Result<String> {
        self.signed_in(|conn, account, _, _| records::add(conn, account, subject, body_json))
    }

    /// Replaces a record's content with a new version, offline.
    pub fn edit_record(&self, record_id: &str, body_json: &str) -> Result<()> {
        self.signed_in(|conn, account, _, _| records::edit(conn, account, record_id, body_json))
    }

    /// Deletes a record, offline.
    pub fn delete_record(&self, record_id: &str) -> Result<()> {
        self.signed_in(|conn, account, _, _| records::delete(conn, account, record_id))
    }

    /// A live record's current content.
    pub fn get_record(&self, record_id: &str) -> Result<TimelineEntry> {
        self.signed_in(|conn, account, _, _| records::get(conn, &account.keys, record_id))
    }

    /// Every version of a record, oldest first.
    pub fn record_history(&self, record_id: &str) -> Result<Vec<RecordVersionView>> {
        self.signed_in(|conn, account, _, _| records::history(conn, &account.keys, record_id))
    }

    /// A subject's live records by date.
    pub fn timeline(
        &self,
        subject: &str,
        kind: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<TimelineEntry>> {
        self.signed_in(|conn, account, _, _| records::timeline(conn, &account.keys, subject, kind, from, to))
    }

    /// One sync ([`sync::run`]).
    pub fn sync(&self, progress: Option<&dyn Progress>) -> Result<SyncReport> {
        self.cancel.store(false, Ordering::SeqCst);
        self.signed_in(|conn, account, storage_key, transport| {
            sync::run(sync::Device { conn, account, storage_key }, transport, progress, &self.cancel)
        })
    }

    /// Asks a running sync to stop at the next page boundary; never waits.
    pub fn cancel_sync(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Erases the family account on the server, then everything local.
    pub fn delete_account(&self) -> Result<()> {
        self.with_state(|state, transport| {
            state.account()?.session.call::<()>(transport, "DELETE", "/accounts/v1", None)?;
            store::wipe(&mut state.conn)?;
            state.membership = Membership::None;
            Ok(())
        })
    }

    /// How many records have local changes not yet acknowledged.
    pub fn pending_count(&self) -> Result<u64> {
        let mut state = self.lock();
        state.check_not_deleted()?;
        Ok(store::pending_ids(&mut state.conn)?.len() as u64)
    }

    pub fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.signed_in(|_, account, _, transport| consent::list_organizations(account, transport))
    }

    pub fn grant_consent(&self, request: &GrantRequest) -> Result<GrantView> {
        self.signed_in(|conn, account, storage_key, transport| {
            consent::grant_consent(conn, account, storage_key, transport, request)
        })
    }

    pub fn list_grants(&self) -> Result<Vec<GrantView>> {
        self.signed_in(|_, account, _, transport| consent::list_grants(account, transport))
    }

    pub fn revoke_grant(&self, grant_id: &str) -> Result<()> {
        self.signed_in(|conn, account, _, transport| consent::revoke_grant(conn, account, transport, grant_id))
    }

    pub fn audit_log(&self, since: u64) -> Result<Vec<AuditEntry>> {
        self.signed_in(|_, account, _, transport| consent::audit_log(account, transport, since))
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
        self.with_state(|state, transport| {
            state.check_not_enrolled()?;
            let (account, expected_public) = backup::restore_account(
                &mut state.conn,
                &state.storage_key,
                transport,
                server_url,
                account_id,
                passphrase,
                device_name,
            )?;
            state.membership = Membership::Member(Box::new(account));
            state.verify_account_key(transport, &expected_public, "the restored key does not match the account")
        })
    }

    pub fn growth_series(&self, child_subject: &str) -> Result<Vec<GrowthPoint>> {
        self.signed_in(|conn, account, _, _| child::growth_series(conn, &account.keys, child_subject))
    }

    pub fn immunizations_due(&self, child_subject: &str, as_of_date: &str) -> Result<Vec<DueImmunization>> {
        self.signed_in(|conn, account, _, _| child::immunizations_due(conn, &account.keys, child_subject, as_of_date))
    }

    /// Every current record as one FHIR R4 Bundle (JSON); local data only.
    pub fn export_fhir_bundle(&self) -> Result<String> {
        self.signed_in(|conn, account, _, _| export::export_bundle(conn, &account.keys))
    }
}
