//! An organization's admin manages its staff in the portal (`docs/portal.md`, "Staff"): lists
//! them, invites (or re-invites: a new passkey, e.g. for a new phone) and disables them —
//! the same rules as the operator's `phr-server staff` commands ([`super::invite`],
//! [`super::list`], [`super::disable`]), limited to the admin's own organization and audited in
//! the operator's log with the admin as the actor (`staff:<id>`).

use super::{StaffSession, INVITE_HOURS, ROLE_ADMIN};
use crate::app::error::AppError;
use crate::app::App;
use crate::store::staff::StaffRow;

/// `Ok` for an admin of the organization (403 for a member).
pub fn require_admin(staff: &StaffSession) -> Result<(), AppError> {
    if staff.role == ROLE_ADMIN {
        Ok(())
    } else {
        Err(AppError::Forbidden("only an admin of the organization manages its staff".into()))
    }
}

/// The admin's organization's staff, disabled ones included.
pub async fn staff(app: &App, admin: &StaffSession) -> Result<Vec<StaffRow>, AppError> {
    require_admin(admin)?;
    let organization = admin.organization_id.clone();
    app.db(move |conn| super::list(conn, &organization)).await
}

/// An invite for `name` of the admin's organization (a new staff member, or a re-invite of an
/// enabled one), valid [`INVITE_HOURS`]: the link's token, shown once.
pub async fn invite(
    app: &App,
    admin: &StaffSession,
    name: String,
    make_admin: bool,
) -> Result<super::InviteIssued, AppError> {
    require_admin(admin)?;
    let organization = admin.organization_id.clone();
    let actor = super::staff_actor(&admin.staff_id);
    let valid_ms = i64::try_from(INVITE_HOURS).unwrap_or(72).saturating_mul(3_600_000);
    app.db(move |conn| super::invite(conn, &actor, &organization, &name, make_admin, valid_ms)).await
}

/// Disables staff member `staff_id` of the admin's organization (404 for anyone else's or an
/// unknown id; an admin cannot disable themselves: 409).
pub async fn disable(app: &App, admin: &StaffSession, staff_id: String) -> Result<(), AppError> {
    require_admin(admin)?;
    if staff_id == admin.staff_id {
        return Err(AppError::Conflict("you cannot disable yourself; ask another admin or the operator".into()));
    }
    let organization = admin.organization_id.clone();
    let actor = super::staff_actor(&admin.staff_id);
    app.db(move |conn| {
        let theirs = crate::store::staff::get_staff(conn, &staff_id)?.filter(|s| s.organization_id == organization);
        if theirs.is_none() {
            return Err(AppError::NotFound("no such staff member".into()));
        }
        super::disable(conn, &actor, &staff_id)
    })
    .await
}
