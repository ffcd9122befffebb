//! Emergency cards: SMART Health Links (SHL) to a mother's or child's emergency summary that
//! any emergency team can open by scanning the card, with no account, while the family keeps
//! control (rotate, withdraw) and sees every access in its audit log.
//!
//! The family's device builds the summary (an IPS document Bundle), encrypts it with a fresh
//! key as a compact JWE (`dir` + `A256GCM`, `phr_core::crypto::shl`) and uploads only the
//! ciphertext; the key travels only in the QR code (`shlink:/…`), so the server can neither
//! read nor refresh a card. What is stored: `store::emergency_cards`.
//!
//! | who | endpoint | what |
//! |---|---|---|
//! | device | `POST /emergency/v1/cards` | a new card: ciphertext, optional passcode and expiry → the manifest URL |
//! | device | `GET /emergency/v1/cards` | the family's cards with their access counts (never a link) |
//! | device | `PUT /emergency/v1/cards/{id}/file` | the refreshed summary under the same key |
//! | device | `POST /emergency/v1/cards/{id}/rotate` | a new link (the old QR code is dead at once) |
//! | device | `DELETE /emergency/v1/cards/{id}` | withdraw: the link, its file locations, everything gone |
//! | anyone | `POST /shl/{link}` | the SHL manifest request (`recipient`, `passcode`, `embeddedLengthMax`) |
//! | anyone | `GET /shl/files/{ticket}` | a file location a manifest handed out (`application/jose`, 15 minutes) |
//!
//! Rules of the public side (SMART Health Links, manifest request):
//! - The link's secret path segment is 32 random bytes (base64url, 43 characters); only its
//!   SHA-256 is stored. An unknown, withdrawn, rotated, expired or locked link is 404 with one
//!   and the same body.
//! - A card with a passcode takes [`PASSCODE_ATTEMPTS`] wrong ones (missing counts as wrong):
//!   each answers 401 `{"remainingAttempts": n}`; at 0 the card locks (404 from then on, shown
//!   to the family as inactive). Guesses also spend the source address's refusal budget and
//!   a per-card, per-address rate ([`crate::app::auth::limits`]).
//! - Every manifest answered, and every refused attempt on a known card, is appended to the
//!   family's audit log (`emergency_card_accessed`, the recipient as the actor, the card as
//!   the grant); refusals are coalesced like other unauthenticated events
//!   ([`crate::app::audit::Repeats`]).
//! - The file is embedded in the manifest when it fits `embeddedLengthMax` (or no maximum
//!   is given), else handed out as a `location` valid for [`TICKET_TTL_MS`].
//! - The `U` (direct file) flag is not offered: every read goes through the manifest request,
//!   which is what counts and audits it.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use phr_core::sync::protocol::{
    CreateEmergencyCardRequest, EmergencyCardInfo, EmergencyCardLink, EmergencyCardList, RotateEmergencyCardRequest,
    UpdateEmergencyCardFileRequest,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::auth::limits::Gate;
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::{unprocessable, AppError};
use crate::app::{now_ms, random_bytes, App};
use crate::store::emergency_cards::{self as store, CardRow, PasscodeHash};
use crate::store::{write_transaction, DbConnection};

/// The only content type a card holds: a FHIR document Bundle.
pub const FHIR_JSON: &str = "application/fhir+json";
/// Largest encrypted summary accepted.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// Wrong passcodes a card takes before it locks.
pub const PASSCODE_ATTEMPTS: i32 = 10;
/// How long a file location handed out in a manifest works (the SHL spec: at most an hour).
pub const TICKET_TTL_MS: i64 = 15 * 60 * 1000;
/// Cards per family (a mother and her children, each with a spare).
pub const MAX_CARDS_PER_ACCOUNT: usize = 32;
/// Longest `recipient` kept (characters).
pub const MAX_RECIPIENT_CHARS: usize = 100;
/// PBKDF2-HMAC-SHA256 rounds for a passcode. The defence against guessing is the attempt
/// limit; the hash only keeps the passcode out of a stolen database at a glance.
const PASSCODE_PBKDF2_ROUNDS: std::num::NonZeroU32 = std::num::NonZeroU32::new(10_000).unwrap();
/// A passcode's length (characters).
const PASSCODE_CHARS: std::ops::RangeInclusive<usize> = 4..=64;
const NOT_VALID: &str = "this link is not (or no longer) valid";

/// The SHL manifest request body.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestRequest {
    /// Who is asking (a person or organization, for the family to see).
    pub recipient: Option<String>,
    /// The passcode, for a link flagged `P`.
    #[serde(default)]
    pub passcode: Option<String>,
    /// Files at most this long are embedded; longer ones are given as a location.
    #[serde(default, rename = "embeddedLengthMax")]
    pub embedded_length_max: Option<u64>,
}

/// The SHL manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// `can-change`: the family refreshes the summary (the link is long-term, `L`).
    pub status: &'static str,
    pub files: Vec<ManifestFile>,
}

/// One file of a manifest: embedded, or at a short-lived location.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFile {
    #[serde(rename = "contentType")]
    pub content_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(rename = "lastUpdated")]
    pub last_updated: String,
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().to_vec()
}

fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A fresh secret path segment: 32 random bytes, base64url (43 characters).
fn new_secret() -> Result<String, AppError> {
    Ok(B64URL.encode(random_bytes(32)?))
}

/// The shape of a secret segment (a link or a ticket); anything else cannot be one.
fn is_secret(text: &str) -> bool {
    text.len() == 43 && B64URL.decode(text).is_ok_and(|b| b.len() == 32)
}

/// Checks what a device uploads: a compact JWE as the SHL spec has it (`dir`, `A256GCM`,
/// `cty` = FHIR JSON, no compression), within [`MAX_FILE_BYTES`]. The server cannot decrypt it.
fn check_file(field: &str, jwe: &str) -> Result<(), AppError> {
    if jwe.len() > MAX_FILE_BYTES {
        return Err(AppError::PayloadTooLarge(format!("{field} is larger than {MAX_FILE_BYTES} bytes")));
    }
    let parts: Vec<&str> = jwe.split('.').collect();
    let bad = |why: &str| unprocessable(field, format!("must be a compact JWE (dir, A256GCM): {why}"));
    let [header, key, iv, ciphertext, tag] = parts[..] else {
        return Err(bad("five base64url parts expected"));
    };
    let decode = |part: &str| B64URL.decode(part).map_err(|_| bad("a part is not base64url"));
    #[derive(Deserialize)]
    struct Protected {
        alg: String,
        enc: String,
        cty: Option<String>,
        zip: Option<String>,
    }
    let protected: Protected =
        serde_json::from_slice(&decode(header)?).map_err(|_| bad("the protected header is not JSON"))?;
    if protected.alg != "dir" || protected.enc != "A256GCM" {
        return Err(bad("alg must be dir and enc A256GCM"));
    }
    if protected.cty.as_deref() != Some(FHIR_JSON) {
        return Err(unprocessable(field, format!("the JWE's cty must be {FHIR_JSON}")));
    }
    if protected.zip.is_some() {
        return Err(bad("compressed files are not taken"));
    }
    if !key.is_empty() {
        return Err(bad("the encrypted key must be empty with dir"));
    }
    if decode(iv)?.len() != 12 || decode(tag)?.len() != 16 || decode(ciphertext)?.is_empty() {
        return Err(bad("a 96-bit IV, a ciphertext and a 128-bit tag expected"));
    }
    Ok(())
}

/// A passcode's salt and PBKDF2 hash; `None` for no passcode.
fn hash_passcode(passcode: Option<&str>) -> Result<Option<PasscodeHash>, AppError> {
    let Some(passcode) = passcode else { return Ok(None) };
    let chars = passcode.chars().count();
    if !PASSCODE_CHARS.contains(&chars) || passcode.chars().any(char::is_control) {
        return Err(unprocessable(
            "passcode",
            format!(
                "must be {} to {} characters, without control characters",
                PASSCODE_CHARS.start(),
                PASSCODE_CHARS.end()
            ),
        ));
    }
    let salt = random_bytes(16)?;
    Ok(Some((salt.clone(), derive(&salt, passcode))))
}

fn derive(salt: &[u8], passcode: &str) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA256, PASSCODE_PBKDF2_ROUNDS, salt, passcode.as_bytes(), &mut out);
    out
}

fn passcode_matches(card: &CardRow, given: Option<&str>) -> bool {
    match (&card.passcode_salt, &card.passcode_hash, given) {
        (Some(salt), Some(hash), Some(given)) => {
            ring::pbkdf2::verify(ring::pbkdf2::PBKDF2_HMAC_SHA256, PASSCODE_PBKDF2_ROUNDS, salt, given.as_bytes(), hash)
                .is_ok()
        }
        _ => false,
    }
}

/// Whether the card answers readers at `now`.
fn is_active(card: &CardRow, now: i64) -> bool {
    card.attempts_left > 0 && card.expires_at.is_none_or(|e| now < e)
}

fn info(card: &CardRow, now: i64) -> Result<EmergencyCardInfo, AppError> {
    Ok(EmergencyCardInfo {
        card_id: card.card_id.parse().map_err(|_| AppError::Internal("a stored card id is not a UUID".into()))?,
        subject: card.subject.parse().map_err(|_| AppError::Internal("a stored card subject does not parse".into()))?,
        created_at: utc(card.created_at),
        updated_at: utc(card.updated_at),
        expires_at: card.expires_at.map(utc),
        passcode: card.passcode_hash.is_some(),
        passcode_attempts_left: u32::try_from(card.attempts_left.max(0)).unwrap_or(0),
        active: is_active(card, now),
        accesses: u64::try_from(card.accesses).unwrap_or(0),
        last_access_at: card.last_access_at.map(utc),
    })
}

fn manifest_url(app: &App, secret: &str) -> Result<String, AppError> {
    Ok(format!("{}/shl/{secret}", app.base_url()?))
}

/// A card id from a path (404 for anything that is not one).
fn path_card_id(card_id: &str) -> Result<String, AppError> {
    Uuid::parse_str(card_id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| AppError::NotFound("no such emergency card".into()))
}

/// The account's card `card_id` (404 if it has none by that id).
fn own_card(conn: &mut DbConnection, device: &AuthenticatedDevice, card_id: &str) -> Result<CardRow, AppError> {
    store::of_account_by_id(conn, device.account_id.as_str(), card_id)?
        .ok_or_else(|| AppError::NotFound("no such emergency card".into()))
}

fn audit_device(
    conn: &mut DbConnection,
    device: &AuthenticatedDevice,
    action: AuditAction,
    card_id: &str,
    now: i64,
) -> Result<(), AppError> {
    let actor = device.actor();
    let event = NewAuditEvent::new(&actor, action, AuditOutcome::Success).grant(card_id);
    audit::append(conn, device.account_id.as_str(), now, &event)?;
    Ok(())
}

/// `POST /emergency/v1/cards`.
pub async fn create(
    app: &App,
    device: AuthenticatedDevice,
    req: CreateEmergencyCardRequest,
) -> Result<EmergencyCardLink, AppError> {
    check_file("file", &req.file)?;
    let passcode = hash_passcode(req.passcode.as_deref())?;
    let now = now_ms();
    if req.expires_at.is_some_and(|e| e.timestamp_millis() <= now) {
        return Err(unprocessable("expires_at", "must be in the future"));
    }
    let secret = new_secret()?;
    let url = manifest_url(app, &secret)?;
    let (salt, hash) = passcode.unzip();
    let row = CardRow {
        card_id: Uuid::new_v4().to_string(),
        account_id: device.account_id.as_str().to_owned(),
        subject: req.subject.to_string(),
        link_hash: sha256(secret.as_bytes()),
        passcode_salt: salt,
        passcode_hash: hash,
        attempts_left: PASSCODE_ATTEMPTS,
        expires_at: req.expires_at.map(|e| e.timestamp_millis()),
        file_jwe: req.file,
        created_at: now,
        updated_at: now,
        accesses: 0,
        last_access_at: None,
    };
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            crate::app::records::RecordLog::lock_for_device(conn, device.account_id.as_str())?;
            if store::of_account(conn, device.account_id.as_str())?.len() >= MAX_CARDS_PER_ACCOUNT {
                return Err(AppError::Conflict(format!(
                    "a family has at most {MAX_CARDS_PER_ACCOUNT} emergency cards; withdraw one first"
                )));
            }
            store::insert(conn, &row)?;
            audit_device(conn, &device, AuditAction::EmergencyCardCreated, &row.card_id, now)?;
            Ok(EmergencyCardLink { card: info(&row, now)?, url })
        })
    })
    .await
}

/// `GET /emergency/v1/cards`.
pub async fn list(app: &App, device: AuthenticatedDevice) -> Result<EmergencyCardList, AppError> {
    app.db(move |conn| {
        let now = now_ms();
        let cards = store::of_account(conn, device.account_id.as_str())?;
        Ok(EmergencyCardList { cards: cards.iter().map(|c| info(c, now)).collect::<Result<_, _>>()? })
    })
    .await
}

/// `PUT /emergency/v1/cards/{card_id}/file`.
pub async fn update_file(
    app: &App,
    device: AuthenticatedDevice,
    card_id: &str,
    req: UpdateEmergencyCardFileRequest,
) -> Result<EmergencyCardInfo, AppError> {
    let card_id = path_card_id(card_id)?;
    check_file("file", &req.file)?;
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            let now = now_ms();
            let card = own_card(conn, &device, &card_id)?;
            store::set_file(conn, &card.card_id, &req.file, now)?;
            audit_device(conn, &device, AuditAction::EmergencyCardUpdated, &card.card_id, now)?;
            info(&CardRow { updated_at: now, ..card }, now)
        })
    })
    .await
}

/// `POST /emergency/v1/cards/{card_id}/rotate`: a new link; the old one (and every file
/// location it handed out) is dead from this commit on.
pub async fn rotate(
    app: &App,
    device: AuthenticatedDevice,
    card_id: &str,
    req: RotateEmergencyCardRequest,
) -> Result<EmergencyCardLink, AppError> {
    let card_id = path_card_id(card_id)?;
    check_file("file", &req.file)?;
    let passcode = hash_passcode(req.passcode.as_deref())?;
    let secret = new_secret()?;
    let url = manifest_url(app, &secret)?;
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            let now = now_ms();
            let card = own_card(conn, &device, &card_id)?;
            let link_hash = sha256(secret.as_bytes());
            store::rotate(conn, &card.card_id, &link_hash, passcode.clone(), PASSCODE_ATTEMPTS, &req.file, now)?;
            audit_device(conn, &device, AuditAction::EmergencyCardRotated, &card.card_id, now)?;
            let (passcode_salt, passcode_hash) = passcode.clone().unzip();
            let rotated = CardRow {
                link_hash,
                passcode_salt,
                passcode_hash,
                attempts_left: PASSCODE_ATTEMPTS,
                updated_at: now,
                ..card
            };
            Ok(EmergencyCardLink { card: info(&rotated, now)?, url: url.clone() })
        })
    })
    .await
}

/// `DELETE /emergency/v1/cards/{card_id}`: the card, its link and its file locations are gone.
pub async fn withdraw(app: &App, device: AuthenticatedDevice, card_id: &str) -> Result<(), AppError> {
    let card_id = path_card_id(card_id)?;
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            let now = now_ms();
            let card = own_card(conn, &device, &card_id)?;
            store::delete(conn, &card.card_id)?;
            audit_device(conn, &device, AuditAction::EmergencyCardWithdrawn, &card.card_id, now)
        })
    })
    .await
}

/// What a manifest request came to, inside its transaction (a wrong passcode is committed —
/// the attempt spent, the refusal audited — and only then answered as an error).
enum Answer {
    Manifest(Manifest),
    WrongPasscode(u32),
    /// A dead card of a known family was tried (audited as denied).
    Dead,
}

/// The recipient as given: 1 to [`MAX_RECIPIENT_CHARS`] characters, no control characters.
fn check_recipient(recipient: Option<&str>) -> Result<String, AppError> {
    let r = recipient.map(str::trim).unwrap_or("");
    if r.is_empty() {
        return Err(AppError::BadRequest("recipient is required: who is reading the card".into()));
    }
    if r.chars().count() > MAX_RECIPIENT_CHARS || r.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "recipient must be at most {MAX_RECIPIENT_CHARS} characters, without control characters"
        )));
    }
    Ok(r.to_owned())
}

/// The audit actor of a reader of a card.
fn reader(recipient: &str) -> String {
    format!("shl-recipient:{recipient}")
}

/// `POST /shl/{link}`: the SHL manifest request.
pub async fn manifest(
    app: &App,
    source: Option<IpAddr>,
    link: &str,
    req: ManifestRequest,
) -> Result<Manifest, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    manifest_gated(app, &gate, link, req).await.map_err(|e| gate.refused(e))
}

async fn manifest_gated(app: &App, gate: &Gate<'_>, link: &str, req: ManifestRequest) -> Result<Manifest, AppError> {
    if !is_secret(link) {
        return Err(AppError::NotFound(NOT_VALID.into()));
    }
    let recipient = check_recipient(req.recipient.as_deref())?;
    let link_hash = sha256(link.as_bytes());
    let base = app.base_url()?.to_owned();
    let repeats = app.audit_repeats.clone();
    // The per-card, per-address rate is taken before the passcode is looked at.
    let card_key = format!("shl:{}", B64URL.encode(&link_hash[..12]));
    gate.known(&card_key)?;
    let answer = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                let actor = reader(&recipient);
                let Some(card) = store::by_link(conn, &link_hash)? else {
                    return Err(AppError::NotFound(NOT_VALID.into()));
                };
                let denied = |conn: &mut DbConnection| -> Result<(), AppError> {
                    let action = AuditAction::EmergencyCardAccessed;
                    if let Some(count) = repeats.occurrence(&card.account_id, action, AuditOutcome::Denied, now) {
                        let event = NewAuditEvent::new(&actor, action, AuditOutcome::Denied)
                            .grant(&card.card_id)
                            .occurrences(count);
                        audit::append(conn, &card.account_id, now, &event)?;
                    }
                    Ok(())
                };
                if !is_active(&card, now) {
                    denied(conn)?;
                    return Ok((card.account_id.clone(), Answer::Dead));
                }
                if card.passcode_hash.is_some() && !passcode_matches(&card, req.passcode.as_deref()) {
                    let left = store::spend_attempt(conn, &card.card_id)?.unwrap_or(0);
                    denied(conn)?;
                    return Ok((
                        card.account_id.clone(),
                        Answer::WrongPasscode(u32::try_from(left.max(0)).unwrap_or(0)),
                    ));
                }
                store::count_access(conn, &card.card_id, now)?;
                let event = NewAuditEvent::new(&actor, AuditAction::EmergencyCardAccessed, AuditOutcome::Success)
                    .grant(&card.card_id);
                audit::append(conn, &card.account_id, now, &event)?;
                let embed = req.embedded_length_max.is_none_or(|max| card.file_jwe.len() as u64 <= max);
                let (embedded, location) = if embed {
                    (Some(card.file_jwe.clone()), None)
                } else {
                    let ticket = new_secret()?;
                    store::insert_ticket(conn, &sha256(ticket.as_bytes()), &card.card_id, now + TICKET_TTL_MS, now)?;
                    (None, Some(format!("{base}/shl/files/{ticket}")))
                };
                let file = ManifestFile {
                    content_type: FHIR_JSON,
                    embedded,
                    location,
                    last_updated: utc(card.updated_at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                };
                Ok((card.account_id.clone(), Answer::Manifest(Manifest { status: "can-change", files: vec![file] })))
            })
        })
        .await?;
    let (account_id, answer) = answer;
    // The family's phones are told (after the commit, in the background; no health data).
    crate::app::notify::notify(app, account_id, crate::app::notify::Notice::EmergencyAccess { at: now_ms() });
    match answer {
        Answer::Dead => Err(AppError::NotFound(NOT_VALID.into())),
        Answer::Manifest(m) => Ok(m),
        Answer::WrongPasscode(remaining_attempts) if remaining_attempts > 0 => {
            Err(AppError::WrongPasscode { remaining_attempts })
        }
        // The last attempt is spent: the card is locked, as good as withdrawn.
        Answer::WrongPasscode(_) => Err(AppError::NotFound(NOT_VALID.into())),
    }
}

/// `GET /shl/files/{ticket}`: the encrypted file a manifest handed out as a location.
pub async fn file(app: &App, source: Option<IpAddr>, ticket: &str) -> Result<String, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    let result = async {
        if !is_secret(ticket) {
            return Err(AppError::NotFound(NOT_VALID.into()));
        }
        let ticket_hash = sha256(ticket.as_bytes());
        app.db(move |conn| {
            let now = now_ms();
            match store::by_ticket(conn, &ticket_hash, now)? {
                Some(card) if is_active(&card, now) => Ok(card.file_jwe),
                _ => Err(AppError::NotFound(NOT_VALID.into())),
            }
        })
        .await
    }
    .await;
    result.map_err(|e| gate.refused(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::crypto::shl::{seal_file, ShlKey};

    #[test]
    fn an_upload_must_be_an_shl_jwe_of_fhir_json_and_nothing_else() {
        let key = ShlKey::generate().unwrap();
        let good = seal_file(&key, FHIR_JSON, br#"{"resourceType":"Bundle"}"#).unwrap();
        check_file("file", &good).unwrap();
        let text = seal_file(&key, "text/plain", b"hello").unwrap();
        assert!(matches!(check_file("file", &text), Err(AppError::Unprocessable { .. })));
        for bad in ["", "a.b.c", "....", "not a jwe at all", &good.replacen('.', ".x", 1)] {
            assert!(matches!(check_file("file", bad), Err(AppError::Unprocessable { .. })), "{bad:?}");
        }
        let big = "a".repeat(MAX_FILE_BYTES + 1);
        assert!(matches!(check_file("file", &big), Err(AppError::PayloadTooLarge(_))));
    }

    #[test]
    fn a_passcode_is_kept_salted_and_hashed_and_only_the_same_one_matches() {
        assert!(hash_passcode(None).unwrap().is_none());
        assert!(hash_passcode(Some("123")).is_err(), "too short");
        assert!(hash_passcode(Some("12\n34")).is_err(), "control character");
        let (salt, hash) = hash_passcode(Some("1234")).unwrap().unwrap();
        assert_ne!(hash, b"1234".to_vec());
        let (salt2, hash2) = hash_passcode(Some("1234")).unwrap().unwrap();
        assert_ne!((salt.clone(), hash.clone()), (salt2, hash2), "salted");
        let card = CardRow {
            card_id: Uuid::new_v4().to_string(),
            account_id: "a".into(),
            subject: "mother".into(),
            link_hash: vec![0; 32],
            passcode_salt: Some(salt),
            passcode_hash: Some(hash),
            attempts_left: 1,
            expires_at: Some(100),
            file_jwe: String::new(),
            created_at: 0,
            updated_at: 0,
            accesses: 0,
            last_access_at: None,
        };
        assert!(passcode_matches(&card, Some("1234")));
        assert!(!passcode_matches(&card, Some("1235")));
        assert!(!passcode_matches(&card, None));
        assert!(is_active(&card, 99));
        assert!(!is_active(&card, 100), "expired");
        assert!(!is_active(&CardRow { attempts_left: 0, ..card }, 0), "locked");
    }

    #[test]
    fn secrets_are_43_base64url_characters_of_32_bytes() {
        let s = new_secret().unwrap();
        assert!(is_secret(&s));
        assert_ne!(s, new_secret().unwrap());
        assert!(!is_secret("short"));
        assert!(!is_secret(&format!("{}=", &s[..42])));
        assert!(!is_secret(&"!".repeat(43)));
    }

    #[test]
    fn a_recipient_is_required_short_and_printable() {
        assert_eq!(check_recipient(Some("  ER of Example Hospital ")).unwrap(), "ER of Example Hospital");
        assert!(check_recipient(None).is_err());
        assert!(check_recipient(Some("   ")).is_err());
        assert!(check_recipient(Some("a\u{0}b")).is_err());
        assert!(check_recipient(Some(&"x".repeat(MAX_RECIPIENT_CHARS + 1))).is_err());
    }
}
