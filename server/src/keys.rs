//! The server's key directory (`DATA_DIR/keys`, mode 0700; files mode 0600).
//!
//! Keys are created on first run and never stored in the database or the repo.
//! Each key file is `<purpose>-<kid>.key` holding the base64 secret; the key id
//! (`kid`) starts with the UTC creation time so the newest key of a purpose is
//! the current one and older ones stay readable after a rotation.
//!
//! | purpose | what | used for |
//! |---|---|---|
//! | `view` | X25519 private key (32 bytes) | HPKE: devices wrap grant keys to its public key so the server can serve consented data |
//! | `token` | Ed25519 key pair (PKCS#8) | signing access tokens (EdDSA JWTs) |
//!
//! A key file readable by group or others is refused at start, like ssh does.

use std::fmt;

use phr_core::crypto::GrantKey;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::ServerError;

/// What a server key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    View,
    Token,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::View, KeyPurpose::Token];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::View => "view",
            KeyPurpose::Token => "token",
        }
    }

    fn generate(self, rng: &SystemRandom) -> Result<Zeroizing<Vec<u8>>, ServerError> {
        match self {
            KeyPurpose::View => {
                let mut secret = Zeroizing::new(vec![0u8; 32]);
                rng.fill(&mut secret).map_err(|_| ServerError::Keys("system RNG failed".into()))?;
                Ok(secret)
            }
            KeyPurpose::Token => Ed25519KeyPair::generate_pkcs8(rng)
                .map(|doc| Zeroizing::new(doc.as_ref().to_vec()))
                .map_err(|_| ServerError::Keys("cannot generate an Ed25519 key".into())),
        }
    }

    fn check(self, secret: &[u8]) -> Result<(), String> {
        match self {
            KeyPurpose::View if secret.len() == 32 => Ok(()),
            KeyPurpose::View => Err(format!("expected 32 bytes, found {}", secret.len())),
            KeyPurpose::Token => Ed25519KeyPair::from_pkcs8(secret).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

/// One secret key with its id. `Debug` shows the id only.
pub struct ServerKey {
    pub kid: String,
    secret: Zeroizing<Vec<u8>>,
}

impl ServerKey {
    /// The raw secret: 32 bytes (view) or PKCS#8 DER (token).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({})", self.kid)
    }
}

/// All keys of the key directory, newest last per purpose.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    view: Vec<ServerKey>,
    token: Vec<ServerKey>,
    /// Grant keys already opened with one of the view keys above.
    opened_grant_keys: OpenedGrantKeys,
}

/// The most opened grant keys kept (the cache is emptied when full).
const MAX_OPENED_GRANT_KEYS: usize = 4096;

/// (account, grant id, SHA-256 over view key secret ‖ 0 ‖ wrapped grant key).
pub type OpenedGrantKeyId = (String, uuid::Uuid, [u8; 32]);

/// Grant keys already opened with a view key of this store, so that a request
/// skips the HPKE open (~75 µs per grant) of grants opened before. Owned by the
/// [`KeyStore`] (one per server), never process-global. Only consulted for a
/// grant row just read from the database as active, with its wrapped key still
/// present: revocation deletes the wrapped key, so a revoked grant never reaches
/// the cache again, and a re-wrapped key or another view key misses.
#[derive(Default)]
struct OpenedGrantKeys(std::sync::Mutex<std::collections::HashMap<OpenedGrantKeyId, std::sync::Arc<GrantKey>>>);

impl fmt::Debug for OpenedGrantKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenedGrantKeys(..)")
    }
}

impl KeyStore {
    /// A grant key opened before under `id` ([`OpenedGrantKeyId`]).
    pub fn opened_grant_key(&self, id: &OpenedGrantKeyId) -> Option<std::sync::Arc<GrantKey>> {
        self.opened_grant_keys.0.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Remembers an opened grant key under `id`.
    pub fn remember_grant_key(&self, id: OpenedGrantKeyId, key: std::sync::Arc<GrantKey>) {
        let mut cache = self.opened_grant_keys.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_OPENED_GRANT_KEYS {
            cache.clear();
        }
        cache.insert(id, key);
    }

    /// Opens the key directory, creating it and any missing key on first run.
    /// Returns the store and the ids of the keys it created.
    ///
    /// Several server nodes may share one key directory and start at once: the first to take
    /// the directory's lock file creates the missing keys, the others then load them.
    pub fn open_or_create(dir: &Path) -> Result<(KeyStore, Vec<String>), ServerError> {
        create_private_dir(dir)?;
        let lock_path = dir.join(".lock");
        let io = |e: std::io::Error| ServerError::Keys(format!("cannot lock {}: {e}", lock_path.display()));
        let lock =
            fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&lock_path).map_err(io)?;
        lock.lock().map_err(io)?;
        let rng = SystemRandom::new();
        let mut store = KeyStore {
            dir: dir.to_owned(),
            view: Vec::new(),
            token: Vec::new(),
            opened_grant_keys: Default::default(),
        };
        store.load()?;
        let mut created = Vec::new();
        for purpose in KeyPurpose::ALL {
            if store.keys(purpose).is_empty() {
                created.push(store.create(purpose, &rng)?);
            }
        }
        drop(lock);
        Ok((store, created))
    }

    /// Adds a new current key of `purpose`; older keys stay for decryption/verification.
    pub fn rotate(&mut self, purpose: KeyPurpose) -> Result<String, ServerError> {
        self.create(purpose, &SystemRandom::new())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key of a purpose, oldest first.
    pub fn keys(&self, purpose: KeyPurpose) -> &[ServerKey] {
        match purpose {
            KeyPurpose::View => &self.view,
            KeyPurpose::Token => &self.token,
        }
    }

    /// The newest key of a purpose (there is always one after `open_or_create`).
    pub fn current(&self, purpose: KeyPurpose) -> Option<&ServerKey> {
        self.keys(purpose).last()
    }

    /// An HMAC-SHA-256 key derived, under `label`, from the first (oldest) view key: it stays
    /// with the data through view-key rotations, so ids and hashes made with it do not change.
    /// `None` before `open_or_create` made a view key.
    pub fn derived_hmac_key(&self, label: &[u8]) -> Option<ring::hmac::Key> {
        use ring::hmac;
        let view = self.keys(KeyPurpose::View).first()?;
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, view.secret()), label);
        Some(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    pub fn by_kid(&self, purpose: KeyPurpose, kid: &str) -> Option<&ServerKey> {
        self.keys(purpose).iter().find(|k| k.kid == kid)
    }

    /// The Ed25519 public key of the current token key (raw 32 bytes).
    pub fn token_public_key(&self) -> Option<Vec<u8>> {
        let key = self.current(KeyPurpose::Token)?;
        Ed25519KeyPair::from_pkcs8(key.secret()).ok().map(|kp| kp.public_key().as_ref().to_vec())
    }

    fn keys_mut(&mut self, purpose: KeyPurpose) -> &mut Vec<ServerKey> {
        match purpose {
            KeyPurpose::View => &mut self.view,
            KeyPurpose::Token => &mut self.token,
        }
    }

    fn load(&mut self) -> Result<(), ServerError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| ServerError::Keys(format!("cannot read {}: {e}", self.dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| ServerError::Keys(format!("cannot read {}: {e}", self.dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".key") else { continue };
            let Some(purpose) = KeyPurpose::ALL.into_iter().find(|p| stem.starts_with(&format!("{}-", p.as_str())))
            else {
                continue;
            };
            let kid = stem[purpose.as_str().len() + 1..].to_owned();
            let secret = read_key_file(&entry.path(), purpose)?;
            self.keys_mut(purpose).push(ServerKey { kid, secret });
        }
        for purpose in KeyPurpose::ALL {
            self.keys_mut(purpose).sort_by(|a, b| a.kid.cmp(&b.kid));
        }
        Ok(())
    }

    fn create(&mut self, purpose: KeyPurpose, rng: &SystemRandom) -> Result<String, ServerError> {
        let mut suffix = [0u8; 4];
        rng.fill(&mut suffix).map_err(|_| ServerError::Keys("system RNG failed".into()))?;
        let kid = format!("{}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"), hex::encode(suffix));
        let secret = purpose.generate(rng)?;
        let path = self.dir.join(format!("{}-{kid}.key", purpose.as_str()));
        write_key_file(&path, &secret)?;
        self.keys_mut(purpose).push(ServerKey { kid: kid.clone(), secret });
        Ok(format!("{}-{kid}", purpose.as_str()))
    }
}

fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    crate::files::create_private_dir(dir)
        .map_err(|e| ServerError::Keys(format!("cannot create {}: {e}", dir.display())))?;
    let mode = fs::metadata(dir)
        .map_err(|e| ServerError::Keys(format!("cannot stat {}: {e}", dir.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| ServerError::Keys(format!("cannot restrict {} to mode 0700: {e}", dir.display())))?;
    }
    Ok(())
}

fn read_key_file(path: &Path, purpose: KeyPurpose) -> Result<Zeroizing<Vec<u8>>, ServerError> {
    let meta = fs::metadata(path).map_err(|e| ServerError::Keys(format!("cannot stat {}: {e}", path.display())))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ServerError::Keys(format!(
            "key file {} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|e| ServerError::Keys(format!("cannot read {}: {e}", path.display())))?,
    );
    let secret = Zeroizing::new(
        B64.decode(text.trim())
            .map_err(|_| ServerError::Keys(format!("key file {} is not valid base64", path.display())))?,
    );
    purpose.check(&secret).map_err(|why| {
        ServerError::Keys(format!("key file {} is not a valid {} key: {why}", path.display(), purpose.as_str()))
    })?;
    Ok(secret)
}

/// Writes a new key file with mode 0600 from the start (never world-readable,
/// not even briefly), via a temporary file renamed into place.
fn write_key_file(path: &Path, secret: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("key.tmp");
    let io = |e: std::io::Error| ServerError::Keys(format!("cannot write {}: {e}", path.display()));
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(io)?;
    let encoded = Zeroizing::new(B64.encode(secret));
    file.write_all(encoded.as_bytes()).and_then(|_| file.write_all(b"\n")).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_open_creates_one_key_per_purpose_with_mode_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let (store, created) = KeyStore::open_or_create(&dir).unwrap();
        assert_eq!(created.len(), 2);
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.iter().filter(|f| f.extension().is_some_and(|e| e == "key")).count(), 2);
        assert_eq!(files.len(), 3, "the two keys and the lock file");
        for f in &files {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        assert_eq!(store.current(KeyPurpose::View).unwrap().secret().len(), 32);
        assert_eq!(store.token_public_key().unwrap().len(), 32);
    }

    #[test]
    fn nodes_opening_one_new_key_directory_at_once_share_one_key_per_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let keys = keys.clone();
                std::thread::spawn(move || KeyStore::open_or_create(&keys).unwrap())
            })
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(opened.iter().map(|(_, created)| created.len()).sum::<usize>(), KeyPurpose::ALL.len());
        for (store, _) in &opened {
            for purpose in KeyPurpose::ALL {
                assert_eq!(store.keys(purpose).len(), 1);
                assert_eq!(store.current(purpose).unwrap().kid, opened[0].0.current(purpose).unwrap().kid);
            }
        }
        assert_eq!(mode(&keys.join(".lock")) & 0o777, 0o600);
    }

    #[test]
    fn second_open_loads_the_same_keys_and_creates_none() {
        let tmp = tempfile::tempdir().unwrap();
        let (first, _) = KeyStore::open_or_create(tmp.path()).unwrap();
        let (second, created) = KeyStore::open_or_create(tmp.path()).unwrap();
        assert!(created.is_empty());
        let (a, b) = (first.current(KeyPurpose::View).unwrap(), second.current(KeyPurpose::View).unwrap());
        assert_eq!(a.kid, b.kid);
        assert_eq!(a.secret(), b.secret());
    }

    #[test]
    fn rotation_makes_a_new_current_key_and_keeps_the_old_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = KeyStore::open_or_create(tmp.path()).unwrap();
        let old = store.current(KeyPurpose::View).unwrap().kid.clone();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        store.rotate(KeyPurpose::View).unwrap();
        let (reloaded, _) = KeyStore::open_or_create(tmp.path()).unwrap();
        assert_eq!(reloaded.keys(KeyPurpose::View).len(), 2);
        assert_ne!(reloaded.current(KeyPurpose::View).unwrap().kid, old);
        assert!(reloaded.by_kid(KeyPurpose::View, &old).is_some());
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        KeyStore::open_or_create(tmp.path()).unwrap();
        let file = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "key"))
            .unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyStore::open_or_create(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_corrupt_key_file_is_refused_with_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        write_key_file(&tmp.path().join("view-1.key"), b"short").unwrap();
        let err = KeyStore::open_or_create(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("view-1.key"), "{err}");
    }

    #[test]
    fn debug_output_shows_key_ids_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = KeyStore::open_or_create(tmp.path()).unwrap();
        let key = store.current(KeyPurpose::View).unwrap();
        let printed = format!("{store:?}");
        assert!(printed.contains(&key.kid));
        assert!(!printed.contains(&B64.encode(key.secret())));
        assert!(!printed.contains(&hex::encode(key.secret())));
    }
}
