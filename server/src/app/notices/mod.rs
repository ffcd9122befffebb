//! Municipal notices: a municipality publishes public notices (checkup days, free dental
//! checkups for mothers at 20–27 weeks, …) with a target; the app of every family that
//! follows the municipality fetches its public feed and decides **on the device** which
//! notices concern the family (`phr_core::notices::applies`), so nothing here ever learns a
//! pregnancy week, a child's age or who follows whom.
//!
//! | who | endpoint | what |
//! |---|---|---|
//! | municipality (token with `notices.write`) | `POST /notices/v1/notices` | publish → 201, `Location`, `ETag` |
//! | municipality | `GET /notices/v1/notices` | its own notices, withdrawn ones included |
//! | municipality | `GET /notices/v1/notices/{id}` | one of its own notices |
//! | municipality | `PUT /notices/v1/notices/{id}` | edit (optional `If-Match` with the notice's `ETag`; 412 when it changed meanwhile) |
//! | municipality | `DELETE /notices/v1/notices/{id}` | withdraw (204; again: 204): gone from the feed at once |
//! | anyone | `GET /notices/v1/municipalities/{id}/feed` | the public feed: `ETag`, `If-None-Match` → 304, `Cache-Control: public, max-age=300`, any origin |
//!
//! Rules:
//! - Only an enabled organization of kind `municipality` whose token carries
//!   [`NOTICES_SCOPE`] may publish, edit or withdraw (403 otherwise), and only its own
//!   notices: another municipality's notice id is the same 404 as an unknown one.
//! - The content rules (plain text, sizes, https link, language tag, dates, target ranges) are
//!   `phr_core::notices::NoticeDraft::validate`, the same the app applies: 422 naming each field.
//! - At most [`MAX_CURRENT_NOTICES`] current (unexpired, not withdrawn) notices per municipality.
//! - Every publication, edit and withdrawal, and every refused attempt, is appended to the
//!   operator's audit log (`crate::app::audit::operator`) in the same transaction.
//! - The feed lists the notices not withdrawn whose `valid_until` is not before yesterday
//!   (UTC; the device applies the exact dates in its own time zone). An unknown, disabled or
//!   non-municipality id is 404, charged to the caller's address like every refused
//!   unauthenticated request. The feed takes no credentials and sets no cookie.

use chrono::{DateTime, Days, Utc};
use phr_core::consent::OrganizationId;
use phr_core::notices::{Notice, NoticeDraft, NoticeFeed, NoticeId};
use ring::digest::{digest, SHA256};
use serde::Serialize;
use uuid::Uuid;

use crate::app::audit::operator::{self, OperatorAction, OperatorEvent, NO_TARGET};
use crate::app::audit::AuditOutcome;
use crate::app::error::AppError;
use crate::app::organizations::MUNICIPALITY_KIND;
use crate::app::smart::scopes::NOTICES_SCOPE;
use crate::app::smart::AuthenticatedOrganization;
use crate::app::{now_ms, App};
use crate::store::notices::{self as store, NoticeRow};
use crate::store::{write_transaction, DbConnection};

/// The most current notices one municipality may have at once.
pub const MAX_CURRENT_NOTICES: usize = 200;
/// How long a client may reuse a feed without asking again, in seconds.
pub const FEED_MAX_AGE_SECS: u32 = 300;

/// A municipality's own view of one of its notices: the notice, and when it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnNotice {
    #[serde(flatten)]
    pub notice: Notice,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
}

/// A notice with its entity tag (its version, quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T> {
    pub value: T,
    pub etag: String,
}

/// The answer to a feed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedAnswer {
    /// The feed, serialized, with its tag.
    Feed { body: Vec<u8>, etag: String },
    /// The client's copy (`If-None-Match`) is current.
    NotModified { etag: String },
}

/// Appends a refusal to the operator log and returns the error to answer with. The
/// transaction then ends `Ok(Err(refusal))`: committed with its audit event, and only then
/// answered as an error (as `crate::app::portal` does).
fn refuse(
    conn: &mut DbConnection,
    org: &AuthenticatedOrganization,
    action: OperatorAction,
    target: &str,
    error: AppError,
) -> Result<AppError, AppError> {
    let actor = org.actor();
    operator::append(
        conn,
        now_ms(),
        &OperatorEvent { actor: &actor.id, action, target, outcome: AuditOutcome::Denied },
    )?;
    Ok(error)
}

/// Whether `org` may manage notices at all: the scope, and an enabled municipality.
fn permission(conn: &mut DbConnection, org: &AuthenticatedOrganization) -> Result<Option<AppError>, AppError> {
    if !org.scopes.permits_notices() {
        return Ok(Some(AppError::Forbidden(format!(
            "the access token lacks the {NOTICES_SCOPE} scope (granted to municipalities that request it)"
        ))));
    }
    let kind = crate::store::organizations::get(conn, &org.organization_id)?.map(|o| o.kind);
    if kind.as_deref() != Some(MUNICIPALITY_KIND) {
        return Ok(Some(AppError::Forbidden("only municipalities publish notices".into())));
    }
    Ok(None)
}

/// The notice `id` if it is `org`'s own; else the refusal (audited) to answer with.
fn own_notice(
    conn: &mut DbConnection,
    org: &AuthenticatedOrganization,
    action: OperatorAction,
    id: &NoticeId,
) -> Result<Result<NoticeRow, AppError>, AppError> {
    if let Some(refusal) = permission(conn, org)? {
        return Ok(Err(refuse(conn, org, action, NO_TARGET, refusal)?));
    }
    match store::get(conn, &id.to_string())? {
        Some(row) if row.organization_id == org.organization_id => Ok(Ok(row)),
        other => {
            // Another municipality's notice is named in the log (it exists); an unknown id is not.
            let target = other.map(|r| r.notice_id).unwrap_or_else(|| NO_TARGET.to_owned());
            Ok(Err(refuse(conn, org, action, &target, not_found())?))
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound("no such notice of this municipality".into())
}

/// A path segment as a notice id (404 for anything else: ids are ours).
pub fn parse_id(text: &str) -> Result<NoticeId, AppError> {
    Uuid::parse_str(text).map(NoticeId).map_err(|_| not_found())
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The entity tag of a notice version.
fn version_tag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The notice a row holds.
fn notice_of(row: &NoticeRow) -> Result<Notice, AppError> {
    let content: NoticeDraft = serde_json::from_str(&row.content)
        .map_err(|e| AppError::Internal(format!("a stored notice does not read: {e}")))?;
    let municipality = OrganizationId::new(row.organization_id.clone())
        .map_err(|e| AppError::Internal(format!("a stored notice names a bad organization: {e}")))?;
    Ok(Notice {
        id: parse_id(&row.notice_id).map_err(|_| AppError::Internal("a stored notice id is no UUID".into()))?,
        municipality,
        version: u32::try_from(row.version).unwrap_or(u32::MAX),
        published_at: rfc3339(row.published_at),
        updated_at: rfc3339(row.updated_at),
        content,
    })
}

/// The first day the feed still lists (yesterday, UTC), as an ISO date.
fn feed_since(now_ms: i64) -> String {
    let today = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default().date_naive();
    today.checked_sub_days(Days::new(1)).unwrap_or(today).to_string()
}

fn checked(draft: &NoticeDraft) -> Result<String, AppError> {
    draft.validate()?;
    serde_json::to_string(draft).map_err(|e| AppError::Internal(format!("cannot store a notice: {e}")))
}

fn append_success(
    conn: &mut DbConnection,
    org: &AuthenticatedOrganization,
    action: OperatorAction,
    target: &str,
    at: i64,
) -> Result<(), AppError> {
    let actor = org.actor();
    operator::append(conn, at, &OperatorEvent { actor: &actor.id, action, target, outcome: AuditOutcome::Success })?;
    Ok(())
}

/// Publishes a notice of `org`.
pub async fn publish(
    app: &App,
    org: AuthenticatedOrganization,
    draft: NoticeDraft,
) -> Result<Tagged<Notice>, AppError> {
    let decided: Result<_, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                if let Some(refusal) = permission(conn, &org)? {
                    let refusal = refuse(conn, &org, OperatorAction::NoticePublished, NO_TARGET, refusal)?;
                    return Ok(Err(refusal));
                }
                let content = checked(&draft)?;
                let now = now_ms();
                if store::count_current(conn, &org.organization_id, &feed_since(now))? >= MAX_CURRENT_NOTICES as i64 {
                    return Err(AppError::Conflict(format!(
                        "this municipality already has {MAX_CURRENT_NOTICES} current notices: withdraw some first"
                    )));
                }
                let row = NoticeRow {
                    notice_id: NoticeId::random().to_string(),
                    organization_id: org.organization_id.clone(),
                    version: 1,
                    content,
                    valid_until: draft.valid_until.to_string(),
                    published_at: now,
                    updated_at: now,
                    withdrawn_at: None,
                };
                store::insert(conn, &row)?;
                append_success(conn, &org, OperatorAction::NoticePublished, &row.notice_id, now)?;
                Ok(Ok(Tagged { value: notice_of(&row)?, etag: version_tag(row.version) }))
            })
        })
        .await?;
    decided
}

/// Replaces the content of one of `org`'s notices; `if_match`: the `If-Match` header, if sent.
pub async fn edit(
    app: &App,
    org: AuthenticatedOrganization,
    id: &str,
    draft: NoticeDraft,
    if_match: Option<String>,
) -> Result<Tagged<Notice>, AppError> {
    let id = parse_id(id)?;
    let decided: Result<_, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let row = match own_notice(conn, &org, OperatorAction::NoticeEdited, &id)? {
                    Ok(row) => row,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                if row.withdrawn_at.is_some() {
                    return Err(AppError::Conflict("this notice was withdrawn: publish a new one".into()));
                }
                if let Some(tags) = &if_match {
                    if !matches_any(tags, &version_tag(row.version)) {
                        return Err(AppError::PreconditionFailed(
                            "the notice changed since the version named in If-Match: fetch it again".into(),
                        ));
                    }
                }
                let content = checked(&draft)?;
                let now = now_ms();
                let edited = NoticeRow {
                    version: row.version + 1,
                    content,
                    valid_until: draft.valid_until.to_string(),
                    updated_at: now.max(row.updated_at),
                    ..row.clone()
                };
                if !store::update(conn, &edited, row.version)? {
                    return Err(AppError::PreconditionFailed("the notice changed meanwhile: fetch it again".into()));
                }
                append_success(conn, &org, OperatorAction::NoticeEdited, &row.notice_id, now)?;
                Ok(Ok(Tagged { value: notice_of(&edited)?, etag: version_tag(edited.version) }))
            })
        })
        .await?;
    decided
}

/// Withdraws one of `org`'s notices (withdrawing it again changes nothing and is no error).
pub async fn withdraw(app: &App, org: AuthenticatedOrganization, id: &str) -> Result<(), AppError> {
    let id = parse_id(id)?;
    let decided: Result<_, AppError> = app
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let row = match own_notice(conn, &org, OperatorAction::NoticeWithdrawn, &id)? {
                    Ok(row) => row,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                if row.withdrawn_at.is_none() {
                    let now = now_ms();
                    store::withdraw(conn, &row.notice_id, now)?;
                    append_success(conn, &org, OperatorAction::NoticeWithdrawn, &row.notice_id, now)?;
                }
                Ok(Ok(()))
            })
        })
        .await?;
    decided
}

/// `org`'s notices, withdrawn ones included, newest first.
pub async fn list_own(app: &App, org: AuthenticatedOrganization) -> Result<Vec<OwnNotice>, AppError> {
    app.db(move |conn| {
        if let Some(refusal) = permission(conn, &org)? {
            return Err(refusal);
        }
        store::of_organization(conn, &org.organization_id)?
            .iter()
            .map(|row| Ok(OwnNotice { notice: notice_of(row)?, withdrawn_at: row.withdrawn_at.map(rfc3339) }))
            .collect()
    })
    .await
}

/// One of `org`'s notices.
pub async fn get_own(app: &App, org: AuthenticatedOrganization, id: &str) -> Result<Tagged<OwnNotice>, AppError> {
    let id = parse_id(id)?;
    app.db(move |conn| {
        if let Some(refusal) = permission(conn, &org)? {
            return Err(refusal);
        }
        match store::get(conn, &id.to_string())? {
            Some(row) if row.organization_id == org.organization_id => Ok(Tagged {
                value: OwnNotice { notice: notice_of(&row)?, withdrawn_at: row.withdrawn_at.map(rfc3339) },
                etag: version_tag(row.version),
            }),
            _ => Err(not_found()),
        }
    })
    .await
}

/// The public feed of `municipality`; `if_none_match`: the `If-None-Match` header, if sent;
/// `source`: the caller's address. Unauthenticated, so an unknown id is a refusal charged to
/// the address (`crate::app::auth::limits`): a scan of made-up ids slows only the scanner.
pub async fn feed(
    app: &App,
    source: Option<std::net::IpAddr>,
    municipality: &str,
    if_none_match: Option<String>,
) -> Result<FeedAnswer, AppError> {
    let gate = app.auth_limiter.admit(source)?;
    let unknown = || AppError::NotFound("no municipality with this id publishes notices here".into());
    let id = OrganizationId::new(municipality).map_err(|_| gate.refused(unknown()))?;
    let key = id.clone();
    let (name, rows) = app
        .db(move |conn| {
            let id = key;
            let org = crate::store::organizations::get(conn, id.as_str())?;
            match org {
                Some(org) if org.is_enabled() && org.kind == MUNICIPALITY_KIND => {
                    Ok((org.name, store::current(conn, id.as_str(), &feed_since(now_ms()))?))
                }
                _ => Err(unknown()),
            }
        })
        .await
        .map_err(|e| gate.refused(e))?;
    let feed = NoticeFeed { municipality: id, name, notices: rows.iter().map(notice_of).collect::<Result<_, _>>()? };
    let body = serde_json::to_vec(&feed).map_err(|e| AppError::Internal(format!("cannot write the feed: {e}")))?;
    let etag = format!("\"{}\"", &hex::encode(digest(&SHA256, &body))[..32]);
    if if_none_match.as_deref().is_some_and(|tags| matches_any(tags, &etag)) {
        return Ok(FeedAnswer::NotModified { etag });
    }
    Ok(FeedAnswer::Feed { body, etag })
}

/// Whether an `If-Match` / `If-None-Match` value (`*` or a list of entity tags) names `etag`.
/// Weak tags compare by their opaque part (RFC 9110 §8.8.3.2, weak comparison, which is what
/// `If-None-Match` uses; `If-Match` here only ever sees the strong tags this server gave).
pub fn matches_any(header: &str, etag: &str) -> bool {
    header.trim() == "*" || header.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tag_lists_match_by_opaque_part_or_star() {
        assert!(matches_any("\"abc\"", "\"abc\""));
        assert!(matches_any("W/\"x\", \"abc\"", "\"abc\""));
        assert!(matches_any("W/\"abc\"", "\"abc\""));
        assert!(matches_any(" * ", "\"abc\""));
        assert!(!matches_any("\"abd\"", "\"abc\""));
        assert!(!matches_any("abc", "\"abc\""));
        assert!(!matches_any("", "\"abc\""));
    }

    #[test]
    fn the_feed_keeps_notices_until_the_day_after_they_end_in_utc() {
        let noon = DateTime::parse_from_rfc3339("2026-12-05T12:00:00Z").unwrap().timestamp_millis();
        assert_eq!(feed_since(noon), "2026-12-04");
    }
}
