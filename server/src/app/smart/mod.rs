//! SMART Backend Services (SMART App Launch 2.x) for organizations: a
//! registered organization authenticates with a `private_key_jwt` client
//! assertion signed by a key of its JWKS and gets a short-lived access token
//! carrying SMART v2 system scopes.
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `GET /.well-known/smart-configuration` | – | token endpoint, auth methods, algorithms, scopes, capabilities |
//! | `POST /auth/token` | client assertion | `client_credentials` grant → organization access token (EdDSA JWT, 5 min) |
//!
//! Token endpoint errors are OAuth 2.0 JSON (RFC 6749 §5.2, [`OAuthError`]).
//! Handlers taking [`AuthenticatedOrganization`] are reachable with an
//! organization access token only (never a device token); they check the
//! granted scopes with [`Scopes::permits`].

use crate::store::smart as store;
use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, get, http::header, post, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;

use crate::app::auth::tokens::ORGANIZATION_TOKEN_TTL_SECS;
use crate::app::error::{AppError, OAuthError};
use crate::app::App;
use crate::http::auth::bearer_token;

pub mod assertion;
pub mod scopes;

pub use scopes::{Action, Scope, Scopes};

/// The only grant type of SMART Backend Services.
pub const GRANT_TYPE: &str = "client_credentials";
/// RFC 7523 client assertion type.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The token endpoint path (the assertion `aud` is the base URL plus this).
pub const TOKEN_PATH: &str = "/auth/token";
/// Client assertion algorithms accepted.
pub const SIGNING_ALGS: [&str; 2] = ["RS384", "ES384"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(smart_configuration).service(token_endpoint);
}

/// An organization calling with a valid organization access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedOrganization {
    pub organization_id: String,
    pub scopes: Scopes,
}

impl AuthenticatedOrganization {
    /// The actor name used in audit logs.
    pub fn actor(&self) -> String {
        format!("organization:{}", self.organization_id)
    }
}

impl FromRequest for AuthenticatedOrganization {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<App>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            let claims = state.tokens.verify_organization(&token?)?;
            state.rate_limiter.check(&format!("org:{}", claims.sub))?;
            let id = claims.sub.clone();
            let org = state.db(move |conn| Ok(crate::store::organizations::get(conn, &id)?)).await?;
            if !org.is_some_and(|o| o.is_enabled()) {
                return Err(AppError::Unauthorized("this organization is not (or no longer) enabled".into()));
            }
            Ok(AuthenticatedOrganization { organization_id: claims.sub, scopes: Scopes::parse(&claims.scope) })
        })
    }
}

#[get("/.well-known/smart-configuration")]
async fn smart_configuration(state: web::Data<App>) -> Result<HttpResponse, AppError> {
    let token_url = format!("{}{TOKEN_PATH}", state.base_url()?);
    Ok(HttpResponse::Ok().json(json!({
        "token_endpoint": token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
        "grant_types_supported": [GRANT_TYPE],
        "scopes_supported": scopes::supported(),
        "capabilities": ["client-confidential-asymmetric", "permission-v2"],
    })))
}

/// The successful token response (RFC 6749 §5.1, SMART Backend Services).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

#[post("/auth/token")]
async fn token_endpoint(state: web::Data<App>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let mut client_id = None;
    let outcome = issue_token(&state, &req, &body, &mut client_id).await;
    let organization_id = client_id.as_deref().unwrap_or("(unidentified)");
    match &outcome {
        Ok(granted) => {
            tracing::info!(organization_id, scope = %granted.scope, outcome = "issued", "organization access token")
        }
        Err(e) => tracing::info!(
            organization_id,
            outcome = "refused",
            error = e.code().unwrap_or("server_error"),
            "organization access token"
        ),
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(outcome?))
}

async fn issue_token(
    state: &App,
    req: &HttpRequest,
    body: &[u8],
    client_id: &mut Option<String>,
) -> Result<TokenResponse, OAuthError> {
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(OAuthError::InvalidRequest("expected Content-Type: application/x-www-form-urlencoded".into()));
    }
    let form = Form::parse(body)?;
    match form.get("grant_type") {
        None => return Err(OAuthError::InvalidRequest("grant_type is required".into())),
        Some(GRANT_TYPE) => {}
        Some(_) => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "this grant_type is not supported: use {GRANT_TYPE}"
            )));
        }
    }
    if form.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthError::InvalidClient(format!("client_assertion_type must be {CLIENT_ASSERTION_TYPE}")));
    }
    let assertion =
        form.get("client_assertion").ok_or_else(|| OAuthError::InvalidClient("client_assertion is required".into()))?;
    let issuer = assertion::unverified_issuer(assertion)?;
    if form.get("client_id").is_some_and(|id| id != issuer) {
        return Err(OAuthError::InvalidClient("client_id does not match the client_assertion iss".into()));
    }
    let requested = form.get("scope").unwrap_or("").to_owned();

    let id = issuer.clone();
    let org = state.db(move |conn| Ok(crate::store::organizations::get(conn, &id)?)).await?;
    let jwks = match org {
        Some(org) if org.is_enabled() => {
            org.jwks.ok_or_else(|| OAuthError::InvalidClient("the client has no registered keys (JWKS)".into()))?
        }
        _ => return Err(OAuthError::InvalidClient("unknown or disabled client".into())),
    };
    // Logged from here on: a registered organization's id, never an unverified `iss`.
    *client_id = Some(issuer.clone());
    let audience = format!("{}{TOKEN_PATH}", state.base_url()?);
    let now = chrono::Utc::now().timestamp();
    let claims = assertion::verify(assertion, &issuer, &jwks, &audience, now)?;
    // Limits token issuance per organization. Counted only once the assertion
    // verifies, so nobody can use up an organization's budget with forged ones.
    state.auth_limiter.check(&format!("org:{issuer}"))?;

    let (id, jti, exp) = (issuer.clone(), claims.jti.clone(), claims.exp);
    let purge_before = now - assertion::CLOCK_SKEW_SECS - 1;
    let fresh = state.db(move |conn| Ok(store::record_jti(conn, &id, &jti, exp, purge_before)?)).await?;
    if !fresh {
        return Err(OAuthError::InvalidClient("client_assertion jti has been used already".into()));
    }

    let granted = scopes::grant(&requested);
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope(
            "no requested scope can be granted: request system/<Type>.<cruds> scopes for resource types this server serves"
                .into(),
        ));
    }
    let scope = granted.to_string();
    let (access_token, _) = state.tokens.issue_organization(&issuer, &scope, now)?;
    Ok(TokenResponse { access_token, token_type: "bearer", expires_in: ORGANIZATION_TOKEN_TTL_SECS, scope })
}

/// A decoded `application/x-www-form-urlencoded` body. Parameters may not
/// repeat (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::InvalidRequest(format!("parameter {name} is repeated")));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Form(pairs))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use actix_web::{test as actix_test, App as ActixApp};
    use jsonwebtoken::Algorithm;
    use serde_json::Value;

    use super::assertion::tests::{es384_key, sign};
    use super::*;
    use crate::app::auth::{RateLimiter, TokenService};
    use crate::keys::KeyStore;
    use crate::store::testing::TestDatabase;

    const BASE: &str = "https://phr.example.org";

    fn state(db: &TestDatabase, key_dir: &std::path::Path) -> App {
        let (keys, _) = KeyStore::open_or_create(key_dir).unwrap();
        let (pool, _) = crate::store::open(&db.target, 2).unwrap();
        let tokens = TokenService::new(&keys).unwrap();
        let base = OnceLock::new();
        base.set(BASE.to_owned()).unwrap();
        App {
            pool,
            keys: Arc::new(keys),
            tokens: Arc::new(tokens),
            rate_limiter: Arc::new(RateLimiter::new(0.0, 1.0)),
            auth_limiter: Arc::new(crate::app::auth::AuthLimiter::new(0.0, 1.0)),
            audit_repeats: Arc::new(crate::app::audit::Repeats::new(std::time::Duration::from_secs(3600))),
            limits: Default::default(),
            public_base_url: Arc::new(base),
            instance_id: "test".into(),
            backend: db.target.backend_name(),
            research: Arc::new(crate::app::research::ResearchService::new(key_dir, 5, 60)),
            fhir_search_cache: Arc::new(crate::app::fhir::cache::SearchCache::new(0, std::time::Duration::ZERO)),
        }
    }

    /// The probe a FHIR endpoint will look like: organization auth, then a scope check.
    async fn probe(org: AuthenticatedOrganization) -> Result<HttpResponse, AppError> {
        if !org.scopes.permits("Observation", Action::Read) {
            return Err(AppError::Forbidden("scope does not permit reading Observation".into()));
        }
        Ok(HttpResponse::Ok().json(json!({"organization_id": org.organization_id})))
    }

    fn form(pairs: &[(&str, &str)]) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    #[actix_web::test]
    async fn an_issued_organization_token_passes_the_probe_and_a_device_token_does_not() {
        for db in TestDatabase::all() {
            let dir = tempfile::tempdir().unwrap();
            let state = state(&db, dir.path());
            let (key, jwk) = es384_key("k1");
            let jwks = json!({"keys": [jwk]}).to_string();
            let org = crate::app::organizations::check_new_organization(
                "tanaka-clinic",
                "Tanaka Clinic",
                "clinic",
                &["treatment".to_owned()],
                Some(&jwks),
            )
            .unwrap();
            let mut conn = state.pool.get().unwrap();
            crate::store::organizations::insert(&mut conn, &org, 1).unwrap();
            drop(conn);
            let device_token = state.tokens.issue("acc", "dev", chrono::Utc::now().timestamp()).unwrap().0;
            let app = actix_test::init_service(
                ActixApp::new()
                    .route("/test/probe", web::get().to(probe))
                    .configure(crate::http::configure(state.clone(), 1 << 20)),
            )
            .await;

            let config: Value = actix_test::call_and_read_body_json(
                &app,
                actix_test::TestRequest::get().uri("/.well-known/smart-configuration").to_request(),
            )
            .await;
            assert_eq!(config["token_endpoint"], format!("{BASE}/auth/token"));

            let now = chrono::Utc::now().timestamp();
            let claims = json!({"iss": "tanaka-clinic", "sub": "tanaka-clinic", "aud": format!("{BASE}/auth/token"),
                "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()});
            let body = form(&[
                ("grant_type", GRANT_TYPE),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &sign(&key, Algorithm::ES384, Some("k1"), &claims)),
                ("scope", "system/Observation.rs system/Patient.rs"),
            ]);
            let resp = actix_test::call_service(
                &app,
                actix_test::TestRequest::post()
                    .uri("/auth/token")
                    .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                    .set_payload(body)
                    .to_request(),
            )
            .await;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
            let granted: Value = actix_test::read_body_json(resp).await;
            assert_eq!(granted["scope"], "system/Observation.rs system/Patient.rs");
            let org_token = granted["access_token"].as_str().unwrap().to_owned();

            let call = |token: &str| {
                actix_test::TestRequest::get()
                    .uri("/test/probe")
                    .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                    .to_request()
            };
            let resp = actix_test::call_service(&app, call(&org_token)).await;
            assert_eq!(resp.status(), 200);
            let seen: Value = actix_test::read_body_json(resp).await;
            assert_eq!(seen["organization_id"], "tanaka-clinic");
            assert_eq!(actix_test::call_service(&app, call(&device_token)).await.status(), 401, "device token");
            assert_eq!(actix_test::call_service(&app, call("forged.token.here")).await.status(), 401);
            let unauthenticated = actix_test::TestRequest::get().uri("/test/probe").to_request();
            assert_eq!(actix_test::call_service(&app, unauthenticated).await.status(), 401);

            // A token scoped elsewhere is authenticated but not permitted.
            let narrow = state.tokens.issue_organization("tanaka-clinic", "system/Patient.rs", now).unwrap().0;
            assert_eq!(actix_test::call_service(&app, call(&narrow)).await.status(), 403);
            // Disabling the organization stops its tokens at once.
            let mut conn = state.pool.get().unwrap();
            crate::store::organizations::disable(&mut conn, "tanaka-clinic", 2).unwrap();
            drop(conn);
            assert_eq!(actix_test::call_service(&app, call(&org_token)).await.status(), 401);
        }
    }

    #[test]
    fn form_parameters_may_not_repeat_and_empty_values_count_as_absent() {
        assert!(matches!(Form::parse(b"scope=a&scope=b"), Err(OAuthError::InvalidRequest(_))));
        let form = Form::parse(b"grant_type=client_credentials&scope=&client_id=a%2Bb").unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("client_id"), Some("a+b"));
    }
}
