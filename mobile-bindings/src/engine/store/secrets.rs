//! The device's own secrets at rest: the account key and the device's Ed25519
//! signing key (PKCS#8), sealed with AES-256-GCM under the 32-byte **device
//! storage key** the app passes to `PhrClient::open` (generated once and kept
//! in the iOS Keychain / Android Keystore). Layout: `0x41` ‖ nonce (12) ‖
//! ciphertext ‖ tag (16); associated data: the version byte and a domain label.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::engine::error::{Error, Result};

const FORMAT: u8 = 0x41;
const LABEL: &[u8] = b"phr-mobile/device-secrets/v1";

fn key(storage_key: &[u8]) -> Result<LessSafeKey> {
    let unbound =
        UnboundKey::new(&AES_256_GCM, storage_key).map_err(|_| Error::invalid("storage_key", "must be 32 bytes"))?;
    Ok(LessSafeKey::new(unbound))
}

fn aad() -> Vec<u8> {
    let mut a = vec![FORMAT];
    a.extend_from_slice(LABEL);
    a
}

/// Seals `plaintext` under the storage key.
pub fn seal(storage_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let key = key(storage_key)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| Error::crypto("no randomness"))?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad()), &mut buf)
        .map_err(|_| Error::crypto("cannot seal device secrets"))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
    out.push(FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens what [`seal`] made; a wrong storage key or tampered bytes give
/// [`Error::Crypto`].
pub fn open(storage_key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let key = key(storage_key)?;
    if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != FORMAT {
        return Err(Error::crypto("device secrets are malformed"));
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
        .map_err(|_| Error::crypto("device secrets are malformed"))?;
    let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad()), &mut buf)
        .map_err(|_| Error::crypto("the device storage key does not open this database"))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_open_only_with_the_same_storage_key() {
        let k = [7u8; 32];
        let sealed = seal(&k, b"secret").unwrap();
        assert_eq!(open(&k, &sealed).unwrap().as_slice(), b"secret");
        assert!(matches!(open(&[8u8; 32], &sealed), Err(Error::Crypto(_))));
        assert!(matches!(open(&k, &sealed[..10]), Err(Error::Crypto(_))));
        assert!(matches!(seal(&[1u8; 16], b"x"), Err(Error::InvalidInput { .. })));
    }
}
