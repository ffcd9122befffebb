//! The medication notebook on the device: importing JAHIS QR codes and files
//! into `medication` records, exporting them back as a JAHIS file and QR
//! texts, and the current medicines view. The format lives in phr-core
//! ([`phr_core::medication_notebook`]); this module reads the subject's
//! records for the checks and stores what the import gives.

use chrono::NaiveDate;
use diesel::SqliteConnection;
use phr_core::dataset::common::Sex;
use phr_core::dataset::medication::Medication;
use phr_core::dataset::{Delivery, MotherProfile, Newborn, Pregnancy, RecordBody, Subject};
use phr_core::medication_notebook::{
    self as notebook, current, CarePeriod, CurrentDispensing, ExportPatient, ImportWarning, NotebookError, PatientCheck,
};

use super::account::Account;
use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::records::{self, modules, parse_subject};

/// What an import stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookImport {
    /// The new medication records' ids, in notebook order.
    pub record_ids: Vec<String>,
    /// Dispensings (and OTC drugs) read.
    pub dispensings: u32,
    /// Of those, already in the record (imported before): not stored again.
    pub already_imported: u32,
    /// What the parent should check (e.g. the notebook names another person).
    pub warnings: Vec<ImportWarning>,
    /// The `JAHISTCnn` versions read.
    pub versions: Vec<String>,
}

/// A JAHIS export of one person's medications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookExport {
    /// The text (CRLF line ends).
    pub text: String,
    /// The same in Shift_JIS: the `.csv` file to hand over.
    pub shift_jis: Vec<u8>,
    /// The text split into QR-sized texts (one when it fits).
    pub qr_texts: Vec<String>,
    /// How many medications it holds.
    pub medications: u32,
}

impl From<NotebookError> for Error {
    fn from(e: NotebookError) -> Self {
        Error::Notebook { line: e.line().map(|l| l as u64), reason: e.to_string() }
    }
}

/// Who `subject` is, for the wrong-person check and the export's patient record.
fn person(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &Subject,
) -> Result<(PatientCheck, Option<ExportPatient>)> {
    match subject {
        Subject::Mother => {
            let profile = modules::<MotherProfile>(conn, keys, subject)?.into_iter().next().map(|(_, p)| p);
            Ok(match profile {
                Some(p) => (
                    PatientCheck {
                        name: Some(p.name_kanji.clone()),
                        name_kana: p.name_kana.clone(),
                        birth_date: Some(p.birth_date),
                    },
                    Some(ExportPatient {
                        name: p.name_kanji,
                        name_kana: p.name_kana,
                        sex: Some(Sex::Female),
                        birth_date: Some(p.birth_date),
                    }),
                ),
                None => (PatientCheck::default(), None),
            })
        }
        Subject::Child(_) => {
            let newborn = modules::<Newborn>(conn, keys, subject)?.into_iter().next().map(|(_, n)| n);
            // The dataset keeps no child's name: only the birth date is checked.
            Ok((PatientCheck { birth_date: newborn.as_ref().map(|n| n.birth_date), ..Default::default() }, None))
        }
    }
}

fn medications(conn: &mut SqliteConnection, keys: &RecordKeys, subject: &Subject) -> Result<Vec<(String, Medication)>> {
    modules(conn, keys, subject)
}

/// Imports the texts of scanned QR codes (any order, split or not) or of a
/// notebook file about `subject`: everything is read and validated before
/// anything is stored; dispensings already in the record are skipped.
pub fn import(
    conn: &mut SqliteConnection,
    account: &mut Account,
    subject: &str,
    texts: &[String],
) -> Result<NotebookImport> {
    let subject = parse_subject(subject)?;
    let (check, _) = person(conn, &account.keys, &subject)?;
    let result = notebook::import_texts(texts, account.today(), Some(&check))?;
    let known: std::collections::HashSet<String> =
        medications(conn, &account.keys, &subject)?.into_iter().filter_map(|(_, m)| m.dispensing_id).collect();
    let fresh: Vec<&Medication> = result
        .dispensings
        .iter()
        .filter(|d| !known.contains(&d.dispensing_id))
        .flat_map(|d| d.medications.iter())
        .collect();
    let already_imported = result.dispensings.iter().filter(|d| known.contains(&d.dispensing_id)).count();
    let mut record_ids = Vec::with_capacity(fresh.len());
    let subject_text = subject.to_string();
    for m in fresh {
        record_ids.push(records::add(conn, account, &subject_text, RecordBody::Medication(m.clone()))?);
    }
    Ok(NotebookImport {
        record_ids,
        dispensings: u32::try_from(result.dispensings.len()).unwrap_or(u32::MAX),
        already_imported: u32::try_from(already_imported).unwrap_or(u32::MAX),
        warnings: result.warnings,
        versions: result.versions,
    })
}

/// Exports `subject`'s medications dispensed (or first taken) from `from` to
/// `to` (inclusive; either open) as a JAHIS file and QR texts of at most
/// `qr_bytes` Shift_JIS bytes each. `data_id`: the 14-digit id of a split.
pub fn export(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    qr_bytes: usize,
    data_id: &str,
) -> Result<NotebookExport> {
    let subject = parse_subject(subject)?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Error::invalid("from", "must not be after to"));
        }
    }
    let (_, patient) = person(conn, keys, &subject)?;
    let meds: Vec<Medication> = medications(conn, keys, &subject)?
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| from.is_none_or(|f| m.dispensed_on >= f) && to.is_none_or(|t| m.dispensed_on <= t))
        .collect();
    let text = notebook::export_text(&meds, patient.as_ref());
    let shift_jis = notebook::to_shift_jis(&text)?;
    let qr_texts = notebook::qr_chunks(&text, qr_bytes, data_id)?;
    Ok(NotebookExport { text, shift_jis, qr_texts, medications: u32::try_from(meds.len()).unwrap_or(u32::MAX) })
}

/// The mother's pregnancy and breastfeeding periods (none for a child).
fn periods(conn: &mut SqliteConnection, keys: &RecordKeys, subject: &Subject) -> Result<Vec<CarePeriod>> {
    if *subject != Subject::Mother {
        return Ok(Vec::new());
    }
    let pregnancies: Vec<Pregnancy> = modules(conn, keys, subject)?.into_iter().map(|(_, p)| p).collect();
    let births: Vec<NaiveDate> =
        modules::<Delivery>(conn, keys, subject)?.into_iter().map(|(_, d)| d.delivered_at.date_naive()).collect();
    Ok(current::care_periods(&pregnancies, &births))
}

/// `subject`'s medications current on `today`, grouped by dispensing (newest
/// first), each drug with its record id and pregnancy / breastfeeding flags.
pub fn current_medicines(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &str,
    today: NaiveDate,
) -> Result<Vec<CurrentDispensing<String>>> {
    let subject = parse_subject(subject)?;
    let periods = periods(conn, keys, &subject)?;
    Ok(notebook::current_medicines(&medications(conn, keys, &subject)?, today, &periods))
}
