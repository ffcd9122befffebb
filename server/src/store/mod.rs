//! Storage: one diesel connection type over PostgreSQL and SQLite, an r2d2
//! pool, and the embedded migrations of `migrations/{sqlite,postgres}`.
//!
//! The backend is chosen by [`DatabaseTarget::parse`] from the URL scheme, never
//! by trial: a mistyped `postgress://` URL is an error, not a new SQLite file.
//! Queries are written once against [`DbConnection`]; the few statements whose
//! SQL differs between backends (upserts, RETURNING) live in [`backend`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::ServerError;

pub mod accounts;
pub mod audit;
pub mod backend;
pub mod break_glass;
pub mod emergency_cards;
pub mod fhir;
pub mod grants;
pub mod group_commit;
pub mod idempotency;
pub mod meta;
pub mod notices;
pub mod operator_events;
pub mod organizations;
pub mod push_subscriptions;
pub mod records;
pub mod research;
pub mod schema;
pub mod smart;
pub mod staff;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// No connection could be had from the pool.
pub use diesel::r2d2::PoolError;
/// A failed statement (diesel's error).
pub use diesel::result::Error as DbError;
/// What a store function answers; its error is [`DbError`].
pub use diesel::QueryResult;

/// Whether `e` is PostgreSQL refusing a NUL character in a text value
/// (SQLite stores it): bad input from the client, not a fault of the server.
/// PostgreSQL says so only in its message (`invalid byte sequence for
/// encoding "UTF8": 0x00`), which is why this lives here, with the backends.
pub fn is_nul_in_text(e: &DbError) -> bool {
    match e {
        DbError::DatabaseError(_, info) => {
            info.message().contains("invalid byte sequence") && info.message().contains("0x00")
        }
        _ => false,
    }
}

/// A database error for the log: its kind and the constraint or table it is
/// about. A database's message can quote the values of the statement
/// (`invalid input syntax for type uuid: "…"`), so it is left out.
pub fn describe_error(e: &DbError) -> String {
    match e {
        DbError::DatabaseError(kind, info) => {
            let mut s = format!("{kind:?}");
            if let Some(table) = info.table_name() {
                s.push_str(&format!(" on table {table}"));
            }
            if let Some(constraint) = info.constraint_name() {
                s.push_str(&format!(" (constraint {constraint})"));
            }
            s
        }
        DbError::NotFound => "no row".to_owned(),
        DbError::RollbackTransaction => "transaction rolled back".to_owned(),
        other => other.to_string(),
    }
}

/// A connection to either backend. Write queries against this type; diesel
/// generates the dispatch (`#[derive(MultiConnection)]`).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend_name(&self) -> &'static str {
        match self {
            DbConnection::Postgresql(_) => "postgres",
            DbConnection::Sqlite(_) => "sqlite",
        }
    }
}

/// Runs `f` in a transaction that will write. On SQLite it starts with
/// `BEGIN IMMEDIATE`, taking the write lock up front (waiting out
/// `busy_timeout`): a plain deferred transaction that reads first and writes
/// later fails at once with `SQLITE_BUSY` if another connection wrote in
/// between, which concurrent sign-ins of different accounts do. On
/// PostgreSQL it is an ordinary transaction. Top level only: inside a
/// transaction use `conn.transaction` (a savepoint).
///
/// Given a pooled [`Conn`], SQLite writers of the pool also queue at the
/// pool's [`WriterGate`]; given a bare [`DbConnection`] they rely on SQLite's
/// own locking alone (the same answers, slower under contention).
pub fn write_transaction<C, T, E, F>(conn: &mut C, f: F) -> Result<T, E>
where
    C: WriteConnection + ?Sized,
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    let (gate, conn) = conn.parts();
    let _writer = match conn {
        DbConnection::Sqlite(c) => {
            let permit = gate.map(WriterGate::enter);
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            permit
        }
        DbConnection::Postgresql(_) => {
            Manager::begin_transaction(conn)?;
            None
        }
    };
    match f(&mut *conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// A connection [`write_transaction`] can write on: a pooled [`Conn`] (with
/// its pool's writer gate) or a bare [`DbConnection`] (without).
pub trait WriteConnection {
    /// The pool's writer gate, if any, and the connection.
    fn parts(&mut self) -> (Option<&WriterGate>, &mut DbConnection);
}

impl WriteConnection for DbConnection {
    fn parts(&mut self) -> (Option<&WriterGate>, &mut DbConnection) {
        (None, self)
    }
}

impl WriteConnection for Conn {
    fn parts(&mut self) -> (Option<&WriterGate>, &mut DbConnection) {
        (Some(&self.gate), &mut self.conn)
    }
}

/// How long a SQLite writer waits for the gate before going on to SQLite's
/// own locking (its `busy_timeout` then applies as before).
const SQLITE_WRITER_GATE_WAIT: Duration = Duration::from_secs(5);

/// Queues one pool's SQLite write transactions in turn. SQLite has one
/// writer; without this, concurrent `BEGIN IMMEDIATE`s find the lock busy and
/// SQLite's busy handler *sleeps* (1, 2, 5, … up to 100 ms) while the lock is
/// often already free again, so under load (e.g. 32 FHIR clients, each read
/// audited) writers idle instead of running. A waiter here is woken the moment
/// the previous writer commits. The wait is bounded: after
/// [`SQLITE_WRITER_GATE_WAIT`] the writer goes on without the gate (so a
/// nested or stuck writer degrades to SQLite's busy handling, never a
/// deadlock). One gate per [`DbPool`]: nothing process-global.
#[derive(Debug, Default)]
pub struct WriterGate {
    busy: Mutex<bool>,
    freed: Condvar,
}

/// A writer's turn at the [`WriterGate`]; the next writer is woken when it drops.
struct WriterPermit<'a> {
    gate: &'a WriterGate,
    held: bool,
}

impl WriterGate {
    fn enter(&self) -> WriterPermit<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = std::time::Instant::now() + SQLITE_WRITER_GATE_WAIT;
        while *busy {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return WriterPermit { gate: self, held: false };
            }
            busy = self.freed.wait_timeout(busy, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        *busy = true;
        WriterPermit { gate: self, held: true }
    }
}

impl Drop for WriterPermit<'_> {
    fn drop(&mut self) {
        if self.held {
            *self.gate.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
            self.gate.freed.notify_one();
        }
    }
}

/// The connection pool of one database, with that database's [`WriterGate`].
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<DbManager>,
    gate: Arc<WriterGate>,
}

impl DbPool {
    /// A connection from the pool (waits up to the pool's connection timeout).
    pub fn get(&self) -> Result<Conn, r2d2::PoolError> {
        self.checked(|| self.pool.get())
    }

    /// A connection if one is free within `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<Conn, r2d2::PoolError> {
        self.checked(|| self.pool.get_timeout(timeout))
    }

    /// A connection that is alive: a PostgreSQL connection idle for [`IDLE_BEFORE_PING`] or
    /// more is pinged first (the server may have dropped it meanwhile) and, if dead, dropped
    /// for another. One in steady use is not: a `SELECT 1` round trip before every request
    /// was a seventh of the statements of a FHIR read; a connection that dies while in use
    /// fails its request and is dropped then ([`Conn::check_after_failure`]).
    fn checked(
        &self,
        checkout: impl Fn() -> Result<r2d2::PooledConnection<DbManager>, r2d2::PoolError>,
    ) -> Result<Conn, r2d2::PoolError> {
        // Bounded: each dead connection found is dropped, so the pool opens fresh ones.
        for _ in 0..=self.pool.max_size() {
            let mut conn = checkout()?;
            let idle = r2d2::PooledConnection::extensions(&conn)
                .get::<LastUsed>()
                .is_none_or(|used| used.0.elapsed() >= IDLE_BEFORE_PING);
            if idle && matches!(*conn, DbConnection::Postgresql(_)) && conn.ping().is_err() {
                mark_broken(&mut conn);
                continue;
            }
            return self.conn(conn);
        }
        let mut conn = checkout()?;
        if conn.ping().is_err() {
            mark_broken(&mut conn);
        }
        self.conn(conn)
    }

    /// The most connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    fn conn(&self, conn: r2d2::PooledConnection<DbManager>) -> Result<Conn, r2d2::PoolError> {
        Ok(Conn { conn, gate: Arc::clone(&self.gate) })
    }
}

impl fmt::Debug for DbPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbPool").field("state", &self.pool.state()).finish_non_exhaustive()
    }
}

/// A pooled connection (back to the pool when dropped); derefs to [`DbConnection`].
pub struct Conn {
    conn: r2d2::PooledConnection<DbManager>,
    gate: Arc<WriterGate>,
}

/// When a pooled connection was last handed back ([`DbPool::checked`]).
struct LastUsed(std::time::Instant);

/// How long a PostgreSQL connection may sit in the pool before it is pinged on checkout.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// Makes the pool drop `conn` when it comes back instead of handing it out again.
fn mark_broken(conn: &mut DbConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConnection::Postgresql(c) => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error(),
        DbConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error(),
    }
}

impl Conn {
    /// After a request failed on this connection: if the database no longer answers it
    /// (the server restarted, the network dropped), it is not handed out again.
    pub fn check_after_failure(&mut self) {
        if self.conn.ping().is_err() {
            mark_broken(&mut self.conn);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        r2d2::PooledConnection::extensions_mut(&mut self.conn).insert(LastUsed(std::time::Instant::now()));
    }
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// What a store function fails with (the layers above name this, not diesel).
pub type StoreError = diesel::result::Error;

/// A pooled connection (the name the callers use).
pub type PooledDb = Conn;

/// Which database to use. Parsed from a URL; `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseTarget {
    /// `postgres://…`/`postgresql://…` -> PostgreSQL; `sqlite://PATH` or a plain
    /// path -> SQLite. Any other scheme, and in-memory SQLite, is refused.
    pub fn parse(url: &str) -> Result<DatabaseTarget, ServerError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(ServerError::Config("the database URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_owned()));
        }
        let path = match url.strip_prefix("sqlite://") {
            Some(p) => p,
            None if url.contains("://") => {
                let scheme = url.split("://").next().unwrap_or_default();
                return Err(ServerError::Config(format!(
                    "unsupported database URL scheme {scheme:?}: use postgres://… or sqlite://PATH (or a file path)"
                )));
            }
            None => url,
        };
        if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
            return Err(ServerError::Config(
                "in-memory SQLite is not supported (every pooled connection would see its own empty database): use a file path"
                    .into(),
            ));
        }
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseTarget::Postgres(_) => "postgres",
            DatabaseTarget::Sqlite(_) => "sqlite",
        }
    }
}

impl fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseTarget::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseTarget::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `postgres://user:pw@host/db` -> `postgres://user:***@host/db`; also hides
/// a `password=` query parameter.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _pw)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| if kv.starts_with("password=") { "password=***".to_owned() } else { kv.to_owned() })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether PostgreSQL connections keep diesel's cache of *named* prepared statements
/// (`--pg-prepared-statements`). On (the default) each distinct query is parsed and planned
/// once per connection. Off, every statement is sent as an unnamed one together with its
/// parameters (one `Parse`/`Bind`/`Execute` round trip, libpq's `PQsendQueryParams`), which is
/// what a pooler in transaction mode (PgBouncer `pool_mode = transaction`) needs: it hands each
/// transaction (or single statement) to whichever server connection is free, so a statement
/// named on one server connection does not exist on the next (PgBouncer 1.18 does not track
/// them). Nothing else the server does lives in a PostgreSQL session: no `SET` after connecting
/// (diesel's own `TimeZone` and `client_encoding` at connect are parameters PgBouncer tracks and
/// restores), no advisory locks, `LISTEN`, temporary tables or cursors held across transactions.
/// SQLite ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PgPreparedStatements {
    /// Named prepared statements cached per connection (direct connections, session pooling).
    #[default]
    On,
    /// No named prepared statements (PgBouncer or another pooler in transaction mode).
    Off,
}

impl fmt::Display for PgPreparedStatements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PgPreparedStatements::On => "on",
            PgPreparedStatements::Off => "off",
        })
    }
}

/// Opens connections to the configured backend (and only that one) and sets
/// up SQLite for concurrent use: WAL, busy timeout, synchronous=NORMAL, foreign keys.
#[derive(Debug, Clone)]
pub struct DbManager {
    target: DatabaseTarget,
    pg_prepared_statements: PgPreparedStatements,
}

impl DbManager {
    pub fn new(target: DatabaseTarget) -> Self {
        DbManager { target, pg_prepared_statements: PgPreparedStatements::default() }
    }

    /// With `--pg-prepared-statements` (PostgreSQL's statement cache on or off).
    pub fn with_pg_prepared_statements(mut self, mode: PgPreparedStatements) -> Self {
        self.pg_prepared_statements = mode;
        self
    }
}

/// `busy_timeout` comes first: switching a new database to WAL takes a lock,
/// and the pool opens several connections at once. `wal_autocheckpoint`:
/// checkpoints run on [`start_sqlite_checkpointer`]'s thread; a writer
/// checkpoints (and waits for the fsync) only as a backstop, if the WAL grows
/// past 10,000 pages. (`mmap_size` was tried and left out: mapped pages count
/// in the server's RSS, 48 -> 242 MB during `bench-export`, for no gain there.)
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA wal_autocheckpoint = 10000;";

/// How often [`start_sqlite_checkpointer`] copies the WAL into the database.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// On SQLite, a background thread that checkpoints the WAL (`PASSIVE`: it
/// never blocks readers or the writer) every [`SQLITE_CHECKPOINT_EVERY`].
/// Otherwise the commit that crosses SQLite's auto-checkpoint threshold does
/// the checkpoint and its fsync itself, and the request behind it waits
/// (tens of milliseconds: the `$everything` p99 of `bench-fhir`). Nothing
/// to do on PostgreSQL.
pub fn start_sqlite_checkpointer(pool: DbPool) {
    let is_sqlite = pool.get().map(|c| matches!(*c, DbConnection::Sqlite(_))).unwrap_or(false);
    if !is_sqlite {
        return;
    }
    let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || loop {
        std::thread::sleep(SQLITE_CHECKPOINT_EVERY);
        let result = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);").map_err(|e| e.to_string()));
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot checkpoint the SQLite WAL");
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the SQLite checkpointer");
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => {
                // `establish` itself sends only unnamed statements (diesel's `SET`s of
                // time zone and encoding are never cached), so turning the cache off here
                // leaves no named statement on any server connection.
                let mut conn = PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                if self.pg_prepared_statements == PgPreparedStatements::Off {
                    conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
                }
                Ok(DbConnection::Postgresql(conn))
            }
            DatabaseTarget::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(&path.to_string_lossy()).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Opens the pool (creating the SQLite file's directory if needed) and applies
/// pending migrations. Returns the pool and the migrations it applied.
pub fn open(target: &DatabaseTarget, pool_size: u32) -> Result<(DbPool, Vec<String>), ServerError> {
    open_configured(target, pool_size, &MigrationSettings::default(), PgPreparedStatements::default())
}

/// Parameters of the migrations (used only by the migration that needs them, when it runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationSettings {
    /// PostgreSQL: how many hash partitions by `account_id` the partitioning migration
    /// creates for each large table (`None`: the database's `phr.partitions` setting, else 16).
    pub pg_partitions: Option<u32>,
}

/// The most partitions the partitioning migration accepts (it checks the same bound).
pub const MAX_PG_PARTITIONS: u32 = 1024;

/// [`open`] with migration parameters and PostgreSQL's named prepared statements on or off
/// (`--pg-prepared-statements`): what `serve`, `migrate` and the admin commands call.
pub fn open_configured(
    target: &DatabaseTarget,
    pool_size: u32,
    settings: &MigrationSettings,
    pg_prepared_statements: PgPreparedStatements,
) -> Result<(DbPool, Vec<String>), ServerError> {
    if let DatabaseTarget::Sqlite(path) = target {
        ensure_parent_dir(path)?;
        // Switch a new database file to WAL on one connection before the pool opens several at
        // once: the switch needs an exclusive lock, and SQLite can refuse it at once ("database
        // is locked", no busy wait) to a connection racing another that holds a shared lock.
        // The mode is stored in the file, so the pool's own `journal_mode = WAL` is then a no-op.
        let first = DbManager::new(target.clone())
            .connect()
            .map_err(|e| ServerError::Database(format!("cannot open {target}: {e}")))?;
        if let DbConnection::Sqlite(mut conn) = first {
            if !sqlite_has_stable_plans(&mut conn).unwrap_or(false) {
                tracing::warn!(
                    "this SQLite lacks SQLITE_ENABLE_QPSG: statements with a LIMIT are re-planned on every run \
                     (build with the workspace's .cargo/config.toml)"
                );
            }
        }
    }
    let pool = r2d2::Pool::builder()
        .max_size(pool_size)
        // No `SELECT 1` before each checkout: a SQLite file does not go away under an open
        // connection, and a PostgreSQL one is pinged only after sitting idle or failing
        // ([`DbPool::checked`]).
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(10))
        .build(DbManager::new(target.clone()).with_pg_prepared_statements(pg_prepared_statements))
        .map_err(|e| ServerError::Database(format!("cannot connect to {target}: {e}")))?;
    let pool = DbPool { pool, gate: Arc::default() };
    let mut conn = pool.get().map_err(|e| ServerError::Database(format!("cannot connect to {target}: {e}")))?;
    let applied = run_migrations_with(&mut conn, settings)?;
    Ok((pool, applied))
}

/// Creates the SQLite file's directory (0700) and the file itself (0600) if
/// missing, before SQLite opens it: SQLite creates `-wal` and `-shm` with the
/// database file's mode, so all three stay owner-only whatever the umask.
fn ensure_parent_dir(path: &Path) -> Result<(), ServerError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::create_private_dir(dir)
            .map_err(|e| ServerError::Io(format!("cannot create database directory {}: {e}", dir.display())))?;
    }
    crate::files::create_private_file_if_missing(path)
        .map_err(|e| ServerError::Io(format!("cannot create the database file {}: {e}", path.display())))
}

/// One row of `PRAGMA compile_options`.
#[derive(QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = diesel::sql_types::Text)]
    compile_options: String,
}

/// Whether this SQLite was built with the query planner stability guarantee
/// (`SQLITE_ENABLE_QPSG`, set for the bundled SQLite in `.cargo/config.toml`). Without it a
/// cached statement whose bound values could steer the plan (every `LIMIT ?`) is parsed and
/// planned again on each run: correct, but a fifth of the server's CPU under load.
pub fn sqlite_has_stable_plans(conn: &mut SqliteConnection) -> QueryResult<bool> {
    let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options").load(conn)?;
    Ok(options.iter().any(|o| o.compile_options == "ENABLE_QPSG"))
}

/// Applies the pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, ServerError> {
    run_migrations_with(conn, &MigrationSettings::default())
}

/// The transaction-scoped advisory lock under which PostgreSQL migrations run ("phr_mig").
const MIGRATION_LOCK: i64 = 0x0070_6872_5f6d_6967;

/// Applies the pending migrations of the connection's backend.
///
/// On PostgreSQL several nodes may start at once on a new database: all pending migrations
/// run in one transaction holding an advisory lock, so one node applies them while the
/// others wait and then find nothing pending (a transaction-level lock, so this also works
/// through PgBouncer in transaction mode). The partition count is set for that transaction
/// only (`SET LOCAL phr.partitions`).
pub fn run_migrations_with(conn: &mut DbConnection, settings: &MigrationSettings) -> Result<Vec<String>, ServerError> {
    type BoxedError = Box<dyn std::error::Error + Send + Sync>;
    let applied = match conn {
        DbConnection::Postgresql(c) => c.transaction(|c| -> Result<Vec<String>, BoxedError> {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).execute(c)?;
            if let Some(n) = settings.pg_partitions {
                if !(1..=MAX_PG_PARTITIONS).contains(&n) {
                    return Err(format!("the partition count must be from 1 to {MAX_PG_PARTITIONS}, not {n}").into());
                }
                diesel::sql_query(format!("SET LOCAL phr.partitions = '{n}'")).execute(c)?;
            }
            c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions)
        }),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
    };
    applied.map_err(|e| ServerError::Database(format!("migrations failed: {e}")))
}

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|m| m.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(QueryableByName)]
    struct BackendPid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    fn backend_pid(conn: &mut DbConnection) -> i32 {
        diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<BackendPid>(conn).unwrap().pid
    }

    #[test]
    fn a_postgresql_connection_the_server_dropped_fails_one_request_and_is_replaced_not_handed_out_again() {
        let Some(test_db) = testing::TestDatabase::postgres() else {
            eprintln!("SKIPPED: set {} to run it", testing::POSTGRES_URL_ENV);
            return;
        };
        let (pool, _) = open(&test_db.target, 1).unwrap();
        let first = backend_pid(&mut pool.get().unwrap());
        // The server ends that session (as a restart or a network drop would).
        let DatabaseTarget::Postgres(url) = &test_db.target else { unreachable!() };
        let mut other = PgConnection::establish(url).unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({first})")).execute(&mut other).unwrap();
        // Used a moment ago: handed out without a ping, so the request fails…
        let mut conn = pool.get().unwrap();
        assert!(diesel::sql_query("SELECT 1").execute(&mut *conn).is_err());
        conn.check_after_failure();
        drop(conn);
        // …and the connection is gone: the next request gets a fresh one.
        let mut conn = pool.get().unwrap();
        let second = backend_pid(&mut conn);
        assert_ne!(first, second);
        assert!(accounts::account(&mut conn, "nobody").unwrap().is_none());
    }

    #[test]
    fn several_nodes_starting_on_a_new_postgresql_database_at_once_all_start_and_each_migration_runs_once() {
        let Some(test_db) = testing::TestDatabase::postgres() else {
            eprintln!("SKIPPED: set {} to run it", testing::POSTGRES_URL_ENV);
            return;
        };
        let nodes: Vec<_> = (0..3)
            .map(|_| {
                let target = test_db.target.clone();
                std::thread::spawn(move || open(&target, 1).map(|(_, applied)| applied))
            })
            .collect();
        let mut applied: Vec<String> = Vec::new();
        for node in nodes {
            applied.extend(node.join().unwrap().expect("every node starts"));
        }
        use diesel::migration::MigrationSource;
        let all = MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS).unwrap().len();
        assert_eq!(applied.len(), all, "each migration applied by exactly one node");
        let unique: std::collections::HashSet<_> = applied.iter().collect();
        assert_eq!(unique.len(), all);
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    #[test]
    fn the_large_postgresql_tables_are_hash_partitioned_by_family_into_the_chosen_count_and_one_family_reads_one() {
        let Some(test_db) = testing::TestDatabase::postgres() else {
            eprintln!("SKIPPED: set {} to run it", testing::POSTGRES_URL_ENV);
            return;
        };
        let (pool, _) =
            open_configured(&test_db.target, 1, &MigrationSettings { pg_partitions: Some(5) }, Default::default())
                .unwrap();
        let mut conn = pool.get().unwrap();
        for table in ["records", "grant_record_keys", "audit_events"] {
            let partitions: Count = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = '{table}'::regclass"
            ))
            .get_result(&mut *conn)
            .unwrap();
            assert_eq!(partitions.n, 5, "{table}");
        }
        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let plan: Vec<Plan> = diesel::sql_query(
            "EXPLAIN SELECT record_id FROM records WHERE account_id = 'one-family' AND seq > 10 ORDER BY seq",
        )
        .load(&mut *conn)
        .unwrap();
        let scanned: Vec<&str> =
            plan.iter().filter_map(|p| p.line.split(" on ").nth(1)).filter(|t| t.starts_with("records_p")).collect();
        assert_eq!(scanned.len(), 1, "one partition: {:?}", plan.iter().map(|p| &p.line).collect::<Vec<_>>());
        // A later start with another count changes nothing: the count belongs to the migration.
        drop(conn);
        let (_, applied) =
            open_configured(&test_db.target, 1, &MigrationSettings { pg_partitions: Some(7) }, Default::default())
                .unwrap();
        assert!(applied.is_empty());
    }

    crate::store_test! {
        fn a_nul_in_a_text_value_is_recognised_where_postgresql_refuses_it_and_stored_by_sqlite(test_db) {
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            match accounts::account(&mut conn, "a\0b") {
                Ok(found) => {
                    assert_eq!(conn.backend_name(), "sqlite");
                    assert!(found.is_none());
                }
                Err(e) => {
                    assert_eq!(conn.backend_name(), "postgres");
                    assert!(is_nul_in_text(&e), "{e}");
                    assert!(!describe_error(&e).contains("0x00"), "the message is left out of the log text");
                }
            }
            assert!(!is_nul_in_text(&DbError::NotFound));
        }
    }

    crate::store_test! {
        fn a_repeated_static_query_is_prepared_once_per_connection(test_db) {
            use std::sync::atomic::{AtomicUsize, Ordering};
            use std::sync::Arc;
            let (pool, _) = open(&test_db.target, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let prepared = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&prepared);
            conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
                if let diesel::connection::InstrumentationEvent::CacheQuery { .. } = event {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            for _ in 0..5 {
                organizations::get(&mut conn, "no-such-organization").unwrap();
            }
            assert_eq!(prepared.load(Ordering::Relaxed), 1, "prepared (and cached) once, then reused");
        }
    }

    #[test]
    fn the_bundled_sqlite_keeps_its_plans_whatever_the_bound_values() {
        let db = crate::store::testing::TestDatabase::sqlite();
        let (pool, _) = open(&db.target, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let DbConnection::Sqlite(conn) = &mut *conn else { panic!("SQLite expected") };
        assert!(sqlite_has_stable_plans(conn).unwrap(), "LIBSQLITE3_FLAGS of .cargo/config.toml not applied");
    }

    #[test]
    fn url_scheme_selects_the_backend() {
        assert_eq!(
            DatabaseTarget::parse("postgres://u@h/db").unwrap(),
            DatabaseTarget::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(DatabaseTarget::parse("postgresql://h/db").unwrap(), DatabaseTarget::Postgres(_)));
        assert_eq!(
            DatabaseTarget::parse("sqlite:///var/phr.db").unwrap(),
            DatabaseTarget::Sqlite("/var/phr.db".into())
        );
        assert_eq!(DatabaseTarget::parse("data/phr.db").unwrap(), DatabaseTarget::Sqlite("data/phr.db".into()));
    }

    #[test]
    fn mistyped_or_unsupported_schemes_are_errors_not_sqlite_files() {
        for url in ["postgress://u@h/db", "mysql://h/db", "postgre://x"] {
            let err = DatabaseTarget::parse(url).unwrap_err();
            assert!(err.to_string().contains("unsupported database URL scheme"), "{url}: {err}");
        }
    }

    #[test]
    fn in_memory_sqlite_is_refused() {
        for url in [":memory:", "sqlite://:memory:", "sqlite://", "file:x?mode=memory"] {
            assert!(DatabaseTarget::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn display_redacts_passwords() {
        let t = DatabaseTarget::parse("postgres://phr:pw@h:5432/db?sslmode=require&password=pw2").unwrap();
        let s = t.to_string();
        assert_eq!(s, "postgres://phr:***@h:5432/db?sslmode=require&password=***");
        assert_eq!(format!("{t:?}"), s);
    }
}
