//! `prenatal_visit` (妊婦健診, many per pregnancy): what one checkup recorded.
//! Every item but the visit date is optional: a visit records what was done.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{
    coded_enum, Cm, GPerDl, GestationalAge, Kg, MmHg, PerMin, Percent, Problems, Quantity, ThousandPerUl, Validate,
    ValidationContext, ValidationErrors,
};
use super::{DatasetModule, RecordKind};

/// LOINC codes of the items of this module (`docs/dataset.md`). Items marked
/// "local" there (dental) and FHIR resources (Encounter, Condition) have none.
pub mod codes {
    /// Gestational age.
    pub const GESTATIONAL_AGE: &str = "18185-9";
    /// Gestational age, obstetric estimate.
    pub const GESTATIONAL_AGE_OBSTETRIC_ESTIMATE: &str = "57714-8";
    /// Body weight.
    pub const BODY_WEIGHT: &str = "29463-7";
    /// Blood pressure panel.
    pub const BLOOD_PRESSURE_PANEL: &str = "85354-9";
    /// Systolic blood pressure.
    pub const SYSTOLIC: &str = "8480-6";
    /// Diastolic blood pressure.
    pub const DIASTOLIC: &str = "8462-4";
    /// Fundal height.
    pub const FUNDAL_HEIGHT: &str = "11881-0";
    /// Abdominal girth.
    pub const ABDOMINAL_GIRTH: &str = "8280-0";
    /// Edema.
    pub const EDEMA: &str = "45700-2";
    /// Urine protein, test strip.
    pub const URINE_PROTEIN: &str = "5804-0";
    /// Urine glucose, test strip.
    pub const URINE_GLUCOSE: &str = "5792-7";
    /// Fetal heart rate.
    pub const FETAL_HEART_RATE: &str = "55283-6";
    /// Fetal presentation.
    pub const FETAL_PRESENTATION: &str = "72155-5";
    /// Hemoglobin.
    pub const HEMOGLOBIN: &str = "718-7";
    /// Hematocrit.
    pub const HEMATOCRIT: &str = "20570-8";
    /// Platelets.
    pub const PLATELETS: &str = "26515-7";
    /// Hepatitis B surface antigen.
    pub const HBS_AG: &str = "5196-1";
    /// Cervical cytology (last code of the infection screen row; the codes of
    /// HCV Ab, rubella Ab, HTLV-1 and GBS are elided in the dataset spec and belong there first).
    pub const CERVICAL_CYTOLOGY: &str = "24020-0";
    /// Hypertensive disorder of pregnancy.
    pub const HYPERTENSIVE_DISORDER: &str = "58297-3";
}

/// Longest clinic name accepted, in characters.
pub const MAX_CLINIC_NAME_CHARS: usize = 200;
/// Longest clinic id accepted, in characters.
pub const MAX_CLINIC_ID_CHARS: usize = 64;
/// Longest clinic note accepted, in characters (not bytes).
pub const MAX_NOTE_CHARS: usize = 2_000;

coded_enum! {
    vocabulary "edema";
    /// Edema (LOINC 45700-2), ordinal −, +, ++ (ordered: `Negative < TwoPlus`).
    #[derive(PartialOrd, Ord)]
    pub enum Edema {
        /// − (none).
        Negative = "negative",
        /// + (mild, pitting at the shin).
        OnePlus = "one_plus",
        /// ++ (marked / generalised).
        TwoPlus = "two_plus",
    }
}

impl Edema {
    /// The handbook symbol: `−`, `+`, `++`.
    pub const fn symbol(self) -> &'static str {
        match self {
            Edema::Negative => "−",
            Edema::OnePlus => "+",
            Edema::TwoPlus => "++",
        }
    }
}

coded_enum! {
    vocabulary "urine_strip";
    /// Urine test-strip ordinal −, ±, +, ++, +++ (protein 5804-0, glucose 5792-7),
    /// ordered from `Negative` to `ThreePlus`.
    #[derive(PartialOrd, Ord)]
    pub enum UrineStrip {
        /// − (negative).
        Negative = "negative",
        /// ± (trace).
        Trace = "trace",
        /// +.
        OnePlus = "one_plus",
        /// ++.
        TwoPlus = "two_plus",
        /// +++.
        ThreePlus = "three_plus",
    }
}

impl UrineStrip {
    /// The handbook symbol: `−`, `±`, `+`, `++`, `+++`.
    pub const fn symbol(self) -> &'static str {
        match self {
            UrineStrip::Negative => "−",
            UrineStrip::Trace => "±",
            UrineStrip::OnePlus => "+",
            UrineStrip::TwoPlus => "++",
            UrineStrip::ThreePlus => "+++",
        }
    }
}

coded_enum! {
    vocabulary "fetal_presentation";
    /// Fetal presentation (LOINC 72155-5).
    pub enum FetalPresentation {
        /// Head first (頭位).
        Cephalic = "cephalic",
        /// Breech (骨盤位).
        Breech = "breech",
        /// Transverse lie (横位).
        Transverse = "transverse",
        /// Oblique lie (斜位).
        Oblique = "oblique",
    }
}

coded_enum! {
    vocabulary "screen_result";
    /// Result of a qualitative infection screen (HBsAg, HCV Ab, HTLV-1 Ab, GBS).
    pub enum ScreenResult {
        /// Negative / not detected.
        Negative = "negative",
        /// Positive / detected.
        Positive = "positive",
        /// Indeterminate (判定保留), needs a confirmatory test.
        Indeterminate = "indeterminate",
    }
}

coded_enum! {
    vocabulary "rubella_immunity";
    /// Rubella antibody (HI titre) in the bands Japanese prenatal care acts on.
    pub enum RubellaImmunity {
        /// HI below 1:8: not immune.
        NonImmune = "non_immune",
        /// HI 1:8–1:16: low titre, vaccinate after delivery.
        LowTiter = "low_titer",
        /// HI 1:32 or more: immune.
        Immune = "immune",
    }
}

coded_enum! {
    vocabulary "cervical_cytology";
    /// Cervical cytology result, Bethesda system categories (LOINC 24020-0).
    pub enum CervicalCytology {
        /// Negative for intraepithelial lesion or malignancy.
        Nilm = "nilm",
        /// Atypical squamous cells of undetermined significance.
        AscUs = "asc_us",
        /// Atypical squamous cells, cannot exclude HSIL.
        AscH = "asc_h",
        /// Low-grade squamous intraepithelial lesion.
        Lsil = "lsil",
        /// High-grade squamous intraepithelial lesion.
        Hsil = "hsil",
        /// Squamous cell carcinoma.
        Scc = "scc",
        /// Atypical glandular cells.
        Agc = "agc",
        /// Adenocarcinoma in situ.
        Ais = "ais",
        /// Adenocarcinoma.
        Adenocarcinoma = "adenocarcinoma",
        /// Other malignant neoplasm.
        Other = "other",
    }
}

/// Blood pressure (panel LOINC 85354-9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct BloodPressure {
    /// Systolic (LOINC 8480-6), 50–260 `mm[Hg]`.
    pub systolic: Quantity<MmHg>,
    /// Diastolic (LOINC 8462-4), 30–160 `mm[Hg]` and below the systolic.
    pub diastolic: Quantity<MmHg>,
}

/// Blood tests, when done at this visit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Labs {
    /// Hemoglobin (LOINC 718-7), 3–25 g/dL.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hemoglobin: Option<Quantity<GPerDl>>,
    /// Hematocrit (LOINC 20570-8), 10–70 %.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hematocrit: Option<Quantity<Percent>>,
    /// Platelets (LOINC 26515-7), 1–1,500 10*3/uL.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platelets: Option<Quantity<ThousandPerUl>>,
}

/// Infection screens and cervical cytology, when done at this visit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct InfectionScreens {
    /// Hepatitis B surface antigen (LOINC 5196-1).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbs_ag: Option<ScreenResult>,
    /// Hepatitis C antibody (code elided in the dataset spec).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcv_antibody: Option<ScreenResult>,
    /// Rubella antibody (code elided in the dataset spec).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rubella_antibody: Option<RubellaImmunity>,
    /// HTLV-1 antibody (code elided in the dataset spec).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htlv1_antibody: Option<ScreenResult>,
    /// Group B streptococcus culture (code elided in the dataset spec).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbs: Option<ScreenResult>,
    /// Cervical cytology (LOINC 24020-0).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cervical_cytology: Option<CervicalCytology>,
}

/// Dental checkup of the mother (local codes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Dental {
    /// Number of untreated carious teeth, 0–32 (local).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caries_count: Option<u8>,
    /// Dental calculus present (local).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculus: Option<bool>,
    /// Gingivitis present (local).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gingivitis: Option<bool>,
}

/// One prenatal checkup (妊婦健診).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct PrenatalVisit {
    /// Date of the visit (FHIR Encounter). Not in the future; inside the
    /// pregnancy (from its start to its outcome date, else to EDD + 6 weeks).
    pub visit_date: NaiveDate,
    /// Name of the clinic (FHIR Organization), ≤ 200 chars.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinic_name: Option<String>,
    /// Identifier of the clinic (e.g. medical institution code), ≤ 64 chars.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinic_id: Option<String>,
    /// Gestational age at the visit (LOINC 18185-9; obstetric estimate 57714-8),
    /// 0–45 weeks + 0–6 days, within 14 days of the age the pregnancy's EDD gives.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gestational_age: Option<GestationalAge>,
    /// Body weight (LOINC 29463-7), 25–200 kg.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_weight: Option<Quantity<Kg>>,
    /// Blood pressure (panel 85354-9: 8480-6 / 8462-4).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_pressure: Option<BloodPressure>,
    /// Fundal height (LOINC 11881-0), 0–50 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fundal_height: Option<Quantity<Cm>>,
    /// Abdominal girth (LOINC 8280-0), 40–200 cm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abdominal_girth: Option<Quantity<Cm>>,
    /// Edema (LOINC 45700-2), −/+/++.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edema: Option<Edema>,
    /// Urine protein by strip (LOINC 5804-0), −/±/+/++/+++.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urine_protein: Option<UrineStrip>,
    /// Urine glucose by strip (LOINC 5792-7), −/±/+/++/+++.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urine_glucose: Option<UrineStrip>,
    /// Fetal heart rate (LOINC 55283-6), 50–240 /min.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetal_heart_rate: Option<Quantity<PerMin>>,
    /// Fetal presentation (LOINC 72155-5).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetal_presentation: Option<FetalPresentation>,
    /// Blood tests, when done (718-7, 20570-8, 26515-7).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labs: Option<Labs>,
    /// Infection screens and cervical cytology, when done (5196-1, …, 24020-0).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infection_screens: Option<InfectionScreens>,
    /// Hypertensive disorder of pregnancy diagnosed (LOINC 58297-3).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypertensive_disorder: Option<bool>,
    /// Gestational diabetes diagnosed (FHIR Condition).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gestational_diabetes: Option<bool>,
    /// Dental checkup (local codes).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dental: Option<Dental>,
    /// Free-text note from the clinic, ≤ 2,000 characters.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl PrenatalVisit {
    /// A visit on `visit_date` with nothing else recorded yet.
    pub fn new(visit_date: NaiveDate) -> Self {
        PrenatalVisit {
            visit_date,
            clinic_name: None,
            clinic_id: None,
            gestational_age: None,
            body_weight: None,
            blood_pressure: None,
            fundal_height: None,
            abdominal_girth: None,
            edema: None,
            urine_protein: None,
            urine_glucose: None,
            fetal_heart_rate: None,
            fetal_presentation: None,
            labs: None,
            infection_screens: None,
            hypertensive_disorder: None,
            gestational_diabetes: None,
            dental: None,
            note: None,
        }
    }
}

impl BloodPressure {
    fn check(&self, p: &mut Problems) {
        p.quantity("blood_pressure.systolic", &self.systolic, 50.0, 260.0);
        p.quantity("blood_pressure.diastolic", &self.diastolic, 30.0, 160.0);
        let (sys, dia) = (self.systolic.value, self.diastolic.value);
        if sys.is_finite() && dia.is_finite() && dia >= sys {
            p.push(
                "blood_pressure.diastolic",
                format!("must be below the systolic pressure ({sys} mm[Hg]), got {dia} mm[Hg]"),
            );
        }
    }
}

impl Labs {
    fn check(&self, p: &mut Problems) {
        p.opt_quantity("labs.hemoglobin", &self.hemoglobin, 3.0, 25.0);
        p.opt_quantity("labs.hematocrit", &self.hematocrit, 10.0, 70.0);
        p.opt_quantity("labs.platelets", &self.platelets, 1.0, 1_500.0);
    }
}

impl Validate for PrenatalVisit {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();

        p.not_future("visit_date", self.visit_date, ctx.today);
        p.opt_text("clinic_name", &self.clinic_name, MAX_CLINIC_NAME_CHARS);
        p.opt_text("clinic_id", &self.clinic_id, MAX_CLINIC_ID_CHARS);
        if let Some(ga) = &self.gestational_age {
            ga.check("gestational_age", &mut p);
        }

        p.opt_quantity("body_weight", &self.body_weight, 25.0, 200.0);
        if let Some(bp) = &self.blood_pressure {
            bp.check(&mut p);
        }
        p.opt_quantity("fundal_height", &self.fundal_height, 0.0, 50.0);
        p.opt_quantity("abdominal_girth", &self.abdominal_girth, 40.0, 200.0);
        p.opt_quantity("fetal_heart_rate", &self.fetal_heart_rate, 50.0, 240.0);
        if let Some(labs) = &self.labs {
            labs.check(&mut p);
        }
        if let Some(dental) = &self.dental {
            p.opt_integer("dental.caries_count", dental.caries_count, 0, 32);
        }
        p.opt_text("note", &self.note, MAX_NOTE_CHARS);

        if let Some(pregnancy) = ctx.pregnancy {
            pregnancy.check_date_inside("visit_date", self.visit_date, &mut p);
            if let Some(ga) = self.gestational_age {
                pregnancy.check_gestational_age("gestational_age", self.visit_date, ga, &mut p);
            }
        }

        p.finish()
    }
}

impl DatasetModule for PrenatalVisit {
    const KIND: RecordKind = RecordKind::PrenatalVisit;
    /// The visit date.
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.visit_date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::pregnancy::{Pregnancy, PregnancyStatus};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// LMP 2026-01-01, EDD 2026-10-08 (LMP + 280), ongoing.
    fn pregnancy() -> Pregnancy {
        Pregnancy {
            last_menstrual_period: Some(d("2026-01-01")),
            estimated_delivery_date: Some(d("2026-10-08")),
            number_of_fetuses: Some(1),
            status: PregnancyStatus::Ongoing,
            outcome_date: None,
        }
    }

    /// Everything recorded. 2026-01-01 -> 2026-04-02 is 31 + 28 + 31 + 1 = 91 days = 13w0d.
    fn full_visit() -> PrenatalVisit {
        PrenatalVisit {
            visit_date: d("2026-04-02"),
            clinic_name: Some("さくら産婦人科".into()),
            clinic_id: Some("1312345678".into()),
            gestational_age: Some(GestationalAge::new(13, 0)),
            body_weight: Some(Quantity::new(54.2)),
            blood_pressure: Some(BloodPressure { systolic: Quantity::new(112.0), diastolic: Quantity::new(70.0) }),
            fundal_height: Some(Quantity::new(12.0)),
            abdominal_girth: Some(Quantity::new(78.5)),
            edema: Some(Edema::Negative),
            urine_protein: Some(UrineStrip::Trace),
            urine_glucose: Some(UrineStrip::Negative),
            fetal_heart_rate: Some(Quantity::new(152.0)),
            fetal_presentation: Some(FetalPresentation::Cephalic),
            labs: Some(Labs {
                hemoglobin: Some(Quantity::new(11.8)),
                hematocrit: Some(Quantity::new(35.4)),
                platelets: Some(Quantity::new(245.0)),
            }),
            infection_screens: Some(InfectionScreens {
                hbs_ag: Some(ScreenResult::Negative),
                hcv_antibody: Some(ScreenResult::Negative),
                rubella_antibody: Some(RubellaImmunity::LowTiter),
                htlv1_antibody: Some(ScreenResult::Negative),
                gbs: None,
                cervical_cytology: Some(CervicalCytology::Nilm),
            }),
            hypertensive_disorder: Some(false),
            gestational_diabetes: Some(false),
            dental: Some(Dental { caries_count: Some(1), calculus: Some(true), gingivitis: Some(false) }),
            note: Some("次回は4週間後。".into()),
        }
    }

    fn today() -> NaiveDate {
        d("2026-05-01")
    }

    fn errors(v: &PrenatalVisit, preg: Option<&Pregnancy>) -> ValidationErrors {
        let mut ctx = ValidationContext::new(today());
        ctx.pregnancy = preg;
        v.validate(&ctx).expect_err("expected validation problems")
    }

    fn paths(errs: &ValidationErrors) -> Vec<&str> {
        errs.issues().iter().map(|i| i.path.as_str()).collect()
    }

    fn bp(sys: f64, dia: f64) -> Option<BloodPressure> {
        Some(BloodPressure { systolic: Quantity::new(sys), diastolic: Quantity::new(dia) })
    }

    #[test]
    fn a_fully_filled_visit_inside_its_pregnancy_passes() {
        let preg = pregnancy();
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        assert_eq!(full_visit().validate(&ctx), Ok(()));
    }

    #[test]
    fn a_visit_with_only_its_date_passes() {
        let preg = pregnancy();
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        assert_eq!(PrenatalVisit::new(d("2026-04-02")).validate(&ctx), Ok(()));
    }

    #[test]
    fn systolic_above_260_is_rejected_with_its_path() {
        let v = PrenatalVisit { blood_pressure: bp(261.0, 90.0), ..full_visit() };
        let errs = errors(&v, None);
        assert_eq!(paths(&errs), ["blood_pressure.systolic"], "{errs}");
        assert!(errs.issues()[0].reason.contains("50–260 mm[Hg]"), "{errs}");
        let limit = PrenatalVisit { blood_pressure: bp(260.0, 90.0), ..full_visit() };
        assert_eq!(limit.validate(&ValidationContext::new(today())), Ok(()));
    }

    #[test]
    fn diastolic_outside_30_160_is_rejected_with_its_path() {
        let low = PrenatalVisit { blood_pressure: bp(120.0, 29.0), ..full_visit() };
        assert_eq!(paths(&errors(&low, None)), ["blood_pressure.diastolic"]);
        let high = PrenatalVisit { blood_pressure: bp(200.0, 161.0), ..full_visit() };
        assert_eq!(paths(&errors(&high, None)), ["blood_pressure.diastolic"]);
    }

    #[test]
    fn diastolic_not_below_systolic_is_rejected() {
        let equal = PrenatalVisit { blood_pressure: bp(100.0, 100.0), ..full_visit() };
        let errs = errors(&equal, None);
        assert_eq!(paths(&errs), ["blood_pressure.diastolic"], "{errs}");
        assert!(errs.issues()[0].reason.contains("below the systolic"), "{errs}");
        let swapped = PrenatalVisit { blood_pressure: bp(80.0, 120.0), ..full_visit() };
        assert_eq!(paths(&errors(&swapped, None)), ["blood_pressure.diastolic"]);
    }

    #[test]
    fn each_measurement_outside_its_range_is_rejected_with_its_path() {
        let cases: Vec<(PrenatalVisit, &str)> = vec![
            (PrenatalVisit { body_weight: Some(Quantity::new(24.9)), ..full_visit() }, "body_weight"),
            (PrenatalVisit { body_weight: Some(Quantity::new(200.1)), ..full_visit() }, "body_weight"),
            (PrenatalVisit { fundal_height: Some(Quantity::new(-0.5)), ..full_visit() }, "fundal_height"),
            (PrenatalVisit { fundal_height: Some(Quantity::new(50.5)), ..full_visit() }, "fundal_height"),
            (PrenatalVisit { abdominal_girth: Some(Quantity::new(250.0)), ..full_visit() }, "abdominal_girth"),
            (PrenatalVisit { fetal_heart_rate: Some(Quantity::new(49.0)), ..full_visit() }, "fetal_heart_rate"),
            (PrenatalVisit { fetal_heart_rate: Some(Quantity::new(241.0)), ..full_visit() }, "fetal_heart_rate"),
            (
                PrenatalVisit {
                    labs: Some(Labs { hemoglobin: Some(Quantity::new(2.9)), ..Labs::default() }),
                    ..full_visit()
                },
                "labs.hemoglobin",
            ),
            (
                PrenatalVisit {
                    labs: Some(Labs { hemoglobin: Some(Quantity::new(25.1)), ..Labs::default() }),
                    ..full_visit()
                },
                "labs.hemoglobin",
            ),
            (
                PrenatalVisit {
                    labs: Some(Labs { hematocrit: Some(Quantity::new(75.0)), ..Labs::default() }),
                    ..full_visit()
                },
                "labs.hematocrit",
            ),
            (
                PrenatalVisit {
                    labs: Some(Labs { platelets: Some(Quantity::new(0.5)), ..Labs::default() }),
                    ..full_visit()
                },
                "labs.platelets",
            ),
            (
                PrenatalVisit { dental: Some(Dental { caries_count: Some(33), ..Dental::default() }), ..full_visit() },
                "dental.caries_count",
            ),
        ];
        for (visit, path) in cases {
            let errs = errors(&visit, None);
            assert_eq!(paths(&errs), [path], "{errs}");
        }
    }

    #[test]
    fn range_limits_themselves_are_accepted() {
        let v = PrenatalVisit {
            body_weight: Some(Quantity::new(25.0)),
            blood_pressure: bp(50.0, 30.0),
            fundal_height: Some(Quantity::new(0.0)),
            fetal_heart_rate: Some(Quantity::new(240.0)),
            labs: Some(Labs { hemoglobin: Some(Quantity::new(3.0)), ..Labs::default() }),
            ..full_visit()
        };
        assert_eq!(v.validate(&ValidationContext::new(today())), Ok(()));
    }

    #[test]
    fn a_non_finite_measurement_is_rejected_not_accepted() {
        let v = PrenatalVisit {
            body_weight: Some(Quantity::new(f64::NAN)),
            blood_pressure: bp(f64::INFINITY, 70.0),
            ..full_visit()
        };
        let errs = errors(&v, None);
        assert_eq!(paths(&errs), ["body_weight", "blood_pressure.systolic"], "{errs}");
    }

    #[test]
    fn gestational_age_of_46_weeks_or_7_days_is_rejected() {
        let v = PrenatalVisit { gestational_age: Some(GestationalAge::new(46, 7)), ..full_visit() };
        let errs = errors(&v, None);
        assert_eq!(paths(&errs), ["gestational_age.weeks", "gestational_age.days"], "{errs}");
    }

    #[test]
    fn visit_in_the_future_is_rejected() {
        let v = PrenatalVisit { gestational_age: None, visit_date: d("2026-05-02"), ..full_visit() };
        assert_eq!(paths(&errors(&v, None)), ["visit_date"]);
    }

    #[test]
    fn visit_before_the_pregnancy_started_is_rejected() {
        let preg = pregnancy();
        let v = PrenatalVisit::new(d("2025-12-31"));
        let errs = errors(&v, Some(&preg));
        assert_eq!(paths(&errs), ["visit_date"], "{errs}");
        assert!(errs.issues()[0].reason.contains("2026-01-01"), "{errs}");
    }

    #[test]
    fn visit_after_the_outcome_date_is_rejected() {
        let preg =
            Pregnancy { status: PregnancyStatus::Miscarriage, outcome_date: Some(d("2026-03-10")), ..pregnancy() };
        let errs = errors(&PrenatalVisit::new(d("2026-03-11")), Some(&preg));
        assert_eq!(paths(&errs), ["visit_date"], "{errs}");
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        assert_eq!(PrenatalVisit::new(d("2026-03-10")).validate(&ctx), Ok(()));
    }

    #[test]
    fn visit_more_than_6_weeks_after_the_edd_is_rejected() {
        // EDD 2026-10-08 + 42 days = 2026-11-19 (23 days to Oct 31, 19 in November).
        let preg = pregnancy();
        let ctx = ValidationContext::new(d("2027-01-01")).with_pregnancy(&preg);
        let late = PrenatalVisit::new(d("2026-11-20"));
        assert_eq!(paths(&late.validate(&ctx).unwrap_err()), ["visit_date"]);
        assert_eq!(PrenatalVisit::new(d("2026-11-19")).validate(&ctx), Ok(()));
    }

    #[test]
    fn without_a_pregnancy_in_the_context_no_pregnancy_window_is_checked() {
        let v =
            PrenatalVisit { gestational_age: Some(GestationalAge::new(30, 0)), ..PrenatalVisit::new(d("2020-01-01")) };
        assert_eq!(v.validate(&ValidationContext::new(today())), Ok(()));
    }

    #[test]
    fn gestational_age_more_than_14_days_off_the_edd_is_rejected() {
        // On 2026-04-02 the EDD gives 13w0d (91 days). 15w1d = 106 days: 15 days off.
        let preg = pregnancy();
        let v = PrenatalVisit { gestational_age: Some(GestationalAge::new(15, 1)), ..full_visit() };
        let errs = errors(&v, Some(&preg));
        assert_eq!(paths(&errs), ["gestational_age"], "{errs}");
        assert!(errs.issues()[0].reason.contains("13w0d"), "{errs}");
        // 11w0d = 77 days: 14 days off, accepted; 10w6d = 76 days: 15 days off, rejected.
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        let edge = PrenatalVisit { gestational_age: Some(GestationalAge::new(11, 0)), ..full_visit() };
        assert_eq!(edge.validate(&ctx), Ok(()));
        let under = PrenatalVisit { gestational_age: Some(GestationalAge::new(10, 6)), ..full_visit() };
        assert_eq!(paths(&errors(&under, Some(&preg))), ["gestational_age"]);
    }

    #[test]
    fn note_of_2000_characters_passes_and_2001_is_rejected() {
        // Counted in characters, not bytes: 2,000 kana are 6,000 bytes of UTF-8.
        let ok = PrenatalVisit { note: Some("あ".repeat(2_000)), ..full_visit() };
        assert_eq!(ok.validate(&ValidationContext::new(today())), Ok(()));
        let long = PrenatalVisit { note: Some("あ".repeat(2_001)), ..full_visit() };
        assert_eq!(paths(&errors(&long, None)), ["note"]);
    }

    #[test]
    fn all_problems_are_reported_not_only_the_first() {
        let preg = pregnancy();
        let v = PrenatalVisit {
            visit_date: d("2025-12-01"),
            gestational_age: Some(GestationalAge::new(40, 9)),
            body_weight: Some(Quantity::new(300.0)),
            blood_pressure: bp(300.0, 200.0),
            fetal_heart_rate: Some(Quantity::new(20.0)),
            labs: Some(Labs { hemoglobin: Some(Quantity::new(40.0)), ..Labs::default() }),
            clinic_name: Some("x".repeat(201)),
            ..full_visit()
        };
        let errs = errors(&v, Some(&preg));
        assert_eq!(
            paths(&errs),
            [
                "clinic_name",
                "gestational_age.days",
                "body_weight",
                "blood_pressure.systolic",
                "blood_pressure.diastolic",
                "fetal_heart_rate",
                "labs.hemoglobin",
                "visit_date",
            ],
            "{errs}"
        );
    }

    #[test]
    fn effective_date_is_the_visit_date() {
        assert_eq!(full_visit().effective_date(), Some(d("2026-04-02")));
        assert_eq!(PrenatalVisit::KIND, RecordKind::PrenatalVisit);
    }

    #[test]
    fn json_round_trip_is_stable_snake_case() {
        let v = full_visit();
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "visit_date": "2026-04-02",
                "clinic_name": "さくら産婦人科",
                "clinic_id": "1312345678",
                "gestational_age": {"weeks": 13, "days": 0},
                "body_weight": {"value": 54.2, "unit": "kg"},
                "blood_pressure": {
                    "systolic": {"value": 112.0, "unit": "mm[Hg]"},
                    "diastolic": {"value": 70.0, "unit": "mm[Hg]"}
                },
                "fundal_height": {"value": 12.0, "unit": "cm"},
                "abdominal_girth": {"value": 78.5, "unit": "cm"},
                "edema": "negative",
                "urine_protein": "trace",
                "urine_glucose": "negative",
                "fetal_heart_rate": {"value": 152.0, "unit": "/min"},
                "fetal_presentation": "cephalic",
                "labs": {
                    "hemoglobin": {"value": 11.8, "unit": "g/dL"},
                    "hematocrit": {"value": 35.4, "unit": "%"},
                    "platelets": {"value": 245.0, "unit": "10*3/uL"}
                },
                "infection_screens": {
                    "hbs_ag": "negative",
                    "hcv_antibody": "negative",
                    "rubella_antibody": "low_titer",
                    "htlv1_antibody": "negative",
                    "cervical_cytology": "nilm"
                },
                "hypertensive_disorder": false,
                "gestational_diabetes": false,
                "dental": {"caries_count": 1, "calculus": true, "gingivitis": false},
                "note": "次回は4週間後。"
            })
        );
        assert_eq!(serde_json::from_value::<PrenatalVisit>(json).unwrap(), v);
        assert_eq!(
            serde_json::to_string(&PrenatalVisit::new(d("2026-04-02"))).unwrap(),
            r#"{"visit_date":"2026-04-02"}"#
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        for json in [
            r#"{"visit_date":"2026-04-02","weight":{"value":54.2,"unit":"kg"}}"#,
            r#"{"visit_date":"2026-04-02","labs":{"hb":{"value":11.8,"unit":"g/dL"}}}"#,
            r#"{"visit_date":"2026-04-02","dental":{"caries":1}}"#,
        ] {
            let err = serde_json::from_str::<PrenatalVisit>(json).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{json}: {err}");
        }
    }

    #[test]
    fn a_weight_in_grams_is_refused_where_kilograms_are_expected() {
        let json = r#"{"visit_date":"2026-04-02","body_weight":{"value":54200,"unit":"g"}}"#;
        assert!(serde_json::from_str::<PrenatalVisit>(json).is_err());
    }

    #[test]
    fn ordinals_keep_their_clinical_order_and_handbook_symbols() {
        assert!(UrineStrip::Negative < UrineStrip::Trace && UrineStrip::TwoPlus < UrineStrip::ThreePlus);
        assert!(Edema::Negative < Edema::OnePlus && Edema::OnePlus < Edema::TwoPlus);
        let strip: Vec<&str> = UrineStrip::ALL.iter().map(|s| s.symbol()).collect();
        assert_eq!(strip, ["−", "±", "+", "++", "+++"]);
        let edema: Vec<&str> = Edema::ALL.iter().map(|s| s.symbol()).collect();
        assert_eq!(edema, ["−", "+", "++"]);
    }

    #[test]
    fn codes_of_every_coded_value_are_their_json_names() {
        fn check<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: impl Fn(&T) -> &'static str,
        ) {
            for v in all {
                let json = serde_json::json!(code(v));
                assert_eq!(serde_json::to_value(v).unwrap(), json);
                assert_eq!(&serde_json::from_value::<T>(json).unwrap(), v);
            }
        }
        check(Edema::ALL, |v| v.code());
        check(UrineStrip::ALL, |v| v.code());
        check(FetalPresentation::ALL, |v| v.code());
        check(ScreenResult::ALL, |v| v.code());
        check(RubellaImmunity::ALL, |v| v.code());
        check(CervicalCytology::ALL, |v| v.code());
    }
}
