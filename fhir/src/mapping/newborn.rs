//! `newborn` <-> the child's Patient + Observations at birth + one
//! MedicationStatement per vitamin K dose.
//!
//! - Patient (id = the context's patient id): `gender`, `birthDate`.
//! - Observations, `effectiveDateTime` = the birth date: birth weight with LOINC
//!   8339-4 **and** JP 31002900 side by side in `g`; birth length 89269-5 `cm`;
//!   head circumference LOINC 9843-4 + JP 31006116 `cm`; chest circumference JP
//!   31000299 `cm` (no LOINC given); Apgar 9272-6 / 9274-2 / 9271-8 as
//!   `valueInteger`; hearing 54109-4 and metabolic 54089-8 screens as local answers.
//! - Vitamin K: one `completed` MedicationStatement per dose (K2 syrup, local
//!   code `vitamin_k2_syrup`), `effectiveDateTime` the dose date, in dose order.
//!   (MedicationAdministration would fit a clinic's record better; the parent's
//!   handbook entry is a statement, and MedicationStatement is in our resource set.)

use chrono::NaiveDate;
use phr_core::dataset::common::Sex;
use phr_core::dataset::newborn::{codes, Apgar, HearingScreen, MetabolicScreen, Newborn};
use phr_core::dataset::RecordKind;

use super::{
    answer, category, date_text, effective_date, invalid, item_of, jp, local_item, loinc, missing, parse_date,
    res_path, set_once, unexpected, unknown_item, vi, vq, MappingContext, MappingError, Obs, Result, Val,
};
use crate::code_systems;
use crate::model::{CodeableConcept, EffectiveX, MedicationStatement, MedicationX, Patient, Resource, ValueX};

const KIND: RecordKind = RecordKind::Newborn;
/// Local code of vitamin K2 syrup.
pub const VITAMIN_K2_SYRUP: &str = "vitamin_k2_syrup";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Weight,
    Length,
    Head,
    Chest,
    Apgar1,
    Apgar5,
    Apgar10,
    Hearing,
    Metabolic,
}

const ITEMS: &[(&str, &str, Item)] = &[
    (code_systems::LOINC, codes::BIRTH_WEIGHT, Item::Weight),
    (code_systems::JP_MEDIS_OBSERVATION, codes::BIRTH_WEIGHT_JP, Item::Weight),
    (code_systems::LOINC, codes::BIRTH_LENGTH, Item::Length),
    (code_systems::LOINC, codes::HEAD_CIRCUMFERENCE, Item::Head),
    (code_systems::JP_MEDIS_OBSERVATION, codes::HEAD_CIRCUMFERENCE_JP, Item::Head),
    (code_systems::JP_MEDIS_OBSERVATION, codes::CHEST_CIRCUMFERENCE_JP, Item::Chest),
    (code_systems::LOINC, codes::APGAR_1_MIN, Item::Apgar1),
    (code_systems::LOINC, codes::APGAR_5_MIN, Item::Apgar5),
    (code_systems::LOINC, codes::APGAR_10_MIN, Item::Apgar10),
    (code_systems::LOINC, codes::HEARING_SCREEN, Item::Hearing),
    (code_systems::LOINC, codes::METABOLIC_SCREEN, Item::Metabolic),
];

/// The Patient, Observations and vitamin K MedicationStatements of a newborn.
pub fn to_fhir(n: &Newborn, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut out = vec![Resource::Patient(Patient {
        id: Some(ctx.patient_id.clone()),
        gender: Some(n.sex.fhir_code().into()),
        birth_date: Some(date_text(n.birth_date)),
        ..Default::default()
    })];
    let born = || Some(EffectiveX::DateTime(date_text(n.birth_date)));
    let obs = |suffix: &str, cat: &str, codings, value| {
        Obs::new(ctx, suffix, cat, codings).effective(born()).value(value).done()
    };
    if let Some(q) = &n.birth_weight {
        out.push(obs(
            "birth-weight",
            category::VITAL_SIGNS,
            vec![loinc(codes::BIRTH_WEIGHT, "Birth weight Measured"), jp(codes::BIRTH_WEIGHT_JP, "出生時体重")],
            vq(q, "birth_weight")?,
        ));
    }
    if let Some(q) = &n.birth_length {
        out.push(obs(
            "birth-length",
            category::VITAL_SIGNS,
            vec![loinc(codes::BIRTH_LENGTH, "Body height at birth")],
            vq(q, "birth_length")?,
        ));
    }
    if let Some(q) = &n.head_circumference {
        out.push(obs(
            "head-circumference",
            category::VITAL_SIGNS,
            vec![
                loinc(codes::HEAD_CIRCUMFERENCE, "Head Occipital-frontal circumference"),
                jp(codes::HEAD_CIRCUMFERENCE_JP, "出生時頭囲"),
            ],
            vq(q, "head_circumference")?,
        ));
    }
    if let Some(q) = &n.chest_circumference {
        out.push(obs(
            "chest-circumference",
            category::VITAL_SIGNS,
            vec![jp(codes::CHEST_CIRCUMFERENCE_JP, "出生時胸囲")],
            vq(q, "chest_circumference")?,
        ));
    }
    if let Some(a) = &n.apgar {
        out.push(obs(
            "apgar-1",
            category::EXAM,
            vec![loinc(codes::APGAR_1_MIN, "1 minute Apgar Score")],
            vi(a.one_minute),
        ));
        out.push(obs(
            "apgar-5",
            category::EXAM,
            vec![loinc(codes::APGAR_5_MIN, "5 minute Apgar Score")],
            vi(a.five_minute),
        ));
        if let Some(t) = a.ten_minute {
            out.push(obs("apgar-10", category::EXAM, vec![loinc(codes::APGAR_10_MIN, "10 minute Apgar Score")], vi(t)));
        }
    }
    if let Some(h) = n.hearing_screen {
        out.push(obs(
            "hearing-screen",
            category::EXAM,
            vec![loinc(codes::HEARING_SCREEN, "Newborn hearing screen")],
            ValueX::CodeableConcept(answer(KIND, "hearing_screen", h.code(), h.code())),
        ));
    }
    if let Some(m) = n.metabolic_screen {
        out.push(obs(
            "metabolic-screen",
            category::LABORATORY,
            vec![loinc(codes::METABOLIC_SCREEN, "Newborn screening panel")],
            ValueX::CodeableConcept(answer(KIND, "metabolic_screen", m.code(), m.code())),
        ));
    }
    for (i, dose) in n.vitamin_k_doses.iter().enumerate() {
        out.push(Resource::MedicationStatement(MedicationStatement {
            id: Some(ctx.id(&format!("vitamin-k-{i}"))),
            status: Some("completed".into()),
            medication: Some(MedicationX::CodeableConcept(CodeableConcept::from_codings(vec![local_item(
                KIND,
                VITAMIN_K2_SYRUP,
                "ビタミンK2シロップ",
            )]))),
            subject: Some(ctx.subject()),
            effective: Some(EffectiveX::DateTime(date_text(*dose))),
            ..Default::default()
        }));
    }
    Ok(out)
}

fn read_vitamin_k(m: &MedicationStatement, path: &str) -> Result<NaiveDate> {
    match &m.medication {
        Some(MedicationX::CodeableConcept(cc)) if cc.has(&code_systems::local(KIND), VITAMIN_K2_SYRUP) => {}
        Some(MedicationX::CodeableConcept(cc)) => {
            return Err(unknown_item(cc, &format!("{path}.medicationCodeableConcept")))
        }
        _ => return Err(missing(format!("{path}.medicationCodeableConcept"))),
    }
    match &m.effective {
        Some(EffectiveX::DateTime(s)) => parse_date(s, &format!("{path}.effectiveDateTime")),
        _ => Err(missing(format!("{path}.effectiveDateTime"))),
    }
}

/// Reads the resources of a newborn.
pub fn from_fhir(resources: &[Resource]) -> Result<Newborn> {
    let mut patient = None;
    let mut n = Newborn {
        sex: Sex::Unknown,
        birth_date: NaiveDate::MIN,
        birth_weight: None,
        birth_length: None,
        head_circumference: None,
        chest_circumference: None,
        apgar: None,
        hearing_screen: None,
        metabolic_screen: None,
        vitamin_k_doses: vec![],
    };
    let (mut a1, mut a5, mut a10) = (None, None, None);
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        match r {
            Resource::Patient(p) => {
                let gender = p.gender.as_deref().ok_or_else(|| missing(format!("{path}.gender")))?;
                let sex = [Sex::Male, Sex::Female, Sex::Other, Sex::Unknown]
                    .into_iter()
                    .find(|s| s.fhir_code() == gender)
                    .ok_or_else(|| MappingError::UnknownCode {
                        path: format!("{path}.gender"),
                        system: Some(code_systems::ADMINISTRATIVE_GENDER.into()),
                        code: gender.into(),
                    })?;
                let birth = p.birth_date.as_deref().ok_or_else(|| missing(format!("{path}.birthDate")))?;
                set_once(&mut patient, (sex, parse_date(birth, &format!("{path}.birthDate"))?), &path)?;
            }
            Resource::MedicationStatement(m) => n.vitamin_k_doses.push(read_vitamin_k(m, &path)?),
            Resource::Observation(o) => {
                let item = item_of(&o.code, ITEMS).ok_or_else(|| unknown_item(&o.code, &path))?;
                effective_date(o, &path)?;
                let v = Val::of_obs(o, &path);
                match item {
                    Item::Weight => set_once(&mut n.birth_weight, v.quantity()?, &path)?,
                    Item::Length => set_once(&mut n.birth_length, v.quantity()?, &path)?,
                    Item::Head => set_once(&mut n.head_circumference, v.quantity()?, &path)?,
                    Item::Chest => set_once(&mut n.chest_circumference, v.quantity()?, &path)?,
                    Item::Apgar1 => set_once(&mut a1, v.integer()?, &path)?,
                    Item::Apgar5 => set_once(&mut a5, v.integer()?, &path)?,
                    Item::Apgar10 => set_once(&mut a10, v.integer()?, &path)?,
                    Item::Hearing => set_once(
                        &mut n.hearing_screen,
                        v.coded(
                            HearingScreen::ALL,
                            HearingScreen::code,
                            &code_systems::local_answers(KIND, "hearing_screen"),
                        )?,
                        &path,
                    )?,
                    Item::Metabolic => set_once(
                        &mut n.metabolic_screen,
                        v.coded(
                            MetabolicScreen::ALL,
                            MetabolicScreen::code,
                            &code_systems::local_answers(KIND, "metabolic_screen"),
                        )?,
                        &path,
                    )?,
                }
            }
            other => return Err(unexpected(other, i, KIND)),
        }
    }
    (n.sex, n.birth_date) = patient.ok_or_else(|| missing("Patient"))?;
    n.apgar = match (a1, a5, a10) {
        (None, None, None) => None,
        (Some(one_minute), Some(five_minute), ten_minute) => Some(Apgar { one_minute, five_minute, ten_minute }),
        _ => {
            return Err(invalid(
                "Observation",
                format!("Apgar scores need both 1 min ({}) and 5 min ({})", codes::APGAR_1_MIN, codes::APGAR_5_MIN),
            ))
        }
    };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_newborn_round_trips_losslessly() {
        assert_round_trip(RecordBody::Newborn(examples::newborn_full()));
    }

    #[test]
    fn minimal_newborn_round_trips_losslessly() {
        assert_round_trip(RecordBody::Newborn(examples::newborn_minimal()));
    }

    #[test]
    fn birth_weight_carries_loinc_and_jp_codings_side_by_side_in_grams() {
        let mut rs = map_to_fhir(&RecordBody::Newborn(examples::newborn_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&*obs_mut(&mut rs, codes::BIRTH_WEIGHT)).unwrap();
        assert_eq!(json["code"]["coding"][0]["code"], "8339-4");
        assert_eq!(json["code"]["coding"][1]["code"], "31002900");
        assert_eq!(json["valueQuantity"]["value"], serde_json::json!(3050));
        assert_eq!(json["valueQuantity"]["code"], "g");
    }

    #[test]
    fn birth_weight_in_kilograms_is_refused_naming_g() {
        let mut rs = map_to_fhir(&RecordBody::Newborn(examples::newborn_full()), &ctx()).unwrap();
        if let Some(ValueX::Quantity(q)) = &mut obs_mut(&mut rs, codes::BIRTH_WEIGHT).value {
            q.code = Some("kg".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(err, MappingError::WrongUnit { expected: "g", .. }), "{err}");
    }

    #[test]
    fn an_unknown_gender_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::Newborn(examples::newborn_full()), &ctx()).unwrap();
        if let Resource::Patient(p) = &mut rs[0] {
            p.gender = Some("F".into());
        }
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Patient[0].gender");
    }
}
