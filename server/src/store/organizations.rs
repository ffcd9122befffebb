//! Organization rows (not account-owned: the registry is shared by all accounts).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use std::collections::BTreeSet;

use crate::store::schema::organizations;
use crate::store::DbConnection;
use phr_core::consent::{OrganizationId, Purpose};

/// A checked organization, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    pub id: OrganizationId,
    pub name: String,
    pub kind: &'static str,
    /// Non-empty, without duplicates, in a fixed order.
    pub purposes: BTreeSet<Purpose>,
    /// The JWKS as given (a JSON object with a `keys` array).
    pub jwks: Option<String>,
    /// Or the URL the JWKS is fetched from (checked: https, or http on loopback).
    pub jwks_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct OrganizationRow {
    pub organization_id: String,
    pub name: String,
    pub kind: String,
    /// Comma-separated purpose names.
    pub purposes: String,
    pub jwks: Option<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// Where the JWKS is fetched from, when the organization registered a URL.
    pub jwks_url: Option<String>,
}

/// Registers an organization. Returns false (and changes nothing) if the id is taken.
pub fn insert(conn: &mut DbConnection, org: &NewOrganization, now: i64) -> QueryResult<bool> {
    if get(conn, org.id.as_str())?.is_some() {
        return Ok(false);
    }
    let purposes: Vec<&str> = org.purposes.iter().map(|p| p.as_str()).collect();
    let inserted = diesel::insert_into(organizations::table)
        .values((
            organizations::organization_id.eq(org.id.as_str()),
            organizations::name.eq(&org.name),
            organizations::kind.eq(org.kind),
            organizations::purposes.eq(purposes.join(",")),
            organizations::jwks.eq(org.jwks.as_deref()),
            organizations::jwks_url.eq(org.jwks_url.as_deref()),
            organizations::created_at.eq(now),
            organizations::disabled_at.eq(None::<i64>),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        // Registered by someone else between the check and the insert.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Organizations sorted by name (then id); disabled ones only if asked for.
pub fn list(conn: &mut DbConnection, include_disabled: bool) -> QueryResult<Vec<OrganizationRow>> {
    let mut query = organizations::table
        .order((organizations::name.asc(), organizations::organization_id.asc()))
        .select(OrganizationRow::as_select())
        .into_boxed();
    if !include_disabled {
        query = query.filter(organizations::disabled_at.is_null());
    }
    query.load(conn)
}

/// Whether `organization_id` is registered and enabled, with the grant generation
/// ([`crate::store::grants::grant_generation`]) read in the same statement: what every
/// organization request needs before it reads, in one database round trip.
pub fn enabled_at_generation(conn: &mut DbConnection, organization_id: &str) -> QueryResult<(bool, i64)> {
    use crate::store::schema::grant_generation;
    let enabled = diesel::dsl::exists(
        organizations::table
            .filter(organizations::organization_id.eq(organization_id))
            .filter(organizations::disabled_at.is_null()),
    );
    grant_generation::table.find(1).select((enabled, grant_generation::generation)).first(conn)
}

pub fn get(conn: &mut DbConnection, organization_id: &str) -> QueryResult<Option<OrganizationRow>> {
    organizations::table.find(organization_id).select(OrganizationRow::as_select()).first(conn).optional()
}

/// Disables an organization: it is no longer listed to devices and new
/// grants cannot name it. Existing grants are left to the families.
/// Returns false if there is no such organization; disabling twice keeps
/// the first time.
pub fn disable(conn: &mut DbConnection, organization_id: &str, now: i64) -> QueryResult<bool> {
    if get(conn, organization_id)?.is_none() {
        return Ok(false);
    }
    diesel::update(
        organizations::table
            .filter(organizations::organization_id.eq(organization_id))
            .filter(organizations::disabled_at.is_null()),
    )
    .set(organizations::disabled_at.eq(Some(now)))
    .execute(conn)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str, name: &str) -> NewOrganization {
        NewOrganization {
            id: OrganizationId::new(id).unwrap(),
            name: name.to_owned(),
            kind: "clinic",
            purposes: [Purpose::Treatment].into_iter().collect(),
            jwks: None,
            jwks_url: None,
        }
    }

    crate::store_test! {
        fn organizations_are_added_once_listed_by_name_and_disabled_on_every_backend(test_db) {
            let (pool, _) = crate::store::open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            assert!(insert(&mut conn, &org("b-clinic", "Beta Clinic"), 1).unwrap());
            assert!(insert(&mut conn, &org("a-clinic", "Alpha Clinic"), 2).unwrap());
            assert!(!insert(&mut conn, &org("a-clinic", "Another name"), 3).unwrap(), "duplicate id is refused");
            let names: Vec<String> = list(&mut conn, false).unwrap().into_iter().map(|o| o.name).collect();
            assert_eq!(names, vec!["Alpha Clinic", "Beta Clinic"]);
            assert_eq!(get(&mut conn, "a-clinic").unwrap().unwrap().purposes, "treatment");

            assert!(disable(&mut conn, "a-clinic", 10).unwrap());
            assert!(disable(&mut conn, "a-clinic", 20).unwrap(), "disabling twice is fine");
            assert_eq!(get(&mut conn, "a-clinic").unwrap().unwrap().disabled_at, Some(10), "first time kept");
            assert!(!disable(&mut conn, "no-such", 10).unwrap());
            let enabled: Vec<String> = list(&mut conn, false).unwrap().into_iter().map(|o| o.organization_id).collect();
            assert_eq!(enabled, vec!["b-clinic"]);
            assert_eq!(list(&mut conn, true).unwrap().len(), 2);
        }
    }
}
