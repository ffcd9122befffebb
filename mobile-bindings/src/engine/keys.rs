//! The keys a device holds and what they seal: the device storage key (the
//! device's own secrets and grant keys at rest, [`StorageKey`]) and the
//! account key (every record's data key, [`RecordKeys`]).

use phr_core::crypto::{unwrap_data_key, wrap_data_key, AccountKey, AccountWrapContext, DataKey, RecordAad};
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::error::{Error, Result};
use super::store::{secrets, RecordRow, LOCAL_VERSION};

/// The 32-byte device storage key from the Keychain/Keystore.
pub struct StorageKey(Zeroizing<Vec<u8>>);

impl StorageKey {
    /// Takes the app's key; it must be 32 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() != 32 {
            return Err(Error::invalid("storage_key", "must be 32 bytes"));
        }
        Ok(StorageKey(bytes))
    }

    /// Seals a secret for the store ([`secrets::seal`]).
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        secrets::seal(&self.0, plaintext)
    }

    /// Opens what [`seal`](Self::seal) made; a wrong key is [`Error::Crypto`].
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        secrets::open(&self.0, sealed)
    }
}

/// The account key with the account it belongs to: wraps and unwraps record
/// data keys, seals and opens records' local histories.
pub struct RecordKeys {
    account_id: String,
    account_key: AccountKey,
}

impl RecordKeys {
    pub fn new(account_id: String, account_key: AccountKey) -> Self {
        RecordKeys { account_id, account_key }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn account_key(&self) -> &AccountKey {
        &self.account_key
    }

    /// A record's data key (unwrapped from the row).
    pub fn dek(&self, row: &RecordRow) -> Result<DataKey> {
        let ctx = AccountWrapContext { account_id: &self.account_id, record_id: row.id()? };
        Ok(unwrap_data_key(&self.account_key, &row.wrapped_dek, &ctx)?)
    }

    /// Opens a row's local history.
    pub fn history(&self, row: &RecordRow) -> Result<BodyHistory> {
        let aad = RecordAad { account_id: &self.account_id, record_id: row.id()?, version: LOCAL_VERSION };
        Ok(open_history(&self.dek(row)?, &aad, &row.sealed_local)?)
    }

    /// The winning body of a row's history, if it is not deleted.
    pub fn winner(&self, row: &RecordRow) -> Result<Option<RecordBody>> {
        Ok(self.history(row)?.winner().and_then(|w| w.edit()).cloned())
    }

    /// `dek` wrapped under the account key for `record_id`.
    pub fn wrap(&self, record_id: Uuid, dek: &DataKey) -> Vec<u8> {
        wrap_data_key(&self.account_key, dek, &AccountWrapContext { account_id: &self.account_id, record_id })
    }

    /// Builds the row for `history` sealed locally under `dek`, deriving the
    /// plain metadata (effective date, deleted) from the winner.
    #[allow(clippy::too_many_arguments)]
    pub fn seal_row(
        &self,
        record_id: Uuid,
        kind: RecordKind,
        subject: Subject,
        dek: &DataKey,
        history: &BodyHistory,
        server_version: u64,
        pending: bool,
        local_rev: i64,
    ) -> Result<RecordRow> {
        let aad = RecordAad { account_id: &self.account_id, record_id, version: LOCAL_VERSION };
        let winner = history.winner();
        Ok(RecordRow {
            record_id: record_id.to_string(),
            kind: kind.as_str().to_owned(),
            subject: subject.to_string(),
            effective_date: winner.and_then(|w| w.edit()).and_then(RecordBody::effective_date).map(|d| d.to_string()),
            server_version: i64::try_from(server_version)
                .map_err(|_| Error::Protocol(format!("server version {server_version} is out of range")))?,
            pending,
            deleted: history.is_deleted(),
            local_rev,
            wrapped_dek: self.wrap(record_id, dek),
            sealed_local: seal_history(dek, &aad, history),
        })
    }
}
