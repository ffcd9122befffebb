//! Coverage-guided fuzz target `record_history_json`: see `phr_tests::fuzz::record_history_json` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh record_history_json SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::record_history_json(data));
