//! Japan's routine child immunization schedule as data, and which doses are
//! completed, due, overdue or upcoming for a child.
//!
//! The schedule is one table, `immunization_schedule.csv` next to this file (its
//! header documents the columns), compiled in with `include_str!` and parsed
//! once. Updating the schedule means editing that table; the code only knows how
//! to read ages and intervals and how to compare them with the doses given.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::common::Sex;
use super::immunization::{DoseSeries, Immunization, Vaccine};

/// The schedule table as compiled in.
pub const SCHEDULE_CSV: &str = include_str!("immunization_schedule.csv");

const COLUMNS: [&str; 16] = [
    "vaccine",
    "alternatives",
    "alternative_group",
    "series",
    "dose",
    "age_base",
    "window_from",
    "earliest",
    "recommended_from",
    "recommended_by",
    "latest",
    "after_dose",
    "min_interval",
    "skip_if_gap_at_least",
    "sex",
    "notes",
];

// ---------------------------------------------------------------------------
// Offsets
// ---------------------------------------------------------------------------

/// A span of calendar time as the schedule writes it: years, months, weeks and
/// days (`1y6m`, `14w6d`, `2m27d`, `-1y`). Years and months are added as calendar
/// months first (clamped to the month's end), then weeks and days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset {
    /// Counts backwards from the base date.
    pub negative: bool,
    /// Years (12 calendar months each).
    pub years: u32,
    /// Calendar months.
    pub months: u32,
    /// Weeks (7 days each).
    pub weeks: u32,
    /// Days.
    pub days: u32,
}

impl Offset {
    /// `date` moved by this offset; `None` if the result is out of chrono's range.
    pub fn apply(&self, date: NaiveDate) -> Option<NaiveDate> {
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        let days = u64::from(self.weeks) * 7 + u64::from(self.days);
        if self.negative {
            date.checked_sub_months(Months::new(months))?.checked_sub_days(Days::new(days))
        } else {
            date.checked_add_months(Months::new(months))?.checked_add_days(Days::new(days))
        }
    }
}

impl FromStr for Offset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (negative, mut rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        if rest.is_empty() {
            return Err(format!("empty offset {s:?}"));
        }
        let mut off = Offset { negative, ..Offset::default() };
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!("offset {s:?}: expected a number at {rest:?}"));
            }
            let value: u32 = rest[..digits].parse().map_err(|_| format!("offset {s:?}: number too large"))?;
            let unit = rest[digits..].chars().next().ok_or_else(|| format!("offset {s:?}: missing unit"))?;
            let slot = match unit {
                'y' => &mut off.years,
                'm' => &mut off.months,
                'w' => &mut off.weeks,
                'd' => &mut off.days,
                other => return Err(format!("offset {s:?}: unknown unit {other:?} (use y, m, w or d)")),
            };
            *slot = slot.checked_add(value).ok_or_else(|| format!("offset {s:?}: number too large"))?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(off)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        let parts = [(self.years, 'y'), (self.months, 'm'), (self.weeks, 'w'), (self.days, 'd')];
        let mut wrote = false;
        for (n, u) in parts {
            if n > 0 {
                write!(f, "{n}{u}")?;
                wrote = true;
            }
        }
        if !wrote {
            f.write_str("0d")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Schedule rows
// ---------------------------------------------------------------------------

/// What a row's ages are counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBase {
    /// The date of birth.
    Birth,
    /// 1 April of the school year the child enters primary school; see [`school_entry_date`].
    SchoolEntry,
}

/// What a row's window (earliest, recommended from/by) is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFrom {
    /// An age from the row's [`AgeBase`].
    Age,
    /// An interval after the row's reference dose.
    AfterDose,
}

/// One dose of the schedule table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    /// Line of the row in the table (1-based), for messages.
    pub line: usize,
    /// The vaccine; the rows of one vaccine form a chain, in table order.
    pub vaccine: Vaccine,
    /// Other vaccines whose doses count for this row (PCV15 for a PCV20 row).
    pub alternatives: Vec<Vaccine>,
    /// Chains sharing a group are alternatives (Rotarix or RotaTeq).
    pub alternative_group: Option<String>,
    /// The dose's series.
    pub series: DoseSeries,
    /// The dose's number within its series.
    pub dose_number: u32,
    /// What `latest` (and an age window) is counted from.
    pub age_base: AgeBase,
    /// What the window is counted from.
    pub window_from: WindowFrom,
    /// Not to be given before this.
    pub earliest: Offset,
    /// The standard window opens: due from this point.
    pub recommended_from: Offset,
    /// Overdue from this point on.
    pub recommended_by: Offset,
    /// No longer given under the schedule from this age (from `age_base`) on.
    pub latest: Option<Offset>,
    /// Index (into [`schedule`]) of the dose intervals are counted from.
    pub after_row: Option<usize>,
    /// Minimum time after the reference dose (for age windows).
    pub min_interval: Option<Offset>,
    /// Not needed when the reference dose came at least this long after the dose before it.
    pub skip_if_gap_at_least: Option<Offset>,
    /// `Some(sex)` when only for that sex.
    pub sex: Option<Sex>,
    /// Free-text notes of the row.
    pub notes: String,
}

impl ScheduleRow {
    /// True if a dose of `vaccine` counts for this row.
    pub fn accepts(&self, vaccine: Vaccine) -> bool {
        self.vaccine == vaccine || self.alternatives.contains(&vaccine)
    }
}

/// A problem in the schedule table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("immunization schedule line {line}: {message}")]
pub struct ScheduleError {
    /// Line in the table (1-based; 0 for the whole table).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The compiled-in schedule, parsed and checked once.
pub fn schedule() -> Result<&'static [ScheduleRow], &'static ScheduleError> {
    static TABLE: OnceLock<Result<Vec<ScheduleRow>, ScheduleError>> = OnceLock::new();
    TABLE.get_or_init(|| parse_schedule(SCHEDULE_CSV)).as_ref().map(Vec::as_slice)
}

fn coded<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str, s: &str, what: &str) -> Result<T, String> {
    all.iter().copied().find(|v| code(*v) == s).ok_or_else(|| format!("unknown {what} {s:?}"))
}

fn opt_offset(s: &str) -> Result<Option<Offset>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        s.parse().map(Some)
    }
}

/// Parses and checks a schedule table (the format of `immunization_schedule.csv`).
/// Checks every row, cross-references, and that each row's earliest <=
/// recommended_from <= recommended_by (and recommended_by <= latest for age windows).
pub fn parse_schedule(text: &str) -> Result<Vec<ScheduleRow>, ScheduleError> {
    let mut rows: Vec<ScheduleRow> = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| ScheduleError { line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
        if !header_seen {
            if cells != COLUMNS {
                return Err(err(format!("header must be {}", COLUMNS.join(","))));
            }
            header_seen = true;
            continue;
        }
        if cells.len() != COLUMNS.len() {
            return Err(err(format!("expected {} columns, got {}", COLUMNS.len(), cells.len())));
        }
        let row = parse_row(line, &cells, &rows).map_err(err)?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ScheduleError { line: 0, message: "the table has no rows".into() });
    }
    check_consistency(&rows)?;
    Ok(rows)
}

fn parse_row(line: usize, c: &[&str], earlier: &[ScheduleRow]) -> Result<ScheduleRow, String> {
    let vaccine = coded(Vaccine::ALL, Vaccine::code, c[0], "vaccine")?;
    let alternatives = if c[1].is_empty() {
        Vec::new()
    } else {
        c[1].split('|').map(|v| coded(Vaccine::ALL, Vaccine::code, v.trim(), "vaccine")).collect::<Result<_, _>>()?
    };
    let alternative_group = (!c[2].is_empty()).then(|| c[2].to_owned());
    let series = coded(DoseSeries::ALL, DoseSeries::code, c[3], "series")?;
    let dose_number: u32 = c[4].parse().map_err(|_| format!("dose must be a positive integer, got {:?}", c[4]))?;
    if dose_number == 0 {
        return Err("dose must be at least 1".into());
    }
    let age_base = match c[5] {
        "birth" => AgeBase::Birth,
        "school_entry" => AgeBase::SchoolEntry,
        other => return Err(format!("age_base must be birth or school_entry, got {other:?}")),
    };
    let window_from = match c[6] {
        "age" => WindowFrom::Age,
        "after_dose" => WindowFrom::AfterDose,
        other => return Err(format!("window_from must be age or after_dose, got {other:?}")),
    };
    let earliest: Offset = c[7].parse()?;
    let recommended_from: Offset = c[8].parse()?;
    let recommended_by: Offset = c[9].parse()?;
    let latest = opt_offset(c[10])?;
    let same_chain = || earlier.iter().enumerate().filter(|(_, r)| r.vaccine == vaccine);
    let after_row = if c[11].is_empty() {
        same_chain().next_back().map(|(i, _)| i)
    } else {
        let (s, n) = c[11].split_once(':').ok_or_else(|| format!("after_dose must be series:dose, got {:?}", c[11]))?;
        let s = coded(DoseSeries::ALL, DoseSeries::code, s, "series")?;
        let n: u32 = n.parse().map_err(|_| format!("after_dose must be series:dose, got {:?}", c[11]))?;
        let found = same_chain().find(|(_, r)| r.series == s && r.dose_number == n).map(|(i, _)| i);
        Some(found.ok_or_else(|| format!("after_dose {:?} is not an earlier row of {}", c[11], vaccine.code()))?)
    };
    let min_interval = opt_offset(c[12])?;
    let skip_if_gap_at_least = opt_offset(c[13])?;
    let needs_ref = window_from == WindowFrom::AfterDose || min_interval.is_some() || skip_if_gap_at_least.is_some();
    if needs_ref && after_row.is_none() {
        return Err("window_from=after_dose, min_interval and skip_if_gap_at_least need an earlier dose".into());
    }
    let sex = match c[14] {
        "any" => None,
        "female" => Some(Sex::Female),
        "male" => Some(Sex::Male),
        other => return Err(format!("sex must be any, female or male, got {other:?}")),
    };
    Ok(ScheduleRow {
        line,
        vaccine,
        alternatives,
        alternative_group,
        series,
        dose_number,
        age_base,
        window_from,
        earliest,
        recommended_from,
        recommended_by,
        latest,
        after_row,
        min_interval,
        skip_if_gap_at_least,
        sex,
        notes: c[15].to_owned(),
    })
}

/// Base dates the offsets are compared on: month ends, a leap day, mid-month.
const REFERENCE_DATES: [(i32, u32, u32); 5] =
    [(2024, 1, 31), (2024, 2, 29), (2025, 3, 31), (2025, 7, 15), (2026, 12, 31)];

/// `a <= b` on every reference date (offsets of mixed units have no total order).
fn offset_le(a: &Offset, b: &Offset) -> bool {
    REFERENCE_DATES.iter().all(|&(y, m, d)| {
        let base = NaiveDate::from_ymd_opt(y, m, d);
        match (base.and_then(|x| a.apply(x)), base.and_then(|x| b.apply(x))) {
            (Some(a), Some(b)) => a <= b,
            _ => false,
        }
    })
}

fn check_consistency(rows: &[ScheduleRow]) -> Result<(), ScheduleError> {
    for (i, r) in rows.iter().enumerate() {
        let err = |message: String| Err(ScheduleError { line: r.line, message });
        if !offset_le(&r.earliest, &r.recommended_from) {
            return err(format!("earliest {} is after recommended_from {}", r.earliest, r.recommended_from));
        }
        if !offset_le(&r.recommended_from, &r.recommended_by) || r.recommended_from == r.recommended_by {
            return err(format!(
                "recommended_from {} must be before recommended_by {}",
                r.recommended_from, r.recommended_by
            ));
        }
        if let (WindowFrom::Age, Some(latest)) = (r.window_from, &r.latest) {
            if !offset_le(&r.recommended_by, latest) {
                return err(format!("recommended_by {} is after latest {latest}", r.recommended_by));
            }
        }
        if rows[..i].iter().any(|o| o.vaccine == r.vaccine && o.series == r.series && o.dose_number == r.dose_number) {
            return err(format!("{} {} dose {} appears twice", r.vaccine.code(), r.series.code(), r.dose_number));
        }
        // A given dose must count for one chain only.
        for v in std::iter::once(r.vaccine).chain(r.alternatives.iter().copied()) {
            if rows.iter().any(|o| o.vaccine != r.vaccine && o.accepts(v)) {
                return err(format!("vaccine {} counts for two chains", v.code()));
            }
        }
        if let Some(g) = &r.alternative_group {
            if !rows.iter().any(|o| o.alternative_group.as_ref() == Some(g) && o.vaccine != r.vaccine) {
                return err(format!("alternative_group {g:?} has no other vaccine"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

/// Where one scheduled dose stands for a child on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DoseState {
    /// Given on `on`.
    Completed {
        /// The date the dose was given.
        on: NaiveDate,
    },
    /// In its standard window: give from `from`, at the latest on `by`.
    Due {
        /// First day of the window (or the earliest allowed date, if later).
        from: NaiveDate,
        /// Last day of the standard window.
        by: NaiveDate,
    },
    /// Not given and past its standard window since `since`; still allowed.
    Overdue {
        /// The first day after the standard window (`Due::by` + 1).
        since: NaiveDate,
    },
    /// Not yet due; due from `from`.
    Upcoming {
        /// The day it becomes due (as `Due::from`).
        from: NaiveDate,
    },
    /// Counted from an earlier dose that has not been given yet.
    AwaitingPreviousDose,
    /// Not given, and no longer given under the schedule since `window_closed_on`
    /// (past the age limit; some vaccines may still be given as voluntary).
    Missed {
        /// The first day the dose is no longer given under the schedule.
        window_closed_on: NaiveDate,
    },
    /// Does not apply: other sex, the alternative brand was chosen, or not needed
    /// after the doses given.
    NotApplicable,
}

/// One row of the schedule, evaluated for a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseStatus {
    /// The row's vaccine (doses of its alternatives count too).
    pub vaccine: Vaccine,
    /// The row's series.
    pub series: DoseSeries,
    /// The row's dose number within its series.
    pub dose_number: u32,
    /// Where the dose stands.
    pub state: DoseState,
    /// The earliest date the dose may be given, when it can be computed.
    pub earliest: Option<NaiveDate>,
    /// The first date it is no longer given under the schedule, if limited.
    pub window_closes: Option<NaiveDate>,
    /// The dose was given before [`DoseStatus::earliest`] (may not count; ask the clinic).
    pub given_too_early: bool,
    /// The table's notes for this dose.
    pub notes: String,
}

/// 1 April of the school year a child born on `birth` enters primary school:
/// the first 1 April on or after the 6th birthday (a child born on 1 April is
/// legally 6 the day before, so enters that year). `None` only at chrono's limits.
pub fn school_entry_date(birth: NaiveDate) -> Option<NaiveDate> {
    let sixth = birth.checked_add_months(Months::new(72))?;
    let april = NaiveDate::from_ymd_opt(sixth.year(), 4, 1)?;
    if april >= sixth {
        Some(april)
    } else {
        NaiveDate::from_ymd_opt(sixth.year().checked_add(1)?, 4, 1)
    }
}

/// The status of every dose of the routine schedule for a child born on
/// `birth_date`, with the doses `given` (any order, any vaccines; doses of
/// vaccines outside the schedule are ignored), on `today`. One entry per row of
/// the table, in table order; sex-restricted rows are `NotApplicable` only when
/// `sex` is known to differ. Empty only if the compiled-in table were invalid
/// (a test guarantees it is not).
///
/// Given doses are matched to rows per vaccine chain: first by exact series and
/// dose number, then the remaining ones by date order to the remaining rows.
pub fn immunization_status(
    birth_date: NaiveDate,
    sex: Option<Sex>,
    given: &[Immunization],
    today: NaiveDate,
) -> Vec<DoseStatus> {
    match schedule() {
        Ok(rows) => status_for(rows, birth_date, sex, given, today),
        Err(_) => Vec::new(),
    }
}

fn status_for(
    rows: &[ScheduleRow],
    birth: NaiveDate,
    sex: Option<Sex>,
    given: &[Immunization],
    today: NaiveDate,
) -> Vec<DoseStatus> {
    let done = match_doses(rows, given);
    let school = school_entry_date(birth);
    let started = |v: Vaccine| rows.iter().zip(&done).any(|(r, d)| r.vaccine == v && d.is_some());
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let base = match row.age_base {
                AgeBase::Birth => Some(birth),
                AgeBase::SchoolEntry => school,
            };
            let after = row.after_row.and_then(|j| done.get(j).copied().flatten());
            let window_closes = row.latest.and_then(|l| base.and_then(|b| l.apply(b)));
            let anchor = match row.window_from {
                WindowFrom::Age => base,
                WindowFrom::AfterDose => after,
            };
            let mut earliest = anchor.and_then(|a| row.earliest.apply(a));
            if let (Some(min), Some(prev)) = (row.min_interval, after) {
                let by_interval = min.apply(prev);
                earliest = earliest.max(by_interval);
            }
            let wrong_sex =
                matches!((row.sex, sex), (Some(Sex::Female), Some(Sex::Male)) | (Some(Sex::Male), Some(Sex::Female)));
            let other_brand_chosen = row.alternative_group.as_ref().is_some_and(|g| {
                !started(row.vaccine)
                    && rows.iter().any(|o| {
                        o.alternative_group.as_ref() == Some(g) && o.vaccine != row.vaccine && started(o.vaccine)
                    })
            });
            let not_needed = row.skip_if_gap_at_least.is_some_and(|gap| {
                let prev = row.after_row.and_then(|j| rows.get(j)).and_then(|r| r.after_row);
                match (after, prev.and_then(|k| done.get(k).copied().flatten())) {
                    (Some(a), Some(p)) => gap.apply(p).is_some_and(|limit| a >= limit),
                    _ => false,
                }
            });
            let state = if wrong_sex || other_brand_chosen {
                DoseState::NotApplicable
            } else if let Some(on) = done[i] {
                DoseState::Completed { on }
            } else if not_needed {
                DoseState::NotApplicable
            } else {
                pending_state(row, anchor, earliest, window_closes, today)
            };
            let given_too_early = match (&state, earliest) {
                (DoseState::Completed { on }, Some(e)) => *on < e,
                _ => false,
            };
            DoseStatus {
                vaccine: row.vaccine,
                series: row.series,
                dose_number: row.dose_number,
                state,
                earliest,
                window_closes,
                given_too_early,
                notes: row.notes.clone(),
            }
        })
        .collect()
}

/// The state of a dose not given (and applicable) on `today`.
fn pending_state(
    row: &ScheduleRow,
    anchor: Option<NaiveDate>,
    earliest: Option<NaiveDate>,
    window_closes: Option<NaiveDate>,
    today: NaiveDate,
) -> DoseState {
    if let Some(closed) = window_closes {
        if today >= closed {
            return DoseState::Missed { window_closed_on: closed };
        }
    }
    let Some(anchor) = anchor else {
        return match row.window_from {
            WindowFrom::AfterDose => DoseState::AwaitingPreviousDose,
            // Only when the base date is out of chrono's range.
            WindowFrom::Age => DoseState::NotApplicable,
        };
    };
    let (Some(from), Some(overdue)) = (row.recommended_from.apply(anchor), row.recommended_by.apply(anchor)) else {
        return DoseState::NotApplicable;
    };
    let from = from.max(earliest.unwrap_or(from));
    if today < from {
        DoseState::Upcoming { from }
    } else if today >= overdue {
        DoseState::Overdue { since: overdue }
    } else {
        DoseState::Due { from, by: overdue.pred_opt().unwrap_or(overdue) }
    }
}

/// For each row, the date of the given dose that counts for it.
fn match_doses(rows: &[ScheduleRow], given: &[Immunization]) -> Vec<Option<NaiveDate>> {
    let mut done: Vec<Option<NaiveDate>> = vec![None; rows.len()];
    let mut chains: Vec<Vaccine> = Vec::new();
    for r in rows {
        if !chains.contains(&r.vaccine) {
            chains.push(r.vaccine);
        }
    }
    for chain in chains {
        let chain_rows: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].vaccine == chain).collect();
        let mut doses: Vec<&Immunization> =
            given.iter().filter(|g| chain_rows.first().is_some_and(|&i| rows[i].accepts(g.vaccine))).collect();
        doses.sort_by_key(|g| (g.date_given, g.series.code(), g.dose_number));
        let mut used = vec![false; doses.len()];
        // Pass 1: doses labelled with this row's series and number.
        for &i in &chain_rows {
            let hit = doses
                .iter()
                .enumerate()
                .find(|(k, g)| !used[*k] && g.series == rows[i].series && g.dose_number == rows[i].dose_number);
            if let Some((k, g)) = hit {
                used[k] = true;
                done[i] = Some(g.date_given);
            }
        }
        // Pass 2: the rest, in date order, fill the remaining rows in order.
        let mut rest = doses.iter().zip(&used).filter(|(_, u)| !**u).map(|(g, _)| g.date_given);
        for &i in &chain_rows {
            if done[i].is_none() {
                done[i] = rest.next();
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dose(vaccine: Vaccine, series: DoseSeries, n: u32, on: &str) -> Immunization {
        Immunization {
            vaccine,
            vaccine_name: None,
            hot9_code: None,
            yj_code: None,
            routine: true,
            date_given: d(on),
            dose_number: n,
            series,
            lot_number: None,
            manufacturer: None,
            site: None,
            performer: None,
            location: None,
            next_due_date: None,
        }
    }

    fn find(st: &[DoseStatus], v: Vaccine, s: DoseSeries, n: u32) -> DoseState {
        st.iter()
            .find(|x| x.vaccine == v && x.series == s && x.dose_number == n)
            .map(|x| x.state.clone())
            .unwrap_or_else(|| panic!("no row {v:?} {s:?} {n}"))
    }

    use DoseSeries::{Booster, FirstTerm, Primary, SecondTerm};
    use Vaccine::*;

    const BORN: &str = "2026-01-10";

    #[test]
    fn every_schedule_row_parses_and_is_consistent() {
        let rows = schedule().expect("the compiled-in table is valid");
        // Every non-comment line after the header is a row.
        let data_lines = SCHEDULE_CSV.lines().filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#')).count();
        assert_eq!(rows.len(), data_lines - 1);
        for r in rows {
            assert!(offset_le(&r.earliest, &r.recommended_from), "line {}", r.line);
            assert!(offset_le(&r.recommended_from, &r.recommended_by), "line {}", r.line);
            if r.window_from == WindowFrom::AfterDose {
                assert!(r.after_row.is_some(), "line {}", r.line);
            }
            assert!(!r.notes.is_empty(), "line {}", r.line);
        }
    }

    #[test]
    fn schedule_covers_every_routine_child_vaccine_of_the_dataset() {
        let rows = schedule().unwrap();
        let count = |v: Vaccine| rows.iter().filter(|r| r.vaccine == v).count();
        assert_eq!(count(HepatitisB), 3);
        assert_eq!(count(RotavirusRotarix), 2);
        assert_eq!(count(RotavirusRotateq), 3);
        assert_eq!(count(DptIpvHib), 4);
        assert_eq!(count(Pcv20), 4);
        assert_eq!(count(Bcg), 1);
        assert_eq!(count(Mr), 2);
        assert_eq!(count(Varicella), 2);
        assert_eq!(count(JapaneseEncephalitis), 4);
        assert_eq!(count(Dt), 1);
        assert_eq!(count(Hpv), 3);
    }

    #[test]
    fn malformed_tables_are_rejected_with_their_line() {
        let header = COLUMNS.join(",");
        let ok_row = "bcg,,,primary,1,birth,age,0d,5m,8m,1y,,,,any,x";
        assert!(parse_schedule(&format!("{header}\n{ok_row}\n")).is_ok());
        let cases = [
            "bcg,,,primary,1,birth,age,6m,5m,8m,1y,,,,any,earliest after from",
            "bcg,,,primary,1,birth,age,0d,8m,5m,1y,,,,any,from after by",
            "bcg,,,primary,1,birth,age,0d,5m,8m,6m,,,,any,by after latest",
            "bcg,,,primary,1,birth,age,0d,5x,8m,1y,,,,any,bad unit",
            "bcg,,,primary,0,birth,age,0d,5m,8m,1y,,,,any,dose zero",
            "bcgx,,,primary,1,birth,age,0d,5m,8m,1y,,,,any,bad vaccine",
            "bcg,,,primary,1,birth,after_dose,0d,5m,8m,1y,,,,any,no earlier dose",
            "bcg,,,primary,1,birth,age,0d,5m,8m,1y,,,,any",
        ];
        for bad in cases {
            let err = parse_schedule(&format!("{header}\n{bad}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{bad}: {err}");
        }
        let dup = parse_schedule(&format!("{header}\n{ok_row}\n{ok_row}\n")).unwrap_err();
        assert_eq!(dup.line, 3);
    }

    #[test]
    fn offsets_parse_and_add_calendar_months_before_days() {
        let o: Offset = "2m27d".parse().unwrap();
        // 2026-01-10 + 2 months = 2026-03-10, + 27 days = 2026-04-06.
        assert_eq!(o.apply(d("2026-01-10")), Some(d("2026-04-06")));
        // 14w6d = 104 days: 2026-01-10 + 104 days = 2026-04-24.
        assert_eq!("14w6d".parse::<Offset>().unwrap().apply(d("2026-01-10")), Some(d("2026-04-24")));
        assert_eq!("-1y".parse::<Offset>().unwrap().apply(d("2027-04-01")), Some(d("2026-04-01")));
        for bad in ["", "-", "5", "m", "3q", "1y2"] {
            assert!(bad.parse::<Offset>().is_err(), "{bad}");
        }
        assert_eq!("1y6m".parse::<Offset>().unwrap().to_string(), "1y6m");
    }

    #[test]
    fn hep_b_first_dose_is_due_at_two_months() {
        // Born 2026-01-10: 2 months = 2026-03-10; overdue from 3 months = 2026-04-10.
        let st = immunization_status(d(BORN), Some(Sex::Female), &[], d("2026-03-15"));
        assert_eq!(find(&st, HepatitisB, Primary, 1), DoseState::Due { from: d("2026-03-10"), by: d("2026-04-09") });
        // Dose 2 is not yet due: from 3 months.
        assert_eq!(find(&st, HepatitisB, Primary, 2), DoseState::Upcoming { from: d("2026-04-10") });
    }

    #[test]
    fn hep_b_first_dose_is_overdue_at_four_months_without_doses() {
        let st = immunization_status(d(BORN), None, &[], d("2026-05-10"));
        assert_eq!(find(&st, HepatitisB, Primary, 1), DoseState::Overdue { since: d("2026-04-10") });
    }

    #[test]
    fn hep_b_is_missed_after_the_first_birthday() {
        let st = immunization_status(d(BORN), None, &[], d("2027-01-10"));
        assert_eq!(find(&st, HepatitisB, Primary, 1), DoseState::Missed { window_closed_on: d("2027-01-10") });
    }

    #[test]
    fn given_doses_show_completed_and_push_the_next_dose_by_the_minimum_interval() {
        let given = [dose(HepatitisB, Primary, 1, "2026-03-20")];
        let st = immunization_status(d(BORN), None, &given, d("2026-04-01"));
        assert_eq!(find(&st, HepatitisB, Primary, 1), DoseState::Completed { on: d("2026-03-20") });
        // Dose 2: standard from 2026-04-10; 27 days after 2026-03-20 is 2026-04-16, later, so it wins.
        assert_eq!(find(&st, HepatitisB, Primary, 2), DoseState::Upcoming { from: d("2026-04-16") });
        let given = [
            dose(HepatitisB, Primary, 1, "2026-03-10"),
            dose(HepatitisB, Primary, 2, "2026-04-10"),
            dose(HepatitisB, Primary, 3, "2026-08-10"),
        ];
        let st = immunization_status(d(BORN), None, &given, d("2026-09-01"));
        for (n, on) in [(1, "2026-03-10"), (2, "2026-04-10"), (3, "2026-08-10")] {
            assert_eq!(find(&st, HepatitisB, Primary, n), DoseState::Completed { on: d(on) });
        }
    }

    #[test]
    fn dose_given_before_the_minimum_interval_is_flagged_too_early() {
        // Dose 2 only 20 days after dose 1 (minimum 27).
        let given = [dose(HepatitisB, Primary, 1, "2026-03-10"), dose(HepatitisB, Primary, 2, "2026-03-30")];
        let st = immunization_status(d(BORN), None, &given, d("2026-04-15"));
        let s2 = st.iter().find(|x| x.vaccine == HepatitisB && x.dose_number == 2).unwrap();
        assert!(s2.given_too_early);
        assert_eq!(s2.earliest, Some(d("2026-04-06")));
        let s1 = st.iter().find(|x| x.vaccine == HepatitisB && x.dose_number == 1).unwrap();
        assert!(!s1.given_too_early);
    }

    #[test]
    fn unlabelled_doses_fill_the_remaining_rows_in_date_order() {
        // Recorded with the wrong series/number: still counted, in date order.
        let given = [dose(HepatitisB, Booster, 7, "2026-04-10"), dose(HepatitisB, Booster, 7, "2026-03-10")];
        let st = immunization_status(d(BORN), None, &given, d("2026-05-01"));
        assert_eq!(find(&st, HepatitisB, Primary, 1), DoseState::Completed { on: d("2026-03-10") });
        assert_eq!(find(&st, HepatitisB, Primary, 2), DoseState::Completed { on: d("2026-04-10") });
    }

    #[test]
    fn a_boy_has_no_hpv_dose_applicable_and_a_girl_does() {
        let born = d("2014-05-20");
        let boy = immunization_status(born, Some(Sex::Male), &[], d("2027-06-01"));
        let hpv: Vec<_> = boy.iter().filter(|x| x.vaccine == Hpv).collect();
        assert_eq!(hpv.len(), 3);
        assert!(hpv.iter().all(|x| x.state == DoseState::NotApplicable));
        // Girl born 2014-05-20: school entry 2021-04-01, grade 6 from 2026-04-01,
        // standard window closes at the end of grade 7 (overdue from 2028-04-01).
        let girl = immunization_status(born, Some(Sex::Female), &[], d("2027-06-01"));
        assert_eq!(find(&girl, Hpv, Primary, 1), DoseState::Due { from: d("2026-04-01"), by: d("2028-03-31") });
        assert_eq!(find(&girl, Hpv, Primary, 2), DoseState::AwaitingPreviousDose);
        // Sex not recorded: the reminder is shown.
        let unknown = immunization_status(born, None, &[], d("2027-06-01"));
        assert!(matches!(find(&unknown, Hpv, Primary, 1), DoseState::Due { .. }));
    }

    #[test]
    fn hpv_third_dose_is_not_needed_after_a_two_dose_series_five_months_apart() {
        let born = d("2014-05-20");
        let two = [dose(Hpv, Primary, 1, "2027-05-01"), dose(Hpv, Primary, 2, "2027-11-01")];
        let st = immunization_status(born, Some(Sex::Female), &two, d("2028-01-01"));
        assert_eq!(find(&st, Hpv, Primary, 3), DoseState::NotApplicable);
        // Doses two months apart: a third dose is needed, from 4 months after dose 2 (2027-11-01).
        let three = [dose(Hpv, Primary, 1, "2027-05-01"), dose(Hpv, Primary, 2, "2027-07-01")];
        let st = immunization_status(born, Some(Sex::Female), &three, d("2027-08-01"));
        assert_eq!(find(&st, Hpv, Primary, 3), DoseState::Upcoming { from: d("2027-11-01") });
    }

    #[test]
    fn rotavirus_brand_chosen_makes_the_other_brand_not_applicable() {
        // Before any dose both brands are offered: born 2026-01-10, 2 months = 2026-03-10,
        // first dose by 14w6d = 2026-04-24.
        let st = immunization_status(d(BORN), None, &[], d("2026-03-15"));
        let due = DoseState::Due { from: d("2026-03-10"), by: d("2026-04-24") };
        assert_eq!(find(&st, RotavirusRotarix, Primary, 1), due);
        assert_eq!(find(&st, RotavirusRotateq, Primary, 1), due);
        let given = [dose(RotavirusRotarix, Primary, 1, "2026-03-12")];
        let st = immunization_status(d(BORN), None, &given, d("2026-03-15"));
        for n in 1..=3 {
            assert_eq!(find(&st, RotavirusRotateq, Primary, n), DoseState::NotApplicable);
        }
        // Rotarix dose 2: standard from 3 months (2026-04-10), after 27 days (2026-04-08).
        assert_eq!(find(&st, RotavirusRotarix, Primary, 2), DoseState::Upcoming { from: d("2026-04-10") });
    }

    #[test]
    fn rotavirus_not_started_by_15_weeks_is_missed() {
        // 2026-01-10 + 15 weeks = 2026-04-25.
        let st = immunization_status(d(BORN), None, &[], d("2026-04-25"));
        assert_eq!(find(&st, RotavirusRotarix, Primary, 1), DoseState::Missed { window_closed_on: d("2026-04-25") });
    }

    #[test]
    fn dpt_booster_waits_for_the_primary_doses_then_counts_from_the_third() {
        let st = immunization_status(d(BORN), None, &[], d("2026-03-15"));
        assert_eq!(find(&st, DptIpvHib, FirstTerm, 2), DoseState::AwaitingPreviousDose);
        assert_eq!(find(&st, DptIpvHib, Booster, 1), DoseState::AwaitingPreviousDose);
        let given = [
            dose(DptIpvHib, FirstTerm, 1, "2026-03-10"),
            dose(DptIpvHib, FirstTerm, 2, "2026-04-10"),
            dose(DptIpvHib, FirstTerm, 3, "2026-05-10"),
        ];
        // Booster 6–18 months after 2026-05-10: from 2026-11-10, overdue from 2027-11-10.
        let st = immunization_status(d(BORN), None, &given, d("2027-01-01"));
        assert_eq!(find(&st, DptIpvHib, Booster, 1), DoseState::Due { from: d("2026-11-10"), by: d("2027-11-09") });
    }

    #[test]
    fn pcv15_doses_count_for_the_pcv_rows() {
        let given = [dose(Pcv15, Primary, 1, "2026-03-10")];
        let st = immunization_status(d(BORN), None, &given, d("2026-03-15"));
        assert_eq!(find(&st, Pcv20, Primary, 1), DoseState::Completed { on: d("2026-03-10") });
    }

    #[test]
    fn mr_second_term_is_due_in_the_school_year_before_primary_school() {
        // Born 2020-06-15 and 2021-04-01 both enter school on 2027-04-01; window
        // 2026-04-01 – 2027-03-31. Born 2021-04-02 enters a year later.
        assert_eq!(school_entry_date(d("2020-06-15")), Some(d("2027-04-01")));
        assert_eq!(school_entry_date(d("2021-04-01")), Some(d("2027-04-01")));
        assert_eq!(school_entry_date(d("2021-04-02")), Some(d("2028-04-01")));
        assert_eq!(school_entry_date(d("2020-02-29")), Some(d("2026-04-01")));
        let given = [dose(Mr, FirstTerm, 1, "2021-06-20")];
        let st = immunization_status(d("2020-06-15"), None, &given, d("2026-05-01"));
        assert_eq!(find(&st, Mr, SecondTerm, 1), DoseState::Due { from: d("2026-04-01"), by: d("2027-03-31") });
        let st = immunization_status(d("2020-06-15"), None, &given, d("2026-03-31"));
        assert_eq!(find(&st, Mr, SecondTerm, 1), DoseState::Upcoming { from: d("2026-04-01") });
        let st = immunization_status(d("2020-06-15"), None, &given, d("2027-04-01"));
        assert_eq!(find(&st, Mr, SecondTerm, 1), DoseState::Missed { window_closed_on: d("2027-04-01") });
    }

    #[test]
    fn status_lists_every_row_and_ignores_vaccines_outside_the_schedule() {
        let given = [dose(Influenza, Primary, 1, "2026-03-10"), dose(Other, Primary, 1, "2026-03-10")];
        let st = immunization_status(d(BORN), None, &given, d("2026-03-15"));
        assert_eq!(st.len(), schedule().unwrap().len());
        assert!(!st.iter().any(|x| matches!(x.state, DoseState::Completed { .. })));
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let given = [dose(HepatitisB, Primary, 1, "2026-03-10")];
        for (born, today) in
            [(NaiveDate::MIN, NaiveDate::MAX), (NaiveDate::MAX, NaiveDate::MIN), (NaiveDate::MAX, NaiveDate::MAX)]
        {
            let st = immunization_status(born, Some(Sex::Other), &given, today);
            assert_eq!(st.len(), schedule().unwrap().len());
        }
    }

    #[test]
    fn dose_state_json_is_tagged_snake_case() {
        let s = DoseState::Overdue { since: d("2026-04-10") };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"kind":"overdue","since":"2026-04-10"}"#);
    }
}
