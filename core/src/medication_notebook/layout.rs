//! The record layouts (specification Ver.2.6, 3.2.8): one whole notebook text
//! read into typed records. Which record belongs where:
//!
//! - notebook level: version (`JAHISTCnn`), patient (1), patient remarks (2),
//!   OTC drugs (3) and their ingredients (31), notebook memo (4), family
//!   pharmacist (701), split control (911);
//! - one dispensing per dispensing-date record (5), holding the pharmacy (11),
//!   pharmacist (15), prescribing institution (51) and doctor (55), drugs (201)
//!   with their supplements (281) and cautions (291), directions (301) with
//!   supplements (311) and prescription cautions (391) per prescription group
//!   (RP number), and cautions (401), provided information (411), leftover
//!   check (421), remarks (501) and patient entries (601).
//!
//! Record numbers this layout does not know are kept verbatim where they stand.

use chrono::NaiveDate;

use super::error::{field_error, NotebookError};
use super::text::{records, RawRecord};
use crate::dataset::medication::{DrugCode, DrugCodeSystem, MedicationNote, MedicationNoteKind};

/// The versions read: JAHISTC03 (Ver.2.0) to JAHISTC08 (Ver.2.5 and 2.6).
/// Ver.1.x (JAHISTC01/02) had another patient and drug layout and is refused.
pub const SUPPORTED_VERSIONS: std::ops::RangeInclusive<u8> = 3..=8;
/// The version written by the export.
pub const EXPORT_VERSION: &str = "JAHISTC08";
/// The records that belong to a dispensing (they follow a dispensing date
/// record, 5): what [`dispensing_record`] reads, and what is refused before one.
const DISPENSING_RECORDS: [&str; 15] =
    ["11", "15", "51", "55", "201", "281", "291", "301", "311", "391", "401", "411", "421", "501", "601"];
/// Most dispensings in one text.
pub const MAX_DISPENSINGS: usize = 10_000;

/// Who made a record (レコード作成者).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCreator {
    /// 1: a clinic or pharmacy.
    Professional,
    /// 2: the patient or family.
    Patient,
    /// 8 / 9 / absent: other or unknown.
    Other,
}

impl RecordCreator {
    fn parse(v: &str) -> Self {
        match v {
            "1" => Self::Professional,
            "2" => Self::Patient,
            _ => Self::Other,
        }
    }
}

/// The patient record (1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotebookPatient {
    /// 患者氏名.
    pub name: Option<String>,
    /// 患者生年月日.
    pub birth_date: Option<NaiveDate>,
    /// 患者氏名カナ.
    pub name_kana: Option<String>,
}

/// An OTC drug (3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtcDrug {
    /// Line of the record.
    pub line: usize,
    /// 薬品名称.
    pub name: String,
    /// 服用開始年月日.
    pub start: Option<NaiveDate>,
    /// 服用終了年月日.
    pub end: Option<NaiveDate>,
    /// レコード作成者.
    pub creator: RecordCreator,
}

/// A drug (201) with its notes (281, 291).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drug {
    /// 薬品名称.
    pub name: String,
    /// 用量.
    pub dose: Option<String>,
    /// 単位名.
    pub unit: Option<String>,
    /// 薬品コード種別 + 薬品コード.
    pub code: Option<DrugCode>,
    /// レコード作成者.
    pub creator: RecordCreator,
    /// 281 and 291.
    pub notes: Vec<MedicationNote>,
}

/// One prescription group (RP number): its drugs, directions (301) and notes (311, 391).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rp {
    /// RP番号.
    pub number: u32,
    /// The drugs.
    pub drugs: Vec<Drug>,
    /// 用法名称.
    pub directions: Option<String>,
    /// 調剤数量 when the 調剤単位 is days (日分).
    pub days: Option<u32>,
    /// 調剤数量 and 調剤単位 when the unit is not days (e.g. "10回分").
    pub quantity_text: Option<String>,
    /// 311 and 391.
    pub notes: Vec<MedicationNote>,
}

/// One dispensing (5 and what follows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispensing {
    /// Line of the dispensing date record.
    pub line: usize,
    /// 調剤等年月日.
    pub date: NaiveDate,
    /// レコード作成者 of the date record.
    pub creator: RecordCreator,
    /// 11: name and (prefecture, score table, institution code).
    pub pharmacy: Option<String>,
    /// 11 code fields, joined (part of the fingerprint).
    pub pharmacy_code: String,
    /// 15: name.
    pub pharmacist: Option<String>,
    /// 51: name.
    pub prescriber: Option<String>,
    /// 55: name.
    pub doctor: Option<String>,
    /// Prescription groups, in RP number order.
    pub rps: Vec<Rp>,
    /// 401, 411, 421, 501, 601.
    pub notes: Vec<MedicationNote>,
    /// Records of this dispensing with no typed home, verbatim.
    pub verbatim: Vec<String>,
}

/// A whole notebook text, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notebook {
    /// `JAHISTCnn`.
    pub version: String,
    /// 出力区分 (1: clinic/pharmacy to patient, 2: patient to clinic/pharmacy).
    pub output_category: Option<String>,
    /// The patient record, if present.
    pub patient: Option<NotebookPatient>,
    /// OTC drugs.
    pub otc: Vec<OtcDrug>,
    /// Dispensings, in the order written.
    pub dispensings: Vec<Dispensing>,
    /// Notebook-level records with no typed home (2, 31, 4, 701, unknown), verbatim.
    pub verbatim: Vec<String>,
}

/// Parses a JAHIS date: Western `YYYYMMDD` or Japanese era `GYYMMDD` (M/T/S/H/R).
pub fn parse_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let (year, rest) = match b.len() {
        8 if digits(b) => (v[..4].parse::<i32>().ok()?, &v[4..]),
        7 if digits(&b[1..]) => {
            let base = match b[0] {
                b'M' => 1867,
                b'T' => 1911,
                b'S' => 1925,
                b'H' => 1988,
                b'R' => 2018,
                _ => return None,
            };
            (base + v[1..3].parse::<i32>().ok()?, &v[3..])
        }
        _ => return None,
    };
    let d = NaiveDate::from_ymd_opt(year, rest[..2].parse().ok()?, rest[2..].parse().ok()?)?;
    crate::dates::in_range(d).then_some(d)
}

fn date_field(r: &RawRecord, i: usize, name: &'static str) -> Result<Option<NaiveDate>, NotebookError> {
    let v = r.get(i);
    if v.is_empty() {
        return Ok(None);
    }
    parse_date(v)
        .map(Some)
        .ok_or_else(|| field_error(r.line, r.number(), name, format!("must be a date YYYYMMDD or GYYMMDD, got {v:?}")))
}

fn required(r: &RawRecord, i: usize, name: &'static str) -> Result<String, NotebookError> {
    r.opt(i).ok_or_else(|| field_error(r.line, r.number(), name, "is required"))
}

fn rp_number(r: &RawRecord) -> Result<u32, NotebookError> {
    let v = r.get(1);
    match v.parse::<u32>() {
        Ok(n) if (1..=999).contains(&n) && v.len() <= 3 => Ok(n),
        _ => Err(field_error(r.line, r.number(), "RP番号", format!("must be a number from 1 to 999, got {v:?}"))),
    }
}

fn drug_code(r: &RawRecord) -> Result<Option<DrugCode>, NotebookError> {
    let (kind, code) = (r.get(5), r.get(6));
    let system = match kind {
        "" | "1" => return Ok(None),
        "2" => DrugCodeSystem::Receipt,
        "3" => DrugCodeSystem::Mhlw,
        "4" => DrugCodeSystem::Yj,
        "6" => DrugCodeSystem::Hot,
        other => {
            return Err(field_error(r.line, "201", "薬品コード種別", format!("must be 1, 2, 3, 4 or 6, got {other:?}")))
        }
    };
    if code.is_empty() {
        return Err(field_error(r.line, "201", "薬品コード", format!("is required when 薬品コード種別 is {kind}")));
    }
    let c = DrugCode { system, code: code.to_owned() };
    if let Some(problem) = c.format_problem() {
        return Err(field_error(r.line, "201", "薬品コード", problem));
    }
    Ok(Some(c))
}

fn note(r: &RawRecord, kind: MedicationNoteKind, text_at: usize) -> Result<MedicationNote, NotebookError> {
    Ok(MedicationNote { kind, text: required(r, text_at, "内容")?, date: None, code: None })
}

/// Reads one whole notebook text (already reassembled, see [`super::split`]).
pub fn parse(text: &str) -> Result<Notebook, NotebookError> {
    let recs = records(text)?;
    let first = recs.first().ok_or(NotebookError::Empty)?;
    let version = first.number().trim().to_owned();
    let Some(n) = version.strip_prefix("JAHISTC") else { return Err(NotebookError::NotJahis { line: first.line }) };
    match n.parse::<u8>() {
        Ok(v) if n.len() == 2 && SUPPORTED_VERSIONS.contains(&v) => {}
        _ => return Err(NotebookError::UnsupportedVersion { line: first.line, version }),
    }
    let mut nb = Notebook {
        version,
        output_category: first.opt(1),
        patient: None,
        otc: Vec::new(),
        dispensings: Vec::new(),
        verbatim: Vec::new(),
    };
    for r in &recs[1..] {
        let num = r.number().trim();
        match num {
            "1" => {
                nb.patient = Some(NotebookPatient {
                    name: r.opt(1),
                    birth_date: date_field(r, 3, "患者生年月日")?,
                    name_kana: r.opt(10),
                })
            }
            "3" => nb.otc.push(OtcDrug {
                line: r.line,
                name: required(r, 1, "薬品名称")?,
                start: date_field(r, 2, "服用開始年月日")?,
                end: date_field(r, 3, "服用終了年月日")?,
                creator: RecordCreator::parse(r.get(4)),
            }),
            "911" => {}
            "2" | "31" | "4" | "701" => nb.verbatim.push(r.verbatim()),
            "5" => {
                if nb.dispensings.len() >= MAX_DISPENSINGS {
                    return Err(NotebookError::TooMany { what: "dispensings in one text", max: MAX_DISPENSINGS });
                }
                let date = date_field(r, 1, "調剤等年月日")?
                    .ok_or_else(|| field_error(r.line, "5", "調剤等年月日", "is required"))?;
                nb.dispensings.push(Dispensing {
                    line: r.line,
                    date,
                    creator: RecordCreator::parse(r.get(2)),
                    pharmacy: None,
                    pharmacy_code: String::new(),
                    pharmacist: None,
                    prescriber: None,
                    doctor: None,
                    rps: Vec::new(),
                    notes: Vec::new(),
                    verbatim: Vec::new(),
                });
            }
            _ => {
                let Some(d) = nb.dispensings.last_mut() else {
                    if DISPENSING_RECORDS.contains(&num) {
                        return Err(NotebookError::OutsideDispensing { line: r.line, record: num.to_owned() });
                    }
                    nb.verbatim.push(r.verbatim());
                    continue;
                };
                dispensing_record(d, r, num)?;
            }
        }
    }
    Ok(nb)
}

fn rp_mut(d: &mut Dispensing, number: u32) -> &mut Rp {
    match d.rps.iter().position(|rp| rp.number == number) {
        Some(i) => &mut d.rps[i],
        None => {
            d.rps.push(Rp { number, ..Default::default() });
            d.rps.last_mut().expect("just pushed")
        }
    }
}

fn dispensing_record(d: &mut Dispensing, r: &RawRecord, num: &str) -> Result<(), NotebookError> {
    use MedicationNoteKind as K;
    match num {
        "11" => {
            d.pharmacy = Some(required(r, 1, "医療機関等名称")?);
            d.pharmacy_code = [r.get(2), r.get(3), r.get(4)].join("/");
        }
        "15" => d.pharmacist = Some(required(r, 1, "医師・薬剤師氏名")?),
        "51" => d.prescriber = Some(required(r, 1, "医療機関名称")?),
        "55" => d.doctor = Some(required(r, 1, "医師氏名")?),
        "201" => {
            let n = rp_number(r)?;
            let drug = Drug {
                name: required(r, 2, "薬品名称")?,
                dose: r.opt(3),
                unit: r.opt(4),
                code: drug_code(r)?,
                creator: RecordCreator::parse(r.get(7)),
                notes: Vec::new(),
            };
            rp_mut(d, n).drugs.push(drug);
        }
        "281" | "291" => {
            let n = rp_number(r)?;
            let kind = if num == "281" { K::DrugSupplement } else { K::DrugCaution };
            let note = note(r, kind, 2)?;
            let rp = rp_mut(d, n);
            match rp.drugs.last_mut() {
                Some(drug) => drug.notes.push(note),
                // A note before its drug: it belongs to the group.
                None => rp.notes.push(note),
            }
        }
        "301" => {
            let n = rp_number(r)?;
            let (qty, unit) = (r.get(3), r.get(4));
            let rp = rp_mut(d, n);
            rp.directions = r.opt(2);
            match qty.parse::<u32>() {
                Ok(days) if unit == "日分" && (1..=365).contains(&days) => rp.days = Some(days),
                _ if qty.is_empty() && unit.is_empty() => {}
                _ => rp.quantity_text = Some(format!("{qty}{unit}")),
            }
        }
        "311" | "391" => {
            let n = rp_number(r)?;
            let kind = if num == "311" { K::DirectionsSupplement } else { K::PrescriptionCaution };
            let note = note(r, kind, 2)?;
            rp_mut(d, n).notes.push(note);
        }
        "401" => d.notes.push(note(r, K::Caution, 1)?),
        "411" => {
            let mut n = note(r, K::ProvidedInformation, 1)?;
            n.code = r.opt(2);
            d.notes.push(n);
        }
        "421" => d.notes.push(note(r, K::RemainingDrugs, 1)?),
        "501" => d.notes.push(note(r, K::Remark, 1)?),
        "601" => {
            let mut n = note(r, K::PatientEntry, 1)?;
            n.date = date_field(r, 2, "入力年月日")?;
            d.notes.push(n);
        }
        _ => d.verbatim.push(r.verbatim()),
    }
    Ok(())
}
