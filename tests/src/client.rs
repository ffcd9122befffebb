//! A device as the end-to-end tests and benchmarks drive it: real keys
//! (Ed25519 device key, the family's account key), real record crypto from
//! `phr-core`, and the `/accounts`, `/auth` and `/sync` protocol over HTTP.
//!
//! [`Device`] keeps a small offline store (record id -> server version and
//! [`RecordHistory`]) so tests can edit offline, sync, and check convergence
//! with the phr-core merge rule, the way the mobile core will.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use phr_core::crypto::{
    open_record, seal_record, unwrap_data_key, unwrap_data_key_from, wrap_data_key, AccountKey, AccountWrapContext,
    DataKey, RecordAad,
};
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{
    sign_in_message, ChallengeResponse, Change, ChangeStatus, CreateAccountResponse, JoinResponse, PairingCodeResponse,
    PullResponse, PulledChange, PushResponse, TokenResponse,
};
use phr_core::sync::{self as merge, DeviceId, Hlc, RecordHistory, RecordVersion, VersionStamp};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http;

/// What a record's envelope seals: the record's full version history, so no
/// version is ever lost and any device can re-run the merge.
pub type History = RecordHistory<Value>;

/// One record in a device's offline store.
#[derive(Debug, Clone)]
pub struct LocalRecord {
    pub kind: RecordKind,
    pub subject: Subject,
    /// The server version this device last saw (0: never synced).
    pub server_version: u64,
    pub history: History,
    /// Changed locally since the last successful push.
    pub pending: bool,
}

/// A family device talking to a real server.
pub struct Device {
    pub server: String,
    pub account_id: String,
    pub device_id: String,
    signing: Ed25519KeyPair,
    account_key: AccountKey,
    pub access_token: String,
    pub refresh_token: String,
    agent: ureq::Agent,
    clock: Hlc,
    pub cursor: u64,
    pub records: BTreeMap<Uuid, LocalRecord>,
    /// Data keys by record: stable across versions, so consent wraps stay valid.
    keys: BTreeMap<Uuid, DataKey>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn new_signing_key() -> Ed25519KeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("ed25519 keygen");
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ed25519 key")
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Device {
    /// Creates a new family account with this device as its first device, and signs in.
    pub fn create_account(server: &str, name: &str) -> Device {
        let account_key = AccountKey::generate();
        let (_, account_public) = account_key.hpke_key_pair();
        let signing = new_signing_key();
        let (status, body) = crate::json_response(http().post(&format!("{server}/accounts/v1")).send_json(json!({
            "account_public_key": b64(account_public.as_bytes()),
            "device": { "public_key": b64(signing.public_key().as_ref()), "name": name },
        })));
        assert_eq!(status, 201, "create account: {body}");
        let created: CreateAccountResponse = serde_json::from_value(body).expect("create account response");
        let mut device = Device::new(server, created.account_id, created.device_id, signing, account_key);
        device.sign_in().expect("sign in after creating the account");
        device
    }

    /// Joins `account_id` with a pairing code from another device; the account
    /// key travels device-to-device (here: copied), never through the server.
    pub fn join(
        server: &str,
        account_id: &str,
        account_key: &[u8],
        pairing_code: &str,
        name: &str,
    ) -> Result<Device, (u16, Value)> {
        let signing = new_signing_key();
        let (status, body) =
            crate::json_response(http().post(&format!("{server}/accounts/v1/join")).send_json(json!({
                "account_id": account_id,
                "pairing_code": pairing_code,
                "device": { "public_key": b64(signing.public_key().as_ref()), "name": name },
            })));
        if status != 201 {
            return Err((status, body));
        }
        let joined: JoinResponse = serde_json::from_value(body).expect("join response");
        let key = AccountKey::from_bytes(account_key).expect("account key");
        let mut device = Device::new(server, account_id.to_owned(), joined.device_id, signing, key);
        device.sign_in().map_err(|e| (0, json!(e)))?;
        Ok(device)
    }

    fn new(
        server: &str,
        account_id: String,
        device_id: String,
        signing: Ed25519KeyPair,
        account_key: AccountKey,
    ) -> Device {
        Device {
            server: server.to_owned(),
            account_id,
            device_id,
            signing,
            account_key,
            access_token: String::new(),
            refresh_token: String::new(),
            agent: http(),
            clock: Hlc::ZERO,
            cursor: 0,
            records: BTreeMap::new(),
            keys: BTreeMap::new(),
        }
    }

    /// The shared account key (what pairing or a key backup hands to a new device).
    pub fn account_key_bytes(&self) -> Vec<u8> {
        self.account_key.expose_secret().to_vec()
    }

    /// Challenge, sign, and take the tokens.
    pub fn sign_in(&mut self) -> Result<(), String> {
        let (status, body) = crate::json_response(
            self.agent
                .post(&format!("{}/auth/v1/challenge", self.server))
                .send_json(json!({"account_id": self.account_id, "device_id": self.device_id})),
        );
        if status != 200 {
            return Err(format!("challenge: {status} {body}"));
        }
        let challenge: ChallengeResponse = serde_json::from_value(body).map_err(|e| e.to_string())?;
        let message = sign_in_message(&self.account_id, &self.device_id, &challenge.challenge_id, &challenge.nonce);
        let signature = self.signing.sign(&message);
        let (status, body) =
            crate::json_response(self.agent.post(&format!("{}/auth/v1/session", self.server)).send_json(json!({
                "account_id": self.account_id,
                "device_id": self.device_id,
                "challenge_id": challenge.challenge_id,
                "signature": b64(signature.as_ref()),
            })));
        if status != 200 {
            return Err(format!("session: {status} {body}"));
        }
        let tokens: TokenResponse = serde_json::from_value(body).map_err(|e| e.to_string())?;
        self.access_token = tokens.access_token;
        self.refresh_token = tokens.refresh_token;
        Ok(())
    }

    /// Signs `message` with this device's Ed25519 key (e.g. a sign-in
    /// challenge a test wants to replay).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).as_ref().to_vec()
    }

    /// Rotates the tokens with the refresh token: on success both are replaced.
    pub fn refresh(&mut self) -> Result<(), (u16, Value)> {
        let (status, body) = crate::json_response(
            self.agent
                .post(&format!("{}/auth/v1/refresh", self.server))
                .send_json(json!({"refresh_token": self.refresh_token})),
        );
        if status != 200 {
            return Err((status, body));
        }
        let tokens: TokenResponse = serde_json::from_value(body).expect("token response");
        self.access_token = tokens.access_token;
        self.refresh_token = tokens.refresh_token;
        Ok(())
    }

    /// The account's audit log (up to 1,000 events, oldest first), through the API.
    pub fn audit_events(&self) -> Vec<Value> {
        let (status, body) = self.call("GET", "/audit/v1/events?limit=1000", None);
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().cloned().unwrap_or_else(|| panic!("no events: {body}"))
    }

    /// An authenticated request; returns (status, JSON body or Null for an empty body).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call_with_token(&self.access_token, method, path, body)
    }

    pub fn call_with_token(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.try_call_with_token(token, method, path, body).unwrap_or_else(|e| panic!("HTTP request failed: {e}"))
    }

    /// [`Device::call`], with a failed connection (no answer at all) as an error instead of a
    /// panic: what a client behind a load balancer retries.
    pub fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        self.try_call_with_token(&self.access_token, method, path, body)
    }

    fn try_call_with_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.server);
        let auth = format!("Bearer {token}");
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self.agent.delete(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => self.agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => self.agent.post(&url).header("Authorization", &auth).send_empty(),
            ("PUT", Some(b)) => self.agent.put(&url).header("Authorization", &auth).send_json(b),
            (m, _) => panic!("unsupported method {m}"),
        };
        let mut resp = resp.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(|e| e.to_string())?;
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, json))
    }

    pub fn pairing_code(&self) -> String {
        let (status, body) = self.call("POST", "/accounts/v1/pairing-codes", None);
        assert_eq!(status, 201, "pairing code: {body}");
        serde_json::from_value::<PairingCodeResponse>(body).expect("pairing code response").pairing_code
    }

    // --- offline store ---------------------------------------------------

    fn stamp(&mut self) -> VersionStamp {
        self.clock = self.clock.tick(now_ms());
        VersionStamp::new(self.clock, DeviceId::new(self.device_id.clone()).expect("device id"))
    }

    /// Records a new edit (or creates the record) offline.
    pub fn edit(&mut self, record_id: Uuid, kind: RecordKind, subject: Subject, body: Value) {
        self.change(record_id, kind, subject, merge::Change::Edit(body));
    }

    /// Deletes a record offline (a tombstone version).
    pub fn delete(&mut self, record_id: Uuid) {
        let (kind, subject) = {
            let r = self.records.get(&record_id).expect("deleting an unknown record");
            (r.kind, r.subject)
        };
        self.change(record_id, kind, subject, merge::Change::Delete);
    }

    fn change(&mut self, record_id: Uuid, kind: RecordKind, subject: Subject, change: merge::Change<Value>) {
        let stamp = self.stamp();
        let entry = self.records.entry(record_id).or_insert_with(|| LocalRecord {
            kind,
            subject,
            server_version: 0,
            history: History::new(),
            pending: false,
        });
        entry.history.merge(RecordVersion { stamp, base_version: entry.server_version, change });
        entry.pending = true;
    }

    /// The current winning body of a record, if it exists and is not deleted.
    pub fn current(&self, record_id: &Uuid) -> Option<&Value> {
        self.records.get(record_id)?.history.winner()?.edit()
    }

    /// Seals one local record as a change based on its last seen server version.
    pub fn sealed_change(&mut self, record_id: Uuid) -> Change {
        let record = self.records.get(&record_id).expect("unknown record").clone();
        let plaintext = serde_json::to_vec(&record.history).expect("history json");
        let account_id = self.account_id.clone();
        let dek = self.keys.entry(record_id).or_insert_with(DataKey::generate);
        let aad = RecordAad { account_id: &account_id, record_id, version: record.server_version + 1 };
        let envelope = seal_record(dek, &aad, &plaintext);
        let wrapped_key =
            wrap_data_key(&self.account_key, dek, &AccountWrapContext { account_id: &account_id, record_id });
        // Bodies shaped like a dataset `RecordBody` carry their effective date in the plain metadata.
        let effective_date = record
            .history
            .winner()
            .and_then(|v| v.edit())
            .and_then(|body| serde_json::from_value::<phr_core::dataset::RecordBody>(body.clone()).ok())
            .and_then(|body| body.effective_date());
        Change {
            record_id,
            base_version: record.server_version,
            kind: record.kind,
            subject: record.subject,
            effective_date,
            deleted: record.history.is_deleted(),
            envelope,
            wrapped_key,
        }
    }

    /// Seals `plaintext` as a brand-new record (base version 0) under this
    /// account's key, with a fresh data key, without touching the offline
    /// store: what the benchmarks push. Open it again with [`Device::open_bytes`].
    pub fn seal_new_record(&self, record_id: Uuid, kind: RecordKind, subject: Subject, plaintext: &[u8]) -> Change {
        let dek = DataKey::generate();
        let aad = RecordAad { account_id: &self.account_id, record_id, version: 1 };
        let envelope = seal_record(&dek, &aad, plaintext);
        let ctx = AccountWrapContext { account_id: &self.account_id, record_id };
        let wrapped_key = wrap_data_key(&self.account_key, &dek, &ctx);
        Change {
            record_id,
            base_version: 0,
            kind,
            subject,
            effective_date: None,
            deleted: false,
            envelope,
            wrapped_key,
        }
    }

    /// A pulled change's data key: wrapped under the account key by a device, or
    /// (data a clinic wrote through the FHIR API) HPKE-wrapped by the server to
    /// the account's public key, as the mobile core opens it.
    fn data_key(&self, pulled: &PulledChange) -> Result<DataKey, String> {
        let ctx = AccountWrapContext { account_id: &self.account_id, record_id: pulled.record_id };
        unwrap_data_key(&self.account_key, &pulled.wrapped_key, &ctx)
            .or_else(|_| {
                let (private, _) = self.account_key.hpke_key_pair();
                unwrap_data_key_from(&private, &pulled.wrapped_key, &self.account_id, pulled.record_id)
            })
            .map_err(|e| format!("unwrap: {e}"))
    }

    /// Opens a pulled change to its raw plaintext (see [`Device::seal_new_record`]).
    pub fn open_bytes(&self, pulled: &PulledChange) -> Result<Vec<u8>, String> {
        let dek = self.data_key(pulled)?;
        let aad = RecordAad { account_id: &self.account_id, record_id: pulled.record_id, version: pulled.version };
        open_record(&dek, &aad, &pulled.envelope).map_err(|e| format!("open: {e}"))
    }

    /// The ids of this device's records that `grant` covers (the records whose keys a grant carries).
    pub fn records_covered_by(&self, grant: &phr_core::consent::ConsentGrant) -> Vec<Uuid> {
        self.records.iter().filter(|(_, r)| grant.covers_record(r.kind, &r.subject, None)).map(|(id, _)| *id).collect()
    }

    /// A record's data key wrapped under a consent grant's key, bound to this
    /// account, the grant and the record: what the device sends when it
    /// grants access. `None` if this device has never sealed or opened the record.
    pub fn wrap_record_key_for_grant(
        &self,
        record_id: Uuid,
        grant_key: &phr_core::crypto::GrantKey,
        grant_id: Uuid,
    ) -> Option<Vec<u8>> {
        let dek = self.keys.get(&record_id)?;
        let ctx = phr_core::crypto::GrantWrapContext { account_id: &self.account_id, grant_id, record_id };
        Some(wrap_data_key(grant_key, dek, &ctx))
    }

    /// Opens a pulled change: unwrap its data key, open the envelope, parse the history.
    pub fn open(&mut self, pulled: &PulledChange) -> Result<History, String> {
        let dek = self.data_key(pulled)?;
        let aad = RecordAad { account_id: &self.account_id, record_id: pulled.record_id, version: pulled.version };
        let plaintext = open_record(&dek, &aad, &pulled.envelope).map_err(|e| format!("open: {e}"))?;
        self.keys.insert(pulled.record_id, dek);
        serde_json::from_slice(&plaintext).map_err(|e| format!("history: {e}"))
    }

    // --- sync ----------------------------------------------------------------

    pub fn push(&self, batch_id: Uuid, changes: &[Change]) -> Result<PushResponse, (u16, Value)> {
        let body = json!({ "batch_id": batch_id, "changes": changes });
        let (status, json) = self.call("POST", "/sync/v1/push", Some(&body));
        if status != 200 {
            return Err((status, json));
        }
        Ok(serde_json::from_value(json).expect("push response"))
    }

    pub fn pull_page(&self, since: u64, limit: u32) -> PullResponse {
        self.try_pull_page(since, limit).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Device::pull_page`] with no answer or any status but 200 as an error.
    pub fn try_pull_page(&self, since: u64, limit: u32) -> Result<PullResponse, String> {
        let (status, json) = self.try_call("GET", &format!("/sync/v1/pull?since={since}&limit={limit}"), None)?;
        if status != 200 {
            return Err(format!("pull: {status} {json}"));
        }
        serde_json::from_value(json).map_err(|e| format!("pull response: {e}"))
    }

    /// Pulls every change after the device's cursor and merges it into the
    /// offline store with the phr-core rule. Returns how many changes came.
    pub fn pull(&mut self) -> usize {
        self.try_pull().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Device::pull`] with a failed page as an error. Each page is merged only once it
    /// came whole, so a retry after an error goes on from the last merged page.
    pub fn try_pull(&mut self) -> Result<usize, String> {
        let mut n = 0;
        loop {
            let page = self.try_pull_page(self.cursor, 1000)?;
            for change in &page.changes {
                let remote = self.open(change).unwrap_or_else(|e| panic!("cannot open {}: {e}", change.record_id));
                for v in remote.versions() {
                    self.clock = self.clock.receive(&v.stamp.hlc, now_ms());
                }
                let local = self.records.entry(change.record_id).or_insert_with(|| LocalRecord {
                    kind: change.kind,
                    subject: change.subject,
                    server_version: 0,
                    history: History::new(),
                    pending: false,
                });
                let had_unseen_local = local.history.len() > remote.len()
                    || local.history.versions().any(|v| remote.get(&v.stamp).is_none());
                local.history.merge_history(&remote);
                local.server_version = change.version;
                // Local versions the server has not seen yet must go out again.
                local.pending = local.pending && had_unseen_local;
            }
            n += page.changes.len();
            self.cursor = page.next_cursor;
            if !page.more {
                return Ok(n);
            }
        }
    }

    /// Pushes pending records; on conflicts pulls, merges and pushes again,
    /// until everything is acknowledged.
    pub fn sync(&mut self) {
        for _round in 0..10 {
            let pending: Vec<Uuid> = self.records.iter().filter(|(_, r)| r.pending).map(|(id, _)| *id).collect();
            if pending.is_empty() {
                self.pull();
                return;
            }
            let mut conflicts = 0;
            for chunk in pending.chunks(200) {
                let changes: Vec<Change> = chunk.iter().map(|id| self.sealed_change(*id)).collect();
                let response = self.push(Uuid::now_v7(), &changes).unwrap_or_else(|(s, b)| panic!("push: {s} {b}"));
                for result in response.results {
                    let record = self.records.get_mut(&result.record_id).expect("pushed record");
                    match result.status {
                        ChangeStatus::Applied => {
                            record.server_version = result.version;
                            record.pending = false;
                        }
                        ChangeStatus::Conflict => conflicts += 1,
                    }
                }
            }
            self.pull();
            if conflicts == 0 && self.records.values().all(|r| !r.pending) {
                return;
            }
        }
        panic!("sync did not settle after 10 rounds");
    }
}
