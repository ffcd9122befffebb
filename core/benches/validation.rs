//! Cost of validating dataset records (run: `cargo bench -p phr-core --bench validation`).

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::prenatal_visit::{
    BloodPressure, CervicalCytology, Dental, Edema, FetalPresentation, InfectionScreens, Labs, RubellaImmunity,
    ScreenResult, UrineStrip,
};
use phr_core::dataset::{GestationalAge, Pregnancy, PrenatalVisit, Quantity, Validate, ValidationContext};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid benchmark date")
}

/// A visit with every item recorded, at 13w0d of a pregnancy with LMP 2026-01-01.
fn full_visit() -> PrenatalVisit {
    PrenatalVisit {
        visit_date: date(2026, 4, 2),
        clinic_name: Some("さくら産婦人科".into()),
        clinic_id: Some("1312345678".into()),
        gestational_age: Some(GestationalAge::new(13, 0)),
        body_weight: Some(Quantity::new(54.2)),
        blood_pressure: Some(BloodPressure { systolic: Quantity::new(112.0), diastolic: Quantity::new(70.0) }),
        fundal_height: Some(Quantity::new(12.0)),
        abdominal_girth: Some(Quantity::new(78.5)),
        edema: Some(Edema::Negative),
        urine_protein: Some(UrineStrip::Trace),
        urine_glucose: Some(UrineStrip::Negative),
        fetal_heart_rate: Some(Quantity::new(152.0)),
        fetal_presentation: Some(FetalPresentation::Cephalic),
        labs: Some(Labs {
            hemoglobin: Some(Quantity::new(11.8)),
            hematocrit: Some(Quantity::new(35.4)),
            platelets: Some(Quantity::new(245.0)),
        }),
        infection_screens: Some(InfectionScreens {
            hbs_ag: Some(ScreenResult::Negative),
            hcv_antibody: Some(ScreenResult::Negative),
            rubella_antibody: Some(RubellaImmunity::Immune),
            htlv1_antibody: Some(ScreenResult::Negative),
            gbs: Some(ScreenResult::Negative),
            cervical_cytology: Some(CervicalCytology::Nilm),
        }),
        hypertensive_disorder: Some(false),
        gestational_diabetes: Some(false),
        dental: Some(Dental { caries_count: Some(1), calculus: Some(true), gingivitis: Some(false) }),
        note: Some("経過良好。次回は4週間後。".repeat(20)),
    }
}

fn validate_prenatal_visit(c: &mut Criterion) {
    let pregnancy = Pregnancy {
        last_menstrual_period: Some(date(2026, 1, 1)),
        estimated_delivery_date: Some(date(2026, 10, 8)),
        number_of_fetuses: Some(1),
        status: PregnancyStatus::Ongoing,
        outcome_date: None,
    };
    let ctx = ValidationContext::new(date(2026, 5, 1)).with_pregnancy(&pregnancy);
    let visit = full_visit();
    assert!(visit.validate(&ctx).is_ok(), "the benchmark visit must be valid");
    c.bench_function("validate_prenatal_visit", |b| b.iter(|| black_box(&visit).validate(black_box(&ctx))));
}

criterion_group!(benches, validate_prenatal_visit);
criterion_main!(benches);
