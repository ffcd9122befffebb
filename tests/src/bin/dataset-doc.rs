//! Prints `docs/dataset.md`, generated from the dataset types, their
//! validation and the FHIR mapping (see `phr_tests::dataset_doc`):
//! `cargo run -p phr-tests --bin dataset-doc > docs/dataset.md`.

fn main() {
    print!("{}", phr_tests::dataset_doc::render());
}
