//! The `phr-server` command line: parse, set up logging, run the command.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, App, HttpServer};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use crate::auth::{RateLimiter, TokenService};
use crate::config::{Cli, Command, Config, LogFormat, StorageArgs};
use crate::db::{self, meta};
use crate::http::{self, now_ms, AppState};
use crate::keys::KeyStore;
use crate::ServerError;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => {
            Config::from_args(&args).and_then(|config| actix_web::rt::System::new().block_on(serve(config)))
        }
        Command::Migrate(storage) => migrate(&storage),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "phr-server stopped with an error");
            match e {
                ServerError::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PHR_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Opens keys and database (creating both on first run) and serves HTTP until
/// SIGTERM/SIGINT, then lets in-flight requests finish.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    tracing::info!(config = %config, "starting phr-server {}", env!("CARGO_PKG_VERSION"));
    let state = prepare(&config)?;
    let max_body = config.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(http::request_id_header))
            .wrap(http::tracing_middleware())
            .configure(http::configure(state.clone(), max_body))
    })
    .workers(config.workers)
    .shutdown_timeout(config.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(30))
    .disable_signals()
    .bind(config.listen)
    .map_err(|e| ServerError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addrs = server.addrs();
    let server = server.run();
    // Signal handlers are in place before we announce that we listen, so a
    // SIGTERM right after start-up is a graceful stop, never a kill.
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| ServerError::Io(format!("cannot handle SIGTERM: {e}")))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| ServerError::Io(format!("cannot handle SIGINT: {e}")))?;
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        let which = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = which, "shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    for addr in addrs {
        tracing::info!(addr = %addr, "listening");
    }
    server.await.map_err(|e| ServerError::Io(format!("server failed: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

/// Everything `serve` needs before it accepts connections.
pub fn prepare(config: &Config) -> Result<AppState, ServerError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServerError::Io(format!("cannot create data directory {}: {e}", config.data_dir.display())))?;
    let (keys, created) = KeyStore::open_or_create(&config.key_dir)?;
    for kid in &created {
        tracing::info!(key = %kid, dir = %config.key_dir.display(), "created server key");
    }
    let (pool, applied) = db::open(&config.database, config.db_pool_size)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), latest = %applied.last().map(String::as_str).unwrap_or(""), "applied migrations");
    }
    let mut conn = pool.get().map_err(|e| ServerError::Database(e.to_string()))?;
    let instance_id = meta::instance_id(&mut conn, now_ms()).map_err(|e| ServerError::Database(e.to_string()))?;
    let backend = conn.backend_name();
    drop(conn);
    let tokens = TokenService::new(&keys)?;
    let limits = config.limits;
    Ok(AppState {
        pool,
        keys: Arc::new(keys),
        tokens: Arc::new(tokens),
        rate_limiter: Arc::new(RateLimiter::new(limits.rate_limit_per_device, limits.rate_limit_burst)),
        auth_limiter: Arc::new(RateLimiter::new(limits.auth_rate_limit, limits.auth_rate_burst)),
        limits,
        instance_id,
        backend,
    })
}

fn migrate(storage: &StorageArgs) -> Result<(), ServerError> {
    let target = storage.database()?;
    let (_, applied) = db::open(&target, 1)?;
    tracing::info!(database = %target, count = applied.len(), "migrations applied");
    Ok(())
}
