//! Municipal notice rows (the rules are in `crate::app::notices`). Not account-owned:
//! a notice is public content of one organization.

use diesel::prelude::*;

use crate::store::schema::notices;
use crate::store::DbConnection;

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notices)]
pub struct NoticeRow {
    pub notice_id: String,
    pub organization_id: String,
    pub version: i64,
    /// The content as JSON (`phr_core::notices::NoticeDraft`).
    pub content: String,
    /// `content.valid_until` (ISO date), for the feed's filter.
    pub valid_until: String,
    pub published_at: i64,
    pub updated_at: i64,
    pub withdrawn_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &NoticeRow) -> QueryResult<()> {
    diesel::insert_into(notices::table).values(row).execute(conn).map(|_| ())
}

/// The notice, whoever published it.
pub fn get(conn: &mut DbConnection, notice_id: &str) -> QueryResult<Option<NoticeRow>> {
    notices::table.find(notice_id).select(NoticeRow::as_select()).first(conn).optional()
}

/// Replaces the content of a notice that is not withdrawn, if it is still at `version`;
/// false when it was not (changed meanwhile, or withdrawn).
pub fn update(conn: &mut DbConnection, row: &NoticeRow, version: i64) -> QueryResult<bool> {
    let n = diesel::update(
        notices::table
            .find(&row.notice_id)
            .filter(notices::version.eq(version))
            .filter(notices::withdrawn_at.is_null()),
    )
    .set((
        notices::version.eq(row.version),
        notices::content.eq(&row.content),
        notices::valid_until.eq(&row.valid_until),
        notices::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks a notice withdrawn (once: a second call changes nothing).
pub fn withdraw(conn: &mut DbConnection, notice_id: &str, at: i64) -> QueryResult<()> {
    diesel::update(notices::table.find(notice_id).filter(notices::withdrawn_at.is_null()))
        .set(notices::withdrawn_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// The organization's notices, withdrawn ones included, newest first.
pub fn of_organization(conn: &mut DbConnection, organization_id: &str) -> QueryResult<Vec<NoticeRow>> {
    notices::table
        .filter(notices::organization_id.eq(organization_id))
        .order((notices::published_at.desc(), notices::notice_id))
        .select(NoticeRow::as_select())
        .load(conn)
}

/// The organization's notices that are not withdrawn and end on or after `since`.
#[diesel::dsl::auto_type]
fn is_current<'a>(organization_id: &'a str, since: &'a str) -> _ {
    notices::organization_id
        .eq(organization_id)
        .and(notices::withdrawn_at.is_null())
        .and(notices::valid_until.ge(since))
}

/// How many notices [`current`] would list.
pub fn count_current(conn: &mut DbConnection, organization_id: &str, since: &str) -> QueryResult<i64> {
    notices::table.filter(is_current(organization_id, since)).count().get_result(conn)
}

/// The organization's notices in its public feed: not withdrawn, `valid_until` on or after
/// `since` (ISO date), newest first.
pub fn current(conn: &mut DbConnection, organization_id: &str, since: &str) -> QueryResult<Vec<NoticeRow>> {
    notices::table
        .filter(is_current(organization_id, since))
        .order((notices::published_at.desc(), notices::notice_id))
        .select(NoticeRow::as_select())
        .load(conn)
}
