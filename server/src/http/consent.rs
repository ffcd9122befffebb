//! `/consent/v1`: the view key and the family's consent grants (the use cases
//! and their rules are in `app::consent`).

use actix_web::{delete, get, post, web, HttpResponse};
use phr_core::sync::protocol::{AddGrantKeysRequest, CreateGrantRequest};

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{consent, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(view_key)
        .service(create_grant)
        .service(list_grants)
        .service(get_grant)
        .service(add_keys)
        .service(revoke_grant);
}

#[get("/consent/v1/view-key")]
async fn view_key(app: web::Data<App>, _device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent::view_key(&app)?))
}

#[post("/consent/v1/grants")]
async fn create_grant(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<CreateGrantRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(consent::create_grant(&app, device, body.into_inner()).await?))
}

#[get("/consent/v1/grants")]
async fn list_grants(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent::list_grants(&app, device).await?))
}

#[get("/consent/v1/grants/{grant_id}")]
async fn get_grant(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent::get_grant(&app, device, &path).await?))
}

#[post("/consent/v1/grants/{grant_id}/keys")]
async fn add_keys(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
    body: web::Json<AddGrantKeysRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(consent::add_keys(&app, device, &path, body.into_inner()).await?))
}

#[delete("/consent/v1/grants/{grant_id}")]
async fn revoke_grant(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    consent::revoke_grant(&app, device, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
