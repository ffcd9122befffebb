//! SMART Backend Services over HTTP: `GET /.well-known/smart-configuration`
//! (the copies relative to the FHIR base and the research base are routed in
//! `http/fhir` and `http/research`), `POST /auth/token` (form parsing, OAuth answers) and
//! the [`AuthenticatedOrganization`] extractor. The rules are in `crate::app::smart`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, post, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::app::error::{AppError, OAuthError};
use crate::app::smart::{self as smart, AuthenticatedOrganization, OrganizationToken, TokenRequest};
use crate::app::App;
use crate::http::auth::bearer_token;

/// Where SMART App Launch 2.x clients discover the configuration, relative to a base URL.
pub const CONFIGURATION_PATH: &str = "/.well-known/smart-configuration";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(CONFIGURATION_PATH, web::get().to(smart_configuration)).service(token_endpoint);
}

impl FromRequest for AuthenticatedOrganization {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<App>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            smart::authenticate_organization(&state, token).await
        })
    }
}

impl FromRequest for OrganizationToken {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        std::future::ready(match req.app_data::<web::Data<App>>() {
            Some(state) => smart::verify_organization_token(state, token),
            None => Err(AppError::Internal("application state missing".into())),
        })
    }
}

async fn smart_configuration(state: web::Data<App>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(smart::configuration(&state)?))
}

#[post("/auth/token")]
async fn token_endpoint(state: web::Data<App>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let mut client_id = None;
    let outcome = match token_request(&req, &body) {
        Ok(form) => smart::issue_token(&state, form, &mut client_id).await,
        Err(e) => Err(e),
    };
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

/// The parameters of a token request: a form body, each parameter at most once.
fn token_request(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(OAuthError::InvalidRequest("expected Content-Type: application/x-www-form-urlencoded".into()));
    }
    let form = Form::parse(body)?;
    let get = |name: &str| form.get(name).map(str::to_owned);
    Ok(TokenRequest {
        grant_type: get("grant_type"),
        client_assertion_type: get("client_assertion_type"),
        client_assertion: get("client_assertion"),
        client_id: get("client_id"),
        scope: get("scope"),
    })
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

    use actix_web::{test as actix_test, App as ActixApp};
    use jsonwebtoken::Algorithm;
    use serde_json::{json, Value};

    use super::*;
    use crate::app::smart::assertion::tests::{es384_key, sign};
    use crate::app::smart::{Action, CLIENT_ASSERTION_TYPE, GRANT_TYPE};
    use crate::keys::KeyStore;
    use crate::store::testing::TestDatabase;

    const BASE: &str = "https://phr.example.org";

    fn state(db: &TestDatabase, key_dir: &std::path::Path) -> App {
        let (keys, _) = KeyStore::open_or_create(key_dir).unwrap();
        let (pool, _) = crate::store::open(&db.target, 2).unwrap();
        let limits = crate::config::Limits {
            rate_limit_per_device: 0.0,
            auth_rate_limit: 0.0,
            fhir_search_cache_mb: 0,
            ..Default::default()
        };
        let push =
            crate::config::PushArgs { push_contact: "mailto:ops@example.org".into(), push_allow_loopback_http: false };
        App::new(pool, keys, limits, key_dir, Some(BASE.to_owned()), &push).unwrap()
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

    /// The scenario of `an_issued_organization_token_passes_the_probe_and_a_device_token_does_not`.
    async fn token_probe(db: TestDatabase) {
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

    /// Once per backend, by name (`…::sqlite`, `…::postgres`), as `store_test!` does for synchronous tests.
    mod an_issued_organization_token_passes_the_probe_and_a_device_token_does_not {
        use super::*;

        #[actix_web::test]
        async fn sqlite() {
            token_probe(TestDatabase::sqlite()).await
        }

        #[actix_web::test]
        async fn postgres() {
            match TestDatabase::postgres() {
                Some(db) => token_probe(db).await,
                None => eprintln!(
                    "SKIPPED {}::postgres: set {} to run it",
                    module_path!(),
                    crate::store::testing::POSTGRES_URL_ENV
                ),
            }
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
