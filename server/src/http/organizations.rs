//! `GET /consent/v1/organizations`: the enabled organizations a device may
//! grant access to ([`crate::app::organizations::list_enabled`]).

use actix_web::{get, web, HttpResponse};

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{organizations, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_organizations);
}

#[get("/consent/v1/organizations")]
async fn list_organizations(app: web::Data<App>, _device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(organizations::list_enabled(&app).await?))
}
