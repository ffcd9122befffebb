//! What is due next for one person of the family, computed on the device
//! from the family's records (phr-core's `due`): the mother's prenatal
//! checkups, a child's infant checkups and immunizations.

use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::dataset::child_checkup::CheckupType;
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{ChildCheckup, Pregnancy, PrenatalVisit, Subject};
use phr_core::due::{self, DueItem};

use super::child::schedule_status;
use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::records::{modules, parse_subject};

/// The longest look-ahead accepted, in days.
pub const MAX_HORIZON_DAYS: u32 = 3_660;

/// What is due for `subject` on `today`, looking `horizon_days` ahead, with
/// texts in `language`, by window start. `infant_schedule_csv`: a
/// municipality's own infant checkup table (else the default).
pub fn due_items(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &str,
    today: NaiveDate,
    horizon_days: u32,
    language: &str,
    infant_schedule_csv: Option<&str>,
) -> Result<Vec<DueItem>> {
    let subject = parse_subject(subject)?;
    if horizon_days > MAX_HORIZON_DAYS {
        return Err(Error::invalid("horizon_days", format!("at most {MAX_HORIZON_DAYS}")));
    }
    let mut items = match subject {
        Subject::Mother => {
            let visits: Vec<NaiveDate> =
                modules::<PrenatalVisit>(conn, keys, &subject)?.into_iter().map(|(_, v)| v.visit_date).collect();
            let slots = due::default_prenatal_slots();
            modules::<Pregnancy>(conn, keys, &subject)?
                .into_iter()
                .filter(|(_, p)| p.status == PregnancyStatus::Ongoing)
                .flat_map(|(_, p)| due::prenatal_checkups_due(&slots, &p, &visits, today, horizon_days, language))
                .collect()
        }
        Subject::Child(_) => {
            let schedule = match infant_schedule_csv {
                Some(csv) => due::infant_checkups_from_csv(csv)
                    .map_err(|e| Error::invalid("infant_checkup_schedule_csv", e.to_string()))?,
                None => due::default_infant_checkups(),
            };
            let (birth, statuses) = schedule_status(conn, keys, &subject, today)?;
            let done: Vec<CheckupType> =
                modules::<ChildCheckup>(conn, keys, &subject)?.into_iter().map(|(_, c)| c.checkup_type).collect();
            let mut items = due::child_checkups_due(&schedule, birth.birth_date, &done, today, horizon_days, language);
            items.extend(due::immunizations_due(&statuses, today, horizon_days, language));
            items
        }
    };
    items.sort_by(|a, b| (a.from, &a.key).cmp(&(b.from, &b.key)));
    Ok(items)
}
