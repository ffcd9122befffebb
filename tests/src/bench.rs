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
