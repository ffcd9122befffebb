//! `immunization` <-> one Immunization resource.
//!
//! - `vaccineCode`: the JP HOT9 coding ([`code_systems::JP_HOT9`]) and the YJ coding
//!   ([`code_systems::JP_YJ`]) when the product's codes are known, then the local
//!   vaccine coding (`.../immunization/vaccine`, display the Japanese label); `text` =
//!   the product name as written.
//! - `protocolApplied[0].targetDisease`: the diseases the vaccine protects against
//!   (SNOMED CT, [`TargetDisease`]), sent for every vaccine of the local list.
//!
//! Reading a dose sent by another system ([`vaccine_of`]): the local vaccine code
//! when present; otherwise the vaccine whose target diseases are exactly the
//! `targetDisease` set sent (SNOMED CT, or ICD-10 — WHO or JP Core's MHLW 2013
//! edition); otherwise, if the product is coded in HOT9, HOT13 (its first nine
//! digits are the HOT9 code) or YJ, the dose is kept as `other` under the
//! product's name (`vaccineCode.text` or the coding's display) with its codes, so
//! nothing the clinic sent is lost. Product codes are not mapped to the local list
//! by themselves: that needs the MEDIS HOT master, which this project does not ship.
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
    answer, date_text, decode, icd10_code, invalid, missing, parse_date, res_path, set_once, text, unexpected,
    MappingContext, MappingError, Result,
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
    if let Some(yj) = &m.yj_code {
        coding.push(Coding::new(code_systems::JP_YJ, yj.clone(), None));
    }
    coding.push(Coding::new(
        code_systems::local_answers(KIND, "vaccine"),
        m.vaccine.code(),
        Some(&m.vaccine.label_ja()),
    ));
    let eligibility = if m.routine { (ROUTINE, "定期接種") } else { (VOLUNTARY, "任意接種") };
    let mut protocol = ImmunizationProtocolApplied {
        series: Some(m.series.label_ja()),
        dose_number: Some(DoseNumberX::PositiveInt(m.dose_number.into())),
        target_disease: TargetDisease::of(m.vaccine)
            .iter()
            .map(|d| {
                CodeableConcept::from_codings(vec![Coding::new(code_systems::SNOMED_CT, d.snomed(), Some(d.label()))])
            })
            .collect(),
        ..Default::default()
    };
    protocol.extension.push(Extension::new(
        extensions::DOSE_SERIES,
        ValueX::Coding(Coding::new(
            code_systems::local_answers(KIND, "dose_series"),
            m.series.code(),
            Some(&m.series.label_ja()),
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

/// A disease a vaccine of the local list protects against, with its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetDisease {
    /// Diphtheria.
    Diphtheria,
    /// Pertussis (百日せき).
    Pertussis,
    /// Tetanus.
    Tetanus,
    /// Poliomyelitis.
    Polio,
    /// Haemophilus influenzae type b infection.
    Hib,
    /// Hepatitis B.
    HepatitisB,
    /// Rotavirus disease.
    Rotavirus,
    /// Pneumococcal disease.
    Pneumococcal,
    /// Tuberculosis.
    Tuberculosis,
    /// Measles.
    Measles,
    /// Rubella.
    Rubella,
    /// Varicella.
    Varicella,
    /// Japanese encephalitis.
    JapaneseEncephalitis,
    /// Human papillomavirus infection.
    Hpv,
    /// Influenza.
    Influenza,
    /// Mumps.
    Mumps,
    /// COVID-19.
    Covid19,
}

impl TargetDisease {
    /// Every disease, in order.
    pub const ALL: &'static [TargetDisease] = &[
        TargetDisease::Diphtheria,
        TargetDisease::Pertussis,
        TargetDisease::Tetanus,
        TargetDisease::Polio,
        TargetDisease::Hib,
        TargetDisease::HepatitisB,
        TargetDisease::Rotavirus,
        TargetDisease::Pneumococcal,
        TargetDisease::Tuberculosis,
        TargetDisease::Measles,
        TargetDisease::Rubella,
        TargetDisease::Varicella,
        TargetDisease::JapaneseEncephalitis,
        TargetDisease::Hpv,
        TargetDisease::Influenza,
        TargetDisease::Mumps,
        TargetDisease::Covid19,
    ];

    /// The SNOMED CT concept (the disorder), as immunization records name target diseases.
    pub const fn snomed(self) -> &'static str {
        match self {
            TargetDisease::Diphtheria => "397430003",
            TargetDisease::Pertussis => "27836007",
            TargetDisease::Tetanus => "76902006",
            TargetDisease::Polio => "398102009",
            TargetDisease::Hib => "709410003",
            TargetDisease::HepatitisB => "66071002",
            TargetDisease::Rotavirus => "18624000",
            TargetDisease::Pneumococcal => "16814004",
            TargetDisease::Tuberculosis => "56717001",
            TargetDisease::Measles => "14189004",
            TargetDisease::Rubella => "36653000",
            TargetDisease::Varicella => "38907003",
            TargetDisease::JapaneseEncephalitis => "52947006",
            TargetDisease::Hpv => "240532009",
            TargetDisease::Influenza => "6142004",
            TargetDisease::Mumps => "36989005",
            TargetDisease::Covid19 => "840539006",
        }
    }

    /// The ICD-10 categories (or subcategories) of the disease, without the dot:
    /// a code is this disease when it starts with one of them (`A37`, `A371`, `A37.1`).
    pub const fn icd10(self) -> &'static [&'static str] {
        match self {
            TargetDisease::Diphtheria => &["A36"],
            TargetDisease::Pertussis => &["A37"],
            TargetDisease::Tetanus => &["A33", "A34", "A35"],
            TargetDisease::Polio => &["A80"],
            TargetDisease::Hib => &["A413", "G000", "J14"],
            TargetDisease::HepatitisB => &["B16", "B180", "B181"],
            TargetDisease::Rotavirus => &["A080"],
            TargetDisease::Pneumococcal => &["J13", "A403", "G001"],
            TargetDisease::Tuberculosis => &["A15", "A16", "A17", "A18", "A19"],
            TargetDisease::Measles => &["B05"],
            TargetDisease::Rubella => &["B06"],
            TargetDisease::Varicella => &["B01"],
            TargetDisease::JapaneseEncephalitis => &["A830"],
            TargetDisease::Hpv => &["B977"],
            TargetDisease::Influenza => &["J09", "J10", "J11"],
            TargetDisease::Mumps => &["B26"],
            TargetDisease::Covid19 => &["U071"],
        }
    }

    /// An English label for `display`.
    pub const fn label(self) -> &'static str {
        match self {
            TargetDisease::Diphtheria => "Diphtheria",
            TargetDisease::Pertussis => "Pertussis",
            TargetDisease::Tetanus => "Tetanus",
            TargetDisease::Polio => "Acute poliomyelitis",
            TargetDisease::Hib => "Haemophilus influenzae type b infection",
            TargetDisease::HepatitisB => "Viral hepatitis type B",
            TargetDisease::Rotavirus => "Disease due to Rotavirus",
            TargetDisease::Pneumococcal => "Pneumococcal infectious disease",
            TargetDisease::Tuberculosis => "Tuberculosis",
            TargetDisease::Measles => "Measles",
            TargetDisease::Rubella => "Rubella",
            TargetDisease::Varicella => "Varicella",
            TargetDisease::JapaneseEncephalitis => "Japanese encephalitis virus disease",
            TargetDisease::Hpv => "Human papilloma virus infection",
            TargetDisease::Influenza => "Influenza",
            TargetDisease::Mumps => "Mumps",
            TargetDisease::Covid19 => "COVID-19",
        }
    }

    /// What the vaccine protects against (empty for `other`).
    pub const fn of(vaccine: Vaccine) -> &'static [TargetDisease] {
        use TargetDisease::*;
        match vaccine {
            Vaccine::HepatitisB => &[HepatitisB],
            Vaccine::RotavirusRotarix | Vaccine::RotavirusRotateq => &[Rotavirus],
            Vaccine::DptIpvHib => &[Diphtheria, Pertussis, Tetanus, Polio, Hib],
            Vaccine::DptIpv => &[Diphtheria, Pertussis, Tetanus, Polio],
            Vaccine::Pcv15 | Vaccine::Pcv20 => &[Pneumococcal],
            Vaccine::Bcg => &[Tuberculosis],
            Vaccine::Mr => &[Measles, Rubella],
            Vaccine::Measles => &[Measles],
            Vaccine::Rubella => &[Rubella],
            Vaccine::Varicella => &[Varicella],
            Vaccine::JapaneseEncephalitis => &[JapaneseEncephalitis],
            Vaccine::Dt => &[Diphtheria, Tetanus],
            Vaccine::Hpv => &[Hpv],
            Vaccine::Influenza => &[Influenza],
            Vaccine::Mumps => &[Mumps],
            Vaccine::Covid19 => &[Covid19],
            Vaccine::Other => &[],
        }
    }

    /// The disease a coding names, in SNOMED CT or ICD-10 (WHO or MHLW edition).
    fn from_coding(c: &Coding) -> Option<TargetDisease> {
        let (system, code) = (c.system.as_deref()?, c.code.as_deref()?);
        match system {
            code_systems::SNOMED_CT => TargetDisease::ALL.iter().copied().find(|d| d.snomed() == code),
            _ => {
                let code = icd10_code(c)?;
                TargetDisease::ALL.iter().copied().find(|d| d.icd10().iter().any(|p| code.starts_with(p)))
            }
        }
    }

    /// The one vaccine of the local list that targets exactly `diseases`, if there is one.
    fn vaccine_for(diseases: &[TargetDisease]) -> Option<Vaccine> {
        let mut matching = Vaccine::ALL.iter().copied().filter(|v| {
            let targets = TargetDisease::of(*v);
            !targets.is_empty() && targets.len() == diseases.len() && targets.iter().all(|t| diseases.contains(t))
        });
        match (matching.next(), matching.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    }
}

/// What `vaccineCode` and `targetDisease` say about the product.
struct VaccineRead {
    vaccine: Vaccine,
    vaccine_name: Option<String>,
    hot9_code: Option<String>,
    yj_code: Option<String>,
}

/// The vaccine of a dose another system sent (see the module docs for the order).
fn vaccine_of(im: &FhirImmunization, path: &str) -> Result<VaccineRead> {
    let vc = &im.vaccine_code;
    let vc_path = format!("{path}.vaccineCode");
    let local = code_systems::local_answers(KIND, "vaccine");
    let hot9_code = vc
        .code_in(code_systems::JP_HOT9)
        .map(str::to_owned)
        .or_else(|| vc.code_in(code_systems::JP_HOT13).and_then(|c| c.get(..9)).map(str::to_owned));
    let yj_code = vc.code_in(code_systems::JP_YJ).map(str::to_owned);
    let name = vc.text.clone();
    let read = |vaccine, vaccine_name| VaccineRead {
        vaccine,
        vaccine_name,
        hot9_code: hot9_code.clone(),
        yj_code: yj_code.clone(),
    };
    if vc.coding.iter().any(|c| c.system.as_deref().is_some_and(|s| code_systems::same(s, &local))) {
        return Ok(read(decode(Vaccine::ALL, Vaccine::code, vc, &local, &vc_path)?, name));
    }
    let mut diseases = Vec::new();
    for (j, p) in im.protocol_applied.iter().enumerate() {
        for (k, cc) in p.target_disease.iter().enumerate() {
            let disease =
                cc.coding.iter().find_map(TargetDisease::from_coding).ok_or_else(|| match cc.coding.first() {
                    Some(c) => MappingError::UnknownCode {
                        path: format!("{path}.protocolApplied[{j}].targetDisease[{k}].coding[0].code"),
                        system: c.system.clone(),
                        code: c.code.clone().unwrap_or_default(),
                    },
                    None => missing(format!("{path}.protocolApplied[{j}].targetDisease[{k}].coding")),
                })?;
            if !diseases.contains(&disease) {
                diseases.push(disease);
            }
        }
    }
    if let Some(vaccine) = TargetDisease::vaccine_for(&diseases) {
        return Ok(read(vaccine, name));
    }
    if hot9_code.is_some() || yj_code.is_some() {
        let name = name.or_else(|| {
            vc.coding
                .iter()
                .filter(|c| {
                    c.system.as_deref().is_some_and(|s| {
                        [code_systems::JP_HOT9, code_systems::JP_HOT13, code_systems::JP_YJ]
                            .iter()
                            .any(|known| code_systems::same(s, known))
                    })
                })
                .find_map(|c| c.display.clone())
        });
        let name = name.ok_or_else(|| {
            invalid(&format!("{vc_path}.text"), "the product name is required with a HOT9 or YJ code alone")
        })?;
        return Ok(read(Vaccine::Other, Some(name)));
    }
    Err(invalid(
        &format!("{vc_path}.coding"),
        format!(
            "name the vaccine by its local code ({local}), by a HOT9, HOT13 or YJ product code with its name, \
             or by protocolApplied.targetDisease (SNOMED CT or ICD-10)"
        ),
    ))
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
    let VaccineRead { vaccine, vaccine_name, hot9_code, yj_code } = vaccine_of(im, &path)?;
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
        vaccine_name,
        hot9_code,
        yj_code,
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

    trait WithHot9 {
        fn with_hot9(self, hot9: Option<&str>) -> Self;
    }

    impl WithHot9 for Immunization {
        fn with_hot9(self, hot9: Option<&str>) -> Self {
            Immunization { hot9_code: hot9.map(str::to_owned), ..self }
        }
    }
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
        assert_eq!(json["vaccineCode"]["coding"][1]["system"], "urn:oid:1.2.392.100495.20.1.73");
        assert_eq!(json["vaccineCode"]["coding"][2]["code"], "mr");
        assert_eq!(
            json["protocolApplied"][0]["targetDisease"],
            serde_json::json!([
                {"coding": [{"system": "http://snomed.info/sct", "code": "14189004", "display": "Measles"}]},
                {"coding": [{"system": "http://snomed.info/sct", "code": "36653000", "display": "Rubella"}]}
            ])
        );
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
            im.vaccine_code.coding[2].code = Some("smallpox".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert_eq!(err.path(), "Immunization[0].vaccineCode.coding[2].code", "{err}");
    }

    /// The full example's dose as another system codes it: `coding` only, no local code.
    fn sent_with(coding: Vec<Coding>, text: Option<&str>, diseases: &[(&str, &str)]) -> Vec<Resource> {
        let mut rs = map_to_fhir(&RecordBody::Immunization(examples::immunization_full()), &ctx()).unwrap();
        if let Resource::Immunization(im) = &mut rs[0] {
            im.vaccine_code = CodeableConcept { coding, text: text.map(str::to_owned), ..Default::default() };
            im.protocol_applied[0].target_disease = diseases
                .iter()
                .map(|(system, code)| CodeableConcept::from_codings(vec![Coding::new(*system, *code, None)]))
                .collect();
        }
        rs
    }

    #[test]
    fn a_hot9_code_alone_is_kept_as_other_under_the_product_name() {
        let rs = sent_with(vec![Coding::new(code_systems::JP_HOT9_URL, "123456701", Some("ミールビック"))], None, &[]);
        let dose = from_fhir(&rs).unwrap();
        assert_eq!(
            (dose.vaccine, dose.vaccine_name.as_deref(), dose.hot9_code.as_deref(), dose.yj_code.as_deref()),
            (Vaccine::Other, Some("ミールビック"), Some("123456701"), None)
        );
    }

    #[test]
    fn a_yj_code_with_target_diseases_maps_to_the_local_vaccine() {
        // JP Core's Immunization example: a YJ-coded vaccine and its target disease.
        let rs = sent_with(
            vec![Coding::new(code_systems::JP_YJ_URL, "6311000X1000", Some("麻しん風しん混合ワクチン"))],
            Some("乾燥弱毒生麻しん風しん混合ワクチン"),
            &[(code_systems::SNOMED_CT, "14189004"), (code_systems::JP_ICD10, "B06")],
        );
        let dose = from_fhir(&rs).unwrap();
        assert_eq!((dose.vaccine, dose.yj_code.as_deref()), (Vaccine::Mr, Some("6311000X1000")));
        assert_eq!(dose, examples::immunization_full().with_hot9(None));
    }

    #[test]
    fn icd10_target_diseases_with_or_without_the_dot_name_the_five_in_one_vaccine() {
        let icd = [
            (code_systems::ICD10, "A36.9"),
            (code_systems::ICD10, "A37"),
            (code_systems::JP_ICD10, "A35"),
            (code_systems::JP_ICD10, "A809"),
            (code_systems::ICD10, "G00.0"),
        ];
        let rs = sent_with(vec![Coding::new(code_systems::JP_HOT13, "1234567010101", Some("ゴービック"))], None, &icd);
        let dose = from_fhir(&rs).unwrap();
        assert_eq!((dose.vaccine, dose.hot9_code.as_deref()), (Vaccine::DptIpvHib, Some("123456701")));
    }

    #[test]
    fn target_diseases_naming_two_local_vaccines_keep_the_dose_as_other() {
        // Rotarix and RotaTeq both target rotavirus: the product name decides nothing here.
        let rs = sent_with(
            vec![Coding::new(code_systems::JP_HOT9, "123456701", None)],
            Some("ロタウイルスワクチン"),
            &[(code_systems::SNOMED_CT, "18624000")],
        );
        assert_eq!(from_fhir(&rs).unwrap().vaccine, Vaccine::Other);
    }

    #[test]
    fn a_product_code_without_a_name_or_an_unknown_target_disease_is_refused_with_its_path() {
        let rs = sent_with(vec![Coding::new(code_systems::JP_HOT9, "123456701", None)], None, &[]);
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Immunization[0].vaccineCode.text");
        let rs = sent_with(vec![], Some("x"), &[(code_systems::SNOMED_CT, "1234")]);
        assert_eq!(
            from_fhir(&rs).unwrap_err().path(),
            "Immunization[0].protocolApplied[0].targetDisease[0].coding[0].code"
        );
        let rs = sent_with(vec![Coding::new("http://hl7.org/fhir/sid/cvx", "03", None)], Some("MMR"), &[]);
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Immunization[0].vaccineCode.coding");
    }

    #[test]
    fn every_local_vaccine_but_other_has_target_diseases_with_snomed_and_icd10_codes() {
        for &v in Vaccine::ALL {
            assert_eq!(TargetDisease::of(v).is_empty(), v == Vaccine::Other, "{v:?}");
        }
        for &d in TargetDisease::ALL {
            assert!(!d.snomed().is_empty() && !d.icd10().is_empty(), "{d:?}");
        }
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
