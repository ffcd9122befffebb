//! `allergy` (many per person, the mother or a child): one substance the person
//! reacts to — a food (the Japanese mandatory allergen labelling list and a few
//! recommended ones), a drug (YJ/HOT code, as in the medication notebook), an
//! environmental or biologic substance — with the reactions seen, how severe
//! they were and how dangerous a new exposure is. Maps to FHIR
//! `AllergyIntolerance` (JP Core `JP_AllergyIntolerance`-aligned).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, Problems, Validate, ValidationContext, ValidationErrors};
use super::medication::DrugCode;
use super::{DatasetModule, RecordKind};

/// Longest substance name accepted, in characters.
pub const MAX_SUBSTANCE_CHARS: usize = 200;
/// Longest reaction or note text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

coded_enum! {
    vocabulary "allergy_category";
    /// What kind of substance it is (FHIR `AllergyIntolerance.category`).
    pub enum AllergyCategory {
        /// A food.
        Food = "food",
        /// A drug.
        Medication = "medication",
        /// Something in the environment (pollen, house dust, animal hair, latex).
        Environment = "environment",
        /// A biologic (blood products, vaccines' components, ...).
        Biologic = "biologic",
    }
}

coded_enum! {
    vocabulary "food_allergen";
    /// Foods of the Japanese allergen labelling list (特定原材料: the 8 mandatory
    /// items, then a few recommended ones), and `other` (named in `substance`).
    pub enum FoodAllergen {
        /// 卵.
        Egg = "egg",
        /// 乳 (牛乳).
        Milk = "milk",
        /// 小麦.
        Wheat = "wheat",
        /// そば.
        Buckwheat = "buckwheat",
        /// 落花生.
        Peanut = "peanut",
        /// えび.
        Shrimp = "shrimp",
        /// かに.
        Crab = "crab",
        /// くるみ.
        Walnut = "walnut",
        /// 大豆.
        Soybean = "soybean",
        /// ごま.
        Sesame = "sesame",
        /// さけ.
        Salmon = "salmon",
        /// いくら.
        SalmonRoe = "salmon_roe",
        /// キウイフルーツ.
        Kiwi = "kiwi",
        /// Another food, named in `substance`.
        Other = "other",
    }
}

impl FoodAllergen {
    /// The Japanese name of the labelling list ([`Self::label`] in `ja`).
    pub fn label_ja(self) -> String {
        self.label("ja")
    }
}

coded_enum! {
    vocabulary "allergy_type";
    /// allergy | intolerance (FHIR `AllergyIntolerance.type`).
    pub enum AllergyType {
        /// An immune reaction.
        Allergy = "allergy",
        /// A non-immune reaction.
        Intolerance = "intolerance",
    }
}

coded_enum! {
    vocabulary "manifestation";
    /// A reaction seen (FHIR `reaction.manifestation`).
    pub enum Manifestation {
        /// じんましん.
        Urticaria = "urticaria",
        /// アナフィラキシー.
        Anaphylaxis = "anaphylaxis",
        /// ぜん鳴 (wheeze).
        Wheeze = "wheeze",
        /// 嘔吐.
        Vomiting = "vomiting",
        /// 下痢.
        Diarrhoea = "diarrhoea",
    }
}

coded_enum! {
    vocabulary "reaction_severity";
    /// How severe the reactions were (FHIR `reaction.severity`).
    pub enum ReactionSeverity {
        /// Mild.
        Mild = "mild",
        /// Moderate.
        Moderate = "moderate",
        /// Severe.
        Severe = "severe",
    }
}

coded_enum! {
    vocabulary "criticality";
    /// How dangerous a new exposure is (FHIR `criticality`).
    pub enum Criticality {
        /// Low risk of a life-threatening reaction.
        Low = "low",
        /// High risk of a life-threatening reaction.
        High = "high",
        /// Not known.
        UnableToAssess = "unable-to-assess",
    }
}

coded_enum! {
    vocabulary "allergy_clinical_status";
    /// Whether the allergy still applies (FHIR `clinicalStatus`).
    pub enum AllergyClinicalStatus {
        /// Still present.
        Active = "active",
        /// No longer of concern.
        Inactive = "inactive",
        /// Outgrown or cured (e.g. a child who tolerates egg again).
        Resolved = "resolved",
    }
}

coded_enum! {
    vocabulary "allergy_verification";
    /// How sure it is (FHIR `verificationStatus`).
    pub enum AllergyVerification {
        /// Suspected, not confirmed.
        Unconfirmed = "unconfirmed",
        /// Confirmed (e.g. by a test or a challenge).
        Confirmed = "confirmed",
        /// Ruled out.
        Refuted = "refuted",
    }
}

/// One allergy or intolerance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Allergy {
    /// What kind of substance.
    pub category: AllergyCategory,
    /// The substance as named by the family or the clinic (required, e.g. "卵").
    pub substance: String,
    /// The food, coded (only for `category` food).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub food: Option<FoodAllergen>,
    /// The drug, coded (only for `category` medication).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drug_code: Option<DrugCode>,
    /// allergy | intolerance, when known.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allergy_type: Option<AllergyType>,
    /// Whether it still applies.
    pub clinical_status: AllergyClinicalStatus,
    /// How sure it is.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<AllergyVerification>,
    /// How dangerous a new exposure is.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// The reactions seen, coded (no repeats).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Manifestation>,
    /// Other reactions, as text (e.g. "口の周りが赤くなった").
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_text: Option<String>,
    /// How severe the reactions were; needs a reaction (coded or text).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<ReactionSeverity>,
    /// When it was first noticed. Not in the future.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<NaiveDate>,
    /// The last reaction. Not in the future, not before `onset`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reaction: Option<NaiveDate>,
    /// Note (e.g. what to avoid, the emergency plan).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Validate for Allergy {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        p.text("substance", &self.substance, MAX_SUBSTANCE_CHARS);
        if self.food.is_some() && self.category != AllergyCategory::Food {
            p.push("food", "a coded food needs category food");
        }
        if let Some(code) = &self.drug_code {
            if self.category != AllergyCategory::Medication {
                p.push("drug_code", "a drug code needs category medication");
            }
            if let Some(problem) = code.format_problem() {
                p.push("drug_code.code", problem);
            }
        }
        for (i, m) in self.reactions.iter().enumerate() {
            if self.reactions[..i].contains(m) {
                p.push(format!("reactions[{i}]"), format!("{} is listed twice", m.code()));
            }
        }
        p.opt_text("reaction_text", &self.reaction_text, MAX_TEXT_CHARS);
        let has_reaction =
            !self.reactions.is_empty() || self.reaction_text.as_deref().is_some_and(|t| !t.trim().is_empty());
        if self.severity.is_some() && !has_reaction {
            p.push("severity", "a severity needs a reaction (coded or as text)");
        }
        p.opt_not_future("onset", self.onset, ctx.today);
        p.opt_not_future("last_reaction", self.last_reaction, ctx.today);
        if let (Some(onset), Some(last)) = (self.onset, self.last_reaction) {
            if last < onset {
                p.push("last_reaction", "must not be before onset");
            }
        }
        if let (Some(birth), Some(onset)) = (ctx.birth_date, self.onset) {
            if onset < birth {
                p.push("onset", "must not be before the child's birth");
            }
        }
        p.opt_text("note", &self.note, MAX_TEXT_CHARS);
        p.finish()
    }
}

impl DatasetModule for Allergy {
    const KIND: RecordKind = RecordKind::Allergy;
    /// The onset, when known (an allergy is otherwise undated).
    fn effective_date(&self) -> Option<NaiveDate> {
        self.onset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::examples;
    use crate::dataset::medication::DrugCodeSystem;

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(examples::TODAY).with_birth_date(examples::CHILD_BIRTH_DATE)
    }

    #[test]
    fn food_labels_in_japanese_are_the_names_of_the_labelling_list() {
        let names: Vec<String> = FoodAllergen::ALL.iter().map(|f| f.label_ja()).collect();
        assert_eq!(
            names,
            [
                "卵",
                "乳",
                "小麦",
                "そば",
                "落花生",
                "えび",
                "かに",
                "くるみ",
                "大豆",
                "ごま",
                "さけ",
                "いくら",
                "キウイフルーツ",
                "その他"
            ]
        );
        assert_eq!(FoodAllergen::Buckwheat.label("en"), "Buckwheat");
    }

    #[test]
    fn the_full_and_minimal_examples_pass() {
        assert_eq!(examples::allergy_full().validate(&ctx()), Ok(()));
        assert_eq!(examples::allergy_minimal().validate(&ctx()), Ok(()));
    }

    #[test]
    fn a_drug_allergy_with_a_yj_code_passes_and_a_bad_code_is_refused() {
        let mut a = Allergy {
            category: AllergyCategory::Medication,
            substance: "アモキシシリン".into(),
            food: None,
            drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "6131001C1210".into() }),
            ..examples::allergy_minimal()
        };
        assert_eq!(a.validate(&ctx()), Ok(()));
        a.drug_code = Some(DrugCode { system: DrugCodeSystem::Yj, code: "613".into() });
        assert!(a.validate(&ctx()).unwrap_err().mentions("drug_code.code"));
    }

    #[test]
    fn codes_of_the_wrong_category_repeated_reactions_and_a_severity_without_reaction_are_refused() {
        let a = Allergy {
            category: AllergyCategory::Environment,
            food: Some(FoodAllergen::Egg),
            drug_code: Some(DrugCode { system: DrugCodeSystem::Hot, code: "105271807".into() }),
            reactions: vec![Manifestation::Urticaria, Manifestation::Urticaria],
            ..examples::allergy_minimal()
        };
        let errs = a.validate(&ctx()).unwrap_err();
        let paths: Vec<&str> = errs.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["food", "drug_code", "reactions[1]"], "{errs}");
        let no_reaction = Allergy { severity: Some(ReactionSeverity::Severe), ..examples::allergy_minimal() };
        assert!(no_reaction.validate(&ctx()).unwrap_err().mentions("severity"));
        let text_only = Allergy { reaction_text: Some("口の周りが赤い".into()), ..no_reaction };
        assert_eq!(text_only.validate(&ctx()), Ok(()));
    }

    #[test]
    fn dates_in_the_future_before_birth_or_out_of_order_are_refused() {
        let a = Allergy {
            onset: Some("2026-01-01".parse().unwrap()),
            last_reaction: Some("2030-01-01".parse().unwrap()),
            ..examples::allergy_minimal()
        };
        let errs = a.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("onset") && errs.mentions("last_reaction"), "{errs}");
        let reversed = Allergy {
            onset: Some("2027-06-01".parse().unwrap()),
            last_reaction: Some("2027-05-01".parse().unwrap()),
            ..examples::allergy_minimal()
        };
        assert!(reversed.validate(&ctx()).unwrap_err().mentions("last_reaction"));
    }

    #[test]
    fn json_is_stable_snake_case_and_unknown_fields_are_refused() {
        let json = serde_json::to_value(examples::allergy_minimal()).unwrap();
        assert_eq!(json, serde_json::json!({"category": "food", "substance": "卵", "clinical_status": "active"}));
        assert_eq!(serde_json::to_value(Criticality::UnableToAssess).unwrap(), "unable-to-assess");
        assert!(serde_json::from_str::<Allergy>(
            r#"{"category":"food","substance":"卵","clinical_status":"active","grade":3}"#
        )
        .is_err());
    }

    #[test]
    fn the_onset_is_the_effective_date() {
        assert_eq!(examples::allergy_full().effective_date(), examples::allergy_full().onset);
        assert_eq!(examples::allergy_minimal().effective_date(), None);
    }
}
