//! What can be wrong with a medication notebook text: one typed error, naming
//! the line (1-based, of the reassembled text) and the field where it applies.

/// Why a JAHIS medication notebook text was refused. Nothing is imported when
/// any of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotebookError {
    /// Nothing to read.
    #[error("the text is empty")]
    Empty,
    /// Larger than any notebook (a guard against pasting the wrong file).
    #[error("the input is {size} bytes; a medication notebook text is at most {max} bytes")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// Bytes accepted.
        max: usize,
    },
    /// The bytes are neither UTF-8 nor Shift_JIS.
    #[error("the text is neither UTF-8 nor Shift_JIS (first undecodable byte at offset {offset})")]
    Encoding {
        /// Byte offset of the first byte that does not decode.
        offset: usize,
    },
    /// The first line is not a version record.
    #[error(
        "line {line}: not a JAHIS medication notebook text (the first line must be the version record JAHISTCnn,…)"
    )]
    NotJahis {
        /// The line.
        line: usize,
    },
    /// A version this product does not read.
    #[error("line {line}: version {version} is not supported (JAHISTC03 to JAHISTC08: specification Ver.2.0 to 2.6)")]
    UnsupportedVersion {
        /// The line.
        line: usize,
        /// The version record's value.
        version: String,
    },
    /// A field does not fit its layout.
    #[error("line {line}, record {record}, field {field}: {reason}")]
    Field {
        /// The line.
        line: usize,
        /// The record number (e.g. `201`).
        record: String,
        /// The field's name in the specification (e.g. `薬品コード`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A control character inside a line.
    #[error("line {line}, field {field}: control character U+{code:04X} is not allowed")]
    ControlCharacter {
        /// The line.
        line: usize,
        /// The field's position (1 = the record number).
        field: usize,
        /// The character.
        code: u32,
    },
    /// A record that belongs to a dispensing appears before any dispensing date record.
    #[error("line {line}: record {record} must follow a dispensing date record (5)")]
    OutsideDispensing {
        /// The line.
        line: usize,
        /// The record number.
        record: String,
    },
    /// A split QR code whose other parts have not been read.
    #[error("split QR data {data_id}: part(s) {missing:?} of {total} not read yet")]
    SplitIncomplete {
        /// The data id of the split (分割制御レコード データ固有ID).
        data_id: String,
        /// Parts in all.
        total: u32,
        /// Part numbers still missing.
        missing: Vec<u32>,
    },
    /// Two parts of one split that cannot both be right.
    #[error("split QR data {data_id}: {reason}")]
    SplitConflict {
        /// The data id.
        data_id: String,
        /// What disagrees.
        reason: String,
    },
    /// A character the Shift_JIS export cannot write.
    #[error("{field}: the character {character:?} cannot be written in Shift_JIS")]
    Unencodable {
        /// Which value.
        field: String,
        /// The character.
        character: char,
    },
    /// A single record longer than one QR code holds.
    #[error("a record of {bytes} bytes does not fit in one QR code of {max} bytes")]
    RecordTooLong {
        /// Bytes of the record.
        bytes: usize,
        /// Bytes per QR code.
        max: usize,
    },
    /// More than the format or this product handles.
    #[error("{what}: at most {max}")]
    TooMany {
        /// What there are too many of.
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

impl NotebookError {
    /// The line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::NotJahis { line }
            | Self::UnsupportedVersion { line, .. }
            | Self::Field { line, .. }
            | Self::ControlCharacter { line, .. }
            | Self::OutsideDispensing { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Shorthand for a [`NotebookError::Field`].
pub(crate) fn field_error(line: usize, record: &str, field: &'static str, reason: impl Into<String>) -> NotebookError {
    NotebookError::Field { line, record: record.to_owned(), field, reason: reason.into() }
}
