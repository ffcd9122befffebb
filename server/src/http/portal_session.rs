//! What every care-team portal page shares (`docs/portal.md`): the session cookie and the
//! request's session, the CSRF check of posted forms, the language choice and the page chrome
//! (navigation, who is signed in, language links, sign-out), rendering a template, and the
//! answer to a refusal (no session: to the sign-in page; else an HTML error page). The JSON API
//! (`http::portal`) and every page module (`portal_pages`, `portal_patients`, `portal_upload`,
//! `portal_emergency`, `portal_staff`) build on it; it depends on none of them.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::app::error::AppError;
use crate::app::portal::{self as portal_app, StaffSession};
use crate::app::App;
use crate::http::error::html_error;

/// The cookie on https.
pub const SECURE_COOKIE: &str = "__Host-phr_portal";
/// The cookie on plain http (loopback development and tests).
pub const PLAIN_COOKIE: &str = "phr_portal";
/// The header that carries a session's CSRF token.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The cookie's name for a base URL's scheme.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(secure: bool, value: &str, max_age_secs: i64) -> String {
    let name = cookie_name(secure);
    let secure_attr = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure_attr}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    session_cookie(secure, "", 0)
}

/// The CSRF token a request carries, if any (a header that is not visible ASCII is none).
pub fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

pub(crate) fn secure(app: &App) -> Result<bool, AppError> {
    Ok(app.portal.secure(app.base_url()?))
}

/// The request's session (401 without a current one; 403 when its staff member or
/// organization is disabled).
pub(crate) async fn staff_session(app: &App, req: &HttpRequest) -> Result<StaffSession, AppError> {
    let name = cookie_name(secure(app)?);
    let value = req.cookie(name).map(|c| c.value().to_owned()).unwrap_or_default();
    portal_app::session(app, value).await
}

/// A rendered page as a `text/html` answer (a template that fails to render is a 500 page).
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => html_error(&AppError::Internal(format!("template: {e}"))),
    }
}

/// The cookie that remembers the language chosen with `?lang=`.
pub const LANGUAGE_COOKIE: &str = "phr_portal_lang";
/// The portal's languages; the first is the default.
pub const LANGUAGES: [&str; 2] = ["ja", "en"];

/// The page's texts in one language (the message catalogs of phr-core).
pub struct Texts {
    pub lang: &'static str,
}

impl Texts {
    /// The message `key`.
    pub fn get(&self, key: &str) -> String {
        phr_core::i18n::text(self.lang, key, &[])
    }

    /// The message `key` with one argument.
    pub fn with(&self, key: &str, name: &str, value: impl ToString) -> String {
        phr_core::i18n::text(self.lang, key, &[(name, value.to_string())])
    }

    /// The message `key` with a count (plural forms choose by it).
    pub fn count(&self, key: &str, name: &str, n: usize) -> String {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        phr_core::i18n::text_with(self.lang, key, &[(name, phr_core::i18n::Arg::Count(n))])
    }
}

/// What every signed-in page shows around its content: the navigation, who is signed in,
/// the language links and the sign-out button (with the session's CSRF token).
pub struct Chrome {
    pub t: Texts,
    pub staff: String,
    pub organization: String,
    pub csrf: String,
    /// This page's path (the language links point to it).
    pub here: String,
    /// The organization is an emergency department (the break-glass page is offered).
    pub emergency: bool,
    /// The staff member is an admin of the organization (the staff page is offered).
    pub admin: bool,
}

fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_', ';']).next().unwrap_or("").to_ascii_lowercase();
    LANGUAGES.into_iter().find(|l| *l == primary)
}

/// The language asked for by `?lang=` (to be remembered), else the cookie's, else the first
/// supported one of `Accept-Language`, else Japanese.
pub fn language(req: &HttpRequest) -> (&'static str, bool) {
    let asked = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| supported(&v));
    if let Some(lang) = asked {
        return (lang, true);
    }
    if let Some(lang) = req.cookie(LANGUAGE_COOKIE).and_then(|c| supported(c.value())) {
        return (lang, false);
    }
    let accepted = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (accepted.split(',').find_map(supported).unwrap_or(LANGUAGES[0]), false)
}

pub(crate) fn chrome(req: &HttpRequest, staff: &StaffSession) -> (Chrome, bool) {
    let (lang, remember) = language(req);
    let chrome = Chrome {
        t: Texts { lang },
        staff: staff.name.clone(),
        organization: staff.organization_name.clone(),
        csrf: staff.csrf_token.clone(),
        here: req.path().to_owned(),
        emergency: crate::app::portal::emergency::is_emergency(staff),
        admin: crate::app::portal::admin::require_admin(staff).is_ok(),
    };
    (chrome, remember)
}

/// A page answer, remembering the language when `?lang=` chose it.
pub(crate) fn answer(status: StatusCode, template: &impl Template, lang: &str, remember: bool) -> HttpResponse {
    let mut resp = page(status, template);
    if remember {
        let cookie = format!("{LANGUAGE_COOKIE}={lang}; Path=/portal; Max-Age=31536000; SameSite=Strict");
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    resp
}

/// The request's staff member and the page chrome (and whether `?lang=` chose the language);
/// without a session 401 (which [`refused`] answers with the sign-in page).
pub(crate) async fn signed_in(app: &App, req: &HttpRequest) -> Result<(StaffSession, Chrome, bool), AppError> {
    let staff = staff_session(app, req).await?;
    let (c, remember) = chrome(req, &staff);
    Ok((staff, c, remember))
}

/// The fields of a posted `application/x-www-form-urlencoded` form, without its CSRF token
/// (`csrf`), which must be the session's (403 otherwise).
pub(crate) fn posted_form(staff: &StaffSession, body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let mut csrf = None;
    let mut fields = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        if k == "csrf" {
            csrf = Some(v.into_owned());
        } else {
            fields.push((k.into_owned(), v.into_owned()));
        }
    }
    portal_app::check_csrf(staff, csrf.as_deref())?;
    Ok(fields)
}

/// The value of field `name` of a posted form.
pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Without a session: to the sign-in page; any other error: its HTML page.
pub(crate) fn refused(e: AppError) -> HttpResponse {
    match e {
        AppError::Unauthorized(_) => {
            HttpResponse::SeeOther().insert_header((header::LOCATION, "/portal/signin")).finish()
        }
        e => html_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_the_query_then_the_cookie_then_accept_language_then_japanese() {
        let req = |uri: &str, cookie: Option<&str>, accept: Option<&str>| {
            let mut r = actix_web::test::TestRequest::with_uri(uri);
            if let Some(c) = cookie {
                r = r.cookie(actix_web::cookie::Cookie::new(LANGUAGE_COOKIE, c.to_owned()));
            }
            if let Some(a) = accept {
                r = r.insert_header((header::ACCEPT_LANGUAGE, a));
            }
            r.to_http_request()
        };
        assert_eq!(language(&req("/portal/patients?lang=en", Some("ja"), None)), ("en", true));
        assert_eq!(language(&req("/portal/patients?lang=fr", Some("en"), None)), ("en", false));
        assert_eq!(language(&req("/portal/patients", None, Some("fr-FR, en-GB;q=0.8, ja;q=0.5"))), ("en", false));
        assert_eq!(language(&req("/portal/patients", None, Some("de"))), ("ja", false));
        assert_eq!(language(&req("/portal/patients", None, None)), ("ja", false));
    }
}
