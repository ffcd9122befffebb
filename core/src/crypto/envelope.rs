//! Record envelopes: a record body sealed under its own data key.

use uuid::Uuid;

use super::{aes_gcm_open, aes_gcm_seal, ContextEncoder, CryptoError, DataKey};

/// Format version byte of record envelopes (AES-256-GCM, 96-bit random nonce).
pub(crate) const RECORD_ENVELOPE_V1: u8 = 0x01;
/// Domain label of record associated data.
const RECORD_AAD_LABEL: &[u8] = b"phr-core/record/v1";

/// What a record envelope is bound to: the account, the record and the
/// record's version.
///
/// It is the associated data of the AES-256-GCM seal, so an envelope opens
/// only with the very same account id, record id and version: a ciphertext
/// cannot be moved to another record or account, nor replayed as another
/// version of the same record.
///
/// Encoding (see the [module documentation](super)): `0x01 ‖ len ‖
/// "phr-core/record/v1" ‖ len ‖ account_id ‖ record_id (16) ‖ version (u64 BE)`,
/// every `len` a big-endian `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordAad<'a> {
    /// The account (family) the record belongs to.
    pub account_id: &'a str,
    /// The record's id (a UUIDv7 made on the device).
    pub record_id: Uuid,
    /// The record version this envelope holds.
    pub version: u64,
}

impl RecordAad<'_> {
    fn encode(&self) -> Vec<u8> {
        ContextEncoder::new(RECORD_ENVELOPE_V1, RECORD_AAD_LABEL)
            .bytes(self.account_id.as_bytes())
            .uuid(self.record_id)
            .u64(self.version)
            .finish()
    }
}

/// Seals a record body under `dek`.
///
/// AES-256-GCM (ring) with a fresh random 96-bit nonce per call and `aad`
/// as associated data. Returns the envelope
/// `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, 29 bytes longer than
/// `plaintext`. Sealing the same plaintext twice gives different envelopes.
///
/// Random nonces are safe here because a DEK seals only its own record's
/// versions: far below the 2^32 messages per key that random 96-bit nonces
/// allow.
///
/// # Panics
///
/// Only if the OS random number generator fails, or `plaintext` exceeds
/// AES-GCM's limit of about 64 GiB.
#[must_use]
pub fn seal_record(dek: &DataKey, aad: &RecordAad<'_>, plaintext: &[u8]) -> Vec<u8> {
    aes_gcm_seal(RECORD_ENVELOPE_V1, dek.secret(), &aad.encode(), plaintext)
}

/// Generates a fresh [`DataKey`] and seals `plaintext` under it
/// ([`seal_record`]). Wrap the key before storing it anywhere
/// ([`wrap_data_key`](super::wrap_data_key)).
///
/// # Panics
///
/// As [`seal_record`].
#[must_use]
pub fn seal_new_record(aad: &RecordAad<'_>, plaintext: &[u8]) -> (DataKey, Vec<u8>) {
    let dek = DataKey::generate();
    let envelope = seal_record(&dek, aad, plaintext);
    (dek, envelope)
}

/// Opens an envelope made by [`seal_record`], checking that it was sealed
/// under `dek` for exactly this account, record and version.
///
/// # Errors
///
/// * [`CryptoError::Malformed`]: empty, or shorter than version + nonce + tag.
/// * [`CryptoError::UnsupportedVersion`]: the first byte is not `0x01`.
/// * [`CryptoError::Authentication`]: wrong key, wrong `aad`, or any byte
///   changed. Nothing of the plaintext is released.
pub fn open_record(dek: &DataKey, aad: &RecordAad<'_>, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    aes_gcm_open(RECORD_ENVELOPE_V1, dek.secret(), &aad.encode(), envelope, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_support::{assert_every_bit_flip_rejected, assert_every_truncation_rejected};
    use proptest::prelude::*;

    const ACCOUNT: &str = "acct-7f3a";

    fn record_id() -> Uuid {
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
    }

    fn aad() -> RecordAad<'static> {
        RecordAad { account_id: ACCOUNT, record_id: record_id(), version: 3 }
    }

    #[test]
    fn seal_open_round_trip() {
        let dek = DataKey::generate();
        for plaintext in [&b""[..], b"x", b"{\"systolic\":118,\"diastolic\":76}", &[0xA5; 4096]] {
            let envelope = seal_record(&dek, &aad(), plaintext);
            assert_eq!(open_record(&dek, &aad(), &envelope).unwrap(), plaintext);
        }
    }

    #[test]
    fn seal_new_record_round_trip() {
        let (dek, envelope) = seal_new_record(&aad(), b"hepatitis B dose 1");
        assert_eq!(open_record(&dek, &aad(), &envelope).unwrap(), b"hepatitis B dose 1");
    }

    #[test]
    fn envelope_layout_is_version_nonce_ciphertext_tag() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"12345");
        assert_eq!(envelope.len(), 1 + 12 + 5 + 16);
        assert_eq!(envelope[0], 0x01);
    }

    #[test]
    fn two_seals_of_same_plaintext_differ() {
        let dek = DataKey::generate();
        let a = seal_record(&dek, &aad(), b"same body");
        let b = seal_record(&dek, &aad(), b"same body");
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13], "nonces must differ");
    }

    #[test]
    fn every_flipped_bit_of_record_envelope_is_rejected() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"Hb 11.2");
        assert_every_bit_flip_rejected(&envelope, |e| open_record(&dek, &aad(), e));
    }

    #[test]
    fn every_truncation_of_record_envelope_is_rejected() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"Hb 11.2");
        assert_every_truncation_rejected(&envelope, |e| open_record(&dek, &aad(), e));
        assert_eq!(open_record(&dek, &aad(), &[]), Err(CryptoError::Malformed));
        assert_eq!(open_record(&dek, &aad(), &envelope[..28]), Err(CryptoError::Malformed));
        assert_eq!(open_record(&dek, &aad(), &envelope[..29]), Err(CryptoError::Authentication));
    }

    #[test]
    fn appended_bytes_are_rejected() {
        let dek = DataKey::generate();
        let mut envelope = seal_record(&dek, &aad(), b"Hb 11.2");
        envelope.push(0);
        assert_eq!(open_record(&dek, &aad(), &envelope), Err(CryptoError::Authentication));
    }

    #[test]
    fn envelope_from_other_account_is_rejected() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"body");
        let other = RecordAad { account_id: "acct-7f3b", ..aad() };
        assert_eq!(open_record(&dek, &other, &envelope), Err(CryptoError::Authentication));
        let prefix = RecordAad { account_id: "acct-7f3", ..aad() };
        assert_eq!(open_record(&dek, &prefix, &envelope), Err(CryptoError::Authentication));
    }

    #[test]
    fn envelope_moved_to_other_record_is_rejected() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"body");
        let other = RecordAad { record_id: Uuid::from_u128(record_id().as_u128() + 1), ..aad() };
        assert_eq!(open_record(&dek, &other, &envelope), Err(CryptoError::Authentication));
    }

    #[test]
    fn envelope_replayed_as_other_version_is_rejected() {
        let dek = DataKey::generate();
        let envelope = seal_record(&dek, &aad(), b"body");
        for version in [0, 2, 4, u64::MAX] {
            let other = RecordAad { version, ..aad() };
            assert_eq!(open_record(&dek, &other, &envelope), Err(CryptoError::Authentication));
        }
    }

    #[test]
    fn wrong_data_key_is_rejected() {
        let envelope = seal_record(&DataKey::generate(), &aad(), b"body");
        let other = DataKey::generate();
        assert_eq!(open_record(&other, &aad(), &envelope), Err(CryptoError::Authentication));
    }

    #[test]
    fn unknown_version_byte_is_unsupported_version() {
        let dek = DataKey::generate();
        let mut envelope = seal_record(&dek, &aad(), b"body");
        for version in [0x00, 0x02, 0x11, 0x21, 0xFF] {
            envelope[0] = version;
            assert_eq!(open_record(&dek, &aad(), &envelope), Err(CryptoError::UnsupportedVersion(version)));
        }
        assert_eq!(open_record(&dek, &aad(), &[0x7E]), Err(CryptoError::UnsupportedVersion(0x7E)));
    }

    #[test]
    fn aad_encoding_is_unambiguous() {
        let base = aad();
        let variants = [
            RecordAad { account_id: "", ..base },
            RecordAad { account_id: "a", ..base },
            RecordAad { account_id: "acct-7f3a\0", ..base },
            RecordAad { version: 4, ..base },
            RecordAad { record_id: Uuid::nil(), ..base },
        ];
        let encoded = base.encode();
        for v in variants {
            assert_ne!(v.encode(), encoded, "{v:?}");
        }
        // The account id is length-prefixed: shifting bytes between the account
        // id and the following fields cannot produce the same encoding.
        let a = RecordAad { account_id: "ab", record_id: Uuid::nil(), version: 0 }.encode();
        let b = RecordAad { account_id: "a", record_id: Uuid::nil(), version: 0 }.encode();
        assert_ne!(a.len(), b.len());
        assert_eq!(&encoded[..1], &[RECORD_ENVELOPE_V1]);
    }

    proptest! {
        #[test]
        fn open_record_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let dek = DataKey::from_bytes(&[3u8; 32]).unwrap();
            prop_assert!(open_record(&dek, &aad(), &bytes).is_err());
        }

        #[test]
        fn open_record_never_panics_on_arbitrary_bytes_with_valid_version(tail in proptest::collection::vec(any::<u8>(), 0..128)) {
            let dek = DataKey::from_bytes(&[3u8; 32]).unwrap();
            let mut bytes = vec![RECORD_ENVELOPE_V1];
            bytes.extend_from_slice(&tail);
            prop_assert!(open_record(&dek, &aad(), &bytes).is_err());
        }

        #[test]
        fn seal_open_round_trips_arbitrary_records(
            plaintext in proptest::collection::vec(any::<u8>(), 0..512),
            account in ".{0,40}",
            version in any::<u64>(),
            id in any::<u128>(),
        ) {
            let aad = RecordAad { account_id: &account, record_id: Uuid::from_u128(id), version };
            let (dek, envelope) = seal_new_record(&aad, &plaintext);
            prop_assert_eq!(envelope.len(), plaintext.len() + 29);
            prop_assert_eq!(open_record(&dek, &aad, &envelope).unwrap(), plaintext);
        }
    }
}
