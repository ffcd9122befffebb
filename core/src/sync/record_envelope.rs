//! The canonical plaintext of a record envelope.
//!
//! What a record envelope (`crypto::seal_record`) seals is the JSON of the
//! record's full [`RecordHistory<RecordBody>`]: every known version (edits and
//! tombstones with their stamps), not just the winner. Any device (or, for
//! consented data, the server's FHIR layer) that opens an envelope can
//! therefore re-run the merge rule, and no version is ever lost on the way.
//!
//! Devices, the server and the tests use [`seal_history`] / [`open_history`],
//! so all of them agree on this format.

use crate::crypto::{open_record, seal_record, CryptoError, DataKey, RecordAad};
use crate::dataset::RecordBody;

use super::RecordHistory;

/// The version history a record envelope carries.
pub type BodyHistory = RecordHistory<RecordBody>;

/// Why an envelope did not open to a history.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Wrong key, wrong context (account, record, version) or tampered bytes.
    #[error("cannot open the record envelope: {0}")]
    Crypto(#[from] CryptoError),
    /// The envelope opened, but its plaintext is not a record history
    /// (serde's message names the offending place).
    #[error("the record envelope does not hold a record history: {0}")]
    Malformed(String),
}

/// Seals `history` under the record's data key, bound to `aad` (account,
/// record, version).
pub fn seal_history(dek: &DataKey, aad: &RecordAad<'_>, history: &BodyHistory) -> Vec<u8> {
    // Serializing plain data (strings, numbers, enums, maps with string keys)
    // cannot fail; an empty plaintext would still be sealed and then refused
    // by `open_history`, never silently accepted.
    let plaintext = serde_json::to_vec(history).unwrap_or_default();
    seal_record(dek, aad, &plaintext)
}

/// Opens an envelope made by [`seal_history`] with the same key and context.
///
/// # Errors
///
/// [`EnvelopeError::Crypto`] if authentication fails, and
/// [`EnvelopeError::Malformed`] if the plaintext is not a history of valid
/// record bodies.
pub fn open_history(dek: &DataKey, aad: &RecordAad<'_>, envelope: &[u8]) -> Result<BodyHistory, EnvelopeError> {
    let plaintext = open_record(dek, aad, envelope)?;
    serde_json::from_slice(&plaintext).map_err(|e| EnvelopeError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::dataset::examples;
    use crate::sync::{Change, DeviceId, Hlc, RecordVersion, VersionStamp};

    fn history() -> BodyHistory {
        let stamp = |ms, dev: &str| VersionStamp::new(Hlc::new(ms, 0), DeviceId::new(dev).unwrap());
        [
            RecordVersion {
                stamp: stamp(10, "phone-a"),
                base_version: 0,
                change: Change::Edit(RecordBody::PrenatalVisit(examples::prenatal_visit_full())),
            },
            RecordVersion {
                stamp: stamp(20, "phone-b"),
                base_version: 1,
                change: Change::Edit(RecordBody::PrenatalVisit(examples::prenatal_visit_minimal())),
            },
            RecordVersion { stamp: stamp(30, "phone-a"), base_version: 1, change: Change::Delete },
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_sealed_history_opens_to_every_version() {
        let dek = DataKey::generate();
        let aad = RecordAad { account_id: "acct", record_id: Uuid::now_v7(), version: 2 };
        let h = history();
        let envelope = seal_history(&dek, &aad, &h);
        let opened = open_history(&dek, &aad, &envelope).unwrap();
        assert_eq!(opened, h);
        assert_eq!(opened.len(), 3);
        assert!(opened.is_deleted());
    }

    #[test]
    fn the_envelope_hides_the_plaintext() {
        let dek = DataKey::generate();
        let aad = RecordAad { account_id: "acct", record_id: Uuid::now_v7(), version: 1 };
        let envelope = seal_history(&dek, &aad, &history());
        let needle = "さくら産婦人科".as_bytes();
        assert!(!envelope.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn another_version_record_or_key_is_refused_as_a_crypto_error() {
        let dek = DataKey::generate();
        let record_id = Uuid::now_v7();
        let aad = RecordAad { account_id: "acct", record_id, version: 1 };
        let envelope = seal_history(&dek, &aad, &history());
        for wrong in [
            RecordAad { account_id: "acct", record_id, version: 2 },
            RecordAad { account_id: "other", record_id, version: 1 },
            RecordAad { account_id: "acct", record_id: Uuid::now_v7(), version: 1 },
        ] {
            assert!(matches!(open_history(&dek, &wrong, &envelope), Err(EnvelopeError::Crypto(_))));
        }
        assert!(matches!(open_history(&DataKey::generate(), &aad, &envelope), Err(EnvelopeError::Crypto(_))));
    }

    #[test]
    fn a_sealed_plaintext_that_is_not_a_history_is_malformed() {
        let dek = DataKey::generate();
        let aad = RecordAad { account_id: "acct", record_id: Uuid::now_v7(), version: 1 };
        for bad in [&b"{\"weight_kg\": 62.5}"[..], b"[{\"stamp\": 1}]", b""] {
            let envelope = seal_record(&dek, &aad, bad);
            assert!(matches!(open_history(&dek, &aad, &envelope), Err(EnvelopeError::Malformed(_))), "{bad:?}");
        }
    }
}
