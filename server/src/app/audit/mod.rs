//! The append-only, hash-chained audit log (one chain per account).
//!
//! Every sign-in, grant change and every read or write through a grant
//! appends an event *in the same transaction* as the action it records. Each
//! event's hash covers the previous event's hash and all of its own fields,
//! and the account row keeps the head (last seq and hash), so editing,
//! removing or reordering any entry — including the last — is detected by
//! [`verify_account`] (`phr-server audit verify`).
//! Events name ids and outcomes only, never health data.

use std::collections::HashMap;
use std::sync::Mutex;

use phr_core::sync::protocol::{AuditEventInfo, AuditPage};
use ring::digest::{digest, SHA256};
use serde::Serialize;

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::App;
use crate::store::audit as store;
use crate::store::{DbConnection, DbError, QueryResult};

pub mod action;
pub mod operator;

pub use action::{AuditAction, AuditOutcome, FhirAuditAction};
pub use store::AuditRow;

/// What happened, as recorded. `record_ids` lists the records touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent<'a> {
    pub actor: &'a str,
    pub action: AuditAction,
    pub grant_id: Option<&'a str>,
    pub record_ids: Vec<String>,
    pub outcome: AuditOutcome,
    /// For a repeated event recorded once per so many occurrences
    /// ([`Repeats`]): how many there had been in its window.
    pub occurrences: Option<i64>,
    /// The reason the actor gave (break-glass), stored with the event and covered by its hash.
    pub reason: Option<&'a str>,
    /// The person acting for the actor (a care-team portal staff member's name), stored with
    /// the event and covered by its hash.
    pub actor_name: Option<&'a str>,
}

/// Who an access is audited as: the actor id (`organization:<id>`, `device:<id>`, or for a
/// care-team portal staff member `organization:<id>/staff:<staff id>`) and, for a person acting
/// for an organization, their name. Every audited access names its actor through this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub name: Option<String>,
}

impl From<String> for Actor {
    fn from(id: String) -> Actor {
        Actor { id, name: None }
    }
}

impl<'a> NewAuditEvent<'a> {
    /// An event of `actor` (its id and name) about the account itself.
    pub fn by(actor: &'a Actor, action: AuditAction, outcome: AuditOutcome) -> Self {
        NewAuditEvent { actor_name: actor.name.as_deref(), ..NewAuditEvent::new(&actor.id, action, outcome) }
    }

    /// An event about the account itself (no grant, no records).
    pub fn new(actor: &'a str, action: AuditAction, outcome: AuditOutcome) -> Self {
        NewAuditEvent {
            actor,
            action,
            grant_id: None,
            record_ids: Vec::new(),
            outcome,
            occurrences: None,
            reason: None,
            actor_name: None,
        }
    }

    /// The grant the access went through.
    pub fn grant(mut self, grant_id: &'a str) -> Self {
        self.grant_id = Some(grant_id);
        self
    }

    /// The records touched.
    pub fn records(mut self, record_ids: Vec<String>) -> Self {
        self.record_ids = record_ids;
        self
    }

    /// The reason the actor gave for the access.
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The count of a repeated event (see [`Repeats`]).
    pub fn occurrences(mut self, count: u64) -> Self {
        self.occurrences = Some(i64::try_from(count).unwrap_or(i64::MAX));
        self
    }
}

/// The fields an event's hash covers, in a fixed order (serialised as JSON).
#[derive(Serialize)]
struct Hashed<'a> {
    account_id: &'a str,
    seq: i64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    grant_id: Option<&'a str>,
    record_ids: &'a str,
    outcome: &'a str,
    /// Absent (not `null`) when `None`: events without a count hash exactly
    /// as they did before the field existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    occurrences: Option<i64>,
    /// Absent when `None`, like `occurrences`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// Absent when `None`, like `occurrences`.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<&'a str>,
}

fn event_hash(prev_hash: &str, fields: &Hashed<'_>) -> String {
    chain_hash(b"phr-audit-v1\n", prev_hash, fields)
}

/// The hash of one event of a chain: SHA-256 (hex) over a domain line, the previous event's
/// hash and the event's fields as JSON. Shared by the families' logs and the operator's.
fn chain_hash<T: Serialize>(domain: &[u8], prev_hash: &str, fields: &T) -> String {
    let mut input = Vec::with_capacity(256);
    input.extend_from_slice(domain);
    input.extend_from_slice(prev_hash.as_bytes());
    input.push(b'\n');
    // Serialising a struct of strings and integers cannot fail.
    input.extend_from_slice(&serde_json::to_vec(fields).unwrap_or_default());
    hex::encode(digest(&SHA256, &input))
}

/// Appends one event to the account's chain. Call inside the transaction of
/// the action being recorded. [`append_all`] of one event.
pub fn append(conn: &mut DbConnection, account_id: &str, at: i64, event: &NewAuditEvent<'_>) -> QueryResult<i64> {
    let seqs = append_all(conn, &[(account_id, at, event)])?;
    seqs.first().copied().ok_or(DbError::NotFound)
}

/// Appends events to their accounts' chains (one or many accounts; each account's in the
/// order given), returning each event's sequence number. Call inside the transaction of the
/// actions being recorded. This is the one function that extends a chain: it reserves the
/// sequence numbers of all the events' accounts at once, hashes each event onto the one before
/// it, and stores them together, so a batch of events costs two statements however many
/// accounts it touches. An account that does not exist fails the whole call (`NotFound`).
pub fn append_all(conn: &mut DbConnection, events: &[(&str, i64, &NewAuditEvent<'_>)]) -> QueryResult<Vec<i64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for (account_id, _, _) in events {
        *counts.entry(account_id).or_default() += 1;
    }
    let wanted: Vec<(&str, i64)> = counts.iter().map(|(a, n)| (*a, *n)).collect();
    // Per account: (next seq to hand out, hash of the event before it).
    let mut next: HashMap<String, (i64, String)> = HashMap::new();
    for (account_id, last, head) in store::reserve_seqs(conn, &wanted)? {
        let n = counts.get(account_id.as_str()).copied().unwrap_or(0);
        next.insert(account_id, (last - n + 1, head));
    }
    let mut seqs = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for (account_id, at, event) in events {
        let (seq, prev_hash) = next.get_mut(*account_id).ok_or(DbError::NotFound)?;
        let record_ids = serde_json::to_string(&event.record_ids).unwrap_or_else(|_| "[]".into());
        let hash = event_hash(
            prev_hash,
            &Hashed {
                account_id,
                seq: *seq,
                at: *at,
                actor: event.actor,
                action: event.action.as_str(),
                grant_id: event.grant_id,
                record_ids: &record_ids,
                outcome: event.outcome.as_str(),
                occurrences: event.occurrences,
                reason: event.reason,
                actor_name: event.actor_name,
            },
        );
        rows.push(AuditRow {
            account_id: (*account_id).to_owned(),
            seq: *seq,
            at: *at,
            actor: event.actor.to_owned(),
            action: event.action.as_str().to_owned(),
            grant_id: event.grant_id.map(str::to_owned),
            record_ids,
            outcome: event.outcome.as_str().to_owned(),
            prev_hash: std::mem::replace(prev_hash, hash.clone()),
            hash,
            occurrences: event.occurrences,
            reason: event.reason.map(str::to_owned),
            actor_name: event.actor_name.map(str::to_owned),
        });
        seqs.push(*seq);
        *seq += 1;
    }
    store::append_events(conn, &rows)?;
    Ok(seqs)
}

/// Coalesces an event that anyone may cause over and over (a fetch of the
/// sealed key backup, a denied sign-in: both unauthenticated): per
/// account, action and window (an hour by default), only the 1st, 2nd, 4th,
/// 8th… occurrence is written, each carrying the count so far
/// ([`NewAuditEvent::occurrences`]). The family learns of the first one at
/// once, a flood adds about log2(n) entries instead of n (at most 22 an hour
/// for a million requests), and every entry's count is exact.
///
/// The counts live in memory, per server process: after a restart (or on
/// another node) the next occurrence is written again as the 1st. The hash
/// chain stays append-only: nothing written is ever updated.
pub struct Repeats {
    window_ms: i64,
    /// (account, action) -> (window, occurrences in it).
    seen: Mutex<HashMap<RepeatKey, (i64, u64)>>,
}

type RepeatKey = (String, AuditAction, AuditOutcome);

impl Repeats {
    /// Most (account, action) pairs remembered before past windows are forgotten.
    const MAX_KEYS: usize = 100_000;

    pub fn new(window: std::time::Duration) -> Repeats {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        Repeats { window_ms, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one occurrence of `action` on `account` at `now_ms`; returns the
    /// count if this occurrence is to be written (a power of two).
    pub fn occurrence(&self, account: &str, action: AuditAction, outcome: AuditOutcome, now_ms: i64) -> Option<u64> {
        let window = now_ms.div_euclid(self.window_ms);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::MAX_KEYS {
            seen.retain(|_, (w, _)| *w == window);
        }
        let entry = seen.entry((account.to_owned(), action, outcome)).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1.is_power_of_two().then_some(entry.1)
    }
}

/// Records a refused access or change as `denied` in `account_id`'s log — the
/// family the target belongs to — in a transaction of its own, since the
/// refused action's transaction is rolled back. The event names the actor, the
/// action and at most the grant aimed at: never the refused content. Every
/// refusal (FHIR reads and writes, grant operations) is audited through this
/// one function. Top level only (not inside another transaction).
pub fn append_denied(
    conn: &mut DbConnection,
    account_id: &str,
    actor: &Actor,
    action: AuditAction,
    grant_id: Option<&str>,
) -> QueryResult<()> {
    let now = crate::app::now_ms();
    crate::store::write_transaction(conn, |conn| {
        let mut event = NewAuditEvent::by(actor, action, crate::app::audit::AuditOutcome::Denied);
        event.grant_id = grant_id;
        append(conn, account_id, now, &event).map(|_| ())
    })
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("account {account}: event {seq} is missing (sequence jumps to {found})")]
    Gap { account: String, seq: i64, found: i64 },
    #[error("account {account}: event {seq} does not link to the previous event")]
    BrokenLink { account: String, seq: i64 },
    #[error("account {account}: event {seq} was altered (hash mismatch)")]
    Altered { account: String, seq: i64 },
    #[error("account {account}: the log ends at event {found} but the account's head says {expected}")]
    Truncated { account: String, expected: i64, found: i64 },
}

/// Events read at a time by [`verify_account`].
const VERIFY_PAGE: i64 = 1000;

/// Verifies one account's chain, reading it in pages. Returns the events checked.
pub fn verify_account(conn: &mut DbConnection, account_id: &str) -> Result<u64, VerifyError> {
    let (head_seq, head_hash) = store::head(conn, account_id)?;
    let mut expected_seq = 1i64;
    let mut prev_hash = String::new();
    loop {
        let page = store::events_after(conn, account_id, expected_seq - 1, VERIFY_PAGE)?;
        if page.is_empty() {
            break;
        }
        for row in page {
            let account = account_id.to_owned();
            if row.seq != expected_seq {
                return Err(ChainBreak::Gap { account, seq: expected_seq, found: row.seq }.into());
            }
            if row.prev_hash != prev_hash {
                return Err(ChainBreak::BrokenLink { account, seq: row.seq }.into());
            }
            let recomputed = event_hash(
                &prev_hash,
                &Hashed {
                    account_id,
                    seq: row.seq,
                    at: row.at,
                    actor: &row.actor,
                    action: &row.action,
                    grant_id: row.grant_id.as_deref(),
                    record_ids: &row.record_ids,
                    outcome: &row.outcome,
                    occurrences: row.occurrences,
                    reason: row.reason.as_deref(),
                    actor_name: row.actor_name.as_deref(),
                },
            );
            if recomputed != row.hash {
                return Err(ChainBreak::Altered { account, seq: row.seq }.into());
            }
            prev_hash = row.hash;
            expected_seq += 1;
        }
    }
    let last = expected_seq - 1;
    if last != head_seq || prev_hash != head_hash {
        return Err(ChainBreak::Truncated { account: account_id.to_owned(), expected: head_seq, found: last }.into());
    }
    Ok(last as u64)
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error("database error: {0}")]
    Database(#[from] DbError),
}

/// Verifies every account's chain; returns (accounts, events) checked, or
/// every break found.
pub fn verify_all(conn: &mut DbConnection) -> Result<(u64, u64), Vec<String>> {
    let ids = match store::account_ids(conn) {
        Ok(ids) => ids,
        Err(e) => return Err(vec![format!("database error: {e}")]),
    };
    let mut problems = Vec::new();
    let mut events = 0;
    for id in &ids {
        match verify_account(conn, id) {
            Ok(n) => events += n,
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok((ids.len() as u64, events))
    } else {
        Err(problems)
    }
}

/// The most events one page of [`events`] holds.
pub const MAX_PAGE: u32 = 1000;
/// Events per page when the caller names no limit.
const DEFAULT_PAGE: u32 = 200;

/// A page of the device's own account log: the events after `since`, at most
/// `limit` (1–[`MAX_PAGE`], default 200), and whether more follow.
pub async fn events(
    app: &App,
    device: AuthenticatedDevice,
    since: u64,
    limit: Option<u32>,
    actions: Option<&str>,
) -> Result<AuditPage, AppError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(AppError::BadRequest(format!("limit must be 1–{MAX_PAGE}")));
    }
    let after = i64::try_from(since).map_err(|_| AppError::BadRequest("since is too large".into()))?;
    let actions = actions
        .map(|list| {
            list.split(',')
                .map(|name| {
                    AuditAction::parse(name.trim()).ok_or_else(|| {
                        AppError::BadRequest("action must be a comma-separated list of audit action names".into())
                    })
                })
                .collect::<Result<Vec<AuditAction>, AppError>>()
        })
        .transpose()?;
    let account = device.account_id;
    let rows = app
        .db(move |conn| {
            Ok(match &actions {
                None => store::events_after(conn, &account, after, i64::from(limit) + 1)?,
                Some(actions) => {
                    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
                    store::events_after_of(conn, &account, after, i64::from(limit) + 1, &names)?
                }
            })
        })
        .await?;
    let more = rows.len() > limit as usize;
    let events: Vec<AuditEventInfo> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AuditEventInfo {
            seq: r.seq as u64,
            at: r.at,
            actor: r.actor,
            action: r.action,
            grant_id: r.grant_id,
            record_ids: serde_json::from_str(&r.record_ids).unwrap_or_default(),
            outcome: r.outcome,
            occurrences: r.occurrences.and_then(|n| u64::try_from(n).ok()),
            reason: r.reason,
            actor_name: r.actor_name,
            hash: r.hash,
        })
        .collect();
    let next_cursor = events.last().map(|e| e.seq).unwrap_or(since);
    Ok(AuditPage { events, next_cursor, more })
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_test! {
        fn events_of_several_accounts_appended_together_chain_in_order_and_an_unknown_account_writes_nothing(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 2).unwrap();
            let mut conn = pool.get().unwrap();
            crate::store::accounts::insert_account(&mut conn, "a", &[1; 32], 1).unwrap();
            crate::store::accounts::insert_account(&mut conn, "b", &[2; 32], 1).unwrap();
            let event = NewAuditEvent::new("organization:o", AuditAction::FhirRead, AuditOutcome::Success);
            assert_eq!(append(&mut conn, "a", 1, &event).unwrap(), 1);
            let seqs = append_all(&mut conn, &[("a", 2, &event), ("b", 2, &event), ("a", 3, &event)]).unwrap();
            assert_eq!(seqs, vec![2, 1, 3], "each account's own sequence, in the order given");
            assert_eq!(verify_account(&mut conn, "a").unwrap(), 3);
            assert_eq!(verify_account(&mut conn, "b").unwrap(), 1);
            let refused = crate::store::write_transaction(&mut conn, |c| {
                append_all(c, &[("b", 4, &event), ("no-such-account", 4, &event)])
            });
            assert!(refused.is_err());
            assert_eq!(store::head(&mut conn, "b").unwrap().0, 1, "nothing of the refused call stayed");
            assert_eq!(verify_account(&mut conn, "b").unwrap(), 1);
        }
    }

    fn fields(occurrences: Option<i64>) -> Hashed<'static> {
        Hashed {
            account_id: "acc",
            seq: 1,
            at: 5,
            actor: "recovery",
            action: "key_backup_fetched",
            grant_id: None,
            record_ids: "[]",
            outcome: "success",
            occurrences,
            reason: None,
            actor_name: None,
        }
    }

    #[test]
    fn an_event_without_a_count_hashes_as_before_the_count_existed() {
        let json = serde_json::to_string(&fields(None)).unwrap();
        assert!(!json.contains("occurrences"), "{json}");
        assert!(!json.contains("reason"), "{json}");
        let with_reason = Hashed { reason: Some("unconscious, brought in by ambulance"), ..fields(None) };
        assert_ne!(event_hash("", &fields(None)), event_hash("", &with_reason), "the reason is covered by the hash");
        assert!(!json.contains("actor_name"), "{json}");
        let named = Hashed { actor_name: Some("Sato Hanako"), ..fields(None) };
        assert_ne!(event_hash("", &fields(None)), event_hash("", &named), "the actor's name is covered by the hash");
        assert_ne!(event_hash("", &fields(None)), event_hash("", &fields(Some(1))), "the count is covered by the hash");
    }

    #[test]
    fn repeats_are_written_at_powers_of_two_per_account_action_and_window() {
        let repeats = Repeats::new(std::time::Duration::from_secs(3600));
        let hour = 3_600_000;
        let written: Vec<u64> = (0..20)
            .filter_map(|_| repeats.occurrence("a", AuditAction::KeyBackupFetched, AuditOutcome::Success, 10))
            .collect();
        assert_eq!(written, [1, 2, 4, 8, 16]);
        // Another account or action counts on its own.
        assert_eq!(repeats.occurrence("b", AuditAction::KeyBackupFetched, AuditOutcome::Success, 10), Some(1));
        assert_eq!(repeats.occurrence("a", AuditAction::RecoveryChallengeIssued, AuditOutcome::Success, 10), Some(1));
        // A new window starts again at 1.
        assert_eq!(repeats.occurrence("a", AuditAction::KeyBackupFetched, AuditOutcome::Success, hour + 1), Some(1));
        assert_eq!(repeats.occurrence("a", AuditAction::KeyBackupFetched, AuditOutcome::Success, hour + 2), Some(2));
        assert_eq!(repeats.occurrence("a", AuditAction::KeyBackupFetched, AuditOutcome::Success, hour + 3), None);
    }
}
