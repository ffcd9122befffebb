//! Account-key backup under a passphrase, and restoring the account on a new
//! phone (see `server/src/accounts/recovery.rs` for the server side).
//!
//! The backup: PBKDF2-HMAC-SHA256 ([`BACKUP_ITERATIONS`] iterations, 16-byte
//! random salt) turns the passphrase into a 256-bit key that seals the account
//! key with AES-256-GCM (random 96-bit nonce; associated data
//! `"phr-key-backup-v1\n" ‖ account_id`, so a backup cannot be passed off as
//! another account's). The server stores `nonce ‖ ciphertext ‖ tag` with the
//! KDF parameters and salt, and can open none of it.
//!
//! Restoring: fetch the backup, derive, open (a wrong passphrase fails here,
//! as [`PhrError::Auth`]), then prove possession of the account key by
//! opening the server's HPKE-sealed recovery nonce, and enrol a new device key.

use std::num::NonZeroU32;

use phr_core::crypto::{hpke_open, AccountKey};
use phr_core::sync::protocol::{
    recovery_challenge_info, AccountInfo, JoinResponse, KeyBackupRequest, KeyBackupResponse, RecoveryChallengeResponse,
    RecoveryEnrolRequest, RecoveryRequest, KEY_BACKUP_KDF, KEY_BACKUP_MIN_ITERATIONS,
};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::client::{account_summary, AccountSummary, PhrClient};
use crate::error::PhrError;
use crate::sync::transport::call_json;

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

fn check_passphrase(passphrase: &str) -> Result<(), PhrError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(PhrError::invalid(
            "passphrase",
            format!("must be at least {MIN_PASSPHRASE_CHARS} characters; a longer phrase of several words is best"),
        ));
    }
    Ok(())
}

fn derive(passphrase: &str, salt: &[u8], iterations: u32) -> Result<LessSafeKey, PhrError> {
    let iterations = NonZeroU32::new(iterations).ok_or_else(|| PhrError::crypto("zero KDF iterations"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, passphrase.as_bytes(), key.as_mut());
    let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| PhrError::crypto("bad derived key"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals `account_key` under `passphrase` for `account_id`.
pub(crate) fn seal_backup(
    account_key: &AccountKey,
    account_id: &str,
    passphrase: &str,
    iterations: u32,
) -> Result<KeyBackupRequest, PhrError> {
    let rng = SystemRandom::new();
    let mut salt = vec![0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut salt).map_err(|_| PhrError::crypto("system RNG failed"))?;
    rng.fill(&mut nonce).map_err(|_| PhrError::crypto("system RNG failed"))?;
    let key = derive(passphrase, &salt, iterations)?;
    let mut in_out = account_key.expose_secret().to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(backup_aad(account_id)), &mut in_out)
        .map_err(|_| PhrError::crypto("sealing the key backup failed"))?;
    let mut sealed_key = nonce.to_vec();
    sealed_key.extend_from_slice(&in_out);
    Ok(KeyBackupRequest { kdf: KEY_BACKUP_KDF.into(), iterations, salt, sealed_key })
}

/// Opens a backup; a wrong passphrase (or another account's backup) is an
/// [`PhrError::Auth`] error.
pub(crate) fn open_backup(
    backup: &KeyBackupResponse,
    account_id: &str,
    passphrase: &str,
) -> Result<AccountKey, PhrError> {
    if backup.kdf != KEY_BACKUP_KDF || backup.iterations < KEY_BACKUP_MIN_ITERATIONS {
        return Err(PhrError::crypto(format!("unsupported key backup ({} × {})", backup.kdf, backup.iterations)));
    }
    if backup.sealed_key.len() < NONCE_LEN + 16 {
        return Err(PhrError::crypto("the key backup is truncated"));
    }
    let (nonce, sealed) = backup.sealed_key.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| PhrError::crypto("bad backup nonce"))?;
    let key = derive(passphrase, &backup.salt, backup.iterations)?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let plain = key.open_in_place(nonce, Aad::from(backup_aad(account_id)), &mut in_out).map_err(|_| {
        PhrError::Auth { reason: "wrong passphrase: the account key backup did not open with it".into() }
    })?;
    Ok(AccountKey::from_bytes(plain)?)
}

#[uniffi::export]
impl PhrClient {
    /// Seals the account key under `passphrase` (at least 10 characters;
    /// PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-GCM) and stores the
    /// backup on the server, replacing an earlier one. The passphrase never
    /// leaves the device. Takes about a second on a phone.
    pub fn backup_account_key(&self, passphrase: String) -> Result<(), PhrError> {
        check_passphrase(&passphrase)?;
        let mut inner = self.lock();
        let s = inner.session()?;
        let backup = seal_backup(&s.account_key, &s.account_id, &passphrase, BACKUP_ITERATIONS)?;
        let body = serde_json::to_vec(&backup).map_err(PhrError::storage)?;
        inner.authed::<()>(self.transport.as_ref(), "PUT", "/accounts/v1/key-backup", Some(body))
    }

    /// On a new phone with no device of the family left: fetches the account's
    /// key backup from `server_url`, opens it with `passphrase` (a wrong one is
    /// [`PhrError::Auth`]), proves to the server that this phone holds the
    /// account key, and enrols it as a new device named `device_name`. Call
    /// [`sync`](Self::sync) afterwards to pull the family's records.
    pub fn restore_account(
        &self,
        server_url: String,
        account_id: String,
        passphrase: String,
        device_name: String,
    ) -> Result<AccountSummary, PhrError> {
        let mut inner = self.lock();
        if inner.session.is_some() {
            return Err(PhrError::Conflict { reason: "this device already belongs to an account".into() });
        }
        let account_id = uuid::Uuid::parse_str(account_id.trim())
            .map_err(|_| PhrError::invalid("account_id", "not a UUID"))?
            .to_string();
        if passphrase.is_empty() {
            return Err(PhrError::invalid("passphrase", "is empty"));
        }
        let url = server_url.trim_end_matches('/').to_owned();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(PhrError::invalid("server_url", "must be an http(s) URL"));
        }
        let who = serde_json::to_vec(&RecoveryRequest { account_id: account_id.clone() }).map_err(PhrError::storage)?;
        let backup: KeyBackupResponse = call_json(
            self.transport.as_ref(),
            "POST",
            format!("{url}/accounts/v1/recovery/key-backup"),
            None,
            Some(who.clone()),
        )
        .map_err(|e| match e {
            PhrError::NotFound { .. } => {
                PhrError::NotFound { what: "a key backup for this account on this server".into() }
            }
            other => other,
        })?;
        let account_key = open_backup(&backup, &account_id, &passphrase)?;
        let (private, expected_public) = account_key.hpke_key_pair();
        let acc = account_id.clone();
        self.enroll(
            &mut inner,
            &server_url,
            account_key,
            |transport, device| {
                let challenge: RecoveryChallengeResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1/recovery/challenge"), None, Some(who))?;
                let info = recovery_challenge_info(&acc, &challenge.challenge_id);
                let nonce = hpke_open(&private, &info, &[], &challenge.sealed_nonce).map_err(|_| PhrError::Crypto {
                    reason: "the recovery challenge does not open with this account key".into(),
                })?;
                let req = RecoveryEnrolRequest {
                    account_id: acc.clone(),
                    challenge_id: challenge.challenge_id,
                    nonce: nonce.to_vec(),
                    device,
                };
                let body = serde_json::to_vec(&req).map_err(PhrError::storage)?;
                let enrolled: JoinResponse =
                    call_json(transport, "POST", format!("{url}/accounts/v1/recovery/enrol"), None, Some(body))?;
                Ok((acc.clone(), enrolled.device_id))
            },
            &device_name,
        )?;
        let info: AccountInfo = inner.authed(self.transport.as_ref(), "GET", "/accounts/v1", None)?;
        if info.account_public_key != expected_public.as_bytes() {
            inner.forget_session()?;
            return Err(PhrError::Crypto { reason: "the restored key does not match the account".into() });
        }
        account_summary(&inner)
    }
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
        assert!(matches!(&wrong, PhrError::Auth { reason } if reason.contains("wrong passphrase")), "{wrong:?}");
        assert!(matches!(open_backup(&sealed, "acc-2", "correct horse battery"), Err(PhrError::Auth { .. })));
    }

    #[test]
    fn weak_kdf_parameters_and_truncated_backups_are_refused_without_deriving() {
        let mut b = response(seal_backup(&AccountKey::generate(), "a", "long enough pass", BACKUP_ITERATIONS).unwrap());
        b.iterations = 1000;
        assert!(matches!(open_backup(&b, "a", "long enough pass"), Err(PhrError::Crypto { .. })));
        b.iterations = BACKUP_ITERATIONS;
        b.sealed_key.truncate(20);
        assert!(matches!(open_backup(&b, "a", "long enough pass"), Err(PhrError::Crypto { .. })));
    }

    #[test]
    fn passphrases_under_ten_characters_are_validation_errors() {
        assert!(matches!(check_passphrase("short pass"), Ok(())));
        assert!(matches!(
            check_passphrase("123456789"),
            Err(PhrError::Validation { field, .. }) if field == "passphrase"
        ));
    }
}
