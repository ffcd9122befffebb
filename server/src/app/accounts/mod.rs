//! Family accounts and their devices: creation by the first device, sign-in by
//! challenge signature, rotating refresh tokens, pairing further devices,
//! listing and removing devices, and erasing the whole account.
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `POST /accounts/v1` | – | create the account with its first device |
//! | `POST /auth/v1/challenge` | – | a nonce for a device to sign (valid 2 min, single use) |
//! | `POST /auth/v1/session` | signature | access token (10 min) + refresh token |
//! | `POST /auth/v1/refresh` | refresh token | rotate: new pair; reusing an old token revokes the device's tokens |
//! | `POST /accounts/v1/pairing-codes` | device | a single-use code (10 min) for a new device |
//! | `POST /accounts/v1/join` | pairing code | add a device |
//! | `GET /accounts/v1`, `GET /accounts/v1/devices` | device | account and device list |
//! | `DELETE /accounts/v1/devices/{id}` | device | remove a device: its tokens stop working at once, the pairing codes it issued are void |
//! | `DELETE /accounts/v1` | device | erase every row of the account, keeping only a tombstone ([`store::tombstone_account`]) |
//! | `PUT /accounts/v1/key-backup` | device | store the passphrase-sealed account key ([`recovery`]) |
//! | `POST /accounts/v1/recovery/key-backup` | – | a new phone fetches the sealed backup |
//! | `POST /accounts/v1/recovery/challenge` | – | a nonce HPKE-sealed to the account's public key |
//! | `POST /accounts/v1/recovery/enrol` | opened nonce | a phone holding the account key enrols as a device |
//!
//! The unauthenticated endpoints are limited so that knowing ids lets an
//! attacker slow down only himself: see [`crate::app::auth::limits`].

use std::net::IpAddr;

use crate::store::accounts as store;
use phr_core::sync::protocol::{
    AccountInfo, ChallengeRequest, ChallengeResponse, CreateAccountRequest, CreateAccountResponse, DeviceInfo,
    JoinRequest, JoinResponse, NewDevice, PairingCodeResponse, RefreshRequest, SessionRequest, TokenResponse,
};
use ring::signature::{UnparsedPublicKey, ED25519};
use uuid::Uuid;

use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::auth::limits::Gate;
use crate::app::auth::tokens::{self, REFRESH_TOKEN_TTL_MS};
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{now_ms, App};
use crate::store::write_transaction;

pub mod idempotency;
pub mod recovery;

use idempotency::{Claim, IdempotencyKey, Replay};

const CHALLENGE_TTL_MS: i64 = 2 * 60 * 1000;
const PAIRING_CODE_TTL_MS: i64 = 10 * 60 * 1000;
const MAX_DEVICE_NAME_CHARS: usize = 100;
const MAX_DEVICES_PER_ACCOUNT: usize = 20;

/// Adds a checked device to an account, inside the caller's write
/// transaction: at most [`MAX_DEVICES_PER_ACCOUNT`] devices (409 beyond), and
/// the `action` (account created, device joined or recovered) audited as the
/// new device. Every way a device enters an account goes through here.
fn add_device(
    conn: &mut crate::store::DbConnection,
    account_id: &str,
    device_id: &str,
    device: &NewDevice,
    action: crate::app::audit::AuditAction,
    now: i64,
) -> Result<(), AppError> {
    if store::devices_of(conn, account_id)?.len() >= MAX_DEVICES_PER_ACCOUNT {
        return Err(AppError::Conflict(format!(
            "an account can have at most {MAX_DEVICES_PER_ACCOUNT} devices; remove one first"
        )));
    }
    store::insert_device(conn, account_id, device_id, &device.public_key, device.name.trim(), now)?;
    let actor = format!("device:{device_id}");
    let event = NewAuditEvent::new(&actor, action, AuditOutcome::Success);
    audit::append(conn, account_id, now, &event)?;
    Ok(())
}

/// A UUID path or body id, or a 400 naming the field.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value).map_err(|_| AppError::BadRequest(format!("{field} must be a UUID")))
}

/// An id in its one canonical spelling (hyphenated lower case), however the
/// client wrote it (upper case, no hyphens, in braces, `urn:uuid:`): what
/// every bucket key and database lookup uses. A 400 naming the field if it is
/// not a UUID.
pub fn canonical_id(field: &str, value: &str) -> Result<String, AppError> {
    Ok(parse_id(field, value)?.hyphenated().to_string())
}

/// [`canonical_id`] for an unauthenticated endpoint: a malformed id is a
/// refusal charged to the caller's source address ([`Gate::refused`]).
fn gated_id(gate: &Gate<'_>, field: &str, value: &str) -> Result<String, AppError> {
    canonical_id(field, value).map_err(|e| gate.refused(e))
}

fn check_new_device(device: &NewDevice) -> Result<(), AppError> {
    let mut problems = Vec::new();
    if device.public_key.len() != 32 {
        problems.push((
            "device.public_key",
            format!("must be a 32-byte Ed25519 public key, got {} bytes", device.public_key.len()),
        ));
    }
    let name_chars = device.name.chars().count();
    if device.name.trim().is_empty() || name_chars > MAX_DEVICE_NAME_CHARS {
        problems.push(("device.name", format!("must be 1–{MAX_DEVICE_NAME_CHARS} characters and not blank")));
    }
    if device.name.chars().any(char::is_control) {
        problems.push(("device.name", "must not contain control characters".to_owned()));
    }
    crate::app::error::unprocessable_if_any(
        "invalid device",
        problems.into_iter().map(|(path, reason)| (path.to_owned(), reason)).collect(),
    )
}

/// Creates an account with its first device (`source`: the caller's address).
pub async fn create_account(
    state: &App,
    source: Option<IpAddr>,
    req: CreateAccountRequest,
    key: Option<&IdempotencyKey>,
) -> Result<CreateAccountResponse, AppError> {
    // Account creation is unauthenticated: limit it per client address (the
    // connection's peer; behind a proxy, the proxy should limit as well).
    let peer = crate::app::auth::limits::source_key(source);
    state.auth_limiter.check(&format!("create-account:{peer}"))?;
    if req.account_public_key.len() != 32 {
        return Err(crate::app::error::unprocessable(
            "account_public_key",
            format!("must be a 32-byte X25519 public key, got {} bytes", req.account_public_key.len()),
        ));
    }
    check_new_device(&req.device)?;
    let first = match idempotency::replay(state, key, "create-account", &req).await? {
        Replay::Answered(answer) => return Ok(answer),
        Replay::First(first) => Some(first),
        Replay::NoKey => None,
    };
    let answer =
        CreateAccountResponse { account_id: Uuid::now_v7().to_string(), device_id: Uuid::now_v7().to_string() };
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                // The key first: a call that loses it to a concurrent one creates nothing.
                if let Some(first) = &first {
                    if let Claim::Answered(earlier) = first.claim(conn, &answer, now)? {
                        return Ok(earlier);
                    }
                }
                let (acc, dev) = (&answer.account_id, &answer.device_id);
                store::insert_account(conn, acc, &req.account_public_key, now)?;
                add_device(conn, acc, dev, &req.device, AuditAction::AccountCreated, now)?;
                Ok(answer)
            })
        })
        .await
}

/// A sign-in challenge for a device of the account.
pub async fn challenge(
    state: &App,
    source: Option<IpAddr>,
    req: ChallengeRequest,
) -> Result<ChallengeResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", &req.account_id)?;
    let device_id = gated_id(&gate, "device_id", &req.device_id)?;
    // The cheap check first: a made-up device costs the asking address, never
    // the family. (A device of an erased account is known too: see below.)
    let (acc, dev) = (account_id.clone(), device_id.clone());
    let known = state
        .db(move |conn| {
            Ok(store::device_exists(conn, &acc, &dev)?
                || store::tombstone_device(conn, &acc, &dev, now_ms())?.is_some())
        })
        .await?;
    if !known {
        return Err(gate.refused(unknown_device()));
    }
    gate.known(&format!("challenge:{account_id}/{device_id}"))?;
    let challenge_id = Uuid::new_v4().to_string();
    let nonce = crate::app::random_bytes(32)?;
    let expires_at = now_ms() + CHALLENGE_TTL_MS;
    let (cid, n) = (challenge_id.clone(), nonce.clone());
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                // Again inside the transaction: the device may have been removed meanwhile.
                if store::device_exists(conn, &account_id, &device_id)? {
                    store::insert_challenge(conn, &account_id, &cid, &device_id, &n, expires_at, now)?;
                    return Ok(());
                }
                // A device of an erased account gets a challenge as it did before the
                // erasure (so this answer tells nobody the account is gone); only a
                // signature with its device key turns into 410 at /auth/v1/session.
                if store::set_tombstone_challenge(conn, &account_id, &device_id, &cid, &n, expires_at, now)? {
                    return Ok(());
                }
                Err(unknown_device())
            })
        })
        .await
        .map_err(|e| gate.refused(e))?;
    Ok(ChallengeResponse { challenge_id, nonce, expires_at })
}

fn unknown_device() -> AppError {
    AppError::Unauthorized("unknown account or device".into())
}

/// Signs a device in with its signature of a challenge: access and refresh token.
pub async fn session(state: &App, source: Option<IpAddr>, req: SessionRequest) -> Result<TokenResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", &req.account_id)?;
    let device_id = gated_id(&gate, "device_id", &req.device_id)?;
    let challenge_id = gated_id(&gate, "challenge_id", &req.challenge_id)?;
    let signature = req.signature;
    let refresh_token = tokens::new_refresh_token(&account_id)?;
    let refresh_hash = tokens::secret_hash(&refresh_token);
    let (acc, dev) = (account_id.clone(), device_id.clone());
    let repeats = state.audit_repeats.clone();
    // Verify and record in one transaction; the outcome (and its audit entry) commits either way.
    let verified = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                // Anyone who knows the account id can cause denials: they are
                // written as counted events (1st, 2nd, 4th… of the hour), not one each.
                let denied =
                    |conn: &mut crate::store::DbConnection, why: &str| -> Result<Result<(), AppError>, AppError> {
                        let actor = format!("device:{device_id}");
                        if store::account(conn, &account_id)?.is_some() {
                            if let Some(count) =
                                repeats.occurrence(&account_id, AuditAction::SignIn, AuditOutcome::Denied, now)
                            {
                                let event = NewAuditEvent::new(&actor, AuditAction::SignIn, AuditOutcome::Denied)
                                    .occurrences(count);
                                audit::append(conn, &account_id, now, &event)?;
                            }
                        }
                        Ok(Err(AppError::Unauthorized(why.to_owned())))
                    };
                let Some((challenge_device, nonce, expires_at)) =
                    store::take_challenge(conn, &account_id, &challenge_id)?
                else {
                    // A device of an erased account that signed its challenge is told so.
                    if let Some((public_key, nonce)) =
                        store::take_tombstone_challenge(conn, &account_id, &device_id, &challenge_id, now)?
                    {
                        let message =
                            phr_core::sync::protocol::sign_in_message(&account_id, &device_id, &challenge_id, &nonce);
                        if UnparsedPublicKey::new(&ED25519, &public_key).verify(&message, &signature).is_ok() {
                            return Ok(Err(AppError::AccountDeleted));
                        }
                    }
                    return denied(conn, "unknown or already used challenge");
                };
                if challenge_device != device_id {
                    return denied(conn, "the challenge was issued to another device");
                }
                if expires_at < now {
                    return denied(conn, "the challenge has expired; ask for a new one");
                }
                let Some(device) = store::device(conn, &account_id, &device_id)? else {
                    return denied(conn, "unknown account or device");
                };
                let message = phr_core::sync::protocol::sign_in_message(&account_id, &device_id, &challenge_id, &nonce);
                if UnparsedPublicKey::new(&ED25519, &device.public_key).verify(&message, &signature).is_err() {
                    return denied(conn, "the signature does not verify with this device's key");
                }
                store::insert_refresh_token(
                    conn,
                    &account_id,
                    &refresh_hash,
                    &device_id,
                    now,
                    now + REFRESH_TOKEN_TTL_MS,
                )?;
                store::touch_device(conn, &account_id, &device_id, now)?;
                let actor = format!("device:{device_id}");
                audit::append(
                    conn,
                    &account_id,
                    now,
                    &NewAuditEvent::new(&actor, AuditAction::SignIn, AuditOutcome::Success),
                )?;
                Ok(Ok(()))
            })
        })
        .await?;
    verified.map_err(|e| gate.refused(e))?;
    let (access_token, _) = state.tokens.issue(&acc, &dev, now_ms() / 1000)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: tokens::ACCESS_TOKEN_TTL_SECS,
        refresh_token,
    })
}

/// Rotates a refresh token: a new access and refresh token.
pub async fn refresh(state: &App, source: Option<IpAddr>, req: RefreshRequest) -> Result<TokenResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let invalid = || AppError::Unauthorized("invalid refresh token".into());
    let account_id = tokens::refresh_token_account(&req.refresh_token)
        .ok_or_else(invalid)
        .and_then(|acc| canonical_id("refresh_token", acc).map_err(|_| invalid()))
        .map_err(|e| gate.refused(e))?;
    let old_hash = tokens::secret_hash(&req.refresh_token);
    // The cheap check first: only a token the server issued is limited per
    // device; one of an erased account is told so (410), any other refused.
    let (acc, hash) = (account_id.clone(), old_hash.clone());
    let issued = state
        .db(move |conn| {
            let now = now_ms();
            match store::refresh_token(conn, &acc, &hash)? {
                Some((device_id, _, _)) => Ok(Ok(device_id)),
                None if store::tombstone_refresh_token(conn, &acc, &hash, now)? => Ok(Err(AppError::AccountDeleted)),
                None => Ok(Err(invalid())),
            }
        })
        .await?;
    let device_id = issued.map_err(|e| gate.refused(e))?;
    gate.known(&format!("refresh:{account_id}/{device_id}"))?;
    let new_token = tokens::new_refresh_token(&account_id)?;
    let new_hash = tokens::secret_hash(&new_token);
    let acc = account_id.clone();
    let outcome = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                let Some((device_id, expires_at, used_at)) = store::refresh_token(conn, &acc, &old_hash)? else {
                    // A refresh token still valid when its account was erased.
                    if store::tombstone_refresh_token(conn, &acc, &old_hash, now)? {
                        return Ok(Err(AppError::AccountDeleted));
                    }
                    return Ok(Err(AppError::Unauthorized("invalid refresh token".to_owned())));
                };
                if used_at.is_some() {
                    // A rotated token came back: someone holds a copy. End every session of the device.
                    store::revoke_device_refresh_tokens(conn, &acc, &device_id)?;
                    let actor = format!("device:{device_id}");
                    audit::append(
                        conn,
                        &acc,
                        now,
                        &NewAuditEvent::new(&actor, AuditAction::RefreshTokenReuse, AuditOutcome::Denied),
                    )?;
                    return Ok(Err(AppError::Unauthorized("refresh token already used: sign in again".to_owned())));
                }
                if expires_at < now {
                    return Ok(Err(AppError::Unauthorized("refresh token expired: sign in again".to_owned())));
                }
                if !store::device_exists(conn, &acc, &device_id)? {
                    return Ok(Err(AppError::Unauthorized("this device has been removed from the account".to_owned())));
                }
                store::mark_refresh_token_used(conn, &acc, &old_hash, now)?;
                store::insert_refresh_token(conn, &acc, &new_hash, &device_id, now, now + REFRESH_TOKEN_TTL_MS)?;
                store::touch_device(conn, &acc, &device_id, now)?;
                Ok::<_, AppError>(Ok(device_id))
            })
        })
        .await?;
    let device_id = outcome.map_err(|e| gate.refused(e))?;
    let (access_token, _) = state.tokens.issue(&account_id, &device_id, now_ms() / 1000)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: tokens::ACCESS_TOKEN_TTL_SECS,
        refresh_token: new_token,
    })
}

/// A single-use pairing code for a new device of the account.
pub async fn pairing_code(state: &App, device: AuthenticatedDevice) -> Result<PairingCodeResponse, AppError> {
    let code = tokens::new_pairing_code()?;
    let normalized =
        tokens::normalize_pairing_code(&code).ok_or_else(|| AppError::Internal("pairing code shape".into()))?;
    let hash = tokens::secret_hash(&normalized);
    let expires_at = now_ms() + PAIRING_CODE_TTL_MS;
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                store::insert_pairing_code(conn, &device.account_id, &hash, &device.device_id, expires_at, now)?;
                audit::append(
                    conn,
                    &device.account_id,
                    now,
                    &NewAuditEvent::new(&device.actor(), AuditAction::PairingCodeIssued, AuditOutcome::Success),
                )?;
                Ok::<_, AppError>(())
            })
        })
        .await?;
    Ok(PairingCodeResponse { pairing_code: code, expires_at })
}

/// Adds a device to the account with a pairing code.
pub async fn join(
    state: &App,
    source: Option<IpAddr>,
    req: JoinRequest,
    key: Option<&IdempotencyKey>,
) -> Result<JoinResponse, AppError> {
    let gate = state.auth_limiter.admit(source)?;
    let account_id = gated_id(&gate, "account_id", &req.account_id)?;
    check_new_device(&req.device).map_err(|e| gate.refused(e))?;
    let first = match idempotency::replay(state, key, "join", &req).await? {
        Replay::Answered(answer) => return Ok(answer),
        Replay::First(first) => Some(first),
        Replay::NoKey => None,
    };
    let invalid_code = || AppError::Unauthorized("invalid or expired pairing code".into());
    let code =
        tokens::normalize_pairing_code(&req.pairing_code).ok_or_else(invalid_code).map_err(|e| gate.refused(e))?;
    gate.may_guess(&account_id)?;
    let hash = tokens::secret_hash(&code);
    let answer = JoinResponse { device_id: Uuid::now_v7().to_string() };
    let acc = account_id.clone();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let now = now_ms();
                // The key first: a call that loses it to a concurrent one (which
                // redeemed the code) creates nothing and gets that call's answer.
                if let Some(first) = &first {
                    if let Claim::Answered(earlier) = first.claim(conn, &answer, now)? {
                        return Ok(earlier);
                    }
                }
                // Only an unused, unexpired code whose issuing device is still in the family.
                if !store::redeem_pairing_code(conn, &acc, &hash, now)? {
                    return Err(invalid_code());
                }
                // A device whose invite carries another account key could
                // never open the family's records: refuse it before it is a
                // member (the transaction rolls back, the code stays usable).
                if let Some(expected) = &req.account_public_key {
                    let account = store::account(conn, &acc)?.ok_or_else(invalid_code)?;
                    if &account.public_key != expected {
                        return Err(AppError::Conflict(
                            "the account key in this invite does not match the account; ask the other phone for a \
                             new invite"
                                .into(),
                        ));
                    }
                }
                add_device(conn, &acc, &answer.device_id, &req.device, AuditAction::DeviceJoined, now)?;
                Ok(answer)
            })
        })
        .await
        .map_err(|e| gate.refused_guess(&account_id, e))
}

/// The device's account.
pub async fn account_info(state: &App, device: AuthenticatedDevice) -> Result<AccountInfo, AppError> {
    let account = state
        .db(move |conn| {
            store::account(conn, &device.account_id)?.ok_or_else(|| AppError::NotFound("no such account".into()))
        })
        .await?;
    Ok(AccountInfo {
        account_id: account.account_id,
        account_public_key: account.public_key,
        record_count: account.record_count,
        change_seq: account.change_seq,
        created_at: account.created_at,
    })
}

/// The devices of the account, the calling one marked `current`.
pub async fn list_devices(state: &App, device: AuthenticatedDevice) -> Result<Vec<DeviceInfo>, AppError> {
    let me = device.device_id.clone();
    let rows = state.db(move |conn| Ok(store::devices_of(conn, &device.account_id)?)).await?;
    let list: Vec<DeviceInfo> = rows
        .into_iter()
        .map(|d| DeviceInfo {
            current: d.device_id == me,
            device_id: d.device_id,
            name: d.name,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
        })
        .collect();
    Ok(list)
}

/// Removes device `target` from the caller's account (404 if it is not one of its devices).
pub async fn remove_device(state: &App, device: AuthenticatedDevice, target: String) -> Result<(), AppError> {
    parse_id("device_id", &target).map_err(|_| AppError::NotFound("no such device in this account".into()))?;
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                if !store::remove_device(conn, &device.account_id, &target)? {
                    return Err(AppError::NotFound("no such device in this account".into()));
                }
                audit::append(
                    conn,
                    &device.account_id,
                    now_ms(),
                    &NewAuditEvent::new(&device.actor(), AuditAction::DeviceRemoved, AuditOutcome::Success)
                        .records(vec![target.clone()]),
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(())
}

/// Erases the caller's account, keeping only its tombstone.
pub async fn delete_account(state: &App, device: AuthenticatedDevice) -> Result<(), AppError> {
    let account = device.account_id.clone();
    let rows = state
        .db(move |conn| {
            Ok(write_transaction(conn, |conn| {
                store::tombstone_account(conn, &account, now_ms())?;
                store::delete_account(conn, &account)
            })?)
        })
        .await?;
    tracing::info!(rows, "account erased");
    state.fhir_search_cache.forget_account(&device.account_id);
    Ok(())
}
