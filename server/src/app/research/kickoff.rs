//! The FHIR Bulk Data 2.0 kick-off of a research export: its `Prefer`
//! header and its parameters (the query of `GET $export` or the `Parameters`
//! body of `POST $export`), checked here and only here.
//!
//! | parameter | meaning |
//! |---|---|
//! | `_type` | FHIR resource types, comma-separated or repeated: [`ExportType`] (`Patient`, `Observation`); absent = both |
//! | `_since` | an instant: only records changed at or after it |
//! | `_outputFormat` | `application/fhir+ndjson`, `application/ndjson` or `ndjson` (anything else 400) |
//! | `module` | product-specific: dataset modules (`newborn`, `delivery`, …), comma-separated or repeated; absent = all |
//!
//! The other kick-off parameters of Bulk Data 2.0 ([`UNSUPPORTED`]) and
//! unknown parameters are refused (400), or, with `Prefer: handling=lenient`,
//! ignored and listed in an OperationOutcome ([`ignored_outcome`]). Malformed
//! values of supported parameters are 400 either way. A `_type` naming a
//! resource type this export does not write is an unsupported value: 400, or
//! ignored when lenient (400 still when no requested type is left).
//! Diagnostics never repeat a client's value.

use chrono::DateTime;
use phr_core::dataset::RecordKind;
use phr_fhir::model::{OperationOutcome, OperationOutcomeIssue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::fhir::{bad_element, bad_request, FhirResult};

/// The FHIR resource types a research export writes (the `_type` vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ExportType {
    /// One Observation per exported record of the selected modules.
    Observation,
    /// One de-identified Patient per exported mother and child.
    Patient,
}

impl ExportType {
    /// Every type, in the order of the manifest's `output`.
    pub const ALL: [ExportType; 2] = [ExportType::Observation, ExportType::Patient];

    /// The FHIR resource type name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExportType::Patient => "Patient",
            ExportType::Observation => "Observation",
        }
    }

    fn parse(name: &str) -> Option<ExportType> {
        ExportType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The product-specific kick-off parameter selecting dataset modules.
pub const MODULE_PARAM: &str = "module";

/// The Bulk Data 2.0 kick-off parameters this server does not support.
pub const UNSUPPORTED: [&str; 6] =
    ["_typeFilter", "_elements", "patient", "includeAssociatedData", "organizeOutputBy", "allowPartialManifests"];

/// The accepted `_outputFormat` values (all NDJSON).
pub const OUTPUT_FORMATS: [&str; 3] = ["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// A kick-off parameter ignored under `Prefer: handling=lenient`: the
/// parameter when it is one we know (never a client's own name), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ignored {
    pub parameter: Option<String>,
    pub reason: String,
}

/// A checked kick-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickOff {
    pub resources: Vec<ExportType>,
    pub modules: Vec<RecordKind>,
    /// `_since` as epoch milliseconds.
    pub since_ms: Option<i64>,
    /// What was ignored (only with `handling=lenient`).
    pub ignored: Vec<Ignored>,
}

/// The kick-off's `Prefer` preferences (RFC 7240) that matter here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preferences {
    /// `respond-async`: required by Bulk Data (400 without it).
    pub respond_async: bool,
    /// `handling=lenient`: unsupported parameters are ignored instead of refused.
    pub lenient: bool,
}

impl Preferences {
    /// Reads every `Prefer` header value (each may list several preferences, comma-separated).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Preferences {
        let mut p = Preferences::default();
        for pref in values.into_iter().flat_map(|v| v.split(',')) {
            // A preference's own parameters (`; …`) are not used by either.
            let token = pref.split(';').next().unwrap_or("").trim();
            let (name, value) = match token.split_once('=') {
                Some((n, v)) => (n.trim(), v.trim().trim_matches('"')),
                None => (token, ""),
            };
            if name.eq_ignore_ascii_case("respond-async") {
                p.respond_async = true;
            } else if name.eq_ignore_ascii_case("handling") {
                p.lenient = value.eq_ignore_ascii_case("lenient");
            }
        }
        p
    }
}

/// The parameters of a kick-off query string, in order.
pub fn query_params(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
}

/// The parameters of a `POST $export` body: a FHIR `Parameters` resource whose
/// every `parameter` has a `name` and one string-like `value[x]`
/// (`valueString`, `valueInstant`, `valueCode`, …).
pub fn parameters_resource(body: &Value) -> FhirResult<Vec<(String, String)>> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(bad_element("Parameters", "the POST kick-off body must be a Parameters resource"));
    }
    let list = match body.get("parameter") {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad_element("Parameters.parameter", "must be an array")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let at = format!("Parameters.parameter[{i}]");
        let name = p.get("name").and_then(Value::as_str).ok_or_else(|| bad_element(&at, "needs a name"))?;
        let values: Vec<&Value> = p
            .as_object()
            .map(|o| o.iter().filter(|(k, _)| k.starts_with("value")).map(|(_, v)| v).collect())
            .unwrap_or_default();
        let value = match values.as_slice() {
            [Value::String(s)] => s.clone(),
            _ => {
                return Err(bad_element(
                    &at,
                    "needs exactly one value[x] of a string type (valueString, valueInstant, …)",
                ))
            }
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// Checks the kick-off parameters (`lenient`: `Prefer: handling=lenient`).
pub fn parse(params: &[(String, String)], lenient: bool) -> FhirResult<KickOff> {
    let mut resources: Vec<ExportType> = Vec::new();
    let mut type_given = false;
    let mut modules: Vec<RecordKind> = Vec::new();
    let mut since_ms = None;
    let mut ignored = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "_type" => {
                type_given = true;
                for t in value.split(',').map(str::trim) {
                    match ExportType::parse(t) {
                        Some(ty) if !resources.contains(&ty) => resources.push(ty),
                        Some(_) => {}
                        None if lenient => ignored.push(Ignored {
                            parameter: Some("_type".into()),
                            reason: format!("{}; ignored", unexported_type(t)),
                        }),
                        None => return Err(bad_element("_type", unexported_type(t))),
                    }
                }
            }
            MODULE_PARAM => {
                for m in value.split(',').map(str::trim) {
                    // Identifiers are not a module and never exported: unknown here.
                    let kind = m.parse::<RecordKind>().ok().filter(|k| !k.follows_subjects()).ok_or_else(|| {
                        let known: Vec<&str> = RecordKind::MODULES.iter().map(|k| k.as_str()).collect();
                        bad_element(MODULE_PARAM, format!("an unknown dataset module; known: {}", known.join(", ")))
                    })?;
                    if !modules.contains(&kind) {
                        modules.push(kind);
                    }
                }
            }
            "_since" => {
                if since_ms.is_some() {
                    return Err(bad_element("_since", "given more than once"));
                }
                let at = DateTime::parse_from_rfc3339(value)
                    .map_err(|_| bad_element("_since", "not an instant like 2026-01-01T00:00:00Z"))?;
                phr_core::dates::check_instant(&at).map_err(|_| {
                    bad_element(
                        "_since",
                        format!("must be an instant from {} to {}", phr_core::dates::EARLIEST, phr_core::dates::LATEST),
                    )
                })?;
                since_ms = Some(at.timestamp_millis());
            }
            "_outputFormat" => {
                if !OUTPUT_FORMATS.contains(&value.as_str()) {
                    return Err(bad_element(
                        "_outputFormat",
                        format!("only NDJSON is written: {}", OUTPUT_FORMATS.join(", ")),
                    ));
                }
            }
            other => {
                if let Some(known) = UNSUPPORTED.iter().find(|u| **u == other) {
                    if !lenient {
                        let reason = "not supported by this server (with Prefer: handling=lenient it is ignored)";
                        return Err(bad_element(known, reason));
                    }
                    let reason = format!("{known} is not supported by this server; ignored");
                    ignored.push(Ignored { parameter: Some((*known).into()), reason });
                } else if lenient {
                    ignored.push(Ignored { parameter: None, reason: "an unknown parameter; ignored".into() });
                } else {
                    return Err(bad_request(format!(
                        "unknown parameter: the kick-off takes _type, _since, _outputFormat and {MODULE_PARAM} \
                         (with Prefer: handling=lenient others are ignored)"
                    )));
                }
            }
        }
    }
    if !type_given {
        resources = ExportType::ALL.to_vec();
    } else if resources.is_empty() {
        return Err(bad_element(
            "_type",
            "none of the requested resource types is exported here (Patient, Observation)",
        ));
    }
    resources.sort();
    if modules.is_empty() {
        modules = RecordKind::MODULES.to_vec();
    }
    Ok(KickOff { resources, modules, since_ms, ignored })
}

/// Why a `_type` value is refused (naming it only when it is one of the FHIR
/// types this server knows, never a client's arbitrary text).
fn unexported_type(t: &str) -> String {
    let known = crate::app::fhir::read::readable_type(t).is_ok() || t == "Patient";
    let what = if known { t } else { "a resource type" };
    format!("{what} is not exported here: a research export writes Patient and Observation")
}

/// The OperationOutcome listing the parameters a lenient kick-off ignored
/// (one `warning` issue each), or an `information` issue saying the export
/// was accepted: the kick-off's answer body, and (one parameter each) the lines of the export's error file.
pub fn ignored_outcome(ignored: &[Ignored]) -> OperationOutcome {
    let issue = if ignored.is_empty() {
        vec![OperationOutcomeIssue {
            severity: Some("information".into()),
            code: Some("informational".into()),
            diagnostics: Some("export accepted; poll the Content-Location URL".into()),
            ..Default::default()
        }]
    } else {
        ignored
            .iter()
            .map(|i| OperationOutcomeIssue {
                severity: Some("warning".into()),
                code: Some("not-supported".into()),
                diagnostics: Some(i.reason.clone()),
                expression: i.parameter.iter().cloned().collect(),
                ..Default::default()
            })
            .collect()
    };
    OperationOutcome { issue, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::error::AppError;

    fn q(query: &str, lenient: bool) -> FhirResult<KickOff> {
        parse(&query_params(query), lenient)
    }

    fn refused(query: &str, lenient: bool) -> (String, Option<String>) {
        let e = q(query, lenient).unwrap_err();
        assert!(matches!(e.error, AppError::BadRequest(_)), "{query}: {e:?}");
        (e.error.to_string(), e.element)
    }

    #[test]
    fn type_names_fhir_resource_types_and_module_names_dataset_modules() {
        let k = q("_type=Patient,Observation&module=newborn,child_checkup&_since=2026-01-01T00:00:00Z", false).unwrap();
        assert_eq!(k.resources, vec![ExportType::Observation, ExportType::Patient]);
        assert_eq!(k.modules, vec![RecordKind::Newborn, RecordKind::ChildCheckup]);
        assert_eq!(k.since_ms, Some(1_767_225_600_000));
        assert!(k.ignored.is_empty());
        let k = q("_type=Patient&_type=Patient", false).unwrap();
        assert_eq!(k.resources, vec![ExportType::Patient]);
        let k = q("module=newborn&module=delivery", false).unwrap();
        assert_eq!(k.modules, vec![RecordKind::Newborn, RecordKind::Delivery]);
    }

    #[test]
    fn subject_identifiers_are_not_an_exported_module() {
        for lenient in [false, true] {
            assert_eq!(refused("module=subject_identifiers", lenient).1.as_deref(), Some("module"));
        }
        assert!(!q("", false).unwrap().modules.contains(&RecordKind::SubjectIdentifiers));
    }

    #[test]
    fn without_type_or_module_everything_is_exported() {
        let k = q("", false).unwrap();
        assert_eq!(k.resources, ExportType::ALL.to_vec());
        assert_eq!(k.modules, RecordKind::MODULES.to_vec());
        assert_eq!(k.since_ms, None);
    }

    #[test]
    fn every_ndjson_output_format_is_accepted_and_nothing_else() {
        for f in ["application%2Ffhir%2Bndjson", "application%2Fndjson", "ndjson"] {
            assert!(q(&format!("_outputFormat={f}"), false).is_ok(), "{f}");
        }
        for f in ["text%2Fcsv", "application%2Ffhir%2Bjson", ""] {
            assert_eq!(refused(&format!("_outputFormat={f}"), false).1.as_deref(), Some("_outputFormat"));
            assert_eq!(refused(&format!("_outputFormat={f}"), true).1.as_deref(), Some("_outputFormat"), "lenient");
        }
    }

    #[test]
    fn bad_values_are_400_naming_the_parameter_even_when_lenient() {
        for lenient in [false, true] {
            assert_eq!(refused("_since=yesterday", lenient).1.as_deref(), Some("_since"));
            assert_eq!(refused("_since=2026-01-01", lenient).1.as_deref(), Some("_since"));
            assert_eq!(refused("_since=0001-01-01T00:00:00Z", lenient).1.as_deref(), Some("_since"));
            assert_eq!(
                refused("_since=2026-01-01T00:00:00Z&_since=2026-01-01T00:00:00Z", lenient).1.as_deref(),
                Some("_since")
            );
            assert_eq!(refused("module=Patient", lenient).1.as_deref(), Some("module"));
        }
        // Dataset module names are not resource types (and the other way round).
        assert_eq!(refused("_type=newborn", false).1.as_deref(), Some("_type"));
    }

    #[test]
    fn unsupported_and_unknown_parameters_are_400_unless_lenient_then_ignored_and_listed() {
        let (detail, element) = refused("_typeFilter=Observation%3Fcode%3Dx", false);
        assert_eq!(element.as_deref(), Some("_typeFilter"));
        assert!(detail.contains("handling=lenient"), "{detail}");
        let (detail, element) = refused("ZQXSENT=1", false);
        assert_eq!(element, None);
        assert!(!detail.contains("ZQXSENT"), "{detail}");
        assert_eq!(refused("_type=Immunization", false).1.as_deref(), Some("_type"));

        let k = q("_type=Patient,Immunization,ZQXSENT&_elements=id&ZQXSENT=1&patient=x", true).unwrap();
        assert_eq!(k.resources, vec![ExportType::Patient]);
        let params: Vec<Option<&str>> = k.ignored.iter().map(|i| i.parameter.as_deref()).collect();
        assert_eq!(params, [Some("_type"), Some("_type"), Some("_elements"), None, Some("patient")]);
        assert!(k.ignored[0].reason.starts_with("Immunization is not exported"), "{:?}", k.ignored);
        let outcome = serde_json::to_string(&ignored_outcome(&k.ignored)).unwrap();
        assert!(!outcome.contains("ZQXSENT"), "{outcome}");
        let o = ignored_outcome(&k.ignored);
        assert_eq!(o.issue.len(), 5);
        assert!(o.issue.iter().all(|i| i.severity.as_deref() == Some("warning")));
        assert_eq!(o.issue[2].expression, vec!["_elements"]);
        // Nothing exportable left: still 400.
        assert_eq!(refused("_type=Immunization", true).1.as_deref(), Some("_type"));
        assert_eq!(ignored_outcome(&[]).issue[0].severity.as_deref(), Some("information"));
    }

    #[test]
    fn prefer_reads_respond_async_and_lenient_handling_from_one_or_several_headers() {
        assert_eq!(Preferences::parse(["respond-async"]), Preferences { respond_async: true, lenient: false });
        assert_eq!(
            Preferences::parse(["respond-async, handling=lenient"]),
            Preferences { respond_async: true, lenient: true }
        );
        assert_eq!(
            Preferences::parse(["handling=lenient", "Respond-Async; wait=10"]),
            Preferences { respond_async: true, lenient: true }
        );
        assert_eq!(Preferences::parse(["handling=strict"]), Preferences::default());
        assert_eq!(Preferences::parse(Vec::<&str>::new()), Preferences::default());
    }

    #[test]
    fn a_post_body_is_a_parameters_resource_with_string_values() {
        let body = serde_json::json!({"resourceType": "Parameters", "parameter": [
            {"name": "_type", "valueString": "Patient"},
            {"name": "_since", "valueInstant": "2026-01-01T00:00:00Z"},
            {"name": "module", "valueCode": "newborn"},
        ]});
        let params = parameters_resource(&body).unwrap();
        let k = parse(&params, false).unwrap();
        assert_eq!(k.resources, vec![ExportType::Patient]);
        assert_eq!(k.modules, vec![RecordKind::Newborn]);
        assert_eq!(k.since_ms, Some(1_767_225_600_000));
        let e = parameters_resource(&serde_json::json!({"resourceType": "Bundle"})).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("Parameters"));
        let e = parameters_resource(
            &serde_json::json!({"resourceType": "Parameters", "parameter": [{"name": "_since", "valueInteger": 3}]}),
        )
        .unwrap_err();
        assert_eq!(e.element.as_deref(), Some("Parameters.parameter[0]"));
        assert!(parameters_resource(&serde_json::json!({"resourceType": "Parameters"})).unwrap().is_empty());
    }
}
