//! `child_checkup` (乳幼児健診: 1 m, 3–4 m, 6–7 m, 9–10 m, 1 y 6 m, 3 y, and any
//! other visit): body measurements, stored growth-standard scores, the
//! physician's coded findings and overall judgement, and the 3-year items.
//! Derived: age in months on the checkup date and the Kaup index.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{
    age_in_months, coded_enum, round_to, Cm, Kg, Percent, Problems, Quantity, Validate, ValidationContext,
    ValidationErrors,
};
use super::{DatasetModule, RecordKind};

/// Urine strip ordinals are shared with the prenatal visit (same codes −, ±, +, ++, +++).
pub use super::prenatal_visit::UrineStrip;

/// LOINC and JP codes of the items of this module (`docs/dataset.md`).
/// Findings, judgement and 3-year items use local codes (each enum's `code()`).
pub mod codes {
    /// Body weight (LOINC).
    pub const WEIGHT: &str = "29463-7";
    /// Body length, lying (recumbent) (LOINC).
    pub const LENGTH_RECUMBENT: &str = "8306-3";
    /// Body height, standing (LOINC).
    pub const HEIGHT_STANDING: &str = "8302-2";
    /// Head circumference (LOINC).
    pub const HEAD_CIRCUMFERENCE: &str = "9843-4";
    /// Chest circumference (JP code).
    pub const CHEST_CIRCUMFERENCE_JP: &str = "31000299";
    /// Kaup index / 肥満度 (JP code).
    pub const KAUP_INDEX_JP: &str = "31003601";
    /// Head circumference percentile (LOINC).
    pub const HEAD_CIRCUMFERENCE_PERCENTILE: &str = "8289-1";
    /// Weight-for-length percentile (LOINC).
    pub const WEIGHT_FOR_LENGTH_PERCENTILE: &str = "77606-2";
}

/// Weight range accepted, kg.
pub const WEIGHT_KG: (f64, f64) = (0.3, 60.0);
/// Length / height range accepted, cm.
pub const LENGTH_CM: (f64, f64) = (20.0, 180.0);
/// Head circumference range accepted, cm.
pub const HEAD_CIRCUMFERENCE_CM: (f64, f64) = (20.0, 65.0);
/// Chest circumference range accepted, cm.
pub const CHEST_CIRCUMFERENCE_CM: (f64, f64) = (20.0, 120.0);
/// z-scores beyond ±6 are implausible (WHO flags them as errors).
pub const MAX_ABS_Z_SCORE: f64 = 6.0;
/// Longest facility name accepted, in characters.
pub const MAX_FACILITY_CHARS: usize = 200;
/// Longest free-text note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

coded_enum! {
    vocabulary "checkup_type", labels "checkup";
    /// Which checkup this is (local codes).
    pub enum CheckupType {
        /// 1-month checkup (1か月児健診).
        Month1 = "month_1",
        /// 3–4-month checkup.
        Months3To4 = "months_3_4",
        /// 6–7-month checkup.
        Months6To7 = "months_6_7",
        /// 9–10-month checkup.
        Months9To10 = "months_9_10",
        /// 1 year 6 months checkup (1歳6か月児健診).
        Months18 = "months_18",
        /// 3-year checkup (3歳児健診).
        Years3 = "years_3",
        /// Any other visit.
        Other = "other",
    }
}

coded_enum! {
    vocabulary "measurement_position";
    /// How length / height was measured. Below 2 years children are usually
    /// measured lying down.
    pub enum MeasurementPosition {
        /// Lying (LOINC 8306-3).
        Recumbent = "recumbent",
        /// Standing (LOINC 8302-2).
        Standing = "standing",
    }
}

impl MeasurementPosition {
    /// The LOINC code of a length / height measured in this position.
    pub const fn loinc(self) -> &'static str {
        match self {
            MeasurementPosition::Recumbent => codes::LENGTH_RECUMBENT,
            MeasurementPosition::Standing => codes::HEIGHT_STANDING,
        }
    }
}

coded_enum! {
    vocabulary "growth_indicator";
    /// A growth indicator scored against the WHO growth standards.
    pub enum GrowthIndicator {
        /// Weight-for-age.
        WeightForAge = "weight_for_age",
        /// Length/height-for-age.
        LengthForAge = "length_for_age",
        /// Head circumference-for-age (percentile: LOINC 8289-1).
        HeadCircumferenceForAge = "head_circumference_for_age",
        /// Weight-for-length/height (percentile: LOINC 77606-2).
        WeightForLength = "weight_for_length",
    }
}

impl GrowthIndicator {
    /// The LOINC code of this indicator's percentile, where the dataset spec gives one
    /// (the others are local codes).
    pub const fn percentile_loinc(self) -> Option<&'static str> {
        match self {
            GrowthIndicator::HeadCircumferenceForAge => Some(codes::HEAD_CIRCUMFERENCE_PERCENTILE),
            GrowthIndicator::WeightForLength => Some(codes::WEIGHT_FOR_LENGTH_PERCENTILE),
            GrowthIndicator::WeightForAge | GrowthIndicator::LengthForAge => None,
        }
    }
}

/// A stored percentile and/or z-score of one indicator (computed elsewhere,
/// e.g. by the clinic's system). At least one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct GrowthScore {
    /// Which indicator.
    pub indicator: GrowthIndicator,
    /// Percentile, 0–100 %.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<Quantity<Percent>>,
    /// z-score (SD score), −6 to +6.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_score: Option<f64>,
}

coded_enum! {
    vocabulary "finding_result";
    /// The result of one physician finding (local codes).
    pub enum FindingResult {
        /// Examined, nothing of note (異常なし).
        NoFinding = "no_finding",
        /// A finding was noted (所見あり / 要精査), e.g. head control not yet achieved.
        Finding = "finding",
        /// To be followed up (経過観察).
        FollowUp = "follow_up",
        /// Not examined at this visit.
        NotExamined = "not_examined",
    }
}

coded_enum! {
    vocabulary "finding_item";
    /// The physician finding items of the checkups (local codes).
    pub enum FindingItem {
        /// Head control (首のすわり).
        HeadControl = "head_control",
        /// Eye tracking (追視).
        EyeTracking = "eye_tracking",
        /// Strabismus (斜視).
        Strabismus = "strabismus",
        /// Hearing (聴覚).
        Hearing = "hearing",
        /// Heart murmur (心雑音).
        HeartMurmur = "heart_murmur",
        /// Limited hip abduction (股関節開排制限).
        HipAbductionLimit = "hip_abduction_limit",
        /// Undescended testis (停留精巣).
        UndescendedTestis = "undescended_testis",
        /// Naevus / birthmark (母斑).
        Naevus = "naevus",
        /// Signs of maltreatment (不適切な養育の兆候).
        SignsOfMaltreatment = "signs_of_maltreatment",
    }
}

/// The physician's coded findings; each item only when recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct PhysicianFindings {
    /// Head control (首のすわり).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_control: Option<FindingResult>,
    /// Eye tracking (追視).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eye_tracking: Option<FindingResult>,
    /// Strabismus (斜視).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strabismus: Option<FindingResult>,
    /// Hearing (聴覚).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hearing: Option<FindingResult>,
    /// Heart murmur (心雑音).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_murmur: Option<FindingResult>,
    /// Limited hip abduction (股関節開排制限).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hip_abduction_limit: Option<FindingResult>,
    /// Undescended testis (停留精巣).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undescended_testis: Option<FindingResult>,
    /// Naevus / birthmark (母斑).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naevus: Option<FindingResult>,
    /// Signs of maltreatment (不適切な養育の兆候).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_of_maltreatment: Option<FindingResult>,
}

impl PhysicianFindings {
    /// The recorded items with their results, in [`FindingItem::ALL`] order
    /// (what the FHIR mapping turns into one Observation each).
    pub fn recorded(&self) -> Vec<(FindingItem, FindingResult)> {
        FindingItem::ALL.iter().filter_map(|&item| self.get(item).map(|r| (item, r))).collect()
    }

    /// The result recorded for `item`, if any.
    pub fn get(&self, item: FindingItem) -> Option<FindingResult> {
        match item {
            FindingItem::HeadControl => self.head_control,
            FindingItem::EyeTracking => self.eye_tracking,
            FindingItem::Strabismus => self.strabismus,
            FindingItem::Hearing => self.hearing,
            FindingItem::HeartMurmur => self.heart_murmur,
            FindingItem::HipAbductionLimit => self.hip_abduction_limit,
            FindingItem::UndescendedTestis => self.undescended_testis,
            FindingItem::Naevus => self.naevus,
            FindingItem::SignsOfMaltreatment => self.signs_of_maltreatment,
        }
    }

    fn is_empty(&self) -> bool {
        self.recorded().is_empty()
    }
}

coded_enum! {
    vocabulary "overall_judgement";
    /// The physician's overall judgement (local codes).
    pub enum OverallJudgement {
        /// No findings (異常なし).
        NoFindings = "no_findings",
        /// Follow-up (経過観察).
        FollowUp = "follow_up",
        /// Refer for a detailed examination (要精密検査).
        ReferForDetailedExam = "refer_for_detailed_exam",
    }
}

coded_enum! {
    vocabulary "screening_result";
    /// The result of a vision or hearing screening at 3 years (local codes).
    pub enum ScreeningResult {
        /// Passed.
        Pass = "pass",
        /// Did not pass: refer for a detailed examination.
        Refer = "refer",
        /// Attempted but the child could not be tested.
        UnableToTest = "unable_to_test",
        /// Not done.
        NotDone = "not_done",
    }
}

/// The items of the 3-year checkup; only on `years_3` (or `other`) checkups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct ThreeYearItems {
    /// Urine protein (strip).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urine_protein: Option<UrineStrip>,
    /// Urine occult blood (strip).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urine_blood: Option<UrineStrip>,
    /// Vision screening.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<ScreeningResult>,
    /// Hearing screening.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hearing: Option<ScreeningResult>,
}

/// One infant / child health checkup (乳幼児健診).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct ChildCheckup {
    /// Checkup date. Not in the future, not before birth.
    pub date: NaiveDate,
    /// Which checkup.
    pub checkup_type: CheckupType,
    /// Facility (clinic, health centre).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Body weight (LOINC 29463-7), 0.3–60 kg (newborn grams are stored as kg).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Quantity<Kg>>,
    /// Length or height, 20–180 cm; with [`ChildCheckup::length_position`].
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Quantity<Cm>>,
    /// How `length` was measured; required with it.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_position: Option<MeasurementPosition>,
    /// Head circumference (LOINC 9843-4), 20–65 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_circumference: Option<Quantity<Cm>>,
    /// Chest circumference (JP 31000299), 20–120 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chest_circumference: Option<Quantity<Cm>>,
    /// Stored WHO percentiles / z-scores, at most one per indicator.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub growth_scores: Vec<GrowthScore>,
    /// The physician's coded findings.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "PhysicianFindings::is_empty")]
    pub findings: PhysicianFindings,
    /// Overall judgement.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_judgement: Option<OverallJudgement>,
    /// The 3-year checkup items.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_year: Option<ThreeYearItems>,
    /// Free-text note, at most 2,000 characters.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ChildCheckup {
    /// Completed months of age on the checkup date (`None` if before birth).
    pub fn age_in_months(&self, birth_date: NaiveDate) -> Option<u32> {
        age_in_months(birth_date, self.date)
    }

    /// Kaup index = weight (g) / length (cm)² × 10, to one decimal (numerically
    /// kg/m²). `None` unless both are recorded, positive and finite.
    pub fn kaup_index(&self) -> Option<f64> {
        let kg = self.weight?.value;
        let cm = self.length?.value;
        if !(kg.is_finite() && cm.is_finite() && kg > 0.0 && cm > 0.0) {
            return None;
        }
        let kaup = kg * 1000.0 / (cm * cm) * 10.0;
        kaup.is_finite().then(|| round_to(kaup, 1))
    }
}

impl Validate for ChildCheckup {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        p.not_future("date", self.date, ctx.today);
        if let Some(birth) = ctx.birth_date {
            if self.date < birth {
                p.push("date", format!("must not be before the birth date {birth}, got {}", self.date));
            }
        }
        p.opt_text("facility", &self.facility, MAX_FACILITY_CHARS);
        p.opt_quantity("weight", &self.weight, WEIGHT_KG.0, WEIGHT_KG.1);
        p.opt_quantity("length", &self.length, LENGTH_CM.0, LENGTH_CM.1);
        if self.length.is_some() && self.length_position.is_none() {
            p.push("length_position", "is required when length is given");
        }
        if self.length.is_none() && self.length_position.is_some() {
            p.push("length_position", "is only meaningful with a length");
        }
        p.opt_quantity(
            "head_circumference",
            &self.head_circumference,
            HEAD_CIRCUMFERENCE_CM.0,
            HEAD_CIRCUMFERENCE_CM.1,
        );
        p.opt_quantity(
            "chest_circumference",
            &self.chest_circumference,
            CHEST_CIRCUMFERENCE_CM.0,
            CHEST_CIRCUMFERENCE_CM.1,
        );
        for (i, s) in self.growth_scores.iter().enumerate() {
            let path = format!("growth_scores[{i}]");
            if s.percentile.is_none() && s.z_score.is_none() {
                p.push(path.clone(), "needs a percentile or a z_score");
            }
            p.opt_quantity(&format!("{path}.percentile"), &s.percentile, 0.0, 100.0);
            if let Some(z) = s.z_score {
                p.number(&format!("{path}.z_score"), z, -MAX_ABS_Z_SCORE, MAX_ABS_Z_SCORE, "");
            }
            if self.growth_scores[..i].iter().any(|o| o.indicator == s.indicator) {
                p.push(format!("{path}.indicator"), format!("{} appears more than once", s.indicator.code()));
            }
        }
        if self.three_year.is_some() && !matches!(self.checkup_type, CheckupType::Years3 | CheckupType::Other) {
            p.push(
                "three_year",
                format!("3-year items only belong to a years_3 checkup, not {}", self.checkup_type.code()),
            );
        }
        p.opt_text("note", &self.note, MAX_NOTE_CHARS);
        p.finish()
    }
}

impl DatasetModule for ChildCheckup {
    const KIND: RecordKind = RecordKind::ChildCheckup;
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A 9–10-month checkup of a child born 2025-06-10.
    fn checkup() -> ChildCheckup {
        ChildCheckup {
            date: d("2026-03-20"),
            checkup_type: CheckupType::Months9To10,
            facility: Some("みどり小児科".into()),
            weight: Some(Quantity::new(9.0)),
            length: Some(Quantity::new(75.0)),
            length_position: Some(MeasurementPosition::Recumbent),
            head_circumference: Some(Quantity::new(45.0)),
            chest_circumference: Some(Quantity::new(46.0)),
            growth_scores: vec![GrowthScore {
                indicator: GrowthIndicator::WeightForAge,
                percentile: Some(Quantity::new(50.0)),
                z_score: Some(0.0),
            }],
            findings: PhysicianFindings {
                eye_tracking: Some(FindingResult::NoFinding),
                hip_abduction_limit: Some(FindingResult::FollowUp),
                ..PhysicianFindings::default()
            },
            overall_judgement: Some(OverallJudgement::FollowUp),
            three_year: None,
            note: None,
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-04-01")).with_birth_date(d("2025-06-10"))
    }

    #[test]
    fn a_complete_checkup_is_valid_and_dated_by_its_date() {
        let c = checkup();
        assert_eq!(c.validate(&ctx()), Ok(()));
        assert_eq!(c.effective_date(), Some(d("2026-03-20")));
        assert_eq!(ChildCheckup::KIND, RecordKind::ChildCheckup);
    }

    #[test]
    fn kaup_index_of_9kg_75cm_is_16_0() {
        // 9000 g / (75 cm)² × 10 = 9000 / 5625 × 10 = 16.0
        assert_eq!(checkup().kaup_index(), Some(16.0));
    }

    #[test]
    fn kaup_index_is_rounded_to_one_decimal() {
        let mut c = checkup();
        c.weight = Some(Quantity::new(10.0));
        c.length = Some(Quantity::new(80.0));
        // 10000 / 6400 × 10 = 15.625 -> 15.6
        assert_eq!(c.kaup_index(), Some(15.6));
    }

    #[test]
    fn kaup_index_needs_weight_and_a_positive_length() {
        let mut c = checkup();
        c.weight = None;
        assert_eq!(c.kaup_index(), None);
        let mut c = checkup();
        c.length = Some(Quantity::new(0.0));
        assert_eq!(c.kaup_index(), None);
    }

    #[test]
    fn age_in_months_counts_completed_months_from_birth() {
        // 2025-06-10 -> 2026-03-20: 9 completed months.
        assert_eq!(checkup().age_in_months(d("2025-06-10")), Some(9));
        assert_eq!(checkup().age_in_months(d("2026-04-01")), None);
    }

    #[test]
    fn checkup_dated_before_birth_is_rejected() {
        let mut c = checkup();
        c.date = d("2025-06-09");
        assert!(c.validate(&ctx()).unwrap_err().mentions("date"));
    }

    #[test]
    fn checkup_in_the_future_is_rejected() {
        let mut c = checkup();
        c.date = d("2026-04-02");
        assert!(c.validate(&ctx()).unwrap_err().mentions("date"));
    }

    #[test]
    fn measurements_outside_their_ranges_are_rejected_with_their_paths() {
        let mut c = checkup();
        c.weight = Some(Quantity::new(0.29));
        c.length = Some(Quantity::new(181.0));
        c.head_circumference = Some(Quantity::new(66.0));
        c.chest_circumference = Some(Quantity::new(19.0));
        let errs = c.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 4, "{errs}");
        for path in ["weight", "length", "head_circumference", "chest_circumference"] {
            assert!(errs.mentions(path), "{path}: {errs}");
        }
        let mut c = checkup();
        c.weight = Some(Quantity::new(60.0));
        c.head_circumference = Some(Quantity::new(20.0));
        assert_eq!(c.validate(&ctx()), Ok(()));
    }

    #[test]
    fn length_needs_its_measurement_position() {
        let mut c = checkup();
        c.length_position = None;
        assert!(c.validate(&ctx()).unwrap_err().mentions("length_position"));
        assert_eq!(MeasurementPosition::Recumbent.loinc(), "8306-3");
        assert_eq!(MeasurementPosition::Standing.loinc(), "8302-2");
    }

    #[test]
    fn growth_scores_are_range_checked_and_unique_per_indicator() {
        let mut c = checkup();
        c.growth_scores.push(GrowthScore {
            indicator: GrowthIndicator::WeightForAge,
            percentile: Some(Quantity::new(101.0)),
            z_score: Some(-7.0),
        });
        c.growth_scores.push(GrowthScore { indicator: GrowthIndicator::LengthForAge, percentile: None, z_score: None });
        let errs = c.validate(&ctx()).unwrap_err();
        assert!(errs.mentions("growth_scores[1].percentile"), "{errs}");
        assert!(errs.mentions("growth_scores[1].z_score"), "{errs}");
        assert!(errs.mentions("growth_scores[1].indicator"), "{errs}");
        assert!(errs.mentions("growth_scores[2]"), "{errs}");
        assert!(!errs.mentions("growth_scores[0]"), "{errs}");
    }

    #[test]
    fn three_year_items_on_an_infant_checkup_are_rejected() {
        let mut c = checkup();
        c.three_year = Some(ThreeYearItems { urine_protein: Some(UrineStrip::Negative), ..ThreeYearItems::default() });
        assert!(c.validate(&ctx()).unwrap_err().mentions("three_year"));
        c.checkup_type = CheckupType::Years3;
        assert_eq!(c.validate(&ctx()), Ok(()));
    }

    #[test]
    fn findings_list_the_recorded_items_with_local_codes() {
        let f = checkup().findings;
        assert_eq!(
            f.recorded(),
            vec![
                (FindingItem::EyeTracking, FindingResult::NoFinding),
                (FindingItem::HipAbductionLimit, FindingResult::FollowUp)
            ]
        );
        assert_eq!(FindingItem::SignsOfMaltreatment.code(), "signs_of_maltreatment");
        assert_eq!(OverallJudgement::ReferForDetailedExam.code(), "refer_for_detailed_exam");
        assert_eq!(GrowthIndicator::WeightForLength.percentile_loinc(), Some("77606-2"));
        assert_eq!(UrineStrip::Trace.symbol(), "±");
    }

    #[test]
    fn json_is_snake_case_and_round_trips() {
        let c = checkup();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["checkup_type"], "months_9_10");
        assert_eq!(json["weight"], serde_json::json!({"value": 9.0, "unit": "kg"}));
        assert_eq!(json["length_position"], "recumbent");
        assert_eq!(json["findings"]["hip_abduction_limit"], "follow_up");
        assert!(json.get("three_year").is_none());
        assert_eq!(serde_json::from_value::<ChildCheckup>(json).unwrap(), c);
        // A minimal checkup: date and type only.
        let min: ChildCheckup = serde_json::from_str(r#"{"date":"2026-03-20","checkup_type":"other"}"#).unwrap();
        assert_eq!(serde_json::to_string(&min).unwrap(), r#"{"date":"2026-03-20","checkup_type":"other"}"#);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(checkup()).unwrap();
        json["bmi"] = serde_json::json!(16);
        assert!(serde_json::from_value::<ChildCheckup>(json).is_err());
        let nested = r#"{"date":"2026-03-20","checkup_type":"other","findings":{"reflexes":"finding"}}"#;
        assert!(serde_json::from_str::<ChildCheckup>(nested).is_err());
    }

    #[test]
    fn weight_in_grams_is_refused() {
        let json = r#"{"date":"2026-03-20","checkup_type":"other","weight":{"value":9000,"unit":"g"}}"#;
        assert!(serde_json::from_str::<ChildCheckup>(json).is_err());
    }
}
