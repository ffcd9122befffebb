//! The maternal & child minimum dataset (`docs/dataset.md`), one file per module.
//!
//! Each module is one record kind in the sync model ([`RecordKind`]), a typed
//! struct with serde (stable snake_case JSON), a [`Validate`] implementation that
//! reports *all* problems with their field paths, and its derived values.
//! [`RecordBody`] is the sum of all modules: what a record envelope seals.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

pub mod common;

pub mod allergy;
pub mod child_checkup;
pub mod condition;
pub mod delivery;
pub mod development;
pub mod examples;
pub mod immunization;
pub mod immunization_schedule;
pub mod labels;
pub mod medication;
pub mod mother_profile;
pub mod newborn;
pub mod pregnancy;
pub mod prenatal_visit;
pub mod self_vitals;
pub mod subject_identifiers;

pub use allergy::Allergy;
pub use child_checkup::ChildCheckup;
pub use common::{
    GestationalAge, Identifier, Problems, Quantity, Validate, ValidationContext, ValidationErrors, ValidationIssue,
};
pub use condition::Condition;
pub use delivery::Delivery;
pub use development::DevelopmentMilestone;
pub use immunization::Immunization;
pub use labels::{code_label, item_label};
pub use medication::Medication;
pub use mother_profile::MotherProfile;
pub use newborn::Newborn;
pub use pregnancy::Pregnancy;
pub use prenatal_visit::PrenatalVisit;
pub use self_vitals::SelfVitals;
pub use subject_identifiers::SubjectIdentifiers;

/// The dataset modules; each is one record kind in sync and one scope unit in consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `mother_profile`: identity, pre-pregnancy body size, blood group, obstetric history (one per mother).
    MotherProfile,
    /// `pregnancy`: dating (LMP, EDD), fetus count, status and outcome (one per pregnancy).
    Pregnancy,
    /// `prenatal_visit`: one prenatal checkup (妊婦健診).
    PrenatalVisit,
    /// `delivery`: when and how the mother gave birth (one per birth event).
    Delivery,
    /// `newborn`: the child at birth: sex, body size, Apgar, screenings, vitamin K.
    Newborn,
    /// `child_checkup`: one infant / child health checkup (乳幼児健診).
    ChildCheckup,
    /// `development`: parent-reported developmental milestones (保護者の記録).
    Development,
    /// `immunization`: one vaccine dose given.
    Immunization,
    /// `medication`: one drug dispensed (お薬手帳, JAHIS).
    Medication,
    /// `self_vitals`: one self-measured moment (blood pressure, weight, temperature, SpO2, ...).
    SelfVitals,
    /// `subject_identifiers`: the business identifiers of the mother or a child
    /// (handbook number, municipal number, MRN; one per subject). Not a module a
    /// grant selects: it follows the grant's subjects ([`RecordKind::follows_subjects`]).
    SubjectIdentifiers,
    /// `allergy`: one allergy or intolerance (food, drug, environment, biologic), mother or child.
    Allergy,
    /// `condition`: one problem-list entry (hypertensive disorder of pregnancy, diabetes, asthma, ...).
    Condition,
}

impl RecordKind {
    /// Every module, in canonical order (declaration order; [`ModuleSet`](crate::consent::ModuleSet) iterates in it).
    /// New kinds are appended, never inserted: [`ModuleSet`](crate::consent::ModuleSet)
    /// bits are the declaration index.
    pub const ALL: [RecordKind; 13] = [
        RecordKind::MotherProfile,
        RecordKind::Pregnancy,
        RecordKind::PrenatalVisit,
        RecordKind::Delivery,
        RecordKind::Newborn,
        RecordKind::ChildCheckup,
        RecordKind::Development,
        RecordKind::Immunization,
        RecordKind::Medication,
        RecordKind::SelfVitals,
        RecordKind::SubjectIdentifiers,
        RecordKind::Allergy,
        RecordKind::Condition,
    ];

    /// The dataset modules a consent grant selects and a research export
    /// extracts: every kind but [`RecordKind::SubjectIdentifiers`], in canonical order.
    pub const MODULES: [RecordKind; 12] = [
        RecordKind::MotherProfile,
        RecordKind::Pregnancy,
        RecordKind::PrenatalVisit,
        RecordKind::Delivery,
        RecordKind::Newborn,
        RecordKind::ChildCheckup,
        RecordKind::Development,
        RecordKind::Immunization,
        RecordKind::Medication,
        RecordKind::SelfVitals,
        RecordKind::Allergy,
        RecordKind::Condition,
    ];

    /// Whether records of this kind belong in an emergency summary (the IPS document a card
    /// carries and break-glass serves): everything but developmental milestones. Exhaustive,
    /// so a new kind must decide. A grant to the registered emergency departments
    /// ([`crate::consent::OrganizationId::EMERGENCY_DEPARTMENTS`]) may cover only these.
    pub const fn in_emergency_summary(self) -> bool {
        match self {
            RecordKind::Development => false,
            RecordKind::MotherProfile
            | RecordKind::Pregnancy
            | RecordKind::PrenatalVisit
            | RecordKind::Delivery
            | RecordKind::Newborn
            | RecordKind::ChildCheckup
            | RecordKind::Immunization
            | RecordKind::Medication
            | RecordKind::SelfVitals
            | RecordKind::SubjectIdentifiers
            | RecordKind::Allergy
            | RecordKind::Condition => true,
        }
    }

    /// True for identity data that follows a grant's *subjects* rather than its
    /// modules ([`RecordKind::SubjectIdentifiers`]): the consent decision lets
    /// every care grant covering the subject read it, and nobody else.
    pub const fn follows_subjects(self) -> bool {
        matches!(self, RecordKind::SubjectIdentifiers)
    }

    /// The stable snake_case name used in JSON, in the database and in consent scopes.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordKind::MotherProfile => "mother_profile",
            RecordKind::Pregnancy => "pregnancy",
            RecordKind::PrenatalVisit => "prenatal_visit",
            RecordKind::Delivery => "delivery",
            RecordKind::Newborn => "newborn",
            RecordKind::ChildCheckup => "child_checkup",
            RecordKind::Development => "development",
            RecordKind::Immunization => "immunization",
            RecordKind::Medication => "medication",
            RecordKind::SelfVitals => "self_vitals",
            RecordKind::SubjectIdentifiers => "subject_identifiers",
            RecordKind::Allergy => "allergy",
            RecordKind::Condition => "condition",
        }
    }

    /// The name of this module for people to read, in `language` (a tag of
    /// the message catalogs, [`crate::i18n`]; another tag falls back to
    /// English): catalog key `module-<kind>`, e.g. 妊婦健診 / Prenatal checkup.
    pub fn label(self, language: &str) -> String {
        crate::i18n::text(language, &format!("module-{}", self.as_str()), &[])
    }

    /// Whether records of this kind are about the mother, a child, or either.
    pub const fn subjects(self) -> SubjectKinds {
        match self {
            RecordKind::MotherProfile | RecordKind::Pregnancy | RecordKind::PrenatalVisit | RecordKind::Delivery => {
                SubjectKinds::MotherOnly
            }
            RecordKind::Newborn | RecordKind::ChildCheckup | RecordKind::Development => SubjectKinds::ChildOnly,
            RecordKind::Immunization
            | RecordKind::Medication
            | RecordKind::SelfVitals
            | RecordKind::SubjectIdentifiers
            | RecordKind::Allergy
            | RecordKind::Condition => SubjectKinds::Either,
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown record kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown record kind {0:?}")]
pub struct UnknownRecordKind(pub String);

impl FromStr for RecordKind {
    type Err = UnknownRecordKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownRecordKind(s.to_owned()))
    }
}

/// Which subjects a record kind may be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKinds {
    /// Only [`Subject::Mother`] (pregnancy and birth modules).
    MotherOnly,
    /// Only a [`Subject::Child`] (newborn, checkups, development).
    ChildOnly,
    /// The mother or a child (immunization, medication, self vitals).
    Either,
}

impl SubjectKinds {
    /// True if a record of this kind may be about `subject`.
    pub fn admits(self, subject: &Subject) -> bool {
        matches!(
            (self, subject),
            (SubjectKinds::Either, _)
                | (SubjectKinds::MotherOnly, Subject::Mother)
                | (SubjectKinds::ChildOnly, Subject::Child(_))
        )
    }
}

/// Whom a record is about: the mother of the account or one of its children.
/// JSON and database form: `"mother"` or `"child:<uuid>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// `mother`: the account's mother.
    Mother,
    /// `child:<uuid>`: the child with this id.
    Child(Uuid),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Mother => f.write_str("mother"),
            Subject::Child(id) => write!(f, "child:{id}"),
        }
    }
}

/// A subject string that is neither `mother` nor `child:<uuid>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subject {0:?}: expected \"mother\" or \"child:<uuid>\"")]
pub struct InvalidSubject(pub String);

impl FromStr for Subject {
    type Err = InvalidSubject;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "mother" {
            return Ok(Subject::Mother);
        }
        s.strip_prefix("child:")
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(Subject::Child)
            .ok_or_else(|| InvalidSubject(s.to_owned()))
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What every dataset module tells the sync and consent layers about itself.
pub trait DatasetModule: Validate {
    /// The record kind this module is stored and consented as.
    const KIND: RecordKind;
    /// The date the entry is about (visit date, dose date, ...), used for
    /// timelines, consent periods and research date shifting. `None` for
    /// undated profile data.
    fn effective_date(&self) -> Option<NaiveDate>;
}

/// The body of one record: exactly one dataset module. This is the plaintext a
/// record envelope seals. JSON: `{"kind": "prenatal_visit", "body": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum RecordBody {
    /// Kind `mother_profile`.
    MotherProfile(MotherProfile),
    /// Kind `pregnancy`.
    Pregnancy(Pregnancy),
    /// Kind `prenatal_visit`.
    PrenatalVisit(PrenatalVisit),
    /// Kind `delivery`.
    Delivery(Delivery),
    /// Kind `newborn`.
    Newborn(Newborn),
    /// Kind `child_checkup`.
    ChildCheckup(ChildCheckup),
    /// Kind `development`.
    Development(DevelopmentMilestone),
    /// Kind `immunization`.
    Immunization(Immunization),
    /// Kind `medication`.
    Medication(Medication),
    /// Kind `self_vitals`.
    SelfVitals(SelfVitals),
    /// Kind `subject_identifiers`.
    SubjectIdentifiers(SubjectIdentifiers),
    /// Kind `allergy`.
    Allergy(Allergy),
    /// Kind `condition`.
    Condition(Condition),
}

macro_rules! dispatch {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            RecordBody::MotherProfile($m) => $e,
            RecordBody::Pregnancy($m) => $e,
            RecordBody::PrenatalVisit($m) => $e,
            RecordBody::Delivery($m) => $e,
            RecordBody::Newborn($m) => $e,
            RecordBody::ChildCheckup($m) => $e,
            RecordBody::Development($m) => $e,
            RecordBody::Immunization($m) => $e,
            RecordBody::Medication($m) => $e,
            RecordBody::SelfVitals($m) => $e,
            RecordBody::SubjectIdentifiers($m) => $e,
            RecordBody::Allergy($m) => $e,
            RecordBody::Condition($m) => $e,
        }
    };
}

/// `Module::try_from(body)`: the module a body holds, or the body back when
/// it holds another (for readers that want one module's typed records).
macro_rules! module_from_body {
    ($($variant:ident($module:ty)),+ $(,)?) => {$(
        impl TryFrom<RecordBody> for $module {
            type Error = RecordBody;
            fn try_from(body: RecordBody) -> Result<Self, RecordBody> {
                match body {
                    RecordBody::$variant(m) => Ok(m),
                    other => Err(other),
                }
            }
        }
    )+};
}

module_from_body!(
    MotherProfile(MotherProfile),
    Pregnancy(Pregnancy),
    PrenatalVisit(PrenatalVisit),
    Delivery(Delivery),
    Newborn(Newborn),
    ChildCheckup(ChildCheckup),
    Development(DevelopmentMilestone),
    Immunization(Immunization),
    Medication(Medication),
    SelfVitals(SelfVitals),
    SubjectIdentifiers(SubjectIdentifiers),
    Allergy(Allergy),
    Condition(Condition),
);

impl RecordBody {
    /// The module this body holds.
    pub fn kind(&self) -> RecordKind {
        fn k<M: DatasetModule>(_: &M) -> RecordKind {
            M::KIND
        }
        dispatch!(self, m => k(m))
    }

    /// Why this body cannot be about `subject` although its kind may be
    /// ([`RecordKind::subjects`]): a disorder of pregnancy
    /// ([`condition::ConditionCode::mother_only`]) on a child's problem list.
    /// `(field, reason)`; `None` when the body fits the subject. The app and the
    /// FHIR write path check this next to `validate()`, which cannot see the subject.
    pub fn subject_problem(&self, subject: &Subject) -> Option<(&'static str, String)> {
        match (self, subject) {
            (RecordBody::Condition(c), Subject::Child(_)) if c.code.mother_only() => {
                Some(("code", format!("{} is a disorder of pregnancy: only the mother can have it", c.code.code())))
            }
            _ => None,
        }
    }

    /// The held module's [`DatasetModule::effective_date`].
    pub fn effective_date(&self) -> Option<NaiveDate> {
        dispatch!(self, m => m.effective_date())
    }
}

impl Validate for RecordBody {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        dispatch!(self, m => m.validate(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kind_names_round_trip_and_unknown_names_are_refused() {
        for k in RecordKind::ALL {
            assert_eq!(k.as_str().parse::<RecordKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
        assert!("prenatal".parse::<RecordKind>().is_err());
    }

    #[test]
    fn modules_are_every_kind_but_the_subject_identifiers() {
        let modules: Vec<RecordKind> = RecordKind::ALL.into_iter().filter(|k| !k.follows_subjects()).collect();
        assert_eq!(modules, RecordKind::MODULES);
        assert!(RecordKind::SubjectIdentifiers.follows_subjects());
        assert!(RecordKind::SubjectIdentifiers.subjects().admits(&Subject::Mother));
        assert!(RecordKind::SubjectIdentifiers.subjects().admits(&Subject::Child(Uuid::nil())));
    }

    #[test]
    fn subject_strings_round_trip_and_garbage_is_refused() {
        let child = Subject::Child(Uuid::nil());
        for s in [Subject::Mother, child] {
            assert_eq!(s.to_string().parse::<Subject>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Subject>(&json).unwrap(), s);
        }
        for bad in ["", "Mother", "child:", "child:123", "father"] {
            assert!(bad.parse::<Subject>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pregnancy_disorder_fits_the_mother_only_and_asthma_fits_a_child_too() {
        let child = Subject::Child(Uuid::nil());
        let preeclampsia = RecordBody::Condition(crate::dataset::examples::condition_minimal());
        assert_eq!(preeclampsia.subject_problem(&Subject::Mother), None);
        assert_eq!(preeclampsia.subject_problem(&child).map(|p| p.0), Some("code"));
        let asthma = RecordBody::Condition(Condition {
            code: condition::ConditionCode::Asthma,
            ..crate::dataset::examples::condition_minimal()
        });
        assert_eq!(asthma.subject_problem(&child), None);
        let egg = RecordBody::Allergy(crate::dataset::examples::allergy_minimal());
        assert_eq!(egg.subject_problem(&child), None);
    }

    #[test]
    fn record_kinds_admit_only_their_subjects() {
        let child = Subject::Child(Uuid::nil());
        assert!(RecordKind::PrenatalVisit.subjects().admits(&Subject::Mother));
        assert!(!RecordKind::PrenatalVisit.subjects().admits(&child));
        assert!(RecordKind::ChildCheckup.subjects().admits(&child));
        assert!(!RecordKind::ChildCheckup.subjects().admits(&Subject::Mother));
        assert!(RecordKind::Immunization.subjects().admits(&Subject::Mother));
        assert!(RecordKind::Immunization.subjects().admits(&child));
    }
}
