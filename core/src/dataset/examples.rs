//! Hand-checked example records of every dataset module, for tests, benches and
//! docs: one **fully filled** example (every optional item set) and one
//! **minimal** example (required items only) per module.
//!
//! They describe one family: the mother (born 1994-07-15), her pregnancy (LMP
//! 2026-01-01, EDD 2026-10-08), a visit, the delivery on 2026-10-05 at 39w4d, and
//! the daughter born that day. Every example passes `validate()` with
//! [`TODAY`] as today and, for the child's records, [`CHILD_BIRTH_DATE`] as the
//! birth date (see the tests). Measurements use values with a short decimal form
//! (62.5, 3050) so serialized text is easy to check by eye.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::allergy::{
    Allergy, AllergyCategory, AllergyClinicalStatus, AllergyType, AllergyVerification, Criticality, FoodAllergen,
    Manifestation, ReactionSeverity,
};
use super::child_checkup::{
    CheckupType, ChildCheckup, FindingResult, GrowthIndicator, GrowthScore, MeasurementPosition, OverallJudgement,
    PhysicianFindings, ScreeningResult, ThreeYearItems, UrineStrip as ChildUrineStrip,
};
use super::common::Identifier;
use super::common::{GestationalAge, Quantity, Sex};
use super::condition::{Condition, ConditionClinicalStatus, ConditionCode};
use super::delivery::{Delivery, DeliveryMethod};
use super::development::{Achieved, DevelopmentMilestone, Milestone};
use super::immunization::{DoseSeries, Immunization, InjectionSite, Vaccine};
use super::medication::{DrugCode, DrugCodeSystem, Medication, MedicationNote, MedicationNoteKind, MedicationSource};
use super::mother_profile::{AboGroup, AntibodyScreen, MotherProfile, RhD, SubstanceUse};
use super::newborn::{Apgar, HearingScreen, MetabolicScreen, Newborn};
use super::pregnancy::{Pregnancy, PregnancyStatus};
use super::prenatal_visit::{
    BloodPressure, CervicalCytology, Dental, Edema, FetalPresentation, InfectionScreens, Labs, PrenatalVisit,
    RubellaImmunity, ScreenResult, UrineStrip,
};
use super::self_vitals::SelfVitals;
use super::subject_identifiers::SubjectIdentifiers;
use super::{RecordBody, RecordKind};

/// The "today" every example is valid on.
pub const TODAY: NaiveDate = date(2029, 12, 1);
/// The birth date of the child the child records are about.
pub const CHILD_BIRTH_DATE: NaiveDate = date(2026, 10, 5);

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(v) => v,
        None => panic!("invalid example date"),
    }
}

fn at(text: &str) -> DateTime<FixedOffset> {
    // The literals below are valid RFC 3339; a typo would fail every example test.
    DateTime::parse_from_rfc3339(text).unwrap_or_default()
}

/// Mother profile with every item.
pub fn mother_profile_full() -> MotherProfile {
    MotherProfile {
        name_kanji: "山田 花子".into(),
        name_kana: Some("ヤマダ ハナコ".into()),
        birth_date: date(1994, 7, 15),
        identifiers: vec![Identifier { system: "urn:oid:1.2.392.100495.20.3.51.1".into(), value: "12345678".into() }],
        height: Some(Quantity::new(158.0)),
        pre_pregnancy_weight: Some(Quantity::new(52.5)),
        abo: Some(AboGroup::A),
        rh_d: Some(RhD::Positive),
        irregular_antibodies: Some(AntibodyScreen::Negative),
        gravida: Some(2),
        parity: Some(1),
        previous_caesareans: Some(0),
        smoking: Some(SubstanceUse::Never),
        alcohol: Some(SubstanceUse::StoppedForPregnancy),
    }
}

/// Mother profile with the required items only.
pub fn mother_profile_minimal() -> MotherProfile {
    MotherProfile {
        name_kanji: "山田 花子".into(),
        name_kana: None,
        birth_date: date(1994, 7, 15),
        identifiers: vec![],
        height: None,
        pre_pregnancy_weight: None,
        abo: None,
        rh_d: None,
        irregular_antibodies: None,
        gravida: None,
        parity: None,
        previous_caesareans: None,
        smoking: None,
        alcohol: None,
    }
}

/// A pregnancy that ended in a live birth, every item set.
pub fn pregnancy_full() -> Pregnancy {
    Pregnancy {
        last_menstrual_period: Some(date(2026, 1, 1)),
        estimated_delivery_date: Some(date(2026, 10, 8)),
        number_of_fetuses: Some(1),
        status: PregnancyStatus::LiveBirth,
        outcome_date: Some(date(2026, 10, 5)),
    }
}

/// An ongoing pregnancy dated by its EDD only.
pub fn pregnancy_minimal() -> Pregnancy {
    Pregnancy {
        last_menstrual_period: None,
        estimated_delivery_date: Some(date(2026, 10, 8)),
        number_of_fetuses: None,
        status: PregnancyStatus::Ongoing,
        outcome_date: None,
    }
}

/// A prenatal visit at 13w0d with every item.
pub fn prenatal_visit_full() -> PrenatalVisit {
    PrenatalVisit {
        visit_date: date(2026, 4, 2),
        clinic_name: Some("さくら産婦人科".into()),
        clinic_id: Some("1312345678".into()),
        gestational_age: Some(GestationalAge::new(13, 0)),
        body_weight: Some(Quantity::new(54.2)),
        blood_pressure: Some(BloodPressure { systolic: Quantity::new(112.0), diastolic: Quantity::new(70.0) }),
        fundal_height: Some(Quantity::new(12.0)),
        abdominal_girth: Some(Quantity::new(78.5)),
        edema: Some(Edema::OnePlus),
        urine_protein: Some(UrineStrip::Trace),
        urine_glucose: Some(UrineStrip::Negative),
        fetal_heart_rate: Some(Quantity::new(152.0)),
        fetal_presentation: Some(FetalPresentation::Cephalic),
        labs: Some(Labs {
            hemoglobin: Some(Quantity::new(11.8)),
            hematocrit: Some(Quantity::new(35.4)),
            platelets: Some(Quantity::new(245.0)),
        }),
        infection_screens: Some(InfectionScreens {
            hbs_ag: Some(ScreenResult::Negative),
            hcv_antibody: Some(ScreenResult::Negative),
            rubella_antibody: Some(RubellaImmunity::LowTiter),
            htlv1_antibody: Some(ScreenResult::Indeterminate),
            gbs: Some(ScreenResult::Positive),
            cervical_cytology: Some(CervicalCytology::Nilm),
        }),
        hypertensive_disorder: Some(false),
        gestational_diabetes: Some(true),
        dental: Some(Dental { caries_count: Some(1), calculus: Some(true), gingivitis: Some(false) }),
        note: Some("次回は4週間後。".into()),
    }
}

/// A prenatal visit with its date only.
pub fn prenatal_visit_minimal() -> PrenatalVisit {
    PrenatalVisit::new(date(2026, 4, 2))
}

/// The delivery, every item set (2026-10-05 is 39w4d by the EDD).
pub fn delivery_full() -> Delivery {
    Delivery {
        delivered_at: at("2026-10-05T14:32:00+09:00"),
        gestational_age: Some(GestationalAge::new(39, 4)),
        method: DeliveryMethod::AssistedVacuum,
        labour_duration: Some(Quantity::new(11.5)),
        blood_loss: Some(Quantity::new(420.0)),
        transfusion: Some(false),
        number_of_babies: 1,
    }
}

/// The delivery with its required items only.
pub fn delivery_minimal() -> Delivery {
    Delivery {
        delivered_at: at("2026-10-05T14:32:00+09:00"),
        gestational_age: None,
        method: DeliveryMethod::Caesarean,
        labour_duration: None,
        blood_loss: None,
        transfusion: None,
        number_of_babies: 1,
    }
}

/// The daughter at birth, every item set.
pub fn newborn_full() -> Newborn {
    Newborn {
        sex: Sex::Female,
        birth_date: CHILD_BIRTH_DATE,
        birth_weight: Some(Quantity::new(3050.0)),
        birth_length: Some(Quantity::new(49.5)),
        head_circumference: Some(Quantity::new(33.0)),
        chest_circumference: Some(Quantity::new(32.0)),
        apgar: Some(Apgar { one_minute: 8, five_minute: 9, ten_minute: Some(10) }),
        hearing_screen: Some(HearingScreen::Pass),
        metabolic_screen: Some(MetabolicScreen::Normal),
        vitamin_k_doses: vec![date(2026, 10, 5), date(2026, 10, 10), date(2026, 11, 2)],
    }
}

/// The daughter at birth: sex and birth date only.
pub fn newborn_minimal() -> Newborn {
    Newborn {
        sex: Sex::Unknown,
        birth_date: CHILD_BIRTH_DATE,
        birth_weight: None,
        birth_length: None,
        head_circumference: None,
        chest_circumference: None,
        apgar: None,
        hearing_screen: None,
        metabolic_screen: None,
        vitamin_k_doses: vec![],
    }
}

/// The 3-year checkup with every item (all findings, scores, 3-year items).
pub fn child_checkup_full() -> ChildCheckup {
    ChildCheckup {
        date: date(2029, 10, 10),
        checkup_type: CheckupType::Years3,
        facility: Some("みどり市保健センター".into()),
        weight: Some(Quantity::new(14.2)),
        length: Some(Quantity::new(95.3)),
        length_position: Some(MeasurementPosition::Standing),
        head_circumference: Some(Quantity::new(49.5)),
        chest_circumference: Some(Quantity::new(51.0)),
        growth_scores: vec![
            GrowthScore {
                indicator: GrowthIndicator::WeightForAge,
                percentile: Some(Quantity::new(50.0)),
                z_score: Some(0.02),
            },
            GrowthScore { indicator: GrowthIndicator::LengthForAge, percentile: None, z_score: Some(-0.35) },
            GrowthScore {
                indicator: GrowthIndicator::HeadCircumferenceForAge,
                percentile: Some(Quantity::new(62.5)),
                z_score: None,
            },
            GrowthScore {
                indicator: GrowthIndicator::WeightForLength,
                percentile: Some(Quantity::new(48.0)),
                z_score: Some(-0.05),
            },
        ],
        findings: PhysicianFindings {
            head_control: Some(FindingResult::NoFinding),
            eye_tracking: Some(FindingResult::NoFinding),
            strabismus: Some(FindingResult::FollowUp),
            hearing: Some(FindingResult::NoFinding),
            heart_murmur: Some(FindingResult::NotExamined),
            hip_abduction_limit: Some(FindingResult::NoFinding),
            undescended_testis: Some(FindingResult::NotExamined),
            naevus: Some(FindingResult::Finding),
            signs_of_maltreatment: Some(FindingResult::NoFinding),
        },
        overall_judgement: Some(OverallJudgement::FollowUp),
        three_year: Some(ThreeYearItems {
            urine_protein: Some(ChildUrineStrip::Negative),
            urine_blood: Some(ChildUrineStrip::Trace),
            vision: Some(ScreeningResult::Refer),
            hearing: Some(ScreeningResult::Pass),
        }),
        note: Some("視力は眼科で精密検査。".into()),
    }
}

/// A 1-month checkup with its date and type only.
pub fn child_checkup_minimal() -> ChildCheckup {
    ChildCheckup {
        date: date(2026, 11, 5),
        checkup_type: CheckupType::Month1,
        facility: None,
        weight: None,
        length: None,
        length_position: None,
        head_circumference: None,
        chest_circumference: None,
        growth_scores: vec![],
        findings: PhysicianFindings::default(),
        overall_judgement: None,
        three_year: None,
        note: None,
    }
}

/// Walking, achieved, with the date and a note.
pub fn development_full() -> DevelopmentMilestone {
    DevelopmentMilestone {
        milestone: Milestone::Walking,
        achieved: Achieved::Yes,
        answered_on: date(2028, 3, 1),
        achieved_on: Some(date(2027, 10, 20)),
        note: Some("公園で5歩。".into()),
    }
}

/// First words, answered "unsure".
pub fn development_minimal() -> DevelopmentMilestone {
    DevelopmentMilestone {
        milestone: Milestone::FirstWords,
        achieved: Achieved::Unsure,
        answered_on: date(2028, 3, 1),
        achieved_on: None,
        note: None,
    }
}

/// MR 1期 for the daughter, every item set.
pub fn immunization_full() -> Immunization {
    Immunization {
        vaccine: Vaccine::Mr,
        vaccine_name: Some("乾燥弱毒生麻しん風しん混合ワクチン".into()),
        hot9_code: Some("123456701".into()),
        yj_code: Some("6311000X1000".into()),
        routine: true,
        date_given: date(2027, 10, 10),
        dose_number: 1,
        series: DoseSeries::FirstTerm,
        lot_number: Some("MR-2027-0412".into()),
        manufacturer: Some("阪大微研".into()),
        site: Some(InjectionSite::LeftUpperArm),
        performer: Some("佐藤 一郎".into()),
        location: Some("みどり小児科".into()),
        next_due_date: Some(date(2032, 4, 1)),
    }
}

/// An influenza dose (voluntary) with its required items only.
pub fn immunization_minimal() -> Immunization {
    Immunization {
        vaccine: Vaccine::Influenza,
        vaccine_name: None,
        hot9_code: None,
        yj_code: None,
        routine: false,
        date_given: date(2028, 11, 1),
        dose_number: 1,
        series: DoseSeries::Primary,
        lot_number: None,
        manufacturer: None,
        site: None,
        performer: None,
        location: None,
        next_due_date: None,
    }
}

/// Acetaminophen dispensed, every item set (YJ code).
pub fn medication_full() -> Medication {
    Medication {
        dispensed_on: date(2027, 3, 1),
        pharmacy: Some("ひまわり薬局".into()),
        prescriber: Some("さくら小児科".into()),
        drug_name: "カロナール細粒20%".into(),
        drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "1141007C1075".into() }),
        dose: Some("1回0.5g".into()),
        directions: Some("発熱時 頓用".into()),
        days_supplied: Some(5),
        source: Some(MedicationSource::Dispensed),
        dose_unit: Some("g".into()),
        taken_until: None,
        pharmacist: Some("薬剤師 山田花子".into()),
        prescribing_doctor: Some("佐藤一郎".into()),
        dispensing_id: Some("0123456789abcdef0123456789abcdef".into()),
        notes: vec![
            MedicationNote {
                kind: MedicationNoteKind::ProvidedInformation,
                text: "退院時の服薬状況".into(),
                date: None,
                code: Some("99".into()),
            },
            MedicationNote {
                kind: MedicationNoteKind::DrugCaution,
                text: "6時間以上あけて".into(),
                date: None,
                code: None,
            },
            MedicationNote {
                kind: MedicationNoteKind::PatientEntry,
                text: "よく眠れた".into(),
                date: Some(date(2027, 3, 2)),
                code: None,
            },
        ],
        jahis_records: vec!["999,未知のレコード,1".into()],
    }
}

/// An over-the-counter drug taken for three days, from a JAHIS OTC record.
pub fn medication_otc() -> Medication {
    Medication {
        source: Some(MedicationSource::Otc),
        taken_until: Some(date(2027, 2, 22)),
        dispensing_id: Some("fedcba9876543210fedcba9876543210".into()),
        ..Medication::new(date(2027, 2, 20), "ロキソニンＳ")
    }
}

/// A drug with its date and name only.
pub fn medication_minimal() -> Medication {
    Medication::new(date(2027, 3, 1), "ビオフェルミン")
}

/// A morning measurement with every item.
pub fn self_vitals_full() -> SelfVitals {
    SelfVitals {
        measured_at: at("2026-03-01T07:30:00+09:00"),
        blood_pressure: Some(BloodPressure { systolic: Quantity::new(118.0), diastolic: Quantity::new(76.0) }),
        weight: Some(Quantity::new(62.5)),
        body_temperature: Some(Quantity::new(36.6)),
        heart_rate: Some(Quantity::new(72.0)),
        spo2: Some(Quantity::new(98.0)),
        blood_glucose: Some(Quantity::new(92.0)),
        steps: Some(Quantity::new(8123.0)),
    }
}

/// A weight only.
pub fn self_vitals_minimal() -> SelfVitals {
    SelfVitals {
        measured_at: at("2026-03-01T07:30:00+09:00"),
        blood_pressure: None,
        weight: Some(Quantity::new(62.5)),
        body_temperature: None,
        heart_rate: None,
        spo2: None,
        blood_glucose: None,
        steps: None,
    }
}

/// A subject's identifiers: a maternal and child health handbook number and a
/// municipal child number, each with its issuing system.
pub fn subject_identifiers_full() -> SubjectIdentifiers {
    SubjectIdentifiers {
        identifiers: vec![
            Identifier { system: "urn:oid:1.2.392.100495.20.3.81".into(), value: "2026-0001234".into() },
            Identifier { system: "https://city.example.jp/fhir/child-id".into(), value: "C-998877".into() },
        ],
    }
}

/// One identifier, the least a subject's identifiers record holds.
pub fn subject_identifiers_minimal() -> SubjectIdentifiers {
    SubjectIdentifiers {
        identifiers: vec![Identifier { system: "urn:oid:1.2.392.100495.20.3.81".into(), value: "2026-0001234".into() }],
    }
}

/// The daughter's egg allergy, confirmed, with every item.
pub fn allergy_full() -> Allergy {
    Allergy {
        category: AllergyCategory::Food,
        substance: "卵".into(),
        food: Some(FoodAllergen::Egg),
        drug_code: None,
        allergy_type: Some(AllergyType::Allergy),
        clinical_status: AllergyClinicalStatus::Active,
        verification: Some(AllergyVerification::Confirmed),
        criticality: Some(Criticality::High),
        reactions: vec![Manifestation::Urticaria, Manifestation::Vomiting],
        reaction_text: Some("口の周りが赤くなった".into()),
        severity: Some(ReactionSeverity::Moderate),
        onset: Some(date(2027, 4, 10)),
        last_reaction: Some(date(2027, 9, 1)),
        note: Some("加熱卵も除去。エピペン処方あり".into()),
    }
}

/// An egg allergy with the required items only.
pub fn allergy_minimal() -> Allergy {
    Allergy {
        category: AllergyCategory::Food,
        substance: "卵".into(),
        food: None,
        drug_code: None,
        allergy_type: None,
        clinical_status: AllergyClinicalStatus::Active,
        verification: None,
        criticality: None,
        reactions: vec![],
        reaction_text: None,
        severity: None,
        onset: None,
        last_reaction: None,
        note: None,
    }
}

/// The mother's preeclampsia in this pregnancy, resolved after the birth.
pub fn condition_full() -> Condition {
    Condition {
        code: ConditionCode::Preeclampsia,
        text: Some("妊娠高血圧腎症".into()),
        icd10: Some("O14.9".into()),
        clinical_status: ConditionClinicalStatus::Resolved,
        onset: Some(date(2026, 8, 20)),
        abatement: Some(date(2026, 11, 15)),
        note: Some("降圧薬で管理".into()),
    }
}

/// Preeclampsia, active, with the required items only.
pub fn condition_minimal() -> Condition {
    Condition {
        code: ConditionCode::Preeclampsia,
        text: None,
        icd10: None,
        clinical_status: ConditionClinicalStatus::Active,
        onset: None,
        abatement: None,
        note: None,
    }
}

/// Examples of a module's other shapes (beyond its full and minimal example):
/// an OTC medication, which maps to another FHIR resource.
pub fn variants() -> Vec<RecordBody> {
    vec![RecordBody::Medication(medication_otc())]
}

/// The fully filled example of every module, in [`RecordKind::ALL`] order.
pub fn all_full() -> Vec<RecordBody> {
    vec![
        RecordBody::MotherProfile(mother_profile_full()),
        RecordBody::Pregnancy(pregnancy_full()),
        RecordBody::PrenatalVisit(prenatal_visit_full()),
        RecordBody::Delivery(delivery_full()),
        RecordBody::Newborn(newborn_full()),
        RecordBody::ChildCheckup(child_checkup_full()),
        RecordBody::Development(development_full()),
        RecordBody::Immunization(immunization_full()),
        RecordBody::Medication(medication_full()),
        RecordBody::SelfVitals(self_vitals_full()),
        RecordBody::SubjectIdentifiers(subject_identifiers_full()),
        RecordBody::Allergy(allergy_full()),
        RecordBody::Condition(condition_full()),
    ]
}

/// The minimal example of every module, in [`RecordKind::ALL`] order.
pub fn all_minimal() -> Vec<RecordBody> {
    vec![
        RecordBody::MotherProfile(mother_profile_minimal()),
        RecordBody::Pregnancy(pregnancy_minimal()),
        RecordBody::PrenatalVisit(prenatal_visit_minimal()),
        RecordBody::Delivery(delivery_minimal()),
        RecordBody::Newborn(newborn_minimal()),
        RecordBody::ChildCheckup(child_checkup_minimal()),
        RecordBody::Development(development_minimal()),
        RecordBody::Immunization(immunization_minimal()),
        RecordBody::Medication(medication_minimal()),
        RecordBody::SelfVitals(self_vitals_minimal()),
        RecordBody::SubjectIdentifiers(subject_identifiers_minimal()),
        RecordBody::Allergy(allergy_minimal()),
        RecordBody::Condition(condition_minimal()),
    ]
}

/// Whether records of `kind` in these examples are about the child (validated
/// with [`CHILD_BIRTH_DATE`]).
pub fn is_child_record(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::Newborn
            | RecordKind::ChildCheckup
            | RecordKind::Development
            | RecordKind::Immunization
            | RecordKind::Allergy
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Validate, ValidationContext};

    #[test]
    fn every_example_is_valid_on_today() {
        let pregnancy = pregnancy_full();
        for body in all_full().into_iter().chain(all_minimal()) {
            let mut ctx = ValidationContext::new(TODAY);
            if is_child_record(body.kind()) {
                ctx = ctx.with_birth_date(CHILD_BIRTH_DATE);
            }
            if matches!(body.kind(), RecordKind::PrenatalVisit | RecordKind::Delivery) {
                ctx = ctx.with_pregnancy(&pregnancy);
            }
            assert_eq!(body.validate(&ctx), Ok(()), "{:?}", body.kind());
        }
    }

    #[test]
    fn examples_cover_every_record_kind_in_order() {
        let full: Vec<RecordKind> = all_full().iter().map(RecordBody::kind).collect();
        let minimal: Vec<RecordKind> = all_minimal().iter().map(RecordBody::kind).collect();
        assert_eq!(full, RecordKind::ALL);
        assert_eq!(minimal, RecordKind::ALL);
    }
}
