//! The growth references as data: parsed once from the CSV files in `data/`.
//! The measures against age are indexed by age in days ([`lookup`]): WHO's
//! daily rows, or the Japanese 2000 reference's knots (0, 3, 6, … months),
//! interpolated between; weight-for-length/height (WHO only) by the length or
//! height in cm, between rows 0.1 cm apart ([`lookup_by_length`]).

use std::sync::OnceLock;

use super::lms::Lms;
use crate::dataset::common::Sex;

/// A published growth reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GrowthReference {
    /// WHO Child Growth Standards (2006/2007), 0–1,856 days: every
    /// [`GrowthMeasure`].
    Who2006,
    /// The Japanese 2000 growth reference (Japanese Society for Pediatric
    /// Endocrinology; the national surveys of 2000), as LMS parameters
    /// (Isojima et al., Clin Pediatr Endocrinol 2016;25(2):71–76, tables 2
    /// and 3), 0–17.5 years: weight and height (recumbent length under 2
    /// years) for age only ([`WeightForAge`](GrowthMeasure::WeightForAge),
    /// [`LengthHeightForAge`](GrowthMeasure::LengthHeightForAge)). The
    /// tables give L, M and S at 0, 3, 6, 9, 12, 15, 18 and 21 months, 2
    /// years and every half year after; between those ages [`lookup`]
    /// interpolates each linearly, an approximation of the reference's smooth
    /// LMS curves between its published knots.
    Japan2000,
}

impl GrowthReference {
    /// The z-score of `y` against `lms` of this reference: with the WHO's restricted rule
    /// beyond ±3 SD for the WHO standards ([`super::lms::z_score`]), by the plain LMS formula
    /// for the Japanese reference, as its authors compute SD scores
    /// ([`super::lms::z_score_plain`]). The two agree within ±3 SD.
    pub fn z_score(self, lms: super::lms::Lms, y: f64) -> Option<f64> {
        match self {
            GrowthReference::Who2006 => super::lms::z_score(lms, y),
            GrowthReference::Japan2000 => super::lms::z_score_plain(lms, y),
        }
    }

    /// Every reference, in the order a point's scores list them (WHO first).
    pub const ALL: [GrowthReference; 2] = [Self::Who2006, Self::Japan2000];

    /// The indicators the reference has tables for, in the order of
    /// [`GrowthMeasure::ALL`].
    pub const fn measures(self) -> &'static [GrowthMeasure] {
        match self {
            Self::Who2006 => &GrowthMeasure::ALL,
            Self::Japan2000 => &[GrowthMeasure::WeightForAge, GrowthMeasure::LengthHeightForAge],
        }
    }

    /// Whether the reference has a table for `measure`.
    pub fn has(self, measure: GrowthMeasure) -> bool {
        self.measures().contains(&measure)
    }

    /// The last day of age its tables against age cover: 1,856 (5 years 1
    /// month) for WHO, 6,391 (17.5 years of 365.25 days) for Japan 2000.
    pub const fn last_day(self) -> i64 {
        match self {
            Self::Who2006 => LAST_DAY,
            Self::Japan2000 => JAPAN_LAST_DAY,
        }
    }
}

/// What is measured, against age or (weight) against length or height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GrowthMeasure {
    /// Weight (kg).
    WeightForAge,
    /// Recumbent length to 24 months, standing height after (cm).
    LengthHeightForAge,
    /// Head circumference (cm).
    HeadCircumferenceForAge,
    /// Body mass index (kg/m²).
    BmiForAge,
    /// Weight (kg) for length or height, WHO's weight-for-length/height: one
    /// indicator, as WHO reports it, whose table follows the age like
    /// [`LengthHeightForAge`](Self::LengthHeightForAge)'s does — against
    /// recumbent length (45–110 cm) under 24 months, against standing height
    /// (65–120 cm) from 24 months to 1,856 days ([`LengthOrHeight::for_age`]).
    /// Looked up by length or height ([`lookup_by_length`]), not by age.
    WeightForLengthHeight,
}

impl GrowthMeasure {
    /// Every indicator.
    pub const ALL: [GrowthMeasure; 5] = [
        Self::WeightForAge,
        Self::LengthHeightForAge,
        Self::HeadCircumferenceForAge,
        Self::BmiForAge,
        Self::WeightForLengthHeight,
    ];
    /// The indicators looked up by age ([`lookup`]): all but weight-for-length/height.
    pub const BY_AGE: [GrowthMeasure; 4] =
        [Self::WeightForAge, Self::LengthHeightForAge, Self::HeadCircumferenceForAge, Self::BmiForAge];
}

/// The first day of age on which a child is measured standing (24 months),
/// as in WHO's tables and software: length/height-for-age and
/// weight-for-length/height switch from length to height on this day.
pub const STANDING_FROM_DAY: i64 = 731;
/// The last day of age the WHO tables cover (5 years 1 month).
const LAST_DAY: i64 = 1856;
/// Days per year, turning an age in days into the years of the Japanese tables.
const DAYS_PER_YEAR: f64 = 365.25;
/// The last day of age the Japanese 2000 tables cover: the last whole day
/// within 17.5 years.
const JAPAN_LAST_DAY: i64 = 6391;

/// How a child's length is measured, and so which weight-for-length/height
/// table applies (WHO 2006): lying down under 24 months, standing from 24
/// months. A length measured the other way is not converted (WHO's software
/// adds or takes 0.7 cm); the growth series records one length per visit and
/// takes it as measured the usual way for the age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthOrHeight {
    /// Recumbent length, under 24 months: the weight-for-length table, 45–110 cm.
    Length,
    /// Standing height, 24 months to 1,856 days: the weight-for-height table, 65–120 cm.
    Height,
}

impl LengthOrHeight {
    /// The table for a child `age_days` old: [`Length`](Self::Length) from
    /// birth to day 730, [`Height`](Self::Height) from day 731 to 1,856;
    /// `None` before birth or after 1,856 days.
    pub fn for_age(age_days: i64) -> Option<Self> {
        match age_days {
            0..STANDING_FROM_DAY => Some(Self::Length),
            STANDING_FROM_DAY..=LAST_DAY => Some(Self::Height),
            _ => None,
        }
    }

    /// The lengths (or heights) the table covers, in cm, both ends included.
    pub const fn range_cm(self) -> (f64, f64) {
        match self {
            Self::Length => (45.0, 110.0),
            Self::Height => (65.0, 120.0),
        }
    }

    /// The index of the table in [`FILES`].
    const fn file(self) -> usize {
        match self {
            Self::Length => 4,
            Self::Height => 5,
        }
    }
}

/// One sex's rows of a table: the LMS at each step (a day, or 0.1 cm) from step `first`.
#[derive(Debug, Default)]
struct Rows {
    first: i64,
    lms: Vec<Lms>,
}

impl Rows {
    /// The row at `step` (days, or tenths of a cm), if the table has it.
    fn at(&self, step: i64) -> Option<Lms> {
        self.lms.get(usize::try_from(step.checked_sub(self.first)?).ok()?).copied()
    }
}

/// One table: (boys, girls).
type Table = (Rows, Rows);

/// The shipped tables, `sex,key,L,M,S`, with the steps of their key per unit
/// (days: 1; cm in 0.1 cm rows: 10).
const FILES: [(&str, f64); 6] = [
    (include_str!("data/who2006_weight_for_age.csv"), 1.0),
    (include_str!("data/who2006_length_height_for_age.csv"), 1.0),
    (include_str!("data/who2006_head_circumference_for_age.csv"), 1.0),
    (include_str!("data/who2006_bmi_for_age.csv"), 1.0),
    (include_str!("data/who2006_weight_for_length.csv"), 10.0),
    (include_str!("data/who2006_weight_for_height.csv"), 10.0),
];

fn parse(csv: &str, steps_per_unit: f64) -> Table {
    let (mut boys, mut girls) = (Rows::default(), Rows::default());
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().expect("the shipped growth tables are numbers");
        let key = num(1) * steps_per_unit;
        let step = key.round() as i64;
        assert!((key - step as f64).abs() < 1e-6, "the shipped growth tables have whole steps");
        let rows = if f[0] == "male" { &mut boys } else { &mut girls };
        if rows.lms.is_empty() {
            rows.first = step;
        }
        assert_eq!(rows.first + rows.lms.len() as i64, step, "the shipped growth tables have every step in order");
        rows.lms.push(Lms { l: num(2), m: num(3), s: num(4) });
    }
    (boys, girls)
}

/// The rows of WHO table `id` (an index of [`FILES`]) for a boy or girl;
/// `None` for a sex the reference has no table for.
fn rows(id: usize, sex: Sex) -> Option<&'static Rows> {
    static TABLES: [OnceLock<Table>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];
    let (boys, girls) = TABLES[id].get_or_init(|| parse(FILES[id].0, FILES[id].1));
    match sex {
        Sex::Male => Some(boys),
        Sex::Female => Some(girls),
        _ => None,
    }
}

/// One sex's knots of a Japanese 2000 table: the LMS at each published age
/// (years), ages strictly increasing.
#[derive(Debug, Default)]
struct Knots {
    years: Vec<f64>,
    lms: Vec<Lms>,
}

impl Knots {
    /// The LMS at `years`: a knot's own on a published age, otherwise L, M and
    /// S each interpolated linearly between the knots either side; `None`
    /// before the first knot, after the last or for an age that is not a number.
    fn at(&self, years: f64) -> Option<Lms> {
        let (first, last) = (*self.years.first()?, *self.years.last()?);
        if !(first..=last).contains(&years) {
            return None;
        }
        // The first knot older than `years` (or the end, at the last knot).
        let above = self.years.partition_point(|k| *k <= years);
        if above == 0 {
            return None;
        }
        let below = above - 1;
        if self.years[below] == years {
            return self.lms.get(below).copied();
        }
        let (k0, k1) = (self.years[below], *self.years.get(above)?);
        let (a, b) = (self.lms[below], *self.lms.get(above)?);
        let t = (years - k0) / (k1 - k0);
        let lerp = |x: f64, y: f64| x + t * (y - x);
        Some(Lms { l: lerp(a.l, b.l), m: lerp(a.m, b.m), s: lerp(a.s, b.s) })
    }
}

/// The Japanese 2000 tables, `sex,age_years,L,M,S`: weight, height.
const JAPAN_FILES: [&str; 2] =
    [include_str!("data/japan2000_weight_for_age.csv"), include_str!("data/japan2000_height_for_age.csv")];

fn parse_knots(csv: &str) -> (Knots, Knots) {
    let (mut boys, mut girls) = (Knots::default(), Knots::default());
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().expect("the shipped growth tables are numbers");
        let knots = if f[0] == "male" { &mut boys } else { &mut girls };
        let years = num(1);
        assert!(knots.years.last().is_none_or(|k| *k < years), "the shipped growth tables have ages in order");
        knots.years.push(years);
        knots.lms.push(Lms { l: num(2), m: num(3), s: num(4) });
    }
    (boys, girls)
}

/// The knots of Japanese 2000 table `id` (an index of [`JAPAN_FILES`]) for a
/// boy or girl; `None` for another sex.
fn knots(id: usize, sex: Sex) -> Option<&'static Knots> {
    static TABLES: [OnceLock<(Knots, Knots)>; JAPAN_FILES.len()] = [const { OnceLock::new() }; JAPAN_FILES.len()];
    let (boys, girls) = TABLES[id].get_or_init(|| parse_knots(JAPAN_FILES[id]));
    match sex {
        Sex::Male => Some(boys),
        Sex::Female => Some(girls),
        _ => None,
    }
}

/// The Japanese 2000 LMS of `indicator` at `years` of age (a knot's own, or
/// interpolated linearly between knots); `None` for an indicator the
/// reference has no table for, outside 0–17.5 years or for another sex.
fn japan_at_years(indicator: GrowthMeasure, sex: Sex, years: f64) -> Option<Lms> {
    let id = match indicator {
        GrowthMeasure::WeightForAge => 0,
        GrowthMeasure::LengthHeightForAge => 1,
        _ => return None,
    };
    knots(id, sex)?.at(years)
}

/// The LMS parameters at `age_days` for a boy or girl; `None` outside the
/// reference's ages (0 to [`GrowthReference::last_day`]), for a sex it has no
/// table for, for an indicator it has none for ([`GrowthReference::measures`]),
/// or for [`GrowthMeasure::WeightForLengthHeight`] (looked up by length:
/// [`lookup_by_length`]). WHO's tables have a row a day; the Japanese 2000
/// reference is looked up at `age_days / 365.25` years, L, M and S
/// interpolated linearly between its published ages.
pub fn lookup(reference: GrowthReference, indicator: GrowthMeasure, sex: Sex, age_days: i64) -> Option<Lms> {
    if reference == GrowthReference::Japan2000 {
        if !(0..=JAPAN_LAST_DAY).contains(&age_days) {
            return None;
        }
        return japan_at_years(indicator, sex, age_days as f64 / DAYS_PER_YEAR);
    }
    let id = match indicator {
        GrowthMeasure::WeightForAge => 0,
        GrowthMeasure::LengthHeightForAge => 1,
        GrowthMeasure::HeadCircumferenceForAge => 2,
        GrowthMeasure::BmiForAge => 3,
        GrowthMeasure::WeightForLengthHeight => return None,
    };
    rows(id, sex)?.at(age_days)
}

/// The weight-for-length (or weight-for-height) LMS parameters at
/// `length_cm` for a boy or girl, from `table`: a row's own where the length
/// falls on one (the tables step by 0.1 cm), otherwise L, M and S each
/// interpolated linearly between the rows either side, as WHO's `anthro`
/// software does. `None` outside the table's lengths
/// ([`LengthOrHeight::range_cm`]), for a length that is not a number, for
/// a sex the reference has no table for, or for a reference without
/// weight-for-length/height (the Japanese 2000 one).
pub fn lookup_by_length(reference: GrowthReference, sex: Sex, table: LengthOrHeight, length_cm: f64) -> Option<Lms> {
    let (from, to) = table.range_cm();
    if reference != GrowthReference::Who2006 || !(from..=to).contains(&length_cm) {
        return None;
    }
    let rows = rows(table.file(), sex)?;
    let tenths = length_cm * 10.0;
    let nearest = tenths.round();
    if (tenths - nearest).abs() < 1e-6 {
        return rows.at(nearest as i64);
    }
    let below = tenths.floor();
    let (a, b) = (rows.at(below as i64)?, rows.at(below as i64 + 1)?);
    let t = tenths - below;
    let lerp = |x: f64, y: f64| x + t * (y - x);
    Some(Lms { l: lerp(a.l, b.l), m: lerp(a.m, b.m), s: lerp(a.s, b.s) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::lms::{value_at_z, z_score};

    #[test]
    fn published_rows_of_the_who_tables_are_reproduced() {
        use GrowthMeasure::*;
        // WHO expanded tables (boys / girls), rows by day: (indicator, sex, day, L, M, S).
        let rows = [
            (WeightForAge, Sex::Male, 0, 0.3487, 3.3464, 0.14602),
            (WeightForAge, Sex::Female, 0, 0.3809, 3.2322, 0.14171),
            (WeightForAge, Sex::Male, 365, 0.0645, 9.646, 0.10925),
            (LengthHeightForAge, Sex::Male, 0, 1.0, 49.8842, 0.03795),
        ];
        for (ind, sex, day, l, m, s) in rows {
            assert_eq!(lookup(GrowthReference::Who2006, ind, sex, day), Some(Lms { l, m, s }), "{ind:?} {sex:?} {day}");
        }
    }

    #[test]
    fn every_table_by_age_covers_0_to_1856_days_for_both_sexes_and_nothing_else() {
        for ind in GrowthMeasure::BY_AGE {
            for sex in [Sex::Male, Sex::Female] {
                assert!(lookup(GrowthReference::Who2006, ind, sex, 0).is_some());
                assert!(lookup(GrowthReference::Who2006, ind, sex, 1856).is_some());
                assert!(lookup(GrowthReference::Who2006, ind, sex, 1857).is_none());
                assert!(lookup(GrowthReference::Who2006, ind, sex, -1).is_none());
            }
            assert!(lookup(GrowthReference::Who2006, ind, Sex::Unknown, 10).is_none());
        }
    }

    #[test]
    fn weight_for_length_height_is_not_looked_up_by_age() {
        assert!(GrowthMeasure::ALL.contains(&GrowthMeasure::WeightForLengthHeight));
        assert!(!GrowthMeasure::BY_AGE.contains(&GrowthMeasure::WeightForLengthHeight));
        for day in [0, 365, 1000] {
            assert_eq!(lookup(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Male, day), None);
        }
    }

    fn by_length(sex: Sex, table: LengthOrHeight, cm: f64) -> Option<Lms> {
        lookup_by_length(GrowthReference::Who2006, sex, table, cm)
    }

    #[test]
    fn published_rows_of_the_who_weight_for_length_and_height_tables_are_reproduced() {
        use LengthOrHeight::*;
        // WHO expanded tables, weight-for-length (wflanthro) and weight-for-height
        // (wfhanthro), rows by cm: (table, sex, cm, L, M, S).
        let rows = [
            (Length, Sex::Male, 45.0, -0.3521, 2.441, 0.09182),
            (Length, Sex::Male, 75.0, -0.3521, 9.5032, 0.08295),
            (Length, Sex::Male, 75.1, -0.3521, 9.5235, 0.08297),
            (Length, Sex::Female, 45.0, -0.3833, 2.4607, 0.09029),
            (Length, Sex::Female, 110.0, -0.3833, 18.3324, 0.09401),
            (Height, Sex::Male, 65.0, -0.3521, 7.4327, 0.08217),
            (Height, Sex::Male, 75.0, -0.3521, 9.644, 0.08303),
            (Height, Sex::Male, 120.0, -0.3521, 22.353, 0.09424),
            (Height, Sex::Female, 65.0, -0.3833, 7.2402, 0.09113),
            (Height, Sex::Female, 120.0, -0.3833, 22.8173, 0.09828),
        ];
        for (table, sex, cm, l, m, s) in rows {
            assert_eq!(by_length(sex, table, cm), Some(Lms { l, m, s }), "{table:?} {sex:?} {cm}");
        }
    }

    #[test]
    fn sd_lines_match_the_who_weight_for_length_and_height_z_score_tables_for_both_sexes() {
        use LengthOrHeight::*;
        // WHO weight-for-length (birth to 2 years) and weight-for-height (2 to 5
        // years) z-score tables, rows every 0.5 cm, kg to one decimal: -3, -2, -1,
        // 0, +1, +2, +3 SD (as shipped in pygrowup 0.8.2, tables/wfl_*_0_2_zscores.json
        // and wfh_*_2_5_zscores.json). E.g. boys' weight-for-length at 75.0 cm:
        // median 9.5 kg, -2 SD 8.1 kg.
        let published = [
            (Length, Sex::Male, 45.0, [1.9, 2.0, 2.2, 2.4, 2.7, 3.0, 3.3]),
            (Length, Sex::Male, 60.0, [4.7, 5.1, 5.5, 6.0, 6.5, 7.1, 7.8]),
            (Length, Sex::Male, 75.0, [7.5, 8.1, 8.8, 9.5, 10.3, 11.3, 12.3]),
            (Length, Sex::Male, 110.0, [14.2, 15.4, 16.8, 18.3, 20.0, 21.9, 24.1]),
            (Length, Sex::Female, 45.0, [1.9, 2.1, 2.3, 2.5, 2.7, 3.0, 3.3]),
            (Length, Sex::Female, 75.0, [7.1, 7.7, 8.4, 9.1, 10.0, 11.0, 12.2]),
            (Length, Sex::Female, 110.0, [14.0, 15.3, 16.7, 18.3, 20.2, 22.3, 24.7]),
            (Height, Sex::Male, 65.0, [5.9, 6.3, 6.9, 7.4, 8.1, 8.8, 9.6]),
            (Height, Sex::Male, 100.0, [12.1, 13.1, 14.2, 15.4, 16.7, 18.2, 19.9]),
            (Height, Sex::Male, 120.0, [17.1, 18.6, 20.4, 22.4, 24.6, 27.2, 30.1]),
            (Height, Sex::Female, 65.0, [5.6, 6.1, 6.6, 7.2, 7.9, 8.7, 9.7]),
            (Height, Sex::Female, 87.0, [9.2, 10.0, 10.9, 11.9, 13.0, 14.3, 15.8]),
            (Height, Sex::Female, 120.0, [17.3, 18.9, 20.7, 22.8, 25.2, 28.0, 31.2]),
        ];
        for (table, sex, cm, kgs) in published {
            let lms = by_length(sex, table, cm).unwrap();
            for (z, kg) in (-3..=3).map(f64::from).zip(kgs) {
                let v = value_at_z(lms, z);
                assert!((v - kg).abs() < 0.05 + 1e-9, "{table:?} {sex:?} {cm} cm, z {z}: {v} vs {kg}");
                assert!((z_score(lms, v).unwrap() - z).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn between_the_0_1_cm_rows_l_m_and_s_are_interpolated_linearly() {
        // Boys' weight-for-length rows 75.0 cm (M 9.5032, S 0.08295) and 75.1 cm
        // (M 9.5235, S 0.08297); L is -0.3521 throughout.
        let lms = by_length(Sex::Male, LengthOrHeight::Length, 75.03).unwrap();
        assert!((lms.m - (9.5032 + 0.3 * 0.0203)).abs() < 1e-9, "{lms:?}");
        assert!((lms.s - (0.08295 + 0.3 * 0.00002)).abs() < 1e-9, "{lms:?}");
        assert!((lms.l + 0.3521).abs() < 1e-12, "{lms:?}");
        let half = by_length(Sex::Male, LengthOrHeight::Length, 75.05).unwrap();
        assert!((half.m - (9.5032 + 9.5235) / 2.0).abs() < 1e-9, "{half:?}");
    }

    #[test]
    fn a_length_outside_the_table_or_not_a_number_has_no_parameters() {
        use LengthOrHeight::*;
        for (table, sex) in [(Length, Sex::Male), (Length, Sex::Female), (Height, Sex::Male), (Height, Sex::Female)] {
            let (from, to) = table.range_cm();
            assert!(by_length(sex, table, from).is_some() && by_length(sex, table, to).is_some());
            for cm in [from - 0.01, to + 0.01, -1.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert_eq!(by_length(sex, table, cm), None, "{table:?} {sex:?} {cm}");
            }
        }
        assert_eq!(by_length(Sex::Male, Length, 44.9), None);
        assert_eq!(by_length(Sex::Male, Height, 64.9), None);
        assert_eq!(by_length(Sex::Male, Length, 110.1), None);
        assert_eq!(by_length(Sex::Female, Height, 120.1), None);
        assert_eq!(by_length(Sex::Unknown, Length, 75.0), None);
        assert_eq!(by_length(Sex::Other, Height, 90.0), None);
    }

    #[test]
    fn the_length_tables_have_every_0_1_cm_row_of_their_range_for_both_sexes() {
        for table in [LengthOrHeight::Length, LengthOrHeight::Height] {
            let (from, to) = table.range_cm();
            let (first, last) = ((from * 10.0) as i64, (to * 10.0) as i64);
            for sex in [Sex::Male, Sex::Female] {
                for tenths in first..=last {
                    assert!(by_length(sex, table, tenths as f64 / 10.0).is_some(), "{table:?} {sex:?} {tenths}");
                }
                let rows = rows(table.file(), sex).unwrap();
                assert_eq!((rows.first, rows.lms.len()), (first, (last - first + 1) as usize), "{table:?} {sex:?}");
            }
        }
    }

    #[test]
    fn the_table_is_length_under_24_months_and_height_from_day_731_to_1856() {
        assert_eq!(LengthOrHeight::for_age(0), Some(LengthOrHeight::Length));
        assert_eq!(LengthOrHeight::for_age(730), Some(LengthOrHeight::Length));
        assert_eq!(LengthOrHeight::for_age(STANDING_FROM_DAY), Some(LengthOrHeight::Height));
        assert_eq!(LengthOrHeight::for_age(1856), Some(LengthOrHeight::Height));
        assert_eq!(LengthOrHeight::for_age(1857), None);
        assert_eq!(LengthOrHeight::for_age(-1), None);
        // The same day the length/height-for-age table turns to standing height:
        // its median drops (by about the 0.7 cm between lying and standing) from
        // day 730 to 731, and grows on the days either side.
        let m = |day| lookup(GrowthReference::Who2006, GrowthMeasure::LengthHeightForAge, Sex::Male, day).unwrap().m;
        assert!(m(STANDING_FROM_DAY) < m(STANDING_FROM_DAY - 1) - 0.5);
        assert!(m(STANDING_FROM_DAY - 1) > m(STANDING_FROM_DAY - 2) && m(STANDING_FROM_DAY + 1) > m(STANDING_FROM_DAY));
    }

    fn japan(indicator: GrowthMeasure, sex: Sex, day: i64) -> Option<Lms> {
        lookup(GrowthReference::Japan2000, indicator, sex, day)
    }

    #[test]
    fn published_rows_of_the_japanese_2000_tables_are_reproduced_at_their_ages() {
        use GrowthMeasure::*;
        // Isojima et al. 2016, Table 2 (height) and Table 3 (weight), rows by
        // age in years: (indicator, sex, years, L, M, S).
        let rows = [
            (LengthHeightForAge, Sex::Male, 0.0, 2.300, 49.0, 0.0417),
            (LengthHeightForAge, Sex::Male, 1.0, 1.948, 74.8, 0.0328),
            (LengthHeightForAge, Sex::Female, 0.0, 1.200, 48.5, 0.0390),
            (LengthHeightForAge, Sex::Female, 2.5, 0.786, 88.4, 0.0344),
            (LengthHeightForAge, Sex::Male, 17.5, 0.000, 170.8, 0.0340),
            (LengthHeightForAge, Sex::Female, 17.5, 1.250, 157.8, 0.0310),
            (WeightForAge, Sex::Male, 0.0, 0.774, 3.00, 0.149),
            (WeightForAge, Sex::Male, 1.0, -0.062, 9.38, 0.105),
            (WeightForAge, Sex::Female, 0.25, 0.375, 5.86, 0.126),
            (WeightForAge, Sex::Female, 1.0, -0.303, 8.72, 0.103),
            (WeightForAge, Sex::Male, 17.5, -1.739, 60.9, 0.141),
            (WeightForAge, Sex::Female, 17.5, -1.252, 52.3, 0.134),
        ];
        for (ind, sex, years, l, m, s) in rows {
            assert_eq!(japan_at_years(ind, sex, years), Some(Lms { l, m, s }), "{ind:?} {sex:?} {years}");
        }
        // Whole days that fall on a published age: birth, and 4 years = 1,461 days
        // (Table 2, boys, 4 y: L 0.894, M 100.4, S 0.0392; Table 3, girls, 4 y:
        // L -0.778, M 15.1, S 0.122).
        assert_eq!(japan(LengthHeightForAge, Sex::Male, 0), Some(Lms { l: 2.300, m: 49.0, s: 0.0417 }));
        assert_eq!(japan(LengthHeightForAge, Sex::Male, 1461), Some(Lms { l: 0.894, m: 100.4, s: 0.0392 }));
        assert_eq!(japan(WeightForAge, Sex::Female, 1461), Some(Lms { l: -0.778, m: 15.1, s: 0.122 }));
    }

    #[test]
    fn the_japanese_median_is_z_zero_and_the_lms_curve_at_two_sd_is_z_two() {
        use GrowthMeasure::*;
        // Table 2, boys, 1 y: L 1.948, M 74.8, S 0.0328 → z(74.8) = 0, and
        // z = 2 at M·(1 + L·S·2)^(1/L) (= 79.56 cm, by hand).
        let lms = japan_at_years(LengthHeightForAge, Sex::Male, 1.0).unwrap();
        assert!(z_score(lms, 74.8).unwrap().abs() < 1e-12);
        let two_sd = 74.8 * (1.0 + 1.948 * 0.0328 * 2.0_f64).powf(1.0 / 1.948);
        assert!((two_sd - 79.56).abs() < 0.01, "{two_sd}");
        assert!((z_score(lms, two_sd).unwrap() - 2.0).abs() < 1e-9);
        // Table 3, girls, 1 y: L -0.303, M 8.72, S 0.103 → -2 SD at
        // M·(1 - L·S·2)^(1/L) (= 7.14 kg, by hand).
        let lms = japan_at_years(WeightForAge, Sex::Female, 1.0).unwrap();
        assert!(z_score(lms, 8.72).unwrap().abs() < 1e-12);
        let minus_two = 8.72 * (1.0 + (-0.303) * 0.103 * -2.0_f64).powf(1.0 / -0.303);
        assert!((minus_two - 7.14).abs() < 0.01, "{minus_two}");
        assert!((z_score(lms, minus_two).unwrap() + 2.0).abs() < 1e-9);
        // Table 2, boys, 17.5 y: L 0 → the log form, M·exp(S·z).
        let lms = japan_at_years(LengthHeightForAge, Sex::Male, 17.5).unwrap();
        assert!((z_score(lms, 170.8 * (0.0340_f64).exp()).unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn between_the_japanese_published_ages_l_m_and_s_are_interpolated_linearly() {
        use GrowthMeasure::*;
        // Table 3, boys: 1 y (L -0.062, M 9.38, S 0.105) and 1.25 y (L -0.177,
        // M 9.91, S 0.102); halfway, 1.125 y.
        let half = japan_at_years(WeightForAge, Sex::Male, 1.125).unwrap();
        assert!((half.l - (-0.062 - 0.177) / 2.0).abs() < 1e-12, "{half:?}");
        assert!((half.m - (9.38 + 9.91) / 2.0).abs() < 1e-12, "{half:?}");
        assert!((half.s - (0.105 + 0.102) / 2.0).abs() < 1e-12, "{half:?}");
        // By day: 365 days is 0.99932 years, just short of the 1 y knot, after 0.75 y
        // (L 0.082, M 8.80, S 0.110).
        let t = (365.0 / 365.25 - 0.75) / 0.25;
        let day = japan(WeightForAge, Sex::Male, 365).unwrap();
        assert!((day.m - (8.80 + t * (9.38 - 8.80))).abs() < 1e-12, "{day:?}");
        assert!((day.l - (0.082 + t * (-0.062 - 0.082))).abs() < 1e-12, "{day:?}");
        assert_eq!(Some(day), japan_at_years(WeightForAge, Sex::Male, 365.0 / 365.25));
        // Table 2, girls, the half-year step after 2 y: 2 y (M 84.6) and 2.5 y (M 88.4).
        let m = japan_at_years(LengthHeightForAge, Sex::Female, 2.25).unwrap().m;
        assert!((m - 86.5).abs() < 1e-12, "{m}");
    }

    #[test]
    fn outside_0_to_17_5_years_or_other_measures_the_japanese_reference_has_no_parameters() {
        use GrowthMeasure::*;
        for ind in [WeightForAge, LengthHeightForAge] {
            for sex in [Sex::Male, Sex::Female] {
                assert!(japan(ind, sex, 0).is_some() && japan(ind, sex, JAPAN_LAST_DAY).is_some());
                assert_eq!(japan(ind, sex, -1), None);
                assert_eq!(japan(ind, sex, JAPAN_LAST_DAY + 1), None);
                assert_eq!(japan(ind, sex, i64::MAX), None);
                assert_eq!(japan_at_years(ind, sex, 17.5001), None);
                assert_eq!(japan_at_years(ind, sex, f64::NAN), None);
            }
            assert_eq!(japan(ind, Sex::Unknown, 100), None);
            assert_eq!(japan(ind, Sex::Other, 100), None);
        }
        for ind in [HeadCircumferenceForAge, BmiForAge, WeightForLengthHeight] {
            assert!(!GrowthReference::Japan2000.has(ind));
            assert_eq!(japan(ind, Sex::Male, 365), None, "{ind:?}");
        }
        assert_eq!(lookup_by_length(GrowthReference::Japan2000, Sex::Male, LengthOrHeight::Length, 75.0), None);
        assert_eq!(GrowthReference::Japan2000.measures(), [WeightForAge, LengthHeightForAge]);
        assert_eq!(GrowthReference::Who2006.measures(), GrowthMeasure::ALL);
        // 17.5 years of 365.25 days is 6,391.875 days: day 6,391 is the last inside.
        assert!((JAPAN_LAST_DAY as f64) / DAYS_PER_YEAR <= 17.5);
        assert!((JAPAN_LAST_DAY as f64 + 1.0) / DAYS_PER_YEAR > 17.5);
    }

    #[test]
    fn the_japanese_tables_have_forty_ages_from_0_to_17_5_years_and_medians_that_never_fall() {
        // Table 2 and 3: 0, 0.25, …, 2 years, then every 0.5 year to 17.5.
        let mut ages: Vec<f64> = (0..8).map(|q| f64::from(q) * 0.25).collect();
        ages.extend((4..=35).map(|h| f64::from(h) * 0.5));
        for id in 0..JAPAN_FILES.len() {
            for sex in [Sex::Male, Sex::Female] {
                let k = knots(id, sex).unwrap();
                assert_eq!(k.years, ages, "table {id} {sex:?}");
                assert!(k.lms.windows(2).all(|w| w[1].m >= w[0].m), "table {id} {sex:?}");
                assert!(k.lms.iter().all(|x| x.m > 0.0 && x.s > 0.0), "table {id} {sex:?}");
            }
        }
    }
}
