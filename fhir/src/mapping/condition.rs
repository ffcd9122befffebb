//! `condition` <-> one Condition on the problem list.
//!
//! - `category` = `problem-list-item` ([`code_systems::CONDITION_CATEGORY`]);
//!   `clinicalStatus` in [`code_systems::CONDITION_CLINICAL`].
//! - `code`: SNOMED CT where the concept is certain (pre-eclampsia, gestational
//!   hypertension, gestational / pre-existing diabetes, thyroid disorder, epilepsy,
//!   asthma, heart disease), the ICD-10 code the family or clinic gave
//!   ([`code_systems::ICD10`]), and always the local code (`.../condition`);
//!   `text` = the condition as named.
//! - `onsetDateTime`, `abatementDateTime` (date precision); `note[0].text`.
//!
//! Reading a Condition another system sent: the local code, else the SNOMED CT
//! code of the table, else the ICD-10 category (O10 chronic hypertension, O13
//! gestational hypertension, O14 pre-eclampsia, O14.2 HELLP, O24.4 gestational
//! diabetes, G40 epilepsy, J45 asthma), else `other` named by `code.text` (or a
//! coding's display);
//! the ICD-10 code is read in either ICD-10 system (WHO or MHLW), with the dot
//! put back (`O149` → `O14.9`).

use phr_core::dataset::condition::{Condition, ConditionClinicalStatus, ConditionCode};
use phr_core::dataset::RecordKind;

use super::{date_text, icd10_code, invalid, missing, parse_date, res_path, set_once, text, unexpected};
use super::{MappingContext, MappingError, Result};
use crate::code_systems;
use crate::model::{AbatementX, Annotation, CodeableConcept, Coding, Condition as FhirCondition, OnsetX, Resource};

const KIND: RecordKind = RecordKind::Condition;

/// The category code of every problem-list Condition.
pub const PROBLEM_LIST_ITEM: &str = "problem-list-item";

/// SNOMED CT codes of the conditions whose concept is certain.
const SNOMED: &[(ConditionCode, &str, &str)] = &[
    (ConditionCode::GestationalHypertension, "48194001", "Pregnancy-induced hypertension"),
    (ConditionCode::Preeclampsia, "398254007", "Pre-eclampsia"),
    (ConditionCode::GestationalDiabetes, "11687002", "Gestational diabetes mellitus"),
    (ConditionCode::PreexistingDiabetes, "73211009", "Diabetes mellitus"),
    (ConditionCode::ThyroidDisease, "14304000", "Disorder of thyroid gland"),
    (ConditionCode::Epilepsy, "84757009", "Epilepsy"),
    (ConditionCode::Asthma, "195967001", "Asthma"),
    (ConditionCode::HeartDisease, "56265001", "Heart disease"),
];

/// ICD-10 categories (code without its dot, longest prefix first) that name one
/// local condition, for a Condition sent in ICD-10 alone.
const ICD10_PREFIXES: &[(&str, ConditionCode)] = &[
    ("O142", ConditionCode::Hellp),
    ("O244", ConditionCode::GestationalDiabetes),
    ("O10", ConditionCode::ChronicHypertension),
    ("O13", ConditionCode::GestationalHypertension),
    ("O14", ConditionCode::Preeclampsia),
    ("G40", ConditionCode::Epilepsy),
    ("J45", ConditionCode::Asthma),
];

/// The local condition an ICD-10 code (without its dot) names, if one does.
fn from_icd10(code: &str) -> Option<ConditionCode> {
    ICD10_PREFIXES.iter().find(|(p, _)| code.starts_with(p)).map(|(_, c)| *c)
}

/// The English label of a local condition code (the coding's display).
pub fn label(code: ConditionCode) -> &'static str {
    match code {
        ConditionCode::GestationalHypertension => "Gestational hypertension",
        ConditionCode::Preeclampsia => "Preeclampsia",
        ConditionCode::Hellp => "HELLP syndrome",
        ConditionCode::ChronicHypertension => "Chronic hypertension",
        ConditionCode::GestationalDiabetes => "Gestational diabetes",
        ConditionCode::PreexistingDiabetes => "Pre-existing diabetes",
        ConditionCode::ThyroidDisease => "Thyroid disease",
        ConditionCode::Epilepsy => "Epilepsy",
        ConditionCode::Asthma => "Asthma",
        ConditionCode::HeartDisease => "Heart disease",
        ConditionCode::Other => "Other condition",
    }
}

/// The Condition of one problem-list entry.
pub fn to_fhir(c: &Condition, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut coding = Vec::new();
    if let Some((_, code, display)) = SNOMED.iter().find(|(k, _, _)| *k == c.code) {
        coding.push(Coding::new(code_systems::SNOMED_CT, *code, Some(display)));
    }
    if let Some(icd) = &c.icd10 {
        coding.push(Coding::new(code_systems::ICD10, icd.clone(), None));
    }
    coding.push(Coding::new(code_systems::local(KIND), c.code.code(), Some(label(c.code))));
    let r = FhirCondition {
        id: Some(ctx.primary_id()),
        clinical_status: Some(CodeableConcept::from_codings(vec![Coding::new(
            code_systems::CONDITION_CLINICAL,
            c.clinical_status.code(),
            None,
        )])),
        category: vec![CodeableConcept::from_codings(vec![Coding::new(
            code_systems::CONDITION_CATEGORY,
            PROBLEM_LIST_ITEM,
            Some("Problem List Item"),
        )])],
        code: Some(CodeableConcept { coding, text: text(&c.text), ..Default::default() }),
        subject: Some(ctx.subject()),
        onset: c.onset.map(|d| OnsetX::DateTime(date_text(d))),
        abatement: c.abatement.map(|d| AbatementX::DateTime(date_text(d))),
        note: text(&c.note).map(|t| Annotation { text: Some(t), ..Default::default() }).into_iter().collect(),
        ..Default::default()
    };
    Ok(vec![Resource::Condition(r)])
}

/// An ICD-10 code as the dataset keeps it: with its dot (`O149` → `O14.9`).
fn with_dot(code: String) -> String {
    if code.len() > 3 && code.is_ascii() && !code.contains('.') {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code
    }
}

/// Reads the Condition of one problem-list entry.
pub fn from_fhir(resources: &[Resource]) -> Result<Condition> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Condition(c) = r else { return Err(unexpected(r, i, KIND)) };
        set_once(&mut found, (c, path.clone()), &path)?;
    }
    let (c, path) = found.ok_or_else(|| missing("Condition"))?;
    if c.encounter.is_some() {
        // A Condition found in a visit belongs to that visit's record (prenatal_visit).
        return Err(invalid(&format!("{path}.encounter"), "a problem-list Condition is not part of an encounter"));
    }
    let cc = c.code.as_ref().ok_or_else(|| missing(format!("{path}.code")))?;
    let local = code_systems::local(KIND);
    let mut code = None;
    let mut snomed = None;
    let mut icd10 = None;
    for (j, coding) in cc.coding.iter().enumerate() {
        match (coding.system.as_deref(), coding.code.as_deref()) {
            (Some(s), Some(k)) if s == local => {
                code = Some(ConditionCode::ALL.iter().copied().find(|v| v.code() == k).ok_or_else(|| {
                    MappingError::UnknownCode {
                        path: format!("{path}.code.coding[{j}].code"),
                        system: Some(local.clone()),
                        code: k.to_owned(),
                    }
                })?);
            }
            (Some(code_systems::SNOMED_CT), Some(k)) => {
                snomed = snomed.or(SNOMED.iter().find(|(_, s, _)| *s == k).map(|(v, _, _)| *v));
            }
            _ => {
                if icd10.is_none() {
                    icd10 = icd10_code(coding).map(with_dot);
                }
            }
        }
    }
    let by_icd10 = icd10.as_deref().map(|c| c.replace('.', "")).as_deref().and_then(from_icd10);
    let code = code.or(snomed).or(by_icd10).unwrap_or(ConditionCode::Other);
    let named = cc.text.clone();
    let text = if code == ConditionCode::Other {
        Some(
            named
                .or_else(|| cc.coding.iter().find_map(|c| c.display.clone()))
                .ok_or_else(|| missing(format!("{path}.code.text")))?,
        )
    } else {
        named
    };
    let clinical_status = {
        let cs = c.clinical_status.as_ref().ok_or_else(|| missing(format!("{path}.clinicalStatus")))?;
        let k = cs
            .code_in(code_systems::CONDITION_CLINICAL)
            .ok_or_else(|| missing(format!("{path}.clinicalStatus.coding")))?;
        ConditionClinicalStatus::ALL.iter().copied().find(|v| v.code() == k).ok_or_else(|| {
            MappingError::UnknownCode {
                path: format!("{path}.clinicalStatus.coding.code"),
                system: Some(code_systems::CONDITION_CLINICAL.to_owned()),
                code: k.to_owned(),
            }
        })?
    };
    let onset = match &c.onset {
        None => None,
        Some(OnsetX::DateTime(d)) => Some(parse_date(d, &format!("{path}.onsetDateTime"))?),
        Some(_) => return Err(invalid(&path, "onset must be an onsetDateTime")),
    };
    let abatement = match &c.abatement {
        None => None,
        Some(AbatementX::DateTime(d)) => Some(parse_date(d, &format!("{path}.abatementDateTime"))?),
        Some(_) => return Err(invalid(&path, "abatement must be an abatementDateTime")),
    };
    let notes: Vec<String> = c.note.iter().filter_map(|n| n.text.clone()).collect();
    Ok(Condition {
        code,
        text,
        icd10,
        clinical_status,
        onset,
        abatement,
        note: (!notes.is_empty()).then(|| notes.join("\n")),
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_condition_round_trips_losslessly() {
        assert_round_trip(RecordBody::Condition(examples::condition_full()));
    }

    #[test]
    fn minimal_condition_round_trips_losslessly() {
        assert_round_trip(RecordBody::Condition(examples::condition_minimal()));
    }

    #[test]
    fn every_condition_code_round_trips() {
        for code in ConditionCode::ALL.iter().copied() {
            let c = Condition { code, text: Some("名前".into()), ..examples::condition_full() };
            assert_round_trip(RecordBody::Condition(c));
        }
    }

    #[test]
    fn preeclampsia_is_a_problem_list_item_in_snomed_icd10_and_the_local_code() {
        let rs = map_to_fhir(&RecordBody::Condition(examples::condition_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["resourceType"], "Condition");
        assert_eq!(json["category"][0]["coding"][0]["code"], "problem-list-item");
        assert_eq!(json["category"][0]["coding"][0]["system"], code_systems::CONDITION_CATEGORY);
        assert_eq!(
            json["code"]["coding"][0],
            serde_json::json!({"system": "http://snomed.info/sct", "code": "398254007", "display": "Pre-eclampsia"})
        );
        assert_eq!(
            json["code"]["coding"][1],
            serde_json::json!({"system": "http://hl7.org/fhir/sid/icd-10", "code": "O14.9"})
        );
        assert_eq!(json["clinicalStatus"]["coding"][0]["code"], "resolved");
        assert_eq!(json["abatementDateTime"], "2026-11-15");
    }

    #[test]
    fn a_clinic_condition_in_snomed_or_jp_icd10_alone_is_read() {
        let mut rs = map_to_fhir(&RecordBody::Condition(examples::condition_full()), &ctx()).unwrap();
        let Resource::Condition(c) = &mut rs[0] else { panic!() };
        let cc = c.code.as_mut().unwrap();
        cc.coding = vec![
            Coding::new(code_systems::SNOMED_CT, "195967001", Some("Asthma")),
            Coding::new(code_systems::JP_ICD10, "J459", None),
        ];
        let back = from_fhir(&rs).unwrap();
        assert_eq!((back.code, back.icd10.as_deref()), (ConditionCode::Asthma, Some("J45.9")));
        let Resource::Condition(c) = &mut rs[0] else { panic!() };
        let cc = c.code.as_mut().unwrap();
        cc.coding = vec![Coding::new(code_systems::ICD10, "E03.9", None)];
        cc.text = Some("甲状腺機能低下症".into());
        let back = from_fhir(&rs).unwrap();
        assert_eq!((back.code, back.text.as_deref()), (ConditionCode::Other, Some("甲状腺機能低下症")));
        for (icd, code) in [
            ("O14.2", ConditionCode::Hellp),
            ("O149", ConditionCode::Preeclampsia),
            ("O24.4", ConditionCode::GestationalDiabetes),
        ] {
            let Resource::Condition(c) = &mut rs[0] else { panic!() };
            c.code = Some(CodeableConcept::from_codings(vec![Coding::new(code_systems::JP_ICD10, icd, None)]));
            assert_eq!(from_fhir(&rs).unwrap().code, code, "{icd}");
        }
    }

    #[test]
    fn an_encounter_condition_or_an_unknown_status_is_an_error_naming_the_element() {
        let mut rs = map_to_fhir(&RecordBody::Condition(examples::condition_full()), &ctx()).unwrap();
        let Resource::Condition(c) = &mut rs[0] else { panic!() };
        c.clinical_status =
            Some(CodeableConcept::from_codings(vec![Coding::new(code_systems::CONDITION_CLINICAL, "relapse", None)]));
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Condition[0].clinicalStatus.coding.code");
        let Resource::Condition(c) = &mut rs[0] else { panic!() };
        c.encounter = Some(crate::model::Reference::to("Encounter/x"));
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Condition[0].encounter");
    }
}
