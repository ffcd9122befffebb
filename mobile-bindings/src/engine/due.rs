//! What is due next for one person of the family, computed on the device
//! from the family's records (phr-core's `due`): the mother's prenatal
//! checkups, a child's infant checkups and immunizations.

use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::dataset::immunization_schedule::immunization_status;
use phr_core::dataset::pregnancy::PregnancyStatus;
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use phr_core::due::{self, DueItem};

use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::records::{bodies, parse_subject};

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
            let visits: Vec<NaiveDate> = bodies(conn, keys, &subject, RecordKind::PrenatalVisit)?
                .into_iter()
                .filter_map(|(_, b)| match b {
                    RecordBody::PrenatalVisit(v) => Some(v.visit_date),
                    _ => None,
                })
                .collect();
            let slots = due::default_prenatal_slots();
            bodies(conn, keys, &subject, RecordKind::Pregnancy)?
                .into_iter()
                .filter_map(|(_, b)| match b {
                    RecordBody::Pregnancy(p) if p.status == PregnancyStatus::Ongoing => Some(p),
                    _ => None,
                })
                .flat_map(|p| due::prenatal_checkups_due(&slots, &p, &visits, today, horizon_days, language))
                .collect()
        }
        Subject::Child(_) => {
            let schedule = match infant_schedule_csv {
                Some(csv) => due::infant_checkups_from_csv(csv)
                    .map_err(|e| Error::invalid("infant_checkup_schedule_csv", e.to_string()))?,
                None => due::default_infant_checkups(),
            };
            let newborn = bodies(conn, keys, &subject, RecordKind::Newborn)?.into_iter().find_map(|(_, b)| match b {
                RecordBody::Newborn(n) => Some(n),
                _ => None,
            });
            let Some(birth) = newborn else {
                return Err(Error::NotFound(format!("a newborn record (birth date) for {subject}")));
            };
            let mut done = Vec::new();
            for (_, b) in bodies(conn, keys, &subject, RecordKind::ChildCheckup)? {
                if let RecordBody::ChildCheckup(c) = b {
                    done.push(c.checkup_type);
                }
            }
            let given: Vec<_> = bodies(conn, keys, &subject, RecordKind::Immunization)?
                .into_iter()
                .filter_map(|(_, b)| match b {
                    RecordBody::Immunization(i) => Some(i),
                    _ => None,
                })
                .collect();
            let statuses = immunization_status(birth.birth_date, Some(birth.sex), &given, today);
            let mut items = due::child_checkups_due(&schedule, birth.birth_date, &done, today, horizon_days, language);
            items.extend(due::immunizations_due(&statuses, today, horizon_days, language));
            items
        }
    };
    items.sort_by(|a, b| (a.from, &a.key).cmp(&(b.from, &b.key)));
    Ok(items)
}
