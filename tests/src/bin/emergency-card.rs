//! Writes an emergency card for a QR decoder no one here wrote (`.ci/run`
//! renders it with rsvg-convert and reads it back with zbarimg).
//!
//! `cargo run -p phr-tests --bin emergency-card -- OUT_DIR` writes
//! `card.svg` (`phr_core::emergency_card::card_svg` of a SMART Health Link
//! with a passcode flag and a Japanese label) and `link.txt` (the `shlink:/`
//! text the code must decode to, without a newline).

use std::path::Path;
use std::process::ExitCode;

use phr_core::crypto::shl::{ShlFlags, ShlKey, ShlPayload};
use phr_core::emergency_card::card_svg;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out] = args.as_slice() else {
        eprintln!("usage: emergency-card OUT_DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emergency-card: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(out: &Path) -> Result<(), String> {
    let key = ShlKey::generate().map_err(|e| e.to_string())?;
    let payload = ShlPayload {
        url: "https://phr.example.org/shl/3q8fJ0v9n2Qm4k7W1x5Z6b8c0d2e4g6h8j0l2n4p6r8".into(),
        key,
        exp: None,
        flags: ShlFlags { long_term: true, passcode: true, direct_file: false },
        label: Some("山田 花子 — 緊急サマリー".into()),
    };
    let link = payload.encode().map_err(|e| e.to_string())?;
    let svg = card_svg(&link, "緊急カード / Emergency card", "山田 花子 — 緊急サマリー").map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    std::fs::write(out.join("card.svg"), svg).map_err(|e| e.to_string())?;
    std::fs::write(out.join("link.txt"), &link).map_err(|e| e.to_string())?;
    println!("emergency-card: wrote card.svg and link.txt to {}", out.display());
    Ok(())
}
