//! Tests of the whole pipeline (pass 1 -> plan -> pass 2) over a synthetic population.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use phr_core::dataset::common::{Quantity, Sex};
use phr_core::dataset::immunization::Vaccine;
use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::rows::{header, observation};
use super::*;

struct Family {
    account_id: String,
    child: Uuid,
    birth_date: NaiveDate,
    birth_weight: f64,
    records: Vec<SourceRecord>,
}

/// A family: mother profile, prenatal visit, delivery, newborn, checkup, immunization.
fn family(i: usize, birth_date: NaiveDate, sex: Sex, birth_weight: f64, vaccine: Vaccine) -> Family {
    let account_id = format!("acct-{i:05}-{}", Uuid::new_v4());
    let child = Uuid::new_v4();
    let rec = |subject: Subject, body: RecordBody| SourceRecord {
        account_id: account_id.clone(),
        subject,
        record_id: Uuid::now_v7(),
        body,
    };
    let mut mother = examples::mother_profile_full();
    mother.name_kanji = format!("山田 花子{i}");
    let mut visit = examples::prenatal_visit_full();
    visit.visit_date = birth_date - Duration::days(60);
    let mut delivery = examples::delivery_full();
    delivery.delivered_at = format!("{birth_date}T10:00:00+09:00").parse().unwrap();
    delivery.gestational_age = Some(phr_core::dataset::common::GestationalAge::new(37 + (i % 4) as u8, 1));
    let mut newborn = examples::newborn_full();
    newborn.birth_date = birth_date;
    newborn.sex = sex;
    newborn.birth_weight = Some(Quantity::new(birth_weight));
    newborn.vitamin_k_doses = vec![birth_date];
    let mut checkup = examples::child_checkup_full();
    checkup.date = birth_date + Duration::days(30);
    checkup.weight = Some(Quantity::new(4.0 + (i % 10) as f64 * 0.1));
    let mut dose = examples::immunization_full();
    dose.vaccine = vaccine;
    dose.date_given = birth_date + Duration::days(61);
    let records = vec![
        rec(Subject::Mother, RecordBody::MotherProfile(mother)),
        rec(Subject::Mother, RecordBody::PrenatalVisit(visit)),
        rec(Subject::Mother, RecordBody::Delivery(delivery)),
        rec(Subject::Child(child), RecordBody::Newborn(newborn)),
        rec(Subject::Child(child), RecordBody::ChildCheckup(checkup)),
        rec(Subject::Child(child), RecordBody::Immunization(dose)),
    ];
    Family { account_id, child, birth_date, birth_weight, records }
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// 60 families born across 2026-01 and 2026-02, both sexes, varied weights, plus `extra`.
fn population(extra: Vec<Family>) -> Vec<Family> {
    let mut out: Vec<Family> = (0..60)
        .map(|i| {
            let date = d("2026-01-01") + Duration::days((i % 50) as i64);
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            family(i, date, sex, 2600.0 + (i * 37 % 900) as f64, Vaccine::Mr)
        })
        .collect();
    out.extend(extra);
    out
}

struct Extract {
    rows: Vec<DeidRow>,
    report: DeidReport,
    patients: Vec<serde_json::Value>,
}

fn run(families: &[Family], pseudo: &Pseudonymizer, config: DeidConfig) -> Extract {
    let mut survey = Survey::new();
    for r in families.iter().flat_map(|f| &f.records) {
        survey.observe(r);
    }
    let mut plan = survey.plan(config);
    let rows = families.iter().flat_map(|f| &f.records).filter_map(|r| plan.emit(r, pseudo)).collect();
    let patients = plan.patients(pseudo);
    Extract { rows, report: plan.report, patients }
}

fn pseudo(byte: u8) -> Pseudonymizer {
    Pseudonymizer::from_secret(Zeroizing::new([byte; 32]))
}

fn rows_of(extract: &Extract, kind: RecordKind) -> Vec<HashMap<&'static str, String>> {
    extract
        .rows
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| header(kind).iter().copied().zip(r.cells.iter().cloned()).collect())
        .collect()
}

fn all_text(extract: &Extract) -> String {
    let mut text = String::new();
    for row in &extract.rows {
        text.push_str(&rows::csv_line(&row.cells));
        text.push_str(&serde_json::to_string(&observation(row)).unwrap());
    }
    for p in &extract.patients {
        text.push_str(&p.to_string());
    }
    text
}

#[test]
fn no_direct_identifier_exact_date_or_internal_id_leaves() {
    let families = population(vec![]);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let text = all_text(&extract);
    let visit = examples::prenatal_visit_full();
    let dose = examples::immunization_full();
    let mother = examples::mother_profile_full();
    let mut forbidden: Vec<String> = vec![
        "山田".into(),
        visit.clinic_name.unwrap(),
        visit.clinic_id.unwrap(),
        visit.note.unwrap(),
        dose.lot_number.unwrap(),
        dose.performer.unwrap(),
        dose.location.unwrap(),
        dose.vaccine_name.unwrap(),
    ];
    forbidden.extend(mother.identifiers.iter().map(|i| i.value.clone()));
    for f in &families {
        forbidden.push(f.account_id.clone());
        forbidden.push(f.child.to_string());
        forbidden.push(f.birth_date.to_string());
        forbidden.extend(f.records.iter().map(|r| r.record_id.to_string()));
    }
    for f in forbidden {
        assert!(!text.contains(&f), "{f:?} leaked into the extract");
    }
    // No full date of any kind (YYYY-MM-DD) is emitted.
    let bytes = text.as_bytes();
    let has_full_date = bytes
        .windows(10)
        .any(|w| w.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() }));
    assert!(!has_full_date, "an exact date leaked");
    assert_eq!(extract.report.rows_emitted.values().sum::<u64>(), 360);
}

#[test]
fn a_person_has_one_pseudonym_across_modules_but_another_in_the_next_extract() {
    let families = population(vec![]);
    let a = run(&families, &pseudo(1), DeidConfig::default());
    let b = run(&families, &pseudo(2), DeidConfig::default());
    let child_ids = |e: &Extract, kind| rows_of(e, kind).iter().map(|r| r["person_id"].clone()).collect::<HashSet<_>>();
    let newborn_a = child_ids(&a, RecordKind::Newborn);
    assert_eq!(newborn_a.len(), 60);
    assert_eq!(newborn_a, child_ids(&a, RecordKind::ChildCheckup));
    assert_eq!(newborn_a, child_ids(&a, RecordKind::Immunization));
    let all = |e: &Extract| {
        e.rows.iter().map(|r| r.cells[0].clone()).chain(e.rows.iter().map(|r| r.id.clone())).collect::<HashSet<_>>()
    };
    assert!(all(&a).is_disjoint(&all(&b)), "two extracts share pseudonyms");
    // Deterministic within one secret; a fresh random secret differs.
    let f = &families[0];
    let p = pseudo(1);
    assert_eq!(p.person(&f.account_id, &Subject::Mother), p.person(&f.account_id, &Subject::Mother));
    assert_ne!(p.person(&f.account_id, &Subject::Mother), p.person(&f.account_id, &Subject::Child(f.child)));
    let r = Pseudonymizer::random().unwrap();
    assert_ne!(r.person(&f.account_id, &Subject::Mother), p.person(&f.account_id, &Subject::Mother));
}

#[test]
fn dates_become_birth_months_and_days_from_birth() {
    let families = population(vec![]);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    for row in rows_of(&extract, RecordKind::Newborn) {
        assert!(["2026-01", "2026-02"].contains(&row["birth_period"].as_str()), "{}", row["birth_period"]);
        assert!(row["birth_weight_band"].ends_with("49") || row["birth_weight_band"].ends_with("99"));
    }
    for row in rows_of(&extract, RecordKind::ChildCheckup) {
        assert_eq!(row["age_days"], "30");
    }
    for row in rows_of(&extract, RecordKind::Immunization) {
        assert_eq!(row["age_days"], "61");
    }
    for row in rows_of(&extract, RecordKind::Delivery) {
        assert!(row["delivery_period"].starts_with("2026-0"));
        // examples: mother born 1994-07-15 -> 31 at a 2026 delivery.
        assert_eq!(row["mother_age"], "30-34");
    }
    for row in rows_of(&extract, RecordKind::PrenatalVisit) {
        assert_eq!(
            row["gestational_weeks"],
            examples::prenatal_visit_full().gestational_age.unwrap().weeks.to_string()
        );
    }
}

#[test]
fn newborn_quasi_identifiers_are_k_anonymous_and_l_diverse() {
    // Add lone children that would be unique: one in 2019, a few scattered across 2026.
    let extra = vec![
        family(900, d("2019-03-03"), Sex::Male, 640.0, Vaccine::Mr),
        family(901, d("2026-07-09"), Sex::Female, 4700.0, Vaccine::Mr),
    ];
    let families = population(extra);
    let config = DeidConfig::default();
    let extract = run(&families, &pseudo(1), config);
    let mut classes: HashMap<Vec<String>, HashSet<String>> = HashMap::new();
    let mut sizes: HashMap<Vec<String>, usize> = HashMap::new();
    for row in rows_of(&extract, RecordKind::Newborn) {
        let key: Vec<String> =
            ["birth_period", "sex", "plurality", "delivery_method"].iter().map(|c| row[c].clone()).collect();
        classes.entry(key.clone()).or_default().insert(row["birth_weight_band"].clone());
        *sizes.entry(key).or_default() += 1;
    }
    assert!(sizes.values().all(|n| *n >= config.k), "{sizes:?}");
    assert!(classes.values().all(|l| l.len() >= config.l));
    assert_eq!(extract.report.kanon.suppressed, 2);
    assert!(extract.report.kanon.k_reached.unwrap() >= 5);
    // Nothing at all about a suppressed child leaves: its checkups and doses are withheld too.
    assert_eq!(rows_of(&extract, RecordKind::ChildCheckup).len(), 60);
    assert_eq!(extract.report.rows_suppressed[RecordKind::Newborn.as_str()], 2);
    assert_eq!(extract.report.rows_suppressed[RecordKind::Delivery.as_str()], 2);
}

#[test]
fn linking_a_known_family_by_birth_date_clinic_and_weight_fails() {
    let families = population(vec![]);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let target = &families[7];
    let text = all_text(&extract);
    assert!(!text.contains(&target.birth_date.to_string()));
    assert!(!text.contains(examples::prenatal_visit_full().clinic_name.unwrap().as_str()));
    // (Compared cell by cell: a hex pseudonym may contain the digits by chance.)
    let weight = format!("{}", target.birth_weight);
    assert!(extract.rows.iter().all(|r| r.cells.iter().all(|c| c != &weight)));
    // The best an attacker can do: rows whose generalized values contain the known facts.
    let band = generalize::birth_weight_band(target.birth_weight);
    let period = generalize::period(target.birth_date, generalize::PeriodLevel::Month);
    let candidates: Vec<_> = rows_of(&extract, RecordKind::Newborn)
        .into_iter()
        .filter(|r| r["birth_period"] == period && r["birth_weight_band"] == band && r["sex"] == "male")
        .collect();
    let same_class = rows_of(&extract, RecordKind::Newborn)
        .into_iter()
        .filter(|r| r["birth_period"] == period && r["sex"] == "male")
        .count();
    assert!(candidates.len() != 1 || same_class >= 5, "the family is singled out");
    assert!(same_class >= 5, "the family's class has {same_class} rows");
}

#[test]
fn rare_vaccines_become_their_group_or_are_suppressed() {
    let mut extra: Vec<Family> =
        (0..5).map(|i| family(800 + i, d("2026-01-10"), Sex::Female, 3000.0, Vaccine::RotavirusRotarix)).collect();
    extra.push(family(810, d("2026-01-11"), Sex::Female, 3100.0, Vaccine::RotavirusRotateq));
    extra.push(family(811, d("2026-01-12"), Sex::Female, 3200.0, Vaccine::Covid19));
    let families = population(extra);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let vaccines: Vec<String> =
        rows_of(&extract, RecordKind::Immunization).iter().map(|r| r["vaccine"].clone()).collect();
    assert_eq!(vaccines.iter().filter(|v| *v == "rotavirus_rotarix").count(), 5);
    assert_eq!(vaccines.iter().filter(|v| *v == "rotavirus").count(), 1, "RotaTeq (1 subject) becomes its group");
    assert!(!vaccines.iter().any(|v| v == "covid19" || v == "other"), "a lone vaccine with a rare group is suppressed");
    assert_eq!(extract.report.rare_codes_generalized, vec!["vaccine:rotavirus_rotateq".to_owned()]);
    assert_eq!(extract.report.rare_codes_suppressed, 1);
}

/// The records of `families` whose body is a `kind`, mutably.
fn bodies_of(families: &mut [Family], kind: RecordKind) -> impl Iterator<Item = &mut RecordBody> {
    families.iter_mut().flat_map(|f| f.records.iter_mut()).map(|r| &mut r.body).filter(move |b| b.kind() == kind)
}

#[test]
fn items_with_at_least_101_values_are_clamped_and_every_clamped_value_is_flagged() {
    let mut families = population(vec![]);
    // A second checkup per child: 120 weights, 4.0 to 4.9 kg, and one of 30 kg.
    for f in &mut families {
        let second = f.records[4].clone();
        f.records.push(SourceRecord { record_id: Uuid::now_v7(), ..second });
    }
    if let RecordBody::ChildCheckup(c) = &mut families[3].records[4].body {
        c.weight = Some(Quantity::new(30.0));
    }
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let checkups = rows_of(&extract, RecordKind::ChildCheckup);
    assert_eq!(checkups.len(), 120);
    let flagged: Vec<&HashMap<&str, String>> = checkups.iter().filter(|r| r["weight_kg_clamped"] == "true").collect();
    assert!(!flagged.is_empty());
    for r in &checkups {
        let w: f64 = r["weight_kg"].parse().unwrap();
        assert!(w <= 4.9, "{r:?}");
        assert!(["true", "false"].contains(&r["weight_kg_clamped"].as_str()));
    }
    assert!(flagged.iter().any(|r| r["weight_kg"] == "4.9"), "30 kg is clamped to the 99th percentile");
    assert!(extract.report.top_bottom_coded.contains(&"child_checkup.weight_kg".to_owned()));
    assert_eq!(extract.report.values_clamped["child_checkup.weight_kg"], flagged.len() as u64);
    // The NDJSON marks exactly the same values, with the clamped extension on their component.
    let marked: usize = extract
        .rows
        .iter()
        .filter(|r| r.kind == RecordKind::ChildCheckup)
        .map(|r| serde_json::to_value(observation(r)).unwrap())
        .map(|o| {
            o["component"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    c["extension"][0]["url"] == rows::CLAMPED_EXTENSION && c["extension"][0]["valueBoolean"] == true
                })
                .inspect(|c| assert_eq!(c["code"]["coding"][0]["code"], "weight_kg"))
                .count()
        })
        .sum();
    assert_eq!(marked, flagged.len());
}

#[test]
fn with_fewer_than_101_values_ordinary_readings_stay_and_implausible_ones_are_withheld() {
    let mut families = population(vec![]);
    let mut visits = bodies_of(&mut families, RecordKind::PrenatalVisit);
    if let Some(RecordBody::PrenatalVisit(v)) = visits.next() {
        v.body_weight = Some(Quantity::new(61.8));
        v.blood_pressure = Some(phr_core::dataset::prenatal_visit::BloodPressure {
            systolic: Quantity::new(124.0),
            diastolic: Quantity::new(78.0),
        });
    }
    if let Some(RecordBody::PrenatalVisit(v)) = visits.next() {
        v.blood_pressure = Some(phr_core::dataset::prenatal_visit::BloodPressure {
            systolic: Quantity::new(187.3),
            diastolic: Quantity::new(80.0),
        });
    }
    drop(visits);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let rows = rows_of(&extract, RecordKind::PrenatalVisit);
    assert_eq!(rows.len(), 60);
    let top = rows.iter().find(|r| r["body_weight_kg"] == "61.8").expect("61.8 kg as measured");
    assert_eq!((top["systolic_mmhg"].as_str(), top["diastolic_mmhg"].as_str()), ("124", "78"));
    assert!(rows.iter().all(|r| r["systolic_mmhg_clamped"] != "true" && r["body_weight_kg_clamped"] == "false"));
    assert!(extract.report.top_bottom_coded.is_empty(), "{:?}", extract.report.top_bottom_coded);
    // 187.3 mmHg (above the plausible 170) is withheld: an empty cell, `masked` in the NDJSON.
    let masked = rows.iter().find(|r| r["diastolic_mmhg"] == "80").unwrap();
    assert_eq!((masked["systolic_mmhg"].as_str(), masked["systolic_mmhg_clamped"].as_str()), ("", ""));
    assert!(!all_text(&extract).contains("187.3"));
    assert_eq!(extract.report.values_masked["prenatal_visit.systolic_mmhg"], 1);
    let row = extract.rows.iter().find(|r| r.kind == RecordKind::PrenatalVisit && !r.masked.is_empty()).unwrap();
    let obs = serde_json::to_value(observation(row)).unwrap();
    let systolic = obs["component"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"]["coding"][0]["code"] == "systolic_mmhg")
        .unwrap()
        .clone();
    assert_eq!(systolic["dataAbsentReason"]["coding"][0]["code"], "masked");
    assert!(systolic.get("valueString").is_none());
}

#[test]
fn a_mother_alone_in_her_group_is_suppressed_with_every_row_and_her_patient() {
    // Her child is in the large January class, but she is 44 with parity 3: alone at both levels.
    let mut lone = family(950, d("2026-01-15"), Sex::Female, 3100.0, Vaccine::Mr);
    if let RecordBody::MotherProfile(m) = &mut lone.records[0].body {
        m.birth_date = d("1981-03-01");
        m.parity = Some(3);
    }
    if let RecordBody::PrenatalVisit(v) = &mut lone.records[1].body {
        v.blood_pressure = Some(phr_core::dataset::prenatal_visit::BloodPressure {
            systolic: Quantity::new(187.3),
            diastolic: Quantity::new(100.0),
        });
    }
    let account = lone.account_id.clone();
    let families = population(vec![lone]);
    let p = pseudo(1);
    let extract = run(&families, &p, DeidConfig::default());
    let mother = p.person(&account, &Subject::Mother);
    assert!(extract.rows.iter().all(|r| r.cells[0] != mother), "a row of the lone mother left");
    assert!(extract.patients.iter().all(|pt| pt["id"] != mother.as_str()));
    assert!(!all_text(&extract).contains("187.3"));
    assert_eq!(extract.report.mothers.suppressed, 1);
    assert_eq!(extract.report.mothers.subjects, 61);
    assert!(extract.report.mothers.k_reached.unwrap() >= 5);
    assert!(extract.report.mothers.l_reached.unwrap() >= 2);
    // Her child is emitted: it is protected by its own class.
    assert_eq!(rows_of(&extract, RecordKind::Newborn).len(), 61);
}

#[test]
fn mothers_in_small_groups_are_generalized_before_they_are_suppressed_and_stay_k_anonymous() {
    // Six mothers of parity 2 in January: three aged 27, three aged 32 (classes of 3 at the fine
    // level); at the coarse level they share (2026, 25-34, 1+).
    let extra: Vec<Family> = (0..6)
        .map(|i| {
            let mut f = family(960 + i, d("2026-01-10"), Sex::Male, 3000.0 + 50.0 * i as f64, Vaccine::Mr);
            if let RecordBody::MotherProfile(m) = &mut f.records[0].body {
                m.birth_date = if i < 3 { d("1998-06-01") } else { d("1993-06-01") };
                m.parity = Some(2);
            }
            f
        })
        .collect();
    let families = population(extra);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    assert_eq!(extract.report.mothers.suppressed, 0);
    assert_eq!(extract.report.mothers.generalized, 6);
    let deliveries = rows_of(&extract, RecordKind::Delivery);
    assert_eq!(deliveries.iter().filter(|r| r["delivery_period"] == "2026" && r["mother_age"] == "25-34").count(), 6);
    let profiles = rows_of(&extract, RecordKind::MotherProfile);
    assert_eq!(profiles.iter().filter(|r| r["parity"] == "1+").count(), 6);
    // Independently of the planner: every (period, method, plurality, age) class of delivery rows
    // has at least k rows and l gestational-week values.
    let mut classes: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    for r in &deliveries {
        let key = ["delivery_period", "delivery_method", "plurality", "mother_age"].map(|c| r[c].clone()).to_vec();
        classes.entry(key).or_default().push(r["gestational_weeks"].clone());
    }
    for (key, weeks) in classes {
        assert!(weeks.len() >= 5, "{key:?}: {}", weeks.len());
        assert!(weeks.iter().collect::<HashSet<_>>().len() >= 2, "{key:?} is not 2-diverse");
    }
}

#[test]
fn every_row_names_a_patient_of_the_extract() {
    let extra = vec![
        family(900, d("2019-03-03"), Sex::Male, 640.0, Vaccine::Mr),
        family(901, d("2026-07-09"), Sex::Female, 4700.0, Vaccine::Mr),
    ];
    let families = population(extra);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let patients: HashSet<&str> = extract.patients.iter().map(|p| p["id"].as_str().unwrap()).collect();
    for row in &extract.rows {
        assert!(patients.contains(row.cells[0].as_str()), "{:?} names no Patient", row.kind);
    }
    assert_eq!(extract.report.kanon.suppressed, 2);
    assert_eq!(extract.report.mothers.suppressed, 2);
    assert_eq!(extract.report.rows_suppressed[RecordKind::MotherProfile.as_str()], 2);
    assert_eq!(extract.report.rows_suppressed[RecordKind::PrenatalVisit.as_str()], 2);
}

#[test]
fn every_emitted_resource_is_labelled_pseudonymized() {
    let families = population(vec![]);
    let extract = run(&families, &pseudo(1), DeidConfig::default());
    let resources = extract
        .rows
        .iter()
        .map(|r| serde_json::to_value(observation(r)).unwrap())
        .chain(extract.patients.iter().cloned());
    let mut n = 0;
    for r in resources {
        assert_eq!(r["meta"]["security"][0]["code"], "PSEUDED", "{r}");
        n += 1;
    }
    assert_eq!(n, 360 + 60 + 60);
}

#[test]
fn csv_cells_with_commas_or_quotes_are_quoted() {
    assert_eq!(rows::csv_line(&["a", "b,c", "d\"e"]), "a,\"b,c\",\"d\"\"e\"\r\n");
}

#[test]
fn pass_one_skips_exactly_the_kinds_that_carry_neither_codes_nor_numeric_items() {
    for body in phr_core::dataset::examples::all_full() {
        let kind = body.kind();
        let mut numbers = 0;
        rows::numbers_of(&body, |_, _| numbers += 1);
        let carries = numbers > 0 || !rows::codes_of(&body).is_empty();
        let anchor = matches!(kind, RecordKind::MotherProfile | RecordKind::Delivery | RecordKind::Newborn);
        assert_eq!(rows::feeds_survey(kind), carries || anchor, "{kind:?}");
    }
}

#[test]
fn merging_partial_surveys_equals_observing_everything_in_one() {
    let mut extra: Vec<Family> =
        (0..3).map(|i| family(100 + i, d("2026-03-03"), Sex::Female, 3100.0, Vaccine::Bcg)).collect();
    // A family seen in both halves (its records split across two partial surveys).
    let mut twins = family(200, d("2026-01-20"), Sex::Male, 2500.0, Vaccine::Mr);
    let second_delivery = twins.records[2].clone();
    twins.records.push(second_delivery);
    extra.push(twins);
    let families = population(extra);
    let records: Vec<&SourceRecord> = families.iter().flat_map(|f| &f.records).collect();
    let pseudo = pseudo(7);
    let config = DeidConfig::default();

    let mut one = Survey::new();
    records.iter().for_each(|r| one.observe(r));
    for split in [1, records.len() / 3, records.len() - 2] {
        let mut merged = Survey::new();
        let mut part = Survey::new();
        records[..split].iter().for_each(|r| part.observe(r));
        merged.merge(part);
        let mut part = Survey::new();
        records[split..].iter().for_each(|r| part.observe(r));
        merged.merge(part);
        assert_eq!(merged.records(), one.records());
        assert_eq!(format!("{:?}", sorted(&merged)), format!("{:?}", sorted(&one)));
    }

    // Same plan, same rows, same report; and emit_counted (pass 2 on several threads) counts like emit.
    let mut merged = Survey::new();
    for chunk in records.chunks(50) {
        let mut part = Survey::new();
        chunk.iter().for_each(|r| part.observe(r));
        merged.merge(part);
    }
    let mut a = one.plan(config);
    let mut b = merged.plan(config);
    let rows_a: Vec<DeidRow> = records.iter().filter_map(|r| a.emit(r, &pseudo)).collect();
    let mut rows_b = Vec::new();
    let mut counts = EmitCounts::default();
    for chunk in records.chunks(40) {
        let mut part = EmitCounts::default();
        rows_b.extend(chunk.iter().filter_map(|r| b.emit_counted(r, &pseudo, &mut part)));
        counts.merge(part);
    }
    b.add_counts(counts);
    assert_eq!(rows_a, rows_b);
    assert_eq!(serde_json::to_value(&a.report).unwrap(), serde_json::to_value(&b.report).unwrap());
    assert!(!a.report.rows_emitted.is_empty());
    assert_eq!(a.patients(&pseudo), b.patients(&pseudo));
}

/// A survey's content in a stable order (its maps are hash maps).
fn sorted(s: &Survey) -> impl std::fmt::Debug {
    let mut children: Vec<_> = s.children.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
    children.sort();
    let mut mothers: Vec<_> = s.mothers.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
    mothers.sort();
    let mut deliveries: Vec<_> = s.deliveries.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
    deliveries.sort();
    let mut codes: Vec<_> = s
        .codes
        .iter()
        .map(|(k, v)| {
            let mut v: Vec<_> = v.iter().collect();
            v.sort();
            format!("{k:?}={v:?}")
        })
        .collect();
    codes.sort();
    let mut numbers: Vec<_> = s.numbers.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
    numbers.sort();
    (children, mothers, deliveries, codes, numbers, s.records)
}
