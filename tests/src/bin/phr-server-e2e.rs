//! The server under test; identical to the `phr-server` binary.

fn main() -> std::process::ExitCode {
    phr_server::cli::main()
}
