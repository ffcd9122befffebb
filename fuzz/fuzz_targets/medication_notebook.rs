//! Coverage-guided fuzz target `medication_notebook`: see `phr_tests::fuzz::medication_notebook` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh medication_notebook SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::medication_notebook(data));
