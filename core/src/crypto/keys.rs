//! Key types: the symmetric account, data and grant keys, and X25519 HPKE keys.
//!
//! Secret key types hold their bytes in a fixed array that is zeroized on
//! drop, are neither `Clone` nor `Copy` (a copy is a second place to wipe),
//! never print their bytes in `Debug`, and give out their bytes only where the
//! product needs them (the account key for pairing and key backup, the HPKE
//! private key for the server's key directory).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, Serializable as _};
use ring::hkdf;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{fill_random, CryptoError};

/// Length in bytes of every key in this module (AES-256 keys, X25519 keys).
pub const KEY_LEN: usize = 32;

/// The X25519 private key type of the HPKE KEM in use.
pub(crate) type KemPrivateKey = <X25519HkdfSha256 as hpke::Kem>::PrivateKey;
/// The X25519 public key type of the HPKE KEM in use.
pub(crate) type KemPublicKey = <X25519HkdfSha256 as hpke::Kem>::PublicKey;

/// HKDF info for deriving the account's HPKE key pair from the account key.
const ACCOUNT_HPKE_INFO: &[u8] = b"phr account hpke v1";
/// HKDF salt for the same derivation (domain separation from any other use
/// of the account key).
const ACCOUNT_HPKE_SALT: &[u8] = b"phr-core/account-key/hpke-ikm";

macro_rules! symmetric_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; KEY_LEN]);

        impl $name {
            /// A new random key from the operating system's CSPRNG (ring's
            /// `SystemRandom`).
            ///
            /// # Panics
            ///
            /// Only if the operating system cannot provide randomness.
            #[must_use]
            pub fn generate() -> Self {
                let mut key = Self([0; KEY_LEN]);
                fill_random(&mut key.0);
                key
            }

            /// The key with these bytes (e.g. just unwrapped, or read back from
            /// secure storage). The caller should zeroize its copy.
            ///
            /// # Errors
            ///
            /// [`CryptoError::InvalidKey`] unless `bytes` is exactly
            /// [`KEY_LEN`] bytes long.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
                if bytes.len() != KEY_LEN {
                    return Err(CryptoError::InvalidKey);
                }
                let mut key = Self([0; KEY_LEN]);
                key.0.copy_from_slice(bytes);
                Ok(key)
            }

            /// The raw key bytes, for use inside this module only.
            pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

symmetric_key! {
    /// The 256-bit symmetric key a family's devices share (distributed by
    /// device pairing or a passphrase-protected key backup).
    ///
    /// It wraps every record's [`DataKey`] ([`wrap_data_key`](super::wrap_data_key))
    /// and determines the account's HPKE key pair ([`Self::hpke_key_pair`]).
    AccountKey
}

symmetric_key! {
    /// A record's own random 256-bit data encryption key (DEK): seals the
    /// record body with AES-256-GCM ([`seal_record`](super::seal_record)).
    /// It is stored only wrapped, under the [`AccountKey`], under
    /// [`GrantKey`]s, or HPKE-encrypted to the account's public key.
    DataKey
}

symmetric_key! {
    /// The 256-bit key of one consent grant. The DEKs of the records in the
    /// grant's scope are wrapped under it, and it is itself HPKE-encrypted to
    /// the server's view key ([`wrap_grant_key_to`](super::wrap_grant_key_to)).
    /// Revoking the grant deletes this key and what it wraps.
    GrantKey
}

impl AccountKey {
    /// The raw account key, for device pairing and the passphrase-protected
    /// key backup only. Never log, persist in plain text or send it anywhere
    /// else.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The account's X25519 HPKE key pair, derived deterministically from the
    /// account key, so that every device holding the account key has it
    /// without a second secret to distribute.
    ///
    /// Construction: `ikm = HKDF-SHA256(salt = "phr-core/account-key/hpke-ikm",
    /// ikm = account key, info = "phr account hpke v1", L = 32)` (ring), then
    /// RFC 9180 `DeriveKeyPair(ikm)` of DHKEM(X25519, HKDF-SHA256). The HKDF
    /// step separates this use of the account key from its use as an
    /// AES-256-GCM wrapping key.
    #[must_use]
    pub fn hpke_key_pair(&self) -> (HpkePrivateKey, HpkePublicKey) {
        let mut ikm = Zeroizing::new([0u8; KEY_LEN]);
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, ACCOUNT_HPKE_SALT).extract(&self.0);
        // Expanding 32 bytes with HKDF-SHA256 (limit 255 * 32) cannot fail.
        prk.expand(&[ACCOUNT_HPKE_INFO], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(ikm.as_mut_slice()))
            .expect("HKDF-SHA256 can expand 32 bytes");
        let private = HpkePrivateKey::derive(ikm.as_slice());
        let public = private.public_key();
        (private, public)
    }
}

/// An X25519 public key for HPKE (RFC 9180, DHKEM(X25519, HKDF-SHA256)):
/// the account's public key, or the server's view key.
///
/// Serde form: a string, the 32 key bytes in **base64url without padding**
/// (RFC 4648 §5; 43 characters). Deserialization rejects anything else
/// (padding, the standard alphabet, another length).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HpkePublicKey([u8; KEY_LEN]);

impl HpkePublicKey {
    /// The public key with these 32 bytes (its RFC 9180 `SerializePublicKey`
    /// form).
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidKey`] unless `bytes` is exactly 32 bytes long.
    /// (Low-order points are only detected when encrypting to the key:
    /// [`hpke_seal`](super::hpke_seal) then fails with `InvalidKey`.)
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self(bytes))
    }

    /// The 32 key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The serde form: base64url, no padding.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the serde form (base64url, no padding).
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidKey`] if `s` is not base64url without padding or
    /// does not decode to 32 bytes.
    pub fn from_base64url(s: &str) -> Result<Self, CryptoError> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| CryptoError::InvalidKey)?;
        Self::from_bytes(&bytes)
    }

    pub(crate) fn to_kem(self) -> Result<KemPublicKey, CryptoError> {
        KemPublicKey::from_bytes(&self.0).map_err(|_| CryptoError::InvalidKey)
    }
}

impl fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePublicKey({})", self.to_base64url())
    }
}

impl serde::Serialize for HpkePublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64url())
    }
}

impl<'de> serde::Deserialize<'de> for HpkePublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_base64url(&s).map_err(|_| {
            serde::de::Error::custom("expected an X25519 public key: 32 bytes in base64url without padding")
        })
    }
}

/// An X25519 private key for HPKE: the account's (see
/// [`AccountKey::hpke_key_pair`]) or the server's view key.
///
/// Holds the clamped private scalar (RFC 9180 §7.1.2 `SerializePrivateKey`),
/// zeroized on drop, and its public key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HpkePrivateKey {
    secret: [u8; KEY_LEN],
    #[zeroize(skip)]
    public: HpkePublicKey,
}

impl HpkePrivateKey {
    /// A new random key pair: RFC 9180 `GenerateKeyPair`, i.e.
    /// `DeriveKeyPair(32 random bytes)`, the random bytes coming from ring's
    /// `SystemRandom`.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide randomness.
    #[must_use]
    pub fn generate() -> Self {
        let mut ikm = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(ikm.as_mut_slice());
        Self::derive(ikm.as_slice())
    }

    /// The private key with these 32 bytes (RFC 9180 `DeserializePrivateKey`,
    /// which clamps them; [`Self::expose_secret`] returns the clamped form).
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidKey`] unless `bytes` is exactly 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let sk = KemPrivateKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self::from_kem(&sk))
    }

    /// RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256).
    pub(crate) fn derive(ikm: &[u8]) -> Self {
        let (sk, _) = X25519HkdfSha256::derive_keypair(ikm);
        Self::from_kem(&sk)
    }

    fn from_kem(sk: &KemPrivateKey) -> Self {
        let mut serialized = sk.to_bytes();
        let mut key = Self { secret: [0; KEY_LEN], public: HpkePublicKey([0; KEY_LEN]) };
        key.secret.copy_from_slice(&serialized);
        serialized.as_mut_slice().zeroize();
        key.public.0.copy_from_slice(&X25519HkdfSha256::sk_to_pk(sk).to_bytes());
        key
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> HpkePublicKey {
        self.public
    }

    /// The 32 private key bytes (clamped), for the server's key directory
    /// only. Never log them or store them in the database.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.secret
    }

    pub(crate) fn to_kem(&self) -> Result<KemPrivateKey, CryptoError> {
        KemPrivateKey::from_bytes(&self.secret).map_err(|_| CryptoError::InvalidKey)
    }
}

impl fmt::Debug for HpkePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HpkePrivateKey").field("public", &self.public).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains_hex_or_base64(haystack: &str, secret: &[u8]) -> bool {
        let lower = hex::encode(secret);
        let upper = hex::encode_upper(secret);
        let b64 = URL_SAFE_NO_PAD.encode(secret);
        let std_b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        // Also look for a fragment of the hex, in case of partial printing.
        haystack.contains(&lower)
            || haystack.contains(&upper)
            || haystack.contains(&lower[..16])
            || haystack.contains(&b64)
            || haystack.contains(&std_b64)
            || haystack.contains(&format!("{:?}", &secret[..4]))
    }

    #[test]
    fn debug_of_symmetric_keys_does_not_contain_key_bytes() {
        let account = AccountKey::generate();
        let data = DataKey::generate();
        let grant = GrantKey::generate();
        for (debug, secret) in [
            (format!("{account:?} {account:#?}"), *account.secret()),
            (format!("{data:?} {data:#?}"), *data.secret()),
            (format!("{grant:?} {grant:#?}"), *grant.secret()),
        ] {
            assert!(!contains_hex_or_base64(&debug, &secret), "{debug}");
        }
        assert_eq!(format!("{data:?}"), "DataKey(..)");
        assert_eq!(format!("{account:?}"), "AccountKey(..)");
        assert_eq!(format!("{grant:?}"), "GrantKey(..)");
    }

    #[test]
    fn debug_of_hpke_private_key_does_not_contain_key_bytes() {
        let sk = HpkePrivateKey::generate();
        let debug = format!("{sk:?} {sk:#?}");
        assert!(!contains_hex_or_base64(&debug, sk.expose_secret()), "{debug}");
        assert!(debug.contains(&sk.public_key().to_base64url()));
    }

    #[test]
    fn symmetric_key_from_bytes_rejects_wrong_lengths() {
        for len in [0, 1, 16, 31, 33, 64] {
            let bytes = vec![7u8; len];
            assert_eq!(DataKey::from_bytes(&bytes).unwrap_err(), CryptoError::InvalidKey);
            assert_eq!(AccountKey::from_bytes(&bytes).unwrap_err(), CryptoError::InvalidKey);
            assert_eq!(GrantKey::from_bytes(&bytes).unwrap_err(), CryptoError::InvalidKey);
            assert_eq!(HpkePrivateKey::from_bytes(&bytes).unwrap_err(), CryptoError::InvalidKey);
            assert_eq!(HpkePublicKey::from_bytes(&bytes).unwrap_err(), CryptoError::InvalidKey);
        }
        let key = DataKey::from_bytes(&[9u8; 32]).unwrap();
        assert_eq!(key.secret(), &[9u8; 32]);
    }

    #[test]
    fn generated_keys_are_random() {
        assert_ne!(DataKey::generate().secret(), DataKey::generate().secret());
        assert_ne!(AccountKey::generate().secret(), AccountKey::generate().secret());
        assert_ne!(GrantKey::generate().secret(), GrantKey::generate().secret());
        assert_ne!(HpkePrivateKey::generate().public_key(), HpkePrivateKey::generate().public_key());
    }

    #[test]
    fn zeroize_wipes_symmetric_and_private_keys() {
        let mut key = GrantKey::generate();
        key.zeroize();
        assert_eq!(key.secret(), &[0u8; 32]);
        let mut sk = HpkePrivateKey::generate();
        sk.zeroize();
        assert_eq!(sk.expose_secret(), &[0u8; 32]);
    }

    #[test]
    fn account_hpke_key_pair_is_deterministic_and_per_account() {
        let account = AccountKey::from_bytes(&[1u8; 32]).unwrap();
        let same = AccountKey::from_bytes(&[1u8; 32]).unwrap();
        let other = AccountKey::from_bytes(&[2u8; 32]).unwrap();
        let (sk1, pk1) = account.hpke_key_pair();
        let (sk2, pk2) = same.hpke_key_pair();
        let (_, pk3) = other.hpke_key_pair();
        assert_eq!(pk1, pk2);
        assert_eq!(sk1.expose_secret(), sk2.expose_secret());
        assert_eq!(sk1.public_key(), pk1);
        assert_ne!(pk1, pk3);
        // The derived private key is not the account key itself.
        assert_ne!(sk1.expose_secret(), account.expose_secret());
    }

    #[test]
    fn hpke_private_key_bytes_round_trip() {
        let sk = HpkePrivateKey::generate();
        let again = HpkePrivateKey::from_bytes(sk.expose_secret()).unwrap();
        assert_eq!(again.expose_secret(), sk.expose_secret());
        assert_eq!(again.public_key(), sk.public_key());
    }

    #[test]
    fn hpke_public_key_serde_is_base64url_without_padding() {
        let pk = HpkePrivateKey::generate().public_key();
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(json, format!("\"{}\"", URL_SAFE_NO_PAD.encode(pk.as_bytes())));
        assert_eq!(json.len(), 43 + 2);
        let back: HpkePublicKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pk);
        assert_eq!(HpkePublicKey::from_base64url(&pk.to_base64url()).unwrap(), pk);
    }

    #[test]
    fn hpke_public_key_serde_rejects_bad_strings() {
        let pk = HpkePrivateKey::generate().public_key();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(pk.as_bytes());
        let short = URL_SAFE_NO_PAD.encode(&pk.as_bytes()[..31]);
        let long = URL_SAFE_NO_PAD.encode([0u8; 33]);
        for bad in [padded.as_str(), short.as_str(), long.as_str(), "", "not base64!", "🦀"] {
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<HpkePublicKey>(&json).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<HpkePublicKey>("42").is_err());
    }
}
