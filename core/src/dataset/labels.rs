//! The dataset's words for people to read, in their language, from the
//! message catalogs ([`crate::i18n`]):
//!
//! | key | labels | accessor |
//! |---|---|---|
//! | `module-<kind>` | each module ([`RecordKind`]) | [`RecordKind::label`] |
//! | `item-<kind>-<field>[-<field>…]` | each item of a module, nested ones by their path (`item-prenatal_visit-labs-hemoglobin`) | [`item_label`] |
//! | `code-<vocabulary>-<code>` | each code of a coded vocabulary (an enum such as `PregnancyStatus`) | `label(language)` of each enum, [`code_label`] |
//!
//! Field and code names are the JSON ones (serde). Every key is in every
//! catalog, and every module, item and code has its key (tested against the
//! fully filled examples), so a new field fails the tests until it has a label
//! in every language, and a new language is a new file.

use super::RecordKind;
use super::{
    allergy, child_checkup, common, condition, delivery, development, immunization, medication, mother_profile,
    newborn, pregnancy, prenatal_visit,
};
use crate::i18n;

use super::common::Vocabulary;

/// Every coded vocabulary of the dataset, module by module (a test checks no
/// enum of `src/dataset` is missing).
pub const VOCABULARIES: &[Vocabulary] = &[
    common::Sex::VOCABULARY,
    mother_profile::AboGroup::VOCABULARY,
    mother_profile::RhD::VOCABULARY,
    mother_profile::AntibodyScreen::VOCABULARY,
    mother_profile::SubstanceUse::VOCABULARY,
    pregnancy::PregnancyStatus::VOCABULARY,
    prenatal_visit::Edema::VOCABULARY,
    prenatal_visit::UrineStrip::VOCABULARY,
    prenatal_visit::FetalPresentation::VOCABULARY,
    prenatal_visit::ScreenResult::VOCABULARY,
    prenatal_visit::RubellaImmunity::VOCABULARY,
    prenatal_visit::CervicalCytology::VOCABULARY,
    delivery::DeliveryCategory::VOCABULARY,
    delivery::DeliveryMethod::VOCABULARY,
    newborn::HearingScreen::VOCABULARY,
    newborn::MetabolicScreen::VOCABULARY,
    child_checkup::CheckupType::VOCABULARY,
    child_checkup::MeasurementPosition::VOCABULARY,
    child_checkup::GrowthIndicator::VOCABULARY,
    child_checkup::FindingResult::VOCABULARY,
    child_checkup::FindingItem::VOCABULARY,
    child_checkup::OverallJudgement::VOCABULARY,
    child_checkup::ScreeningResult::VOCABULARY,
    development::Milestone::VOCABULARY,
    development::Achieved::VOCABULARY,
    immunization::Vaccine::VOCABULARY,
    immunization::DoseSeries::VOCABULARY,
    immunization::InjectionSite::VOCABULARY,
    medication::DrugCodeSystem::VOCABULARY,
    medication::MedicationSource::VOCABULARY,
    medication::MedicationNoteKind::VOCABULARY,
    allergy::AllergyCategory::VOCABULARY,
    allergy::FoodAllergen::VOCABULARY,
    allergy::AllergyType::VOCABULARY,
    allergy::Manifestation::VOCABULARY,
    allergy::ReactionSeverity::VOCABULARY,
    allergy::Criticality::VOCABULARY,
    allergy::AllergyClinicalStatus::VOCABULARY,
    allergy::AllergyVerification::VOCABULARY,
    condition::ConditionCode::VOCABULARY,
    condition::ConditionClinicalStatus::VOCABULARY,
];

/// Values the dataset derives from a module's items (not stored, but shown
/// next to them), labelled like items: pre-pregnancy BMI, the Kaup index.
pub const DERIVED_ITEMS: &[(RecordKind, &str)] =
    &[(RecordKind::MotherProfile, "bmi"), (RecordKind::ChildCheckup, "kaup_index")];

/// The vocabulary named `name` (`pregnancy_status`), if there is one.
pub fn vocabulary(name: &str) -> Option<&'static Vocabulary> {
    VOCABULARIES.iter().find(|v| v.name == name)
}

/// The label of `code` of the vocabulary named `vocabulary` in `language`
/// (another tag falls back to English), e.g. `code_label("pregnancy_status",
/// "live_birth", "ja")` is 出産（生児）. `None` for an unknown vocabulary or code.
pub fn code_label(vocabulary: &str, code: &str, language: &str) -> Option<String> {
    let v = self::vocabulary(vocabulary)?;
    v.codes.contains(&code).then(|| v.label(code, language))
}

/// The label of an item of module `kind` in `language` (another tag falls
/// back to English), e.g. 血圧 / Blood pressure for `blood_pressure` of a
/// prenatal visit.
///
/// `item` is a field path as the JSON names it (`blood_pressure`,
/// `labs.hemoglobin`) or as validation reports it (`growth_scores[0].percentile`:
/// indices are ignored). A part of an item that has no label of its own (the
/// `weeks` of `gestational_age.weeks`) gets the item's label. Derived values
/// ([`DERIVED_ITEMS`]) have labels too. `None` for a path no label covers or
/// one that is not a field path.
pub fn item_label(kind: RecordKind, item: &str, language: &str) -> Option<String> {
    let fields = item_fields(item)?;
    (1..=fields.len()).rev().find_map(|n| i18n::try_text(language, &item_key(kind, &fields[..n]), &[]))
}

/// The catalog key of the item at `fields` of module `kind`.
fn item_key(kind: RecordKind, fields: &[&str]) -> String {
    format!("item-{}-{}", kind.as_str(), fields.join("-"))
}

/// The field names of a path (`growth_scores[0].percentile` → `growth_scores`,
/// `percentile`), or `None` if it is not a path of snake_case field names.
fn item_fields(item: &str) -> Option<Vec<&str>> {
    item.split('.').map(field_name).collect()
}

/// `name` of `name`, `name[0]`, `name[0][1]`; `None` for anything else.
fn field_name(part: &str) -> Option<&str> {
    let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        if close == 0 || !inner[..close].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest = &inner[close + 1..];
    }
    let snake = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    (!name.is_empty() && snake).then_some(name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::dataset::medication::{DrugCode, DrugCodeSystem};
    use crate::dataset::{examples, RecordBody};

    /// Quantities (`{value, unit}`) and gestational ages (`{weeks, days}`)
    /// are one item each, not objects of items.
    fn is_one_item(fields: &serde_json::Map<String, Value>) -> bool {
        let keys: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
        keys == BTreeSet::from(["value", "unit"]) || keys == BTreeSet::from(["weeks", "days"])
    }

    /// Every item path of a value: each field, and each field of a nested
    /// object (of every element of an array of objects).
    fn item_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(fields) if !is_one_item(fields) => {
                for (name, field) in fields {
                    let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                    out.insert(path.clone());
                    item_paths(field, &path, out);
                }
            }
            Value::Array(elements) => elements.iter().for_each(|e| item_paths(e, prefix, out)),
            _ => {}
        }
    }

    /// Records with every item set: the fully filled examples, the other
    /// shapes, and an allergy to a coded drug (the example one is to a food).
    fn filled_records() -> Vec<RecordBody> {
        let drug_allergy = crate::dataset::Allergy {
            category: allergy::AllergyCategory::Medication,
            food: None,
            drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "1141007C1075".into() }),
            ..examples::allergy_full()
        };
        examples::all_full()
            .into_iter()
            .chain(examples::variants())
            .chain([RecordBody::Allergy(drug_allergy)])
            .collect()
    }

    /// (kind, item path) of every item of every module.
    fn every_item() -> BTreeSet<(RecordKind, String)> {
        let mut items = BTreeSet::new();
        for record in filled_records() {
            let json = serde_json::to_value(&record).unwrap();
            let mut paths = BTreeSet::new();
            item_paths(&json["body"], "", &mut paths);
            items.extend(paths.into_iter().map(|p| (record.kind(), p)));
        }
        items.extend(DERIVED_ITEMS.iter().map(|(kind, item)| (*kind, (*item).to_owned())));
        items
    }

    fn key_of(kind: RecordKind, path: &str) -> String {
        item_key(kind, &item_fields(path).unwrap())
    }

    #[test]
    fn every_module_item_and_code_has_a_label_in_every_language() {
        let items = every_item();
        assert!(items.len() > 150, "the examples fill every item: {}", items.len());
        for language in i18n::languages() {
            let keys = i18n::keys(language);
            let mut missing: Vec<String> = Vec::new();
            missing.extend(
                RecordKind::ALL.iter().map(|k| format!("module-{}", k.as_str())).filter(|key| !keys.contains(key)),
            );
            missing.extend(items.iter().map(|(kind, path)| key_of(*kind, path)).filter(|key| !keys.contains(key)));
            for v in VOCABULARIES {
                missing.extend(v.codes.iter().map(|c| v.label_key(c)).filter(|key| !keys.contains(key)));
            }
            assert!(missing.is_empty(), "{language} has no label for {missing:#?}");
        }
    }

    #[test]
    fn every_label_key_names_a_module_item_or_code_that_exists() {
        let items: BTreeSet<String> = every_item().iter().map(|(kind, path)| key_of(*kind, path)).collect();
        let codes: BTreeSet<String> = VOCABULARIES
            .iter()
            .filter(|v| v.key_prefix.starts_with("code-"))
            .flat_map(|v| v.codes.iter().map(|c| v.label_key(c)))
            .collect();
        let modules: BTreeSet<String> = RecordKind::ALL.iter().map(|k| format!("module-{}", k.as_str())).collect();
        for language in i18n::languages() {
            for key in i18n::keys(language) {
                let known = if key.starts_with("item-") {
                    items.contains(&key)
                } else if key.starts_with("code-") {
                    codes.contains(&key)
                } else if key.starts_with("module-") {
                    modules.contains(&key)
                } else {
                    true
                };
                assert!(known, "{language}: {key} labels nothing (a typo, or a field renamed?)");
            }
        }
    }

    #[test]
    fn every_coded_enum_of_the_dataset_is_a_listed_vocabulary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dataset");
        let mut declared = BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in source.lines() {
                if let Some(rest) = line.trim().strip_prefix("vocabulary \"") {
                    declared.insert(rest.split('"').next().unwrap().to_owned());
                }
            }
        }
        let listed: BTreeSet<String> = VOCABULARIES.iter().map(|v| v.name.to_owned()).collect();
        assert_eq!(listed.len(), VOCABULARIES.len(), "a vocabulary is listed twice");
        let unlisted: Vec<&String> = declared.difference(&listed).collect();
        assert!(unlisted.is_empty(), "add {unlisted:?} to VOCABULARIES");
        assert_eq!(listed.difference(&declared).collect::<Vec<_>>(), ["sex"], "only Sex is not a coded_enum");
        let prefixes: BTreeSet<&str> = VOCABULARIES.iter().map(|v| v.key_prefix).collect();
        assert_eq!(prefixes.len(), VOCABULARIES.len(), "two vocabularies share label keys");
    }

    #[test]
    fn the_labels_of_one_vocabulary_are_distinct_in_every_language() {
        for language in i18n::languages() {
            for v in VOCABULARIES {
                let labels: BTreeSet<String> = v.codes.iter().map(|c| v.label(c, language)).collect();
                assert_eq!(labels.len(), v.codes.len(), "{language}: two codes of {} read alike", v.name);
            }
        }
    }

    #[test]
    fn typed_labels_come_from_the_catalog_in_the_language_asked() {
        use crate::dataset::pregnancy::PregnancyStatus;
        assert_eq!(RecordKind::PrenatalVisit.label("ja"), "妊婦健診");
        assert_eq!(RecordKind::PrenatalVisit.label("en"), "Prenatal checkup");
        assert_eq!(RecordKind::PrenatalVisit.label("fr"), "Prenatal checkup", "no catalog: English");
        assert_eq!(PregnancyStatus::LiveBirth.label("ja"), "出産（生児）");
        assert_eq!(PregnancyStatus::Ongoing.label("en-US"), "Ongoing");
        assert_eq!(common::Sex::Female.label("ja"), "女");
        assert_eq!(code_label("pregnancy_status", "stillbirth", "ja").as_deref(), Some("死産"));
        assert_eq!(code_label("vaccine", "mr", "en"), Some(immunization::Vaccine::Mr.label("en")));
        assert_eq!(code_label("checkup_type", "years_3", "ja").as_deref(), Some("3歳児健診"));
        assert_eq!(code_label("pregnancy_status", "no_such_code", "ja"), None);
        assert_eq!(code_label("no_such_vocabulary", "ongoing", "ja"), None);
        assert_eq!(prenatal_visit::Edema::VOCABULARY.label("no_such_code", "ja"), "no_such_code");
    }

    #[test]
    fn item_labels_follow_field_paths_as_json_and_validation_write_them() {
        let label = |kind, item| item_label(kind, item, "ja");
        assert_eq!(label(RecordKind::PrenatalVisit, "blood_pressure").as_deref(), Some("血圧"));
        assert_eq!(item_label(RecordKind::PrenatalVisit, "blood_pressure", "en").as_deref(), Some("Blood pressure"));
        assert_eq!(label(RecordKind::PrenatalVisit, "labs.hemoglobin").as_deref(), Some("ヘモグロビン"));
        assert_eq!(label(RecordKind::ChildCheckup, "growth_scores[1].z_score").as_deref(), Some("Zスコア"));
        assert_eq!(
            label(RecordKind::PrenatalVisit, "gestational_age.weeks"),
            label(RecordKind::PrenatalVisit, "gestational_age")
        );
        assert_eq!(label(RecordKind::MotherProfile, "bmi").as_deref(), Some("妊娠前のBMI"));
        assert_eq!(label(RecordKind::PrenatalVisit, "no_such_item"), None);
        for garbage in ["", ".", "labs.", "Labs", "labs[", "labs[]", "labs[x]", "labs]", "labs[0]x", "a-b", "ラボ"] {
            assert_eq!(label(RecordKind::PrenatalVisit, garbage), None, "{garbage:?}");
        }
    }
}
