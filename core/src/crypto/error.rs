//! The one error type of the record crypto.

/// Why a crypto operation failed.
///
/// The variants say only what is safe to say to whoever supplied the input:
/// the *shape* of an envelope ([`Malformed`](Self::Malformed),
/// [`UnsupportedVersion`](Self::UnsupportedVersion)) is public anyway, but a
/// failed decryption is always the single opaque
/// [`Authentication`](Self::Authentication), whether the key was wrong, the
/// associated data (account, record, version, grant) did not match, or the
/// ciphertext or tag was tampered with. Callers must not try to tell those apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The input is too short or does not have the layout of its envelope format.
    #[error("malformed envelope")]
    Malformed,
    /// The envelope starts with a format version byte this build does not know
    /// (or one that belongs to another kind of envelope).
    #[error("unsupported envelope format version 0x{0:02x}")]
    UnsupportedVersion(u8),
    /// Decryption failed: wrong key, wrong associated data or tampered bytes.
    #[error("authentication failed")]
    Authentication,
    /// Key material has the wrong length, or a public key cannot be encrypted
    /// to (an X25519 low-order point).
    #[error("invalid key")]
    InvalidKey,
}
