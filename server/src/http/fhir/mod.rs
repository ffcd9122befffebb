//! `/fhir/r4`: the routes and handlers of the FHIR R4 API (the use cases are
//! in `crate::app::fhir`, whose docs list the endpoints and the choices).
//! Here: reading bodies (at most [`MAX_FHIR_BODY_BYTES`]) and headers,
//! checking the token's scopes, and writing FHIR JSON answers; errors become
//! OperationOutcomes ([`outcome`]).

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use phr_fhir::model::Resource;
use serde::Serialize;
use serde_json::Value;

use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::fhir::{self as fhir, bad_element, bad_request, FhirResult};
use crate::app::smart::{Action, AuthenticatedOrganization, OrganizationToken};
use crate::app::App;

pub mod outcome;

pub use outcome::FHIR_JSON;

/// The largest FHIR request body accepted (413 beyond).
pub const MAX_FHIR_BODY_BYTES: usize = 1 << 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir/r4")
            .route("/metadata", web::get().to(capability_statement))
            .route(crate::http::smart::CONFIGURATION_PATH, web::get().to(smart_configuration))
            // `POST [base]` and `POST [base]/` are the same transaction / batch endpoint.
            .route("", web::post().to(transaction))
            .route("/", web::post().to(transaction))
            .route("/Patient", web::get().to(patient_search))
            .route("/Patient/$summary", web::get().to(patient_summary))
            .route("/Patient/{id}/$everything", web::get().to(everything))
            .route("/Patient/{id}", web::get().to(patient_read))
            .route("/AuditEvent", web::get().to(audit_event_search))
            .route("/{type}", web::get().to(search))
            .route("/{type}", web::post().to(create))
            .route("/{type}/{id}", web::get().to(read))
            .route("/{type}/{id}", web::put().to(update))
            .default_service(web::to(no_such_interaction)),
    );
}

/// Anything else under `/fhir/r4`: an OperationOutcome (404, or 405 for a method no FHIR endpoint here takes).
async fn no_such_interaction(req: HttpRequest) -> FhirResult<HttpResponse> {
    // The detail never repeats the client's path or method.
    if ![Method::GET, Method::POST, Method::PUT].contains(req.method()) {
        return Err(AppError::MethodNotAllowed("this method is not supported; see /fhir/r4/metadata".into()).into());
    }
    Err(AppError::NotFound("no such FHIR interaction here; see /fhir/r4/metadata".into()).into())
}

/// The authenticated organization, if its token permits `action` on `resource_type`.
fn authorize(
    org: Result<AuthenticatedOrganization, AppError>,
    resource_type: &str,
    action: Action,
) -> FhirResult<AuthenticatedOrganization> {
    let org = org?;
    fhir::permit(&org, resource_type, action)?;
    Ok(org)
}

/// The organization token, if its scopes permit `action` on `resource_type` (whether the
/// organization is still enabled is checked in the read's own database work).
fn authorize_token(
    token: Result<OrganizationToken, AppError>,
    resource_type: &str,
    action: Action,
) -> FhirResult<OrganizationToken> {
    let token = token?;
    fhir::permit_scopes(token.scopes(), resource_type, action)?;
    Ok(token)
}

/// A FHIR JSON response.
pub(crate) fn fhir_response<T: Serialize>(status: StatusCode, value: &T) -> FhirResult<HttpResponse> {
    let body = serde_json::to_vec(value).map_err(|e| AppError::Internal(format!("cannot encode FHIR JSON: {e}")))?;
    Ok(HttpResponse::build(status).content_type(FHIR_JSON).body(body))
}

/// Reads a request body up to [`MAX_FHIR_BODY_BYTES`] (413 beyond).
pub(crate) async fn read_body(payload: web::Payload) -> FhirResult<web::Bytes> {
    match payload.to_bytes_limited(MAX_FHIR_BODY_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) if crate::http::is_request_timeout(&e) => {
            Err(AppError::RequestTimeout(crate::http::REQUEST_TIMEOUT_DETAIL.into()).into())
        }
        Ok(Err(_)) => Err(bad_request("cannot read the request body (incomplete or malformed)")),
        Err(_) => {
            Err(AppError::PayloadTooLarge(format!("a FHIR request body may be at most {MAX_FHIR_BODY_BYTES} bytes"))
                .into())
        }
    }
}

/// A request body as a FHIR resource; errors name `path` (the resource) or the element.
fn parse_resource(body: &[u8], path: &str) -> FhirResult<Resource> {
    let value: Value = serde_json::from_slice(body).map_err(|e| bad_request(crate::http::json_error_detail(&e)))?;
    if !value.is_object() {
        return Err(bad_element(path, "must be a JSON object"));
    }
    if value.get("resourceType").and_then(Value::as_str).is_none() {
        return Err(bad_element(&format!("{path}.resourceType"), "is required"));
    }
    serde_json::from_value(value).map_err(|e| bad_element(path, crate::http::without_client_values(&e.to_string())))
}

/// The version an `If-Match` header names (`W/"3"`, `"3"` or `3`).
fn if_match_version(value: &str) -> Option<i64> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"').parse().ok()
}

async fn capability_statement(app: web::Data<App>) -> FhirResult<HttpResponse> {
    let base = app.base_url()?.to_owned();
    fhir_response(StatusCode::OK, &fhir::metadata::statement(&base))
}

/// `GET /fhir/r4/.well-known/smart-configuration`: SMART discovery relative to this FHIR base
/// (the document of `GET /.well-known/smart-configuration`; JSON, not a FHIR resource).
async fn smart_configuration(app: web::Data<App>) -> FhirResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::app::smart::configuration(&app)?))
}

async fn patient_read(
    app: web::Data<App>,
    org: Result<OrganizationToken, AppError>,
    path: web::Path<String>,
) -> FhirResult<HttpResponse> {
    let org = authorize_token(org, "Patient", Action::Read)?;
    let patient = fhir::patient::read(&app, org, path.into_inner()).await?;
    fhir_response(StatusCode::OK, &patient)
}

async fn patient_search(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    req: HttpRequest,
) -> FhirResult<HttpResponse> {
    let org = authorize(org, "Patient", Action::Search)?;
    let bundle = fhir::patient::search(&app, org, req.query_string().to_owned()).await?;
    fhir_response(StatusCode::OK, &bundle)
}

/// `GET /fhir/r4/Patient/$summary?identifier=system|value` (the IPS operation) by break-glass:
/// an emergency department, with the reason in `X-Break-Glass-Reason` (`app::break_glass`).
async fn patient_summary(
    app: web::Data<App>,
    org: Result<OrganizationToken, AppError>,
    req: HttpRequest,
) -> FhirResult<HttpResponse> {
    let org = authorize_token(org, "Patient", Action::Read)?;
    let identifier = crate::app::break_glass::summary_params(req.query_string())?;
    let reason = match req.headers().get(crate::app::break_glass::REASON_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| bad_request("X-Break-Glass-Reason: must be visible ASCII (percent-encode other text)"))?
                .to_owned(),
        ),
    };
    let bundle =
        crate::app::break_glass::summary(&app, crate::app::break_glass::Requester::Token(org), identifier, reason)
            .await?;
    fhir_response(StatusCode::OK, &bundle)
}

async fn everything(
    app: web::Data<App>,
    org: Result<OrganizationToken, AppError>,
    path: web::Path<String>,
) -> FhirResult<HttpResponse> {
    let org = authorize_token(org, "Patient", Action::Read)?;
    let body = fhir::everything::everything(&app, org, path.into_inner()).await?;
    Ok(HttpResponse::build(StatusCode::OK).content_type(FHIR_JSON).body(body))
}

async fn audit_event_search(
    app: web::Data<App>,
    device: Result<AuthenticatedDevice, AppError>,
    req: HttpRequest,
) -> FhirResult<HttpResponse> {
    let device = device?;
    let bundle = fhir::audit_event::search(&app, &device, req.query_string()).await?;
    fhir_response(StatusCode::OK, &bundle)
}

async fn search(
    app: web::Data<App>,
    org: Result<OrganizationToken, AppError>,
    path: web::Path<String>,
    req: HttpRequest,
) -> FhirResult<HttpResponse> {
    let resource_type = path.into_inner();
    let allowed = fhir::search::searchable(&resource_type)?;
    let org = authorize_token(org, &resource_type, Action::Search)?;
    let query = req.query_string().to_owned();
    let params = fhir::search::parse(&resource_type, &query, allowed)?;
    let body = fhir::search::search(&app, org, resource_type, query, params).await?;
    Ok(HttpResponse::build(StatusCode::OK).content_type(FHIR_JSON).body(body))
}

async fn read(
    app: web::Data<App>,
    org: Result<OrganizationToken, AppError>,
    path: web::Path<(String, String)>,
) -> FhirResult<HttpResponse> {
    let (resource_type, id) = path.into_inner();
    fhir::read::readable_type(&resource_type)?;
    let org = authorize_token(org, &resource_type, Action::Read)?;
    let (resource, version) = fhir::read::read(&app, org, resource_type, id).await?;
    let mut response = fhir_response(StatusCode::OK, &resource)?;
    let etag = header::HeaderValue::from_str(&fhir::write::version_etag(version))
        .map_err(|e| AppError::Internal(format!("cannot write the ETag: {e}")))?;
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
}

async fn create(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<String>,
    payload: web::Payload,
) -> FhirResult<HttpResponse> {
    let resource_type = path.into_inner();
    fhir::write::creatable(&resource_type)?;
    let org = authorize(org, &resource_type, Action::Create)?;
    let body = read_body(payload).await?;
    let resource = parse_resource(&body, &resource_type)?;
    let created = fhir::write::create(&app, org, resource_type, resource).await?;
    let mut resp = HttpResponse::Created();
    resp.insert_header((header::LOCATION, created.location))
        .insert_header((header::ETAG, fhir::write::version_etag(1)));
    let body = serde_json::to_vec(&created.resource).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(resp.content_type(FHIR_JSON).body(body))
}

async fn transaction(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    payload: web::Payload,
) -> FhirResult<HttpResponse> {
    let org = org?;
    let body = read_body(payload).await?;
    let resource = parse_resource(&body, "Bundle")?;
    let response = fhir::write::transaction(&app, org, resource).await?;
    fhir_response(StatusCode::OK, &response)
}

/// `PUT /fhir/r4/{type}/{id}`: with `If-Match`, a version other than the current one is 409.
async fn update(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> FhirResult<HttpResponse> {
    let (resource_type, id) = path.into_inner();
    fhir::write::updatable(&resource_type)?;
    let org = authorize(org, &resource_type, Action::Update)?;
    let if_match = match req.headers().get(header::IF_MATCH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(if_match_version)
                .ok_or_else(|| bad_request("If-Match must be a version ETag such as W/\"1\""))?,
        ),
    };
    let body = read_body(payload).await?;
    let resource = parse_resource(&body, &resource_type)?;
    let location = format!("{}/fhir/r4/{resource_type}/{id}", app.base_url()?);
    let version = fhir::write::update(&app, org, resource_type, id, if_match, resource).await?;
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::LOCATION, format!("{location}/_history/{version}")));
    Ok(resp.insert_header((header::ETAG, fhir::write::version_etag(version as u64))).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_weak_strong_and_bare_versions() {
        assert_eq!(if_match_version("W/\"3\""), Some(3));
        assert_eq!(if_match_version("\"12\""), Some(12));
        assert_eq!(if_match_version("7"), Some(7));
        assert_eq!(if_match_version("W/\"x\""), None);
    }

    #[test]
    fn malformed_json_and_a_missing_resource_type_are_400_naming_the_place() {
        assert!(matches!(parse_resource(b"{not json", "Observation").unwrap_err().error, AppError::BadRequest(_)));
        let e = parse_resource(b"{\"status\": \"final\"}", "Observation").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("Observation.resourceType"));
        let e = parse_resource(b"[1]", "Observation").unwrap_err();
        assert_eq!(e.element.as_deref(), Some("Observation"));
    }
}
