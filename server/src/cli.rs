//! The `phr-server` command line: parse, set up logging, run the command.
//!
//! Admin commands (`org …`, `audit verify`) print their results to stdout
//! and their errors to stderr, and exit 0 on success, 1 when refused or
//! failed (duplicate id, broken audit chain, database down) and 2 on bad
//! input (clap's own usage errors, or values clap cannot check).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_service::{fn_service, map_config, ServiceFactoryExt as _};
use actix_web::dev::AppConfig;
use actix_web::{middleware, App as ActixApp};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use crate::app::{audit, organizations};
use crate::app::{now_ms, App};
use crate::config::{
    AuditCommand, AuditOperatorArgs, Cli, Command, Config, LogFormat, OrgAddArgs, OrgCommand, OrgDisableArgs,
    OrgListArgs, StaffCommand, StaffDisableArgs, StaffInviteArgs, StaffListArgs, StorageArgs,
};
use crate::http;
use crate::keys::KeyStore;
use crate::store;
use crate::ServerError;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Before anything is created: every file and directory of every command is owner-only.
    crate::files::restrict_umask();
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => {
            tune_allocator();
            Config::from_args(&args).and_then(|config| actix_web::rt::System::new().block_on(serve(config)))
        }
        Command::Migrate(storage) => migrate(&storage),
        Command::Org(cmd) => return admin_exit(org(cmd)),
        Command::Audit(AuditCommand::Verify(storage)) => return admin_exit(audit_verify(&storage)),
        Command::Audit(AuditCommand::Operator(args)) => return admin_exit(audit_operator(&args)),
        Command::Staff(cmd) => return admin_exit(staff(cmd)),
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

/// glibc's malloc defaults suit a long-running server poorly: up to 8 arenas
/// per core keep what each thread freed, and the dynamic mmap threshold soon
/// puts the multi-megabyte pull pages and push bodies on those heaps, where
/// they fragment them. Two arenas, and blocks of 128 KiB and more in their own
/// mappings (returned to the OS when freed), halve the peak RSS under
/// `bench-sync`. `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` still win if set.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PHR_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        // A closed stderr (log collector restarted, parent gone) must never
        // take the server down: drop the line instead of reporting the
        // failure with eprintln!, which panics on a closed stderr.
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Descriptors kept free of connections: database pool, SQLite and research
/// files, log output, listeners, and headroom for health checks.
const RESERVED_FDS: u64 = 256;

/// Raises the soft open-file limit to the hard limit (connections are
/// descriptors) and logs both; returns the soft limit now in force.
fn raise_open_file_limit() -> Option<u64> {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read the open-file limit");
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
    let (soft, hard) = (rl.rlim_cur as u64, rl.rlim_max as u64);
    if soft < hard {
        rl.rlim_cur = rl.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } != 0 {
            let error = std::io::Error::last_os_error();
            tracing::warn!(soft, hard, error = %error, "cannot raise the open-file limit");
            return Some(soft);
        }
    }
    tracing::info!(soft_before = soft, hard, soft = hard.max(soft), "open-file limit");
    Some(hard.max(soft))
}

/// Opens keys and database (creating both on first run) and serves HTTP until
/// SIGTERM/SIGINT, then lets in-flight requests finish.
///
/// actix-server and actix-http are used directly rather than through
/// `HttpServer` so that every accepted connection is wrapped in
/// [`http::conn::Guarded`] (problem answers for unparsable requests, head
/// deadlines, the connection cap).
pub async fn serve(config: Config) -> Result<(), ServerError> {
    tracing::info!(config = %config, "starting phr-server {}", env!("CARGO_PKG_VERSION"));
    let fd_limit = raise_open_file_limit();
    let cap = config.limits.max_connections.min(fd_limit.map_or(u64::MAX, |l| l.saturating_sub(RESERVED_FDS)));
    let cap = usize::try_from(cap.max(16)).unwrap_or(usize::MAX);
    tracing::info!(max_connections = cap, "connection cap");
    let state = prepare(&config)?;
    let (research_pool, research) = (state.pool.clone(), state.research.clone());
    let max_body = config.max_body_bytes;
    let state_base_url = Arc::clone(&state.public_base_url);
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| ServerError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr().map_err(|e| ServerError::Io(format!("cannot read the bound address: {e}")))?;
    // Without --public-base-url, clients reach us at the bound address
    // (which `--listen …:0` only knows now). Set once; a configured URL wins.
    let _ = state_base_url.set(format!("http://{addr}"));
    let connections = http::conn::Connections::new(cap);
    let request_timeout = Duration::from_secs(config.limits.request_timeout_secs);
    let server = actix_server::Server::build()
        .workers(config.workers)
        // Our cap (above) decides; actix's own per-worker cap would stop
        // accepting altogether, health checks included.
        .max_concurrent_connections(cap.saturating_add(RESERVED_FDS as usize))
        .shutdown_timeout(config.shutdown_timeout_secs)
        .disable_signals()
        .listen("phr-http", listener, move || {
            let state = state.clone();
            let connections = Arc::clone(&connections);
            let app = ActixApp::new()
                .wrap(middleware::from_fn(http::deadline::guard))
                .wrap(middleware::from_fn(http::request_id_header))
                .wrap(http::tracing_middleware())
                .configure(http::configure(state, max_body));
            let app = actix_service::IntoServiceFactory::into_factory(app).map_err(|e| e.error_response());
            let h1 = actix_http::HttpService::build()
                // Heads have our deadline (conn.rs), which answers with a problem document.
                .client_request_timeout(Duration::ZERO)
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(addr)
                .h1(map_config(app, move |_| AppConfig::default()));
            // One per worker: the shadow codecs share its date clock.
            let shadow_config = actix_http::ServiceConfig::default();
            fn_service(move |io: actix_web::rt::net::TcpStream| {
                let connections = Arc::clone(&connections);
                let shadow_config = shadow_config.clone();
                async move {
                    let peer = io.peer_addr().ok();
                    let _ = io.set_nodelay(true);
                    Ok::<_, actix_http::error::DispatchError>((
                        http::conn::Guarded::new(io, connections, request_timeout, &shadow_config),
                        peer,
                    ))
                }
            })
            .and_then(h1)
        })
        .map_err(|e| ServerError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addrs = vec![addr];
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
    // Research exports running here cannot finish now: queue them again for another node.
    match crate::app::research::jobs::release(&research_pool, &research) {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "research exports running here were queued again for another node"),
        Err(e) => tracing::warn!(error = %e, "cannot queue the research exports running here again"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Everything `serve` needs before it accepts connections.
pub fn prepare(config: &Config) -> Result<App, ServerError> {
    crate::files::create_private_dir(&config.data_dir)
        .map_err(|e| ServerError::Io(format!("cannot create data directory {}: {e}", config.data_dir.display())))?;
    let database_files = match &config.database {
        store::DatabaseTarget::Sqlite(path) => crate::files::sqlite_files(path),
        store::DatabaseTarget::Postgres(_) => Vec::new(),
    };
    crate::files::check_permissions(&config.data_dir, &database_files, config.fix_permissions)?;
    let (keys, created) = KeyStore::open_or_create(&config.key_dir)?;
    for kid in &created {
        tracing::info!(key = %kid, dir = %config.key_dir.display(), "created server key");
    }
    let (pool, applied) = store::open_configured(
        &config.database,
        config.db_pool_size,
        &config.migrations,
        config.pg_prepared_statements,
    )?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), latest = %applied.last().map(String::as_str).unwrap_or(""), "applied migrations");
    }
    let mut app = App::new(pool, keys, config.limits, &config.data_dir, config.public_base_url.clone(), &config.push)?;
    app.trusted_proxies = Arc::from(config.trusted_proxies.clone());
    let recovered = crate::app::research::jobs::recover(&app.pool, &app.research)
        .map_err(|e| ServerError::Database(e.to_string()))?;
    if recovered > 0 {
        tracing::warn!(count = recovered, "research exports cut off by a stopped server were queued again (or failed)");
    }
    crate::app::research::jobs::start_sweeper(app.pool.clone(), app.keys.clone(), app.research.clone());
    store::start_sqlite_checkpointer(app.pool.clone());
    Ok(app)
}

fn migrate(storage: &StorageArgs) -> Result<(), ServerError> {
    let target = storage.database()?;
    let (_, applied) = store::open_configured(&target, 1, &storage.migrations(), storage.pg_prepared_statements)?;
    tracing::info!(database = %target, count = applied.len(), "migrations applied");
    Ok(())
}

/// Why an admin command did not succeed: the message for the operator and the exit code.
#[derive(Debug)]
struct AdminError {
    code: u8,
    message: String,
}

impl AdminError {
    /// Bad input (exit 2).
    fn usage(message: impl Into<String>) -> AdminError {
        AdminError { code: 2, message: message.into() }
    }

    /// Refused or failed (exit 1).
    fn failed(message: impl Into<String>) -> AdminError {
        AdminError { code: 1, message: message.into() }
    }
}

impl From<ServerError> for AdminError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Config(_) => AdminError::usage(e.to_string()),
            _ => AdminError::failed(e.to_string()),
        }
    }
}

impl From<crate::store::DbError> for AdminError {
    fn from(e: crate::store::DbError) -> Self {
        AdminError::failed(format!("database error: {e}"))
    }
}

fn admin_exit(result: Result<(), AdminError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phr-server: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Opens the database for an admin command (applying pending migrations).
fn admin_connection(storage: &StorageArgs) -> Result<crate::store::PooledDb, AdminError> {
    let target = storage.database()?;
    let (pool, _) = store::open_configured(&target, 1, &storage.migrations(), storage.pg_prepared_statements)?;
    pool.get().map_err(|e| AdminError::failed(format!("cannot connect to {target}: {e}")))
}

fn org(cmd: OrgCommand) -> Result<(), AdminError> {
    match cmd {
        OrgCommand::Add(args) => org_add(&args),
        OrgCommand::List(args) => org_list(&args),
        OrgCommand::Disable(args) => org_disable(&args),
    }
}

fn org_add(args: &OrgAddArgs) -> Result<(), AdminError> {
    let jwks = match &args.jwks_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| AdminError::usage(format!("cannot read the JWKS file {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let purposes: Vec<String> = args.purposes.iter().map(|p| p.as_str().to_owned()).collect();
    let new =
        organizations::check_new_organization(&args.id, &args.name, args.kind.as_str(), &purposes, jwks.as_deref())
            .map_err(|problems| AdminError::usage(format!("invalid organization: {}", problems.join("; "))))?;
    let new = match &args.jwks_url {
        Some(url) => organizations::with_jwks_url(new, url)
            .map_err(|why| AdminError::usage(format!("invalid organization: {why}")))?,
        None => new,
    };
    let mut conn = admin_connection(&args.storage)?;
    if !crate::store::organizations::insert(&mut conn, &new, now_ms())? {
        return Err(AdminError::failed(format!(
            "an organization with id {:?} is already registered; choose another id",
            new.id.as_str()
        )));
    }
    let purposes: Vec<&str> = new.purposes.iter().map(|p| p.as_str()).collect();
    println!("added organization {} ({}, {}): {}", new.id, new.kind, purposes.join(","), new.name);
    Ok(())
}

fn org_list(args: &OrgListArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(&args.storage)?;
    let rows = crate::store::organizations::list(&mut conn, true)?;
    if args.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|o| {
                serde_json::json!({
                    "organization_id": o.organization_id,
                    "name": o.name,
                    "kind": o.kind,
                    "purposes": o.purposes().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "has_jwks": o.jwks.is_some(),
                    "jwks_url": o.jwks_url,
                    "created_at": o.created_at,
                    "disabled_at": o.disabled_at,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| AdminError::failed(e.to_string()))?;
        println!("{text}");
    } else {
        for o in &rows {
            let status = if o.is_enabled() { "enabled" } else { "disabled" };
            println!("{}\t{}\t{}\t{}\t{}", o.organization_id, o.kind, o.purposes, status, o.name);
        }
    }
    Ok(())
}

fn org_disable(args: &OrgDisableArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(&args.storage)?;
    if !crate::store::organizations::disable(&mut conn, &args.id, now_ms())? {
        return Err(AdminError::failed(format!("no organization with id {:?} is registered", args.id)));
    }
    println!("disabled organization {}", args.id);
    Ok(())
}

fn staff(cmd: StaffCommand) -> Result<(), AdminError> {
    match cmd {
        StaffCommand::Invite(args) => staff_invite(&args),
        StaffCommand::List(args) => staff_list(&args),
        StaffCommand::Disable(args) => staff_disable(&args),
    }
}

/// A refusal of the portal's use cases as an admin error: bad input exits 2, the rest 1.
fn portal_refused(e: crate::app::error::AppError) -> AdminError {
    match e {
        crate::app::error::AppError::Unprocessable { .. } | crate::app::error::AppError::BadRequest(_) => {
            AdminError::usage(e.to_string())
        }
        other => AdminError::failed(other.to_string()),
    }
}

fn staff_invite(args: &StaffInviteArgs) -> Result<(), AdminError> {
    let base = args.public_base_url.as_deref().map(crate::config::check_public_base_url).transpose()?;
    let valid_ms = match args.valid_minutes {
        Some(m) => m.saturating_mul(60_000),
        None => args.valid_hours.saturating_mul(3_600_000),
    };
    let valid_ms = i64::try_from(valid_ms).unwrap_or(i64::MAX);
    let mut conn = admin_connection(&args.storage)?;
    let issued = crate::app::portal::invite(
        &mut conn,
        crate::app::portal::OPERATOR_ACTOR,
        &args.org,
        &args.name,
        args.admin,
        valid_ms,
    )
    .map_err(portal_refused)?;
    let expires =
        chrono::DateTime::from_timestamp_millis(issued.expires_at).map(|t| t.to_rfc3339()).unwrap_or_default();
    let what = if issued.created { "added" } else { "invited" };
    println!("{what} staff {} ({}) of {}: {}", issued.staff.staff_id, issued.staff.role, args.org, issued.staff.name);
    println!("invite valid until {expires}, once (the link is shown only now):");
    match base {
        Some(base) => println!("{base}/portal/invite/{}", issued.token),
        None => println!(
            "http://localhost:PORT/portal/invite/{}  (PORT: the server's; pass --public-base-url for the full link)",
            issued.token
        ),
    }
    Ok(())
}

fn staff_list(args: &StaffListArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(&args.storage)?;
    let rows = crate::app::portal::list(&mut conn, &args.org).map_err(portal_refused)?;
    if args.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|s| {
                serde_json::json!({
                    "staff_id": s.staff_id, "organization_id": s.organization_id, "name": s.name,
                    "role": s.role, "created_at": s.created_at, "disabled_at": s.disabled_at,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| AdminError::failed(e.to_string()))?;
        println!("{text}");
    } else {
        for s in &rows {
            let status = if s.disabled_at.is_none() { "enabled" } else { "disabled" };
            println!("{}\t{}\t{}\t{}", s.staff_id, s.role, status, s.name);
        }
    }
    Ok(())
}

fn staff_disable(args: &StaffDisableArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(&args.storage)?;
    crate::app::portal::disable(&mut conn, crate::app::portal::OPERATOR_ACTOR, &args.id).map_err(portal_refused)?;
    println!("disabled staff {} (their sessions have ended)", args.id);
    Ok(())
}

fn audit_operator(args: &AuditOperatorArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(&args.storage)?;
    for e in audit::operator::events(&mut conn, args.since, args.limit)? {
        let line = serde_json::json!({
            "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
            "target": e.target, "outcome": e.outcome, "hash": e.hash,
        });
        println!("{line}");
    }
    Ok(())
}

fn audit_verify(storage: &StorageArgs) -> Result<(), AdminError> {
    let mut conn = admin_connection(storage)?;
    let families = audit::verify_all(&mut conn);
    let operator = audit::operator::verify(&mut conn);
    match (families, operator) {
        (Ok((accounts, events)), Ok(operator_events)) => {
            println!("audit log OK: {accounts} accounts, {events} events; operator log OK: {operator_events} events");
            Ok(())
        }
        (families, operator) => {
            let breaks: Vec<String> =
                families.err().into_iter().flatten().chain(operator.err().into_iter().flatten()).collect();
            println!("audit log BROKEN: {} problem(s)", breaks.len());
            for b in &breaks {
                println!("  {b}");
            }
            Err(AdminError::failed(format!("audit log verification failed: {} problem(s)", breaks.len())))
        }
    }
}
