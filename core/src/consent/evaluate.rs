//! The access decision: [`evaluate`] a request against a family's grants.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::grant::{Action, ConsentGrant, GrantId, GrantStatus, OrganizationId, Purpose};
use crate::dataset::{RecordKind, Subject};

/// One access to one record, as the server (or the app, previewing) sees it.
///
/// The grantee is borrowed so that evaluating a request allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// The authenticated organization making the request.
    pub grantee: &'a OrganizationId,
    /// The purpose the organization states.
    pub purpose: Purpose,
    /// Read or write.
    pub action: Action,
    /// The kind (dataset module) of the record.
    pub kind: RecordKind,
    /// Whom the record is about.
    pub subject: Subject,
    /// The record's effective date, if it has one.
    pub record_date: Option<NaiveDate>,
    /// When the access happens.
    pub at: DateTime<Utc>,
}

/// Why a request was denied.
///
/// The variants are declared in the order [`ConsentGrant::check`] tests them,
/// and that order (the derived `Ord`) ranks them: a later variant means the
/// grant matched the request further. When every grant denies, [`evaluate`]
/// reports the greatest reason, so the answer names the grant that came
/// closest and does not depend on the order of the grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The organization holds no grant from this family.
    NoGrantForGrantee,
    /// The organization's grant was revoked.
    Revoked,
    /// The grant's period has ended.
    Expired,
    /// The grant's period has not started.
    NotYetValid,
    /// The grant was given for another purpose.
    PurposeMismatch,
    /// The grant does not cover this kind of record.
    ModuleOutOfScope,
    /// The grant does not cover the person the record is about.
    SubjectOutOfScope,
    /// The record's date is outside the grant's data range (or the record is
    /// undated and the grant's scope is date-restricted).
    RecordDateOutOfScope,
    /// A write through a read-only grant (research grants are always read-only).
    ReadOnlyGrant,
}

impl DenyReason {
    /// Stable snake_case code, for logs, audit entries and error bodies.
    pub const fn code(self) -> &'static str {
        match self {
            DenyReason::NoGrantForGrantee => "no_grant_for_grantee",
            DenyReason::Revoked => "revoked",
            DenyReason::Expired => "expired",
            DenyReason::NotYetValid => "not_yet_valid",
            DenyReason::PurposeMismatch => "purpose_mismatch",
            DenyReason::ModuleOutOfScope => "module_out_of_scope",
            DenyReason::SubjectOutOfScope => "subject_out_of_scope",
            DenyReason::RecordDateOutOfScope => "record_date_out_of_scope",
            DenyReason::ReadOnlyGrant => "read_only_grant",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenyReason::NoGrantForGrantee => "the organization has no consent from this family",
            DenyReason::Revoked => "the consent was revoked",
            DenyReason::Expired => "the consent has expired",
            DenyReason::NotYetValid => "the consent is not valid yet",
            DenyReason::PurposeMismatch => "the consent was given for a different purpose",
            DenyReason::ModuleOutOfScope => "the consent does not cover this kind of record",
            DenyReason::SubjectOutOfScope => "the consent does not cover records about this person",
            DenyReason::RecordDateOutOfScope => "the record's date is outside the dates the consent covers",
            DenyReason::ReadOnlyGrant => "the consent allows reading only",
        })
    }
}

/// The outcome of [`evaluate`].
///
/// JSON: `{"decision": "allow", "grant": "<uuid>"}` or
/// `{"decision": "deny", "reason": "expired"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Allowed through this grant (the first allowing grant in slice order).
    Allow {
        /// The grant that allows the access; the audit log names it.
        grant: GrantId,
    },
    /// Denied.
    Deny {
        /// Why, from the grant that matched the request furthest.
        reason: DenyReason,
    },
}

impl Decision {
    /// Whether the access is allowed.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

impl ConsentGrant {
    /// Checks one request against this grant alone. Allocation-free.
    ///
    /// The checks run in the order of [`DenyReason`] and the first that fails
    /// is returned: grantee, revocation, period (expired, not yet valid),
    /// purpose, then the record itself ([`ConsentGrant::covers_record`]:
    /// module, subject, record date, and last read-only access).
    pub fn check(&self, request: &AccessRequest<'_>) -> Result<(), DenyReason> {
        // Grantee first: most grants in a family's list are for someone else,
        // and a string comparison (length first) rejects them cheaply.
        if self.grantee != *request.grantee {
            return Err(DenyReason::NoGrantForGrantee);
        }
        match self.status_at(request.at) {
            GrantStatus::Active => {}
            GrantStatus::Revoked => return Err(DenyReason::Revoked),
            GrantStatus::Expired => return Err(DenyReason::Expired),
            GrantStatus::NotYetValid => return Err(DenyReason::NotYetValid),
        }
        if self.purpose != request.purpose {
            return Err(DenyReason::PurposeMismatch);
        }
        self.check_record(request.action, request.kind, &request.subject, request.record_date)
    }

    /// The part of the decision about the record: module, subject, date, access.
    ///
    /// A subject's identifiers ([`RecordKind::follows_subjects`]) are not a
    /// module a grant selects: they come with the subject. Every treatment or
    /// emergency grant covering the subject may read them, whatever modules it
    /// selects and whatever its data range (they are undated); no grant may
    /// write them (only the family does, from the app), and a research grant
    /// never reads them. Both refusals are [`DenyReason::ModuleOutOfScope`].
    fn check_record(
        &self,
        action: Action,
        kind: RecordKind,
        subject: &Subject,
        record_date: Option<NaiveDate>,
    ) -> Result<(), DenyReason> {
        if kind.follows_subjects() {
            if self.purpose == Purpose::Research || action == Action::Write {
                return Err(DenyReason::ModuleOutOfScope);
            }
            if !self.scope.subjects.contains(subject) {
                return Err(DenyReason::SubjectOutOfScope);
            }
            return Ok(());
        }
        if !self.scope.modules.contains(&kind) {
            return Err(DenyReason::ModuleOutOfScope);
        }
        if !self.scope.subjects.contains(subject) {
            return Err(DenyReason::SubjectOutOfScope);
        }
        if !self.scope.covers_date(record_date) {
            return Err(DenyReason::RecordDateOutOfScope);
        }
        if !self.effective_access().permits(action) {
            return Err(DenyReason::ReadOnlyGrant);
        }
        Ok(())
    }

    /// Whether this grant lets its grantee *read* a record of `kind` about
    /// `subject` dated `record_date` when the grant is active (the record part
    /// of [`ConsentGrant::check`]). The app wraps a record's key for a grant
    /// exactly when this holds; the server checks the keys it is given with it.
    pub fn covers_record(&self, kind: RecordKind, subject: &Subject, record_date: Option<NaiveDate>) -> bool {
        self.check_record(Action::Read, kind, subject, record_date).is_ok()
    }

    /// Whether this grant lets its grantee *read* a record of `kind` about
    /// `subject` dated `record_date` at `at` (for its own purpose). The server
    /// uses this (or [`usable_grants`] and the scopes) to filter queries.
    pub fn covers(
        &self,
        kind: RecordKind,
        subject: &Subject,
        record_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    ) -> bool {
        self.is_active_at(at) && self.covers_record(kind, subject, record_date)
    }
}

/// Decides one request against all grants of the family. Pure and allocation-free.
///
/// Allows if any grant allows, naming the first such grant in slice order.
/// Otherwise denies with the greatest [`DenyReason`] over all grants (the one
/// from the grant that matched the request furthest), which does not depend on
/// the grants' order. With no grants at all the reason is
/// [`DenyReason::NoGrantForGrantee`].
///
/// Grants are not validated here; an invalid grant is never more permissive
/// than a valid one (an empty scope or period covers nothing, research is
/// read-only). Revocation is final whatever `request.at` says.
pub fn evaluate(grants: &[ConsentGrant], request: &AccessRequest<'_>) -> Decision {
    let mut reason = DenyReason::NoGrantForGrantee;
    for grant in grants {
        match grant.check(request) {
            Ok(()) => return Decision::Allow { grant: grant.id },
            Err(r) => reason = reason.max(r),
        }
    }
    Decision::Deny { reason }
}

/// The grants `grantee` can use for `purpose` at `at` (active, right grantee
/// and purpose), in slice order. A record is readable by the grantee for that
/// purpose exactly when one of these grants' [`scope`](ConsentGrant::scope)
/// covers it, so the server can turn their scopes into a query filter.
pub fn usable_grants<'g>(
    grants: &'g [ConsentGrant],
    grantee: &'g OrganizationId,
    purpose: Purpose,
    at: DateTime<Utc>,
) -> impl Iterator<Item = &'g ConsentGrant> + 'g {
    grants.iter().filter(move |g| g.grantee == *grantee && g.purpose == purpose && g.is_active_at(at))
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{child, date, org, sample_grant, ts};
    use super::super::grant::{Access, GrantId, GrantPeriod, GrantState};
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn read_request<'a>(grantee: &'a OrganizationId) -> AccessRequest<'a> {
        AccessRequest {
            grantee,
            purpose: Purpose::Treatment,
            action: Action::Read,
            kind: RecordKind::PrenatalVisit,
            subject: Subject::Mother,
            record_date: Some(date(2026, 3, 1)),
            at: ts(2026, 3, 2),
        }
    }

    fn deny(reason: DenyReason) -> Decision {
        Decision::Deny { reason }
    }

    #[test]
    fn a_request_inside_the_grant_is_allowed_and_names_the_grant() {
        let g = sample_grant();
        let who = org("tanaka-clinic");
        assert_eq!(evaluate(std::slice::from_ref(&g), &read_request(&who)), Decision::Allow { grant: g.id });
        assert!(g.covers(RecordKind::Immunization, &child(1), None, ts(2026, 5, 1)));
    }

    #[test]
    fn deny_no_grant_for_grantee() {
        let who = org("sato-clinic");
        assert_eq!(evaluate(&[sample_grant()], &read_request(&who)), deny(DenyReason::NoGrantForGrantee));
        assert_eq!(evaluate(&[], &read_request(&who)), deny(DenyReason::NoGrantForGrantee));
    }

    #[test]
    fn deny_revoked() {
        let mut g = sample_grant();
        g.revoke(ts(2026, 6, 1));
        let who = org("tanaka-clinic");
        // Revocation is final, even for a time before it.
        assert_eq!(evaluate(&[g], &read_request(&who)), deny(DenyReason::Revoked));
    }

    #[test]
    fn deny_expired_at_the_end_of_the_half_open_period() {
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.at = ts(2027, 1, 1);
        assert_eq!(evaluate(&[sample_grant()], &req), deny(DenyReason::Expired));
        req.at = ts(2027, 1, 1) - Duration::nanoseconds(1);
        assert!(evaluate(&[sample_grant()], &req).is_allowed());
    }

    #[test]
    fn deny_not_yet_valid_before_the_period() {
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.at = ts(2026, 1, 1) - Duration::seconds(1);
        assert_eq!(evaluate(&[sample_grant()], &req), deny(DenyReason::NotYetValid));
        req.at = ts(2026, 1, 1);
        assert!(evaluate(&[sample_grant()], &req).is_allowed());
    }

    #[test]
    fn deny_purpose_mismatch() {
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.purpose = Purpose::Emergency;
        assert_eq!(evaluate(&[sample_grant()], &req), deny(DenyReason::PurposeMismatch));
    }

    #[test]
    fn deny_module_out_of_scope() {
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.kind = RecordKind::Medication;
        assert_eq!(evaluate(&[sample_grant()], &req), deny(DenyReason::ModuleOutOfScope));
    }

    #[test]
    fn a_care_grant_reads_the_identifiers_of_every_subject_it_covers_whatever_its_modules() {
        let who = org("tanaka-clinic");
        let mut g = sample_grant();
        g.scope.modules = [RecordKind::Immunization].into_iter().collect();
        g.scope.data_from = Some(date(2026, 1, 1));
        g.scope.data_to = Some(date(2026, 3, 31));
        let mut req = read_request(&who);
        req.kind = RecordKind::SubjectIdentifiers;
        req.record_date = None;
        for subject in [Subject::Mother, child(1)] {
            req.subject = subject;
            assert_eq!(evaluate(std::slice::from_ref(&g), &req), Decision::Allow { grant: g.id }, "{subject}");
            assert!(g.covers_record(RecordKind::SubjectIdentifiers, &subject, None));
        }
        req.subject = child(2);
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::SubjectOutOfScope));
        assert!(!g.covers_record(RecordKind::SubjectIdentifiers, &child(2), None));
        // Still only while the grant is usable.
        req.subject = child(1);
        req.at = ts(2027, 1, 1);
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::Expired));
        g.revoke(ts(2026, 6, 1));
        req.at = ts(2026, 3, 2);
        assert_eq!(evaluate(&[g], &req), deny(DenyReason::Revoked));
    }

    #[test]
    fn no_grant_writes_identifiers_and_research_never_reads_them() {
        let who = org("tanaka-clinic");
        let mut g = sample_grant();
        g.access = Access::ReadWrite;
        let mut req = read_request(&who);
        req.kind = RecordKind::SubjectIdentifiers;
        req.record_date = None;
        req.action = Action::Write;
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::ModuleOutOfScope));

        let mut research = sample_grant();
        research.purpose = Purpose::Research;
        req.action = Action::Read;
        req.purpose = Purpose::Research;
        assert_eq!(evaluate(std::slice::from_ref(&research), &req), deny(DenyReason::ModuleOutOfScope));
        assert!(!research.covers_record(RecordKind::SubjectIdentifiers, &Subject::Mother, None));
        assert!(!research.covers(RecordKind::SubjectIdentifiers, &Subject::Mother, None, ts(2026, 3, 2)));
    }

    #[test]
    fn deny_subject_out_of_scope() {
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.kind = RecordKind::Immunization;
        req.subject = child(2);
        assert_eq!(evaluate(&[sample_grant()], &req), deny(DenyReason::SubjectOutOfScope));
    }

    #[test]
    fn deny_record_date_out_of_scope_including_undated_records() {
        let mut g = sample_grant();
        g.scope.data_from = Some(date(2026, 1, 1));
        g.scope.data_to = Some(date(2026, 2, 28));
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::RecordDateOutOfScope));
        req.record_date = None;
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::RecordDateOutOfScope));
        req.record_date = Some(date(2026, 2, 28));
        assert!(evaluate(&[g], &req).is_allowed());
    }

    #[test]
    fn deny_read_only_grant_for_writes_and_research_is_always_read_only() {
        let mut g = sample_grant();
        let who = org("tanaka-clinic");
        let mut req = read_request(&who);
        req.action = Action::Write;
        assert_eq!(evaluate(std::slice::from_ref(&g), &req), deny(DenyReason::ReadOnlyGrant));
        g.access = Access::ReadWrite;
        assert!(evaluate(std::slice::from_ref(&g), &req).is_allowed());
        // An (invalid) read-write research grant still allows no writes.
        g.purpose = Purpose::Research;
        req.purpose = Purpose::Research;
        assert_eq!(evaluate(&[g], &req), deny(DenyReason::ReadOnlyGrant));
    }

    #[test]
    fn the_reason_comes_from_the_grant_that_matched_furthest() {
        let who = org("tanaka-clinic");
        let mut revoked = sample_grant();
        revoked.revoke(ts(2026, 2, 1));
        let mut other_purpose = sample_grant();
        other_purpose.purpose = Purpose::Research;
        let mut other_module = sample_grant();
        other_module.scope.modules = [RecordKind::Immunization].into_iter().collect();
        let mut other_org = sample_grant();
        other_org.grantee = org("sato-clinic");

        let grants = [other_org, revoked, other_module, other_purpose];
        assert_eq!(evaluate(&grants, &read_request(&who)), deny(DenyReason::ModuleOutOfScope));
        let mut reversed = grants.clone();
        reversed.reverse();
        assert_eq!(evaluate(&reversed, &read_request(&who)), deny(DenyReason::ModuleOutOfScope));
    }

    #[test]
    fn any_allowing_grant_allows_and_the_first_one_is_named() {
        let who = org("tanaka-clinic");
        let mut revoked = sample_grant();
        revoked.revoke(ts(2026, 2, 1));
        let mut second = sample_grant();
        second.id = GrantId(Uuid::from_u128(0xB2));
        let mut third = sample_grant();
        third.id = GrantId(Uuid::from_u128(0xC3));
        let grants = [revoked, second.clone(), third];
        assert_eq!(evaluate(&grants, &read_request(&who)), Decision::Allow { grant: second.id });
    }

    #[test]
    fn usable_grants_lists_the_active_grants_of_that_grantee_and_purpose() {
        let who = org("tanaka-clinic");
        let active = sample_grant();
        let mut revoked = sample_grant();
        revoked.revoke(ts(2026, 2, 1));
        let mut research = sample_grant();
        research.purpose = Purpose::Research;
        let mut other = sample_grant();
        other.grantee = org("sato-clinic");
        let grants = [revoked, active.clone(), research, other];
        let usable: Vec<_> = usable_grants(&grants, &who, Purpose::Treatment, ts(2026, 3, 1)).collect();
        assert_eq!(usable, vec![&active]);
        assert_eq!(usable_grants(&grants, &who, Purpose::Treatment, ts(2027, 3, 1)).count(), 0);
    }

    #[test]
    fn decisions_and_reasons_have_stable_json_and_readable_text() {
        let d = deny(DenyReason::RecordDateOutOfScope);
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!({"decision": "deny", "reason": "record_date_out_of_scope"})
        );
        for r in [
            DenyReason::NoGrantForGrantee,
            DenyReason::Revoked,
            DenyReason::Expired,
            DenyReason::NotYetValid,
            DenyReason::PurposeMismatch,
            DenyReason::ModuleOutOfScope,
            DenyReason::SubjectOutOfScope,
            DenyReason::RecordDateOutOfScope,
            DenyReason::ReadOnlyGrant,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
            assert!(r.to_string().starts_with("the "), "{r}");
        }
    }

    // ---- property tests -------------------------------------------------

    const GRANTEES: [&str; 2] = ["tanaka-clinic", "yokohama-city"];
    const PURPOSES: [Purpose; 3] = [Purpose::Treatment, Purpose::Emergency, Purpose::Research];

    fn subjects() -> [Subject; 3] {
        [Subject::Mother, child(1), child(2)]
    }

    fn day(n: u32) -> NaiveDate {
        date(2026, 1, 1) + Duration::days(i64::from(n))
    }

    fn instant(hours: u32) -> DateTime<Utc> {
        ts(2026, 1, 1) + Duration::hours(i64::from(hours))
    }

    fn arb_grant() -> impl Strategy<Value = ConsentGrant> {
        (
            prop::sample::select(GRANTEES.to_vec()),
            prop::sample::select(PURPOSES.to_vec()),
            any::<u16>(),
            any::<u8>(),
            (prop::option::of(0u32..60), prop::option::of(0u32..60)),
            (prop::option::of(0u32..2000), prop::option::of(0u32..2000)),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(grantee, purpose, module_bits, subject_bits, dates, period, read_write, revoked)| {
                ConsentGrant {
                    id: GrantId(Uuid::nil()),
                    grantee: org(grantee),
                    purpose,
                    scope: super::super::grant::GrantScope {
                        modules: RecordKind::MODULES
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| module_bits & (1 << i) != 0)
                            .map(|(_, k)| k)
                            .collect(),
                        subjects: subjects()
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| subject_bits & (1 << i) != 0)
                            .map(|(_, s)| s)
                            .collect(),
                        data_from: dates.0.map(day),
                        data_to: dates.1.map(day),
                    },
                    period: GrantPeriod { from: period.0.map(instant), to: period.1.map(instant) },
                    access: if read_write { Access::ReadWrite } else { Access::Read },
                    state: if revoked { GrantState::Revoked { at: instant(500) } } else { GrantState::Active },
                    created_at: ts(2025, 12, 1),
                }
            })
    }

    /// Up to 8 random grants, with distinct ids (their index).
    fn arb_grants() -> impl Strategy<Value = Vec<ConsentGrant>> {
        prop::collection::vec(arb_grant(), 0..8).prop_map(|mut gs| {
            for (i, g) in gs.iter_mut().enumerate() {
                g.id = GrantId(Uuid::from_u128(i as u128 + 1));
            }
            gs
        })
    }

    /// A request with an owned grantee (borrow it with [`Req::as_request`]).
    #[derive(Debug, Clone)]
    struct Req {
        grantee: OrganizationId,
        purpose: Purpose,
        action: Action,
        kind: RecordKind,
        subject: Subject,
        record_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    }

    impl Req {
        fn as_request(&self) -> AccessRequest<'_> {
            AccessRequest {
                grantee: &self.grantee,
                purpose: self.purpose,
                action: self.action,
                kind: self.kind,
                subject: self.subject,
                record_date: self.record_date,
                at: self.at,
            }
        }
    }

    fn arb_req() -> impl Strategy<Value = Req> {
        (
            prop::sample::select(GRANTEES.to_vec()),
            prop::sample::select(PURPOSES.to_vec()),
            any::<bool>(),
            prop::sample::select(RecordKind::ALL.to_vec()),
            prop::sample::select(vec![Subject::Mother, child(1), child(2), child(3)]),
            prop::option::of(0u32..60),
            0u32..2000,
        )
            .prop_map(|(grantee, purpose, write, kind, subject, record_date, at)| Req {
                grantee: org(grantee),
                purpose,
                action: if write { Action::Write } else { Action::Read },
                kind,
                subject,
                record_date: record_date.map(day),
                at: instant(at),
            })
    }

    proptest! {
        #[test]
        fn a_revoked_grant_never_allows(mut grants in arb_grants(), req in arb_req()) {
            for g in &mut grants {
                g.revoke(instant(10));
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn an_expired_or_not_yet_valid_grant_never_allows(
            mut grants in arb_grants(),
            shifts in prop::collection::vec((any::<bool>(), 0i64..100_000), 8),
            req in arb_req(),
        ) {
            for (g, (before, secs)) in grants.iter_mut().zip(shifts) {
                if before {
                    g.period.from = Some(req.at + Duration::seconds(secs + 1));
                } else {
                    // `to` is exclusive: a grant ending exactly at the request has expired.
                    g.period.to = Some(req.at - Duration::seconds(secs));
                }
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn nothing_outside_the_module_scope_is_allowed(mut grants in arb_grants(), req in arb_req()) {
            // Identifiers follow the subjects, not the modules (tested on their own above).
            prop_assume!(!req.kind.follows_subjects());
            for g in &mut grants {
                g.scope.modules.remove(&req.kind);
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn nothing_outside_the_subject_scope_is_allowed(mut grants in arb_grants(), req in arb_req()) {
            for g in &mut grants {
                g.scope.subjects.remove(&req.subject);
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn nothing_outside_the_data_date_scope_is_allowed(
            mut grants in arb_grants(),
            shifts in prop::collection::vec((any::<bool>(), 0i64..400), 8),
            req in arb_req(),
        ) {
            // Identifiers are undated and outside every data range (tested on their own above).
            prop_assume!(!req.kind.follows_subjects());
            for (g, (after, days)) in grants.iter_mut().zip(shifts) {
                match req.record_date {
                    // Undated records are outside every date-restricted scope.
                    None => g.scope.data_from = Some(day(0) + Duration::days(days)),
                    Some(d) if after => g.scope.data_from = Some(d + Duration::days(days + 1)),
                    Some(d) => g.scope.data_to = Some(d - Duration::days(days + 1)),
                }
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn write_never_follows_from_a_read_only_or_research_grant(
            mut grants in arb_grants(),
            research in prop::collection::vec(any::<bool>(), 8),
            mut req in arb_req(),
        ) {
            req.action = Action::Write;
            for (g, research) in grants.iter_mut().zip(research) {
                if research {
                    g.purpose = Purpose::Research; // whatever its access says
                } else {
                    g.access = Access::Read;
                }
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn the_purpose_must_match(mut grants in arb_grants(), req in arb_req()) {
            for g in &mut grants {
                if g.purpose == req.purpose {
                    g.purpose = if req.purpose == Purpose::Treatment { Purpose::Emergency } else { Purpose::Treatment };
                }
            }
            prop_assert!(!evaluate(&grants, &req.as_request()).is_allowed());
        }

        #[test]
        fn a_request_inside_an_active_matching_grant_is_allowed(
            grant in arb_grant(),
            others in arb_grants(),
            position in any::<prop::sample::Index>(),
            pick in (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u32..60, 0u32..2000, any::<bool>()),
        ) {
            let mut grant = grant;
            grant.id = GrantId(Uuid::from_u128(1000));
            grant.state = GrantState::Active;
            if grant.scope.modules.is_empty() {
                grant.scope.modules.insert(RecordKind::Immunization);
            }
            if grant.scope.subjects.is_empty() {
                grant.scope.subjects.insert(Subject::Mother);
            }
            let (kind_i, subject_i, date_n, at_h, write) = pick;
            let kind = **kind_i.get(&grant.scope.modules.iter().collect::<Vec<_>>());
            let subject = **subject_i.get(&grant.scope.subjects.iter().collect::<Vec<_>>());
            // Make the data range and the period contain the chosen date and instant.
            let record_date = day(date_n);
            let (lo, hi) = (grant.scope.data_from.unwrap_or(record_date), grant.scope.data_to.unwrap_or(record_date));
            grant.scope.data_from = Some(lo.min(record_date));
            grant.scope.data_to = Some(hi.max(record_date));
            let at = instant(at_h);
            if grant.period.from.is_some_and(|f| f > at) { grant.period.from = Some(at); }
            if grant.period.to.is_some_and(|t| t <= at) { grant.period.to = Some(at + Duration::hours(1)); }
            let action = if write && grant.effective_access() == Access::ReadWrite { Action::Write } else { Action::Read };

            let req = Req { grantee: grant.grantee.clone(), purpose: grant.purpose, action, kind, subject, record_date: Some(record_date), at };
            prop_assert_eq!(grant.check(&req.as_request()), Ok(()));
            prop_assert_eq!(evaluate(std::slice::from_ref(&grant), &req.as_request()), Decision::Allow { grant: grant.id });

            let mut all = others;
            let at_index = position.index(all.len() + 1);
            all.insert(at_index, grant);
            prop_assert!(evaluate(&all, &req.as_request()).is_allowed());
        }

        #[test]
        fn every_allow_is_justified_by_the_grant_it_names(grants in arb_grants(), req in arb_req()) {
            let request = req.as_request();
            match evaluate(&grants, &request) {
                Decision::Allow { grant } => {
                    let g = grants.iter().find(|g| g.id == grant);
                    prop_assert!(g.is_some());
                    let g = g.unwrap();
                    prop_assert_eq!(&g.grantee, &req.grantee);
                    prop_assert_eq!(g.status_at(req.at), GrantStatus::Active);
                    prop_assert_eq!(g.purpose, req.purpose);
                    if req.kind.follows_subjects() {
                        // Identifiers: a care grant covering the subject, read only.
                        prop_assert!(g.scope.subjects.contains(&req.subject));
                        prop_assert!(g.purpose != Purpose::Research && req.action == Action::Read);
                    } else {
                        prop_assert!(g.scope.covers(req.kind, &req.subject, req.record_date));
                        prop_assert!(g.effective_access().permits(req.action));
                    }
                    prop_assert!(g.covers(req.kind, &req.subject, req.record_date, req.at));
                }
                Decision::Deny { reason } => {
                    prop_assert!(grants.iter().all(|g| g.check(&request).is_err()));
                    let best = grants.iter().filter_map(|g| g.check(&request).err()).max();
                    prop_assert_eq!(reason, best.unwrap_or(DenyReason::NoGrantForGrantee));
                }
            }
        }

        #[test]
        fn the_decision_does_not_depend_on_the_order_of_grants(
            (grants, shuffled) in arb_grants().prop_flat_map(|g| (Just(g.clone()), Just(g).prop_shuffle())),
            req in arb_req(),
        ) {
            let a = evaluate(&grants, &req.as_request());
            let b = evaluate(&shuffled, &req.as_request());
            prop_assert_eq!(a.is_allowed(), b.is_allowed());
            if !a.is_allowed() {
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn usable_grants_agree_with_evaluate_for_reads(grants in arb_grants(), mut req in arb_req()) {
            req.action = Action::Read;
            let via_scopes = usable_grants(&grants, &req.grantee, req.purpose, req.at)
                .any(|g| g.covers_record(req.kind, &req.subject, req.record_date));
            prop_assert_eq!(via_scopes, evaluate(&grants, &req.as_request()).is_allowed());
        }
    }
}
