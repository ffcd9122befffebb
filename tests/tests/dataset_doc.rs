//! `docs/dataset.md` cannot drift from the code: it is generated
//! (`cargo run -p phr-tests --bin dataset-doc > docs/dataset.md`), and every
//! range, length and code it states is probed against `validate()`.

use phr_core::dataset::RecordKind;
use phr_tests::dataset_doc::{check, probe, render, Allowed, Rule};

const PAGE: &str = include_str!("../../docs/dataset.md");

#[test]
fn docs_dataset_md_is_what_the_code_generates() {
    let generated = render();
    if generated != PAGE {
        let line = generated.lines().zip(PAGE.lines()).position(|(a, b)| a != b);
        panic!(
            "docs/dataset.md differs from the code (first differing line: {}); regenerate it with \
             `cargo run -p phr-tests --bin dataset-doc > docs/dataset.md`",
            line.map_or("past the end of one of them".to_owned(), |l| (l + 1).to_string())
        );
    }
}

#[test]
fn every_item_has_a_rule_and_every_rule_holds_in_validate() {
    let wrong = check();
    assert!(wrong.is_empty(), "docs/dataset.md disagrees with the code:\n{}", wrong.join("\n"));
}

#[test]
fn a_range_codes_or_length_the_code_does_not_enforce_is_caught() {
    let bad = [
        Rule { kind: RecordKind::MotherProfile, path: "height", allowed: Allowed::Range(100.0, 231.0) },
        Rule { kind: RecordKind::PrenatalVisit, path: "body_weight", allowed: Allowed::Range(20.0, 200.0) },
        Rule { kind: RecordKind::Newborn, path: "apgar.one_minute", allowed: Allowed::Range(0.0, 9.0) },
        Rule { kind: RecordKind::PrenatalVisit, path: "note", allowed: Allowed::MaxChars(1_999) },
        Rule {
            kind: RecordKind::PrenatalVisit,
            path: "edema",
            allowed: Allowed::Codes(vec!["negative", "three_plus"]),
        },
        Rule { kind: RecordKind::PrenatalVisit, path: "no_such_item", allowed: Allowed::MaxChars(10) },
        Rule { kind: RecordKind::Newborn, path: "birth_weight", allowed: Allowed::MaxChars(10) },
    ];
    for rule in &bad {
        assert!(!probe(rule).is_empty(), "{rule:?} was not caught");
    }
}
