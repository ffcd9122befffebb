//! One client per store file: an exclusive advisory lock on `<path>.lock`,
//! held for the life of the client. Two engines on one file would each keep
//! their own idea of the clock, the outbox and the account, and lose each
//! other's writes; the second open is refused instead.

use std::fs::{File, OpenOptions, TryLockError};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;

use crate::engine::error::{Error, Result};

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StoreLock(#[allow(dead_code)] Option<File>);

impl StoreLock {
    /// Takes the lock of the store at `path` without waiting. An in-memory
    /// store (`:memory:`) has nothing to lock.
    pub fn acquire(path: &str) -> Result<StoreLock> {
        if path.is_empty() || path == ":memory:" {
            return Ok(StoreLock(None));
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options
            .open(format!("{path}.lock"))
            .map_err(|e| Error::StoreInUse(format!("cannot open the store's lock file: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(StoreLock(Some(file))),
            Err(TryLockError::WouldBlock) => {
                Err(Error::StoreInUse("another PhrClient has this store open; use that one, or close it first".into()))
            }
            Err(TryLockError::Error(e)) => Err(Error::StoreInUse(format!("cannot lock the store: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db").to_string_lossy().into_owned();
        let first = StoreLock::acquire(&path).unwrap();
        assert!(matches!(StoreLock::acquire(&path), Err(Error::StoreInUse(_))));
        drop(first);
        StoreLock::acquire(&path).unwrap();
    }
}
