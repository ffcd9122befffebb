//! Plain-language (English) summaries of grants, for the app's "who can see
//! what" screen.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::grant::{ConsentGrant, GrantScope, GrantState};
use crate::dataset::{RecordKind, Subject};

impl ConsentGrant {
    /// One English sentence saying who can do what, naming the grantee by its id, e.g.
    /// `tanaka-clinic (treatment) can read prenatal visits and immunizations of
    /// the mother and 1 child from 2026-01-01 until 2026-12-31`.
    ///
    /// See [`ConsentGrant::summary_with_name`] for the rules.
    pub fn summary(&self) -> String {
        self.summary_with_name(self.grantee.as_str())
    }

    /// Like [`ConsentGrant::summary`] with the grantee's display name (from the
    /// server's organization registry), e.g. `Tanaka Clinic (treatment) can read
    /// prenatal visits and immunizations of the mother and 1 child from
    /// 2026-01-01 until 2026-12-31`.
    ///
    /// Dates are calendar dates in UTC. The period's end is exclusive, so an
    /// end at midnight is shown as the day before (the last day of access).
    /// A date-restricted scope adds "(records dated ...)"; a revoked grant
    /// ends with "(revoked on ...)". Children are counted, not named: the core
    /// does not know their names.
    pub fn summary_with_name(&self, display_name: &str) -> String {
        Summary { grant: self, name: display_name }.to_string()
    }
}

struct Summary<'a> {
    grant: &'a ConsentGrant,
    name: &'a str,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.grant;
        let verb = match g.effective_access() {
            super::Access::Read => "read",
            super::Access::ReadWrite => "read and write",
        };
        write!(f, "{} ({}) can {verb} ", self.name, g.purpose)?;
        write_modules(f, &g.scope)?;
        f.write_str(" of ")?;
        write_subjects(f, &g.scope)?;
        write_data_range(f, &g.scope)?;
        match (g.period.from, g.period.to) {
            (None, None) => f.write_str(" with no time limit")?,
            (Some(from), None) => write!(f, " from {}, with no end date", from.date_naive())?,
            (None, Some(to)) => write!(f, " until {}", last_day(to))?,
            (Some(from), Some(to)) => write!(f, " from {} until {}", from.date_naive(), last_day(to))?,
        }
        if let GrantState::Revoked { at } = g.state {
            write!(f, " (revoked on {})", at.date_naive())?;
        }
        Ok(())
    }
}

/// The last calendar day (UTC) on which access is possible, given the
/// exclusive end of the period.
fn last_day(to: DateTime<Utc>) -> NaiveDate {
    let day = to.date_naive();
    if to.time() == NaiveTime::MIN {
        day.checked_sub_signed(Duration::days(1)).unwrap_or(day)
    } else {
        day
    }
}

/// The plural, lower-case English name of a module's records.
fn module_label(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::MotherProfile => "profile data",
        RecordKind::Pregnancy => "pregnancy records",
        RecordKind::PrenatalVisit => "prenatal visits",
        RecordKind::Delivery => "delivery records",
        RecordKind::Newborn => "newborn records",
        RecordKind::ChildCheckup => "child checkups",
        RecordKind::Development => "development milestones",
        RecordKind::Immunization => "immunizations",
        RecordKind::Medication => "medications",
        RecordKind::SelfVitals => "self-measured vitals",
        RecordKind::SubjectIdentifiers => "identifiers",
        RecordKind::Allergy => "allergies",
        RecordKind::Condition => "conditions",
    }
}

/// Writes `a`, `a and b`, `a, b and c`, ...
fn write_list<I>(f: &mut fmt::Formatter<'_>, items: I) -> fmt::Result
where
    I: ExactSizeIterator,
    I::Item: fmt::Display,
{
    let n = items.len();
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(if i + 1 == n { " and " } else { ", " })?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_modules(f: &mut fmt::Formatter<'_>, scope: &GrantScope) -> fmt::Result {
    if scope.modules.is_empty() {
        f.write_str("no records")
    } else if RecordKind::MODULES.iter().all(|k| scope.modules.contains(k)) {
        f.write_str("all records")
    } else {
        // BTreeSet order is the dataset order of RecordKind: stable and natural.
        write_list(f, scope.modules.iter().map(|&k| module_label(k)))
    }
}

fn write_subjects(f: &mut fmt::Formatter<'_>, scope: &GrantScope) -> fmt::Result {
    let mother = scope.subjects.contains(&Subject::Mother);
    let children = scope.subjects.iter().filter(|s| matches!(s, Subject::Child(_))).count();
    let noun = if children == 1 { "child" } else { "children" };
    match (mother, children) {
        (false, 0) => f.write_str("nobody"),
        (true, 0) => f.write_str("the mother"),
        (true, n) => write!(f, "the mother and {n} {noun}"),
        (false, n) => write!(f, "{n} {noun}"),
    }
}

fn write_data_range(f: &mut fmt::Formatter<'_>, scope: &GrantScope) -> fmt::Result {
    match (scope.data_from, scope.data_to) {
        (None, None) => Ok(()),
        (Some(from), None) => write!(f, " (records dated from {from})"),
        (None, Some(to)) => write!(f, " (records dated up to {to})"),
        (Some(from), Some(to)) => write!(f, " (records dated {from} to {to})"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{child, date, sample_grant, ts};
    use super::super::grant::{Access, GrantPeriod, Purpose};
    use super::*;

    #[test]
    fn summary_reads_like_the_who_can_see_what_screen() {
        let g = sample_grant();
        assert_eq!(
            g.summary_with_name("Tanaka Clinic"),
            "Tanaka Clinic (treatment) can read prenatal visits and immunizations of the mother and 1 child \
             from 2026-01-01 until 2026-12-31"
        );
        assert!(g.summary().starts_with("tanaka-clinic (treatment) can read "));
    }

    #[test]
    fn summary_covers_write_access_open_periods_data_ranges_and_revocation() {
        let mut g = sample_grant();
        g.access = Access::ReadWrite;
        g.purpose = Purpose::Emergency;
        g.scope.modules =
            [RecordKind::Immunization, RecordKind::Medication, RecordKind::ChildCheckup].into_iter().collect();
        g.scope.subjects = [child(1), child(2)].into_iter().collect();
        g.scope.data_from = Some(date(2025, 4, 1));
        g.period = GrantPeriod { from: Some(ts(2026, 2, 1)), to: None };
        assert_eq!(
            g.summary_with_name("City of Yokohama"),
            "City of Yokohama (emergency) can read and write child checkups, immunizations and medications \
             of 2 children (records dated from 2025-04-01) from 2026-02-01, with no end date"
        );

        g.period = GrantPeriod::OPEN;
        g.scope.modules = RecordKind::MODULES.into_iter().collect();
        g.scope.subjects.insert(Subject::Mother);
        g.scope.data_from = None;
        g.scope.data_to = Some(date(2026, 12, 31));
        g.revoke(ts(2026, 3, 1) + Duration::hours(9));
        assert_eq!(
            g.summary_with_name("X"),
            "X (emergency) can read and write all records of the mother and 2 children \
             (records dated up to 2026-12-31) with no time limit (revoked on 2026-03-01)"
        );
    }

    #[test]
    fn research_grants_are_summarised_as_read_only_and_an_end_mid_day_keeps_that_day() {
        let mut g = sample_grant();
        g.purpose = Purpose::Research;
        g.access = Access::ReadWrite;
        g.scope.modules = [RecordKind::Pregnancy].into_iter().collect();
        g.scope.subjects = [Subject::Mother].into_iter().collect();
        g.period = GrantPeriod { from: None, to: Some(ts(2026, 6, 30) + Duration::hours(15)) };
        assert_eq!(g.summary_with_name("R"), "R (research) can read pregnancy records of the mother until 2026-06-30");
    }

    #[test]
    fn summary_of_an_empty_scope_says_so() {
        let mut g = sample_grant();
        g.scope.modules.clear();
        g.scope.subjects.clear();
        assert!(g.summary_with_name("X").contains("can read no records of nobody"));
    }
}
