//! The care-team portal's HTML pages (askama templates in `server/templates/portal/`, checked
//! at compile time) and its static assets (`server/assets/portal/`, compiled in): the invite
//! page, the sign-in page, the signed-in home page. Their only script is
//! `/portal/assets/passkey.js`, which calls the JSON API (`http::portal`); there is no inline
//! script or style, as the portal's CSP requires. Errors are HTML pages
//! (`http::error::html_error`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::error::AppError;
use crate::app::portal;
use crate::app::App;
use crate::http::error::html_error;
use crate::http::portal_session::{page, staff_session};

const PASSKEY_JS: &str = include_str!("../../assets/portal/passkey.js");
const PORTAL_CSS: &str = include_str!("../../assets/portal/portal.css");

#[derive(Template)]
#[template(path = "portal/invite.html")]
struct InvitePage<'a> {
    title: &'a str,
    name: &'a str,
    organization: &'a str,
    token: &'a str,
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct SignInPage<'a> {
    title: &'a str,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    title: &'a str,
    name: &'a str,
    role: &'a str,
    organization: &'a str,
    csrf: &'a str,
}

/// `GET /portal/invite/{token}`: the page that registers a passkey with the invite.
pub async fn invite(app: web::Data<App>, req: HttpRequest, token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    match portal::invite_preview(&app, crate::http::auth::source_ip(&req), token.clone()).await {
        Ok(preview) => page(
            StatusCode::OK,
            &InvitePage {
                title: "Register your passkey",
                name: &preview.name,
                organization: &preview.organization_name,
                token: &token,
            },
        ),
        Err(e) => html_error(&e),
    }
}

/// `GET /portal/signin`.
pub async fn sign_in() -> HttpResponse {
    page(StatusCode::OK, &SignInPage { title: "Sign in" })
}

/// `GET /portal/`: who is signed in, and signing out; without a session, the sign-in page.
pub async fn home(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    match staff_session(&app, &req).await {
        Ok(s) => page(
            StatusCode::OK,
            &HomePage {
                title: "Care-team portal",
                name: &s.name,
                role: &s.role,
                organization: &s.organization_name,
                csrf: &s.csrf_token,
            },
        ),
        Err(AppError::Unauthorized(_)) => {
            HttpResponse::SeeOther().insert_header((header::LOCATION, "/portal/signin")).finish()
        }
        Err(e) => html_error(&e),
    }
}

/// `GET /portal/assets/passkey.js`.
pub async fn passkey_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(PASSKEY_JS)
}

/// `GET /portal/assets/portal.css`.
pub async fn portal_css() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").body(PORTAL_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show_and_have_no_inline_script() {
        let html =
            InvitePage { title: "t", name: "<b>Sato</b>", organization: "A & B", token: "tok\"en" }.render().unwrap();
        assert!(html.contains("&#60;b&#62;Sato") || html.contains("&lt;b&gt;Sato"), "{html}");
        assert!(!html.contains("<b>Sato"), "{html}");
        assert!(!html.contains("tok\"en"), "{html}");
        assert!(html.contains(r#"<script src="/portal/assets/passkey.js" defer></script>"#));
        assert_eq!(html.matches("<script").count(), 1, "only the one external script");
        assert!(!html.contains("style="), "no inline style");
    }
}
