//! `condition` (many per person, the mother or a child): one problem on the
//! person's problem list — a hypertensive disorder of pregnancy, gestational or
//! pre-existing diabetes, thyroid disease, epilepsy, asthma, heart disease, or
//! another condition named in text — with an optional ICD-10 code, its status
//! and dates. Maps to FHIR `Condition` (category `problem-list-item`).
//!
//! Pregnancy disorders (hypertensive disorders of pregnancy, gestational
//! diabetes) are about the mother only: validation refuses them for a child
//! (a context with a birth date).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, Problems, Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

/// Longest condition name or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

coded_enum! {
    vocabulary "condition_code";
    /// The conditions the handbook and emergency care ask about, and `other`.
    pub enum ConditionCode {
        /// 妊娠高血圧症 (gestational hypertension). Mother only.
        GestationalHypertension = "gestational_hypertension",
        /// 妊娠高血圧腎症 (preeclampsia). Mother only.
        Preeclampsia = "preeclampsia",
        /// HELLP症候群. Mother only.
        Hellp = "hellp",
        /// 高血圧合併妊娠 / chronic hypertension. Mother only.
        ChronicHypertension = "chronic_hypertension",
        /// 妊娠糖尿病 (gestational diabetes). Mother only.
        GestationalDiabetes = "gestational_diabetes",
        /// Pre-existing (type 1 or 2) diabetes.
        PreexistingDiabetes = "preexisting_diabetes",
        /// Thyroid disease.
        ThyroidDisease = "thyroid_disease",
        /// Epilepsy.
        Epilepsy = "epilepsy",
        /// Asthma.
        Asthma = "asthma",
        /// Heart disease.
        HeartDisease = "heart_disease",
        /// Another condition, named in `text`.
        Other = "other",
    }
}

impl ConditionCode {
    /// True for the disorders of pregnancy, which only the mother can have.
    pub const fn mother_only(self) -> bool {
        matches!(
            self,
            ConditionCode::GestationalHypertension
                | ConditionCode::Preeclampsia
                | ConditionCode::Hellp
                | ConditionCode::ChronicHypertension
                | ConditionCode::GestationalDiabetes
        )
    }
}

coded_enum! {
    vocabulary "condition_clinical_status";
    /// Whether the condition still applies (FHIR `clinicalStatus`).
    pub enum ConditionClinicalStatus {
        /// Present.
        Active = "active",
        /// Present but without symptoms or under control.
        Remission = "remission",
        /// No longer present (e.g. gestational hypertension after birth).
        Resolved = "resolved",
        /// Not of concern any more.
        Inactive = "inactive",
    }
}

/// One problem-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What the condition is.
    pub code: ConditionCode,
    /// The condition as named (required for `other`, e.g. "甲状腺機能低下症").
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// ICD-10 code, e.g. `O14.1` (a letter, two digits, optionally a dot and 1–2 more characters).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icd10: Option<String>,
    /// Whether it still applies.
    pub clinical_status: ConditionClinicalStatus,
    /// When it started. Not in the future.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<NaiveDate>,
    /// When it ended. Not in the future, not before `onset`; only for a resolved
    /// or inactive condition.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abatement: Option<NaiveDate>,
    /// Note (treatment, what to watch for).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why `code` is not an ICD-10 code (`A00`, `O14.1`, `O24.49`), if it is not.
pub fn icd10_problem(code: &str) -> Option<String> {
    let b = code.as_bytes();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_alphanumeric();
    let tail = match &b[3.min(b.len())..] {
        [] => true,
        [b'.', rest @ ..] => (1..=2).contains(&rest.len()) && rest.iter().all(u8::is_ascii_alphanumeric),
        _ => false,
    };
    (!(head && tail))
        .then(|| format!("an ICD-10 code is a capital letter, two digits and an optional .x or .xx, got {code:?}"))
}

impl Validate for Condition {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        if self.code == ConditionCode::Other {
            match &self.text {
                Some(t) => p.text("text", t, MAX_TEXT_CHARS),
                None => p.push("text", "a condition coded other needs its name"),
            }
        } else {
            p.opt_text("text", &self.text, MAX_TEXT_CHARS);
        }
        if let Some(problem) = self.icd10.as_deref().and_then(icd10_problem) {
            p.push("icd10", problem);
        }
        if self.code.mother_only() && ctx.birth_date.is_some() {
            p.push("code", format!("{} is a disorder of pregnancy: only the mother can have it", self.code.code()));
        }
        p.opt_not_future("onset", self.onset, ctx.today);
        p.opt_not_future("abatement", self.abatement, ctx.today);
        if let (Some(onset), Some(end)) = (self.onset, self.abatement) {
            if end < onset {
                p.push("abatement", "must not be before onset");
            }
        }
        if self.abatement.is_some()
            && !matches!(self.clinical_status, ConditionClinicalStatus::Resolved | ConditionClinicalStatus::Inactive)
        {
            p.push("abatement", "only a resolved or inactive condition has ended");
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

impl DatasetModule for Condition {
    const KIND: RecordKind = RecordKind::Condition;
    /// The onset, when known.
    fn effective_date(&self) -> Option<NaiveDate> {
        self.onset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::examples;

    fn mother() -> ValidationContext<'static> {
        ValidationContext::new(examples::TODAY)
    }

    #[test]
    fn the_full_and_minimal_examples_pass() {
        assert_eq!(examples::condition_full().validate(&mother()), Ok(()));
        assert_eq!(examples::condition_minimal().validate(&mother()), Ok(()));
    }

    #[test]
    fn icd10_codes_are_checked_for_their_shape() {
        for ok in ["O14", "O14.1", "O24.4", "E10.9", "O24.49", "U07.1"] {
            assert_eq!(icd10_problem(ok), None, "{ok}");
        }
        for bad in ["", "O1", "o14.1", "O14.", "O14.123", "O141", "014.1", "O14-1"] {
            assert!(icd10_problem(bad).is_some(), "{bad}");
        }
        let c = Condition { icd10: Some("O14-1".into()), ..examples::condition_minimal() };
        assert!(c.validate(&mother()).unwrap_err().mentions("icd10"));
    }

    #[test]
    fn pregnancy_disorders_are_refused_for_a_child_and_asthma_is_not() {
        let child = ValidationContext::new(examples::TODAY).with_birth_date(examples::CHILD_BIRTH_DATE);
        for code in ConditionCode::ALL.iter().copied().filter(|c| c.mother_only()) {
            let c = Condition { code, ..examples::condition_minimal() };
            assert!(c.validate(&child).unwrap_err().mentions("code"), "{code:?}");
            assert_eq!(c.validate(&mother()), Ok(()), "{code:?}");
        }
        let asthma = Condition { code: ConditionCode::Asthma, ..examples::condition_minimal() };
        assert_eq!(asthma.validate(&child), Ok(()));
    }

    #[test]
    fn other_needs_its_name_and_an_end_needs_a_resolved_status_after_the_onset() {
        let other = Condition { code: ConditionCode::Other, text: None, ..examples::condition_minimal() };
        assert!(other.validate(&mother()).unwrap_err().mentions("text"));
        let ended = Condition {
            onset: Some("2027-05-01".parse().unwrap()),
            abatement: Some("2027-04-01".parse().unwrap()),
            ..examples::condition_minimal()
        };
        let errs = ended.validate(&mother()).unwrap_err();
        assert_eq!(errs.issues().iter().filter(|i| i.path == "abatement").count(), 2, "{errs}");
    }

    #[test]
    fn json_is_stable_snake_case_and_unknown_fields_are_refused() {
        let json = serde_json::to_value(examples::condition_minimal()).unwrap();
        assert_eq!(json, serde_json::json!({"code": "preeclampsia", "clinical_status": "active"}));
        assert!(serde_json::from_str::<Condition>(r#"{"code":"asthma","clinical_status":"active","stage":1}"#).is_err());
    }
}
