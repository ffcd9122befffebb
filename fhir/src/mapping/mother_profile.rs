//! `mother_profile` <-> JP Core Patient + Observations.
//!
//! - Patient (id = the context's patient id): `name[]` as JP Core writes it — the
//!   kanji name with the ISO 21090 name-representation extension `IDE`, the kana
//!   name with `SYL`, each as `HumanName.text`; `birthDate`; `identifier[]`.
//! - Observations (no effective time: the profile is undated): height 8302-2 `cm`
//!   and pre-pregnancy weight 56077-1 `kg` (vital-signs); BMI 39156-5 `kg/m2`
//!   (derived, sent for readers, ignored on the way back); blood group as the
//!   panel 34531-4 (laboratory) with components ABO 883-9, Rh(D) 10331-7 and the
//!   antibody screen 890-4 — the dataset spec's 882-1 is the combined "ABO and Rh
//!   group" code; we keep ABO and Rh apart because the dataset records them apart,
//!   and the panel code 882-1 is accepted on import in place of 34531-4;
//!   gravida 11996-6, parity 64708-1, previous caesareans 68497-7 as
//!   `valueInteger` and smoking 64234-8 / alcohol 74205-6 as local answer codes
//!   (social-history).

use phr_core::dataset::mother_profile::{
    codes, AboGroup, AntibodyScreen, Identifier, MotherProfile, RhD, SubstanceUse,
};
use phr_core::dataset::RecordKind;

use super::{
    category, invalid, item_of, loinc, missing, parse_date, res_path, set_once, text, unexpected, unknown_item, vi, vq,
    MappingContext, Obs, Result, Val,
};
use crate::code_systems::{self, extensions};
use crate::model::{Extension, HumanName, Identifier as FhirIdentifier, Patient, Resource, ValueX};

const KIND: RecordKind = RecordKind::MotherProfile;

/// LOINC codes of the blood group panel components (not in the dataset spec, which
/// names only the panel 34531-4 and the combined 882-1).
pub mod component_codes {
    /// ABO group.
    pub const ABO: &str = "883-9";
    /// Rh(D) type.
    pub const RH: &str = "10331-7";
    /// Blood group antibody screen.
    pub const ANTIBODY_SCREEN: &str = "890-4";
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Height,
    Weight,
    Bmi,
    BloodGroup,
    Gravida,
    Parity,
    Caesareans,
    Smoking,
    Alcohol,
}

const ITEMS: &[(&str, &str, Item)] = &[
    (code_systems::LOINC, codes::BODY_HEIGHT, Item::Height),
    (code_systems::LOINC, codes::PRE_PREGNANCY_WEIGHT, Item::Weight),
    (code_systems::LOINC, codes::BMI, Item::Bmi),
    (code_systems::LOINC, codes::BLOOD_GROUP_PANEL, Item::BloodGroup),
    (code_systems::LOINC, codes::ABO_RH, Item::BloodGroup),
    (code_systems::LOINC, codes::GRAVIDA, Item::Gravida),
    (code_systems::LOINC, codes::PARITY, Item::Parity),
    (code_systems::LOINC, codes::PREVIOUS_CAESAREANS, Item::Caesareans),
    (code_systems::LOINC, codes::SMOKING, Item::Smoking),
    (code_systems::LOINC, codes::ALCOHOL, Item::Alcohol),
];

fn name(text: &str, representation: &str) -> HumanName {
    HumanName {
        extension: vec![Extension::new(extensions::NAME_REPRESENTATION, ValueX::Code(representation.into()))],
        use_: Some("official".into()),
        text: Some(text.to_owned()),
        ..Default::default()
    }
}

fn representation(n: &HumanName) -> Option<&str> {
    n.extension.iter().find(|e| e.url == extensions::NAME_REPRESENTATION).and_then(|e| match &e.value {
        Some(ValueX::Code(c)) => Some(c.as_str()),
        _ => None,
    })
}

fn name_text(n: &HumanName) -> Option<String> {
    n.text.clone().or_else(|| {
        let mut parts: Vec<&str> = n.family.iter().map(String::as_str).collect();
        parts.extend(n.given.iter().map(String::as_str));
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn substance(ctx: &MappingContext, suffix: &str, code: &str, display: &str, v: SubstanceUse) -> Resource {
    Obs::new(ctx, suffix, category::SOCIAL_HISTORY, vec![loinc(code, display)])
        .value(ValueX::CodeableConcept(super::answer(KIND, "substance_use", v.code(), v.code())))
        .done()
}

/// The Patient and Observations of a mother profile.
pub fn to_fhir(m: &MotherProfile, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut names = vec![name(&m.name_kanji, "IDE")];
    if let Some(kana) = text(&m.name_kana) {
        names.push(name(&kana, "SYL"));
    }
    let patient = Patient {
        id: Some(ctx.patient_id.clone()),
        identifier: m
            .identifiers
            .iter()
            .map(|i| FhirIdentifier {
                system: Some(i.system.clone()),
                value: Some(i.value.clone()),
                ..Default::default()
            })
            .collect(),
        name: names,
        birth_date: Some(super::date_text(m.birth_date)),
        ..Default::default()
    };
    let mut out = vec![Resource::Patient(patient)];
    if let Some(h) = &m.height {
        out.push(
            Obs::new(ctx, "height", category::VITAL_SIGNS, vec![loinc(codes::BODY_HEIGHT, "Body height")])
                .value(vq(h, "height")?)
                .done(),
        );
    }
    if let Some(w) = &m.pre_pregnancy_weight {
        out.push(
            Obs::new(
                ctx,
                "pre-pregnancy-weight",
                category::VITAL_SIGNS,
                vec![loinc(codes::PRE_PREGNANCY_WEIGHT, "Body weight --pre current pregnancy")],
            )
            .value(vq(w, "pre_pregnancy_weight")?)
            .done(),
        );
    }
    if let Some(bmi) = m.bmi() {
        out.push(
            Obs::new(ctx, "bmi", category::VITAL_SIGNS, vec![loinc(codes::BMI, "Body mass index (BMI)")])
                .value(vq(&bmi, "bmi")?)
                .done(),
        );
    }
    if m.abo.is_some() || m.rh_d.is_some() || m.irregular_antibodies.is_some() {
        let mut o = Obs::new(
            ctx,
            "blood-group",
            category::LABORATORY,
            vec![loinc(codes::BLOOD_GROUP_PANEL, "Blood group panel")],
        );
        if let Some(abo) = m.abo {
            o = o.component(
                vec![loinc(component_codes::ABO, "ABO group")],
                ValueX::CodeableConcept(super::answer(KIND, "abo", abo.code(), &abo.code().to_uppercase())),
            );
        }
        if let Some(rh) = m.rh_d {
            o = o.component(
                vec![loinc(component_codes::RH, "Rh [Type]")],
                ValueX::CodeableConcept(super::answer(KIND, "rh_d", rh.code(), rh.code())),
            );
        }
        if let Some(ab) = m.irregular_antibodies {
            o = o.component(
                vec![loinc(component_codes::ANTIBODY_SCREEN, "Blood group antibody screen")],
                ValueX::CodeableConcept(super::answer(KIND, "antibody_screen", ab.code(), ab.code())),
            );
        }
        out.push(o.done());
    }
    for (suffix, code, display, v) in [
        ("gravida", codes::GRAVIDA, "[#] Pregnancies", m.gravida),
        ("parity", codes::PARITY, "[#] Parity", m.parity),
        ("previous-caesareans", codes::PREVIOUS_CAESAREANS, "[#] Previous cesarean deliveries", m.previous_caesareans),
    ] {
        if let Some(n) = v {
            out.push(Obs::new(ctx, suffix, category::SOCIAL_HISTORY, vec![loinc(code, display)]).value(vi(n)).done());
        }
    }
    if let Some(s) = m.smoking {
        out.push(substance(ctx, "smoking", codes::SMOKING, "Tobacco smoking status", s));
    }
    if let Some(a) = m.alcohol {
        out.push(substance(ctx, "alcohol", codes::ALCOHOL, "Alcohol use", a));
    }
    Ok(out)
}

fn read_patient(p: &Patient, path: &str, m: &mut MotherProfile) -> Result<()> {
    let mut kanji = None;
    for (i, n) in p.name.iter().enumerate() {
        let npath = format!("{path}.name[{i}]");
        let text = name_text(n).ok_or_else(|| missing(format!("{npath}.text")))?;
        match representation(n) {
            Some("SYL") => m.name_kana = Some(text),
            Some("IDE") | None => {
                if kanji.is_none() {
                    kanji = Some(text);
                }
            }
            Some(other) => {
                return Err(super::MappingError::UnknownCode {
                    path: format!("{npath}.extension.valueCode"),
                    system: None,
                    code: other.to_owned(),
                })
            }
        }
    }
    m.name_kanji = kanji.ok_or_else(|| missing(format!("{path}.name")))?;
    let birth = p.birth_date.as_deref().ok_or_else(|| missing(format!("{path}.birthDate")))?;
    m.birth_date = parse_date(birth, &format!("{path}.birthDate"))?;
    for (i, id) in p.identifier.iter().enumerate() {
        let ipath = format!("{path}.identifier[{i}]");
        m.identifiers.push(Identifier {
            system: id.system.clone().ok_or_else(|| missing(format!("{ipath}.system")))?,
            value: id.value.clone().ok_or_else(|| missing(format!("{ipath}.value")))?,
        });
    }
    Ok(())
}

fn read_blood_group(o: &crate::model::Observation, path: &str, m: &mut MotherProfile) -> Result<()> {
    for (i, c) in o.component.iter().enumerate() {
        let cpath = format!("{path}.component[{i}]");
        let v = Val::of_component(c, &cpath);
        if c.code.has(code_systems::LOINC, component_codes::ABO) {
            set_once(
                &mut m.abo,
                v.coded(AboGroup::ALL, AboGroup::code, &code_systems::local_answers(KIND, "abo"))?,
                &cpath,
            )?;
        } else if c.code.has(code_systems::LOINC, component_codes::RH) {
            set_once(&mut m.rh_d, v.coded(RhD::ALL, RhD::code, &code_systems::local_answers(KIND, "rh_d"))?, &cpath)?;
        } else if c.code.has(code_systems::LOINC, component_codes::ANTIBODY_SCREEN) {
            let sys = code_systems::local_answers(KIND, "antibody_screen");
            set_once(&mut m.irregular_antibodies, v.coded(AntibodyScreen::ALL, AntibodyScreen::code, &sys)?, &cpath)?;
        } else {
            return Err(unknown_item(&c.code, &cpath));
        }
    }
    Ok(())
}

/// Reads the Patient and Observations of a mother profile.
pub fn from_fhir(resources: &[Resource]) -> Result<MotherProfile> {
    let mut m = MotherProfile {
        name_kanji: String::new(),
        name_kana: None,
        birth_date: chrono::NaiveDate::MIN,
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
    };
    let mut seen_patient = false;
    let substance_system = code_systems::local_answers(KIND, "substance_use");
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        match r {
            Resource::Patient(p) => {
                if seen_patient {
                    return Err(invalid(&path, "a mother profile has exactly one Patient"));
                }
                seen_patient = true;
                read_patient(p, &path, &mut m)?;
            }
            Resource::Observation(o) => {
                let item = item_of(&o.code, ITEMS).ok_or_else(|| unknown_item(&o.code, &path))?;
                let v = Val::of_obs(o, &path);
                match item {
                    Item::Height => set_once(&mut m.height, v.quantity()?, &path)?,
                    Item::Weight => set_once(&mut m.pre_pregnancy_weight, v.quantity()?, &path)?,
                    Item::Bmi => {}
                    Item::BloodGroup => read_blood_group(o, &path, &mut m)?,
                    Item::Gravida => set_once(&mut m.gravida, v.integer()?, &path)?,
                    Item::Parity => set_once(&mut m.parity, v.integer()?, &path)?,
                    Item::Caesareans => set_once(&mut m.previous_caesareans, v.integer()?, &path)?,
                    Item::Smoking => set_once(
                        &mut m.smoking,
                        v.coded(SubstanceUse::ALL, SubstanceUse::code, &substance_system)?,
                        &path,
                    )?,
                    Item::Alcohol => set_once(
                        &mut m.alcohol,
                        v.coded(SubstanceUse::ALL, SubstanceUse::code, &substance_system)?,
                        &path,
                    )?,
                }
            }
            other => return Err(unexpected(other, i, KIND)),
        }
    }
    if !seen_patient {
        return Err(missing("Patient"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::{to_fhir as map_to_fhir, MappingError};

    #[test]
    fn full_mother_profile_round_trips_losslessly() {
        assert_round_trip(RecordBody::MotherProfile(examples::mother_profile_full()));
    }

    #[test]
    fn minimal_mother_profile_round_trips_losslessly() {
        assert_round_trip(RecordBody::MotherProfile(examples::mother_profile_minimal()));
    }

    #[test]
    fn names_carry_the_jp_core_representation_and_bmi_is_sent() {
        let rs = map_to_fhir(&RecordBody::MotherProfile(examples::mother_profile_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["name"][0]["extension"][0]["valueCode"], "IDE");
        assert_eq!(json["name"][1]["extension"][0]["valueCode"], "SYL");
        assert_eq!(json["name"][1]["text"], "ヤマダ ハナコ");
        let mut rs = rs;
        let bmi = obs_mut(&mut rs, codes::BMI);
        // 52.5 / 1.58^2 = 21.03 -> 21.0 kg/m2, written as "21".
        assert_eq!(serde_json::to_value(&bmi.value).unwrap()["valueQuantity"]["code"], "kg/m2");
    }

    #[test]
    fn height_in_metres_is_refused_naming_cm() {
        let mut rs = map_to_fhir(&RecordBody::MotherProfile(examples::mother_profile_full()), &ctx()).unwrap();
        let o = obs_mut(&mut rs, codes::BODY_HEIGHT);
        if let Some(ValueX::Quantity(q)) = &mut o.value {
            q.code = Some("m".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::WrongUnit { expected: "cm", .. }), "{err}");
        assert_eq!(err.path(), "Observation[1].valueQuantity.code");
    }

    #[test]
    fn a_profile_without_a_patient_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::MotherProfile(examples::mother_profile_full()), &ctx()).unwrap();
        rs.remove(0);
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Patient");
    }
}
