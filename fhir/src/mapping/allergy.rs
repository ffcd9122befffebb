//! `allergy` <-> one AllergyIntolerance (JP Core `JP_AllergyIntolerance`-aligned).
//!
//! - `clinicalStatus` / `verificationStatus` in the HL7 code systems
//!   ([`code_systems::ALLERGY_CLINICAL`], [`code_systems::ALLERGY_VERIFICATION`]);
//!   `type`, `category` (one), `criticality` as their FHIR codes.
//! - `code`: `text` = the substance as named; for a food, SNOMED CT where the
//!   substance code is certain (egg, cow's milk, peanut) and always the local food
//!   code (`.../allergy/food`, display the Japanese label); for a drug, the YJ / HOT /
//!   local drug coding as in the `medication` mapping (JP Core URLs read alike).
//! - `reaction[0]`: one `manifestation` per coded reaction (SNOMED CT and the local
//!   code `.../allergy/manifestation`), one text-only manifestation for the reaction
//!   text, and `severity`. Reading, every reaction sent is merged into that one:
//!   uncoded or unknown manifestations join the reaction text, the most severe
//!   severity wins.
//! - `onsetDateTime`, `lastOccurrence` (date precision); `note[0].text`.

use phr_core::dataset::allergy::{
    Allergy, AllergyCategory, AllergyClinicalStatus, AllergyType, AllergyVerification, Criticality, FoodAllergen,
    Manifestation, ReactionSeverity,
};
use phr_core::dataset::RecordKind;

use super::medication::{drug_code_of, drug_system};
use super::MappingContext;
use super::{date_text, invalid, missing, parse_date, res_path, set_once, text, unexpected, MappingError, Result};
use crate::code_systems;
use crate::model::{
    AllergyIntolerance, AllergyIntoleranceReaction, Annotation, CodeableConcept, Coding, OnsetX, Resource,
};

const KIND: RecordKind = RecordKind::Allergy;

/// SNOMED CT substance codes of the foods whose code is certain.
const SNOMED_FOODS: &[(FoodAllergen, &str, &str)] = &[
    (FoodAllergen::Egg, "102263004", "Eggs (edible)"),
    (FoodAllergen::Milk, "3718001", "Cow's milk"),
    (FoodAllergen::Peanut, "256349002", "Peanut - dietary"),
];

/// SNOMED CT codes of the coded reactions.
const SNOMED_MANIFESTATIONS: &[(Manifestation, &str, &str)] = &[
    (Manifestation::Urticaria, "126485001", "Urticaria"),
    (Manifestation::Anaphylaxis, "39579001", "Anaphylaxis"),
    (Manifestation::Wheeze, "56018004", "Wheezing"),
    (Manifestation::Vomiting, "422400008", "Vomiting"),
    (Manifestation::Diarrhoea, "62315008", "Diarrhea"),
];

fn manifestation_label(m: Manifestation) -> &'static str {
    match m {
        Manifestation::Urticaria => "じんましん",
        Manifestation::Anaphylaxis => "アナフィラキシー",
        Manifestation::Wheeze => "ぜん鳴",
        Manifestation::Vomiting => "嘔吐",
        Manifestation::Diarrhoea => "下痢",
    }
}

fn status(system: &str, code: &str) -> CodeableConcept {
    CodeableConcept::from_codings(vec![Coding::new(system, code, None)])
}

/// The AllergyIntolerance of one allergy.
pub fn to_fhir(a: &Allergy, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut coding = Vec::new();
    if let Some(food) = a.food {
        if let Some((_, code, display)) = SNOMED_FOODS.iter().find(|(f, _, _)| *f == food) {
            coding.push(Coding::new(code_systems::SNOMED_CT, *code, Some(display)));
        }
        coding.push(Coding::new(code_systems::local_answers(KIND, "food"), food.code(), Some(&food.label_ja())));
    }
    if let Some(drug) = &a.drug_code {
        coding.push(Coding::new(drug_system(drug), drug.code.clone(), Some(&a.substance)));
    }
    let mut manifestation: Vec<CodeableConcept> = a
        .reactions
        .iter()
        .map(|m| {
            let mut codings = Vec::new();
            if let Some((_, code, display)) = SNOMED_MANIFESTATIONS.iter().find(|(x, _, _)| x == m) {
                codings.push(Coding::new(code_systems::SNOMED_CT, *code, Some(display)));
            }
            codings.push(Coding::new(
                code_systems::local_answers(KIND, "manifestation"),
                m.code(),
                Some(manifestation_label(*m)),
            ));
            CodeableConcept::from_codings(codings)
        })
        .collect();
    if let Some(t) = text(&a.reaction_text) {
        manifestation.push(CodeableConcept { text: Some(t), ..Default::default() });
    }
    let reaction = if manifestation.is_empty() {
        vec![]
    } else {
        vec![AllergyIntoleranceReaction {
            manifestation,
            severity: a.severity.map(|s| s.code().to_owned()),
            ..Default::default()
        }]
    };
    let r = AllergyIntolerance {
        id: Some(ctx.primary_id()),
        clinical_status: Some(status(code_systems::ALLERGY_CLINICAL, a.clinical_status.code())),
        verification_status: a.verification.map(|v| status(code_systems::ALLERGY_VERIFICATION, v.code())),
        type_: a.allergy_type.map(|t| t.code().to_owned()),
        category: vec![a.category.code().to_owned()],
        criticality: a.criticality.map(|c| c.code().to_owned()),
        code: Some(CodeableConcept { coding, text: Some(a.substance.clone()), ..Default::default() }),
        patient: ctx.subject(),
        onset: a.onset.map(|d| OnsetX::DateTime(date_text(d))),
        last_occurrence: a.last_reaction.map(date_text),
        note: text(&a.note).map(|t| Annotation { text: Some(t), ..Default::default() }).into_iter().collect(),
        reaction,
        ..Default::default()
    };
    Ok(vec![Resource::AllergyIntolerance(r)])
}

fn parse_code<T: Copy + 'static>(
    all: &'static [T],
    code_of: impl Fn(T) -> &'static str,
    code: &str,
    path: &str,
    system: Option<&str>,
) -> Result<T> {
    all.iter().copied().find(|v| code_of(*v) == code).ok_or_else(|| MappingError::UnknownCode {
        path: path.to_owned(),
        system: system.map(str::to_owned),
        code: code.to_owned(),
    })
}

/// The value of `cc`'s coding in `system` (HL7 status code systems).
fn status_of<T: Copy + 'static>(
    all: &'static [T],
    code_of: impl Fn(T) -> &'static str,
    cc: &CodeableConcept,
    system: &str,
    path: &str,
) -> Result<T> {
    let code = cc.code_in(system).ok_or_else(|| missing(format!("{path}.coding (system {system})")))?;
    parse_code(all, code_of, code, &format!("{path}.coding.code"), Some(system))
}

/// Reads the AllergyIntolerance of one allergy.
pub fn from_fhir(resources: &[Resource]) -> Result<Allergy> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::AllergyIntolerance(a) = r else { return Err(unexpected(r, i, KIND)) };
        set_once(&mut found, (a, path.clone()), &path)?;
    }
    let (a, path) = found.ok_or_else(|| missing("AllergyIntolerance"))?;
    let category = match a.category.as_slice() {
        [] => return Err(missing(format!("{path}.category"))),
        [c] => parse_code(AllergyCategory::ALL, AllergyCategory::code, c, &format!("{path}.category[0]"), None)?,
        _ => return Err(invalid(&format!("{path}.category"), "one category per allergy")),
    };
    let cc = a.code.as_ref().ok_or_else(|| missing(format!("{path}.code")))?;
    let substance = cc
        .text
        .clone()
        .or_else(|| cc.coding.iter().find_map(|c| c.display.clone()))
        .ok_or_else(|| missing(format!("{path}.code.text")))?;
    let local_food = code_systems::local_answers(KIND, "food");
    let mut food = None;
    let mut snomed_food = None;
    let mut drug_code = None;
    for (j, c) in cc.coding.iter().enumerate() {
        let cpath = format!("{path}.code.coding[{j}].code");
        match (c.system.as_deref(), c.code.as_deref()) {
            (Some(s), Some(code)) if s == local_food => {
                food = Some(parse_code(FoodAllergen::ALL, FoodAllergen::code, code, &cpath, Some(s))?);
            }
            (Some(code_systems::SNOMED_CT), Some(code)) => {
                snomed_food = snomed_food.or(SNOMED_FOODS.iter().find(|(_, k, _)| *k == code).map(|(f, _, _)| *f));
            }
            _ => {
                if drug_code.is_none() {
                    drug_code = drug_code_of(c);
                }
            }
        }
    }
    let food = if category == AllergyCategory::Food { food.or(snomed_food) } else { food };
    let clinical_status = match &a.clinical_status {
        Some(cc) => status_of(
            AllergyClinicalStatus::ALL,
            AllergyClinicalStatus::code,
            cc,
            code_systems::ALLERGY_CLINICAL,
            &format!("{path}.clinicalStatus"),
        )?,
        None => return Err(missing(format!("{path}.clinicalStatus"))),
    };
    let verification = match &a.verification_status {
        Some(cc) => Some(status_of(
            AllergyVerification::ALL,
            AllergyVerification::code,
            cc,
            code_systems::ALLERGY_VERIFICATION,
            &format!("{path}.verificationStatus"),
        )?),
        None => None,
    };
    let allergy_type = match &a.type_ {
        Some(t) => Some(parse_code(AllergyType::ALL, AllergyType::code, t, &format!("{path}.type"), None)?),
        None => None,
    };
    let criticality = match &a.criticality {
        Some(c) => Some(parse_code(Criticality::ALL, Criticality::code, c, &format!("{path}.criticality"), None)?),
        None => None,
    };
    let local_manifestation = code_systems::local_answers(KIND, "manifestation");
    let mut reactions = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut severity: Option<ReactionSeverity> = None;
    for (j, r) in a.reaction.iter().enumerate() {
        for (k, m) in r.manifestation.iter().enumerate() {
            let mpath = format!("{path}.reaction[{j}].manifestation[{k}]");
            let local = m.code_in(&local_manifestation);
            let coded = match local {
                Some(code) => Some(parse_code(
                    Manifestation::ALL,
                    Manifestation::code,
                    code,
                    &format!("{mpath}.coding.code"),
                    Some(&local_manifestation),
                )?),
                None => m
                    .code_in(code_systems::SNOMED_CT)
                    .and_then(|code| SNOMED_MANIFESTATIONS.iter().find(|(_, k, _)| *k == code).map(|(x, _, _)| *x)),
            };
            match coded {
                Some(x) if !reactions.contains(&x) => reactions.push(x),
                Some(_) => {}
                None => {
                    let t = m
                        .text
                        .clone()
                        .or_else(|| m.coding.iter().find_map(|c| c.display.clone()))
                        .ok_or_else(|| missing(format!("{mpath}.text")))?;
                    texts.push(t);
                }
            }
        }
        if let Some(s) = &r.severity {
            let s = parse_code(
                ReactionSeverity::ALL,
                ReactionSeverity::code,
                s,
                &format!("{path}.reaction[{j}].severity"),
                None,
            )?;
            let rank = |s: ReactionSeverity| ReactionSeverity::ALL.iter().position(|x| *x == s);
            if severity.is_none_or(|old| rank(s) > rank(old)) {
                severity = Some(s);
            }
        }
    }
    let onset = match &a.onset {
        None => None,
        Some(OnsetX::DateTime(d)) => Some(parse_date(d, &format!("{path}.onsetDateTime"))?),
        Some(_) => return Err(invalid(&path, "onset must be an onsetDateTime")),
    };
    let last_reaction = match &a.last_occurrence {
        None => None,
        Some(d) => Some(parse_date(d, &format!("{path}.lastOccurrence"))?),
    };
    let notes: Vec<String> = a.note.iter().filter_map(|n| n.text.clone()).collect();
    Ok(Allergy {
        category,
        substance,
        food,
        drug_code,
        allergy_type,
        clinical_status,
        verification,
        criticality,
        reactions,
        reaction_text: (!texts.is_empty()).then(|| texts.join("、")),
        severity,
        onset,
        last_reaction,
        note: (!notes.is_empty()).then(|| notes.join("\n")),
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::medication::{DrugCode, DrugCodeSystem};
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_allergy_round_trips_losslessly() {
        assert_round_trip(RecordBody::Allergy(examples::allergy_full()));
    }

    #[test]
    fn minimal_allergy_round_trips_losslessly() {
        assert_round_trip(RecordBody::Allergy(examples::allergy_minimal()));
    }

    #[test]
    fn a_drug_allergy_round_trips_with_its_yj_code() {
        let a = Allergy {
            category: AllergyCategory::Medication,
            substance: "アモキシシリン".into(),
            food: None,
            drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "6131001C1210".into() }),
            ..examples::allergy_full()
        };
        let rs = map_to_fhir(&RecordBody::Allergy(a.clone()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["code"]["coding"][0]["system"], code_systems::JP_YJ);
        assert_eq!(json["category"], serde_json::json!(["medication"]));
        assert_round_trip(RecordBody::Allergy(a));
    }

    #[test]
    fn the_egg_allergy_is_sent_with_snomed_hl7_statuses_and_the_reaction() {
        let rs = map_to_fhir(&RecordBody::Allergy(examples::allergy_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["resourceType"], "AllergyIntolerance");
        assert_eq!(json["patient"]["reference"], "Patient/pt-1");
        assert_eq!(json["code"]["coding"][0]["code"], "102263004");
        assert_eq!(json["code"]["text"], "卵");
        assert_eq!(json["clinicalStatus"]["coding"][0]["system"], code_systems::ALLERGY_CLINICAL);
        assert_eq!(json["verificationStatus"]["coding"][0]["code"], "confirmed");
        assert_eq!(json["criticality"], "high");
        assert_eq!(json["reaction"][0]["severity"], "moderate");
        assert_eq!(json["reaction"][0]["manifestation"][0]["coding"][0]["code"], "126485001");
        assert_eq!(json["onsetDateTime"], "2027-04-10");
        assert_eq!(json["lastOccurrence"], "2027-09-01");
    }

    #[test]
    fn a_clinic_allergy_in_snomed_only_with_two_reactions_is_read_and_merged() {
        let mut rs = map_to_fhir(&RecordBody::Allergy(examples::allergy_full()), &ctx()).unwrap();
        let Resource::AllergyIntolerance(a) = &mut rs[0] else { panic!() };
        a.code.as_mut().unwrap().coding.retain(|c| c.system.as_deref() == Some(code_systems::SNOMED_CT));
        let mut second = a.reaction[0].clone();
        second.severity = Some("severe".into());
        second.manifestation = vec![CodeableConcept::from_codings(vec![Coding::new(
            code_systems::SNOMED_CT,
            "39579001",
            Some("Anaphylaxis"),
        )])];
        a.reaction.push(second);
        let back = from_fhir(&rs).unwrap();
        assert_eq!(back.food, Some(FoodAllergen::Egg));
        assert_eq!(back.reactions, [Manifestation::Urticaria, Manifestation::Vomiting, Manifestation::Anaphylaxis]);
        assert_eq!(back.severity, Some(ReactionSeverity::Severe));
    }

    #[test]
    fn an_unknown_status_or_category_is_an_error_naming_the_element() {
        let mut rs = map_to_fhir(&RecordBody::Allergy(examples::allergy_full()), &ctx()).unwrap();
        let Resource::AllergyIntolerance(a) = &mut rs[0] else { panic!() };
        a.verification_status = Some(status(code_systems::ALLERGY_VERIFICATION, "entered-in-error"));
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(err, MappingError::UnknownCode { .. }), "{err}");
        assert_eq!(err.path(), "AllergyIntolerance[0].verificationStatus.coding.code");
        let Resource::AllergyIntolerance(a) = &mut rs[0] else { panic!() };
        a.verification_status = None;
        a.category = vec!["plant".into()];
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "AllergyIntolerance[0].category[0]");
        let Resource::AllergyIntolerance(a) = &mut rs[0] else { panic!() };
        a.category = vec![];
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "AllergyIntolerance[0].category");
    }
}
