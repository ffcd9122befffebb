//! `/notify/v1`: a phone registers where it is told of emergency accesses (Web Push; the use
//! cases are in `app::notify`).

use actix_web::{delete, get, post, web, HttpResponse};
use phr_core::sync::protocol::PushSubscriptionRequest;

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::{notify, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(vapid_public_key).service(subscribe).service(list).service(unsubscribe);
}

#[get("/notify/v1/vapid-public-key")]
async fn vapid_public_key(app: web::Data<App>, _device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(notify::vapid_public_key(&app)))
}

#[post("/notify/v1/push-subscriptions")]
async fn subscribe(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<PushSubscriptionRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(notify::subscribe(&app, device, body.into_inner()).await?))
}

#[get("/notify/v1/push-subscriptions")]
async fn list(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(notify::list(&app, device).await?))
}

#[delete("/notify/v1/push-subscriptions/{id}")]
async fn unsubscribe(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    notify::unsubscribe(&app, device, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
