//! Split QR codes (specification Ver.2.6, 3.2.9(3), 分割制御レコード 911).
//!
//! A pharmacy whose notebook data does not fit in one QR code prints several.
//! Each part starts with the version record and ends with a split-control
//! record `911,<data id (14 digits)>,<parts in all>,<this part's number>`; the
//! records between are whole records, in order. The parts may be scanned in
//! any order: [`QrAssembler`] keeps what has been read, says what is missing,
//! and gives the reassembled text once every part is there.

use std::collections::BTreeMap;

use super::error::{field_error, NotebookError};
use super::text::{records, RawRecord};

/// The split-control record number.
pub const SPLIT_RECORD: &str = "911";
/// Most parts one split may have (the field is 3 digits).
pub const MAX_PARTS: u32 = 999;
/// Most texts one assembler holds (split or not).
pub const MAX_TEXTS: usize = 1_000;

/// One split being gathered.
#[derive(Debug, Clone, Default)]
struct Split {
    version_line: String,
    total: u32,
    /// Part number → its records between the version and the split record, verbatim.
    parts: BTreeMap<u32, Vec<String>>,
}

/// Gathers the texts of scanned QR codes (or files) and hands back whole
/// notebook texts: unsplit texts as they are, splits once complete.
#[derive(Debug, Clone, Default)]
pub struct QrAssembler {
    whole: Vec<String>,
    splits: BTreeMap<String, Split>,
    texts: usize,
}

/// Where an assembler stands after a text was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssemblyProgress {
    /// Splits still incomplete: (data id, parts in all, missing part numbers).
    pub incomplete: Vec<(String, u32, Vec<u32>)>,
    /// Whole texts ready (unsplit texts and complete splits).
    pub ready: usize,
}

impl QrAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the text of one QR code or file. A part scanned twice is ignored
    /// when identical and refused when it differs.
    pub fn add(&mut self, text: &str) -> Result<AssemblyProgress, NotebookError> {
        self.texts += 1;
        if self.texts > MAX_TEXTS {
            return Err(NotebookError::TooMany { what: "QR codes or files in one import", max: MAX_TEXTS });
        }
        let recs = records(text)?;
        let Some(split_at) = recs.iter().position(|r| r.number() == SPLIT_RECORD) else {
            if recs.is_empty() {
                return Err(NotebookError::Empty);
            }
            self.whole.push(text.to_owned());
            return Ok(self.progress());
        };
        let control = &recs[split_at];
        let (data_id, total, number) = parse_control(control)?;
        let first = &recs[0];
        if split_at == 0 || !first.number().starts_with("JAHISTC") {
            return Err(NotebookError::NotJahis { line: first.line });
        }
        let body: Vec<String> = recs
            .iter()
            .enumerate()
            .filter(|(i, r)| *i != 0 && *i != split_at && r.number() != SPLIT_RECORD)
            .map(|(_, r)| r.verbatim())
            .collect();
        let version_line = first.verbatim();
        let split = self.splits.entry(data_id.clone()).or_insert_with(|| Split {
            version_line: version_line.clone(),
            total,
            parts: BTreeMap::new(),
        });
        if split.total != total {
            return Err(NotebookError::SplitConflict {
                data_id,
                reason: format!("one part says {} parts in all, another {total}", split.total),
            });
        }
        if split.version_line != version_line {
            return Err(NotebookError::SplitConflict {
                data_id,
                reason: format!("part {number} has a different version record"),
            });
        }
        match split.parts.get(&number) {
            Some(existing) if *existing != body => {
                return Err(NotebookError::SplitConflict {
                    data_id,
                    reason: format!("part {number} was read twice with different contents"),
                })
            }
            Some(_) => {}
            None => {
                split.parts.insert(number, body);
            }
        }
        Ok(self.progress())
    }

    /// Splits still incomplete and whole texts ready.
    pub fn progress(&self) -> AssemblyProgress {
        let incomplete = self
            .splits
            .iter()
            .filter_map(|(id, s)| {
                let missing: Vec<u32> = (1..=s.total).filter(|n| !s.parts.contains_key(n)).collect();
                (!missing.is_empty()).then(|| (id.clone(), s.total, missing))
            })
            .collect::<Vec<_>>();
        let ready = self.whole.len() + self.splits.len() - incomplete.len();
        AssemblyProgress { incomplete, ready }
    }

    /// The whole texts, in the order first read; an error naming the missing
    /// parts if a split is incomplete.
    pub fn finish(self) -> Result<Vec<String>, NotebookError> {
        if let Some((data_id, total, missing)) = self.progress().incomplete.into_iter().next() {
            return Err(NotebookError::SplitIncomplete { data_id, total, missing });
        }
        let mut out = self.whole;
        for split in self.splits.into_values() {
            let mut lines = Vec::with_capacity(1 + split.parts.values().map(Vec::len).sum::<usize>());
            lines.push(split.version_line);
            lines.extend(split.parts.into_values().flatten());
            out.push(lines.join("\r\n") + "\r\n");
        }
        Ok(out)
    }
}

/// Reassembles the texts of scanned QR codes (any order) into whole notebook texts.
pub fn assemble<S: AsRef<str>>(texts: &[S]) -> Result<Vec<String>, NotebookError> {
    let mut a = QrAssembler::new();
    for t in texts {
        a.add(t.as_ref())?;
    }
    a.finish()
}

fn parse_control(r: &RawRecord) -> Result<(String, u32, u32), NotebookError> {
    let id = r.get(1);
    if id.len() != 14 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_error(r.line, SPLIT_RECORD, "データ固有ID", format!("must be 14 digits, got {id:?}")));
    }
    let number = |i: usize, name: &'static str| -> Result<u32, NotebookError> {
        let v = r.get(i);
        match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PARTS).contains(&n) && v.len() <= 3 => Ok(n),
            _ => Err(field_error(
                r.line,
                SPLIT_RECORD,
                name,
                format!("must be a number from 1 to {MAX_PARTS}, got {v:?}"),
            )),
        }
    };
    let total = number(2, "分割数")?;
    let part = number(3, "データ連番")?;
    if part > total {
        return Err(field_error(r.line, SPLIT_RECORD, "データ連番", format!("part {part} of {total} parts")));
    }
    Ok((id.to_owned(), total, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: u32, total: u32, body: &str) -> String {
        format!("JAHISTC08,1\r\n{body}\r\n911,20260301123456,{total},{n}\r\n")
    }

    #[test]
    fn three_parts_in_any_order_give_the_records_in_part_order() {
        let (a, b, c) =
            (part(1, 3, "1,山田花子,2,19900101"), part(2, 3, "5,20260301,1"), part(3, 3, "201,1,薬,1,錠,1,,1"));
        let texts = assemble(&[c.clone(), a.clone(), b.clone()]).unwrap();
        assert_eq!(
            texts,
            vec!["JAHISTC08,1\r\n1,山田花子,2,19900101\r\n5,20260301,1\r\n201,1,薬,1,錠,1,,1\r\n".to_owned()]
        );
        assert_eq!(assemble(&[b, c, a]).unwrap(), texts);
    }

    #[test]
    fn a_missing_part_is_named() {
        let err = assemble(&[part(3, 3, "201,1,薬"), part(1, 3, "5,20260301")]).unwrap_err();
        assert_eq!(
            err,
            NotebookError::SplitIncomplete { data_id: "20260301123456".into(), total: 3, missing: vec![2] }
        );
        assert!(err.to_string().contains("[2]"), "{err}");
    }

    #[test]
    fn progress_reports_what_is_missing_after_each_scan() {
        let mut a = QrAssembler::new();
        let p = a.add(&part(2, 3, "5,20260301")).unwrap();
        assert_eq!(p.incomplete, vec![("20260301123456".into(), 3, vec![1, 3])]);
        assert_eq!(p.ready, 0);
        a.add(&part(1, 3, "1,x")).unwrap();
        let p = a.add(&part(3, 3, "201,1,y")).unwrap();
        assert!(p.incomplete.is_empty());
        assert_eq!(p.ready, 1);
    }

    #[test]
    fn the_same_part_twice_is_ignored_and_a_different_one_refused() {
        let mut a = QrAssembler::new();
        a.add(&part(1, 2, "5,20260301")).unwrap();
        a.add(&part(1, 2, "5,20260301")).unwrap();
        let err = a.add(&part(1, 2, "5,20260302")).unwrap_err();
        assert!(matches!(err, NotebookError::SplitConflict { .. }), "{err}");
    }

    #[test]
    fn parts_disagreeing_on_the_count_are_refused() {
        let mut a = QrAssembler::new();
        a.add(&part(1, 2, "5,20260301")).unwrap();
        assert!(matches!(a.add(&part(2, 3, "201,1,x")), Err(NotebookError::SplitConflict { .. })));
    }

    #[test]
    fn a_malformed_split_record_names_its_field() {
        let err = assemble(&["JAHISTC08,1\r\n5,20260301\r\n911,123,2,1"]).unwrap_err();
        assert!(matches!(err, NotebookError::Field { field: "データ固有ID", line: 3, .. }), "{err}");
        let err = assemble(&["JAHISTC08,1\r\n911,20260301123456,2,3"]).unwrap_err();
        assert!(matches!(err, NotebookError::Field { field: "データ連番", .. }), "{err}");
    }

    #[test]
    fn unsplit_texts_pass_through_next_to_a_split() {
        let single = "JAHISTC08,1\r\n5,20260301,1\r\n";
        let texts = assemble(&[single.to_owned(), part(1, 1, "5,20260302,1")]).unwrap();
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[0], single);
    }
}
