//! Break-glass, the family's side: `/emergency/v1/identifiers` (the identifiers an emergency
//! department may find the family's members by). The emergency department's side is
//! `GET /fhir/r4/Patient/$summary` (`http::fhir`); the rules are in `app::break_glass`.

use actix_web::{web, HttpResponse};
use phr_core::sync::protocol::RegisterEmergencyIdentifiersRequest;

use crate::app::auth::AuthenticatedDevice;
use crate::app::break_glass;
use crate::app::error::AppError;
use crate::app::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/emergency/v1/identifiers")
            .route(web::put().to(register))
            .route(web::get().to(count))
            .default_service(web::to(super::method_not_allowed)),
    );
}

async fn register(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<RegisterEmergencyIdentifiersRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(break_glass::register_identifiers(&app, device, body.into_inner()).await?))
}

async fn count(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(break_glass::identifier_count(&app, device).await?))
}
