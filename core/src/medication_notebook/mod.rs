//! The electronic medication notebook (電子版お薬手帳) in the JAHIS format.
//!
//! Specification followed: **JAHIS 電子版お薬手帳データフォーマット仕様書
//! Ver.2.6** (version record `JAHISTC08`; Ver.2.5 has the same record
//! layouts), published by JAHIS (保健医療福祉情報システム工業会) — section 3.1
//! (version record), 3.2.8 (record layouts: patient 表3-10, drug 表3-20, split
//! control 表3-32 and the rest) and 3.2.9(3) (splitting over several QR codes),
//! with the code tables of its appendix (薬品コード種別 1/2/3/4/6, レコード作成者
//! 1/2/8/9, 年号区分 M/T/S/H/R). Texts of versions JAHISTC03 (Ver.2.0) to
//! JAHISTC08 are read; the drug, directions and dispensing records kept their
//! layout across them (Ver.2.5 appended the generic-name fields to 201, which
//! are read past). The test vectors in `vectors/` were written from these
//! layouts for this product.
//!
//! | file | owns |
//! |---|---|
//! | [`text`] | bytes → text (UTF-8 or Shift_JIS), lines (CRLF/LF/CR), fields |
//! | [`split`] | reassembling split QR codes in any scan order (911) |
//! | [`layout`] | the record layouts: a text read into typed records |
//! | [`import`] | records → `medication` records, the dispensing fingerprint, the wrong-person check |
//! | [`export`] | `medication` records → JAHIS text, Shift_JIS, QR-sized chunks |
//! | [`current`] | the current medicines view and pregnancy / breastfeeding flags |
//!
//! Pure: no I/O and no clock (`today` is passed in). The mobile engine calls
//! these and stores the medications; the FHIR mapping serves them.

pub mod current;
pub mod error;
pub mod export;
pub mod import;
pub mod layout;
pub mod split;
pub mod text;

pub use current::{current_medicines, CarePeriod, CarePeriodKind, CurrentDispensing, CurrentDrug};
pub use error::NotebookError;
pub use export::{export_text, qr_chunks, to_shift_jis, ExportPatient, DEFAULT_QR_BYTES};
pub use import::{import_bytes, import_texts, ImportResult, ImportWarning, ImportedDispensing, PatientCheck};
pub use split::QrAssembler;

#[cfg(test)]
mod tests;
