//! FHIR R4 data types shared by the resources: primitives that must keep their
//! exact JSON text ([`Decimal`], [`Integer`]), complex types (Coding,
//! CodeableConcept, Quantity, Reference, ...) and the choice types (`value[x]`
//! and friends) as enums whose variant names are the JSON keys.
//!
//! Every struct keeps the elements it does not model in `extra` (a flattened,
//! order-preserving map), so nothing is lost on a parse/serialize round trip.
//! Numbers are always [`serde_json::Number`] underneath: with the
//! `arbitrary_precision` feature a plain `u32`/`f64` field inside a flattened
//! struct could not be read back from serde's buffered content.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// A FHIR `decimal`, holding the exact JSON number text (`62.50` stays `62.50`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Decimal(pub Number);

impl Decimal {
    /// The shortest decimal text that reads back as exactly `value`; `None` for NaN and infinities.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        // Rust's `Display` of f64 is the shortest round-tripping text and never uses an exponent.
        Number::from_str(&value.to_string()).ok().map(Decimal)
    }

    /// The value as an `f64` (nearest binary value), if it is finite.
    pub fn to_f64(&self) -> Option<f64> {
        self.0.to_string().parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// Parses decimal text exactly as given (`"62.50"`).
    pub fn parse(text: &str) -> Option<Self> {
        Number::from_str(text).ok().map(Decimal)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A FHIR `integer`, `positiveInt` or `unsignedInt`, kept as the JSON number sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Integer(pub Number);

impl Integer {
    /// The value if it is a whole number that fits an `i64` (`3`, not `3.0` or `3.5`).
    pub fn as_i64(&self) -> Option<i64> {
        self.0.to_string().parse::<i64>().ok()
    }
}

impl From<i64> for Integer {
    fn from(v: i64) -> Self {
        Integer(Number::from(v))
    }
}

impl From<u32> for Integer {
    fn from(v: u32) -> Self {
        Integer(Number::from(v))
    }
}

impl From<u8> for Integer {
    fn from(v: u8) -> Self {
        Integer(Number::from(v))
    }
}

/// The extensions of a primitive element (`_status`, `_birthDate`, ...).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Element {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An extension: a URL and a `value[x]` (or nested extensions).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Extension {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Nested extensions (complex extensions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// What the extension means (its StructureDefinition URL).
    pub url: String,
    /// `value[x]`.
    #[serde(flatten)]
    pub value: Option<ValueX>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Extension {
    /// An extension with a value.
    pub fn new(url: impl Into<String>, value: ValueX) -> Self {
        Extension { url: url.into(), value: Some(value), ..Default::default() }
    }
}

/// A `value[x]` choice (`Extension.value[x]`, `Observation.value[x]`,
/// `Observation.component.value[x]`, QuestionnaireResponse answers). The variant
/// name is the JSON key. Types not listed stay in the owner's `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueX {
    /// `valueBoolean`.
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    /// `valueInteger`.
    #[serde(rename = "valueInteger")]
    Integer(Integer),
    /// `valuePositiveInt`.
    #[serde(rename = "valuePositiveInt")]
    PositiveInt(Integer),
    /// `valueUnsignedInt`.
    #[serde(rename = "valueUnsignedInt")]
    UnsignedInt(Integer),
    /// `valueDecimal`.
    #[serde(rename = "valueDecimal")]
    Decimal(Decimal),
    /// `valueString`.
    #[serde(rename = "valueString")]
    String(String),
    /// `valueCode`.
    #[serde(rename = "valueCode")]
    Code(String),
    /// `valueUri`.
    #[serde(rename = "valueUri")]
    Uri(String),
    /// `valueUrl`.
    #[serde(rename = "valueUrl")]
    Url(String),
    /// `valueCanonical`.
    #[serde(rename = "valueCanonical")]
    Canonical(String),
    /// `valueId`.
    #[serde(rename = "valueId")]
    Id(String),
    /// `valueMarkdown`.
    #[serde(rename = "valueMarkdown")]
    Markdown(String),
    /// `valueDate`.
    #[serde(rename = "valueDate")]
    Date(String),
    /// `valueDateTime`.
    #[serde(rename = "valueDateTime")]
    DateTime(String),
    /// `valueInstant`.
    #[serde(rename = "valueInstant")]
    Instant(String),
    /// `valueTime`.
    #[serde(rename = "valueTime")]
    Time(String),
    /// `valueCoding`.
    #[serde(rename = "valueCoding")]
    Coding(Coding),
    /// `valueCodeableConcept`.
    #[serde(rename = "valueCodeableConcept")]
    CodeableConcept(CodeableConcept),
    /// `valueQuantity`.
    #[serde(rename = "valueQuantity")]
    Quantity(Quantity),
    /// `valueReference`.
    #[serde(rename = "valueReference")]
    Reference(Reference),
    /// `valueIdentifier`.
    #[serde(rename = "valueIdentifier")]
    Identifier(Identifier),
    /// `valuePeriod`.
    #[serde(rename = "valuePeriod")]
    Period(Period),
    /// `valueRange`.
    #[serde(rename = "valueRange")]
    Range(Range),
    /// `valueRatio`.
    #[serde(rename = "valueRatio")]
    Ratio(Ratio),
    /// `valueAttachment`.
    #[serde(rename = "valueAttachment")]
    Attachment(Attachment),
}

impl ValueX {
    /// The JSON key of this choice (`valueQuantity`, ...), for error paths.
    pub fn key(&self) -> &'static str {
        match self {
            ValueX::Boolean(_) => "valueBoolean",
            ValueX::Integer(_) => "valueInteger",
            ValueX::PositiveInt(_) => "valuePositiveInt",
            ValueX::UnsignedInt(_) => "valueUnsignedInt",
            ValueX::Decimal(_) => "valueDecimal",
            ValueX::String(_) => "valueString",
            ValueX::Code(_) => "valueCode",
            ValueX::Uri(_) => "valueUri",
            ValueX::Url(_) => "valueUrl",
            ValueX::Canonical(_) => "valueCanonical",
            ValueX::Id(_) => "valueId",
            ValueX::Markdown(_) => "valueMarkdown",
            ValueX::Date(_) => "valueDate",
            ValueX::DateTime(_) => "valueDateTime",
            ValueX::Instant(_) => "valueInstant",
            ValueX::Time(_) => "valueTime",
            ValueX::Coding(_) => "valueCoding",
            ValueX::CodeableConcept(_) => "valueCodeableConcept",
            ValueX::Quantity(_) => "valueQuantity",
            ValueX::Reference(_) => "valueReference",
            ValueX::Identifier(_) => "valueIdentifier",
            ValueX::Period(_) => "valuePeriod",
            ValueX::Range(_) => "valueRange",
            ValueX::Ratio(_) => "valueRatio",
            ValueX::Attachment(_) => "valueAttachment",
        }
    }
}

/// A code from a code system.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Coding {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Code system URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Code system version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable text of the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Whether the user chose this coding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_selected: Option<bool>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Coding {
    /// A coding with system, code and optional display.
    pub fn new(system: impl Into<String>, code: impl Into<String>, display: Option<&str>) -> Self {
        Coding {
            system: Some(system.into()),
            code: Some(code.into()),
            display: display.map(str::to_owned),
            ..Default::default()
        }
    }

    /// True if this coding is `code` in `system`.
    pub fn is(&self, system: &str, code: &str) -> bool {
        self.system.as_deref().is_some_and(|s| crate::code_systems::same(s, system))
            && self.code.as_deref() == Some(code)
    }
}

/// A concept given by codings and/or text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CodeableConcept {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Codings of the same concept in different systems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    /// Plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CodeableConcept {
    /// A concept from codings.
    pub fn from_codings(coding: Vec<Coding>) -> Self {
        CodeableConcept { coding, ..Default::default() }
    }

    /// The code of the first coding in `system`, if any.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding
            .iter()
            .find(|c| c.system.as_deref().is_some_and(|s| crate::code_systems::same(s, system)))
            .and_then(|c| c.code.as_deref())
    }

    /// True if some coding is `code` in `system`.
    pub fn has(&self, system: &str, code: &str) -> bool {
        self.coding.iter().any(|c| c.is(system, code))
    }
}

/// A measured amount (also Age, Duration, Count, SimpleQuantity).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Quantity {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// The value, exactly as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// `<`, `<=`, `>=`, `>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparator: Option<String>,
    /// Unit for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Unit system (UCUM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Coded unit (the UCUM code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A reference to another resource (literal, logical or display only).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reference {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Literal reference (`Patient/123`, `#contained-id`, absolute URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Type the reference refers to.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Logical reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Box<Identifier>>,
    /// Text alternative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Reference {
    /// A literal reference.
    pub fn to(reference: impl Into<String>) -> Self {
        Reference { reference: Some(reference.into()), ..Default::default() }
    }

    /// A display-only reference (a name without a resource).
    pub fn display(display: impl Into<String>) -> Self {
        Reference { display: Some(display.into()), ..Default::default() }
    }
}

/// A business identifier.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Identifier {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// usual | official | temp | secondary | old.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Identifier type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CodeableConcept>,
    /// Namespace URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Validity period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Issuing organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigner: Option<Reference>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A time range.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Period {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Start (dateTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End (dateTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A range of quantities.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Range {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Low limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<Quantity>,
    /// High limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<Quantity>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A ratio of two quantities.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ratio {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Numerator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerator: Option<Quantity>,
    /// Denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Quantity>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Resource metadata.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Version id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Last change (instant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Source system URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Profiles claimed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    /// Security labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Coding>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Coding>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Human-readable narrative (XHTML).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Narrative {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// generated | extensions | additional | empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The XHTML `div`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub div: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A person's name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HumanName {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions (JP Core: the name representation IDE / SYL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// usual | official | temp | nickname | anonymous | old | maiden.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Full name as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Given names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    /// Prefixes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    /// Suffixes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
    /// Validity period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A phone number, email address, ...
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContactPoint {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// phone | fax | email | pager | url | sms | other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The address or number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// home | work | temp | old | mobile.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Preferred order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<Integer>,
    /// Validity period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// home | work | temp | old | billing.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// postal | physical | both.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Full address as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Street lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// District.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// State / prefecture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Validity period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who wrote an annotation: `author[x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuthorX {
    /// `authorReference`.
    #[serde(rename = "authorReference")]
    Reference(Reference),
    /// `authorString`.
    #[serde(rename = "authorString")]
    String(String),
}

/// A text note with author and time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Annotation {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `author[x]`.
    #[serde(flatten)]
    pub author: Option<AuthorX>,
    /// When written (dateTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The note (markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Content by reference or inline.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attachment {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Inline data (base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Where to get the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a medication is (to be) taken. Timing, route and dose/rate stay in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dosage {
    /// Element id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// Order of the dosage instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Integer>,
    /// Free-text directions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Instructions for the patient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_instruction: Option<String>,
    /// Elements this model does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_keeps_trailing_zeros_exactly_as_sent() {
        let q: Quantity = serde_json::from_str(r#"{"value":62.50,"unit":"kg"}"#).unwrap();
        assert_eq!(q.value.as_ref().unwrap().to_string(), "62.50");
        assert_eq!(serde_json::to_string(&q).unwrap(), r#"{"value":62.50,"unit":"kg"}"#);
        assert_eq!(q.value.unwrap().to_f64(), Some(62.5));
    }

    #[test]
    fn decimal_from_f64_is_the_shortest_text_that_reads_back_exactly() {
        for v in [62.5, 3050.0, 0.1, 1.0 / 3.0, 1e-7, 123456789.125, -0.0] {
            let d = Decimal::from_f64(v).unwrap();
            assert_eq!(d.to_f64().unwrap().to_bits(), v.to_bits(), "{v} -> {d}");
        }
        assert_eq!(Decimal::from_f64(3050.0).unwrap().to_string(), "3050");
        assert!(Decimal::from_f64(f64::NAN).is_none());
        assert!(Decimal::from_f64(f64::INFINITY).is_none());
    }

    #[test]
    fn extension_value_choice_uses_the_typed_key_and_unknown_choices_are_kept() {
        let json = r#"{"url":"http://x","valueDateTime":"2027-01-01"}"#;
        let e: Extension = serde_json::from_str(json).unwrap();
        assert_eq!(e.value, Some(ValueX::DateTime("2027-01-01".into())));
        assert_eq!(serde_json::to_string(&e).unwrap(), json);
        let sampled = r#"{"url":"http://x","valueSampledData":{"dimensions":1}}"#;
        let e: Extension = serde_json::from_str(sampled).unwrap();
        assert_eq!(e.value, None);
        assert_eq!(serde_json::to_string(&e).unwrap(), sampled);
    }

    #[test]
    fn integer_accepts_only_whole_numbers_as_i64() {
        let i: Integer = serde_json::from_str("3").unwrap();
        assert_eq!(i.as_i64(), Some(3));
        let f: Integer = serde_json::from_str("3.5").unwrap();
        assert_eq!(f.as_i64(), None);
    }
}
