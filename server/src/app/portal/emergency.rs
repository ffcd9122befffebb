//! Break-glass in the care-team portal: a staff member of an emergency department (an
//! organization of kind `emergency`) reads a patient's emergency summary by an identifier the
//! family registered, with a reason — exactly the FHIR API's `Patient/$summary` break-glass
//! ([`crate::app::break_glass::summary`]: the family's opt-in, the time-boxed session, the
//! audit with the reason, the Web Push notice to the family), audited naming the staff member
//! (`docs/portal.md`, "Emergency").

use serde_json::Value;

use super::patients::staff_actor;
use super::StaffSession;
use crate::app::break_glass::{self, Requester};
use crate::app::error::AppError;
use crate::app::organizations::EMERGENCY_KIND;
use crate::app::App;

/// One section of the emergency summary as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummarySection {
    pub title: String,
    /// The section's entries, one line each (its narrative's items).
    pub lines: Vec<String>,
}

/// Whether the staff member's organization is an emergency department.
pub fn is_emergency(staff: &StaffSession) -> bool {
    staff.organization_kind == EMERGENCY_KIND
}

/// The emergency summary of the patient with identifier `system|value`, read by break-glass
/// with `reason` (400 without one; 404 when no family registered the identifier, or it did not
/// opt in; 403 for an organization that is not an emergency department — every refusal is
/// audited in the families that registered the identifier).
pub async fn summary(
    app: &App,
    staff: &StaffSession,
    system: &str,
    value: &str,
    reason: &str,
) -> Result<Vec<SummarySection>, AppError> {
    let identifier = break_glass::parse_identifier(Some(&format!("{}|{}", system.trim(), value.trim())))?;
    let requester = Requester::Staff { organization_id: staff.organization_id.clone(), actor: staff_actor(staff) };
    let bundle = break_glass::summary(app, requester, identifier, Some(reason.to_owned())).await?;
    let json = serde_json::to_value(&bundle).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(sections(&json))
}

/// The Composition's sections of an emergency summary Bundle: titles and narrative items.
pub fn sections(bundle: &Value) -> Vec<SummarySection> {
    let composition = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Composition");
    let Some(composition) = composition else { return Vec::new() };
    composition["section"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SummarySection {
            title: s["title"].as_str().unwrap_or_default().to_owned(),
            lines: narrative_items(s["text"]["div"].as_str().unwrap_or_default()),
        })
        .collect()
}

/// The text of each `<li>` of a generated narrative, unescaped (the page escapes it again).
fn narrative_items(div: &str) -> Vec<String> {
    div.split("<li>")
        .skip(1)
        .filter_map(|item| item.split("</li>").next())
        .map(|text| text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_come_with_their_narrative_items_unescaped_once() {
        let bundle = serde_json::json!({"entry": [{"resource": {"resourceType": "Composition", "section": [
            {"title": "Allergies", "text": {"div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><ul><li>卵 &amp;lt;b&amp;gt;</li><li>A &lt;b&gt;</li></ul></div>"}},
            {"title": "Problems"}
        ]}}]});
        let found = sections(&bundle);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].lines, ["卵 &lt;b&gt;", "A <b>"]);
        assert!(found[1].lines.is_empty());
        assert!(sections(&serde_json::json!({})).is_empty());
    }
}
