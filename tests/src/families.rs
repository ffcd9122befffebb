//! A family's dataset records as the research and cluster tests enrol them: the mother's
//! profile, a prenatal visit 70 days before the birth, the delivery, the newborn, a 1-month
//! checkup and an immunization at one year.

use chrono::NaiveDate;
use phr_core::dataset::common::{GestationalAge, Quantity, Sex};
use phr_core::dataset::{examples, RecordBody, Subject};
use uuid::Uuid;

/// The six record bodies of family `i` (named `<name_prefix> 花子<i>`), with their subjects.
/// Gestational age at delivery varies with `i` (37 to 40 weeks).
pub fn birth_records(
    i: usize,
    name_prefix: &str,
    child: Uuid,
    birth_date: NaiveDate,
    sex: Sex,
    birth_weight: f64,
) -> Vec<(Subject, RecordBody)> {
    let mut mother = examples::mother_profile_full();
    mother.name_kanji = format!("{name_prefix} 花子{i}");
    let mut visit = examples::prenatal_visit_full();
    visit.visit_date = birth_date - chrono::Duration::days(70);
    let mut delivery = examples::delivery_full();
    delivery.delivered_at = format!("{birth_date}T10:00:00+09:00").parse().expect("a delivery time");
    delivery.gestational_age = Some(GestationalAge::new(37 + (i % 4) as u8, 2));
    let mut newborn = examples::newborn_full();
    newborn.birth_date = birth_date;
    newborn.sex = sex;
    newborn.birth_weight = Some(Quantity::new(birth_weight));
    newborn.vitamin_k_doses = vec![birth_date];
    let mut checkup = examples::child_checkup_full();
    checkup.date = birth_date + chrono::Duration::days(31);
    let mut dose = examples::immunization_full();
    dose.date_given = birth_date + chrono::Duration::days(365);
    vec![
        (Subject::Mother, RecordBody::MotherProfile(mother)),
        (Subject::Mother, RecordBody::PrenatalVisit(visit)),
        (Subject::Mother, RecordBody::Delivery(delivery)),
        (Subject::Child(child), RecordBody::Newborn(newborn)),
        (Subject::Child(child), RecordBody::ChildCheckup(checkup)),
        (Subject::Child(child), RecordBody::Immunization(dose)),
    ]
}
