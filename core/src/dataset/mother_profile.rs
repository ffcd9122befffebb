//! `mother_profile` (one per mother): identity (JP Core Patient), body size
//! before pregnancy, blood group, obstetric history and smoking / alcohol use.
//! Derived: BMI.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use super::common::Identifier;
use super::common::{
    age_in_months, check_identifiers, coded_enum, round_to, Cm, Kg, KgPerM2, Problems, Quantity, Validate,
    ValidationContext, ValidationErrors,
};
use super::{DatasetModule, RecordKind};

/// LOINC codes of the items of this module (`docs/dataset.md`).
pub mod codes {
    /// Body height.
    pub const BODY_HEIGHT: &str = "8302-2";
    /// Body weight before pregnancy.
    pub const PRE_PREGNANCY_WEIGHT: &str = "56077-1";
    /// Body mass index (derived).
    pub const BMI: &str = "39156-5";
    /// Blood group panel (ABO, Rh, irregular antibodies).
    pub const BLOOD_GROUP_PANEL: &str = "34531-4";
    /// ABO and Rh group.
    pub const ABO_RH: &str = "882-1";
    /// Number of pregnancies (gravida).
    pub const GRAVIDA: &str = "11996-6";
    /// Number of births (parity).
    pub const PARITY: &str = "64708-1";
    /// Number of previous caesarean sections.
    pub const PREVIOUS_CAESAREANS: &str = "68497-7";
    /// Smoking status.
    pub const SMOKING: &str = "64234-8";
    /// Alcohol use.
    pub const ALCOHOL: &str = "74205-6";
}

/// Longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Youngest plausible age of a mother today, in years.
pub const MIN_AGE_YEARS: u32 = 10;
/// Oldest plausible age of a mother today, in years.
pub const MAX_AGE_YEARS: u32 = 120;
pub use super::common::MAX_IDENTIFIER_CHARS;

coded_enum! {
    vocabulary "abo_group";
    /// ABO blood group (part of 882-1).
    pub enum AboGroup {
        /// Group A.
        A = "a",
        /// Group B.
        B = "b",
        /// Group O.
        O = "o",
        /// Group AB.
        Ab = "ab",
    }
}

coded_enum! {
    vocabulary "rh_d";
    /// Rh(D) type (part of 882-1).
    pub enum RhD {
        /// Rh(D) positive.
        Positive = "positive",
        /// Rh(D) negative.
        Negative = "negative",
    }
}

coded_enum! {
    vocabulary "antibody_screen";
    /// Irregular (non-ABO) red-cell antibody screen (in panel 34531-4).
    pub enum AntibodyScreen {
        /// No irregular antibodies found.
        Negative = "negative",
        /// Irregular antibodies found.
        Positive = "positive",
    }
}

coded_enum! {
    vocabulary "substance_use";
    /// Use of tobacco (64234-8) or alcohol (74205-6) in relation to this pregnancy.
    pub enum SubstanceUse {
        /// Never used.
        Never = "never",
        /// Used in the past, stopped before this pregnancy.
        Former = "former",
        /// Stopped on learning of this pregnancy.
        StoppedForPregnancy = "stopped_for_pregnancy",
        /// Still uses.
        Current = "current",
    }
}

/// The mother's profile. Undated: it describes her, not an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct MotherProfile {
    /// Full name as written, in kanji (or the script she uses when her name has
    /// no kanji); JP Core `Patient.name` with the IDE representation. Required, ≤ 100 chars.
    pub name_kanji: String,
    /// Full name in kana (JP Core SYL representation): katakana or hiragana,
    /// spaces and `・`/`ー` only. ≤ 100 chars.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    /// Birth date (`Patient.birthDate`). Not in the future; her age today must be 10–120 years.
    pub birth_date: NaiveDate,
    /// Identifiers (`Patient.identifier`); no two alike.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
    /// Body height (LOINC 8302-2), 100–230 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Quantity<Cm>>,
    /// Body weight before pregnancy (LOINC 56077-1), 25–200 kg.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_pregnancy_weight: Option<Quantity<Kg>>,
    /// ABO group (LOINC 882-1, panel 34531-4).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abo: Option<AboGroup>,
    /// Rh(D) type (LOINC 882-1, panel 34531-4).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh_d: Option<RhD>,
    /// Irregular antibody screen (panel 34531-4).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irregular_antibodies: Option<AntibodyScreen>,
    /// Number of pregnancies including the current one (LOINC 11996-6), 0–30.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravida: Option<u8>,
    /// Number of previous deliveries (LOINC 64708-1), 0–30, not above gravida.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity: Option<u8>,
    /// Number of previous caesarean sections (LOINC 68497-7), 0–15, not above parity.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_caesareans: Option<u8>,
    /// Smoking (LOINC 64234-8).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoking: Option<SubstanceUse>,
    /// Alcohol (LOINC 74205-6).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alcohol: Option<SubstanceUse>,
}

impl MotherProfile {
    /// Pre-pregnancy BMI (LOINC 39156-5) = weight kg / (height m)², rounded to
    /// one decimal. `None` unless both height and weight are recorded and positive.
    pub fn bmi(&self) -> Option<Quantity<KgPerM2>> {
        let height_m = self.height?.value / 100.0;
        let weight = self.pre_pregnancy_weight?.value;
        if !(height_m > 0.0 && weight > 0.0) {
            return None;
        }
        let bmi = round_to(weight / (height_m * height_m), 1);
        bmi.is_finite().then(|| Quantity::new(bmi))
    }
}

/// Kana names: katakana/hiragana blocks (which hold `ー` and `・`) and spaces.
fn is_kana_name_char(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}' | ' ' | '\u{3000}')
}

impl Validate for MotherProfile {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();

        p.text("name_kanji", &self.name_kanji, MAX_NAME_CHARS);
        p.opt_text("name_kana", &self.name_kana, MAX_NAME_CHARS);
        if let Some(kana) = &self.name_kana {
            if !kana.chars().all(is_kana_name_char) {
                p.push("name_kana", "must be written in kana (katakana or hiragana) only");
            }
        }

        p.not_future("birth_date", self.birth_date, ctx.today);
        if let Some(years) = age_in_months(self.birth_date, ctx.today).map(|m| m / 12) {
            if !(MIN_AGE_YEARS..=MAX_AGE_YEARS).contains(&years) {
                p.push(
                    "birth_date",
                    format!("gives an age of {years} years today; must be {MIN_AGE_YEARS}–{MAX_AGE_YEARS}"),
                );
            }
        }

        check_identifiers(&mut p, "identifiers", &self.identifiers);

        p.opt_quantity("height", &self.height, 100.0, 230.0);
        p.opt_quantity("pre_pregnancy_weight", &self.pre_pregnancy_weight, 25.0, 200.0);

        p.opt_integer("gravida", self.gravida, 0, 30);
        p.opt_integer("parity", self.parity, 0, 30);
        p.opt_integer("previous_caesareans", self.previous_caesareans, 0, 15);
        if let (Some(g), Some(para)) = (self.gravida, self.parity) {
            if para > g {
                p.push("parity", format!("must not exceed gravida ({g}), got {para}"));
            }
        }
        if let (Some(para), Some(cs)) = (self.parity, self.previous_caesareans) {
            if cs > para {
                p.push("previous_caesareans", format!("must not exceed parity ({para}), got {cs}"));
            }
        }

        p.finish()
    }
}

impl DatasetModule for MotherProfile {
    const KIND: RecordKind = RecordKind::MotherProfile;
    /// Always `None`: the profile is undated.
    fn effective_date(&self) -> Option<NaiveDate> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-05-01"))
    }

    fn profile() -> MotherProfile {
        MotherProfile {
            name_kanji: "山田 花子".into(),
            name_kana: Some("ヤマダ ハナコ".into()),
            birth_date: d("1994-07-15"),
            identifiers: vec![Identifier {
                system: "urn:oid:1.2.392.100495.20.3.51.1".into(),
                value: "12345678".into(),
            }],
            height: Some(Quantity::new(158.0)),
            pre_pregnancy_weight: Some(Quantity::new(52.0)),
            abo: Some(AboGroup::A),
            rh_d: Some(RhD::Positive),
            irregular_antibodies: Some(AntibodyScreen::Negative),
            gravida: Some(2),
            parity: Some(1),
            previous_caesareans: Some(0),
            smoking: Some(SubstanceUse::Never),
            alcohol: Some(SubstanceUse::StoppedForPregnancy),
        }
    }

    fn with_size(height_cm: f64, weight_kg: f64) -> MotherProfile {
        MotherProfile {
            height: Some(Quantity::new(height_cm)),
            pre_pregnancy_weight: Some(Quantity::new(weight_kg)),
            ..profile()
        }
    }

    #[test]
    fn bmi_of_158cm_52kg_is_20_8() {
        // 1.58 m squared = 2.4964; 52 / 2.4964 = 20.830 -> 20.8.
        let bmi = profile().bmi().unwrap();
        assert_eq!(bmi.value, 20.8);
        assert_eq!(bmi.unit(), "kg/m2");
    }

    #[test]
    fn bmi_hand_checked_examples_round_to_one_decimal() {
        // 1.60^2 = 2.56; 60 / 2.56 = 23.4375 -> 23.4.
        assert_eq!(with_size(160.0, 60.0).bmi().unwrap().value, 23.4);
        // 1.50^2 = 2.25; 45 / 2.25 = 20.0.
        assert_eq!(with_size(150.0, 45.0).bmi().unwrap().value, 20.0);
        // 1.70^2 = 2.89; 85 / 2.89 = 29.411... -> 29.4.
        assert_eq!(with_size(170.0, 85.0).bmi().unwrap().value, 29.4);
        // 1.55^2 = 2.4025; 40 / 2.4025 = 16.649... -> 16.6 (underweight, < 18.5).
        assert_eq!(with_size(155.0, 40.0).bmi().unwrap().value, 16.6);
    }

    #[test]
    fn bmi_needs_both_height_and_weight_and_never_divides_by_zero() {
        assert_eq!(MotherProfile { height: None, ..profile() }.bmi(), None);
        assert_eq!(MotherProfile { pre_pregnancy_weight: None, ..profile() }.bmi(), None);
        assert_eq!(with_size(0.0, 52.0).bmi(), None);
        assert_eq!(with_size(-158.0, 52.0).bmi(), None);
    }

    #[test]
    fn a_complete_profile_passes() {
        assert_eq!(profile().validate(&ctx()), Ok(()));
    }

    #[test]
    fn height_and_weight_outside_their_ranges_are_rejected_with_their_paths() {
        let errs = with_size(99.0, 201.0).validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 2, "{errs}");
        assert_eq!(errs.issues()[0].path, "height");
        assert_eq!(errs.issues()[1].path, "pre_pregnancy_weight");
        assert_eq!(with_size(100.0, 200.0).validate(&ctx()), Ok(()));
    }

    #[test]
    fn parity_above_gravida_and_caesareans_above_parity_are_rejected() {
        let p = MotherProfile { gravida: Some(1), parity: Some(2), previous_caesareans: Some(3), ..profile() };
        let errs = p.validate(&ctx()).unwrap_err();
        let paths: Vec<&str> = errs.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["parity", "previous_caesareans"], "{errs}");
    }

    #[test]
    fn kana_name_in_latin_letters_is_rejected() {
        let p = MotherProfile { name_kana: Some("Yamada Hanako".into()), ..profile() };
        assert!(p.validate(&ctx()).unwrap_err().mentions("name_kana"));
        let hiragana = MotherProfile { name_kana: Some("やまだ　はなこ".into()), ..profile() };
        assert_eq!(hiragana.validate(&ctx()), Ok(()));
    }

    #[test]
    fn birth_date_in_the_future_or_making_her_younger_than_10_is_rejected() {
        let future = MotherProfile { birth_date: d("2026-05-02"), ..profile() };
        assert!(future.validate(&ctx()).unwrap_err().mentions("birth_date"));
        let child = MotherProfile { birth_date: d("2017-01-01"), ..profile() }; // 9 years old
        assert!(child.validate(&ctx()).unwrap_err().mentions("birth_date"));
    }

    #[test]
    fn identifiers_need_a_uri_system_a_value_and_no_duplicates() {
        let good = profile().identifiers[0].clone();
        let p = MotherProfile {
            identifiers: vec![good.clone(), Identifier { system: "resident number".into(), value: " ".into() }, good],
            ..profile()
        };
        let errs = p.validate(&ctx()).unwrap_err();
        let paths: Vec<&str> = errs.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["identifiers[1].system", "identifiers[1].value", "identifiers[2]"], "{errs}");
    }

    #[test]
    fn all_problems_are_reported_not_only_the_first() {
        let p =
            MotherProfile { name_kanji: "".into(), height: Some(Quantity::new(300.0)), gravida: Some(31), ..profile() };
        let errs = p.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("name_kanji") && errs.mentions("height") && errs.mentions("gravida"), "{errs}");
    }

    #[test]
    fn json_round_trip_is_stable_snake_case() {
        let p = profile();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name_kanji": "山田 花子",
                "name_kana": "ヤマダ ハナコ",
                "birth_date": "1994-07-15",
                "identifiers": [{"system": "urn:oid:1.2.392.100495.20.3.51.1", "value": "12345678"}],
                "height": {"value": 158.0, "unit": "cm"},
                "pre_pregnancy_weight": {"value": 52.0, "unit": "kg"},
                "abo": "a",
                "rh_d": "positive",
                "irregular_antibodies": "negative",
                "gravida": 2,
                "parity": 1,
                "previous_caesareans": 0,
                "smoking": "never",
                "alcohol": "stopped_for_pregnancy"
            })
        );
        assert_eq!(serde_json::from_value::<MotherProfile>(json).unwrap(), p);
        let minimal: MotherProfile =
            serde_json::from_str(r#"{"name_kanji":"山田 花子","birth_date":"1994-07-15"}"#).unwrap();
        assert_eq!(serde_json::to_string(&minimal).unwrap(), r#"{"name_kanji":"山田 花子","birth_date":"1994-07-15"}"#);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<MotherProfile>(
            r#"{"name_kanji":"山田 花子","birth_date":"1994-07-15","blood_type":"A"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn codes_of_every_coded_value_are_their_json_names() {
        fn check<T: serde::Serialize>(all: &[T], code: impl Fn(&T) -> &'static str) {
            for v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(code(v)));
            }
        }
        check(AboGroup::ALL, |v| v.code());
        check(RhD::ALL, |v| v.code());
        check(AntibodyScreen::ALL, |v| v.code());
        check(SubstanceUse::ALL, |v| v.code());
    }
}
