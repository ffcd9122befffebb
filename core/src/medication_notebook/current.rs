//! The current medicines view: what a person is taking today, grouped by
//! dispensing, with a flag on drugs taken while pregnant or in the months a
//! mother may be breastfeeding — data for the app to ask the parent to check
//! with the clinic, never advice.

use chrono::{Days, NaiveDate};

use crate::dataset::medication::{Medication, MedicationSource};
use crate::dataset::pregnancy::Pregnancy;

/// A dispensed drug with neither days supplied nor an end date (e.g. 頓服,
/// "10回分") counts as current for this many days from its dispensing.
pub const UNDATED_CURRENT_DAYS: u64 = 14;
/// The dataset records no weaning date: the months after a birth in which
/// the app asks about drugs are this many days.
pub const BREASTFEEDING_WINDOW_DAYS: u64 = 365;
/// A pregnancy dated only by its due date is taken to start this many days before it.
pub const PREGNANCY_DAYS: u64 = 280;

/// Why a drug is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CarePeriodKind {
    /// Taken while pregnant.
    Pregnancy,
    /// Taken in the year after a birth.
    Breastfeeding,
}

/// A span of days in which drugs are flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarePeriod {
    /// Why.
    pub kind: CarePeriodKind,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// The pregnancy periods (LMP, or due date − 280 days, to the outcome date or
/// due date) and breastfeeding windows (birth to a year after) of a mother.
pub fn care_periods(pregnancies: &[Pregnancy], births: &[NaiveDate]) -> Vec<CarePeriod> {
    let mut out = Vec::new();
    for p in pregnancies {
        let edd = p.estimated_delivery_date;
        let from = p.last_menstrual_period.or_else(|| edd.and_then(|d| d.checked_sub_days(Days::new(PREGNANCY_DAYS))));
        let to =
            p.outcome_date.or(edd).or_else(|| from.and_then(|d| d.checked_add_days(Days::new(PREGNANCY_DAYS + 14))));
        if let (Some(from), Some(to)) = (from, to) {
            if from <= to {
                out.push(CarePeriod { kind: CarePeriodKind::Pregnancy, from, to });
            }
        }
    }
    for b in births {
        if let Some(to) = b.checked_add_days(Days::new(BREASTFEEDING_WINDOW_DAYS)) {
            out.push(CarePeriod { kind: CarePeriodKind::Breastfeeding, from: *b, to });
        }
    }
    out
}

/// The days a medication is taken: its date to its last day (or its date).
fn taken(m: &Medication) -> (NaiveDate, NaiveDate) {
    (m.dispensed_on, m.last_day().unwrap_or(m.dispensed_on).max(m.dispensed_on))
}

/// The periods a medication was taken in, each kind once.
pub fn period_flags(m: &Medication, periods: &[CarePeriod]) -> Vec<CarePeriodKind> {
    let (from, to) = taken(m);
    let mut out = Vec::new();
    for p in periods {
        if from <= p.to && p.from <= to && !out.contains(&p.kind) {
            out.push(p.kind);
        }
    }
    out
}

/// True if the medication is being taken on `today`.
pub fn is_current(m: &Medication, today: NaiveDate) -> bool {
    if m.dispensed_on > today {
        return false;
    }
    match (m.last_day(), m.source()) {
        (Some(last), _) => today <= last,
        // An OTC drug without an end date is still being taken.
        (None, MedicationSource::Otc) => true,
        (None, _) => {
            m.dispensed_on.checked_add_days(Days::new(UNDATED_CURRENT_DAYS - 1)).is_some_and(|last| today <= last)
        }
    }
}

/// One current drug, with the caller's handle on it (e.g. its record id).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentDrug<T> {
    /// The caller's handle.
    pub id: T,
    /// The medication.
    pub medication: Medication,
    /// Its last day, if known.
    pub last_day: Option<NaiveDate>,
    /// Periods it was taken in.
    pub flags: Vec<CarePeriodKind>,
}

/// The current drugs of one dispensing (or one OTC drug).
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentDispensing<T> {
    /// Dispensing (or first-taken) date.
    pub dispensed_on: NaiveDate,
    /// The pharmacy.
    pub pharmacy: Option<String>,
    /// Where it comes from.
    pub source: MedicationSource,
    /// The drugs.
    pub drugs: Vec<CurrentDrug<T>>,
}

/// The medications current on `today`, grouped by dispensing (newest first;
/// OTC drugs each on their own), with their period flags.
pub fn current_medicines<T: Clone>(
    items: &[(T, Medication)],
    today: NaiveDate,
    periods: &[CarePeriod],
) -> Vec<CurrentDispensing<T>> {
    let mut groups: Vec<(String, CurrentDispensing<T>)> = Vec::new();
    for (id, m) in items.iter().filter(|(_, m)| is_current(m, today)) {
        let key = m.dispensing_id.clone().unwrap_or_else(|| {
            format!("{}\u{1f}{}\u{1f}{}", m.dispensed_on, m.source().code(), m.pharmacy.as_deref().unwrap_or(""))
        });
        let drug = CurrentDrug {
            id: id.clone(),
            medication: m.clone(),
            last_day: m.last_day(),
            flags: period_flags(m, periods),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.drugs.push(drug),
            None => groups.push((
                key,
                CurrentDispensing {
                    dispensed_on: m.dispensed_on,
                    pharmacy: m.pharmacy.clone(),
                    source: m.source(),
                    drugs: vec![drug],
                },
            )),
        }
    }
    let mut out: Vec<CurrentDispensing<T>> = groups.into_iter().map(|(_, g)| g).collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.dispensed_on));
    out
}
