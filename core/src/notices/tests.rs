use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn draft() -> NoticeDraft {
    NoticeDraft {
        title: "妊婦歯科健診のご案内".into(),
        body: "妊娠20〜27週の方は無料で歯科健診を受けられます。\n受診票をお持ちください。".into(),
        link: Some("https://www.city.example.lg.jp/kenshin/dental.html".into()),
        language: "ja".into(),
        valid_from: d("2026-12-01"),
        valid_until: d("2027-03-31"),
        target: NoticeTarget { pregnancy_weeks: Some(Range { from: 20, to: 27 }), child_age_months: None },
    }
}

fn child() -> Subject {
    Subject::Child(Uuid::from_u128(7))
}

#[test]
fn a_well_formed_draft_passes() {
    assert_eq!(draft().validate(), Ok(()));
    let mut everyone = draft();
    everyone.target = NoticeTarget::default();
    everyone.link = None;
    assert_eq!(everyone.validate(), Ok(()));
}

#[test]
fn html_tags_and_character_references_are_refused_in_title_and_body() {
    for text in ["<p>hello</p>", "see </a>", "<!-- x -->", "a <?php ?>", "&amp; more", "&#12354;", "x&#x1F600;y"] {
        let mut n = draft();
        n.body = text.into();
        let errors = n.validate().expect_err(text);
        assert!(errors.mentions("body"), "{text}: {errors}");
        assert!(errors.to_string().contains("plain text"), "{text}: {errors}");
        let mut n = draft();
        n.title = text.into();
        assert!(n.validate().expect_err(text).mentions("title"), "{text}");
    }
    // Plain text that only looks a little like markup is fine.
    for text in ["3 < 4 and 5 > 2", "A & B", "R&D, Q&A", "a & b; c", "<3", "料金 < 1000円"] {
        let mut n = draft();
        n.body = text.into();
        assert_eq!(n.validate(), Ok(()), "{text}");
    }
}

#[test]
fn lengths_blank_text_and_control_characters_are_refused_with_their_field() {
    let mut n = draft();
    n.title = "x".repeat(MAX_TITLE_CHARS + 1);
    n.body = "  \n ".into();
    let e = n.validate().unwrap_err();
    assert!(e.mentions("title") && e.mentions("body"), "{e}");

    let mut n = draft();
    n.title = "two\nlines".into();
    n.body = "tab\u{7}bell".into();
    let e = n.validate().unwrap_err();
    assert!(e.mentions("title") && e.mentions("body"), "{e}");

    let mut n = draft();
    n.body = "あ".repeat(MAX_BODY_CHARS);
    assert_eq!(n.validate(), Ok(()), "the limit is in characters, not bytes");
}

#[test]
fn a_link_must_be_https_with_a_host_and_no_credentials() {
    for bad in
        ["http://city.example.jp/", "javascript:alert(1)", "https://user:pw@city.example.jp/", "/relative", "https://"]
    {
        let mut n = draft();
        n.link = Some(bad.into());
        assert!(n.validate().expect_err(bad).mentions("link"), "{bad}");
    }
}

#[test]
fn language_tags_follow_bcp_47_shape() {
    for good in ["ja", "en", "pt-BR", "zh-Hant", "vi", "fil"] {
        assert!(is_language_tag(good), "{good}");
    }
    for bad in ["", "j", "japanese", "ja_JP", "ja-", "en-toolongsubtag", "日本"] {
        assert!(!is_language_tag(bad), "{bad}");
    }
}

#[test]
fn validity_and_target_ranges_are_checked() {
    let mut n = draft();
    n.valid_until = d("2026-11-30");
    n.target.pregnancy_weeks = Some(Range { from: 28, to: 20 });
    n.target.child_age_months = Some(Range { from: 0, to: MAX_CHILD_AGE_MONTHS + 1 });
    let e = n.validate().unwrap_err();
    for path in ["valid_until", "target.pregnancy_weeks.from", "target.child_age_months.to"] {
        assert!(e.mentions(path), "{path}: {e}");
    }
    let mut n = draft();
    n.valid_until = d("2029-01-01");
    assert!(n.validate().unwrap_err().mentions("valid_until"));
}

#[test]
fn unknown_fields_in_a_draft_are_refused() {
    let json =
        r#"{"title":"t","body":"b","language":"ja","valid_from":"2026-12-01","valid_until":"2026-12-31","html":"<b>"}"#;
    assert!(serde_json::from_str::<NoticeDraft>(json).is_err());
}

#[test]
fn a_published_notice_reads_back_flat() {
    let notice = Notice {
        id: NoticeId(Uuid::from_u128(1)),
        municipality: OrganizationId::new("city-minato").unwrap(),
        version: 2,
        published_at: "2026-12-01T00:00:00Z".into(),
        updated_at: "2026-12-02T00:00:00Z".into(),
        content: draft(),
    };
    let json = serde_json::to_value(&notice).unwrap();
    assert_eq!(json["title"], "妊婦歯科健診のご案内");
    assert_eq!(json["target"]["pregnancy_weeks"]["from"], 20);
    assert_eq!(serde_json::from_value::<Notice>(json).unwrap(), notice);
}

#[test]
fn a_pregnancy_week_notice_concerns_only_a_mother_in_range_while_it_is_valid() {
    let n = draft();
    let at = |week| vec![FamilyMember::PregnantMother { week }];
    let today = d("2026-12-10");
    assert_eq!(
        applies(&n, &at(24), today),
        vec![NoticeMatch { subject: Some(Subject::Mother), matched: Some(Matched::PregnancyWeek(24)) }]
    );
    assert!(applies(&n, &at(20), today).len() == 1 && applies(&n, &at(27), today).len() == 1, "ends included");
    assert!(applies(&n, &at(19), today).is_empty());
    assert!(applies(&n, &at(28), today).is_empty());
    assert!(applies(&n, &[FamilyMember::Child { subject: child(), months: 24 }], today).is_empty());
    assert!(applies(&n, &at(24), d("2026-11-30")).is_empty(), "before valid_from");
    assert!(applies(&n, &at(24), d("2027-04-01")).is_empty(), "after valid_until");
}

#[test]
fn a_notice_with_both_targets_concerns_whoever_matches_and_one_without_concerns_everyone() {
    let mut n = draft();
    n.target.child_age_months = Some(Range { from: 3, to: 4 });
    let family = [FamilyMember::PregnantMother { week: 30 }, FamilyMember::Child { subject: child(), months: 4 }];
    assert_eq!(
        applies(&n, &family, d("2026-12-10")),
        vec![NoticeMatch { subject: Some(child()), matched: Some(Matched::ChildAgeMonths(4)) }]
    );
    n.target = NoticeTarget::default();
    assert_eq!(applies(&n, &[], d("2026-12-10")), vec![NoticeMatch { subject: None, matched: None }]);
}

#[test]
fn completed_months_count_a_month_on_the_same_day_or_the_month_end() {
    assert_eq!(age_in_completed_months(d("2026-01-15"), d("2026-01-15")), Some(0));
    assert_eq!(age_in_completed_months(d("2026-01-15"), d("2026-02-14")), Some(0));
    assert_eq!(age_in_completed_months(d("2026-01-15"), d("2026-02-15")), Some(1));
    assert_eq!(age_in_completed_months(d("2026-01-31"), d("2026-02-28")), Some(1));
    assert_eq!(age_in_completed_months(d("2024-02-29"), d("2026-02-28")), Some(24));
    assert_eq!(age_in_completed_months(d("2026-01-15"), d("2025-12-31")), None);
    assert_eq!(age_in_completed_months(d("2020-06-01"), d("2026-05-31")), Some(71));
}
