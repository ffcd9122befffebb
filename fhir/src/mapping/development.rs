//! `development` <-> one survey Observation.
//!
//! - `code`: the milestone, local code (`.../CodeSystem/development`), one per
//!   handbook question;
//! - `valueCodeableConcept`: the answer yes / no / unsure (local `.../development/achieved`);
//! - `effectiveDateTime`: the date the question was answered;
//! - component local `achieved_on` (`valueDateTime`): when it was achieved;
//! - `note[0].text`: the parent's note.

use phr_core::dataset::development::{Achieved, DevelopmentMilestone, Milestone};
use phr_core::dataset::RecordKind;

use super::{
    answer, category, date_text, decode, effective_date, invalid, local_item, missing, res_path, set_once, text,
    unexpected, unknown_item, MappingContext, Obs, Result, Val,
};
use crate::code_systems;
use crate::model::{Annotation, EffectiveX, Resource, ValueX};

const KIND: RecordKind = RecordKind::Development;
/// Local code of the achieved-on component.
pub const ACHIEVED_ON: &str = "achieved_on";

/// The Observation of one answered milestone.
pub fn to_fhir(m: &DevelopmentMilestone, ctx: &MappingContext) -> Result<Vec<Resource>> {
    let mut o =
        Obs::new(ctx, "milestone", category::SURVEY, vec![local_item(KIND, m.milestone.code(), m.milestone.code())])
            .effective(Some(EffectiveX::DateTime(date_text(m.answered_on))))
            .value(ValueX::CodeableConcept(answer(KIND, "achieved", m.achieved.code(), m.achieved.code())));
    if let Some(on) = m.achieved_on {
        o = o.component(vec![local_item(KIND, ACHIEVED_ON, "Achieved on")], ValueX::DateTime(date_text(on)));
    }
    let mut obs = o.obs;
    obs.id = Some(ctx.primary_id());
    if let Some(note) = text(&m.note) {
        obs.note.push(Annotation { text: Some(note), ..Default::default() });
    }
    Ok(vec![Resource::Observation(obs)])
}

/// Reads the Observation of one answered milestone.
pub fn from_fhir(resources: &[Resource]) -> Result<DevelopmentMilestone> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Observation(o) = r else { return Err(unexpected(r, i, KIND)) };
        set_once(&mut found, (o, path.clone()), &path)?;
    }
    let (o, path) = found.ok_or_else(|| missing("Observation"))?;
    let milestone =
        decode(Milestone::ALL, Milestone::code, &o.code, &code_systems::local(KIND), &format!("{path}.code")).map_err(
            |e| match e {
                super::MappingError::Missing { .. } => unknown_item(&o.code, &path),
                other => other,
            },
        )?;
    let achieved =
        Val::of_obs(o, &path).coded(Achieved::ALL, Achieved::code, &code_systems::local_answers(KIND, "achieved"))?;
    let mut achieved_on = None;
    for (j, c) in o.component.iter().enumerate() {
        let cpath = format!("{path}.component[{j}]");
        if c.code.has(&code_systems::local(KIND), ACHIEVED_ON) {
            set_once(&mut achieved_on, Val::of_component(c, &cpath).date()?, &cpath)?;
        } else {
            return Err(unknown_item(&c.code, &cpath));
        }
    }
    let note = match o.note.as_slice() {
        [] => None,
        [n] => Some(n.text.clone().ok_or_else(|| missing(format!("{path}.note[0].text")))?),
        _ => return Err(invalid(&format!("{path}.note"), "at most one note")),
    };
    Ok(DevelopmentMilestone { milestone, achieved, answered_on: effective_date(o, &path)?, achieved_on, note })
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::{examples, RecordBody};

    use super::*;
    use crate::mapping::test_support::{assert_round_trip, ctx};
    use crate::mapping::{to_fhir as map_to_fhir, MappingError};

    #[test]
    fn full_development_milestone_round_trips_losslessly() {
        assert_round_trip(RecordBody::Development(examples::development_full()));
    }

    #[test]
    fn minimal_development_milestone_round_trips_losslessly() {
        assert_round_trip(RecordBody::Development(examples::development_minimal()));
    }

    #[test]
    fn an_unknown_milestone_code_is_refused_with_its_path() {
        let mut rs = map_to_fhir(&RecordBody::Development(examples::development_full()), &ctx()).unwrap();
        if let Resource::Observation(o) = &mut rs[0] {
            o.code.coding[0].code = Some("juggling".into());
        }
        let err = from_fhir(&rs).unwrap_err();
        assert!(matches!(&err, MappingError::UnknownCode { code, .. } if code == "juggling"), "{err}");
        assert_eq!(err.path(), "Observation[0].code.coding[0].code");
    }
}
