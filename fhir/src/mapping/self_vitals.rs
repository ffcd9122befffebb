//! `self_vitals` <-> vital-signs Observations, one per measurement, all with the
//! same `effectiveDateTime` (the measuring moment, with its UTC offset).
//!
//! Blood pressure is the panel 85354-9 with components 8480-6 / 8462-4 in
//! `mm[Hg]`; weight 29463-7 `kg`, temperature 8310-5 `Cel`, heart rate 8867-4
//! `/min`, SpO2 59408-5 `%` (vital-signs); blood glucose 2339-0 `mg/dL`
//! (laboratory); steps 55423-8 `{count}` (activity).

use chrono::{DateTime, FixedOffset};
use phr_core::dataset::self_vitals::{codes, BloodPressure, SelfVitals};
use phr_core::dataset::RecordKind;

use super::{
    category, datetime_text, effective_datetime, invalid, item_of, loinc, missing, res_path, set_once, unexpected,
    unknown_item, vq, MappingContext, Obs, Result, Val,
};
use crate::code_systems;
use crate::model::{EffectiveX, Observation, Reference, Resource};

const KIND: RecordKind = RecordKind::SelfVitals;

/// The blood pressure panel Observation (shared with the prenatal visit).
pub(crate) fn bp_observation(
    ctx: &MappingContext,
    bp: &BloodPressure,
    effective: EffectiveX,
    encounter: Option<Reference>,
) -> Result<Resource> {
    Ok(Obs::new(
        ctx,
        "blood-pressure",
        category::VITAL_SIGNS,
        vec![loinc(codes::BLOOD_PRESSURE_PANEL, "Blood pressure panel")],
    )
    .effective(Some(effective))
    .encounter(encounter)
    .component(vec![loinc(codes::SYSTOLIC, "Systolic blood pressure")], vq(&bp.systolic, "blood_pressure.systolic")?)
    .component(
        vec![loinc(codes::DIASTOLIC, "Diastolic blood pressure")],
        vq(&bp.diastolic, "blood_pressure.diastolic")?,
    )
    .done())
}

/// Reads a blood pressure panel (both components required).
pub(crate) fn read_bp(o: &Observation, path: &str) -> Result<BloodPressure> {
    let (mut sys, mut dia) = (None, None);
    for (j, c) in o.component.iter().enumerate() {
        let cpath = format!("{path}.component[{j}]");
        let v = Val::of_component(c, &cpath);
        if c.code.has(code_systems::LOINC, codes::SYSTOLIC) {
            set_once(&mut sys, v.quantity()?, &cpath)?;
        } else if c.code.has(code_systems::LOINC, codes::DIASTOLIC) {
            set_once(&mut dia, v.quantity()?, &cpath)?;
        } else {
            return Err(unknown_item(&c.code, &cpath));
        }
    }
    Ok(BloodPressure {
        systolic: sys.ok_or_else(|| missing(format!("{path}.component (LOINC {})", codes::SYSTOLIC)))?,
        diastolic: dia.ok_or_else(|| missing(format!("{path}.component (LOINC {})", codes::DIASTOLIC)))?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Bp,
    Weight,
    Temperature,
    HeartRate,
    Spo2,
    Glucose,
    Steps,
}

const ITEMS: &[(&str, &str, Item)] = &[
    (code_systems::LOINC, codes::BLOOD_PRESSURE_PANEL, Item::Bp),
    (code_systems::LOINC, codes::WEIGHT, Item::Weight),
    (code_systems::LOINC, codes::BODY_TEMPERATURE, Item::Temperature),
    (code_systems::LOINC, codes::HEART_RATE, Item::HeartRate),
    (code_systems::LOINC, codes::SPO2, Item::Spo2),
    (code_systems::LOINC, codes::BLOOD_GLUCOSE, Item::Glucose),
    (code_systems::LOINC, codes::STEPS, Item::Steps),
];

/// The Observations of one measuring moment.
pub fn to_fhir(v: &SelfVitals, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let when = || Some(EffectiveX::DateTime(datetime_text(&v.measured_at)));
    let mut out = Vec::new();
    if let Some(bp) = &v.blood_pressure {
        out.push(bp_observation(ctx, bp, EffectiveX::DateTime(datetime_text(&v.measured_at)), None)?);
    }
    let simple = |suffix: &str, cat: &str, code: &str, display: &str, value| {
        Obs::new(ctx, suffix, cat, vec![loinc(code, display)]).effective(when()).value(value).done()
    };
    if let Some(q) = &v.weight {
        out.push(simple("weight", category::VITAL_SIGNS, codes::WEIGHT, "Body weight", vq(q, "weight")?));
    }
    if let Some(q) = &v.body_temperature {
        out.push(simple(
            "temperature",
            category::VITAL_SIGNS,
            codes::BODY_TEMPERATURE,
            "Body temperature",
            vq(q, "body_temperature")?,
        ));
    }
    if let Some(q) = &v.heart_rate {
        out.push(simple("heart-rate", category::VITAL_SIGNS, codes::HEART_RATE, "Heart rate", vq(q, "heart_rate")?));
    }
    if let Some(q) = &v.spo2 {
        out.push(simple("spo2", category::VITAL_SIGNS, codes::SPO2, "Oxygen saturation", vq(q, "spo2")?));
    }
    if let Some(q) = &v.blood_glucose {
        out.push(simple(
            "glucose",
            category::LABORATORY,
            codes::BLOOD_GLUCOSE,
            "Glucose [Mass/volume] in Blood",
            vq(q, "blood_glucose")?,
        ));
    }
    if let Some(q) = &v.steps {
        out.push(simple("steps", category::ACTIVITY, codes::STEPS, "Number of steps", vq(q, "steps")?));
    }
    Ok(out)
}

/// Reads the Observations of one measuring moment (all must share one time).
pub fn from_fhir(resources: &[Resource]) -> Result<SelfVitals> {
    let mut at: Option<DateTime<FixedOffset>> = None;
    let mut s = SelfVitals {
        measured_at: DateTime::default(),
        blood_pressure: None,
        weight: None,
        body_temperature: None,
        heart_rate: None,
        spo2: None,
        blood_glucose: None,
        steps: None,
    };
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Observation(o) = r else { return Err(unexpected(r, i, KIND)) };
        let item = item_of(&o.code, ITEMS).ok_or_else(|| unknown_item(&o.code, &path))?;
        let when = effective_datetime(o, &path)?;
        match at {
            None => at = Some(when),
            Some(first) if first == when && first.offset() == when.offset() => {}
            Some(first) => {
                return Err(invalid(
                    &format!("{path}.effectiveDateTime"),
                    format!(
                        "all measurements of one record share one time ({}), got {}",
                        datetime_text(&first),
                        datetime_text(&when)
                    ),
                ))
            }
        }
        let v = Val::of_obs(o, &path);
        match item {
            Item::Bp => set_once(&mut s.blood_pressure, read_bp(o, &path)?, &path)?,
            Item::Weight => set_once(&mut s.weight, v.quantity()?, &path)?,
            Item::Temperature => set_once(&mut s.body_temperature, v.quantity()?, &path)?,
            Item::HeartRate => set_once(&mut s.heart_rate, v.quantity()?, &path)?,
            Item::Spo2 => set_once(&mut s.spo2, v.quantity()?, &path)?,
            Item::Glucose => set_once(&mut s.blood_glucose, v.quantity()?, &path)?,
            Item::Steps => set_once(&mut s.steps, v.quantity()?, &path)?,
        }
    }
    s.measured_at = at.ok_or_else(|| missing("Observation"))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::{to_fhir as map_to_fhir, MappingError};
    use crate::model::ValueX;

    #[test]
    fn full_self_vitals_round_trip_losslessly() {
        assert_round_trip(RecordBody::SelfVitals(examples::self_vitals_full()));
    }

    #[test]
    fn minimal_self_vitals_round_trip_losslessly() {
        assert_round_trip(RecordBody::SelfVitals(examples::self_vitals_minimal()));
    }

    #[test]
    fn blood_pressure_is_a_panel_with_systolic_and_diastolic_components_in_mm_hg() {
        let rs = map_to_fhir(&RecordBody::SelfVitals(examples::self_vitals_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[0]).unwrap();
        assert_eq!(json["code"]["coding"][0]["code"], "85354-9");
        assert_eq!(json["component"][0]["code"]["coding"][0]["code"], "8480-6");
        assert_eq!(json["component"][1]["valueQuantity"]["code"], "mm[Hg]");
        assert_eq!(json["effectiveDateTime"], "2026-03-01T07:30:00+09:00");
        assert_eq!(json["category"][0]["coding"][0]["code"], "vital-signs");
    }

    #[test]
    fn temperature_in_fahrenheit_is_refused_naming_cel() {
        let mut rs = map_to_fhir(&RecordBody::SelfVitals(examples::self_vitals_full()), &ctx()).unwrap();
        if let Some(ValueX::Quantity(q)) = &mut obs_mut(&mut rs, codes::BODY_TEMPERATURE).value {
            q.code = Some("[degF]".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(err, MappingError::WrongUnit { expected: "Cel", .. }), "{err}");
    }

    #[test]
    fn measurements_at_different_times_are_refused() {
        let mut rs = map_to_fhir(&RecordBody::SelfVitals(examples::self_vitals_full()), &ctx()).unwrap();
        obs_mut(&mut rs, codes::WEIGHT).effective = Some(EffectiveX::DateTime("2026-03-01T08:00:00+09:00".into()));
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Observation[1].effectiveDateTime");
    }

    #[test]
    fn a_missing_diastolic_component_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::SelfVitals(examples::self_vitals_full()), &ctx()).unwrap();
        obs_mut(&mut rs, codes::BLOOD_PRESSURE_PANEL).component.pop();
        let err = from_fhir(&rs).unwrap_err();
        assert!(
            matches!(err, MappingError::Missing { .. }) && err.path().starts_with("Observation[0].component"),
            "{err}"
        );
    }
}
