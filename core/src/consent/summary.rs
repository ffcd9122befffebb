//! Plain-language summaries of grants, for the app's "who can see what"
//! screen, in any language of the message catalogs ([`crate::i18n`], keys
//! `consent-*`); the English sentence is the one the server sends.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::grant::{ConsentGrant, GrantPeriod, GrantScope, GrantState};
use crate::dataset::{RecordKind, Subject};
use crate::i18n::{text, text_with, Arg};

impl ConsentGrant {
    /// One English sentence saying who can do what, naming the grantee by its id, e.g.
    /// `tanaka-clinic (treatment) can read prenatal visits and immunizations of
    /// the mother and 1 child from 2026-01-01 until 2026-12-31`.
    ///
    /// See [`ConsentGrant::summary_in`] for the rules.
    pub fn summary(&self) -> String {
        self.summary_with_name(self.grantee.as_str())
    }

    /// Like [`ConsentGrant::summary`] with the grantee's display name (from the
    /// server's organization registry), e.g. `Tanaka Clinic (treatment) can read
    /// prenatal visits and immunizations of the mother and 1 child from
    /// 2026-01-01 until 2026-12-31`: [`ConsentGrant::summary_in`] in English.
    pub fn summary_with_name(&self, display_name: &str) -> String {
        self.summary_in("en", display_name)
    }

    /// The summary sentence in `language` (a tag of the message catalogs;
    /// another tag falls back to English) with the grantee's display name, e.g.
    /// `Tanaka Clinic（診療）は、母と子ども1人の妊婦健診、予防接種の記録を
    /// 2026-01-01から2026-12-31まで閲覧できます`.
    ///
    /// Dates are ISO calendar dates in UTC. The period's end is exclusive, so an
    /// end at midnight is shown as the day before (the last day of access).
    /// A date-restricted scope adds the dates of the records covered; a revoked
    /// grant ends with the day it was revoked. Children are counted, not named:
    /// the core does not know their names. Research grants read as read-only
    /// ([`ConsentGrant::effective_access`]).
    pub fn summary_in(&self, language: &str, display_name: &str) -> String {
        let scope = &self.scope;
        let access = match self.effective_access() {
            super::Access::Read => "consent-access-read",
            super::Access::ReadWrite => "consent-access-read-write",
        };
        let empty = scope.modules.is_empty() || scope.subjects.is_empty();
        let revoked = match self.state {
            GrantState::Revoked { at } => text(language, "consent-revoked", &[("date", at.date_naive().to_string())]),
            GrantState::Active => String::new(),
        };
        let args = [
            ("grantee", Arg::Text(display_name.to_owned())),
            ("purpose", Arg::Text(text(language, &format!("consent-purpose-{}", self.purpose.as_str()), &[]))),
            ("access", Arg::Text(text(language, access, &[]))),
            ("modules", Arg::Text(modules(language, scope))),
            ("subjects", Arg::Text(subjects(language, scope))),
            ("records", Arg::Text(data_range(language, scope))),
            ("period", Arg::Text(period(language, &self.period))),
            ("revoked", Arg::Text(revoked)),
            ("scope", Arg::Text(if empty { "empty" } else { "some" }.to_owned())),
        ];
        text_with(language, "consent-summary", &args)
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

/// `a`, `a and b`, `a, b and c`, ... in `language` (`list-join`, `list-join-last`).
fn list(language: &str, items: Vec<String>) -> String {
    let n = items.len();
    let mut joined = String::new();
    for (i, item) in items.into_iter().enumerate() {
        joined = match i {
            0 => item,
            _ if i + 1 == n => text(language, "list-join-last", &[("first", joined), ("last", item)]),
            _ => text(language, "list-join", &[("first", joined), ("next", item)]),
        };
    }
    joined
}

fn modules(language: &str, scope: &GrantScope) -> String {
    if scope.modules.is_empty() {
        text(language, "consent-modules-none", &[])
    } else if RecordKind::MODULES.iter().all(|k| scope.modules.contains(k)) {
        text(language, "consent-modules-all", &[])
    } else {
        // ModuleSet order is the dataset order of RecordKind: stable and natural.
        let names = scope.modules.iter().map(|k| text(language, &format!("consent-module-{}", k.as_str()), &[]));
        text(language, "consent-modules-list", &[("list", list(language, names.collect()))])
    }
}

fn subjects(language: &str, scope: &GrantScope) -> String {
    let mother = scope.subjects.contains(&Subject::Mother);
    let children = scope.subjects.iter().filter(|s| matches!(s, Subject::Child(_))).count();
    let args = [
        ("mother", Arg::Text(if mother { "yes" } else { "no" }.to_owned())),
        ("children", Arg::Count(u32::try_from(children).unwrap_or(u32::MAX))),
    ];
    text_with(language, "consent-subjects", &args)
}

fn data_range(language: &str, scope: &GrantScope) -> String {
    match (scope.data_from, scope.data_to) {
        (None, None) => String::new(),
        (Some(from), None) => text(language, "consent-records-from", &[("from", from.to_string())]),
        (None, Some(to)) => text(language, "consent-records-to", &[("to", to.to_string())]),
        (Some(from), Some(to)) => {
            text(language, "consent-records-between", &[("from", from.to_string()), ("to", to.to_string())])
        }
    }
}

fn period(language: &str, period: &GrantPeriod) -> String {
    match (period.from, period.to) {
        (None, None) => text(language, "consent-period-open", &[]),
        (Some(from), None) => text(language, "consent-period-from", &[("from", from.date_naive().to_string())]),
        (None, Some(to)) => text(language, "consent-period-until", &[("to", last_day(to).to_string())]),
        (Some(from), Some(to)) => text(
            language,
            "consent-period-between",
            &[("from", from.date_naive().to_string()), ("to", last_day(to).to_string())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{child, date, sample_grant, ts};
    use super::super::grant::{Access, GrantPeriod, Purpose};
    use super::*;

    /// Read-write emergency access to three modules of two children, records from 2025-04-01,
    /// open-ended from 2026-02-01.
    fn emergency_read_write_grant() -> crate::consent::ConsentGrant {
        let mut g = sample_grant();
        g.access = Access::ReadWrite;
        g.purpose = Purpose::Emergency;
        g.scope.modules =
            [RecordKind::Immunization, RecordKind::Medication, RecordKind::ChildCheckup].into_iter().collect();
        g.scope.subjects = [child(1), child(2)].into_iter().collect();
        g.scope.data_from = Some(date(2025, 4, 1));
        g.period = GrantPeriod { from: Some(ts(2026, 2, 1)), to: None };
        g
    }

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
        let mut g = emergency_read_write_grant();
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
        assert_eq!(g.summary_in("ja", "X"), "X（診療）が閲覧できる記録はありません");
    }

    #[test]
    fn summary_in_japanese_says_the_same_with_module_names_from_the_catalog() {
        let g = sample_grant();
        assert_eq!(
            g.summary_in("ja", "たなかクリニック"),
            "たなかクリニック（診療）は、母と子ども1人の妊婦健診、予防接種の記録を2026-01-01から2026-12-31まで閲覧できます"
        );
        assert!(g.summary_in("ja", "X").contains(&RecordKind::PrenatalVisit.label("ja")));

        let mut g = emergency_read_write_grant();
        g.revoke(ts(2026, 3, 1) + Duration::hours(9));
        assert_eq!(
            g.summary_in("ja", "横浜市"),
            "横浜市（救急）は、子ども2人の乳幼児健診、予防接種、お薬の記録（2025-04-01以降の日付のもの）を\
             2026-02-01から期限なく閲覧・記録できます（2026-03-01に撤回）"
        );
    }

    #[test]
    fn summary_in_an_unknown_language_is_the_english_one_and_english_is_the_default() {
        let g = sample_grant();
        assert_eq!(g.summary_in("en", "T"), g.summary_with_name("T"));
        assert_eq!(g.summary_in("xx", "T"), g.summary_with_name("T"));
        assert_eq!(g.summary_in("en-GB", "T"), g.summary_with_name("T"));
    }

    #[test]
    fn every_purpose_and_module_has_its_summary_words_in_every_language() {
        for language in crate::i18n::languages() {
            let keys = crate::i18n::keys(language);
            for purpose in [Purpose::Treatment, Purpose::Emergency, Purpose::Research] {
                assert!(keys.contains(&format!("consent-purpose-{}", purpose.as_str())), "{language}: {purpose}");
            }
            for kind in RecordKind::ALL {
                assert!(keys.contains(&format!("consent-module-{}", kind.as_str())), "{language}: {kind}");
            }
        }
        // The English sentence names the purpose by its code, as before the catalogs.
        for purpose in [Purpose::Treatment, Purpose::Emergency, Purpose::Research] {
            assert_eq!(crate::i18n::text("en", &format!("consent-purpose-{purpose}"), &[]), purpose.as_str());
        }
    }

    #[test]
    fn a_grantee_name_with_catalog_syntax_is_placed_as_plain_text() {
        let g = sample_grant();
        let name = "{ $grantee } [x] *[other]";
        assert!(g.summary_in("ja", name).starts_with(name));
        assert!(g.summary_with_name(name).starts_with(name));
    }
}
