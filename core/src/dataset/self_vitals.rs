//! `self_vitals` (self-measured, many per person): one measuring moment with any
//! of blood pressure, weight, temperature, heart rate, SpO2, blood glucose, steps.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::common::{
    Cel, CountUnit, Kg, MgPerDl, PerMin, Percent, Problems, Quantity, Validate, ValidationContext, ValidationErrors,
};
use super::{DatasetModule, RecordKind};

/// The blood pressure reading is the prenatal visit's (same JSON, same ranges).
pub use super::prenatal_visit::BloodPressure;

/// LOINC codes of the items of this module (`docs/dataset.md`).
pub mod codes {
    /// Blood pressure panel.
    pub const BLOOD_PRESSURE_PANEL: &str = "85354-9";
    /// Systolic blood pressure.
    pub const SYSTOLIC: &str = "8480-6";
    /// Diastolic blood pressure.
    pub const DIASTOLIC: &str = "8462-4";
    /// Body weight.
    pub const WEIGHT: &str = "29463-7";
    /// Body temperature.
    pub const BODY_TEMPERATURE: &str = "8310-5";
    /// Heart rate.
    pub const HEART_RATE: &str = "8867-4";
    /// Oxygen saturation (SpO2).
    pub const SPO2: &str = "59408-5";
    /// Blood glucose.
    pub const BLOOD_GLUCOSE: &str = "2339-0";
    /// Steps in 24 hours.
    pub const STEPS: &str = "55423-8";
}

/// Systolic range accepted, `mm[Hg]`.
pub const SYSTOLIC_MMHG: (f64, f64) = (50.0, 260.0);
/// Diastolic range accepted, `mm[Hg]`.
pub const DIASTOLIC_MMHG: (f64, f64) = (30.0, 160.0);
/// Weight range accepted, kg (a child or an adult).
pub const WEIGHT_KG: (f64, f64) = (0.3, 300.0);
/// Body temperature range accepted, Cel.
pub const TEMPERATURE_CEL: (f64, f64) = (34.0, 43.0);
/// Heart rate range accepted, /min.
pub const HEART_RATE_PER_MIN: (f64, f64) = (30.0, 250.0);
/// SpO2 range accepted, %.
pub const SPO2_PERCENT: (f64, f64) = (50.0, 100.0);
/// Blood glucose range accepted, mg/dL.
pub const GLUCOSE_MG_DL: (f64, f64) = (20.0, 600.0);
/// Steps range accepted (whole steps).
pub const STEPS: (f64, f64) = (0.0, 100_000.0);

/// One self-measurement moment; at least one measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct SelfVitals {
    /// When measured, with the user's UTC offset. Its local date is not in the future.
    pub measured_at: DateTime<FixedOffset>,
    /// Blood pressure (LOINC 85354-9).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_pressure: Option<BloodPressure>,
    /// Body weight (LOINC 29463-7), 0.3–300 kg.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Quantity<Kg>>,
    /// Body temperature (LOINC 8310-5), 34–43 Cel.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_temperature: Option<Quantity<Cel>>,
    /// Heart rate (LOINC 8867-4), 30–250 /min.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate: Option<Quantity<PerMin>>,
    /// Oxygen saturation (LOINC 59408-5), 50–100 %.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spo2: Option<Quantity<Percent>>,
    /// Blood glucose (LOINC 2339-0), 20–600 mg/dL.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_glucose: Option<Quantity<MgPerDl>>,
    /// Steps (LOINC 55423-8), a whole number 0–100,000.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Quantity<CountUnit>>,
}

impl SelfVitals {
    /// True if at least one measurement is present.
    pub fn has_measurement(&self) -> bool {
        self.blood_pressure.is_some()
            || self.weight.is_some()
            || self.body_temperature.is_some()
            || self.heart_rate.is_some()
            || self.spo2.is_some()
            || self.blood_glucose.is_some()
            || self.steps.is_some()
    }
}

impl Validate for SelfVitals {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        p.datetime_not_future("measured_at", &self.measured_at, ctx.today);
        if !self.has_measurement() {
            p.push("measurements", "at least one measurement is required");
        }
        if let Some(bp) = &self.blood_pressure {
            p.quantity("blood_pressure.systolic", &bp.systolic, SYSTOLIC_MMHG.0, SYSTOLIC_MMHG.1);
            p.quantity("blood_pressure.diastolic", &bp.diastolic, DIASTOLIC_MMHG.0, DIASTOLIC_MMHG.1);
            if bp.diastolic.value >= bp.systolic.value {
                p.push(
                    "blood_pressure.diastolic",
                    format!("must be below systolic {}, got {}", bp.systolic.value, bp.diastolic.value),
                );
            }
        }
        p.opt_quantity("weight", &self.weight, WEIGHT_KG.0, WEIGHT_KG.1);
        p.opt_quantity("body_temperature", &self.body_temperature, TEMPERATURE_CEL.0, TEMPERATURE_CEL.1);
        p.opt_quantity("heart_rate", &self.heart_rate, HEART_RATE_PER_MIN.0, HEART_RATE_PER_MIN.1);
        p.opt_quantity("spo2", &self.spo2, SPO2_PERCENT.0, SPO2_PERCENT.1);
        p.opt_quantity("blood_glucose", &self.blood_glucose, GLUCOSE_MG_DL.0, GLUCOSE_MG_DL.1);
        if let Some(steps) = &self.steps {
            if steps.value.fract() != 0.0 {
                p.push("steps", format!("must be a whole number, got {}", steps.value));
            } else {
                p.quantity("steps", steps, STEPS.0, STEPS.1);
            }
        }
        p.finish()
    }
}

impl DatasetModule for SelfVitals {
    const KIND: RecordKind = RecordKind::SelfVitals;
    /// The local date of `measured_at` (in its own offset).
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.measured_at.date_naive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn morning() -> SelfVitals {
        SelfVitals {
            measured_at: at("2026-03-01T07:30:00+09:00"),
            blood_pressure: Some(BloodPressure { systolic: Quantity::new(118.0), diastolic: Quantity::new(76.0) }),
            weight: Some(Quantity::new(58.2)),
            body_temperature: None,
            heart_rate: Some(Quantity::new(72.0)),
            spo2: None,
            blood_glucose: None,
            steps: None,
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2026-03-01"))
    }

    fn only_measured_at() -> SelfVitals {
        SelfVitals {
            measured_at: at("2026-03-01T07:30:00+09:00"),
            blood_pressure: None,
            weight: None,
            body_temperature: None,
            heart_rate: None,
            spo2: None,
            blood_glucose: None,
            steps: None,
        }
    }

    #[test]
    fn a_morning_reading_is_valid_and_dated_by_its_local_date() {
        let v = morning();
        assert_eq!(v.validate(&ctx()), Ok(()));
        // 2026-03-01T07:30+09:00 is 2026-02-28T22:30Z: the local date counts.
        assert_eq!(v.effective_date(), Some(d("2026-03-01")));
        assert_eq!(SelfVitals::KIND, RecordKind::SelfVitals);
    }

    #[test]
    fn a_record_without_any_measurement_is_rejected() {
        let errs = only_measured_at().validate(&ctx()).unwrap_err();
        assert!(errs.mentions("measurements"), "{errs}");
        let mut steps_only = only_measured_at();
        steps_only.steps = Some(Quantity::new(0.0));
        assert_eq!(steps_only.validate(&ctx()), Ok(()));
    }

    #[test]
    fn measurement_in_the_future_is_rejected() {
        let mut v = morning();
        v.measured_at = at("2026-03-02T00:10:00+09:00");
        assert!(v.validate(&ctx()).unwrap_err().mentions("measured_at"));
    }

    #[test]
    fn diastolic_not_below_systolic_is_rejected() {
        let mut v = morning();
        v.blood_pressure = Some(BloodPressure { systolic: Quantity::new(90.0), diastolic: Quantity::new(90.0) });
        let errs = v.validate(&ctx()).unwrap_err();
        assert_eq!(errs.issues().len(), 1, "{errs}");
        assert_eq!(errs.issues()[0].path, "blood_pressure.diastolic");
    }

    #[test]
    fn every_out_of_range_value_is_reported_with_its_path() {
        let v = SelfVitals {
            measured_at: at("2026-03-01T07:30:00+09:00"),
            blood_pressure: Some(BloodPressure { systolic: Quantity::new(261.0), diastolic: Quantity::new(29.0) }),
            weight: Some(Quantity::new(301.0)),
            body_temperature: Some(Quantity::new(43.1)),
            heart_rate: Some(Quantity::new(29.0)),
            spo2: Some(Quantity::new(101.0)),
            blood_glucose: Some(Quantity::new(19.0)),
            steps: Some(Quantity::new(100_001.0)),
        };
        let errs = v.validate(&ctx()).unwrap_err();
        let paths = [
            "blood_pressure.systolic",
            "blood_pressure.diastolic",
            "weight",
            "body_temperature",
            "heart_rate",
            "spo2",
            "blood_glucose",
            "steps",
        ];
        assert_eq!(errs.issues().len(), paths.len(), "{errs}");
        for path in paths {
            assert!(errs.mentions(path), "{path}: {errs}");
        }
    }

    #[test]
    fn range_limits_themselves_are_accepted() {
        let v = SelfVitals {
            measured_at: at("2026-03-01T07:30:00+09:00"),
            blood_pressure: Some(BloodPressure { systolic: Quantity::new(260.0), diastolic: Quantity::new(160.0) }),
            weight: Some(Quantity::new(0.3)),
            body_temperature: Some(Quantity::new(34.0)),
            heart_rate: Some(Quantity::new(250.0)),
            spo2: Some(Quantity::new(100.0)),
            blood_glucose: Some(Quantity::new(600.0)),
            steps: Some(Quantity::new(100_000.0)),
        };
        assert_eq!(v.validate(&ctx()), Ok(()));
    }

    #[test]
    fn fractional_steps_are_rejected() {
        let mut v = only_measured_at();
        v.steps = Some(Quantity::new(10.5));
        assert!(v.validate(&ctx()).unwrap_err().mentions("steps"));
    }

    #[test]
    fn json_uses_ucum_units_round_trips_and_refuses_unknown_fields() {
        let v = morning();
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["measured_at"], "2026-03-01T07:30:00+09:00");
        assert_eq!(json["blood_pressure"]["systolic"], serde_json::json!({"value": 118.0, "unit": "mm[Hg]"}));
        assert_eq!(json["heart_rate"]["unit"], "/min");
        assert!(json.get("spo2").is_none());
        assert_eq!(serde_json::from_value::<SelfVitals>(json.clone()).unwrap(), v);
        let mut bad = json.clone();
        bad["pulse"] = serde_json::json!(70);
        assert!(serde_json::from_value::<SelfVitals>(bad).is_err());
        let mut fahrenheit = json;
        fahrenheit["body_temperature"] = serde_json::json!({"value": 98.6, "unit": "[degF]"});
        assert!(serde_json::from_value::<SelfVitals>(fahrenheit).is_err());
    }
}
