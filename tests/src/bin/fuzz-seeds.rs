//! Writes the starting corpus of every fuzz target (`phr_tests::fuzz::seeds`)
//! to `DIR/<target>/seed-<n>`: `cargo run -p phr-tests --bin fuzz-seeds -- DIR`.
//! `scripts/fuzz.sh` calls it before a run.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz-seeds DIR");
        return ExitCode::from(2);
    };
    for (name, _) in phr_tests::fuzz::TARGETS {
        let target_dir = dir.join(name);
        let written = std::fs::create_dir_all(&target_dir).and_then(|()| {
            phr_tests::fuzz::seeds(name)
                .iter()
                .enumerate()
                .try_for_each(|(i, seed)| std::fs::write(target_dir.join(format!("seed-{i}")), seed))
        });
        if let Err(e) = written {
            eprintln!("cannot write the seeds of {name} to {}: {e}", target_dir.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
