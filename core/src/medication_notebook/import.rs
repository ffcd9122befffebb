//! A read notebook → `medication` records: one per drug per dispensing, one
//! per OTC drug, each stamped with the fingerprint of its dispensing so the
//! same QR code imported twice is recognised.

use chrono::NaiveDate;

use super::error::{field_error, NotebookError};
use super::layout::{parse, Dispensing, Notebook, RecordCreator};
use super::split::assemble;
use crate::dataset::common::{Validate, ValidationContext};
use crate::dataset::medication::{Medication, MedicationSource};

/// Who the parent says the notebook is for; compared with the notebook's
/// patient record (warn only: the app asks the parent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientCheck {
    /// The subject's name (kanji or kana); spaces are ignored.
    pub name: Option<String>,
    /// The subject's name in kana.
    pub name_kana: Option<String>,
    /// The subject's birth date.
    pub birth_date: Option<NaiveDate>,
}

/// Something the parent should look at; the import still succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportWarning {
    /// The notebook's patient name is not the subject's.
    PatientNameDiffers {
        /// The name in the notebook.
        in_notebook: String,
    },
    /// The notebook's birth date is not the subject's.
    PatientBirthDateDiffers {
        /// The birth date in the notebook.
        in_notebook: NaiveDate,
    },
    /// An OTC drug without a start date cannot be placed in time and was not imported.
    OtcDrugWithoutStartDate {
        /// Its line.
        line: usize,
        /// Its name.
        name: String,
    },
    /// A dispensing without any drug record (nothing to import from it).
    DispensingWithoutDrugs {
        /// Its line.
        line: usize,
    },
    /// Notebook-level records with no medication to keep them on.
    RecordsNotKept {
        /// How many.
        count: usize,
    },
}

/// One dispensing (or one OTC drug) of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedDispensing {
    /// Its fingerprint (also on each medication).
    pub dispensing_id: String,
    /// The dispensing (or first-taken) date.
    pub date: NaiveDate,
    /// Its medications, in notebook order.
    pub medications: Vec<Medication>,
}

/// What an import read.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportResult {
    /// The `JAHISTCnn` versions read, one per text.
    pub versions: Vec<String>,
    /// Dispensings and OTC drugs, in notebook order.
    pub dispensings: Vec<ImportedDispensing>,
    /// What the parent should check.
    pub warnings: Vec<ImportWarning>,
}

impl ImportResult {
    /// Every medication, in order.
    pub fn medications(&self) -> impl Iterator<Item = &Medication> {
        self.dispensings.iter().flat_map(|d| d.medications.iter())
    }
}

/// The fingerprint of a dispensing: SHA-256 over what it says (date, source,
/// pharmacy, prescriber, doctor, pharmacist, and each drug's name, code, dose,
/// unit, directions and days, in order), first 16 bytes in hex. Independent
/// of line ends, encoding, split and record order within the text, and equal
/// for a notebook and its re-import after [`super::export`].
pub fn dispensing_fingerprint(medications: &[Medication]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut put = |s: &str| {
        ctx.update(s.as_bytes());
        ctx.update(&[0x1f]);
    };
    if let Some(m) = medications.first() {
        put(&m.dispensed_on.to_string());
        put(m.source().code());
        for v in [&m.pharmacy, &m.prescriber, &m.prescribing_doctor, &m.pharmacist] {
            put(v.as_deref().unwrap_or(""));
        }
    }
    for m in medications {
        put("\u{1e}");
        put(&m.drug_name);
        put(m.drug_code.as_ref().map(|c| c.system.code()).unwrap_or(""));
        put(m.drug_code.as_ref().map(|c| c.code.as_str()).unwrap_or(""));
        for v in [&m.dose, &m.dose_unit, &m.directions] {
            put(v.as_deref().unwrap_or(""));
        }
        put(&m.days_supplied.map(|d| d.to_string()).unwrap_or_default());
        put(&m.taken_until.map(|d| d.to_string()).unwrap_or_default());
    }
    hex::encode(&ctx.finish().as_ref()[..16])
}

fn normalise_name(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn check_patient(nb: &Notebook, expected: Option<&PatientCheck>, warnings: &mut Vec<ImportWarning>) {
    let (Some(p), Some(e)) = (&nb.patient, expected) else { return };
    if let Some(name) = &p.name {
        let known: Vec<String> = [&e.name, &e.name_kana].into_iter().flatten().map(|n| normalise_name(n)).collect();
        let in_nb = [Some(name), p.name_kana.as_ref()].into_iter().flatten().map(|n| normalise_name(n));
        if !known.is_empty() && !in_nb.into_iter().any(|n| known.contains(&n)) {
            warnings.push(ImportWarning::PatientNameDiffers { in_notebook: name.clone() });
        }
    }
    if let (Some(b), Some(eb)) = (p.birth_date, e.birth_date) {
        if b != eb {
            warnings.push(ImportWarning::PatientBirthDateDiffers { in_notebook: b });
        }
    }
}

fn dispensing_medications(d: &Dispensing) -> Vec<Medication> {
    let mut out = Vec::new();
    for rp in &d.rps {
        let directions = match (&rp.directions, &rp.quantity_text) {
            (Some(dir), Some(q)) => Some(format!("{dir}（{q}）")),
            (None, Some(q)) => Some(q.clone()),
            (dir, None) => dir.clone(),
        };
        for drug in &rp.drugs {
            let patient = drug.creator == RecordCreator::Patient || d.creator == RecordCreator::Patient;
            let mut notes = drug.notes.clone();
            notes.extend(rp.notes.iter().cloned());
            notes.extend(d.notes.iter().cloned());
            out.push(Medication {
                dispensed_on: d.date,
                pharmacy: d.pharmacy.clone(),
                prescriber: d.prescriber.clone(),
                drug_name: drug.name.clone(),
                drug_code: drug.code.clone(),
                dose: drug.dose.clone(),
                directions: directions.clone(),
                days_supplied: rp.days,
                source: Some(if patient { MedicationSource::PatientEntered } else { MedicationSource::Dispensed }),
                dose_unit: drug.unit.clone(),
                taken_until: None,
                pharmacist: d.pharmacist.clone(),
                prescribing_doctor: d.doctor.clone(),
                dispensing_id: None,
                notes,
                jahis_records: d.verbatim.clone(),
            });
        }
    }
    out
}

fn validated(line: usize, record: &str, m: &Medication, today: NaiveDate) -> Result<(), NotebookError> {
    m.validate(&ValidationContext::new(today)).map_err(|e| {
        let issue = &e.issues()[0];
        field_error(line, record, "medication", format!("{}: {}", issue.path, issue.reason))
    })
}

/// Maps one read notebook to dispensings of medications (validated against `today`).
pub fn to_medications(
    nb: &Notebook,
    today: NaiveDate,
    expected: Option<&PatientCheck>,
) -> Result<(Vec<ImportedDispensing>, Vec<ImportWarning>), NotebookError> {
    let mut warnings = Vec::new();
    check_patient(nb, expected, &mut warnings);
    let mut out: Vec<(usize, ImportedDispensing)> = Vec::new();
    for d in &nb.dispensings {
        let meds = dispensing_medications(d);
        if meds.is_empty() {
            warnings.push(ImportWarning::DispensingWithoutDrugs { line: d.line });
            continue;
        }
        out.push((d.line, ImportedDispensing { dispensing_id: String::new(), date: d.date, medications: meds }));
    }
    for otc in &nb.otc {
        let Some(start) = otc.start else {
            warnings.push(ImportWarning::OtcDrugWithoutStartDate { line: otc.line, name: otc.name.clone() });
            continue;
        };
        if otc.end.is_some_and(|e| e < start) {
            return Err(field_error(otc.line, "3", "服用終了年月日", "is before 服用開始年月日"));
        }
        let mut m = Medication::new(start, otc.name.clone());
        m.source = Some(MedicationSource::Otc);
        m.taken_until = otc.end;
        out.push((otc.line, ImportedDispensing { dispensing_id: String::new(), date: start, medications: vec![m] }));
    }
    // Notebook-level records are kept on the first dispensing's medications.
    if !nb.verbatim.is_empty() {
        match out.first_mut() {
            Some((_, first)) => {
                for m in &mut first.medications {
                    let mut kept = nb.verbatim.clone();
                    kept.append(&mut m.jahis_records);
                    m.jahis_records = kept;
                }
            }
            None => warnings.push(ImportWarning::RecordsNotKept { count: nb.verbatim.len() }),
        }
    }
    let mut dispensings = Vec::with_capacity(out.len());
    for (line, mut d) in out {
        let id = dispensing_fingerprint(&d.medications);
        for m in &mut d.medications {
            m.dispensing_id = Some(id.clone());
            validated(line, if m.source() == MedicationSource::Otc { "3" } else { "5" }, m, today)?;
        }
        d.dispensing_id = id;
        dispensings.push(d);
    }
    Ok((dispensings, warnings))
}

/// Imports the texts of scanned QR codes (in any order, split or not) or of a
/// notebook file: reassembles splits, reads every text, and maps it to
/// medications. All or nothing: any error, and nothing is returned to store.
pub fn import_texts<S: AsRef<str>>(
    texts: &[S],
    today: NaiveDate,
    expected: Option<&PatientCheck>,
) -> Result<ImportResult, NotebookError> {
    if texts.is_empty() {
        return Err(NotebookError::Empty);
    }
    let total: usize = texts.iter().map(|t| t.as_ref().len()).sum();
    if total > super::text::MAX_INPUT_BYTES {
        return Err(NotebookError::TooLarge { size: total, max: super::text::MAX_INPUT_BYTES });
    }
    let mut result = ImportResult { versions: Vec::new(), dispensings: Vec::new(), warnings: Vec::new() };
    for text in assemble(texts)? {
        let nb = parse(&text)?;
        let (dispensings, warnings) = to_medications(&nb, today, expected)?;
        result.versions.push(nb.version);
        result.dispensings.extend(dispensings);
        result.warnings.extend(warnings);
    }
    // The same dispensing twice in one import (a QR scanned with a file) counts once.
    let mut seen = std::collections::HashSet::new();
    result.dispensings.retain(|d| seen.insert(d.dispensing_id.clone()));
    Ok(result)
}

/// Imports a notebook file's bytes (UTF-8 or Shift_JIS, any line ends).
pub fn import_bytes(
    bytes: &[u8],
    today: NaiveDate,
    expected: Option<&PatientCheck>,
) -> Result<ImportResult, NotebookError> {
    let text = super::text::decode(bytes)?;
    import_texts(&[text], today, expected)
}
