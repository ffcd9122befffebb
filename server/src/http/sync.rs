//! `/sync/v1`: push and pull of sealed records (the use cases are in `app::sync`).

use actix_web::{get, post, web, HttpResponse};
use phr_core::sync::protocol::PushRequest;
use serde::Deserialize;

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{sync, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(push).service(pull).service(limits);
}

/// The largest request body the server reads (`--max-body-bytes`).
#[derive(Debug, Clone, Copy)]
pub struct MaxBodyBytes(pub usize);

/// `GET /sync/v1/limits` (no authentication): the sizes the server accepts.
#[get("/sync/v1/limits")]
async fn limits(app: web::Data<App>, max_body: web::Data<MaxBodyBytes>) -> HttpResponse {
    HttpResponse::Ok().json(sync::limits(&app, max_body.0))
}

#[post("/sync/v1/push")]
async fn push(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<PushRequest>,
) -> Result<HttpResponse, AppError> {
    let response = sync::push(&app, device, body.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(response))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    #[serde(default)]
    pub since: u64,
    pub limit: Option<u32>,
}

#[get("/sync/v1/pull")]
async fn pull(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    query: web::Query<PullQuery>,
) -> Result<HttpResponse, AppError> {
    let body = sync::pull(&app, device, query.since, query.limit).await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}
