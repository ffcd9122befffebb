//! Being told of emergency accesses while the app is closed: the phone registers its Web Push
//! subscription (from the platform's push API, subscribed with the server's VAPID key) and
//! the server pushes a notice carrying no health data when an emergency team reads (or tries
//! to read) the family's card; the app then syncs and shows `SyncReport.emergency_accesses`.

use phr_core::sync::protocol::{
    PushSubscriptionCreated, PushSubscriptionKeys, PushSubscriptionRequest, VapidPublicKey,
};

use super::account::Account;
use super::error::{Error, Result};
use super::transport::{json_body, Transport};

/// The server's VAPID public key (base64url), the `applicationServerKey` to subscribe with.
pub fn vapid_public_key(account: &mut Account, transport: &dyn Transport) -> Result<String> {
    let key: VapidPublicKey = account.session.call(transport, "GET", "/notify/v1/vapid-public-key", None)?;
    Ok(key.public_key)
}

/// Registers this phone's push subscription; returns its id (for [`unregister`]).
pub fn register(
    account: &mut Account,
    transport: &dyn Transport,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> Result<String> {
    let request = PushSubscriptionRequest {
        endpoint: endpoint.to_owned(),
        keys: PushSubscriptionKeys { p256dh: p256dh.to_owned(), auth: auth.to_owned() },
    };
    let created: PushSubscriptionCreated = account.session.call(
        transport,
        "POST",
        "/notify/v1/push-subscriptions",
        Some(json_body("the push subscription", &request)?),
    )?;
    Ok(created.subscription_id.to_string())
}

/// Stops pushes to a subscription.
pub fn unregister(account: &mut Account, transport: &dyn Transport, subscription_id: &str) -> Result<()> {
    let id = Error::uuid_arg("subscription_id", subscription_id)?;
    account.session.call::<()>(transport, "DELETE", &format!("/notify/v1/push-subscriptions/{id}"), None)
}
