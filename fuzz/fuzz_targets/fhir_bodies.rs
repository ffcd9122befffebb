//! Coverage-guided fuzz target `fhir_bodies`: see `phr_tests::fuzz::fhir_bodies` for what it
//! parses and the invariants it checks. Run: `scripts/fuzz.sh fhir_bodies SECONDS`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| phr_tests::fuzz::fhir_bodies(data));
