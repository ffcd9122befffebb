//! Coverage-guided fuzz target `record_envelope`: see `phr_tests::fuzz::record_envelope` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh record_envelope SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::record_envelope(data));
