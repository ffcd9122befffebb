//! Answers to repeated identical searches, kept for a short time and served
//! only while they are exactly what a fresh search would return.
//!
//! A clinic's dashboard or an EHR network's poller asks the same searches
//! again and again, and each fresh answer costs a decrypt and a mapping of
//! every record in the window (the codes are inside the sealed bodies, so the
//! server cannot narrow by code in SQL). The answer is kept under
//! (organization, type, query, base URL) with a [`Fingerprint`] of everything
//! it was made from:
//!
//! - every grant the organization may use right now (account, grant id and a
//!   digest of the stored grant row: its JSON with scope and period, its
//!   wrapped key and view key id), so a new, changed, expired or revoked grant
//!   misses;
//! - for each family the search looked at, `accounts.change_seq` (bumped by
//!   every record write or delete, from a device or through FHIR) and
//!   `accounts.consent_seq` (bumped whenever the record keys held by a grant
//!   change).
//!
//! The fingerprint is read from the database on every request, *before* the
//! records would be read, so a hit is never older than the state the request
//! sees, also with several servers on one PostgreSQL database. A hit is still
//! audited like a fresh read (the same records, the same grants). Entries hold
//! plaintext health data in memory, so: they expire after `ttl` (default 60 s),
//! the whole cache is bounded in bytes, their bytes are zeroized when dropped,
//! and revoking a grant or deleting an account drops every entry holding that
//! family's data at once ([`SearchCache::forget_account`]). Size 0 disables
//! the cache (`--fhir-search-cache-mb 0`).
//!
//! Only searches asked again are kept ([`SearchCache::admits`]): the first time a search is
//! seen, only a keyed hash of it is noted (no health data, nothing of the query readable);
//! asked again within `ttl`, its answer is fingerprinted and kept. A clinic that asks many
//! different questions then pays neither the fingerprint reads nor the copies into the cache
//! for answers nobody asks for twice.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::Visible;
use crate::app::error::AppError;
use crate::store::DbConnection;

/// What one cached answer was made from (SHA-256; see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", hex::encode(&self.0[..6]))
    }
}

/// The fingerprint of a search over the families `accounts` by an organization seeing `visible`.
pub fn fingerprint(conn: &mut DbConnection, visible: &Visible, accounts: &[String]) -> Result<Fingerprint, AppError> {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut field = |bytes: &[u8]| {
        digest.update(&(bytes.len() as u64).to_be_bytes());
        digest.update(bytes);
    };
    let mut families: Vec<&str> = accounts.iter().map(String::as_str).collect();
    families.sort_unstable();
    families.dedup();
    // The grants of the families searched (not every family's: a search by patient is about one).
    for g in visible.grants.iter().filter(|g| families.binary_search(&g.account_id.as_str()).is_ok()) {
        field(g.account_id.as_bytes());
        field(g.grant.id.0.as_bytes());
        field(g.stored_digest());
    }
    field(b"families");
    for (account, change_seq, consent_seq) in crate::store::fhir::change_counters(conn, &families)? {
        field(account.as_bytes());
        field(&change_seq.to_be_bytes());
        field(&consent_seq.to_be_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.finish().as_ref());
    Ok(Fingerprint(out))
}

/// Which search an answer is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchKey {
    pub organization_id: String,
    pub resource_type: String,
    pub query: String,
    pub base_url: String,
}

/// One audit event a read writes: the family, the grant read through, the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAudit {
    pub account_id: String,
    pub grant_id: String,
    pub record_ids: Vec<String>,
}

/// A cached answer: the response body and the audit events a read of it writes.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    pub body: Vec<u8>,
    pub reads: Vec<ReadAudit>,
}

struct Entry {
    fingerprint: Fingerprint,
    body: Zeroizing<Vec<u8>>,
    reads: Vec<ReadAudit>,
    /// The families whose data the body holds.
    accounts: Vec<String>,
    stored_at: Instant,
    /// Insertion number (to tell a current entry from a replaced one in `order`).
    serial: u64,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.body.len() + self.reads.iter().map(|r| 64 + r.record_ids.len() * 40).sum::<usize>() + 256
    }
}

#[derive(Default)]
struct Entries {
    map: HashMap<SearchKey, Entry>,
    /// Keys in insertion order (oldest first), with the serial they were inserted with.
    order: VecDeque<(SearchKey, u64)>,
    bytes: usize,
    serial: u64,
}

impl Entries {
    fn remove(&mut self, key: &SearchKey) {
        if let Some(e) = self.map.remove(key) {
            self.bytes -= e.bytes();
        }
    }
}

/// The search answer cache of one server process (see the module docs).
pub struct SearchCache {
    max_bytes: usize,
    ttl: Duration,
    entries: Mutex<Entries>,
    /// Searches seen once (keyed hash -> when), not yet kept ([`SearchCache::admits`]).
    asked: Mutex<HashMap<u64, Instant>>,
    hasher: std::collections::hash_map::RandomState,
}

impl SearchCache {
    /// A cache of at most `max_bytes` whose entries live `ttl`; `max_bytes == 0` keeps nothing.
    pub fn new(max_bytes: usize, ttl: Duration) -> SearchCache {
        SearchCache {
            max_bytes,
            ttl,
            entries: Mutex::new(Entries::default()),
            asked: Mutex::new(HashMap::new()),
            hasher: Default::default(),
        }
    }

    /// Most searches remembered as seen once; past it, those older than `ttl` are forgotten
    /// (all of them if none is).
    const MAX_ASKED: usize = 65_536;

    /// Whether the answer to `key` is worth fingerprinting: it is kept already, or the search
    /// was seen before within `ttl`. Otherwise notes it as seen and answers false.
    pub fn admits(&self, key: &SearchKey) -> bool {
        if !self.enabled() {
            return false;
        }
        if self.lock().map.contains_key(key) {
            return true;
        }
        let hash = self.hasher.hash_one(key);
        let now = Instant::now();
        let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = asked.get(&hash) {
            if now.duration_since(*at) < self.ttl {
                asked.remove(&hash);
                return true;
            }
        }
        if asked.len() >= Self::MAX_ASKED {
            let ttl = self.ttl;
            asked.retain(|_, at| now.duration_since(*at) < ttl);
            if asked.len() >= Self::MAX_ASKED {
                asked.clear();
            }
        }
        asked.insert(hash, now);
        false
    }

    /// Whether answers are kept at all.
    pub fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key` if it was made from exactly `fingerprint` and is not expired.
    pub fn get(&self, key: &SearchKey, fingerprint: &Fingerprint) -> Option<CachedAnswer> {
        let mut entries = self.lock();
        let entry = entries.map.get(key)?;
        if entry.fingerprint == *fingerprint && entry.stored_at.elapsed() < self.ttl {
            return Some(CachedAnswer { body: entry.body.to_vec(), reads: entry.reads.clone() });
        }
        entries.remove(key);
        None
    }

    /// Keeps an answer made from `fingerprint` that holds data of the families `accounts`.
    pub fn put(&self, key: SearchKey, fingerprint: Fingerprint, answer: CachedAnswer, accounts: Vec<String>) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.lock();
        entries.serial += 1;
        let serial = entries.serial;
        let entry = Entry {
            fingerprint,
            body: Zeroizing::new(answer.body),
            reads: answer.reads,
            accounts,
            stored_at: Instant::now(),
            serial,
        };
        let size = entry.bytes();
        // One answer may take at most an eighth of the cache.
        if size > self.max_bytes / 8 {
            entries.remove(&key);
            return;
        }
        entries.remove(&key);
        while entries.bytes + size > self.max_bytes {
            let Some((old, old_serial)) = entries.order.pop_front() else { break };
            if entries.map.get(&old).is_some_and(|e| e.serial == old_serial) {
                entries.remove(&old);
            }
        }
        entries.bytes += size;
        entries.order.push_back((key.clone(), serial));
        entries.map.insert(key, entry);
        // `order` keeps replaced keys until they reach the front; keep it from growing without bound.
        if entries.order.len() > 4 * entries.map.len() + 64 {
            let Entries { map, order, .. } = &mut *entries;
            order.retain(|(k, s)| map.get(k).is_some_and(|e| e.serial == *s));
        }
    }

    /// Drops every answer holding data of `account_id` (a grant was revoked, the account deleted).
    pub fn forget_account(&self, account_id: &str) {
        let mut entries = self.lock();
        let stale: Vec<SearchKey> = entries
            .map
            .iter()
            .filter(|(_, e)| e.accounts.iter().any(|a| a == account_id))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            entries.remove(&key);
        }
    }

    /// Answers kept and their bytes (for tests and diagnostics).
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.map.len(), entries.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(q: &str) -> SearchKey {
        SearchKey {
            organization_id: "clinic".into(),
            resource_type: "Observation".into(),
            query: q.into(),
            base_url: "http://h".into(),
        }
    }

    fn answer(len: usize, account: &str) -> CachedAnswer {
        CachedAnswer {
            body: vec![7; len],
            reads: vec![ReadAudit { account_id: account.into(), grant_id: "g".into(), record_ids: vec!["r1".into()] }],
        }
    }

    #[test]
    fn an_answer_is_served_only_for_the_same_search_and_the_same_fingerprint() {
        let cache = SearchCache::new(1 << 20, Duration::from_secs(60));
        cache.put(key("a"), Fingerprint([1; 32]), answer(10, "acc"), vec!["acc".into()]);
        let hit = cache.get(&key("a"), &Fingerprint([1; 32])).unwrap();
        assert_eq!((hit.body, hit.reads[0].record_ids.clone()), (vec![7; 10], vec!["r1".to_owned()]));
        assert!(cache.get(&key("b"), &Fingerprint([1; 32])).is_none(), "another query");
        assert!(cache.get(&key("a"), &Fingerprint([2; 32])).is_none(), "the data or the grants changed");
        assert!(cache.get(&key("a"), &Fingerprint([1; 32])).is_none(), "a mismatch drops the entry");
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn a_search_is_worth_keeping_once_it_is_asked_again() {
        let cache = SearchCache::new(1 << 20, Duration::from_secs(60));
        assert!(!cache.admits(&key("a")), "first time: only noted");
        assert!(!cache.admits(&key("b")));
        assert!(cache.admits(&key("a")), "asked again");
        cache.put(key("a"), Fingerprint([1; 32]), answer(10, "acc"), vec!["acc".into()]);
        assert!(cache.admits(&key("a")), "kept: always worth checking");
        assert!(cache.admits(&key("b")));
        let off = SearchCache::new(0, Duration::from_secs(60));
        assert!(!off.admits(&key("a")) && !off.admits(&key("a")), "a disabled cache admits nothing");
        let short = SearchCache::new(1 << 20, Duration::from_millis(20));
        assert!(!short.admits(&key("a")));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!short.admits(&key("a")), "seen too long ago: noted again");
    }

    #[test]
    fn answers_expire_after_the_ttl_and_a_disabled_cache_keeps_nothing() {
        let cache = SearchCache::new(1 << 20, Duration::from_millis(20));
        cache.put(key("a"), Fingerprint([1; 32]), answer(10, "acc"), vec!["acc".into()]);
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get(&key("a"), &Fingerprint([1; 32])).is_none());
        let off = SearchCache::new(0, Duration::from_secs(60));
        assert!(!off.enabled());
        off.put(key("a"), Fingerprint([1; 32]), answer(10, "acc"), vec!["acc".into()]);
        assert_eq!(off.usage(), (0, 0));
    }

    #[test]
    fn the_cache_stays_within_its_bytes_by_dropping_the_oldest_answers() {
        let cache = SearchCache::new(64 * 1024, Duration::from_secs(60));
        for i in 0..40 {
            cache.put(key(&i.to_string()), Fingerprint([1; 32]), answer(4000, "acc"), vec!["acc".into()]);
            // Replacing an answer does not count it twice.
            cache.put(key(&i.to_string()), Fingerprint([1; 32]), answer(4000, "acc"), vec!["acc".into()]);
        }
        let (n, bytes) = cache.usage();
        assert!(bytes <= 64 * 1024 && n < 40 && n > 5, "{n} answers, {bytes} bytes");
        assert!(cache.get(&key("39"), &Fingerprint([1; 32])).is_some(), "the newest stays");
        assert!(cache.get(&key("0"), &Fingerprint([1; 32])).is_none(), "the oldest went");
        cache.put(key("big"), Fingerprint([1; 32]), answer(9000, "acc"), vec!["acc".into()]);
        assert!(cache.get(&key("big"), &Fingerprint([1; 32])).is_none(), "over an eighth of the cache: not kept");
    }

    #[test]
    fn forgetting_a_family_drops_every_answer_holding_its_data() {
        let cache = SearchCache::new(1 << 20, Duration::from_secs(60));
        cache.put(key("a"), Fingerprint([1; 32]), answer(10, "acc-1"), vec!["acc-1".into()]);
        cache.put(key("b"), Fingerprint([1; 32]), answer(10, "acc-2"), vec!["acc-1".into(), "acc-2".into()]);
        cache.put(key("c"), Fingerprint([1; 32]), answer(10, "acc-2"), vec!["acc-2".into()]);
        cache.forget_account("acc-1");
        assert!(cache.get(&key("a"), &Fingerprint([1; 32])).is_none());
        assert!(cache.get(&key("b"), &Fingerprint([1; 32])).is_none());
        assert!(cache.get(&key("c"), &Fingerprint([1; 32])).is_some());
    }
}
