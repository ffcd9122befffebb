//! `GET /audit/v1/events?since=SEQ&limit=N[&action=A,B]`: a parent reads the account's own
//! log, optionally only some actions (the use case is [`crate::app::audit::events`]).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{audit, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(events);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub since: u64,
    pub limit: Option<u32>,
    /// Comma-separated action names (e.g. `emergency_card_accessed`): only those events.
    pub action: Option<String>,
}

#[get("/audit/v1/events")]
async fn events(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = audit::events(&app, device, query.since, query.limit, query.action.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}
