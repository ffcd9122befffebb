//! Tests over the test vectors (`vectors/`) and the import → export round trip.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::layout::parse;
use super::*;
use crate::dataset::medication::{
    DrugCode, DrugCodeSystem, Medication, MedicationNote, MedicationNoteKind, MedicationSource,
};

const FULL: &str = include_str!("vectors/full-utf8-lf.txt");
const EXT_SJIS: &[u8] = include_bytes!("vectors/ext-chars-sjis-crlf.csv");
const SPLIT: [&str; 3] = [
    include_str!("vectors/split-part1-of-3.txt"),
    include_str!("vectors/split-part2-of-3.txt"),
    include_str!("vectors/split-part3-of-3.txt"),
];

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn today() -> NaiveDate {
    d("2026-12-05")
}

fn import(text: &str) -> ImportResult {
    import_texts(&[text], today(), None).unwrap()
}

fn dispensed(r: &ImportResult) -> Vec<&Medication> {
    r.medications().filter(|m| m.source() != MedicationSource::Otc).collect()
}

// ---- record types -------------------------------------------------------

#[test]
fn patient_record_gives_name_kana_and_birth_date() {
    let nb = parse(FULL).unwrap();
    let p = nb.patient.unwrap();
    assert_eq!(p.name.as_deref(), Some("山田　花子"));
    assert_eq!(p.name_kana.as_deref(), Some("ヤマダ　ハナコ"));
    assert_eq!(p.birth_date, Some(d("1995-04-12")));
    assert_eq!(nb.version, "JAHISTC08");
    assert_eq!(nb.output_category.as_deref(), Some("1"));
}

#[test]
fn japanese_era_dates_are_read() {
    assert_eq!(layout::parse_date("H070412"), Some(d("1995-04-12")));
    assert_eq!(layout::parse_date("R080101"), Some(d("2026-01-01")));
    assert_eq!(layout::parse_date("S640107"), Some(d("1989-01-07")));
    for bad in ["X070412", "20261301", "2026120", "H07041", "R08013２", ""] {
        assert_eq!(layout::parse_date(bad), None, "{bad}");
    }
}

#[test]
fn each_drug_of_each_dispensing_is_one_medication_with_its_dispensing_context() {
    let r = import(FULL);
    let meds = dispensed(&r);
    assert_eq!(meds.len(), 2);
    for m in &meds {
        assert_eq!(m.dispensed_on, d("2026-12-01"));
        assert_eq!(m.pharmacy.as_deref(), Some("ひまわり薬局"));
        assert_eq!(m.pharmacist.as_deref(), Some("鈴木　一郎"));
        assert_eq!(m.prescriber.as_deref(), Some("さくら産婦人科クリニック"));
        assert_eq!(m.prescribing_doctor.as_deref(), Some("佐藤　恵子"));
        assert_eq!(m.source, Some(MedicationSource::Dispensed));
    }
}

#[test]
fn drug_record_keeps_name_dose_unit_and_code() {
    let r = import(FULL);
    let meds = dispensed(&r);
    let m = meds[0];
    assert_eq!(m.drug_name, "マグミット錠３３０ｍｇ");
    assert_eq!(m.dose.as_deref(), Some("3"));
    assert_eq!(m.dose_unit.as_deref(), Some("錠"));
    assert_eq!(m.drug_code, Some(DrugCode { system: DrugCodeSystem::Yj, code: "2344009F1030".into() }));
    assert_eq!(meds[1].drug_code, Some(DrugCode { system: DrugCodeSystem::Receipt, code: "620000033".into() }));
}

#[test]
fn every_drug_code_type_maps_to_its_system_and_type_1_to_none() {
    for (t, code, system) in [
        ("2", "620000033", Some(DrugCodeSystem::Receipt)),
        ("3", "1149019F1560", Some(DrugCodeSystem::Mhlw)),
        ("4", "1149019F1560", Some(DrugCodeSystem::Yj)),
        ("6", "105271807", Some(DrugCodeSystem::Hot)),
        ("6", "1052718070101", Some(DrugCodeSystem::Hot)),
        ("1", "", None),
    ] {
        let text = format!("JAHISTC08,1\r\n5,20261201,1\r\n201,1,薬,1,錠,{t},{code},1\r\n");
        let m = import(&text).medications().next().unwrap().clone();
        assert_eq!(m.drug_code.map(|c| c.system), system, "type {t}");
    }
}

#[test]
fn a_code_that_does_not_fit_its_type_names_the_line_and_field() {
    let err = import_texts(&["JAHISTC08,1\r\n5,20261201,1\r\n201,1,薬,1,錠,6,12345,1"], today(), None).unwrap_err();
    assert!(matches!(err, NotebookError::Field { line: 3, field: "薬品コード", .. }), "{err}");
}

#[test]
fn directions_in_days_give_days_supplied_and_other_units_stay_in_the_text() {
    let r = import(FULL);
    let meds = dispensed(&r);
    assert_eq!(meds[0].directions.as_deref(), Some("１日３回毎食後"));
    assert_eq!(meds[0].days_supplied, Some(14));
    assert_eq!(meds[1].directions.as_deref(), Some("発熱時（10回分）"));
    assert_eq!(meds[1].days_supplied, None);
}

#[test]
fn supplements_and_cautions_are_notes_of_their_kind_on_the_right_drug() {
    use MedicationNoteKind as K;
    let r = import(FULL);
    let meds = dispensed(&r);
    let kinds = |m: &Medication| m.notes.iter().map(|n| n.kind).collect::<Vec<_>>();
    let shared = [K::Caution, K::ProvidedInformation, K::RemainingDrugs, K::Remark, K::PatientEntry];
    let mut first = vec![K::DrugSupplement, K::DirectionsSupplement];
    first.extend(shared);
    let mut second = vec![K::DrugCaution, K::PrescriptionCaution];
    second.extend(shared);
    assert_eq!(kinds(meds[0]), first);
    assert_eq!(kinds(meds[1]), second);
    let info = meds[0].notes.iter().find(|n| n.kind == K::ProvidedInformation).unwrap();
    assert_eq!(info.code.as_deref(), Some("99"));
    let entry = meds[0].notes.iter().find(|n| n.kind == K::PatientEntry).unwrap();
    assert_eq!(entry.date, Some(d("2026-12-02")));
    assert_eq!(entry.text, "飲み忘れなし");
}

#[test]
fn otc_drug_record_is_an_otc_medication_with_its_dates() {
    let r = import(FULL);
    let otc: Vec<_> = r.medications().filter(|m| m.source() == MedicationSource::Otc).collect();
    assert_eq!(otc.len(), 1);
    assert_eq!(otc[0].drug_name, "ロキソニンＳ");
    assert_eq!(otc[0].dispensed_on, d("2026-11-20"));
    assert_eq!(otc[0].taken_until, Some(d("2026-11-22")));
}

#[test]
fn unknown_and_unmapped_records_are_kept_verbatim_not_dropped() {
    let r = import(FULL);
    let m = dispensed(&r)[0].clone();
    assert!(m.jahis_records.contains(&"999,将来の拡張レコード,x,1".to_owned()), "{:?}", m.jahis_records);
    assert!(m.jahis_records.contains(&"2,1,卵アレルギー,1".to_owned()));
    assert!(m.jahis_records.iter().any(|r| r.starts_with("701,")));
}

#[test]
fn patient_entered_drugs_are_recognised_by_their_record_creator() {
    let r = import("JAHISTC08,2\r\n5,20261201,2\r\n201,1,葉酸サプリ,1,粒,1,,2\r\n");
    assert_eq!(r.medications().next().unwrap().source, Some(MedicationSource::PatientEntered));
}

#[test]
fn a_dispensing_without_drugs_is_a_warning_not_an_error() {
    let r = import("JAHISTC08,1\r\n5,20261201,1\r\n11,ひまわり薬局,13,4,1234567,,,,1\r\n");
    assert_eq!(r.medications().count(), 0);
    assert_eq!(r.warnings, vec![ImportWarning::DispensingWithoutDrugs { line: 2 }]);
}

// ---- encodings, splits ---------------------------------------------------

#[test]
fn shift_jis_crlf_with_extension_characters_and_empty_fields_is_read() {
    let r = import_bytes(EXT_SJIS, today(), None).unwrap();
    assert_eq!(r.versions, vec!["JAHISTC07".to_owned()]);
    let meds: Vec<_> = r.medications().collect();
    assert_eq!(meds.len(), 2);
    assert_eq!(meds[0].pharmacy.as_deref(), Some("㈱すずらん調剤薬局"));
    assert_eq!(meds[0].drug_code, Some(DrugCode { system: DrugCodeSystem::Hot, code: "105271807".into() }));
    assert_eq!(meds[1].drug_code, None);
    assert_eq!(meds[1].days_supplied, None);
    assert_eq!(meds[1].directions.as_deref(), Some("１日３回毎食後"));
    let nb = parse(&text::decode(EXT_SJIS).unwrap()).unwrap();
    assert_eq!(nb.patient.unwrap().name.as_deref(), Some("髙橋　①子"));
}

#[test]
fn three_split_qr_codes_in_the_wrong_order_give_the_same_medications_as_the_file() {
    let whole = import(FULL);
    let split = import_texts(&[SPLIT[2], SPLIT[0], SPLIT[1]], today(), None).unwrap();
    assert_eq!(split.dispensings, whole.dispensings);
}

#[test]
fn a_split_missing_a_part_names_the_part() {
    let err = import_texts(&[SPLIT[2], SPLIT[0]], today(), None).unwrap_err();
    assert_eq!(err, NotebookError::SplitIncomplete { data_id: "20261201093000".into(), total: 3, missing: vec![2] });
}

#[test]
fn importing_the_same_notebook_twice_gives_the_same_fingerprints() {
    let a = import(FULL);
    let b = import(&FULL.replace('\n', "\r\n"));
    let ids = |r: &ImportResult| r.dispensings.iter().map(|d| d.dispensing_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert!(a.medications().all(|m| m.dispensing_id.as_deref() == Some(a.dispensings[0].dispensing_id.as_str())
        || m.source() == MedicationSource::Otc));
    // A scanned QR and the file in one import count once.
    let both = import_texts(&[FULL, SPLIT[0], SPLIT[1], SPLIT[2]], today(), None).unwrap();
    assert_eq!(ids(&both), ids(&a));
}

// ---- wrong person ----------------------------------------------------------

#[test]
fn a_notebook_for_someone_else_is_a_warning_naming_what_differs() {
    let expected =
        PatientCheck { name: Some("山田 太郎".into()), name_kana: None, birth_date: Some(d("2026-06-01")) };
    let r = import_texts(&[FULL], today(), Some(&expected)).unwrap();
    assert_eq!(
        r.warnings,
        vec![
            ImportWarning::PatientNameDiffers { in_notebook: "山田　花子".into() },
            ImportWarning::PatientBirthDateDiffers { in_notebook: d("1995-04-12") },
        ]
    );
    let same = PatientCheck { name: Some("山田花子".into()), name_kana: None, birth_date: Some(d("1995-04-12")) };
    assert!(import_texts(&[FULL], today(), Some(&same)).unwrap().warnings.is_empty());
    let kana = PatientCheck { name: None, name_kana: Some("ヤマダ ハナコ".into()), birth_date: None };
    assert!(import_texts(&[FULL], today(), Some(&kana)).unwrap().warnings.is_empty());
}

// ---- bad input ---------------------------------------------------------------

#[test]
fn each_malformed_vector_is_a_typed_error_naming_the_line_and_field() {
    let cases: [(&str, &str); 8] = [
        (include_str!("vectors/malformed-bad-date.txt"), "line 2, record 5, field 調剤等年月日"),
        (include_str!("vectors/malformed-bad-code-type.txt"), "line 3, record 201, field 薬品コード種別"),
        (include_str!("vectors/malformed-unknown-version.txt"), "line 1: version JAHISTC99 is not supported"),
        (include_str!("vectors/malformed-old-version.txt"), "line 1: version JAHISTC02 is not supported"),
        (include_str!("vectors/malformed-not-jahis.txt"), "line 1: not a JAHIS"),
        (include_str!("vectors/malformed-outside-dispensing.txt"), "line 2: record 201 must follow"),
        (include_str!("vectors/malformed-control-character.txt"), "line 3, field 2: control character U+0007"),
        (include_str!("vectors/malformed-missing-drug-name.txt"), "line 3, record 201, field 薬品名称: is required"),
    ];
    for (text, want) in cases {
        let err = import_texts(&[text], today(), None).unwrap_err();
        assert!(err.to_string().starts_with(want), "{err} / want {want}");
        assert!(err.line().is_some(), "{err}");
    }
}

#[test]
fn empty_huge_and_future_inputs_are_refused() {
    assert_eq!(import_texts::<&str>(&[], today(), None).unwrap_err(), NotebookError::Empty);
    assert_eq!(import_texts(&["\r\n\r\n"], today(), None).unwrap_err(), NotebookError::Empty);
    let huge = "JAHISTC08,1\r\n".to_owned() + &"501,あ,1\r\n".repeat(5 * 1024 * 1024 / 10);
    assert!(matches!(import_texts(&[huge.as_str()], today(), None), Err(NotebookError::TooLarge { .. })));
    assert!(matches!(import_bytes(huge.as_bytes(), today(), None), Err(NotebookError::TooLarge { .. })));
    let future = "JAHISTC08,1\r\n5,20271201,1\r\n201,1,薬,1,錠,1,,1\r\n";
    let err = import_texts(&[future], today(), None).unwrap_err();
    assert!(err.to_string().contains("dispensed_on"), "{err}");
}

#[test]
fn truncated_text_fails_or_imports_only_whole_records() {
    // Cutting the file anywhere never panics: it is a typed error, or no more
    // medications than the whole file, each of them valid.
    use crate::dataset::common::{Validate, ValidationContext};
    let whole = import(FULL).medications().count();
    let mut refused = 0;
    for cut in (0..FULL.len()).filter(|i| FULL.is_char_boundary(*i)) {
        match import_texts(&[&FULL[..cut]], today(), None) {
            Ok(r) => {
                assert!(r.medications().count() <= whole, "cut at {cut}");
                for m in r.medications() {
                    assert_eq!(m.validate(&ValidationContext::new(today())), Ok(()), "cut at {cut}");
                }
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0, "a cut inside a date or a code is refused");
}

// ---- export ----------------------------------------------------------------------

#[test]
fn export_writes_version_2_patient_dispensing_and_drug_records() {
    let r = import(FULL);
    let meds: Vec<Medication> = r.medications().cloned().collect();
    let patient = ExportPatient {
        name: "山田　花子".into(),
        name_kana: Some("ヤマダ　ハナコ".into()),
        sex: Some(crate::dataset::common::Sex::Female),
        birth_date: Some(d("1995-04-12")),
    };
    let text = export_text(&meds, Some(&patient));
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "JAHISTC08,2");
    assert_eq!(lines[1], "1,山田　花子,2,19950412,,,,,,,ヤマダ　ハナコ");
    assert_eq!(lines[2], "3,ロキソニンＳ,20261120,20261122,2");
    assert_eq!(lines[3], "5,20261201,1");
    assert!(text.contains("\r\n201,1,マグミット錠３３０ｍｇ,3,錠,4,2344009F1030,1\r\n"), "{text}");
    assert!(text.contains("\r\n301,1,１日３回毎食後,14,日分,,,,1\r\n"), "{text}");
    assert!(text.contains("\r\n201,2,カロナール錠２００　２００ｍｇ,1,錠,2,620000033,1\r\n"), "{text}");
    assert_eq!(text.matches("\r\n401,").count(), 1, "shared notes are written once per dispensing");
    let sjis = to_shift_jis(&text).unwrap();
    assert_eq!(text::decode(&sjis).unwrap(), text);
}

#[test]
fn a_half_width_comma_in_a_value_is_written_as_a_full_width_comma() {
    let m = Medication { dose_unit: Some("錠".into()), ..Medication::new(d("2026-12-01"), "A,B錠") };
    let text = export_text(&[m], None);
    assert!(text.contains("201,1,A，B錠,,錠,1,,1"), "{text}");
}

#[test]
fn a_character_shift_jis_cannot_write_is_named() {
    let text = export_text(&[Medication::new(d("2026-12-01"), "薬😀")], None);
    assert!(matches!(to_shift_jis(&text), Err(NotebookError::Unencodable { character: '😀', .. })));
}

#[test]
fn qr_chunks_fit_the_byte_limit_and_reassemble_to_the_same_medications() {
    let r = import(FULL);
    let meds: Vec<Medication> = r.medications().cloned().collect();
    let text = export_text(&meds, None);
    let chunks = qr_chunks(&text, 300, "20261205120000").unwrap();
    assert!(chunks.len() > 2, "{}", chunks.len());
    for c in &chunks {
        assert!(to_shift_jis(c).unwrap().len() <= 300);
        assert!(c.starts_with("JAHISTC08,2\r\n"));
    }
    let mut reversed = chunks.clone();
    reversed.reverse();
    let back = import_texts(&reversed, today(), None).unwrap();
    assert_eq!(back.medications().cloned().collect::<Vec<_>>(), meds);
    assert_eq!(qr_chunks(&text, 100_000, "20261205120000").unwrap(), vec![text.clone()]);
    assert!(qr_chunks(&text, 300, "2026").is_err());
}

#[test]
fn the_vectors_survive_export_and_reimport_unchanged() {
    for r in [import(FULL), import_bytes(EXT_SJIS, today(), None).unwrap()] {
        let meds: Vec<Medication> = r.medications().cloned().collect();
        let back = import(&export_text(&meds, None));
        assert_eq!(back.medications().cloned().collect::<Vec<_>>(), meds);
    }
}

// ---- round trip (property) -------------------------------------------------------

fn value() -> impl Strategy<Value = String> {
    // Values as a parent or pharmacy writes them: no half-width comma (the
    // export writes it full-width), no control characters, no edge spaces.
    "[a-zA-Z0-9ぁ-んァ-ヶ山田花子薬錠日回後朝夕食前局院科医髙①ー・（）０-９ ]{1,20}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn drug_code() -> impl Strategy<Value = Option<DrugCode>> {
    prop_oneof![
        Just(None),
        "[0-9]{9}".prop_map(|c| Some(DrugCode { system: DrugCodeSystem::Receipt, code: c })),
        "[0-9A-Z]{12}".prop_map(|c| Some(DrugCode { system: DrugCodeSystem::Yj, code: c })),
        "[0-9A-Z]{12}".prop_map(|c| Some(DrugCode { system: DrugCodeSystem::Mhlw, code: c })),
        "[0-9]{9}|[0-9]{13}".prop_map(|c| Some(DrugCode { system: DrugCodeSystem::Hot, code: c })),
    ]
}

fn note() -> impl Strategy<Value = MedicationNote> {
    use MedicationNoteKind as K;
    (0..9usize, value(), proptest::option::of(0..300u32), proptest::option::of("[0-9]{2}")).prop_map(
        |(k, text, day, code)| {
            let kind = K::ALL[k];
            MedicationNote {
                kind,
                text,
                date: if kind == K::PatientEntry {
                    day.map(|n| d("2026-01-01") + chrono::Days::new(n.into()))
                } else {
                    None
                },
                code: if kind == K::ProvidedInformation { code } else { None },
            }
        },
    )
}

/// One drug of a dispensing: its own fields and per-drug notes.
/// A drug's own fields: name, code, dose, unit, directions, days, per-drug notes.
type DrugFields =
    (String, Option<DrugCode>, Option<String>, Option<String>, Option<String>, Option<u32>, Vec<MedicationNote>);

fn drug() -> impl Strategy<Value = DrugFields> {
    (
        value(),
        drug_code(),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::option::of(1..=365u32),
        proptest::collection::vec(note(), 0..3),
    )
}

/// A notebook as an import yields it: dispensings (oldest first) whose
/// medications share the dispensing's fields and notes, plus OTC drugs.
fn notebook() -> impl Strategy<Value = Vec<Medication>> {
    let dispensing = (
        0..700u32,
        any::<bool>(),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::collection::vec(note(), 0..3),
        proptest::collection::vec(drug(), 1..4),
    );
    let otc = (0..700u32, value(), proptest::option::of(0..30u32));
    (proptest::collection::vec(dispensing, 0..4), proptest::collection::vec(otc, 0..2)).prop_map(|(ds, otcs)| {
        let mut meds = Vec::new();
        let mut ds = ds;
        ds.sort_by_key(|x| x.0);
        for (day, by_patient, pharmacy, prescriber, doctor, pharmacist, shared, drugs) in ds {
            let date = d("2025-01-01") + chrono::Days::new(day.into());
            let shared: Vec<MedicationNote> = shared.into_iter().filter(|n| !n.kind.is_per_drug()).collect();
            let mut group = Vec::new();
            for (name, code, dose, unit, directions, days, notes) in drugs {
                let mut notes: Vec<MedicationNote> = notes.into_iter().filter(|n| n.kind.is_per_drug()).collect();
                // As read: 281/291 first, then 311/391, then the dispensing's notes.
                notes.sort_by_key(|n| {
                    !matches!(n.kind, MedicationNoteKind::DrugSupplement | MedicationNoteKind::DrugCaution)
                });
                let mut shared_seen = Vec::new();
                for n in &shared {
                    if !shared_seen.contains(n) {
                        shared_seen.push(n.clone());
                    }
                }
                notes.extend(shared_seen);
                group.push(Medication {
                    pharmacy: pharmacy.clone(),
                    prescriber: prescriber.clone(),
                    prescribing_doctor: doctor.clone(),
                    pharmacist: pharmacist.clone(),
                    drug_code: code,
                    dose,
                    dose_unit: unit,
                    directions,
                    days_supplied: days,
                    source: Some(if by_patient {
                        MedicationSource::PatientEntered
                    } else {
                        MedicationSource::Dispensed
                    }),
                    notes,
                    ..Medication::new(date, name)
                });
            }
            let id = import::dispensing_fingerprint(&group);
            meds.extend(group.into_iter().map(|m| Medication { dispensing_id: Some(id.clone()), ..m }));
        }
        for (day, name, len) in otcs {
            let start = d("2025-01-01") + chrono::Days::new(day.into());
            let mut m = Medication::new(start, name);
            m.source = Some(MedicationSource::Otc);
            m.taken_until = len.map(|n| start + chrono::Days::new(n.into()));
            m.dispensing_id = Some(import::dispensing_fingerprint(std::slice::from_ref(&m)));
            meds.push(m);
        }
        meds
    })
}

fn sorted(mut v: Vec<Medication>) -> Vec<Medication> {
    v.sort_by(|a, b| (a.dispensed_on, &a.dispensing_id).cmp(&(b.dispensed_on, &b.dispensing_id)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn import_of_export_gives_back_the_same_medications(meds in notebook()) {
        let text = export_text(&meds, None);
        let back = import_texts(&[text.as_str()], today(), None).unwrap();
        prop_assert_eq!(sorted(back.medications().cloned().collect()), sorted(meds.clone()));
        // In Shift_JIS, and split over QR codes scanned in reverse order, too.
        let sjis = to_shift_jis(&text).unwrap();
        let back = import_bytes(&sjis, today(), None).unwrap();
        prop_assert_eq!(sorted(back.medications().cloned().collect()), sorted(meds.clone()));
        let mut chunks = qr_chunks(&text, 400, "20261205120000").unwrap();
        chunks.reverse();
        let back = import_texts(&chunks, today(), None).unwrap();
        prop_assert_eq!(sorted(back.medications().cloned().collect()), sorted(meds));
    }

    #[test]
    fn split_parts_reassemble_in_any_order(seed in any::<u64>(), max in 200usize..600) {
        let text = FULL.replace('\n', "\r\n");
        let mut chunks = qr_chunks(&text, max, "20261205120000").unwrap();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..chunks.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            chunks.swap(i, (s >> 33) as usize % (i + 1));
        }
        let back = import_texts(&chunks, today(), None).unwrap();
        prop_assert_eq!(back.dispensings, import(FULL).dispensings);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        let _ = import_texts(&[s.as_str()], today(), None);
        let _ = import_texts(&[format!("JAHISTC08,1\r\n{s}")], today(), None);
    }
}

// ---- current medicines ---------------------------------------------------------------

#[test]
fn current_medicines_are_those_whose_days_still_cover_today_grouped_by_dispensing() {
    let mut a = Medication::new(d("2026-12-01"), "A");
    a.days_supplied = Some(5); // 12-01 .. 12-05
    a.dispensing_id = Some("0".repeat(32));
    let mut b = a.clone();
    b.drug_name = "B".into();
    let mut old = Medication::new(d("2026-11-01"), "old");
    old.days_supplied = Some(7);
    let mut otc = Medication::new(d("2026-11-20"), "OTC");
    otc.source = Some(MedicationSource::Otc);
    let prn = Medication::new(d("2026-11-25"), "頓服"); // no days: current for 14 days
    let items = vec![(1, a), (2, b), (3, old), (4, otc), (5, prn)];
    let cur = current_medicines(&items, d("2026-12-05"), &[]);
    let ids: Vec<Vec<i32>> = cur.iter().map(|g| g.drugs.iter().map(|x| x.id).collect()).collect();
    assert_eq!(ids, vec![vec![1, 2], vec![5], vec![4]]);
    assert_eq!(cur[0].drugs[0].last_day, Some(d("2026-12-05")));
    assert!(current_medicines(&items, d("2026-12-06"), &[]).iter().all(|g| g.drugs.iter().all(|x| x.id != 1)));
}

#[test]
fn drugs_taken_in_pregnancy_or_the_year_after_birth_are_flagged() {
    use crate::dataset::pregnancy::{Pregnancy, PregnancyStatus};
    let mut p = crate::dataset::examples::pregnancy_full();
    p.last_menstrual_period = Some(d("2026-01-01"));
    p.estimated_delivery_date = Some(d("2026-10-08"));
    p.outcome_date = Some(d("2026-10-01"));
    p.status = PregnancyStatus::LiveBirth;
    let periods = current::care_periods(std::slice::from_ref::<Pregnancy>(&p), &[d("2026-10-01")]);
    let during = Medication { days_supplied: Some(3), ..Medication::new(d("2026-05-01"), "x") };
    let after = Medication::new(d("2026-11-01"), "y");
    let before = Medication::new(d("2025-11-01"), "z");
    assert_eq!(current::period_flags(&during, &periods), vec![CarePeriodKind::Pregnancy]);
    assert_eq!(current::period_flags(&after, &periods), vec![CarePeriodKind::Breastfeeding]);
    assert!(current::period_flags(&before, &periods).is_empty());
}
