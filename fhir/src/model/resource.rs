//! The [`Resource`] enum (internally tagged by `resourceType`), the
//! `resourceType` marker every resource struct carries, and the macro that
//! declares a resource struct with the common Resource / DomainResource elements.
//!
//! Why the tagging is hand-written rather than `#[serde(tag = "resourceType")]`:
//! the derived form buffers the object, and with `arbitrary_precision` and
//! flattened `extra` maps that is where numbers and duplicated tags go wrong. Here
//! each resource struct writes its own `resourceType` (first, as FHIR JSON does),
//! so a struct serialized alone or through the enum gives the same JSON, and
//! [`Resource`] reads the object once into a [`serde_json::Value`], looks at
//! `resourceType` and hands the object to the matching struct.

use std::fmt;
use std::marker::PhantomData;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{
    AllergyIntolerance, AuditEvent, Bundle, CapabilityStatement, Composition, Condition, Consent, Encounter,
    Immunization, MedicationDispense, MedicationStatement, Observation, OperationOutcome, Organization, Patient,
    QuestionnaireResponse, RelatedPerson,
};

/// Implemented by every resource struct: its `resourceType` name.
pub trait ResourceKind {
    /// The `resourceType` value, e.g. `"Observation"`.
    const TYPE: &'static str;
}

/// The `resourceType` element of a resource struct. Serializes as the
/// struct's type name; deserializing refuses any other name.
pub struct ResourceType<T>(PhantomData<fn() -> T>);

impl<T> Default for ResourceType<T> {
    fn default() -> Self {
        ResourceType(PhantomData)
    }
}

impl<T> Clone for ResourceType<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ResourceType<T> {}

impl<T> PartialEq for ResourceType<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: ResourceKind> fmt::Debug for ResourceType<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::TYPE)
    }
}

impl<T: ResourceKind> Serialize for ResourceType<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(T::TYPE)
    }
}

impl<'de, T: ResourceKind> Deserialize<'de> for ResourceType<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == T::TYPE {
            Ok(ResourceType(PhantomData))
        } else {
            Err(D::Error::custom(format_args!("resourceType must be \"{}\", got \"{name}\"", T::TYPE)))
        }
    }
}

/// Declares a resource struct: `resourceType`, the Resource elements (id, meta,
/// implicitRules, language), for `domain` resources also the DomainResource
/// elements (text, contained, extension, modifierExtension), then the listed
/// fields in order, then the flattened `extra` map of unknown elements.
macro_rules! resource_struct {
    (@impl $name:ident) => {
        impl $crate::model::resource::ResourceKind for $name {
            const TYPE: &'static str = stringify!($name);
        }
        impl From<$name> for $crate::model::Resource {
            fn from(r: $name) -> Self {
                $crate::model::Resource::$name(r)
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident (domain) {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        // A DomainResource is a Resource with narrative, contained resources
        // and extensions ahead of its own elements.
        resource_struct! {
            $(#[$meta])*
            pub struct $name (base) {
                /// Human-readable narrative.
                #[serde(skip_serializing_if = "Option::is_none")]
                pub text: Option<$crate::model::Narrative>,
                /// Contained, inline resources.
                #[serde(skip_serializing_if = "Vec::is_empty")]
                pub contained: Vec<$crate::model::Resource>,
                /// Extensions.
                #[serde(skip_serializing_if = "Vec::is_empty")]
                pub extension: Vec<$crate::model::Extension>,
                /// Extensions that change the meaning of the resource.
                #[serde(skip_serializing_if = "Vec::is_empty")]
                pub modifier_extension: Vec<$crate::model::Extension>,
                $( $(#[$fmeta])* pub $field : $ty, )*
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident (base) {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct $name {
            /// `resourceType` (always this struct's name).
            pub resource_type: $crate::model::resource::ResourceType<$name>,
            /// Logical id.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            /// Metadata.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub meta: Option<$crate::model::Meta>,
            /// Rules followed when the resource was made.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub implicit_rules: Option<String>,
            /// Language of the resource content.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub language: Option<String>,
            $( $(#[$fmeta])* pub $field : $ty, )*
            /// Elements this model does not know, kept as sent.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
        resource_struct!(@impl $name);
    };
}
pub(crate) use resource_struct;

/// Declares a BackboneElement struct: id, extension, modifierExtension, the
/// listed fields in order, then the flattened `extra` map of unknown elements.
macro_rules! backbone_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct $name {
            /// Element id.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            /// Extensions.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub extension: Vec<$crate::model::Extension>,
            /// Modifier extensions.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub modifier_extension: Vec<$crate::model::Extension>,
            $( $(#[$fmeta])* pub $field : $ty, )*
            /// Elements this model does not know, kept as sent.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    };
}
pub(crate) use backbone_struct;

/// Any FHIR resource, tagged by `resourceType`. The resources this service
/// models have a variant each; any other resource type is kept whole in
/// [`Resource::Other`] (e.g. a Practitioner inside a Bundle), so nothing is lost.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // resources are built once and moved, never copied in bulk
pub enum Resource {
    /// Patient.
    Patient(Patient),
    /// RelatedPerson.
    RelatedPerson(RelatedPerson),
    /// Organization.
    Organization(Organization),
    /// Encounter.
    Encounter(Encounter),
    /// Observation.
    Observation(Observation),
    /// Immunization.
    Immunization(Immunization),
    /// MedicationStatement.
    MedicationStatement(MedicationStatement),
    /// MedicationDispense.
    MedicationDispense(MedicationDispense),
    /// Condition.
    Condition(Condition),
    /// AllergyIntolerance.
    AllergyIntolerance(AllergyIntolerance),
    /// Composition (the first entry of a document Bundle).
    Composition(Composition),
    /// QuestionnaireResponse.
    QuestionnaireResponse(QuestionnaireResponse),
    /// Consent.
    Consent(Consent),
    /// Bundle.
    Bundle(Bundle),
    /// OperationOutcome.
    OperationOutcome(OperationOutcome),
    /// CapabilityStatement.
    CapabilityStatement(CapabilityStatement),
    /// AuditEvent.
    AuditEvent(AuditEvent),
    /// Any other resource type, kept as the JSON object sent (with its `resourceType`).
    Other(Map<String, Value>),
}

macro_rules! for_each_variant {
    ($self:expr, $r:ident => $e:expr, $m:ident => $other:expr) => {
        match $self {
            Resource::Patient($r) => $e,
            Resource::RelatedPerson($r) => $e,
            Resource::Organization($r) => $e,
            Resource::Encounter($r) => $e,
            Resource::Observation($r) => $e,
            Resource::Immunization($r) => $e,
            Resource::MedicationStatement($r) => $e,
            Resource::MedicationDispense($r) => $e,
            Resource::Condition($r) => $e,
            Resource::AllergyIntolerance($r) => $e,
            Resource::Composition($r) => $e,
            Resource::QuestionnaireResponse($r) => $e,
            Resource::Consent($r) => $e,
            Resource::Bundle($r) => $e,
            Resource::OperationOutcome($r) => $e,
            Resource::CapabilityStatement($r) => $e,
            Resource::AuditEvent($r) => $e,
            Resource::Other($m) => $other,
        }
    };
}

impl Resource {
    /// The `resourceType` name (for [`Resource::Other`], whatever it says, or `""`).
    pub fn resource_type(&self) -> &str {
        fn name<T: ResourceKind>(_: &T) -> &'static str {
            T::TYPE
        }
        for_each_variant!(self, r => name(r), m => m.get("resourceType").and_then(Value::as_str).unwrap_or(""))
    }

    /// The logical id, if any.
    pub fn id(&self) -> Option<&str> {
        for_each_variant!(self, r => r.id.as_deref(), m => m.get("id").and_then(Value::as_str))
    }

    /// Reads a resource from a JSON object, dispatching on its `resourceType`.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        let rt = match value.get("resourceType") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(serde_json::Error::custom("resourceType must be a string")),
            None => return Err(serde_json::Error::custom("missing resourceType")),
        };
        Ok(match rt.as_str() {
            "Patient" => Resource::Patient(Patient::deserialize(value)?),
            "RelatedPerson" => Resource::RelatedPerson(RelatedPerson::deserialize(value)?),
            "Organization" => Resource::Organization(Organization::deserialize(value)?),
            "Encounter" => Resource::Encounter(Encounter::deserialize(value)?),
            "Observation" => Resource::Observation(Observation::deserialize(value)?),
            "Immunization" => Resource::Immunization(Immunization::deserialize(value)?),
            "MedicationStatement" => Resource::MedicationStatement(MedicationStatement::deserialize(value)?),
            "MedicationDispense" => Resource::MedicationDispense(MedicationDispense::deserialize(value)?),
            "Condition" => Resource::Condition(Condition::deserialize(value)?),
            "AllergyIntolerance" => Resource::AllergyIntolerance(AllergyIntolerance::deserialize(value)?),
            "Composition" => Resource::Composition(Composition::deserialize(value)?),
            "QuestionnaireResponse" => Resource::QuestionnaireResponse(QuestionnaireResponse::deserialize(value)?),
            "Consent" => Resource::Consent(Consent::deserialize(value)?),
            "Bundle" => Resource::Bundle(Bundle::deserialize(value)?),
            "OperationOutcome" => Resource::OperationOutcome(OperationOutcome::deserialize(value)?),
            "CapabilityStatement" => Resource::CapabilityStatement(CapabilityStatement::deserialize(value)?),
            "AuditEvent" => Resource::AuditEvent(AuditEvent::deserialize(value)?),
            _ => match value {
                Value::Object(m) => Resource::Other(m),
                _ => return Err(serde_json::Error::custom("a resource must be a JSON object")),
            },
        })
    }

    /// Parses a resource from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Resource::from_value(serde_json::from_str(text)?)
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        for_each_variant!(self, r => r.serialize(s), m => m.serialize(s))
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Resource::from_value(value).map_err(D::Error::custom)
    }
}
