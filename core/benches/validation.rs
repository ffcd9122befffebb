//! Cost of validating dataset records (run: `cargo bench -p phr-core --bench validation`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::dataset::{examples, Validate, ValidationContext};

/// The fully filled example visit (every item recorded), checked against its
/// pregnancy: ranges, the pregnancy window and the gestational-age consistency.
fn validate_prenatal_visit(c: &mut Criterion) {
    let pregnancy = examples::pregnancy_full();
    let ctx = ValidationContext::new(examples::TODAY).with_pregnancy(&pregnancy);
    let mut visit = examples::prenatal_visit_full();
    visit.note = Some("経過良好。次回は4週間後。".repeat(20));
    assert!(visit.validate(&ctx).is_ok(), "the benchmark visit must be valid");
    c.bench_function("validate_prenatal_visit", |b| b.iter(|| black_box(&visit).validate(black_box(&ctx))));
}

criterion_group!(benches, validate_prenatal_visit);
criterion_main!(benches);
