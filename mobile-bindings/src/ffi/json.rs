//! The one place a record body crosses the FFI as JSON: apps that import or
//! export records as files (a backup the user keeps, records handed over by
//! another app) convert between a typed [`RecordBody`] and phr-core's JSON
//! form, `{"kind": "prenatal_visit", "body": {...}}` (`docs/dataset.md`).
//! Everything else in the API is typed.

use phr_core::dataset::RecordBody;

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
