//! Record crypto: per-record envelopes, key wrapping and HPKE.
//!
//! The record encryption scheme (`docs/architecture.md`):
//!
//! * Every record body is sealed with its own random 256-bit [`DataKey`] (DEK)
//!   by [`seal_record`]: AES-256-GCM (ring), a fresh random 96-bit nonce per
//!   seal, and associated data ([`RecordAad`]) binding account id, record id and
//!   record version, so a ciphertext cannot be moved to another record or
//!   account, or replayed as another version.
//! * The DEK is wrapped ([`wrap_data_key`]) under the family's shared
//!   [`AccountKey`], and, for every consent grant whose scope covers the record,
//!   under that grant's [`GrantKey`] (AES-256-GCM again, associated data binding
//!   purpose, account, grant and record).
//! * Grant keys travel to the server's view key with HPKE (RFC 9180):
//!   [`wrap_grant_key_to`]. Data written by a clinic is sealed by the server
//!   with a new DEK, which it wraps to the account's HPKE public key with
//!   [`wrap_data_key_to`]. The account's HPKE key pair is derived from the
//!   account key ([`AccountKey::hpke_key_pair`]), so devices share one secret.
//!
//! # Wire formats
//!
//! Every envelope starts with a one-byte format version, so the scheme can
//! evolve; each kind of envelope has its own version byte, so one kind is never
//! mistaken for another (it is rejected as [`CryptoError::UnsupportedVersion`]).
//!
//! | envelope | layout | size |
//! |---|---|---|
//! | record ([`seal_record`]) | `0x01` ‖ nonce (12) ‖ ciphertext ‖ tag (16) | plaintext + 29 |
//! | wrapped DEK ([`wrap_data_key`]) | `0x11` ‖ nonce (12) ‖ encrypted key (32) ‖ tag (16) | 61 |
//! | HPKE ([`hpke_seal`]) | `0x21` ‖ enc (32) ‖ ciphertext ‖ tag (16) | plaintext + 49 |
//!
//! Associated data (for the AES-GCM envelopes) and HPKE `info` strings are
//! encoded unambiguously: the envelope's version byte, a length-prefixed
//! domain label naming the purpose, then the fields of that purpose in a fixed
//! order, each variable-length field (the account id) prefixed with its length
//! as a big-endian `u64`, each fixed-size field (UUIDs: 16 bytes, versions:
//! big-endian `u64`) written as is. Two different contexts therefore never
//! encode to the same bytes.
//!
//! # Failure
//!
//! Opening or unwrapping never panics, whatever the input: it returns a
//! [`CryptoError`], and every authentication failure is the one opaque
//! [`CryptoError::Authentication`]. Key types are zeroized on drop and print
//! nothing secret in `Debug`.
//!
//! The only panics are on conditions no input can cause: the operating
//! system's random number generator failing (ring's `SystemRandom`), or a
//! single record larger than AES-GCM's limit of 64 GiB.
//!
//! ```
//! use phr_core::crypto::{open_record, seal_new_record, unwrap_data_key, wrap_data_key,
//!     AccountKey, AccountWrapContext, RecordAad};
//! use uuid::Uuid;
//!
//! let account_key = AccountKey::generate();
//! let record_id = Uuid::now_v7();
//! let aad = RecordAad { account_id: "acct-1", record_id, version: 1 };
//!
//! let (dek, envelope) = seal_new_record(&aad, b"{\"weight_kg\": 62.5}");
//! let ctx = AccountWrapContext { account_id: "acct-1", record_id };
//! let wrapped = wrap_data_key(&account_key, &dek, &ctx);
//!
//! // Later, on another device of the family:
//! let dek = unwrap_data_key(&account_key, &wrapped, &ctx).unwrap();
//! assert_eq!(open_record(&dek, &aad, &envelope).unwrap(), b"{\"weight_kg\": 62.5}");
//! ```

mod envelope;
mod error;
mod hpke;
mod keys;
pub mod shl;
mod wrap;

pub use self::envelope::{open_record, seal_new_record, seal_record, RecordAad};
pub use self::error::CryptoError;
pub use self::hpke::{
    hpke_open, hpke_seal, unwrap_data_key_from, unwrap_grant_key, wrap_data_key_to, wrap_grant_key_to,
};
pub use self::keys::{AccountKey, DataKey, GrantKey, HpkePrivateKey, HpkePublicKey, KEY_LEN};
pub use self::wrap::{unwrap_data_key, wrap_data_key, AccountWrapContext, GrantWrapContext, WrappingKey};

use ring::aead::{self, Aad, LessSafeKey, Nonce, Tag, UnboundKey, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

/// Length of the AES-GCM authentication tag.
const TAG_LEN: usize = 16;

/// Fills `out` from the operating system's CSPRNG (ring's `SystemRandom`).
///
/// # Panics
///
/// If the operating system cannot provide randomness. Carrying on without it
/// would mean repeated nonces or predictable keys, so there is nothing safe to
/// fall back to; on the platforms we ship (Linux, Android, iOS) this does not
/// happen once the system has booted.
pub(crate) fn fill_random(out: &mut [u8]) {
    SystemRandom::new().fill(out).expect("the operating system's random number generator failed");
}

/// Builds associated data / HPKE info strings in the unambiguous encoding
/// described in the [module documentation](self).
pub(crate) struct ContextEncoder(Vec<u8>);

impl ContextEncoder {
    /// Starts with the envelope's version byte and the purpose's domain label.
    pub(crate) fn new(version: u8, label: &'static [u8]) -> Self {
        let mut out = Vec::with_capacity(96);
        out.push(version);
        Self(out).bytes(label)
    }

    /// A variable-length field: its length (big-endian `u64`), then its bytes.
    pub(crate) fn bytes(mut self, field: &[u8]) -> Self {
        // usize is at most 64 bits on every supported target, so this is lossless.
        self.0.extend_from_slice(&(field.len() as u64).to_be_bytes());
        self.0.extend_from_slice(field);
        self
    }

    /// A UUID: always 16 bytes, written as is.
    pub(crate) fn uuid(mut self, id: uuid::Uuid) -> Self {
        self.0.extend_from_slice(id.as_bytes());
        self
    }

    /// A `u64`: always 8 bytes, big-endian.
    pub(crate) fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

fn aes_256_gcm_key(key: &[u8; KEY_LEN]) -> LessSafeKey {
    // AES_256_GCM takes exactly KEY_LEN bytes, which the type guarantees.
    let unbound = UnboundKey::new(&aead::AES_256_GCM, key).expect("AES-256 key is 32 bytes");
    LessSafeKey::new(unbound)
}

/// `version ‖ nonce ‖ AES-256-GCM(key, nonce, aad, plaintext) ‖ tag`, with a
/// fresh random nonce. `aad` is expected to start with `version` too.
///
/// # Panics
///
/// If the OS RNG fails (see [`fill_random`]) or `plaintext` exceeds AES-GCM's
/// limit (about 64 GiB).
pub(crate) fn aes_gcm_seal(version: u8, key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let header_len = 1 + NONCE_LEN;
    let mut out = Vec::with_capacity(header_len + plaintext.len() + TAG_LEN);
    out.push(version);
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);

    let key = aes_256_gcm_key(key);
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out[header_len..])
        .expect("plaintext within AES-GCM's length limit");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Opens an envelope made by [`aes_gcm_seal`]. Checks the version byte, then
/// the layout (and, if given, that the plaintext has exactly
/// `exact_plaintext_len` bytes) before any decryption happens.
pub(crate) fn aes_gcm_open(
    version: u8,
    key: &[u8; KEY_LEN],
    aad: &[u8],
    envelope: &[u8],
    exact_plaintext_len: Option<usize>,
) -> Result<Vec<u8>, CryptoError> {
    let (&found, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if found != version {
        return Err(CryptoError::UnsupportedVersion(found));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    if exact_plaintext_len.is_some_and(|len| len != ciphertext.len()) {
        return Err(CryptoError::Malformed);
    }
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::Malformed)?;

    let mut buf = ciphertext.to_vec();
    let key = aes_256_gcm_key(key);
    match key.open_in_place_separate_tag(nonce, Aad::from(aad), tag, &mut buf, 0..) {
        Ok(_) => Ok(buf),
        Err(_) => {
            buf.zeroize();
            Err(CryptoError::Authentication)
        }
    }
}

/// Test helpers shared by the submodules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::CryptoError;

    /// Asserts that flipping each single bit of `envelope` makes `open` fail.
    pub(crate) fn assert_every_bit_flip_rejected<T>(envelope: &[u8], open: impl Fn(&[u8]) -> Result<T, CryptoError>) {
        let mut tampered = envelope.to_vec();
        for byte in 0..envelope.len() {
            for bit in 0..8 {
                tampered[byte] ^= 1 << bit;
                assert!(open(&tampered).is_err(), "flipping bit {bit} of byte {byte} was not detected");
                tampered[byte] ^= 1 << bit;
            }
        }
        assert!(open(&tampered).is_ok(), "the untampered envelope must still open");
    }

    /// Asserts that every proper prefix of `envelope` (lengths 0..len) fails to
    /// open, and that none of them panics.
    pub(crate) fn assert_every_truncation_rejected<T>(envelope: &[u8], open: impl Fn(&[u8]) -> Result<T, CryptoError>) {
        for len in 0..envelope.len() {
            assert!(open(&envelope[..len]).is_err(), "truncation to {len} bytes was accepted");
        }
        assert!(open(envelope).is_ok());
    }
}
