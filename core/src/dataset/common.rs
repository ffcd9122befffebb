//! Building blocks shared by every dataset module: UCUM-typed quantities,
//! gestational age, the validation problem list and the checks that fill it.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------
// Units and quantities
// ---------------------------------------------------------------------------

/// A UCUM unit known at compile time. Each quantity field names its unit in its
/// type, so a weight in grams can never be stored where kilograms are expected.
pub trait Unit: Copy + Clone + fmt::Debug + PartialEq + Default + Send + Sync + 'static {
    /// The UCUM code, exactly as it appears in JSON and in FHIR `Quantity.code`.
    const UCUM: &'static str;
}

macro_rules! ucum_units {
    ($($(#[$doc:meta])* $name:ident => $code:literal as $quantity:ident / $ffi:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
            pub struct $name;
            impl Unit for $name {
                const UCUM: &'static str = $code;
            }
            #[doc = concat!("A quantity in UCUM `", $code, "`. Across the FFI (feature `uniffi`) it is its own typed record, so an app cannot pass one unit where another is expected.")]
            pub type $quantity = Quantity<$name>;
        )*

        /// Each quantity type crosses the FFI as a one-field record named
        /// after its unit (`Kilograms(value = 62.5)` in Kotlin, Swift and
        /// Python): the unit is in the type, never a string the app could
        /// misspell. No value is refused here; validation reports a value out
        /// of range (or not finite) with its field path, like any other.
        #[cfg(feature = "uniffi")]
        mod quantity_ffi {
            use super::*;
            $(
                $(#[$doc])*
                #[derive(uniffi::Record)]
                pub struct $ffi {
                    /// The number, in this record's unit.
                    pub value: f64,
                }
                uniffi::custom_type!(
                    $(#[$doc])*
                    $quantity, $ffi, {
                    lower: |q| $ffi { value: q.value },
                    try_lift: |r| Ok(Quantity::new(r.value)),
                    }
                );
            )*
        }
    };
}

ucum_units! {
    /// Kilograms.
    Kg => "kg" as Kilograms / KilogramsValue,
    /// Grams.
    G => "g" as Grams / GramsValue,
    /// Centimetres.
    Cm => "cm" as Centimetres / CentimetresValue,
    /// Millimetres of mercury.
    MmHg => "mm[Hg]" as MillimetresOfMercury / MillimetresOfMercuryValue,
    /// Beats (or breaths) per minute.
    PerMin => "/min" as PerMinute / PerMinuteValue,
    /// Degrees Celsius.
    Cel => "Cel" as DegreesCelsius / DegreesCelsiusValue,
    /// Percent.
    Percent => "%" as Percentage / PercentageValue,
    /// Milligrams per decilitre.
    MgPerDl => "mg/dL" as MilligramsPerDecilitre / MilligramsPerDecilitreValue,
    /// Grams per decilitre.
    GPerDl => "g/dL" as GramsPerDecilitre / GramsPerDecilitreValue,
    /// Thousands per microlitre (platelets).
    ThousandPerUl => "10*3/uL" as ThousandsPerMicrolitre / ThousandsPerMicrolitreValue,
    /// Kilograms per square metre (BMI).
    KgPerM2 => "kg/m2" as KilogramsPerSquareMetre / KilogramsPerSquareMetreValue,
    /// Millilitres.
    Ml => "mL" as Millilitres / MillilitresValue,
    /// Hours.
    Hr => "h" as Hours / HoursValue,
    /// A plain count (steps).
    CountUnit => "{count}" as Count / CountValue,
}

/// A measured value in a fixed UCUM unit. JSON: `{"value": 62.5, "unit": "kg"}`;
/// deserializing checks the unit, so `{"value": 62500, "unit": "g"}` is refused
/// where kilograms are expected.
#[derive(Clone, Copy, PartialEq, Default)]
pub struct Quantity<U: Unit> {
    /// The number, in the unit `U` (finite; JSON `value`).
    pub value: f64,
    unit: PhantomData<U>,
}

impl<U: Unit> Quantity<U> {
    /// A quantity of `value` in the unit `U` (not checked for finiteness).
    pub const fn new(value: f64) -> Self {
        Quantity { value, unit: PhantomData }
    }
    /// The UCUM code of this quantity's unit.
    pub fn unit(&self) -> &'static str {
        U::UCUM
    }
}

impl<U: Unit> fmt::Debug for Quantity<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, U::UCUM)
    }
}

impl<U: Unit> Serialize for Quantity<U> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Quantity", 2)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("unit", U::UCUM)?;
        st.end()
    }
}

impl<'de, U: Unit> Deserialize<'de> for Quantity<U> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            value: f64,
            unit: String,
        }
        let raw = Raw::deserialize(d)?;
        if raw.unit != U::UCUM {
            return Err(D::Error::custom(format_args!("unit must be \"{}\", got \"{}\"", U::UCUM, raw.unit)));
        }
        if !raw.value.is_finite() {
            return Err(D::Error::custom("value must be a finite number"));
        }
        Ok(Quantity::new(raw.value))
    }
}

// ---------------------------------------------------------------------------
// Sex
// ---------------------------------------------------------------------------

/// Administrative sex of a person (FHIR `Patient.gender`, value set
/// `http://hl7.org/fhir/administrative-gender`). JSON: `"male"`, `"female"`,
/// `"other"`, `"unknown"`. Shared by `newborn` and the immunization schedule
/// (sex-restricted doses such as HPV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// `male`.
    Male,
    /// `female`.
    Female,
    /// `other`: neither male nor female.
    Other,
    /// `unknown`: not known or not recorded.
    Unknown,
}

impl Sex {
    /// Every value, in declaration order.
    pub const ALL: &'static [Sex] = &[Sex::Male, Sex::Female, Sex::Other, Sex::Unknown];

    /// This enum's vocabulary: its codes (the FHIR codes) and where the
    /// message catalogs keep their labels (`code-sex-<code>`).
    pub const VOCABULARY: Vocabulary =
        Vocabulary { name: "sex", key_prefix: "code-sex", codes: &["male", "female", "other", "unknown"] };

    /// The FHIR `administrative-gender` code (identical to the JSON form).
    pub const fn fhir_code(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    /// The label of this value for people to read, in `language` (a tag of
    /// the message catalogs, [`crate::i18n`]; another tag falls back to English).
    pub fn label(self, language: &str) -> String {
        Self::VOCABULARY.label(self.fhir_code(), language)
    }
}

// ---------------------------------------------------------------------------
// Gestational age
// ---------------------------------------------------------------------------

/// Gestational age as obstetrics writes it: completed weeks plus days (e.g. 38w2d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct GestationalAge {
    /// Completed weeks, 0–[`MAX_WEEKS`](Self::MAX_WEEKS) in a valid record.
    pub weeks: u8,
    /// Days past the completed weeks, 0–6 in a valid record.
    pub days: u8,
}

impl GestationalAge {
    /// The largest week count [`check`](Self::check) accepts (45 weeks).
    pub const MAX_WEEKS: u8 = 45;

    /// `weeks`w`days`d, unchecked (see [`check`](Self::check)).
    pub const fn new(weeks: u8, days: u8) -> Self {
        GestationalAge { weeks, days }
    }
    /// Total days since the first day of the last menstrual period.
    pub fn total_days(&self) -> u32 {
        u32::from(self.weeks) * 7 + u32::from(self.days)
    }
    /// From a day count (weeks truncated), if it fits a `u8` of weeks.
    pub fn from_days(days: i64) -> Option<Self> {
        if days < 0 || days / 7 > i64::from(u8::MAX) {
            return None;
        }
        Some(GestationalAge { weeks: (days / 7) as u8, days: (days % 7) as u8 })
    }
    /// Adds the "weeks 0–45, days 0–6" problems of this value under `path`.
    pub fn check(&self, path: &str, p: &mut Problems) {
        if self.weeks > Self::MAX_WEEKS {
            p.push(format!("{path}.weeks"), format!("must be 0–{} weeks, got {}", Self::MAX_WEEKS, self.weeks));
        }
        if self.days > 6 {
            p.push(format!("{path}.days"), format!("must be 0–6 days, got {}", self.days));
        }
    }
}

impl fmt::Display for GestationalAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}w{}d", self.weeks, self.days)
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// What a `validate()` needs to know beyond the record itself. `today` is passed
/// in (never read from the clock) so validation is deterministic.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    /// The local date "now" for the user; nothing may be dated after it.
    pub today: NaiveDate,
    /// The pregnancy a prenatal visit or delivery belongs to, when known.
    pub pregnancy: Option<&'a super::Pregnancy>,
    /// The subject's birth date (children), when known.
    pub birth_date: Option<NaiveDate>,
}

impl<'a> ValidationContext<'a> {
    /// A context with only `today`: no pregnancy, no birth date.
    pub fn new(today: NaiveDate) -> Self {
        ValidationContext { today, pregnancy: None, birth_date: None }
    }
    /// The same context with the pregnancy the record belongs to.
    pub fn with_pregnancy(mut self, pregnancy: &'a super::Pregnancy) -> Self {
        self.pregnancy = Some(pregnancy);
        self
    }
    /// The same context with the subject's (child's) birth date.
    pub fn with_birth_date(mut self, birth_date: NaiveDate) -> Self {
        self.birth_date = Some(birth_date);
        self
    }
}

/// One thing wrong with a record: the field path (`blood_pressure.systolic`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// Dotted field path inside the record, `[i]` for array elements (`growth_scores[0]`).
    pub path: String,
    /// Why the value is refused, in English (e.g. "must be 0–6 days, got 7").
    pub reason: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// All problems found in a record (never just the first). Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<ValidationIssue>);

impl ValidationErrors {
    /// Every problem found, in the order the checks ran.
    pub fn issues(&self) -> &[ValidationIssue] {
        &self.0
    }
    /// True if some issue is about `path` (exactly, or a sub-field of it).
    pub fn mentions(&self, path: &str) -> bool {
        self.0.iter().any(|i| {
            i.path == path
                || (i.path.starts_with(path) && matches!(i.path.as_bytes().get(path.len()), Some(b'.') | Some(b'[')))
        })
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation problem(s): ", self.0.len())?;
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// Every dataset module implements this: check ranges and required fields and
/// report *all* problems with their field paths.
pub trait Validate {
    /// `Ok(())` if the record passes every check against `ctx`, else all problems found.
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors>;
}

/// Collects problems while a module checks its fields; see the helpers below.
#[derive(Debug, Default)]
pub struct Problems(Vec<ValidationIssue>);

impl Problems {
    /// An empty problem list.
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    /// Records one problem at `path` with `reason`.
    pub fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ValidationIssue { path: path.into(), reason: reason.into() });
    }

    /// Append another module's problems under a prefix (`pregnancy.` etc.).
    pub fn extend_prefixed(&mut self, prefix: &str, other: ValidationErrors) {
        for issue in other.0 {
            self.push(format!("{prefix}.{}", issue.path), issue.reason);
        }
    }

    /// True if no problem has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` if nothing was found, else all problems.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.0))
        }
    }

    /// A quantity inside `[min, max]` (inclusive), in the quantity's own unit.
    pub fn quantity<U: Unit>(&mut self, path: &str, q: &Quantity<U>, min: f64, max: f64) {
        self.number(path, q.value, min, max, U::UCUM);
    }

    /// An optional quantity inside `[min, max]` when present.
    pub fn opt_quantity<U: Unit>(&mut self, path: &str, q: &Option<Quantity<U>>, min: f64, max: f64) {
        if let Some(q) = q {
            self.quantity(path, q, min, max);
        }
    }

    /// A plain number inside `[min, max]`, `unit` used in the message only.
    pub fn number(&mut self, path: &str, value: f64, min: f64, max: f64, unit: &str) {
        let sep = if unit.is_empty() { "" } else { " " };
        if !value.is_finite() {
            self.push(path, "must be a finite number");
        } else if value < min || value > max {
            self.push(path, format!("must be {min}–{max}{sep}{unit}, got {value}{sep}{unit}"));
        }
    }

    /// An integer inside `[min, max]` (inclusive).
    pub fn integer<T: Into<i64> + Copy>(&mut self, path: &str, value: T, min: i64, max: i64) {
        let v: i64 = value.into();
        if v < min || v > max {
            self.push(path, format!("must be {min}–{max}, got {v}"));
        }
    }

    /// An optional integer inside `[min, max]` when present.
    pub fn opt_integer<T: Into<i64> + Copy>(&mut self, path: &str, value: Option<T>, min: i64, max: i64) {
        if let Some(v) = value {
            self.integer(path, v, min, max);
        }
    }

    /// A date inside the accepted range ([`crate::dates`]); `false` (with the
    /// problem added) when outside.
    pub fn date(&mut self, path: &str, date: NaiveDate) -> bool {
        match crate::dates::check(date) {
            Ok(()) => true,
            Err(e) => {
                self.push(path, e.to_string());
                false
            }
        }
    }

    /// An optional date inside the accepted range when present.
    pub fn opt_date(&mut self, path: &str, date: Option<NaiveDate>) {
        if let Some(d) = date {
            self.date(path, d);
        }
    }

    /// A date inside the accepted range ([`crate::dates`]) and not after `today`.
    pub fn not_future(&mut self, path: &str, date: NaiveDate, today: NaiveDate) {
        if !self.date(path, date) {
            return;
        }
        if date > today {
            self.push(path, format!("must not be in the future (after {today}), got {date}"));
        }
    }

    /// An optional date not after `today`.
    pub fn opt_not_future(&mut self, path: &str, date: Option<NaiveDate>, today: NaiveDate) {
        if let Some(d) = date {
            self.not_future(path, d, today);
        }
    }

    /// A date-time whose local date is not after `today`.
    pub fn datetime_not_future(&mut self, path: &str, at: &DateTime<FixedOffset>, today: NaiveDate) {
        if let Err(e) = crate::dates::check_instant(at) {
            self.push(path, e.to_string());
            return;
        }
        self.not_future(path, at.date_naive(), today);
    }

    /// A required text: not blank and at most `max_chars` characters.
    pub fn text(&mut self, path: &str, value: &str, max_chars: usize) {
        if value.trim().is_empty() {
            self.push(path, "is required and must not be blank");
        } else {
            self.max_chars(path, value, max_chars);
        }
    }

    /// An optional text of at most `max_chars` characters (blank is allowed to mean "none").
    pub fn opt_text(&mut self, path: &str, value: &Option<String>, max_chars: usize) {
        if let Some(v) = value {
            self.max_chars(path, v, max_chars);
        }
    }

    fn max_chars(&mut self, path: &str, value: &str, max_chars: usize) {
        let n = value.chars().count();
        if n > max_chars {
            self.push(path, format!("must be at most {max_chars} characters, got {n}"));
        }
    }
}

/// Whole months between two dates, counting a month only once its day is reached
/// (born 2025-01-31: 1 month on 2025-02-28? no — on 2025-03-01; see tests).
/// Returns `None` if `on` is before `birth`.
pub fn age_in_months(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    use chrono::Datelike;
    if on < birth {
        return None;
    }
    let mut months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    if on.day() < birth.day() {
        months -= 1;
    }
    Some(months.max(0) as u32)
}

/// Rounds to `places` decimal places (half away from zero), for derived values.
pub fn round_to(value: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (value * f).round() / f
}

// ---------------------------------------------------------------------------
// Business identifiers
// ---------------------------------------------------------------------------

/// Longest identifier system or value accepted, in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 200;

/// A business identifier of a person (FHIR `Patient.identifier`): the
/// handbook number of a municipality, a municipal resident or child number, a
/// clinic's medical record number, each within the namespace that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// The namespace, an absolute URI (`urn:oid:...`, `https://...`). Required, ≤ 200 chars.
    pub system: String,
    /// The identifier within the namespace. Required, ≤ 200 chars.
    pub value: String,
}

/// An absolute URI has a scheme: a letter, then letters/digits/`+-.`, then `:`.
pub fn looks_like_absolute_uri(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, rest)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && !rest.is_empty()
        }
        None => false,
    }
}

/// Checks a list of identifiers at `path`: each needs an absolute-URI system
/// and a value (≤ [`MAX_IDENTIFIER_CHARS`] each), and no two may be alike.
pub fn check_identifiers(p: &mut Problems, path: &str, identifiers: &[Identifier]) {
    let mut seen = std::collections::HashSet::new();
    for (i, id) in identifiers.iter().enumerate() {
        let path = format!("{path}[{i}]");
        p.text(&format!("{path}.system"), &id.system, MAX_IDENTIFIER_CHARS);
        if !id.system.trim().is_empty() && !looks_like_absolute_uri(&id.system) {
            p.push(format!("{path}.system"), "must be an absolute URI (e.g. urn:oid:... or https://...)");
        }
        p.text(&format!("{path}.value"), &id.value, MAX_IDENTIFIER_CHARS);
        if !seen.insert(id) {
            p.push(path, "duplicates an earlier identifier");
        }
    }
}

// ---------------------------------------------------------------------------
// Coded enums
// ---------------------------------------------------------------------------

/// Declares a field-less coded enum whose JSON form and `code()` are the same
/// stable snake_case string, written once next to each variant, and names its
/// vocabulary in the message catalogs:
///
/// ```ignore
/// coded_enum! {
///     vocabulary "screen_result";
///     /// Result of a screening test.
///     pub enum ScreenResult {
///         /// Not detected.
///         Negative = "negative",
///         Positive = "positive",
///     }
/// }
/// ```
///
/// Generates `Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize`,
/// `code()` (the local code, e.g. for a `https://phr.example/CodeSystem/...`
/// coding), `ALL` (every variant, in declaration order), `VOCABULARY` (its
/// name, codes and catalog keys, [`Vocabulary`]) and
/// `label(language)`. A value's label is the catalog message
/// `code-<vocabulary>-<code>`; `vocabulary "vaccine", labels "vaccine";`
/// names another key prefix (`vaccine-<code>`) for labels that had keys
/// before the vocabularies did.
macro_rules! coded_enum {
    (
        vocabulary $vocabulary:literal;
        $($rest:tt)+
    ) => {
        coded_enum! { vocabulary $vocabulary, labels concat!("code-", $vocabulary); $($rest)+ }
    };
    (
        vocabulary $vocabulary:literal, labels $labels:expr;
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// This enum's vocabulary: its name, its codes and where the
            /// message catalogs keep their labels.
            pub const VOCABULARY: $crate::dataset::common::Vocabulary = $crate::dataset::common::Vocabulary {
                name: $vocabulary,
                key_prefix: $labels,
                codes: &[$($code),+],
            };

            /// The stable code of this value (identical to its JSON form).
            pub const fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code ),+
                }
            }

            /// The label of this value for people to read, in `language` (a
            /// tag of the message catalogs, [`crate::i18n`]; another tag
            /// falls back to English).
            pub fn label(self, language: &str) -> String {
                Self::VOCABULARY.label(self.code(), language)
            }
        }
    };
}
pub(crate) use coded_enum;

/// A coded vocabulary of the dataset (the values of one enum) and where the
/// message catalogs keep its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    /// Its name: the enum's, in snake_case (`pregnancy_status`).
    pub name: &'static str,
    /// The catalog key prefix of its labels: a code's label is the message
    /// `<key_prefix>-<code>` (`code-pregnancy_status-ongoing`).
    pub key_prefix: &'static str,
    /// Its codes (the JSON form of each value), in declaration order.
    pub codes: &'static [&'static str],
}

impl Vocabulary {
    /// The catalog key of the label of `code`.
    pub fn label_key(&self, code: &str) -> String {
        format!("{}-{code}", self.key_prefix)
    }

    /// The label of `code` in `language`, or `code` itself when it is not one
    /// of this vocabulary's codes.
    pub fn label(&self, code: &str, language: &str) -> String {
        if self.codes.contains(&code) {
            crate::i18n::text(language, &self.label_key(code), &[])
        } else {
            code.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn quantity_json_carries_its_ucum_unit() {
        let q: Quantity<Kg> = Quantity::new(62.5);
        assert_eq!(serde_json::to_string(&q).unwrap(), r#"{"value":62.5,"unit":"kg"}"#);
        let back: Quantity<Kg> = serde_json::from_str(r#"{"value":62.5,"unit":"kg"}"#).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn quantity_with_the_wrong_unit_is_refused() {
        let err = serde_json::from_str::<Quantity<Kg>>(r#"{"value":62500,"unit":"g"}"#).unwrap_err();
        assert!(err.to_string().contains("unit must be \"kg\""), "{err}");
    }

    #[test]
    fn problems_collects_every_issue_not_only_the_first() {
        let mut p = Problems::new();
        p.number("a", 300.0, 50.0, 260.0, "mm[Hg]");
        p.integer("b", 11u8, 0, 10);
        p.not_future("c", d("2030-01-01"), d("2026-01-01"));
        p.text("d", "  ", 10);
        let errs = p.finish().unwrap_err();
        assert_eq!(errs.issues().len(), 4);
        assert!(errs.mentions("a") && errs.mentions("b") && errs.mentions("c") && errs.mentions("d"));
        assert!(errs.issues()[0].reason.contains("50–260 mm[Hg]"), "{}", errs.issues()[0].reason);
    }

    #[test]
    fn gestational_age_outside_0_45_weeks_or_0_6_days_is_a_problem() {
        let mut p = Problems::new();
        GestationalAge::new(46, 7).check("ga", &mut p);
        let errs = p.finish().unwrap_err();
        assert!(errs.mentions("ga.weeks") && errs.mentions("ga.days"));
        let mut ok = Problems::new();
        GestationalAge::new(45, 6).check("ga", &mut ok);
        assert!(ok.is_empty());
    }

    #[test]
    fn age_in_months_counts_completed_months_only() {
        assert_eq!(age_in_months(d("2025-01-15"), d("2025-01-15")), Some(0));
        assert_eq!(age_in_months(d("2025-01-15"), d("2025-02-14")), Some(0));
        assert_eq!(age_in_months(d("2025-01-15"), d("2025-02-15")), Some(1));
        assert_eq!(age_in_months(d("2025-01-31"), d("2025-02-28")), Some(0));
        assert_eq!(age_in_months(d("2025-01-31"), d("2025-03-01")), Some(1));
        assert_eq!(age_in_months(d("2024-06-10"), d("2026-01-09")), Some(18));
        assert_eq!(age_in_months(d("2025-01-15"), d("2024-12-31")), None);
    }
}
