//! `newborn` (one per child, at birth): the child's record at birth — sex,
//! body size, Apgar scores, screenings and vitamin K prophylaxis.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, Cm, Problems, Quantity, Sex, Validate, ValidationContext, ValidationErrors, G};
use super::{DatasetModule, RecordKind};

/// LOINC and JP (MEDIS) codes of the items of this module (`docs/dataset.md`).
/// Sex is `Patient.gender`; vitamin K is a MedicationStatement.
pub mod codes {
    /// Birth weight (LOINC).
    pub const BIRTH_WEIGHT: &str = "8339-4";
    /// Birth weight (JP).
    pub const BIRTH_WEIGHT_JP: &str = "31002900";
    /// Birth length (LOINC).
    pub const BIRTH_LENGTH: &str = "89269-5";
    /// Head circumference at birth (LOINC).
    pub const HEAD_CIRCUMFERENCE: &str = "9843-4";
    /// Head circumference at birth (JP).
    pub const HEAD_CIRCUMFERENCE_JP: &str = "31006116";
    /// Chest circumference at birth (JP; no LOINC given).
    pub const CHEST_CIRCUMFERENCE_JP: &str = "31000299";
    /// Apgar score at 1 minute.
    pub const APGAR_1_MIN: &str = "9272-6";
    /// Apgar score at 5 minutes.
    pub const APGAR_5_MIN: &str = "9274-2";
    /// Apgar score at 10 minutes.
    pub const APGAR_10_MIN: &str = "9271-8";
    /// Newborn hearing screen.
    pub const HEARING_SCREEN: &str = "54109-4";
    /// Newborn metabolic (blood spot) screen.
    pub const METABOLIC_SCREEN: &str = "54089-8";
}

/// Most vitamin K doses a newborn regimen gives (Japan's weekly regimen to 3 months: 13).
pub const MAX_VITAMIN_K_DOSES: usize = 13;

coded_enum! {
    vocabulary "hearing_screen";
    /// Newborn hearing screen result (LOINC 54109-4).
    pub enum HearingScreen {
        /// Passed (both ears).
        Pass = "pass",
        /// Refer for diagnostic testing.
        Refer = "refer",
        /// Not done.
        NotDone = "not_done",
    }
}

coded_enum! {
    vocabulary "metabolic_screen";
    /// Newborn metabolic (blood spot) screen result (LOINC 54089-8).
    pub enum MetabolicScreen {
        /// Within normal limits.
        Normal = "normal",
        /// Abnormal: needs follow-up.
        Abnormal = "abnormal",
        /// Sample taken, result awaited.
        Pending = "pending",
        /// Not done.
        NotDone = "not_done",
    }
}

/// Apgar scores, each 0–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Apgar {
    /// At 1 minute (LOINC 9272-6), 0–10.
    pub one_minute: u8,
    /// At 5 minutes (LOINC 9274-2), 0–10.
    pub five_minute: u8,
    /// At 10 minutes (LOINC 9271-8), 0–10; recorded when the 5-minute score was low.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ten_minute: Option<u8>,
}

/// The child's record at birth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Newborn {
    /// Sex (`Patient.gender`).
    pub sex: Sex,
    /// Birth date. Not in the future; equal to the child's known birth date.
    pub birth_date: NaiveDate,
    /// Birth weight (LOINC 8339-4, JP 31002900), 200–7,000 g.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_weight: Option<Quantity<G>>,
    /// Birth length (LOINC 89269-5), 20–70 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_length: Option<Quantity<Cm>>,
    /// Head circumference at birth (LOINC 9843-4, JP 31006116), 15–50 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_circumference: Option<Quantity<Cm>>,
    /// Chest circumference at birth (JP 31000299), 15–50 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chest_circumference: Option<Quantity<Cm>>,
    /// Apgar scores (9272-6 / 9274-2 / 9271-8).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apgar: Option<Apgar>,
    /// Hearing screen (LOINC 54109-4).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hearing_screen: Option<HearingScreen>,
    /// Metabolic screen (LOINC 54089-8).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metabolic_screen: Option<MetabolicScreen>,
    /// Dates vitamin K (K2 syrup) was given (MedicationStatement); empty if none.
    /// Each on or after the birth date and not in the future, no date twice, at most 13.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vitamin_k_doses: Vec<NaiveDate>,
}

impl Newborn {
    /// Whether any vitamin K dose is recorded.
    pub fn vitamin_k_given(&self) -> bool {
        !self.vitamin_k_doses.is_empty()
    }
}

impl Apgar {
    fn check(&self, p: &mut Problems) {
        p.integer("apgar.one_minute", self.one_minute, 0, 10);
        p.integer("apgar.five_minute", self.five_minute, 0, 10);
        p.opt_integer("apgar.ten_minute", self.ten_minute, 0, 10);
    }
}

impl Validate for Newborn {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();

        p.not_future("birth_date", self.birth_date, ctx.today);
        if let Some(known) = ctx.birth_date {
            if known != self.birth_date {
                p.push("birth_date", format!("must equal the child's birth date ({known}), got {}", self.birth_date));
            }
        }

        p.opt_quantity("birth_weight", &self.birth_weight, 200.0, 7_000.0);
        p.opt_quantity("birth_length", &self.birth_length, 20.0, 70.0);
        p.opt_quantity("head_circumference", &self.head_circumference, 15.0, 50.0);
        p.opt_quantity("chest_circumference", &self.chest_circumference, 15.0, 50.0);
        if let Some(apgar) = &self.apgar {
            apgar.check(&mut p);
        }

        if self.vitamin_k_doses.len() > MAX_VITAMIN_K_DOSES {
            p.push(
                "vitamin_k_doses",
                format!("must list at most {MAX_VITAMIN_K_DOSES} doses, got {}", self.vitamin_k_doses.len()),
            );
        }
        let mut seen = HashSet::new();
        for (i, &dose) in self.vitamin_k_doses.iter().enumerate() {
            let path = format!("vitamin_k_doses[{i}]");
            p.not_future(&path, dose, ctx.today);
            if dose < self.birth_date {
                p.push(&*path, format!("must not be before the birth date ({}), got {dose}", self.birth_date));
            }
            if !seen.insert(dose) {
                p.push(path, format!("{dose} is listed twice"));
            }
        }

        p.finish()
    }
}

impl DatasetModule for Newborn {
    const KIND: RecordKind = RecordKind::Newborn;
    /// The birth date.
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.birth_date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-11-10"))
    }

    fn newborn() -> Newborn {
        Newborn {
            sex: Sex::Female,
            birth_date: d("2026-10-05"),
            birth_weight: Some(Quantity::new(3_050.0)),
            birth_length: Some(Quantity::new(49.0)),
            head_circumference: Some(Quantity::new(33.0)),
            chest_circumference: Some(Quantity::new(32.0)),
            apgar: Some(Apgar { one_minute: 8, five_minute: 9, ten_minute: None }),
            hearing_screen: Some(HearingScreen::Pass),
            metabolic_screen: Some(MetabolicScreen::Pending),
            vitamin_k_doses: vec![d("2026-10-05"), d("2026-10-10")],
        }
    }

    fn paths(errs: &ValidationErrors) -> Vec<&str> {
        errs.issues().iter().map(|i| i.path.as_str()).collect()
    }

    fn errors(n: &Newborn) -> ValidationErrors {
        n.validate(&ctx()).expect_err("expected validation problems")
    }

    #[test]
    fn a_complete_newborn_record_passes() {
        assert_eq!(newborn().validate(&ctx().with_birth_date(d("2026-10-05"))), Ok(()));
        assert!(newborn().vitamin_k_given());
    }

    #[test]
    fn birth_weight_outside_200_7000_g_is_rejected_with_its_path() {
        for grams in [199.0, 7_001.0] {
            let n = Newborn { birth_weight: Some(Quantity::new(grams)), ..newborn() };
            let errs = errors(&n);
            assert_eq!(paths(&errs), ["birth_weight"], "{errs}");
            assert!(errs.issues()[0].reason.contains("200–7000 g"), "{errs}");
        }
        for grams in [200.0, 7_000.0] {
            let n = Newborn { birth_weight: Some(Quantity::new(grams)), ..newborn() };
            assert_eq!(n.validate(&ctx()), Ok(()));
        }
    }

    #[test]
    fn body_sizes_outside_their_ranges_are_rejected_with_their_paths() {
        let n = Newborn {
            birth_length: Some(Quantity::new(19.9)),
            head_circumference: Some(Quantity::new(50.1)),
            chest_circumference: Some(Quantity::new(14.0)),
            ..newborn()
        };
        assert_eq!(paths(&errors(&n)), ["birth_length", "head_circumference", "chest_circumference"]);
        let long = Newborn { birth_length: Some(Quantity::new(70.1)), ..newborn() };
        assert_eq!(paths(&errors(&long)), ["birth_length"]);
    }

    #[test]
    fn apgar_above_10_is_rejected_with_its_path() {
        let n = Newborn { apgar: Some(Apgar { one_minute: 11, five_minute: 10, ten_minute: Some(12) }), ..newborn() };
        assert_eq!(paths(&errors(&n)), ["apgar.one_minute", "apgar.ten_minute"]);
        let zero = Newborn { apgar: Some(Apgar { one_minute: 0, five_minute: 0, ten_minute: Some(0) }), ..newborn() };
        assert_eq!(zero.validate(&ctx()), Ok(()));
    }

    #[test]
    fn birth_date_in_the_future_is_rejected() {
        let n = Newborn { birth_date: d("2026-11-11"), vitamin_k_doses: vec![], ..newborn() };
        assert_eq!(paths(&errors(&n)), ["birth_date"]);
    }

    #[test]
    fn birth_date_differing_from_the_childs_known_birth_date_is_rejected() {
        let errs = newborn().validate(&ctx().with_birth_date(d("2026-10-04"))).unwrap_err();
        assert_eq!(paths(&errs), ["birth_date"], "{errs}");
    }

    #[test]
    fn vitamin_k_dose_before_birth_or_in_the_future_is_rejected_with_its_index() {
        let n = Newborn { vitamin_k_doses: vec![d("2026-10-05"), d("2026-10-04"), d("2026-11-11")], ..newborn() };
        assert_eq!(paths(&errors(&n)), ["vitamin_k_doses[1]", "vitamin_k_doses[2]"]);
    }

    #[test]
    fn vitamin_k_dose_listed_twice_is_rejected() {
        let n = Newborn { vitamin_k_doses: vec![d("2026-10-05"), d("2026-10-12"), d("2026-10-05")], ..newborn() };
        let errs = errors(&n);
        assert_eq!(paths(&errs), ["vitamin_k_doses[2]"], "{errs}");
        assert!(errs.issues()[0].reason.contains("twice"), "{errs}");
    }

    #[test]
    fn more_than_13_vitamin_k_doses_are_rejected() {
        // 14 weekly doses from the birth date: 2026-10-05, -12, -19, ... (all before today).
        let doses: Vec<NaiveDate> =
            (0..14u64).map(|w| d("2026-10-05").checked_add_days(chrono::Days::new(w * 7)).unwrap()).collect();
        let today = ValidationContext::new(d("2027-02-01"));
        let too_many = Newborn { vitamin_k_doses: doses.clone(), ..newborn() };
        assert_eq!(paths(&too_many.validate(&today).unwrap_err()), ["vitamin_k_doses"]);
        let thirteen = Newborn { vitamin_k_doses: doses[..13].to_vec(), ..newborn() };
        assert_eq!(thirteen.validate(&today), Ok(()));
    }

    #[test]
    fn all_problems_are_reported_not_only_the_first() {
        let n = Newborn {
            birth_weight: Some(Quantity::new(10_000.0)),
            head_circumference: Some(Quantity::new(5.0)),
            apgar: Some(Apgar { one_minute: 3, five_minute: 11, ten_minute: None }),
            vitamin_k_doses: vec![d("2026-09-01")],
            ..newborn()
        };
        assert_eq!(
            paths(&errors(&n)),
            ["birth_weight", "head_circumference", "apgar.five_minute", "vitamin_k_doses[0]"]
        );
    }

    #[test]
    fn effective_date_is_the_birth_date() {
        assert_eq!(newborn().effective_date(), Some(d("2026-10-05")));
    }

    #[test]
    fn json_round_trip_is_stable_snake_case() {
        let n = newborn();
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sex": "female",
                "birth_date": "2026-10-05",
                "birth_weight": {"value": 3050.0, "unit": "g"},
                "birth_length": {"value": 49.0, "unit": "cm"},
                "head_circumference": {"value": 33.0, "unit": "cm"},
                "chest_circumference": {"value": 32.0, "unit": "cm"},
                "apgar": {"one_minute": 8, "five_minute": 9},
                "hearing_screen": "pass",
                "metabolic_screen": "pending",
                "vitamin_k_doses": ["2026-10-05", "2026-10-10"]
            })
        );
        assert_eq!(serde_json::from_value::<Newborn>(json).unwrap(), n);
        let minimal: Newborn = serde_json::from_str(r#"{"sex":"unknown","birth_date":"2026-10-05"}"#).unwrap();
        assert!(minimal.vitamin_k_doses.is_empty() && !minimal.vitamin_k_given());
        assert_eq!(serde_json::to_string(&minimal).unwrap(), r#"{"sex":"unknown","birth_date":"2026-10-05"}"#);
    }

    #[test]
    fn birth_weight_in_kilograms_is_refused() {
        let json = r#"{"sex":"male","birth_date":"2026-10-05","birth_weight":{"value":3.05,"unit":"kg"}}"#;
        let err = serde_json::from_str::<Newborn>(json).unwrap_err();
        assert!(err.to_string().contains("unit must be \"g\""), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        for json in [
            r#"{"sex":"male","birth_date":"2026-10-05","weight":3050}"#,
            r#"{"sex":"male","birth_date":"2026-10-05","apgar":{"one_minute":8,"five_minute":9,"fifteen":9}}"#,
        ] {
            let err = serde_json::from_str::<Newborn>(json).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{json}: {err}");
        }
    }

    #[test]
    fn codes_of_every_coded_value_are_their_json_names() {
        for v in HearingScreen::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.code()));
        }
        for v in MetabolicScreen::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.code()));
        }
    }
}
