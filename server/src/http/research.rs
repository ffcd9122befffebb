//! `/research/v1`: FHIR Bulk Data style export for research organizations
//! (the use cases are in `app::research::exports`).
//!
//! - `GET /research/v1/$export?_type=newborn,child_checkup&_since=INSTANT` → `202` + `Content-Location`
//! - `GET /research/v1/exports/{id}` → `202` + `X-Progress` and `Retry-After` while running, `200` manifest when done
//! - `GET /research/v1/exports/{id}/files/{name}` → the file (same token)
//! - `DELETE /research/v1/exports/{id}` → `202`: cancels a running job or deletes a finished one's files
//! - `GET /research/v1/.well-known/smart-configuration`: the SMART configuration (routed in `http/smart.rs`)

use std::fs::File;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, web, HttpRequest, HttpResponse};
use chrono::DateTime;
use serde_json::json;

use crate::app::error::AppError;
use crate::app::research::exports::{self, ExportStatus};
use crate::app::research::jobs::ExportFile;
use crate::app::smart::AuthenticatedOrganization;
use crate::app::App;
use crate::store::research as store;

/// The research API's base URL path (Bulk Data clients discover SMART relative to it).
pub const BASE_PATH: &str = "/research/v1";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(kick_off).service(status).service(cancel).service(download);
}

#[get("/research/v1/$export")]
async fn kick_off(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let path_and_query = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let export_id = exports::kick_off(&app, &org, req.query_string(), path_and_query).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Content-Location", format!("{}/research/v1/exports/{export_id}", app.base_url()?)))
        .json(json!({"export_id": export_id, "state": store::QUEUED})))
}

#[get("/research/v1/exports/{id}")]
async fn status(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match exports::status(&app, &org, path.into_inner()).await? {
        ExportStatus::InProgress { progress, records_done, retry_after_secs } => {
            let phase = if progress < 50 { "pass 1 of 2 (survey)" } else { "pass 2 of 2 (write)" };
            Ok(HttpResponse::Accepted()
                .insert_header(("X-Progress", format!("{progress}% {phase}, {records_done} records")))
                .insert_header(crate::http::error::retry_after(retry_after_secs))
                .finish())
        }
        ExportStatus::Completed { export_id, manifest, expires_at } => {
            let base = format!("{}/research/v1/exports/{export_id}/files", app.base_url()?);
            let entry =
                |f: &ExportFile| json!({"type": f.r#type, "url": format!("{base}/{}", f.name), "count": f.count});
            let output: Vec<_> =
                manifest.files.iter().filter(|f| !f.r#type.contains(':') && f.r#type != "report").map(entry).collect();
            let csv: Vec<_> = manifest.files.iter().filter(|f| f.r#type.starts_with("csv:")).map(entry).collect();
            let report = manifest.files.iter().find(|f| f.r#type == "report").map(entry);
            Ok(HttpResponse::Ok().insert_header(("Expires", expires_header(expires_at))).json(json!({
                "transactionTime": manifest.transaction_time,
                "request": manifest.request_url,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
                "extension": {
                    "csv": csv,
                    "deidentificationReport": report,
                    "kReached": manifest.k_reached,
                    "lReached": manifest.l_reached,
                    "security": [crate::app::research::deidentify::rows::pseudonymized_label()],
                },
            })))
        }
        ExportStatus::Failed { detail } => Ok(failed_response(&detail)),
    }
}

fn failed_response(detail: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).content_type("application/problem+json").json(json!({
        "type": "about:blank",
        "title": "Export failed",
        "status": 500,
        "detail": detail,
    }))
}

fn expires_header(expires_at: Option<i64>) -> String {
    expires_at
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

#[delete("/research/v1/exports/{id}")]
async fn cancel(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    exports::cancel(&app, &org, path.into_inner()).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[get("/research/v1/exports/{id}/files/{name}")]
async fn download(
    app: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
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
