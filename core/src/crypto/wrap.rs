//! Wrapping data keys under the account key or a grant key (AES-256-GCM).

use uuid::Uuid;
use zeroize::Zeroizing;

use super::{aes_gcm_open, aes_gcm_seal, AccountKey, ContextEncoder, CryptoError, DataKey, GrantKey, KEY_LEN};

/// Format version byte of wrapped data keys (AES-256-GCM, 96-bit random nonce).
pub(crate) const WRAPPED_KEY_V1: u8 = 0x11;
/// Domain label of a DEK wrapped under the account key.
const UNDER_ACCOUNT_LABEL: &[u8] = b"phr-core/wrap-dek/under-account/v1";
/// Domain label of a DEK wrapped under a grant key.
const UNDER_GRANT_LABEL: &[u8] = b"phr-core/wrap-dek/under-grant/v1";

mod sealed {
    /// Keeps [`super::WrappingKey`] closed to this module's key types.
    pub trait Sealed {
        fn wrapping_secret(&self) -> &[u8; super::KEY_LEN];
    }

    /// Encodes a wrap context as associated data.
    pub trait EncodeContext {
        fn encode(&self) -> Vec<u8>;
    }
}

/// A key that data keys can be wrapped under: [`AccountKey`] or [`GrantKey`]
/// (sealed: no other type can implement it).
///
/// Each wrapping key type has its own context type, so a wrap under the
/// account key can only be given an [`AccountWrapContext`] and a wrap under a
/// grant key only a [`GrantWrapContext`]; mixing them up does not compile.
pub trait WrappingKey: sealed::Sealed {
    /// What a wrap under this kind of key is bound to.
    type Context<'a>: sealed::EncodeContext;
}

/// Binds a data key wrapped under the [`AccountKey`] to its account and record.
///
/// Associated data: `0x11 ‖ len ‖ "phr-core/wrap-dek/under-account/v1" ‖ len ‖
/// account_id ‖ record_id (16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountWrapContext<'a> {
    /// The account the record (and the account key) belongs to.
    pub account_id: &'a str,
    /// The record whose data key is wrapped.
    pub record_id: Uuid,
}

/// Binds a data key wrapped under a [`GrantKey`] to its account, grant and
/// record.
///
/// Associated data: `0x11 ‖ len ‖ "phr-core/wrap-dek/under-grant/v1" ‖ len ‖
/// account_id ‖ grant_id (16) ‖ record_id (16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantWrapContext<'a> {
    /// The account the record belongs to.
    pub account_id: &'a str,
    /// The consent grant whose key wraps the data key.
    pub grant_id: Uuid,
    /// The record whose data key is wrapped.
    pub record_id: Uuid,
}

impl sealed::EncodeContext for AccountWrapContext<'_> {
    fn encode(&self) -> Vec<u8> {
        ContextEncoder::new(WRAPPED_KEY_V1, UNDER_ACCOUNT_LABEL)
            .bytes(self.account_id.as_bytes())
            .uuid(self.record_id)
            .finish()
    }
}

impl sealed::EncodeContext for GrantWrapContext<'_> {
    fn encode(&self) -> Vec<u8> {
        ContextEncoder::new(WRAPPED_KEY_V1, UNDER_GRANT_LABEL)
            .bytes(self.account_id.as_bytes())
            .uuid(self.grant_id)
            .uuid(self.record_id)
            .finish()
    }
}

impl sealed::Sealed for AccountKey {
    fn wrapping_secret(&self) -> &[u8; KEY_LEN] {
        self.secret()
    }
}

impl WrappingKey for AccountKey {
    type Context<'a> = AccountWrapContext<'a>;
}

impl sealed::Sealed for GrantKey {
    fn wrapping_secret(&self) -> &[u8; KEY_LEN] {
        self.secret()
    }
}

impl WrappingKey for GrantKey {
    type Context<'a> = GrantWrapContext<'a>;
}

/// Wraps (encrypts) `dek` under `wrapping`, bound to `ctx`.
///
/// AES-256-GCM (ring) with a fresh random 96-bit nonce; the associated data
/// is the encoded context, which names the purpose (under the account key or
/// under a grant key), the account, the grant (for grant wraps) and the
/// record. Returns `0x11 ‖ nonce (12) ‖ encrypted key (32) ‖ tag (16)`,
/// always 61 bytes.
///
/// # Panics
///
/// Only if the OS random number generator fails.
#[must_use]
pub fn wrap_data_key<K: WrappingKey>(wrapping: &K, dek: &DataKey, ctx: &K::Context<'_>) -> Vec<u8> {
    use sealed::EncodeContext as _;
    aes_gcm_seal(WRAPPED_KEY_V1, wrapping.wrapping_secret(), &ctx.encode(), dek.secret())
}

/// Unwraps a data key made by [`wrap_data_key`] with the same key and context.
///
/// # Errors
///
/// * [`CryptoError::Malformed`]: empty, or not exactly 61 bytes.
/// * [`CryptoError::UnsupportedVersion`]: the first byte is not `0x11`.
/// * [`CryptoError::Authentication`]: wrong key, other account / grant /
///   record, a wrap of the other purpose, or any byte changed.
pub fn unwrap_data_key<K: WrappingKey>(
    wrapping: &K,
    wrapped: &[u8],
    ctx: &K::Context<'_>,
) -> Result<DataKey, CryptoError> {
    use sealed::EncodeContext as _;
    let key = Zeroizing::new(aes_gcm_open(
        WRAPPED_KEY_V1,
        wrapping.wrapping_secret(),
        &ctx.encode(),
        wrapped,
        Some(KEY_LEN),
    )?);
    DataKey::from_bytes(&key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_support::{assert_every_bit_flip_rejected, assert_every_truncation_rejected};
    use proptest::prelude::*;

    const ACCOUNT: &str = "acct-1";

    fn ids() -> (Uuid, Uuid) {
        (
            Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1),
            Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b2),
        )
    }

    fn account_ctx() -> AccountWrapContext<'static> {
        AccountWrapContext { account_id: ACCOUNT, record_id: ids().0 }
    }

    fn grant_ctx() -> GrantWrapContext<'static> {
        GrantWrapContext { account_id: ACCOUNT, grant_id: ids().1, record_id: ids().0 }
    }

    #[test]
    fn wrap_unwrap_under_account_key_round_trip() {
        let account = AccountKey::generate();
        let dek = DataKey::generate();
        let wrapped = wrap_data_key(&account, &dek, &account_ctx());
        let unwrapped = unwrap_data_key(&account, &wrapped, &account_ctx()).unwrap();
        assert_eq!(unwrapped.secret(), dek.secret());
    }

    #[test]
    fn wrap_unwrap_under_grant_key_round_trip() {
        let grant = GrantKey::generate();
        let dek = DataKey::generate();
        let wrapped = wrap_data_key(&grant, &dek, &grant_ctx());
        let unwrapped = unwrap_data_key(&grant, &wrapped, &grant_ctx()).unwrap();
        assert_eq!(unwrapped.secret(), dek.secret());
    }

    #[test]
    fn wrapped_key_layout_is_version_nonce_key_tag() {
        let wrapped = wrap_data_key(&AccountKey::generate(), &DataKey::generate(), &account_ctx());
        assert_eq!(wrapped.len(), 61);
        assert_eq!(wrapped[0], 0x11);
    }

    #[test]
    fn two_wraps_of_same_key_differ() {
        let account = AccountKey::generate();
        let dek = DataKey::generate();
        assert_ne!(wrap_data_key(&account, &dek, &account_ctx()), wrap_data_key(&account, &dek, &account_ctx()));
    }

    #[test]
    fn every_flipped_bit_of_wrapped_key_is_rejected() {
        let account = AccountKey::generate();
        let grant = GrantKey::generate();
        let dek = DataKey::generate();
        let under_account = wrap_data_key(&account, &dek, &account_ctx());
        assert_every_bit_flip_rejected(&under_account, |w| unwrap_data_key(&account, w, &account_ctx()));
        let under_grant = wrap_data_key(&grant, &dek, &grant_ctx());
        assert_every_bit_flip_rejected(&under_grant, |w| unwrap_data_key(&grant, w, &grant_ctx()));
    }

    #[test]
    fn every_truncation_of_wrapped_key_is_rejected() {
        let grant = GrantKey::generate();
        let wrapped = wrap_data_key(&grant, &DataKey::generate(), &grant_ctx());
        assert_every_truncation_rejected(&wrapped, |w| unwrap_data_key(&grant, w, &grant_ctx()));
        // A structurally valid but shorter envelope is malformed, not "wrong key".
        assert_eq!(unwrap_data_key(&grant, &wrapped[..60], &grant_ctx()).unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn appended_bytes_to_wrapped_key_are_rejected() {
        let account = AccountKey::generate();
        let mut wrapped = wrap_data_key(&account, &DataKey::generate(), &account_ctx());
        wrapped.push(0);
        assert_eq!(unwrap_data_key(&account, &wrapped, &account_ctx()).unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn wrong_wrapping_key_is_rejected() {
        let dek = DataKey::generate();
        let wrapped = wrap_data_key(&AccountKey::generate(), &dek, &account_ctx());
        assert_eq!(
            unwrap_data_key(&AccountKey::generate(), &wrapped, &account_ctx()).unwrap_err(),
            CryptoError::Authentication
        );
        let wrapped = wrap_data_key(&GrantKey::generate(), &dek, &grant_ctx());
        assert_eq!(
            unwrap_data_key(&GrantKey::generate(), &wrapped, &grant_ctx()).unwrap_err(),
            CryptoError::Authentication
        );
    }

    #[test]
    fn account_wrap_does_not_unwrap_as_grant_wrap_even_with_same_key_bytes() {
        let bytes = [0x42u8; 32];
        let account = AccountKey::from_bytes(&bytes).unwrap();
        let grant = GrantKey::from_bytes(&bytes).unwrap();
        let dek = DataKey::generate();
        let under_account = wrap_data_key(&account, &dek, &account_ctx());
        assert_eq!(unwrap_data_key(&grant, &under_account, &grant_ctx()).unwrap_err(), CryptoError::Authentication);
        let under_grant = wrap_data_key(&grant, &dek, &grant_ctx());
        assert_eq!(unwrap_data_key(&account, &under_grant, &account_ctx()).unwrap_err(), CryptoError::Authentication);
    }

    #[test]
    fn unwrap_for_other_account_record_or_grant_is_rejected() {
        let account = AccountKey::generate();
        let grant = GrantKey::generate();
        let dek = DataKey::generate();
        let (record, grant_id) = ids();
        let other = Uuid::from_u128(record.as_u128() ^ 1);

        let wrapped = wrap_data_key(&account, &dek, &account_ctx());
        for ctx in [
            AccountWrapContext { account_id: "acct-2", ..account_ctx() },
            AccountWrapContext { account_id: "", ..account_ctx() },
            AccountWrapContext { record_id: other, ..account_ctx() },
        ] {
            assert_eq!(unwrap_data_key(&account, &wrapped, &ctx).unwrap_err(), CryptoError::Authentication);
        }

        let wrapped = wrap_data_key(&grant, &dek, &grant_ctx());
        for ctx in [
            GrantWrapContext { account_id: "acct-2", ..grant_ctx() },
            GrantWrapContext { record_id: other, ..grant_ctx() },
            GrantWrapContext { grant_id: other, ..grant_ctx() },
            // Swapping grant and record ids must not verify either.
            GrantWrapContext { grant_id: record, record_id: grant_id, ..grant_ctx() },
        ] {
            assert_eq!(unwrap_data_key(&grant, &wrapped, &ctx).unwrap_err(), CryptoError::Authentication);
        }
    }

    #[test]
    fn unknown_version_byte_of_wrapped_key_is_unsupported_version() {
        let account = AccountKey::generate();
        let mut wrapped = wrap_data_key(&account, &DataKey::generate(), &account_ctx());
        for version in [0x00, 0x01, 0x12, 0x21, 0xFF] {
            wrapped[0] = version;
            assert_eq!(
                unwrap_data_key(&account, &wrapped, &account_ctx()).unwrap_err(),
                CryptoError::UnsupportedVersion(version)
            );
        }
    }

    #[test]
    fn record_envelope_is_not_accepted_as_wrapped_key() {
        let dek = DataKey::generate();
        let aad = crate::crypto::RecordAad { account_id: ACCOUNT, record_id: ids().0, version: 1 };
        let envelope = crate::crypto::seal_record(&dek, &aad, &[0u8; 32]);
        assert_eq!(
            unwrap_data_key(&AccountKey::generate(), &envelope, &account_ctx()).unwrap_err(),
            CryptoError::UnsupportedVersion(0x01)
        );
    }

    proptest! {
        #[test]
        fn unwrap_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let account = AccountKey::from_bytes(&[5u8; 32]).unwrap();
            let grant = GrantKey::from_bytes(&[5u8; 32]).unwrap();
            prop_assert!(unwrap_data_key(&account, &bytes, &account_ctx()).is_err());
            prop_assert!(unwrap_data_key(&grant, &bytes, &grant_ctx()).is_err());
        }

        #[test]
        fn unwrap_never_panics_on_arbitrary_bytes_with_valid_version(tail in proptest::collection::vec(any::<u8>(), 0..80)) {
            let account = AccountKey::from_bytes(&[5u8; 32]).unwrap();
            let mut bytes = vec![WRAPPED_KEY_V1];
            bytes.extend_from_slice(&tail);
            prop_assert!(unwrap_data_key(&account, &bytes, &account_ctx()).is_err());
        }
    }
}
