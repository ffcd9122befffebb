//! `pregnancy` <-> Observations about the mother.
//!
//! - LMP 8665-2 and EDD 11778-8 as `valueDateTime` (date precision);
//! - number of fetuses 57722-1 as `valueInteger`;
//! - status / outcome 82810-3 as a local answer code (`.../pregnancy/status`),
//!   with the outcome date as a component coded locally `outcome_date`
//!   (`valueDateTime`): the date belongs to the status it concludes.
//!
//! The status Observation is always sent (the status is required). No
//! effective time: the pregnancy record itself is undated.

use phr_core::dataset::pregnancy::{codes, Pregnancy, PregnancyStatus};
use phr_core::dataset::RecordKind;

use super::{
    answer, category, date_text, item_of, local_item, loinc, missing, res_path, set_once, unexpected, unknown_item, vi,
    MappingContext, Obs, Result, Val,
};
use crate::code_systems;
use crate::model::{Resource, ValueX};

const KIND: RecordKind = RecordKind::Pregnancy;
/// Local code of the outcome-date component.
pub const OUTCOME_DATE: &str = "outcome_date";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Lmp,
    Edd,
    Fetuses,
    Status,
}

const ITEMS: &[(&str, &str, Item)] = &[
    (code_systems::LOINC, codes::LAST_MENSTRUAL_PERIOD, Item::Lmp),
    (code_systems::LOINC, codes::ESTIMATED_DELIVERY_DATE, Item::Edd),
    (code_systems::LOINC, codes::NUMBER_OF_FETUSES, Item::Fetuses),
    (code_systems::LOINC, codes::STATUS, Item::Status),
];

/// The Observations of a pregnancy.
pub fn to_fhir(p: &Pregnancy, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    if let Some(lmp) = p.last_menstrual_period {
        out.push(
            Obs::new(
                ctx,
                "lmp",
                category::EXAM,
                vec![loinc(codes::LAST_MENSTRUAL_PERIOD, "Last menstrual period start date")],
            )
            .value(ValueX::DateTime(date_text(lmp)))
            .done(),
        );
    }
    if let Some(edd) = p.estimated_delivery_date {
        out.push(
            Obs::new(
                ctx,
                "edd",
                category::EXAM,
                vec![loinc(codes::ESTIMATED_DELIVERY_DATE, "Delivery date Estimated")],
            )
            .value(ValueX::DateTime(date_text(edd)))
            .done(),
        );
    }
    if let Some(n) = p.number_of_fetuses {
        out.push(
            Obs::new(ctx, "fetuses", category::EXAM, vec![loinc(codes::NUMBER_OF_FETUSES, "Number of fetuses")])
                .value(vi(n))
                .done(),
        );
    }
    let mut status = Obs::new(ctx, "status", category::EXAM, vec![loinc(codes::STATUS, "Pregnancy status")])
        .value(ValueX::CodeableConcept(answer(KIND, "status", p.status.code(), p.status.code())));
    if let Some(end) = p.outcome_date {
        status =
            status.component(vec![local_item(KIND, OUTCOME_DATE, "Outcome date")], ValueX::DateTime(date_text(end)));
    }
    out.push(status.done());
    Ok(out)
}

/// Reads the Observations of a pregnancy.
pub fn from_fhir(resources: &[Resource]) -> Result<Pregnancy> {
    let (mut lmp, mut edd, mut fetuses, mut status, mut outcome) = (None, None, None, None, None);
    let status_system = code_systems::local_answers(KIND, "status");
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Observation(o) = r else { return Err(unexpected(r, i, KIND)) };
        let item = item_of(&o.code, ITEMS).ok_or_else(|| unknown_item(&o.code, &path))?;
        let v = Val::of_obs(o, &path);
        match item {
            Item::Lmp => set_once(&mut lmp, v.date()?, &path)?,
            Item::Edd => set_once(&mut edd, v.date()?, &path)?,
            Item::Fetuses => set_once(&mut fetuses, v.integer()?, &path)?,
            Item::Status => {
                set_once(&mut status, v.coded(PregnancyStatus::ALL, PregnancyStatus::code, &status_system)?, &path)?;
                for (j, c) in o.component.iter().enumerate() {
                    let cpath = format!("{path}.component[{j}]");
                    if c.code.has(&code_systems::local(KIND), OUTCOME_DATE) {
                        set_once(&mut outcome, Val::of_component(c, &cpath).date()?, &cpath)?;
                    } else {
                        return Err(unknown_item(&c.code, &cpath));
                    }
                }
            }
        }
    }
    Ok(Pregnancy {
        last_menstrual_period: lmp,
        estimated_delivery_date: edd,
        number_of_fetuses: fetuses,
        status: status.ok_or_else(|| missing(format!("Observation (LOINC {})", codes::STATUS)))?,
        outcome_date: outcome,
    })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx, obs_mut};
    use crate::mapping::{to_fhir as map_to_fhir, MappingError};

    #[test]
    fn full_pregnancy_round_trips_losslessly() {
        assert_round_trip(RecordBody::Pregnancy(examples::pregnancy_full()));
    }

    #[test]
    fn minimal_pregnancy_round_trips_losslessly() {
        assert_round_trip(RecordBody::Pregnancy(examples::pregnancy_minimal()));
    }

    #[test]
    fn an_unknown_status_code_is_refused_with_its_path() {
        let mut rs = map_to_fhir(&RecordBody::Pregnancy(examples::pregnancy_full()), &ctx()).unwrap();
        let o = obs_mut(&mut rs, codes::STATUS);
        if let Some(ValueX::CodeableConcept(cc)) = &mut o.value {
            cc.coding[0].code = Some("twins".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::UnknownCode { code, .. } if code == "twins"), "{err}");
        assert_eq!(err.path(), "Observation[3].valueCodeableConcept.coding[0].code");
    }

    #[test]
    fn a_pregnancy_without_its_status_is_refused() {
        let mut rs = map_to_fhir(&RecordBody::Pregnancy(examples::pregnancy_full()), &ctx()).unwrap();
        rs.pop();
        assert!(matches!(from_fhir(&rs).unwrap_err(), MappingError::Missing { .. }));
    }
}
