//! The one range of calendar dates the system accepts from anyone:
//! [`EARLIEST`] 1900-01-01 to [`LATEST`] 2200-12-31, inclusive.
//!
//! Why this range: every date here is about a pregnancy, a birth or a
//! childhood recorded now — the oldest is a mother's own birth date (no one
//! alive gave birth after being born before 1900), and the latest are
//! appointments, due dates and grant periods, which never reach two centuries
//! ahead. Both ends keep four-digit years, so dates stored as ISO text
//! (`records.effective_date`) sort and compare correctly as text, and sit far
//! inside what chrono, SQLite, PostgreSQL and every FHIR client can represent.
//! `0000-01-01`, `-0001-12-31` or `+10000-01-01` parse as dates but are
//! refused everywhere through [`check`] (device API: 422 naming the field;
//! FHIR writes: 422 OperationOutcome; search and export query parameters: 400).

use chrono::{DateTime, NaiveDate, TimeZone};

/// The first date accepted.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};

/// The last date accepted.
pub const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2200, 12, 31) {
    Some(d) => d,
    None => panic!("2200-12-31 is a date"),
};

/// A date outside [`EARLIEST`]..=[`LATEST`]. Its message is the reason to show
/// next to the field's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a date from {EARLIEST} to {LATEST}, got {0}")]
pub struct DateOutOfRange(pub String);

/// Whether `date` lies in the accepted range.
pub fn in_range(date: NaiveDate) -> bool {
    (EARLIEST..=LATEST).contains(&date)
}

/// `Ok` for a date in the accepted range.
pub fn check(date: NaiveDate) -> Result<(), DateOutOfRange> {
    if in_range(date) {
        Ok(())
    } else {
        Err(DateOutOfRange(date.to_string()))
    }
}

/// `Ok` for an instant whose date (in its own offset) lies in the accepted range.
pub fn check_instant<Tz: TimeZone>(at: &DateTime<Tz>) -> Result<(), DateOutOfRange>
where
    Tz::Offset: std::fmt::Display,
{
    if in_range(at.date_naive()) {
        Ok(())
    } else {
        Err(DateOutOfRange(at.to_rfc3339()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_ends_are_inside_and_their_neighbours_outside() {
        assert!(check(d("1900-01-01")).is_ok());
        assert!(check(d("2200-12-31")).is_ok());
        assert!(check(d("1899-12-31")).is_err());
        assert!(check(d("2201-01-01")).is_err());
    }

    #[test]
    fn dates_out_of_this_world_are_refused_with_their_value() {
        for s in ["0000-01-01", "-0001-12-31", "+10000-01-01"] {
            let err = check(d(s)).unwrap_err();
            assert!(err.to_string().contains("from 1900-01-01 to 2200-12-31"), "{err}");
        }
        let far = d("+10000-01-01").and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert!(check_instant(&far).is_err());
        let near: DateTime<chrono::FixedOffset> = "2026-03-01T10:00:00+09:00".parse().unwrap();
        assert!(check_instant(&near).is_ok());
    }
}
