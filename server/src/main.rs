//! The `phr-server` binary: see `phr-server --help`.

fn main() -> std::process::ExitCode {
    phr_server::cli::main()
}
