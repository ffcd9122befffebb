//! The fuzz targets of `phr_tests::fuzz`, run bounded and on stable as part
//! of the normal test suite: each gets arbitrary bytes and mutations of its
//! valid seeds (bytes replaced, inserted, removed, the input cut short).
//! Coverage-guided runs of the same targets: `scripts/fuzz.sh` (nightly).
//!
//! Inputs a fuzzing run crashed on are kept in
//! `tests/fuzz-regressions/<target>/` and run first, every time.
//!
//! `PHR_FUZZ_CASES` sets the number of inputs per target (default 5,000).

use phr_tests::fuzz::{seeds, TARGETS};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// One edit of a seed: position (scaled to its length), kind and byte.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Replace(p, b)),
        (any::<usize>(), prop::sample::select(b"{}[]\",:0-9eE.nul \\".to_vec())).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Replace(p, b) if len > 0 => bytes[p % len] = b,
            Edit::Insert(p, b) => bytes.insert(p % (len + 1), b),
            Edit::Remove(p) if len > 0 => {
                bytes.remove(p % len);
            }
            Edit::Truncate(p) => bytes.truncate(p % (len + 1)),
            _ => {}
        }
    }
    bytes
}

fn cases() -> u32 {
    std::env::var("PHR_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000)
}

fn run(name: &str) {
    let (_, target) = TARGETS.iter().copied().find(|(n, _)| *n == name).expect("a known target");
    let seeds = seeds(name);
    assert!(!seeds.is_empty(), "{name} has seeds");
    for seed in &seeds {
        target(seed);
    }
    // Every input a fuzzing run ever crashed on stays a test.
    let regressions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-regressions").join(name);
    if let Ok(entries) = std::fs::read_dir(&regressions) {
        for entry in entries {
            let path = entry.expect("a regression input").path();
            target(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        }
    }
    let input = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (prop::sample::select(seeds), prop::collection::vec(edit(), 1..8)).prop_map(|(s, e)| mutate(s, &e)),
    ];
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner
        .run(&input, |bytes| {
            target(&bytes);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("fuzz target {name}: {e}"));
}

#[test]
fn arbitrary_and_mutated_record_envelopes_never_open_and_never_panic() {
    run("record_envelope");
}

#[test]
fn arbitrary_and_mutated_record_histories_parse_validate_and_round_trip_without_panicking() {
    run("record_history_json");
}

#[test]
fn arbitrary_and_mutated_device_api_bodies_parse_and_round_trip_without_panicking() {
    run("sync_bodies");
}

#[test]
fn arbitrary_and_mutated_fhir_bodies_parse_map_and_validate_without_panicking() {
    run("fhir_bodies");
}

#[test]
fn arbitrary_and_mutated_jwts_never_verify_and_never_panic() {
    run("jwt");
}

#[test]
fn arbitrary_and_mutated_medication_notebooks_import_or_fail_typed_and_never_panic() {
    run("medication_notebook");
}

#[test]
fn every_fuzz_target_has_a_bounded_run_here() {
    let here = include_str!("fuzz_targets_bounded.rs");
    for (name, _) in TARGETS {
        assert!(here.contains(&format!("run(\"{name}\")")), "{name} has no bounded test");
    }
}
