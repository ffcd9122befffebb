//! `/research/v1`: FHIR Bulk Data style export for research organizations.
//!
//! - `GET /research/v1/$export?_type=newborn,child_checkup&_since=INSTANT` → `202` + `Content-Location`
//! - `GET /research/v1/exports/{id}` → `202` + `X-Progress` while running, `200` manifest when done
//! - `GET /research/v1/exports/{id}/files/{name}` → the file (same token)
//! - `DELETE /research/v1/exports/{id}` → `202`: cancels a running job or deletes a finished one's files

use std::fs::File;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{delete, get, web, HttpRequest, HttpResponse};
use chrono::DateTime;
use phr_core::consent::Purpose;
use phr_core::dataset::RecordKind;
use serde_json::json;
use uuid::Uuid;

use super::jobs::{self, ExportRequest, StoredManifest};
use crate::app::error::AppError;
use crate::app::smart::{Action, AuthenticatedOrganization};
use crate::app::{now_ms, App};
use crate::store::research::{self as store, ExportRow};

/// Most exports one organization may have running at once (429 beyond).
pub const MAX_RUNNING_PER_ORGANIZATION: i64 = 2;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(kick_off).service(status).service(cancel).service(download);
}

/// The caller must be a research organization with a token that reads Observation and Patient.
async fn research_client(state: &App, org: &AuthenticatedOrganization) -> Result<(), AppError> {
    if !(org.scopes.permits("Observation", Action::Read) && org.scopes.permits("Patient", Action::Read)) {
        return Err(AppError::Forbidden(
            "research exports need a token with read scopes for Observation and Patient (e.g. system/*.rs)".into(),
        ));
    }
    let id = org.organization_id.clone();
    let row = state.db(move |conn| Ok(crate::store::organizations::get(conn, &id)?)).await?;
    if !row.is_some_and(|o| o.allows(Purpose::Research)) {
        return Err(AppError::Forbidden("only research organizations may request research exports".into()));
    }
    Ok(())
}

/// Parses the kick-off query: `_type` (module names, comma-separated or repeated), `_since` (an instant).
fn parse_request(query: &str, k: usize, request_url: String) -> Result<ExportRequest, AppError> {
    let mut types: Vec<RecordKind> = Vec::new();
    let mut since_ms = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "_type" => {
                for t in value.split(',').map(str::trim) {
                    let kind = t.parse::<RecordKind>().map_err(|_| {
                        let known: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
                        AppError::BadRequest(format!("_type: an unknown module; known: {}", known.join(", ")))
                    })?;
                    if !types.contains(&kind) {
                        types.push(kind);
                    }
                }
            }
            "_since" => {
                if since_ms.is_some() {
                    return Err(AppError::BadRequest("_since given more than once".into()));
                }
                let at = DateTime::parse_from_rfc3339(&value)
                    .map_err(|_| AppError::BadRequest("_since: not an instant like 2026-01-01T00:00:00Z".to_owned()))?;
                phr_core::dates::check_instant(&at).map_err(|_| {
                    AppError::BadRequest(format!(
                        "_since: must be an instant from {} to {}",
                        phr_core::dates::EARLIEST,
                        phr_core::dates::LATEST
                    ))
                })?;
                since_ms = Some(at.timestamp_millis());
            }
            "_outputFormat" => {
                if !matches!(value.as_ref(), "application/fhir+ndjson" | "application/ndjson" | "ndjson") {
                    return Err(AppError::BadRequest("_outputFormat: only ndjson is supported".to_owned()));
                }
            }
            _ => {
                return Err(AppError::BadRequest(
                    "unknown parameter: the kick-off takes _type, _since and _outputFormat".to_owned(),
                ))
            }
        }
    }
    if types.is_empty() {
        types = RecordKind::ALL.to_vec();
    }
    Ok(ExportRequest { types, since_ms, request_url, k })
}

#[get("/research/v1/$export")]
async fn kick_off(
    state: web::Data<App>,
    org: AuthenticatedOrganization,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    research_client(&state, &org).await?;
    let base = state.base_url()?.to_owned();
    let request_url = format!("{base}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default());
    let request = parse_request(req.query_string(), state.research.k, request_url)?;
    let export_id = Uuid::new_v4().to_string();
    let now = now_ms();
    let row = ExportRow {
        export_id: export_id.clone(),
        organization_id: org.organization_id.clone(),
        state: store::QUEUED.into(),
        request_json: serde_json::to_string(&request).map_err(|e| AppError::Internal(e.to_string()))?,
        progress: 0,
        records_done: 0,
        manifest_json: None,
        error: None,
        created_at: now,
        updated_at: now,
        expires_at: None,
    };
    let inserted = state
        .db(move |conn| {
            crate::store::write_transaction(conn, |c| {
                if store::unfinished_of(c, &row.organization_id)? >= MAX_RUNNING_PER_ORGANIZATION {
                    return Ok(false);
                }
                store::insert(c, &row)?;
                Ok::<_, AppError>(true)
            })
        })
        .await?;
    if !inserted {
        return Err(AppError::TooManyRequests(format!(
            "at most {MAX_RUNNING_PER_ORGANIZATION} exports may run at once: wait for one to finish or cancel it"
        )));
    }
    tracing::info!(export_id = %export_id, organization_id = %org.organization_id, "research export requested");
    jobs::spawn(state.pool.clone(), state.keys.clone(), state.research.clone(), export_id.clone());
    Ok(HttpResponse::Accepted()
        .insert_header(("Content-Location", format!("{base}/research/v1/exports/{export_id}")))
        .json(json!({"export_id": export_id, "state": store::QUEUED})))
}

/// The caller's own job (another organization's is 404, like an unknown id).
async fn own_job(state: &App, org: &AuthenticatedOrganization, export_id: String) -> Result<ExportRow, AppError> {
    let row = state.db(move |conn| Ok(store::get(conn, &export_id)?)).await?;
    row.filter(|r| r.organization_id == org.organization_id).ok_or_else(|| AppError::NotFound("no such export".into()))
}

fn failed_response(detail: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).content_type("application/problem+json").json(json!({
        "type": "about:blank",
        "title": "Export failed",
        "status": 500,
        "detail": detail,
    }))
}

#[get("/research/v1/exports/{id}")]
async fn status(
    state: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    research_client(&state, &org).await?;
    let job = own_job(&state, &org, path.into_inner()).await?;
    match job.state.as_str() {
        store::QUEUED | store::RUNNING => {
            let phase = if job.progress < 50 { "pass 1 of 2 (survey)" } else { "pass 2 of 2 (write)" };
            Ok(HttpResponse::Accepted()
                .insert_header(("X-Progress", format!("{}% {phase}, {} records", job.progress, job.records_done)))
                .insert_header(("Retry-After", "1"))
                .finish())
        }
        store::COMPLETED => {
            let manifest: StoredManifest = serde_json::from_str(job.manifest_json.as_deref().unwrap_or_default())
                .map_err(|e| AppError::Internal(format!("stored manifest unreadable: {e}")))?;
            let base = format!("{}/research/v1/exports/{}/files", state.base_url()?, job.export_id);
            let entry =
                |f: &jobs::ExportFile| json!({"type": f.r#type, "url": format!("{base}/{}", f.name), "count": f.count});
            let output: Vec<_> =
                manifest.files.iter().filter(|f| !f.r#type.contains(':') && f.r#type != "report").map(entry).collect();
            let csv: Vec<_> = manifest.files.iter().filter(|f| f.r#type.starts_with("csv:")).map(entry).collect();
            let report = manifest.files.iter().find(|f| f.r#type == "report").map(entry);
            Ok(HttpResponse::Ok().insert_header(("Expires", expires_header(job.expires_at))).json(json!({
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
                    "security": [super::deidentify::rows::pseudonymized_label()],
                },
            })))
        }
        store::FAILED => Ok(failed_response(job.error.as_deref().unwrap_or("the export failed"))),
        store::EXPIRED => {
            Err(AppError::NotFound("this export's retention period is over; its files are deleted".into()))
        }
        _ => Err(AppError::NotFound("this export was cancelled".into())),
    }
}

fn expires_header(expires_at: Option<i64>) -> String {
    expires_at
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

#[delete("/research/v1/exports/{id}")]
async fn cancel(
    state: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    research_client(&state, &org).await?;
    let job = own_job(&state, &org, path.into_inner()).await?;
    let id = job.export_id.clone();
    let from = [store::QUEUED, store::RUNNING, store::COMPLETED, store::FAILED];
    let changed =
        state.db(move |conn| Ok(store::transition(conn, &id, &from, store::CANCELLED, None, now_ms())?)).await?;
    if !changed {
        return Err(AppError::NotFound("this export was already cancelled or expired".into()));
    }
    // A running job notices the cancel at its next progress write and removes its own files.
    if job.state != store::RUNNING && job.state != store::QUEUED {
        let dir = state.research.dir(&job.export_id);
        web::block(move || if dir.exists() { std::fs::remove_dir_all(dir) } else { Ok(()) })
            .await
            .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot delete export files: {e}")))?;
    }
    tracing::info!(export_id = %job.export_id, "research export cancelled by the client");
    Ok(HttpResponse::Accepted().finish())
}

#[get("/research/v1/exports/{id}/files/{name}")]
async fn download(
    state: web::Data<App>,
    org: AuthenticatedOrganization,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    research_client(&state, &org).await?;
    let (export_id, name) = path.into_inner();
    let job = own_job(&state, &org, export_id).await?;
    if job.state != store::COMPLETED {
        return Err(AppError::NotFound("this export has no files (not completed, cancelled or expired)".into()));
    }
    let manifest: StoredManifest = serde_json::from_str(job.manifest_json.as_deref().unwrap_or_default())
        .map_err(|e| AppError::Internal(format!("stored manifest unreadable: {e}")))?;
    // Only names listed in the manifest: no path ever comes from the request.
    let file =
        manifest.files.iter().find(|f| f.name == name).ok_or_else(|| AppError::NotFound("no such file".into()))?;
    let path = state.research.dir(&job.export_id).join(&file.name);
    let content_type = if name.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else if name.ends_with(".ndjson") {
        "application/fhir+ndjson"
    } else {
        "application/json"
    };
    let opened = web::block(move || -> std::io::Result<(File, u64)> {
        let f = File::open(path)?;
        let len = f.metadata()?.len();
        Ok((f, len))
    })
    .await
    .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
    let (file, len) = opened.map_err(|_| AppError::NotFound("the file is no longer available".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kick_off_parameters_are_parsed_and_bad_ones_refused() {
        let r = parse_request("_type=newborn,child_checkup&_since=2026-01-01T00:00:00Z", 5, "u".into()).unwrap();
        assert_eq!(r.types, vec![RecordKind::Newborn, RecordKind::ChildCheckup]);
        assert_eq!(r.since_ms, Some(1_767_225_600_000));
        assert_eq!(parse_request("", 5, "u".into()).unwrap().types, RecordKind::ALL.to_vec());
        for bad in ["_type=Patient", "_since=yesterday", "_since=2026-01-01", "foo=1", "_outputFormat=text/csv"] {
            let err = parse_request(bad, 5, "u".into()).unwrap_err();
            assert!(matches!(err, AppError::BadRequest(_)), "{bad}: {err:?}");
        }
    }
}
