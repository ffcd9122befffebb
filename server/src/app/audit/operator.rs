//! The operator's audit log: what organizations did that is no family's business and
//! belongs in no family's log — publishing, editing and withdrawing municipal notices, and
//! every refused attempt to. One hash chain for the installation, built like the families'
//! chains (each event's hash covers the previous hash and its own fields; the head is kept
//! in `server_meta`), so an edited, removed or reordered entry — the last included — is found
//! by [`verify`] (`phr-server audit verify`). Read with `phr-server audit operator`.
//! The care-team portal's staff sign-ins, sign-outs, invites, passkey registrations and
//! refusals are here too (actor `staff:<staff_id>`, or `operator` for the admin CLI).
//! Events name organizations, staff ids and notice ids, never content.

use serde::Serialize;

use crate::app::audit::AuditOutcome;
use crate::store::operator_events::{self as store, OperatorEventRow};
use crate::store::{DbConnection, QueryResult};

/// What an operator-log event records. Stored by snake_case name (part of the hash): never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// A municipality published a notice.
    NoticePublished,
    /// A municipality edited one of its notices.
    NoticeEdited,
    /// A municipality withdrew one of its notices.
    NoticeWithdrawn,
    /// An invite to the care-team portal was issued for a staff member.
    StaffInvited,
    /// A staff member registered a passkey with an invite (or was refused).
    StaffPasskeyRegistered,
    /// A staff member signed in to the care-team portal.
    StaffSignedIn,
    /// A sign-in to the care-team portal was refused (failed ceremony, disabled staff or organization).
    StaffSignInRefused,
    /// A staff member signed out.
    StaffSignedOut,
    /// A staff member was disabled (their sessions ended).
    StaffDisabled,
}

impl OperatorAction {
    const ALL: [OperatorAction; 9] = [
        OperatorAction::NoticePublished,
        OperatorAction::NoticeEdited,
        OperatorAction::NoticeWithdrawn,
        OperatorAction::StaffInvited,
        OperatorAction::StaffPasskeyRegistered,
        OperatorAction::StaffSignedIn,
        OperatorAction::StaffSignInRefused,
        OperatorAction::StaffSignedOut,
        OperatorAction::StaffDisabled,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OperatorAction::NoticePublished => "notice_published",
            OperatorAction::NoticeEdited => "notice_edited",
            OperatorAction::NoticeWithdrawn => "notice_withdrawn",
            OperatorAction::StaffInvited => "staff_invited",
            OperatorAction::StaffPasskeyRegistered => "staff_passkey_registered",
            OperatorAction::StaffSignedIn => "staff_signed_in",
            OperatorAction::StaffSignInRefused => "staff_sign_in_refused",
            OperatorAction::StaffSignedOut => "staff_signed_out",
            OperatorAction::StaffDisabled => "staff_disabled",
        }
    }

    /// The action of a stored name.
    pub fn parse(name: &str) -> Option<OperatorAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEvent<'a> {
    /// `organization:<id>`, `staff:<id>` or `operator`.
    pub actor: &'a str,
    pub action: OperatorAction,
    /// What it was done to (a notice id), or `-` when there was nothing to name (a refused
    /// publication, or an id that names no notice).
    pub target: &'a str,
    pub outcome: AuditOutcome,
}

/// The value of `target` when the event concerns no existing object.
pub const NO_TARGET: &str = "-";

#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
}

fn hash(prev_hash: &str, fields: &Hashed<'_>) -> String {
    super::chain_hash(b"phr-operator-audit-v1\n", prev_hash, fields)
}

/// `(seq, hash)` of a stored head `"<seq>:<hash>"`.
fn parse_head(head: &str) -> Option<(i64, String)> {
    let (seq, hash) = head.split_once(':')?;
    Some((seq.parse().ok()?, hash.to_owned()))
}

/// Appends `event` at `at` (ms). Call inside the transaction of the action it records (or, for
/// a refusal, in a transaction of its own): this is the one function that extends the chain.
pub fn append(conn: &mut DbConnection, at: i64, event: &OperatorEvent<'_>) -> QueryResult<i64> {
    let head = store::lock_head(conn, at)?;
    let (last, prev_hash) = parse_head(&head).ok_or(diesel::result::Error::NotFound)?;
    let seq = last + 1;
    let fields = Hashed {
        seq,
        at,
        actor: event.actor,
        action: event.action.as_str(),
        target: event.target,
        outcome: event.outcome.as_str(),
    };
    let row = OperatorEventRow {
        seq,
        at,
        actor: event.actor.to_owned(),
        action: fields.action.to_owned(),
        target: event.target.to_owned(),
        outcome: fields.outcome.to_owned(),
        hash: hash(&prev_hash, &fields),
        prev_hash,
    };
    store::append(conn, &row)?;
    Ok(seq)
}

/// Events after `since`, in order, at most `limit`.
pub fn events(conn: &mut DbConnection, since: i64, limit: i64) -> QueryResult<Vec<OperatorEventRow>> {
    store::page(conn, since, limit)
}

/// Checks the whole chain against its head: the number of events, or every problem found.
pub fn verify(conn: &mut DbConnection) -> Result<u64, Vec<String>> {
    const PAGE: i64 = 1000;
    let head = store::head(conn).map_err(|e| vec![format!("operator log: database error: {e}")])?;
    let Some((head_seq, head_hash)) = parse_head(&head) else {
        return Err(vec!["operator log: the head is unreadable".to_owned()]);
    };
    let mut problems = Vec::new();
    let (mut seq, mut prev) = (0i64, String::new());
    loop {
        let rows = store::page(conn, seq, PAGE).map_err(|e| vec![format!("operator log: database error: {e}")])?;
        for row in &rows {
            let fields = Hashed {
                seq: row.seq,
                at: row.at,
                actor: &row.actor,
                action: &row.action,
                target: &row.target,
                outcome: &row.outcome,
            };
            if row.seq != seq + 1 {
                problems.push(format!("operator log: event {} follows event {seq}", row.seq));
            }
            if row.prev_hash != prev {
                problems.push(format!("operator log: event {} does not follow the event before it", row.seq));
            }
            if row.hash != hash(&row.prev_hash, &fields) {
                problems.push(format!("operator log: event {} was altered", row.seq));
            }
            if OperatorAction::parse(&row.action).is_none() || AuditOutcome::parse(&row.outcome).is_none() {
                problems.push(format!("operator log: event {} names an unknown action or outcome", row.seq));
            }
            seq = row.seq;
            prev = row.hash.clone();
        }
        if rows.len() < PAGE as usize {
            break;
        }
    }
    if (seq, prev.as_str()) != (head_seq, head_hash.as_str()) {
        problems.push(format!("operator log: the chain ends at event {seq} but its head says {head_seq}"));
    }
    if problems.is_empty() {
        Ok(u64::try_from(seq).unwrap_or(0))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::TestDatabase;

    /// A pooled connection to a fresh SQLite database with every migration applied.
    fn sqlite_conn() -> (TestDatabase, crate::store::Conn) {
        let db = TestDatabase::sqlite();
        let (pool, _) = crate::store::open(&db.target, 1).expect("open the test database");
        let conn = pool.get().expect("a connection");
        (db, conn)
    }

    fn event(target: &str) -> OperatorEvent<'_> {
        OperatorEvent {
            actor: "organization:city-a",
            action: OperatorAction::NoticePublished,
            target,
            outcome: AuditOutcome::Success,
        }
    }

    #[test]
    fn appended_events_form_a_chain_that_verifies() {
        let (_dir, mut conn) = sqlite_conn();
        assert_eq!(verify(&mut conn), Ok(0));
        assert_eq!(append(&mut conn, 10, &event("n1")).unwrap(), 1);
        assert_eq!(append(&mut conn, 11, &event(NO_TARGET)).unwrap(), 2);
        assert_eq!(verify(&mut conn), Ok(2));
        let rows = events(&mut conn, 0, 10).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].prev_hash, rows[0].hash);
    }

    #[test]
    fn an_altered_or_removed_event_is_found() {
        use crate::store::schema::operator_events as t;
        use diesel::prelude::*;
        let (_dir, mut conn) = sqlite_conn();
        append(&mut conn, 10, &event("n1")).unwrap();
        append(&mut conn, 11, &event("n2")).unwrap();
        diesel::update(t::table.find(1i64)).set(t::target.eq("n9")).execute(&mut *conn).unwrap();
        assert!(verify(&mut conn).unwrap_err().iter().any(|p| p.contains("event 1 was altered")));
        let (_dir, mut conn) = sqlite_conn();
        append(&mut conn, 10, &event("n1")).unwrap();
        append(&mut conn, 11, &event("n2")).unwrap();
        diesel::delete(t::table.find(2i64)).execute(&mut *conn).unwrap();
        assert!(verify(&mut conn).unwrap_err().iter().any(|p| p.contains("head says 2")));
    }
}
