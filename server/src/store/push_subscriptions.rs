//! Web Push subscription rows (the rules are in `crate::app::notify`).

use diesel::prelude::*;

use crate::store::schema::push_subscriptions;
use crate::store::DbConnection;

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = push_subscriptions)]
pub struct SubscriptionRow {
    pub subscription_id: String,
    pub account_id: String,
    pub device_id: String,
    pub endpoint: String,
    /// The phone's P-256 public key (uncompressed point, base64url).
    pub p256dh: String,
    /// The 16-byte authentication secret (base64url).
    pub auth: String,
    pub created_at: i64,
}

/// Stores a subscription; the same device registering the same endpoint again replaces its keys.
pub fn upsert(conn: &mut DbConnection, row: &SubscriptionRow) -> QueryResult<String> {
    let existing: Option<String> = push_subscriptions::table
        .filter(push_subscriptions::device_id.eq(&row.device_id))
        .filter(push_subscriptions::endpoint.eq(&row.endpoint))
        .select(push_subscriptions::subscription_id)
        .first(conn)
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(push_subscriptions::table.find(&id))
                .set((push_subscriptions::p256dh.eq(&row.p256dh), push_subscriptions::auth.eq(&row.auth)))
                .execute(conn)?;
            Ok(id)
        }
        None => {
            diesel::insert_into(push_subscriptions::table).values(row).execute(conn)?;
            Ok(row.subscription_id.clone())
        }
    }
}

/// Every subscription of an account.
pub fn of_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<SubscriptionRow>> {
    push_subscriptions::table
        .filter(push_subscriptions::account_id.eq(account_id))
        .order(push_subscriptions::created_at.asc())
        .select(SubscriptionRow::as_select())
        .load(conn)
}

/// Deletes one subscription of an account; whether it was there.
pub fn delete_of_account(conn: &mut DbConnection, account_id: &str, subscription_id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::account_id.eq(account_id))
            .filter(push_subscriptions::subscription_id.eq(subscription_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Deletes a subscription the push service said is gone.
pub fn delete(conn: &mut DbConnection, subscription_id: &str) -> QueryResult<usize> {
    diesel::delete(push_subscriptions::table.find(subscription_id)).execute(conn)
}

/// Deletes every subscription of a device (removed from the account).
pub fn delete_of_device(conn: &mut DbConnection, device_id: &str) -> QueryResult<usize> {
    diesel::delete(push_subscriptions::table.filter(push_subscriptions::device_id.eq(device_id))).execute(conn)
}

/// Deletes every subscription of an account (erasure).
pub fn delete_all_of_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<usize> {
    diesel::delete(push_subscriptions::table.filter(push_subscriptions::account_id.eq(account_id))).execute(conn)
}
