//! Audit log rows: the per-account chain head on `accounts` and the events in
//! `audit_events`. The hashing is the app's ([`crate::app::audit`]); these
//! are only the statements.

use diesel::prelude::*;

use crate::store::schema::{accounts, audit_events};
use crate::store::DbConnection;

/// A stored audit event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub account_id: String,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub grant_id: Option<String>,
    pub record_ids: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
    pub occurrences: Option<i64>,
    pub reason: Option<String>,
    pub actor_name: Option<String>,
}

/// Reserves the next `n` sequence numbers of each account's chain, in one statement on
/// PostgreSQL: bumps each head's sequence by its `n` and returns, per account,
/// `(account, last reserved seq, hash of the event before the first reserved one)`. The
/// accounts' rows are taken in `account_id` order (so two writers reserving for the same
/// accounts queue instead of deadlocking); a row is missing from the answer when its account
/// does not exist.
pub fn reserve_seqs(conn: &mut DbConnection, wanted: &[(&str, i64)]) -> QueryResult<Vec<(String, i64, String)>> {
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    match conn {
        DbConnection::Postgresql(c) => {
            use diesel::sql_types::{Array, BigInt, Text};
            #[derive(QueryableByName)]
            struct Reserved {
                #[diesel(sql_type = Text)]
                account_id: String,
                #[diesel(sql_type = BigInt)]
                audit_seq: i64,
                #[diesel(sql_type = Text)]
                audit_head: String,
            }
            let (ids, counts): (Vec<&str>, Vec<i64>) = wanted.into_iter().unzip();
            let rows: Vec<Reserved> = diesel::sql_query(
                "WITH wanted AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(account_id, n)), \
                 locked AS (SELECT a.account_id FROM accounts a JOIN wanted w ON w.account_id = a.account_id \
                            ORDER BY a.account_id FOR UPDATE OF a) \
                 UPDATE accounts SET audit_seq = accounts.audit_seq + wanted.n FROM wanted, locked \
                 WHERE accounts.account_id = wanted.account_id AND locked.account_id = wanted.account_id \
                 RETURNING accounts.account_id, accounts.audit_seq, accounts.audit_head",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<BigInt>, _>(counts)
            .load(c)?;
            Ok(rows.into_iter().map(|r| (r.account_id, r.audit_seq, r.audit_head)).collect())
        }
        // In-process: a statement per account costs no round trip.
        DbConnection::Sqlite(c) => {
            let mut out = Vec::with_capacity(wanted.len());
            for (account_id, n) in wanted {
                let reserved: Option<(i64, String)> = diesel::update(accounts::table.find(account_id))
                    .set(accounts::audit_seq.eq(accounts::audit_seq + n))
                    .returning((accounts::audit_seq, accounts::audit_head))
                    .get_result(c)
                    .optional()?;
                if let Some((seq, head)) = reserved {
                    out.push((account_id.to_owned(), seq, head));
                }
            }
            Ok(out)
        }
    }
}

/// The head of the account's chain: `(last seq, its hash)`.
pub fn head(conn: &mut DbConnection, account_id: &str) -> QueryResult<(i64, String)> {
    accounts::table.find(account_id).select((accounts::audit_seq, accounts::audit_head)).first(conn)
}

/// Rows per INSERT statement on PostgreSQL: 12 values each stays under its limit of 65,535 bound values.
const ROWS_PER_INSERT: usize = 1_000;

/// Stores events (of one or many accounts, each account's in sequence order): on PostgreSQL in
/// as few statements as its limit on bound values allows. The last event of each account becomes the head of
/// its chain: `accounts.audit_head` is set by the `audit_events_head` trigger (migration
/// `2026-12-05-000090`) in the same statement.
pub fn append_events(conn: &mut DbConnection, rows: &[AuditRow]) -> QueryResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<_> = chunk
            .iter()
            .map(|row| {
                (
                    audit_events::account_id.eq(&row.account_id),
                    audit_events::seq.eq(row.seq),
                    audit_events::at.eq(row.at),
                    audit_events::actor.eq(&row.actor),
                    audit_events::action.eq(&row.action),
                    audit_events::grant_id.eq(row.grant_id.as_deref()),
                    audit_events::record_ids.eq(&row.record_ids),
                    audit_events::outcome.eq(&row.outcome),
                    audit_events::prev_hash.eq(&row.prev_hash),
                    audit_events::hash.eq(&row.hash),
                    audit_events::occurrences.eq(row.occurrences),
                    audit_events::reason.eq(row.reason.as_deref()),
                    audit_events::actor_name.eq(row.actor_name.as_deref()),
                )
            })
            .collect();
        match conn {
            DbConnection::Postgresql(c) => {
                diesel::insert_into(audit_events::table).values(values).execute(c)?;
            }
            // In-process: a statement per row costs no round trip.
            DbConnection::Sqlite(c) => {
                for row in values {
                    diesel::insert_into(audit_events::table).values(row).execute(c)?;
                }
            }
        }
    }
    Ok(())
}

/// Up to `limit` events of the account with a sequence number above `after`, in order.
pub fn events_after(conn: &mut DbConnection, account_id: &str, after: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
    audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .filter(audit_events::seq.gt(after))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

/// [`events_after`], only the events whose action is one of `actions` (stored names).
pub fn events_after_of(
    conn: &mut DbConnection,
    account_id: &str,
    after: i64,
    limit: i64,
    actions: &[&str],
) -> QueryResult<Vec<AuditRow>> {
    audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .filter(audit_events::seq.gt(after))
        .filter(audit_events::action.eq_any(actions))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

/// How many events the audit log of `account_id` holds (its events are numbered 1 to this).
pub fn event_count(conn: &mut DbConnection, account_id: &str) -> QueryResult<i64> {
    audit_events::table.filter(audit_events::account_id.eq(account_id)).count().get_result(conn)
}

/// Every account id, in order (the chains to verify).
pub fn account_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    accounts::table.select(accounts::account_id).order(accounts::account_id).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::audit::{
        append, verify_account, AuditAction, AuditOutcome, ChainBreak, NewAuditEvent, VerifyError,
    };

    crate::store_test! {
        fn appended_events_page_in_order_link_to_the_head_and_an_altered_one_fails_verification_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            crate::store::accounts::insert_account(&mut conn, "acc", &[1; 32], 1).unwrap();
            for at in 1..=3 {
                let event = NewAuditEvent::new("device:d", AuditAction::SignIn, AuditOutcome::Success);
                assert_eq!(append(&mut conn, "acc", at, &event).unwrap(), at);
            }
            let rows = events_after(&mut conn, "acc", 1, 10).unwrap();
            assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
            assert_eq!(rows[1].prev_hash, rows[0].hash);
            assert_eq!(head(&mut conn, "acc").unwrap(), (3, rows[1].hash.clone()));
            assert_eq!(events_after(&mut conn, "acc", 0, 2).unwrap().len(), 2, "the limit holds");
            assert_eq!(account_ids(&mut conn).unwrap(), ["acc"]);
            assert_eq!(verify_account(&mut conn, "acc").unwrap(), 3);

            diesel::update(audit_events::table.find(("acc", 2i64)))
                .set(audit_events::actor.eq("device:other"))
                .execute(&mut *conn)
                .unwrap();
            assert!(matches!(
                verify_account(&mut conn, "acc"),
                Err(VerifyError::Broken(ChainBreak::Altered { seq: 2, .. }))
            ));
        }
    }
}
