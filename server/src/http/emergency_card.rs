//! Emergency cards: the family's device API (`/emergency/v1/cards`) and the public SMART
//! Health Link endpoints (`/shl/…`) an emergency team's SHL receiver calls. The rules are in
//! `app::emergency_card`.
//!
//! The public endpoints answer browsers on any origin (an SHL viewer is often a web page):
//! every answer, errors included, carries `Access-Control-Allow-Origin: *`, and a preflight
//! `OPTIONS` is answered. They never take credentials. Their paths hold secrets: the access
//! log names only the route pattern.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use phr_core::sync::protocol::{
    CreateEmergencyCardRequest, RotateEmergencyCardRequest, UpdateEmergencyCardFileRequest,
};

use crate::app::auth::AuthenticatedDevice;
use crate::app::emergency_card::{self as cards, ManifestRequest};
use crate::app::error::AppError;
use crate::app::App;
use crate::http::auth::source_ip;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/emergency/v1/cards")
            .route(web::post().to(create))
            .route(web::get().to(list))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/emergency/v1/cards/{card_id}")
            .route(web::delete().to(withdraw))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/emergency/v1/cards/{card_id}/file")
            .route(web::put().to(update_file))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/emergency/v1/cards/{card_id}/rotate")
            .route(web::post().to(rotate))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::scope("/shl")
            .wrap(DefaultHeaders::new().add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")))
            .service(
                web::resource("/files/{ticket}")
                    .route(web::get().to(file))
                    .route(web::method(actix_web::http::Method::OPTIONS).to(preflight))
                    .default_service(web::to(super::method_not_allowed)),
            )
            .service(
                web::resource("/{link}")
                    .route(web::post().to(manifest))
                    .route(web::method(actix_web::http::Method::OPTIONS).to(preflight))
                    .default_service(web::to(super::method_not_allowed)),
            ),
    );
}

async fn create(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<CreateEmergencyCardRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(cards::create(&app, device, body.into_inner()).await?))
}

async fn list(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(cards::list(&app, device).await?))
}

async fn update_file(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
    body: web::Json<UpdateEmergencyCardFileRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(cards::update_file(&app, device, &path, body.into_inner()).await?))
}

async fn rotate(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
    body: web::Json<RotateEmergencyCardRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(cards::rotate(&app, device, &path, body.into_inner()).await?))
}

async fn withdraw(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    cards::withdraw(&app, device, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /shl/{link}`: the SHL manifest request.
async fn manifest(
    app: web::Data<App>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ManifestRequest>,
) -> Result<HttpResponse, AppError> {
    let manifest = cards::manifest(&app, source_ip(&req), &path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(manifest))
}

/// `GET /shl/files/{ticket}`: an encrypted file at the location a manifest gave.
async fn file(app: web::Data<App>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let jwe = cards::file(&app, source_ip(&req), &path).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).content_type("application/jose").body(jwe))
}

/// A CORS preflight for the public SHL endpoints.
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
