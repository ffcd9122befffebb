//! The care-team portal, slice 1: staff identity. Staff members belong to a registered
//! organization; the operator invites them (`phr-server staff invite`), they register a
//! passkey with the single-use invite and sign in with it (WebAuthn through `webauthn-rs`),
//! and get a session (`docs/portal.md`).
//!
//! Rules:
//! - Secrets are stored only as hex SHA-256 hashes: invite tokens and session cookie values
//!   (32 random bytes each). The CSRF token of a session is stored as is: alone it opens nothing.
//! - An invite is valid for its hours, once. Unknown: 404; used or expired: 410. A disabled
//!   staff member or organization: 403.
//! - A WebAuthn ceremony's state lives in the database between its start and finish (any
//!   server node may answer either), keyed by the hash of its challenge, which the finish
//!   request carries in its client data; it is taken (deleted) when it finishes, and expires
//!   after [`CEREMONY_MS`]. A failed ceremony is 401.
//! - Sessions end after `--portal-idle-minutes` unused and `--portal-session-hours` after
//!   sign-in. Every request with a session checks, in the database, that the session is
//!   current, the staff member enabled and the organization enabled (no process cache):
//!   disabling a staff member deletes their sessions at once.
//! - State-changing requests with a session carry its CSRF token (`X-CSRF-Token`), compared
//!   in constant time ([`check_csrf`]).
//! - The unauthenticated endpoints go through the sign-in limits (`--auth-rate-limit`,
//!   `crate::app::auth::limits`): every refusal (unknown, used or expired invite, failed
//!   ceremony, disabled staff) is charged to the source address, and ceremony starts (each
//!   stores a row) are limited per address: 429 with `Retry-After` beyond.
//! - Invites, passkey registrations, sign-ins, sign-outs, disables and every refused attempt
//!   go to the operator's audit log (`crate::app::audit::operator`) in the same transaction.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use serde::Serialize;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use crate::app::audit::operator::{self, OperatorAction, OperatorEvent};
use crate::app::audit::AuditOutcome;
use crate::app::error::{unprocessable, AppError};
use crate::app::{now_ms, random_bytes, App};
use crate::config::Limits;
use crate::store::staff::{self as store, CeremonyRow, InviteRow, PasskeyRow, SessionRow, StaffRow};
use crate::store::{write_transaction, DbConnection};

pub mod admin;
pub mod emergency;
pub mod patients;
pub mod results;
pub mod upload;

/// How long a WebAuthn ceremony may take between its start and finish.
pub const CEREMONY_MS: i64 = 5 * 60 * 1000;
/// The default validity of an invite, in hours.
pub const INVITE_HOURS: u64 = 72;
/// Staff roles.
pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_MEMBER: &str = "member";
/// The actor of what the admin CLI does.
pub const OPERATOR_ACTOR: &str = "operator";
/// The limiter bucket (per source address) of ceremony starts, which store a row each.
const CEREMONY_BUCKET: &str = "portal-ceremony";
const KIND_REGISTER: &str = "register";
const KIND_SIGNIN: &str = "signin";

/// Who the relying party is, from the server's public base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP id: the base URL's host name (`localhost` for a loopback address).
    pub id: String,
    /// The origin browsers report: scheme, host and port of the base URL.
    pub origin: Url,
    /// Whether the base URL is https (then cookies are `Secure` and `__Host-`).
    pub secure: bool,
}

/// The relying party of a public base URL. WebAuthn needs a host name: a loopback address
/// (the default `http://127.0.0.1:PORT`) becomes `localhost` (open the portal at
/// `http://localhost:PORT`); any other IP address is refused.
pub fn relying_party(base_url: &str) -> Result<RelyingParty, String> {
    let url = Url::parse(base_url).map_err(|e| format!("the public base URL is not a URL: {e}"))?;
    let secure = url.scheme() == "https";
    let mut origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|e| format!("the public base URL has no origin: {e}"))?;
    let id = match url.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => "localhost".to_owned(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => "localhost".to_owned(),
        _ => {
            return Err("passkeys need a host name in the public base URL (--public-base-url), not an IP address".into())
        }
    };
    if id == "localhost" {
        origin.set_host(Some("localhost")).map_err(|e| format!("cannot use localhost: {e}"))?;
    }
    Ok(RelyingParty { id, origin, secure })
}

/// The portal's WebAuthn relying party (built at first use, once the base URL is known) and
/// session limits.
pub struct Portal {
    webauthn: OnceLock<Arc<Webauthn>>,
    secure: OnceLock<bool>,
    /// Idle limit of a session, ms.
    pub idle_ms: i64,
    /// Absolute limit of a session, ms.
    pub session_ms: i64,
    /// Each organization's patients as searches and uploads match them (`None`: kept nowhere,
    /// with `--fhir-search-cache-mb 0`).
    pub listings: Option<Arc<patients::ListingCache>>,
}

impl Portal {
    pub fn new(limits: &Limits) -> Portal {
        Portal {
            webauthn: OnceLock::new(),
            secure: OnceLock::new(),
            idle_ms: i64::try_from(limits.portal_idle_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
            session_ms: i64::try_from(limits.portal_session_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX),
            listings: (limits.fhir_search_cache_mb > 0).then(|| Arc::new(patients::ListingCache::default())),
        }
    }

    fn webauthn(&self, base_url: &str) -> Result<Arc<Webauthn>, AppError> {
        if let Some(w) = self.webauthn.get() {
            return Ok(Arc::clone(w));
        }
        let rp = relying_party(base_url).map_err(AppError::Unavailable)?;
        let webauthn = WebauthnBuilder::new(&rp.id, &rp.origin)
            .and_then(|b| b.rp_name("PHR care-team portal").build())
            .map_err(|e| AppError::Internal(format!("WebAuthn relying party: {e}")))?;
        let _ = self.secure.set(rp.secure);
        let _ = self.webauthn.set(Arc::new(webauthn));
        Ok(Arc::clone(self.webauthn.get().expect("set above")))
    }

    /// Whether cookies are for https (`__Host-`, `Secure`).
    pub fn secure(&self, base_url: &str) -> bool {
        *self.secure.get_or_init(|| relying_party(base_url).map(|rp| rp.secure).unwrap_or(true))
    }
}

/// A new random secret: 32 bytes, base64url without padding (43 characters).
pub fn new_secret() -> Result<String, AppError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// The stored form of a secret: hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(digest(&SHA256, secret.as_bytes()))
}

/// Whether `text` looks like one of our secrets (43 base64url characters); anything else is
/// refused before it reaches the database.
pub fn is_secret_shaped(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Equality of two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long after its last recorded use a session's use is recorded again: a quarter of the
/// idle limit, at most a minute (a session in use never looks idle for longer than that).
pub fn touch_every(idle_ms: i64) -> i64 {
    (idle_ms / 4).min(60_000)
}

/// Whether a session is within its absolute limit and has been used within `idle_ms`.
pub fn is_current(session: &SessionRow, now: i64, idle_ms: i64) -> bool {
    now < session.expires_at && now < session.last_seen_at.saturating_add(idle_ms)
}

/// A signed-in staff member, as `GET /portal/api/session` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffSession {
    pub staff_id: String,
    pub name: String,
    pub role: String,
    pub organization_id: String,
    pub organization_name: String,
    /// `clinic`, `municipality`, `emergency`, … (`phr-server org add --kind`).
    pub organization_kind: String,
    pub csrf_token: String,
    /// When the session ends at the latest (epoch ms).
    pub expires_at: i64,
    #[serde(skip)]
    pub session_hash: String,
}

/// A session just opened: the cookie value (sent once) and the session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: String,
    pub max_age_secs: i64,
    pub session: StaffSession,
}

/// The CSRF check of a state-changing request: `header` must be the session's token.
pub fn check_csrf(session: &StaffSession, header: Option<&str>) -> Result<(), AppError> {
    match header {
        Some(token) if constant_time_eq(token.as_bytes(), session.csrf_token.as_bytes()) => Ok(()),
        Some(_) => Err(AppError::Forbidden("the X-CSRF-Token header does not match this session".into())),
        None => Err(AppError::Forbidden(
            "state-changing portal requests need the X-CSRF-Token header (GET /portal/api/session)".into(),
        )),
    }
}

fn audit(
    conn: &mut DbConnection,
    actor: &str,
    action: OperatorAction,
    target: &str,
    outcome: AuditOutcome,
) -> Result<(), AppError> {
    operator::append(conn, now_ms(), &OperatorEvent { actor, action, target, outcome })?;
    Ok(())
}

pub(crate) fn staff_actor(staff_id: &str) -> String {
    format!("staff:{staff_id}")
}

/// A staff name: trimmed, 1-200 characters, no control characters.
fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(unprocessable("name", "1-200 characters without control characters"));
    }
    Ok(name.to_owned())
}

/// An issued invite: the token is shown once and never stored.
#[derive(Debug, Clone)]
pub struct InviteIssued {
    pub staff: StaffRow,
    pub token: String,
    pub expires_at: i64,
    /// Whether the staff member was created by this invite.
    pub created: bool,
}

/// Issues an invite for the organization's enabled staff member `name` (created if there is
/// none; `admin` makes them an admin), valid for `valid_ms`; their older unused invites stop
/// working. Audited (actor `actor`).
pub fn invite(
    conn: &mut crate::store::Conn,
    actor: &str,
    organization_id: &str,
    name: &str,
    admin: bool,
    valid_ms: i64,
) -> Result<InviteIssued, AppError> {
    let name = check_name(name)?;
    let token = new_secret()?;
    let now = now_ms();
    write_transaction(conn, |conn| {
        let org = crate::store::organizations::get(conn, organization_id)?
            .ok_or_else(|| AppError::NotFound(format!("no organization with id {organization_id:?} is registered")))?;
        if !org.is_enabled() {
            return Err(AppError::Forbidden(format!("organization {organization_id:?} is disabled")));
        }
        let (staff, created) = match store::active_by_name(conn, organization_id, &name)? {
            Some(mut s) => {
                if admin && s.role != ROLE_ADMIN {
                    store::set_role(conn, &s.staff_id, ROLE_ADMIN)?;
                    s.role = ROLE_ADMIN.to_owned();
                }
                (s, false)
            }
            None => {
                let row = StaffRow {
                    staff_id: Uuid::new_v4().to_string(),
                    organization_id: organization_id.to_owned(),
                    name: name.clone(),
                    role: if admin { ROLE_ADMIN } else { ROLE_MEMBER }.to_owned(),
                    disabled_at: None,
                    created_at: now,
                };
                store::insert_staff(conn, &row)?;
                (row, true)
            }
        };
        let expires_at = now.saturating_add(valid_ms);
        // Only the newest link works: a lost or leaked older one is dead from now on.
        store::withdraw_unused_invites(conn, &staff.staff_id)?;
        store::insert_invite(
            conn,
            &InviteRow {
                token_hash: hash_secret(&token),
                staff_id: staff.staff_id.clone(),
                created_at: now,
                expires_at,
                used_at: None,
            },
        )?;
        audit(conn, actor, OperatorAction::StaffInvited, &staff_actor(&staff.staff_id), AuditOutcome::Success)?;
        Ok(InviteIssued { staff, token: token.clone(), expires_at, created })
    })
}

/// The organization's staff, disabled ones included.
pub fn list(conn: &mut DbConnection, organization_id: &str) -> Result<Vec<StaffRow>, AppError> {
    if crate::store::organizations::get(conn, organization_id)?.is_none() {
        return Err(AppError::NotFound(format!("no organization with id {organization_id:?} is registered")));
    }
    Ok(store::of_organization(conn, organization_id)?)
}

/// Disables a staff member and ends their sessions at once. Audited (actor `actor`).
pub fn disable(conn: &mut crate::store::Conn, actor: &str, staff_id: &str) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        if !store::disable(conn, staff_id, now_ms())? {
            return Err(AppError::NotFound(format!("no staff member with id {staff_id:?}")));
        }
        audit(conn, actor, OperatorAction::StaffDisabled, &staff_actor(staff_id), AuditOutcome::Success)
    })
}

/// An invite's check: its staff member and organization name, or the refusal (with the staff
/// member when the invite exists).
type InviteCheck = Result<(StaffRow, String), (Option<StaffRow>, AppError)>;

/// The invite's staff member and organization name if it is usable now, else why not.
fn check_invite(conn: &mut DbConnection, token: &str, now: i64) -> Result<InviteCheck, AppError> {
    let unknown = || AppError::NotFound("no such invite: ask for a new invite link".into());
    if !is_secret_shaped(token) {
        return Ok(Err((None, unknown())));
    }
    let Some(invite) = store::get_invite(conn, &hash_secret(token))? else { return Ok(Err((None, unknown()))) };
    let staff =
        store::get_staff(conn, &invite.staff_id)?.ok_or_else(|| AppError::Internal("invite without staff".into()))?;
    let org = crate::store::organizations::get(conn, &staff.organization_id)?;
    let refusal = if invite.used_at.is_some() {
        AppError::Gone("this invite has been used: ask for a new invite link".into())
    } else if invite.expires_at <= now {
        AppError::Gone("this invite has expired: ask for a new invite link".into())
    } else {
        match org {
            Some(org) if org.is_enabled() && staff.disabled_at.is_none() => return Ok(Ok((staff, org.name))),
            _ => AppError::Forbidden("this staff member or organization is disabled".into()),
        }
    };
    Ok(Err((Some(staff), refusal)))
}

/// What an invite allows now: its staff member, or the refusal (audited when the invite exists).
fn usable_invite(conn: &mut DbConnection, token: &str, now: i64) -> Result<Result<StaffRow, AppError>, AppError> {
    match check_invite(conn, token, now)? {
        Ok((staff, _)) => Ok(Ok(staff)),
        Err((Some(staff), e)) => {
            let actor = staff_actor(&staff.staff_id);
            audit(conn, &actor, OperatorAction::StaffPasskeyRegistered, &actor, AuditOutcome::Denied)?;
            Ok(Err(e))
        }
        Err((None, e)) => Ok(Err(e)),
    }
}

/// Who an invite is for, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitePreview {
    pub name: String,
    pub organization_name: String,
}

/// `GET /portal/invite/{token}`: whom the invite is for, if it is usable now (the same
/// refusals as registering with it; only looking is not audited).
pub async fn invite_preview(app: &App, source: Option<IpAddr>, token: String) -> Result<InvitePreview, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    app.db(move |conn| match check_invite(conn, &token, now_ms())? {
        Ok((staff, organization_name)) => Ok(InvitePreview { name: staff.name, organization_name }),
        Err((_, e)) => Err(e),
    })
    .await
    .map_err(|e| gate.refused(e))
}

fn ceremony_id(challenge: &[u8]) -> String {
    hex::encode(digest(&SHA256, challenge))
}

/// The ceremony id of a finish request: the hash of the challenge in its client data.
fn ceremony_of_client_data(client_data_json: &[u8]) -> Result<String, AppError> {
    let failed = || AppError::Unauthorized("the passkey response does not answer a challenge of this server".into());
    let data: serde_json::Value = serde_json::from_slice(client_data_json).map_err(|_| failed())?;
    let challenge = data.get("challenge").and_then(|c| c.as_str()).ok_or_else(failed)?;
    let bytes = URL_SAFE_NO_PAD.decode(challenge.trim_end_matches('=')).map_err(|_| failed())?;
    Ok(ceremony_id(&bytes))
}

fn ceremony_failed() -> AppError {
    AppError::Unauthorized("the passkey ceremony failed or expired: start again".into())
}

/// `POST /portal/api/invites/{token}/register/start`: the `PublicKeyCredentialCreationOptions`
/// for the invited staff member (a discoverable credential with user verification).
pub async fn register_start(app: &App, source: Option<IpAddr>, token: String) -> Result<serde_json::Value, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    gate.known(CEREMONY_BUCKET)?;
    register_start_admitted(app, token).await.map_err(|e| gate.refused(e))
}

async fn register_start_admitted(app: &App, token: String) -> Result<serde_json::Value, AppError> {
    // Refusals are decided inside the transaction, committed with their audit event, and only
    // then returned (the inner `Result`).
    let webauthn = app.portal.webauthn(app.base_url()?)?;
    let decided: Result<serde_json::Value, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                let staff = match usable_invite(conn, &token, now)? {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(e)),
                };
                let user = Uuid::parse_str(&staff.staff_id).map_err(|_| AppError::Internal("staff id".into()))?;
                let existing: Vec<_> = store::passkeys_of(conn, &staff.staff_id)?
                    .iter()
                    .filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok())
                    .map(|p| p.cred_id().clone())
                    .collect();
                let (ccr, state) = webauthn
                    .start_passkey_registration(user, &staff.name, &staff.name, Some(existing))
                    .map_err(|e| AppError::Internal(format!("WebAuthn registration start: {e}")))?;
                let row = CeremonyRow {
                    ceremony_id: ceremony_id(ccr.public_key.challenge.as_ref()),
                    kind: KIND_REGISTER.to_owned(),
                    invite_hash: Some(hash_secret(&token)),
                    state: serde_json::to_string(&state).map_err(|e| AppError::Internal(e.to_string()))?,
                    expires_at: now + CEREMONY_MS,
                };
                store::insert_ceremony(conn, &row, now)?;
                let mut options = serde_json::to_value(&ccr).map_err(|e| AppError::Internal(e.to_string()))?;
                // A passkey the browser can offer without a user name (discoverable sign-in).
                if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
                    sel["residentKey"] = "required".into();
                    sel["requireResidentKey"] = true.into();
                }
                Ok(Ok(options))
            })
        })
        .await?;
    decided
}

/// `POST /portal/api/invites/{token}/register/finish`: stores the passkey, marks the invite
/// used and opens a session.
pub async fn register_finish(
    app: &App,
    source: Option<IpAddr>,
    token: String,
    credential: RegisterPublicKeyCredential,
) -> Result<NewSession, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    register_finish_admitted(app, token, credential).await.map_err(|e| gate.refused(e))
}

async fn register_finish_admitted(
    app: &App,
    token: String,
    credential: RegisterPublicKeyCredential,
) -> Result<NewSession, AppError> {
    let webauthn = app.portal.webauthn(app.base_url()?)?;
    let (idle_ms, session_ms) = (app.portal.idle_ms, app.portal.session_ms);
    let cookie_value = new_secret()?;
    let csrf_token = new_secret()?;
    let decided: Result<NewSession, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                let staff = match usable_invite(conn, &token, now)? {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(e)),
                };
                let invite_hash = hash_secret(&token);
                let actor = staff_actor(&staff.staff_id);
                let refuse = |conn: &mut DbConnection| -> Result<AppError, AppError> {
                    audit(conn, &actor, OperatorAction::StaffPasskeyRegistered, &actor, AuditOutcome::Denied)?;
                    Ok(ceremony_failed())
                };
                let id = match ceremony_of_client_data(credential.response.client_data_json.as_ref()) {
                    Ok(id) => id,
                    Err(_) => return Ok(Err(refuse(conn)?)),
                };
                let ceremony = match store::take_ceremony(conn, &id, KIND_REGISTER, now)? {
                    Some(c) if c.invite_hash.as_deref() == Some(invite_hash.as_str()) => c,
                    _ => return Ok(Err(refuse(conn)?)),
                };
                let state: PasskeyRegistration =
                    serde_json::from_str(&ceremony.state).map_err(|e| AppError::Internal(e.to_string()))?;
                let passkey = match webauthn.finish_passkey_registration(&credential, &state) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::info!(reason = %e, "passkey registration refused");
                        return Ok(Err(refuse(conn)?));
                    }
                };
                let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref() as &[u8]);
                if store::get_passkey(conn, &credential_id)?.is_some() {
                    return Ok(Err(refuse(conn)?));
                }
                if !store::use_invite(conn, &invite_hash, now)? {
                    return Ok(Err(AppError::Gone("this invite has been used: ask for a new invite link".into())));
                }
                store::insert_passkey(
                    conn,
                    &PasskeyRow {
                        credential_id,
                        staff_id: staff.staff_id.clone(),
                        passkey: serde_json::to_string(&passkey).map_err(|e| AppError::Internal(e.to_string()))?,
                        created_at: now,
                        last_used_at: Some(now),
                    },
                )?;
                audit(conn, &actor, OperatorAction::StaffPasskeyRegistered, &actor, AuditOutcome::Success)?;
                open_session(conn, &staff, cookie_value.clone(), csrf_token.clone(), now, idle_ms, session_ms).map(Ok)
            })
        })
        .await?;
    decided
}

/// Opens a session for `staff` (audited as a sign-in).
fn open_session(
    conn: &mut DbConnection,
    staff: &StaffRow,
    cookie_value: String,
    csrf_token: String,
    now: i64,
    idle_ms: i64,
    session_ms: i64,
) -> Result<NewSession, AppError> {
    store::sweep_sessions(conn, now, idle_ms)?;
    let org = crate::store::organizations::get(conn, &staff.organization_id)?
        .ok_or_else(|| AppError::Internal("staff without organization".into()))?;
    let row = SessionRow {
        session_hash: hash_secret(&cookie_value),
        staff_id: staff.staff_id.clone(),
        csrf_token: csrf_token.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(session_ms),
    };
    store::insert_session(conn, &row)?;
    let actor = staff_actor(&staff.staff_id);
    audit(conn, &actor, OperatorAction::StaffSignedIn, &actor, AuditOutcome::Success)?;
    Ok(NewSession {
        cookie_value,
        max_age_secs: session_ms / 1000,
        session: StaffSession {
            staff_id: staff.staff_id.clone(),
            name: staff.name.clone(),
            role: staff.role.clone(),
            organization_id: org.organization_id,
            organization_name: org.name,
            organization_kind: org.kind,
            csrf_token,
            expires_at: row.expires_at,
            session_hash: row.session_hash,
        },
    })
}

/// `POST /portal/api/signin/start`: a challenge any staff member's passkey can answer
/// (discoverable credentials; the browser offers the passkeys it has for this site).
pub async fn signin_start(app: &App, source: Option<IpAddr>) -> Result<serde_json::Value, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    gate.known(CEREMONY_BUCKET)?;
    let webauthn = app.portal.webauthn(app.base_url()?)?;
    let (rcr, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| AppError::Internal(format!("WebAuthn sign-in start: {e}")))?;
    let now = now_ms();
    let row = CeremonyRow {
        ceremony_id: ceremony_id(rcr.public_key.challenge.as_ref()),
        kind: KIND_SIGNIN.to_owned(),
        invite_hash: None,
        state: serde_json::to_string(&state).map_err(|e| AppError::Internal(e.to_string()))?,
        expires_at: now + CEREMONY_MS,
    };
    app.db(move |conn| write_transaction(conn, |conn| Ok(store::insert_ceremony(conn, &row, now)?))).await?;
    serde_json::to_value(&rcr).map_err(|e| AppError::Internal(e.to_string()))
}

/// `POST /portal/api/signin/finish`: checks the assertion against the staff member's
/// passkeys and opens a session. Refusals are audited as `staff_sign_in_refused`.
pub async fn signin_finish(
    app: &App,
    source: Option<IpAddr>,
    credential: PublicKeyCredential,
) -> Result<NewSession, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    signin_finish_admitted(app, credential).await.map_err(|e| gate.refused(e))
}

async fn signin_finish_admitted(app: &App, credential: PublicKeyCredential) -> Result<NewSession, AppError> {
    let webauthn = app.portal.webauthn(app.base_url()?)?;
    let (idle_ms, session_ms) = (app.portal.idle_ms, app.portal.session_ms);
    let cookie_value = new_secret()?;
    let csrf_token = new_secret()?;
    let decided: Result<NewSession, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                let refuse = |conn: &mut DbConnection, actor: &str, e: AppError| -> Result<AppError, AppError> {
                    audit(conn, actor, OperatorAction::StaffSignInRefused, actor, AuditOutcome::Denied)?;
                    Ok(e)
                };
                let ceremony = match ceremony_of_client_data(credential.response.client_data_json.as_ref()) {
                    Ok(id) => store::take_ceremony(conn, &id, KIND_SIGNIN, now)?,
                    Err(_) => None,
                };
                let staff = match webauthn.identify_discoverable_authentication(&credential) {
                    Ok((user, _)) => store::get_staff(conn, &user.to_string())?,
                    Err(_) => None,
                };
                let Some(staff) = staff else { return Ok(Err(refuse(conn, "anonymous", ceremony_failed())?)) };
                let actor = staff_actor(&staff.staff_id);
                let Some(ceremony) = ceremony else { return Ok(Err(refuse(conn, &actor, ceremony_failed())?)) };
                let org_enabled =
                    crate::store::organizations::get(conn, &staff.organization_id)?.is_some_and(|o| o.is_enabled());
                if staff.disabled_at.is_some() || !org_enabled {
                    let e = AppError::Forbidden("this staff member or organization is disabled".into());
                    return Ok(Err(refuse(conn, &actor, e)?));
                }
                let state: DiscoverableAuthentication =
                    serde_json::from_str(&ceremony.state).map_err(|e| AppError::Internal(e.to_string()))?;
                let mut passkeys: Vec<(String, Passkey)> = store::passkeys_of(conn, &staff.staff_id)?
                    .into_iter()
                    .filter_map(|row| serde_json::from_str(&row.passkey).ok().map(|p| (row.credential_id, p)))
                    .collect();
                let keys: Vec<DiscoverableKey> = passkeys.iter().map(|(_, p)| DiscoverableKey::from(p)).collect();
                let result = match webauthn.finish_discoverable_authentication(&credential, state, &keys) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::info!(reason = %e, "staff sign-in refused");
                        return Ok(Err(refuse(conn, &actor, ceremony_failed())?));
                    }
                };
                for (credential_id, passkey) in &mut passkeys {
                    if let Some(changed) = passkey.update_credential(&result) {
                        let json = if changed {
                            Some(serde_json::to_string(passkey).map_err(|e| AppError::Internal(e.to_string()))?)
                        } else {
                            None
                        };
                        store::passkey_used(conn, credential_id, json.as_deref(), now)?;
                    }
                }
                open_session(conn, &staff, cookie_value.clone(), csrf_token.clone(), now, idle_ms, session_ms).map(Ok)
            })
        })
        .await?;
    decided
}

/// The session of a cookie value: current, its staff member and organization enabled
/// (checked in the database on every request). Marks it used ([`touch_every`]).
pub async fn session(app: &App, cookie_value: String) -> Result<StaffSession, AppError> {
    let idle_ms = app.portal.idle_ms;
    let decided: Result<StaffSession, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let none = || AppError::Unauthorized("not signed in, or the session has ended: sign in again".into());
                if !is_secret_shaped(&cookie_value) {
                    return Ok(Err(none()));
                }
                let hash = hash_secret(&cookie_value);
                let Some((session, staff, org_name, org_disabled, org_kind)) = store::session(conn, &hash)? else {
                    return Ok(Err(none()));
                };
                let now = now_ms();
                if !is_current(&session, now, idle_ms) {
                    store::delete_session(conn, &hash)?;
                    return Ok(Err(none()));
                }
                if staff.disabled_at.is_some() || org_disabled.is_some() {
                    store::delete_session(conn, &hash)?;
                    return Ok(Err(AppError::Forbidden("this staff member or organization is disabled".into())));
                }
                // Marking it used is a write: once per quarter of the idle limit (at most a
                // minute) is precise enough and spares a write on most requests.
                if now - session.last_seen_at >= touch_every(idle_ms) {
                    store::touch_session(conn, &hash, now)?;
                }
                Ok(Ok(StaffSession {
                    staff_id: staff.staff_id,
                    name: staff.name,
                    role: staff.role,
                    organization_id: staff.organization_id,
                    organization_name: org_name,
                    organization_kind: org_kind,
                    csrf_token: session.csrf_token,
                    expires_at: session.expires_at,
                    session_hash: hash,
                }))
            })
        })
        .await?;
    decided
}

/// Ends a session (audited).
pub async fn signout(app: &App, session: StaffSession) -> Result<(), AppError> {
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            store::delete_session(conn, &session.session_hash)?;
            let actor = staff_actor(&session.staff_id);
            audit(conn, &actor, OperatorAction::StaffSignedOut, &actor, AuditOutcome::Success)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_base_url_is_the_localhost_relying_party() {
        let rp = relying_party("http://127.0.0.1:8080").unwrap();
        assert_eq!((rp.id.as_str(), rp.origin.as_str(), rp.secure), ("localhost", "http://localhost:8080/", false));
        let rp = relying_party("https://Portal.Example.org/phr").unwrap();
        assert_eq!(
            (rp.id.as_str(), rp.origin.as_str(), rp.secure),
            ("portal.example.org", "https://portal.example.org/", true)
        );
        assert!(relying_party("http://192.0.2.7:8080").is_err());
    }

    #[test]
    fn secrets_are_43_base64url_characters_stored_as_their_hash() {
        let s = new_secret().unwrap();
        assert!(is_secret_shaped(&s), "{s}");
        assert_ne!(s, new_secret().unwrap());
        assert_eq!(hash_secret(&s).len(), 64);
        assert!(!is_secret_shaped("short"));
        assert!(!is_secret_shaped(&format!("{}=", &s[..42])));
    }

    fn session() -> StaffSession {
        StaffSession {
            staff_id: "s".into(),
            name: "n".into(),
            role: ROLE_MEMBER.into(),
            organization_id: "o".into(),
            organization_name: "O".into(),
            organization_kind: "clinic".into(),
            csrf_token: "token-abc".into(),
            expires_at: 0,
            session_hash: "h".into(),
        }
    }

    #[test]
    fn csrf_needs_the_sessions_exact_token() {
        assert!(check_csrf(&session(), Some("token-abc")).is_ok());
        for bad in [Some("token-abd"), Some("token-ab"), Some(""), None] {
            assert!(matches!(check_csrf(&session(), bad), Err(AppError::Forbidden(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_past_its_absolute_limit() {
        let row = SessionRow {
            session_hash: "h".into(),
            staff_id: "s".into(),
            csrf_token: "c".into(),
            created_at: 0,
            last_seen_at: 1_000,
            expires_at: 10_000,
        };
        assert!(is_current(&row, 1_500, 1_000));
        assert!(!is_current(&row, 2_000, 1_000), "idle for the whole idle limit");
        let busy = SessionRow { last_seen_at: 9_999, ..row };
        assert!(!is_current(&busy, 10_000, 1_000), "used a moment ago, but past the absolute limit");
    }

    #[test]
    fn a_sessions_use_is_recorded_at_least_every_quarter_of_the_idle_limit_and_minute() {
        assert_eq!(touch_every(30 * 60_000), 60_000, "30 minutes idle: at most a minute");
        assert_eq!(touch_every(60_000), 15_000, "one minute idle: every 15 s");
        // A session used steadily is recorded often enough never to look idle.
        let idle = 60_000;
        assert!(touch_every(idle) < idle);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn the_ceremony_is_found_by_the_challenge_in_the_client_data() {
        let challenge = [7u8; 32];
        let data = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"http://localhost:1"}}"#,
            URL_SAFE_NO_PAD.encode(challenge)
        );
        assert_eq!(ceremony_of_client_data(data.as_bytes()).unwrap(), ceremony_id(&challenge));
        assert!(ceremony_of_client_data(b"{}").is_err());
        assert!(ceremony_of_client_data(b"not json").is_err());
    }
}
