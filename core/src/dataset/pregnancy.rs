//! `pregnancy` (one per pregnancy): its dating (LMP, EDD), number of fetuses and
//! status / outcome, plus the derived values other modules check against:
//! Naegele's rule, gestational age on a date and the date window of the pregnancy.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, GestationalAge, Problems, Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

/// LOINC codes of the items of this module (`docs/dataset.md`).
pub mod codes {
    /// Last menstrual period start date.
    pub const LAST_MENSTRUAL_PERIOD: &str = "8665-2";
    /// Estimated delivery date.
    pub const ESTIMATED_DELIVERY_DATE: &str = "11778-8";
    /// Number of fetuses.
    pub const NUMBER_OF_FETUSES: &str = "57722-1";
    /// Pregnancy status / outcome.
    pub const STATUS: &str = "82810-3";
}

/// Naegele's rule: the estimated delivery date is 280 days (40w0d) after the
/// first day of the last menstrual period.
pub const PREGNANCY_DAYS: u64 = 280;

/// How long after the EDD a pregnancy without a recorded outcome may still be
/// going on (6 weeks; no pregnancy reaches 46w0d).
pub const POST_TERM_LIMIT_DAYS: u64 = 42;

/// How far a recorded gestational age may differ from the one derived from the
/// pregnancy's dating before it is reported (ultrasound re-dating rarely moves
/// the EDD by more than two weeks).
pub const GA_TOLERANCE_DAYS: i64 = 14;

/// How far a recorded EDD may differ from Naegele's rule applied to the LMP
/// (cycle length and ultrasound corrections; more is a typing error).
pub const EDD_LMP_TOLERANCE_DAYS: i64 = 28;

/// Largest number of fetuses accepted (octuplets).
pub const MAX_FETUSES: u8 = 8;

coded_enum! {
    vocabulary "pregnancy_status";
    /// Status or outcome of a pregnancy (item 82810-3). The codes are local;
    /// the FHIR mapping translates them.
    pub enum PregnancyStatus {
        /// Still pregnant.
        Ongoing = "ongoing",
        /// Ended with at least one live birth.
        LiveBirth = "live_birth",
        /// Ended with a stillbirth (fetal death from 22 weeks in Japan).
        Stillbirth = "stillbirth",
        /// Ended with a spontaneous loss before 22 weeks.
        Miscarriage = "miscarriage",
        /// Ended by an induced termination.
        Termination = "termination",
        /// Not known (e.g. lost to follow-up).
        Unknown = "unknown",
    }
}

impl PregnancyStatus {
    /// True for the statuses that mean the pregnancy has ended with a known outcome.
    pub const fn is_concluded(self) -> bool {
        matches!(
            self,
            PregnancyStatus::LiveBirth
                | PregnancyStatus::Stillbirth
                | PregnancyStatus::Miscarriage
                | PregnancyStatus::Termination
        )
    }
}

/// One pregnancy. It carries no id of its own: the record envelope does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Pregnancy {
    /// First day of the last menstrual period (LOINC 8665-2). Not in the future.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_menstrual_period: Option<NaiveDate>,
    /// Estimated delivery date (LOINC 11778-8), as set by the clinic (possibly
    /// corrected by ultrasound). At most 280 days after today; within 28 days of
    /// Naegele's rule when the LMP is known. At least one of LMP and EDD is required.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery_date: Option<NaiveDate>,
    /// Number of fetuses (LOINC 57722-1), 1–8.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_fetuses: Option<u8>,
    /// Status or outcome (LOINC 82810-3).
    pub status: PregnancyStatus,
    /// Date the pregnancy ended; only with a concluded status. Not in the
    /// future, not before the pregnancy started, not after EDD + 6 weeks.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_date: Option<NaiveDate>,
}

impl Pregnancy {
    /// Naegele's rule: LMP + 280 days. `None` only if the date would overflow.
    pub fn estimated_delivery_from_lmp(lmp: NaiveDate) -> Option<NaiveDate> {
        lmp.checked_add_days(Days::new(PREGNANCY_DAYS))
    }

    /// The day of gestational age 0w0d: EDD − 280 days when the EDD is known
    /// (it supersedes the LMP once set), else the LMP.
    pub fn dating_start(&self) -> Option<NaiveDate> {
        match self.estimated_delivery_date {
            Some(edd) => edd.checked_sub_days(Days::new(PREGNANCY_DAYS)),
            None => self.last_menstrual_period,
        }
    }

    /// The due date: the EDD, else Naegele's rule on the LMP.
    pub fn due_date(&self) -> Option<NaiveDate> {
        self.estimated_delivery_date.or_else(|| self.last_menstrual_period.and_then(Self::estimated_delivery_from_lmp))
    }

    /// Gestational age on `date`, counted from [`Self::dating_start`]. `None`
    /// if the pregnancy is undated or `date` is before its start.
    pub fn gestational_age_on(&self, date: NaiveDate) -> Option<GestationalAge> {
        let start = self.dating_start()?;
        GestationalAge::from_days(date.signed_duration_since(start).num_days())
    }

    /// The earliest day the pregnancy can have started: the earlier of the LMP
    /// and EDD − 280 days (lenient, so a re-dated pregnancy never refuses a real visit).
    pub fn earliest_start(&self) -> Option<NaiveDate> {
        let from_edd = self.estimated_delivery_date.and_then(|edd| edd.checked_sub_days(Days::new(PREGNANCY_DAYS)));
        match (self.last_menstrual_period, from_edd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The last day that can belong to the pregnancy: the outcome date if
    /// recorded, else the due date + 6 weeks.
    pub fn latest_end(&self) -> Option<NaiveDate> {
        self.outcome_date.or_else(|| self.post_term_limit())
    }

    fn post_term_limit(&self) -> Option<NaiveDate> {
        self.due_date()?.checked_add_days(Days::new(POST_TERM_LIMIT_DAYS))
    }

    /// Adds a problem under `path` if `date` lies outside this pregnancy
    /// (before [`Self::earliest_start`] or after [`Self::latest_end`]).
    pub fn check_date_inside(&self, path: &str, date: NaiveDate, p: &mut Problems) {
        if let Some(start) = self.earliest_start() {
            if date < start {
                p.push(path, format!("must not be before the pregnancy started ({start}), got {date}"));
            }
        }
        match (self.outcome_date, self.post_term_limit()) {
            (Some(end), _) if date > end => {
                p.push(path, format!("must not be after the pregnancy ended ({end}), got {date}"));
            }
            (None, Some(end)) if date > end => {
                p.push(path, format!("must not be more than 6 weeks after the due date (until {end}), got {date}"));
            }
            _ => {}
        }
    }

    /// Adds a problem under `path` if `recorded` differs by more than 14 days
    /// from the gestational age this pregnancy's dating gives on `date`.
    pub fn check_gestational_age(&self, path: &str, date: NaiveDate, recorded: GestationalAge, p: &mut Problems) {
        let Some(expected) = self.gestational_age_on(date) else {
            return;
        };
        let diff = i64::from(recorded.total_days()) - i64::from(expected.total_days());
        if diff.abs() > GA_TOLERANCE_DAYS {
            p.push(
                path,
                format!(
                    "{recorded} differs from {expected} (derived from the pregnancy's dating on {date}) \
                     by {} days; at most {GA_TOLERANCE_DAYS} allowed",
                    diff.abs()
                ),
            );
        }
    }
}

impl Validate for Pregnancy {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();

        if self.last_menstrual_period.is_none() && self.estimated_delivery_date.is_none() {
            p.push(
                "estimated_delivery_date",
                "is required when last_menstrual_period is not known (a pregnancy needs a dating)",
            );
        }
        p.opt_not_future("last_menstrual_period", self.last_menstrual_period, ctx.today);

        p.opt_date("estimated_delivery_date", self.estimated_delivery_date);
        if let Some(edd) = self.estimated_delivery_date {
            match ctx.today.checked_add_days(Days::new(PREGNANCY_DAYS)) {
                Some(latest) if edd > latest => p.push(
                    "estimated_delivery_date",
                    format!("must be at most 280 days after today (until {latest}), got {edd}"),
                ),
                _ => {}
            }
            if let Some(naegele) = self.last_menstrual_period.and_then(Self::estimated_delivery_from_lmp) {
                let diff = edd.signed_duration_since(naegele).num_days();
                if diff.abs() > EDD_LMP_TOLERANCE_DAYS {
                    p.push(
                        "estimated_delivery_date",
                        format!(
                            "must be within {EDD_LMP_TOLERANCE_DAYS} days of LMP + 280 days ({naegele}), got {edd}"
                        ),
                    );
                }
            }
        }

        p.opt_integer("number_of_fetuses", self.number_of_fetuses, 1, i64::from(MAX_FETUSES));

        if let Some(end) = self.outcome_date {
            if !self.status.is_concluded() {
                p.push("outcome_date", format!("must be absent while the status is {}", self.status.code()));
            }
            p.not_future("outcome_date", end, ctx.today);
            if let Some(start) = self.earliest_start() {
                if end < start {
                    p.push("outcome_date", format!("must not be before the pregnancy started ({start}), got {end}"));
                }
            }
            if let Some(limit) = self.post_term_limit() {
                if end > limit {
                    p.push(
                        "outcome_date",
                        format!("must not be more than 6 weeks after the due date (until {limit}), got {end}"),
                    );
                }
            }
        }

        p.finish()
    }
}

impl DatasetModule for Pregnancy {
    const KIND: RecordKind = RecordKind::Pregnancy;
    /// The earliest start of the pregnancy (see [`Pregnancy::earliest_start`]).
    fn effective_date(&self) -> Option<NaiveDate> {
        self.earliest_start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// LMP 2026-01-01, EDD 2026-10-08 (= LMP + 280, hand-checked below), singleton, ongoing.
    fn ongoing() -> Pregnancy {
        Pregnancy {
            last_menstrual_period: Some(d("2026-01-01")),
            estimated_delivery_date: Some(d("2026-10-08")),
            number_of_fetuses: Some(1),
            status: PregnancyStatus::Ongoing,
            outcome_date: None,
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-05-01"))
    }

    #[test]
    fn naegele_lmp_2026_01_01_gives_edd_2026_10_08() {
        // 2026 is not a leap year. Jan 1 is day 1; +280 = day 281.
        // Days before October: 31+28+31+30+31+30+31+31+30 = 273; 281 - 273 = 8 -> Oct 8.
        assert_eq!(Pregnancy::estimated_delivery_from_lmp(d("2026-01-01")), Some(d("2026-10-08")));
        // Across a leap day: Feb 1 -> Nov 1 is 29+31+30+31+30+31+31+30+31 = 274 days in 2024,
        // so +280 = Nov 7; in 2026 the same span is 273 days, so +280 = Nov 8.
        assert_eq!(Pregnancy::estimated_delivery_from_lmp(d("2024-02-01")), Some(d("2024-11-07")));
        assert_eq!(Pregnancy::estimated_delivery_from_lmp(d("2026-02-01")), Some(d("2026-11-08")));
    }

    #[test]
    fn naegele_on_the_last_representable_date_is_none_not_a_panic() {
        assert_eq!(Pregnancy::estimated_delivery_from_lmp(NaiveDate::MAX), None);
    }

    #[test]
    fn gestational_age_is_counted_from_edd_minus_280_days() {
        let p = ongoing();
        assert_eq!(p.gestational_age_on(d("2026-01-01")), Some(GestationalAge::new(0, 0)));
        // Jan 1 -> Mar 15: 31 (Jan) + 28 (Feb) + 14 = 73 days = 10w3d.
        assert_eq!(p.gestational_age_on(d("2026-03-15")), Some(GestationalAge::new(10, 3)));
        assert_eq!(p.gestational_age_on(d("2026-10-08")), Some(GestationalAge::new(40, 0)));
        assert_eq!(p.gestational_age_on(d("2025-12-31")), None);
    }

    #[test]
    fn gestational_age_prefers_the_edd_over_the_lmp() {
        // Ultrasound moved the EDD 7 days later: GA 0w0d is now 2026-01-08.
        let p = Pregnancy { estimated_delivery_date: Some(d("2026-10-15")), ..ongoing() };
        assert_eq!(p.gestational_age_on(d("2026-03-15")), Some(GestationalAge::new(9, 3)));
    }

    #[test]
    fn gestational_age_falls_back_to_the_lmp_without_an_edd() {
        let p = Pregnancy { estimated_delivery_date: None, ..ongoing() };
        assert_eq!(p.gestational_age_on(d("2026-03-15")), Some(GestationalAge::new(10, 3)));
        assert_eq!(p.due_date(), Some(d("2026-10-08")));
    }

    #[test]
    fn window_runs_from_the_earlier_start_to_outcome_or_edd_plus_6_weeks() {
        let p = Pregnancy { estimated_delivery_date: Some(d("2026-10-15")), ..ongoing() };
        assert_eq!(p.earliest_start(), Some(d("2026-01-01")));
        // 2026-10-15 + 42 days = 2026-11-26 (16 days left in October, then 26 in November).
        assert_eq!(p.latest_end(), Some(d("2026-11-26")));
        let ended = Pregnancy { status: PregnancyStatus::LiveBirth, outcome_date: Some(d("2026-10-01")), ..p };
        assert_eq!(ended.latest_end(), Some(d("2026-10-01")));
    }

    #[test]
    fn a_valid_ongoing_pregnancy_passes() {
        assert_eq!(ongoing().validate(&ctx()), Ok(()));
    }

    #[test]
    fn pregnancy_without_lmp_or_edd_is_rejected() {
        let p = Pregnancy { last_menstrual_period: None, estimated_delivery_date: None, ..ongoing() };
        let errs = p.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("estimated_delivery_date"), "{errs}");
    }

    #[test]
    fn edd_more_than_28_days_off_naegele_is_rejected() {
        let p = Pregnancy { estimated_delivery_date: Some(d("2026-11-06")), ..ongoing() }; // +29 d
        let errs = p.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 1, "{errs}");
        assert_eq!(errs.issues()[0].path, "estimated_delivery_date");
        let ok = Pregnancy { estimated_delivery_date: Some(d("2026-11-05")), ..ongoing() }; // +28 d
        assert_eq!(ok.validate(&ctx()), Ok(()));
    }

    #[test]
    fn all_problems_are_reported_not_only_the_first() {
        let p = Pregnancy {
            last_menstrual_period: Some(d("2026-06-01")),   // after today
            estimated_delivery_date: Some(d("2027-06-01")), // > today + 280 and far off Naegele
            number_of_fetuses: Some(0),
            status: PregnancyStatus::Ongoing,
            outcome_date: Some(d("2026-04-01")), // with an ongoing status
        };
        let errs = p.validate(&ctx()).unwrap_err();
        let paths: Vec<&str> = errs.issues().iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"last_menstrual_period"), "{errs}");
        assert!(paths.contains(&"number_of_fetuses"), "{errs}");
        assert!(paths.contains(&"outcome_date"), "{errs}");
        assert_eq!(paths.iter().filter(|p| **p == "estimated_delivery_date").count(), 2, "{errs}");
    }

    #[test]
    fn nine_fetuses_are_rejected_eight_accepted() {
        let nine = Pregnancy { number_of_fetuses: Some(9), ..ongoing() };
        assert!(nine.validate(&ctx()).unwrap_err().mentions("number_of_fetuses"));
        let eight = Pregnancy { number_of_fetuses: Some(8), ..ongoing() };
        assert_eq!(eight.validate(&ctx()), Ok(()));
    }

    #[test]
    fn outcome_date_before_the_start_or_in_the_future_is_rejected() {
        let early =
            Pregnancy { status: PregnancyStatus::Miscarriage, outcome_date: Some(d("2025-12-01")), ..ongoing() };
        let errs = early.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 1, "{errs}");
        assert_eq!(errs.issues()[0].path, "outcome_date");

        let future = Pregnancy { outcome_date: Some(d("2026-05-02")), ..early };
        assert!(future.validate(&ctx()).unwrap_err().mentions("outcome_date"));
    }

    #[test]
    fn outcome_date_more_than_6_weeks_after_edd_is_rejected() {
        let today = ValidationContext::new(d("2027-01-01"));
        let late = Pregnancy {
            status: PregnancyStatus::LiveBirth,
            outcome_date: Some(d("2026-11-20")), // EDD 2026-10-08 + 42 d = 2026-11-19
            ..ongoing()
        };
        assert!(late.validate(&today).unwrap_err().mentions("outcome_date"));
        let limit = Pregnancy { outcome_date: Some(d("2026-11-19")), ..late };
        assert_eq!(limit.validate(&today), Ok(()));
    }

    #[test]
    fn effective_date_is_the_start_of_the_pregnancy() {
        assert_eq!(ongoing().effective_date(), Some(d("2026-01-01")));
    }

    #[test]
    fn json_round_trip_is_stable_snake_case() {
        let p = Pregnancy { status: PregnancyStatus::LiveBirth, outcome_date: Some(d("2026-10-05")), ..ongoing() };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "last_menstrual_period": "2026-01-01",
                "estimated_delivery_date": "2026-10-08",
                "number_of_fetuses": 1,
                "status": "live_birth",
                "outcome_date": "2026-10-05"
            })
        );
        assert_eq!(serde_json::from_value::<Pregnancy>(json).unwrap(), p);
        // Absent optional items are omitted, not written as null.
        let minimal = Pregnancy { number_of_fetuses: None, last_menstrual_period: None, ..ongoing() };
        assert_eq!(
            serde_json::to_string(&minimal).unwrap(),
            r#"{"estimated_delivery_date":"2026-10-08","status":"ongoing"}"#
        );
    }

    #[test]
    fn status_codes_are_their_json_names() {
        for s in PregnancyStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.code()));
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<Pregnancy>(r#"{"status":"ongoing","edd":"2026-10-08"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
