//! `/accounts/v1` and `/auth/v1`: accounts, device sign-in, pairing, devices,
//! key backup and recovery (the use cases are in `app::accounts`). The
//! unauthenticated endpoints hand the use case the connection's source
//! address for its limits ([`crate::app::auth::limits`]).

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use phr_core::sync::protocol::{
    ChallengeRequest, CreateAccountRequest, JoinRequest, KeyBackupRequest, RecoveryEnrolRequest, RecoveryRequest,
    RefreshRequest, SessionRequest, IDEMPOTENCY_KEY_HEADER,
};

use crate::app::accounts::idempotency::IdempotencyKey;
use crate::app::accounts::{self, recovery};
use crate::app::auth::AuthenticatedDevice;
use crate::app::error::AppError;
use crate::app::App;
use crate::http::auth::source_ip;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_account)
        .service(challenge)
        .service(session)
        .service(refresh)
        .service(pairing_code)
        .service(join)
        .service(account_info)
        .service(list_devices)
        .service(remove_device)
        .service(delete_account)
        .service(put_key_backup)
        .service(fetch_key_backup)
        .service(recovery_challenge)
        .service(recovery_enrol);
}

/// The request's `Idempotency-Key`, if it has one (400 if it is not usable).
fn idempotency_key(http: &HttpRequest) -> Result<Option<IdempotencyKey>, AppError> {
    match http.headers().get(IDEMPOTENCY_KEY_HEADER) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| {
                AppError::BadRequest("the Idempotency-Key header must be 16 to 128 visible ASCII characters".into())
            })?;
            IdempotencyKey::parse(text).map(Some)
        }
    }
}

#[post("/accounts/v1")]
async fn create_account(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<CreateAccountRequest>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&http)?;
    let created = accounts::create_account(&app, source_ip(&http), body.into_inner(), key.as_ref()).await?;
    Ok(HttpResponse::Created().json(created))
}

#[post("/auth/v1/challenge")]
async fn challenge(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<ChallengeRequest>,
) -> Result<HttpResponse, AppError> {
    let issued = accounts::challenge(&app, source_ip(&http), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(issued))
}

#[post("/auth/v1/session")]
async fn session(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<SessionRequest>,
) -> Result<HttpResponse, AppError> {
    let tokens = accounts::session(&app, source_ip(&http), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

#[post("/auth/v1/refresh")]
async fn refresh(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let tokens = accounts::refresh(&app, source_ip(&http), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

#[post("/accounts/v1/pairing-codes")]
async fn pairing_code(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    let code = accounts::pairing_code(&app, device).await?;
    Ok(HttpResponse::Created().json(code))
}

#[post("/accounts/v1/join")]
async fn join(app: web::Data<App>, http: HttpRequest, body: web::Json<JoinRequest>) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&http)?;
    let joined = accounts::join(&app, source_ip(&http), body.into_inner(), key.as_ref()).await?;
    Ok(HttpResponse::Created().json(joined))
}

#[get("/accounts/v1")]
async fn account_info(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::account_info(&app, device).await?))
}

#[get("/accounts/v1/devices")]
async fn list_devices(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::list_devices(&app, device).await?))
}

#[delete("/accounts/v1/devices/{device_id}")]
async fn remove_device(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    accounts::remove_device(&app, device, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[delete("/accounts/v1")]
async fn delete_account(app: web::Data<App>, device: AuthenticatedDevice) -> Result<HttpResponse, AppError> {
    accounts::delete_account(&app, device).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[put("/accounts/v1/key-backup")]
async fn put_key_backup(
    app: web::Data<App>,
    device: AuthenticatedDevice,
    body: web::Json<KeyBackupRequest>,
) -> Result<HttpResponse, AppError> {
    recovery::put_key_backup(&app, device, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[post("/accounts/v1/recovery/key-backup")]
async fn fetch_key_backup(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<RecoveryRequest>,
) -> Result<HttpResponse, AppError> {
    let backup = recovery::fetch_key_backup(&app, source_ip(&http), &body.account_id).await?;
    Ok(HttpResponse::Ok().json(backup))
}

#[post("/accounts/v1/recovery/challenge")]
async fn recovery_challenge(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<RecoveryRequest>,
) -> Result<HttpResponse, AppError> {
    let issued = recovery::challenge(&app, source_ip(&http), &body.account_id).await?;
    Ok(HttpResponse::Ok().json(issued))
}

#[post("/accounts/v1/recovery/enrol")]
async fn recovery_enrol(
    app: web::Data<App>,
    http: HttpRequest,
    body: web::Json<RecoveryEnrolRequest>,
) -> Result<HttpResponse, AppError> {
    let enrolled = recovery::enrol(&app, source_ip(&http), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(enrolled))
}
