//! The account's record log and the one rule that appends to it.
//!
//! Every new record version — a device's push, a clinic's FHIR create,
//! update or transaction — goes through [`RecordLog::append`], inside the
//! caller's write transaction:
//!
//! 1. [`RecordLog::lock`] takes the account's write lock and reads its change
//!    sequence and record count;
//! 2. a version applies only if its base version is still the record's
//!    current version (optimistic concurrency); otherwise it is answered as a
//!    conflict carrying the current version and changes nothing;
//! 3. versions that would create records are refused all together (409) if
//!    the account would then hold more than `--max-records-per-account`;
//! 4. each applied version takes the next number of the account's change
//!    sequence (version + 1), and the counters are stored.
//!
//! The log never opens an envelope: it stores the sealed bytes it is given.

use chrono::NaiveDate;
use phr_core::dataset::{RecordKind, Subject};

use crate::app::error::AppError;
use crate::app::ids::{AccountId, RecordId};
use crate::store::records::{self, RecordWrite};
use crate::store::DbConnection;

/// One record version to append.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    pub record_id: RecordId,
    pub kind: RecordKind,
    pub subject: Subject,
    pub effective_date: Option<NaiveDate>,
    /// The version this one replaces (0: a new record).
    pub base_version: u64,
    pub deleted: bool,
    /// The sealed history (never opened here).
    pub envelope: &'a [u8],
    /// The data key wrapped to the account key.
    pub wrapped_key: &'a [u8],
}

/// What became of one [`NewVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored as this version.
    Applied { version: u64 },
    /// Not stored: the base version was not the current one, which is this.
    Conflict { current: u64 },
}

/// An account's record log, locked for the current write transaction.
#[derive(Debug)]
pub struct RecordLog {
    account_id: AccountId,
    change_seq: i64,
    record_count: i64,
}

impl RecordLog {
    /// [`RecordLog::lock`] for a signed-in device's own account: an account erased meanwhile
    /// is 401 (the device's credentials no longer stand for anything).
    pub fn lock_for_device(conn: &mut DbConnection, account_id: &str) -> Result<RecordLog, AppError> {
        Self::lock(conn, account_id)?.ok_or_else(|| AppError::Unauthorized("the account no longer exists".into()))
    }

    /// Takes the account's write lock for this transaction; `None` if the account does not exist.
    pub fn lock(conn: &mut DbConnection, account_id: &str) -> Result<Option<RecordLog>, AppError> {
        Ok(records::lock_account(conn, account_id)?.map(|(change_seq, record_count)| RecordLog {
            account_id: AccountId::new(account_id),
            change_seq,
            record_count,
        }))
    }

    /// The account's change sequence after what was appended so far.
    pub fn change_seq(&self) -> u64 {
        self.change_seq as u64
    }

    /// Appends `versions` written by `device_id` at `now` (epoch ms), in order;
    /// one answer per version. Refuses them all (409, nothing stored) if the
    /// new records among them would take the account past `max_records`.
    pub fn append(
        &mut self,
        conn: &mut DbConnection,
        device_id: &str,
        versions: &[NewVersion<'_>],
        max_records: i64,
        now: i64,
    ) -> Result<Vec<Appended>, AppError> {
        let ids: Vec<String> = versions.iter().map(|v| v.record_id.to_string()).collect();
        let current = records::current_versions(conn, &self.account_id, &ids)?;
        // Only versions that will create a record take a slot: a version of an
        // absent record based on anything but 0 is a conflict and stores nothing.
        let new_records =
            versions.iter().zip(&ids).filter(|(v, id)| v.base_version == 0 && !current.contains_key(*id)).count()
                as i64;
        if self.record_count + new_records > max_records {
            return Err(AppError::Conflict(format!(
                "the account would hold more than {max_records} records; delete old ones or contact the operator"
            )));
        }
        let mut seq = self.change_seq;
        let mut inserts = Vec::new();
        let mut answers = Vec::with_capacity(versions.len());
        for (v, id) in versions.iter().zip(ids) {
            let current_version = current.get(&id).copied().unwrap_or(0);
            if i64::try_from(v.base_version).ok() != Some(current_version) {
                answers.push(Appended::Conflict { current: current_version as u64 });
                continue;
            }
            seq += 1;
            let version = current_version + 1;
            let row = RecordWrite {
                account_id: &self.account_id,
                record_id: id,
                kind: v.kind.as_str(),
                subject: v.subject.to_string(),
                effective_date: v.effective_date.map(|d| d.to_string()),
                version,
                seq,
                deleted: v.deleted,
                envelope: v.envelope,
                wrapped_key: v.wrapped_key,
                device_id,
                updated_at: now,
            };
            if current_version == 0 {
                inserts.push(row);
            } else {
                records::update_record(conn, &row)?;
            }
            answers.push(Appended::Applied { version: version as u64 });
        }
        let inserted = inserts.len() as i64;
        records::insert_records(conn, &inserts)?;
        self.change_seq = seq;
        self.record_count += inserted;
        records::set_account_counters(conn, &self.account_id, self.change_seq, self.record_count)?;
        Ok(answers)
    }
}
