//! The care-team portal's JSON API under `/portal/api` (staff sign-in with passkeys,
//! sessions); the rules are in `crate::app::portal` (`docs/portal.md`).
//!
//! - The session cookie is `__Host-phr_portal` when the public base URL is https (then also
//!   `Secure`), else `phr_portal` (loopback http); always `HttpOnly; SameSite=Strict; Path=/`.
//! - State-changing requests with a session need `X-CSRF-Token` (403 without, or wrong).
//! - Every `/portal` answer, errors included, carries [`SECURITY_HEADERS`].
//! - The HTML pages and assets are `http::portal_pages`; their routes are here too.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::app::error::AppError;
use crate::app::portal::{self, NewSession};
use crate::app::App;
use crate::http::auth::source_ip;
#[cfg(test)]
use crate::http::portal_session::CSRF_HEADER;
use crate::http::portal_session::{cleared_cookie, csrf_header, secure, session_cookie, staff_session};

/// Headers on every `/portal` answer: a strict CSP (no inline script or style), no framing,
/// no sniffing, no referrer, no caching.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    let headers = SECURITY_HEADERS.iter().fold(DefaultHeaders::new(), |h, (name, value)| h.add((*name, *value)));
    let endpoint = |path: &str, route: actix_web::Route| {
        web::resource(path.to_owned()).route(route).default_service(web::to(super::method_not_allowed))
    };
    cfg.service(
        web::scope("/portal")
            .wrap(headers)
            .service(endpoint("/api/invites/{token}/register/start", web::post().to(register_start)))
            .service(endpoint("/api/invites/{token}/register/finish", web::post().to(register_finish)))
            .service(endpoint("/api/signin/start", web::post().to(signin_start)))
            .service(endpoint("/api/signin/finish", web::post().to(signin_finish)))
            .service(endpoint("/api/signout", web::post().to(signout)))
            .service(endpoint("/api/session", web::get().to(session)))
            .service(endpoint("", web::get().to(super::portal_pages::home)))
            .service(endpoint("/", web::get().to(super::portal_pages::home)))
            .service(endpoint("/signin", web::get().to(super::portal_pages::sign_in)))
            .service(endpoint("/invite/{token}", web::get().to(super::portal_pages::invite)))
            .service(endpoint("/patients", web::get().to(super::portal_patients::patients)))
            .service(endpoint("/patients/{id}", web::get().to(super::portal_patients::patient)))
            .service(
                web::resource("/patients/{id}/results/{form}")
                    .route(web::get().to(super::portal_patients::result_form))
                    .route(web::post().to(super::portal_patients::save_result))
                    .default_service(web::to(super::method_not_allowed)),
            )
            .service(
                web::resource("/uploads")
                    .route(web::get().to(super::portal_upload::page))
                    .route(web::post().to(super::portal_upload::preview))
                    .default_service(web::to(super::method_not_allowed)),
            )
            .service(endpoint("/uploads/{form}/template.csv", web::get().to(super::portal_upload::template)))
            .service(
                web::resource("/emergency")
                    .route(web::get().to(super::portal_emergency::page))
                    .route(web::post().to(super::portal_emergency::open))
                    .default_service(web::to(super::method_not_allowed)),
            )
            .service(endpoint("/staff", web::get().to(super::portal_staff::page)))
            .service(endpoint("/staff/invite", web::post().to(super::portal_staff::invite)))
            .service(endpoint("/staff/{id}/disable", web::post().to(super::portal_staff::disable)))
            .service(endpoint("/uploads/commit", web::post().to(super::portal_upload::commit)))
            .service(endpoint("/assets/passkey.js", web::get().to(super::portal_pages::passkey_js)))
            .service(endpoint("/assets/portal.css", web::get().to(super::portal_pages::portal_css)))
            .default_service(web::to(not_found)),
    );
}

/// Anything else under `/portal`: 404, a problem document under `/portal/api`, else an HTML page.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let e = AppError::NotFound("no such portal page or endpoint".into());
    if req.path().starts_with("/portal/api/") {
        return Err(e);
    }
    Ok(super::error::html_error(&e))
}

fn signed_in(app: &App, new: NewSession) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::SET_COOKIE, session_cookie(secure(app)?, &new.cookie_value, new.max_age_secs)))
        .json(new.session))
}

async fn register_start(
    app: web::Data<App>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(portal::register_start(&app, source_ip(&req), token.into_inner()).await?))
}

async fn register_finish(
    app: web::Data<App>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Json<RegisterPublicKeyCredential>,
) -> Result<HttpResponse, AppError> {
    let new = portal::register_finish(&app, source_ip(&req), token.into_inner(), body.into_inner()).await?;
    signed_in(&app, new)
}

async fn signin_start(app: web::Data<App>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(portal::signin_start(&app, source_ip(&req)).await?))
}

async fn signin_finish(
    app: web::Data<App>,
    req: HttpRequest,
    body: web::Json<PublicKeyCredential>,
) -> Result<HttpResponse, AppError> {
    let new = portal::signin_finish(&app, source_ip(&req), body.into_inner()).await?;
    signed_in(&app, new)
}

async fn session(app: web::Data<App>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(staff_session(&app, &req).await?))
}

async fn signout(app: web::Data<App>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let session = staff_session(&app, &req).await?;
    portal::check_csrf(&session, csrf_header(&req))?;
    portal::signout(&app, session).await?;
    Ok(HttpResponse::NoContent().insert_header((header::SET_COOKIE, cleared_cookie(secure(&app)?))).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_session_cookies_are_host_prefixed_secure_httponly_and_strict() {
        assert_eq!(
            session_cookie(true, "v", 43_200),
            "__Host-phr_portal=v; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn plain_http_session_cookies_have_no_host_prefix_and_no_secure_flag() {
        assert_eq!(session_cookie(false, "v", 60), "phr_portal=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
        assert_eq!(cleared_cookie(false), "phr_portal=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    }

    #[test]
    fn the_csrf_token_is_read_from_its_header_only_when_visible_ascii() {
        let req = actix_web::test::TestRequest::default().insert_header((CSRF_HEADER, "abc")).to_http_request();
        assert_eq!(csrf_header(&req), Some("abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((CSRF_HEADER, header::HeaderValue::from_bytes(b"\xff").unwrap()))
            .to_http_request();
        assert_eq!(csrf_header(&req), None);
        assert_eq!(csrf_header(&actix_web::test::TestRequest::default().to_http_request()), None);
    }
}
