//! `medication` (お薬手帳) <-> one MedicationDispense (a dispensed drug) or one
//! MedicationStatement (an OTC drug, or a drug the family entered).
//!
//! - `medicationCodeableConcept`: the drug coding in its system — YJ
//!   ([`code_systems::JP_YJ`], `urn:oid:1.2.392.100495.20.1.73`), HOT9
//!   ([`code_systems::JP_HOT9`]) for 9-digit and HOT13 ([`code_systems::JP_HOT13`])
//!   for 13-digit HOT codes, the receipt computer code and the MHLW price list
//!   code in local systems (`https://phr.example/CodeSystem/medication/receipt_code`,
//!   `…/mhlw_code`), or the local drug list — with the drug name as `display`
//!   and `text`. On writes the JP Core 1.2 URLs of the same systems
//!   (`http://medis.or.jp/CodeSystem/master-HOT9`, `…/master-HOT13`,
//!   `http://capstandard.jp/iyaku.info/CodeSystem/YJ-code`) are read alike
//!   ([`code_systems::canonical`]).
//! - MedicationDispense: `whenHandedOver` = dispensing date; `performer[0].actor`
//!   = the pharmacy; `daysSupply` = days supplied (UCUM `d`); `category`
//!   `community` when the source is recorded as dispensed.
//! - MedicationStatement: `effectivePeriod` = first to last day taken;
//!   `category` `community` (OTC) or `patientspecified` (entered by the family).
//! - Both: `dosageInstruction` / `dosage` `[0].text` = directions, with the dose
//!   and its unit as written in the local extensions [`extensions::DOSE_TEXT`] and
//!   [`extensions::DOSE_UNIT`]; the prescriber, prescribing doctor and pharmacist
//!   as local string extensions (names only: the dataset has no resources for
//!   them); `identifier` = the dispensing fingerprint ([`code_systems::DISPENSING_ID`]);
//!   `note` = the notes, each with its kind ([`extensions::NOTE_KIND`]), code and
//!   date (`time`); JAHIS records kept verbatim in [`extensions::JAHIS_RECORD`].

use phr_core::dataset::medication::{
    DrugCode, DrugCodeSystem, Medication, MedicationNote, MedicationNoteKind, MedicationSource,
};
use phr_core::dataset::RecordKind;

use super::{
    date_text, invalid, missing, parse_date, res_path, set_once, text, unexpected, MappingContext, MappingError, Result,
};
use crate::code_systems::{self, extensions};
use crate::model::{
    Annotation, CodeableConcept, Coding, Dosage, EffectiveX, Extension, Identifier, MedicationDispense,
    MedicationDispensePerformer, MedicationStatement, MedicationX, Period, Quantity, Reference, Resource, ValueX,
};

const KIND: RecordKind = RecordKind::Medication;
/// HL7 MedicationDispense category codes (R4).
const DISPENSE_CATEGORY: &str = "http://terminology.hl7.org/fhir/CodeSystem/medicationdispense-category";
/// HL7 MedicationStatement category codes (R4).
const STATEMENT_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/medication-statement-category";

/// The system URI a drug code is sent under (also used by the `allergy` mapping).
pub(crate) fn drug_system(code: &DrugCode) -> String {
    match code.system {
        DrugCodeSystem::Yj => code_systems::JP_YJ.into(),
        DrugCodeSystem::Hot if code.code.len() == 13 => code_systems::JP_HOT13.into(),
        DrugCodeSystem::Hot => code_systems::JP_HOT9.into(),
        DrugCodeSystem::Receipt => code_systems::local_answers(KIND, "receipt_code"),
        DrugCodeSystem::Mhlw => code_systems::local_answers(KIND, "mhlw_code"),
        DrugCodeSystem::Local => code_systems::local_answers(KIND, "drug"),
    }
}

/// The drug code of a coding in a system [`drug_system`] sends (or a JP Core
/// spelling of one), if it is one.
pub(crate) fn drug_code_of(c: &Coding) -> Option<DrugCode> {
    let system = match c.system.as_deref().map(code_systems::canonical) {
        Some(code_systems::JP_YJ) => DrugCodeSystem::Yj,
        Some(code_systems::JP_HOT9) | Some(code_systems::JP_HOT13) => DrugCodeSystem::Hot,
        Some(s) if s == code_systems::local_answers(KIND, "drug") => DrugCodeSystem::Local,
        Some(s) if s == code_systems::local_answers(KIND, "receipt_code") => DrugCodeSystem::Receipt,
        Some(s) if s == code_systems::local_answers(KIND, "mhlw_code") => DrugCodeSystem::Mhlw,
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

fn strings_ext(list: &[Extension], url: &str, path: &str) -> Result<Vec<String>> {
    list.iter()
        .filter(|e| e.url == url)
        .map(|e| match &e.value {
            Some(ValueX::String(s)) => Ok(s.clone()),
            _ => Err(missing(format!("{path}.extension.valueString"))),
        })
        .collect()
}

fn code_ext(list: &[Extension], url: &str, path: &str) -> Result<Option<String>> {
    match list.iter().find(|e| e.url == url).map(|e| &e.value) {
        None => Ok(None),
        Some(Some(ValueX::Code(s))) => Ok(Some(s.clone())),
        Some(_) => Err(missing(format!("{path}.extension.valueCode"))),
    }
}

/// The parts both resources share.
struct Common {
    medication: MedicationX,
    extension: Vec<Extension>,
    identifier: Vec<Identifier>,
    dosage: Vec<Dosage>,
    note: Vec<Annotation>,
}

fn common(m: &Medication) -> Common {
    let coding = m.drug_code.iter().map(|c| Coding::new(drug_system(c), c.code.clone(), Some(&m.drug_name))).collect();
    let mut extension = Vec::new();
    for (url, v) in [
        (extensions::PRESCRIBER, &m.prescriber),
        (extensions::PRESCRIBING_DOCTOR, &m.prescribing_doctor),
        (extensions::PHARMACIST, &m.pharmacist),
    ] {
        if let Some(v) = text(v) {
            extension.push(Extension::new(url, ValueX::String(v)));
        }
    }
    extension
        .extend(m.jahis_records.iter().map(|r| Extension::new(extensions::JAHIS_RECORD, ValueX::String(r.clone()))));
    let mut dosage = Vec::new();
    let (dose, unit, directions) = (text(&m.dose), text(&m.dose_unit), text(&m.directions));
    if dose.is_some() || unit.is_some() || directions.is_some() {
        let mut d = Dosage { text: directions, ..Default::default() };
        if let Some(v) = dose {
            d.extension.push(Extension::new(extensions::DOSE_TEXT, ValueX::String(v)));
        }
        if let Some(v) = unit {
            d.extension.push(Extension::new(extensions::DOSE_UNIT, ValueX::String(v)));
        }
        dosage.push(d);
    }
    let note = m
        .notes
        .iter()
        .map(|n| {
            let mut a = Annotation { text: Some(n.text.clone()), time: n.date.map(date_text), ..Default::default() };
            a.extension.push(Extension::new(extensions::NOTE_KIND, ValueX::Code(n.kind.code().to_owned())));
            if let Some(c) = text(&n.code) {
                a.extension.push(Extension::new(extensions::NOTE_CODE, ValueX::String(c)));
            }
            a
        })
        .collect();
    let identifier = m
        .dispensing_id
        .iter()
        .map(|id| Identifier {
            system: Some(code_systems::DISPENSING_ID.into()),
            value: Some(id.clone()),
            ..Default::default()
        })
        .collect();
    Common {
        medication: MedicationX::CodeableConcept(CodeableConcept {
            coding,
            text: Some(m.drug_name.clone()),
            ..Default::default()
        }),
        extension,
        identifier,
        dosage,
        note,
    }
}

/// The MedicationDispense (dispensed) or MedicationStatement (OTC, entered by the family) of one drug.
pub fn to_fhir(m: &Medication, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let c = common(m);
    if m.source() != MedicationSource::Dispensed {
        let (category, display) = match m.source() {
            MedicationSource::Otc => ("community", "Community"),
            _ => ("patientspecified", "Patient Specified"),
        };
        let r = MedicationStatement {
            id: Some(ctx.primary_id()),
            extension: c.extension,
            identifier: c.identifier,
            status: Some(if m.last_day().is_some() { "completed" } else { "active" }.into()),
            category: Some(CodeableConcept::from_codings(vec![Coding::new(
                STATEMENT_CATEGORY,
                category,
                Some(display),
            )])),
            medication: Some(c.medication),
            subject: Some(ctx.subject()),
            effective: Some(EffectiveX::Period(Period {
                start: Some(date_text(m.dispensed_on)),
                end: m.taken_until.map(date_text),
                ..Default::default()
            })),
            note: c.note,
            dosage: c.dosage,
            ..Default::default()
        };
        return Ok(vec![Resource::MedicationStatement(r)]);
    }
    let r = MedicationDispense {
        id: Some(ctx.primary_id()),
        extension: c.extension,
        identifier: c.identifier,
        status: Some("completed".into()),
        category: m.source.map(|_| {
            CodeableConcept::from_codings(vec![Coding::new(DISPENSE_CATEGORY, "community", Some("Community"))])
        }),
        medication: Some(c.medication),
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
        note: c.note,
        dosage_instruction: c.dosage,
        ..Default::default()
    };
    Ok(vec![Resource::MedicationDispense(r)])
}

fn read_drug(medication: &Option<MedicationX>, path: &str) -> Result<(String, Option<DrugCode>)> {
    let cc = match medication {
        Some(MedicationX::CodeableConcept(cc)) => cc,
        _ => return Err(missing(format!("{path}.medicationCodeableConcept"))),
    };
    let mpath = format!("{path}.medicationCodeableConcept");
    let drug_name = cc
        .text
        .clone()
        .or_else(|| cc.coding.iter().find_map(|c| c.display.clone()))
        .ok_or_else(|| missing(format!("{mpath}.text")))?;
    let mut drug_code = None;
    for (j, c) in cc.coding.iter().enumerate() {
        // Codings in other systems are the sender's; skip them.
        if drug_code_of(&Coding { code: Some(String::new()), ..c.clone() }).is_none() {
            continue;
        }
        let code = drug_code_of(c).ok_or_else(|| missing(format!("{mpath}.coding[{j}].code")))?;
        if drug_code.is_none() {
            drug_code = Some(code);
        }
    }
    Ok((drug_name, drug_code))
}

fn read_dosage(list: &[Dosage], path: &str) -> Result<(Option<String>, Option<String>, Option<String>)> {
    match list {
        [] => Ok((None, None, None)),
        [x] => {
            let p = format!("{path}[0]");
            Ok((
                x.text.clone(),
                string_ext(&x.extension, extensions::DOSE_TEXT, &p)?,
                string_ext(&x.extension, extensions::DOSE_UNIT, &p)?,
            ))
        }
        _ => Err(invalid(path, "at most one dosage")),
    }
}

fn read_notes(list: &[Annotation], path: &str) -> Result<Vec<MedicationNote>> {
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let p = format!("{path}[{i}]");
            let kind = match code_ext(&a.extension, extensions::NOTE_KIND, &p)? {
                None => MedicationNoteKind::Remark,
                Some(k) => MedicationNoteKind::ALL.iter().copied().find(|x| x.code() == k).ok_or_else(|| {
                    MappingError::UnknownCode {
                        path: format!("{p}.extension"),
                        system: Some(extensions::NOTE_KIND.into()),
                        code: k,
                    }
                })?,
            };
            Ok(MedicationNote {
                kind,
                text: a.text.clone().ok_or_else(|| missing(format!("{p}.text")))?,
                date: a.time.as_deref().map(|t| parse_date(t, &format!("{p}.time"))).transpose()?,
                code: string_ext(&a.extension, extensions::NOTE_CODE, &p)?,
            })
        })
        .collect()
}

fn read_dispensing_id(list: &[Identifier]) -> Option<String> {
    list.iter().find(|i| i.system.as_deref() == Some(code_systems::DISPENSING_ID)).and_then(|i| i.value.clone())
}

fn read_common(
    extension: &[Extension],
    medication: &Option<MedicationX>,
    identifier: &[Identifier],
    dosage: &[Dosage],
    dosage_path: &str,
    note: &[Annotation],
    path: &str,
) -> Result<Medication> {
    let (drug_name, drug_code) = read_drug(medication, path)?;
    let (directions, dose, dose_unit) = read_dosage(dosage, dosage_path)?;
    let mut m = Medication::new(chrono::NaiveDate::MIN, drug_name);
    m.drug_code = drug_code;
    m.directions = directions;
    m.dose = dose;
    m.dose_unit = dose_unit;
    m.prescriber = string_ext(extension, extensions::PRESCRIBER, path)?;
    m.prescribing_doctor = string_ext(extension, extensions::PRESCRIBING_DOCTOR, path)?;
    m.pharmacist = string_ext(extension, extensions::PHARMACIST, path)?;
    m.jahis_records = strings_ext(extension, extensions::JAHIS_RECORD, path)?;
    m.dispensing_id = read_dispensing_id(identifier);
    m.notes = read_notes(note, &format!("{path}.note"))?;
    Ok(m)
}

fn read_days_supply(q: &Quantity, qpath: &str) -> Result<u32> {
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
    v.0.to_string()
        .parse::<u32>()
        .map_err(|_| invalid(&format!("{qpath}.value"), format!("must be a whole number of days, got {v}")))
}

/// Reads the MedicationDispense or MedicationStatement of one drug.
pub fn from_fhir(resources: &[Resource]) -> Result<Medication> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        if !matches!(r, Resource::MedicationDispense(_) | Resource::MedicationStatement(_)) {
            return Err(unexpected(r, i, KIND));
        }
        set_once(&mut found, (r, path.clone()), &path)?;
    }
    let (r, path) = found.ok_or_else(|| missing("MedicationDispense"))?;
    match r {
        Resource::MedicationStatement(s) => {
            let mut m = read_common(
                &s.extension,
                &s.medication,
                &s.identifier,
                &s.dosage,
                &format!("{path}.dosage"),
                &s.note,
                &path,
            )?;
            let category = s
                .category
                .iter()
                .flat_map(|c| c.coding.iter())
                .find_map(|c| (c.system.as_deref() == Some(STATEMENT_CATEGORY)).then(|| c.code.clone()).flatten());
            m.source = Some(match category.as_deref() {
                Some("community") => MedicationSource::Otc,
                _ => MedicationSource::PatientEntered,
            });
            let (start, end) = match &s.effective {
                Some(EffectiveX::Period(p)) => (p.start.as_deref(), p.end.as_deref()),
                Some(EffectiveX::DateTime(t)) => (Some(t.as_str()), None),
                _ => (None, None),
            };
            let start = start.ok_or_else(|| missing(format!("{path}.effectivePeriod.start")))?;
            m.dispensed_on = parse_date(start.get(..10).unwrap_or(start), &format!("{path}.effectivePeriod.start"))?;
            m.taken_until = end
                .map(|e| parse_date(e.get(..10).unwrap_or(e), &format!("{path}.effectivePeriod.end")))
                .transpose()?;
            Ok(m)
        }
        Resource::MedicationDispense(d) => {
            let mut m = read_common(
                &d.extension,
                &d.medication,
                &d.identifier,
                &d.dosage_instruction,
                &format!("{path}.dosageInstruction"),
                &d.note,
                &path,
            )?;
            m.source = d.category.as_ref().map(|_| MedicationSource::Dispensed);
            m.days_supplied =
                d.days_supply.as_ref().map(|q| read_days_supply(q, &format!("{path}.daysSupply"))).transpose()?;
            m.pharmacy = match d.performer.as_slice() {
                [] => None,
                [p] => {
                    Some(p.actor.display.clone().ok_or_else(|| missing(format!("{path}.performer[0].actor.display")))?)
                }
                _ => return Err(invalid(&format!("{path}.performer"), "at most one performer")),
            };
            let handed = d.when_handed_over.as_deref().ok_or_else(|| missing(format!("{path}.whenHandedOver")))?;
            m.dispensed_on = parse_date(handed, &format!("{path}.whenHandedOver"))?;
            Ok(m)
        }
        _ => unreachable!("checked above"),
    }
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
    fn otc_medication_is_a_medication_statement_and_round_trips_losslessly() {
        let m = examples::medication_otc();
        let rs = map_to_fhir(&RecordBody::Medication(m.clone()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["resourceType"], "MedicationStatement");
        assert_eq!(json["category"]["coding"][0]["code"], "community");
        assert_eq!(json["effectivePeriod"], serde_json::json!({"start": "2027-02-20", "end": "2027-02-22"}));
        assert_round_trip(RecordBody::Medication(m.clone()));
        let entered = Medication { source: Some(MedicationSource::PatientEntered), taken_until: None, ..m };
        let rs = map_to_fhir(&RecordBody::Medication(entered.clone()), &ctx()).unwrap();
        assert_eq!(serde_json::to_value(&rs[0]).unwrap()["category"]["coding"][0]["code"], "patientspecified");
        assert_round_trip(RecordBody::Medication(entered));
    }

    #[test]
    fn jahis_details_travel_as_notes_identifier_and_extensions() {
        let rs = map_to_fhir(&RecordBody::Medication(examples::medication_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["identifier"][0]["system"], code_systems::DISPENSING_ID);
        assert_eq!(json["note"][2]["time"], "2027-03-02");
        assert_eq!(json["note"][1]["extension"][0]["valueCode"], "drug_caution");
        assert_eq!(json["note"][0]["extension"][1]["valueString"], "99");
        let urls: Vec<&str> =
            json["extension"].as_array().unwrap().iter().map(|e| e["url"].as_str().unwrap()).collect();
        assert!(urls.contains(&extensions::JAHIS_RECORD) && urls.contains(&extensions::PHARMACIST), "{urls:?}");
    }

    #[test]
    fn receipt_and_mhlw_codes_round_trip_in_their_local_systems() {
        for (system, code) in [(DrugCodeSystem::Receipt, "620000033"), (DrugCodeSystem::Mhlw, "1149019F1560")] {
            let m =
                Medication { drug_code: Some(DrugCode { system, code: code.into() }), ..examples::medication_full() };
            assert_round_trip(RecordBody::Medication(m));
        }
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
