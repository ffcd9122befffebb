//! `phr-fhir`: FHIR R4 for the maternal & child PHR. Pure: no I/O.
//!
//! This crate will own (issue "FHIR R4 API"):
//! - focused serde models of the R4 resources the server serves and accepts
//!   (Patient, Observation, Immunization, Encounter, Bundle, OperationOutcome, ...),
//!   JSON-compatible with the standard (choice types, extensions and unknown
//!   elements preserved, decimals kept exactly as sent);
//! - the two-way mapping between `phr_core::dataset` modules and FHIR resources,
//!   with the LOINC, JP Core/MEDIS and UCUM codes of `shared/DATASET.md`.
//!
//! Today it holds the code systems every mapping will share, so there is exactly
//! one place that spells them.

/// Code system URIs used by the mapping. One place, so a URI is never misspelt twice.
pub mod code_systems {
    pub const LOINC: &str = "http://loinc.org";
    pub const SNOMED_CT: &str = "http://snomed.info/sct";
    pub const UCUM: &str = "http://unitsofmeasure.org";
    /// JP HOT9 (vaccines and drugs), MEDIS.
    pub const JP_HOT9: &str = "urn:oid:1.2.392.200119.4.403.1";
    /// Our own code system root for items no standard code covers.
    pub const LOCAL_ROOT: &str = "https://phr.example/CodeSystem";

    /// The local code system for one dataset module, e.g. `.../CodeSystem/child_checkup`.
    pub fn local(module: phr_core::dataset::RecordKind) -> String {
        format!("{LOCAL_ROOT}/{}", module.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::code_systems;
    use phr_core::dataset::RecordKind;

    #[test]
    fn local_code_system_is_named_after_the_dataset_module() {
        assert_eq!(code_systems::local(RecordKind::ChildCheckup), "https://phr.example/CodeSystem/child_checkup");
    }
}
