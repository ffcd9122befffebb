//! The HTTP+JSON wire protocol between devices and the server (`/accounts/v1`,
//! `/auth/v1`, `/sync/v1`, `/consent/v1`, `/audit/v1`). Shared by the server
//! and the mobile client so both sides always agree on it.
//!
//! Binary fields (keys, ciphertext, signatures) are standard base64 strings.
//! Every request type refuses unknown fields.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consent::ConsentGrant;
use crate::dataset::{RecordKind, Subject};

/// Base64 (standard alphabet, padded) for `Vec<u8>` fields.
pub mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the bytes as a standard padded base64 string.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads a standard padded base64 string; anything else is a serde error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(s.as_bytes()).map_err(|_| serde::de::Error::custom("expected a base64 string"))
    }
}

/// Base64 like [`b64`] for `Option<Vec<u8>>` fields (absent or `null` is `None`).
pub mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `Some` bytes as base64 and `None` as `null`.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::b64::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Reads base64 or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::b64")] Vec<u8>);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

/// The request header that makes an unauthenticated enrolment call
/// (`POST /accounts/v1`, `POST /accounts/v1/join`) safe to retry, after the
/// IETF `Idempotency-Key` header draft: a random value the client chooses once
/// per logical call and sends again on every retry. The server answers a
/// retry with the same key and the same body with the first success answer
/// (same account and device ids) and creates nothing new; the same key with
/// another body is 422.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

// --- accounts and devices ---------------------------------------------------

/// `POST /accounts/v1`: the first device creates the family account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// The account's HPKE (X25519) public key, 32 bytes.
    #[serde(with = "b64")]
    pub account_public_key: Vec<u8>,
    /// The creating device, the account's first.
    pub device: NewDevice,
}

/// A device joining an account: its Ed25519 public key (32 bytes) and a name
/// the family recognises ("Mother's iPhone").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Ed25519 public key, 32 bytes; signs the device's sign-in challenges.
    #[serde(with = "b64")]
    pub public_key: Vec<u8>,
    /// Display name for the device list.
    pub name: String,
}

/// Answer to `POST /accounts/v1`: the ids the device signs in with from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccountResponse {
    /// The new family account.
    pub account_id: String,
    /// The creating device, as registered.
    pub device_id: String,
}

/// `POST /auth/v1/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// The account signing in.
    pub account_id: String,
    /// The device that will sign the nonce.
    pub device_id: String,
}

/// A sign-in challenge: single use, valid 2 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// Names this challenge in the [`SessionRequest`].
    pub challenge_id: String,
    /// Random bytes (32) from the server, signed as part of [`sign_in_message`].
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// `POST /auth/v1/session`: the device's Ed25519 signature over
/// [`sign_in_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// As in the [`ChallengeRequest`].
    pub account_id: String,
    /// As in the [`ChallengeRequest`].
    pub device_id: String,
    /// From the [`ChallengeResponse`].
    pub challenge_id: String,
    /// Ed25519 signature (64 bytes) over [`sign_in_message`].
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

/// `POST /auth/v1/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last [`TokenResponse`].
    pub refresh_token: String,
}

/// Answer to a sign-in or refresh (OAuth 2 token response shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Bearer token for the `Authorization` header.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: a refresh returns a new one and retires this one.
    pub refresh_token: String,
}

/// The bytes a device signs to prove it holds its key: a domain label, the
/// account, device and challenge ids, and the server's random nonce.
pub fn sign_in_message(account_id: &str, device_id: &str, challenge_id: &str, nonce: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + account_id.len() + device_id.len() + challenge_id.len() + nonce.len());
    m.extend_from_slice(b"phr-sign-in-v1\n");
    for part in [account_id, device_id, challenge_id] {
        m.extend_from_slice(part.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(nonce);
    m
}

/// `POST /accounts/v1/pairing-codes` answer: show it on the signed-in device,
/// type it (or scan it) on the new one. Single use, expires in 10 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingCodeResponse {
    /// The code, shown as `XXXXX-XXXXX`.
    pub pairing_code: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// `POST /accounts/v1/join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The account to join.
    pub account_id: String,
    /// From the [`PairingCodeResponse`] on the signed-in device.
    pub pairing_code: String,
    /// The joining device.
    pub device: NewDevice,
    /// The account's HPKE public key as derived from the account key in the
    /// invite. When present, the server refuses the join (409, code not used)
    /// unless it is the account's key, so a device with a wrong key in its
    /// invite never becomes a member.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    pub account_public_key: Option<Vec<u8>>,
}

/// Answer to `POST /accounts/v1/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinResponse {
    /// The joined device's id; it signs in with it from now on.
    pub device_id: String,
}

// --- key backup and recovery -------------------------------------------------

/// The only key-derivation function accepted for key backups.
pub const KEY_BACKUP_KDF: &str = "pbkdf2-hmac-sha256";
/// The fewest PBKDF2 iterations a key backup may use (OWASP 2023).
pub const KEY_BACKUP_MIN_ITERATIONS: u32 = 600_000;

/// `PUT /accounts/v1/key-backup`: the account key sealed under a passphrase.
/// The server stores it as is and cannot open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBackupRequest {
    /// [`KEY_BACKUP_KDF`].
    pub kdf: String,
    /// PBKDF2 iterations, at least [`KEY_BACKUP_MIN_ITERATIONS`].
    pub iterations: u32,
    /// PBKDF2 salt, 16–64 random bytes.
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    /// AES-256-GCM nonce ‖ ciphertext ‖ tag of the 32-byte account key; the
    /// associated data binds the account id.
    #[serde(with = "b64")]
    pub sealed_key: Vec<u8>,
}

/// A stored key backup, as a new phone fetches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBackupResponse {
    /// As stored: [`KEY_BACKUP_KDF`].
    pub kdf: String,
    /// As stored: PBKDF2 iterations.
    pub iterations: u32,
    /// As stored: the PBKDF2 salt.
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    /// As stored: the sealed account key (see [`KeyBackupRequest::sealed_key`]).
    #[serde(with = "b64")]
    pub sealed_key: Vec<u8>,
    /// Epoch milliseconds of the last upload.
    pub updated_at: i64,
}

/// `POST /accounts/v1/recovery/key-backup` and `POST /accounts/v1/recovery/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    /// The account to recover.
    pub account_id: String,
}

/// A recovery challenge: a random nonce HPKE-sealed to the account's public
/// key (info: [`recovery_challenge_info`]). Only a holder of the account key can
/// open it. Single use, 2 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryChallengeResponse {
    /// Names this challenge in the [`RecoveryEnrolRequest`].
    pub challenge_id: String,
    /// HPKE (X25519) encapsulated key and ciphertext of the 32-byte nonce.
    #[serde(with = "b64")]
    pub sealed_nonce: Vec<u8>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// `POST /accounts/v1/recovery/enrol`: the opened nonce and the new device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryEnrolRequest {
    /// The account being recovered.
    pub account_id: String,
    /// From the [`RecoveryChallengeResponse`].
    pub challenge_id: String,
    /// The opened nonce: proves the phone holds the account key.
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    /// The device to enrol.
    pub device: NewDevice,
}

/// The HPKE `info` a recovery nonce is sealed with: a domain label, the
/// account and the challenge, so a sealed nonce opens for nothing else.
pub fn recovery_challenge_info(account_id: &str, challenge_id: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + account_id.len() + challenge_id.len());
    m.extend_from_slice(b"phr-recovery-challenge-v1\n");
    for part in [account_id, challenge_id] {
        m.extend_from_slice(part.as_bytes());
        m.push(b'\n');
    }
    m
}

/// One entry of `GET /accounts/v1/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device's id.
    pub device_id: String,
    /// The name it joined with.
    pub name: String,
    /// Epoch milliseconds: when it joined.
    pub created_at: i64,
    /// Epoch milliseconds: its last authenticated request.
    pub last_seen_at: i64,
    /// True for the device making the request.
    pub current: bool,
}

/// `GET /accounts/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's id.
    pub account_id: String,
    /// The account's HPKE (X25519) public key, 32 bytes.
    #[serde(with = "b64")]
    pub account_public_key: Vec<u8>,
    /// Records stored, tombstones included.
    pub record_count: i64,
    /// The account's change sequence: the cursor of its latest change.
    pub change_seq: i64,
    /// Epoch milliseconds.
    pub created_at: i64,
}

// --- sync -------------------------------------------------------------------

/// `POST /sync/v1/push`: a batch of changes. Retrying a batch with the same
/// `batch_id` returns the first answer and changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Client-chosen id that makes a retry idempotent.
    pub batch_id: Uuid,
    /// The changes, applied in order.
    pub changes: Vec<Change>,
}

/// One record change: the new envelope, based on `base_version` (0 = a new record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The record; the client chooses it for a new record.
    pub record_id: Uuid,
    /// The version this change was made on; 0 for a new record.
    pub base_version: u64,
    /// The record's module (stored in clear for consent scopes).
    pub kind: RecordKind,
    /// Whom the record is about (stored in clear for consent scopes).
    pub subject: Subject,
    /// The record's [`DatasetModule::effective_date`](crate::dataset::DatasetModule::effective_date), for date-restricted consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
    /// A tombstone: the envelope seals the delete (with its clock stamp).
    #[serde(default)]
    pub deleted: bool,
    /// The sealed record version (see `phr_core::crypto`).
    #[serde(with = "b64")]
    pub envelope: Vec<u8>,
    /// The record's data key wrapped under the account key.
    #[serde(with = "b64")]
    pub wrapped_key: Vec<u8>,
}

/// What the server did with one [`Change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Stored as `version`.
    Applied,
    /// Not stored: the record is at `version`, not at the change's base. Pull,
    /// merge with the phr-core rule, and push again on the current version.
    Conflict,
}

/// The server's answer for one [`Change`] of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeResult {
    /// The change's record.
    pub record_id: Uuid,
    /// Applied or in conflict.
    pub status: ChangeStatus,
    /// The record's version now: the new one if applied, the current one on conflict.
    pub version: u64,
}

/// Answer to `POST /sync/v1/push`: one result per change, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The request's batch id.
    pub batch_id: Uuid,
    /// One per change, in request order.
    pub results: Vec<ChangeResult>,
    /// The account's change sequence after this batch.
    pub change_seq: u64,
}

/// Answer to `GET /sync/v1/limits` (no authentication needed): the sizes the
/// server accepts, so a client sizes its push batches by bytes and refuses a
/// local edit that could never sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLimits {
    /// The largest request body, in bytes (a push batch's whole JSON).
    pub max_request_bytes: u64,
    /// The most changes in one push batch.
    pub max_batch_changes: u64,
    /// The largest sealed envelope of one change, in bytes (before base64).
    pub max_envelope_bytes: u64,
    /// The most changes one pull page may ask for.
    pub max_pull_limit: u32,
}

/// `GET /sync/v1/pull?since=CURSOR&limit=N`: changes after the cursor, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// The changes, in `seq` order.
    pub changes: Vec<PulledChange>,
    /// Pass as `since` for the next page (or the next sync).
    pub next_cursor: u64,
    /// More changes wait after `next_cursor`.
    pub more: bool,
}

/// One record version as pulled: the latest version of a record changed after the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledChange {
    /// The record.
    pub record_id: Uuid,
    /// Its version, counted from 1.
    pub version: u64,
    /// The account's change sequence number of this version (the pull cursor).
    pub seq: u64,
    /// The record's module.
    pub kind: RecordKind,
    /// Whom the record is about.
    pub subject: Subject,
    /// As pushed in [`Change::effective_date`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
    /// A tombstone.
    pub deleted: bool,
    /// The sealed record version, as pushed.
    #[serde(with = "b64")]
    pub envelope: Vec<u8>,
    /// The record's data key wrapped under the account key, as pushed.
    #[serde(with = "b64")]
    pub wrapped_key: Vec<u8>,
    /// The device (or `server` for clinic-written data) that made this version.
    pub device_id: String,
    /// Epoch milliseconds: when the server stored this version.
    pub updated_at: i64,
}

// --- consent ----------------------------------------------------------------

/// `POST /consent/v1/grants`: the grant, its key wrapped to the server's view
/// key (HPKE), and the data keys of the records in scope wrapped under the grant key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrantRequest {
    /// The consent grant: organization, purpose, scope, period.
    pub grant: ConsentGrant,
    /// The grant key, HPKE-sealed to the server's view key `view_kid`.
    #[serde(with = "b64")]
    pub wrapped_grant_key: Vec<u8>,
    /// Which server view key it was wrapped to (from `GET /consent/v1/view-key`).
    pub view_kid: String,
    /// Data keys of the records in scope now, wrapped under the grant key.
    #[serde(default)]
    pub record_keys: Vec<GrantRecordKey>,
}

/// One record's data key, wrapped for a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecordKey {
    /// The record.
    pub record_id: Uuid,
    /// The record's data key wrapped under the grant key.
    #[serde(with = "b64")]
    pub wrapped_key: Vec<u8>,
}

/// `POST /consent/v1/grants/{id}/keys`: keys for records that came into scope later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddGrantKeysRequest {
    /// The new records' data keys, wrapped under the grant key.
    pub record_keys: Vec<GrantRecordKey>,
}

/// A grant as the server lists it back to the family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantInfo {
    /// The grant as created.
    pub grant: ConsentGrant,
    /// `active` or `revoked` (expiry follows from the grant's period).
    pub state: String,
    /// Display name of the grant's organization.
    pub organization_name: String,
    /// How many record keys the grant holds.
    pub record_key_count: u64,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; present once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// One-sentence English summary for the family (who, what, for which purpose, until when).
    pub summary: String,
}

/// `GET /consent/v1/view-key`: what devices wrap grant keys to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewKeyResponse {
    /// Key id; send it back as [`CreateGrantRequest::view_kid`].
    pub kid: String,
    /// The server's HPKE (X25519) view public key, 32 bytes.
    #[serde(with = "b64")]
    pub public_key: Vec<u8>,
}

/// One organization a family can grant access to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationInfo {
    /// The id a grant names.
    pub organization_id: String,
    /// Display name.
    pub name: String,
    /// clinic, municipality, ehr_network, research
    pub kind: String,
    /// The purposes it may be granted for.
    pub purposes: Vec<String>,
}

// --- audit ------------------------------------------------------------------

/// One entry of the account's audit log (`GET /audit/v1/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventInfo {
    /// Position in the account's chain, from 1.
    pub seq: u64,
    /// Epoch milliseconds.
    pub at: i64,
    /// `device:<id>`, `org:<id>`, `admin`, `server`.
    pub actor: String,
    /// What was done (stable snake_case name, e.g. `key_backup_fetched`).
    pub action: String,
    /// The grant the action went through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The records touched (ids only, never data).
    pub record_ids: Vec<String>,
    /// `success` or `denied`.
    pub outcome: String,
    /// A repeated event written once per so many occurrences (e.g.
    /// `key_backup_fetched`): how many there had been in its window (the
    /// server writes the 1st, 2nd, 4th, 8th… of each hour). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<u64>,
    /// The reason the actor gave, for an access that needs one (break-glass). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The person who acted for the actor: a care-team portal staff member's name (the actor
    /// is then `organization:<id>/staff:<staff id>`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// Hex SHA-256 over the previous event's hash and this event's fields (the chain).
    pub hash: String,
}

/// Answer to `GET /audit/v1/events`: a page of the log, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The events, in `seq` order.
    pub events: Vec<AuditEventInfo>,
    /// Pass as the cursor for the next page.
    pub next_cursor: u64,
    /// More events wait after `next_cursor`.
    pub more: bool,
}

// ---- Break-glass (`/emergency/v1/identifiers`): how an emergency department finds a patient ----

/// One identifier of one subject, as printed on the card or in the handbook
/// (e.g. the maternal and child health handbook number), that an emergency department
/// may name to find the subject by break-glass.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyIdentifier {
    /// Whose identifier it is (`mother`, `child:<uuid>`).
    pub subject: Subject,
    /// The namespace, an absolute URI (as in `subject_identifiers`).
    pub system: String,
    /// The identifier within the namespace.
    pub value: String,
}

/// Most identifiers one family may register for break-glass.
pub const MAX_EMERGENCY_IDENTIFIERS: usize = 100;

/// `PUT /emergency/v1/identifiers`: the family's identifiers an emergency department may
/// look its members up by (replacing the earlier set; empty: none). The server keeps only a
/// keyed hash of each (system, value), never the identifier. Registering them does not
/// open anything: only a break-glass grant (to
/// [`crate::consent::OrganizationId::EMERGENCY_DEPARTMENTS`]) does; without one, a lookup is
/// refused and audited in the family's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEmergencyIdentifiersRequest {
    /// At most [`MAX_EMERGENCY_IDENTIFIERS`], no two alike.
    pub identifiers: Vec<EmergencyIdentifier>,
}

/// Answer to `PUT` / `GET /emergency/v1/identifiers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyIdentifiersInfo {
    /// How many identifiers are registered.
    pub registered: u64,
}

// ---- Emergency cards (`/emergency/v1`): SMART Health Links the family controls ----

/// `POST /emergency/v1/cards`: a new emergency card for one subject. The device built the
/// subject's emergency summary (an IPS document Bundle), encrypted it with a key only the
/// card's QR code carries ([`crate::crypto::shl::seal_file`]), and uploads the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEmergencyCardRequest {
    /// Whose summary it is (`mother`, `child:<uuid>`).
    pub subject: Subject,
    /// The summary as a compact JWE (`dir`, `A256GCM`), as the card's key sealed it.
    pub file: String,
    /// The passcode a reader must give (the link's `P` flag); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// When the card stops working (RFC 3339), if it does; the link's `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `PUT /emergency/v1/cards/{card_id}/file`: the refreshed summary, sealed with the card's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmergencyCardFileRequest {
    /// The summary as a compact JWE under the card's key.
    pub file: String,
}

/// `POST /emergency/v1/cards/{card_id}/rotate`: a new link for the card (the old QR code is
/// dead at once), with the summary sealed under the new key the new QR code carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateEmergencyCardRequest {
    /// The summary as a compact JWE under the card's new key.
    pub file: String,
    /// The new passcode; none removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
}

/// An emergency card as the family's devices see it (never its link or its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyCardInfo {
    /// The card's id (for the family's devices; not its link).
    pub card_id: Uuid,
    /// Whose summary it holds.
    pub subject: Subject,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the summary was last uploaded.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When it stops working, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether a reader needs a passcode.
    pub passcode: bool,
    /// Wrong passcodes left before the card locks (it then answers as if withdrawn).
    pub passcode_attempts_left: u32,
    /// Whether the card answers readers now (not expired, not locked).
    pub active: bool,
    /// How many times the summary was fetched, and when last.
    pub accesses: u64,
    /// When the summary was last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The answer to a card's creation or rotation: the card, and the manifest URL its new link
/// names (the device puts it in the `shlink:/` payload with the key it kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyCardLink {
    /// The card.
    pub card: EmergencyCardInfo,
    /// The SMART Health Link manifest URL (shown only here, once).
    pub url: String,
}

/// `GET /emergency/v1/cards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyCardList {
    /// The account's cards, oldest first.
    pub cards: Vec<EmergencyCardInfo>,
}

// ---- Web Push (`/notify/v1`): where the family's phones are told of emergency accesses ----

/// `POST /notify/v1/push-subscriptions`: a phone's push subscription, as the W3C Push API's
/// `PushSubscription.toJSON()` gives it (RFC 8030 endpoint, RFC 8291 keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionRequest {
    /// The push service's URL for this phone (https).
    pub endpoint: String,
    /// The phone's keys for message encryption.
    pub keys: PushSubscriptionKeys,
}

/// The keys of a push subscription (base64url, as the Push API gives them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionKeys {
    /// The phone's P-256 public key, an uncompressed point (65 bytes).
    pub p256dh: String,
    /// The 16-byte authentication secret.
    pub auth: String,
}

/// The answer to a subscription's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionCreated {
    /// Pass to `DELETE /notify/v1/push-subscriptions/{id}` to stop.
    pub subscription_id: Uuid,
}

/// One of the account's push subscriptions, as `GET /notify/v1/push-subscriptions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionInfo {
    /// The subscription's id.
    pub subscription_id: Uuid,
    /// The device that registered it.
    pub device_id: Uuid,
    /// When (epoch milliseconds).
    pub created_at: i64,
}

/// `GET /notify/v1/vapid-public-key`: the server's VAPID key (RFC 8292), the
/// `applicationServerKey` a phone subscribes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VapidPublicKey {
    /// The P-256 public key, an uncompressed point, base64url.
    pub public_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_fields_travel_as_base64_and_bad_base64_is_refused() {
        let req = ChallengeResponse { challenge_id: "c".into(), nonce: vec![0, 1, 2, 250], expires_at: 5 };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["nonce"], "AAEC+g==");
        assert_eq!(serde_json::from_value::<ChallengeResponse>(json).unwrap(), req);
        let bad = serde_json::json!({"challenge_id":"c","nonce":"not base64!","expires_at":5});
        assert!(serde_json::from_value::<ChallengeResponse>(bad).is_err());
    }

    #[test]
    fn push_requests_refuse_unknown_fields() {
        let json = serde_json::json!({"batch_id": Uuid::nil(), "changes": [], "extra": 1});
        let err = serde_json::from_value::<PushRequest>(json).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn sign_in_message_binds_every_id_and_the_nonce() {
        let base = sign_in_message("a", "d", "c", b"n");
        assert_ne!(base, sign_in_message("a2", "d", "c", b"n"));
        assert_ne!(base, sign_in_message("a", "d2", "c", b"n"));
        assert_ne!(base, sign_in_message("a", "d", "c2", b"n"));
        assert_ne!(base, sign_in_message("a", "d", "c", b"n2"));
        // Field boundaries are unambiguous.
        assert_ne!(sign_in_message("ab", "c", "x", b""), sign_in_message("a", "bc", "x", b""));
    }
}
