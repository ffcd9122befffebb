//! The research export use cases (FHIR Bulk Data 2.0, served under
//! `/research/v1` by `http::research`): kick-off, status, cancel, and opening
//! a finished export's file. Only research organizations with read scopes for
//! Observation and Patient may use them, and only on their own exports.

use std::fs::File;

use phr_core::consent::Purpose;
use uuid::Uuid;

use super::jobs::{self, ExportRequest, StoredManifest};
use super::kickoff::{self, Ignored};
use crate::app::error::AppError;
use crate::app::fhir::FhirResult;
use crate::app::smart::{Action, AuthenticatedOrganization};
use crate::app::{now_ms, App};
use crate::store::research::{self as store, ExportRow};

/// Most exports one organization may have running at once (429 beyond).
pub const MAX_RUNNING_PER_ORGANIZATION: i64 = 2;

/// How long a research client should wait before asking again about its
/// exports (`Retry-After`): on the status of one still running (202), and
/// on a kick-off refused while [`MAX_RUNNING_PER_ORGANIZATION`] still run
/// (429). The one place this interval is chosen.
pub const POLL_AFTER_SECS: u64 = 1;

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

/// Starts an export for `org` from the kick-off `params` (the query of a
/// GET, or a POST's `Parameters`, checked by [`kickoff::parse`]; `lenient`:
/// `Prefer: handling=lenient`); `request_url` is the kick-off URL as the
/// client sent it (the manifest repeats it). Returns the new export's id and
/// the parameters ignored under `lenient`.
pub async fn kick_off(
    state: &App,
    org: &AuthenticatedOrganization,
    params: &[(String, String)],
    lenient: bool,
    request_url: String,
) -> FhirResult<(String, Vec<Ignored>)> {
    research_client(state, org).await?;
    let checked = kickoff::parse(params, lenient)?;
    let request = ExportRequest {
        modules: checked.modules,
        resources: checked.resources,
        ignored: checked.ignored.clone(),
        since_ms: checked.since_ms,
        request_url,
        k: state.research.k,
    };
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
        claim: None,
        attempts: 0,
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
        return Err(AppError::too_many_requests(
            format!(
                "at most {MAX_RUNNING_PER_ORGANIZATION} exports may run at once: wait for one to finish or cancel it"
            ),
            POLL_AFTER_SECS,
        )
        .into());
    }
    tracing::info!(export_id = %export_id, organization_id = %org.organization_id, "research export requested");
    // Queued: claimed by this node now if it has room, else by the next node that has.
    jobs::wake(state.pool.clone(), state.keys.clone(), state.research.clone());
    Ok((export_id, checked.ignored))
}

/// The caller's own job (another organization's is 404, like an unknown id).
async fn own_job(state: &App, org: &AuthenticatedOrganization, export_id: String) -> Result<ExportRow, AppError> {
    let row = state.db(move |conn| Ok(store::get(conn, &export_id)?)).await?;
    row.filter(|r| r.organization_id == org.organization_id).ok_or_else(|| AppError::NotFound("no such export".into()))
}

/// Where an export stands.
#[derive(Debug)]
pub enum ExportStatus {
    /// Queued or running: percent done, records so far, and when to ask again.
    InProgress { progress: i64, records_done: i64, retry_after_secs: u64 },
    /// Done: its manifest, and when its files will be deleted.
    Completed { export_id: String, manifest: StoredManifest, expires_at: Option<i64> },
}

/// The state of one of `org`'s exports (another organization's is 404, like an unknown id; a
/// failed one is [`AppError::ExportFailed`] with the reason).
pub async fn status(state: &App, org: &AuthenticatedOrganization, export_id: String) -> Result<ExportStatus, AppError> {
    research_client(state, org).await?;
    let job = own_job(state, org, export_id).await?;
    match job.state.as_str() {
        store::QUEUED | store::RUNNING => Ok(ExportStatus::InProgress {
            progress: job.progress,
            records_done: job.records_done,
            retry_after_secs: POLL_AFTER_SECS,
        }),
        store::COMPLETED => Ok(ExportStatus::Completed {
            manifest: stored_manifest(&job)?,
            export_id: job.export_id,
            expires_at: job.expires_at,
        }),
        store::FAILED => Err(AppError::ExportFailed(job.error.unwrap_or_else(|| "the export failed".to_owned()))),
        store::EXPIRED => {
            Err(AppError::NotFound("this export's retention period is over; its files are deleted".into()))
        }
        _ => Err(AppError::NotFound("this export was cancelled".into())),
    }
}

fn stored_manifest(job: &ExportRow) -> Result<StoredManifest, AppError> {
    serde_json::from_str(job.manifest_json.as_deref().unwrap_or_default())
        .map_err(|e| AppError::Internal(format!("stored manifest unreadable: {e}")))
}

/// Cancels a running export or deletes a finished one's files.
pub async fn cancel(state: &App, org: &AuthenticatedOrganization, export_id: String) -> Result<(), AppError> {
    research_client(state, org).await?;
    let job = own_job(state, org, export_id).await?;
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
        tokio::task::spawn_blocking(move || if dir.exists() { std::fs::remove_dir_all(dir) } else { Ok(()) })
            .await
            .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot delete export files: {e}")))?;
    }
    tracing::info!(export_id = %job.export_id, "research export cancelled by the client");
    Ok(())
}

/// A file of one of `org`'s completed exports, opened: the file, its length
/// and its media type. Only names listed in the manifest are served.
pub async fn open_file(
    state: &App,
    org: &AuthenticatedOrganization,
    export_id: String,
    name: &str,
) -> Result<(File, u64, &'static str), AppError> {
    research_client(state, org).await?;
    let job = own_job(state, org, export_id).await?;
    if job.state != store::COMPLETED {
        return Err(AppError::NotFound("this export has no files (not completed, cancelled or expired)".into()));
    }
    let manifest = stored_manifest(&job)?;
    // Only names listed in the manifest: no path ever comes from the request.
    let file =
        manifest.files.iter().find(|f| f.name == name).ok_or_else(|| AppError::NotFound("no such file".into()))?;
    let path = state.research.files_dir(&job).join(&file.name);
    let content_type = if name.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else if name.ends_with(".ndjson") {
        "application/fhir+ndjson"
    } else {
        "application/json"
    };
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<(File, u64)> {
        let f = File::open(path)?;
        let len = f.metadata()?.len();
        Ok((f, len))
    })
    .await
    .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?;
    let (file, len) = opened.map_err(|_| AppError::NotFound("the file is no longer available".into()))?;
    Ok((file, len, content_type))
}
