//! `phr-fhir`: FHIR R4 for the maternal & child PHR. Pure: no I/O.
//!
//! This crate owns (issue "FHIR R4 API"):
//! - focused serde models of the R4 resources the server serves and accepts
//!   (Patient, Observation, Immunization, Encounter, Bundle, OperationOutcome, ...),
//!   JSON-compatible with the standard (choice types, extensions and unknown
//!   elements preserved, decimals kept exactly as sent);
//! - the two-way mapping between `phr_core::dataset` modules and FHIR resources,
//!   with the LOINC, JP Core/MEDIS and UCUM codes listed in `docs/dataset.md`.
//!
//! | module | owns |
//! |---|---|
//! | [`model`] | the R4 resource and data type models ([`model::Resource`]) |
//! | [`mapping`] | [`mapping::to_fhir`] / [`mapping::from_fhir`], one file per dataset module |
//! | [`code_systems`] | every code system / extension URI, spelt once |

pub mod ips;
pub mod mapping;
pub mod model;

/// Code system URIs used by the mapping. One place, so a URI is never misspelt twice.
pub mod code_systems {
    /// LOINC.
    pub const LOINC: &str = "http://loinc.org";
    /// SNOMED CT.
    pub const SNOMED_CT: &str = "http://snomed.info/sct";
    /// UCUM units.
    pub const UCUM: &str = "http://unitsofmeasure.org";
    /// JP HOT9 (vaccines and drugs), MEDIS, in the OID form the dataset spec and the
    /// national exchange specs send.
    pub const JP_HOT9: &str = "urn:oid:1.2.392.200119.4.403.1";
    /// The same HOT9 code system under the URL JP Core 1.2 names it by; accepted on writes.
    pub const JP_HOT9_URL: &str = "http://medis.or.jp/CodeSystem/master-HOT9";
    /// Our own code system root for items no standard code covers.
    pub const LOCAL_ROOT: &str = "https://phr.example/CodeSystem";

    /// The local code system for one dataset module, e.g. `.../CodeSystem/child_checkup`.
    /// Holds the module's *item* codes (what was observed) where no standard code exists.
    pub fn local(module: phr_core::dataset::RecordKind) -> String {
        format!("{LOCAL_ROOT}/{}", module.as_str())
    }

    /// The local code system of one set of *answer* codes of a module, e.g.
    /// `.../CodeSystem/prenatal_visit/urine_strip`. Kept apart from the item codes
    /// of [`local`] so an answer code can never be read as an item code.
    pub fn local_answers(module: phr_core::dataset::RecordKind, value_set: &str) -> String {
        format!("{LOCAL_ROOT}/{}/{value_set}", module.as_str())
    }

    /// FHIR Observation categories (vital-signs, exam, laboratory, social-history, survey, activity).
    pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
    /// HL7 v3 ActCode (Encounter.class `AMB`).
    pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    /// Condition clinical status.
    pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    /// AllergyIntolerance clinical status (active, inactive, resolved).
    pub const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
    /// AllergyIntolerance verification status (unconfirmed, confirmed, refuted, entered-in-error).
    pub const ALLERGY_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
    /// Condition categories (problem-list-item, encounter-diagnosis).
    pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
    /// FHIR administrative gender (Patient.gender values).
    pub const ADMINISTRATIVE_GENDER: &str = "http://hl7.org/fhir/administrative-gender";
    /// YJ code (個別医薬品コード), the drug code JP Core and JAHIS use, in the OID form
    /// JP Core gives for it (`JP_MedicationCodeYJ_CS`).
    pub const JP_YJ: &str = "urn:oid:1.2.392.100495.20.1.73";
    /// The same YJ code system under the URL JP Core 1.2 names it by; accepted on writes.
    pub const JP_YJ_URL: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
    /// The OID this server sent YJ codes under before it followed JP Core (it names the
    /// MHLW drug price list code, 12 characters like YJ); still accepted on writes so a
    /// client replaying an older answer is not refused.
    pub const JP_YJ_LEGACY: &str = "urn:oid:1.2.392.100495.20.2.74";
    /// HOT13 drug codes (`JP_MedicationCodeHOT13_CS` in JP Core).
    pub const JP_HOT13: &str = "urn:oid:1.2.392.200119.4.402.1";
    /// The same HOT13 code system under its JP Core 1.2 URL; accepted on writes.
    pub const JP_HOT13_URL: &str = "http://medis.or.jp/CodeSystem/master-HOT13";
    /// The JP (MEDIS nursing practice master) 8-digit body measurement codes of the
    /// dataset spec (31002900 birth weight, 31006116 head circumference, ...), under the
    /// URI JP Core gives them (`JP_ObservationBodyMeasurementCode_CS`).
    pub const JP_MEDIS_OBSERVATION: &str = "http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationBodyMeasurementCode_CS";
    /// The placeholder this server sent those codes under before the JP Core URI was
    /// confirmed; still accepted on writes.
    pub const JP_MEDIS_OBSERVATION_LEGACY: &str = "https://phr.example/CodeSystem/jp-medis-observation";
    /// ICD-10 as MHLW publishes it for Japan (2013 edition), JP Core's `JP_ConditionDiseaseCodeICD10_CS`.
    pub const JP_ICD10: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
    /// WHO ICD-10, as FHIR names it.
    pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
    /// Identifier system of the fingerprint of a dispensing (one JAHIS dispensing; 32 hex characters).
    pub const DISPENSING_ID: &str = "https://phr.example/NamingSystem/dispensing-id";
    /// Identifier system of facility (clinic, pharmacy) ids we are given as plain strings.
    pub const FACILITY_ID: &str = "https://phr.example/NamingSystem/facility-id";

    /// The URI a code system is sent under, for any URI it is known by: JP Core 1.2's
    /// `http://medis.or.jp/...` URLs and the OIDs name the same HOT/YJ systems, and the
    /// URIs this server sent before it followed JP Core still mean what they meant.
    /// Readers compare systems through this, so a client may send either spelling.
    pub fn canonical(system: &str) -> &str {
        match system {
            JP_HOT9_URL => JP_HOT9,
            JP_HOT13_URL => JP_HOT13,
            JP_YJ_URL | JP_YJ_LEGACY => JP_YJ,
            JP_MEDIS_OBSERVATION_LEGACY => JP_MEDIS_OBSERVATION,
            other => other,
        }
    }

    /// True if the two URIs name the same code system ([`canonical`]).
    pub fn same(a: &str, b: &str) -> bool {
        canonical(a) == canonical(b)
    }

    /// Extension URIs.
    pub mod extensions {
        /// ISO 21090 name representation (JP Core: `IDE` kanji, `SYL` kana).
        pub const NAME_REPRESENTATION: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
        /// JP Core: due date of the next dose on an Immunization (valueDateTime).
        pub const JP_DUE_DATE_OF_NEXT_DOSE: &str =
            "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Immunization_DueDateOfNextDose";
        /// Local: the coded dose series (初回 / 1期 / 2期 / 追加) on Immunization.protocolApplied (valueCoding).
        pub const DOSE_SERIES: &str = "https://phr.example/StructureDefinition/dose-series";
        /// Local: the prescriber as written, on MedicationDispense (valueString).
        pub const PRESCRIBER: &str = "https://phr.example/StructureDefinition/prescriber";
        /// Local: the dose as written ("1回1錠"), on a Dosage (valueString).
        pub const DOSE_TEXT: &str = "https://phr.example/StructureDefinition/dose-text";
        /// Local: the unit of the dose as written ("錠"), on a Dosage (valueString).
        pub const DOSE_UNIT: &str = "https://phr.example/StructureDefinition/dose-unit";
        /// Local: the prescribing doctor, on MedicationDispense / MedicationStatement (valueString).
        pub const PRESCRIBING_DOCTOR: &str = "https://phr.example/StructureDefinition/prescribing-doctor";
        /// Local: the dispensing pharmacist, on MedicationDispense / MedicationStatement (valueString).
        pub const PHARMACIST: &str = "https://phr.example/StructureDefinition/pharmacist";
        /// Local: a JAHIS medication notebook record kept verbatim (valueString, repeats).
        pub const JAHIS_RECORD: &str = "https://phr.example/StructureDefinition/jahis-record";
        /// Local: the kind of a medication note (valueCode: drug_supplement, drug_caution, …), on an Annotation.
        pub const NOTE_KIND: &str = "https://phr.example/StructureDefinition/medication-note-kind";
        /// Local: the code of a medication note (JAHIS 提供情報種別), on an Annotation (valueString: free text in JAHIS, not a FHIR code).
        pub const NOTE_CODE: &str = "https://phr.example/StructureDefinition/medication-note-code";
    }
}

#[cfg(test)]
mod tests {
    use super::code_systems;
    use phr_core::dataset::RecordKind;

    #[test]
    fn local_code_system_is_named_after_the_dataset_module() {
        assert_eq!(code_systems::local(RecordKind::ChildCheckup), "https://phr.example/CodeSystem/child_checkup");
        assert_eq!(
            code_systems::local_answers(RecordKind::PrenatalVisit, "urine_strip"),
            "https://phr.example/CodeSystem/prenatal_visit/urine_strip"
        );
    }
}
