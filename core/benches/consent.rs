//! Consent evaluation cost: one request against a family's 100 grants.
//! Target: < 2 µs per evaluation.

use std::collections::BTreeSet;
use std::hint::black_box;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::consent::{
    evaluate, Access, AccessRequest, Action, ConsentGrant, GrantId, GrantPeriod, GrantScope, GrantState,
    OrganizationId, Purpose,
};
use phr_core::dataset::{RecordKind, Subject};
use uuid::Uuid;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("valid date")
}

fn org(n: usize) -> OrganizationId {
    OrganizationId::new(format!("clinic-{n:03}")).expect("valid org id")
}

fn grant(n: usize, grantee: OrganizationId, access: Access) -> ConsentGrant {
    let children: Vec<Subject> = (1..=2u128).map(|c| Subject::Child(Uuid::from_u128(c))).collect();
    ConsentGrant {
        id: GrantId(Uuid::from_u128(n as u128)),
        grantee,
        purpose: Purpose::Treatment,
        scope: GrantScope {
            modules: RecordKind::MODULES.into_iter().collect(),
            subjects: std::iter::once(Subject::Mother).chain(children).collect::<BTreeSet<_>>(),
            data_from: NaiveDate::from_ymd_opt(2025, 1, 1),
            data_to: NaiveDate::from_ymd_opt(2027, 12, 31),
        },
        period: GrantPeriod { from: Some(at(2026, 1, 1)), to: Some(at(2027, 1, 1)) },
        access,
        state: GrantState::Active,
        created_at: at(2025, 12, 1),
    }
}

fn bench_consent(c: &mut Criterion) {
    let target = org(99);
    let request = AccessRequest {
        grantee: &target,
        purpose: Purpose::Treatment,
        action: Action::Write,
        kind: RecordKind::Immunization,
        subject: Subject::Child(Uuid::from_u128(2)),
        record_date: NaiveDate::from_ymd_opt(2026, 5, 1),
        at: at(2026, 6, 1),
    };

    // A family with grants to 100 organizations; the requester's is the last.
    let other_grantees: Vec<ConsentGrant> = (0..100).map(|n| grant(n, org(n), Access::ReadWrite)).collect();
    // Worst case: 100 grants of the requester, the first 99 fail only at the
    // very last check (read-only grant, write request); the last one allows.
    let same_grantee_last_allows: Vec<ConsentGrant> =
        (0..100).map(|n| grant(n, target.clone(), if n == 99 { Access::ReadWrite } else { Access::Read })).collect();
    // Worst case for a denial: all 100 fail at the last check.
    let same_grantee_none: Vec<ConsentGrant> = (0..100).map(|n| grant(n, target.clone(), Access::Read)).collect();

    assert!(evaluate(&other_grantees, &request).is_allowed());
    assert!(evaluate(&same_grantee_last_allows, &request).is_allowed());
    assert!(!evaluate(&same_grantee_none, &request).is_allowed());

    let mut group = c.benchmark_group("evaluate_100_grants");
    group.bench_function("last_matches_among_other_grantees", |b| {
        b.iter(|| evaluate(black_box(&other_grantees), black_box(&request)))
    });
    group.bench_function("last_matches_same_grantee_worst_case", |b| {
        b.iter(|| evaluate(black_box(&same_grantee_last_allows), black_box(&request)))
    });
    group.bench_function("none_matches_same_grantee_worst_case", |b| {
        b.iter(|| evaluate(black_box(&same_grantee_none), black_box(&request)))
    });
    group.finish();
}

criterion_group!(benches, bench_consent);
criterion_main!(benches);
