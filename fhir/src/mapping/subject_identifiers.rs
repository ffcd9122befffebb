//! `subject_identifiers` <-> a Patient carrying only `id` and `identifier`.
//!
//! The server merges these identifiers into the subject's Patient (with the
//! name and birth date from the mother profile or newborn record, when the
//! grant covers one). Reading back accepts only such a Patient: a Patient with
//! a name, gender or birth date belongs to another record kind.

use phr_core::dataset::{Identifier, RecordKind, SubjectIdentifiers};

use super::{invalid, missing, res_path, unexpected, MappingContext, Result};
use crate::model::{Identifier as FhirIdentifier, Patient, Resource};

const KIND: RecordKind = RecordKind::SubjectIdentifiers;

/// The Patient of the subject with these identifiers only.
pub fn to_fhir(m: &SubjectIdentifiers, ctx: &MappingContext) -> Result<Vec<Resource>> {
    Ok(vec![Resource::Patient(Patient {
        id: Some(ctx.patient_id.clone()),
        identifier: m.identifiers.iter().map(to_fhir_identifier).collect(),
        ..Default::default()
    })])
}

/// One dataset identifier as a FHIR Identifier (system and value only).
pub fn to_fhir_identifier(i: &Identifier) -> FhirIdentifier {
    FhirIdentifier { system: Some(i.system.clone()), value: Some(i.value.clone()), ..Default::default() }
}

/// One Patient of a subject from the Patients its records map to (mother
/// profile or newborn, and identifiers-only ones from this module, all with
/// the same id): the first with a name or birth date is the base, and the
/// identifiers of all are merged in, each once, in the given order. Used by
/// the server's Patient and the family's own export alike.
pub fn merge_patients(patients: Vec<Patient>) -> Patient {
    let base = patients.iter().position(|p| !p.name.is_empty() || p.birth_date.is_some());
    let mut merged = base.map(|i| patients[i].clone()).unwrap_or_default();
    for (i, p) in patients.into_iter().enumerate() {
        if Some(i) == base {
            if merged.id.is_none() {
                merged.id = p.id;
            }
            continue;
        }
        if merged.id.is_none() {
            merged.id = p.id;
        }
        for id in p.identifier {
            let known = merged.identifier.iter().any(|m| m.system == id.system && m.value == id.value);
            if !known {
                merged.identifier.push(id);
            }
        }
    }
    merged
}

/// Reads the one Patient (identifiers only) back.
pub fn from_fhir(resources: &[Resource]) -> Result<SubjectIdentifiers> {
    let mut found = None;
    for (i, r) in resources.iter().enumerate() {
        let path = res_path(r, i);
        let Resource::Patient(p) = r else { return Err(unexpected(r, i, KIND)) };
        if found.is_some() {
            return Err(invalid(&path, "a subject's identifiers are one Patient"));
        }
        let only_identifiers = Patient { id: p.id.clone(), identifier: p.identifier.clone(), ..Default::default() };
        if *p != only_identifiers {
            return Err(invalid(
                &path,
                "carries more than identifiers (name, gender, birth date belong to other records)",
            ));
        }
        let mut identifiers = Vec::with_capacity(p.identifier.len());
        for (j, id) in p.identifier.iter().enumerate() {
            let ipath = format!("{path}.identifier[{j}]");
            identifiers.push(Identifier {
                system: id.system.clone().ok_or_else(|| missing(format!("{ipath}.system")))?,
                value: id.value.clone().ok_or_else(|| missing(format!("{ipath}.value")))?,
            });
        }
        found = Some(SubjectIdentifiers { identifiers });
    }
    found.ok_or_else(|| missing("Patient"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::dataset::examples;
    use uuid::Uuid;

    fn ctx() -> MappingContext {
        MappingContext::new(Uuid::nil(), "child-patient")
    }

    #[test]
    fn identifiers_round_trip_through_a_patient_with_only_id_and_identifier() {
        let m = examples::subject_identifiers_full();
        let rs = to_fhir(&m, &ctx()).unwrap();
        let Resource::Patient(p) = &rs[0] else { panic!("not a Patient") };
        assert_eq!(p.id.as_deref(), Some("child-patient"));
        assert_eq!(p.identifier[0].system.as_deref(), Some("urn:oid:1.2.392.100495.20.3.81"));
        assert_eq!(p.identifier[0].value.as_deref(), Some("2026-0001234"));
        assert!(p.name.is_empty() && p.birth_date.is_none() && p.gender.is_none());
        assert_eq!(from_fhir(&rs).unwrap(), m);
    }

    fn fid(system: &str, value: &str) -> FhirIdentifier {
        FhirIdentifier { system: Some(system.into()), value: Some(value.into()), ..Default::default() }
    }

    #[test]
    fn the_patient_with_a_name_is_the_base_and_every_identifier_is_merged_once() {
        let ids_only = Patient {
            id: Some("p".into()),
            identifier: vec![fid("urn:oid:1.2.3", "H-1"), fid("urn:oid:9", "C-2")],
            ..Default::default()
        };
        let newborn = Patient {
            id: Some("p".into()),
            identifier: vec![fid("urn:oid:1.2.3", "H-1")],
            birth_date: Some("2026-10-05".into()),
            ..Default::default()
        };
        let merged = merge_patients(vec![ids_only.clone(), newborn]);
        assert_eq!(merged.birth_date.as_deref(), Some("2026-10-05"));
        assert_eq!(merged.identifier, vec![fid("urn:oid:1.2.3", "H-1"), fid("urn:oid:9", "C-2")]);
        assert_eq!(merge_patients(vec![ids_only.clone()]), ids_only);
        assert_eq!(merge_patients(vec![]), Patient::default());
    }

    #[test]
    fn a_patient_with_a_birth_date_or_without_a_system_is_refused() {
        let rs = to_fhir(&examples::subject_identifiers_minimal(), &ctx()).unwrap();
        let Resource::Patient(mut p) = rs[0].clone() else { panic!("not a Patient") };
        p.birth_date = Some("2026-10-05".into());
        assert!(from_fhir(&[Resource::Patient(p.clone())]).is_err());
        p.birth_date = None;
        p.identifier[0].system = None;
        let err = from_fhir(&[Resource::Patient(p)]).unwrap_err();
        assert_eq!(err.path(), "Patient[0].identifier[0].system");
        assert!(from_fhir(&[rs[0].clone(), rs[0].clone()]).is_err());
    }
}
