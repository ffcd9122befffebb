//! `medication` (お薬手帳, many per person): one drug dispensed, as in the
//! electronic medication notebook (JAHIS format, [`crate::medication_notebook`]),
//! an over-the-counter drug, or a drug typed in by a parent.
//!
//! The JAHIS import fills the optional fields below the original eight (source,
//! unit, pharmacist, doctor, notes, the dispensing fingerprint, and records it
//! has no field for, verbatim), so a notebook read in and written out again
//! loses nothing. Records written before those fields existed read as before.

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
/// Longest unit name accepted, in characters.
pub const MAX_UNIT_CHARS: usize = 50;
/// Days supplied accepted.
pub const DAYS_SUPPLIED: (u32, u32) = (1, 365);
/// Most notes (and most verbatim JAHIS records) on one medication.
pub const MAX_NOTES: usize = 100;
/// Longest verbatim JAHIS record kept, in characters.
pub const MAX_JAHIS_RECORD_CHARS: usize = 2_000;
/// Length of a dispensing fingerprint (lowercase hex).
pub const DISPENSING_ID_CHARS: usize = 32;

coded_enum! {
    vocabulary "drug_code_system";
    /// The code system of a drug code. The system URIs live in the FHIR mapping.
    pub enum DrugCodeSystem {
        /// YJ code (個別医薬品コード): 12 alphanumeric characters.
        Yj = "yj",
        /// HOT code (医薬品HOTコード): HOT9 (9 digits) or HOT13 (13 digits).
        Hot = "hot",
        /// Receipt computer code (レセプト電算処理システム用コード): 9 digits.
        Receipt = "receipt",
        /// MHLW drug price list code (厚労省コード, 薬価基準収載医薬品コード): 12 alphanumeric characters.
        Mhlw = "mhlw",
        /// A local code (pharmacy system, hand entry).
        Local = "local",
    }
}

coded_enum! {
    vocabulary "medication_source";
    /// Where a medication entry comes from.
    pub enum MedicationSource {
        /// Dispensed by a pharmacy or clinic (the default when absent).
        Dispensed = "dispensed",
        /// An over-the-counter drug (要指導医薬品・一般用医薬品) the person took.
        Otc = "otc",
        /// Entered by the person or a parent.
        PatientEntered = "patient_entered",
    }
}

coded_enum! {
    vocabulary "medication_note_kind";
    /// What a note on a medication says; each is one JAHIS record type.
    pub enum MedicationNoteKind {
        /// 薬品補足 (JAHIS 281): about this drug.
        DrugSupplement = "drug_supplement",
        /// 薬品服用注意 (JAHIS 291): a caution for this drug.
        DrugCaution = "drug_caution",
        /// 用法補足 (JAHIS 311): more on the directions.
        DirectionsSupplement = "directions_supplement",
        /// 処方服用注意 (JAHIS 391): a caution for the prescription group.
        PrescriptionCaution = "prescription_caution",
        /// 服用注意 (JAHIS 401): a caution for the whole dispensing.
        Caution = "caution",
        /// 医療機関等提供情報 (JAHIS 411): information from the clinic or pharmacy (`code`: 提供情報種別).
        ProvidedInformation = "provided_information",
        /// 残薬確認 (JAHIS 421): leftover drugs checked.
        RemainingDrugs = "remaining_drugs",
        /// 備考 (JAHIS 501): remarks.
        Remark = "remark",
        /// 患者等記入 (JAHIS 601): written by the patient or a parent (`date`: when).
        PatientEntry = "patient_entry",
    }
}

impl MedicationNoteKind {
    /// Notes about the one drug (or its prescription group), as opposed to the whole dispensing.
    pub fn is_per_drug(self) -> bool {
        matches!(
            self,
            Self::DrugSupplement | Self::DrugCaution | Self::DirectionsSupplement | Self::PrescriptionCaution
        )
    }
}

/// A note on a medication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct MedicationNote {
    /// What kind of note.
    pub kind: MedicationNoteKind,
    /// The text.
    pub text: String,
    /// When it was written (patient entries).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// A code that classifies it (提供情報種別 of provided information).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
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

fn alnum_12(c: &str) -> bool {
    c.chars().count() == 12 && c.chars().all(|ch| ch.is_ascii_alphanumeric())
}

impl DrugCode {
    /// Why `code` does not fit its system, if it does not.
    pub fn format_problem(&self) -> Option<String> {
        let c = self.code.as_str();
        match self.system {
            DrugCodeSystem::Yj => (!alnum_12(c)).then(|| format!("a YJ code is 12 alphanumeric characters, got {c:?}")),
            DrugCodeSystem::Mhlw => {
                (!alnum_12(c)).then(|| format!("an MHLW drug code is 12 alphanumeric characters, got {c:?}"))
            }
            DrugCodeSystem::Hot => (!matches!(c.len(), 9 | 13) || !c.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("a HOT code is 9 or 13 digits, got {c:?}")),
            DrugCodeSystem::Receipt => (c.len() != 9 || !c.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("a receipt computer code is 9 digits, got {c:?}")),
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
    /// Dispensing date (for an OTC drug: the first day taken). Not in the future.
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
    /// Dose, as text (e.g. "1回1錠", or the JAHIS 用量 "3").
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
    /// Where the entry comes from; absent means dispensed.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<MedicationSource>,
    /// The unit of `dose` (JAHIS 単位名, e.g. "錠").
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_unit: Option<String>,
    /// Last day taken (an OTC drug's 服用終了年月日). Not before `dispensed_on`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_until: Option<NaiveDate>,
    /// The dispensing pharmacist or doctor (JAHIS 15).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pharmacist: Option<String>,
    /// The prescribing doctor (JAHIS 55), when `prescriber` names the clinic.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescribing_doctor: Option<String>,
    /// Fingerprint of the dispensing this drug was imported with (32 lowercase
    /// hex characters): the same QR code imported twice has the same one.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispensing_id: Option<String>,
    /// Supplements, cautions and remarks, each with its kind.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<MedicationNote>,
    /// Records of the dispensing this product has no field for, verbatim
    /// (unknown JAHIS record types are kept, not dropped).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jahis_records: Vec<String>,
}

impl Medication {
    /// A dispensed drug with only its date and name.
    pub fn new(dispensed_on: NaiveDate, drug_name: impl Into<String>) -> Self {
        Self {
            dispensed_on,
            pharmacy: None,
            prescriber: None,
            drug_name: drug_name.into(),
            drug_code: None,
            dose: None,
            directions: None,
            days_supplied: None,
            source: None,
            dose_unit: None,
            taken_until: None,
            pharmacist: None,
            prescribing_doctor: None,
            dispensing_id: None,
            notes: Vec::new(),
            jahis_records: Vec::new(),
        }
    }

    /// Where the entry comes from (absent: dispensed).
    pub fn source(&self) -> MedicationSource {
        self.source.unwrap_or(MedicationSource::Dispensed)
    }

    /// The last day this drug is taken, if known: `taken_until`, or the last
    /// day the days supplied cover (the dispensing day counts as the first).
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.taken_until.or_else(|| {
            self.days_supplied
                .and_then(|d| self.dispensed_on.checked_add_days(chrono::Days::new(u64::from(d.max(1)) - 1)))
        })
    }
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
        p.opt_text("dose_unit", &self.dose_unit, MAX_UNIT_CHARS);
        p.opt_text("pharmacist", &self.pharmacist, MAX_NAME_CHARS);
        p.opt_text("prescribing_doctor", &self.prescribing_doctor, MAX_NAME_CHARS);
        if let Some(until) = self.taken_until {
            p.opt_date("taken_until", Some(until));
            if until < self.dispensed_on {
                p.push("taken_until", "must not be before dispensed_on");
            }
        }
        if let Some(id) = &self.dispensing_id {
            let ok = id.len() == DISPENSING_ID_CHARS && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !ok {
                p.push("dispensing_id", format!("must be {DISPENSING_ID_CHARS} lowercase hex characters"));
            }
        }
        if self.notes.len() > MAX_NOTES {
            p.push("notes", format!("at most {MAX_NOTES} notes, got {}", self.notes.len()));
        }
        for (i, n) in self.notes.iter().enumerate() {
            p.text(&format!("notes[{i}].text"), &n.text, MAX_TEXT_CHARS);
            p.opt_date(&format!("notes[{i}].date"), n.date);
            p.opt_text(&format!("notes[{i}].code"), &n.code, MAX_UNIT_CHARS);
        }
        if self.jahis_records.len() > MAX_NOTES {
            p.push("jahis_records", format!("at most {MAX_NOTES} records, got {}", self.jahis_records.len()));
        }
        for (i, r) in self.jahis_records.iter().enumerate() {
            p.text(&format!("jahis_records[{i}]"), r, MAX_JAHIS_RECORD_CHARS);
        }
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
            ..Medication::new(d("2026-03-01"), "")
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
