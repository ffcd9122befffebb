//! SMART App Launch 2.x system scopes: `system/<Type>.<cruds>` (v2), and the
//! v1 forms `system/<Type>.read` (= `rs`), `.write` (= `cud`) and `.*`
//! (= `cruds`). `<Type>` is a FHIR resource type or `*`.
//!
//! What a token is granted ([`grant`]): the requested system scopes on the
//! types served here, each narrowed to what the organization's purposes allow
//! ([`allowed_permissions`]: a research-only organization reads, never writes),
//! and answered in the syntax the client asked in (`.read` stays `.read`).
//!
//! One scope is no FHIR scope: [`NOTICES_SCOPE`] (`notices.write`), which lets a
//! municipality publish, edit and withdraw its own notices
//! (`crate::app::notices`). It is granted to organizations of kind
//! `municipality` only.

use std::fmt;

use phr_core::consent::Purpose;

/// The resource types organizations may be granted access to: exactly the
/// types the CapabilityStatement (`GET /fhir/r4/metadata`) lists, so every
/// scope in `scopes_supported` opens an endpoint (a unit test holds them equal).
pub const SERVED_RESOURCE_TYPES: [&str; 8] = [
    "Patient",
    "Observation",
    "Immunization",
    "MedicationStatement",
    "MedicationDispense",
    "Encounter",
    "Condition",
    "AllergyIntolerance",
];

/// The scope that lets a municipality publish its notices (`/notices/v1/notices`).
pub const NOTICES_SCOPE: &str = "notices.write";

/// The permission bits of `rs` (v1 `.read`).
const READ: u8 = 0b1_0010;
/// The permission bits of `cud` (v1 `.write`).
const WRITE: u8 = 0b0_1101;
/// The permission bits of `cruds` (v1 `.*`).
const ALL: u8 = 0b1_1111;

/// How a scope was written: SMART v1 (`.read`, `.write`, `.*`) or v2 (`.cruds` letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    V1,
    V2,
}

/// One SMART v2 permission letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Action {
    const ORDER: [(Action, char); 5] = [
        (Action::Create, 'c'),
        (Action::Read, 'r'),
        (Action::Update, 'u'),
        (Action::Delete, 'd'),
        (Action::Search, 's'),
    ];

    fn bit(self) -> u8 {
        1 << Action::ORDER.iter().position(|(a, _)| *a == self).unwrap_or(0)
    }
}

/// One system scope: a resource type (or every type) and its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every resource type (`*`).
    pub resource_type: Option<String>,
    permissions: u8,
    /// How the client wrote it; [`Scope`]'s `Display` answers in the same syntax.
    syntax: Syntax,
}

impl Scope {
    /// Parses one scope; `None` for anything that is not a system scope
    /// this server understands (other contexts, query constraints, typos).
    pub fn parse(text: &str) -> Option<Scope> {
        let rest = text.strip_prefix("system/")?;
        let (resource, perms) = rest.rsplit_once('.')?;
        let resource_type = match resource {
            "*" => None,
            t if is_resource_type_name(t) => Some(t.to_owned()),
            _ => return None,
        };
        let (permissions, syntax) = match perms {
            "read" => (READ, Syntax::V1),
            "write" => (WRITE, Syntax::V1),
            "*" => (ALL, Syntax::V1),
            v2 => (parse_cruds(v2)?, Syntax::V2),
        };
        Some(Scope { resource_type, permissions, syntax })
    }

    pub fn permits(&self, resource_type: &str, action: Action) -> bool {
        self.resource_type.as_deref().is_none_or(|t| t == resource_type) && self.permissions & action.bit() != 0
    }

    /// Whether this server serves the scope's resource type.
    fn is_served(&self) -> bool {
        self.resource_type.as_deref().is_none_or(|t| SERVED_RESOURCE_TYPES.contains(&t))
    }

    /// The scope with only the permissions in `allowed`; `None` when none is left.
    fn narrowed_to(mut self, allowed: u8) -> Option<Scope> {
        self.permissions &= allowed;
        (self.permissions != 0).then_some(self)
    }

    /// Whether two scopes grant the same (however written).
    fn means_the_same_as(&self, other: &Scope) -> bool {
        self.resource_type == other.resource_type && self.permissions == other.permissions
    }
}

impl fmt::Display for Scope {
    /// The syntax the scope was written in where it can say the same: v1
    /// (`system/Observation.read`) for a v1 scope whose permissions are those of
    /// `.read`, `.write` or `.*`, else v2 (`system/Observation.rs`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = self.resource_type.as_deref().unwrap_or("*");
        let v1 = match self.permissions {
            READ => Some("read"),
            WRITE => Some("write"),
            ALL => Some("*"),
            _ => None,
        };
        if let (Syntax::V1, Some(v1)) = (self.syntax, v1) {
            return write!(f, "system/{resource}.{v1}");
        }
        let letters: String =
            Action::ORDER.iter().filter(|(a, _)| self.permissions & a.bit() != 0).map(|(_, c)| *c).collect();
        write!(f, "system/{resource}.{letters}")
    }
}

/// `cruds` letters: a non-empty subsequence of c, r, u, d, s in that order.
fn parse_cruds(letters: &str) -> Option<u8> {
    let mut bits = 0u8;
    let mut next = 0;
    for ch in letters.chars() {
        let offset = Action::ORDER[next..].iter().position(|(_, c)| *c == ch)?;
        bits |= Action::ORDER[next + offset].0.bit();
        next += offset + 1;
    }
    (bits != 0).then_some(bits)
}

/// A FHIR resource type name: an ASCII letter then letters or digits (at most 64).
fn is_resource_type_name(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The scopes of an access token: its FHIR system scopes and whether it may publish notices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    fhir: Vec<Scope>,
    notices: bool,
}

impl Scopes {
    /// Parses a space-separated scope string, keeping the scopes understood.
    pub fn parse(text: &str) -> Scopes {
        Scopes {
            fhir: text.split_ascii_whitespace().filter_map(Scope::parse).collect(),
            notices: text.split_ascii_whitespace().any(|s| s == NOTICES_SCOPE),
        }
    }

    /// Whether any scope allows `action` on `resource_type`.
    pub fn permits(&self, resource_type: &str, action: Action) -> bool {
        self.fhir.iter().any(|s| s.permits(resource_type, action))
    }

    /// Whether the token carries [`NOTICES_SCOPE`].
    pub fn permits_notices(&self) -> bool {
        self.notices
    }

    pub fn is_empty(&self) -> bool {
        self.fhir.is_empty() && !self.notices
    }
}

impl fmt::Display for Scopes {
    /// Space-separated, each in the syntax it was written in; [`NOTICES_SCOPE`] last.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.fhir.iter().map(Scope::to_string).collect();
        if self.notices {
            parts.push(NOTICES_SCOPE.to_owned());
        }
        f.write_str(&parts.join(" "))
    }
}

/// The permissions an organization with `purposes` may be granted: all of
/// `cruds` when it serves care (treatment or emergency: the FHIR API reads and
/// writes under those), only `rs` when it is research-only (its sole use is the
/// read-only bulk export; writing is no research purpose).
pub fn allowed_permissions(purposes: &[Purpose]) -> u8 {
    if purposes.iter().any(|p| matches!(p, Purpose::Treatment | Purpose::Emergency)) {
        ALL
    } else {
        READ
    }
}

/// The scopes to grant an organization with `purposes` for a requested scope
/// string: those requested that are system scopes on a resource type this
/// server serves (or `*`), narrowed to [`allowed_permissions`] (RFC 6749 §3.3:
/// the token response's `scope` says what was granted), without duplicates,
/// each in the syntax it was asked in; and [`NOTICES_SCOPE`] when asked by a
/// municipality (`is_municipality`). Anything else requested is not granted;
/// an empty result is the caller's `invalid_scope`.
pub fn grant(requested: &str, purposes: &[Purpose], is_municipality: bool) -> Scopes {
    let allowed = allowed_permissions(purposes);
    let mut granted: Vec<Scope> = Vec::new();
    for scope in requested
        .split_ascii_whitespace()
        .filter_map(Scope::parse)
        .filter(Scope::is_served)
        .filter_map(|s| s.narrowed_to(allowed))
    {
        if !granted.iter().any(|g| g.means_the_same_as(&scope)) {
            granted.push(scope);
        }
    }
    let notices = is_municipality && requested.split_ascii_whitespace().any(|s| s == NOTICES_SCOPE);
    Scopes { fhir: granted, notices }
}

/// What `/.well-known/smart-configuration` lists as `scopes_supported`.
pub fn supported() -> Vec<String> {
    let mut scopes = vec!["system/*.cruds".to_owned(), "system/*.rs".to_owned()];
    for t in SERVED_RESOURCE_TYPES {
        scopes.push(format!("system/{t}.cruds"));
        scopes.push(format!("system/{t}.rs"));
    }
    scopes.push(NOTICES_SCOPE.to_owned());
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_system_scopes_parse_with_their_permission_letters() {
        let s = Scope::parse("system/Observation.rs").unwrap();
        assert!(s.permits("Observation", Action::Read) && s.permits("Observation", Action::Search));
        assert!(!s.permits("Observation", Action::Create) && !s.permits("Observation", Action::Update));
        assert!(!s.permits("Patient", Action::Read), "another type");
        let all = Scope::parse("system/*.cruds").unwrap();
        for action in [Action::Create, Action::Read, Action::Update, Action::Delete, Action::Search] {
            assert!(all.permits("Immunization", action));
        }
        assert_eq!(Scope::parse("system/Patient.cud").unwrap().to_string(), "system/Patient.cud");
    }

    #[test]
    fn v1_read_write_and_star_carry_the_v2_permissions_and_are_answered_in_v1() {
        let read = Scope::parse("system/Observation.read").unwrap();
        assert!(read.means_the_same_as(&Scope::parse("system/Observation.rs").unwrap()));
        assert!(Scope::parse("system/Observation.write")
            .unwrap()
            .means_the_same_as(&Scope::parse("system/Observation.cud").unwrap()));
        assert!(Scope::parse("system/*.*").unwrap().means_the_same_as(&Scope::parse("system/*.cruds").unwrap()));
        for v1 in ["system/Observation.read", "system/Observation.write", "system/*.*", "system/*.read"] {
            assert_eq!(Scope::parse(v1).unwrap().to_string(), v1);
        }
        // A v1 scope narrowed to what v1 cannot say is answered in v2.
        let narrowed = Scope::parse("system/*.*").unwrap().narrowed_to(Action::Read.bit()).unwrap();
        assert_eq!(narrowed.to_string(), "system/*.r");
        assert_eq!(Scope::parse("system/*.*").unwrap().narrowed_to(READ).unwrap().to_string(), "system/*.read");
    }

    #[test]
    fn the_permission_constants_are_their_letters() {
        assert_eq!(READ, Action::Read.bit() | Action::Search.bit());
        assert_eq!(WRITE, Action::Create.bit() | Action::Update.bit() | Action::Delete.bit());
        assert_eq!(ALL, READ | WRITE);
    }

    #[test]
    fn permission_letters_out_of_order_repeated_unknown_or_empty_are_not_scopes() {
        for bad in [
            "system/Observation.sr",
            "system/Observation.rr",
            "system/Observation.rx",
            "system/Observation.",
            "system/.rs",
            "system/observation.rs",
            "patient/Observation.rs",
            "user/*.cruds",
            "system/Observation.rs?category=laboratory",
            "launch",
            "openid",
            "system/Obs-ervation.rs",
        ] {
            assert_eq!(Scope::parse(bad), None, "{bad}");
        }
    }

    fn grant_care(requested: &str, purposes: &[Purpose]) -> Scopes {
        grant(requested, purposes, false)
    }

    #[test]
    fn the_notices_scope_is_granted_to_municipalities_only_and_round_trips() {
        let city = grant("system/Immunization.rs notices.write", &CARE, true);
        assert!(city.permits_notices() && city.permits("Immunization", Action::Read));
        assert_eq!(city.to_string(), "system/Immunization.rs notices.write");
        assert_eq!(Scopes::parse(&city.to_string()), city);
        let clinic = grant("system/Immunization.rs notices.write", &CARE, false);
        assert!(!clinic.permits_notices());
        assert_eq!(clinic.to_string(), "system/Immunization.rs");
        let only_notices = grant("notices.write", &CARE, true);
        assert!(!only_notices.is_empty() && only_notices.permits_notices());
        assert!(!only_notices.permits("Patient", Action::Read));
        assert!(grant("notices.write", &CARE, false).is_empty());
        assert!(!Scopes::parse("system/*.cruds notices.read").permits_notices());
    }

    const CARE: [Purpose; 2] = [Purpose::Treatment, Purpose::Emergency];
    const RESEARCH: [Purpose; 1] = [Purpose::Research];

    #[test]
    fn granted_scopes_are_the_requested_ones_on_served_types_without_duplicates() {
        let granted =
            grant_care("system/Observation.rs launch system/Practitioner.rs system/Observation.read system/*.s", &CARE);
        assert_eq!(granted.to_string(), "system/Observation.rs system/*.s");
        assert!(granted.permits("Patient", Action::Search));
        assert!(!granted.permits("Patient", Action::Read));
        assert!(grant_care("system/Practitioner.rs openid patient/*.rs", &CARE).is_empty());
        assert!(grant_care("", &CARE).is_empty());
        assert!(grant_care("system/AuditEvent.rs", &CARE).is_empty(), "AuditEvent is no organization resource");
        assert_eq!(
            grant_care("system/*.write system/Patient.read", &CARE).to_string(),
            "system/*.write system/Patient.read"
        );
    }

    #[test]
    fn a_research_organization_is_granted_read_and_search_only() {
        assert_eq!(allowed_permissions(&RESEARCH), READ);
        assert_eq!(allowed_permissions(&[Purpose::Research, Purpose::Treatment]), ALL);
        assert_eq!(allowed_permissions(&CARE), ALL);
        assert_eq!(grant_care("system/*.cruds", &RESEARCH).to_string(), "system/*.rs");
        assert_eq!(grant_care("system/*.*", &RESEARCH).to_string(), "system/*.read");
        assert_eq!(
            grant_care("system/Observation.rs system/Patient.cu", &RESEARCH).to_string(),
            "system/Observation.rs"
        );
        assert!(grant_care("system/Observation.write system/*.cud", &RESEARCH).is_empty());
        let granted = grant_care("system/*.cruds", &RESEARCH);
        for action in [Action::Create, Action::Update, Action::Delete] {
            assert!(!granted.permits("Observation", action));
        }
    }

    #[test]
    fn a_token_scope_string_round_trips_through_parse_and_display() {
        let text = "system/Immunization.rs system/*.cud";
        assert_eq!(Scopes::parse(text).to_string(), text);
        assert!(Scopes::parse(text).permits("Encounter", Action::Delete));
    }

    #[test]
    fn supported_scopes_name_every_served_type_and_parse() {
        let supported = supported();
        for t in SERVED_RESOURCE_TYPES {
            assert!(supported.contains(&format!("system/{t}.rs")), "{t}");
        }
        assert!(supported.iter().filter(|s| *s != NOTICES_SCOPE).all(|s| Scope::parse(s).is_some()));
        assert!(Scopes::parse(&supported.join(" ")).permits_notices());
    }

    #[test]
    fn every_served_type_is_in_the_capability_statement_and_nothing_else_is() {
        let statement = crate::app::fhir::metadata::statement("https://phr.example");
        let listed: Vec<&str> =
            statement["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        let mut served = SERVED_RESOURCE_TYPES.to_vec();
        let mut listed_sorted = listed.clone();
        served.sort_unstable();
        listed_sorted.sort_unstable();
        assert_eq!(served, listed_sorted);
    }
}
