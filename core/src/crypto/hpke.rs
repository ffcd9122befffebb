//! HPKE (RFC 9180) to X25519 public keys, and the typed key transports built
//! on it.
//!
//! Suite: base mode, DHKEM(X25519, HKDF-SHA256) (KEM 0x0020), HKDF-SHA256
//! (KDF 0x0001), ChaCha20Poly1305 (AEAD 0x0003), the suite of RFC 9180
//! Appendix A.2, whose test vectors the tests check. One single-shot message
//! per encapsulation.

use std::convert::Infallible;

use hpke::rand_core::{CryptoRng, TryCryptoRng, TryRng};
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{fill_random, ContextEncoder, CryptoError, DataKey, GrantKey, HpkePrivateKey, HpkePublicKey, KEY_LEN};

type Aead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;
type Kem = hpke::kem::X25519HkdfSha256;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Format version byte of HPKE envelopes (the suite above, base mode).
pub(crate) const HPKE_ENVELOPE_V1: u8 = 0x21;
/// Length of the encapsulated key (an X25519 public key).
const ENC_LEN: usize = 32;
/// Length of the ChaCha20Poly1305 tag.
const TAG_LEN: usize = 16;
/// HPKE `info` label of a grant key sent to the server's view key.
const GRANT_KEY_INFO_LABEL: &[u8] = b"phr-core/hpke/grant-key/v1";
/// HPKE `info` label of a data key sent to the account's public key.
const DATA_KEY_INFO_LABEL: &[u8] = b"phr-core/hpke/data-key/v1";

/// The operating system's CSPRNG (ring's `SystemRandom`) in the `rand_core`
/// 0.10 interface `hpke` asks for.
struct SystemRng;

impl TryRng for SystemRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        fill_random(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        fill_random(dst);
        Ok(())
    }
}

impl TryCryptoRng for SystemRng {}

/// Encrypts `secret` to `recipient` with HPKE (RFC 9180 `SealBase`).
///
/// `info` goes into the key schedule and `aad` is the AEAD's associated data;
/// both must be given again to [`hpke_open`]. A fresh ephemeral X25519 key is
/// generated per call (from ring's `SystemRandom`), so two seals differ.
/// Returns `0x21 ‖ enc (32) ‖ ciphertext ‖ tag (16)`, 49 bytes longer than
/// `secret`.
///
/// Meant for keys and other small secrets: each call costs an X25519 key
/// generation and exchange (see STACK-NOTES: wrap grant keys, not records).
///
/// # Errors
///
/// [`CryptoError::InvalidKey`] if `recipient` is a low-order point (the
/// Diffie-Hellman result would be all zeros, RFC 9180 §7.1.4).
///
/// # Panics
///
/// Only if the OS random number generator fails.
pub fn hpke_seal(recipient: &HpkePublicKey, info: &[u8], aad: &[u8], secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
    hpke_seal_with_rng(recipient, info, aad, secret, &mut SystemRng)
}

/// [`hpke_seal`] with the ephemeral key drawn from `rng` (the known-answer
/// tests use a fixed ikmE).
fn hpke_seal_with_rng(
    recipient: &HpkePublicKey,
    info: &[u8],
    aad: &[u8],
    secret: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, CryptoError> {
    let pk = recipient.to_kem()?;
    let (enc, mut ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&OpModeS::Base, &pk, info, rng)
        .map_err(|_| CryptoError::InvalidKey)?;
    // Sealing fails only beyond ChaCha20Poly1305's message or length limits,
    // which a single message of a size that fits in memory does not reach.
    let ciphertext = ctx.seal(secret, aad).map_err(|_| CryptoError::Malformed)?;
    let mut out = Vec::with_capacity(1 + ENC_LEN + ciphertext.len());
    out.push(HPKE_ENVELOPE_V1);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts an envelope made by [`hpke_seal`] (RFC 9180 `OpenBase`) with the
/// recipient's private key and the same `info` and `aad`.
///
/// # Errors
///
/// * [`CryptoError::Malformed`]: empty, or shorter than version + enc + tag.
/// * [`CryptoError::UnsupportedVersion`]: the first byte is not `0x21`.
/// * [`CryptoError::Authentication`]: not for this key, other `info` or
///   `aad`, or any byte changed (including an invalid `enc`).
pub fn hpke_open(
    recipient: &HpkePrivateKey,
    info: &[u8],
    aad: &[u8],
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if version != HPKE_ENVELOPE_V1 {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if rest.len() < ENC_LEN + TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    let (enc, ciphertext) = rest.split_at(ENC_LEN);
    let enc = EncappedKey::from_bytes(enc).map_err(|_| CryptoError::Malformed)?;
    let sk = recipient.to_kem()?;
    let mut ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(&OpModeR::Base, &sk, &enc, info)
        .map_err(|_| CryptoError::Authentication)?;
    ctx.open(ciphertext, aad).map(Zeroizing::new).map_err(|_| CryptoError::Authentication)
}

fn grant_key_info(account_id: &str, grant_id: Uuid) -> Vec<u8> {
    ContextEncoder::new(HPKE_ENVELOPE_V1, GRANT_KEY_INFO_LABEL).bytes(account_id.as_bytes()).uuid(grant_id).finish()
}

fn data_key_info(account_id: &str, record_id: Uuid) -> Vec<u8> {
    ContextEncoder::new(HPKE_ENVELOPE_V1, DATA_KEY_INFO_LABEL).bytes(account_id.as_bytes()).uuid(record_id).finish()
}

/// Encrypts a consent grant's key to the server's view key, bound to the
/// account and the grant (a device does this when a parent grants access).
///
/// [`hpke_seal`] with `info = 0x21 ‖ len ‖ "phr-core/hpke/grant-key/v1" ‖ len
/// ‖ account_id ‖ grant_id (16)` and empty `aad`: the envelope opens only as
/// the key of this grant of this account, and never as a data key.
///
/// # Errors
///
/// As [`hpke_seal`].
pub fn wrap_grant_key_to(
    recipient: &HpkePublicKey,
    grant_key: &GrantKey,
    account_id: &str,
    grant_id: Uuid,
) -> Result<Vec<u8>, CryptoError> {
    hpke_seal(recipient, &grant_key_info(account_id, grant_id), &[], grant_key.secret())
}

/// Decrypts a grant key made by [`wrap_grant_key_to`] for the same account
/// and grant.
///
/// # Errors
///
/// As [`hpke_open`]; [`CryptoError::Malformed`] if the decrypted key is not
/// 32 bytes.
pub fn unwrap_grant_key(
    recipient: &HpkePrivateKey,
    wrapped: &[u8],
    account_id: &str,
    grant_id: Uuid,
) -> Result<GrantKey, CryptoError> {
    let key = hpke_open(recipient, &grant_key_info(account_id, grant_id), &[], wrapped)?;
    if key.len() != KEY_LEN {
        return Err(CryptoError::Malformed);
    }
    GrantKey::from_bytes(&key)
}

/// Encrypts a record's data key to an HPKE public key (the account's, see
/// [`AccountKey::hpke_key_pair`](super::AccountKey::hpke_key_pair)), bound to
/// the account and the record. The server uses it for data written by a
/// clinic, which it seals with a new DEK and then forgets.
///
/// [`hpke_seal`] with `info = 0x21 ‖ len ‖ "phr-core/hpke/data-key/v1" ‖ len
/// ‖ account_id ‖ record_id (16)` and empty `aad`.
///
/// # Errors
///
/// As [`hpke_seal`].
pub fn wrap_data_key_to(
    recipient: &HpkePublicKey,
    dek: &DataKey,
    account_id: &str,
    record_id: Uuid,
) -> Result<Vec<u8>, CryptoError> {
    hpke_seal(recipient, &data_key_info(account_id, record_id), &[], dek.secret())
}

/// Decrypts a data key made by [`wrap_data_key_to`] for the same account and
/// record.
///
/// # Errors
///
/// As [`hpke_open`]; [`CryptoError::Malformed`] if the decrypted key is not
/// 32 bytes.
pub fn unwrap_data_key_from(
    recipient: &HpkePrivateKey,
    wrapped: &[u8],
    account_id: &str,
    record_id: Uuid,
) -> Result<DataKey, CryptoError> {
    let key = hpke_open(recipient, &data_key_info(account_id, record_id), &[], wrapped)?;
    if key.len() != KEY_LEN {
        return Err(CryptoError::Malformed);
    }
    DataKey::from_bytes(&key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_support::{assert_every_bit_flip_rejected, assert_every_truncation_rejected};
    use crate::crypto::AccountKey;
    use proptest::prelude::*;

    /// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// ChaCha20Poly1305, Base Setup Information, and its first encryption
    /// (A.2.1.1, sequence number 0).
    mod rfc9180_a2_1 {
        pub const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
        pub const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
        pub const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
        pub const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
        pub const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
        pub const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
        pub const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
        pub const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
        pub const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
        pub const AAD_0: &str = "436f756e742d30";
        pub const CT_0: &str =
            concat!("1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db", "21993c62ce81883d2dd1b51a28");
    }

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// An "RNG" that yields exactly the given bytes once: hpke's
    /// `gen_keypair_with_rng` fills one Nsk-sized ikm from the RNG and calls
    /// `DeriveKeyPair(ikm)`, so feeding it ikmE reproduces the RFC's skE.
    struct FixedIkm {
        bytes: Vec<u8>,
        used: usize,
    }

    impl TryRng for FixedIkm {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            unreachable!("hpke only fills byte buffers")
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            unreachable!("hpke only fills byte buffers")
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            let end = self.used + dst.len();
            assert!(end <= self.bytes.len(), "hpke drew more randomness than the one ikm");
            dst.copy_from_slice(&self.bytes[self.used..end]);
            self.used = end;
            Ok(())
        }
    }

    impl TryCryptoRng for FixedIkm {}

    #[test]
    fn rfc9180_a2_1_vectors_have_expected_shape() {
        use rfc9180_a2_1::*;
        for key in [IKM_E, PK_EM, SK_EM, IKM_R, PK_RM, SK_RM, ENC] {
            assert_eq!(unhex(key).len(), 32, "{key}");
        }
        assert_eq!(unhex(INFO), b"Ode on a Grecian Urn");
        assert_eq!(unhex(PT), b"Beauty is truth, truth beauty");
        assert_eq!(unhex(AAD_0), b"Count-0");
        assert_eq!(unhex(CT_0).len(), unhex(PT).len() + 16);
        assert_eq!(ENC, PK_EM);
    }

    #[test]
    fn rfc9180_a2_1_derive_keypair_matches_rfc_keys() {
        use rfc9180_a2_1::*;
        let recipient = HpkePrivateKey::derive(&unhex(IKM_R));
        assert_eq!(recipient.public_key().as_bytes().as_slice(), unhex(PK_RM));
        let from_sk = HpkePrivateKey::from_bytes(&unhex(SK_RM)).unwrap();
        assert_eq!(from_sk.public_key().as_bytes().as_slice(), unhex(PK_RM));
        assert_eq!(from_sk.expose_secret(), recipient.expose_secret());

        let ephemeral = HpkePrivateKey::derive(&unhex(IKM_E));
        assert_eq!(ephemeral.public_key().as_bytes().as_slice(), unhex(PK_EM));
        let from_sk = HpkePrivateKey::from_bytes(&unhex(SK_EM)).unwrap();
        assert_eq!(from_sk.expose_secret(), ephemeral.expose_secret());
    }

    #[test]
    fn rfc9180_a2_1_receiver_opens_first_encryption() {
        use rfc9180_a2_1::*;
        let sk_r = HpkePrivateKey::from_bytes(&unhex(SK_RM)).unwrap();
        let mut envelope = vec![HPKE_ENVELOPE_V1];
        envelope.extend(unhex(ENC));
        envelope.extend(unhex(CT_0));
        let pt = hpke_open(&sk_r, &unhex(INFO), &unhex(AAD_0), &envelope).unwrap();
        assert_eq!(*pt, unhex(PT));
    }

    #[test]
    fn rfc9180_a2_1_sender_with_ikm_e_reproduces_enc_and_ciphertext() {
        use rfc9180_a2_1::*;
        let pk_r = HpkePublicKey::from_bytes(&unhex(PK_RM)).unwrap();
        let mut rng = FixedIkm { bytes: unhex(IKM_E), used: 0 };
        let envelope = hpke_seal_with_rng(&pk_r, &unhex(INFO), &unhex(AAD_0), &unhex(PT), &mut rng).unwrap();
        assert_eq!(rng.used, 32, "exactly one ikm must have been drawn");
        assert_eq!(envelope[0], HPKE_ENVELOPE_V1);
        assert_eq!(envelope[1..33], unhex(PK_EM));
        assert_eq!(envelope[33..], unhex(CT_0));
    }

    fn info() -> &'static [u8] {
        b"phr test info"
    }

    #[test]
    fn hpke_seal_open_round_trip() {
        let sk = HpkePrivateKey::generate();
        for secret in [&b""[..], &[7u8; 32], b"a somewhat longer secret than a key, 64 bytes long......"] {
            let envelope = hpke_seal(&sk.public_key(), info(), b"aad", secret).unwrap();
            assert_eq!(envelope.len(), secret.len() + 49);
            assert_eq!(*hpke_open(&sk, info(), b"aad", &envelope).unwrap(), secret);
        }
    }

    #[test]
    fn two_hpke_seals_of_same_secret_differ() {
        let pk = HpkePrivateKey::generate().public_key();
        let a = hpke_seal(&pk, info(), b"", &[1u8; 32]).unwrap();
        let b = hpke_seal(&pk, info(), b"", &[1u8; 32]).unwrap();
        assert_ne!(a[1..33], b[1..33], "fresh ephemeral key per seal");
        assert_ne!(a, b);
    }

    #[test]
    fn every_flipped_bit_of_hpke_envelope_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let envelope = hpke_seal(&sk.public_key(), info(), b"aad", &[9u8; 32]).unwrap();
        assert_every_bit_flip_rejected(&envelope, |e| hpke_open(&sk, info(), b"aad", e));
    }

    #[test]
    fn every_truncation_of_hpke_envelope_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let envelope = hpke_seal(&sk.public_key(), info(), b"aad", &[9u8; 32]).unwrap();
        assert_every_truncation_rejected(&envelope, |e| hpke_open(&sk, info(), b"aad", e));
        assert_eq!(hpke_open(&sk, info(), b"aad", &envelope[..48]).unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn hpke_wrong_info_aad_or_recipient_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let envelope = hpke_seal(&sk.public_key(), info(), b"aad", &[9u8; 32]).unwrap();
        assert_eq!(hpke_open(&sk, b"other info", b"aad", &envelope).unwrap_err(), CryptoError::Authentication);
        assert_eq!(hpke_open(&sk, info(), b"aaD", &envelope).unwrap_err(), CryptoError::Authentication);
        assert_eq!(
            hpke_open(&HpkePrivateKey::generate(), info(), b"aad", &envelope).unwrap_err(),
            CryptoError::Authentication
        );
    }

    #[test]
    fn hpke_unknown_version_byte_is_unsupported_version() {
        let sk = HpkePrivateKey::generate();
        let mut envelope = hpke_seal(&sk.public_key(), info(), b"", &[9u8; 32]).unwrap();
        for version in [0x00, 0x01, 0x11, 0x22, 0xFF] {
            envelope[0] = version;
            assert_eq!(hpke_open(&sk, info(), b"", &envelope).unwrap_err(), CryptoError::UnsupportedVersion(version));
        }
    }

    #[test]
    fn hpke_seal_to_low_order_public_key_is_invalid_key() {
        // The all-zero u-coordinate (and 1) are low-order points: X25519 gives
        // an all-zero shared secret, which RFC 9180 requires to be rejected.
        let mut one = [0u8; 32];
        one[0] = 1;
        for bytes in [[0u8; 32], one] {
            let pk = HpkePublicKey::from_bytes(&bytes).unwrap();
            assert_eq!(hpke_seal(&pk, info(), b"", b"secret").unwrap_err(), CryptoError::InvalidKey);
        }
    }

    #[test]
    fn hpke_envelope_with_low_order_enc_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let mut envelope = hpke_seal(&sk.public_key(), info(), b"", &[9u8; 32]).unwrap();
        envelope[1..33].fill(0);
        assert_eq!(hpke_open(&sk, info(), b"", &envelope).unwrap_err(), CryptoError::Authentication);
    }

    #[test]
    fn grant_key_transport_round_trip() {
        let server = HpkePrivateKey::generate();
        let grant = GrantKey::generate();
        let grant_id = Uuid::now_v7();
        let wrapped = wrap_grant_key_to(&server.public_key(), &grant, "acct-1", grant_id).unwrap();
        let back = unwrap_grant_key(&server, &wrapped, "acct-1", grant_id).unwrap();
        assert_eq!(back.secret(), grant.secret());
    }

    #[test]
    fn data_key_transport_to_account_public_key_round_trip() {
        let account = AccountKey::generate();
        let (_, account_pk) = account.hpke_key_pair();
        let dek = DataKey::generate();
        let record_id = Uuid::now_v7();
        // The server only has the public key...
        let wrapped = wrap_data_key_to(&account_pk, &dek, "acct-1", record_id).unwrap();
        // ...and any device of the family re-derives the private key.
        let (account_sk, _) = account.hpke_key_pair();
        let back = unwrap_data_key_from(&account_sk, &wrapped, "acct-1", record_id).unwrap();
        assert_eq!(back.secret(), dek.secret());
    }

    #[test]
    fn key_transport_for_other_context_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let pk = sk.public_key();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));

        let wrapped = wrap_grant_key_to(&pk, &GrantKey::generate(), "acct-1", a).unwrap();
        assert_eq!(unwrap_grant_key(&sk, &wrapped, "acct-2", a).unwrap_err(), CryptoError::Authentication);
        assert_eq!(unwrap_grant_key(&sk, &wrapped, "acct-1", b).unwrap_err(), CryptoError::Authentication);
        // A grant key is never accepted as a data key (different info label).
        assert_eq!(unwrap_data_key_from(&sk, &wrapped, "acct-1", a).unwrap_err(), CryptoError::Authentication);

        let wrapped = wrap_data_key_to(&pk, &DataKey::generate(), "acct-1", a).unwrap();
        assert_eq!(unwrap_data_key_from(&sk, &wrapped, "acct-2", a).unwrap_err(), CryptoError::Authentication);
        assert_eq!(unwrap_data_key_from(&sk, &wrapped, "acct-1", b).unwrap_err(), CryptoError::Authentication);
        assert_eq!(unwrap_grant_key(&sk, &wrapped, "acct-1", a).unwrap_err(), CryptoError::Authentication);
        assert_eq!(
            unwrap_data_key_from(&HpkePrivateKey::generate(), &wrapped, "acct-1", a).unwrap_err(),
            CryptoError::Authentication
        );
    }

    #[test]
    fn every_flipped_bit_and_truncation_of_wrapped_grant_key_is_rejected() {
        let sk = HpkePrivateKey::generate();
        let grant_id = Uuid::from_u128(77);
        let wrapped = wrap_grant_key_to(&sk.public_key(), &GrantKey::generate(), "acct-1", grant_id).unwrap();
        assert_eq!(wrapped.len(), 1 + 32 + 32 + 16);
        assert_every_bit_flip_rejected(&wrapped, |w| unwrap_grant_key(&sk, w, "acct-1", grant_id));
        assert_every_truncation_rejected(&wrapped, |w| unwrap_grant_key(&sk, w, "acct-1", grant_id));
    }

    #[test]
    fn hpke_authenticated_secret_of_wrong_length_is_not_a_key() {
        let sk = HpkePrivateKey::generate();
        let id = Uuid::from_u128(5);
        let envelope = hpke_seal(&sk.public_key(), &data_key_info("acct-1", id), &[], &[1u8; 31]).unwrap();
        assert_eq!(unwrap_data_key_from(&sk, &envelope, "acct-1", id).unwrap_err(), CryptoError::Malformed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn hpke_open_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            let sk = HpkePrivateKey::from_bytes(&[8u8; 32]).unwrap();
            prop_assert!(hpke_open(&sk, info(), b"", &bytes).is_err());
            prop_assert!(unwrap_grant_key(&sk, &bytes, "acct-1", Uuid::nil()).is_err());
            prop_assert!(unwrap_data_key_from(&sk, &bytes, "acct-1", Uuid::nil()).is_err());
        }

        #[test]
        fn hpke_open_never_panics_on_arbitrary_bytes_with_valid_version(tail in proptest::collection::vec(any::<u8>(), 0..160)) {
            let sk = HpkePrivateKey::from_bytes(&[8u8; 32]).unwrap();
            let mut bytes = vec![HPKE_ENVELOPE_V1];
            bytes.extend_from_slice(&tail);
            prop_assert!(hpke_open(&sk, info(), b"", &bytes).is_err());
        }

        #[test]
        fn hpke_seal_never_panics_on_arbitrary_public_keys(pk in proptest::array::uniform32(any::<u8>())) {
            let pk = HpkePublicKey::from_bytes(&pk).unwrap();
            let _ = hpke_seal(&pk, info(), b"", b"secret");
        }
    }
}
