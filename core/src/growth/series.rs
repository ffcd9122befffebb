//! A child's growth series scored against a reference: z-score and
//! percentile of each measurement, the age used (corrected for prematurity
//! when it applies), and flags an app may show — data, never a diagnosis.

use chrono::NaiveDate;

use super::age::{age_days, corrected_age_days};
use super::lms::{percentile, z_score};
use super::reference::{lookup, GrowthMeasure, GrowthReference};
use crate::dataset::common::Sex;

/// The major percentile lines of a chart (3, 10, 25, 50, 75, 90, 97).
pub const MAJOR_PERCENTILES: [f64; 7] = [3.0, 10.0, 25.0, 50.0, 75.0, 90.0, 97.0];

/// One measurement day.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measurement {
    /// The day measured.
    pub date: NaiveDate,
    /// Weight (kg).
    pub weight_kg: Option<f64>,
    /// Length or height (cm).
    pub length_cm: Option<f64>,
    /// Head circumference (cm).
    pub head_circumference_cm: Option<f64>,
}

/// One measurement against the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReferenceScore {
    /// What was measured.
    pub indicator: GrowthMeasure,
    /// The z-score (WHO rule beyond ±3).
    pub z: f64,
    /// The percentile, 0–100.
    pub percentile: f64,
}

/// What a flag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GrowthFlagKind {
    /// Below the 3rd percentile.
    BelowThirdPercentile,
    /// Above the 97th percentile.
    AboveNinetySeventhPercentile,
    /// Down across two or more major percentile lines since the previous measurement.
    CrossedTwoLinesDownward,
}

/// A flag on one indicator of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GrowthFlag {
    /// Which indicator.
    pub indicator: GrowthMeasure,
    /// What it says.
    pub kind: GrowthFlagKind,
}

/// One measurement day, scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    /// Days since birth.
    pub age_days: i64,
    /// The corrected age in days, when the baby was born before 37 weeks and is under 24 months.
    pub corrected_age_days: Option<i64>,
    /// The scores of what was measured (and BMI when weight and length were).
    pub scores: Vec<ReferenceScore>,
    /// The flags.
    pub flags: Vec<GrowthFlag>,
}

/// Body mass index (kg/m²) of a weight and a length or height, when both are known.
pub fn bmi(weight_kg: Option<f64>, length_cm: Option<f64>) -> Option<f64> {
    match (weight_kg, length_cm) {
        (Some(w), Some(l)) if l > 0.0 => Some(w / (l / 100.0).powi(2)),
        _ => None,
    }
}

fn values(m: &Measurement) -> [(GrowthMeasure, Option<f64>); 4] {
    let bmi = bmi(m.weight_kg, m.length_cm);
    [
        (GrowthMeasure::WeightForAge, m.weight_kg),
        (GrowthMeasure::LengthHeightForAge, m.length_cm),
        (GrowthMeasure::HeadCircumferenceForAge, m.head_circumference_cm),
        (GrowthMeasure::BmiForAge, bmi),
    ]
}

/// Scores `points` (oldest first) of a child born on `birth` (at
/// `gestation_days`, when known) against `reference`. A point outside the
/// reference's ages, or of a sex it has no table for, has no scores.
pub fn assess(
    reference: GrowthReference,
    sex: Sex,
    birth: NaiveDate,
    gestation_days: Option<u32>,
    points: &[Measurement],
) -> Vec<Assessed> {
    let mut last: [Option<f64>; 4] = [None; 4];
    points
        .iter()
        .map(|m| {
            let age = age_days(birth, m.date);
            let corrected = corrected_age_days(birth, m.date, gestation_days);
            let plot_age = corrected.unwrap_or(age).max(0);
            let mut scores = Vec::new();
            let mut flags = Vec::new();
            for (i, (indicator, value)) in values(m).into_iter().enumerate() {
                let Some(v) = value else { continue };
                let Some(z) = lookup(reference, indicator, sex, plot_age).and_then(|lms| z_score(lms, v)) else {
                    continue;
                };
                let p = percentile(z);
                scores.push(ReferenceScore { indicator, z, percentile: p });
                if p < 3.0 {
                    flags.push(GrowthFlag { indicator, kind: GrowthFlagKind::BelowThirdPercentile });
                } else if p > 97.0 {
                    flags.push(GrowthFlag { indicator, kind: GrowthFlagKind::AboveNinetySeventhPercentile });
                }
                if let Some(before) = last[i] {
                    let crossed = MAJOR_PERCENTILES.iter().filter(|line| before > **line && p <= **line).count();
                    if crossed >= 2 {
                        flags.push(GrowthFlag { indicator, kind: GrowthFlagKind::CrossedTwoLinesDownward });
                    }
                }
                last[i] = Some(p);
            }
            Assessed { age_days: age, corrected_age_days: corrected, scores, flags }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::lms::value_at_z;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn weight_at(sex: Sex, day: i64, z: f64) -> f64 {
        value_at_z(lookup(GrowthReference::Who2006, GrowthMeasure::WeightForAge, sex, day).unwrap(), z)
    }

    #[test]
    fn a_median_girl_scores_zero_at_the_50th_percentile_with_bmi_when_length_is_known() {
        let birth = d("2026-01-01");
        let m =
            Measurement { date: birth, weight_kg: Some(3.2322), length_cm: Some(49.1477), head_circumference_cm: None };
        let a = &assess(GrowthReference::Who2006, Sex::Female, birth, None, &[m])[0];
        assert_eq!(a.scores[0].indicator, GrowthMeasure::WeightForAge);
        assert!(a.scores[0].z.abs() < 1e-9 && (a.scores[0].percentile - 50.0).abs() < 1e-6);
        assert_eq!(a.scores.len(), 3, "weight, length and BMI");
        assert!(a.flags.is_empty());
    }

    #[test]
    fn a_preterm_baby_is_scored_at_the_corrected_age() {
        let birth = d("2026-01-01");
        let on = d("2026-04-01"); // 90 days; born at 32 weeks: corrected 34 days
        let m = Measurement { date: on, weight_kg: Some(weight_at(Sex::Male, 34, 0.0)), ..Default::default() };
        let a = &assess(GrowthReference::Who2006, Sex::Male, birth, Some(32 * 7), &[m])[0];
        assert_eq!((a.age_days, a.corrected_age_days), (90, Some(34)));
        assert!(a.scores[0].z.abs() < 1e-9, "median for the corrected age: {}", a.scores[0].z);
        let uncorrected = &assess(GrowthReference::Who2006, Sex::Male, birth, None, &[m])[0];
        assert!(uncorrected.scores[0].z < -1.0, "{}", uncorrected.scores[0].z);
    }

    #[test]
    fn dropping_across_two_major_lines_and_extremes_are_flagged() {
        let birth = d("2026-01-01");
        let at = |day: i64, z: f64| Measurement {
            date: birth + chrono::Days::new(day as u64),
            weight_kg: Some(weight_at(Sex::Female, day, z)),
            ..Default::default()
        };
        // 60th → 30th percentile: crosses 50 only; 30th → 5th: crosses 25 and 10.
        let a =
            assess(GrowthReference::Who2006, Sex::Female, birth, None, &[at(30, 0.25), at(120, -0.52), at(210, -1.64)]);
        assert!(a[1].flags.is_empty(), "{:?}", a[1].flags);
        assert_eq!(
            a[2].flags,
            vec![GrowthFlag { indicator: GrowthMeasure::WeightForAge, kind: GrowthFlagKind::CrossedTwoLinesDownward }]
        );
        let low = assess(GrowthReference::Who2006, Sex::Female, birth, None, &[at(60, -2.5)]);
        assert_eq!(low[0].flags[0].kind, GrowthFlagKind::BelowThirdPercentile);
        let high = assess(GrowthReference::Who2006, Sex::Female, birth, None, &[at(60, 2.5)]);
        assert_eq!(high[0].flags[0].kind, GrowthFlagKind::AboveNinetySeventhPercentile);
    }

    #[test]
    fn outside_the_reference_or_without_a_binary_sex_nothing_is_scored() {
        let birth = d("2020-01-01");
        let m = Measurement { date: d("2026-01-01"), weight_kg: Some(20.0), ..Default::default() };
        assert!(assess(GrowthReference::Who2006, Sex::Male, birth, None, &[m])[0].scores.is_empty());
        let m = Measurement { date: d("2020-02-01"), weight_kg: Some(4.0), ..Default::default() };
        assert!(assess(GrowthReference::Who2006, Sex::Unknown, birth, None, &[m])[0].scores.is_empty());
    }
}
