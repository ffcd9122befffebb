//! What phr-core's types need to cross into the apps (feature `uniffi`).
//!
//! The dataset structs and enums derive `uniffi::Record` / `uniffi::Enum`
//! where they are defined, so the Kotlin, Swift and Python types are
//! generated from the very types validation and sync use: there is no
//! hand-kept mirror. Quantities cross as one record per unit
//! ([`crate::dataset::common`], e.g. `Kilograms`). This module maps the two
//! date types of the dataset, which uniffi has no built-in type for:
//!
//! | Rust | FFI type | crosses as | Kotlin / Python (configured in `core/uniffi.toml`) | Swift |
//! |---|---|---|---|---|
//! | `chrono::NaiveDate` | `LocalDate` | `YYYY-MM-DD` | `java.time.LocalDate` / `datetime.date` | `String` |
//! | `chrono::DateTime<FixedOffset>` | `OffsetDateTime` | RFC 3339 with offset | `java.time.OffsetDateTime` / `datetime.datetime` (aware) | `String` |
//!
//! A string that is not such a date (only possible from Swift, or a Python
//! `datetime` without a time zone) fails to lift; phr-mobile's `PhrError`
//! reports it as a `Validation` error naming the argument.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// A calendar date without a time zone (`YYYY-MM-DD`).
pub type LocalDate = NaiveDate;

/// A moment with the UTC offset it was recorded in (RFC 3339).
pub type OffsetDateTime = DateTime<FixedOffset>;

uniffi::custom_type!(LocalDate, String, {
    remote,
    lower: |d| d.format("%Y-%m-%d").to_string(),
    try_lift: |s| Ok(NaiveDate::parse_from_str(&s, "%Y-%m-%d")?),
});

uniffi::custom_type!(OffsetDateTime, String, {
    remote,
    lower: |t| t.to_rfc3339(),
    try_lift: |s| Ok(DateTime::parse_from_rfc3339(&s)?),
});
