//! The AuditEvent search (`GET /fhir/r4/AuditEvent`) with a *device* token: the parent reads the
//! family's own audit log (every access by organizations included) as a
//! `searchset` Bundle of FHIR AuditEvents, oldest first, paged with `_count`
//! (1–1000, default 100) and `next` links.
//!
//! Mapping of one log entry: `type` = DICOM/HL7 `rest`; `subtype` = the action
//! in `https://phr.example/CodeSystem/audit-action`; `action` = R (reads,
//! searches), C (writes), E (anything else); `recorded` = the time; `outcome`
//! = 0 (success), 4 (denied), 8 (other); the actor as the requesting agent; the
//! grant and each record as entities (identifiers in the PHR systems).

use phr_fhir::model::{
    AuditEvent, AuditEventAgent, AuditEventEntity, AuditEventSource, Bundle, BundleEntry, BundleLink, CodeableConcept,
    Coding, Identifier, Integer, Reference, Resource,
};

use super::{bad_request, FhirResult};
use crate::app::audit::AuditAction;
use crate::app::auth::AuthenticatedDevice;
use crate::app::App;
use crate::store::audit::AuditRow;

pub const ACTION_SYSTEM: &str = "https://phr.example/CodeSystem/audit-action";
pub const GRANT_ID_SYSTEM: &str = "https://phr.example/fhir/consent-grant-id";
pub const RECORD_ID_SYSTEM: &str = "https://phr.example/fhir/record-id";
/// HL7 v3 ActReason: the purpose-of-use code `BTG` (break the glass).
pub const ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

fn identified(system: &str, value: &str) -> Reference {
    Reference {
        identifier: Some(Box::new(Identifier {
            system: Some(system.into()),
            value: Some(value.into()),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// One log entry as an AuditEvent.
pub fn to_audit_event(row: &AuditRow) -> AuditEvent {
    // An action this server does not know (a newer server wrote it) is an operation.
    let action =
        AuditAction::parse(&row.action).map_or(crate::app::audit::FhirAuditAction::Execute, |a| a.fhir_action()).code();
    let outcome = match row.outcome.as_str() {
        "success" => "0",
        "denied" => "4",
        _ => "8",
    };
    let recorded = chrono::DateTime::from_timestamp_millis(row.at)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut entity = Vec::new();
    if let Some(grant) = &row.grant_id {
        entity.push(AuditEventEntity { what: Some(identified(GRANT_ID_SYSTEM, grant)), ..Default::default() });
    }
    let records: Vec<String> = serde_json::from_str(&row.record_ids).unwrap_or_default();
    entity.extend(
        records.iter().map(|r| AuditEventEntity { what: Some(identified(RECORD_ID_SYSTEM, r)), ..Default::default() }),
    );
    AuditEvent {
        id: Some(row.seq.to_string()),
        type_: Some(Coding::new(
            "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "rest",
            Some("RESTful Operation"),
        )),
        subtype: vec![Coding::new(ACTION_SYSTEM, row.action.clone(), None)],
        action: Some(action.into()),
        recorded: Some(recorded),
        outcome: Some(outcome.into()),
        agent: vec![AuditEventAgent {
            who: Some(Reference::display(row.actor.clone())),
            // A care-team portal staff member: their name (the actor names organization and staff id).
            name: row.actor_name.clone(),
            requestor: Some(true),
            ..Default::default()
        }],
        source: Some(AuditEventSource { observer: Some(Reference::display("phr-server")), ..Default::default() }),
        // A break-glass access: purpose of use BTG, with the reason the emergency team gave.
        purpose_of_event: row
            .reason
            .iter()
            .map(|reason| CodeableConcept {
                text: Some(reason.clone()),
                ..CodeableConcept::from_codings(vec![Coding::new(ACT_REASON_SYSTEM, "BTG", Some("break the glass"))])
            })
            .collect(),
        entity,
        ..Default::default()
    }
}

/// The page of the family's audit log that `query` (`_count`, `_offset`) asks for, as a `searchset` Bundle.
pub async fn search(app: &App, device: &AuthenticatedDevice, query: &str) -> FhirResult<Bundle> {
    let (mut count, mut offset) = (100i64, 0i64);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "_count" => {
                count = value
                    .parse()
                    .ok()
                    .filter(|c| (1..=1000).contains(c))
                    .ok_or_else(|| bad_request("_count must be 1–1000"))?
            }
            "_offset" => {
                offset = value
                    .parse()
                    .ok()
                    .filter(|o: &i64| *o >= 0)
                    .ok_or_else(|| bad_request("_offset must be a non-negative integer"))?
            }
            "_format" => {}
            _ => return Err(bad_request("AuditEvent search supports only date, _count and _sort")),
        }
    }
    let base = app.base_url()?.to_owned();
    let account = device.account_id.clone();
    let (rows, total) = app
        .db(move |conn| {
            // Events are numbered 1, 2, … without gaps (the hash chain), so an offset is a sequence number.
            let total = crate::store::audit::event_count(conn, &account)?;
            let rows = crate::store::audit::events_after(conn, &account, offset, count)?;
            Ok((rows, total))
        })
        .await?;
    let url = |o: i64| format!("{base}/fhir/r4/AuditEvent?_count={count}&_offset={o}");
    let mut link = vec![BundleLink { relation: Some("self".into()), url: Some(url(offset)), ..Default::default() }];
    if offset + count < total {
        link.push(BundleLink { relation: Some("next".into()), url: Some(url(offset + count)), ..Default::default() });
    }
    let entry = rows
        .iter()
        .map(|r| BundleEntry {
            full_url: Some(format!("{base}/fhir/r4/AuditEvent/{}", r.seq)),
            resource: Some(Box::new(Resource::AuditEvent(to_audit_event(r)))),
            ..Default::default()
        })
        .collect();
    Ok(Bundle {
        type_: Some("searchset".into()),
        total: Some(Integer(total.into())),
        link,
        entry,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str, outcome: &str) -> AuditRow {
        AuditRow {
            account_id: "acc".into(),
            seq: 7,
            at: 1_780_000_000_000,
            actor: "organization:tanaka-clinic".into(),
            action: action.into(),
            grant_id: Some("g1".into()),
            record_ids: "[\"r1\",\"r2\"]".into(),
            outcome: outcome.into(),
            prev_hash: String::new(),
            hash: String::new(),
            occurrences: None,
            reason: None,
            actor_name: None,
        }
    }

    #[test]
    fn log_entries_map_to_audit_events_with_action_outcome_agent_and_entities() {
        let e = to_audit_event(&row("fhir_search", "success"));
        assert_eq!(e.action.as_deref(), Some("R"));
        assert_eq!(e.outcome.as_deref(), Some("0"));
        assert_eq!(e.entity.len(), 3, "the grant and both records");
        assert_eq!(e.agent[0].requestor, Some(true));
        assert!(e.recorded.as_deref().unwrap().ends_with('Z'));
        assert_eq!(to_audit_event(&row("fhir_write", "success")).action.as_deref(), Some("C"));
        assert_eq!(to_audit_event(&row("fhir_read", "denied")).outcome.as_deref(), Some("4"));
        let json = serde_json::to_value(Resource::AuditEvent(e)).unwrap();
        assert_eq!(json["resourceType"], "AuditEvent");
        assert_eq!(json["subtype"][0]["code"], "fhir_search");
        assert!(json["agent"][0].get("name").is_none(), "no name for an organization's own access");
        let staff = AuditRow {
            actor: "organization:tanaka-clinic/staff:s1".into(),
            actor_name: Some("Sato Hanako".into()),
            ..row("portal_view", "success")
        };
        assert_eq!(to_audit_event(&staff).agent[0].name.as_deref(), Some("Sato Hanako"));
    }
}
