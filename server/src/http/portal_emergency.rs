//! The care-team portal's break-glass page for emergency departments (`docs/portal.md`,
//! "Emergency"; the rules are `crate::app::portal::emergency` and `crate::app::break_glass`):
//!
//! | page | what |
//! |---|---|
//! | `GET /portal/emergency` | the form: identifier system (the handbook number's by default), value, reason |
//! | `POST /portal/emergency` | `application/x-www-form-urlencoded` with the session's `csrf`: the emergency summary (200), or the form again with the problem: 400 (no reason, a bad identifier), 403 (not an emergency department), 404 (no summary available for the identifier) |

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::error::AppError;
use crate::app::portal::emergency::{self, SummarySection};
use crate::app::App;
use crate::http::error::problem;
use crate::http::portal_session::{answer, field, posted_form, refused, signed_in, Chrome};

/// The identifier system the form starts with: the maternal and child handbook number.
pub const DEFAULT_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.81";

#[derive(Template)]
#[template(path = "portal/emergency.html")]
struct EmergencyPage {
    title: String,
    c: Chrome,
    system: String,
    value: String,
    reason: String,
    problem: Option<String>,
    sections: Vec<SummarySection>,
}

fn form(c: Chrome, system: String, value: String, reason: String, problem: Option<String>) -> EmergencyPage {
    EmergencyPage { title: c.t.get("portal-emergency-title"), system, value, reason, problem, sections: Vec::new(), c }
}

/// `GET /portal/emergency`.
pub async fn page(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let (_, c, remember) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let lang = c.t.lang;
    answer(StatusCode::OK, &form(c, DEFAULT_SYSTEM.into(), String::new(), String::new(), None), lang, remember)
}

/// `POST /portal/emergency`.
pub async fn open(app: web::Data<App>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (staff, c, _) = match signed_in(&app, &req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return refused(e),
    };
    let posted = match posted_form(&staff, &body) {
        Ok(posted) => posted,
        Err(e) => return refused(e),
    };
    let value_of = |name: &str| field(&posted, name).unwrap_or_default().to_owned();
    let (system, value, reason) = (value_of("system"), value_of("value"), value_of("reason"));
    let lang = c.t.lang;
    match emergency::summary(&app, &staff, &system, &value, &reason).await {
        Ok(sections) => {
            let page = EmergencyPage { sections, ..form(c, system, value, String::new(), None) };
            answer(StatusCode::OK, &page, lang, false)
        }
        Err(e @ (AppError::BadRequest(_) | AppError::Forbidden(_) | AppError::NotFound(_))) => {
            let status = crate::http::error::status_of(&e);
            let detail = problem(&e).detail;
            answer(status, &form(c, system, value, reason, Some(detail)), lang, false)
        }
        Err(e) => refused(e),
    }
}
