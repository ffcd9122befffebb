//! SMART App Launch 2.x system scopes: `system/<Type>.<cruds>` (v2), and the
//! v1 forms `system/<Type>.read` (= `rs`), `.write` (= `cud`) and `.*`
//! (= `cruds`). `<Type>` is a FHIR resource type or `*`.

use std::fmt;

/// The resource types organizations may be granted access to: the FHIR
/// resources this server serves.
pub const SERVED_RESOURCE_TYPES: [&str; 8] = [
    "Patient",
    "Observation",
    "Immunization",
    "MedicationStatement",
    "MedicationDispense",
    "Encounter",
    "Condition",
    "AuditEvent",
];

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
        let permissions = match perms {
            "read" => Action::Read.bit() | Action::Search.bit(),
            "write" => Action::Create.bit() | Action::Update.bit() | Action::Delete.bit(),
            "*" => 0b1_1111,
            v2 => parse_cruds(v2)?,
        };
        Some(Scope { resource_type, permissions })
    }

    pub fn permits(&self, resource_type: &str, action: Action) -> bool {
        self.resource_type.as_deref().is_none_or(|t| t == resource_type) && self.permissions & action.bit() != 0
    }

    /// Whether this server serves the scope's resource type.
    fn is_served(&self) -> bool {
        self.resource_type.as_deref().is_none_or(|t| SERVED_RESOURCE_TYPES.contains(&t))
    }
}

impl fmt::Display for Scope {
    /// The SMART v2 form, e.g. `system/Observation.rs`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letters: String =
            Action::ORDER.iter().filter(|(a, _)| self.permissions & a.bit() != 0).map(|(_, c)| *c).collect();
        write!(f, "system/{}.{letters}", self.resource_type.as_deref().unwrap_or("*"))
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

/// The scopes of an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    /// Parses a space-separated scope string, keeping the scopes understood.
    pub fn parse(text: &str) -> Scopes {
        Scopes(text.split_ascii_whitespace().filter_map(Scope::parse).collect())
    }

    /// Whether any scope allows `action` on `resource_type`.
    pub fn permits(&self, resource_type: &str, action: Action) -> bool {
        self.0.iter().any(|s| s.permits(resource_type, action))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    /// Space-separated SMART v2 forms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(Scope::to_string).collect();
        f.write_str(&parts.join(" "))
    }
}

/// The scopes to grant for a requested scope string: those requested that
/// are system scopes on a resource type this server serves (or `*`), in v2
/// form, without duplicates. Anything else requested is not granted.
pub fn grant(requested: &str) -> Scopes {
    let mut granted: Vec<Scope> = Vec::new();
    for scope in requested.split_ascii_whitespace().filter_map(Scope::parse).filter(Scope::is_served) {
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Scopes(granted)
}

/// What `/.well-known/smart-configuration` lists as `scopes_supported`.
pub fn supported() -> Vec<String> {
    let mut scopes = vec!["system/*.cruds".to_owned(), "system/*.rs".to_owned()];
    for t in SERVED_RESOURCE_TYPES {
        scopes.push(format!("system/{t}.cruds"));
        scopes.push(format!("system/{t}.rs"));
    }
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
    fn v1_read_write_and_star_map_to_v2_permissions() {
        assert_eq!(Scope::parse("system/Observation.read").unwrap().to_string(), "system/Observation.rs");
        assert_eq!(Scope::parse("system/Observation.write").unwrap().to_string(), "system/Observation.cud");
        assert_eq!(Scope::parse("system/*.*").unwrap().to_string(), "system/*.cruds");
        assert_eq!(Scope::parse("system/*.read").unwrap().to_string(), "system/*.rs");
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

    #[test]
    fn granted_scopes_are_the_requested_ones_on_served_types_without_duplicates() {
        let granted = grant("system/Observation.rs launch system/Practitioner.rs system/Observation.read system/*.s");
        assert_eq!(granted.to_string(), "system/Observation.rs system/*.s");
        assert!(granted.permits("Patient", Action::Search));
        assert!(!granted.permits("Patient", Action::Read));
        assert!(grant("system/Practitioner.rs openid patient/*.rs").is_empty());
        assert!(grant("").is_empty());
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
        assert!(supported.iter().all(|s| Scope::parse(s).is_some()));
    }
}
