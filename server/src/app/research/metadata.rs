//! The CapabilityStatement of the research Bulk Data base
//! (`GET /research/v1/metadata`): a FHIR R4 server offering only the
//! system-level `$export` operation of Bulk Data 2.0, its parameters listed in
//! the operation's documentation.

use serde_json::{json, Value};

use super::kickoff::{ExportType, MODULE_PARAM, OUTPUT_FORMATS, UNSUPPORTED};
use crate::app::smart::capability_security;

/// The Bulk Data 2.0 `$export` operation definition.
pub const EXPORT_DEFINITION: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export";

/// What the `export` operation takes, for its `documentation`.
fn export_documentation() -> String {
    let types: Vec<&str> = ExportType::ALL.iter().map(|t| t.as_str()).collect();
    format!(
        "System-level Bulk Data 2.0 export of consented, de-identified research extracts (GET with query \
         parameters, or POST with a Parameters resource). Requires `Prefer: respond-async` (400 without it). \
         Parameters: `_type` (resource types, comma-separated or repeated: {types}; absent = all); `_since` \
         (instant; only records changed at or after it); `_outputFormat` ({formats}); `{MODULE_PARAM}` \
         (product-specific: dataset modules such as newborn, delivery, prenatal_visit, comma-separated or \
         repeated; absent = all; one CSV per module is listed in the manifest's extension). Not supported: \
         {unsupported} (400, or ignored and reported in an OperationOutcome with `Prefer: handling=lenient`).",
        types = types.join(", "),
        formats = OUTPUT_FORMATS.join(", "),
        unsupported = UNSUPPORTED.join(", "),
    )
}

/// The CapabilityStatement JSON, with `base` the server's public URL.
pub fn statement(base: &str) -> Value {
    let resources: Vec<Value> = ExportType::ALL
        .iter()
        .map(|t| json!({"type": t.as_str(), "documentation": "written by $export only (no REST interactions here)"}))
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "software": {"name": "phr-server", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": "Maternal & child PHR research extracts (FHIR Bulk Data 2.0, consent-enforced, de-identified)",
            "url": format!("{base}/research/v1"),
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+ndjson"],
        "rest": [{
            "mode": "server",
            "security": capability_security(
                base,
                "SMART Backend Services (client_credentials, private_key_jwt) for a research organization, scopes \
                 reading Patient and Observation (e.g. system/*.rs); see /research/v1/.well-known/smart-configuration",
            ),
            "resource": resources,
            "operation": [{
                "name": "export",
                "definition": EXPORT_DEFINITION,
                "documentation": export_documentation(),
            }],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capability_statement_is_r4_and_names_the_bulk_export_operation_and_its_parameters() {
        let v = statement("https://phr.example");
        let cs: phr_fhir::model::CapabilityStatement = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cs.kind.as_deref(), Some("instance"));
        assert_eq!(cs.fhir_version.as_deref(), Some("4.0.1"));
        assert_eq!(v["implementation"]["url"], "https://phr.example/research/v1");
        let op = &v["rest"][0]["operation"][0];
        assert_eq!(op["name"], "export");
        assert_eq!(op["definition"], EXPORT_DEFINITION);
        let doc = op["documentation"].as_str().unwrap();
        for p in ["_type", "_since", "_outputFormat", "module", "respond-async", "handling=lenient", "_typeFilter"] {
            assert!(doc.contains(p), "{p}: {doc}");
        }
        assert!(v["format"].as_array().unwrap().iter().any(|f| f == "application/fhir+ndjson"));
    }

    #[test]
    fn the_security_section_names_the_token_endpoint_like_the_fhir_base() {
        let v = statement("https://phr.example");
        let security = &v["rest"][0]["security"];
        assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
        let oauth = &security["extension"][0];
        assert_eq!(oauth["url"], crate::app::smart::OAUTH_URIS);
        assert_eq!(oauth["extension"], json!([{"url": "token", "valueUri": "https://phr.example/auth/token"}]));
    }
}
