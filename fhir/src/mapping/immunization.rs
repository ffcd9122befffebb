//! `immunization` <-> one Immunization resource.
//!
//! - `vaccineCode`: the JP HOT9 coding ([`code_systems::JP_HOT9`]) when a HOT9
//!   code is known, then the local vaccine coding (`.../immunization/vaccine`,
//!   display the Japanese label); `text` = the product name as written.
//! - `occurrenceDateTime` = date given; `lotNumber`; `manufacturer`, `performer[0].actor`
//!   and `location` as display-only References (the dataset holds names, not
//!   resources); `site` as a local answer code.
//! - `protocolApplied[0]`: `doseNumberPositiveInt`, `series` = the Japanese term
//!   (1期, 2期, 初回, 追加) for people, and the coded series in the local extension
//!   [`extensions::DOSE_SERIES`] (valueCoding) for machines.
//! - Routine (定期) / voluntary (任意) as `programEligibility` with the local codes
//!   `routine` / `voluntary`.
//! - Next due date: the JP Core extension [`extensions::JP_DUE_DATE_OF_NEXT_DOSE`]
//!   (valueDateTime, date precision).

use phr_core::dataset::immunization::{DoseSeries, Immunization, InjectionSite, Vaccine};
use phr_core::dataset::RecordKind;

use super::{
    answer, date_text, decode, invalid, missing, parse_date, res_path, set_once, text, unexpected, MappingContext,
    MappingError, Result,
};
use crate::code_systems::{self, extensions};
use crate::model::{
    CodeableConcept, Coding, DoseNumberX, Extension, Immunization as FhirImmunization, ImmunizationPerformer,
    ImmunizationProtocolApplied, OccurrenceX, Reference, Resource, ValueX,
};

const KIND: RecordKind = RecordKind::Immunization;
/// Local eligibility codes.
pub const ROUTINE: &str = "routine";
/// Local eligibility code of a voluntary (任意) dose.
pub const VOLUNTARY: &str = "voluntary";

fn ext<'a>(list: &'a [Extension], url: &str) -> Option<&'a Extension> {
    list.iter().find(|e| e.url == url)
}

/// The Immunization of one dose.
pub fn to_fhir(m: &Immunization, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut coding = Vec::new();
    if let Some(hot9) = &m.hot9_code {
        coding.push(Coding::new(code_systems::JP_HOT9, hot9.clone(), None));
    }
    coding.push(Coding::new(
        code_systems::local_answers(KIND, "vaccine"),
        m.vaccine.code(),
        Some(m.vaccine.label_ja()),
    ));
    let eligibility = if m.routine { (ROUTINE, "定期接種") } else { (VOLUNTARY, "任意接種") };
    let mut protocol = ImmunizationProtocolApplied {
        series: Some(m.series.label_ja().into()),
        dose_number: Some(DoseNumberX::PositiveInt(m.dose_number.into())),
        ..Default::default()
    };
    protocol.extension.push(Extension::new(
        extensions::DOSE_SERIES,
        ValueX::Coding(Coding::new(
            code_systems::local_answers(KIND, "dose_series"),
            m.series.code(),
            Some(m.series.label_ja()),
        )),
    ));
    let mut r = FhirImmunization {
        id: Some(ctx.primary_id()),
        status: Some("completed".into()),
        vaccine_code: CodeableConcept { coding, text: text(&m.vaccine_name), ..Default::default() },
        patient: ctx.subject(),
        occurrence: Some(OccurrenceX::DateTime(date_text(m.date_given))),
        location: text(&m.location).map(Reference::display),
        manufacturer: text(&m.manufacturer).map(Reference::display),
        lot_number: text(&m.lot_number),
        site: m.site.map(|s| answer(KIND, "site", s.code(), s.code())),
        performer: text(&m.performer)
            .into_iter()
            .map(|p| ImmunizationPerformer { actor: Reference::display(p), ..Default::default() })
            .collect(),
        program_eligibility: vec![answer(KIND, "eligibility", eligibility.0, eligibility.1)],
        protocol_applied: vec![protocol],
        ..Default::default()
    };
    if let Some(next) = m.next_due_date {
        r.extension.push(Extension::new(extensions::JP_DUE_DATE_OF_NEXT_DOSE, ValueX::DateTime(date_text(next))));
    }
    Ok(vec![Resource::Immunization(r)])
}

fn display_of(r: &Option<Reference>, path: &str) -> Result<Option<String>> {
    match r {
        None => Ok(None),
        Some(r) => r.display.clone().map(Some).ok_or_else(|| missing(format!("{path}.display"))),
    }
}

/// Reads the Immunization of one dose.
pub fn from_fhir(resources: &[Resource]) -> Result<Immunization> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Immunization(im) = r else { return Err(unexpected(r, i, KIND)) };
        set_once(&mut found, (im, path.clone()), &path)?;
    }
    let (im, path) = found.ok_or_else(|| missing("Immunization"))?;
    if let Some(status) = im.status.as_deref().filter(|s| *s != "completed") {
        return Err(invalid(&format!("{path}.status"), format!("only completed doses are recorded, got {status:?}")));
    }
    let vc_path = format!("{path}.vaccineCode");
    let vaccine =
        decode(Vaccine::ALL, Vaccine::code, &im.vaccine_code, &code_systems::local_answers(KIND, "vaccine"), &vc_path)?;
    let hot9_code = im.vaccine_code.code_in(code_systems::JP_HOT9).map(str::to_owned);
    let date_given = match &im.occurrence {
        Some(OccurrenceX::DateTime(s)) => parse_date(s, &format!("{path}.occurrenceDateTime"))?,
        _ => return Err(missing(format!("{path}.occurrenceDateTime"))),
    };
    let routine = match im.program_eligibility.as_slice() {
        [cc] => {
            let code = decode(
                &[ROUTINE, VOLUNTARY],
                |c| c,
                cc,
                &code_systems::local_answers(KIND, "eligibility"),
                &format!("{path}.programEligibility[0]"),
            )?;
            code == ROUTINE
        }
        [] => return Err(missing(format!("{path}.programEligibility"))),
        _ => {
            return Err(invalid(
                &format!("{path}.programEligibility"),
                "exactly one eligibility (routine or voluntary)",
            ))
        }
    };
    let (protocol, ppath) = match im.protocol_applied.as_slice() {
        [p] => (p, format!("{path}.protocolApplied[0]")),
        [] => return Err(missing(format!("{path}.protocolApplied"))),
        _ => return Err(invalid(&format!("{path}.protocolApplied"), "exactly one protocol")),
    };
    let dose_number = match &protocol.dose_number {
        Some(DoseNumberX::PositiveInt(n)) => n.as_i64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            invalid(&format!("{ppath}.doseNumberPositiveInt"), format!("must be a positive integer, got {}", n.0))
        })?,
        _ => return Err(missing(format!("{ppath}.doseNumberPositiveInt"))),
    };
    let series = match ext(&protocol.extension, extensions::DOSE_SERIES).map(|e| &e.value) {
        Some(Some(ValueX::Coding(c))) => {
            let cc = CodeableConcept::from_codings(vec![c.clone()]);
            decode(
                DoseSeries::ALL,
                DoseSeries::code,
                &cc,
                &code_systems::local_answers(KIND, "dose_series"),
                &format!("{ppath}.extension.valueCoding"),
            )
            .map_err(|e| match e {
                MappingError::UnknownCode { code, system, .. } => {
                    MappingError::UnknownCode { path: format!("{ppath}.extension.valueCoding.code"), system, code }
                }
                other => other,
            })?
        }
        Some(_) => return Err(missing(format!("{ppath}.extension.valueCoding"))),
        None => {
            // Without our extension, read the series name: the Japanese term or the code.
            let name = protocol.series.as_deref().ok_or_else(|| missing(format!("{ppath}.series")))?;
            DoseSeries::ALL.iter().copied().find(|s| s.label_ja() == name || s.code() == name).ok_or_else(|| {
                MappingError::UnknownCode { path: format!("{ppath}.series"), system: None, code: name.to_owned() }
            })?
        }
    };
    let site = match &im.site {
        Some(cc) => Some(decode(
            InjectionSite::ALL,
            InjectionSite::code,
            cc,
            &code_systems::local_answers(KIND, "site"),
            &format!("{path}.site"),
        )?),
        None => None,
    };
    let performer = match im.performer.as_slice() {
        [] => None,
        [p] => Some(p.actor.display.clone().ok_or_else(|| missing(format!("{path}.performer[0].actor.display")))?),
        _ => return Err(invalid(&format!("{path}.performer"), "at most one performer")),
    };
    let next_due_date = match ext(&im.extension, extensions::JP_DUE_DATE_OF_NEXT_DOSE).map(|e| &e.value) {
        None => None,
        Some(Some(ValueX::DateTime(s))) | Some(Some(ValueX::Date(s))) => {
            Some(parse_date(s, &format!("{path}.extension.valueDateTime"))?)
        }
        Some(_) => return Err(missing(format!("{path}.extension.valueDateTime"))),
    };
    Ok(Immunization {
        vaccine,
        vaccine_name: im.vaccine_code.text.clone(),
        hot9_code,
        routine,
        date_given,
        dose_number,
        series,
        lot_number: im.lot_number.clone(),
        manufacturer: display_of(&im.manufacturer, &format!("{path}.manufacturer"))?,
        site,
        performer,
        location: display_of(&im.location, &format!("{path}.location"))?,
        next_due_date,
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_immunization_round_trips_losslessly() {
        assert_round_trip(RecordBody::Immunization(examples::immunization_full()));
    }

    #[test]
    fn minimal_immunization_round_trips_losslessly() {
        assert_round_trip(RecordBody::Immunization(examples::immunization_minimal()));
    }

    #[test]
    fn vaccine_is_coded_in_hot9_then_local_with_dose_and_next_due_date() {
        let rs = map_to_fhir(&RecordBody::Immunization(examples::immunization_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["vaccineCode"]["coding"][0]["system"], "urn:oid:1.2.392.200119.4.403.1");
        assert_eq!(json["vaccineCode"]["coding"][0]["code"], "123456701");
        assert_eq!(json["vaccineCode"]["coding"][1]["code"], "mr");
        assert_eq!(json["occurrenceDateTime"], "2027-10-10");
        assert_eq!(json["lotNumber"], "MR-2027-0412");
        assert_eq!(json["protocolApplied"][0]["doseNumberPositiveInt"], serde_json::json!(1));
        assert_eq!(json["protocolApplied"][0]["series"], "1期");
        assert_eq!(json["extension"][0]["url"], extensions::JP_DUE_DATE_OF_NEXT_DOSE);
        assert_eq!(json["extension"][0]["valueDateTime"], "2032-04-01");
        assert_eq!(json["programEligibility"][0]["coding"][0]["code"], "routine");
    }

    #[test]
    fn a_dose_from_another_system_is_read_by_its_series_name_without_our_extension() {
        let mut rs = map_to_fhir(&RecordBody::Immunization(examples::immunization_full()), &ctx()).unwrap();
        if let Resource::Immunization(im) = &mut rs[0] {
            im.protocol_applied[0].extension.clear();
        }
        assert_eq!(from_fhir(&rs).unwrap().series, DoseSeries::FirstTerm);
    }

    #[test]
    fn an_unknown_vaccine_code_is_refused_with_its_path() {
        let mut rs = map_to_fhir(&RecordBody::Immunization(examples::immunization_full()), &ctx()).unwrap();
        if let Resource::Immunization(im) = &mut rs[0] {
            im.vaccine_code.coding[1].code = Some("smallpox".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert_eq!(err.path(), "Immunization[0].vaccineCode.coding[1].code", "{err}");
    }

    #[test]
    fn a_dose_without_a_date_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::Immunization(examples::immunization_minimal()), &ctx()).unwrap();
        if let Resource::Immunization(im) = &mut rs[0] {
            im.occurrence = Some(OccurrenceX::String("last spring".into()));
        }
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Immunization[0].occurrenceDateTime");
    }
}
