//! `prenatal_visit` (妊婦健診) <-> one Encounter + one Observation per item.
//!
//! - Encounter (id = record id): `finished`, class `AMB`, type local
//!   `prenatal_visit`, `period.start` = the visit date, the clinic as a
//!   **contained** Organization (`#clinic`: name, identifier in
//!   [`code_systems::FACILITY_ID`]) referenced from `serviceProvider`.
//! - Every Observation: `subject` the mother, `encounter` the Encounter,
//!   `effectiveDateTime` the visit date.
//! - **Gestational age** 18185-9 as `valueQuantity` in days (`d`), the exact total
//!   weeks × 7 + days (13w0d = 91 d): UCUM, standard, no fractions, and weeks +
//!   days come back exactly for every valid age (days 0–6). Decimal weeks (`wk`)
//!   from other senders are read too, rounded to the nearest day. The obstetric
//!   estimate code 57714-8 is accepted in place of 18185-9.
//! - Body weight 29463-7 `kg`, blood pressure panel 85354-9 (8480-6 / 8462-4,
//!   `mm[Hg]`) as vital-signs; fundal height 11881-0 and abdominal girth 8280-0
//!   `cm`, fetal heart rate 55283-6 `/min`, presentation 72155-5 as exam.
//! - **Ordinals** (edema 45700-2: −, +, ++; urine protein 5804-0 / glucose 5792-7:
//!   −, ±, +, ++, +++) as `valueCodeableConcept` with the local answer systems
//!   `.../prenatal_visit/edema` and `.../prenatal_visit/urine_strip`; the code is
//!   the dataset code (`trace`), the display the handbook symbol (`±`).
//! - Labs 718-7 `g/dL`, 20570-8 `%`, 26515-7 `10*3/uL` (laboratory); HBsAg 5196-1
//!   and cervical cytology 24020-0 with local answers; HCV Ab, rubella Ab, HTLV-1
//!   and GBS, whose LOINC codes the dataset spec elides, as local items.
//! - Hypertensive disorder 58297-3 `valueBoolean`; gestational diabetes as a local
//!   `valueBoolean` item, plus a Condition (SNOMED 11687002 + local code) when
//!   true — the Observation carries the record, the Condition is for readers
//!   (a Condition alone also reads as `true`).
//! - Dental items and the clinic's note as local items (`valueInteger`,
//!   `valueBoolean`, `valueString`).

use chrono::NaiveDate;
use phr_core::dataset::common::GestationalAge;
use phr_core::dataset::prenatal_visit::{
    codes, CervicalCytology, Dental, Edema, FetalPresentation, InfectionScreens, Labs, PrenatalVisit, RubellaImmunity,
    ScreenResult, UrineStrip,
};
use phr_core::dataset::RecordKind;

use super::self_vitals::{bp_observation, read_bp};
use super::{
    answer, category, date_text, effective_date, icd10_code, invalid, item_of, local_item, loinc, missing, parse_date,
    read_decimal, res_path, set_once, text, unexpected, unknown_item, vi, vq, MappingContext, MappingError, Obs,
    Result, Val,
};
use crate::code_systems;
use crate::model::{
    CodeableConcept, Coding, Condition, Decimal, EffectiveX, Encounter, Identifier, Organization, Period, Quantity,
    Reference, Resource, ValueX,
};

const KIND: RecordKind = RecordKind::PrenatalVisit;
/// SNOMED CT: gestational diabetes mellitus.
pub const SNOMED_GESTATIONAL_DIABETES: &str = "11687002";
/// ICD-10 "diabetes mellitus arising in pregnancy" (O24.4), without the dot; a GDM
/// Condition coded in ICD-10 (WHO or MHLW) alone is read as gestational diabetes.
pub const ICD10_GESTATIONAL_DIABETES: &str = "O244";
/// Id of the contained clinic Organization.
pub const CLINIC_ID: &str = "clinic";

/// Local item codes of this module.
pub mod local_codes {
    /// The Encounter type.
    pub const VISIT: &str = "prenatal_visit";
    /// HCV antibody.
    pub const HCV_ANTIBODY: &str = "hcv_antibody";
    /// Rubella antibody (HI).
    pub const RUBELLA_ANTIBODY: &str = "rubella_antibody";
    /// HTLV-1 antibody.
    pub const HTLV1_ANTIBODY: &str = "htlv1_antibody";
    /// Group B streptococcus.
    pub const GBS: &str = "gbs";
    /// Gestational diabetes (flag; also the Condition's local code).
    pub const GESTATIONAL_DIABETES: &str = "gestational_diabetes";
    /// Untreated carious teeth.
    pub const DENTAL_CARIES_COUNT: &str = "dental_caries_count";
    /// Dental calculus.
    pub const DENTAL_CALCULUS: &str = "dental_calculus";
    /// Gingivitis.
    pub const DENTAL_GINGIVITIS: &str = "dental_gingivitis";
    /// Free-text note from the clinic.
    pub const NOTE: &str = "clinic_note";
}

/// Gestational age as `valueQuantity` in exact days (`d`).
pub(crate) fn gestational_age_value(ga: GestationalAge) -> ValueX {
    ValueX::Quantity(Quantity {
        value: Some(Decimal(ga.total_days().into())),
        unit: Some("d".into()),
        system: Some(code_systems::UCUM.into()),
        code: Some("d".into()),
        ..Default::default()
    })
}

/// Reads a gestational age from `valueQuantity` in `d` (exact) or `wk`
/// (decimal weeks, rounded to the nearest day).
pub(crate) fn read_gestational_age(v: &Val<'_>) -> Result<GestationalAge> {
    let (q, path) = v.raw_quantity()?;
    if q.system.as_deref().is_some_and(|s| s != code_systems::UCUM) {
        return Err(MappingError::WrongUnit {
            path: format!("{path}.system"),
            expected: "d",
            got: q.system.clone().unwrap_or_default(),
        });
    }
    let value =
        read_decimal(q.value.as_ref().ok_or_else(|| missing(format!("{path}.value")))?, &format!("{path}.value"))?;
    let days = match q.code.as_deref() {
        Some("d") => value,
        Some("wk") => value * 7.0,
        Some(other) => {
            return Err(MappingError::WrongUnit { path: format!("{path}.code"), expected: "d", got: other.into() })
        }
        None => return Err(missing(format!("{path}.code"))),
    };
    let rounded = days.round();
    if q.code.as_deref() == Some("d") && rounded != days {
        return Err(invalid(&format!("{path}.value"), format!("must be a whole number of days, got {value}")));
    }
    if !(0.0..=f64::from(u8::MAX) * 7.0).contains(&rounded) {
        return Err(invalid(&format!("{path}.value"), format!("{value} is not a gestational age")));
    }
    GestationalAge::from_days(rounded as i64)
        .ok_or_else(|| invalid(&format!("{path}.value"), format!("{value} is not a gestational age")))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Ga,
    Weight,
    Bp,
    Fundal,
    Girth,
    Edema,
    UrineProtein,
    UrineGlucose,
    Fhr,
    Presentation,
    Hb,
    Hct,
    Plt,
    HbsAg,
    Hcv,
    Rubella,
    Htlv1,
    Gbs,
    Cytology,
    Hdp,
    Gdm,
    Caries,
    Calculus,
    Gingivitis,
    Note,
}

fn items() -> Vec<(String, &'static str, Item)> {
    let l = code_systems::LOINC.to_owned();
    let local = code_systems::local(KIND);
    vec![
        (l.clone(), codes::GESTATIONAL_AGE, Item::Ga),
        (l.clone(), codes::GESTATIONAL_AGE_OBSTETRIC_ESTIMATE, Item::Ga),
        (l.clone(), codes::BODY_WEIGHT, Item::Weight),
        (l.clone(), codes::BLOOD_PRESSURE_PANEL, Item::Bp),
        (l.clone(), codes::FUNDAL_HEIGHT, Item::Fundal),
        (l.clone(), codes::ABDOMINAL_GIRTH, Item::Girth),
        (l.clone(), codes::EDEMA, Item::Edema),
        (l.clone(), codes::URINE_PROTEIN, Item::UrineProtein),
        (l.clone(), codes::URINE_GLUCOSE, Item::UrineGlucose),
        (l.clone(), codes::FETAL_HEART_RATE, Item::Fhr),
        (l.clone(), codes::FETAL_PRESENTATION, Item::Presentation),
        (l.clone(), codes::HEMOGLOBIN, Item::Hb),
        (l.clone(), codes::HEMATOCRIT, Item::Hct),
        (l.clone(), codes::PLATELETS, Item::Plt),
        (l.clone(), codes::HBS_AG, Item::HbsAg),
        (local.clone(), local_codes::HCV_ANTIBODY, Item::Hcv),
        (local.clone(), local_codes::RUBELLA_ANTIBODY, Item::Rubella),
        (local.clone(), local_codes::HTLV1_ANTIBODY, Item::Htlv1),
        (local.clone(), local_codes::GBS, Item::Gbs),
        (l.clone(), codes::CERVICAL_CYTOLOGY, Item::Cytology),
        (l, codes::HYPERTENSIVE_DISORDER, Item::Hdp),
        (local.clone(), local_codes::GESTATIONAL_DIABETES, Item::Gdm),
        (local.clone(), local_codes::DENTAL_CARIES_COUNT, Item::Caries),
        (local.clone(), local_codes::DENTAL_CALCULUS, Item::Calculus),
        (local.clone(), local_codes::DENTAL_GINGIVITIS, Item::Gingivitis),
        (local, local_codes::NOTE, Item::Note),
    ]
}

fn coded(value_set: &str, code: &str, display: &str) -> ValueX {
    ValueX::CodeableConcept(answer(KIND, value_set, code, display))
}

/// The Encounter, Observations (and a Condition for gestational diabetes) of a visit.
pub fn to_fhir(v: &PrenatalVisit, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let enc_ref = Reference::to(format!("Encounter/{}", ctx.primary_id()));
    let mut encounter = Encounter {
        id: Some(ctx.primary_id()),
        status: Some("finished".into()),
        class: Some(Coding::new(code_systems::V3_ACT_CODE, "AMB", Some("ambulatory"))),
        type_: vec![CodeableConcept::from_codings(vec![local_item(KIND, local_codes::VISIT, "妊婦健診")])],
        subject: Some(ctx.subject()),
        period: Some(Period { start: Some(date_text(v.visit_date)), ..Default::default() }),
        ..Default::default()
    };
    let (clinic_name, clinic_id) = (text(&v.clinic_name), text(&v.clinic_id));
    if clinic_name.is_some() || clinic_id.is_some() {
        encounter.contained.push(Resource::Organization(Organization {
            id: Some(CLINIC_ID.into()),
            identifier: clinic_id
                .into_iter()
                .map(|id| Identifier {
                    system: Some(code_systems::FACILITY_ID.into()),
                    value: Some(id),
                    ..Default::default()
                })
                .collect(),
            name: clinic_name,
            ..Default::default()
        }));
        encounter.service_provider = Some(Reference::to(format!("#{CLINIC_ID}")));
    }
    let mut out = vec![Resource::Encounter(encounter)];
    let when = EffectiveX::DateTime(date_text(v.visit_date));
    let obs = |suffix: &str, cat: &str, coding: Coding, value: ValueX| {
        Obs::new(ctx, suffix, cat, vec![coding])
            .effective(Some(when.clone()))
            .encounter(Some(enc_ref.clone()))
            .value(value)
            .done()
    };
    if let Some(ga) = v.gestational_age {
        out.push(obs(
            "gestational-age",
            category::EXAM,
            loinc(codes::GESTATIONAL_AGE, "Gestational age"),
            gestational_age_value(ga),
        ));
    }
    if let Some(q) = &v.body_weight {
        out.push(obs("weight", category::VITAL_SIGNS, loinc(codes::BODY_WEIGHT, "Body weight"), vq(q, "body_weight")?));
    }
    if let Some(bp) = &v.blood_pressure {
        out.push(bp_observation(ctx, bp, when.clone(), Some(enc_ref.clone()))?);
    }
    if let Some(q) = &v.fundal_height {
        out.push(obs(
            "fundal-height",
            category::EXAM,
            loinc(codes::FUNDAL_HEIGHT, "Fundal height"),
            vq(q, "fundal_height")?,
        ));
    }
    if let Some(q) = &v.abdominal_girth {
        out.push(obs(
            "abdominal-girth",
            category::EXAM,
            loinc(codes::ABDOMINAL_GIRTH, "Abdominal girth"),
            vq(q, "abdominal_girth")?,
        ));
    }
    if let Some(e) = v.edema {
        out.push(obs("edema", category::EXAM, loinc(codes::EDEMA, "Edema"), coded("edema", e.code(), e.symbol())));
    }
    if let Some(u) = v.urine_protein {
        out.push(obs(
            "urine-protein",
            category::LABORATORY,
            loinc(codes::URINE_PROTEIN, "Protein [Presence] in Urine by Test strip"),
            coded("urine_strip", u.code(), u.symbol()),
        ));
    }
    if let Some(u) = v.urine_glucose {
        out.push(obs(
            "urine-glucose",
            category::LABORATORY,
            loinc(codes::URINE_GLUCOSE, "Glucose [Presence] in Urine by Test strip"),
            coded("urine_strip", u.code(), u.symbol()),
        ));
    }
    if let Some(q) = &v.fetal_heart_rate {
        out.push(obs(
            "fetal-heart-rate",
            category::EXAM,
            loinc(codes::FETAL_HEART_RATE, "Fetal heart rate"),
            vq(q, "fetal_heart_rate")?,
        ));
    }
    if let Some(p) = v.fetal_presentation {
        out.push(obs(
            "fetal-presentation",
            category::EXAM,
            loinc(codes::FETAL_PRESENTATION, "Fetal presentation"),
            coded("fetal_presentation", p.code(), p.code()),
        ));
    }
    if let Some(labs) = &v.labs {
        if let Some(q) = &labs.hemoglobin {
            out.push(obs(
                "hemoglobin",
                category::LABORATORY,
                loinc(codes::HEMOGLOBIN, "Hemoglobin"),
                vq(q, "labs.hemoglobin")?,
            ));
        }
        if let Some(q) = &labs.hematocrit {
            out.push(obs(
                "hematocrit",
                category::LABORATORY,
                loinc(codes::HEMATOCRIT, "Hematocrit"),
                vq(q, "labs.hematocrit")?,
            ));
        }
        if let Some(q) = &labs.platelets {
            out.push(obs(
                "platelets",
                category::LABORATORY,
                loinc(codes::PLATELETS, "Platelets"),
                vq(q, "labs.platelets")?,
            ));
        }
    }
    if let Some(s) = &v.infection_screens {
        if let Some(r) = s.hbs_ag {
            out.push(obs(
                "hbs-ag",
                category::LABORATORY,
                loinc(codes::HBS_AG, "Hepatitis B virus surface Ag"),
                coded("screen_result", r.code(), r.code()),
            ));
        }
        for (suffix, code, display, r) in [
            ("hcv-antibody", local_codes::HCV_ANTIBODY, "HCV antibody", s.hcv_antibody),
            ("htlv1-antibody", local_codes::HTLV1_ANTIBODY, "HTLV-1 antibody", s.htlv1_antibody),
            ("gbs", local_codes::GBS, "Group B streptococcus", s.gbs),
        ] {
            if let Some(r) = r {
                out.push(obs(
                    suffix,
                    category::LABORATORY,
                    local_item(KIND, code, display),
                    coded("screen_result", r.code(), r.code()),
                ));
            }
        }
        if let Some(r) = s.rubella_antibody {
            out.push(obs(
                "rubella-antibody",
                category::LABORATORY,
                local_item(KIND, local_codes::RUBELLA_ANTIBODY, "Rubella antibody (HI)"),
                coded("rubella_immunity", r.code(), r.code()),
            ));
        }
        if let Some(c) = s.cervical_cytology {
            out.push(obs(
                "cervical-cytology",
                category::LABORATORY,
                loinc(codes::CERVICAL_CYTOLOGY, "Cervical cytology"),
                coded("cervical_cytology", c.code(), c.code()),
            ));
        }
    }
    if let Some(b) = v.hypertensive_disorder {
        out.push(obs(
            "hypertensive-disorder",
            category::EXAM,
            loinc(codes::HYPERTENSIVE_DISORDER, "Hypertensive disorder of pregnancy"),
            ValueX::Boolean(b),
        ));
    }
    if let Some(b) = v.gestational_diabetes {
        out.push(obs(
            "gestational-diabetes",
            category::EXAM,
            local_item(KIND, local_codes::GESTATIONAL_DIABETES, "Gestational diabetes"),
            ValueX::Boolean(b),
        ));
    }
    if let Some(d) = &v.dental {
        if let Some(n) = d.caries_count {
            out.push(obs(
                "dental-caries",
                category::EXAM,
                local_item(KIND, local_codes::DENTAL_CARIES_COUNT, "Untreated carious teeth"),
                vi(n),
            ));
        }
        if let Some(b) = d.calculus {
            out.push(obs(
                "dental-calculus",
                category::EXAM,
                local_item(KIND, local_codes::DENTAL_CALCULUS, "Dental calculus"),
                ValueX::Boolean(b),
            ));
        }
        if let Some(b) = d.gingivitis {
            out.push(obs(
                "dental-gingivitis",
                category::EXAM,
                local_item(KIND, local_codes::DENTAL_GINGIVITIS, "Gingivitis"),
                ValueX::Boolean(b),
            ));
        }
    }
    if let Some(n) = text(&v.note) {
        out.push(obs(
            "note",
            category::EXAM,
            local_item(KIND, local_codes::NOTE, "Note from the clinic"),
            ValueX::String(n),
        ));
    }
    if v.gestational_diabetes == Some(true) {
        out.push(Resource::Condition(Condition {
            id: Some(ctx.id("gdm")),
            clinical_status: Some(CodeableConcept::from_codings(vec![Coding::new(
                code_systems::CONDITION_CLINICAL,
                "active",
                None,
            )])),
            code: Some(CodeableConcept::from_codings(vec![
                Coding::new(
                    code_systems::SNOMED_CT,
                    SNOMED_GESTATIONAL_DIABETES,
                    Some("Gestational diabetes mellitus"),
                ),
                local_item(KIND, local_codes::GESTATIONAL_DIABETES, "Gestational diabetes"),
            ])),
            subject: Some(ctx.subject()),
            encounter: Some(enc_ref),
            recorded_date: Some(date_text(v.visit_date)),
            ..Default::default()
        }));
    }
    Ok(out)
}

fn read_encounter(e: &Encounter, path: &str, v: &mut PrenatalVisit) -> Result<NaiveDate> {
    let start =
        e.period.as_ref().and_then(|p| p.start.as_deref()).ok_or_else(|| missing(format!("{path}.period.start")))?;
    let date = parse_date(start, &format!("{path}.period.start"))?;
    if let Some(sp) = &e.service_provider {
        match sp.reference.as_deref() {
            Some(r) if r.starts_with('#') => {
                let id = &r[1..];
                let org = e
                    .contained
                    .iter()
                    .find_map(|c| match c {
                        Resource::Organization(o) if o.id.as_deref() == Some(id) => Some(o),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        invalid(
                            &format!("{path}.serviceProvider.reference"),
                            format!("no contained Organization {r:?}"),
                        )
                    })?;
                v.clinic_name = org.name.clone();
                v.clinic_id = org
                    .identifier
                    .iter()
                    .find(|i| i.system.as_deref() == Some(code_systems::FACILITY_ID))
                    .and_then(|i| i.value.clone());
            }
            _ => v.clinic_name = sp.display.clone(),
        }
    }
    Ok(date)
}

/// Reads the resources of a visit.
pub fn from_fhir(resources: &[Resource]) -> Result<PrenatalVisit> {
    let table = items();
    let table: Vec<(&str, &str, Item)> = table.iter().map(|(s, c, i)| (s.as_str(), *c, *i)).collect();
    let mut v = PrenatalVisit::new(NaiveDate::MIN);
    let mut visit_date = None;
    let (mut labs, mut screens, mut dental) = (Labs::default(), InfectionScreens::default(), Dental::default());
    let mut gdm_condition = false;
    let local = code_systems::local(KIND);
    let sys = |vs: &str| code_systems::local_answers(KIND, vs);
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let o = match r {
            Resource::Encounter(e) => {
                let date = read_encounter(e, &path, &mut v)?;
                set_once(&mut visit_date, date, &path)?;
                continue;
            }
            Resource::Condition(c) => {
                let code = c.code.as_ref().ok_or_else(|| missing(format!("{path}.code")))?;
                if code.has(code_systems::SNOMED_CT, SNOMED_GESTATIONAL_DIABETES)
                    || code.has(&local, local_codes::GESTATIONAL_DIABETES)
                    || code.coding.iter().filter_map(icd10_code).any(|c| c.starts_with(ICD10_GESTATIONAL_DIABETES))
                {
                    gdm_condition = true;
                    continue;
                }
                return Err(unknown_item(code, &path));
            }
            Resource::Observation(o) => o,
            other => return Err(unexpected(other, i, KIND)),
        };
        let item = item_of(&o.code, &table).ok_or_else(|| unknown_item(&o.code, &path))?;
        effective_date(o, &path)?;
        let val = Val::of_obs(o, &path);
        match item {
            Item::Ga => set_once(&mut v.gestational_age, read_gestational_age(&val)?, &path)?,
            Item::Weight => set_once(&mut v.body_weight, val.quantity()?, &path)?,
            Item::Bp => set_once(&mut v.blood_pressure, read_bp(o, &path)?, &path)?,
            Item::Fundal => set_once(&mut v.fundal_height, val.quantity()?, &path)?,
            Item::Girth => set_once(&mut v.abdominal_girth, val.quantity()?, &path)?,
            Item::Edema => set_once(&mut v.edema, val.coded(Edema::ALL, Edema::code, &sys("edema"))?, &path)?,
            Item::UrineProtein => set_once(
                &mut v.urine_protein,
                val.coded(UrineStrip::ALL, UrineStrip::code, &sys("urine_strip"))?,
                &path,
            )?,
            Item::UrineGlucose => set_once(
                &mut v.urine_glucose,
                val.coded(UrineStrip::ALL, UrineStrip::code, &sys("urine_strip"))?,
                &path,
            )?,
            Item::Fhr => set_once(&mut v.fetal_heart_rate, val.quantity()?, &path)?,
            Item::Presentation => set_once(
                &mut v.fetal_presentation,
                val.coded(FetalPresentation::ALL, FetalPresentation::code, &sys("fetal_presentation"))?,
                &path,
            )?,
            Item::Hb => set_once(&mut labs.hemoglobin, val.quantity()?, &path)?,
            Item::Hct => set_once(&mut labs.hematocrit, val.quantity()?, &path)?,
            Item::Plt => set_once(&mut labs.platelets, val.quantity()?, &path)?,
            Item::HbsAg | Item::Hcv | Item::Htlv1 | Item::Gbs => {
                let r = val.coded(ScreenResult::ALL, ScreenResult::code, &sys("screen_result"))?;
                let slot = match item {
                    Item::HbsAg => &mut screens.hbs_ag,
                    Item::Hcv => &mut screens.hcv_antibody,
                    Item::Htlv1 => &mut screens.htlv1_antibody,
                    _ => &mut screens.gbs,
                };
                set_once(slot, r, &path)?
            }
            Item::Rubella => set_once(
                &mut screens.rubella_antibody,
                val.coded(RubellaImmunity::ALL, RubellaImmunity::code, &sys("rubella_immunity"))?,
                &path,
            )?,
            Item::Cytology => set_once(
                &mut screens.cervical_cytology,
                val.coded(CervicalCytology::ALL, CervicalCytology::code, &sys("cervical_cytology"))?,
                &path,
            )?,
            Item::Hdp => set_once(&mut v.hypertensive_disorder, val.boolean()?, &path)?,
            Item::Gdm => set_once(&mut v.gestational_diabetes, val.boolean()?, &path)?,
            Item::Caries => set_once(&mut dental.caries_count, val.integer()?, &path)?,
            Item::Calculus => set_once(&mut dental.calculus, val.boolean()?, &path)?,
            Item::Gingivitis => set_once(&mut dental.gingivitis, val.boolean()?, &path)?,
            Item::Note => set_once(&mut v.note, val.string()?, &path)?,
        }
    }
    if gdm_condition {
        match v.gestational_diabetes {
            Some(false) => {
                return Err(invalid(
                    "Condition",
                    "a gestational diabetes Condition contradicts the Observation saying false",
                ))
            }
            _ => v.gestational_diabetes = Some(true),
        }
    }
    v.visit_date = visit_date.ok_or_else(|| missing("Encounter"))?;
    v.labs = (labs != Labs::default()).then_some(labs);
    v.infection_screens = (screens != InfectionScreens::default()).then_some(screens);
    v.dental = (dental != Dental::default()).then_some(dental);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::to_fhir as map_to_fhir;

    fn full() -> Vec<Resource> {
        map_to_fhir(&RecordBody::PrenatalVisit(examples::prenatal_visit_full()), &ctx()).unwrap()
    }

    #[test]
    fn full_prenatal_visit_round_trips_losslessly() {
        assert_round_trip(RecordBody::PrenatalVisit(examples::prenatal_visit_full()));
    }

    #[test]
    fn minimal_prenatal_visit_round_trips_losslessly() {
        assert_round_trip(RecordBody::PrenatalVisit(examples::prenatal_visit_minimal()));
    }

    #[test]
    fn every_gestational_age_of_0_to_45_weeks_round_trips_exactly() {
        for weeks in 0..=45 {
            for days in 0..=6 {
                let ga = GestationalAge::new(weeks, days);
                let value = gestational_age_value(ga);
                let back = read_gestational_age(&Val { value: Some(&value), path: "x".into() }).unwrap();
                assert_eq!(back, ga);
            }
        }
    }

    #[test]
    fn gestational_age_in_decimal_weeks_is_read_to_the_nearest_day() {
        let q = |v: &str, code: &str| {
            ValueX::Quantity(Quantity {
                value: Decimal::parse(v),
                system: Some(code_systems::UCUM.into()),
                code: Some(code.into()),
                ..Default::default()
            })
        };
        let read = |v: ValueX| read_gestational_age(&Val { value: Some(&v), path: "x".into() });
        assert_eq!(read(q("38.285714", "wk")).unwrap(), GestationalAge::new(38, 2));
        assert_eq!(read(q("268", "d")).unwrap(), GestationalAge::new(38, 2));
        assert!(read(q("268.5", "d")).is_err());
        assert!(matches!(read(q("9", "mo")).unwrap_err(), MappingError::WrongUnit { expected: "d", .. }));
    }

    #[test]
    fn visit_is_an_encounter_with_a_contained_clinic_and_observations_reference_it() {
        let rs = full();
        let enc = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(enc["resourceType"], "Encounter");
        assert_eq!(enc["contained"][0]["resourceType"], "Organization");
        assert_eq!(enc["contained"][0]["name"], "さくら産婦人科");
        assert_eq!(enc["serviceProvider"]["reference"], "#clinic");
        for r in &rs[1..] {
            if let Resource::Observation(o) = r {
                assert_eq!(
                    o.encounter.as_ref().unwrap().reference.as_deref(),
                    Some(&*format!("Encounter/{}", ctx().primary_id()))
                );
                assert_eq!(o.effective, Some(EffectiveX::DateTime("2026-04-02".into())));
            }
        }
        assert!(rs.iter().any(|r| matches!(r, Resource::Condition(_))));
    }

    #[test]
    fn a_gestational_diabetes_condition_coded_in_icd10_alone_is_read_as_gdm() {
        for (system, code) in [(code_systems::ICD10, "O24.4"), (code_systems::JP_ICD10, "O244")] {
            let mut rs = full();
            for r in &mut rs {
                if let Resource::Condition(c) = r {
                    c.code = Some(CodeableConcept::from_codings(vec![Coding::new(system, code, None)]));
                }
            }
            assert_eq!(from_fhir(&rs).unwrap().gestational_diabetes, Some(true), "{system}");
        }
    }

    #[test]
    fn urine_strip_ordinals_use_the_local_system_with_the_handbook_symbol() {
        let mut rs = full();
        let o = obs_mut(&mut rs, codes::URINE_PROTEIN);
        let json = serde_json::to_value(&o.value).unwrap();
        assert_eq!(
            json["valueCodeableConcept"]["coding"][0],
            serde_json::json!({"system": "https://phr.example/CodeSystem/prenatal_visit/urine_strip", "code": "trace", "display": "±"})
        );
    }

    #[test]
    fn an_unknown_ordinal_code_is_refused_with_its_path() {
        let mut rs = full();
        if let Some(ValueX::CodeableConcept(cc)) = &mut obs_mut(&mut rs, codes::EDEMA).value {
            cc.coding[0].code = Some("+++".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::UnknownCode { code, .. } if code == "+++"), "{err}");
        assert!(err.path().ends_with(".valueCodeableConcept.coding[0].code"), "{err}");
    }

    #[test]
    fn an_observation_with_an_unknown_code_is_refused_naming_its_code_path() {
        let mut rs = full();
        obs_mut(&mut rs, codes::BODY_WEIGHT).code.coding[0].code = Some("3141-9".into());
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(err, MappingError::UnknownCode { .. }), "{err}");
        assert!(err.path().starts_with("Observation[") && err.path().ends_with("].code.coding[0].code"), "{err}");
    }

    #[test]
    fn weight_in_grams_is_refused_naming_kg() {
        let mut rs = full();
        if let Some(ValueX::Quantity(q)) = &mut obs_mut(&mut rs, codes::BODY_WEIGHT).value {
            q.code = Some("g".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::WrongUnit { expected: "kg", got, .. } if got == "g"), "{err}");
        assert!(err.to_string().contains("\"kg\""), "{err}");
    }

    #[test]
    fn a_visit_without_its_encounter_is_refused() {
        let mut rs = full();
        rs.remove(0);
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Encounter");
    }

    #[test]
    fn a_patient_is_not_part_of_a_visit() {
        let mut rs = full();
        rs.push(Resource::Patient(Default::default()));
        assert!(matches!(from_fhir(&rs).unwrap_err(), MappingError::UnexpectedResource { .. }));
    }
}
