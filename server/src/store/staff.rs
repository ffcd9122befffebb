//! Staff of the care-team portal: staff members, their invites, passkeys and sessions, and
//! the WebAuthn ceremonies in progress (the rules are in `crate::app::portal`). Not
//! account-owned: staff belong to an organization.

use diesel::prelude::*;

use crate::store::schema::{organizations, portal_ceremonies, staff, staff_invites, staff_passkeys, staff_sessions};
use crate::store::DbConnection;

/// A staff member.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct StaffRow {
    pub staff_id: String,
    pub organization_id: String,
    pub name: String,
    /// `admin` or `member`.
    pub role: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// An invite (only the hash of its token).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_invites)]
pub struct InviteRow {
    pub token_hash: String,
    pub staff_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_passkeys)]
pub struct PasskeyRow {
    pub credential_id: String,
    pub staff_id: String,
    /// webauthn-rs `Passkey` as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A session (only the hash of its cookie value).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_sessions)]
pub struct SessionRow {
    pub session_hash: String,
    pub staff_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// A WebAuthn ceremony between its two requests.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = portal_ceremonies)]
pub struct CeremonyRow {
    pub ceremony_id: String,
    /// `register` or `signin`.
    pub kind: String,
    pub invite_hash: Option<String>,
    /// webauthn-rs state as JSON.
    pub state: String,
    pub expires_at: i64,
}

pub fn insert_staff(conn: &mut DbConnection, row: &StaffRow) -> QueryResult<()> {
    diesel::insert_into(staff::table).values(row).execute(conn).map(|_| ())
}

pub fn get_staff(conn: &mut DbConnection, staff_id: &str) -> QueryResult<Option<StaffRow>> {
    staff::table.find(staff_id).select(StaffRow::as_select()).first(conn).optional()
}

/// The organization's staff member with this name that is not disabled (the newest, if several).
pub fn active_by_name(conn: &mut DbConnection, organization_id: &str, name: &str) -> QueryResult<Option<StaffRow>> {
    staff::table
        .filter(staff::organization_id.eq(organization_id))
        .filter(staff::name.eq(name))
        .filter(staff::disabled_at.is_null())
        .order(staff::created_at.desc())
        .select(StaffRow::as_select())
        .first(conn)
        .optional()
}

/// The organization's staff, disabled ones included, by name.
pub fn of_organization(conn: &mut DbConnection, organization_id: &str) -> QueryResult<Vec<StaffRow>> {
    staff::table
        .filter(staff::organization_id.eq(organization_id))
        .order((staff::name, staff::created_at))
        .select(StaffRow::as_select())
        .load(conn)
}

pub fn set_role(conn: &mut DbConnection, staff_id: &str, role: &str) -> QueryResult<()> {
    diesel::update(staff::table.find(staff_id)).set(staff::role.eq(role)).execute(conn).map(|_| ())
}

/// Disables a staff member (the first time counts) and ends every session of theirs. False
/// when there is no such staff member.
pub fn disable(conn: &mut DbConnection, staff_id: &str, at: i64) -> QueryResult<bool> {
    if get_staff(conn, staff_id)?.is_none() {
        return Ok(false);
    }
    diesel::update(staff::table.find(staff_id).filter(staff::disabled_at.is_null()))
        .set(staff::disabled_at.eq(at))
        .execute(conn)?;
    diesel::delete(staff_sessions::table.filter(staff_sessions::staff_id.eq(staff_id))).execute(conn)?;
    Ok(true)
}

pub fn insert_invite(conn: &mut DbConnection, row: &InviteRow) -> QueryResult<()> {
    diesel::insert_into(staff_invites::table).values(row).execute(conn).map(|_| ())
}

/// Deletes the staff member's unused invites (a new invite supersedes them).
pub fn withdraw_unused_invites(conn: &mut DbConnection, staff_id: &str) -> QueryResult<usize> {
    diesel::delete(
        staff_invites::table.filter(staff_invites::staff_id.eq(staff_id)).filter(staff_invites::used_at.is_null()),
    )
    .execute(conn)
}

pub fn get_invite(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<InviteRow>> {
    staff_invites::table.find(token_hash).select(InviteRow::as_select()).first(conn).optional()
}

/// Marks an invite used, once: false when it already was.
pub fn use_invite(conn: &mut DbConnection, token_hash: &str, at: i64) -> QueryResult<bool> {
    let n = diesel::update(staff_invites::table.find(token_hash).filter(staff_invites::used_at.is_null()))
        .set(staff_invites::used_at.eq(at))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_passkey(conn: &mut DbConnection, row: &PasskeyRow) -> QueryResult<()> {
    diesel::insert_into(staff_passkeys::table).values(row).execute(conn).map(|_| ())
}

pub fn passkeys_of(conn: &mut DbConnection, staff_id: &str) -> QueryResult<Vec<PasskeyRow>> {
    staff_passkeys::table
        .filter(staff_passkeys::staff_id.eq(staff_id))
        .order(staff_passkeys::created_at)
        .select(PasskeyRow::as_select())
        .load(conn)
}

/// Records a passkey's use (and its new state, when its counter or flags changed).
pub fn passkey_used(conn: &mut DbConnection, credential_id: &str, passkey: Option<&str>, at: i64) -> QueryResult<()> {
    let target = staff_passkeys::table.find(credential_id);
    match passkey {
        Some(p) => diesel::update(target)
            .set((staff_passkeys::passkey.eq(p), staff_passkeys::last_used_at.eq(at)))
            .execute(conn),
        None => diesel::update(target).set(staff_passkeys::last_used_at.eq(at)).execute(conn),
    }
    .map(|_| ())
}

pub fn insert_session(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(staff_sessions::table).values(row).execute(conn).map(|_| ())
}

/// A session, its staff member, and their organization's name and `disabled_at`.
/// (session, staff member, organization name, organization disabled at, organization kind).
pub type SessionOfStaff = (SessionRow, StaffRow, String, Option<i64>, String);

/// A session with its staff member and whether the organization is enabled.
pub fn session(conn: &mut DbConnection, session_hash: &str) -> QueryResult<Option<SessionOfStaff>> {
    staff_sessions::table
        .inner_join(staff::table.inner_join(organizations::table))
        .filter(staff_sessions::session_hash.eq(session_hash))
        .select((
            SessionRow::as_select(),
            StaffRow::as_select(),
            organizations::name,
            organizations::disabled_at,
            organizations::kind,
        ))
        .first(conn)
        .optional()
}

pub fn touch_session(conn: &mut DbConnection, session_hash: &str, at: i64) -> QueryResult<()> {
    diesel::update(staff_sessions::table.find(session_hash))
        .set(staff_sessions::last_seen_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_session(conn: &mut DbConnection, session_hash: &str) -> QueryResult<()> {
    diesel::delete(staff_sessions::table.find(session_hash)).execute(conn).map(|_| ())
}

/// Removes sessions past their absolute end or idle for `idle_ms`.
pub fn sweep_sessions(conn: &mut DbConnection, now: i64, idle_ms: i64) -> QueryResult<usize> {
    diesel::delete(
        staff_sessions::table
            .filter(staff_sessions::expires_at.le(now).or(staff_sessions::last_seen_at.le(now - idle_ms))),
    )
    .execute(conn)
}

/// Stores a ceremony, first dropping the expired ones.
pub fn insert_ceremony(conn: &mut DbConnection, row: &CeremonyRow, now: i64) -> QueryResult<()> {
    diesel::delete(portal_ceremonies::table.filter(portal_ceremonies::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(portal_ceremonies::table).values(row).execute(conn).map(|_| ())
}

/// Takes (reads and deletes) an unexpired ceremony of `kind`: a ceremony finishes once.
pub fn take_ceremony(
    conn: &mut DbConnection,
    ceremony_id: &str,
    kind: &str,
    now: i64,
) -> QueryResult<Option<CeremonyRow>> {
    let row = portal_ceremonies::table
        .find(ceremony_id)
        .filter(portal_ceremonies::kind.eq(kind))
        .filter(portal_ceremonies::expires_at.gt(now))
        .select(CeremonyRow::as_select())
        .first(conn)
        .optional()?;
    if row.is_none() {
        return Ok(None);
    }
    let n = diesel::delete(portal_ceremonies::table.find(ceremony_id)).execute(conn)?;
    Ok(row.filter(|_| n == 1))
}

pub fn get_passkey(conn: &mut DbConnection, credential_id: &str) -> QueryResult<Option<PasskeyRow>> {
    staff_passkeys::table.find(credential_id).select(PasskeyRow::as_select()).first(conn).optional()
}
