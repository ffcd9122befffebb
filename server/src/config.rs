//! Configuration: one struct per command, filled from flags and `PHR_*`
//! environment variables by clap, and printed at start without secrets.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::{DatabaseTarget, PgPreparedStatements};
use crate::ServerError;

/// `phr-server`: the maternal & child PHR sync service.
#[derive(Debug, Parser)]
#[command(name = "phr-server", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log output format.
    #[arg(long, env = "PHR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (creates the database and keys on first run).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(StorageArgs),
    /// Manage the organizations families can grant access to.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the staff of an organization who use the care-team portal (`docs/portal.md`).
    #[command(subcommand)]
    Staff(StaffCommand),
}

/// `phr-server staff …`: staff of registered organizations, who sign in to the care-team
/// portal with passkeys. Each command applies pending migrations first.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Issue a single-use invite link to register a passkey (creating the staff member if the
    /// organization has no enabled one of that name). The link is printed once.
    Invite(StaffInviteArgs),
    /// List the organization's staff, disabled ones included.
    List(StaffListArgs),
    /// Disable a staff member: they cannot sign in any more and their sessions end at once.
    Disable(StaffDisableArgs),
}

#[derive(Debug, Clone, Args)]
pub struct StaffInviteArgs {
    /// The organization id (registered with `phr-server org add`).
    #[arg(long)]
    pub org: String,
    /// The staff member's name as colleagues and the audit log show it (1-200 characters).
    #[arg(long)]
    pub name: String,
    /// Make the staff member an admin of the organization (otherwise a member).
    #[arg(long)]
    pub admin: bool,
    /// Hours the invite stays valid.
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(u64).range(0..=720))]
    pub valid_hours: u64,
    /// Minutes the invite stays valid instead of `--valid-hours` (short-lived invites, tests).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=43_200))]
    pub valid_minutes: Option<u64>,
    /// The server's public base URL, to print the whole invite link (as `serve --public-base-url`).
    #[arg(long, env = "PHR_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StaffListArgs {
    /// The organization id.
    #[arg(long)]
    pub org: String,
    /// Print a JSON array instead of one line per staff member.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StaffDisableArgs {
    /// The staff id (as `staff list` prints it).
    #[arg(long)]
    pub id: String,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `phr-server org …`: the organization registry. Each command applies
/// pending migrations first, so it works on a fresh data directory too.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organization (clinic, municipality, EHR network, research programme).
    Add(OrgAddArgs),
    /// List every registered organization, disabled ones included.
    List(OrgListArgs),
    /// Disable an organization: devices no longer see it and new grants cannot name it.
    Disable(OrgDisableArgs),
}

#[derive(Debug, Clone, Args)]
pub struct OrgAddArgs {
    /// The organization id: 1-64 characters of a-z, 0-9, '.', '_' or '-'.
    #[arg(long)]
    pub id: String,
    /// The name families see (1-200 characters).
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum)]
    pub kind: OrgKind,
    /// A purpose it may be granted for; repeat for several. Research
    /// organizations may only be granted `research`.
    #[arg(long = "purpose", value_enum, required = true)]
    pub purposes: Vec<PurposeArg>,
    /// A JWKS file (JSON object with a "keys" array): the organization's public
    /// keys for SMART Backend Services client authentication.
    #[arg(long, conflicts_with = "jwks_url")]
    pub jwks_file: Option<PathBuf>,
    /// Or the URL the organization publishes its JWKS at (https; http only to a
    /// loopback host): the server fetches the keys from there and follows the
    /// organization's key rotation (SMART's preferred registration).
    #[arg(long)]
    pub jwks_url: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Args)]
pub struct OrgListArgs {
    /// Print a JSON array instead of one line per organization.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Args)]
pub struct OrgDisableArgs {
    /// The organization id.
    #[arg(long)]
    pub id: String,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrgKind {
    Clinic,
    Municipality,
    #[value(name = "ehr_network")]
    EhrNetwork,
    Research,
    /// An emergency department: may read, by break-glass, the emergency summary of the
    /// families that opted in (`GET /fhir/r4/Patient/$summary`).
    Emergency,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Clinic => "clinic",
            OrgKind::Municipality => "municipality",
            OrgKind::EhrNetwork => "ehr_network",
            OrgKind::Research => "research",
            OrgKind::Emergency => "emergency",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    Treatment,
    Emergency,
    Research,
}

impl PurposeArg {
    pub fn as_str(self) -> &'static str {
        match self {
            PurposeArg::Treatment => "treatment",
            PurposeArg::Emergency => "emergency",
            PurposeArg::Research => "research",
        }
    }
}

/// `phr-server audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every account's hash chain and the operator's; exit 1 listing every break found.
    Verify(StorageArgs),
    /// Print the operator's audit log (organizations publishing, editing and withdrawing
    /// notices, and refused attempts) as JSON lines, oldest first.
    Operator(AuditOperatorArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditOperatorArgs {
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0)]
    pub since: i64,
    /// At most this many events.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the server keeps its state: the data directory (SQLite file, keys)
/// and, optionally, a PostgreSQL URL instead of the embedded SQLite.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Data directory: holds the SQLite database (unless --database-url says
    /// otherwise) and the `keys/` directory.
    #[arg(long, env = "PHR_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL: `postgres://…` / `postgresql://…` for PostgreSQL,
    /// `sqlite://PATH` or a plain file path for SQLite. Default: `DATA_DIR/phr.db`.
    #[arg(long, env = "PHR_DATABASE_URL")]
    pub database_url: Option<String>,

    /// PostgreSQL: keep a cache of named prepared statements per connection (`on`), or send
    /// every statement unnamed with its parameters (`off`): needed behind a pooler in
    /// transaction mode such as PgBouncer with `pool_mode = transaction`, where consecutive
    /// transactions of one connection run on different server connections. SQLite ignores it.
    #[arg(long, env = "PHR_PG_PREPARED_STATEMENTS", value_enum, default_value_t = PgPreparedStatements::On)]
    pub pg_prepared_statements: PgPreparedStatements,

    /// PostgreSQL only: how many hash partitions by family (`account_id`) the large tables
    /// get when the partitioning migration runs (once, on a new or older database); later
    /// starts ignore it. Default: the database's `phr.partitions` setting, else 16.
    #[arg(long, env = "PHR_PG_PARTITIONS", value_parser = clap::value_parser!(u32).range(1..=crate::store::MAX_PG_PARTITIONS as i64))]
    pub pg_partitions: Option<u32>,
}

impl StorageArgs {
    /// The database this configuration points at (SQLite in the data dir by default).
    pub fn database(&self) -> Result<DatabaseTarget, ServerError> {
        match &self.database_url {
            Some(url) => DatabaseTarget::parse(url),
            None => Ok(DatabaseTarget::Sqlite(self.data_dir.join("phr.db"))),
        }
    }

    /// The parameters of the migrations this configuration runs.
    pub fn migrations(&self) -> crate::store::MigrationSettings {
        crate::store::MigrationSettings { pg_partitions: self.pg_partitions }
    }

    pub fn key_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one is logged).
    #[arg(long, env = "PHR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub storage: StorageArgs,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "PHR_WORKERS")]
    pub workers: Option<usize>,

    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long, env = "PHR_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Database connections in the pool (default: 16 on SQLite, 32 on PostgreSQL). On SQLite one
    /// writes at a time and the others read; 16 rather than 8 lets the FHIR reads of 32 clients
    /// batch their audit events into fewer commits. A PostgreSQL connection spends much of a
    /// request waiting on round trips: 32 keep the CPU busy where 16 left it idle (`bench-fhir`).
    #[arg(long, env = "PHR_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub push: PushArgs,

    /// The server's public base URL as clients reach it (e.g.
    /// `https://phr.example.org`): SMART clients sign assertions for
    /// `<base>/auth/token`. Default: `http://<listen address>`.
    #[arg(long, env = "PHR_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,

    /// Addresses of the load balancers or reverse proxies in front (comma-separated IPs):
    /// for a request from one of them, the source address of the per-address limits is the
    /// last address of `X-Forwarded-For` that is not one of them. Unset (the default):
    /// `X-Forwarded-For` is never read and the source is the connection's peer.
    #[arg(long, env = "PHR_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "PHR_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// At start, tighten directories in the data directory (and the SQLite
    /// files) that group or others can access to 0700 and files to 0600.
    /// Without it such paths are only warned about.
    #[arg(long, env = "PHR_FIX_PERMISSIONS", value_parser = clap::builder::BoolishValueParser::new())]
    pub fix_permissions: bool,
}

/// Web Push notifications to the family's phones (`app::notify`).
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The contact the push services see in each notification's VAPID token (RFC 8292 `sub`):
    /// a `mailto:` or `https:` URI of the operator.
    #[arg(long, env = "PHR_PUSH_CONTACT", default_value = "mailto:operator@phr.invalid")]
    pub push_contact: String,
    /// Accept push subscription endpoints over plain http on loopback addresses (tests and
    /// local development only; the default accepts https endpoints only).
    #[arg(long, env = "PHR_PUSH_ALLOW_LOOPBACK_HTTP", default_value_t = false)]
    pub push_allow_loopback_http: bool,
}

/// Limits that keep one client from hurting the service; each exceeded limit
/// is a clear 4xx, never a crash.
#[derive(Debug, Clone, Copy, Args)]
pub struct Limits {
    /// Most changes in one push batch (413 beyond).
    #[arg(long, env = "PHR_MAX_BATCH_CHANGES", default_value_t = 500)]
    pub max_batch_changes: usize,
    /// Largest sealed record envelope, in bytes (413 beyond).
    #[arg(long, env = "PHR_MAX_ENVELOPE_BYTES", default_value_t = 256 * 1024)]
    pub max_envelope_bytes: usize,
    /// Most records one account may hold (409 beyond).
    #[arg(long, env = "PHR_MAX_RECORDS_PER_ACCOUNT", default_value_t = 200_000)]
    pub max_records_per_account: i64,
    /// Average requests per second per device (0 = unlimited; 429 beyond).
    #[arg(long, env = "PHR_RATE_LIMIT_PER_DEVICE", default_value_t = 50.0)]
    pub rate_limit_per_device: f64,
    /// Burst of requests a device may make at once.
    #[arg(long, env = "PHR_RATE_LIMIT_BURST", default_value_t = 200.0)]
    pub rate_limit_burst: f64,
    /// Unauthenticated endpoints (sign-in, refresh, join, recovery), average
    /// per second (0 = unlimited): refused attempts per source address; work
    /// for a known device or account per subject and address; wrong pairing
    /// codes and recovery nonces per account at 10× (`auth::limits`).
    #[arg(long, env = "PHR_AUTH_RATE_LIMIT", default_value_t = 1.0)]
    pub auth_rate_limit: f64,
    /// Burst of the unauthenticated-endpoint limits (see `--auth-rate-limit`).
    #[arg(long, env = "PHR_AUTH_RATE_BURST", default_value_t = 20.0)]
    pub auth_rate_burst: f64,
    /// Research extracts: the smallest equivalence class over the quasi-identifiers (k).
    #[arg(long, env = "PHR_RESEARCH_K", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub research_k: u32,
    /// Research extracts: seconds the files of a completed export stay downloadable.
    #[arg(long, env = "PHR_RESEARCH_RETENTION_SECS", default_value_t = 86_400)]
    pub research_retention_secs: u64,
    /// FHIR searches: memory for answers to repeated identical searches, in MiB (0 = keep none).
    /// Answers are served only while the records and grants they came from are unchanged.
    #[arg(long, env = "PHR_FHIR_SEARCH_CACHE_MB", default_value_t = 64)]
    pub fhir_search_cache_mb: usize,
    /// FHIR searches: seconds a kept answer may be served (it holds health data in memory).
    #[arg(long, env = "PHR_FHIR_SEARCH_CACHE_SECS", default_value_t = 60)]
    pub fhir_search_cache_secs: u64,
    /// Seconds a client has to send a request head (from its first byte), and
    /// again its body (from the end of the head); 408 and the connection closed beyond.
    #[arg(long, env = "PHR_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// Most connections open at once (at most the open-file limit less a reserve);
    /// beyond, each new connection closes the one waiting longest for its client.
    #[arg(long, env = "PHR_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(16..))]
    pub max_connections: u64,
    /// Hours an emergency department's break-glass access to one patient lasts from its first
    /// `Patient/$summary` read; a read after that opens a new one and tells the family again.
    #[arg(long, env = "PHR_BREAK_GLASS_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=168))]
    pub break_glass_hours: u64,
    /// Care-team portal: minutes a staff session may stay unused before it ends.
    #[arg(long, env = "PHR_PORTAL_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub portal_idle_minutes: u64,
    /// Care-team portal: hours a staff session lasts at most from its sign-in.
    #[arg(long, env = "PHR_PORTAL_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=168))]
    pub portal_session_hours: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch_changes: 500,
            max_envelope_bytes: 256 * 1024,
            max_records_per_account: 200_000,
            rate_limit_per_device: 50.0,
            rate_limit_burst: 200.0,
            auth_rate_limit: 1.0,
            auth_rate_burst: 20.0,
            research_k: 5,
            research_retention_secs: 86_400,
            fhir_search_cache_mb: 64,
            fhir_search_cache_secs: 60,
            request_timeout_secs: 30,
            max_connections: 10_000,
            break_glass_hours: 12,
            portal_idle_minutes: 30,
            portal_session_hours: 12,
        }
    }
}

/// The resolved configuration of `serve`. `Display` prints it without secrets.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub key_dir: PathBuf,
    pub database: DatabaseTarget,
    /// `--pg-prepared-statements` (PostgreSQL only).
    pub pg_prepared_statements: PgPreparedStatements,
    pub migrations: crate::store::MigrationSettings,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub db_pool_size: u32,
    pub shutdown_timeout_secs: u64,
    pub limits: Limits,
    /// Without a trailing slash; `None`: `http://<bound address>`.
    pub public_base_url: Option<String>,
    /// Tighten wider modes found in the data directory at start (else warn).
    pub fix_permissions: bool,
    pub push: PushArgs,
    /// The balancers whose `X-Forwarded-For` is believed (`--trusted-proxies`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Pooled database connections unless `--db-pool-size` says otherwise.
fn default_db_pool_size(database: &crate::store::DatabaseTarget) -> u32 {
    match database {
        crate::store::DatabaseTarget::Sqlite(_) => 16,
        crate::store::DatabaseTarget::Postgres(_) => 32,
    }
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> Result<Config, ServerError> {
        let database = args.storage.database()?;
        let workers =
            args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
        if workers == 0 {
            return Err(ServerError::Config("--workers must be at least 1".into()));
        }
        if args.max_body_bytes < 1024 {
            return Err(ServerError::Config("--max-body-bytes must be at least 1024".into()));
        }
        let db_pool_size = args.db_pool_size.unwrap_or_else(|| default_db_pool_size(&database));
        if db_pool_size == 0 {
            return Err(ServerError::Config("--db-pool-size must be at least 1".into()));
        }
        let public_base_url = args.public_base_url.as_deref().map(check_public_base_url).transpose()?;
        Ok(Config {
            public_base_url,
            listen: args.listen,
            data_dir: args.storage.data_dir.clone(),
            key_dir: args.storage.key_dir(),
            database,
            pg_prepared_statements: args.storage.pg_prepared_statements,
            migrations: args.storage.migrations(),
            workers,
            max_body_bytes: args.max_body_bytes,
            db_pool_size,
            shutdown_timeout_secs: args.shutdown_timeout_secs,
            limits: args.limits,
            fix_permissions: args.fix_permissions,
            push: check_push(&args.push)?,
            trusted_proxies: args.trusted_proxies.clone(),
        })
    }
}

/// The push contact must be a `mailto:` or `https:` URI (RFC 8292 §2.1).
fn check_push(push: &PushArgs) -> Result<PushArgs, ServerError> {
    let c = push.push_contact.trim();
    if !(c.starts_with("mailto:") || c.starts_with("https://")) || c.chars().any(char::is_whitespace) {
        return Err(ServerError::Config("--push-contact must be a mailto: or https: URI".into()));
    }
    Ok(PushArgs { push_contact: c.to_owned(), ..push.clone() })
}

/// An absolute `http(s)://host[:port][/path]` URL without query or fragment;
/// returned without a trailing slash.
pub fn check_public_base_url(url: &str) -> Result<String, ServerError> {
    let bad = |why: &str| ServerError::Config(format!("--public-base-url {url:?}: {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(bad("must name a host (and no user info)"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain a query, fragment or whitespace"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "listen={} data_dir={} key_dir={} database={} pg_prepared_statements={} pg_partitions={} workers={} max_body_bytes={} db_pool_size={} shutdown_timeout_secs={} limits={:?} public_base_url={} fix_permissions={} push_contact={} push_allow_loopback_http={} trusted_proxies={:?}",
            self.listen,
            self.data_dir.display(),
            self.key_dir.display(),
            self.database,
            self.pg_prepared_statements,
            self.migrations.pg_partitions.map_or_else(|| "(database setting, else 16)".to_owned(), |n| n.to_string()),
            self.workers,
            self.max_body_bytes,
            self.db_pool_size,
            self.shutdown_timeout_secs,
            self.limits,
            self.public_base_url.as_deref().unwrap_or("(listen address)"),
            self.fix_permissions,
            self.push.push_contact,
            self.push.push_allow_loopback_http,
            self.trusted_proxies
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(std::iter::once("phr-server").chain(args.iter().copied())).unwrap();
        match cli.command {
            Command::Serve(a) => a,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn serve_defaults_to_sqlite_in_the_data_dir() {
        let config = Config::from_args(&serve(&["serve", "--data-dir", "/tmp/phr-x"])).unwrap();
        assert_eq!(config.database, DatabaseTarget::Sqlite("/tmp/phr-x/phr.db".into()));
        assert_eq!(config.key_dir, PathBuf::from("/tmp/phr-x/keys"));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn printed_config_hides_the_database_password() {
        let config =
            Config::from_args(&serve(&["serve", "--database-url", "postgres://phr:s3cret-pw@db.internal:5432/phr"]))
                .unwrap();
        let printed = config.to_string();
        assert!(!printed.contains("s3cret-pw"), "{printed}");
        assert!(printed.contains("postgres://phr:***@db.internal:5432/phr"), "{printed}");
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("phr-server").chain(args.iter().copied()))
    }

    #[test]
    fn org_add_takes_repeated_purposes_and_snake_case_kinds() {
        let cli = parse(&[
            "org",
            "add",
            "--id",
            "net-1",
            "--name",
            "Net",
            "--kind",
            "ehr_network",
            "--purpose",
            "treatment",
            "--purpose",
            "emergency",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        let Command::Org(OrgCommand::Add(args)) = cli.command else { panic!("expected org add") };
        assert_eq!(args.kind, OrgKind::EhrNetwork);
        assert_eq!(args.purposes, vec![PurposeArg::Treatment, PurposeArg::Emergency]);
        assert_eq!(args.storage.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn org_add_refuses_unknown_kinds_missing_purposes_and_unknown_purposes() {
        let base = ["org", "add", "--id", "c", "--name", "C"];
        let with = |extra: &[&'static str]| parse(&[&base[..], extra].concat()).unwrap_err().kind();
        assert_eq!(with(&["--kind", "hospital", "--purpose", "treatment"]), clap::error::ErrorKind::InvalidValue);
        assert_eq!(with(&["--kind", "clinic"]), clap::error::ErrorKind::MissingRequiredArgument);
        assert_eq!(with(&["--kind", "clinic", "--purpose", "marketing"]), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn audit_verify_takes_the_storage_arguments() {
        let cli = parse(&["audit", "verify", "--database-url", "sqlite:///tmp/a.db"]).unwrap();
        let Command::Audit(AuditCommand::Verify(storage)) = cli.command else { panic!("expected audit verify") };
        assert_eq!(storage.database().unwrap(), DatabaseTarget::Sqlite("/tmp/a.db".into()));
    }

    #[test]
    fn public_base_url_must_be_an_absolute_http_url_and_loses_its_trailing_slash() {
        let config = Config::from_args(&serve(&["serve", "--public-base-url", "https://phr.example.org/"])).unwrap();
        assert_eq!(config.public_base_url.as_deref(), Some("https://phr.example.org"));
        assert_eq!(Config::from_args(&serve(&["serve"])).unwrap().public_base_url, None);
        for bad in ["phr.example.org", "ftp://x", "https://", "https://u:p@x", "https://x/?a=1", "https://x/#f"] {
            let err = Config::from_args(&serve(&["serve", "--public-base-url", bad])).unwrap_err();
            assert!(err.to_string().contains("--public-base-url"), "{bad}: {err}");
        }
    }

    #[test]
    fn pg_prepared_statements_default_on_turn_off_by_flag_and_are_printed() {
        let config = Config::from_args(&serve(&["serve"])).unwrap();
        assert_eq!(config.pg_prepared_statements, PgPreparedStatements::On);
        assert!(config.to_string().contains("pg_prepared_statements=on"), "{config}");
        let config = Config::from_args(&serve(&["serve", "--pg-prepared-statements", "off"])).unwrap();
        assert_eq!(config.pg_prepared_statements, PgPreparedStatements::Off);
        assert!(config.to_string().contains("pg_prepared_statements=off"), "{config}");
        assert!(parse(&["serve", "--pg-prepared-statements", "maybe"]).is_err());
    }

    #[test]
    fn zero_workers_is_a_config_error() {
        let err = Config::from_args(&serve(&["serve", "--workers", "0"])).unwrap_err();
        assert!(err.to_string().contains("--workers"), "{err}");
    }
}
