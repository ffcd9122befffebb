//! Account, device and credential rows.

use diesel::prelude::*;

use crate::store::schema::{
    accounts, audit_events, auth_challenges, consent_grants, devices, grant_record_keys, key_backups, pairing_codes,
    push_batches, records, recovery_challenges, refresh_tokens, tombstone_devices, tombstone_refresh_tokens,
};
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub account_id: String,
    pub public_key: Vec<u8>,
    pub change_seq: i64,
    pub record_count: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub device_id: String,
    pub public_key: Vec<u8>,
    pub name: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub fn insert_account(conn: &mut DbConnection, account_id: &str, public_key: &[u8], now: i64) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::account_id.eq(account_id),
            accounts::public_key.eq(public_key),
            accounts::change_seq.eq(0i64),
            accounts::record_count.eq(0i64),
            accounts::audit_seq.eq(0i64),
            accounts::audit_head.eq(""),
            accounts::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn account(conn: &mut DbConnection, account_id: &str) -> QueryResult<Option<AccountRow>> {
    accounts::table.find(account_id).select(AccountRow::as_select()).first(conn).optional()
}

pub fn insert_device(
    conn: &mut DbConnection,
    account_id: &str,
    device_id: &str,
    public_key: &[u8],
    name: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(devices::table)
        .values((
            devices::account_id.eq(account_id),
            devices::device_id.eq(device_id),
            devices::public_key.eq(public_key),
            devices::name.eq(name),
            devices::created_at.eq(now),
            devices::last_seen_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn device_exists(conn: &mut DbConnection, account_id: &str, device_id: &str) -> QueryResult<bool> {
    devices::table
        .find((account_id, device_id))
        .select(devices::device_id)
        .first::<String>(conn)
        .optional()
        .map(|d| d.is_some())
}

pub fn device(conn: &mut DbConnection, account_id: &str, device_id: &str) -> QueryResult<Option<DeviceRow>> {
    devices::table.find((account_id, device_id)).select(DeviceRow::as_select()).first(conn).optional()
}

pub fn devices_of(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<DeviceRow>> {
    devices::table
        .filter(devices::account_id.eq(account_id))
        .order(devices::created_at.asc())
        .select(DeviceRow::as_select())
        .load(conn)
}

pub fn touch_device(conn: &mut DbConnection, account_id: &str, device_id: &str, now: i64) -> QueryResult<()> {
    diesel::update(devices::table.find((account_id, device_id)))
        .set(devices::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Removes a device and every credential it holds or issued (refresh
/// tokens, sign-in challenges, pairing codes: a stolen phone's code must not
/// outlive the phone). Returns false if it was not there.
pub fn remove_device(conn: &mut DbConnection, account_id: &str, device_id: &str) -> QueryResult<bool> {
    diesel::delete(
        pairing_codes::table
            .filter(pairing_codes::account_id.eq(account_id))
            .filter(pairing_codes::created_by.eq(device_id)),
    )
    .execute(conn)?;
    diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::device_id.eq(device_id)),
    )
    .execute(conn)?;
    diesel::delete(
        auth_challenges::table
            .filter(auth_challenges::account_id.eq(account_id))
            .filter(auth_challenges::device_id.eq(device_id)),
    )
    .execute(conn)?;
    // Its phone gets no more notifications.
    crate::store::push_subscriptions::delete_of_device(conn, device_id)?;
    Ok(diesel::delete(devices::table.find((account_id, device_id))).execute(conn)? > 0)
}

pub fn insert_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    challenge_id: &str,
    device_id: &str,
    nonce: &[u8],
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    // Expired challenges of the account go first, so they never pile up.
    diesel::delete(
        auth_challenges::table
            .filter(auth_challenges::account_id.eq(account_id))
            .filter(auth_challenges::expires_at.lt(now)),
    )
    .execute(conn)?;
    diesel::insert_into(auth_challenges::table)
        .values((
            auth_challenges::account_id.eq(account_id),
            auth_challenges::challenge_id.eq(challenge_id),
            auth_challenges::device_id.eq(device_id),
            auth_challenges::nonce.eq(nonce),
            auth_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes and returns a challenge `(device_id, nonce, expires_at)`: each is usable once.
pub fn take_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    challenge_id: &str,
) -> QueryResult<Option<(String, Vec<u8>, i64)>> {
    let found = auth_challenges::table
        .find((account_id, challenge_id))
        .select((auth_challenges::device_id, auth_challenges::nonce, auth_challenges::expires_at))
        .first::<(String, Vec<u8>, i64)>(conn)
        .optional()?;
    if found.is_some() {
        diesel::delete(auth_challenges::table.find((account_id, challenge_id))).execute(conn)?;
    }
    Ok(found)
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    account_id: &str,
    token_hash: &str,
    device_id: &str,
    now: i64,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::device_id.eq(device_id),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::used_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A refresh token row: `(device_id, expires_at, used_at)`.
pub fn refresh_token(
    conn: &mut DbConnection,
    account_id: &str,
    token_hash: &str,
) -> QueryResult<Option<(String, i64, Option<i64>)>> {
    refresh_tokens::table
        .find((account_id, token_hash))
        .select((refresh_tokens::device_id, refresh_tokens::expires_at, refresh_tokens::used_at))
        .first(conn)
        .optional()
}

pub fn mark_refresh_token_used(
    conn: &mut DbConnection,
    account_id: &str,
    token_hash: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find((account_id, token_hash)))
        .set(refresh_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .map(|_| ())
}

/// Drops every refresh token of a device (reuse of a rotated token was seen).
pub fn revoke_device_refresh_tokens(conn: &mut DbConnection, account_id: &str, device_id: &str) -> QueryResult<usize> {
    diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::device_id.eq(device_id)),
    )
    .execute(conn)
}

pub fn insert_pairing_code(
    conn: &mut DbConnection,
    account_id: &str,
    code_hash: &str,
    created_by: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        pairing_codes::table.filter(pairing_codes::account_id.eq(account_id)).filter(pairing_codes::expires_at.lt(now)),
    )
    .execute(conn)?;
    diesel::insert_into(pairing_codes::table)
        .values((
            pairing_codes::account_id.eq(account_id),
            pairing_codes::code_hash.eq(code_hash),
            pairing_codes::created_by.eq(created_by),
            pairing_codes::expires_at.eq(expires_at),
            pairing_codes::used_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks an unused, unexpired pairing code used, if the device that issued
/// it is still in the account. False if there is no such code.
pub fn redeem_pairing_code(conn: &mut DbConnection, account_id: &str, code_hash: &str, now: i64) -> QueryResult<bool> {
    let usable = pairing_codes::table
        .find((account_id, code_hash))
        .filter(pairing_codes::used_at.is_null())
        .filter(pairing_codes::expires_at.ge(now));
    let Some(issuer) = usable.select(pairing_codes::created_by).first::<String>(conn).optional()? else {
        return Ok(false);
    };
    if !device_exists(conn, account_id, &issuer)? {
        return Ok(false);
    }
    let updated = diesel::update(usable).set(pairing_codes::used_at.eq(Some(now))).execute(conn)?;
    Ok(updated == 1)
}

/// Erases every row of the account in every table (crypto-shredding: the
/// ciphertext goes with the wrapped keys). Returns rows deleted.
pub fn delete_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<usize> {
    let mut n = 0;
    n += diesel::delete(grant_record_keys::table.filter(grant_record_keys::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(consent_grants::table.filter(consent_grants::account_id.eq(account_id))).execute(conn)?;
    crate::store::grants::bump_grant_generation(conn)?;
    n += diesel::delete(records::table.filter(records::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(push_batches::table.filter(push_batches::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(pairing_codes::table.filter(pairing_codes::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(refresh_tokens::table.filter(refresh_tokens::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(auth_challenges::table.filter(auth_challenges::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(audit_events::table.filter(audit_events::account_id.eq(account_id))).execute(conn)?;
    n += crate::store::emergency_cards::delete_of_account(conn, account_id)?;
    n += crate::store::push_subscriptions::delete_all_of_account(conn, account_id)?;
    n += diesel::delete(key_backups::table.filter(key_backups::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(recovery_challenges::table.filter(recovery_challenges::account_id.eq(account_id)))
        .execute(conn)?;
    n += diesel::delete(devices::table.filter(devices::account_id.eq(account_id))).execute(conn)?;
    n += diesel::delete(accounts::table.find(account_id)).execute(conn)?;
    Ok(n)
}

/// How long the tombstone of an erased account's devices is kept: 90 days.
/// Within it a phone of the account that comes back (offline for weeks, or
/// asleep in a drawer) proves with its still-valid access token or refresh
/// token, or by signing a challenge with its device key, that it was a device
/// of the account and is answered 410 `account-deleted`, so it wipes its copy.
/// After it, the tombstone is purged and such a phone gets the ordinary 401.
/// A tombstone holds no health data and nothing the family typed: ids, the
/// device's public key, hashes of still-valid refresh tokens, and times.
pub const TOMBSTONE_TTL_MS: i64 = 90 * 24 * 3600 * 1000;

/// Keeps the tombstone of `account_id` before its rows are erased: every
/// device's id and public key, and the hashes of its refresh tokens that are
/// still unused and unexpired (each kept until its own expiry). Tombstones
/// of any account that have expired are purged on the way.
pub fn tombstone_account(conn: &mut DbConnection, account_id: &str, now: i64) -> QueryResult<()> {
    purge_expired_tombstones(conn, now)?;
    let devices: Vec<(String, Vec<u8>)> = devices::table
        .filter(devices::account_id.eq(account_id))
        .select((devices::device_id, devices::public_key))
        .load(conn)?;
    for (device_id, public_key) in devices {
        diesel::insert_into(tombstone_devices::table)
            .values((
                tombstone_devices::account_id.eq(account_id),
                tombstone_devices::device_id.eq(device_id),
                tombstone_devices::public_key.eq(public_key),
                tombstone_devices::deleted_at.eq(now),
                tombstone_devices::expires_at.eq(now + TOMBSTONE_TTL_MS),
                tombstone_devices::challenge_id.eq(None::<String>),
                tombstone_devices::challenge_nonce.eq(None::<Vec<u8>>),
                tombstone_devices::challenge_expires_at.eq(None::<i64>),
            ))
            .execute(conn)?;
    }
    let tokens: Vec<(String, i64)> = refresh_tokens::table
        .filter(refresh_tokens::account_id.eq(account_id))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::expires_at.ge(now))
        .select((refresh_tokens::token_hash, refresh_tokens::expires_at))
        .load(conn)?;
    for (token_hash, expires_at) in tokens {
        diesel::insert_into(tombstone_refresh_tokens::table)
            .values((
                tombstone_refresh_tokens::account_id.eq(account_id),
                tombstone_refresh_tokens::token_hash.eq(token_hash),
                tombstone_refresh_tokens::expires_at.eq(expires_at.min(now + TOMBSTONE_TTL_MS)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes every tombstone row whose time is up. Returns rows deleted.
pub fn purge_expired_tombstones(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    Ok(diesel::delete(tombstone_devices::table.filter(tombstone_devices::expires_at.lt(now))).execute(conn)?
        + diesel::delete(tombstone_refresh_tokens::table.filter(tombstone_refresh_tokens::expires_at.lt(now)))
            .execute(conn)?)
}

/// The public key of a device of an erased account, while its tombstone lasts.
pub fn tombstone_device(
    conn: &mut DbConnection,
    account_id: &str,
    device_id: &str,
    now: i64,
) -> QueryResult<Option<Vec<u8>>> {
    tombstone_devices::table
        .find((account_id, device_id))
        .filter(tombstone_devices::expires_at.ge(now))
        .select(tombstone_devices::public_key)
        .first(conn)
        .optional()
}

/// Records the one open sign-in challenge of a device of an erased account
/// (replacing an earlier one). False if there is no live tombstone of it.
pub fn set_tombstone_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    device_id: &str,
    challenge_id: &str,
    nonce: &[u8],
    expires_at: i64,
    now: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(
        tombstone_devices::table.find((account_id, device_id)).filter(tombstone_devices::expires_at.ge(now)),
    )
    .set((
        tombstone_devices::challenge_id.eq(Some(challenge_id)),
        tombstone_devices::challenge_nonce.eq(Some(nonce)),
        tombstone_devices::challenge_expires_at.eq(Some(expires_at)),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Takes (single use) the open sign-in challenge `challenge_id` of a device
/// of an erased account: `(public_key, nonce)` if it is that device's
/// challenge and unexpired, and the tombstone is live.
pub fn take_tombstone_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    device_id: &str,
    challenge_id: &str,
    now: i64,
) -> QueryResult<Option<(Vec<u8>, Vec<u8>)>> {
    let found = tombstone_devices::table
        .find((account_id, device_id))
        .filter(tombstone_devices::expires_at.ge(now))
        .filter(tombstone_devices::challenge_id.eq(challenge_id))
        .select((
            tombstone_devices::public_key,
            tombstone_devices::challenge_nonce,
            tombstone_devices::challenge_expires_at,
        ))
        .first::<(Vec<u8>, Option<Vec<u8>>, Option<i64>)>(conn)
        .optional()?;
    let Some((public_key, Some(nonce), Some(expires_at))) = found else {
        return Ok(None);
    };
    diesel::update(tombstone_devices::table.find((account_id, device_id)))
        .set((
            tombstone_devices::challenge_id.eq(None::<String>),
            tombstone_devices::challenge_nonce.eq(None::<Vec<u8>>),
            tombstone_devices::challenge_expires_at.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok((expires_at >= now).then_some((public_key, nonce)))
}

/// Whether `token_hash` is a refresh token of an erased account that was
/// still valid at erasure and has not expired since.
pub fn tombstone_refresh_token(
    conn: &mut DbConnection,
    account_id: &str,
    token_hash: &str,
    now: i64,
) -> QueryResult<bool> {
    tombstone_refresh_tokens::table
        .find((account_id, token_hash))
        .filter(tombstone_refresh_tokens::expires_at.ge(now))
        .select(tombstone_refresh_tokens::token_hash)
        .first::<String>(conn)
        .optional()
        .map(|t| t.is_some())
}

/// Stores (or replaces) the account's passphrase-sealed key backup.
pub fn put_key_backup(
    conn: &mut DbConnection,
    account_id: &str,
    backup: &phr_core::sync::protocol::KeyBackupRequest,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(key_backups::table.find(account_id)).execute(conn)?;
    diesel::insert_into(key_backups::table)
        .values((
            key_backups::account_id.eq(account_id),
            key_backups::kdf.eq(&backup.kdf),
            key_backups::iterations.eq(i64::from(backup.iterations)),
            key_backups::salt.eq(&backup.salt),
            key_backups::sealed_key.eq(&backup.sealed_key),
            key_backups::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The account's key backup, if one is stored.
pub fn key_backup(
    conn: &mut DbConnection,
    account_id: &str,
) -> QueryResult<Option<phr_core::sync::protocol::KeyBackupResponse>> {
    let row = key_backups::table
        .find(account_id)
        .select((
            key_backups::kdf,
            key_backups::iterations,
            key_backups::salt,
            key_backups::sealed_key,
            key_backups::updated_at,
        ))
        .first::<(String, i64, Vec<u8>, Vec<u8>, i64)>(conn)
        .optional()?;
    Ok(row.map(|(kdf, iterations, salt, sealed_key, updated_at)| phr_core::sync::protocol::KeyBackupResponse {
        kdf,
        iterations: u32::try_from(iterations).unwrap_or(u32::MAX),
        salt,
        sealed_key,
        updated_at,
    }))
}

/// Stores a recovery challenge (the nonce's hash only), dropping the account's expired ones.
pub fn insert_recovery_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    challenge_id: &str,
    nonce_hash: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        recovery_challenges::table
            .filter(recovery_challenges::account_id.eq(account_id))
            .filter(recovery_challenges::expires_at.lt(now)),
    )
    .execute(conn)?;
    diesel::insert_into(recovery_challenges::table)
        .values((
            recovery_challenges::account_id.eq(account_id),
            recovery_challenges::challenge_id.eq(challenge_id),
            recovery_challenges::nonce_hash.eq(nonce_hash),
            recovery_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes and returns a recovery challenge `(nonce_hash, expires_at)`: each is usable once.
pub fn take_recovery_challenge(
    conn: &mut DbConnection,
    account_id: &str,
    challenge_id: &str,
) -> QueryResult<Option<(String, i64)>> {
    let found = recovery_challenges::table
        .find((account_id, challenge_id))
        .select((recovery_challenges::nonce_hash, recovery_challenges::expires_at))
        .first::<(String, i64)>(conn)
        .optional()?;
    if found.is_some() {
        diesel::delete(recovery_challenges::table.find((account_id, challenge_id))).execute(conn)?;
    }
    Ok(found)
}
