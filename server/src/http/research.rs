//! `/research/v1`: the research FHIR base, serving FHIR Bulk Data Access 2.0
//! system-level export for research organizations (the use cases are in
//! `app::research::exports`, the kick-off's parameters in `app::research::kickoff`).
//! Every error here is an OperationOutcome (`http::fhir::outcome`).
//!
//! - `GET /research/v1/metadata` → the CapabilityStatement (the `export` operation)
//! - `GET /research/v1/.well-known/smart-configuration` → SMART discovery (as at the server root)
//! - `GET /research/v1/$export?_type=Patient,Observation&_since=INSTANT&module=newborn` (or `POST` with a
//!   `Parameters` body), `Prefer: respond-async` → `202` + `Content-Location` + an OperationOutcome
//! - `GET /research/v1/exports/{id}` → `202` + `X-Progress` and `Retry-After` while running, `200` manifest when
//!   done, a failed export's reason as a `500` OperationOutcome
//! - `GET /research/v1/exports/{id}/files/{name}` → the file (same token)
//! - `DELETE /research/v1/exports/{id}` → `202`: cancels a running job or deletes a finished one's files
//! - `GET /research/v1/.well-known/smart-configuration`: the SMART configuration (routed in `http/smart.rs`)

use std::fs::File;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;
use serde_json::json;

use crate::app::error::AppError;
use crate::app::fhir::{bad_request, FhirResult};
use crate::app::research::exports::{self, ExportStatus};
use crate::app::research::jobs::ExportFile;
use crate::app::research::kickoff::{self, Preferences};
use crate::app::smart::AuthenticatedOrganization;
use crate::app::App;
use crate::http::fhir::{fhir_response, read_body, FHIR_JSON};

/// The research FHIR base path.
pub const BASE: &str = "/research/v1";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .route("/metadata", web::get().to(capability_statement))
            .route(crate::http::smart::CONFIGURATION_PATH, web::get().to(smart_configuration))
            .route("/$export", web::get().to(kick_off_get))
            .route("/$export", web::post().to(kick_off_post))
            .route("/exports/{id}", web::get().to(status))
            .route("/exports/{id}", web::delete().to(cancel))
            .route("/exports/{id}/files/{name}", web::get().to(download))
            .default_service(web::to(no_such_endpoint)),
    );
}

/// Anything else under the research base: an OperationOutcome (404, or 405 for a method no endpoint here takes).
async fn no_such_endpoint(req: HttpRequest) -> FhirResult<HttpResponse> {
    // The detail never repeats the client's path or method.
    if ![actix_web::http::Method::GET, actix_web::http::Method::POST, actix_web::http::Method::DELETE]
        .contains(req.method())
    {
        return Err(AppError::MethodNotAllowed("this method is not supported; see /research/v1/metadata".into()).into());
    }
    Err(AppError::NotFound("no such research endpoint; see /research/v1/metadata".into()).into())
}

async fn capability_statement(app: web::Data<App>) -> FhirResult<HttpResponse> {
    let base = app.base_url()?.to_owned();
    fhir_response(StatusCode::OK, &crate::app::research::metadata::statement(&base))
}

/// SMART discovery at the research base (SMART App Launch: a FHIR base that requires authorization serves
/// it at `<base>/.well-known/smart-configuration`): the same document as at the server root.
async fn smart_configuration(app: web::Data<App>) -> FhirResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::app::smart::configuration(&app)?))
}

/// The kick-off's `Prefer` header; `respond-async` is required (this base answers only asynchronously).
fn preferences(req: &HttpRequest) -> FhirResult<Preferences> {
    let prefs = Preferences::parse(req.headers().get_all("prefer").filter_map(|v| v.to_str().ok()));
    if !prefs.respond_async {
        return Err(bad_request("the Bulk Data kick-off is asynchronous only: send the header Prefer: respond-async"));
    }
    Ok(prefs)
}

async fn kick_off_get(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    req: HttpRequest,
) -> FhirResult<HttpResponse> {
    let org = org?;
    let prefs = preferences(&req)?;
    let path_and_query = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let request_url = format!("{}{path_and_query}", app.base_url()?);
    let params = kickoff::query_params(req.query_string());
    accepted(&app, &org, &params, prefs.lenient, request_url).await
}

/// `POST $export` with a `Parameters` body (`application/fhir+json` or `application/json`).
async fn kick_off_post(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    req: HttpRequest,
    payload: web::Payload,
) -> FhirResult<HttpResponse> {
    let org = org?;
    let prefs = preferences(&req)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !matches!(media, "application/fhir+json" | "application/json") {
        return Err(AppError::UnsupportedMediaType(
            "a POST kick-off takes a Parameters resource as application/fhir+json".into(),
        )
        .into());
    }
    if !req.query_string().is_empty() {
        return Err(bad_request("a POST kick-off takes its parameters in the Parameters body, not in the query"));
    }
    let body = read_body(payload).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad_request(crate::http::json_error_detail(&e)))?;
    let params = kickoff::parameters_resource(&value)?;
    // The POST's URL carries no parameters (Bulk Data: the manifest's `request` is that URL).
    let request_url = format!("{}{}", app.base_url()?, req.path());
    accepted(&app, &org, &params, prefs.lenient, request_url).await
}

/// Starts the export: `202 Accepted`, `Content-Location` the status URL, and an OperationOutcome
/// (the parameters ignored under `handling=lenient`, or that it was accepted).
async fn accepted(
    app: &App,
    org: &AuthenticatedOrganization,
    params: &[(String, String)],
    lenient: bool,
    request_url: String,
) -> FhirResult<HttpResponse> {
    let (export_id, ignored) = exports::kick_off(app, org, params, lenient, request_url).await?;
    let body = serde_json::to_vec(&kickoff::ignored_outcome(&ignored))
        .map_err(|e| AppError::Internal(format!("cannot encode FHIR JSON: {e}")))?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::CONTENT_LOCATION, format!("{}{BASE}/exports/{export_id}", app.base_url()?)))
        .content_type(FHIR_JSON)
        .body(body))
}

async fn status(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<String>,
) -> FhirResult<HttpResponse> {
    let org = org?;
    match exports::status(&app, &org, path.into_inner()).await? {
        ExportStatus::InProgress { progress, records_done, retry_after_secs } => {
            let phase = if progress < 50 { "pass 1 of 2 (survey)" } else { "pass 2 of 2 (write)" };
            Ok(HttpResponse::Accepted()
                .insert_header(("X-Progress", format!("{progress}% {phase}, {records_done} records")))
                .insert_header(crate::http::error::retry_after(retry_after_secs))
                .finish())
        }
        ExportStatus::Completed { export_id, manifest, expires_at } => {
            let base = format!("{}{BASE}/exports/{export_id}/files", app.base_url()?);
            let entry =
                |f: &ExportFile| json!({"type": f.r#type, "url": format!("{base}/{}", f.name), "count": f.count});
            let is_resource = |f: &&ExportFile| !f.r#type.contains(':') && f.r#type != "report";
            let output: Vec<_> = manifest
                .files
                .iter()
                .filter(is_resource)
                .filter(|f| f.r#type != "OperationOutcome")
                // Bulk Data 2.0: no output item for a type without data (none at all: `output: []`).
                .filter(|f| f.count > 0)
                .map(entry)
                .collect();
            let error: Vec<_> = manifest.files.iter().filter(|f| f.r#type == "OperationOutcome").map(entry).collect();
            let csv: Vec<_> = manifest.files.iter().filter(|f| f.r#type.starts_with("csv:")).map(entry).collect();
            let report = manifest.files.iter().find(|f| f.r#type == "report").map(entry);
            Ok(HttpResponse::Ok().insert_header(("Expires", expires_header(expires_at))).json(json!({
                "transactionTime": manifest.transaction_time,
                "request": manifest.request_url,
                "requiresAccessToken": true,
                "output": output,
                "error": error,
                "extension": {
                    "csv": csv,
                    "deidentificationReport": report,
                    "kReached": manifest.k_reached,
                    "lReached": manifest.l_reached,
                    "security": [crate::app::research::deidentify::rows::pseudonymized_label()],
                },
            })))
        }
    }
}

fn expires_header(expires_at: Option<i64>) -> String {
    expires_at
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

async fn cancel(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<String>,
) -> FhirResult<HttpResponse> {
    let org = org?;
    exports::cancel(&app, &org, path.into_inner()).await?;
    Ok(HttpResponse::Accepted().finish())
}

async fn download(
    app: web::Data<App>,
    org: Result<AuthenticatedOrganization, AppError>,
    path: web::Path<(String, String)>,
) -> FhirResult<HttpResponse> {
    let org = org?;
    let (export_id, name) = path.into_inner();
    let (file, len, content_type) = exports::open_file(&app, &org, export_id, &name).await?;
    Ok(HttpResponse::Ok().content_type(content_type).body(FileBody { file, remaining: len }))
}

/// Streams a file in 64 KiB chunks (memory stays flat whatever its size).
struct FileBody {
    file: File,
    remaining: u64,
}

impl MessageBody for FileBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.remaining)
    }

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = self.remaining.min(64 * 1024) as usize;
        let mut buf = vec![0u8; want];
        let result = match self.file.read(&mut buf) {
            Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "export file shrank")),
            Ok(n) => {
                buf.truncate(n);
                self.remaining -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(e),
        };
        Poll::Ready(Some(result))
    }
}
