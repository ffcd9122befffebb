//! The medication notebook (JAHIS お薬手帳) across the FFI: what an import
//! stored, an export, the current medicines, and the scan progress of split
//! QR codes.

use phr_core::dataset::medication::{Medication, MedicationSource};
use phr_core::ffi::LocalDate;
use phr_core::medication_notebook::{self as notebook, CarePeriodKind, ImportWarning};

use super::error::PhrError;
use crate::engine;

/// Something the parent should check after an import (the import succeeded).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NotebookWarning {
    /// The notebook's patient name is not this person's: ask whether it is the right person.
    PatientNameDiffers { in_notebook: String },
    /// The notebook's birth date is not this person's.
    PatientBirthDateDiffers { in_notebook: LocalDate },
    /// An OTC drug without a start date was not imported.
    OtcDrugWithoutStartDate { line: u64, name: String },
    /// A dispensing without any drug (nothing imported from it).
    DispensingWithoutDrugs { line: u64 },
    /// Notebook-level records with no medication to keep them on.
    RecordsNotKept { count: u64 },
}

impl From<ImportWarning> for NotebookWarning {
    fn from(w: ImportWarning) -> Self {
        match w {
            ImportWarning::PatientNameDiffers { in_notebook } => Self::PatientNameDiffers { in_notebook },
            ImportWarning::PatientBirthDateDiffers { in_notebook } => Self::PatientBirthDateDiffers { in_notebook },
            ImportWarning::OtcDrugWithoutStartDate { line, name } => {
                Self::OtcDrugWithoutStartDate { line: line as u64, name }
            }
            ImportWarning::DispensingWithoutDrugs { line } => Self::DispensingWithoutDrugs { line: line as u64 },
            ImportWarning::RecordsNotKept { count } => Self::RecordsNotKept { count: count as u64 },
        }
    }
}

/// What [`PhrClient::import_medication_notebook`](super::PhrClient::import_medication_notebook) stored.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NotebookImport {
    /// The new medication records, in notebook order (one per drug per dispensing, one per OTC drug).
    pub record_ids: Vec<String>,
    /// Dispensings (and OTC drugs) read.
    pub dispensings: u32,
    /// Of those, already in the record from an earlier import: not stored again.
    pub already_imported: u32,
    /// What the parent should check.
    pub warnings: Vec<NotebookWarning>,
    /// The format versions read (`JAHISTC08`, ...).
    pub versions: Vec<String>,
}

impl From<engine::NotebookImport> for NotebookImport {
    fn from(v: engine::NotebookImport) -> Self {
        NotebookImport {
            record_ids: v.record_ids,
            dispensings: v.dispensings,
            already_imported: v.already_imported,
            warnings: v.warnings.into_iter().map(Into::into).collect(),
            versions: v.versions,
        }
    }
}

/// A JAHIS export of one person's medications.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotebookExport {
    /// The JAHIS text (CRLF line ends).
    pub text: String,
    /// The same in Shift_JIS: the `.csv` file a pharmacy or clinic system reads.
    pub shift_jis: Vec<u8>,
    /// QR-sized texts to show one after another (one when the text fits in one code).
    pub qr_texts: Vec<String>,
    /// How many medications it holds.
    pub medications: u32,
}

impl From<engine::NotebookExport> for NotebookExport {
    fn from(v: engine::NotebookExport) -> Self {
        NotebookExport { text: v.text, shift_jis: v.shift_jis, qr_texts: v.qr_texts, medications: v.medications }
    }
}

/// One drug being taken today.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CurrentDrug {
    pub record_id: String,
    pub medication: Medication,
    /// Its last day, when known (days supplied or an end date).
    pub last_day: Option<LocalDate>,
    /// Taken during a pregnancy or in the year after a birth: the app asks the
    /// parent to check it with the clinic (data only, no advice).
    pub flags: Vec<CarePeriodKind>,
}

/// The current drugs of one dispensing (or one OTC drug).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CurrentDispensing {
    pub dispensed_on: LocalDate,
    pub pharmacy: Option<String>,
    pub source: MedicationSource,
    pub drugs: Vec<CurrentDrug>,
}

impl From<notebook::CurrentDispensing<String>> for CurrentDispensing {
    fn from(v: notebook::CurrentDispensing<String>) -> Self {
        CurrentDispensing {
            dispensed_on: v.dispensed_on,
            pharmacy: v.pharmacy,
            source: v.source,
            drugs: v
                .drugs
                .into_iter()
                .map(|d| CurrentDrug {
                    record_id: d.id,
                    medication: d.medication,
                    last_day: d.last_day,
                    flags: d.flags,
                })
                .collect(),
        }
    }
}

/// A split QR code whose other parts are still to be scanned.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IncompleteSplit {
    pub data_id: String,
    pub total: u32,
    pub missing: Vec<u32>,
}

/// Where a scan of medication notebook QR codes stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrScanProgress {
    /// Whole notebook texts ready to import.
    pub ready: u32,
    /// Splits still missing parts: keep scanning.
    pub incomplete: Vec<IncompleteSplit>,
}

/// Where a scan of medication notebook QR codes stands after `texts` (any
/// order): which parts of a split are still missing. No account needed; an
/// error names a text that is not a JAHIS part.
#[uniffi::export]
pub fn medication_qr_progress(texts: Vec<String>) -> Result<QrScanProgress, PhrError> {
    let mut a = notebook::QrAssembler::new();
    for t in &texts {
        a.add(t).map_err(engine::Error::from)?;
    }
    let p = a.progress();
    Ok(QrScanProgress {
        ready: u32::try_from(p.ready).unwrap_or(u32::MAX),
        incomplete: p
            .incomplete
            .into_iter()
            .map(|(data_id, total, missing)| IncompleteSplit { data_id, total, missing })
            .collect(),
    })
}
