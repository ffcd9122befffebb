//! The mother's prenatal measurements over her pregnancy, as charts against
//! gestational age: blood pressure, weight gain and fundal height.
//!
//! | file | owns |
//! |---|---|
//! | [`chart`] | the prenatal chart as an accessible SVG (0–42 weeks; the 140/90 mmHg thresholds, a zero line, McDonald's rule for fundal height; Japanese or English labels) |
//! | this file | the chart's points from the dataset's [`PrenatalVisit`] records, and the pre-pregnancy weight the gain is counted from |
//!
//! **Where the numbers come from.** Gestational age, body weight, blood
//! pressure and fundal height are the items of a prenatal visit
//! ([`crate::dataset::prenatal_visit`]). The weight before pregnancy is not
//! in the pregnancy record ([`crate::dataset::Pregnancy`] holds only its
//! dating, fetus count and outcome): it is the mother's profile's
//! `pre_pregnancy_weight` ([`MotherProfile::pre_pregnancy_weight`], LOINC
//! 56077-1), one value per mother. For a later pregnancy that is the value the
//! profile holds now; an app that keeps one per pregnancy passes its own to
//! [`points_from_visits`].

pub mod chart;

pub use chart::{chart_svg, PrenatalChartPoint, PrenatalMeasure};

use crate::dataset::common::round_to;
use crate::dataset::{MotherProfile, PrenatalVisit};

/// The mother's weight before pregnancy in kg, from her profile
/// ([`MotherProfile::pre_pregnancy_weight`]); `None` when it is not recorded,
/// not finite or not positive.
pub fn pre_pregnancy_weight_kg(profile: &MotherProfile) -> Option<f64> {
    profile.pre_pregnancy_weight.map(|w| w.value).filter(|w| w.is_finite() && *w > 0.0)
}

/// The chart points of `visits`, the prenatal visits of one pregnancy, in
/// order of gestational age (visits on the same day in their given order).
/// A visit's gestational age is its own `gestational_age` item; a visit
/// without one is skipped (an app can fill it from the pregnancy's dating,
/// [`crate::dataset::Pregnancy::gestational_age_on`], before calling this).
/// The weight gain is the visit's `body_weight` minus
/// `pre_pregnancy_weight_kg` (see [`pre_pregnancy_weight_kg`]), rounded to
/// 0.01 kg; `None` when either is missing. Values that are not finite become
/// `None`; the chart leaves out the rest of what it cannot draw.
pub fn points_from_visits(visits: &[&PrenatalVisit], pre_pregnancy_weight_kg: Option<f64>) -> Vec<PrenatalChartPoint> {
    let finite = |v: f64| v.is_finite().then_some(v);
    let before = pre_pregnancy_weight_kg.and_then(finite);
    let mut points: Vec<PrenatalChartPoint> = visits
        .iter()
        .filter_map(|visit| {
            let age = visit.gestational_age?;
            let bp = visit.blood_pressure.as_ref();
            Some(PrenatalChartPoint {
                gestational_days: age.total_days(),
                systolic: bp.and_then(|b| finite(b.systolic.value)),
                diastolic: bp.and_then(|b| finite(b.diastolic.value)),
                weight_gain_kg: visit
                    .body_weight
                    .and_then(|w| finite(w.value))
                    .zip(before)
                    .and_then(|(now, before)| finite(round_to(now - before, 2))),
                fundal_height_cm: visit.fundal_height.and_then(|h| finite(h.value)),
            })
        })
        .collect();
    points.sort_by_key(|p| p.gestational_days);
    points
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::dataset::examples::{mother_profile_full, mother_profile_minimal, prenatal_visit_full};
    use crate::dataset::prenatal_visit::BloodPressure;
    use crate::dataset::{GestationalAge, Quantity};

    fn visit(day: u32, age: Option<(u8, u8)>, weight: Option<f64>) -> PrenatalVisit {
        let mut v = PrenatalVisit::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(day.into()));
        v.gestational_age = age.map(|(w, d)| GestationalAge::new(w, d));
        v.body_weight = weight.map(Quantity::new);
        v
    }

    #[test]
    fn points_from_visits_computes_the_gain_and_skips_visits_without_a_gestational_age() {
        let late = visit(60, Some((20, 1)), Some(56.1));
        let undated = visit(30, None, Some(55.0));
        let early = visit(0, Some((12, 0)), Some(53.0));
        let no_weight = visit(90, Some((24, 3)), None);
        let points = points_from_visits(&[&late, &undated, &early, &no_weight], Some(52.5));
        assert_eq!(points.len(), 3, "the visit without a gestational age is skipped");
        assert_eq!(points.iter().map(|p| p.gestational_days).collect::<Vec<_>>(), [84, 141, 171], "by age");
        assert_eq!(points[0].weight_gain_kg, Some(0.5));
        assert_eq!(points[1].weight_gain_kg, Some(3.6), "56.1 − 52.5, without float noise");
        assert_eq!(points[2].weight_gain_kg, None, "no weight at this visit");
        let without_before = points_from_visits(&[&late], None);
        assert_eq!(without_before[0].weight_gain_kg, None, "no weight before pregnancy");
        assert!(points_from_visits(&[], Some(52.5)).is_empty());
    }

    #[test]
    fn points_from_visits_takes_blood_pressure_and_fundal_height_and_drops_non_finite_values() {
        let full = prenatal_visit_full(); // 13w0d, 54.2 kg, 112/70 mmHg, fundal height 12 cm
        let mut odd = visit(10, Some((30, 0)), Some(f64::NAN));
        odd.blood_pressure =
            Some(BloodPressure { systolic: Quantity::new(f64::INFINITY), diastolic: Quantity::new(80.0) });
        odd.fundal_height = Some(Quantity::new(f64::NAN));
        let before = pre_pregnancy_weight_kg(&mother_profile_full());
        assert_eq!(before, Some(52.5));
        let points = points_from_visits(&[&odd, &full], before);
        assert_eq!(
            points[0],
            PrenatalChartPoint {
                gestational_days: 91,
                systolic: Some(112.0),
                diastolic: Some(70.0),
                weight_gain_kg: Some(1.7),
                fundal_height_cm: Some(12.0),
            }
        );
        assert_eq!(
            points[1],
            PrenatalChartPoint {
                gestational_days: 210,
                systolic: None,
                diastolic: Some(80.0),
                weight_gain_kg: None,
                fundal_height_cm: None
            }
        );
        let svg = chart_svg(PrenatalMeasure::BloodPressure, &points, "en");
        assert!(svg.contains("The latest, at 30+0 weeks, is –/80 mmHg."), "{svg}");
    }

    #[test]
    fn the_pre_pregnancy_weight_comes_from_the_mothers_profile() {
        assert_eq!(pre_pregnancy_weight_kg(&mother_profile_minimal()), None);
        let mut profile = mother_profile_full();
        profile.pre_pregnancy_weight = Some(Quantity::new(f64::NAN));
        assert_eq!(pre_pregnancy_weight_kg(&profile), None);
        profile.pre_pregnancy_weight = Some(Quantity::new(0.0));
        assert_eq!(pre_pregnancy_weight_kg(&profile), None);
    }
}
