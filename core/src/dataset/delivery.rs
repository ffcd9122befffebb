//! `delivery` (one per birth event): when and how the mother gave birth.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::common::{
    coded_enum, GestationalAge, Hr, Ml, Problems, Quantity, Validate, ValidationContext, ValidationErrors,
};
use super::pregnancy::MAX_FETUSES;
use super::{DatasetModule, RecordKind};

/// LOINC codes of the items of this module (`docs/dataset.md`). Labour
/// duration, blood loss and transfusion are local items.
pub mod codes {
    /// Delivery date and time.
    pub const DELIVERY_DATE_TIME: &str = "93857-1";
    /// Gestational age at birth (obstetric estimate).
    pub const GESTATIONAL_AGE_AT_BIRTH: &str = "57714-8";
    /// Delivery method.
    pub const DELIVERY_METHOD: &str = "57071-3";
    /// Number of babies (fetuses) delivered.
    pub const NUMBER_OF_BABIES: &str = "57722-1";
}

coded_enum! {
    vocabulary "delivery_category";
    /// The three delivery method categories of the dataset spec (57071-3).
    pub enum DeliveryCategory {
        /// Spontaneous vaginal delivery.
        Vaginal = "vaginal",
        /// Instrument-assisted vaginal delivery.
        Assisted = "assisted",
        /// Caesarean section.
        Caesarean = "caesarean",
    }
}

coded_enum! {
    vocabulary "delivery_method";
    /// How the baby (or babies) were delivered (57071-3), with the instrument
    /// of an assisted delivery; see [`DeliveryMethod::category`].
    pub enum DeliveryMethod {
        /// Spontaneous vaginal delivery (経腟分娩).
        Vaginal = "vaginal",
        /// Vacuum extraction (吸引分娩).
        AssistedVacuum = "assisted_vacuum",
        /// Forceps delivery (鉗子分娩).
        AssistedForceps = "assisted_forceps",
        /// Caesarean section (帝王切開).
        Caesarean = "caesarean",
    }
}

impl DeliveryMethod {
    /// The dataset spec's category: vaginal, assisted or caesarean.
    pub const fn category(self) -> DeliveryCategory {
        match self {
            DeliveryMethod::Vaginal => DeliveryCategory::Vaginal,
            DeliveryMethod::AssistedVacuum | DeliveryMethod::AssistedForceps => DeliveryCategory::Assisted,
            DeliveryMethod::Caesarean => DeliveryCategory::Caesarean,
        }
    }
}

/// One birth event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Date and time of delivery with its UTC offset (LOINC 93857-1). Its local
    /// date is not in the future and lies inside the pregnancy.
    pub delivered_at: DateTime<FixedOffset>,
    /// Gestational age at birth (LOINC 57714-8), 0–45 weeks + 0–6 days, within
    /// 14 days of the age the pregnancy's EDD gives.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gestational_age: Option<GestationalAge>,
    /// Delivery method (LOINC 57071-3).
    pub method: DeliveryMethod,
    /// Duration of labour (local), 0–72 h.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labour_duration: Option<Quantity<Hr>>,
    /// Blood loss (local), 0–10,000 mL.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_loss: Option<Quantity<Ml>>,
    /// Whether a blood transfusion was given (local).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfusion: Option<bool>,
    /// Number of babies delivered (LOINC 57722-1), 1–8, not more than the
    /// pregnancy's number of fetuses.
    pub number_of_babies: u8,
}

impl Delivery {
    /// The local calendar date of the delivery (in its recorded offset).
    pub fn delivery_date(&self) -> NaiveDate {
        self.delivered_at.date_naive()
    }
}

impl Validate for Delivery {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        let date = self.delivery_date();

        p.datetime_not_future("delivered_at", &self.delivered_at, ctx.today);
        if let Some(ga) = &self.gestational_age {
            ga.check("gestational_age", &mut p);
        }
        p.opt_quantity("labour_duration", &self.labour_duration, 0.0, 72.0);
        p.opt_quantity("blood_loss", &self.blood_loss, 0.0, 10_000.0);
        p.integer("number_of_babies", self.number_of_babies, 1, i64::from(MAX_FETUSES));

        if let Some(pregnancy) = ctx.pregnancy {
            pregnancy.check_date_inside("delivered_at", date, &mut p);
            if let Some(ga) = self.gestational_age {
                pregnancy.check_gestational_age("gestational_age", date, ga, &mut p);
            }
            if let Some(fetuses) = pregnancy.number_of_fetuses {
                if self.number_of_babies > fetuses {
                    p.push(
                        "number_of_babies",
                        format!(
                            "must not exceed the pregnancy's number of fetuses ({fetuses}), got {}",
                            self.number_of_babies
                        ),
                    );
                }
            }
        }

        p.finish()
    }
}

impl DatasetModule for Delivery {
    const KIND: RecordKind = RecordKind::Delivery;
    /// The local date of the delivery.
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.delivery_date())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::pregnancy::{Pregnancy, PregnancyStatus};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// LMP 2026-01-01, EDD 2026-10-08, one fetus.
    fn pregnancy() -> Pregnancy {
        Pregnancy {
            last_menstrual_period: Some(d("2026-01-01")),
            estimated_delivery_date: Some(d("2026-10-08")),
            number_of_fetuses: Some(1),
            status: PregnancyStatus::Ongoing,
            outcome_date: None,
        }
    }

    /// 2026-10-05 is 3 days before the EDD: 40w0d - 3d = 39w4d.
    fn delivery() -> Delivery {
        Delivery {
            delivered_at: at("2026-10-05T14:32:00+09:00"),
            gestational_age: Some(GestationalAge::new(39, 4)),
            method: DeliveryMethod::AssistedVacuum,
            labour_duration: Some(Quantity::new(11.5)),
            blood_loss: Some(Quantity::new(420.0)),
            transfusion: Some(false),
            number_of_babies: 1,
        }
    }

    fn today() -> NaiveDate {
        d("2026-11-01")
    }

    fn paths(errs: &ValidationErrors) -> Vec<&str> {
        errs.issues().iter().map(|i| i.path.as_str()).collect()
    }

    #[test]
    fn a_valid_delivery_inside_its_pregnancy_passes() {
        let preg = pregnancy();
        assert_eq!(preg.gestational_age_on(d("2026-10-05")), Some(GestationalAge::new(39, 4)));
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        assert_eq!(delivery().validate(&ctx), Ok(()));
    }

    #[test]
    fn delivery_in_the_future_is_rejected() {
        let ctx = ValidationContext::new(d("2026-10-04"));
        let errs = delivery().validate(&ctx).unwrap_err();
        assert_eq!(paths(&errs), ["delivered_at"], "{errs}");
    }

    #[test]
    fn effective_date_is_the_local_date_of_the_recorded_offset() {
        // 00:30 in Japan is still the previous day in UTC (15:30Z on the 5th).
        let v = Delivery { delivered_at: at("2026-10-06T00:30:00+09:00"), ..delivery() };
        assert_eq!(v.effective_date(), Some(d("2026-10-06")));
    }

    #[test]
    fn delivery_before_the_pregnancy_started_is_rejected() {
        let preg = pregnancy();
        let v = Delivery { delivered_at: at("2025-12-31T10:00:00+09:00"), gestational_age: None, ..delivery() };
        let errs = v.validate(&ValidationContext::new(today()).with_pregnancy(&preg)).unwrap_err();
        assert_eq!(paths(&errs), ["delivered_at"], "{errs}");
    }

    #[test]
    fn delivery_after_the_pregnancy_outcome_date_is_rejected() {
        let preg = Pregnancy { status: PregnancyStatus::LiveBirth, outcome_date: Some(d("2026-10-04")), ..pregnancy() };
        let errs = delivery().validate(&ValidationContext::new(today()).with_pregnancy(&preg)).unwrap_err();
        assert_eq!(paths(&errs), ["delivered_at"], "{errs}");
    }

    #[test]
    fn gestational_age_at_birth_more_than_14_days_off_the_edd_is_rejected() {
        // Expected 39w4d = 277 days; 37w4d = 263 days is 14 off (accepted), 37w3d is 15 off.
        let preg = pregnancy();
        let ctx = ValidationContext::new(today()).with_pregnancy(&preg);
        let edge = Delivery { gestational_age: Some(GestationalAge::new(37, 4)), ..delivery() };
        assert_eq!(edge.validate(&ctx), Ok(()));
        let off = Delivery { gestational_age: Some(GestationalAge::new(37, 3)), ..delivery() };
        assert_eq!(paths(&off.validate(&ctx).unwrap_err()), ["gestational_age"]);
    }

    #[test]
    fn labour_over_72_hours_and_blood_loss_over_10000_ml_are_rejected_with_their_paths() {
        let v = Delivery {
            labour_duration: Some(Quantity::new(72.5)),
            blood_loss: Some(Quantity::new(10_001.0)),
            ..delivery()
        };
        let errs = v.validate(&ValidationContext::new(today())).unwrap_err();
        assert_eq!(paths(&errs), ["labour_duration", "blood_loss"], "{errs}");
        let negative = Delivery { labour_duration: Some(Quantity::new(-1.0)), ..delivery() };
        assert_eq!(paths(&negative.validate(&ValidationContext::new(today())).unwrap_err()), ["labour_duration"]);
        let limits = Delivery {
            labour_duration: Some(Quantity::new(72.0)),
            blood_loss: Some(Quantity::new(10_000.0)),
            ..delivery()
        };
        assert_eq!(limits.validate(&ValidationContext::new(today())), Ok(()));
    }

    #[test]
    fn zero_or_nine_babies_are_rejected() {
        for n in [0, 9] {
            let v = Delivery { number_of_babies: n, ..delivery() };
            let errs = v.validate(&ValidationContext::new(today())).unwrap_err();
            assert_eq!(paths(&errs), ["number_of_babies"], "{n}: {errs}");
        }
    }

    #[test]
    fn more_babies_than_the_pregnancy_has_fetuses_is_rejected() {
        let preg = pregnancy();
        let twins = Delivery { number_of_babies: 2, ..delivery() };
        let errs = twins.validate(&ValidationContext::new(today()).with_pregnancy(&preg)).unwrap_err();
        assert_eq!(paths(&errs), ["number_of_babies"], "{errs}");
        let twin_pregnancy = Pregnancy { number_of_fetuses: Some(2), ..pregnancy() };
        let ctx = ValidationContext::new(today()).with_pregnancy(&twin_pregnancy);
        assert_eq!(twins.validate(&ctx), Ok(()));
    }

    #[test]
    fn all_problems_are_reported_not_only_the_first() {
        let v = Delivery {
            delivered_at: at("2027-01-01T09:00:00+09:00"),
            gestational_age: Some(GestationalAge::new(50, 0)),
            method: DeliveryMethod::Caesarean,
            labour_duration: Some(Quantity::new(100.0)),
            blood_loss: Some(Quantity::new(-5.0)),
            transfusion: Some(true),
            number_of_babies: 0,
        };
        let errs = v.validate(&ValidationContext::new(today())).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["delivered_at", "gestational_age.weeks", "labour_duration", "blood_loss", "number_of_babies"],
            "{errs}"
        );
    }

    #[test]
    fn vacuum_and_forceps_are_the_assisted_category() {
        assert_eq!(DeliveryMethod::Vaginal.category(), DeliveryCategory::Vaginal);
        assert_eq!(DeliveryMethod::AssistedVacuum.category(), DeliveryCategory::Assisted);
        assert_eq!(DeliveryMethod::AssistedForceps.category(), DeliveryCategory::Assisted);
        assert_eq!(DeliveryMethod::Caesarean.category(), DeliveryCategory::Caesarean);
        let codes: Vec<&str> = DeliveryCategory::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, ["vaginal", "assisted", "caesarean"]);
    }

    #[test]
    fn json_round_trip_is_stable_snake_case() {
        let v = delivery();
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "delivered_at": "2026-10-05T14:32:00+09:00",
                "gestational_age": {"weeks": 39, "days": 4},
                "method": "assisted_vacuum",
                "labour_duration": {"value": 11.5, "unit": "h"},
                "blood_loss": {"value": 420.0, "unit": "mL"},
                "transfusion": false,
                "number_of_babies": 1
            })
        );
        assert_eq!(serde_json::from_value::<Delivery>(json).unwrap(), v);
        for m in DeliveryMethod::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.code()));
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = r#"{"delivered_at":"2026-10-05T14:32:00+09:00","method":"vaginal","number_of_babies":1,"apgar":9}"#;
        let err = serde_json::from_str::<Delivery>(json).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
