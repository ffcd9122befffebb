//! The use cases of the server, without HTTP: accounts, sync, consent, FHIR
//! reads and writes, research exports, the audit log.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod break_glass;
pub mod consent;
pub mod emergency_card;
pub mod error;
pub mod fhir;
pub mod ids;
pub mod notices;
pub mod notify;
pub mod organizations;
pub mod portal;
pub mod records;
pub mod research;
pub mod smart;
pub mod sync;

use std::sync::{Arc, OnceLock};

use crate::app::auth::{AuthLimiter, RateLimiter, TokenService};
use crate::config::Limits;
use crate::keys::KeyStore;
use crate::store::DbPool;
use error::{AppError, ServerError};

/// What every handler can reach.
#[derive(Clone)]
pub struct App {
    pub pool: DbPool,
    pub keys: Arc<KeyStore>,
    pub tokens: Arc<TokenService>,
    /// Requests per device (authenticated endpoints).
    pub rate_limiter: Arc<RateLimiter>,
    /// The unauthenticated endpoints: refusals per source address, work per
    /// known subject and address, guesses per account ([`crate::app::auth::limits`]).
    pub auth_limiter: Arc<AuthLimiter>,
    /// Counts of repeated unauthenticated events (key backup fetches,
    /// recovery challenges) so the audit log gets a counted entry, not one each.
    pub audit_repeats: Arc<crate::app::audit::Repeats>,
    pub limits: Limits,
    /// The public base URL (no trailing slash): from `--public-base-url`, or
    /// set from the bound address once the server listens.
    pub public_base_url: Arc<OnceLock<String>>,
    pub instance_id: String,
    pub backend: &'static str,
    /// Research export files, k and retention.
    pub research: Arc<crate::app::research::ResearchService>,
    /// Answers to repeated FHIR searches ([`crate::app::fhir::cache`]).
    pub fhir_search_cache: Arc<crate::app::fhir::cache::SearchCache>,
    /// JWKS fetched from organizations' registered JWKS URLs ([`crate::app::smart::jwks_url`]).
    pub jwks_urls: Arc<crate::app::smart::jwks_url::JwksUrlCache>,
    /// What each organization may see while no grant changes ([`crate::app::fhir::VisibleCache`]).
    pub fhir_visible: Arc<crate::app::fhir::VisibleCache>,
    /// FHIR reads' audit events, committed together ([`crate::app::fhir::ReadAuditCommit`]).
    pub fhir_read_audits: Arc<crate::app::fhir::ReadAuditCommit>,
    /// One permit per pooled connection ([`App::db`]).
    pub db_slots: Arc<tokio::sync::Semaphore>,
    /// Web Push to the family's phones ([`notify`]).
    pub push: Arc<notify::WebPush>,
    /// The care-team portal's WebAuthn relying party and session limits ([`portal`]).
    pub portal: Arc<portal::Portal>,
    /// The load balancers whose `X-Forwarded-For` is believed (`--trusted-proxies`; empty by
    /// default: only the connection's peer counts). Set by `serve` after [`App::new`].
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

/// `n` bytes from the system's secure random generator.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, AppError> {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; n];
    ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| AppError::Internal("system RNG failed".into()))?;
    Ok(bytes)
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl App {
    /// Whether the database answers now (`/healthz`); `Unavailable` when it does not.
    pub async fn check_database(&self) -> Result<(), AppError> {
        self.db(|conn| {
            crate::store::meta::ping(conn).map_err(|e| AppError::Unavailable(format!("database check failed: {e}")))
        })
        .await
    }

    /// The one place an `App` is built (by `serve` and by tests, without
    /// actix): reads the instance id, makes the token service, the rate
    /// limiters, the research service and the FHIR search cache. Starts no
    /// thread; `public_base_url` `None` is learnt once the server listens.
    pub fn new(
        pool: DbPool,
        keys: KeyStore,
        limits: Limits,
        data_dir: &std::path::Path,
        public_base_url: Option<String>,
        push: &crate::config::PushArgs,
    ) -> Result<App, ServerError> {
        let push = Arc::new(notify::WebPush::open_or_create(keys.dir(), push)?);
        let mut conn = pool.get().map_err(|e| ServerError::Database(e.to_string()))?;
        let instance_id =
            crate::store::meta::instance_id(&mut conn, now_ms()).map_err(|e| ServerError::Database(e.to_string()))?;
        let backend = conn.backend_name();
        drop(conn);
        let db_slots = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        let tokens = TokenService::new(&keys)?;
        let research =
            Arc::new(research::ResearchService::new(data_dir, limits.research_k, limits.research_retention_secs));
        let base_url = OnceLock::new();
        if let Some(url) = public_base_url {
            let _ = base_url.set(url);
        }
        Ok(App {
            push,
            pool,
            keys: Arc::new(keys),
            tokens: Arc::new(tokens),
            rate_limiter: Arc::new(RateLimiter::new(limits.rate_limit_per_device, limits.rate_limit_burst)),
            auth_limiter: Arc::new(AuthLimiter::new(limits.auth_rate_limit, limits.auth_rate_burst)),
            audit_repeats: Arc::new(audit::Repeats::new(std::time::Duration::from_secs(3600))),
            limits,
            public_base_url: Arc::new(base_url),
            instance_id,
            backend,
            research,
            fhir_search_cache: Arc::new(fhir::cache::SearchCache::new(
                limits.fhir_search_cache_mb.saturating_mul(1 << 20),
                std::time::Duration::from_secs(limits.fhir_search_cache_secs),
            )),
            jwks_urls: Arc::new(crate::app::smart::jwks_url::JwksUrlCache::new()),
            fhir_visible: Arc::default(),
            fhir_read_audits: Arc::default(),
            db_slots,
            portal: Arc::new(portal::Portal::new(&limits)),
            trusted_proxies: Arc::from(Vec::new()),
        })
    }

    /// The public base URL, e.g. `https://phr.example.org` (no trailing slash).
    pub fn base_url(&self) -> Result<&str, AppError> {
        self.public_base_url
            .get()
            .map(String::as_str)
            .ok_or_else(|| AppError::Internal("public base URL not known yet".into()))
    }

    /// Runs blocking database work on the blocking thread pool, on a pooled connection.
    ///
    /// At most as many closures run at once as the pool has connections: the others wait here,
    /// as tasks, in arrival order. (Handed to the blocking pool at once, they were threads
    /// parked in the connection pool, woken together at each release: a fifth of the CPU of a
    /// loaded server went to those wake-ups.)
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut crate::store::Conn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.db_slots)
            .acquire_owned()
            .await
            .map_err(|_| AppError::Unavailable("the server is shutting down".into()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get()?;
            let result = f(&mut conn);
            if matches!(result, Err(AppError::Internal(_))) {
                conn.check_after_failure();
            }
            result
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
    }
}
