//! Emergency card rows (SMART Health Links) and the file tickets of their manifests.
//! The rules (who may change a card, passcodes, what a reader gets) are in
//! `crate::app::emergency_card`; here is only storage.

use diesel::prelude::*;

use crate::store::schema::{emergency_card_tickets, emergency_cards};
use crate::store::DbConnection;

/// A passcode as stored: `(salt, PBKDF2 hash)`.
pub type PasscodeHash = (Vec<u8>, Vec<u8>);

/// A stored card.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergency_cards)]
pub struct CardRow {
    pub card_id: String,
    pub account_id: String,
    pub subject: String,
    /// SHA-256 of the link's secret path segment.
    pub link_hash: Vec<u8>,
    pub passcode_salt: Option<Vec<u8>>,
    pub passcode_hash: Option<Vec<u8>>,
    pub attempts_left: i32,
    pub expires_at: Option<i64>,
    pub file_jwe: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub accesses: i64,
    pub last_access_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &CardRow) -> QueryResult<()> {
    diesel::insert_into(emergency_cards::table).values(row).execute(conn).map(|_| ())
}

/// The cards of an account, oldest first.
pub fn of_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<CardRow>> {
    emergency_cards::table
        .filter(emergency_cards::account_id.eq(account_id))
        .order((emergency_cards::created_at.asc(), emergency_cards::card_id.asc()))
        .select(CardRow::as_select())
        .load(conn)
}

/// One card of an account.
pub fn of_account_by_id(conn: &mut DbConnection, account_id: &str, card_id: &str) -> QueryResult<Option<CardRow>> {
    emergency_cards::table
        .filter(emergency_cards::account_id.eq(account_id))
        .filter(emergency_cards::card_id.eq(card_id))
        .select(CardRow::as_select())
        .first(conn)
        .optional()
}

/// The card a link names (by the hash of its secret segment).
pub fn by_link(conn: &mut DbConnection, link_hash: &[u8]) -> QueryResult<Option<CardRow>> {
    emergency_cards::table
        .filter(emergency_cards::link_hash.eq(link_hash))
        .select(CardRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces the card's file.
pub fn set_file(conn: &mut DbConnection, card_id: &str, file_jwe: &str, now: i64) -> QueryResult<usize> {
    diesel::update(emergency_cards::table.find(card_id))
        .set((emergency_cards::file_jwe.eq(file_jwe), emergency_cards::updated_at.eq(now)))
        .execute(conn)
}

/// A new link (and passcode) for the card: file tickets of the old link are deleted.
pub fn rotate(
    conn: &mut DbConnection,
    card_id: &str,
    link_hash: &[u8],
    passcode: Option<PasscodeHash>,
    attempts_left: i32,
    file_jwe: &str,
    now: i64,
) -> QueryResult<usize> {
    delete_tickets(conn, card_id)?;
    let (salt, hash) = passcode.unzip();
    diesel::update(emergency_cards::table.find(card_id))
        .set((
            emergency_cards::link_hash.eq(link_hash),
            emergency_cards::passcode_salt.eq(salt),
            emergency_cards::passcode_hash.eq(hash),
            emergency_cards::attempts_left.eq(attempts_left),
            emergency_cards::file_jwe.eq(file_jwe),
            emergency_cards::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Spends one wrong-passcode attempt (never below 0, concurrent guesses each spend one):
/// the attempts left after it, `None` if none were left.
pub fn spend_attempt(conn: &mut DbConnection, card_id: &str) -> QueryResult<Option<i32>> {
    diesel::update(emergency_cards::table.find(card_id).filter(emergency_cards::attempts_left.gt(0)))
        .set(emergency_cards::attempts_left.eq(emergency_cards::attempts_left - 1))
        .returning(emergency_cards::attempts_left)
        .get_result(conn)
        .optional()
}

/// Counts one fetch of the card's summary.
pub fn count_access(conn: &mut DbConnection, card_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(emergency_cards::table.find(card_id))
        .set((emergency_cards::accesses.eq(emergency_cards::accesses + 1), emergency_cards::last_access_at.eq(now)))
        .execute(conn)
}

/// Deletes a card and its tickets.
pub fn delete(conn: &mut DbConnection, card_id: &str) -> QueryResult<usize> {
    delete_tickets(conn, card_id)?;
    diesel::delete(emergency_cards::table.find(card_id)).execute(conn)
}

/// Deletes every card of an account and their tickets (account erasure).
pub fn delete_of_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<usize> {
    let ids: Vec<String> = emergency_cards::table
        .filter(emergency_cards::account_id.eq(account_id))
        .select(emergency_cards::card_id)
        .load(conn)?;
    let mut n = diesel::delete(emergency_card_tickets::table.filter(emergency_card_tickets::card_id.eq_any(&ids)))
        .execute(conn)?;
    n += diesel::delete(emergency_cards::table.filter(emergency_cards::account_id.eq(account_id))).execute(conn)?;
    Ok(n)
}

fn delete_tickets(conn: &mut DbConnection, card_id: &str) -> QueryResult<usize> {
    diesel::delete(emergency_card_tickets::table.filter(emergency_card_tickets::card_id.eq(card_id))).execute(conn)
}

/// Stores a file ticket; expired tickets are purged on the way.
pub fn insert_ticket(
    conn: &mut DbConnection,
    ticket_hash: &[u8],
    card_id: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(emergency_card_tickets::table.filter(emergency_card_tickets::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(emergency_card_tickets::table)
        .values((
            emergency_card_tickets::ticket_hash.eq(ticket_hash),
            emergency_card_tickets::card_id.eq(card_id),
            emergency_card_tickets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The card a ticket is for, if the ticket is still valid at `now`.
pub fn by_ticket(conn: &mut DbConnection, ticket_hash: &[u8], now: i64) -> QueryResult<Option<CardRow>> {
    emergency_card_tickets::table
        .inner_join(emergency_cards::table.on(emergency_cards::card_id.eq(emergency_card_tickets::card_id)))
        .filter(emergency_card_tickets::ticket_hash.eq(ticket_hash))
        .filter(emergency_card_tickets::expires_at.gt(now))
        .select(CardRow::as_select())
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: &str, account: &str, link: u8) -> CardRow {
        CardRow {
            card_id: id.into(),
            account_id: account.into(),
            subject: "mother".into(),
            link_hash: vec![link; 32],
            passcode_salt: None,
            passcode_hash: None,
            attempts_left: 10,
            expires_at: None,
            file_jwe: "a.b.c.d.e".into(),
            created_at: 1,
            updated_at: 1,
            accesses: 0,
            last_access_at: None,
        }
    }

    crate::store_test! {
        fn a_card_is_found_by_its_link_and_tickets_die_with_rotation_deletion_and_time_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            insert(&mut conn, &card("c1", "acc", 1)).unwrap();
            insert(&mut conn, &card("c2", "acc", 2)).unwrap();
            insert(&mut conn, &card("c3", "other", 3)).unwrap();
            assert_eq!(by_link(&mut conn, &[1; 32]).unwrap().unwrap().card_id, "c1");
            assert!(by_link(&mut conn, &[9; 32]).unwrap().is_none());
            assert_eq!(of_account(&mut conn, "acc").unwrap().len(), 2);
            assert!(of_account_by_id(&mut conn, "other", "c1").unwrap().is_none(), "another family's card");

            insert_ticket(&mut conn, &[7; 32], "c1", 100, 10).unwrap();
            assert_eq!(by_ticket(&mut conn, &[7; 32], 50).unwrap().unwrap().card_id, "c1");
            assert!(by_ticket(&mut conn, &[7; 32], 100).unwrap().is_none(), "expired");
            rotate(&mut conn, "c1", &[4; 32], None, 10, "f.g.h.i.j", 20).unwrap();
            assert!(by_ticket(&mut conn, &[7; 32], 50).unwrap().is_none(), "rotation kills the old tickets");
            assert!(by_link(&mut conn, &[1; 32]).unwrap().is_none(), "and the old link");
            assert_eq!(by_link(&mut conn, &[4; 32]).unwrap().unwrap().file_jwe, "f.g.h.i.j");

            insert_ticket(&mut conn, &[8; 32], "c2", 100, 10).unwrap();
            delete(&mut conn, "c2").unwrap();
            assert!(by_ticket(&mut conn, &[8; 32], 50).unwrap().is_none(), "withdrawal kills the tickets");
            count_access(&mut conn, "c1", 30).unwrap();
            for left in (0..10).rev() {
                assert_eq!(spend_attempt(&mut conn, "c1").unwrap(), Some(left));
            }
            assert_eq!(spend_attempt(&mut conn, "c1").unwrap(), None, "never below zero");
            let c1 = by_link(&mut conn, &[4; 32]).unwrap().unwrap();
            assert_eq!((c1.accesses, c1.last_access_at), (1, Some(30)));
            assert_eq!(delete_of_account(&mut conn, "acc").unwrap(), 1);
            assert_eq!(of_account(&mut conn, "other").unwrap().len(), 1);
        }
    }
}
