//! The words people read, in their language: one Fluent catalog per language
//! (`core/locales/<language>/phr.ftl`, embedded by `build.rs`). A language is
//! chosen per call by its tag (`ja`, `en`, …); adding one is adding a file.
//! An unknown tag falls back to English; every catalog has every key of the
//! English one (tested).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

include!(concat!(env!("OUT_DIR"), "/catalogs.rs"));

/// The language used when a tag has no catalog.
pub const FALLBACK: &str = "en";

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static Vec<(&'static str, Bundle)> {
    static BUNDLES: OnceLock<Vec<(&'static str, Bundle)>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        CATALOGS
            .iter()
            .map(|(tag, source)| {
                let resource = FluentResource::try_new((*source).to_owned()).expect("the shipped catalogs parse");
                let id: unic_langid::LanguageIdentifier = tag.parse().expect("catalog directories are language tags");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // Exact text: no Unicode isolation marks around arguments.
                bundle.set_use_isolating(false);
                bundle.add_resource(resource).expect("no key is defined twice in a catalog");
                (*tag, bundle)
            })
            .collect()
    })
}

/// The language tags with a catalog, sorted.
pub fn languages() -> Vec<&'static str> {
    CATALOGS.iter().map(|(tag, _)| *tag).collect()
}

fn bundle(language: &str) -> &'static Bundle {
    let all = bundles();
    let primary = language.split(['-', '_']).next().unwrap_or(language).to_ascii_lowercase();
    all.iter()
        .find(|(tag, _)| *tag == primary)
        .or_else(|| all.iter().find(|(tag, _)| *tag == FALLBACK))
        .map(|(_, b)| b)
        .expect("the fallback catalog is shipped")
}

/// The message `key` in `language` with `args` (all passed as text, so
/// numbers keep the caller's formatting). A key missing from that catalog
/// is looked up in English, and a key missing there too is returned as is.
pub fn text(language: &str, key: &str, args: &[(&str, String)]) -> String {
    let args: Vec<(&str, Arg)> = args.iter().map(|(name, value)| (*name, Arg::Text(value.clone()))).collect();
    text_with(language, key, &args)
}

/// An argument of a message ([`text_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Text, placed as is.
    Text(String),
    /// A count: placed in plain digits, and a selector can choose a plural
    /// form by it (`[one]`, `*[other]`) or match it exactly (`[0]`).
    Count(u32),
}

/// Like [`text`], with arguments that may be counts, for messages whose
/// wording depends on a number (one child, two children).
pub fn text_with(language: &str, key: &str, args: &[(&str, Arg)]) -> String {
    try_text(language, key, args).unwrap_or_else(|| key.to_owned())
}

/// The message `key` in `language` (or, missing there, in English) with
/// `args`; `None` when no catalog has the key.
pub fn try_text(language: &str, key: &str, args: &[(&str, Arg)]) -> Option<String> {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Text(text) => fluent_args.set(*name, text.clone()),
            Arg::Count(n) => fluent_args.set(*name, *n),
        }
    }
    [bundle(language), bundle(FALLBACK)].into_iter().find_map(|b| {
        let pattern = b.get_message(key).and_then(|m| m.value())?;
        let mut errors = Vec::new();
        Some(b.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned())
    })
}

/// The message keys of one catalog.
pub fn keys(language: &str) -> BTreeSet<String> {
    let source = CATALOGS.iter().find(|(tag, _)| *tag == language).map(|(_, s)| *s).unwrap_or("");
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_has_every_key_of_every_other_and_parses_without_errors() {
        let all: BTreeSet<String> = languages().iter().flat_map(|l| keys(l)).collect();
        assert!(languages().contains(&"ja") && languages().contains(&"en"));
        for language in languages() {
            let own = keys(language);
            let missing: Vec<&String> = all.difference(&own).collect();
            assert!(missing.is_empty(), "{language} lacks {missing:?}");
            let source = CATALOGS.iter().find(|(t, _)| *t == language).unwrap().1;
            assert!(FluentResource::try_new(source.to_owned()).is_ok(), "{language} has syntax errors");
        }
    }

    #[test]
    fn arguments_are_placed_without_isolation_marks_and_unknown_languages_fall_back_to_english() {
        let args = [
            ("measure", "体重".to_owned()),
            ("sex", "女の子".to_owned()),
            ("reference", text("ja", "chart-reference-who2006", &[])),
            ("months", "24".to_owned()),
        ];
        assert_eq!(text("ja", "chart-title", &args), "体重（女の子）WHO 成長基準 0〜24か月");
        assert_eq!(text("ja-JP", "chart-x-axis", &[]), "月齢（か月）");
        assert_eq!(text("xx", "chart-x-axis", &[]), "Age (months)");
        assert_eq!(text("en", "no-such-key", &[]), "no-such-key");
        assert_eq!(try_text("en", "no-such-key", &[]), None);
    }

    #[test]
    fn a_count_selects_the_plural_form_of_its_language_and_matches_exact_numbers() {
        let subjects = |language: &str, mother: &str, n: u32| {
            text_with(
                language,
                "consent-subjects",
                &[("mother", Arg::Text(mother.to_owned())), ("children", Arg::Count(n))],
            )
        };
        assert_eq!(subjects("en", "no", 0), "nobody");
        assert_eq!(subjects("en", "no", 1), "1 child");
        assert_eq!(subjects("en", "yes", 2), "the mother and 2 children");
        assert_eq!(subjects("ja", "yes", 1), "母と子ども1人");
        assert_eq!(subjects("ja", "no", 3), "子ども3人");
    }
}
