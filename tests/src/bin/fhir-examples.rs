//! Writes the FHIR R4 JSON of every dataset example to files, for validators
//! no one here wrote (`tests/python/fhir_validate.py`, run by `.ci/run`).
//!
//! `cargo run -p phr-tests --bin fhir-examples -- OUT_DIR` writes:
//! - `<module>-<full|minimal>-<n>-<ResourceType>.json`: each resource that
//!   `phr_fhir::mapping::to_fhir` makes of the full and the minimal example of
//!   every module, and `<module>-variant-…` of its other shapes (an OTC medication);
//! - `bundle-transaction-prenatal_visit.json`: a prenatal visit as a transaction
//!   (its Encounter and Observations, each a PUT of its own id);
//! - `bundle-searchset-observation.json`: every Observation of the examples as a
//!   search result page;
//! - `bundle-collection-all.json`: every resource of every example;
//! - `operation-outcome-mapping-error.json`: the outcome a mapping error becomes;
//! - `bundle-document-ips-{mother,child}.json`: the emergency summaries
//!   (`phr_fhir::ips`, IPS-style document Bundles) of the examples;
//! - `edge/<module>-<n>.json`: a collection Bundle of the FHIR of each *valid*
//!   variant of a full example in which one item was changed to an edge value
//!   (a blank or padded text, every other code of a coded item, a missing
//!   optional item, the other boolean, zero, a long fraction):
//!   each item of the example's JSON is changed in turn, and a variant is kept
//!   only when it still deserializes and passes `validate()`, so every file is
//!   the FHIR of a record the app can legitimately sync.
//!
//! It prints the number of files written and exits non-zero if a mapping fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use phr_core::dataset::{examples, RecordBody, RecordKind, Validate, ValidationContext};
use phr_fhir::ips::{emergency_summary, SummaryInput, SummaryRecord};
use phr_fhir::mapping::{from_fhir, to_fhir, MappingContext};
use phr_fhir::model::{Bundle, BundleEntrySearch, BundleLink, Integer, OperationOutcome, Patient, Resource, ValueX};
use uuid::Uuid;

/// The base URL the example bundles' absolute `fullUrl`s and links use.
const BASE: &str = "https://phr.example/fhir/r4";
/// The Patient the mother's records are about.
const MOTHER: &str = "mother-1";
/// The Patient the child's records are about.
const CHILD: &str = "child-1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out] = args.as_slice() else {
        eprintln!("usage: fhir-examples OUT_DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(out)) {
        Ok(n) => {
            println!("fhir-examples: wrote {n} files to {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fhir-examples: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The resources of one example record, with the name of the example.
struct Example {
    kind: RecordKind,
    variant: &'static str,
    resources: Vec<Resource>,
}

fn run(out: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut written = 0;
    let mut all = Vec::new();
    let bodies = examples::all_full()
        .into_iter()
        .map(|b| ("full", b))
        .chain(examples::all_minimal().into_iter().map(|b| ("minimal", b)))
        .chain(examples::variants().into_iter().map(|b| ("variant", b)));
    for (i, (variant, body)) in bodies.enumerate() {
        let example = map_example(i, variant, &body)?;
        for (n, resource) in example.resources.iter().enumerate() {
            let name = format!("{}-{}-{n}-{}.json", example.kind.as_str(), variant, resource.resource_type());
            write(out, &name, resource)?;
            written += 1;
        }
        all.push(example);
    }

    let visit = all
        .iter()
        .find(|e| e.kind == RecordKind::PrenatalVisit && e.variant == "full")
        .ok_or("no full prenatal visit example")?;
    write(out, "bundle-transaction-prenatal_visit.json", &transaction(&visit.resources))?;
    let observations: Vec<Resource> = all
        .iter()
        .flat_map(|e| e.resources.iter())
        .filter(|r| matches!(r, Resource::Observation(_)))
        .cloned()
        .collect();
    write(out, "bundle-searchset-observation.json", &searchset("Observation", observations))?;
    let everything: Vec<Resource> = all.iter().flat_map(|e| e.resources.iter().cloned()).collect();
    write(out, "bundle-collection-all.json", &collection(everything))?;
    written += 3;

    // A wrong unit read back from FHIR: the error a client gets as an OperationOutcome.
    let mut wrong = visit.resources.clone();
    let Some(Resource::Observation(first)) = wrong.iter_mut().find(|r| matches!(r, Resource::Observation(_))) else {
        return Err("the prenatal visit has no Observation".into());
    };
    if let Some(ValueX::Quantity(q)) = first.value.as_mut() {
        q.code = Some("[lb_av]".into());
    }
    let err = match from_fhir(RecordKind::PrenatalVisit, &wrong) {
        Err(e) => e,
        Ok(_) => return Err("a wrong unit was read back without error".into()),
    };
    let outcome = OperationOutcome::error("invalid", err.to_string(), Some(err.path()));
    write(out, "operation-outcome-mapping-error.json", &outcome.into())?;
    written += 1;

    // The emergency summaries (IPS document Bundles) of the mother and of a child.
    for (name, patient, records) in [
        ("bundle-document-ips-mother.json", MOTHER, ips_mother_records()),
        ("bundle-document-ips-child.json", CHILD, ips_child_records()),
    ] {
        let input = SummaryInput {
            patient: Patient { id: Some(patient.into()), active: Some(true), ..Default::default() },
            records: records.iter().map(|(id, body)| SummaryRecord { id: *id, body }).collect(),
            today: chrono::NaiveDate::from_ymd_opt(2026, 8, 1).expect("a date"),
            now: chrono::Utc::now(),
            author: "PHR app".into(),
        };
        let doc = emergency_summary(&input).map_err(|e| format!("the emergency summary fails: {e}"))?;
        write(out, name, &doc.into())?;
        written += 1;
    }

    let edge = out.join("edge");
    std::fs::create_dir_all(&edge).map_err(|e| format!("cannot create {}: {e}", edge.display()))?;
    for (i, body) in examples::all_full().into_iter().enumerate() {
        for (n, variant) in edge_variants(&body)?.iter().enumerate() {
            let example = map_example(i, "edge", variant)?;
            write(&edge, &format!("{}-{n}.json", body.kind().as_str()), &collection(example.resources))?;
            written += 1;
        }
    }
    Ok(written)
}

fn map_example(i: usize, variant: &'static str, body: &RecordBody) -> Result<Example, String> {
    let kind = body.kind();
    let patient = if examples::is_child_record(kind) { CHILD } else { MOTHER };
    // Fixed ids, so the files are the same on every run.
    let ctx = MappingContext::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + i as u128), patient);
    let resources = to_fhir(body, &ctx).map_err(|e| format!("{} {variant}: {e}", kind.as_str()))?;
    Ok(Example { kind, variant, resources })
}

/// Edge values tried in place of each text item.
const EDGE_TEXTS: [&str; 4] = ["", "   ", " 余白 ", "二つの  空白"];
/// Edge values tried in place of each number.
const EDGE_NUMBERS: [f64; 4] = [0.0, 0.1, 0.30000000000000004, 1234.5678];
/// Edge values tried in place of each whole number.
const EDGE_INTEGERS: [i64; 4] = [0, 1, 2, 10];

/// The valid records that differ from `body` in one item set to an edge value.
fn edge_variants(body: &RecordBody) -> Result<Vec<RecordBody>, String> {
    let json = serde_json::to_value(body).map_err(|e| e.to_string())?;
    let mut leaves = Vec::new();
    leaf_paths(&json, &mut Vec::new(), &mut leaves);
    let mut variants: Vec<RecordBody> = Vec::new();
    for path in leaves {
        if path.first().map(String::as_str) != Some("body") {
            continue; // the "kind" tag
        }
        let Some(original) = pointer(&json, &path) else { continue };
        let mut edges: Vec<serde_json::Value> = vec![serde_json::Value::Null];
        match original {
            serde_json::Value::String(_) => {
                edges.extend(EDGE_TEXTS.iter().map(|t| serde_json::json!(t)));
                edges.extend(enum_codes(&json, &path).into_iter().map(serde_json::Value::String));
            }
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => {
                edges.extend(EDGE_INTEGERS.iter().map(|v| serde_json::json!(v)))
            }
            serde_json::Value::Number(_) => edges.extend(EDGE_NUMBERS.iter().map(|v| serde_json::json!(v))),
            serde_json::Value::Bool(b) => edges.push(serde_json::json!(!b)),
            _ => {}
        }
        for edge in edges {
            let mut changed = json.clone();
            let Some(slot) = pointer_mut(&mut changed, &path) else { continue };
            *slot = edge;
            let Ok(variant) = serde_json::from_value::<RecordBody>(changed) else { continue };
            if is_valid(&variant) && variant != *body && !variants.contains(&variant) {
                variants.push(variant);
            }
        }
    }
    Ok(variants)
}

/// Every code of the enum at `path`, when the item there is one: serde names
/// them all when it refuses an unknown one ("expected one of `a`, `b`").
fn enum_codes(json: &serde_json::Value, path: &[String]) -> Vec<String> {
    let mut probe = json.clone();
    let Some(slot) = pointer_mut(&mut probe, path) else { return Vec::new() };
    *slot = serde_json::json!("\u{1}not-a-code");
    let Err(e) = serde_json::from_value::<RecordBody>(probe) else { return Vec::new() };
    let message = e.to_string();
    let Some((_, expected)) = message.split_once("expected") else { return Vec::new() };
    if !message.contains("unknown variant") {
        return Vec::new();
    }
    expected.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// JSON pointer tokens of every leaf (non-object, non-array value) under `v`.
fn leaf_paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                at.push(k.clone());
                leaf_paths(child, at, out);
                at.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(i.to_string());
                leaf_paths(child, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

fn pointer_text(path: &[String]) -> String {
    path.iter().map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1"))).collect()
}

fn pointer<'a>(v: &'a serde_json::Value, path: &[String]) -> Option<&'a serde_json::Value> {
    v.pointer(&pointer_text(path))
}

fn pointer_mut<'a>(v: &'a mut serde_json::Value, path: &[String]) -> Option<&'a mut serde_json::Value> {
    v.pointer_mut(&pointer_text(path))
}

/// Whether `body` passes `validate()` in the examples' family (see `examples`).
fn is_valid(body: &RecordBody) -> bool {
    let pregnancy = examples::pregnancy_full();
    let mut ctx = ValidationContext::new(examples::TODAY);
    if examples::is_child_record(body.kind()) {
        ctx = ctx.with_birth_date(examples::CHILD_BIRTH_DATE);
    }
    if matches!(body.kind(), RecordKind::PrenatalVisit | RecordKind::Delivery) {
        ctx = ctx.with_pregnancy(&pregnancy);
    }
    body.validate(&ctx).is_ok()
}

/// A transaction creating or updating each resource at its own id.
fn transaction(resources: &[Resource]) -> Resource {
    Bundle::transaction(BASE, resources.to_vec()).into()
}

/// One page of search results for `type_`.
fn searchset(type_: &str, resources: Vec<Resource>) -> Resource {
    let total = resources.len();
    let mut bundle = Bundle::of("searchset", BASE, resources);
    for entry in &mut bundle.entry {
        entry.search = Some(BundleEntrySearch { mode: Some("match".into()), ..Default::default() });
    }
    bundle.id = Some("search-1".into());
    bundle.timestamp = Some("2029-12-01T09:00:00+09:00".into());
    bundle.total = Some(Integer::from(total as i64));
    bundle.link = vec![BundleLink {
        relation: Some("self".into()),
        url: Some(format!("{BASE}/{type_}?patient={MOTHER}")),
        ..Default::default()
    }];
    bundle.into()
}

/// Every resource, as a collection.
fn collection(resources: Vec<Resource>) -> Resource {
    Bundle::of("collection", BASE, resources).into()
}

fn write(out: &Path, name: &str, resource: &Resource) -> Result<(), String> {
    let path: PathBuf = out.join(name);
    let text = serde_json::to_string_pretty(resource).map_err(|e| format!("{name}: {e}"))?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The mother's records of the emergency summary example: every module about her.
fn ips_mother_records() -> Vec<(Uuid, RecordBody)> {
    vec![
        (Uuid::now_v7(), RecordBody::MotherProfile(examples::mother_profile_full())),
        (Uuid::now_v7(), RecordBody::Pregnancy(examples::pregnancy_minimal())),
        (Uuid::now_v7(), RecordBody::PrenatalVisit(examples::prenatal_visit_full())),
        (Uuid::now_v7(), RecordBody::SelfVitals(examples::self_vitals_full())),
        (Uuid::now_v7(), RecordBody::Medication(examples::medication_full())),
        (Uuid::now_v7(), RecordBody::SubjectIdentifiers(examples::subject_identifiers_full())),
    ]
}

/// The child's records of the emergency summary example.
fn ips_child_records() -> Vec<(Uuid, RecordBody)> {
    vec![
        (Uuid::now_v7(), RecordBody::Newborn(examples::newborn_full())),
        (Uuid::now_v7(), RecordBody::ChildCheckup(examples::child_checkup_full())),
        (Uuid::now_v7(), RecordBody::Immunization(examples::immunization_full())),
    ]
}
