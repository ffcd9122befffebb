//! The one consent decision of the server: every read and every write through
//! a grant — FHIR reads, searches, `$everything`, writes, research extracts —
//! is decided here, by phr-core's [`evaluate`] (the same function the app
//! previews consent with), so the server and the app cannot disagree. SQL may
//! narrow the rows first; the decision and its reason come from here.

use chrono::{DateTime, NaiveDate, Utc};
use phr_core::consent::{evaluate, AccessRequest, Action, ConsentGrant, Decision, DenyReason, OrganizationId, Purpose};
use phr_core::dataset::{RecordKind, Subject};

/// May `grantee` do `action` on a record `(kind, subject, date)` of one family
/// at `at`, for any of `purposes`, given that family's `grants`? Allows through
/// the first grant that allows (purposes in order); otherwise denies with the
/// reason of the grant that came closest ([`DenyReason`]'s order).
pub fn decide(
    grants: &[ConsentGrant],
    grantee: &OrganizationId,
    purposes: &[Purpose],
    action: Action,
    (kind, subject, record_date): (RecordKind, Subject, Option<NaiveDate>),
    at: DateTime<Utc>,
) -> Decision {
    let mut reason = DenyReason::NoGrantForGrantee;
    for &purpose in purposes {
        let request = AccessRequest { grantee, purpose, action, kind, subject, record_date, at };
        match evaluate(grants, &request) {
            allow @ Decision::Allow { .. } => return allow,
            Decision::Deny { reason: r } => reason = reason.max(r),
        }
    }
    Decision::Deny { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::consent::{Access, GrantId, GrantPeriod, GrantScope, GrantState};
    use uuid::Uuid;

    fn grant(purpose: Purpose, access: Access) -> ConsentGrant {
        ConsentGrant {
            id: GrantId(Uuid::from_u128(7)),
            grantee: OrganizationId::new("clinic-a").unwrap(),
            purpose,
            scope: GrantScope {
                modules: [RecordKind::Immunization].into_iter().collect(),
                subjects: [Subject::Mother].into_iter().collect(),
                data_from: None,
                data_to: None,
            },
            period: GrantPeriod { from: None, to: None },
            access,
            state: GrantState::Active,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_write_needs_a_read_write_grant_for_one_of_the_purposes() {
        let org = OrganizationId::new("clinic-a").unwrap();
        let record = (RecordKind::Immunization, Subject::Mother, None);
        let read_only = [grant(Purpose::Emergency, Access::Read)];
        let care = [Purpose::Treatment, Purpose::Emergency];
        assert_eq!(
            decide(&read_only, &org, &care, Action::Write, record, at()),
            Decision::Deny { reason: DenyReason::ReadOnlyGrant },
            "the closest grant's reason, not the first purpose's"
        );
        let read_write = [grant(Purpose::Emergency, Access::ReadWrite)];
        assert!(decide(&read_write, &org, &care, Action::Write, record, at()).is_allowed());
        assert_eq!(
            decide(&read_write, &org, &[Purpose::Research], Action::Read, record, at()),
            Decision::Deny { reason: DenyReason::PurposeMismatch }
        );
    }

    #[test]
    fn no_grants_is_no_grant_for_grantee() {
        let org = OrganizationId::new("clinic-a").unwrap();
        let record = (RecordKind::Immunization, Subject::Mother, None);
        assert_eq!(
            decide(&[], &org, &[Purpose::Treatment], Action::Read, record, at()),
            Decision::Deny { reason: DenyReason::NoGrantForGrantee }
        );
    }
}
