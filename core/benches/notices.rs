//! Municipal notices on the phone (run: `cargo bench -p phr-core --bench notices`):
//! `notices_match_200_for_family_of_3`: the 200 current notices a municipality may have at
//! most, each validated (as the phone does with every feed it reads) and matched against a
//! mother at 24 weeks and two children (4 months, 2 years).
//! `notices_feed_parse_200`: reading such a feed from its JSON.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::consent::OrganizationId;
use phr_core::dataset::Subject;
use phr_core::notices::{applies, FamilyMember, Notice, NoticeDraft, NoticeFeed, NoticeId, NoticeTarget, Range};

fn feed(today: NaiveDate) -> NoticeFeed {
    let municipality = OrganizationId::new("city-minato").expect("an id");
    let notices = (0..200u32)
        .map(|i| {
            let target = match i % 3 {
                0 => NoticeTarget {
                    pregnancy_weeks: Some(Range { from: i % 40, to: i % 40 + 4 }),
                    child_age_months: None,
                },
                1 => NoticeTarget {
                    pregnancy_weeks: None,
                    child_age_months: Some(Range { from: i % 36, to: i % 36 + 2 }),
                },
                _ => NoticeTarget::default(),
            };
            Notice {
                id: NoticeId(uuid::Uuid::from_u128(u128::from(i))),
                municipality: municipality.clone(),
                version: 1,
                published_at: "2026-12-01T00:00:00.000Z".into(),
                updated_at: "2026-12-01T00:00:00.000Z".into(),
                content: NoticeDraft {
                    title: format!("お知らせ {i}: 乳幼児健診と予防接種のご案内"),
                    body: "健診の日程が決まりました。\n母子健康手帳と受診票をお持ちください。".repeat(8),
                    link: Some(format!("https://www.city.minato.example.lg.jp/notice/{i}")),
                    language: if i % 2 == 0 { "ja".into() } else { "en".into() },
                    valid_from: today - chrono::Days::new(10),
                    valid_until: today + chrono::Days::new(60),
                    target,
                },
            }
        })
        .collect();
    NoticeFeed { municipality, name: "Minato City".into(), notices }
}

fn benches(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
    let feed = feed(today);
    let family = [
        FamilyMember::PregnantMother { week: 24 },
        FamilyMember::Child { subject: Subject::Child(uuid::Uuid::from_u128(1)), months: 4 },
        FamilyMember::Child { subject: Subject::Child(uuid::Uuid::from_u128(2)), months: 24 },
    ];
    let matched = || {
        feed.notices
            .iter()
            .filter(|n| n.content.validate().is_ok())
            .filter(|n| !applies(&n.content, &family, today).is_empty())
            .count()
    };
    assert!(matched() > 60, "every notice to everyone and some targeted ones match");
    c.bench_function("notices_match_200_for_family_of_3", |b| b.iter(|| black_box(matched())));
    let json = serde_json::to_vec(&feed).expect("a feed");
    c.bench_function("notices_feed_parse_200", |b| {
        b.iter(|| black_box(serde_json::from_slice::<NoticeFeed>(&json).expect("a feed").notices.len()))
    });
}

criterion_group!(notices, benches);
criterion_main!(notices);
