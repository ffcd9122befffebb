use chrono::NaiveDate;

use super::*;
use crate::dataset::child_checkup::CheckupType;
use crate::dataset::immunization::Vaccine;
use crate::dataset::immunization_schedule::immunization_status;
use crate::dataset::{examples, Pregnancy};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn every_checkup_type_and_vaccine_has_a_name_in_every_catalog() {
    for language in crate::i18n::languages() {
        let keys = crate::i18n::keys(language);
        for t in CheckupType::ALL {
            assert!(keys.contains(&format!("checkup-{}", t.code())), "{language}: checkup {}", t.code());
        }
        for v in Vaccine::ALL {
            assert!(keys.contains(&format!("vaccine-{}", v.code())), "{language}: vaccine {}", v.code());
        }
    }
}

#[test]
fn a_three_month_old_is_due_the_3_4_month_checkup_and_it_drops_out_when_recorded() {
    let schedule = default_infant_checkups();
    let birth = d("2026-08-20");
    let today = d("2026-12-05");
    let due = child_checkups_due(&schedule, birth, &[CheckupType::Month1], today, 30, "ja");
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].key, "child_checkup:months_3_4");
    assert_eq!((due[0].from, due[0].to), (d("2026-11-20"), Some(d("2027-01-19"))));
    assert_eq!(due[0].title, "3〜4か月児健診");
    assert!(due[0].body.starts_with("2026-11-20〜2027-01-19に受けましょう"), "{}", due[0].body);
    let done = child_checkups_due(&schedule, birth, &[CheckupType::Month1, CheckupType::Months3To4], today, 30, "en");
    assert!(done.is_empty(), "{done:?}");
    // The 1-month checkup, missed and past its window, is not listed; the 6–7-month one is beyond the horizon.
    let later = child_checkups_due(&schedule, birth, &[], today, 200, "en");
    assert_eq!(
        later.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["child_checkup:months_3_4", "child_checkup:months_6_7", "child_checkup:months_9_10"]
    );
    assert_eq!(later[1].title, "6–7-month checkup");
}

#[test]
fn prenatal_checkups_follow_the_cadence_and_a_visit_fills_its_slot() {
    let slots = default_prenatal_slots();
    assert_eq!(slots.len(), 15);
    let mut p: Pregnancy = examples::pregnancy_full();
    p.status = crate::dataset::pregnancy::PregnancyStatus::Ongoing;
    p.outcome_date = None;
    p.estimated_delivery_date = Some(d("2027-04-01")); // 0w0d = 2026-06-25; 23w = 2026-12-03
    p.last_menstrual_period = None;
    let today = d("2026-12-05"); // 23w2d
    let due = prenatal_checkups_due(&slots, &p, &[], today, 14, "en");
    assert_eq!(due.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["prenatal:20", "prenatal:24"]);
    assert_eq!(due[0].title, "Prenatal checkup (week 20–23)");
    assert_eq!(due[1].title, "Prenatal checkup (week 24–25)");
    let visited = prenatal_checkups_due(&slots, &p, &[d("2026-11-20")], today, 14, "ja");
    assert_eq!(visited.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["prenatal:24"]);
    assert_eq!(visited[0].title, "妊婦健診（24–25週）");
    p.status = crate::dataset::pregnancy::PregnancyStatus::LiveBirth;
    assert!(prenatal_checkups_due(&slots, &p, &[], today, 14, "ja").is_empty(), "only an ongoing pregnancy");
}

#[test]
fn immunizations_due_come_from_the_schedule_with_names_in_the_language() {
    let birth = d("2026-09-01");
    let today = d("2026-11-24");
    let statuses = immunization_status(birth, Some(crate::dataset::common::Sex::Male), &[], today);
    let due = immunizations_due(&statuses, today, 0, "en");
    assert!(
        due.iter()
            .any(|i| i.key == "immunization:dpt_ipv_hib:first_term:1" && i.title == "DPT-IPV-Hib (5-in-1) (dose 1)"),
        "{due:?}"
    );
    let ja = immunizations_due(&statuses, today, 0, "ja");
    assert!(ja.iter().any(|i| i.title == "5種混合（1回目）"), "{ja:?}");
}

#[test]
fn a_municipal_schedule_is_read_from_its_csv_and_bad_rows_are_named() {
    let own = infant_checkups_from_csv("checkup_type,from_months,to_months\nmonths_3_4,3,4\n").unwrap();
    assert_eq!(own, vec![InfantCheckup { checkup_type: CheckupType::Months3To4, from_months: 3, to_months: 4 }]);
    let err = infant_checkups_from_csv("h\nmonths_3_4,5,4\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(infant_checkups_from_csv("h\nother,1,2\n").is_err());
    assert!(prenatal_slots_from_csv("h\n8,x\n").is_err());
}
