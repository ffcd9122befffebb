//! `child_checkup` (乳幼児健診) <-> one Encounter + one Observation per item.
//!
//! - Encounter (id = record id): `finished`, class `AMB`, `type` = the checkup type
//!   (local answers `.../child_checkup/checkup_type`), `period.start` = the date,
//!   the facility as a display-only `serviceProvider`.
//! - Every Observation: `subject` the child, `encounter` the Encounter,
//!   `effectiveDateTime` the checkup date.
//! - Weight 29463-7 `kg`; length 8306-3 (recumbent) or height 8302-2 (standing)
//!   `cm` — the code carries the measuring position, so `length_position` needs no
//!   element of its own; head circumference 9843-4 `cm`; chest circumference JP
//!   31000299 `cm`. The Kaup index (JP 31003601) is derived: sent in `kg/m2`
//!   (numerically what the index is; the dataset spec's `%` fits 肥満度, which we do not
//!   compute) and ignored on the way back.
//! - Growth scores: one Observation per indicator, coded with the percentile LOINC
//!   where the dataset spec gives one (8289-1 head circumference, 77606-2 weight-for-length)
//!   next to the local indicator code; the percentile as `valueQuantity` `%`, the
//!   z-score as a component (local `z_score`, UCUM `{z-score}`).
//! - Physician findings: one Observation per recorded item (local item code, e.g.
//!   `hip_abduction_limit`), value a local answer (`no_finding`, `follow_up`, ...);
//!   overall judgement likewise (`overall_judgement`).
//! - 3-year items as local items `three_year_urine_protein` / `_urine_blood`
//!   (ordinal answers −…+++ with the handbook symbol as display), `_vision`, `_hearing`.
//! - The note as a local `note` item (`valueString`).

use chrono::NaiveDate;
use phr_core::dataset::child_checkup::{
    codes, CheckupType, ChildCheckup, FindingItem, FindingResult, GrowthIndicator, GrowthScore, MeasurementPosition,
    OverallJudgement, PhysicianFindings, ScreeningResult, ThreeYearItems, UrineStrip,
};
use phr_core::dataset::common::Percent;
use phr_core::dataset::RecordKind;

use super::{
    answer, category, date_text, decimal, decode, effective_date, item_of, jp, local_item, loinc, missing, parse_date,
    read_decimal, res_path, set_once, text, unexpected, unknown_item, vq, MappingContext, MappingError, Obs, Result,
    Val,
};
use crate::code_systems;
use crate::model::{Coding, EffectiveX, Encounter, Period, Quantity, Reference, Resource, ValueX};

const KIND: RecordKind = RecordKind::ChildCheckup;

/// Local item codes of this module (findings use their own codes, e.g. `head_control`).
pub mod local_codes {
    /// z-score component of a growth score.
    pub const Z_SCORE: &str = "z_score";
    /// Overall judgement.
    pub const OVERALL_JUDGEMENT: &str = "overall_judgement";
    /// 3 y: urine protein.
    pub const URINE_PROTEIN: &str = "three_year_urine_protein";
    /// 3 y: urine occult blood.
    pub const URINE_BLOOD: &str = "three_year_urine_blood";
    /// 3 y: vision screening.
    pub const VISION: &str = "three_year_vision";
    /// 3 y: hearing screening.
    pub const HEARING: &str = "three_year_hearing";
    /// Free-text note.
    pub const NOTE: &str = "note";
}

/// UCUM code of a z-score (a unitless annotation).
pub const Z_SCORE_UNIT: &str = "{z-score}";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Weight,
    Length(MeasurementPosition),
    Head,
    Chest,
    Kaup,
    Growth(GrowthIndicator),
    Finding(FindingItem),
    Judgement,
    UrineProtein,
    UrineBlood,
    Vision,
    Hearing3y,
    Note,
}

fn items() -> Vec<(String, String, Item)> {
    let l = || code_systems::LOINC.to_owned();
    let local = code_systems::local(KIND);
    let jp = code_systems::JP_MEDIS_OBSERVATION.to_owned();
    let mut t = vec![
        (l(), codes::WEIGHT.into(), Item::Weight),
        (l(), codes::LENGTH_RECUMBENT.into(), Item::Length(MeasurementPosition::Recumbent)),
        (l(), codes::HEIGHT_STANDING.into(), Item::Length(MeasurementPosition::Standing)),
        (l(), codes::HEAD_CIRCUMFERENCE.into(), Item::Head),
        (jp.clone(), codes::CHEST_CIRCUMFERENCE_JP.into(), Item::Chest),
        (jp, codes::KAUP_INDEX_JP.into(), Item::Kaup),
        (local.clone(), local_codes::OVERALL_JUDGEMENT.into(), Item::Judgement),
        (local.clone(), local_codes::URINE_PROTEIN.into(), Item::UrineProtein),
        (local.clone(), local_codes::URINE_BLOOD.into(), Item::UrineBlood),
        (local.clone(), local_codes::VISION.into(), Item::Vision),
        (local.clone(), local_codes::HEARING.into(), Item::Hearing3y),
        (local.clone(), local_codes::NOTE.into(), Item::Note),
    ];
    for &g in GrowthIndicator::ALL {
        t.push((local.clone(), g.code().into(), Item::Growth(g)));
        if let Some(code) = g.percentile_loinc() {
            t.push((l(), code.into(), Item::Growth(g)));
        }
    }
    for &f in FindingItem::ALL {
        t.push((local.clone(), f.code().into(), Item::Finding(f)));
    }
    t
}

/// The Encounter and Observations of a checkup.
pub fn to_fhir(c: &ChildCheckup, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let enc_ref = Reference::to(format!("Encounter/{}", ctx.primary_id()));
    let encounter = Encounter {
        id: Some(ctx.primary_id()),
        status: Some("finished".into()),
        class: Some(Coding::new(code_systems::V3_ACT_CODE, "AMB", Some("ambulatory"))),
        type_: vec![answer(KIND, "checkup_type", c.checkup_type.code(), c.checkup_type.code())],
        subject: Some(ctx.subject()),
        period: Some(Period { start: Some(date_text(c.date)), ..Default::default() }),
        service_provider: text(&c.facility).map(Reference::display),
        ..Default::default()
    };
    let mut out = vec![Resource::Encounter(encounter)];
    let when = EffectiveX::DateTime(date_text(c.date));
    let new = |suffix: &str, cat: &str, codings: Vec<Coding>| {
        Obs::new(ctx, suffix, cat, codings).effective(Some(when.clone())).encounter(Some(enc_ref.clone()))
    };
    if let Some(q) = &c.weight {
        out.push(
            new("weight", category::VITAL_SIGNS, vec![loinc(codes::WEIGHT, "Body weight")])
                .value(vq(q, "weight")?)
                .done(),
        );
    }
    if let Some(q) = &c.length {
        let position = c.length_position.unwrap_or(MeasurementPosition::Recumbent);
        let display = match position {
            MeasurementPosition::Recumbent => "Body height --lying",
            MeasurementPosition::Standing => "Body height",
        };
        out.push(
            new("length", category::VITAL_SIGNS, vec![loinc(position.loinc(), display)]).value(vq(q, "length")?).done(),
        );
    }
    if let Some(q) = &c.head_circumference {
        out.push(
            new(
                "head-circumference",
                category::VITAL_SIGNS,
                vec![loinc(codes::HEAD_CIRCUMFERENCE, "Head Occipital-frontal circumference")],
            )
            .value(vq(q, "head_circumference")?)
            .done(),
        );
    }
    if let Some(q) = &c.chest_circumference {
        out.push(
            new("chest-circumference", category::VITAL_SIGNS, vec![jp(codes::CHEST_CIRCUMFERENCE_JP, "胸囲")])
                .value(vq(q, "chest_circumference")?)
                .done(),
        );
    }
    if let Some(k) = c.kaup_index() {
        let q = phr_core::dataset::Quantity::<phr_core::dataset::common::KgPerM2>::new(k);
        out.push(
            new("kaup-index", category::VITAL_SIGNS, vec![jp(codes::KAUP_INDEX_JP, "カウプ指数")])
                .value(vq(&q, "kaup_index")?)
                .done(),
        );
    }
    for (i, g) in c.growth_scores.iter().enumerate() {
        let mut codings = Vec::new();
        if let Some(code) = g.indicator.percentile_loinc() {
            codings.push(loinc(code, "Percentile"));
        }
        codings.push(local_item(KIND, g.indicator.code(), g.indicator.code()));
        let mut o = new(&format!("growth-{i}"), category::EXAM, codings);
        if let Some(p) = &g.percentile {
            o = o.value(vq(p, &format!("growth_scores[{i}].percentile"))?);
        }
        if let Some(z) = g.z_score {
            o = o.component(
                vec![local_item(KIND, local_codes::Z_SCORE, "z-score")],
                ValueX::Quantity(Quantity {
                    value: Some(decimal(z, &format!("growth_scores[{i}].z_score"))?),
                    unit: Some("z-score".into()),
                    system: Some(code_systems::UCUM.into()),
                    code: Some(Z_SCORE_UNIT.into()),
                    ..Default::default()
                }),
            );
        }
        out.push(o.done());
    }
    for (n, (item, result)) in c.findings.recorded().into_iter().enumerate() {
        out.push(
            new(&format!("finding-{n}"), category::EXAM, vec![local_item(KIND, item.code(), item.code())])
                .value(ValueX::CodeableConcept(answer(KIND, "finding_result", result.code(), result.code())))
                .done(),
        );
    }
    if let Some(j) = c.overall_judgement {
        out.push(
            new(
                "overall-judgement",
                category::EXAM,
                vec![local_item(KIND, local_codes::OVERALL_JUDGEMENT, "Overall judgement")],
            )
            .value(ValueX::CodeableConcept(answer(KIND, "overall_judgement", j.code(), j.code())))
            .done(),
        );
    }
    if let Some(t) = &c.three_year {
        for (suffix, code, display, v) in [
            ("urine-protein", local_codes::URINE_PROTEIN, "Urine protein (strip)", t.urine_protein),
            ("urine-blood", local_codes::URINE_BLOOD, "Urine occult blood (strip)", t.urine_blood),
        ] {
            if let Some(u) = v {
                out.push(
                    new(suffix, category::LABORATORY, vec![local_item(KIND, code, display)])
                        .value(ValueX::CodeableConcept(answer(KIND, "urine_strip", u.code(), u.symbol())))
                        .done(),
                );
            }
        }
        for (suffix, code, display, v) in [
            ("vision", local_codes::VISION, "Vision screening", t.vision),
            ("hearing", local_codes::HEARING, "Hearing screening", t.hearing),
        ] {
            if let Some(s) = v {
                out.push(
                    new(suffix, category::EXAM, vec![local_item(KIND, code, display)])
                        .value(ValueX::CodeableConcept(answer(KIND, "screening_result", s.code(), s.code())))
                        .done(),
                );
            }
        }
    }
    if let Some(n) = text(&c.note) {
        out.push(
            new("note", category::EXAM, vec![local_item(KIND, local_codes::NOTE, "Note")])
                .value(ValueX::String(n))
                .done(),
        );
    }
    Ok(out)
}

fn set_finding(f: &mut PhysicianFindings, item: FindingItem, r: FindingResult, path: &str) -> Result<()> {
    let slot = match item {
        FindingItem::HeadControl => &mut f.head_control,
        FindingItem::EyeTracking => &mut f.eye_tracking,
        FindingItem::Strabismus => &mut f.strabismus,
        FindingItem::Hearing => &mut f.hearing,
        FindingItem::HeartMurmur => &mut f.heart_murmur,
        FindingItem::HipAbductionLimit => &mut f.hip_abduction_limit,
        FindingItem::UndescendedTestis => &mut f.undescended_testis,
        FindingItem::Naevus => &mut f.naevus,
        FindingItem::SignsOfMaltreatment => &mut f.signs_of_maltreatment,
    };
    set_once(slot, r, path)
}

fn read_growth(o: &crate::model::Observation, indicator: GrowthIndicator, path: &str) -> Result<GrowthScore> {
    let percentile = match &o.value {
        None => None,
        Some(_) => Some(Val::of_obs(o, path).quantity::<Percent>()?),
    };
    let mut z_score = None;
    for (j, c) in o.component.iter().enumerate() {
        let cpath = format!("{path}.component[{j}]");
        if !c.code.has(&code_systems::local(KIND), local_codes::Z_SCORE) {
            return Err(unknown_item(&c.code, &cpath));
        }
        let (q, qpath) = Val::of_component(c, &cpath).raw_quantity()?;
        if q.code.as_deref() != Some(Z_SCORE_UNIT) {
            return Err(MappingError::WrongUnit {
                path: format!("{qpath}.code"),
                expected: Z_SCORE_UNIT,
                got: q.code.clone().unwrap_or_default(),
            });
        }
        let v = read_decimal(
            q.value.as_ref().ok_or_else(|| missing(format!("{qpath}.value")))?,
            &format!("{qpath}.value"),
        )?;
        set_once(&mut z_score, v, &cpath)?;
    }
    if percentile.is_none() && z_score.is_none() {
        return Err(missing(format!("{path}.valueQuantity")));
    }
    Ok(GrowthScore { indicator, percentile, z_score })
}

/// Reads the resources of a checkup.
pub fn from_fhir(resources: &[Resource]) -> Result<ChildCheckup> {
    let table = items();
    let table: Vec<(&str, &str, Item)> = table.iter().map(|(s, c, i)| (s.as_str(), c.as_str(), *i)).collect();
    let mut c = ChildCheckup {
        date: NaiveDate::MIN,
        checkup_type: CheckupType::Other,
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
    };
    let mut encounter = None;
    let mut three = ThreeYearItems::default();
    let sys = |vs: &str| code_systems::local_answers(KIND, vs);
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let o = match r {
            Resource::Encounter(e) => {
                let start = e
                    .period
                    .as_ref()
                    .and_then(|p| p.start.as_deref())
                    .ok_or_else(|| missing(format!("{path}.period.start")))?;
                let date = parse_date(start, &format!("{path}.period.start"))?;
                let ty = match e.type_.as_slice() {
                    [t] => t,
                    _ => return Err(missing(format!("{path}.type"))),
                };
                let ty =
                    decode(CheckupType::ALL, CheckupType::code, ty, &sys("checkup_type"), &format!("{path}.type[0]"))?;
                set_once(&mut encounter, (date, ty), &path)?;
                c.facility = e.service_provider.as_ref().and_then(|r| r.display.clone());
                continue;
            }
            Resource::Observation(o) => o,
            other => return Err(unexpected(other, i, KIND)),
        };
        let item = item_of(&o.code, &table).ok_or_else(|| unknown_item(&o.code, &path))?;
        effective_date(o, &path)?;
        let v = Val::of_obs(o, &path);
        match item {
            Item::Weight => set_once(&mut c.weight, v.quantity()?, &path)?,
            Item::Length(pos) => {
                set_once(&mut c.length, v.quantity()?, &path)?;
                c.length_position = Some(pos);
            }
            Item::Head => set_once(&mut c.head_circumference, v.quantity()?, &path)?,
            Item::Chest => set_once(&mut c.chest_circumference, v.quantity()?, &path)?,
            Item::Kaup => {}
            Item::Growth(g) => c.growth_scores.push(read_growth(o, g, &path)?),
            Item::Finding(f) => set_finding(
                &mut c.findings,
                f,
                v.coded(FindingResult::ALL, FindingResult::code, &sys("finding_result"))?,
                &path,
            )?,
            Item::Judgement => set_once(
                &mut c.overall_judgement,
                v.coded(OverallJudgement::ALL, OverallJudgement::code, &sys("overall_judgement"))?,
                &path,
            )?,
            Item::UrineProtein => set_once(
                &mut three.urine_protein,
                v.coded(UrineStrip::ALL, UrineStrip::code, &sys("urine_strip"))?,
                &path,
            )?,
            Item::UrineBlood => set_once(
                &mut three.urine_blood,
                v.coded(UrineStrip::ALL, UrineStrip::code, &sys("urine_strip"))?,
                &path,
            )?,
            Item::Vision => set_once(
                &mut three.vision,
                v.coded(ScreeningResult::ALL, ScreeningResult::code, &sys("screening_result"))?,
                &path,
            )?,
            Item::Hearing3y => set_once(
                &mut three.hearing,
                v.coded(ScreeningResult::ALL, ScreeningResult::code, &sys("screening_result"))?,
                &path,
            )?,
            Item::Note => set_once(&mut c.note, v.string()?, &path)?,
        }
    }
    (c.date, c.checkup_type) = encounter.ok_or_else(|| missing("Encounter"))?;
    c.three_year = (three != ThreeYearItems::default()).then_some(three);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::to_fhir as map_to_fhir;

    #[test]
    fn full_child_checkup_round_trips_losslessly() {
        assert_round_trip(RecordBody::ChildCheckup(examples::child_checkup_full()));
    }

    #[test]
    fn minimal_child_checkup_round_trips_losslessly() {
        assert_round_trip(RecordBody::ChildCheckup(examples::child_checkup_minimal()));
    }

    #[test]
    fn recumbent_length_uses_8306_3_and_comes_back_recumbent() {
        let c = ChildCheckup {
            length_position: Some(MeasurementPosition::Recumbent),
            three_year: None,
            checkup_type: CheckupType::Months9To10,
            ..examples::child_checkup_full()
        };
        let mut rs = map_to_fhir(&RecordBody::ChildCheckup(c.clone()), &ctx()).unwrap();
        obs_mut(&mut rs, codes::LENGTH_RECUMBENT);
        assert_round_trip(RecordBody::ChildCheckup(c));
    }

    #[test]
    fn head_circumference_percentile_carries_loinc_8289_1_and_the_z_score_a_component() {
        let mut rs = map_to_fhir(&RecordBody::ChildCheckup(examples::child_checkup_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&*obs_mut(&mut rs, codes::HEAD_CIRCUMFERENCE_PERCENTILE)).unwrap();
        assert_eq!(json["valueQuantity"]["value"], serde_json::json!(62.5));
        let json = serde_json::to_value(&*obs_mut(&mut rs, codes::WEIGHT_FOR_LENGTH_PERCENTILE)).unwrap();
        assert_eq!(json["component"][0]["valueQuantity"]["code"], "{z-score}");
    }

    #[test]
    fn an_unknown_finding_result_is_refused_with_its_path() {
        let mut rs = map_to_fhir(&RecordBody::ChildCheckup(examples::child_checkup_full()), &ctx()).unwrap();
        if let Some(ValueX::CodeableConcept(cc)) = &mut obs_mut(&mut rs, "naevus").value {
            cc.coding[0].code = Some("maybe".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::UnknownCode { code, .. } if code == "maybe"), "{err}");
        assert!(err.path().ends_with("valueCodeableConcept.coding[0].code"), "{err}");
    }

    #[test]
    fn child_weight_in_grams_is_refused_naming_kg() {
        let mut rs = map_to_fhir(&RecordBody::ChildCheckup(examples::child_checkup_full()), &ctx()).unwrap();
        if let Some(ValueX::Quantity(q)) = &mut obs_mut(&mut rs, codes::WEIGHT).value {
            q.code = Some("g".into());
        }
        assert!(matches!(from_fhir(&rs).unwrap_err(), MappingError::WrongUnit { expected: "kg", .. }));
    }
}
