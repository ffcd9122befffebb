//! The growth references as data: parsed once from the CSV files in `data/`.

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

/// What is measured against age.
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
}

impl GrowthMeasure {
    /// Every indicator.
    pub const ALL: [GrowthMeasure; 4] =
        [Self::WeightForAge, Self::LengthHeightForAge, Self::HeadCircumferenceForAge, Self::BmiForAge];
}

/// One table: (boys, girls), each indexed by age in days.
type Table = (Vec<Lms>, Vec<Lms>);

fn parse(csv: &str) -> Table {
    let (mut boys, mut girls) = (Vec::new(), Vec::new());
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().expect("the shipped growth tables are numbers");
        let lms = Lms { l: num(2), m: num(3), s: num(4) };
        let day: usize = f[1].parse().expect("the shipped growth tables have whole days");
        let list = if f[0] == "male" { &mut boys } else { &mut girls };
        assert_eq!(list.len(), day, "the shipped growth tables have every day in order");
        list.push(lms);
    }
    (boys, girls)
}

fn table(reference: GrowthReference, indicator: GrowthMeasure) -> &'static Table {
    static TABLES: [OnceLock<Table>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let GrowthReference::Who2006 = reference;
    let (i, csv) = match indicator {
        GrowthMeasure::WeightForAge => (0, include_str!("data/who2006_weight_for_age.csv")),
        GrowthMeasure::LengthHeightForAge => (1, include_str!("data/who2006_length_height_for_age.csv")),
        GrowthMeasure::HeadCircumferenceForAge => (2, include_str!("data/who2006_head_circumference_for_age.csv")),
        GrowthMeasure::BmiForAge => (3, include_str!("data/who2006_bmi_for_age.csv")),
    };
    TABLES[i].get_or_init(|| parse(csv))
}

/// The LMS parameters at `age_days` for a boy or girl; `None` outside the
/// reference's ages or for a sex it has no table for.
pub fn lookup(reference: GrowthReference, indicator: GrowthMeasure, sex: Sex, age_days: i64) -> Option<Lms> {
    let (boys, girls) = table(reference, indicator);
    let rows = match sex {
        Sex::Male => boys,
        Sex::Female => girls,
        _ => return None,
    };
    rows.get(usize::try_from(age_days).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_table_covers_0_to_1856_days_for_both_sexes_and_nothing_else() {
        for ind in GrowthMeasure::ALL {
            for sex in [Sex::Male, Sex::Female] {
                assert!(lookup(GrowthReference::Who2006, ind, sex, 0).is_some());
                assert!(lookup(GrowthReference::Who2006, ind, sex, 1856).is_some());
                assert!(lookup(GrowthReference::Who2006, ind, sex, 1857).is_none());
                assert!(lookup(GrowthReference::Who2006, ind, sex, -1).is_none());
            }
            assert!(lookup(GrowthReference::Who2006, ind, Sex::Unknown, 10).is_none());
        }
    }
}
