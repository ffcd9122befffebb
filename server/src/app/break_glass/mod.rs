//! Break-glass: an emergency department that was never granted anything reads a patient's
//! emergency summary, if the family opted in.
//!
//! | endpoint | auth | what |
//! |---|---|---|
//! | `PUT /emergency/v1/identifiers` | device | the identifiers (card, handbook) an emergency department may find the family's members by; replaces the earlier set |
//! | `GET /emergency/v1/identifiers` | device | how many are registered |
//! | `GET /fhir/r4/Patient/$summary?identifier=system\|value` | organization of kind `emergency`, header [`REASON_HEADER`] | the member's emergency summary (IPS document Bundle) |
//!
//! The rules, in the order [`summary`] applies them:
//! 1. The identifier names a family member only through a keyed hash ([`lookup_hash`]); the
//!    server never stores the identifier. A family registers its identifiers whether or not it
//!    opted in, so that a refused attempt reaches its audit log.
//! 2. Every request needs a reason ([`REASON_HEADER`], 1–500 characters): 400 without. It is
//!    the purpose of use `BTG` (break the glass) and is stored with the audit event.
//! 3. Only an enabled organization registered with kind `emergency` may break the glass:
//!    any other is 403.
//! 4. The family must hold an active break-glass grant (to
//!    [`phr_core::consent::OrganizationId::EMERGENCY_DEPARTMENTS`], emergency purpose,
//!    read-only, emergency-summary modules) covering the member: its keys are the only way the
//!    server can read anything. Without one — or for an identifier nobody (or more than one
//!    family) registered — the answer is the same 404, so a caller learns nothing about who
//!    exists.
//! 5. Access is time-boxed per organization and patient: the first read opens a session of
//!    `--break-glass-hours` (12 by default); a read after it ends opens a new one. The family
//!    is told (a Web Push notice) when a session opens and of every refusal; each read is
//!    audited (the phones report every one after their next sync).
//!
//! Every refusal after the identifier is known (no reason, wrong kind of organization, no
//! opt-in) is audited `denied` in the log of each family that registered the identifier, with
//! the organization and the reason if one was given.

use chrono::Utc;
use phr_core::consent::{OrganizationId, Purpose};
use phr_core::dataset::common::{looks_like_absolute_uri, MAX_IDENTIFIER_CHARS};
use phr_core::dataset::Subject;
use phr_core::sync::protocol::{
    EmergencyIdentifiersInfo, RegisterEmergencyIdentifiersRequest, MAX_EMERGENCY_IDENTIFIERS,
};
use phr_fhir::ips::{emergency_summary, SummaryInput, SummaryRecord};
use phr_fhir::model::{Bundle, Patient};
use ring::hmac;

use crate::app::audit::{self, AuditAction, AuditOutcome, NewAuditEvent};
use crate::app::auth::AuthenticatedDevice;
use crate::app::consent::access::{open_grants, readable_records, RecordFilter, MAX_PAGE};
use crate::app::error::{unprocessable_if_any, AppError};
use crate::app::smart::OrganizationToken;
use crate::app::{now_ms, App};
use crate::keys::KeyStore;
use crate::store::break_glass as store;
use crate::store::{write_transaction, DbConnection};

/// The request header that carries the break-glass reason.
pub const REASON_HEADER: &str = "X-Break-Glass-Reason";
/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// `Composition.author` of a summary the server assembles.
const AUTHOR: &str = "phr-server break-glass";
/// The one answer for an identifier that opens nothing, whatever the reason.
const NOT_AVAILABLE: &str = "no emergency summary is available for this identifier";

/// The key of the identifier hashes, derived from the server's first view key (so it
/// stays with the data: a server restored from backup finds the same families).
fn lookup_key(keys: &KeyStore) -> Result<hmac::Key, AppError> {
    keys.derived_hmac_key(b"phr-server/break-glass/identifier/v1")
        .ok_or_else(|| AppError::Internal("no view key".into()))
}

/// The keyed hash an identifier is registered and looked up by (hex HMAC-SHA-256 over
/// `system`, a zero byte, `value`).
pub fn lookup_hash(key: &hmac::Key, system: &str, value: &str) -> String {
    let mut msg = Vec::with_capacity(system.len() + value.len() + 1);
    msg.extend_from_slice(system.as_bytes());
    msg.push(0);
    msg.extend_from_slice(value.as_bytes());
    hex::encode(hmac::sign(key, &msg).as_ref())
}

/// Checks a `system` / `value` pair; the problems under `path`.
fn identifier_problems(path: &str, system: &str, value: &str) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (field, text) in [("system", system), ("value", value)] {
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > MAX_IDENTIFIER_CHARS || text.chars().any(char::is_control) {
            problems.push((
                format!("{path}.{field}"),
                format!("must be 1–{MAX_IDENTIFIER_CHARS} characters, not blank, without control characters"),
            ));
        }
    }
    if !system.trim().is_empty() && !looks_like_absolute_uri(system) {
        problems.push((format!("{path}.system"), "must be an absolute URI (e.g. urn:oid:... or https://...)".into()));
    }
    problems
}

/// `PUT /emergency/v1/identifiers`: replaces the family's registered identifiers (422 with
/// every problem, and nothing changed, if any is invalid).
pub async fn register_identifiers(
    app: &App,
    device: AuthenticatedDevice,
    req: RegisterEmergencyIdentifiersRequest,
) -> Result<EmergencyIdentifiersInfo, AppError> {
    if req.identifiers.len() > MAX_EMERGENCY_IDENTIFIERS {
        return Err(AppError::PayloadTooLarge(format!(
            "at most {MAX_EMERGENCY_IDENTIFIERS} identifiers, got {}",
            req.identifiers.len()
        )));
    }
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, id) in req.identifiers.iter().enumerate() {
        let path = format!("identifiers[{i}]");
        problems.extend(identifier_problems(&path, &id.system, &id.value));
        if !seen.insert(id) {
            problems.push((path, "duplicates an earlier identifier".into()));
        }
    }
    unprocessable_if_any("invalid emergency identifiers", problems)?;
    let key = lookup_key(&app.keys)?;
    let entries: Vec<(String, String)> =
        req.identifiers.iter().map(|id| (lookup_hash(&key, &id.system, &id.value), id.subject.to_string())).collect();
    let registered = entries.len() as u64;
    let now = now_ms();
    app.db(move |conn| {
        write_transaction(conn, |conn| {
            store::replace_identifiers(conn, &device.account_id, &entries)?;
            let actor = device.actor();
            let event = NewAuditEvent::new(&actor, AuditAction::EmergencyIdentifiersRegistered, AuditOutcome::Success);
            audit::append(conn, &device.account_id, now, &event)?;
            Ok(())
        })
    })
    .await?;
    Ok(EmergencyIdentifiersInfo { registered })
}

/// `GET /emergency/v1/identifiers`: how many identifiers the family registered.
pub async fn identifier_count(app: &App, device: AuthenticatedDevice) -> Result<EmergencyIdentifiersInfo, AppError> {
    let count = app.db(move |conn| Ok(store::identifier_count(conn, &device.account_id)?)).await?;
    Ok(EmergencyIdentifiersInfo { registered: count.max(0) as u64 })
}

/// The parameters of `Patient/$summary`: exactly one `identifier` (400 for a missing or
/// repeated one, or any other parameter).
pub fn summary_params(query: &str) -> Result<(String, String), AppError> {
    let mut identifier = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "identifier" if identifier.is_none() => identifier = Some(value.into_owned()),
            "identifier" => return Err(AppError::BadRequest("identifier: give it once".into())),
            _ => {
                return Err(AppError::BadRequest(
                    "Patient/$summary takes one parameter here: identifier=system|value".into(),
                ))
            }
        }
    }
    parse_identifier(identifier.as_deref())
}

/// The `identifier` parameter (`system|value`, both parts required).
pub fn parse_identifier(param: Option<&str>) -> Result<(String, String), AppError> {
    let param = param.ok_or_else(|| {
        AppError::BadRequest("identifier: required, as system|value (the identifier on the card or handbook)".into())
    })?;
    let (system, value) =
        param.split_once('|').ok_or_else(|| AppError::BadRequest("identifier: expected system|value".into()))?;
    if let Some((_, why)) = identifier_problems("identifier", system, value).into_iter().next() {
        return Err(AppError::BadRequest(format!("identifier: {why}")));
    }
    Ok((system.to_owned(), value.to_owned()))
}

/// The reason from [`REASON_HEADER`], checked (400 if absent, blank, too long or with control characters).
fn checked_reason(reason: Option<String>) -> Result<String, AppError> {
    let reason = reason.map(|r| r.trim().to_owned()).unwrap_or_default();
    if reason.is_empty() {
        return Err(AppError::BadRequest(format!(
            "break-glass needs a reason: send the {REASON_HEADER} header (purpose of use BTG)"
        )));
    }
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "{REASON_HEADER}: at most {MAX_REASON_CHARS} characters, without control characters"
        )));
    }
    Ok(reason)
}

/// Whether a stored session `(opened_at, expires_at)` still covers a read at `at` (epoch ms).
fn session_is_open(session: Option<(i64, i64)>, at: i64) -> bool {
    session.is_some_and(|(opened, until)| opened <= at && at < until)
}

/// How a break-glass request ended, and which families to tell (a Web Push notice).
enum Outcome {
    /// The document; `tell` holds the family if the read opened a new session.
    Served { bundle: Box<Bundle>, tell: Option<String> },
    /// Refused (and audited in every family in `tell`).
    Refused { error: AppError, tell: Vec<String> },
}

/// Who asks for a break-glass summary: an emergency department's FHIR client (its access
/// token), or a staff member of one in the care-team portal (audited by name).
pub enum Requester {
    Token(OrganizationToken),
    Staff { organization_id: String, actor: crate::app::audit::Actor },
}

impl Requester {
    fn actor(&self) -> crate::app::audit::Actor {
        match self {
            Requester::Token(token) => token.actor(),
            Requester::Staff { actor, .. } => actor.clone(),
        }
    }

    /// The organization, if still registered and enabled (401 otherwise).
    fn check_enabled(self, conn: &mut DbConnection) -> Result<String, AppError> {
        match self {
            Requester::Token(token) => Ok(token.check_enabled(conn)?.organization_id),
            Requester::Staff { organization_id, .. } => {
                let (enabled, _) = crate::store::organizations::enabled_at_generation(conn, &organization_id)?;
                if !enabled {
                    return Err(AppError::Unauthorized("this organization is not (or no longer) enabled".into()));
                }
                Ok(organization_id)
            }
        }
    }
}

/// `GET /fhir/r4/Patient/$summary?identifier=system|value` by an emergency department, with
/// the reason in [`REASON_HEADER`] (`reason`, as sent, `None` if absent), or the portal's
/// break-glass form. See the module rules.
pub async fn summary(
    app: &App,
    requester: Requester,
    identifier: (String, String),
    reason: Option<String>,
) -> Result<Bundle, AppError> {
    let key = lookup_key(&app.keys)?;
    let hash = lookup_hash(&key, &identifier.0, &identifier.1);
    let keys = app.keys.clone();
    let session_ms = i64::try_from(app.limits.break_glass_hours).unwrap_or(12).saturating_mul(3_600_000);
    let outcome = app
        .db(move |conn| {
            let holders = store::holders(conn, &hash)?;
            // Refusals that follow are audited in every family that registered the identifier.
            let actor = requester.actor();
            let refuse =
                |conn: &mut DbConnection, reason: Option<&str>, error: AppError| -> Result<Outcome, AppError> {
                    let now = now_ms();
                    let mut event = NewAuditEvent::by(&actor, AuditAction::BreakGlassSummary, AuditOutcome::Denied);
                    if let Some(reason) = reason {
                        event = event.reason(reason);
                    }
                    let events: Vec<_> = holders.iter().map(|(account, _)| (account.as_str(), now, &event)).collect();
                    write_transaction(conn, |conn| Ok::<_, AppError>(audit::append_all(conn, &events)?))?;
                    Ok(Outcome::Refused { error, tell: holders.iter().map(|(account, _)| account.clone()).collect() })
                };
            let reason = match checked_reason(reason) {
                Ok(reason) => reason,
                Err(e) => return refuse(conn, None, e),
            };
            let org_id = match requester.check_enabled(conn) {
                Ok(org_id) => org_id,
                Err(e) => return refuse(conn, Some(&reason), e),
            };
            let kind = crate::store::organizations::get(conn, &org_id)?.map(|o| o.kind);
            if kind.as_deref() != Some(crate::app::organizations::EMERGENCY_KIND) {
                let error = AppError::Forbidden(
                    "break-glass is for organizations registered as emergency departments (kind emergency)".into(),
                );
                return refuse(conn, Some(&reason), error);
            }
            let [(account, subject)] = holders.as_slice() else {
                return refuse(conn, Some(&reason), AppError::NotFound(NOT_AVAILABLE.into()));
            };
            let Ok(subject) = subject.parse::<Subject>() else {
                return Err(AppError::Internal("a stored emergency identifier names no subject".into()));
            };
            let now = Utc::now();
            let grants = open_grants(
                conn,
                &keys,
                OrganizationId::EMERGENCY_DEPARTMENTS,
                &[Purpose::Emergency],
                Some(account),
                now,
            )?;
            let grants: Vec<_> = grants.into_iter().filter(|g| g.grant.scope.subjects.contains(&subject)).collect();
            if grants.is_empty() {
                return refuse(conn, Some(&reason), AppError::NotFound(NOT_AVAILABLE.into()));
            }
            let filter = RecordFilter { subject: Some(subject), ..Default::default() };
            let records = readable_records(conn, &grants, account, &filter, MAX_PAGE)?;
            let patient_key = crate::app::fhir::patient_id_key(&keys)?;
            let input = SummaryInput {
                patient: Patient {
                    id: Some(crate::app::fhir::patient_id(&patient_key, account, &subject)),
                    active: Some(true),
                    ..Default::default()
                },
                records: records.iter().map(|r| SummaryRecord { id: r.record_id, body: &r.body }).collect(),
                today: now.date_naive(),
                now,
                author: AUTHOR.to_owned(),
            };
            let bundle = emergency_summary(&input)
                .map_err(|e| AppError::Internal(format!("the emergency summary cannot be assembled: {e}")))?;
            let at = now.timestamp_millis();
            let subject_name = subject.to_string();
            let grant_id = grants[0].grant_id();
            let record_ids: Vec<String> = records.iter().map(|r| r.record_id.to_string()).collect();
            let new_session = write_transaction(conn, |conn| {
                // The audit append takes the account's chain head first, so two reads of the
                // same family queue here and only one of them opens the session.
                let event = NewAuditEvent::by(&actor, AuditAction::BreakGlassSummary, AuditOutcome::Success)
                    .grant(&grant_id)
                    .records(record_ids)
                    .reason(&reason);
                audit::append(conn, account, at, &event)?;
                let open = session_is_open(store::session(conn, &org_id, account, &subject_name)?, at);
                if !open {
                    store::open_session(conn, &org_id, account, &subject_name, at, at.saturating_add(session_ms))?;
                }
                Ok::<_, AppError>(!open)
            })?;
            Ok(Outcome::Served { bundle: Box::new(bundle), tell: new_session.then(|| account.clone()) })
        })
        .await?;
    let tell = |account: String| {
        crate::app::notify::notify(app, account, crate::app::notify::Notice::EmergencyAccess { at: now_ms() })
    };
    match outcome {
        Outcome::Served { bundle, tell: family } => {
            family.into_iter().for_each(tell);
            Ok(*bundle)
        }
        Outcome::Refused { error, tell: families } => {
            families.into_iter().for_each(tell);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_hash_by_system_and_value_under_the_server_key() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[7; 32]);
        let other = hmac::Key::new(hmac::HMAC_SHA256, &[8; 32]);
        let h = lookup_hash(&key, "urn:oid:1.2.392.100495.20.3.51", "12345");
        assert_eq!(h.len(), 64);
        assert_eq!(h, lookup_hash(&key, "urn:oid:1.2.392.100495.20.3.51", "12345"));
        assert_ne!(h, lookup_hash(&other, "urn:oid:1.2.392.100495.20.3.51", "12345"), "keyed");
        assert_ne!(lookup_hash(&key, "urn:a", "bc"), lookup_hash(&key, "urn:ab", "c"), "parts are separated");
    }

    #[test]
    fn the_identifier_parameter_is_system_bar_value() {
        assert_eq!(parse_identifier(Some("urn:oid:1.2|A-1")).unwrap(), ("urn:oid:1.2".into(), "A-1".into()));
        for bad in [None, Some("A-1"), Some("|A-1"), Some("urn:x|"), Some("not a uri|A-1")] {
            assert!(matches!(parse_identifier(bad), Err(AppError::BadRequest(_))), "{bad:?}");
        }
    }

    #[test]
    fn summary_takes_exactly_one_identifier_and_nothing_else() {
        assert_eq!(summary_params("identifier=urn%3Aoid%3A1.2%7CA-1").unwrap(), ("urn:oid:1.2".into(), "A-1".into()));
        for bad in ["", "identifier=urn:x|1&identifier=urn:x|2", "identifier=urn:x|1&_count=2", "patient=1"] {
            assert!(matches!(summary_params(bad), Err(AppError::BadRequest(_))), "{bad}");
        }
    }

    #[test]
    fn a_session_covers_reads_from_its_opening_until_it_ends() {
        let twelve_hours = 12 * 3_600_000;
        assert!(!session_is_open(None, 5), "no session yet: a read opens one");
        assert!(session_is_open(Some((1_000, 1_000 + twelve_hours)), 1_000));
        assert!(session_is_open(Some((1_000, 1_000 + twelve_hours)), 1_000 + twelve_hours - 1));
        assert!(!session_is_open(Some((1_000, 1_000 + twelve_hours)), 1_000 + twelve_hours), "ended: a new one opens");
        assert!(!session_is_open(Some((1_000, 2_000)), 999), "a clock that went back opens a new one");
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert_eq!(checked_reason(Some("  unconscious after a fall ".into())).unwrap(), "unconscious after a fall");
        for bad in [None, Some("   ".to_owned()), Some("x".repeat(MAX_REASON_CHARS + 1)), Some("a\nb".to_owned())] {
            assert!(matches!(checked_reason(bad.clone()), Err(AppError::BadRequest(_))), "{bad:?}");
        }
    }
}
