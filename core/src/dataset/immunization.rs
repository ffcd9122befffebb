//! `immunization` (many per person): one vaccine dose given, as written in the
//! handbook's vaccination pages or sent by a clinic or municipality.
//!
//! Which doses are due or overdue is computed from the schedule table in
//! [`super::immunization_schedule`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{coded_enum, Problems, Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

/// Codes of the items of this module (`docs/dataset.md`).
pub mod codes {
    /// Code system of the JP HOT9 vaccine product codes.
    pub const HOT9_SYSTEM: &str = "urn:oid:1.2.392.200119.4.403.1";
    /// Code system of the YJ product codes (JP Core `JP_MedicationCodeYJ_CS`).
    pub const YJ_SYSTEM: &str = "urn:oid:1.2.392.100495.20.1.73";
    /// Date vaccine given (LOINC).
    pub const DATE_GIVEN: &str = "30952-6";
    /// Dose number in series (LOINC).
    pub const DOSE_NUMBER: &str = "30973-2";
    /// Vaccine lot number (LOINC).
    pub const LOT_NUMBER: &str = "30959-1";
    /// The JP Core extension carrying the next due date.
    pub const NEXT_DUE_DATE_EXTENSION: &str = "DueDateOfNextDose";
}

/// Longest lot number accepted, in characters.
pub const MAX_LOT_NUMBER_CHARS: usize = 50;
/// Longest vaccine name, manufacturer or performer accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest location accepted, in characters.
pub const MAX_LOCATION_CHARS: usize = 200;
/// Highest dose number accepted within one series.
pub const MAX_DOSE_NUMBER: u32 = 10;

coded_enum! {
    vocabulary "vaccine", labels "vaccine";
    /// The local vaccine list: Japan's routine (定期) child vaccines and the common
    /// voluntary (任意) ones. Codes are local; a product's HOT9 code may be sent
    /// alongside in [`Immunization::hot9_code`].
    pub enum Vaccine {
        /// Hepatitis B (B型肝炎).
        HepatitisB = "hepatitis_b",
        /// Rotavirus, monovalent (Rotarix, 2 doses).
        RotavirusRotarix = "rotavirus_rotarix",
        /// Rotavirus, pentavalent (RotaTeq, 3 doses).
        RotavirusRotateq = "rotavirus_rotateq",
        /// Diphtheria, pertussis, tetanus, polio and Hib (5種混合).
        DptIpvHib = "dpt_ipv_hib",
        /// Diphtheria, pertussis, tetanus and polio (4種混合).
        DptIpv = "dpt_ipv",
        /// Pneumococcal conjugate, 15-valent.
        Pcv15 = "pcv15",
        /// Pneumococcal conjugate, 20-valent.
        Pcv20 = "pcv20",
        /// BCG (tuberculosis).
        Bcg = "bcg",
        /// Measles and rubella (MR).
        Mr = "mr",
        /// Measles alone.
        Measles = "measles",
        /// Rubella alone.
        Rubella = "rubella",
        /// Varicella (水痘).
        Varicella = "varicella",
        /// Japanese encephalitis (日本脳炎).
        JapaneseEncephalitis = "japanese_encephalitis",
        /// Diphtheria and tetanus (2種混合, DT).
        Dt = "dt",
        /// Human papillomavirus (HPV), any valency.
        Hpv = "hpv",
        /// Influenza.
        Influenza = "influenza",
        /// Mumps (おたふくかぜ).
        Mumps = "mumps",
        /// COVID-19.
        Covid19 = "covid19",
        /// Any other vaccine; [`Immunization::vaccine_name`] says which.
        Other = "other",
    }
}

impl Vaccine {
    /// The Japanese label ([`Self::label`] in `ja`; catalog key `vaccine-<code>`).
    pub fn label_ja(self) -> String {
        self.label("ja")
    }
}

coded_enum! {
    vocabulary "dose_series";
    /// Which part of a vaccine's schedule a dose belongs to (with the dose number,
    /// LOINC 30973-2). Japanese law names the terms: 1期 (including 1期初回),
    /// 1期追加 is a booster, 2期; vaccines without terms use `primary` and `booster`.
    pub enum DoseSeries {
        /// Primary series of a vaccine without terms (初回; Hep B, PCV, BCG, ...).
        Primary = "primary",
        /// First term, 1期 (1期初回 for DPT-IPV-Hib and JE; MR 1期).
        FirstTerm = "first_term",
        /// Second term, 2期 (MR, JE, DT).
        SecondTerm = "second_term",
        /// Booster, 追加 (PCV 追加, 1期追加).
        Booster = "booster",
    }
}

impl DoseSeries {
    /// The Japanese term ([`Self::label`] in `ja`: 初回, 1期, 2期, 追加), which
    /// the FHIR mapping writes as `protocolApplied.series` and reads back.
    pub fn label_ja(self) -> String {
        self.label("ja")
    }
}

coded_enum! {
    vocabulary "injection_site";
    /// Where an injection was given (local codes). Oral vaccines (rotavirus) have no site.
    pub enum InjectionSite {
        /// Left upper arm.
        LeftUpperArm = "left_upper_arm",
        /// Right upper arm.
        RightUpperArm = "right_upper_arm",
        /// Left thigh.
        LeftThigh = "left_thigh",
        /// Right thigh.
        RightThigh = "right_thigh",
        /// Anywhere else.
        Other = "other",
    }
}

/// One vaccine dose given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Immunization {
    /// The vaccine, from the local list.
    pub vaccine: Vaccine,
    /// Product or vaccine name as written; required when `vaccine` is `other`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vaccine_name: Option<String>,
    /// JP HOT9 product code ([`codes::HOT9_SYSTEM`]), 9 digits.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot9_code: Option<String>,
    /// YJ product code ([`codes::YJ_SYSTEM`]), 12 letters or digits, as JP Core's
    /// Immunization example codes a vaccine.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yj_code: Option<String>,
    /// Routine (定期, `true`) or voluntary (任意, `false`).
    pub routine: bool,
    /// Date given (LOINC 30952-6). Not in the future, not before birth.
    pub date_given: NaiveDate,
    /// Dose number within its series (LOINC 30973-2), 1–10.
    pub dose_number: u32,
    /// The series the dose belongs to.
    pub series: DoseSeries,
    /// Lot number (LOINC 30959-1), at most 50 characters.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<String>,
    /// Manufacturer's name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Injection site.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<InjectionSite>,
    /// Who gave the dose (physician's name).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// Where the dose was given (clinic, municipality).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// When the next dose is due (JP extension DueDateOfNextDose); after `date_given`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due_date: Option<NaiveDate>,
}

impl Validate for Immunization {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        if self.vaccine == Vaccine::Other {
            match &self.vaccine_name {
                Some(name) => p.text("vaccine_name", name, MAX_NAME_CHARS),
                None => p.push("vaccine_name", "is required when vaccine is \"other\""),
            }
        } else {
            p.opt_text("vaccine_name", &self.vaccine_name, MAX_NAME_CHARS);
        }
        if let Some(code) = &self.hot9_code {
            if code.len() != 9 || !code.bytes().all(|b| b.is_ascii_digit()) {
                p.push("hot9_code", format!("must be 9 digits, got {code:?}"));
            }
        }
        if let Some(code) = &self.yj_code {
            if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                p.push("yj_code", format!("must be 12 letters or digits, got {code:?}"));
            }
        }
        p.not_future("date_given", self.date_given, ctx.today);
        if let Some(birth) = ctx.birth_date {
            if self.date_given < birth {
                p.push("date_given", format!("must not be before the birth date {birth}, got {}", self.date_given));
            }
        }
        p.integer("dose_number", self.dose_number, 1, i64::from(MAX_DOSE_NUMBER));
        p.opt_text("lot_number", &self.lot_number, MAX_LOT_NUMBER_CHARS);
        p.opt_text("manufacturer", &self.manufacturer, MAX_NAME_CHARS);
        p.opt_text("performer", &self.performer, MAX_NAME_CHARS);
        p.opt_text("location", &self.location, MAX_LOCATION_CHARS);
        if let Some(next) = self.next_due_date {
            if p.date("next_due_date", next) && next <= self.date_given {
                p.push("next_due_date", format!("must be after the date given {}, got {next}", self.date_given));
            }
        }
        p.finish()
    }
}

impl DatasetModule for Immunization {
    const KIND: RecordKind = RecordKind::Immunization;
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.date_given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn hep_b_dose_1() -> Immunization {
        Immunization {
            vaccine: Vaccine::HepatitisB,
            vaccine_name: Some("ビームゲン".into()),
            hot9_code: None,
            yj_code: None,
            routine: true,
            date_given: d("2026-03-10"),
            dose_number: 1,
            series: DoseSeries::Primary,
            lot_number: Some("Y123".into()),
            manufacturer: Some("KM Biologics".into()),
            site: Some(InjectionSite::LeftThigh),
            performer: None,
            location: Some("さくら小児科".into()),
            next_due_date: Some(d("2026-04-10")),
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-04-01")).with_birth_date(d("2026-01-10"))
    }

    #[test]
    fn a_complete_dose_is_valid_and_dated_by_its_date_given() {
        let i = hep_b_dose_1();
        assert_eq!(i.validate(&ctx()), Ok(()));
        assert_eq!(i.effective_date(), Some(d("2026-03-10")));
        assert_eq!(Immunization::KIND, RecordKind::Immunization);
    }

    #[test]
    fn json_is_snake_case_and_round_trips_without_absent_options() {
        let mut i = hep_b_dose_1();
        i.lot_number = None;
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["vaccine"], "hepatitis_b");
        assert_eq!(json["series"], "primary");
        assert_eq!(json["site"], "left_thigh");
        assert_eq!(json["date_given"], "2026-03-10");
        assert!(json.get("lot_number").is_none());
        let back: Immunization = serde_json::from_value(json).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(hep_b_dose_1()).unwrap();
        json["dose"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Immunization>(json).is_err());
    }

    #[test]
    fn vaccine_and_series_codes_are_their_json_names() {
        for v in Vaccine::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.code());
        }
        assert_eq!(DoseSeries::SecondTerm.code(), "second_term");
        let series: Vec<String> = DoseSeries::ALL.iter().map(|s| s.label_ja()).collect();
        assert_eq!(series, ["初回", "1期", "2期", "追加"], "the FHIR mapping reads these back");
        assert_eq!(DoseSeries::SecondTerm.label("en"), "Phase 2");
        assert_eq!(Vaccine::DptIpvHib.label_ja(), "5種混合");
        assert_eq!(Vaccine::DptIpvHib.label("en"), "DPT-IPV-Hib (5-in-1)");
        assert_eq!(Vaccine::Other.label("vi"), "Other vaccine", "a language without a catalog falls back to English");
        assert_eq!(codes::HOT9_SYSTEM, "urn:oid:1.2.392.200119.4.403.1");
    }

    #[test]
    fn dose_in_the_future_or_before_birth_is_rejected() {
        let mut i = hep_b_dose_1();
        i.date_given = d("2026-04-02");
        i.next_due_date = None;
        assert!(i.validate(&ctx()).unwrap_err().mentions("date_given"));
        i.date_given = d("2026-01-09");
        assert!(i.validate(&ctx()).unwrap_err().mentions("date_given"));
        // Without a known birth date only the future check applies.
        assert_eq!(i.validate(&ValidationContext::new(d("2026-04-01"))), Ok(()));
    }

    #[test]
    fn dose_number_must_be_1_to_10() {
        let mut i = hep_b_dose_1();
        for bad in [0, 11] {
            i.dose_number = bad;
            assert!(i.validate(&ctx()).unwrap_err().mentions("dose_number"), "{bad}");
        }
        for ok in [1, 10] {
            i.dose_number = ok;
            assert_eq!(i.validate(&ctx()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn negative_dose_number_is_refused_by_json() {
        let mut json = serde_json::to_value(hep_b_dose_1()).unwrap();
        json["dose_number"] = serde_json::json!(-1);
        assert!(serde_json::from_value::<Immunization>(json).is_err());
    }

    #[test]
    fn next_due_date_must_be_after_the_date_given() {
        let mut i = hep_b_dose_1();
        i.next_due_date = Some(i.date_given);
        assert!(i.validate(&ctx()).unwrap_err().mentions("next_due_date"));
        // A due date after today is fine: it is a plan, not a fact.
        i.next_due_date = Some(d("2026-09-01"));
        assert_eq!(i.validate(&ctx()), Ok(()));
    }

    #[test]
    fn lot_number_over_50_characters_is_rejected() {
        let mut i = hep_b_dose_1();
        i.lot_number = Some("ロ".repeat(51));
        assert!(i.validate(&ctx()).unwrap_err().mentions("lot_number"));
        i.lot_number = Some("ロ".repeat(50));
        assert_eq!(i.validate(&ctx()), Ok(()));
    }

    #[test]
    fn other_vaccine_needs_a_name_hot9_must_be_9_digits_and_yj_12_characters() {
        let mut i = hep_b_dose_1();
        i.vaccine = Vaccine::Other;
        i.vaccine_name = None;
        i.hot9_code = Some("12345678".into());
        i.yj_code = Some("6311-400A101".into());
        let errs = i.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("vaccine_name") && errs.mentions("hot9_code") && errs.mentions("yj_code"), "{errs}");
        i.vaccine_name = Some("A型肝炎".into());
        i.hot9_code = Some("123456789".into());
        i.yj_code = Some("6311400A1010".into());
        assert_eq!(i.validate(&ctx()), Ok(()));
    }

    #[test]
    fn all_problems_are_reported_together() {
        let mut i = hep_b_dose_1();
        i.date_given = d("2027-01-01");
        i.dose_number = 0;
        i.lot_number = Some("x".repeat(60));
        i.next_due_date = Some(d("2026-12-01"));
        let errs = i.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 4, "{errs}");
    }
}
