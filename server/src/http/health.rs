//! `GET /healthz` (is the server and its database working?) and `GET /version`.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::app::error::AppError;
use crate::app::App;

/// 200 `{"status":"ok","database":"sqlite"}` when a database round trip works;
/// 503 problem JSON when it does not (so load balancers take the node out).
#[get("/healthz")]
pub async fn healthz(state: web::Data<App>) -> Result<HttpResponse, AppError> {
    state.check_database().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": state.backend })))
}

/// Build and protocol versions, for clients deciding what they can speak.
#[get("/version")]
pub async fn version(state: web::Data<App>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "instance_id": state.instance_id,
        "api": { "sync": ["v1"] },
    }))
}
