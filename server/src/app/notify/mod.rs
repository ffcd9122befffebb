//! Telling the family: Web Push notifications to the phones of an account when an emergency
//! access happened (a card read, or a refused attempt).
//!
//! The notification carries **no health data** and nothing a reader typed: only what kind of
//! event happened and when (`{"type": "emergency_access", "at": <epoch ms>}`). The phone then
//! syncs and gets the details from the family's audit log (`SyncReport.emergency_accesses`).
//!
//! Delivery is standard Web Push: the message is encrypted for the subscription (RFC 8291,
//! `aes128gcm`, with the `web-push-native` crate), the request carries a VAPID token signed
//! with the server's P-256 key (RFC 8292; the key is created on first run in the key
//! directory, mode 0600) and goes to the subscription's endpoint (RFC 8030) with a TTL of a
//! day and `Urgency: high`. A push service that answers 404 or 410 has dropped the
//! subscription: it is deleted. Sending happens after the access is committed, off the
//! request's path; a failure is logged (without the endpoint) and never fails the access.
//!
//! Other notifiers (APNs, FCM) plug in behind [`Notifier`]: see `docs/emergency-card.md`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use phr_core::sync::protocol::{
    PushSubscriptionCreated, PushSubscriptionInfo, PushSubscriptionRequest, VapidPublicKey,
};
use uuid::Uuid;
use web_push_native::jwt_simple::algorithms::{ECDSAP256KeyPairLike, ES256KeyPair};
use web_push_native::p256::PublicKey;
use web_push_native::{Auth, WebPushBuilder};

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::{unprocessable, AppError};
use crate::app::{now_ms, App};
use crate::config::PushArgs;
use crate::store::push_subscriptions::{self as store, SubscriptionRow};
use crate::ServerError;

/// The VAPID key's file in the key directory (the 32-byte P-256 private scalar, base64url).
pub const VAPID_KEY_FILE: &str = "vapid-es256.key";
/// How long a push service keeps an undelivered notification.
const PUSH_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest endpoint URL accepted.
const MAX_ENDPOINT_CHARS: usize = 2048;
/// Subscriptions per account (a few phones each with a few apps).
const MAX_SUBSCRIPTIONS_PER_ACCOUNT: usize = 20;

/// What happened, as the phones are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Someone read (or tried to read) the family's data in an emergency.
    EmergencyAccess { at: i64 },
}

impl Notice {
    /// The notification's plaintext: the event's type and time, nothing else.
    pub fn payload(&self) -> Vec<u8> {
        match self {
            Notice::EmergencyAccess { at } => serde_json::json!({"type": "emergency_access", "at": at}).to_string(),
        }
        .into_bytes()
    }
}

/// A way to reach one subscription: Web Push here; APNs or FCM would implement this too.
pub trait Notifier: Send + Sync {
    /// Delivers `payload` to `subscription`; `Ok(false)` if the service says the
    /// subscription is gone (it is then deleted).
    fn deliver(&self, subscription: &SubscriptionRow, payload: &[u8]) -> Result<bool, String>;
}

/// Web Push (RFC 8030 + 8291 + 8292) with the server's VAPID key.
pub struct WebPush {
    key: ES256KeyPair,
    public_key: String,
    contact: String,
    allow_loopback_http: bool,
    agent: ureq::Agent,
}

impl WebPush {
    /// The notifier with the VAPID key of `key_dir`, created there (0600) on first run.
    pub fn open_or_create(key_dir: &Path, push: &PushArgs) -> Result<WebPush, ServerError> {
        let path = key_dir.join(VAPID_KEY_FILE);
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).map(|m| m.permissions().mode()).unwrap_or(0);
                if mode & 0o077 != 0 {
                    return Err(ServerError::Keys(format!(
                        "{} is readable by others (mode {:o}): chmod 600 it",
                        path.display(),
                        mode & 0o777
                    )));
                }
                let bytes = B64URL
                    .decode(text.trim())
                    .map_err(|_| ServerError::Config(format!("{} is not base64url", path.display())))?;
                ES256KeyPair::from_bytes(&bytes)
                    .map_err(|_| ServerError::Config(format!("{} is not a P-256 private key", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ES256KeyPair::generate();
                let mut file = crate::files::create_private_file(&path)
                    .map_err(|e| ServerError::Io(format!("cannot create {}: {e}", path.display())))?;
                file.write_all(B64URL.encode(key.to_bytes()).as_bytes())
                    .map_err(|e| ServerError::Io(format!("cannot write {}: {e}", path.display())))?;
                key
            }
            Err(e) => return Err(ServerError::Io(format!("cannot read {}: {e}", path.display()))),
        };
        let public_key = B64URL.encode(key.key_pair().public_key().to_bytes_uncompressed());
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Ok(WebPush {
            key,
            public_key,
            contact: push.push_contact.clone(),
            allow_loopback_http: push.push_allow_loopback_http,
            agent,
        })
    }

    /// The VAPID public key (uncompressed P-256 point, base64url).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Whether `endpoint` is one this server sends to: https (or http to a loopback address
    /// when allowed), a host, no user info.
    fn check_endpoint(&self, endpoint: &str) -> Result<(), AppError> {
        let bad = || unprocessable("endpoint", "must be an https URL of a push service");
        if endpoint.len() > MAX_ENDPOINT_CHARS {
            return Err(bad());
        }
        let url = url::Url::parse(endpoint).map_err(|_| bad())?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => return Err(bad()),
        };
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback && self.allow_loopback_http);
        if !scheme_ok || !url.username().is_empty() || url.password().is_some() {
            return Err(bad());
        }
        Ok(())
    }
}

impl WebPush {
    /// The VAPID `Authorization` for a push to `endpoint` (RFC 8292 §2–3): an ES256 JWT whose
    /// `aud` is the endpoint's origin — with its port, which `web-push-native` 0.4 leaves out
    /// (so it signs only the encryption here) — `sub` the operator's contact, `exp` 12 hours.
    fn vapid_authorization(&self, endpoint: &str) -> Result<String, String> {
        use web_push_native::jwt_simple::prelude::{Claims, Duration as JwtDuration};
        let origin =
            url::Url::parse(endpoint).map_err(|_| "a stored endpoint does not parse")?.origin().ascii_serialization();
        let claims = Claims::create(JwtDuration::from_hours(12)).with_audience(origin).with_subject(&self.contact);
        let token = self.key.sign(claims).map_err(|e| format!("cannot sign the VAPID token: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

/// A subscription's `p256dh` (base64url, padded or not): the phone's P-256 public key.
fn p256dh_key(text: &str) -> Option<PublicKey> {
    B64URL.decode(text.trim_end_matches('=')).ok().and_then(|b| PublicKey::from_sec1_bytes(&b).ok())
}

/// A subscription's `auth` (base64url, padded or not): the 16-byte authentication secret.
fn auth_secret(text: &str) -> Option<[u8; 16]> {
    B64URL.decode(text.trim_end_matches('=')).ok().and_then(|a| a.try_into().ok())
}

impl Notifier for WebPush {
    fn deliver(&self, subscription: &SubscriptionRow, payload: &[u8]) -> Result<bool, String> {
        let ua_public = p256dh_key(&subscription.p256dh).ok_or("a stored p256dh does not decode")?;
        let auth = auth_secret(&subscription.auth).ok_or("a stored auth does not decode")?;
        let endpoint = subscription.endpoint.parse().map_err(|_| "a stored endpoint does not parse".to_owned())?;
        let request = WebPushBuilder::new(endpoint, ua_public, Auth::from(auth))
            .with_valid_duration(PUSH_TTL)
            .build(payload.to_vec())
            .map_err(|e| format!("cannot build the push message: {e}"))?;
        let mut call = self
            .agent
            .post(&subscription.endpoint)
            .header("Urgency", "high")
            .header("Authorization", &self.vapid_authorization(&subscription.endpoint)?);
        for (name, value) in request.headers() {
            // ureq sets the length from the body itself.
            if name.as_str() != "content-length" {
                call = call.header(name.as_str(), value.to_str().map_err(|_| "a push header is not text")?);
            }
        }
        // The transport's error text may name the endpoint (a value a device sent): not logged.
        let response = call
            .send(request.body().as_slice())
            .map_err(|_| "push delivery failed: no answer from the push service")?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 | 410 => Ok(false),
            other => Err(format!("the push service answered {other}")),
        }
    }
}

/// Tells every phone of `account_id` of `notice`, in the background: returns at once. The
/// database work goes through [`App::db`] like any request's (so it waits its turn for a
/// pooled connection); the deliveries run on a blocking thread.
pub fn notify(app: &App, account_id: String, notice: Notice) {
    let app = app.clone();
    tokio::spawn(async move {
        let account = account_id.clone();
        let subscriptions = match app.db(move |conn| Ok(store::of_account(conn, &account)?)).await {
            Ok(s) if s.is_empty() => return,
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load push subscriptions");
                return;
            }
        };
        let notifier: Arc<dyn Notifier> = app.push.clone();
        let payload = notice.payload();
        let gone = tokio::task::spawn_blocking(move || {
            let mut gone = Vec::new();
            for s in subscriptions {
                match notifier.deliver(&s, &payload) {
                    Ok(true) => tracing::info!("push notification delivered"),
                    Ok(false) => gone.push(s.subscription_id),
                    Err(e) => tracing::warn!(error = %e, "push notification not delivered"),
                }
            }
            gone
        })
        .await
        .unwrap_or_default();
        for id in gone {
            match app.db(move |conn| Ok(store::delete(conn, &id)?)).await {
                Ok(_) => tracing::info!("push subscription gone; deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete a gone push subscription"),
            }
        }
    });
}

/// `GET /notify/v1/vapid-public-key`.
pub fn vapid_public_key(app: &App) -> VapidPublicKey {
    VapidPublicKey { public_key: app.push.public_key().to_owned() }
}

/// `POST /notify/v1/push-subscriptions`: the calling phone's subscription.
pub async fn subscribe(
    app: &App,
    device: AuthenticatedDevice,
    req: PushSubscriptionRequest,
) -> Result<PushSubscriptionCreated, AppError> {
    app.push.check_endpoint(&req.endpoint)?;
    if p256dh_key(&req.keys.p256dh).is_none() {
        return Err(unprocessable("keys.p256dh", "must be a P-256 public key (base64url)"));
    }
    if auth_secret(&req.keys.auth).is_none() {
        return Err(unprocessable("keys.auth", "must be 16 bytes (base64url)"));
    }
    let row = SubscriptionRow {
        subscription_id: Uuid::new_v4().to_string(),
        account_id: device.account_id.as_str().to_owned(),
        device_id: device.device_id.as_str().to_owned(),
        endpoint: req.endpoint,
        p256dh: req.keys.p256dh.trim_end_matches('=').to_owned(),
        auth: req.keys.auth.trim_end_matches('=').to_owned(),
        created_at: now_ms(),
    };
    let id = app
        .db(move |conn| {
            crate::store::write_transaction(conn, |conn| {
                let existing = store::of_account(conn, &row.account_id)?;
                let replacing = existing.iter().any(|e| e.device_id == row.device_id && e.endpoint == row.endpoint);
                if !replacing && existing.len() >= MAX_SUBSCRIPTIONS_PER_ACCOUNT {
                    return Err(AppError::Conflict(format!(
                        "an account has at most {MAX_SUBSCRIPTIONS_PER_ACCOUNT} push subscriptions"
                    )));
                }
                Ok(store::upsert(conn, &row)?)
            })
        })
        .await?;
    Ok(PushSubscriptionCreated {
        subscription_id: id.parse().map_err(|_| AppError::Internal("a stored subscription id is not a UUID".into()))?,
    })
}

/// `GET /notify/v1/push-subscriptions`: the family's subscriptions (which phones are told).
pub async fn list(app: &App, device: AuthenticatedDevice) -> Result<Vec<PushSubscriptionInfo>, AppError> {
    let rows = app.db(move |conn| Ok(store::of_account(conn, device.account_id.as_str())?)).await?;
    rows.into_iter()
        .map(|r| {
            Ok(PushSubscriptionInfo {
                subscription_id: r
                    .subscription_id
                    .parse()
                    .map_err(|_| AppError::Internal("a stored id is not a UUID".into()))?,
                device_id: r
                    .device_id
                    .parse()
                    .map_err(|_| AppError::Internal("a stored device id is not a UUID".into()))?,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// `DELETE /notify/v1/push-subscriptions/{id}`.
pub async fn unsubscribe(app: &App, device: AuthenticatedDevice, subscription_id: &str) -> Result<(), AppError> {
    let id = Uuid::parse_str(subscription_id)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound("no such push subscription".into()))?;
    let gone = app.db(move |conn| Ok(store::delete_of_account(conn, device.account_id.as_str(), &id)?)).await?;
    if gone {
        Ok(())
    } else {
        Err(AppError::NotFound("no such push subscription".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(dir: &Path, loopback: bool) -> WebPush {
        WebPush::open_or_create(
            dir,
            &PushArgs { push_contact: "mailto:ops@example.org".into(), push_allow_loopback_http: loopback },
        )
        .unwrap()
    }

    #[test]
    fn the_vapid_key_is_made_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = push(dir.path(), false);
        let again = push(dir.path(), false);
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(B64URL.decode(first.public_key()).unwrap().len(), 65, "an uncompressed P-256 point");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(VAPID_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn endpoints_are_https_and_plain_http_only_to_loopback_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let strict = push(dir.path(), false);
        let local = push(dir.path(), true);
        assert!(strict.check_endpoint("https://push.example.net/send/abc").is_ok());
        for bad in
            ["http://push.example.net/x", "http://127.0.0.1:9/x", "ftp://x/y", "https://user:pw@h/x", "not a url", ""]
        {
            assert!(strict.check_endpoint(bad).is_err(), "{bad}");
        }
        assert!(local.check_endpoint("http://127.0.0.1:9/x").is_ok());
        assert!(local.check_endpoint("http://10.0.0.1/x").is_err(), "only loopback");
    }

    #[test]
    fn a_notice_carries_its_type_and_time_only() {
        let payload = Notice::EmergencyAccess { at: 42 }.payload();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
            serde_json::json!({"type": "emergency_access", "at": 42})
        );
    }
}
