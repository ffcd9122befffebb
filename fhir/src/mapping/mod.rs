//! The two-way mapping between `phr_core::dataset` records and FHIR R4
//! resources, one file per dataset module (see each module's docs for its
//! choices).
//!
//! - [`to_fhir`] turns one record body into the resources that represent it
//!   (e.g. a prenatal visit: one Encounter plus one Observation per measured item).
//! - [`from_fhir`] reads such a group back. dataset -> FHIR -> dataset is lossless
//!   for every valid record (each module has a round-trip test with a fully filled
//!   and a minimal example). It never panics: a missing element, an unknown code
//!   or a wrong unit is a [`MappingError`] naming the element path.
//!
//! Common choices:
//! - Codes: LOINC where the dataset spec gives one; the JP (MEDIS) coding is sent next to
//!   it where the dataset spec names one (same CodeableConcept, both codings); items
//!   without a standard code use the module's local code system
//!   ([`code_systems::local`]) and coded answers a local system per answer set
//!   ([`code_systems::local_answers`]), with the handbook's symbol or label as display.
//! - Units: every quantity is sent as UCUM (`system` = UCUM, `code` = the unit the
//!   dataset type carries); reading back requires exactly that UCUM code, so a
//!   weight in `g` where `kg` is expected is an error naming `kg`.
//! - Numbers: values are written as the shortest decimal that reads back as the
//!   same `f64` (`62.5`, `3050`), so the round trip is exact.
//! - Ids: the primary resource of a record has the record id; the others
//!   `<record id>-<item>`. References are relative (`Patient/<id>`,
//!   `Encounter/<record id>`), the subject taken from [`MappingContext`].
//! - Derived values (BMI, Kaup index) are sent for readers and ignored on the way back.
//! - An empty optional group (`labs: Some(Labs::default())`) has nothing to send and
//!   comes back as `None`; validation treats the two alike.
//! - A blank optional text (the dataset lets it mean "none") is not sent: a FHIR
//!   string needs a non-whitespace character. It reads back as absent.
//! - Error paths are `<ResourceType>[<index in the input>].<element path>`, e.g.
//!   `Observation[3].valueQuantity.code`.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use phr_core::dataset::common::Unit;
use phr_core::dataset::{Quantity as DsQuantity, RecordBody, RecordKind};
use uuid::Uuid;

use crate::code_systems;
use crate::model::{
    CodeableConcept, Coding, Decimal, EffectiveX, Integer, Observation, ObservationComponent, Quantity, Reference,
    Resource, ValueX,
};

pub mod allergy;
pub mod child_checkup;
pub mod condition;
pub mod delivery;
pub mod development;
pub mod immunization;
pub mod medication;
pub mod mother_profile;
pub mod newborn;
pub mod pregnancy;
pub mod prenatal_visit;
pub mod self_vitals;
pub mod subject_identifiers;

/// What a mapping needs beyond the record: whose record it is and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingContext {
    /// The record id (UUIDv7 from the device); the primary resource's id.
    pub record_id: Uuid,
    /// The logical id of the subject's Patient resource (mother or child).
    pub patient_id: String,
}

impl MappingContext {
    /// A context for record `record_id` about the Patient `patient_id`.
    pub fn new(record_id: Uuid, patient_id: impl Into<String>) -> Self {
        MappingContext { record_id, patient_id: patient_id.into() }
    }

    /// `Patient/<patient_id>`.
    pub fn subject(&self) -> Reference {
        Reference::to(format!("Patient/{}", self.patient_id))
    }

    /// The id of the record's primary resource.
    pub fn primary_id(&self) -> String {
        self.record_id.to_string()
    }

    /// The id of a secondary resource: `<record id>-<suffix>` (≤ 64 chars for our suffixes).
    pub fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.record_id)
    }
}

/// Why a group of resources could not be read as a record (or a record not written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A required element is absent.
    #[error("{path}: required element is missing")]
    Missing {
        /// Element path, e.g. `Observation[2].valueQuantity`.
        path: String,
    },
    /// A code this mapping does not know.
    #[error("{path}: unknown code {code:?}{}", system.as_deref().map(|s| format!(" in {s}")).unwrap_or_default())]
    UnknownCode {
        /// Element path, e.g. `Observation[0].code.coding[0].code`.
        path: String,
        /// The system of the code, if given.
        system: Option<String>,
        /// The code.
        code: String,
    },
    /// A quantity in another unit than the one the item is recorded in.
    #[error("{path}: unit must be UCUM \"{expected}\", got {got:?}")]
    WrongUnit {
        /// Element path, e.g. `Observation[1].valueQuantity.code`.
        path: String,
        /// The UCUM code expected.
        expected: &'static str,
        /// What was sent (code, or system when the system is not UCUM).
        got: String,
    },
    /// An element with a value that does not fit (wrong type, bad date, out of range for the type).
    #[error("{path}: {reason}")]
    Invalid {
        /// Element path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A resource type that has no place in a record of this kind.
    #[error("{path}: a {resource_type} is not part of a {kind} record")]
    UnexpectedResource {
        /// `<ResourceType>[<index>]`.
        path: String,
        /// The resource type found.
        resource_type: String,
        /// The record kind being read.
        kind: RecordKind,
    },
}

impl MappingError {
    /// The element path the error is about.
    pub fn path(&self) -> &str {
        match self {
            MappingError::Missing { path }
            | MappingError::UnknownCode { path, .. }
            | MappingError::WrongUnit { path, .. }
            | MappingError::Invalid { path, .. }
            | MappingError::UnexpectedResource { path, .. } => path,
        }
    }
}

/// Result of a mapping step.
pub type Result<T> = std::result::Result<T, MappingError>;

/// The resources that represent `record` (the primary resource first).
///
/// Fails only for a record that could never pass validation (a NaN or infinite
/// measurement has no FHIR decimal form).
pub fn to_fhir(record: &RecordBody, ctx: &MappingContext) -> Result<Vec<Resource>> {
    match record {
        RecordBody::MotherProfile(m) => mother_profile::to_fhir(m, ctx),
        RecordBody::Pregnancy(m) => pregnancy::to_fhir(m, ctx),
        RecordBody::PrenatalVisit(m) => prenatal_visit::to_fhir(m, ctx),
        RecordBody::Delivery(m) => delivery::to_fhir(m, ctx),
        RecordBody::Newborn(m) => newborn::to_fhir(m, ctx),
        RecordBody::ChildCheckup(m) => child_checkup::to_fhir(m, ctx),
        RecordBody::Development(m) => development::to_fhir(m, ctx),
        RecordBody::Immunization(m) => immunization::to_fhir(m, ctx),
        RecordBody::Medication(m) => medication::to_fhir(m, ctx),
        RecordBody::SelfVitals(m) => self_vitals::to_fhir(m, ctx),
        RecordBody::SubjectIdentifiers(m) => subject_identifiers::to_fhir(m, ctx),
        RecordBody::Allergy(m) => allergy::to_fhir(m, ctx),
        RecordBody::Condition(m) => condition::to_fhir(m, ctx),
    }
}

/// The FHIR resource types the mapping of a record of `kind` can yield
/// ([`to_fhir`]), its primary resource type first. A unit test checks this
/// table against what the mapping yields for every example record.
pub const fn resource_types(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::MotherProfile => &["Patient", "Observation"],
        RecordKind::Pregnancy => &["Observation"],
        RecordKind::PrenatalVisit => &["Encounter", "Observation", "Condition"],
        RecordKind::Delivery => &["Observation"],
        RecordKind::Newborn => &["Patient", "Observation", "MedicationStatement"],
        RecordKind::ChildCheckup => &["Encounter", "Observation"],
        RecordKind::Development => &["Observation"],
        RecordKind::Immunization => &["Immunization"],
        RecordKind::Medication => &["MedicationDispense", "MedicationStatement"],
        RecordKind::SelfVitals => &["Observation"],
        RecordKind::SubjectIdentifiers => &["Patient"],
        RecordKind::Allergy => &["AllergyIntolerance"],
        RecordKind::Condition => &["Condition"],
    }
}

/// The record kinds whose mapping can yield resources of `resource_type`
/// (the inverse of [`resource_types`]), in [`RecordKind::ALL`] order; empty
/// for a type no record maps to.
pub fn kinds_yielding(resource_type: &str) -> &'static [RecordKind] {
    use RecordKind::*;
    match resource_type {
        "Patient" => &[MotherProfile, Newborn, SubjectIdentifiers],
        "Observation" => {
            &[MotherProfile, Pregnancy, PrenatalVisit, Delivery, Newborn, ChildCheckup, Development, SelfVitals]
        }
        "Encounter" => &[PrenatalVisit, ChildCheckup],
        "Condition" => &[PrenatalVisit, Condition],
        "AllergyIntolerance" => &[Allergy],
        "MedicationStatement" => &[Newborn, Medication],
        "Immunization" => &[Immunization],
        "MedicationDispense" => &[Medication],
        _ => &[],
    }
}

/// Which code systems a write of `resource_type` is read in, for people (the
/// CapabilityStatement's per-type `documentation`, and `docs/fhir-codes.md`).
/// Every system listed here is one the mapping of that type accepts; a system
/// spelt two ways (OID and JP Core URL) is accepted in both ([`code_systems::canonical`]).
pub fn accepted_codes(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "Immunization" => {
            "vaccineCode: the local vaccine list (https://phr.example/CodeSystem/immunization/vaccine); or JP HOT9 \
             (urn:oid:1.2.392.200119.4.403.1 or http://medis.or.jp/CodeSystem/master-HOT9), HOT13 \
             (urn:oid:1.2.392.200119.4.402.1 or http://medis.or.jp/CodeSystem/master-HOT13) or YJ \
             (urn:oid:1.2.392.100495.20.1.73 or http://capstandard.jp/iyaku.info/CodeSystem/YJ-code) product codes, \
             mapped to the local vaccine by protocolApplied.targetDisease (SNOMED CT, or ICD-10: \
             http://hl7.org/fhir/sid/icd-10 or http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full) and kept \
             as 'other' under vaccineCode.text when the diseases name no single local vaccine"
        }
        "Observation" => {
            "code: LOINC (http://loinc.org) for vital signs, body measurements and labs; the JP Core body \
             measurement codes (http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationBodyMeasurementCode_CS) the \
             dataset names; the module's local codes (https://phr.example/CodeSystem/<module>) for the rest"
        }
        "Encounter" => {
            "a prenatal or child checkup: the Encounter with the Observations (as for Observation) and, for a \
             prenatal visit, a gestational diabetes Condition (SNOMED CT 11687002, ICD-10 O24.4 in either ICD-10 \
             system, or the local code) that reference it, in one transaction"
        }
        "Condition" => {
            "a problem-list entry (no encounter): the local condition list (https://phr.example/CodeSystem/condition), \
             else SNOMED CT (pre-eclampsia 398254007, gestational hypertension 48194001, gestational diabetes \
             11687002, diabetes 73211009, thyroid disorder 14304000, epilepsy 84757009, asthma 195967001, heart \
             disease 56265001), else the ICD-10 category (O10, O13, O14, O14.2, O24.4, G40, J45), else 'other' named by \
             code.text; the ICD-10 code in http://hl7.org/fhir/sid/icd-10 \
             or http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full; clinicalStatus in \
             http://terminology.hl7.org/CodeSystem/condition-clinical (active, remission, resolved, inactive). \
             With an encounter, a prenatal visit's gestational diabetes (SNOMED CT 11687002, ICD-10 O24.4, or the \
             local code)"
        }
        "AllergyIntolerance" => {
            "category (food, medication, environment, biologic, one); code.text the substance; foods in the local \
             list (https://phr.example/CodeSystem/allergy/food) or SNOMED CT (egg 102263004, cow's milk 3718001, \
             peanut 256349002); drugs in YJ, HOT9 or HOT13 (OID or JP Core URL, as for MedicationDispense); \
             clinicalStatus and verificationStatus in the HL7 allergyintolerance-clinical / -verification systems; \
             reaction.manifestation in SNOMED CT or the local list (https://phr.example/CodeSystem/allergy/manifestation), \
             other manifestations as text"
        }
        "MedicationStatement" => {
            "newborn vitamin K2 syrup doses: the local code (https://phr.example/CodeSystem/newborn); otherwise an OTC \
             drug (category community) or a drug the family entered (category patientspecified, \
             http://terminology.hl7.org/CodeSystem/medication-statement-category), coded as for MedicationDispense, \
             with effectivePeriod.start"
        }
        "MedicationDispense" => {
            "medicationCodeableConcept: YJ, HOT9 or HOT13 (OID or JP Core URL, as for Immunization), the receipt \
             computer code (https://phr.example/CodeSystem/medication/receipt_code), the MHLW price list code \
             (https://phr.example/CodeSystem/medication/mhlw_code) or the local drug list, with the drug name as \
             text or display"
        }
        _ => return None,
    })
}

/// Reads the resources of one record of `kind` back into its dataset body.
pub fn from_fhir(kind: RecordKind, resources: &[Resource]) -> Result<RecordBody> {
    Ok(match kind {
        RecordKind::MotherProfile => RecordBody::MotherProfile(mother_profile::from_fhir(resources)?),
        RecordKind::Pregnancy => RecordBody::Pregnancy(pregnancy::from_fhir(resources)?),
        RecordKind::PrenatalVisit => RecordBody::PrenatalVisit(prenatal_visit::from_fhir(resources)?),
        RecordKind::Delivery => RecordBody::Delivery(delivery::from_fhir(resources)?),
        RecordKind::Newborn => RecordBody::Newborn(newborn::from_fhir(resources)?),
        RecordKind::ChildCheckup => RecordBody::ChildCheckup(child_checkup::from_fhir(resources)?),
        RecordKind::Development => RecordBody::Development(development::from_fhir(resources)?),
        RecordKind::Immunization => RecordBody::Immunization(immunization::from_fhir(resources)?),
        RecordKind::Medication => RecordBody::Medication(medication::from_fhir(resources)?),
        RecordKind::SelfVitals => RecordBody::SelfVitals(self_vitals::from_fhir(resources)?),
        RecordKind::SubjectIdentifiers => RecordBody::SubjectIdentifiers(subject_identifiers::from_fhir(resources)?),
        RecordKind::Allergy => RecordBody::Allergy(allergy::from_fhir(resources)?),
        RecordKind::Condition => RecordBody::Condition(condition::from_fhir(resources)?),
    })
}

// ---------------------------------------------------------------------------
// Helpers shared by the module mappings
// ---------------------------------------------------------------------------

/// Observation category codes.
pub(crate) mod category {
    pub const VITAL_SIGNS: &str = "vital-signs";
    pub const EXAM: &str = "exam";
    pub const LABORATORY: &str = "laboratory";
    pub const SOCIAL_HISTORY: &str = "social-history";
    pub const SURVEY: &str = "survey";
    pub const ACTIVITY: &str = "activity";
}

/// A LOINC coding.
pub(crate) fn loinc(code: &str, display: &str) -> Coding {
    Coding::new(code_systems::LOINC, code, Some(display))
}

/// A JP (MEDIS) observation coding.
pub(crate) fn jp(code: &str, display: &str) -> Coding {
    Coding::new(code_systems::JP_MEDIS_OBSERVATION, code, Some(display))
}

/// A local item coding of `kind`.
pub(crate) fn local_item(kind: RecordKind, code: &str, display: &str) -> Coding {
    Coding::new(code_systems::local(kind), code, Some(display))
}

/// A CodeableConcept holding one local answer code.
pub(crate) fn answer(kind: RecordKind, value_set: &str, code: &str, display: &str) -> CodeableConcept {
    CodeableConcept::from_codings(vec![Coding::new(code_systems::local_answers(kind, value_set), code, Some(display))])
}

/// An optional free text as FHIR gets it: `None` when blank. A FHIR string must
/// hold a non-whitespace character (`""` fails the R4 JSON schema, a blank fails
/// fhir.resources), and the dataset lets a blank optional text mean "none"
/// (`Problems::opt_text`), so a blank is sent as nothing and reads back as `None`.
pub(crate) fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().filter(|t| !t.trim().is_empty()).map(str::to_owned)
}

/// A FHIR date (`YYYY-MM-DD`).
pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A FHIR dateTime with its offset, seconds always, fractions only when present.
pub(crate) fn datetime_text(at: &DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Reads a FHIR date (date precision only).
pub(crate) fn parse_date(text: &str, path: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| invalid(path, format!("must be a full date YYYY-MM-DD, got {text:?}")))
}

/// Reads a FHIR dateTime with seconds and offset.
pub(crate) fn parse_datetime(text: &str, path: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|_| invalid(path, format!("must be a dateTime with seconds and a UTC offset, got {text:?}")))
}

/// The ICD-10 code of a coding in ICD-10 (WHO, or the MHLW edition JP Core names),
/// upper-case and without the dot (`O24.4` and `O244` alike), if it is one.
pub(crate) fn icd10_code(c: &Coding) -> Option<String> {
    let system = c.system.as_deref()?;
    (system == code_systems::ICD10 || system == code_systems::JP_ICD10)
        .then_some(c.code.as_deref())
        .flatten()
        .map(|code| code.chars().filter(|ch| *ch != '.').collect::<String>().to_ascii_uppercase())
}

pub(crate) fn invalid(path: &str, reason: impl Into<String>) -> MappingError {
    MappingError::Invalid { path: path.to_owned(), reason: reason.into() }
}

pub(crate) fn missing(path: impl Into<String>) -> MappingError {
    MappingError::Missing { path: path.into() }
}

/// A dataset quantity as a UCUM FHIR Quantity.
pub(crate) fn quantity<U: Unit>(q: &DsQuantity<U>, what: &str) -> Result<Quantity> {
    let value = Decimal::from_f64(q.value)
        .ok_or_else(|| invalid(what, format!("{} is not a finite number; FHIR has no form for it", q.value)))?;
    Ok(Quantity {
        value: Some(value),
        unit: Some(U::UCUM.to_owned()),
        system: Some(code_systems::UCUM.to_owned()),
        code: Some(U::UCUM.to_owned()),
        ..Default::default()
    })
}

/// A plain number (z-score) as a decimal.
pub(crate) fn decimal(v: f64, what: &str) -> Result<Decimal> {
    Decimal::from_f64(v).ok_or_else(|| invalid(what, format!("{v} is not a finite number; FHIR has no form for it")))
}

/// Reads a UCUM FHIR Quantity into a dataset quantity of unit `U`.
pub(crate) fn read_quantity<U: Unit>(q: &Quantity, path: &str) -> Result<DsQuantity<U>> {
    if let Some(system) = &q.system {
        if system != code_systems::UCUM {
            return Err(MappingError::WrongUnit {
                path: format!("{path}.system"),
                expected: U::UCUM,
                got: system.clone(),
            });
        }
    }
    match q.code.as_deref() {
        Some(code) if code == U::UCUM => {}
        Some(code) => {
            return Err(MappingError::WrongUnit { path: format!("{path}.code"), expected: U::UCUM, got: code.into() })
        }
        None => return Err(missing(format!("{path}.code"))),
    }
    if let Some(c) = &q.comparator {
        return Err(invalid(&format!("{path}.comparator"), format!("an exact value is required, got {c:?}")));
    }
    let value = q.value.as_ref().ok_or_else(|| missing(format!("{path}.value")))?;
    let v = value.to_f64().ok_or_else(|| invalid(&format!("{path}.value"), "must be a finite number"))?;
    Ok(DsQuantity::new(v))
}

/// Reads a FHIR decimal into an f64.
pub(crate) fn read_decimal(d: &Decimal, path: &str) -> Result<f64> {
    d.to_f64().ok_or_else(|| invalid(path, "must be a finite number"))
}

/// Finds the value of a coded enum by its local code in `cc` (`system` coding).
pub(crate) fn decode<T: Copy + 'static>(
    all: &'static [T],
    code_of: impl Fn(T) -> &'static str,
    cc: &CodeableConcept,
    system: &str,
    path: &str,
) -> Result<T> {
    let (i, coding) = cc
        .coding
        .iter()
        .enumerate()
        .find(|(_, c)| c.system.as_deref().is_some_and(|s| code_systems::same(s, system)))
        .ok_or_else(|| MappingError::Missing { path: format!("{path}.coding (system {system})") })?;
    let code = coding.code.as_deref().ok_or_else(|| missing(format!("{path}.coding[{i}].code")))?;
    all.iter().copied().find(|v| code_of(*v) == code).ok_or_else(|| MappingError::UnknownCode {
        path: format!("{path}.coding[{i}].code"),
        system: Some(system.to_owned()),
        code: code.to_owned(),
    })
}

/// The `value[x]` of an observation or component, by the expected type.
pub(crate) struct Val<'a> {
    pub value: Option<&'a ValueX>,
    pub path: String,
}

impl<'a> Val<'a> {
    pub fn of_obs(o: &'a Observation, path: &str) -> Self {
        Val { value: o.value.as_ref(), path: path.to_owned() }
    }

    pub fn of_component(c: &'a ObservationComponent, path: &str) -> Self {
        Val { value: c.value.as_ref(), path: path.to_owned() }
    }

    fn wrong(&self, expected: &str) -> MappingError {
        match self.value {
            None => missing(format!("{}.{expected}", self.path)),
            Some(v) => invalid(&format!("{}.{}", self.path, v.key()), format!("expected {expected}")),
        }
    }

    pub fn quantity<U: Unit>(&self) -> Result<DsQuantity<U>> {
        match self.value {
            Some(ValueX::Quantity(q)) => read_quantity(q, &format!("{}.valueQuantity", self.path)),
            _ => Err(self.wrong("valueQuantity")),
        }
    }

    pub fn raw_quantity(&self) -> Result<(&'a Quantity, String)> {
        match self.value {
            Some(ValueX::Quantity(q)) => Ok((q, format!("{}.valueQuantity", self.path))),
            _ => Err(self.wrong("valueQuantity")),
        }
    }

    pub fn coded<T: Copy + 'static>(
        &self,
        all: &'static [T],
        code_of: impl Fn(T) -> &'static str,
        system: &str,
    ) -> Result<T> {
        match self.value {
            Some(ValueX::CodeableConcept(cc)) => {
                decode(all, code_of, cc, system, &format!("{}.valueCodeableConcept", self.path))
            }
            _ => Err(self.wrong("valueCodeableConcept")),
        }
    }

    pub fn integer<T: TryFrom<i64>>(&self) -> Result<T> {
        match self.value {
            Some(ValueX::Integer(i)) => {
                let p = format!("{}.valueInteger", self.path);
                let n = i.as_i64().ok_or_else(|| invalid(&p, format!("must be a whole number, got {}", i.0)))?;
                T::try_from(n).map_err(|_| invalid(&p, format!("{n} is out of range")))
            }
            _ => Err(self.wrong("valueInteger")),
        }
    }

    pub fn boolean(&self) -> Result<bool> {
        match self.value {
            Some(ValueX::Boolean(b)) => Ok(*b),
            _ => Err(self.wrong("valueBoolean")),
        }
    }

    pub fn string(&self) -> Result<String> {
        match self.value {
            Some(ValueX::String(s)) => Ok(s.clone()),
            _ => Err(self.wrong("valueString")),
        }
    }

    pub fn date(&self) -> Result<NaiveDate> {
        match self.value {
            Some(ValueX::DateTime(s)) => parse_date(s, &format!("{}.valueDateTime", self.path)),
            Some(ValueX::Date(s)) => parse_date(s, &format!("{}.valueDate", self.path)),
            _ => Err(self.wrong("valueDateTime")),
        }
    }

    pub fn datetime(&self) -> Result<DateTime<FixedOffset>> {
        match self.value {
            Some(ValueX::DateTime(s)) => parse_datetime(s, &format!("{}.valueDateTime", self.path)),
            _ => Err(self.wrong("valueDateTime")),
        }
    }
}

/// Builds an Observation with the fields every mapping sets.
pub(crate) struct Obs {
    pub obs: Observation,
}

impl Obs {
    /// `final` Observation `id` of `category` about the context's subject, coded `codings`.
    pub fn new(ctx: &MappingContext, suffix: &str, cat: &str, codings: Vec<Coding>) -> Self {
        let category = CodeableConcept::from_codings(vec![Coding::new(code_systems::OBSERVATION_CATEGORY, cat, None)]);
        Obs {
            obs: Observation {
                id: Some(ctx.id(suffix)),
                status: Some("final".into()),
                category: vec![category],
                code: CodeableConcept::from_codings(codings),
                subject: Some(ctx.subject()),
                ..Default::default()
            },
        }
    }

    pub fn effective(mut self, e: Option<EffectiveX>) -> Self {
        self.obs.effective = e;
        self
    }

    pub fn encounter(mut self, r: Option<Reference>) -> Self {
        self.obs.encounter = r;
        self
    }

    pub fn value(mut self, v: ValueX) -> Self {
        self.obs.value = Some(v);
        self
    }

    pub fn component(mut self, codings: Vec<Coding>, v: ValueX) -> Self {
        self.obs.component.push(ObservationComponent {
            code: CodeableConcept::from_codings(codings),
            value: Some(v),
            ..Default::default()
        });
        self
    }

    pub fn done(self) -> Resource {
        Resource::Observation(self.obs)
    }
}

/// `valueQuantity` of a dataset quantity.
pub(crate) fn vq<U: Unit>(q: &DsQuantity<U>, what: &str) -> Result<ValueX> {
    quantity(q, what).map(ValueX::Quantity)
}

/// `valueInteger`.
pub(crate) fn vi(n: impl Into<Integer>) -> ValueX {
    ValueX::Integer(n.into())
}

/// Which item of a module an Observation (or component) is, found by any of its
/// codings in a table of `(system, code, item)`; `None` if no coding matches.
pub(crate) fn item_of<T: Copy>(cc: &CodeableConcept, table: &[(&str, &str, T)]) -> Option<T> {
    cc.coding.iter().find_map(|c| {
        let (system, code) = (c.system.as_deref()?, c.code.as_deref()?);
        table.iter().find(|(s, k, _)| code_systems::same(s, system) && *k == code).map(|(_, _, t)| *t)
    })
}

/// The error for an Observation whose code is in no table.
pub(crate) fn unknown_item(cc: &CodeableConcept, path: &str) -> MappingError {
    match cc.coding.first() {
        None => missing(format!("{path}.code.coding")),
        Some(c) => MappingError::UnknownCode {
            path: format!("{path}.code.coding[0].code"),
            system: c.system.clone(),
            code: c.code.clone().unwrap_or_default(),
        },
    }
}

/// `Type[index]`, the prefix of error paths.
pub(crate) fn res_path(r: &Resource, index: usize) -> String {
    format!("{}[{index}]", r.resource_type())
}

/// The error for a resource with no place in a `kind` record.
pub(crate) fn unexpected(r: &Resource, index: usize, kind: RecordKind) -> MappingError {
    MappingError::UnexpectedResource { path: res_path(r, index), resource_type: r.resource_type().to_owned(), kind }
}

/// The date of `effectiveDateTime` (date precision) of an Observation.
pub(crate) fn effective_date(o: &Observation, path: &str) -> Result<NaiveDate> {
    match &o.effective {
        Some(EffectiveX::DateTime(s)) => parse_date(s, &format!("{path}.effectiveDateTime")),
        _ => Err(missing(format!("{path}.effectiveDateTime"))),
    }
}

/// The dateTime of `effectiveDateTime` of an Observation.
pub(crate) fn effective_datetime(o: &Observation, path: &str) -> Result<DateTime<FixedOffset>> {
    match &o.effective {
        Some(EffectiveX::DateTime(s)) => parse_datetime(s, &format!("{path}.effectiveDateTime")),
        _ => Err(missing(format!("{path}.effectiveDateTime"))),
    }
}

/// Sets `slot` once; a second Observation of the same item is an error.
pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, path: &str) -> Result<()> {
    if slot.is_some() {
        return Err(invalid(path, "the same item appears twice in one record"));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared assertions of the per-module round-trip tests.

    use super::*;

    /// The context every mapping test uses.
    pub fn ctx() -> MappingContext {
        MappingContext::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001), "pt-1")
    }

    /// dataset -> FHIR -> JSON text -> FHIR -> dataset must give the record back,
    /// every resource must serialize with its `resourceType`, and ids stay ≤ 64 chars.
    pub fn assert_round_trip(body: RecordBody) {
        let resources = to_fhir(&body, &ctx()).expect("to_fhir");
        assert!(!resources.is_empty());
        let mut parsed = Vec::new();
        for r in &resources {
            let json = serde_json::to_value(r).expect("serialize");
            assert_eq!(json.get("resourceType").and_then(|v| v.as_str()), Some(r.resource_type()));
            if let Some(id) = r.id() {
                assert!(id.len() <= 64, "{id}");
            }
            let text = serde_json::to_string(r).expect("serialize");
            parsed.push(Resource::from_json(&text).expect("parse"));
        }
        assert_eq!(parsed, resources);
        let back = from_fhir(body.kind(), &parsed).expect("from_fhir");
        assert_eq!(back, body);
    }

    /// The Observation with `code` (in any system) among `resources`.
    pub fn obs_mut<'a>(resources: &'a mut [Resource], code: &str) -> &'a mut Observation {
        resources
            .iter_mut()
            .find_map(|r| match r {
                Resource::Observation(o) if o.code.coding.iter().any(|c| c.code.as_deref() == Some(code)) => Some(o),
                _ => None,
            })
            .expect("observation with code")
    }
}

#[cfg(test)]
mod tests {
    use phr_core::dataset::examples;
    use serde_json::Value;

    use super::test_support::ctx;
    use super::*;

    #[test]
    fn every_module_maps_its_full_and_minimal_example_with_resource_types() {
        for body in examples::all_full().into_iter().chain(examples::all_minimal()) {
            let rs = to_fhir(&body, &ctx()).unwrap();
            for r in &rs {
                let json = serde_json::to_value(r).unwrap();
                assert_eq!(json["resourceType"], r.resource_type(), "{:?}", body.kind());
            }
            assert_eq!(from_fhir(body.kind(), &rs).unwrap(), body);
        }
    }

    /// JSON pointers of every string in `v`.
    fn string_pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| string_pointers(c, format!("{at}/{k}"), out)),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| string_pointers(c, format!("{at}/{i}"), out)),
            Value::String(_) => out.push(at),
            _ => {}
        }
    }

    fn valid_in_the_examples_family(body: &RecordBody) -> bool {
        use phr_core::dataset::{Validate, ValidationContext};
        let pregnancy = examples::pregnancy_full();
        let mut vctx = ValidationContext::new(examples::TODAY);
        if examples::is_child_record(body.kind()) {
            vctx = vctx.with_birth_date(examples::CHILD_BIRTH_DATE);
        }
        if matches!(body.kind(), RecordKind::PrenatalVisit | RecordKind::Delivery) {
            vctx = vctx.with_pregnancy(&pregnancy);
        }
        body.validate(&vctx).is_ok()
    }

    #[test]
    fn a_blank_optional_text_is_sent_as_nothing_and_reads_back_as_absent() {
        // Found by fhir.resources and the R4 JSON schema (tests/python/fhir_validate.py):
        // a FHIR string must hold a non-whitespace character, but a valid record may
        // carry a blank optional text ("none"), which was sent as "" / "   ".
        let mut checked = 0;
        for body in examples::all_full() {
            let json = serde_json::to_value(&body).unwrap();
            let mut pointers = Vec::new();
            string_pointers(&json["body"], "/body".into(), &mut pointers);
            for pointer in pointers {
                for blank in ["", "   "] {
                    let mut changed = json.clone();
                    *changed.pointer_mut(&pointer).unwrap() = Value::String(blank.into());
                    let Ok(variant) = serde_json::from_value::<RecordBody>(changed) else { continue };
                    if !valid_in_the_examples_family(&variant) {
                        continue;
                    }
                    let mut absent = json.clone();
                    *absent.pointer_mut(&pointer).unwrap() = Value::Null;
                    let expected: RecordBody = serde_json::from_value(absent)
                        .unwrap_or_else(|e| panic!("{pointer}: blank passes validate() but is not optional: {e}"));
                    let resources = to_fhir(&variant, &ctx()).unwrap();
                    let mut strings = Vec::new();
                    let fhir = serde_json::to_value(&resources).unwrap();
                    string_pointers(&fhir, String::new(), &mut strings);
                    for s in strings {
                        let text = fhir.pointer(&s).and_then(Value::as_str).unwrap();
                        assert!(!text.trim().is_empty(), "{pointer} = {blank:?} was sent as blank FHIR string at {s}");
                    }
                    assert_eq!(from_fhir(body.kind(), &resources).unwrap(), expected, "{pointer} = {blank:?}");
                    checked += 1;
                }
            }
        }
        // Every optional free text of the dataset (24 items), blank in both ways.
        assert_eq!(checked, 24 * 2);
    }

    #[test]
    fn the_declared_resource_types_are_what_the_mapping_of_every_example_yields() {
        for kind in RecordKind::ALL {
            let mut yielded: Vec<String> = Vec::new();
            let all = examples::all_full().into_iter().chain(examples::all_minimal()).chain(examples::variants());
            for body in all.filter(|b| b.kind() == kind) {
                for r in to_fhir(&body, &ctx()).unwrap() {
                    assert!(
                        resource_types(kind).contains(&r.resource_type()),
                        "{kind} yields {} but does not declare it",
                        r.resource_type()
                    );
                    if !yielded.iter().any(|y| y == r.resource_type()) {
                        yielded.push(r.resource_type().to_owned());
                    }
                }
            }
            let mut declared: Vec<String> = resource_types(kind).iter().map(|t| t.to_string()).collect();
            declared.sort_unstable();
            yielded.sort_unstable();
            assert_eq!(declared, yielded, "{kind}: declared types that no example yields");
            let primary =
                to_fhir(&examples::all_full().into_iter().find(|b| b.kind() == kind).unwrap(), &ctx()).unwrap();
            assert_eq!(primary[0].resource_type(), resource_types(kind)[0], "{kind}: the primary type comes first");
        }
    }

    #[test]
    fn the_kinds_yielding_a_type_are_the_inverse_of_the_declared_types_in_kind_order() {
        let mut types: Vec<&str> = RecordKind::ALL.iter().flat_map(|k| resource_types(*k).iter().copied()).collect();
        types.sort_unstable();
        types.dedup();
        for t in types {
            let expected: Vec<RecordKind> =
                RecordKind::ALL.into_iter().filter(|k| resource_types(*k).contains(&t)).collect();
            assert_eq!(kinds_yielding(t), expected.as_slice(), "{t}");
        }
        assert!(kinds_yielding("NoSuchType").is_empty());
        assert!(kinds_yielding("Immunization").contains(&RecordKind::Immunization));
        assert!(!kinds_yielding("Observation").contains(&RecordKind::Immunization));
    }

    #[test]
    fn an_empty_group_is_an_error_for_every_kind() {
        for kind in RecordKind::ALL {
            assert!(from_fhir(kind, &[]).is_err(), "{kind}");
        }
    }

    #[test]
    fn resources_of_one_kind_read_as_another_kind_are_errors_not_panics() {
        for body in examples::all_full() {
            let rs = to_fhir(&body, &ctx()).unwrap();
            for kind in RecordKind::ALL.into_iter().filter(|k| *k != body.kind()) {
                assert!(from_fhir(kind, &rs).is_err(), "{} as {kind}", body.kind());
            }
        }
    }

    #[test]
    fn damaged_resources_give_ok_or_an_error_never_a_panic() {
        let garbage = [Value::Null, Value::from("x"), Value::from(-1), Value::Array(vec![]), serde_json::json!({})];
        for body in examples::all_full() {
            let rs = to_fhir(&body, &ctx()).unwrap();
            for (i, r) in rs.iter().enumerate() {
                let Value::Object(obj) = serde_json::to_value(r).unwrap() else { panic!("not an object") };
                for key in obj.keys().filter(|k| *k != "resourceType") {
                    let mut variants = vec![];
                    let mut removed = obj.clone();
                    removed.remove(key);
                    variants.push(removed);
                    for g in &garbage {
                        let mut changed = obj.clone();
                        changed.insert(key.clone(), g.clone());
                        variants.push(changed);
                    }
                    for v in variants {
                        let Ok(damaged) = Resource::from_value(Value::Object(v)) else { continue };
                        let mut group = rs.clone();
                        group[i] = damaged;
                        // Ok (an optional element) or Err — never a panic.
                        let _ = from_fhir(body.kind(), &group);
                    }
                }
            }
        }
    }

    #[test]
    fn a_non_finite_measurement_is_an_error_not_a_panic() {
        let mut v = examples::self_vitals_full();
        v.weight = Some(phr_core::dataset::Quantity::new(f64::NAN));
        let err = to_fhir(&RecordBody::SelfVitals(v), &ctx()).unwrap_err();
        assert_eq!(err.path(), "weight");
    }

    #[test]
    fn error_messages_name_the_path_and_the_expected_unit() {
        let e = MappingError::WrongUnit {
            path: "Observation[1].valueQuantity.code".into(),
            expected: "kg",
            got: "g".into(),
        };
        assert_eq!(e.to_string(), "Observation[1].valueQuantity.code: unit must be UCUM \"kg\", got \"g\"");
        let e = MappingError::UnknownCode {
            path: "Observation[0].code.coding[0].code".into(),
            system: Some("http://loinc.org".into()),
            code: "0000-0".into(),
        };
        assert_eq!(e.to_string(), "Observation[0].code.coding[0].code: unknown code \"0000-0\" in http://loinc.org");
    }
}
