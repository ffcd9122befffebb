//! What is due next, for apps that schedule local notifications: infant
//! checkups by age, prenatal checkups by gestational age, and immunizations
//! (phr-core's schedule table), each with a date window and a title and body
//! in the chosen language ([`crate::i18n`]). Computed on the device from the
//! family's own records; an item drops out when the record of it arrives.
//!
//! The schedules are data (`data/`), and a municipality's own table can be
//! passed instead of the default:
//! - `infant_checkups.csv` (`checkup_type,from_months,to_months`, window
//!   `[from, to)` in months of age): the common municipal schedule of infant
//!   checkups at 1 month, 3–4, 6–7 and 9–10 months, and the two checkups of the
//!   Maternal and Child Health Act, art. 12 (母子保健法第12条): 1 year 6 months
//!   (to under 2 years) and 3 years (to under 4 years);
//! - `prenatal_checkups.csv` (`from_week,to_week`, inclusive): the standard
//!   Japanese cadence of prenatal checkups (妊婦健康診査, MHLW notice on the
//!   standard checkups): every 4 weeks to 23 weeks, every 2 weeks from 24 to
//!   35 weeks, weekly from 36 weeks.

use chrono::{Days, Months, NaiveDate};

use crate::dataset::child_checkup::CheckupType;
use crate::dataset::immunization_schedule::{DoseState, DoseStatus};
use crate::dataset::pregnancy::{Pregnancy, PregnancyStatus};
use crate::i18n::text;

/// What a due item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DueKind {
    /// An infant or child checkup (乳幼児健診).
    ChildCheckup,
    /// A prenatal checkup (妊婦健診).
    PrenatalCheckup,
    /// An immunization dose.
    Immunization,
}

/// One thing due, with its window and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DueItem {
    /// What it is.
    pub kind: DueKind,
    /// A stable key (`child_checkup:months_3_4`, `prenatal:24`,
    /// `immunization:dpt_ipv_hib:first_term:2`): the same item keeps its key, so
    /// an app can replace a notification it scheduled.
    pub key: String,
    /// First day of the window.
    pub from: NaiveDate,
    /// Last day of the window (none: open-ended).
    pub to: Option<NaiveDate>,
    /// Past its standard window and still allowed (immunizations).
    pub overdue: bool,
    /// The title, in the language asked for.
    pub title: String,
    /// The body, in the language asked for.
    pub body: String,
}

/// One row of an infant checkup schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfantCheckup {
    /// Which checkup.
    pub checkup_type: CheckupType,
    /// From this many months of age.
    pub from_months: u32,
    /// To (not including) this many months of age.
    pub to_months: u32,
}

/// One slot of the prenatal checkup cadence, in completed weeks (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrenatalSlot {
    /// First week.
    pub from_week: u32,
    /// Last week.
    pub to_week: u32,
}

/// A schedule table that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule line {line}: {reason}")]
pub struct ScheduleError {
    /// The line (1 = the header).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn rows(csv: &str, columns: usize) -> impl Iterator<Item = (usize, Result<Vec<&str>, ScheduleError>)> {
    csv.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()).map(move |(i, l)| {
        let f: Vec<&str> = l.split(',').map(str::trim).collect();
        let r = if f.len() == columns {
            Ok(f)
        } else {
            Err(ScheduleError { line: i + 1, reason: format!("{columns} columns expected, got {}", f.len()) })
        };
        (i + 1, r)
    })
}

fn number(line: usize, v: &str, what: &str) -> Result<u32, ScheduleError> {
    v.parse().map_err(|_| ScheduleError { line, reason: format!("{what} must be a whole number, got {v:?}") })
}

/// Reads an infant checkup schedule (`checkup_type,from_months,to_months`).
pub fn infant_checkups_from_csv(csv: &str) -> Result<Vec<InfantCheckup>, ScheduleError> {
    rows(csv, 3)
        .map(|(line, r)| {
            let f = r?;
            let checkup_type = CheckupType::ALL
                .iter()
                .copied()
                .find(|t| t.code() == f[0] && *t != CheckupType::Other)
                .ok_or_else(|| ScheduleError { line, reason: format!("unknown checkup type {:?}", f[0]) })?;
            let (from_months, to_months) = (number(line, f[1], "from_months")?, number(line, f[2], "to_months")?);
            if from_months >= to_months || to_months > 240 {
                return Err(ScheduleError {
                    line,
                    reason: "from_months must be before to_months (at most 240)".into(),
                });
            }
            Ok(InfantCheckup { checkup_type, from_months, to_months })
        })
        .collect()
}

/// Reads a prenatal cadence (`from_week,to_week`).
pub fn prenatal_slots_from_csv(csv: &str) -> Result<Vec<PrenatalSlot>, ScheduleError> {
    rows(csv, 2)
        .map(|(line, r)| {
            let f = r?;
            let (from_week, to_week) = (number(line, f[0], "from_week")?, number(line, f[1], "to_week")?);
            if from_week > to_week || to_week > 45 {
                return Err(ScheduleError { line, reason: "from_week must not be after to_week (at most 45)".into() });
            }
            Ok(PrenatalSlot { from_week, to_week })
        })
        .collect()
}

/// The default infant checkup schedule (`data/infant_checkups.csv`).
pub fn default_infant_checkups() -> Vec<InfantCheckup> {
    infant_checkups_from_csv(include_str!("data/infant_checkups.csv")).expect("the shipped schedule reads")
}

/// The default prenatal cadence (`data/prenatal_checkups.csv`).
pub fn default_prenatal_slots() -> Vec<PrenatalSlot> {
    prenatal_slots_from_csv(include_str!("data/prenatal_checkups.csv")).expect("the shipped cadence reads")
}

/// Whether a window `[from, to]` is listed on `today` looking `horizon_days` ahead.
fn listed(from: NaiveDate, to: Option<NaiveDate>, today: NaiveDate, horizon_days: u32) -> bool {
    to.is_none_or(|t| t >= today) && today.checked_add_days(Days::new(horizon_days.into())).is_some_and(|h| from <= h)
}

/// The infant checkups due for a child born on `birth` with checkups of the
/// types in `done` already recorded.
pub fn child_checkups_due(
    schedule: &[InfantCheckup],
    birth: NaiveDate,
    done: &[CheckupType],
    today: NaiveDate,
    horizon_days: u32,
    lang: &str,
) -> Vec<DueItem> {
    schedule
        .iter()
        .filter(|c| !done.contains(&c.checkup_type))
        .filter_map(|c| {
            let from = birth.checked_add_months(Months::new(c.from_months))?;
            let to = birth.checked_add_months(Months::new(c.to_months))?.pred_opt()?;
            listed(from, Some(to), today, horizon_days).then(|| {
                let name = c.checkup_type.label(lang);
                let args = [("name", name.clone()), ("from", from.to_string()), ("to", to.to_string())];
                DueItem {
                    kind: DueKind::ChildCheckup,
                    key: format!("child_checkup:{}", c.checkup_type.code()),
                    from,
                    to: Some(to),
                    overdue: false,
                    title: text(lang, "due-child-checkup-title", &args),
                    body: text(lang, "due-child-checkup-body", &args),
                }
            })
        })
        .collect()
}

/// The prenatal checkups due in an ongoing, dated pregnancy, given the dates
/// of the visits recorded (a slot with a visit in it is done).
pub fn prenatal_checkups_due(
    slots: &[PrenatalSlot],
    pregnancy: &Pregnancy,
    visits: &[NaiveDate],
    today: NaiveDate,
    horizon_days: u32,
    lang: &str,
) -> Vec<DueItem> {
    let (PregnancyStatus::Ongoing, Some(start)) = (pregnancy.status, pregnancy.dating_start()) else {
        return Vec::new();
    };
    slots
        .iter()
        .filter_map(|s| {
            let from = start.checked_add_days(Days::new(u64::from(s.from_week) * 7))?;
            let to = start.checked_add_days(Days::new(u64::from(s.to_week) * 7 + 6))?;
            if visits.iter().any(|v| (from..=to).contains(v)) || !listed(from, Some(to), today, horizon_days) {
                return None;
            }
            let week = if s.from_week == s.to_week {
                s.from_week.to_string()
            } else {
                format!("{}–{}", s.from_week, s.to_week)
            };
            let args = [("week", week), ("from", from.to_string()), ("to", to.to_string())];
            Some(DueItem {
                kind: DueKind::PrenatalCheckup,
                key: format!("prenatal:{}", s.from_week),
                from,
                to: Some(to),
                overdue: false,
                title: text(lang, "due-prenatal-title", &args),
                body: text(lang, "due-prenatal-body", &args),
            })
        })
        .collect()
}

/// The immunization doses due, overdue or starting within the horizon, from
/// the schedule's statuses for a child.
pub fn immunizations_due(statuses: &[DoseStatus], today: NaiveDate, horizon_days: u32, lang: &str) -> Vec<DueItem> {
    statuses
        .iter()
        .filter_map(|s| {
            let (from, to, overdue) = match s.state {
                DoseState::Due { from, by } => (from, Some(by), false),
                DoseState::Overdue { since } => (since, s.window_closes.and_then(|c| c.pred_opt()), true),
                DoseState::Upcoming { from } => (from, None, false),
                _ => return None,
            };
            if !listed(from, to, today, horizon_days) && !overdue {
                return None;
            }
            let args = [
                ("vaccine", s.vaccine.label(lang)),
                ("dose", s.dose_number.to_string()),
                ("from", from.to_string()),
                ("to", to.map(|d| d.to_string()).unwrap_or_default()),
            ];
            let body = if overdue { "due-immunization-overdue-body" } else { "due-immunization-body" };
            Some(DueItem {
                kind: DueKind::Immunization,
                key: format!("immunization:{}:{}:{}", s.vaccine.code(), s.series.code(), s.dose_number),
                from,
                to,
                overdue,
                title: text(lang, "due-immunization-title", &args),
                body: text(lang, body, &args),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
