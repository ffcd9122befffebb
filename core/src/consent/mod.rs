//! The consent model (`docs/architecture.md`, "Where each rule lives").
//!
//! A [`ConsentGrant`] says who (**grantee**, an [`OrganizationId`]) may do what
//! ([`Access`]: read, or read and write) for which **purpose** ([`Purpose`]) on
//! which records ([`GrantScope`]: dataset modules, subjects, optionally a range of
//! record dates) and when ([`GrantPeriod`]), and whether it has been revoked
//! ([`GrantState`]).
//!
//! [`evaluate`] is the one pure decision function: the server calls it for every
//! request made through a grant and the app uses the same code (with
//! [`ConsentGrant::summary`]) to show "who can see what". It never allocates, so
//! it is cheap enough to run per record.
//!
//! Contents:
//! - the grant types, their JSON form and [`ConsentGrant::validate`], which
//!   reports every problem of a grant (for 4xx answers);
//! - [`evaluate()`] with [`AccessRequest`], [`Decision`] and [`DenyReason`], plus
//!   [`ConsentGrant::check`], [`ConsentGrant::covers`] and [`usable_grants`] for
//!   the server to filter queries;
//! - the plain-language [`ConsentGrant::summary`] for the app.

mod evaluate;
mod grant;
mod module_set;
mod summary;

pub use evaluate::{evaluate, usable_grants, AccessRequest, Decision, DenyReason};
pub use grant::{
    Access, Action, ConsentGrant, GrantId, GrantPeriod, GrantProblem, GrantScope, GrantState, GrantStatus,
    InvalidGrant, InvalidOrganizationId, OrganizationId, Purpose,
};
pub use module_set::ModuleSet;
