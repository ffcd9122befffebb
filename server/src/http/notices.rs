//! Municipal notices over HTTP: the municipality's API (`/notices/v1/notices`, organization
//! token with `notices.write`) and the public feed (`/notices/v1/municipalities/{id}/feed`).
//! The rules are in `crate::app::notices`.
//!
//! The feed answers browsers on any origin and caches: `ETag`, `If-None-Match` → 304,
//! `Cache-Control: public, max-age=300`, `Access-Control-Allow-Origin: *`
//! (`Access-Control-Expose-Headers: ETag`); `HEAD` answers the same headers without the body.
//! It takes no credentials.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use phr_core::notices::NoticeDraft;

use crate::app::error::AppError;
use crate::app::notices::{self as notices, FeedAnswer, FEED_MAX_AGE_SECS};
use crate::app::smart::AuthenticatedOrganization;
use crate::app::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/notices/v1/notices")
            .route(web::post().to(publish))
            .route(web::get().to(list))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/notices/v1/notices/{notice_id}")
            .route(web::get().to(get))
            .route(web::put().to(edit))
            .route(web::delete().to(withdraw))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::scope("/notices/v1/municipalities")
            .wrap(
                DefaultHeaders::new()
                    .add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
                    .add((header::ACCESS_CONTROL_EXPOSE_HEADERS, "ETag")),
            )
            .service(
                web::resource("/{municipality}/feed")
                    .route(web::get().to(feed))
                    .route(web::head().to(feed))
                    .route(web::method(actix_web::http::Method::OPTIONS).to(preflight))
                    .default_service(web::to(super::method_not_allowed)),
            ),
    );
}

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Result<Option<String>, AppError> {
    match req.headers().get(&name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_owned()))
            .map_err(|_| AppError::BadRequest(format!("the {name} header must be visible ASCII"))),
    }
}

async fn publish(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    body: web::Json<NoticeDraft>,
) -> Result<HttpResponse, AppError> {
    let published = notices::publish(&app, org, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/notices/v1/notices/{}", published.value.id)))
        .insert_header((header::ETAG, published.etag))
        .json(published.value))
}

async fn list(app: web::Data<App>, org: AuthenticatedOrganization) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({ "notices": notices::list_own(&app, org).await? })))
}

async fn get(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let notice = notices::get_own(&app, org, &path).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, notice.etag)).json(notice.value))
}

async fn edit(
    app: web::Data<App>,
    req: HttpRequest,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
    body: web::Json<NoticeDraft>,
) -> Result<HttpResponse, AppError> {
    let if_match = header_text(&req, header::IF_MATCH)?;
    let edited = notices::edit(&app, org, &path, body.into_inner(), if_match).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, edited.etag)).json(edited.value))
}

async fn withdraw(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    notices::withdraw(&app, org, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /notices/v1/municipalities/{id}/feed`: the public feed.
async fn feed(app: web::Data<App>, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let if_none_match = header_text(&req, header::IF_NONE_MATCH)?;
    let cache = (header::CACHE_CONTROL, format!("public, max-age={FEED_MAX_AGE_SECS}"));
    Ok(match notices::feed(&app, crate::http::auth::source_ip(&req), &path, if_none_match).await? {
        FeedAnswer::Feed { body, etag } => HttpResponse::Ok()
            .insert_header(cache)
            .insert_header((header::ETAG, etag))
            .content_type("application/json")
            .body(body),
        FeedAnswer::NotModified { etag } => {
            HttpResponse::NotModified().insert_header(cache).insert_header((header::ETAG, etag)).finish()
        }
    })
}

/// A CORS preflight for the public feed.
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "If-None-Match"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
