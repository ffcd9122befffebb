//! Medications → a JAHIS text (output category 2: from the patient to a
//! clinic or pharmacy), as a file (Shift_JIS, CRLF) or as QR-sized chunks.
//!
//! What is written: the patient record (1) when given; each OTC drug as an
//! OTC record (3); each dispensing (medications with one `dispensing_id`, or
//! else one date, source, pharmacy, prescriber, doctor and pharmacist) as a
//! dispensing date record (5) with its pharmacy (11), pharmacist (15),
//! prescribing institution (51) and doctor (55) records, each drug as its own
//! prescription group — drug (201), directions (301), and its notes (281, 291,
//! 311, 391) — then the dispensing's notes (401, 411, 421, 501, 601) and its
//! verbatim records. Patient-entered drugs carry record creator 2.
//!
//! Not written, because the format has no place for them: a local drug code
//! (written as 薬品コード種別 1, no code) and, for OTC drugs, anything but name
//! and dates. A half-width comma in a value is written as a full-width comma
//! (the specification's rule) and control characters as spaces.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::error::NotebookError;
use super::layout::EXPORT_VERSION;
use super::split::SPLIT_RECORD;
use crate::dataset::common::Sex;
use crate::dataset::medication::{DrugCodeSystem, Medication, MedicationNoteKind, MedicationSource};

/// Bytes of Shift_JIS text one QR code holds by default: version 40 at error
/// correction level M holds 2,331 bytes; phones read denser codes poorly, so
/// pharmacies print smaller ones.
pub const DEFAULT_QR_BYTES: usize = 1_200;
/// The smallest QR chunk accepted.
pub const MIN_QR_BYTES: usize = 200;

/// The patient record written at the top of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPatient {
    /// 患者氏名.
    pub name: String,
    /// 患者氏名カナ.
    pub name_kana: Option<String>,
    /// 患者性別 (only male and female have a code).
    pub sex: Option<Sex>,
    /// 患者生年月日.
    pub birth_date: Option<NaiveDate>,
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == ',' {
                '，'
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(clean).unwrap_or_default()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn code_fields(m: &Medication) -> (&'static str, String) {
    match &m.drug_code {
        None => ("1", String::new()),
        Some(c) => match c.system {
            DrugCodeSystem::Receipt => ("2", clean(&c.code)),
            DrugCodeSystem::Mhlw => ("3", clean(&c.code)),
            DrugCodeSystem::Yj => ("4", clean(&c.code)),
            DrugCodeSystem::Hot => ("6", clean(&c.code)),
            DrugCodeSystem::Local => ("1", String::new()),
        },
    }
}

/// The key medications of one dispensing share.
fn group_key(m: &Medication) -> String {
    match &m.dispensing_id {
        Some(id) => id.clone(),
        None => [
            m.dispensed_on.to_string(),
            m.source().code().to_owned(),
            opt(&m.pharmacy),
            opt(&m.prescriber),
            opt(&m.prescribing_doctor),
            opt(&m.pharmacist),
        ]
        .join("\u{1f}"),
    }
}

/// The JAHIS text (CRLF line ends) of `medications`, oldest dispensing first.
pub fn export_text(medications: &[Medication], patient: Option<&ExportPatient>) -> String {
    let mut lines = vec![format!("{EXPORT_VERSION},2")];
    if let Some(p) = patient {
        let sex = match p.sex {
            Some(Sex::Male) => "1",
            Some(Sex::Female) => "2",
            _ => "",
        };
        let birth = p.birth_date.map(ymd).unwrap_or_default();
        lines.push(format!("1,{},{sex},{birth},,,,,,,{}", clean(&p.name), opt(&p.name_kana)));
    }
    let mut sorted: Vec<&Medication> = medications.iter().collect();
    sorted.sort_by_key(|m| m.dispensed_on);
    for m in sorted.iter().filter(|m| m.source() == MedicationSource::Otc) {
        let end = m.taken_until.map(ymd).unwrap_or_default();
        lines.push(format!("3,{},{},{end},2", clean(&m.drug_name), ymd(m.dispensed_on)));
    }
    let mut groups: Vec<(String, Vec<&Medication>)> = Vec::new();
    for m in sorted.into_iter().filter(|m| m.source() != MedicationSource::Otc) {
        let key = group_key(m);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(m),
            None => groups.push((key, vec![m])),
        }
    }
    for (_, group) in &groups {
        write_dispensing(&mut lines, group);
    }
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}

fn write_dispensing(lines: &mut Vec<String>, group: &[&Medication]) {
    let first = group[0];
    let c = if first.source() == MedicationSource::PatientEntered { "2" } else { "1" };
    lines.push(format!("5,{},{c}", ymd(first.dispensed_on)));
    if let Some(p) = &first.pharmacy {
        lines.push(format!("11,{},,,,,,,{c}", clean(p)));
    }
    if let Some(p) = &first.pharmacist {
        lines.push(format!("15,{},,{c}", clean(p)));
    }
    if let Some(p) = &first.prescriber {
        lines.push(format!("51,{},,,,{c}", clean(p)));
    }
    if let Some(p) = &first.prescribing_doctor {
        lines.push(format!("55,{},,{c}", clean(p)));
    }
    let mut shared_notes = Vec::new();
    let mut seen_notes = HashSet::new();
    let mut verbatim = Vec::new();
    let mut seen_verbatim = HashSet::new();
    for (i, m) in group.iter().enumerate() {
        let rp = i + 1;
        let (kind, code) = code_fields(m);
        lines.push(format!(
            "201,{rp},{},{},{},{kind},{code},{c}",
            clean(&m.drug_name),
            opt(&m.dose),
            opt(&m.dose_unit)
        ));
        for n in m
            .notes
            .iter()
            .filter(|n| matches!(n.kind, MedicationNoteKind::DrugSupplement | MedicationNoteKind::DrugCaution))
        {
            let num = if n.kind == MedicationNoteKind::DrugSupplement { 281 } else { 291 };
            lines.push(format!("{num},{rp},{},{c}", clean(&n.text)));
        }
        if m.directions.is_some() || m.days_supplied.is_some() {
            let (qty, unit) = match m.days_supplied {
                Some(d) => (d.to_string(), "日分"),
                None => (String::new(), ""),
            };
            lines.push(format!("301,{rp},{},{qty},{unit},,,,{c}", opt(&m.directions)));
        }
        for n in m.notes.iter().filter(|n| {
            matches!(n.kind, MedicationNoteKind::DirectionsSupplement | MedicationNoteKind::PrescriptionCaution)
        }) {
            let num = if n.kind == MedicationNoteKind::DirectionsSupplement { 311 } else { 391 };
            lines.push(format!("{num},{rp},{},{c}", clean(&n.text)));
        }
        for n in m.notes.iter().filter(|n| !n.kind.is_per_drug()) {
            if seen_notes.insert((n.kind, n.text.clone(), n.date, n.code.clone())) {
                shared_notes.push(n);
            }
        }
        for r in &m.jahis_records {
            if seen_verbatim.insert(r.clone()) {
                verbatim.push(r.clone());
            }
        }
    }
    for n in shared_notes {
        let t = clean(&n.text);
        lines.push(match n.kind {
            MedicationNoteKind::Caution => format!("401,{t},{c}"),
            MedicationNoteKind::ProvidedInformation => format!("411,{t},{},{c}", opt(&n.code)),
            MedicationNoteKind::RemainingDrugs => format!("421,{t},{c}"),
            MedicationNoteKind::PatientEntry => format!("601,{t},{}", n.date.map(ymd).unwrap_or_default()),
            _ => format!("501,{t},{c}"),
        });
    }
    lines.extend(verbatim.into_iter().map(|r| r.chars().filter(|ch| !ch.is_control()).collect()));
}

/// The text in Shift_JIS (as the specification prescribes for files and QR
/// codes); a character Shift_JIS cannot write is an error naming it.
pub fn to_shift_jis(text: &str) -> Result<Vec<u8>, NotebookError> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    if unmappable {
        let bad = text
            .chars()
            .find(|ch| encoding_rs::SHIFT_JIS.encode(&ch.to_string()).2)
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        let line = text.lines().position(|l| l.contains(bad)).map(|i| i + 1).unwrap_or(0);
        return Err(NotebookError::Unencodable { field: format!("line {line}"), character: bad });
    }
    Ok(bytes.into_owned())
}

fn sjis_len(s: &str) -> usize {
    encoding_rs::SHIFT_JIS.encode(s).0.len()
}

/// Splits an export text into QR-sized texts of at most `max_bytes` Shift_JIS
/// bytes each (3.2.9(3)): whole records, each part starting with the version
/// record and ending with `911,<data_id>,<parts>,<n>`. A text that fits in one
/// code is returned whole, without a split record. `data_id` is 14 digits
/// (the export time, `YYYYMMDDhhmmss`).
pub fn qr_chunks(text: &str, max_bytes: usize, data_id: &str) -> Result<Vec<String>, NotebookError> {
    if max_bytes < MIN_QR_BYTES {
        return Err(NotebookError::TooMany { what: "bytes per QR code must be at least", max: MIN_QR_BYTES });
    }
    if data_id.len() != 14 || !data_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(super::error::field_error(0, SPLIT_RECORD, "データ固有ID", "must be 14 digits"));
    }
    if sjis_len(text) <= max_bytes {
        return Ok(vec![text.to_owned()]);
    }
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let version = lines.next().ok_or(NotebookError::Empty)?;
    // Version line + CRLF, and the longest split record: "911," + 14 + "," + 3 + "," + 3 + CRLF.
    let overhead = version.len() + 2 + 28;
    let budget = max_bytes - overhead;
    let mut parts: Vec<Vec<&str>> = vec![Vec::new()];
    let mut used = 0;
    for line in lines {
        let n = sjis_len(line) + 2;
        if n > budget {
            return Err(NotebookError::RecordTooLong { bytes: n, max: budget });
        }
        if used + n > budget {
            parts.push(Vec::new());
            used = 0;
        }
        parts.last_mut().expect("one part at least").push(line);
        used += n;
    }
    let total = parts.len();
    if total > super::split::MAX_PARTS as usize {
        return Err(NotebookError::TooMany { what: "QR codes in one export", max: super::split::MAX_PARTS as usize });
    }
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut s = format!("{version}\r\n");
            for l in body {
                s.push_str(l);
                s.push_str("\r\n");
            }
            s.push_str(&format!("{SPLIT_RECORD},{data_id},{total},{}\r\n", i + 1));
            s
        })
        .collect())
}
