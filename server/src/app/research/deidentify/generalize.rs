//! Value generalizations: dates to year-month / quarter / year, relative days,
//! banded numbers, coded ages and percentile top/bottom coding. Pure functions.

use chrono::{Datelike, NaiveDate};

/// How coarse the birth (and delivery) period of a person is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodLevel {
    /// `2025-03`
    Month,
    /// `2025-Q1`
    Quarter,
    /// `2025`
    Year,
}

impl PeriodLevel {
    /// The next coarser level, if any.
    pub fn coarser(self) -> Option<PeriodLevel> {
        match self {
            PeriodLevel::Month => Some(PeriodLevel::Quarter),
            PeriodLevel::Quarter => Some(PeriodLevel::Year),
            PeriodLevel::Year => None,
        }
    }
}

/// A date generalized to `level`: `2025-03`, `2025-Q1` or `2025`.
pub fn period(date: NaiveDate, level: PeriodLevel) -> String {
    match level {
        PeriodLevel::Month => format!("{:04}-{:02}", date.year(), date.month()),
        PeriodLevel::Quarter => format!("{:04}-Q{}", date.year(), (date.month() - 1) / 3 + 1),
        PeriodLevel::Year => format!("{:04}", date.year()),
    }
}

/// Whole days from `anchor` (the child's birth) to `date`; negative before it.
pub fn days_from(anchor: NaiveDate, date: NaiveDate) -> i64 {
    (date - anchor).num_days()
}

/// Birth weight in 250 g bands, with open ends `<1000` and `>=4500`:
/// `1000-1249`, ..., `4250-4499`.
pub fn birth_weight_band(grams: f64) -> String {
    if grams < 1000.0 {
        return "<1000".to_owned();
    }
    if grams >= 4500.0 {
        return ">=4500".to_owned();
    }
    let low = (grams / 250.0).floor() as i64 * 250;
    format!("{}-{}", low, low + 249)
}

/// Gestational age at birth in completed weeks, with the open end `<24`.
pub fn gestational_weeks_band(weeks: u8) -> String {
    if weeks < 24 {
        "<24".to_owned()
    } else {
        weeks.to_string()
    }
}

/// Parity (or gravida) with the open end `3+`.
pub fn parity_band(n: u8) -> String {
    if n >= 3 {
        "3+".to_owned()
    } else {
        n.to_string()
    }
}

/// Plurality: `single` or `twins+`.
pub fn plurality_band(babies: u8) -> &'static str {
    if babies >= 2 {
        "twins+"
    } else {
        "single"
    }
}

/// How coarse a mother's own quasi-identifiers are emitted (see [`super::kanon::plan_mothers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MotherLevel {
    /// Delivery period as her child's birth period, age in 5-year bands, parity `0`/`1`/`2`/`3+`.
    Fine,
    /// Delivery year, age `<25`/`25-34`/`35+`, parity `0`/`1+`.
    Coarse,
}

/// The mother's age at `on` (a delivery) in 5-year bands: `<20`, `20-24`, …, `40-44`, `45+`
/// ([`MotherLevel::Fine`]), or `<25`, `25-34`, `35+` ([`MotherLevel::Coarse`]).
pub fn mother_age_band(birth: NaiveDate, on: NaiveDate, level: MotherLevel) -> Option<String> {
    let years = on.years_since(birth)?;
    Some(match level {
        MotherLevel::Fine if years < 20 => "<20".to_owned(),
        MotherLevel::Fine if years >= 45 => "45+".to_owned(),
        MotherLevel::Fine => {
            let low = years / 5 * 5;
            format!("{low}-{}", low + 4)
        }
        MotherLevel::Coarse if years < 25 => "<25".to_owned(),
        MotherLevel::Coarse if years < 35 => "25-34".to_owned(),
        MotherLevel::Coarse => "35+".to_owned(),
    })
}

/// Parity at a mother's level: [`parity_band`], or `0` / `1+` when coarse.
pub fn mother_parity_band(n: u8, level: MotherLevel) -> String {
    match level {
        MotherLevel::Fine => parity_band(n),
        MotherLevel::Coarse if n == 0 => "0".to_owned(),
        MotherLevel::Coarse => "1+".to_owned(),
    }
}

/// The fewest values of a numeric item for top/bottom coding at the 1st/99th percentile. The
/// bounds are lower-rank order statistics (`floor(p·(n-1))`): from 101 values on, each bound has
/// at least one value beyond it (rank 1 and rank n-2), so clamping moves only values that at least
/// 1 % of the item lies beyond. Below it the "1st percentile" is the minimum itself and the "99th"
/// the second largest value: clamping would move one ordinary reading (the largest) onto another
/// person's. Such items are not clamped; values outside their fixed plausible range are withheld.
pub const CLAMP_MIN_VALUES: u64 = 101;

/// How one numeric value leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coded {
    /// As measured (rounded to one decimal).
    AsMeasured(f64),
    /// Clamped to the 1st or 99th percentile bound (rounded to one decimal).
    Clamped(f64),
    /// Withheld: an item with too few values to clamp, and a value outside its plausible range.
    Masked,
}

/// `value` of an item: clamped into `bounds` when the item had enough values for them, otherwise
/// withheld when outside `plausible` (inclusive), as measured otherwise; rounded to one decimal.
pub fn code_number(value: f64, bounds: Option<(f64, f64)>, plausible: (f64, f64)) -> Coded {
    let round = |v: f64| (v * 10.0).round() / 10.0;
    // The bounds come from the f32 sample: compare at that precision, or a value equal to a bound
    // (54.3 against 54.29999923…) would count as beyond it.
    let sampled = f64::from(value as f32);
    match bounds {
        Some((lo, hi)) if sampled < lo || sampled > hi => Coded::Clamped(round(sampled.clamp(lo, hi))),
        Some(_) => Coded::AsMeasured(round(value)),
        None if value < plausible.0 || value > plausible.1 => Coded::Masked,
        None => Coded::AsMeasured(round(value)),
    }
}

/// The 1st and 99th percentiles of `values` (lower rank, `floor(p·(n-1))`), the bounds numeric
/// items are top- and bottom-coded to. `None` for no values.
pub fn percentile_bounds(values: &mut [f32]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f32::total_cmp);
    let rank = |p: f64| {
        let idx = (p * (values.len() - 1) as f64).floor() as usize;
        f64::from(values[idx.min(values.len() - 1)])
    };
    Some((rank(0.01), rank(0.99)))
}

/// A bounded uniform sample of a numeric item (reservoir sampling, algorithm R)
/// for its percentiles: exact up to [`Reservoir::CAPACITY`] values, a uniform
/// sample beyond, so pass 1 stays the same size whatever the number of records.
#[derive(Debug, Clone, Default)]
pub struct Reservoir {
    seen: u64,
    values: Vec<f32>,
    state: u64,
}

impl Reservoir {
    pub const CAPACITY: usize = 1 << 16;

    pub fn push(&mut self, value: f32) {
        self.seen += 1;
        if self.values.len() < Self::CAPACITY {
            self.values.push(value);
            return;
        }
        // xorshift64*: a fixed-seed generator is enough to pick a uniform sample.
        if self.state == 0 {
            self.state = 0x9E37_79B9_7F4A_7C15;
        }
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % self.seen;
        if let Some(slot) = self.values.get_mut(r as usize) {
            *slot = value;
        }
    }

    /// Adds the values `other` saw after the ones `self` saw. While `other` is
    /// still exact (it never overflowed), this is the same as pushing its values
    /// in order: the result equals one reservoir that saw everything. Otherwise
    /// each slot is drawn from either side in proportion to the values each saw
    /// (still a uniform sample of the union, though not the same one).
    pub fn merge(&mut self, other: Reservoir) {
        if other.seen == other.values.len() as u64 {
            for value in other.values {
                self.push(value);
            }
            return;
        }
        let total = self.seen + other.seen;
        let mut mine = std::mem::take(&mut self.values);
        let mut theirs = other.values;
        let mut mine_left = self.seen;
        let mut state = self.state ^ other.state ^ 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut values = Vec::with_capacity(Self::CAPACITY.min(mine.len() + theirs.len()));
        let mut left = total;
        while values.len() < Self::CAPACITY && !(mine.is_empty() && theirs.is_empty()) {
            let take_mine = !mine.is_empty() && (theirs.is_empty() || next() % left.max(1) < mine_left);
            let pool = if take_mine { &mut mine } else { &mut theirs };
            let idx = (next() % pool.len() as u64) as usize;
            values.push(pool.swap_remove(idx));
            if take_mine {
                mine_left = mine_left.saturating_sub(1);
            }
            left = left.saturating_sub(1);
        }
        self.values = values;
        self.seen = total;
        self.state = next();
    }

    /// The 1st and 99th percentiles of the sample, when the item had at least
    /// [`CLAMP_MIN_VALUES`] values (`None` otherwise: the item is not clamped).
    pub fn bounds(&mut self) -> Option<(f64, f64)> {
        if self.seen < CLAMP_MIN_VALUES {
            return None;
        }
        percentile_bounds(&mut self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn birth_dates_become_month_quarter_or_year() {
        assert_eq!(period(d("2025-03-17"), PeriodLevel::Month), "2025-03");
        assert_eq!(period(d("2025-03-17"), PeriodLevel::Quarter), "2025-Q1");
        assert_eq!(period(d("2025-10-01"), PeriodLevel::Quarter), "2025-Q4");
        assert_eq!(period(d("2025-12-31"), PeriodLevel::Year), "2025");
        assert_eq!(PeriodLevel::Month.coarser(), Some(PeriodLevel::Quarter));
        assert_eq!(PeriodLevel::Year.coarser(), None);
    }

    #[test]
    fn event_dates_become_days_from_birth() {
        assert_eq!(days_from(d("2025-01-30"), d("2025-03-01")), 30);
        assert_eq!(days_from(d("2025-01-30"), d("2025-01-20")), -10);
    }

    #[test]
    fn birth_weight_is_banded_by_250_g_with_open_ends() {
        assert_eq!(birth_weight_band(640.0), "<1000");
        assert_eq!(birth_weight_band(999.9), "<1000");
        assert_eq!(birth_weight_band(1000.0), "1000-1249");
        assert_eq!(birth_weight_band(3012.0), "3000-3249");
        assert_eq!(birth_weight_band(4499.0), "4250-4499");
        assert_eq!(birth_weight_band(4500.0), ">=4500");
        assert_eq!(birth_weight_band(5210.0), ">=4500");
    }

    #[test]
    fn gestational_age_parity_and_plurality_have_open_ends() {
        assert_eq!(gestational_weeks_band(22), "<24");
        assert_eq!(gestational_weeks_band(24), "24");
        assert_eq!(gestational_weeks_band(39), "39");
        assert_eq!(parity_band(0), "0");
        assert_eq!(parity_band(2), "2");
        assert_eq!(parity_band(3), "3+");
        assert_eq!(parity_band(7), "3+");
        assert_eq!(plurality_band(1), "single");
        assert_eq!(plurality_band(2), "twins+");
        assert_eq!(plurality_band(4), "twins+");
    }

    #[test]
    fn mother_age_at_delivery_is_banded_by_5_years_or_coarser() {
        let fine = |b, on| mother_age_band(d(b), d(on), MotherLevel::Fine);
        assert_eq!(fine("2009-05-01", "2025-05-01").as_deref(), Some("<20"));
        assert_eq!(fine("2006-05-01", "2025-04-30").as_deref(), Some("<20"));
        assert_eq!(fine("2005-05-02", "2025-05-01").as_deref(), Some("<20"));
        assert_eq!(fine("2005-05-01", "2025-05-01").as_deref(), Some("20-24"));
        assert_eq!(fine("1990-06-15", "2025-06-14").as_deref(), Some("30-34"));
        assert_eq!(fine("1990-06-15", "2025-06-15").as_deref(), Some("35-39"));
        assert_eq!(fine("1980-01-01", "2025-01-01").as_deref(), Some("45+"));
        assert_eq!(fine("2026-01-01", "2025-01-01"), None);
        let coarse = |b, on| mother_age_band(d(b), d(on), MotherLevel::Coarse);
        assert_eq!(coarse("2001-01-02", "2026-01-01").as_deref(), Some("<25"));
        assert_eq!(coarse("1990-06-15", "2025-06-15").as_deref(), Some("35+"));
        assert_eq!(coarse("1992-06-15", "2025-06-15").as_deref(), Some("25-34"));
        assert_eq!(mother_parity_band(2, MotherLevel::Fine), "2");
        assert_eq!(mother_parity_band(0, MotherLevel::Coarse), "0");
        assert_eq!(mother_parity_band(2, MotherLevel::Coarse), "1+");
    }

    #[test]
    fn the_percentile_sample_stays_bounded_and_close_to_the_true_percentiles() {
        let mut r = Reservoir::default();
        for i in 0..1_000_000u32 {
            r.push((i % 10_000) as f32);
        }
        assert_eq!(r.values.len(), Reservoir::CAPACITY);
        let (lo, hi) = r.bounds().unwrap();
        assert!((lo - 100.0).abs() < 30.0 && (hi - 9_900.0).abs() < 30.0, "{lo} {hi}");
    }

    #[test]
    fn merging_reservoirs_that_did_not_overflow_equals_pushing_everything_into_one() {
        let values: Vec<f32> = (0..100_000u32).map(|i| (i * 7919 % 10_007) as f32).collect();
        let mut one = Reservoir::default();
        values.iter().for_each(|v| one.push(*v));
        let mut merged = Reservoir::default();
        for chunk in values.chunks(10_000) {
            let mut part = Reservoir::default();
            chunk.iter().for_each(|v| part.push(*v));
            merged.merge(part);
        }
        assert_eq!((merged.seen, &merged.values, merged.state), (one.seen, &one.values, one.state));
    }

    #[test]
    fn merging_overflowed_reservoirs_keeps_a_bounded_uniform_sample() {
        let mut a = Reservoir::default();
        let mut b = Reservoir::default();
        for i in 0..300_000u32 {
            a.push((i % 5_000) as f32);
            b.push((5_000 + i % 5_000) as f32);
        }
        a.merge(b);
        assert_eq!(a.seen, 600_000);
        assert_eq!(a.values.len(), Reservoir::CAPACITY);
        let low = a.values.iter().filter(|v| **v < 5_000.0).count() as f64 / a.values.len() as f64;
        assert!((low - 0.5).abs() < 0.02, "{low}");
        let (lo, hi) = a.bounds().unwrap();
        assert!((lo - 100.0).abs() < 40.0 && (hi - 9_900.0).abs() < 40.0, "{lo} {hi}");
    }

    #[test]
    fn numeric_outliers_are_clamped_to_the_1st_and_99th_percentiles() {
        let mut values: Vec<f32> = (1..=1000).map(|v| v as f32).collect();
        values.reverse();
        let bounds = percentile_bounds(&mut values).unwrap();
        assert_eq!(bounds, (10.0, 990.0));
        let plausible = (0.0, 10_000.0);
        assert_eq!(code_number(1.0, Some(bounds), plausible), Coded::Clamped(10.0));
        assert_eq!(code_number(5000.0, Some(bounds), plausible), Coded::Clamped(990.0));
        assert_eq!(code_number(500.04, Some(bounds), plausible), Coded::AsMeasured(500.0));
        assert_eq!(code_number(990.0, Some(bounds), plausible), Coded::AsMeasured(990.0));
        // A value equal to a bound taken from the f32 sample is not beyond it.
        let mut same = vec![54.3f32; 200];
        let bounds = percentile_bounds(&mut same);
        assert_eq!(code_number(54.3, bounds, plausible), Coded::AsMeasured(54.3));
        assert_eq!(percentile_bounds(&mut []), None);
    }

    #[test]
    fn items_with_fewer_than_101_values_are_not_clamped() {
        let mut r = Reservoir::default();
        for v in [53.0, 61.8, 55.5, 58.0] {
            r.push(v);
        }
        assert_eq!(r.bounds(), None, "4 values: no percentile bounds");
        let mut r = Reservoir::default();
        (0..100).for_each(|v| r.push(v as f32));
        assert_eq!(r.bounds(), None, "100 values: the low bound would be the minimum itself");
        r.push(100.0);
        // 101 values 0..=100: ranks 1 and 99, one value beyond each.
        assert_eq!(r.bounds(), Some((1.0, 99.0)));
        assert_eq!(code_number(0.0, Some((1.0, 99.0)), (0.0, 1000.0)), Coded::Clamped(1.0));
        assert_eq!(code_number(100.0, Some((1.0, 99.0)), (0.0, 1000.0)), Coded::Clamped(99.0));
    }

    #[test]
    fn without_bounds_ordinary_values_stay_and_implausible_ones_are_withheld() {
        let systolic = (70.0, 180.0);
        assert_eq!(code_number(124.0, None, systolic), Coded::AsMeasured(124.0));
        assert_eq!(code_number(61.84, None, (30.0, 150.0)), Coded::AsMeasured(61.8));
        assert_eq!(code_number(180.0, None, systolic), Coded::AsMeasured(180.0));
        assert_eq!(code_number(187.3, None, systolic), Coded::Masked);
        assert_eq!(code_number(60.0, None, systolic), Coded::Masked);
    }
}
