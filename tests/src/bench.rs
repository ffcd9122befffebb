//! What the `bench-*` binaries share: each binary is also the server it
//! measures (started again with [`SERVE_ENV`]`=1`, so the figures are of the
//! same build), parses its flags, runs, and prints `name value unit` lines.

use std::process::ExitCode;

/// Set to `1` in the environment of the child process that plays the server.
pub const SERVE_ENV: &str = "PHR_BENCH_SERVE";

/// The `main` of a benchmark binary: the server when [`SERVE_ENV`] is `1`,
/// otherwise `run` with the parsed flags; a failure is one line on stderr and exit 1.
pub fn bench_main<A: clap::Parser>(name: &str, run: impl FnOnce(&A) -> Result<(), String>) -> ExitCode {
    if std::env::var_os(SERVE_ENV).is_some_and(|v| v == "1") {
        return phr_server::cli::main();
    }
    let args = A::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database a bench runs on: a fresh SQLite file, or with `postgres_admin_url` a fresh
/// PostgreSQL database the bench creates there (and drops when the value is dropped).
pub fn bench_database(postgres_admin_url: Option<&str>) -> Result<crate::TestDatabase, String> {
    match postgres_admin_url {
        Some(admin) => {
            std::env::set_var(phr_server::store::testing::POSTGRES_URL_ENV, admin);
            crate::TestDatabase::postgres().ok_or_else(|| "cannot create a PostgreSQL database".to_owned())
        }
        None => Ok(crate::TestDatabase::sqlite()),
    }
}

/// This binary started again as the server ([`SERVE_ENV`]) on `db`, with `data_dir` and `extra_args`.
pub fn bench_server(
    db: &crate::TestDatabase,
    data_dir: &std::path::Path,
    extra_args: &[&str],
) -> Result<crate::ServerProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    Ok(crate::ServerProcess::start(crate::ServerOptions {
        binary: &exe,
        data_dir,
        database_url: Some(db.url()),
        extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        env: vec![(SERVE_ENV.to_owned(), "1".to_owned())],
        text_logs: false,
        fd_soft_limit: None,
    }))
}
