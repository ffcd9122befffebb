//! Growth scoring (run: `cargo bench -p phr-core --bench growth`):
//! - `growth_z_scores_100_points`: a 100-point series (weight, length, head
//!   circumference, BMI and weight-for-length/height each) scored against the
//!   WHO standards, tables already loaded (target ≤ 1 ms);
//! - `growth_z_scores_100_points_both_references`: the same series against
//!   the WHO standards and the Japanese 2000 reference (weight and length
//!   too), as the app scores it;
//! - `growth_chart_svg`: the SVG chart of a 30-point weight series (target ≤ 5 ms);
//! - `growth_tables_first_load`: parsing the four shipped tables (what the
//!   first call in a process pays once).

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::dataset::common::Sex;
use phr_core::growth::{assess, chart_svg, ChartPoint, GrowthMeasure, GrowthReference, Measurement};

fn series() -> (NaiveDate, Vec<Measurement>) {
    let birth = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    let points = (0..100u64)
        .map(|i| Measurement {
            date: birth + chrono::Days::new(i * 18),
            weight_kg: Some(3.2 + i as f64 * 0.12),
            length_cm: Some(50.0 + i as f64 * 0.5),
            head_circumference_cm: Some(34.0 + i as f64 * 0.1),
        })
        .collect();
    (birth, points)
}

fn benches(c: &mut Criterion) {
    let (birth, points) = series();
    let who = [GrowthReference::Who2006];
    let scored = assess(&who, Sex::Female, birth, Some(35 * 7), &points);
    assert_eq!(scored.iter().map(|a| a.scores.len()).sum::<usize>(), 500, "every point scored on five indicators");
    c.bench_function("growth_z_scores_100_points", |b| {
        b.iter(|| assess(&who, Sex::Female, birth, Some(35 * 7), black_box(&points)))
    });
    let both = assess(&GrowthReference::ALL, Sex::Female, birth, Some(35 * 7), &points);
    assert_eq!(both.iter().map(|a| a.scores.len()).sum::<usize>(), 700, "and on two against the Japanese reference");
    c.bench_function("growth_z_scores_100_points_both_references", |b| {
        b.iter(|| assess(&GrowthReference::ALL, Sex::Female, birth, Some(35 * 7), black_box(&points)))
    });
    let chart_points: Vec<ChartPoint> = points
        .iter()
        .take(30)
        .enumerate()
        .map(|(i, m)| ChartPoint { age_days: i as i64 * 18, value: m.weight_kg.unwrap_or(3.0), length_cm: m.length_cm })
        .collect();
    c.bench_function("growth_chart_svg", |b| {
        b.iter(|| {
            chart_svg(
                GrowthReference::Who2006,
                GrowthMeasure::WeightForAge,
                Sex::Female,
                black_box(&chart_points),
                false,
                "ja",
            )
            .expect("a chart")
        })
    });
    let csv = include_str!("../src/growth/data/who2006_weight_for_age.csv");
    c.bench_function("growth_tables_first_load", |b| {
        b.iter(|| {
            // What `reference` does once per table, for the four tables.
            let mut n = 0.0;
            for _ in 0..4 {
                for line in black_box(csv).lines().skip(1) {
                    let f: Vec<&str> = line.split(',').collect();
                    n += f[3].parse::<f64>().unwrap_or(0.0);
                }
            }
            n
        })
    });
}

criterion_group!(growth_benches, benches);
criterion_main!(growth_benches);
