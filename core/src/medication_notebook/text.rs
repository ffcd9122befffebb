//! From bytes to records: the character encoding (UTF-8, or Shift_JIS as the
//! specification prescribes), line ends (CRLF, LF or CR) and comma-separated
//! fields. JAHIS text has no quoting: a comma inside a value is written as a
//! full-width comma (，), so a line splits on every ASCII comma.

use super::error::NotebookError;

/// The largest input accepted, in bytes. A notebook of 100 dispensings is
/// about 60 KB; 1 MiB leaves room for years of records and refuses, say, a
/// photo picked by mistake before it is decoded.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Decodes a notebook file or QR payload: UTF-8 (a BOM is skipped) when it is
/// valid UTF-8, otherwise Shift_JIS (the WHATWG Shift_JIS decoder, which is
/// Windows-31J: NEC and IBM extension characters such as ① and 髙 included).
pub fn decode(bytes: &[u8]) -> Result<String, NotebookError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(NotebookError::TooLarge { size: bytes.len(), max: MAX_INPUT_BYTES });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
    // The decoder writes into the capacity given and never grows it: reserve its worst case.
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or(NotebookError::TooLarge { size: bytes.len(), max: MAX_INPUT_BYTES })?;
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(out),
        encoding_rs::DecoderResult::Malformed(bad, consumed) => {
            // `read` counts the malformed sequence and `consumed` bytes after it.
            let offset = read.saturating_sub(usize::from(bad) + usize::from(consumed));
            Err(NotebookError::Encoding { offset })
        }
        // Not reached with the capacity reserved above; refused rather than trusted.
        encoding_rs::DecoderResult::OutputFull => Err(NotebookError::Encoding { offset: read }),
    }
}

/// One line of the text, split into fields (`fields[0]` is the record number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// 1-based line number.
    pub line: usize,
    /// The fields.
    pub fields: Vec<String>,
}

impl RawRecord {
    /// The record number (or the version record's `JAHISTCnn`).
    pub fn number(&self) -> &str {
        &self.fields[0]
    }

    /// Field `i` (1 = the first after the record number), empty when absent.
    pub fn get(&self, i: usize) -> &str {
        self.fields.get(i).map(|s| s.trim()).unwrap_or("")
    }

    /// Field `i`, or `None` when absent or empty.
    pub fn opt(&self, i: usize) -> Option<String> {
        let v = self.get(i);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// The record as written (fields joined by commas).
    pub fn verbatim(&self) -> String {
        self.fields.join(",")
    }
}

/// Splits a decoded text into its non-blank lines and their fields. A control
/// character (other than the line ends) is an error naming the line and field.
pub fn records(text: &str) -> Result<Vec<RawRecord>, NotebookError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        // A lone CR as line end (old Mac files) splits further; count it as one more line.
        for (j, part) in line.split('\r').enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = part.split(',').map(str::to_owned).collect();
            for (k, f) in fields.iter().enumerate() {
                if let Some(c) = f.chars().find(|c| c.is_control()) {
                    return Err(NotebookError::ControlCharacter { line: line_no + j, field: k, code: u32::from(c) });
                }
            }
            out.push(RawRecord { line: line_no + j, fields });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_bom_is_read_as_utf8() {
        assert_eq!(decode("JAHISTC08,1".as_bytes()).unwrap(), "JAHISTC08,1");
        assert_eq!(decode(b"\xEF\xBB\xBFJAHISTC08,1").unwrap(), "JAHISTC08,1");
    }

    #[test]
    fn shift_jis_is_read_including_nec_and_ibm_extension_characters() {
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode("201,1,カロナール錠①髙,1,錠");
        assert!(!unmappable);
        assert_eq!(decode(&sjis).unwrap(), "201,1,カロナール錠①髙,1,錠");
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_shift_jis_are_an_encoding_error_with_the_offset() {
        // 0x81 followed by 0x20 is not a Shift_JIS character, and not UTF-8 either.
        let err = decode(b"JAHISTC08,1\r\n1,\x81\x20").unwrap_err();
        assert_eq!(err, NotebookError::Encoding { offset: 15 });
    }

    #[test]
    fn shift_jis_text_longer_than_its_bytes_in_utf8_decodes_whole() {
        // Half-width katakana: one byte in Shift_JIS, three in UTF-8 (found by the fuzz target).
        let mut bytes = b"JAHISTC08,1\r\n501,".to_vec();
        bytes.extend(std::iter::repeat_n(0xB1u8, 4000));
        let text = decode(&bytes).unwrap();
        assert_eq!(text.chars().filter(|c| *c == 'ｱ').count(), 4000);
    }

    #[test]
    fn input_over_the_limit_is_refused_before_decoding() {
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert!(matches!(decode(&big), Err(NotebookError::TooLarge { .. })));
    }

    #[test]
    fn crlf_lf_and_cr_line_ends_give_the_same_records() {
        let a = records("JAHISTC08,1\r\n5,20260301,1\r\n").unwrap();
        let b = records("JAHISTC08,1\n5,20260301,1\n").unwrap();
        let c = records("JAHISTC08,1\r5,20260301,1\r").unwrap();
        let fields = |r: &Vec<RawRecord>| r.iter().map(|x| x.fields.clone()).collect::<Vec<_>>();
        assert_eq!(fields(&a), fields(&b));
        assert_eq!(fields(&a), fields(&c));
        assert_eq!(a[1].line, 2);
    }

    #[test]
    fn a_control_character_names_its_line_and_field() {
        let err = records("JAHISTC08,1\r\n201,1,カロ\u{7}ナール,1,錠").unwrap_err();
        assert_eq!(err, NotebookError::ControlCharacter { line: 2, field: 2, code: 7 });
    }

    #[test]
    fn empty_fields_are_kept_in_place() {
        let r = records("1,山田花子,,20260101").unwrap();
        assert_eq!(r[0].get(2), "");
        assert_eq!(r[0].opt(2), None);
        assert_eq!(r[0].get(3), "20260101");
        assert_eq!(r[0].get(9), "");
    }
}
