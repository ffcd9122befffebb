//! The LMS method (Cole & Green 1992) as the WHO applies it.

/// Box-Cox power (L), median (M) and coefficient of variation (S) at one age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lms {
    /// L: the Box-Cox power.
    pub l: f64,
    /// M: the median.
    pub m: f64,
    /// S: the coefficient of variation.
    pub s: f64,
}

impl Lms {
    /// The measurement at `z` by the LMS curve (no WHO adjustment).
    fn raw_value(&self, z: f64) -> f64 {
        if self.l.abs() < 1e-12 {
            self.m * (self.s * z).exp()
        } else {
            self.m * (1.0 + self.l * self.s * z).powf(1.0 / self.l)
        }
    }
}

/// The z-score of measurement `y` (same unit as M). Beyond ±3 the WHO
/// restricted rule applies: the distance past the ±3 SD line is measured in
/// units of the gap between the ±2 and ±3 SD lines (WHO Child Growth
/// Standards, methods and development, 2006, chapter 7), so a skewed tail does
/// not stretch extreme values. `None` for a measurement that is not positive.
pub fn z_score(lms: Lms, y: f64) -> Option<f64> {
    let z = z_score_plain(lms, y)?;
    let z = if z > 3.0 {
        let sd3 = lms.raw_value(3.0);
        3.0 + (y - sd3) / (sd3 - lms.raw_value(2.0))
    } else if z < -3.0 {
        let sd3 = lms.raw_value(-3.0);
        -3.0 + (y - sd3) / (lms.raw_value(-2.0) - sd3)
    } else {
        z
    };
    z.is_finite().then_some(z)
}

/// The z-score of measurement `y` by the LMS formula alone, at any distance from the median
/// (what references other than the WHO's, e.g. the Japanese 2000 reference, use). `None` for
/// a measurement that is not positive.
pub fn z_score_plain(lms: Lms, y: f64) -> Option<f64> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(y) || !positive(lms.m) || !positive(lms.s) {
        return None;
    }
    let z =
        if lms.l.abs() < 1e-12 { (y / lms.m).ln() / lms.s } else { ((y / lms.m).powf(lms.l) - 1.0) / (lms.s * lms.l) };
    z.is_finite().then_some(z)
}

/// The measurement at z-score `z`, the inverse of [`z_score`] (also beyond ±3).
pub fn value_at_z(lms: Lms, z: f64) -> f64 {
    if z > 3.0 {
        let sd3 = lms.raw_value(3.0);
        sd3 + (z - 3.0) * (sd3 - lms.raw_value(2.0))
    } else if z < -3.0 {
        let sd3 = lms.raw_value(-3.0);
        sd3 + (z + 3.0) * (lms.raw_value(-2.0) - sd3)
    } else {
        lms.raw_value(z)
    }
}

/// The percentile (0–100) of a z-score: 100 × Φ(z).
pub fn percentile(z: f64) -> f64 {
    50.0 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    // WHO weight-for-age, boys, day 0 (expanded table): L 0.3487, M 3.3464, S 0.14602.
    const BOYS_WEIGHT_BIRTH: Lms = Lms { l: 0.3487, m: 3.3464, s: 0.14602 };

    #[test]
    fn the_median_is_z_zero_and_the_50th_percentile() {
        assert!(z_score(BOYS_WEIGHT_BIRTH, 3.3464).unwrap().abs() < 1e-12);
        assert!((percentile(0.0) - 50.0).abs() < 1e-12);
    }

    #[test]
    fn sd_lines_match_the_who_published_z_score_table_for_boys_at_birth() {
        // WHO weight-for-age boys, z-score table, birth row: -3 SD 2.1, -2 SD 2.5, -1 SD 2.9,
        // median 3.3, +1 SD 3.9, +2 SD 4.4, +3 SD 5.0 (kg, one decimal).
        let published = [(-3.0, 2.1), (-2.0, 2.5), (-1.0, 2.9), (0.0, 3.3), (1.0, 3.9), (2.0, 4.4), (3.0, 5.0)];
        for (z, kg) in published {
            let v = value_at_z(BOYS_WEIGHT_BIRTH, z);
            assert!((v - kg).abs() < 0.05 + 1e-9, "z {z}: {v} vs {kg}");
            assert!((z_score(BOYS_WEIGHT_BIRTH, v).unwrap() - z).abs() < 1e-9);
        }
    }

    #[test]
    fn the_plain_formula_does_not_restrict_the_tail_and_agrees_within_three_sd() {
        let lms = Lms { l: -0.3521, m: 9.5032, s: 0.08295 };
        for y in [7.6, 8.1, 9.5, 11.3, 12.0] {
            assert!((z_score_plain(lms, y).unwrap() - z_score(lms, y).unwrap()).abs() < 1e-12, "{y}");
        }
        let far = lms.raw_value(4.0);
        assert!((z_score_plain(lms, far).unwrap() - 4.0).abs() < 1e-9);
        assert!((z_score(lms, far).unwrap() - 4.0).abs() > 0.01, "the WHO rule measures the tail differently");
        assert_eq!(z_score_plain(lms, 0.0), None);
    }

    #[test]
    fn beyond_three_sd_the_who_rule_measures_in_the_two_to_three_gap() {
        let sd3 = value_at_z(BOYS_WEIGHT_BIRTH, 3.0);
        let sd2 = value_at_z(BOYS_WEIGHT_BIRTH, 2.0);
        let z = z_score(BOYS_WEIGHT_BIRTH, sd3 + (sd3 - sd2)).unwrap();
        assert!((z - 4.0).abs() < 1e-9, "{z}");
        let sd3n = value_at_z(BOYS_WEIGHT_BIRTH, -3.0);
        let sd2n = value_at_z(BOYS_WEIGHT_BIRTH, -2.0);
        let z = z_score(BOYS_WEIGHT_BIRTH, sd3n - (sd2n - sd3n) / 2.0).unwrap();
        assert!((z + 3.5).abs() < 1e-9, "{z}");
        for z in [-5.0, -3.5, 3.5, 5.0] {
            assert!((z_score(BOYS_WEIGHT_BIRTH, value_at_z(BOYS_WEIGHT_BIRTH, z)).unwrap() - z).abs() < 1e-9);
        }
    }

    #[test]
    fn percentiles_of_the_major_lines() {
        for (z, p) in [(-1.880_793_6, 3.0), (-1.281_551_6, 10.0), (1.281_551_6, 90.0), (1.880_793_6, 97.0)] {
            assert!((percentile(z) - p).abs() < 1e-4, "{z}");
        }
    }

    #[test]
    fn a_measurement_that_is_not_positive_has_no_z_score() {
        for y in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(z_score(BOYS_WEIGHT_BIRTH, y), None, "{y}");
        }
        let l_zero = Lms { l: 0.0, m: 50.0, s: 0.04 };
        assert!((z_score(l_zero, 50.0 * (0.04f64).exp()).unwrap() - 1.0).abs() < 1e-12);
    }
}
