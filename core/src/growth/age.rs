//! Age for a growth chart: days since birth, corrected for prematurity.

use chrono::NaiveDate;

/// Babies born before this many days of gestation (37 weeks) are plotted at
/// their corrected age.
pub const PRETERM_BEFORE_DAYS: u32 = 37 * 7;
/// Term: 40 weeks.
const TERM_DAYS: i64 = 280;
/// Correction stops at 24 months (731 days of chronological age).
const CORRECT_UNTIL_DAYS: i64 = 731;

/// Days from `birth` to `on` (negative before birth).
pub fn age_days(birth: NaiveDate, on: NaiveDate) -> i64 {
    (on - birth).num_days()
}

/// The corrected age in days of a baby born at `gestation_days` (e.g. 32
/// weeks 3 days = 227), measured on `on`: chronological age minus the weeks
/// born early, for babies born before 37 weeks and until 24 months of
/// chronological age; `None` when no correction applies.
pub fn corrected_age_days(birth: NaiveDate, on: NaiveDate, gestation_days: Option<u32>) -> Option<i64> {
    let ga = gestation_days?;
    let age = age_days(birth, on);
    (ga < PRETERM_BEFORE_DAYS && age < CORRECT_UNTIL_DAYS).then(|| age - (TERM_DAYS - i64::from(ga)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_baby_born_at_32_weeks_is_eight_weeks_younger_until_two_years() {
        let birth = d("2026-01-01");
        assert_eq!(corrected_age_days(birth, d("2026-04-01"), Some(32 * 7)), Some(90 - 56));
        assert_eq!(corrected_age_days(birth, d("2027-12-31"), Some(32 * 7)), Some(729 - 56));
        assert_eq!(corrected_age_days(birth, d("2028-01-02"), Some(32 * 7)), None, "not after 24 months");
    }

    #[test]
    fn term_babies_and_unknown_gestation_are_not_corrected() {
        let birth = d("2026-01-01");
        assert_eq!(corrected_age_days(birth, d("2026-04-01"), Some(37 * 7)), None);
        assert_eq!(corrected_age_days(birth, d("2026-04-01"), None), None);
    }
}
