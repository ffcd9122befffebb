//! Embeds every message catalog `locales/<language>/phr.ftl` (Fluent) into
//! the library, so a new language is a new file and nothing else.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut languages: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("core/locales exists") {
        let path = entry.expect("a directory entry").path();
        let file = path.join("phr.ftl");
        if file.is_file() {
            println!("cargo:rerun-if-changed={}", file.display());
            let tag = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 language tag").to_owned();
            languages.push((tag, file.display().to_string()));
        }
    }
    languages.sort();
    let mut out = String::from(
        "/// Every catalog: (language tag, Fluent source), by tag.\npub const CATALOGS: &[(&str, &str)] = &[\n",
    );
    for (tag, file) in &languages {
        out.push_str(&format!("    ({tag:?}, include_str!({file:?})),\n"));
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogs.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
