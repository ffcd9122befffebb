//! `medication` (お薬手帳, many per person): one drug dispensed, as in the
//! electronic medication notebook (JAHIS format) or typed in by a parent.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, Problems, Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

/// Longest pharmacy or prescriber name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest drug display name accepted, in characters.
pub const MAX_DRUG_NAME_CHARS: usize = 200;
/// Longest local drug code accepted, in characters.
pub const MAX_LOCAL_CODE_CHARS: usize = 64;
/// Longest dose or directions text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Days supplied accepted.
pub const DAYS_SUPPLIED: (u32, u32) = (1, 365);

coded_enum! {
    /// The code system of a drug code. The system URIs live in the FHIR mapping.
    pub enum DrugCodeSystem {
        /// YJ code (個別医薬品コード): 12 alphanumeric characters.
        Yj = "yj",
        /// HOT code (医薬品HOTコード): HOT9 (9 digits) or HOT13 (13 digits).
        Hot = "hot",
        /// A local code (pharmacy system, hand entry).
        Local = "local",
    }
}

/// A coded drug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct DrugCode {
    /// The code system.
    pub system: DrugCodeSystem,
    /// The code, in the system's format (see [`DrugCode::format_problem`]).
    pub code: String,
}

impl DrugCode {
    /// Why `code` does not fit its system, if it does not.
    pub fn format_problem(&self) -> Option<String> {
        let c = self.code.as_str();
        match self.system {
            DrugCodeSystem::Yj => (c.chars().count() != 12 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()))
                .then(|| format!("a YJ code is 12 alphanumeric characters, got {c:?}")),
            DrugCodeSystem::Hot => (!matches!(c.len(), 9 | 13) || !c.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("a HOT code is 9 or 13 digits, got {c:?}")),
            DrugCodeSystem::Local => {
                let n = c.chars().count();
                if c.trim().is_empty() {
                    Some("a local code must not be blank".to_owned())
                } else if n > MAX_LOCAL_CODE_CHARS {
                    Some(format!("a local code is at most {MAX_LOCAL_CODE_CHARS} characters, got {n}"))
                } else {
                    None
                }
            }
        }
    }
}

/// One drug dispensed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Medication {
    /// Dispensing date. Not in the future.
    pub dispensed_on: NaiveDate,
    /// Dispensing pharmacy.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pharmacy: Option<String>,
    /// Prescribing physician or clinic.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescriber: Option<String>,
    /// The drug's name as dispensed (required).
    pub drug_name: String,
    /// The drug's code, when known.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drug_code: Option<DrugCode>,
    /// Dose, as text (e.g. "1回1錠").
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose: Option<String>,
    /// Directions, as text (e.g. "1日3回 毎食後").
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
    /// Days supplied, 1–365.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_supplied: Option<u32>,
}

impl Validate for Medication {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        p.not_future("dispensed_on", self.dispensed_on, ctx.today);
        p.opt_text("pharmacy", &self.pharmacy, MAX_NAME_CHARS);
        p.opt_text("prescriber", &self.prescriber, MAX_NAME_CHARS);
        p.text("drug_name", &self.drug_name, MAX_DRUG_NAME_CHARS);
        if let Some(problem) = self.drug_code.as_ref().and_then(DrugCode::format_problem) {
            p.push("drug_code.code", problem);
        }
        p.opt_text("dose", &self.dose, MAX_TEXT_CHARS);
        p.opt_text("directions", &self.directions, MAX_TEXT_CHARS);
        p.opt_integer("days_supplied", self.days_supplied, i64::from(DAYS_SUPPLIED.0), i64::from(DAYS_SUPPLIED.1));
        p.finish()
    }
}

impl DatasetModule for Medication {
    const KIND: RecordKind = RecordKind::Medication;
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.dispensed_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn acetaminophen() -> Medication {
        Medication {
            dispensed_on: d("2026-03-01"),
            pharmacy: Some("ひまわり薬局".into()),
            prescriber: Some("さくら小児科".into()),
            drug_name: "カロナール細粒20%".into(),
            drug_code: Some(DrugCode { system: DrugCodeSystem::Yj, code: "1141007C1075".into() }),
            dose: Some("1回0.5g".into()),
            directions: Some("発熱時 頓用".into()),
            days_supplied: Some(5),
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-03-02"))
    }

    fn code(system: DrugCodeSystem, code: &str) -> DrugCode {
        DrugCode { system, code: code.into() }
    }

    #[test]
    fn a_complete_dispensing_is_valid_and_dated_by_its_dispensing_date() {
        let m = acetaminophen();
        assert_eq!(m.validate(&ctx()), Ok(()));
        assert_eq!(m.effective_date(), Some(d("2026-03-01")));
        assert_eq!(Medication::KIND, RecordKind::Medication);
    }

    #[test]
    fn yj_code_must_be_12_alphanumeric_characters() {
        assert_eq!(code(DrugCodeSystem::Yj, "1141007C1075").format_problem(), None);
        for bad in ["1141007C107", "1141007C10750", "1141007C-075", "１１４１００７Ｃ１０７５", ""] {
            assert!(code(DrugCodeSystem::Yj, bad).format_problem().is_some(), "{bad}");
        }
    }

    #[test]
    fn hot_code_must_be_9_or_13_digits() {
        assert_eq!(code(DrugCodeSystem::Hot, "103835401").format_problem(), None);
        assert_eq!(code(DrugCodeSystem::Hot, "1038354010101").format_problem(), None);
        for bad in ["10383540", "10383540101", "10383540A", "10383540101011"] {
            assert!(code(DrugCodeSystem::Hot, bad).format_problem().is_some(), "{bad}");
        }
    }

    #[test]
    fn local_code_must_not_be_blank() {
        assert!(code(DrugCodeSystem::Local, " ").format_problem().is_some());
        assert_eq!(code(DrugCodeSystem::Local, "RX-42").format_problem(), None);
    }

    #[test]
    fn bad_code_is_reported_under_drug_code() {
        let mut m = acetaminophen();
        m.drug_code = Some(code(DrugCodeSystem::Hot, "12345"));
        assert!(m.validate(&ctx()).unwrap_err().mentions("drug_code.code"));
    }

    #[test]
    fn all_problems_are_reported_with_their_paths() {
        let mut m = acetaminophen();
        m.dispensed_on = d("2026-03-03");
        m.drug_name = "  ".into();
        m.days_supplied = Some(0);
        m.directions = Some("x".repeat(501));
        let errs = m.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 4, "{errs}");
        for path in ["dispensed_on", "drug_name", "days_supplied", "directions"] {
            assert!(errs.mentions(path), "{path}: {errs}");
        }
    }

    #[test]
    fn days_supplied_must_be_1_to_365() {
        let mut m = acetaminophen();
        m.days_supplied = Some(366);
        assert!(m.validate(&ctx()).unwrap_err().mentions("days_supplied"));
        m.days_supplied = Some(365);
        assert_eq!(m.validate(&ctx()), Ok(()));
    }

    #[test]
    fn json_is_snake_case_round_trips_and_refuses_unknown_fields() {
        let m = acetaminophen();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["drug_code"], serde_json::json!({"system": "yj", "code": "1141007C1075"}));
        assert_eq!(serde_json::from_value::<Medication>(json.clone()).unwrap(), m);
        let mut bad = json;
        bad["quantity"] = serde_json::json!(3);
        assert!(serde_json::from_value::<Medication>(bad).is_err());
        let bad_system =
            r#"{"dispensed_on":"2026-03-01","drug_name":"x","drug_code":{"system":"atc","code":"N02BE01"}}"#;
        assert!(serde_json::from_str::<Medication>(bad_system).is_err());
    }
}
