//! Account-key backup and recovery: a family that lost every phone gets back
//! in with a passphrase, and the server never learns the account key.
//!
//! # Key backup
//!
//! A signed-in device seals the 32-byte account key under a key derived from
//! the parent's passphrase (PBKDF2-HMAC-SHA256, at least
//! [`KEY_BACKUP_MIN_ITERATIONS`] iterations, random salt) with AES-256-GCM,
//! the associated data binding the account id, and stores it with
//! `PUT /accounts/v1/key-backup` (one per account; a new one replaces the old).
//! The server checks only the shape (KDF name, iteration bounds, salt and
//! ciphertext sizes): it cannot open it.
//!
//! # Recovery on a new phone
//!
//! The new phone has no device key and no pairing code, only the account id
//! and the passphrase:
//!
//! 1. `POST /accounts/v1/recovery/key-backup {account_id}` returns the sealed
//!    backup; the phone derives the key and opens it (a wrong passphrase fails
//!    on the phone).
//! 2. `POST /accounts/v1/recovery/challenge {account_id}`: the server draws a
//!    random 32-byte nonce, HPKE-seals it to the account's public key
//!    (`accounts.public_key`, derived from the account key) with info
//!    [`recovery_challenge_info`] (account and challenge id), stores only the
//!    nonce's SHA-256 with a 2-minute expiry, and returns the sealed nonce.
//! 3. `POST /accounts/v1/recovery/enrol {account_id, challenge_id, nonce,
//!    device}`: the challenge is consumed whatever happens (single use); if it
//!    is unexpired and the nonce's hash matches, the device is added to the
//!    account and its id returned (201), after which it signs in like any
//!    device. A wrong or reused nonce is a 401 that adds no device.
//!
//! Opening the nonce proves possession of the account key without revealing
//! it. All three endpoints are unauthenticated, so they are rate-limited
//! ([`crate::app::auth::limits`]): refusals (unknown account, no backup, a wrong
//! nonce) per source address; fetches and challenges per account *and*
//! address, so one address cannot use up the family's share; wrong nonces
//! also per account. Every outcome is written to the account's audit log
//! (`recovery_challenge_issued`, `device_recovered` success/denied), which the
//! family can read; fetches of the backup, which anyone can repeat, are
//! written as `key_backup_fetched` at the 1st, 2nd, 4th, 8th… fetch of each
//! hour with the count so far ([`crate::app::audit::Repeats`]), not once each. Anyone who
//! knows an account id can fetch its sealed backup and try passphrases
//! offline: that is why the KDF is slow and the app refuses passphrases under
//! 10 characters. Unknown accounts (and accounts without a backup) answer 404.

use std::net::IpAddr;

use phr_core::crypto::{hpke_seal, HpkePublicKey};
use phr_core::sync::protocol::{
    recovery_challenge_info, JoinResponse, KeyBackupRequest, KeyBackupResponse, RecoveryChallengeResponse,
    RecoveryEnrolRequest, KEY_BACKUP_KDF, KEY_BACKUP_MIN_ITERATIONS,
};
use uuid::Uuid;

use super::{add_device, check_new_device, gated_id, store};
use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::auth::tokens;
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::{unprocessable_if_any, AppError};
use crate::app::{now_ms, App};
use crate::store::write_transaction;

/// The most PBKDF2 iterations accepted (a phone must be able to derive it).
pub const KEY_BACKUP_MAX_ITERATIONS: u32 = 10_000_000;
/// Salt bounds in bytes.
pub const MIN_SALT_BYTES: usize = 16;
pub const MAX_SALT_BYTES: usize = 64;
/// A sealed 32-byte key: 12-byte nonce + 32 + 16-byte tag = 60; some room for a format byte.
pub const MIN_SEALED_KEY_BYTES: usize = 60;
pub const MAX_SEALED_KEY_BYTES: usize = 128;
const RECOVERY_CHALLENGE_TTL_MS: i64 = 2 * 60 * 1000;
const NONCE_BYTES: usize = 32;
const RECOVERY_ACTOR: &str = "recovery";

/// Shape problems of a key backup, by field.
fn backup_problems(req: &KeyBackupRequest) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if req.kdf != KEY_BACKUP_KDF {
        problems.push(("kdf".to_owned(), format!("must be {KEY_BACKUP_KDF:?}")));
    }
    if !(KEY_BACKUP_MIN_ITERATIONS..=KEY_BACKUP_MAX_ITERATIONS).contains(&req.iterations) {
        problems.push((
            "iterations".to_owned(),
            format!("must be {KEY_BACKUP_MIN_ITERATIONS}–{KEY_BACKUP_MAX_ITERATIONS}, got {}", req.iterations),
        ));
    }
    if !(MIN_SALT_BYTES..=MAX_SALT_BYTES).contains(&req.salt.len()) {
        problems.push(("salt".to_owned(), format!("must be {MIN_SALT_BYTES}–{MAX_SALT_BYTES} bytes")));
    }
    if !(MIN_SEALED_KEY_BYTES..=MAX_SEALED_KEY_BYTES).contains(&req.sealed_key.len()) {
        problems
            .push(("sealed_key".to_owned(), format!("must be {MIN_SEALED_KEY_BYTES}–{MAX_SEALED_KEY_BYTES} bytes")));
    }
    problems
}

/// Stores (or replaces) the account's sealed key backup.
pub async fn put_key_backup(state: &App, device: AuthenticatedDevice, req: KeyBackupRequest) -> Result<(), AppError> {
    unprocessable_if_any("invalid key backup", backup_problems(&req))?;
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                store::put_key_backup(conn, &device.account_id, &req, now)?;
                audit::append(
                    conn,
                    &device.account_id,
                    now,
                    &NewAuditEvent::new(&device.actor(), AuditAction::KeyBackupStored, AuditOutcome::Success),
                )?;
                Ok::<_, AppError>(())
            })
        })
        .await?;
    Ok(())
}

/// The sealed key backup of `account_id`, for a new phone (unauthenticated).
pub async fn fetch_key_backup(
    state: &App,
    source: Option<IpAddr>,
    account_id: &str,
) -> Result<KeyBackupResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", account_id)?;
    gate.known(&format!("recovery:{account_id}"))?;
    let repeats = state.audit_repeats.clone();
    let backup = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let backup = store::key_backup(conn, &account_id)?
                    .ok_or_else(|| AppError::NotFound("no key backup for this account".into()))?;
                let now = now_ms();
                if let Some(count) =
                    repeats.occurrence(&account_id, AuditAction::KeyBackupFetched, AuditOutcome::Success, now)
                {
                    let event =
                        NewAuditEvent::new(RECOVERY_ACTOR, AuditAction::KeyBackupFetched, AuditOutcome::Success)
                            .occurrences(count);
                    audit::append(conn, &account_id, now, &event)?;
                }
                Ok::<_, AppError>(backup)
            })
        })
        .await
        .map_err(|e| gate.refused(e))?;
    Ok(backup)
}

/// A recovery challenge for `account_id`: a nonce sealed to the account's public key.
pub async fn challenge(
    state: &App,
    source: Option<IpAddr>,
    account_id: &str,
) -> Result<RecoveryChallengeResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", account_id)?;
    gate.known(&format!("recovery:{account_id}"))?;
    let challenge_id = Uuid::new_v4().to_string();
    let nonce = crate::app::random_bytes(NONCE_BYTES)?;
    let nonce_hash = tokens::secret_hash(&hex::encode(&nonce));
    let expires_at = now_ms() + RECOVERY_CHALLENGE_TTL_MS;
    let (cid, acc) = (challenge_id.clone(), account_id.clone());
    let public_key = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let account_id = acc;
                let account =
                    store::account(conn, &account_id)?.ok_or_else(|| AppError::NotFound("no such account".into()))?;
                let now = now_ms();
                store::insert_recovery_challenge(conn, &account_id, &cid, &nonce_hash, expires_at, now)?;
                audit::append(
                    conn,
                    &account_id,
                    now,
                    &NewAuditEvent::new(RECOVERY_ACTOR, AuditAction::RecoveryChallengeIssued, AuditOutcome::Success),
                )?;
                Ok::<_, AppError>(account.public_key)
            })
        })
        .await
        .map_err(|e| gate.refused(e))?;
    let public_key = HpkePublicKey::from_bytes(&public_key)
        .map_err(|_| AppError::Internal("stored account public key is not an X25519 key".into()))?;
    let sealed_nonce = hpke_seal(&public_key, &recovery_challenge_info(&account_id, &challenge_id), &[], &nonce)
        .map_err(|_| AppError::Internal("cannot seal the recovery challenge".into()))?;
    Ok(RecoveryChallengeResponse { challenge_id, sealed_nonce, expires_at })
}

/// Enrols a new device with the opened nonce of a recovery challenge.
pub async fn enrol(state: &App, source: Option<IpAddr>, req: RecoveryEnrolRequest) -> Result<JoinResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", &req.account_id)?;
    // Challenge ids are UUIDs: anything else is a 400 (a NUL in it would fail the PostgreSQL lookup).
    let challenge_id = gated_id(&gate, "challenge_id", &req.challenge_id)?;
    check_new_device(&req.device).map_err(|e| gate.refused(e))?;
    gate.may_guess(&account_id)?;
    let nonce_hash = tokens::secret_hash(&hex::encode(&req.nonce));
    let device_id = Uuid::now_v7().to_string();
    let dev = device_id.clone();
    let guessed = account_id.clone();
    let outcome = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                if store::account(conn, &account_id)?.is_none() {
                    return Ok(Err("unknown account or challenge"));
                }
                let found = store::take_recovery_challenge(conn, &account_id, &challenge_id)?;
                let verdict = match found {
                    None => Err("unknown or already used recovery challenge"),
                    Some((_, expires_at)) if expires_at < now => Err("the recovery challenge has expired"),
                    Some((hash, _)) if !ring_constant_time_eq(hash.as_bytes(), nonce_hash.as_bytes()) => {
                        Err("the nonce does not match the challenge")
                    }
                    Some(_) => Ok(()),
                };
                if let Err(why) = verdict {
                    audit::append(
                        conn,
                        &account_id,
                        now,
                        &NewAuditEvent::new(RECOVERY_ACTOR, AuditAction::DeviceRecovered, AuditOutcome::Denied),
                    )?;
                    return Ok(Err(why));
                }
                add_device(conn, &account_id, &dev, &req.device, AuditAction::DeviceRecovered, now)?;
                Ok::<_, AppError>(Ok(()))
            })
        })
        .await
        .map_err(|e| gate.refused(e))?;
    outcome.map_err(|why| gate.refused_guess(&guessed, AppError::Unauthorized(why.into())))?;
    Ok(JoinResponse { device_id })
}

fn ring_constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The stored backup as returned to a new phone.
#[cfg(test)]
mod tests {
    use super::*;

    fn backup() -> KeyBackupRequest {
        KeyBackupRequest {
            kdf: KEY_BACKUP_KDF.into(),
            iterations: KEY_BACKUP_MIN_ITERATIONS,
            salt: vec![1; 16],
            sealed_key: vec![2; 60],
        }
    }

    #[test]
    fn a_well_formed_backup_has_no_problems() {
        assert!(backup_problems(&backup()).is_empty());
    }

    #[test]
    fn a_weak_kdf_short_salt_or_odd_ciphertext_is_refused_field_by_field() {
        let mut b = backup();
        b.kdf = "md5".into();
        b.iterations = 1000;
        b.salt = vec![1; 4];
        b.sealed_key = vec![2; 10];
        let fields: Vec<String> = backup_problems(&b).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["kdf", "iterations", "salt", "sealed_key"]);
        b = backup();
        b.iterations = KEY_BACKUP_MAX_ITERATIONS + 1;
        assert_eq!(backup_problems(&b).len(), 1);
    }

    #[test]
    fn nonce_hashes_compare_equal_only_when_identical() {
        assert!(ring_constant_time_eq(b"abc", b"abc"));
        assert!(!ring_constant_time_eq(b"abc", b"abd"));
        assert!(!ring_constant_time_eq(b"abc", b"ab"));
    }
}
