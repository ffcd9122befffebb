//! What is due next (run: `cargo bench -p phr-core --bench due`):
//! `due_list_family_of_3`: a mother at 23 weeks with three visits recorded and
//! two children (3 months and 2 years, with checkups and doses recorded), each
//! person's due list in Japanese — the immunization schedule, both checkup
//! schedules and the catalog texts (target ≤ 2 ms).

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::dataset::child_checkup::CheckupType;
use phr_core::dataset::common::Sex;
use phr_core::dataset::immunization_schedule::immunization_status;
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{examples, Immunization};
use phr_core::due;

fn benches(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
    let mut pregnancy = examples::pregnancy_full();
    pregnancy.status = PregnancyStatus::Ongoing;
    pregnancy.outcome_date = None;
    pregnancy.estimated_delivery_date = NaiveDate::from_ymd_opt(2027, 4, 1);
    let visits: Vec<NaiveDate> =
        ["2026-08-20", "2026-09-17", "2026-10-15"].iter().map(|s| s.parse().expect("a date")).collect();
    let older_birth = NaiveDate::from_ymd_opt(2024, 12, 1).expect("a date");
    let older_doses: Vec<Immunization> = vec![examples::immunization_full()];
    let slots = due::default_prenatal_slots();
    let schedule = due::default_infant_checkups();
    let family = || {
        let mut n = due::prenatal_checkups_due(&slots, &pregnancy, &visits, today, 30, "ja").len();
        let baby = NaiveDate::from_ymd_opt(2026, 8, 20).expect("a date");
        let statuses = immunization_status(baby, Some(Sex::Female), &[], today);
        n += due::child_checkups_due(&schedule, baby, &[CheckupType::Month1], today, 30, "ja").len();
        n += due::immunizations_due(&statuses, today, 30, "ja").len();
        let statuses = immunization_status(older_birth, Some(Sex::Male), &older_doses, today);
        n += due::child_checkups_due(
            &schedule,
            older_birth,
            &[CheckupType::Month1, CheckupType::Months18],
            today,
            30,
            "ja",
        )
        .len();
        n += due::immunizations_due(&statuses, today, 30, "ja").len();
        n
    };
    assert!(family() > 3, "the family has things due");
    c.bench_function("due_list_family_of_3", |b| b.iter(|| black_box(family())));
}

criterion_group!(due_benches, benches);
criterion_main!(due_benches);
