//! `medication` (お薬手帳) <-> one MedicationDispense.
//!
//! - `medicationCodeableConcept`: the drug coding in its system — YJ
//!   ([`code_systems::JP_YJ`], `urn:oid:1.2.392.100495.20.1.73`), HOT9
//!   ([`code_systems::JP_HOT9`]) for 9-digit and HOT13 ([`code_systems::JP_HOT13`])
//!   for 13-digit HOT codes, or the local drug list — with the drug name as
//!   `display` and `text`. On writes the JP Core 1.2 URLs of the same systems
//!   (`http://medis.or.jp/CodeSystem/master-HOT9`, `…/master-HOT13`,
//!   `http://capstandard.jp/iyaku.info/CodeSystem/YJ-code`) are read alike
//!   ([`code_systems::canonical`]).
//! - `whenHandedOver` = dispensing date; `performer[0].actor` = the pharmacy and the
//!   prescriber in the local extension [`extensions::PRESCRIBER`] (names only,
//!   so display-only / string: the dataset has no resources for them).
//! - `dosageInstruction[0].text` = directions; the dose as written in the local
//!   extension [`extensions::DOSE_TEXT`] on that Dosage.
//! - `daysSupply` = days supplied as a UCUM quantity in `d`.
//!
//! MedicationDispense (not MedicationStatement) because the source — the JAHIS
//! notebook or the pharmacy's label — records a dispensing event.

use phr_core::dataset::medication::{DrugCode, DrugCodeSystem, Medication};
use phr_core::dataset::RecordKind;

use super::{
    date_text, invalid, missing, parse_date, res_path, set_once, text, unexpected, MappingContext, MappingError, Result,
};
use crate::code_systems::{self, extensions};
use crate::model::{
    CodeableConcept, Coding, Dosage, Extension, MedicationDispense, MedicationDispensePerformer, MedicationX, Quantity,
    Reference, Resource, ValueX,
};

const KIND: RecordKind = RecordKind::Medication;

/// The system URI a drug code is sent under (also used by the `allergy` mapping).
pub(crate) fn drug_system(code: &DrugCode) -> String {
    match code.system {
        DrugCodeSystem::Yj => code_systems::JP_YJ.into(),
        DrugCodeSystem::Hot if code.code.len() == 13 => code_systems::JP_HOT13.into(),
        DrugCodeSystem::Hot => code_systems::JP_HOT9.into(),
        DrugCodeSystem::Local => code_systems::local_answers(KIND, "drug"),
    }
}

/// The drug code of a coding in YJ, HOT (OID or JP Core URL) or the local drug list, if it is one.
pub(crate) fn drug_code_of(c: &Coding) -> Option<DrugCode> {
    let system = match c.system.as_deref().map(code_systems::canonical) {
        Some(code_systems::JP_YJ) => DrugCodeSystem::Yj,
        Some(code_systems::JP_HOT9) | Some(code_systems::JP_HOT13) => DrugCodeSystem::Hot,
        Some(s) if s == code_systems::local_answers(KIND, "drug") => DrugCodeSystem::Local,
        _ => return None,
    };
    Some(DrugCode { system, code: c.code.clone()? })
}

fn string_ext(list: &[Extension], url: &str, path: &str) -> Result<Option<String>> {
    match list.iter().find(|e| e.url == url).map(|e| &e.value) {
        None => Ok(None),
        Some(Some(ValueX::String(s))) => Ok(Some(s.clone())),
        Some(_) => Err(missing(format!("{path}.extension.valueString"))),
    }
}

/// The MedicationDispense of one dispensed drug.
pub fn to_fhir(m: &Medication, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let coding = m.drug_code.iter().map(|c| Coding::new(drug_system(c), c.code.clone(), Some(&m.drug_name))).collect();
    let mut r = MedicationDispense {
        id: Some(ctx.primary_id()),
        status: Some("completed".into()),
        medication: Some(MedicationX::CodeableConcept(CodeableConcept {
            coding,
            text: Some(m.drug_name.clone()),
            ..Default::default()
        })),
        subject: Some(ctx.subject()),
        performer: text(&m.pharmacy)
            .into_iter()
            .map(|p| MedicationDispensePerformer { actor: Reference::display(p), ..Default::default() })
            .collect(),
        days_supply: m.days_supplied.map(|d| Quantity {
            value: Some(crate::model::Decimal(d.into())),
            unit: Some("d".into()),
            system: Some(code_systems::UCUM.into()),
            code: Some("d".into()),
            ..Default::default()
        }),
        when_handed_over: Some(date_text(m.dispensed_on)),
        ..Default::default()
    };
    if let Some(p) = text(&m.prescriber) {
        r.extension.push(Extension::new(extensions::PRESCRIBER, ValueX::String(p)));
    }
    let (dose, directions) = (text(&m.dose), text(&m.directions));
    if dose.is_some() || directions.is_some() {
        let mut dosage = Dosage { text: directions, ..Default::default() };
        if let Some(d) = dose {
            dosage.extension.push(Extension::new(extensions::DOSE_TEXT, ValueX::String(d)));
        }
        r.dosage_instruction.push(dosage);
    }
    Ok(vec![Resource::MedicationDispense(r)])
}

/// Reads the MedicationDispense of one dispensed drug.
pub fn from_fhir(resources: &[Resource]) -> Result<Medication> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::MedicationDispense(d) = r else { return Err(unexpected(r, i, KIND)) };
        set_once(&mut found, (d, path.clone()), &path)?;
    }
    let (d, path) = found.ok_or_else(|| missing("MedicationDispense"))?;
    let cc = match &d.medication {
        Some(MedicationX::CodeableConcept(cc)) => cc,
        _ => return Err(missing(format!("{path}.medicationCodeableConcept"))),
    };
    let mpath = format!("{path}.medicationCodeableConcept");
    let drug_name = cc
        .text
        .clone()
        .or_else(|| cc.coding.iter().find_map(|c| c.display.clone()))
        .ok_or_else(|| missing(format!("{mpath}.text")))?;
    let local = code_systems::local_answers(KIND, "drug");
    let mut drug_code = None;
    for (j, c) in cc.coding.iter().enumerate() {
        let cpath = format!("{mpath}.coding[{j}]");
        let system = match c.system.as_deref().map(code_systems::canonical) {
            Some(code_systems::JP_YJ) => DrugCodeSystem::Yj,
            Some(code_systems::JP_HOT9) | Some(code_systems::JP_HOT13) => DrugCodeSystem::Hot,
            Some(s) if s == local => DrugCodeSystem::Local,
            // Codings in other systems (e.g. a receipt code) are the sender's; skip them.
            _ => continue,
        };
        let code = c.code.clone().ok_or_else(|| missing(format!("{cpath}.code")))?;
        if drug_code.is_none() {
            drug_code = Some(DrugCode { system, code });
        }
    }
    let (directions, dose) = match d.dosage_instruction.as_slice() {
        [] => (None, None),
        [x] => {
            (x.text.clone(), string_ext(&x.extension, extensions::DOSE_TEXT, &format!("{path}.dosageInstruction[0]"))?)
        }
        _ => return Err(invalid(&format!("{path}.dosageInstruction"), "at most one dosage")),
    };
    let days_supplied = match &d.days_supply {
        None => None,
        Some(q) => {
            let qpath = format!("{path}.daysSupply");
            match q.code.as_deref() {
                Some("d") => {}
                other => {
                    return Err(MappingError::WrongUnit {
                        path: format!("{qpath}.code"),
                        expected: "d",
                        got: other.unwrap_or_default().into(),
                    })
                }
            }
            let v = q.value.as_ref().ok_or_else(|| missing(format!("{qpath}.value")))?;
            let n =
                v.0.to_string().parse::<u32>().map_err(|_| {
                    invalid(&format!("{qpath}.value"), format!("must be a whole number of days, got {v}"))
                })?;
            Some(n)
        }
    };
    let pharmacy = match d.performer.as_slice() {
        [] => None,
        [p] => Some(p.actor.display.clone().ok_or_else(|| missing(format!("{path}.performer[0].actor.display")))?),
        _ => return Err(invalid(&format!("{path}.performer"), "at most one performer")),
    };
    let handed = d.when_handed_over.as_deref().ok_or_else(|| missing(format!("{path}.whenHandedOver")))?;
    Ok(Medication {
        dispensed_on: parse_date(handed, &format!("{path}.whenHandedOver"))?,
        pharmacy,
        prescriber: string_ext(&d.extension, extensions::PRESCRIBER, &path)?,
        drug_name,
        drug_code,
        dose,
        directions,
        days_supplied,
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_medication_round_trips_losslessly() {
        assert_round_trip(RecordBody::Medication(examples::medication_full()));
    }

    #[test]
    fn minimal_medication_round_trips_losslessly() {
        assert_round_trip(RecordBody::Medication(examples::medication_minimal()));
    }

    #[test]
    fn hot9_hot13_and_local_drug_codes_round_trip_in_their_systems() {
        for (system, code, uri) in [
            (DrugCodeSystem::Hot, "105271807", code_systems::JP_HOT9),
            (DrugCodeSystem::Hot, "1052718070101", code_systems::JP_HOT13),
            (DrugCodeSystem::Local, "A-12", "https://phr.example/CodeSystem/medication/drug"),
        ] {
            let m =
                Medication { drug_code: Some(DrugCode { system, code: code.into() }), ..examples::medication_full() };
            let rs = map_to_fhir(&RecordBody::Medication(m.clone()), &ctx()).unwrap();
            let json = serde_json::to_value(&rs[0]).unwrap();
            assert_eq!(json["medicationCodeableConcept"]["coding"][0]["system"], uri);
            assert_round_trip(RecordBody::Medication(m));
        }
    }

    #[test]
    fn yj_code_is_sent_in_the_yj_system_with_the_drug_name() {
        let rs = map_to_fhir(&RecordBody::Medication(examples::medication_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["resourceType"], "MedicationDispense");
        assert_eq!(
            json["medicationCodeableConcept"]["coding"][0],
            serde_json::json!({"system": "urn:oid:1.2.392.100495.20.1.73", "code": "1141007C1075", "display": "カロナール細粒20%"})
        );
        assert_eq!(json["daysSupply"]["code"], "d");
    }

    #[test]
    fn jp_core_urls_of_yj_and_hot_are_read_as_the_same_systems() {
        for (uri, code, system) in [
            (code_systems::JP_YJ_URL, "1141007C1075", DrugCodeSystem::Yj),
            (code_systems::JP_YJ_LEGACY, "1141007C1075", DrugCodeSystem::Yj),
            (code_systems::JP_HOT9_URL, "105271807", DrugCodeSystem::Hot),
            (code_systems::JP_HOT13_URL, "1052718070101", DrugCodeSystem::Hot),
        ] {
            let mut rs = map_to_fhir(&RecordBody::Medication(examples::medication_full()), &ctx()).unwrap();
            if let Resource::MedicationDispense(d) = &mut rs[0] {
                d.medication = Some(MedicationX::CodeableConcept(CodeableConcept {
                    coding: vec![Coding::new(uri, code, None)],
                    text: Some("カロナール細粒20%".into()),
                    ..Default::default()
                }));
            }
            let m = from_fhir(&rs).unwrap();
            assert_eq!(m.drug_code, Some(DrugCode { system, code: code.into() }), "{uri}");
        }
    }

    #[test]
    fn days_supply_in_weeks_is_refused_naming_d() {
        let mut rs = map_to_fhir(&RecordBody::Medication(examples::medication_full()), &ctx()).unwrap();
        if let Resource::MedicationDispense(d) = &mut rs[0] {
            d.days_supply.as_mut().unwrap().code = Some("wk".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(err, MappingError::WrongUnit { expected: "d", .. }), "{err}");
        assert_eq!(err.path(), "MedicationDispense[0].daysSupply.code");
    }
}
