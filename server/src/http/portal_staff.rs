//! The organization admin's staff page (`docs/portal.md`, "Staff"; the rules are
//! `crate::app::portal::admin`):
//!
//! | page | what |
//! |---|---|
//! | `GET /portal/staff` | the organization's staff; invite, re-invite and disable buttons (admins only: 403 for a member) |
//! | `POST /portal/staff/invite` | `csrf`, `name`, `admin` (checkbox): the staff page with the single-use invite link, shown once |
//! | `POST /portal/staff/{id}/disable` | `csrf`: disables them and ends their sessions (303 to the staff page); another organization's staff member 404, oneself 409 |

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::error::AppError;
use crate::app::portal::{self as portal_app, admin, StaffSession};
use crate::app::App;
use crate::http::error::problem;
use crate::http::portal_session::{answer, field, posted_form, refused, signed_in, Chrome};

/// A staff member as the page lists them.
struct Member {
    staff_id: String,
    name: String,
    role: String,
    enabled: bool,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "portal/staff.html")]
struct StaffPage {
    title: String,
    c: Chrome,
    members: Vec<Member>,
    link: Option<String>,
    problem: Option<String>,
}

async fn staff_page(
    app: &App,
    staff: &StaffSession,
    c: Chrome,
    link: Option<String>,
    problem: Option<String>,
) -> Result<StaffPage, AppError> {
    let members = admin::staff(app, staff)
        .await?
        .into_iter()
        .map(|s| Member {
            is_me: s.staff_id == staff.staff_id,
            enabled: s.disabled_at.is_none(),
            staff_id: s.staff_id,
            name: s.name,
            role: s.role,
        })
        .collect();
    Ok(StaffPage { title: c.t.get("portal-staff-title"), members, link, problem, c })
}

/// `GET /portal/staff`.
pub async fn page(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let (staff, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    match staff_page(&app, &staff, c, None, None).await {
        Ok(page) => answer(StatusCode::OK, &page, lang, remember),
        Err(e) => refused(e),
    }
}

/// `POST /portal/staff/invite`.
pub async fn invite(app: web::Data<App>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (staff, c, _) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let form = match posted_form(&staff, &body) {
        Ok(form) => form,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    let name = field(&form, "name").unwrap_or_default().to_owned();
    let make_admin = field(&form, "admin").is_some_and(|v| matches!(v, "on" | "true" | "1"));
    let (status, link, problem) = match admin::invite(&app, &staff, name, make_admin).await {
        Ok(issued) => {
            let origin = app
                .base_url()
                .ok()
                .and_then(|b| portal_app::relying_party(b).ok())
                .map(|rp| rp.origin.as_str().trim_end_matches('/').to_owned())
                .unwrap_or_default();
            (StatusCode::OK, Some(format!("{origin}/portal/invite/{}", issued.token)), None)
        }
        Err(e @ (AppError::Unprocessable { .. } | AppError::BadRequest(_))) => {
            (StatusCode::UNPROCESSABLE_ENTITY, None, Some(problem(&e).detail))
        }
        Err(e) => return refused(e),
    };
    match staff_page(&app, &staff, c, link, problem).await {
        Ok(page) => answer(status, &page, lang, false),
        Err(e) => refused(e),
    }
}

/// `POST /portal/staff/{id}/disable`.
pub async fn disable(app: web::Data<App>, req: HttpRequest, id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let (staff, _, _) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    if let Err(e) = posted_form(&staff, &body) {
        return refused(e);
    }
    match admin::disable(&app, &staff, id.into_inner()).await {
        Ok(()) => HttpResponse::SeeOther().insert_header((header::LOCATION, "/portal/staff")).finish(),
        Err(e) => refused(e),
    }
}
