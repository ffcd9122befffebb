//! The organizations a family can grant access to: clinics, municipalities,
//! EHR networks and research programmes. Operators register them with
//! `phr-server org add …` (see [`crate::cli`]); devices list the enabled ones
//! so parents can choose a grantee.
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `GET /consent/v1/organizations` | device | enabled organizations, sorted by name |
//!
//! An organization names the purposes it may be granted for; a research
//! programme may only be granted research access. Its optional JWKS (public
//! keys, for SMART Backend Services client authentication later) is kept as
//! JSON text.

use crate::store::organizations as store;
use std::collections::BTreeSet;

use phr_core::consent::{OrganizationId, Purpose};
use phr_core::sync::protocol::OrganizationInfo;

use crate::app::error::AppError;
use crate::app::App;

pub use store::OrganizationRow;

/// The kinds of organization the registry knows. An `emergency` organization (an emergency
/// department) may also read, by break-glass, the emergency summary of the families that opted
/// in to the standing emergency consent (`crate::app::break_glass`).
pub const KINDS: [&str; 5] = ["clinic", "municipality", "ehr_network", "research", "emergency"];
/// The kind of a municipality (a city's or town's health center), the only kind that may publish
/// notices (`crate::app::notices`).
pub const MUNICIPALITY_KIND: &str = "municipality";
/// The kind of an emergency department.
pub const EMERGENCY_KIND: &str = "emergency";
/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The largest JWKS document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

pub use crate::store::organizations::NewOrganization;

/// A purpose by its snake_case name (`treatment`, `emergency`, `research`).
pub fn parse_purpose(name: &str) -> Option<Purpose> {
    [Purpose::Treatment, Purpose::Emergency, Purpose::Research].into_iter().find(|p| p.as_str() == name)
}

/// Checks an organization to register; returns it or *every* problem found.
pub fn check_new_organization(
    id: &str,
    name: &str,
    kind: &str,
    purposes: &[String],
    jwks: Option<&str>,
) -> Result<NewOrganization, Vec<String>> {
    let mut problems = Vec::new();
    let org_id = OrganizationId::new(id).map_err(|e| problems.push(e.to_string())).ok();
    if org_id.as_ref().is_some_and(OrganizationId::is_emergency_departments) {
        problems.push(format!(
            "{} is reserved: it stands for every registered emergency department (kind {EMERGENCY_KIND})",
            OrganizationId::EMERGENCY_DEPARTMENTS
        ));
    }
    let name = name.trim();
    let name_chars = name.chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS {
        problems.push(format!("name must be 1–{MAX_NAME_CHARS} characters and not blank"));
    }
    if name.chars().any(char::is_control) {
        problems.push("name must not contain control characters".to_owned());
    }
    let kind = KINDS.iter().copied().find(|k| *k == kind);
    if kind.is_none() {
        problems.push(format!("kind must be one of {}", KINDS.join(", ")));
    }
    let mut parsed = BTreeSet::new();
    for p in purposes {
        match parse_purpose(p) {
            Some(p) => {
                parsed.insert(p);
            }
            None => problems.push(format!("unknown purpose {p:?}: expected treatment, emergency or research")),
        }
    }
    if purposes.is_empty() {
        problems.push("at least one purpose is required".to_owned());
    }
    if kind == Some("research") && parsed.iter().any(|p| *p != Purpose::Research) {
        problems.push("a research organization may only be granted the research purpose".to_owned());
    }
    if kind == Some(EMERGENCY_KIND) && !parsed.contains(&Purpose::Emergency) {
        problems.push("an emergency organization needs the emergency purpose".to_owned());
    }
    if let Some(jwks) = jwks {
        if let Err(why) = check_jwks(jwks) {
            problems.push(format!("jwks {why}"));
        }
    }
    match (org_id, kind) {
        (Some(id), Some(kind)) if problems.is_empty() => Ok(NewOrganization {
            id,
            name: name.to_owned(),
            kind,
            purposes: parsed,
            jwks: jwks.map(str::to_owned),
            jwks_url: None,
        }),
        _ => Err(problems),
    }
}

/// Registers `url` as where the organization's JWKS is fetched from, instead of a
/// JWKS document (SMART client-confidential-asymmetric prefers a JWKS URL, so the
/// client rotates keys without the operator). The URL must be `https`, or `http`
/// to a loopback host (a client on the same machine, e.g. in tests), without
/// credentials or fragment, ≤ 2,000 characters.
pub fn with_jwks_url(mut org: NewOrganization, url: &str) -> Result<NewOrganization, String> {
    if org.jwks.is_some() {
        return Err("give a JWKS document or a JWKS URL, not both".to_owned());
    }
    org.jwks_url = Some(check_jwks_url(url)?);
    Ok(org)
}

/// The JWKS URL as stored, or why it cannot be one.
pub fn check_jwks_url(url: &str) -> Result<String, String> {
    const MAX_URL_CHARS: usize = 2000;
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("the JWKS URL is longer than {MAX_URL_CHARS} characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("the JWKS URL is not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("the JWKS URL has no host".to_owned()),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("the JWKS URL must be https (http only to a loopback host)".to_owned()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err("the JWKS URL must not carry credentials or a fragment".to_owned());
    }
    Ok(parsed.to_string())
}

/// A JWKS must be a JSON object with a `keys` array of objects.
pub fn check_jwks(text: &str) -> Result<(), String> {
    if text.len() > MAX_JWKS_BYTES {
        return Err(format!("is larger than {MAX_JWKS_BYTES} bytes"));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("is not valid JSON: {e}"))?;
    let keys = value
        .as_object()
        .ok_or("must be a JSON object")?
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("must have a \"keys\" array")?;
    if keys.iter().any(|k| !k.is_object()) {
        return Err("\"keys\" must hold JSON objects".into());
    }
    Ok(())
}

impl OrganizationRow {
    /// The purposes stored for the organization (unknown names are skipped).
    pub fn purposes(&self) -> Vec<Purpose> {
        self.purposes.split(',').filter_map(parse_purpose).collect()
    }

    /// Whether grants for `purpose` may name this organization.
    pub fn allows(&self, purpose: Purpose) -> bool {
        self.purposes().contains(&purpose)
    }

    pub fn is_enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    pub fn info(&self) -> OrganizationInfo {
        OrganizationInfo {
            organization_id: self.organization_id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            purposes: self.purposes().into_iter().map(|p| p.as_str().to_owned()).collect(),
        }
    }
}

/// The enabled organizations, sorted by name, as devices see them.
pub async fn list_enabled(app: &App) -> Result<Vec<OrganizationInfo>, AppError> {
    let rows = app.db(|conn| Ok(store::list(conn, false)?)).await?;
    Ok(rows.iter().map(OrganizationRow::info).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purposes(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_clinic_with_treatment_and_emergency_is_accepted_and_trimmed() {
        let org = check_new_organization(
            "tanaka-clinic",
            "  Tanaka Clinic ",
            "clinic",
            &purposes(&["emergency", "treatment", "treatment"]),
            None,
        )
        .unwrap();
        assert_eq!(org.id.as_str(), "tanaka-clinic");
        assert_eq!(org.name, "Tanaka Clinic");
        assert_eq!(org.kind, "clinic");
        assert_eq!(org.purposes.into_iter().collect::<Vec<_>>(), vec![Purpose::Treatment, Purpose::Emergency]);
    }

    #[test]
    fn every_problem_of_an_organization_is_reported_at_once() {
        let problems =
            check_new_organization("Bad Id", " ", "hospital", &purposes(&["marketing"]), Some("[]")).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("invalid organization id"), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("name")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("kind")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("marketing")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("jwks")), "{problems:?}");
    }

    #[test]
    fn an_emergency_department_needs_the_emergency_purpose_and_may_not_take_the_class_id() {
        assert!(check_new_organization("er-1", "ER", "emergency", &purposes(&["emergency"]), None).is_ok());
        let problems = check_new_organization("er-1", "ER", "emergency", &purposes(&["treatment"]), None).unwrap_err();
        assert_eq!(problems, vec!["an emergency organization needs the emergency purpose".to_owned()]);
        let problems =
            check_new_organization("emergency-departments", "ER", "emergency", &purposes(&["emergency"]), None)
                .unwrap_err();
        assert!(problems[0].contains("is reserved"), "{problems:?}");
    }

    #[test]
    fn purposes_must_not_be_empty() {
        let problems = check_new_organization("c", "C", "clinic", &[], None).unwrap_err();
        assert_eq!(problems, vec!["at least one purpose is required".to_owned()]);
    }

    #[test]
    fn a_research_organization_may_only_be_granted_research() {
        assert!(check_new_organization("r", "R", "research", &purposes(&["research"]), None).is_ok());
        let problems =
            check_new_organization("r", "R", "research", &purposes(&["research", "treatment"]), None).unwrap_err();
        assert!(problems[0].contains("only be granted the research purpose"), "{problems:?}");
        // Other kinds may include research.
        assert!(check_new_organization("n", "N", "ehr_network", &purposes(&["treatment", "research"]), None).is_ok());
    }

    #[test]
    fn names_are_1_to_200_characters_without_control_characters() {
        assert!(check_new_organization("c", &"名".repeat(200), "clinic", &purposes(&["treatment"]), None).is_ok());
        assert!(check_new_organization("c", &"名".repeat(201), "clinic", &purposes(&["treatment"]), None).is_err());
        assert!(check_new_organization("c", "a\u{7}b", "clinic", &purposes(&["treatment"]), None).is_err());
    }

    #[test]
    fn jwks_must_be_an_object_with_a_keys_array_of_objects() {
        assert!(check_jwks(r#"{"keys": []}"#).is_ok());
        assert!(check_jwks(r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}"#).is_ok());
        assert!(check_jwks("not json").unwrap_err().contains("not valid JSON"));
        assert!(check_jwks("[]").unwrap_err().contains("JSON object"));
        assert!(check_jwks(r#"{"key": []}"#).unwrap_err().contains("\"keys\" array"));
        assert!(check_jwks(r#"{"keys": {}}"#).is_err());
        assert!(check_jwks(r#"{"keys": [1]}"#).is_err());
    }

    #[test]
    fn a_jwks_url_is_https_or_loopback_http_and_replaces_a_jwks_document() {
        let org = || check_new_organization("c", "C", "clinic", &purposes(&["treatment"]), None).unwrap();
        let url = |u: &str| with_jwks_url(org(), u).map(|o| o.jwks_url.unwrap());
        assert_eq!(url("https://keys.clinic.example/jwks.json").unwrap(), "https://keys.clinic.example/jwks.json");
        assert!(url("http://127.0.0.1:8080/jwks.json").is_ok());
        assert!(url("http://[::1]/jwks").is_ok());
        assert!(url("http://localhost/jwks").is_ok());
        assert!(url("http://keys.clinic.example/jwks.json").unwrap_err().contains("https"));
        assert!(url("ftp://keys.clinic.example/jwks.json").unwrap_err().contains("https"));
        assert!(url("https://user:pw@keys.clinic.example/").unwrap_err().contains("credentials"));
        assert!(url("not a url").unwrap_err().contains("not a URL"));
        let with_doc = check_new_organization("c", "C", "clinic", &purposes(&["treatment"]), Some(r#"{"keys": []}"#));
        assert!(with_jwks_url(with_doc.unwrap(), "https://k.example/").unwrap_err().contains("not both"));
    }

    #[test]
    fn stored_purposes_round_trip_through_the_comma_separated_column() {
        let row = OrganizationRow {
            organization_id: "c".into(),
            name: "C".into(),
            kind: "clinic".into(),
            purposes: "treatment,emergency".into(),
            jwks: None,
            created_at: 1,
            disabled_at: None,
            jwks_url: None,
        };
        assert!(row.allows(Purpose::Treatment) && row.allows(Purpose::Emergency));
        assert!(!row.allows(Purpose::Research));
        assert_eq!(row.info().purposes, vec!["treatment", "emergency"]);
        assert!(row.is_enabled());
    }
}
