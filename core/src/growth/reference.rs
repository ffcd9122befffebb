//! The growth references as data: parsed once from the CSV files in `data/`.
//! The measures against age are indexed by age in days ([`lookup`]);
//! weight-for-length/height by the length or height in cm, between rows 0.1 cm
//! apart ([`lookup_by_length`]).

use std::sync::OnceLock;

use super::lms::Lms;
use crate::dataset::common::Sex;

/// A published growth reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GrowthReference {
    /// WHO Child Growth Standards (2006/2007), 0–1,856 days.
    Who2006,
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

/// The rows of table `id` (an index of [`FILES`]) for a boy or girl; `None`
/// for a sex the reference has no table for.
fn rows(reference: GrowthReference, id: usize, sex: Sex) -> Option<&'static Rows> {
    static TABLES: [OnceLock<Table>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];
    let GrowthReference::Who2006 = reference;
    let (boys, girls) = TABLES[id].get_or_init(|| parse(FILES[id].0, FILES[id].1));
    match sex {
        Sex::Male => Some(boys),
        Sex::Female => Some(girls),
        _ => None,
    }
}

/// The LMS parameters at `age_days` for a boy or girl; `None` outside the
/// reference's ages, for a sex it has no table for, or for
/// [`GrowthMeasure::WeightForLengthHeight`] (looked up by length:
/// [`lookup_by_length`]).
pub fn lookup(reference: GrowthReference, indicator: GrowthMeasure, sex: Sex, age_days: i64) -> Option<Lms> {
    let id = match indicator {
        GrowthMeasure::WeightForAge => 0,
        GrowthMeasure::LengthHeightForAge => 1,
        GrowthMeasure::HeadCircumferenceForAge => 2,
        GrowthMeasure::BmiForAge => 3,
        GrowthMeasure::WeightForLengthHeight => return None,
    };
    rows(reference, id, sex)?.at(age_days)
}

/// The weight-for-length (or weight-for-height) LMS parameters at
/// `length_cm` for a boy or girl, from `table`: a row's own where the length
/// falls on one (the tables step by 0.1 cm), otherwise L, M and S each
/// interpolated linearly between the rows either side, as WHO's `anthro`
/// software does. `None` outside the table's lengths
/// ([`LengthOrHeight::range_cm`]), for a length that is not a number, or for
/// a sex the reference has no table for.
pub fn lookup_by_length(reference: GrowthReference, sex: Sex, table: LengthOrHeight, length_cm: f64) -> Option<Lms> {
    let (from, to) = table.range_cm();
    if !(from..=to).contains(&length_cm) {
        return None;
    }
    let rows = rows(reference, table.file(), sex)?;
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
                let rows = rows(GrowthReference::Who2006, table.file(), sex).unwrap();
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
}
