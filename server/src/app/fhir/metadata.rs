//! The content of `GET /fhir/r4/metadata`: a CapabilityStatement listing exactly what this
//! module implements (interactions, search parameters, operations, security).

use serde_json::{json, Value};

use crate::app::smart::capability_security;

/// The resource types that can be searched and read, with their search parameters:
/// every type a search or `$everything` returns besides Patient (whose entries'
/// `fullUrl`s `read.rs` answers).
pub const SEARCHABLE: [(&str, &[&str]); 7] = [
    ("Observation", &["patient", "subject", "category", "code", "date"]),
    ("Immunization", &["patient", "date"]),
    ("MedicationStatement", &["patient", "date"]),
    ("MedicationDispense", &["patient", "subject"]),
    ("Encounter", &["patient", "subject", "date"]),
    ("Condition", &["patient", "subject", "code"]),
    ("AllergyIntolerance", &["patient", "code"]),
];

/// The resource types a `POST` may create.
pub const CREATABLE: [&str; 6] =
    ["Observation", "Immunization", "MedicationStatement", "Encounter", "Condition", "AllergyIntolerance"];

fn param_type(name: &str) -> &'static str {
    match name {
        "patient" | "subject" => "reference",
        "date" => "date",
        _ => "token",
    }
}

/// The CapabilityStatement JSON, with `base` the server's public URL.
pub fn statement(base: &str) -> Value {
    let mut resources = vec![json!({
        "type": "Patient",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "_id", "type": "token"},
            {"name": "identifier", "type": "token", "documentation": "system|value or value; the handbook, municipal or clinic numbers the family attached"},
        ],
        "operation": [
            {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
            {"name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
             "documentation": "Break-glass, for organizations registered as emergency departments: GET Patient/$summary?identifier=system|value with the reason in the X-Break-Glass-Reason header (purpose of use BTG); answers the IPS document of a patient whose family opted in, 404 otherwise"},
        ],
    })];
    for (ty, params) in SEARCHABLE {
        let mut interaction = vec![json!({"code": "read"}), json!({"code": "search-type"})];
        if CREATABLE.contains(&ty) {
            interaction.push(json!({"code": "create"}));
            interaction.push(json!({"code": "update"}));
        }
        let mut search_param: Vec<Value> = vec![json!({"name": "_id", "type": "token"})];
        search_param.extend(params.iter().map(|p| json!({"name": p, "type": param_type(p)})));
        search_param.push(json!({"name": "_count", "type": "number"}));
        search_param.push(json!({"name": "_sort", "type": "string", "documentation": "date or -date"}));
        let mut resource = json!({"type": ty, "interaction": interaction, "searchParam": search_param});
        if let Some(codes) = phr_fhir::mapping::accepted_codes(ty) {
            resource["documentation"] = json!(format!("Code systems read on writes and in transactions: {codes}."));
        }
        resources.push(resource);
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "kind": "instance",
        "software": {"name": "phr-server", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Maternal & child PHR FHIR API (consent-enforced)", "url": format!("{base}/fhir/r4")},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": capability_security(
                base,
                "SMART Backend Services (client_credentials, private_key_jwt); see /fhir/r4/.well-known/smart-configuration",
            ),
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::smart::OAUTH_URIS;

    #[test]
    fn the_capability_statement_parses_as_one_and_lists_the_implemented_types() {
        let v = statement("https://phr.example");
        let cs: phr_fhir::model::CapabilityStatement = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cs.id, None);
        let types: Vec<&str> =
            v["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "Patient",
                "Observation",
                "Immunization",
                "MedicationStatement",
                "MedicationDispense",
                "Encounter",
                "Condition",
                "AllergyIntolerance"
            ]
        );
        assert_eq!(v["fhirVersion"], "4.0.1");
        let interactions = |ty: &str| -> Vec<String> {
            let r = v["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == ty).unwrap();
            r["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(interactions("Immunization"), ["read", "search-type", "create", "update"]);
        assert_eq!(interactions("Condition"), ["read", "search-type", "create", "update"]);
        assert_eq!(interactions("AllergyIntolerance"), ["read", "search-type", "create", "update"]);
        assert_eq!(interactions("MedicationDispense"), ["read", "search-type"]);
        let params = |ty: &str| -> Vec<String> {
            let r = v["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == ty).unwrap();
            r["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(params("Patient"), ["_id", "identifier"]);
        for (ty, _) in SEARCHABLE {
            assert!(params(ty).contains(&"_id".to_owned()), "{ty}");
        }
    }

    #[test]
    fn each_writable_type_documents_the_code_systems_its_writes_accept() {
        let v = statement("https://phr.example");
        for ty in CREATABLE {
            let r = v["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == ty).unwrap();
            assert!(r["documentation"].as_str().is_some_and(|d| d.starts_with("Code systems read")), "{ty}");
        }
        let immunization = v["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == "Immunization");
        let doc = immunization.unwrap()["documentation"].as_str().unwrap();
        assert!(doc.contains("urn:oid:1.2.392.200119.4.403.1") && doc.contains("targetDisease"), "{doc}");
    }

    #[test]
    fn the_security_section_names_smart_on_fhir_and_the_token_endpoint() {
        let v = statement("https://phr.example");
        let security = &v["rest"][0]["security"];
        assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
        assert_eq!(
            security["service"][0]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/restful-security-service"
        );
        let oauth = security["extension"].as_array().unwrap().iter().find(|e| e["url"] == OAUTH_URIS).unwrap();
        assert_eq!(
            oauth["extension"],
            serde_json::json!([{"url": "token", "valueUri": "https://phr.example/auth/token"}])
        );
        assert!(oauth.get("valueUri").is_none(), "a complex extension has extensions, not a value");
    }
}
