//! `GET /audit/v1/events?since=SEQ&limit=N`: a parent reads the account's own log.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use phr_core::sync::protocol::{AuditEventInfo, AuditPage};
use serde::Deserialize;

use super::AuditRow;
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::App;
use crate::store::schema::audit_events;

pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub since: u64,
    pub limit: Option<u32>,
}

#[get("/audit/v1/events")]
pub async fn events(
    state: web::Data<App>,
    device: AuthenticatedDevice,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_PAGE {
        return Err(AppError::BadRequest(format!("limit must be 1–{MAX_PAGE}")));
    }
    let since = i64::try_from(query.since).map_err(|_| AppError::BadRequest("since is too large".into()))?;
    let account = device.account_id.clone();
    let rows: Vec<AuditRow> = state
        .db(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::account_id.eq(&account))
                .filter(audit_events::seq.gt(since))
                .order(audit_events::seq.asc())
                .limit(i64::from(limit) + 1)
                .select(AuditRow::as_select())
                .load(&mut **conn)?)
        })
        .await?;
    let more = rows.len() > limit as usize;
    let events: Vec<AuditEventInfo> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AuditEventInfo {
            seq: r.seq as u64,
            at: r.at,
            actor: r.actor,
            action: r.action,
            grant_id: r.grant_id,
            record_ids: serde_json::from_str(&r.record_ids).unwrap_or_default(),
            outcome: r.outcome,
            occurrences: r.occurrences.and_then(|n| u64::try_from(n).ok()),
            hash: r.hash,
        })
        .collect();
    let next_cursor = events.last().map(|e| e.seq).unwrap_or(query.since);
    Ok(HttpResponse::Ok().json(AuditPage { events, next_cursor, more }))
}
