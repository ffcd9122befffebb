//! The municipal CSV upload of the care-team portal: a health center uploads the results of a
//! checkup session or a vaccination day as one CSV file (`docs/portal.md`, "Municipal upload").
//!
//! - **Template**: a header row, then one row per result. Column `identifier` names the child
//!   (or mother) by an identifier the family shared (`value`, or `system|value`); the other
//!   columns are the result form's fields, named by their dataset item paths exactly as the
//!   form's ([`ResultForm::fields`]): e.g. `identifier,date,checkup_type,weight,length,…`.
//!   Columns may come in any order; a column the form does not have is refused; the form's
//!   required fields must have a column. [`template`] writes the header.
//! - **Encoding**: UTF-8 (a byte order mark is skipped) or Shift_JIS (`Encoding::Auto`: UTF-8
//!   when the bytes are valid UTF-8, else Shift_JIS; bytes that are neither are refused).
//! - **Preview** ([`process`] without commit): every row is read, matched to a patient by its
//!   identifier among the patients the organization's grants cover, and checked exactly as a
//!   write would be (the form's fields, phr-core's validation, a grant allowing the write);
//!   each row's problems are listed, and unmatched or ambiguous identifiers. Nothing is stored.
//! - **Commit**: the same checks again; if any row has a problem nothing is stored, else every
//!   row is written in one transaction ([`crate::app::fhir::write::write_records`]), each
//!   audited `portal_write` in its family's log with the staff member's name. The report lists
//!   what was stored.
//!
//! Matching reads the identifiers of every patient the organization may see (through its
//! grants); the patients a row matched are audited `portal_search`, as a search would be.

use std::collections::HashMap;

use phr_core::dataset::{RecordBody, Subject};

use super::patients::{cached_listings, identifier_matches, staff_writer, Listed};
use super::results::{body_of, ResultForm};
use super::StaffSession;
use crate::app::audit::AuditAction;
use crate::app::error::AppError;
use crate::app::fhir::append_read_audits;
use crate::app::fhir::patient::patient_audits;
use crate::app::fhir::write::{check_body, may_write, write_records};
use crate::app::fhir::Visible;
use crate::app::App;

/// Most rows one file may hold.
pub const MAX_ROWS: usize = 2000;
/// Most bytes one file may have.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// The column naming the patient.
pub const IDENTIFIER_COLUMN: &str = "identifier";

/// How the file's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 if the bytes are valid UTF-8, else Shift_JIS.
    Auto,
    Utf8,
    ShiftJis,
}

impl Encoding {
    /// `auto`, `utf-8` or `shift_jis` (as the upload form sends it).
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "" | "auto" => Some(Encoding::Auto),
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "shift_jis" | "shift-jis" | "sjis" => Some(Encoding::ShiftJis),
            _ => None,
        }
    }
}

/// The file's text (400 when the bytes are not text in the encoding).
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, AppError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    let utf8 = || std::str::from_utf8(bytes).map(str::to_owned);
    let shift_jis = || {
        encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes).map(|text| text.into_owned())
    };
    let text = match encoding {
        Encoding::Utf8 => utf8().ok(),
        Encoding::ShiftJis => shift_jis(),
        Encoding::Auto => utf8().ok().or_else(shift_jis),
    };
    text.ok_or_else(|| AppError::BadRequest("the file is not text in UTF-8 or Shift_JIS".into()))
}

/// One row of the file: its row number (the header is row 1, as a spreadsheet shows it), the
/// identifier, the values by field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub line: u64,
    pub identifier: String,
    pub values: Vec<(String, String)>,
}

/// The header of the template CSV of `form`: `identifier` and the form's fields.
pub fn template(form: ResultForm) -> String {
    let mut columns = vec![IDENTIFIER_COLUMN];
    columns.extend(form.fields().iter().map(|f| f.path));
    format!("{}\r\n", columns.join(","))
}

/// The rows of `text` (400 naming the problem: a header without `identifier` or a required
/// field's column, an unknown or repeated column, a malformed line, no rows, too many rows).
pub fn parse(text: &str, form: ResultForm) -> Result<Vec<UploadRow>, AppError> {
    let bad = |m: String| AppError::BadRequest(m);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if headers[..i].contains(h) {
            return Err(bad(format!("column {h:?} is given twice")));
        }
        if h != IDENTIFIER_COLUMN && !form.fields().iter().any(|f| f.path == h) {
            return Err(bad(format!("column {h:?} is not a field of the {} form", form.slug())));
        }
    }
    let required =
        std::iter::once(IDENTIFIER_COLUMN).chain(form.fields().iter().filter(|f| f.required).map(|f| f.path));
    for column in required {
        if !headers.iter().any(|h| h == column) {
            return Err(bad(format!("the header row has no {column:?} column")));
        }
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        // Row 1 is the header.
        let line = index as u64 + 2;
        let record = record.map_err(|e| bad(format!("row {line} cannot be read: {}", csv_problem(&e))))?;
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(AppError::PayloadTooLarge(format!("a file may hold at most {MAX_ROWS} rows")));
        }
        let mut identifier = String::new();
        let mut values = Vec::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            if h == IDENTIFIER_COLUMN {
                identifier = v.trim().to_owned();
            } else {
                values.push((h.clone(), v.to_owned()));
            }
        }
        rows.push(UploadRow { line, identifier, values });
    }
    if rows.is_empty() {
        return Err(bad("the file has no rows after the header".into()));
    }
    Ok(rows)
}

/// A CSV error in words, without the offending content.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("it has {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "it is not valid text".into(),
        _ => "it is not valid CSV".into(),
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    pub line: u64,
    pub identifier: String,
    /// The matched patient's opaque id and name (if shared).
    pub patient: Option<(String, Option<String>)>,
    /// Problems, each `field: reason` or about the row as a whole; empty when it can be stored.
    pub problems: Vec<String>,
    /// The record stored (on commit).
    pub record_id: Option<String>,
}

/// A preview or a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    pub form: ResultForm,
    pub rows: Vec<RowOutcome>,
    /// Every row was stored.
    pub committed: bool,
}

impl UploadReport {
    /// Rows with a problem.
    pub fn problem_rows(&self) -> usize {
        self.rows.iter().filter(|r| !r.problems.is_empty()).count()
    }
}

/// Previews (`commit` false) or commits the rows of a file for `form`.
pub async fn process(
    app: &App,
    staff: &StaffSession,
    form: ResultForm,
    rows: Vec<UploadRow>,
    commit: bool,
) -> Result<UploadReport, AppError> {
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let max_records = app.limits.max_records_per_account;
    let writer = staff_writer(staff);
    let cache = app.portal.listings.clone();
    app.db(move |conn| {
        let visible = Visible::load(conn, &visibility, &keys, &writer.organization_id)?;
        let patients = cached_listings(conn, &visible, cache.as_deref(), &writer.organization_id)?;
        let index = Index::new(&patients);
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut writes: Vec<((String, Subject), RecordBody)> = Vec::new();
        // The patients rows matched, each once, in patient order.
        let mut used: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
        for row in rows {
            let mut outcome = RowOutcome {
                line: row.line,
                identifier: row.identifier.clone(),
                patient: None,
                problems: Vec::new(),
                record_id: None,
            };
            let matched = index.find(&patients, &row.identifier);
            let target = match matched.as_slice() {
                [] if row.identifier.is_empty() => {
                    outcome.problems.push(format!("{IDENTIFIER_COLUMN}: is required"));
                    None
                }
                [] => {
                    outcome.problems.push(format!("{IDENTIFIER_COLUMN}: no patient who shared their record has it"));
                    None
                }
                [one] => Some(*one),
                _ => {
                    outcome.problems.push(format!("{IDENTIFIER_COLUMN}: several patients have it; add its system"));
                    None
                }
            };
            if let Some(i) = target {
                let p = &patients[i];
                outcome.patient = Some((p.listing.patient_id.clone(), p.listing.name.clone()));
                used.insert(i);
                if !form.fits(&p.subject) {
                    outcome.problems.push(format!("{IDENTIFIER_COLUMN}: a {} is not about this patient", form.kind()));
                }
            }
            match (body_of(form, &row.values), target) {
                (Err(errors), _) => {
                    outcome.problems.extend(errors.fields.into_iter().map(|(f, r)| format!("{f}: {r}")));
                    outcome.problems.extend(errors.general);
                }
                // A matched patient the form fits: checked as the write will be.
                (Ok(body), Some(i)) if outcome.problems.is_empty() => {
                    let p = &patients[i];
                    let checked = check_body(form.slug(), &body, &p.subject).and_then(|()| {
                        may_write(
                            &visible,
                            &writer.organization_id,
                            &p.account,
                            (body.kind(), p.subject, body.effective_date()),
                        )
                    });
                    match checked {
                        Ok(()) => writes.push(((p.account.clone(), p.subject), body)),
                        Err(AppError::Unprocessable { problems, .. }) => {
                            outcome.problems.extend(problems.into_iter().map(|p| format!("{}: {}", p.path, p.reason)))
                        }
                        Err(AppError::Forbidden(reason)) => outcome.problems.push(reason),
                        Err(e) => return Err(e),
                    }
                }
                (Ok(_), _) => {}
            }
            outcomes.push(outcome);
        }
        // Every matched patient's audit event in one transaction.
        let reads: Vec<_> =
            used.iter().flat_map(|i| patient_audits(&visible, &patients[*i].account, &patients[*i].records)).collect();
        append_read_audits(conn, &audits, &writer.actor, AuditAction::PortalSearch, &reads)?;
        let clean = outcomes.iter().all(|o| o.problems.is_empty());
        let mut committed = false;
        if commit && clean {
            let ids = write_records(conn, &visible, &writer, writes, max_records)?;
            for (outcome, id) in outcomes.iter_mut().zip(ids) {
                outcome.record_id = Some(id.to_string());
            }
            committed = true;
        }
        Ok(UploadReport { form, rows: outcomes, committed })
    })
    .await
}

/// The patients by identifier value and by `system|value`.
struct Index {
    by_value: HashMap<String, Vec<usize>>,
}

impl Index {
    fn new(patients: &[Listed]) -> Index {
        let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in patients.iter().enumerate() {
            for (_, value) in &p.listing.identifiers {
                let entry = by_value.entry(value.clone()).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        Index { by_value }
    }

    /// The patients with identifier `query` (`value` or `system|value`).
    fn find(&self, patients: &[Listed], query: &str) -> Vec<usize> {
        let value = query.split_once('|').map_or(query, |(_, v)| v);
        self.by_value
            .get(value)
            .map(|found| found.iter().copied().filter(|i| identifier_matches(&patients[*i].listing, query)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_and_utf8_with_or_without_a_bom_decode_and_other_bytes_are_refused() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("identifier,note\r\nA-1,異常なし\r\n");
        assert_eq!(decode(&sjis, Encoding::Auto).unwrap(), "identifier,note\r\nA-1,異常なし\r\n");
        assert_eq!(decode(&sjis, Encoding::ShiftJis).unwrap(), "identifier,note\r\nA-1,異常なし\r\n");
        assert!(decode(&sjis, Encoding::Utf8).is_err(), "Shift_JIS is not UTF-8");
        let utf8 = "\u{feff}identifier\r\nA-1\r\n".as_bytes();
        assert_eq!(decode(utf8, Encoding::Auto).unwrap(), "identifier\r\nA-1\r\n");
        assert!(decode(&[0x82, 0xff, 0xff], Encoding::Auto).is_err());
        assert_eq!(Encoding::parse("Shift_JIS"), Some(Encoding::ShiftJis));
        assert_eq!(Encoding::parse("latin1"), None);
    }

    #[test]
    fn rows_are_read_by_their_header_in_any_column_order_and_blank_lines_are_skipped() {
        let text = "weight,identifier,date,checkup_type\r\n6.1,H-1,2026-11-02,months_3_4\r\n,,,\r\n\"7,0\",H-2,2026-11-02,months_3_4\r\n";
        let rows = parse(text, ResultForm::ChildCheckup).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].identifier.as_str()), (2, "H-1"));
        assert_eq!(rows[1].line, 4);
        assert!(rows[1].values.contains(&("weight".to_owned(), "7,0".to_owned())));
    }

    #[test]
    fn a_bad_header_or_line_is_refused_with_what_is_wrong() {
        let refused = |text: &str| match parse(text, ResultForm::ChildCheckup) {
            Err(AppError::BadRequest(m)) | Err(AppError::PayloadTooLarge(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(refused("date,checkup_type\r\n2026-11-02,month_1\r\n").contains("\"identifier\""));
        assert!(refused("identifier,date\r\nH-1,2026-11-02\r\n").contains("\"checkup_type\""));
        assert!(refused("identifier,date,checkup_type,height\r\nH,2026-11-02,month_1,1\r\n").contains("\"height\""));
        assert!(refused("identifier,date,date,checkup_type\r\n").contains("twice"));
        assert!(refused("identifier,date,checkup_type\r\nH-1,2026-11-02\r\n").contains("row 2"));
        assert!(refused("identifier,date,checkup_type\r\n").contains("no rows"));
        let many = format!("identifier,date,checkup_type\r\n{}", "H,2026-11-02,month_1\r\n".repeat(MAX_ROWS + 1));
        assert!(refused(&many).contains("at most"));
    }

    #[test]
    fn the_template_is_the_identifier_and_the_forms_fields() {
        assert!(template(ResultForm::Immunization).starts_with("identifier,date_given,vaccine,series,dose_number,"));
        let header = template(ResultForm::ChildCheckup);
        let rows = parse(
            &format!("{header}H-1,2026-11-02,month_1{}\r\n", ",".repeat(header.matches(',').count() - 2)),
            ResultForm::ChildCheckup,
        );
        assert_eq!(rows.unwrap().len(), 1, "the template reads back");
    }
}
