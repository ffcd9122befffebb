//! Account-key backup under a passphrase, and restoring the account on a new
//! phone (see `server/src/app/accounts/recovery.rs` for the server side).
//!
//! The backup: PBKDF2-HMAC-SHA256 ([`BACKUP_ITERATIONS`] iterations, 16-byte
//! random salt) turns the passphrase into a 256-bit key that seals the account
//! key with AES-256-GCM (random 96-bit nonce; associated data
//! `"phr-key-backup-v1\n" ‖ account_id`, so a backup cannot be passed off as
//! another account's). The server stores `nonce ‖ ciphertext ‖ tag` with the
//! KDF parameters and salt, and can open none of it.
//!
//! Restoring: fetch the backup, derive, open (a wrong passphrase fails here,
//! as [`Error::WrongPassphrase`]), then prove possession of the account key by
//! opening the server's HPKE-sealed recovery nonce, and enrol a new device key.

use std::num::NonZeroU32;

use diesel::SqliteConnection;
use std::sync::Arc;

use phr_core::crypto::{hpke_open, AccountKey};
use phr_core::sync::protocol::{
    recovery_challenge_info, JoinResponse, KeyBackupRequest, KeyBackupResponse, RecoveryChallengeResponse,
    RecoveryEnrolRequest, RecoveryRequest, KEY_BACKUP_KDF, KEY_BACKUP_MIN_ITERATIONS,
};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::account::{checked_server_url, enroll, Account, Enrolment, Registration};
use super::clock::ServerClock;
use super::error::{Error, HttpErrorKind, Result};
use super::keys::StorageKey;
use super::transport::{call_json, json_body, Transport};

/// PBKDF2 iterations of new backups.
pub const BACKUP_ITERATIONS: u32 = KEY_BACKUP_MIN_ITERATIONS;
/// The shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
const SALT_LEN: usize = 16;

fn backup_aad(account_id: &str) -> Vec<u8> {
    let mut aad = b"phr-key-backup-v1\n".to_vec();
    aad.extend_from_slice(account_id.as_bytes());
    aad
}

pub fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::invalid(
            "passphrase",
            format!("must be at least {MIN_PASSPHRASE_CHARS} characters; a longer phrase of several words is best"),
        ));
    }
    Ok(())
}

fn derive(passphrase: &str, salt: &[u8], iterations: u32) -> Result<LessSafeKey> {
    let iterations = NonZeroU32::new(iterations).ok_or_else(|| Error::crypto("zero KDF iterations"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, passphrase.as_bytes(), key.as_mut());
    let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| Error::crypto("bad derived key"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals `account_key` under `passphrase` for `account_id`.
pub(crate) fn seal_backup(
    account_key: &AccountKey,
    account_id: &str,
    passphrase: &str,
    iterations: u32,
) -> Result<KeyBackupRequest> {
    let rng = SystemRandom::new();
    let mut salt = vec![0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut salt).map_err(|_| Error::crypto("system RNG failed"))?;
    rng.fill(&mut nonce).map_err(|_| Error::crypto("system RNG failed"))?;
    let key = derive(passphrase, &salt, iterations)?;
    let mut in_out = account_key.expose_secret().to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(backup_aad(account_id)), &mut in_out)
        .map_err(|_| Error::crypto("sealing the key backup failed"))?;
    let mut sealed_key = nonce.to_vec();
    sealed_key.extend_from_slice(&in_out);
    Ok(KeyBackupRequest { kdf: KEY_BACKUP_KDF.into(), iterations, salt, sealed_key })
}

/// Opens a backup; a wrong passphrase (or another account's backup) is
/// [`Error::WrongPassphrase`].
pub(crate) fn open_backup(backup: &KeyBackupResponse, account_id: &str, passphrase: &str) -> Result<AccountKey> {
    if backup.kdf != KEY_BACKUP_KDF || backup.iterations < KEY_BACKUP_MIN_ITERATIONS {
        return Err(Error::crypto(format!("unsupported key backup ({} × {})", backup.kdf, backup.iterations)));
    }
    if backup.sealed_key.len() < NONCE_LEN + 16 {
        return Err(Error::crypto("the key backup is truncated"));
    }
    let (nonce, sealed) = backup.sealed_key.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::crypto("bad backup nonce"))?;
    let key = derive(passphrase, &backup.salt, backup.iterations)?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let plain =
        key.open_in_place(nonce, Aad::from(backup_aad(account_id)), &mut in_out).map_err(|_| Error::WrongPassphrase)?;
    Ok(AccountKey::from_bytes(plain)?)
}

/// Seals the account key under `passphrase` (checked with
/// [`check_passphrase`] first) and stores the backup on the server.
pub fn backup_account_key(account: &mut Account, transport: &dyn Transport, passphrase: &str) -> Result<()> {
    let backup = seal_backup(account.keys.account_key(), account.keys.account_id(), passphrase, BACKUP_ITERATIONS)?;
    let body = json_body("the key backup", &backup)?;
    account.session.call::<()>(transport, "PUT", "/accounts/v1/key-backup", Some(body))
}

/// On a new phone: fetches the account's key backup from `server_url`, opens
/// it with `passphrase`, proves to the server that this phone holds the
/// account key, and enrols it as a new device, checking the account's public
/// key on the server before anything is saved. The caller has checked this
/// device belongs to no account.
#[allow(clippy::too_many_arguments)]
pub fn restore_account(
    conn: &mut SqliteConnection,
    storage_key: &StorageKey,
    transport: &dyn Transport,
    server_url: &str,
    account_id: &str,
    passphrase: &str,
    device_name: &str,
    time: Arc<ServerClock>,
) -> Result<Account> {
    let account_id = Error::uuid_arg("account_id", account_id)?.to_string();
    if passphrase.is_empty() {
        return Err(Error::invalid("passphrase", "is empty"));
    }
    let url = checked_server_url(server_url)?;
    let who = json_body("the recovery request", &RecoveryRequest { account_id: account_id.clone() })?;
    let backup: KeyBackupResponse =
        call_json(transport, "POST", format!("{url}/accounts/v1/recovery/key-backup"), None, Some(who.clone()))
            .map_err(|e| match e {
                Error::Http { kind: HttpErrorKind::NotFound, .. } => {
                    Error::NotFound("a key backup for this account on this server".into())
                }
                other => other,
            })?;
    let account_key = open_backup(&backup, &account_id, passphrase)?;
    let (private, _) = account_key.hpke_key_pair();
    let purpose = format!("restore {url} {account_id} {}", device_name.trim());
    let acc = account_id.clone();
    let register = move |transport: &dyn Transport, registration: Registration| {
        let device = registration.device;
        let challenge: RecoveryChallengeResponse =
            call_json(transport, "POST", format!("{url}/accounts/v1/recovery/challenge"), None, Some(who))?;
        let info = recovery_challenge_info(&acc, &challenge.challenge_id);
        let nonce = hpke_open(&private, &info, &[], &challenge.sealed_nonce)
            .map_err(|_| Error::crypto("the recovery challenge does not open with this account key"))?;
        let req = RecoveryEnrolRequest {
            account_id: acc.clone(),
            challenge_id: challenge.challenge_id,
            nonce: nonce.to_vec(),
            device,
        };
        let body = json_body("the recovery enrolment", &req)?;
        let enrolled: JoinResponse =
            call_json(transport, "POST", format!("{url}/accounts/v1/recovery/enrol"), None, Some(body))?;
        Ok((acc, enrolled.device_id))
    };
    let enrolment = Enrolment { purpose, account_key: Some(account_key), verify: true, register: Box::new(register) };
    enroll(conn, storage_key, transport, server_url, enrolment, device_name, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(req: KeyBackupRequest) -> KeyBackupResponse {
        KeyBackupResponse {
            kdf: req.kdf,
            iterations: req.iterations,
            salt: req.salt,
            sealed_key: req.sealed_key,
            updated_at: 0,
        }
    }

    #[test]
    fn a_backup_opens_with_its_passphrase_and_account_only() {
        let key = AccountKey::generate();
        let sealed = response(seal_backup(&key, "acc-1", "correct horse battery", BACKUP_ITERATIONS).unwrap());
        assert_eq!(sealed.iterations, 600_000);
        assert_eq!((sealed.salt.len(), sealed.sealed_key.len()), (16, 60));
        let opened = open_backup(&sealed, "acc-1", "correct horse battery").unwrap();
        assert_eq!(opened.expose_secret(), key.expose_secret());
        assert!(!sealed.sealed_key.windows(32).any(|w| w == key.expose_secret()), "the key is not in clear");
        let wrong = open_backup(&sealed, "acc-1", "correct horse battery!").unwrap_err();
        assert!(matches!(wrong, Error::WrongPassphrase), "{wrong:?}");
        assert!(wrong.to_string().contains("wrong passphrase"));
        assert!(matches!(open_backup(&sealed, "acc-2", "correct horse battery"), Err(Error::WrongPassphrase)));
    }

    #[test]
    fn weak_kdf_parameters_and_truncated_backups_are_refused_without_deriving() {
        let mut b = response(seal_backup(&AccountKey::generate(), "a", "long enough pass", BACKUP_ITERATIONS).unwrap());
        b.iterations = 1000;
        assert!(matches!(open_backup(&b, "a", "long enough pass"), Err(Error::Crypto(_))));
        b.iterations = BACKUP_ITERATIONS;
        b.sealed_key.truncate(20);
        assert!(matches!(open_backup(&b, "a", "long enough pass"), Err(Error::Crypto(_))));
    }

    #[test]
    fn passphrases_under_ten_characters_are_validation_errors() {
        assert!(matches!(check_passphrase("short pass"), Ok(())));
        assert!(matches!(
            check_passphrase("123456789"),
            Err(Error::InvalidInput { field, .. }) if field == "passphrase"
        ));
    }
}
