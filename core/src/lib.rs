//! `phr-core`: the pure heart of the maternal & child PHR.
//!
//! Everything here is deterministic and free of I/O, async and HTTP, so the very
//! same code runs on the server (linked into `phr-server`) and on the phones
//! (compiled into `phr-mobile` by uniffi).
//!
//! | module | owns |
//! |---|---|
//! | [`dataset`] | the minimum dataset (`docs/dataset.md`): one typed module per record kind, its `validate()` and derived values (BMI, EDD, age in months, Kaup index, immunizations due) |
//! | [`emergency_card`] | the emergency card (SMART Health Link QR code and label) as an SVG ID-1 card |
//! | [`growth`] | growth references as data (WHO Child Growth Standards), LMS z-scores and percentiles, corrected age |
//! | [`prenatal`] | the mother's prenatal measurements (blood pressure, weight gain, fundal height) as SVG charts against gestational age, from her prenatal visits |
//! | [`i18n`] | the message catalogs (Fluent, `core/locales/<language>/phr.ftl`): the words people read, per language |
//! | [`medication_notebook`] | the electronic medication notebook (JAHIS お薬手帳): import from QR codes and files, export, the current medicines view |
//! | [`due`] | what is due next: infant and prenatal checkups (schedules as data) and immunizations, with texts from the catalogs |
//! | [`dates`] | the one accepted range of calendar dates (1900-01-01 to 2200-12-31) checked wherever a date comes in |
//! | [`consent`] | [`consent::ConsentGrant`], its check of one request, and the pure [`consent::evaluate`] over a family's grants (the server applies the same pieces: `usable_grants`, scope `covers`, `ConsentGrant::check`) |
//! | [`crypto`] | record envelopes (AES-256-GCM per-record data keys), key wrapping under the account key and grant keys, HPKE (RFC 9180) to public keys |
//! | `ffi` (feature `uniffi`) | how the dataset's dates cross into the apps; the dataset types themselves derive their uniffi records and enums where they are defined |
//! | [`sync`] | hybrid logical clocks and the deterministic merge rule for concurrent versions of a record |
//!
//! Time is always passed in (`today`, `now`): nothing in this crate reads the clock
//! on its own except the explicit `Hlc::now`-style helpers that take a wall clock value.

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod consent;
pub mod crypto;
pub mod dataset;
pub mod dates;
pub mod due;
pub mod emergency_card;
#[cfg(feature = "uniffi")]
pub mod ffi;
pub mod growth;
pub mod i18n;
pub mod medication_notebook;
pub mod notices;
pub mod prenatal;
mod svg;
pub mod sync;
