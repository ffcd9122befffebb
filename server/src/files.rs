//! Modes of what the server writes: the data directory and every directory in
//! it 0700, every file 0600 (owner only), whatever the umask it was started with.
//!
//! Two layers, so neither depends on the other:
//! - [`restrict_umask`]: at the start of every command the process umask becomes
//!   0077, so anything created later — by us, by SQLite, by a library — is
//!   owner-only;
//! - explicit modes where we create things: [`create_private_dir`] (0700),
//!   [`create_private_file`] (0600: research extracts), and the SQLite database
//!   file created 0600 *before* SQLite opens it ([`create_private_file_if_missing`]);
//!   SQLite gives its `-wal` and `-shm` files the database file's mode.
//!
//! What an older version (or an operator) left wider is reported at start by
//! [`check_permissions`]: one warning per path, relative to the data directory,
//! naming `--fix-permissions`; with that flag the paths are tightened instead.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::ServerError;

/// Mode of every directory the server creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the server creates.
pub const FILE_MODE: u32 = 0o600;
/// Most paths warned about one by one; the rest are counted.
const MAX_WARNINGS: usize = 50;

/// Makes everything this process creates from now on owner-only (umask 0077).
pub fn restrict_umask() {
    // SAFETY: umask(2) only sets this process's file mode creation mask; it touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` and any missing parents with mode 0700 (existing ones are left as they are).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates (or truncates) a file with mode 0600 from the start.
pub fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)
}

/// Creates an empty file with mode 0600 unless `path` exists (an existing file is untouched).
pub fn create_private_file_if_missing(path: &Path) -> io::Result<()> {
    match fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The files of a SQLite database at `path`: the database, its WAL and shared memory.
pub fn sqlite_files(path: &Path) -> Vec<PathBuf> {
    let name = path.as_os_str();
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut n = name.to_owned();
            n.push(suffix);
            PathBuf::from(n)
        })
        .collect()
}

/// A directory or file readable, writable or searchable by group or others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoosePath {
    /// Relative to the data directory (absolute only for a database outside it).
    pub shown: String,
    pub path: PathBuf,
    pub mode: u32,
    pub is_dir: bool,
}

impl LoosePath {
    /// The mode it should have.
    pub fn wanted(&self) -> u32 {
        if self.is_dir {
            DIR_MODE
        } else {
            FILE_MODE
        }
    }
}

/// Every path under `data_dir` (itself included; symbolic links are not
/// followed) and every existing path of `extra` (the SQLite files when the
/// database lies elsewhere) whose mode lets group or others in.
pub fn loose_paths(data_dir: &Path, extra: &[PathBuf]) -> io::Result<Vec<LoosePath>> {
    let mut found = Vec::new();
    let root = fs::canonicalize(data_dir)?;
    let mut stack = vec![root.clone()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            for entry in fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        } else if !meta.is_file() {
            continue;
        }
        note_if_loose(&mut found, &root, &path, &meta);
    }
    for path in extra {
        let Ok(abs) = fs::canonicalize(path) else { continue };
        if abs.starts_with(&root) {
            continue;
        }
        let meta = fs::symlink_metadata(&abs)?;
        if meta.is_file() {
            note_if_loose(&mut found, &root, &abs, &meta);
        }
    }
    found.sort_by(|a, b| a.shown.cmp(&b.shown));
    Ok(found)
}

fn note_if_loose(found: &mut Vec<LoosePath>, root: &Path, path: &Path, meta: &fs::Metadata) {
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return;
    }
    let shown = match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    };
    found.push(LoosePath { shown, path: path.to_owned(), mode, is_dir: meta.is_dir() });
}

/// At start: warns about every path of [`loose_paths`], or with `fix` tightens
/// each to 0700 (directories) / 0600 (files). Returns how many were found.
pub fn check_permissions(data_dir: &Path, extra: &[PathBuf], fix: bool) -> Result<usize, ServerError> {
    let loose = loose_paths(data_dir, extra)
        .map_err(|e| ServerError::Io(format!("cannot check the permissions in {}: {e}", data_dir.display())))?;
    for (i, p) in loose.iter().enumerate() {
        let (mode, wanted) = (format!("{:04o}", p.mode), format!("{:04o}", p.wanted()));
        if fix {
            fs::set_permissions(&p.path, fs::Permissions::from_mode(p.wanted()))
                .map_err(|e| ServerError::Io(format!("cannot restrict {} to mode {wanted}: {e}", p.shown)))?;
            tracing::info!(path = %p.shown, from = %mode, to = %wanted, "tightened permissions (--fix-permissions)");
        } else if i < MAX_WARNINGS {
            tracing::warn!(
                path = %p.shown,
                mode = %mode,
                wanted = %wanted,
                "accessible by group or others: restart with --fix-permissions (PHR_FIX_PERMISSIONS=true) \
                 to tighten it, or run chmod {wanted} on it"
            );
        }
    }
    if !fix && loose.len() > MAX_WARNINGS {
        tracing::warn!(
            count = loose.len() - MAX_WARNINGS,
            "more paths in the data directory are accessible by group or others; --fix-permissions tightens all"
        );
    }
    Ok(loose.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_dirs_and_files_are_owner_only_whatever_the_umask() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        drop(create_private_file(&dir.join("x.csv")).unwrap());
        assert_eq!(mode(&dir.join("x.csv")), 0o600);
        create_private_file_if_missing(&dir.join("db")).unwrap();
        assert_eq!(mode(&dir.join("db")), 0o600);
    }

    #[test]
    fn loose_paths_are_found_relative_to_the_data_dir_and_fixed_on_request() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        create_private_dir(&data.join("research/e1")).unwrap();
        fs::write(data.join("phr.db"), b"").unwrap();
        fs::write(data.join("research/e1/a.csv"), b"").unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(data.join("phr.db"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(data.join("research/e1/a.csv"), fs::Permissions::from_mode(0o600)).unwrap();
        let outside = tmp.path().join("other.db");
        fs::write(&outside, b"").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o640)).unwrap();
        let extra = sqlite_files(&outside);
        let shown: Vec<String> = loose_paths(&data, &extra).unwrap().into_iter().map(|p| p.shown).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(shown.contains(&".".to_owned()) && shown.contains(&"phr.db".to_owned()), "{shown:?}");
        assert_eq!(check_permissions(&data, &extra, false).unwrap(), 3);
        assert_eq!(mode(&data), 0o755, "warning only");
        assert_eq!(check_permissions(&data, &extra, true).unwrap(), 3);
        assert_eq!((mode(&data), mode(&data.join("phr.db")), mode(&outside)), (0o700, 0o600, 0o600));
        assert!(loose_paths(&data, &extra).unwrap().is_empty());
    }
}
