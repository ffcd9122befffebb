//! The one place a record body crosses the FFI as JSON: apps that import or
//! export records as files (a backup the user keeps, records handed over by
//! another app) convert between a typed [`RecordBody`] and phr-core's JSON
//! form, `{"kind": "prenatal_visit", "body": {...}}` (`docs/dataset.md`).
//! Everything else in the API is typed.

use phr_core::dataset::{RecordBody, RecordKind};

use super::error::PhrError;
use crate::engine::records;

/// Reads a record body from its JSON form, for importing records. Malformed
/// JSON, an unknown kind or field, or a wrong unit is a `Validation` error on
/// `body`; the content itself is validated when the record is added.
#[uniffi::export]
pub fn record_body_from_json(json: String) -> Result<RecordBody, PhrError> {
    Ok(records::body_from_json(&json)?)
}

/// Writes a record body in its JSON form, for exporting records.
#[uniffi::export]
pub fn record_body_to_json(body: RecordBody) -> Result<String, PhrError> {
    Ok(records::body_to_json(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_core::dataset::examples;

    #[test]
    fn every_example_body_survives_json_export_and_import_unchanged() {
        for body in examples::all_full().into_iter().chain(examples::all_minimal()) {
            let json = record_body_to_json(body.clone()).unwrap();
            assert_eq!(record_body_from_json(json).unwrap(), body);
        }
    }

    #[test]
    fn json_that_is_not_a_record_body_is_a_validation_error_on_body() {
        for bad in ["{not json", r#"{"kind":"no_such_kind","body":{}}"#, r#"{"kind":"self_vitals","body":{"x":1}}"#] {
            match record_body_from_json(bad.into()) {
                Err(PhrError::Validation { field, .. }) => assert_eq!(field, "body", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

/// A text people read, from phr-core's message catalogs (`core/locales/<language>/phr.ftl`):
/// the message `key` in `language` (a tag of [`message_languages`]; another falls back to
/// English) with its arguments by name. An unknown key is returned as is. The app's own
/// labels for notices, due items and charts come from here, so every language is one file.
#[uniffi::export]
pub fn message(language: String, key: String, args: std::collections::HashMap<String, String>) -> String {
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    phr_core::i18n::text(&language, &key, &args)
}

/// The language tags the texts people read come in (`ja`, `en`, …: one
/// message catalog each, `core/locales/<tag>/phr.ftl`); any other tag falls
/// back to English.
#[uniffi::export]
pub fn message_languages() -> Vec<String> {
    phr_core::i18n::languages().into_iter().map(str::to_owned).collect()
}

/// The name of a dataset module for people to read, in `language` (a tag of
/// [`message_languages`]; another falls back to English), e.g. 妊婦健診 /
/// Prenatal checkup.
#[uniffi::export]
pub fn module_label(kind: RecordKind, language: String) -> String {
    kind.label(&language)
}

/// The label of an item of module `kind` in `language`, e.g. 血圧 / Blood
/// pressure: `item` is a field path as the record's JSON names it
/// (`blood_pressure`, `labs.hemoglobin`) or as a validation problem's `field`
/// does (`growth_scores[0].percentile`). `None` for a path no label covers.
#[uniffi::export]
pub fn item_label(kind: RecordKind, item: String, language: String) -> Option<String> {
    phr_core::dataset::item_label(kind, &item, &language)
}

/// The label of a code in `language`, e.g. 出産（生児） for `live_birth` of
/// `pregnancy_status`: `vocabulary` is the snake_case name of the coded
/// enum (`pregnancy_status`, `vaccine`, `food_allergen`, …) and `code` the
/// value's JSON form. `None` for an unknown vocabulary or code.
#[uniffi::export]
pub fn code_label(vocabulary: String, code: String, language: String) -> Option<String> {
    phr_core::dataset::code_label(&vocabulary, &code, &language)
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn modules_items_and_codes_are_labelled_in_the_language_asked() {
        assert_eq!(module_label(RecordKind::PrenatalVisit, "ja".into()), "妊婦健診");
        assert_eq!(module_label(RecordKind::PrenatalVisit, "en".into()), "Prenatal checkup");
        assert_eq!(
            item_label(RecordKind::PrenatalVisit, "blood_pressure".into(), "ja".into()).as_deref(),
            Some("血圧")
        );
        assert_eq!(item_label(RecordKind::PrenatalVisit, "no_such_item".into(), "ja".into()), None);
        assert_eq!(
            code_label("pregnancy_status".into(), "live_birth".into(), "ja".into()).as_deref(),
            Some("出産（生児）")
        );
        assert_eq!(code_label("pregnancy_status".into(), "nope".into(), "ja".into()), None);
    }
}
