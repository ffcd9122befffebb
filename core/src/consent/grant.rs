//! Consent grant types, their JSON form and their validation.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::ModuleSet;
use crate::dataset::{RecordKind, Subject};

/// The id of an organization registered on the server (a clinic, a
/// municipality, an EHR network, the research programme).
///
/// 1 to 64 characters, each one of `a-z`, `0-9`, `.`, `_` or `-`, e.g.
/// `"tanaka-clinic"`. JSON form: that string; anything else is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrganizationId(String);

/// A string that is not a valid [`OrganizationId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid organization id {0:?}: expected 1-64 characters of a-z, 0-9, '.', '_' or '-'")]
pub struct InvalidOrganizationId(pub String);

impl OrganizationId {
    /// The longest accepted id, in characters (all accepted characters are ASCII).
    pub const MAX_LEN: usize = 64;

    /// The grantee of a family's standing break-glass consent: not one organization but
    /// every organization the operator registers as an emergency department (kind
    /// `emergency`). No organization may be registered under this id. A grant to it must be
    /// for the emergency purpose, read-only, and cover only emergency-summary modules.
    pub const EMERGENCY_DEPARTMENTS: &'static str = "emergency-departments";

    /// [`OrganizationId::EMERGENCY_DEPARTMENTS`] as an id.
    pub fn emergency_departments() -> Self {
        OrganizationId(Self::EMERGENCY_DEPARTMENTS.to_owned())
    }

    /// Whether this is [`OrganizationId::EMERGENCY_DEPARTMENTS`].
    pub fn is_emergency_departments(&self) -> bool {
        self.0 == Self::EMERGENCY_DEPARTMENTS
    }

    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidOrganizationId> {
        let id = id.into();
        if Self::is_valid(&id) {
            Ok(OrganizationId(id))
        } else {
            Err(InvalidOrganizationId(id))
        }
    }

    /// Whether `id` is a well-formed organization id.
    pub fn is_valid(id: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OrganizationId {
    type Err = InvalidOrganizationId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrganizationId::new(s)
    }
}

impl TryFrom<String> for OrganizationId {
    type Error = InvalidOrganizationId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OrganizationId::new(s)
    }
}

impl AsRef<str> for OrganizationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for OrganizationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrganizationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrganizationId::new(s).map_err(serde::de::Error::custom)
    }
}

/// The id of a consent grant. JSON form: the hyphenated UUID string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GrantId(pub Uuid);

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Uuid> for GrantId {
    fn from(id: Uuid) -> Self {
        GrantId(id)
    }
}

/// Why the grantee may use the data. A request must name the grant's purpose exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Ongoing care by a clinic or municipality.
    Treatment,
    /// Access in an emergency.
    Emergency,
    /// De-identified research extracts. Always read-only.
    Research,
}

impl Purpose {
    /// The stable snake_case name (also used in summaries).
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Treatment => "treatment",
            Purpose::Emergency => "emergency",
            Purpose::Research => "research",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a grant lets the grantee do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read records in scope.
    Read,
    /// Read records in scope and write (add or amend) records in scope.
    ReadWrite,
}

impl Access {
    /// Whether this access level permits `action`.
    pub const fn permits(self, action: Action) -> bool {
        matches!((self, action), (Access::ReadWrite, _) | (Access::Read, Action::Read))
    }
}

/// What a request wants to do with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read a record.
    Read,
    /// Create or amend a record.
    Write,
}

/// Which records a grant covers.
///
/// A record is in scope when its kind is in `modules`, its subject is in
/// `subjects` and, if `data_from` / `data_to` are set, its effective date lies
/// within them (both ends inclusive). When a date bound is set, undated records
/// are *not* in scope: a date-restricted grant only ever shows records known to
/// fall inside the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct GrantScope {
    /// The dataset modules covered.
    pub modules: ModuleSet,
    /// The subjects covered: the mother and/or some children.
    pub subjects: BTreeSet<Subject>,
    /// Earliest effective date covered (inclusive); `None` = no lower bound.
    #[serde(default)]
    pub data_from: Option<NaiveDate>,
    /// Latest effective date covered (inclusive); `None` = no upper bound.
    #[serde(default)]
    pub data_to: Option<NaiveDate>,
}

impl GrantScope {
    /// Whether the scope has a restriction on record dates.
    pub fn is_date_restricted(&self) -> bool {
        self.data_from.is_some() || self.data_to.is_some()
    }

    /// Whether a record dated `record_date` falls within the date bounds.
    pub fn covers_date(&self, record_date: Option<NaiveDate>) -> bool {
        match record_date {
            None => !self.is_date_restricted(),
            Some(d) => self.data_from.is_none_or(|from| d >= from) && self.data_to.is_none_or(|to| d <= to),
        }
    }

    /// Whether a record of `kind` about `subject` dated `record_date` is in scope.
    /// Allocation-free.
    pub fn covers(&self, kind: RecordKind, subject: &Subject, record_date: Option<NaiveDate>) -> bool {
        self.modules.contains(&kind) && self.subjects.contains(subject) && self.covers_date(record_date)
    }
}

/// When a grant may be used: the half-open interval `[from, to)`. `None` leaves
/// that side open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct GrantPeriod {
    /// First instant at which the grant may be used; `None` = from creation.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// First instant at which the grant may no longer be used; `None` = no end.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

impl GrantPeriod {
    /// A period without bounds.
    pub const OPEN: GrantPeriod = GrantPeriod { from: None, to: None };

    /// Whether `at` lies in `[from, to)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

/// The stored lifecycle state of a grant. Expiry is not stored: it follows from
/// the [`GrantPeriod`] (see [`ConsentGrant::status_at`]).
///
/// JSON: `{"status": "active"}` or `{"status": "revoked", "at": "<RFC 3339>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", try_from = "GrantStateRepr")]
pub enum GrantState {
    /// Not revoked.
    Active,
    /// Revoked by the parent at `at`. Revocation is final: a revoked grant never
    /// allows anything again, whatever time a request names (its grant key is
    /// deleted, so the server could not serve it anyway).
    Revoked {
        /// When the parent revoked the grant.
        at: DateTime<Utc>,
    },
}

/// The JSON form of [`GrantState`], read strictly: serde's internally tagged
/// enums would silently accept `{"status": "active", "at": ...}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantStateRepr {
    status: GrantStatusTag,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum GrantStatusTag {
    Active,
    Revoked,
}

impl TryFrom<GrantStateRepr> for GrantState {
    type Error = &'static str;
    fn try_from(repr: GrantStateRepr) -> Result<Self, Self::Error> {
        match (repr.status, repr.at) {
            (GrantStatusTag::Active, None) => Ok(GrantState::Active),
            (GrantStatusTag::Active, Some(_)) => Err("an active grant state has no \"at\""),
            (GrantStatusTag::Revoked, Some(at)) => Ok(GrantState::Revoked { at }),
            (GrantStatusTag::Revoked, None) => Err("a revoked grant state needs \"at\""),
        }
    }
}

/// The state of a grant as seen at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Usable now.
    Active,
    /// Revoked by the parent.
    Revoked,
    /// The period has ended.
    Expired,
    /// The period has not started yet.
    NotYetValid,
}

impl GrantStatus {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::Revoked => "revoked",
            GrantStatus::Expired => "expired",
            GrantStatus::NotYetValid => "not_yet_valid",
        }
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One consent grant, made by a parent for one grantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ConsentGrant {
    /// The grant's id.
    pub id: GrantId,
    /// Who receives access.
    pub grantee: OrganizationId,
    /// What the access is for; requests must name the same purpose.
    pub purpose: Purpose,
    /// Which records are covered.
    pub scope: GrantScope,
    /// When access is allowed.
    pub period: GrantPeriod,
    /// Read, or read and write. A research grant is read-only whatever this says.
    pub access: Access,
    /// Active or revoked.
    pub state: GrantState,
    /// When the parent made the grant.
    pub created_at: DateTime<Utc>,
}

impl ConsentGrant {
    /// The grant's status at `now`: revoked wins over the period, then an ended
    /// period (expired), then a period not yet started.
    pub fn status_at(&self, now: DateTime<Utc>) -> GrantStatus {
        if matches!(self.state, GrantState::Revoked { .. }) {
            GrantStatus::Revoked
        } else if self.period.to.is_some_and(|to| now >= to) {
            GrantStatus::Expired
        } else if self.period.from.is_some_and(|from| now < from) {
            GrantStatus::NotYetValid
        } else {
            GrantStatus::Active
        }
    }

    /// Whether the grant is usable at `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == GrantStatus::Active
    }

    /// The access the grant actually confers: research grants are read-only
    /// even if (invalidly) stored as read-write, so an invalid grant is never
    /// more permissive than a valid one.
    pub fn effective_access(&self) -> Access {
        match self.purpose {
            Purpose::Research => Access::Read,
            _ => self.access,
        }
    }

    /// Marks the grant revoked at `at`. Revoking an already revoked grant keeps
    /// the first revocation time. Returns whether the state changed.
    pub fn revoke(&mut self, at: DateTime<Utc>) -> bool {
        match self.state {
            GrantState::Active => {
                self.state = GrantState::Revoked { at };
                true
            }
            GrantState::Revoked { .. } => false,
        }
    }

    /// Checks the grant and reports *all* problems found.
    ///
    /// Besides empty sets and inverted ranges, a scope must be meaningful: every
    /// module must apply to at least one subject in scope (prenatal visits of a
    /// child do not exist), and every subject must have at least one module in
    /// scope that applies to it (see [`RecordKind::subjects`]).
    pub fn validate(&self) -> Result<(), InvalidGrant> {
        let mut problems = Vec::new();
        let scope = &self.scope;

        if scope.modules.is_empty() {
            problems.push(GrantProblem::NoModules);
        }
        if scope.subjects.is_empty() {
            problems.push(GrantProblem::NoSubjects);
        }
        for &kind in scope.modules.iter().filter(|k| k.follows_subjects()) {
            problems.push(GrantProblem::NotAModule { kind });
        }
        if !scope.subjects.is_empty() {
            for &kind in scope.modules.iter().filter(|k| !k.follows_subjects()) {
                let applies = scope.subjects.iter().any(|s| kind.subjects().admits(s));
                if !applies {
                    problems.push(GrantProblem::ModuleNotApplicable { kind });
                }
            }
        }
        if !scope.modules.is_empty() {
            for subject in &scope.subjects {
                let covered = scope.modules.iter().any(|k| k.subjects().admits(subject));
                if !covered {
                    problems.push(GrantProblem::SubjectNotCovered { subject: *subject });
                }
            }
        }
        if let (Some(from), Some(to)) = (scope.data_from, scope.data_to) {
            if from > to {
                problems.push(GrantProblem::InvertedDataRange { from, to });
            }
        }
        if let (Some(from), Some(to)) = (self.period.from, self.period.to) {
            if from >= to {
                problems.push(GrantProblem::EmptyPeriod { from, to });
            }
        }
        if self.purpose == Purpose::Research && self.access == Access::ReadWrite {
            problems.push(GrantProblem::ResearchWithWriteAccess);
        }
        if self.grantee.is_emergency_departments() {
            if self.purpose != Purpose::Emergency || self.access != Access::Read {
                problems.push(GrantProblem::BreakGlassNotEmergencyRead);
            }
            for &kind in scope.modules.iter().filter(|k| !k.in_emergency_summary()) {
                problems.push(GrantProblem::BreakGlassModule { kind });
            }
        }
        let dates = [("scope.data_from", scope.data_from), ("scope.data_to", scope.data_to)];
        let instants =
            [("period.from", self.period.from), ("period.to", self.period.to), ("created_at", Some(self.created_at))];
        for (field, date) in dates {
            if let Some(Err(e)) = date.map(crate::dates::check) {
                problems.push(GrantProblem::DateOutOfRange { field, reason: e.to_string() });
            }
        }
        for (field, at) in instants {
            if let Some(Err(e)) = at.as_ref().map(crate::dates::check_instant) {
                problems.push(GrantProblem::DateOutOfRange { field, reason: e.to_string() });
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidGrant { problems })
        }
    }
}

/// One problem found by [`ConsentGrant::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    /// `scope.modules` is empty.
    #[error("the scope names no dataset module")]
    NoModules,
    /// `scope.subjects` is empty.
    #[error("the scope names no subject (mother or child)")]
    NoSubjects,
    /// A module that applies to none of the subjects in scope.
    #[error("module {kind} applies to none of the subjects in scope")]
    ModuleNotApplicable {
        /// The module.
        kind: RecordKind,
    },
    /// A kind that is not a module a grant selects ([`RecordKind::follows_subjects`]:
    /// the subjects' identifiers come with the subjects).
    #[error("{kind} is not a module a grant selects: every care grant covering a subject may read its identifiers")]
    NotAModule {
        /// The kind.
        kind: RecordKind,
    },
    /// A subject to which none of the modules in scope applies.
    #[error("no module in scope applies to subject {subject}")]
    SubjectNotCovered {
        /// The subject.
        subject: Subject,
    },
    /// `scope.data_from` is after `scope.data_to`.
    #[error("data_from {from} is after data_to {to}")]
    InvertedDataRange {
        /// The lower bound.
        from: NaiveDate,
        /// The upper bound.
        to: NaiveDate,
    },
    /// `period.from` is not before `period.to`, so the period is empty.
    #[error("period from {from} is not before period to {to}")]
    EmptyPeriod {
        /// The start.
        from: DateTime<Utc>,
        /// The end.
        to: DateTime<Utc>,
    },
    /// Research grants must be read-only.
    #[error("a research grant must be read-only")]
    ResearchWithWriteAccess,
    /// A grant to [`OrganizationId::EMERGENCY_DEPARTMENTS`] (break-glass) that is not a
    /// read-only emergency grant.
    #[error("a break-glass grant to the emergency departments must be for the emergency purpose and read-only")]
    BreakGlassNotEmergencyRead,
    /// A break-glass grant naming a module that is not part of an emergency summary.
    #[error("module {kind} is not part of an emergency summary, so a break-glass grant may not cover it")]
    BreakGlassModule {
        /// The module.
        kind: RecordKind,
    },
    /// A date or instant outside the accepted range ([`crate::dates`]).
    #[error("{field} {reason}")]
    DateOutOfRange {
        /// The field's path (`scope.data_from`, `period.to`, `created_at`, …).
        field: &'static str,
        /// Why, with the value.
        reason: String,
    },
}

impl GrantProblem {
    /// The JSON path of the field the problem is about, for error bodies.
    pub const fn field(&self) -> &'static str {
        match self {
            GrantProblem::NoModules | GrantProblem::ModuleNotApplicable { .. } | GrantProblem::NotAModule { .. } => {
                "scope.modules"
            }
            GrantProblem::NoSubjects | GrantProblem::SubjectNotCovered { .. } => "scope.subjects",
            GrantProblem::InvertedDataRange { .. } => "scope.data_from",
            GrantProblem::EmptyPeriod { .. } => "period",
            GrantProblem::ResearchWithWriteAccess | GrantProblem::BreakGlassNotEmergencyRead => "access",
            GrantProblem::BreakGlassModule { .. } => "scope.modules",
            GrantProblem::DateOutOfRange { field, .. } => field,
        }
    }
}

/// All problems of an invalid grant (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGrant {
    /// The problems, in a fixed order.
    pub problems: Vec<GrantProblem>,
}

impl fmt::Display for InvalidGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid consent grant: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {p}", p.field())?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidGrant {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn ts(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("valid test date")
    }

    pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    pub(crate) fn child(n: u128) -> Subject {
        Subject::Child(Uuid::from_u128(n))
    }

    pub(crate) fn org(s: &str) -> OrganizationId {
        OrganizationId::new(s).expect("valid test org id")
    }

    /// An active treatment grant for `tanaka-clinic`: prenatal visits and
    /// immunizations of the mother and child 1, during 2026.
    pub(crate) fn sample_grant() -> ConsentGrant {
        ConsentGrant {
            id: GrantId(Uuid::from_u128(0xA1)),
            grantee: org("tanaka-clinic"),
            purpose: Purpose::Treatment,
            scope: GrantScope {
                modules: [RecordKind::PrenatalVisit, RecordKind::Immunization].into_iter().collect(),
                subjects: [Subject::Mother, child(1)].into_iter().collect(),
                data_from: None,
                data_to: None,
            },
            period: GrantPeriod { from: Some(ts(2026, 1, 1)), to: Some(ts(2027, 1, 1)) },
            access: Access::Read,
            state: GrantState::Active,
            created_at: ts(2025, 12, 20),
        }
    }

    #[test]
    fn a_break_glass_grant_is_a_read_only_emergency_grant_of_summary_modules() {
        let mut g = sample_grant();
        g.grantee = OrganizationId::emergency_departments();
        assert!(g.grantee.is_emergency_departments());
        g.purpose = Purpose::Emergency;
        assert_eq!(g.validate(), Ok(()));

        g.access = Access::ReadWrite;
        g.scope.modules.insert(RecordKind::Development);
        let problems = g.validate().unwrap_err().problems;
        assert!(problems.contains(&GrantProblem::BreakGlassNotEmergencyRead), "{problems:?}");
        assert!(problems.contains(&GrantProblem::BreakGlassModule { kind: RecordKind::Development }), "{problems:?}");

        let mut treatment = sample_grant();
        treatment.grantee = OrganizationId::emergency_departments();
        assert_eq!(treatment.validate().unwrap_err().problems, vec![GrantProblem::BreakGlassNotEmergencyRead]);
    }

    #[test]
    fn identifiers_are_not_a_module_a_grant_selects() {
        let mut g = sample_grant();
        g.scope.modules.insert(RecordKind::SubjectIdentifiers);
        let problems = g.validate().unwrap_err().problems;
        assert_eq!(problems, vec![GrantProblem::NotAModule { kind: RecordKind::SubjectIdentifiers }]);
        assert_eq!(problems[0].field(), "scope.modules");
    }

    #[test]
    fn organization_ids_accept_only_1_to_64_lowercase_digits_dot_underscore_dash() {
        for ok in ["a", "tanaka-clinic", "city.yokohama_01", &"x".repeat(64)] {
            assert!(OrganizationId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Tanaka", "tanaka clinic", "clinic/1", "ｔａｎａｋａ", "é", &"x".repeat(65)] {
            assert!(OrganizationId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn organization_id_serde_is_a_plain_string_and_refuses_invalid_ids() {
        let id = org("tanaka-clinic");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"tanaka-clinic\"");
        assert_eq!(serde_json::from_str::<OrganizationId>("\"tanaka-clinic\"").unwrap(), id);
        assert!(serde_json::from_str::<OrganizationId>("\"Tanaka Clinic\"").is_err());
        assert!(serde_json::from_str::<OrganizationId>("\"\"").is_err());
        assert!(serde_json::from_str::<OrganizationId>("42").is_err());
    }

    #[test]
    fn grant_json_round_trips_in_snake_case() {
        let mut g = sample_grant();
        g.scope.data_from = Some(date(2025, 4, 1));
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json["grantee"], "tanaka-clinic");
        assert_eq!(json["purpose"], "treatment");
        assert_eq!(json["access"], "read");
        assert_eq!(json["state"]["status"], "active");
        assert_eq!(json["scope"]["modules"], serde_json::json!(["prenatal_visit", "immunization"]));
        assert_eq!(json["scope"]["subjects"][0], "mother");
        assert_eq!(json["scope"]["data_from"], "2025-04-01");
        assert_eq!(serde_json::from_value::<ConsentGrant>(json).unwrap(), g);

        g.revoke(ts(2026, 3, 1));
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json["state"]["status"], "revoked");
        assert_eq!(serde_json::from_value::<ConsentGrant>(json).unwrap(), g);
    }

    #[test]
    fn grant_json_refuses_unknown_fields_and_bad_values() {
        let json = serde_json::to_value(sample_grant()).unwrap();

        let mut extra = json.clone();
        extra["owner"] = "x".into();
        assert!(serde_json::from_value::<ConsentGrant>(extra).is_err());

        let mut extra_scope = json.clone();
        extra_scope["scope"]["everything"] = true.into();
        assert!(serde_json::from_value::<ConsentGrant>(extra_scope).is_err());

        let mut bad_purpose = json.clone();
        bad_purpose["purpose"] = "marketing".into();
        assert!(serde_json::from_value::<ConsentGrant>(bad_purpose).is_err());

        let mut bad_subject = json.clone();
        bad_subject["scope"]["subjects"] = serde_json::json!(["father"]);
        assert!(serde_json::from_value::<ConsentGrant>(bad_subject).is_err());

        let mut bad_state = json.clone();
        bad_state["state"] = serde_json::json!({"status": "active", "at": "2026-01-01T00:00:00Z"});
        assert!(serde_json::from_value::<ConsentGrant>(bad_state).is_err());

        let mut revoked_without_time = json.clone();
        revoked_without_time["state"] = serde_json::json!({"status": "revoked"});
        assert!(serde_json::from_value::<ConsentGrant>(revoked_without_time).is_err());

        let mut bad_grantee = json;
        bad_grantee["grantee"] = "Tanaka Clinic".into();
        assert!(serde_json::from_value::<ConsentGrant>(bad_grantee).is_err());
    }

    #[test]
    fn status_follows_revocation_then_period() {
        let mut g = sample_grant();
        assert_eq!(g.status_at(ts(2025, 12, 31)), GrantStatus::NotYetValid);
        assert_eq!(g.status_at(ts(2026, 1, 1)), GrantStatus::Active);
        assert_eq!(g.status_at(ts(2026, 12, 31)), GrantStatus::Active);
        assert_eq!(g.status_at(ts(2027, 1, 1)), GrantStatus::Expired);
        assert!(g.revoke(ts(2026, 6, 1)));
        assert!(!g.revoke(ts(2026, 7, 1)), "second revocation keeps the first time");
        assert_eq!(g.state, GrantState::Revoked { at: ts(2026, 6, 1) });
        assert_eq!(g.status_at(ts(2026, 3, 1)), GrantStatus::Revoked);
        assert_eq!(g.status_at(ts(2028, 1, 1)), GrantStatus::Revoked);
        g.period = GrantPeriod::OPEN;
        g.state = GrantState::Active;
        assert_eq!(g.status_at(ts(1990, 1, 1)), GrantStatus::Active);
    }

    #[test]
    fn a_sensible_grant_is_valid() {
        assert_eq!(sample_grant().validate(), Ok(()));
    }

    #[test]
    fn validate_reports_every_problem_at_once() {
        let mut g = sample_grant();
        g.purpose = Purpose::Research;
        g.access = Access::ReadWrite;
        g.scope.data_from = Some(date(2026, 2, 1));
        g.scope.data_to = Some(date(2026, 1, 1));
        g.period = GrantPeriod { from: Some(ts(2026, 1, 1)), to: Some(ts(2026, 1, 1)) };
        g.scope.modules.clear();
        g.scope.subjects.clear();
        let err = g.validate().unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                GrantProblem::NoModules,
                GrantProblem::NoSubjects,
                GrantProblem::InvertedDataRange { from: date(2026, 2, 1), to: date(2026, 1, 1) },
                GrantProblem::EmptyPeriod { from: ts(2026, 1, 1), to: ts(2026, 1, 1) },
                GrantProblem::ResearchWithWriteAccess,
            ]
        );
        let text = err.to_string();
        assert!(text.contains("scope.modules") && text.contains("research"), "{text}");
    }

    #[test]
    fn validate_refuses_scopes_whose_modules_do_not_apply_to_the_subjects() {
        let mut g = sample_grant();
        g.scope.modules = [RecordKind::PrenatalVisit, RecordKind::Pregnancy].into_iter().collect();
        g.scope.subjects = [child(1)].into_iter().collect();
        assert_eq!(
            g.validate().unwrap_err().problems,
            vec![
                GrantProblem::ModuleNotApplicable { kind: RecordKind::Pregnancy },
                GrantProblem::ModuleNotApplicable { kind: RecordKind::PrenatalVisit },
                GrantProblem::SubjectNotCovered { subject: child(1) },
            ]
        );

        // A mother-only module next to a child-only one, with both subjects: fine.
        g.scope.modules = [RecordKind::PrenatalVisit, RecordKind::ChildCheckup].into_iter().collect();
        g.scope.subjects = [Subject::Mother, child(1)].into_iter().collect();
        assert_eq!(g.validate(), Ok(()));

        // A child-only module with only the mother: that module covers nothing.
        g.scope.subjects = [Subject::Mother].into_iter().collect();
        assert_eq!(
            g.validate().unwrap_err().problems,
            vec![GrantProblem::ModuleNotApplicable { kind: RecordKind::ChildCheckup }]
        );
    }

    #[test]
    fn an_open_period_and_research_read_access_are_valid() {
        let mut g = sample_grant();
        g.period = GrantPeriod::OPEN;
        g.purpose = Purpose::Research;
        g.access = Access::Read;
        assert_eq!(g.validate(), Ok(()));
        g.access = Access::ReadWrite;
        assert_eq!(g.effective_access(), Access::Read);
    }

    #[test]
    fn date_bounds_are_inclusive_and_exclude_undated_records() {
        let mut scope = sample_grant().scope;
        assert!(scope.covers_date(None));
        scope.data_from = Some(date(2026, 1, 1));
        scope.data_to = Some(date(2026, 1, 31));
        assert!(scope.covers_date(Some(date(2026, 1, 1))));
        assert!(scope.covers_date(Some(date(2026, 1, 31))));
        assert!(!scope.covers_date(Some(date(2025, 12, 31))));
        assert!(!scope.covers_date(Some(date(2026, 2, 1))));
        assert!(!scope.covers_date(None));
    }
}
