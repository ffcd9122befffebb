//! Coverage-guided fuzz target `sync_bodies`: see `phr_tests::fuzz::sync_bodies` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh sync_bodies SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::sync_bodies(data));
