//! Emergency cards: a SMART Health Link per person that any emergency team can scan.
//!
//! The card is made here, on the device: the person's emergency summary (an IPS document
//! Bundle, `phr_fhir::ips::emergency_summary`) is built from the current local records, sealed
//! with a fresh 256-bit key as a compact JWE (`phr_core::crypto::shl`), and uploaded as
//! ciphertext (`POST /emergency/v1/cards`). The server answers with the manifest URL; the
//! `shlink:/` link (URL + key, flags `L` and, with a passcode, `P`, a label) exists only on
//! this device, which keeps it — with the key — sealed under the device storage key
//! (meta [`CARDS_META`]). The app shows the link as a QR code ([`card_svg`]).
//!
//! After each sync, [`refresh_cards`] re-seals and uploads the summary of every card this
//! device made whose content changed (the person's relevant records, or the day: gestational
//! age is counted to today), under the same key: the printed QR code keeps working. Rotating
//! gives a new link and key (the old QR code is dead at once); withdrawing deletes the card on
//! the server. Other devices of the family see every card and its accesses
//! ([`list_cards`]) but not its link or key, so only the device that made a card refreshes,
//! rotates it or shows its QR code.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::SqliteConnection;
use phr_core::crypto::shl::{seal_file, ShlFlags, ShlKey, ShlPayload};
use phr_core::dataset::Subject;
use phr_core::sync::protocol::{
    CreateEmergencyCardRequest, EmergencyCardInfo, EmergencyCardLink, EmergencyCardList, EmergencyIdentifier,
    EmergencyIdentifiersInfo, RegisterEmergencyIdentifiersRequest, RotateEmergencyCardRequest,
    UpdateEmergencyCardFileRequest,
};
use phr_fhir::ips::{emergency_summary, SummaryInput, SummaryRecord};
use phr_fhir::model::Patient;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::account::Account;
use super::error::{Error, HttpErrorKind, Result};
use super::export::patient_id;
use super::keys::{RecordKeys, StorageKey};
use super::store;
use super::transport::{json_body, Transport};

/// Where this device keeps the cards it made (sealed under the storage key).
pub const CARDS_META: &str = "emergency_cards";
/// The last audit sequence number whose emergency accesses this device has reported.
pub const ACCESSES_SEEN_META: &str = "emergency_accesses_seen";
/// The audit actions that are emergency accesses: a card read, a break-glass read.
const ACCESS_ACTIONS: &str = "emergency_card_accessed,break_glass_summary";
/// The audit action of a break-glass read.
const BREAK_GLASS_ACTION: &str = "break_glass_summary";
/// The audit actor prefix of a card's reader.
const READER_PREFIX: &str = "shl-recipient:";
/// The audit actor prefix of an organization (a break-glass reader).
const ORGANIZATION_PREFIX: &str = "organization:";
/// The content type of a card's file.
const FHIR_JSON: &str = "application/fhir+json";
/// `Composition.author` of the summaries.
const AUTHOR: &str = "PHR app (family's device)";

/// A card as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCardView {
    pub card_id: String,
    /// `mother` or `child:<uuid>`.
    pub subject: String,
    /// The `shlink:/…` text of the QR code, if this device made the card (others never see it).
    pub shlink: Option<String>,
    /// The label on the card and in the link.
    pub label: Option<String>,
    pub passcode: bool,
    pub passcode_attempts_left: u32,
    /// The card answers readers (not expired, not locked by wrong passcodes).
    pub active: bool,
    /// How many times an emergency team read it, and when last (RFC 3339).
    pub accesses: u64,
    pub last_access_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An emergency access to the family's data since the last sync, for the app to tell the
/// parents (a notification, a banner): who, when, which card or break-glass (and why), and
/// whether it was let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    /// Epoch milliseconds.
    pub at: i64,
    /// Who was reading: the SHL `recipient` of a card read, or the emergency department's
    /// organization id of a break-glass read.
    pub recipient: String,
    /// The card read, if it was a card.
    pub card_id: Option<String>,
    /// A break-glass read (`Patient/$summary` by a registered emergency department) rather than a card.
    pub break_glass: bool,
    /// The reason the emergency department gave (break-glass).
    pub reason: Option<String>,
    /// `true`: the summary was handed out; `false`: refused (wrong passcode, dead card).
    pub granted: bool,
    /// How many such attempts this entry stands for (refusals are coalesced).
    pub occurrences: u64,
}

/// The emergency accesses in the family's audit log since the last call (kept in meta
/// [`ACCESSES_SEEN_META`]), oldest first: what [`super::sync::run`] reports after a sync.
pub fn new_accesses(
    conn: &mut SqliteConnection,
    account: &mut Account,
    transport: &dyn Transport,
) -> Result<Vec<EmergencyAccess>> {
    let mut seen: u64 = store::meta_get_text(conn, ACCESSES_SEEN_META)?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut out = Vec::new();
    loop {
        let path = format!("/audit/v1/events?since={seen}&limit=1000&action={ACCESS_ACTIONS}");
        let page: phr_core::sync::protocol::AuditPage = account.session.call(transport, "GET", &path, None)?;
        for e in &page.events {
            let break_glass = e.action == BREAK_GLASS_ACTION;
            let prefix = if break_glass { ORGANIZATION_PREFIX } else { READER_PREFIX };
            out.push(EmergencyAccess {
                at: e.at,
                recipient: e.actor.strip_prefix(prefix).unwrap_or(&e.actor).to_owned(),
                card_id: if break_glass { None } else { e.grant_id.clone() },
                break_glass,
                reason: e.reason.clone(),
                granted: e.outcome == "success",
                occurrences: e.occurrences.unwrap_or(1),
            });
        }
        let advanced = page.next_cursor > seen;
        seen = seen.max(page.next_cursor);
        if !page.more || !advanced {
            break;
        }
    }
    store::meta_set(conn, ACCESSES_SEEN_META, seen.to_string().as_bytes())?;
    Ok(out)
}

/// Registers, for break-glass, every identifier of the family's members recorded here
/// (`subject_identifiers`, e.g. the handbook number): `PUT /emergency/v1/identifiers`
/// replaces the earlier set. The server keeps only a keyed hash of each. Registering opens
/// nothing: a registered emergency department reads a member's summary only if the family
/// also holds a grant to `emergency-departments` covering that member (made like any grant);
/// otherwise its attempt is refused and shows up in [`new_accesses`]. Returns how many were registered.
pub fn register_identifiers(
    conn: &mut SqliteConnection,
    account: &mut Account,
    transport: &dyn Transport,
) -> Result<u64> {
    let mut identifiers = Vec::new();
    for row in store::live_records(conn)? {
        let (kind, subject) = row.kind_subject()?;
        if kind != phr_core::dataset::RecordKind::SubjectIdentifiers {
            continue;
        }
        if let Some(phr_core::dataset::RecordBody::SubjectIdentifiers(ids)) = account.keys.winner(&row)? {
            for id in ids.identifiers {
                let entry = EmergencyIdentifier { subject, system: id.system, value: id.value };
                if !identifiers.contains(&entry) {
                    identifiers.push(entry);
                }
            }
        }
    }
    let request = RegisterEmergencyIdentifiersRequest { identifiers };
    let info: EmergencyIdentifiersInfo = account.session.call(
        transport,
        "PUT",
        "/emergency/v1/identifiers",
        Some(json_body("the emergency identifiers", &request)?),
    )?;
    Ok(info.registered)
}

/// What this device keeps of a card it made.
#[derive(Serialize, Deserialize, Clone)]
struct KeptCard {
    subject: String,
    url: String,
    /// The link's key, base64url.
    key: String,
    passcode: bool,
    label: Option<String>,
    /// What the uploaded summary was built from ([`content_digest`]).
    digest: String,
}

impl KeptCard {
    fn shlink(&self) -> Result<String> {
        ShlPayload {
            url: self.url.clone(),
            key: ShlKey::from_base64url(&self.key).map_err(Error::crypto)?,
            exp: None,
            flags: ShlFlags { long_term: true, passcode: self.passcode, direct_file: false },
            label: self.label.clone(),
        }
        .encode()
        .map_err(|e| Error::invalid("label", e.to_string()))
    }
}

fn load_kept(conn: &mut SqliteConnection, storage_key: &StorageKey) -> Result<BTreeMap<String, KeptCard>> {
    match store::meta_get(conn, CARDS_META)? {
        None => Ok(BTreeMap::new()),
        Some(sealed) => {
            let plain = storage_key.open(&sealed)?;
            serde_json::from_slice(&plain).map_err(|e| Error::corrupt(format!("the kept emergency cards: {e}")))
        }
    }
}

fn save_kept(conn: &mut SqliteConnection, storage_key: &StorageKey, kept: &BTreeMap<String, KeptCard>) -> Result<()> {
    let plain = Zeroizing::new(serde_json::to_vec(kept).map_err(|e| Error::encoding("the kept emergency cards", e))?);
    store::meta_set(conn, CARDS_META, &storage_key.seal(&plain)?)
}

/// The person's summary: (the IPS document Bundle as JSON, the digest of what it was built from).
fn summary_of(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: Subject,
    today: NaiveDate,
) -> Result<(Vec<u8>, String)> {
    let mut records = Vec::new();
    for row in store::live_records(conn)? {
        let (_, of) = row.kind_subject()?;
        if of != subject {
            continue;
        }
        if let Some(body) = keys.winner(&row)? {
            records.push((row.id()?, body));
        }
    }
    records.sort_by_key(|(id, _)| *id);
    let digest = content_digest(&records, today)?;
    let input = SummaryInput {
        patient: Patient {
            id: Some(patient_id(keys.account_id(), &subject)),
            active: Some(true),
            ..Default::default()
        },
        records: records.iter().map(|(id, body)| SummaryRecord { id: *id, body }).collect(),
        today,
        now: Utc::now(),
        author: AUTHOR.to_owned(),
    };
    let doc = emergency_summary(&input).map_err(|e| Error::invalid("records", format!("no emergency summary: {e}")))?;
    Ok((serde_json::to_vec(&doc).map_err(|e| Error::encoding("the emergency summary", e))?, digest))
}

/// The person's summary sealed under a fresh link key (a new card, or a rotated one):
/// (the key, the JWE, the digest of what the summary was built from).
fn sealed_under_new_key(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: Subject,
    today: NaiveDate,
) -> Result<(ShlKey, String, String)> {
    let (summary, digest) = summary_of(conn, keys, subject, today)?;
    let key = ShlKey::generate().map_err(Error::crypto)?;
    let file = seal_file(&key, FHIR_JSON, &summary).map_err(Error::crypto)?;
    Ok((key, file, digest))
}

/// SHA-256 over the day and the records a summary is built from: equal digests, equal summaries.
fn content_digest(records: &[(Uuid, phr_core::dataset::RecordBody)], today: NaiveDate) -> Result<String> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(today.to_string().as_bytes());
    for (id, body) in records {
        ctx.update(id.as_bytes());
        ctx.update(&serde_json::to_vec(body).map_err(|e| Error::encoding("a record", e))?);
    }
    Ok(hex::encode(ctx.finish()))
}

fn parse_subject(subject: &str) -> Result<Subject> {
    subject.trim().parse().map_err(|_| Error::invalid("subject", "must be mother or child:<uuid>"))
}

fn card_id_of(card_id: &str) -> Result<String> {
    Ok(Error::uuid_arg("card_id", card_id)?.to_string())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn view(info: EmergencyCardInfo, kept: Option<&KeptCard>) -> Result<EmergencyCardView> {
    Ok(EmergencyCardView {
        card_id: info.card_id.to_string(),
        subject: info.subject.to_string(),
        shlink: kept.map(KeptCard::shlink).transpose()?,
        label: kept.and_then(|k| k.label.clone()),
        passcode: info.passcode,
        passcode_attempts_left: info.passcode_attempts_left,
        active: info.active,
        accesses: info.accesses,
        last_access_at: info.last_access_at.map(rfc3339),
        created_at: rfc3339(info.created_at),
        updated_at: rfc3339(info.updated_at),
    })
}

fn today(account: &Account) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(account.time.now_ms() as i64).unwrap_or_default().date_naive()
}

/// Makes a card for `subject` (its summary sealed here, uploaded as ciphertext).
pub fn create_card(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    subject: &str,
    passcode: Option<&str>,
    label: Option<&str>,
) -> Result<EmergencyCardView> {
    let subject = parse_subject(subject)?;
    let label = label.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
    if label.as_ref().is_some_and(|l| l.chars().count() > 80) {
        return Err(Error::invalid("label", "at most 80 characters"));
    }
    let keys = account.keys.clone();
    let (key, file, digest) = sealed_under_new_key(conn, &keys, subject, today(account))?;
    let request = CreateEmergencyCardRequest { subject, file, passcode: passcode.map(str::to_owned), expires_at: None };
    let link: EmergencyCardLink =
        account.session.call(transport, "POST", "/emergency/v1/cards", Some(json_body("the card", &request)?))?;
    let kept = KeptCard {
        subject: subject.to_string(),
        url: link.url,
        key: key.to_base64url(),
        passcode: passcode.is_some(),
        label,
        digest,
    };
    let mut all = load_kept(conn, storage_key)?;
    all.insert(link.card.card_id.to_string(), kept.clone());
    save_kept(conn, storage_key, &all)?;
    view(link.card, Some(&kept))
}

/// Every card of the family (with the link of those this device made), oldest first.
pub fn list_cards(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
) -> Result<Vec<EmergencyCardView>> {
    let list: EmergencyCardList = account.session.call(transport, "GET", "/emergency/v1/cards", None)?;
    let mut kept = load_kept(conn, storage_key)?;
    // Cards withdrawn elsewhere are forgotten here too.
    let before = kept.len();
    kept.retain(|id, _| list.cards.iter().any(|c| c.card_id.to_string() == *id));
    if kept.len() != before {
        save_kept(conn, storage_key, &kept)?;
    }
    list.cards
        .into_iter()
        .map(|c| {
            let id = c.card_id.to_string();
            view(c, kept.get(&id))
        })
        .collect()
}

/// A new link and key for a card this device made; the old QR code stops working at once.
pub fn rotate_card(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    card_id: &str,
    passcode: Option<&str>,
) -> Result<EmergencyCardView> {
    let card_id = card_id_of(card_id)?;
    let mut all = load_kept(conn, storage_key)?;
    let Some(old) = all.get(&card_id).cloned() else {
        return Err(Error::NotFound(format!("emergency card {card_id} was not made on this device")));
    };
    let keys = account.keys.clone();
    let (key, file, digest) = sealed_under_new_key(conn, &keys, parse_subject(&old.subject)?, today(account))?;
    let request = RotateEmergencyCardRequest { file, passcode: passcode.map(str::to_owned) };
    let path = format!("/emergency/v1/cards/{card_id}/rotate");
    let link: EmergencyCardLink =
        account.session.call(transport, "POST", &path, Some(json_body("the card", &request)?))?;
    let kept = KeptCard { url: link.url, key: key.to_base64url(), passcode: passcode.is_some(), digest, ..old };
    all.insert(card_id, kept.clone());
    save_kept(conn, storage_key, &all)?;
    view(link.card, Some(&kept))
}

/// Withdraws a card: on the server at once (any device of the family may), then here.
pub fn withdraw_card(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    card_id: &str,
) -> Result<()> {
    let card_id = card_id_of(card_id)?;
    match account.session.call::<()>(transport, "DELETE", &format!("/emergency/v1/cards/{card_id}"), None) {
        Ok(()) | Err(Error::Http { kind: HttpErrorKind::NotFound, .. }) => {}
        Err(e) => return Err(e),
    }
    let mut all = load_kept(conn, storage_key)?;
    if all.remove(&card_id).is_some() {
        save_kept(conn, storage_key, &all)?;
    }
    Ok(())
}

/// After a sync: uploads a fresh summary (same key, same QR code) for every card this device
/// made whose content changed. A card withdrawn meanwhile (404) is forgotten. Returns how many
/// were refreshed.
pub fn refresh_cards(
    conn: &mut SqliteConnection,
    account: &mut Account,
    storage_key: &StorageKey,
    transport: &dyn Transport,
) -> Result<u64> {
    let mut all = load_kept(conn, storage_key)?;
    if all.is_empty() {
        return Ok(0);
    }
    let keys = account.keys.clone();
    let day = today(account);
    let mut refreshed = 0;
    let mut gone = Vec::new();
    for (card_id, kept) in all.iter_mut() {
        let (summary, digest) = summary_of(conn, &keys, parse_subject(&kept.subject)?, day)?;
        if digest == kept.digest {
            continue;
        }
        let key = ShlKey::from_base64url(&kept.key).map_err(Error::crypto)?;
        let file = seal_file(&key, FHIR_JSON, &summary).map_err(Error::crypto)?;
        let body = json_body("the card's file", &UpdateEmergencyCardFileRequest { file })?;
        let path = format!("/emergency/v1/cards/{card_id}/file");
        match account.session.call::<EmergencyCardInfo>(transport, "PUT", &path, Some(body)) {
            Ok(_) => {
                kept.digest = digest;
                refreshed += 1;
            }
            Err(Error::Http { kind: HttpErrorKind::NotFound, .. }) => gone.push(card_id.clone()),
            Err(e) => return Err(e),
        }
    }
    for id in gone {
        all.remove(&id);
    }
    save_kept(conn, storage_key, &all)?;
    Ok(refreshed)
}

/// The printable card of a card this device made: an SVG with the QR code and its label.
pub fn card_svg(conn: &mut SqliteConnection, storage_key: &StorageKey, card_id: &str) -> Result<String> {
    let card_id = card_id_of(card_id)?;
    let all = load_kept(conn, storage_key)?;
    let kept = all
        .get(&card_id)
        .ok_or_else(|| Error::NotFound(format!("emergency card {card_id} was not made on this device")))?;
    let title = if kept.subject == "mother" { "Emergency summary — mother" } else { "Emergency summary — child" };
    phr_core::emergency_card::card_svg(&kept.shlink()?, title, kept.label.as_deref().unwrap_or(""))
        .map_err(|e| Error::invalid("card", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::dataset::{examples, RecordBody};

    #[test]
    fn the_digest_changes_with_the_records_and_the_day_and_nothing_else() {
        let id = Uuid::new_v4();
        let day: NaiveDate = "2026-12-05".parse().unwrap();
        let a = vec![(id, RecordBody::Allergy(examples::allergy_full()))];
        let b = vec![(id, RecordBody::Allergy(examples::allergy_minimal()))];
        assert_eq!(content_digest(&a, day).unwrap(), content_digest(&a, day).unwrap());
        assert_ne!(content_digest(&a, day).unwrap(), content_digest(&b, day).unwrap());
        assert_ne!(content_digest(&a, day).unwrap(), content_digest(&a, day.succ_opt().unwrap()).unwrap());
    }

    #[test]
    fn a_kept_card_makes_the_link_its_qr_code_shows() {
        let key = ShlKey::generate().unwrap();
        let kept = KeptCard {
            subject: "mother".into(),
            url: "https://phr.example/shl/abc".into(),
            key: key.to_base64url(),
            passcode: true,
            label: Some("Hanako — emergency".into()),
            digest: String::new(),
        };
        let link = ShlPayload::parse(&kept.shlink().unwrap()).unwrap();
        assert_eq!(link.url, kept.url);
        assert_eq!(link.key, key);
        assert!(link.flags.long_term && link.flags.passcode && !link.flags.direct_file);
        assert_eq!(link.label.as_deref(), Some("Hanako — emergency"));
    }
}
