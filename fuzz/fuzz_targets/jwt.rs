//! Coverage-guided fuzz target `jwt`: see `phr_tests::fuzz::jwt` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh jwt SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::jwt(data));
