//! `delivery` <-> Observations about the mother, all with `effectiveDateTime` =
//! the delivery date-time (with its offset).
//!
//! - delivery date-time 93857-1 as `valueDateTime` (exact text, offset kept);
//! - gestational age at birth 57714-8 as `valueQuantity` in **days** (`d`): the
//!   exact total (39w4d = 277 d). Weeks + days come back exactly for every valid
//!   age (days 0–6); a sender's decimal weeks (`wk`) are also read, rounded to the
//!   nearest day (as for the prenatal visit);
//! - method 57071-3 as a local answer code (`vaginal`, `assisted_vacuum`, ...);
//! - labour duration (`h`), blood loss (`mL`), transfusion (`valueBoolean`): local items;
//! - number of babies 57722-1 as `valueInteger`.

use phr_core::dataset::delivery::{codes, Delivery, DeliveryMethod};
use phr_core::dataset::RecordKind;

use super::prenatal_visit::{gestational_age_value, read_gestational_age};
use super::{
    answer, category, datetime_text, item_of, local_item, loinc, missing, res_path, set_once, unexpected, unknown_item,
    vi, vq, MappingContext, Obs, Result, Val,
};
use crate::code_systems;
use crate::model::{EffectiveX, Resource, ValueX};

const KIND: RecordKind = RecordKind::Delivery;

/// Local item codes of this module.
pub mod local_codes {
    /// Duration of labour, h.
    pub const LABOUR_DURATION: &str = "labour_duration";
    /// Blood loss, mL.
    pub const BLOOD_LOSS: &str = "blood_loss";
    /// Transfusion given.
    pub const TRANSFUSION: &str = "transfusion";
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    DeliveredAt,
    Ga,
    Method,
    Labour,
    BloodLoss,
    Transfusion,
    Babies,
}

fn items() -> Vec<(String, &'static str, Item)> {
    let local = code_systems::local(KIND);
    vec![
        (code_systems::LOINC.into(), codes::DELIVERY_DATE_TIME, Item::DeliveredAt),
        (code_systems::LOINC.into(), codes::GESTATIONAL_AGE_AT_BIRTH, Item::Ga),
        (code_systems::LOINC.into(), codes::DELIVERY_METHOD, Item::Method),
        (local.clone(), local_codes::LABOUR_DURATION, Item::Labour),
        (local.clone(), local_codes::BLOOD_LOSS, Item::BloodLoss),
        (local, local_codes::TRANSFUSION, Item::Transfusion),
        (code_systems::LOINC.into(), codes::NUMBER_OF_BABIES, Item::Babies),
    ]
}

/// The Observations of a delivery.
pub fn to_fhir(d: &Delivery, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let when = || Some(EffectiveX::DateTime(datetime_text(&d.delivered_at)));
    let obs = |suffix: &str, cat: &str, coding, value| {
        Obs::new(ctx, suffix, cat, vec![coding]).effective(when()).value(value).done()
    };
    let mut out = vec![obs(
        "delivered-at",
        category::EXAM,
        loinc(codes::DELIVERY_DATE_TIME, "Delivery date and time"),
        ValueX::DateTime(datetime_text(&d.delivered_at)),
    )];
    if let Some(ga) = d.gestational_age {
        out.push(obs(
            "gestational-age",
            category::EXAM,
            loinc(codes::GESTATIONAL_AGE_AT_BIRTH, "Gestational age Estimated"),
            gestational_age_value(ga),
        ));
    }
    out.push(obs(
        "method",
        category::EXAM,
        loinc(codes::DELIVERY_METHOD, "Delivery method"),
        ValueX::CodeableConcept(answer(KIND, "method", d.method.code(), d.method.code())),
    ));
    if let Some(q) = &d.labour_duration {
        out.push(obs(
            "labour-duration",
            category::EXAM,
            local_item(KIND, local_codes::LABOUR_DURATION, "Labour duration"),
            vq(q, "labour_duration")?,
        ));
    }
    if let Some(q) = &d.blood_loss {
        out.push(obs(
            "blood-loss",
            category::EXAM,
            local_item(KIND, local_codes::BLOOD_LOSS, "Blood loss"),
            vq(q, "blood_loss")?,
        ));
    }
    if let Some(t) = d.transfusion {
        out.push(obs(
            "transfusion",
            category::EXAM,
            local_item(KIND, local_codes::TRANSFUSION, "Transfusion given"),
            ValueX::Boolean(t),
        ));
    }
    out.push(obs(
        "babies",
        category::EXAM,
        loinc(codes::NUMBER_OF_BABIES, "Number of babies delivered"),
        vi(d.number_of_babies),
    ));
    Ok(out)
}

/// Reads the Observations of a delivery.
pub fn from_fhir(resources: &[Resource]) -> Result<Delivery> {
    let table = items();
    let table: Vec<(&str, &str, Item)> = table.iter().map(|(s, c, i)| (s.as_str(), *c, *i)).collect();
    let (mut at, mut ga, mut method, mut labour, mut loss, mut transfusion, mut babies) =
        (None, None, None, None, None, None, None);
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Observation(o) = r else { return Err(unexpected(r, i, KIND)) };
        let item = item_of(&o.code, &table).ok_or_else(|| unknown_item(&o.code, &path))?;
        let v = Val::of_obs(o, &path);
        match item {
            Item::DeliveredAt => set_once(&mut at, v.datetime()?, &path)?,
            Item::Ga => set_once(&mut ga, read_gestational_age(&v)?, &path)?,
            Item::Method => set_once(
                &mut method,
                v.coded(DeliveryMethod::ALL, DeliveryMethod::code, &code_systems::local_answers(KIND, "method"))?,
                &path,
            )?,
            Item::Labour => set_once(&mut labour, v.quantity()?, &path)?,
            Item::BloodLoss => set_once(&mut loss, v.quantity()?, &path)?,
            Item::Transfusion => set_once(&mut transfusion, v.boolean()?, &path)?,
            Item::Babies => set_once(&mut babies, v.integer()?, &path)?,
        }
    }
    Ok(Delivery {
        delivered_at: at.ok_or_else(|| missing(format!("Observation (LOINC {})", codes::DELIVERY_DATE_TIME)))?,
        gestational_age: ga,
        method: method.ok_or_else(|| missing(format!("Observation (LOINC {})", codes::DELIVERY_METHOD)))?,
        labour_duration: labour,
        blood_loss: loss,
        transfusion,
        number_of_babies: babies.ok_or_else(|| missing(format!("Observation (LOINC {})", codes::NUMBER_OF_BABIES)))?,
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::{to_fhir as map_to_fhir, MappingError};

    #[test]
    fn full_delivery_round_trips_losslessly() {
        assert_round_trip(RecordBody::Delivery(examples::delivery_full()));
    }

    #[test]
    fn minimal_delivery_round_trips_losslessly() {
        assert_round_trip(RecordBody::Delivery(examples::delivery_minimal()));
    }

    #[test]
    fn gestational_age_at_birth_is_sent_as_exact_days() {
        let rs = map_to_fhir(&RecordBody::Delivery(examples::delivery_full()), &ctx()).unwrap();
        let json = serde_json::to_value(&rs[1]).unwrap();
        assert_eq!(json["code"]["coding"][0]["code"], "57714-8");
        assert_eq!(
            json["valueQuantity"],
            serde_json::json!({"value": 277, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
        );
    }

    #[test]
    fn blood_loss_in_litres_is_refused_naming_ml() {
        let mut rs = map_to_fhir(&RecordBody::Delivery(examples::delivery_full()), &ctx()).unwrap();
        if let Some(ValueX::Quantity(q)) = &mut obs_mut(&mut rs, local_codes::BLOOD_LOSS).value {
            q.code = Some("L".into());
        }
        assert!(matches!(from_fhir(&rs).unwrap_err(), MappingError::WrongUnit { expected: "mL", .. }));
    }

    #[test]
    fn a_delivery_time_without_an_offset_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::Delivery(examples::delivery_full()), &ctx()).unwrap();
        obs_mut(&mut rs, codes::DELIVERY_DATE_TIME).value = Some(ValueX::DateTime("2026-10-05T14:32:00".into()));
        assert_eq!(from_fhir(&rs).unwrap_err().path(), "Observation[0].valueDateTime");
    }
}
