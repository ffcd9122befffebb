//! SMART Backend Services (SMART App Launch 2.x) for organizations: a
//! registered organization authenticates with a `private_key_jwt` client
//! assertion signed by a key of its JWKS and gets a short-lived access token
//! carrying SMART v2 system scopes.
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `GET /.well-known/smart-configuration`, `GET /fhir/r4/.well-known/smart-configuration`, `GET /research/v1/.well-known/smart-configuration` | – | token endpoint, auth methods, algorithms, scopes, capabilities (the same document at the origin and relative to each FHIR base, where SMART App Launch 2.x clients look) |
//! | `POST /auth/token` | client assertion | `client_credentials` grant → organization access token (EdDSA JWT, 5 min); scopes as [`scopes::grant`] decides (read-only for research organizations) |
//!
//! The handlers and the [`AuthenticatedOrganization`] extractor are in
//! `http/smart.rs`; here are the rules. Token endpoint errors are OAuth
//! 2.0 JSON (RFC 6749 §5.2, [`OAuthError`]). Handlers taking
//! [`AuthenticatedOrganization`] are reachable with an organization access
//! token only (never a device token); they check the granted scopes with
//! [`Scopes::permits`].

use serde::Serialize;
use serde_json::{json, Value};

use crate::app::auth::tokens::ORGANIZATION_TOKEN_TTL_SECS;
use crate::app::error::{AppError, OAuthError};
use crate::app::App;
use crate::store::smart as store;

pub mod assertion;
pub mod jwks_url;
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

/// The SMART extension declaring the OAuth endpoints on a CapabilityStatement's `rest.security`.
pub const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// The `rest.security` of every FHIR base's CapabilityStatement (`/fhir/r4`, `/research/v1`):
/// the `SMART-on-FHIR` service and the `oauth-uris` extension naming the token endpoint —
/// only `token`, as there is no authorize endpoint (Backend Services only).
pub fn capability_security(base: &str, description: &str) -> Value {
    json!({
        "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": format!("{base}{TOKEN_PATH}")}]}],
        "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
        "description": description,
    })
}

/// The audit actor of an organization.
fn organization_actor(organization_id: &str) -> crate::app::audit::Actor {
    crate::app::audit::Actor::from(format!("organization:{organization_id}"))
}

/// An organization calling with a valid organization access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedOrganization {
    pub organization_id: String,
    pub scopes: Scopes,
}

impl AuthenticatedOrganization {
    /// The actor name used in audit logs.
    pub fn actor(&self) -> crate::app::audit::Actor {
        organization_actor(&self.organization_id)
    }
}

/// An organization access token that verified (signature, expiry, audience) for an
/// organization within its request rate, not yet known to stand for an organization that is
/// still registered and enabled. Only [`OrganizationToken::check_enabled`], run inside the
/// request's own database work, makes an [`AuthenticatedOrganization`] of it: a read needs
/// one trip to the database, not two, and a disabled organization is refused on every node
/// at once all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationToken {
    organization_id: String,
    scopes: Scopes,
}

impl OrganizationToken {
    /// The actor name of the token's organization in audit logs (as
    /// [`AuthenticatedOrganization::actor`]), for a refusal before the organization is checked.
    pub fn actor(&self) -> crate::app::audit::Actor {
        organization_actor(&self.organization_id)
    }

    /// What the token's scopes permit (checked before any database work).
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The organization, if it is still registered and enabled (401 otherwise).
    pub fn check_enabled(self, conn: &mut crate::store::DbConnection) -> Result<AuthenticatedOrganization, AppError> {
        self.check_enabled_at_generation(conn).map(|(org, _)| org)
    }

    /// [`OrganizationToken::check_enabled`], with the grant generation read in the same
    /// statement (what [`crate::app::fhir::Visible::load_at`] needs): one round trip.
    pub fn check_enabled_at_generation(
        self,
        conn: &mut crate::store::DbConnection,
    ) -> Result<(AuthenticatedOrganization, i64), AppError> {
        let (enabled, generation) = crate::store::organizations::enabled_at_generation(conn, &self.organization_id)?;
        if !enabled {
            return Err(AppError::Unauthorized("this organization is not (or no longer) enabled".into()));
        }
        Ok((AuthenticatedOrganization { organization_id: self.organization_id, scopes: self.scopes }, generation))
    }
}

/// The organization token a bearer token (`token`: the bearer token, or why there is none)
/// is: it verifies as an organization token and the organization is within its request rate
/// (401 / 429 otherwise). No database work.
pub fn verify_organization_token(app: &App, token: Result<String, AppError>) -> Result<OrganizationToken, AppError> {
    let claims = app.tokens.verify_organization(&token?)?;
    app.rate_limiter.check(&format!("org:{}", claims.sub))?;
    Ok(OrganizationToken { scopes: Scopes::parse(&claims.scope), organization_id: claims.sub })
}

/// The organization an access token stands for: [`verify_organization_token`], then
/// [`OrganizationToken::check_enabled`] in a database trip of its own (for handlers whose
/// own database work does not start at once).
pub async fn authenticate_organization(
    app: &App,
    token: Result<String, AppError>,
) -> Result<AuthenticatedOrganization, AppError> {
    let token = verify_organization_token(app, token)?;
    app.db(move |conn| token.check_enabled(conn)).await
}

/// The SMART configuration (`/.well-known/smart-configuration`) of this server.
pub fn configuration(app: &App) -> Result<Value, AppError> {
    let token_url = format!("{}{TOKEN_PATH}", app.base_url()?);
    Ok(json!({
        "token_endpoint": token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
        "grant_types_supported": [GRANT_TYPE],
        "scopes_supported": scopes::supported(),
        "capabilities": ["client-confidential-asymmetric", "permission-v2"],
    }))
}

/// The successful token response (RFC 6749 §5.1, SMART Backend Services).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// The parameters of a token request (empty values already dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
}

/// Where an organization's public keys come from.
enum RegisteredKeys {
    /// A JWKS document registered with the organization.
    Jwks(String),
    /// A JWKS URL registered with the organization ([`jwks_url`]).
    Url(String),
}

/// Issues an organization access token for a `client_credentials` request
/// authenticated by its client assertion. `client_id` is set to the
/// organization's id once it is known to be a registered organization (for the log).
pub async fn issue_token(
    state: &App,
    form: TokenRequest,
    client_id: &mut Option<String>,
) -> Result<TokenResponse, OAuthError> {
    match form.grant_type.as_deref() {
        None => return Err(OAuthError::InvalidRequest("grant_type is required".into())),
        Some(GRANT_TYPE) => {}
        Some(_) => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "this grant_type is not supported: use {GRANT_TYPE}"
            )));
        }
    }
    if form.client_assertion_type.as_deref() != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthError::InvalidClient(format!("client_assertion_type must be {CLIENT_ASSERTION_TYPE}")));
    }
    let assertion = form
        .client_assertion
        .as_deref()
        .ok_or_else(|| OAuthError::InvalidClient("client_assertion is required".into()))?;
    let issuer = assertion::unverified_issuer(assertion)?;
    if form.client_id.as_deref().is_some_and(|id| id != issuer) {
        return Err(OAuthError::InvalidClient("client_id does not match the client_assertion iss".into()));
    }
    let requested = form.scope.clone().unwrap_or_default();

    let id = issuer.clone();
    let org = state.db(move |conn| Ok(crate::store::organizations::get(conn, &id)?)).await?;
    let (keys, purposes, is_municipality) = match org {
        Some(org) if org.is_enabled() => {
            let purposes = org.purposes();
            let is_municipality = org.kind == crate::app::organizations::MUNICIPALITY_KIND;
            let keys = match (org.jwks, org.jwks_url) {
                (Some(jwks), _) => RegisteredKeys::Jwks(jwks),
                (None, Some(url)) => RegisteredKeys::Url(url),
                (None, None) => {
                    return Err(OAuthError::InvalidClient(
                        "the client has no registered keys (JWKS or JWKS URL)".into(),
                    ))
                }
            };
            (keys, purposes, is_municipality)
        }
        _ => return Err(OAuthError::InvalidClient("unknown or disabled client".into())),
    };
    // Logged from here on: a registered organization's id, never an unverified `iss`.
    *client_id = Some(issuer.clone());
    let audience = format!("{}{TOKEN_PATH}", state.base_url()?);
    let now = chrono::Utc::now().timestamp();
    let claims = match keys {
        RegisteredKeys::Jwks(jwks) => assertion::verify(assertion, &issuer, &jwks, None, &audience, now)?,
        RegisteredKeys::Url(url) => {
            // The header is checked before anything is fetched: a jku must be the registered URL.
            let kid = assertion::checked_kid(assertion, Some(&url))?;
            let mut jwks = state.jwks_urls.get(&url).await?;
            if !assertion::has_key(assertion, &jwks, &kid) {
                // A kid the cached set lacks: the client may have rotated its keys.
                if let Some(fresh) = state.jwks_urls.refresh(&url).await? {
                    jwks = fresh;
                }
            }
            assertion::verify(assertion, &issuer, &jwks, Some(&url), &audience, now)?
        }
    };
    // Limits token issuance per organization. Counted only once the assertion
    // verifies, so nobody can use up an organization's budget with forged ones.
    state.auth_limiter.check(&format!("org:{issuer}"))?;

    let (id, jti, exp) = (issuer.clone(), claims.jti.clone(), claims.exp);
    let purge_before = now - assertion::CLOCK_SKEW_SECS - 1;
    let fresh = state.db(move |conn| Ok(store::record_jti(conn, &id, &jti, exp, purge_before)?)).await?;
    if !fresh {
        return Err(OAuthError::InvalidClient("client_assertion jti has been used already".into()));
    }

    let granted = scopes::grant(&requested, &purposes, is_municipality);
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope(
            "no requested scope can be granted: request system/<Type>.<cruds> scopes for resource types this server \
             serves (a research organization is granted read and search only: .rs or .read), or notices.write \
             (municipalities only)"
                .into(),
        ));
    }
    let scope = granted.to_string();
    let (access_token, _) = state.tokens.issue_organization(&issuer, &scope, now)?;
    Ok(TokenResponse { access_token, token_type: "bearer", expires_in: ORGANIZATION_TOKEN_TTL_SECS, scope })
}
