//! A growth chart as an SVG picture apps and web pages show as is: the
//! reference's percentile bands (3–97, 10–90, 25–75) and lines (3, 10, 25,
//! 50, 75, 90, 97), the child's points joined by a line, axis labels in
//! Japanese or English, a note when ages are corrected, and an accessible
//! `<title>` and `<desc>` (`role="img"`). Deterministic: the same input gives
//! the same bytes (golden-file tests).
//!
//! The measures against age are drawn over 0–24 or 0–60 months; against the
//! Japanese 2000 reference (weight and length/height only, to 17.5 years),
//! a child older than 60 months gets a chart to the next whole year of the
//! oldest point (at most 210 months).
//! Weight-for-length/height is drawn against length or height in cm instead,
//! as WHO's own charts are: the weight-for-length chart (45–110 cm, the points
//! under 24 months) while every point is younger, the weight-for-height chart
//! (65–120 cm, the points from 24 months to 5 years) once one is 24 months or
//! older.

use std::fmt::Write as _;

use super::lms::{percentile, value_at_z, Lms};
use super::reference::{lookup, lookup_by_length, GrowthMeasure, GrowthReference, LengthOrHeight, STANDING_FROM_DAY};
use super::series::{value_of, Measurement};
use crate::dataset::common::Sex;
use crate::i18n::text;
use crate::svg::{nice_step, xml_escape, Frame};

/// One point on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// The age it is plotted at (corrected when it applies), in days.
    pub age_days: i64,
    /// The measurement, in the measure's unit (the weight, for weight-for-length/height).
    pub value: f64,
    /// The length or height measured that day (cm): where a
    /// weight-for-length/height chart plots the point; the charts against
    /// age do not read it.
    pub length_cm: Option<f64>,
}

impl ChartPoint {
    /// The point `measure`'s chart plots for measurement `m`, taken `age_days`
    /// after birth: at the corrected age when it applies (`corrected_age_days`,
    /// from [`assess`](super::assess)); `None` when that day has no value for it.
    pub fn of(measure: GrowthMeasure, m: &Measurement, age_days: i64, corrected_age_days: Option<i64>) -> Option<Self> {
        Some(ChartPoint {
            age_days: corrected_age_days.unwrap_or(age_days).max(0),
            value: value_of(m, measure)?,
            length_cm: m.length_cm,
        })
    }
}

/// The z-scores of the major percentile lines 3, 10, 25, 50, 75, 90, 97.
const LINES: [(u8, f64); 7] = [
    (3, -1.880_793_608_151_250_9),
    (10, -1.281_551_565_544_600_5),
    (25, -0.674_489_750_196_081_7),
    (50, 0.0),
    (75, 0.674_489_750_196_081_7),
    (90, 1.281_551_565_544_600_5),
    (97, 1.880_793_608_151_250_9),
];

/// Days per month on the x axis (365.25 / 12).
const DAYS_PER_MONTH: f64 = 30.4375;
/// The step (cm) of the percentile curves of a weight-for-length/height chart.
const CM_STEP: f64 = 0.5;
/// Centimetres between the labelled ticks of a weight-for-length/height chart.
const CM_TICK: usize = 5;

/// What the x axis shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    /// Age in days, from birth to `months` months; the curves end on day
    /// `last` (`months` months, within the reference's tables).
    Age { months: u32, last: i64 },
    /// Length or height (cm), over the range of the table.
    Length(LengthOrHeight),
}

/// The longest age chart: 17.5 years, the end of the Japanese 2000 tables.
const MAX_MONTHS: u32 = 210;

impl Axis {
    /// The axis for `points` of `measure` against `reference`: 0–24 months,
    /// or 0–60 when a point is older; against a reference whose tables go on
    /// past 60 months (Japan 2000), to the next whole year of an older point,
    /// at most [`MAX_MONTHS`]. For weight-for-length/height the length table,
    /// or the height table when a point with a length is 24 months or older.
    fn for_points(reference: GrowthReference, measure: GrowthMeasure, points: &[ChartPoint]) -> Self {
        if measure == GrowthMeasure::WeightForLengthHeight {
            let standing = points.iter().any(|p| p.length_cm.is_some() && p.age_days >= STANDING_FROM_DAY);
            return Self::Length(if standing { LengthOrHeight::Height } else { LengthOrHeight::Length });
        }
        let oldest_months = points.iter().map(|p| p.age_days).max().unwrap_or(0) as f64 / DAYS_PER_MONTH;
        // Months a reference covers; a longer chart needs a whole further year (WHO's end at 61 does not).
        let longest = reference.last_day() as f64 / DAYS_PER_MONTH;
        let months = if oldest_months <= 24.0 {
            24
        } else if oldest_months <= 60.0 || longest < 72.0 {
            60
        } else {
            ((oldest_months / 12.0).ceil() * 12.0).min(f64::from(MAX_MONTHS)) as u32
        };
        let last = ((f64::from(months) * DAYS_PER_MONTH).round() as i64).min(reference.last_day());
        Self::Age { months, last }
    }

    /// The x (day or cm) at the left and right edges of the plot.
    fn bounds(self) -> (f64, f64) {
        match self {
            Self::Age { months, .. } => (0.0, f64::from(months) * DAYS_PER_MONTH),
            Self::Length(table) => table.range_cm(),
        }
    }

    /// Where the percentile curves are sampled: every 7 days and the last
    /// day; every 0.5 cm.
    fn samples(self) -> Vec<f64> {
        match self {
            Self::Age { last, .. } => {
                let mut days: Vec<f64> = (0..last).step_by(7).map(|d| d as f64).collect();
                days.push(last as f64);
                days
            }
            Self::Length(table) => {
                let (from, to) = table.range_cm();
                let steps = ((to - from) / CM_STEP).round() as u32;
                (0..=steps).map(|i| from + f64::from(i) * CM_STEP).collect()
            }
        }
    }

    /// The reference's LMS parameters at `x` (a day, or cm).
    fn lms(self, reference: GrowthReference, measure: GrowthMeasure, sex: Sex, x: f64) -> Option<Lms> {
        match self {
            Self::Age { .. } => lookup(reference, measure, sex, x as i64),
            Self::Length(table) => lookup_by_length(reference, sex, table, x),
        }
    }

    /// Where `p` is plotted, if it is on this chart: at its age (birth to the
    /// last day), or at its length or height when that is in the table's
    /// range and its age calls for this table.
    fn x_of(self, p: &ChartPoint) -> Option<f64> {
        match self {
            Self::Age { last, .. } => (0..=last).contains(&p.age_days).then_some(p.age_days as f64),
            Self::Length(table) => {
                let (from, to) = table.range_cm();
                p.length_cm.filter(|cm| (from..=to).contains(cm) && LengthOrHeight::for_age(p.age_days) == Some(table))
            }
        }
    }

    /// The labelled ticks (x, label): every 3 months (6 on the 5-year
    /// chart, 12 on a longer one), every 5 cm.
    fn ticks(self) -> Vec<(f64, String)> {
        match self {
            Self::Age { months, .. } => {
                let step = match months {
                    24 => 3,
                    60 => 6,
                    _ => 12,
                };
                (0..=months).step_by(step).map(|m| (f64::from(m) * DAYS_PER_MONTH, m.to_string())).collect()
            }
            Self::Length(table) => {
                let (from, to) = table.range_cm();
                (from as u32..=to as u32).step_by(CM_TICK).map(|cm| (f64::from(cm), cm.to_string())).collect()
            }
        }
    }

    /// The catalog key of the x axis label.
    fn label_key(self) -> &'static str {
        match self {
            Self::Age { .. } => "chart-x-axis",
            Self::Length(LengthOrHeight::Length) => "chart-x-axis-length",
            Self::Length(LengthOrHeight::Height) => "chart-x-axis-height",
        }
    }
}

fn unit(measure: GrowthMeasure) -> &'static str {
    match measure {
        GrowthMeasure::WeightForAge | GrowthMeasure::WeightForLengthHeight => "kg",
        GrowthMeasure::LengthHeightForAge | GrowthMeasure::HeadCircumferenceForAge => "cm",
        GrowthMeasure::BmiForAge => "kg/m²",
    }
}

fn measure_key(measure: GrowthMeasure, axis: Axis) -> &'static str {
    match measure {
        GrowthMeasure::WeightForAge => "measure-weight-for-age",
        GrowthMeasure::LengthHeightForAge => "measure-length-height-for-age",
        GrowthMeasure::HeadCircumferenceForAge => "measure-head-circumference-for-age",
        GrowthMeasure::BmiForAge => "measure-bmi-for-age",
        GrowthMeasure::WeightForLengthHeight => match axis {
            Axis::Length(LengthOrHeight::Height) => "measure-weight-for-height",
            _ => "measure-weight-for-length",
        },
    }
}

/// The catalog keys naming `reference`: short, in a chart's title; long, in
/// its description of the curves.
fn reference_keys(reference: GrowthReference) -> (&'static str, &'static str) {
    match reference {
        GrowthReference::Who2006 => ("chart-reference-who2006", "chart-curves-who2006"),
        GrowthReference::Japan2000 => ("chart-reference-japan2000", "chart-curves-japan2000"),
    }
}

/// The chart of `points` (oldest first) for a boy or girl against
/// `reference`: over 0–24 months or, when a point is older, 0–60 months
/// (against the Japanese 2000 reference, past 60 months to the next whole
/// year of the oldest point, at most 17.5 years); weight-for-length/height
/// against length (45–110 cm) or, when a point is 24 months or older, height
/// (65–120 cm), each point at its `length_cm`. The title and description
/// name the reference. `corrected`: the points are at corrected ages (a note
/// says so on the charts against age). `None` for a sex the reference has no
/// table for, or a measure it has none for ([`GrowthReference::measures`]:
/// the Japanese 2000 reference has weight and length/height only).
/// `lang`: a language tag of the message catalogs ([`crate::i18n`]).
pub fn chart_svg(
    reference: GrowthReference,
    measure: GrowthMeasure,
    sex: Sex,
    points: &[ChartPoint],
    corrected: bool,
    lang: &str,
) -> Option<String> {
    if !reference.has(measure) {
        return None;
    }
    let axis = Axis::for_points(reference, measure, points);
    let samples = axis.samples();
    axis.lms(reference, measure, sex, *samples.first()?)?;
    let curves: Vec<Vec<(f64, f64)>> = LINES
        .iter()
        .map(|(_, z)| {
            samples
                .iter()
                .filter_map(|at| axis.lms(reference, measure, sex, *at).map(|lms| (*at, value_at_z(lms, *z))))
                .collect()
        })
        .collect();
    let in_range: Vec<(f64, &ChartPoint)> =
        points.iter().filter(|p| p.value.is_finite()).filter_map(|p| Some((axis.x_of(p)?, p))).collect();
    let lo = curves[0].iter().map(|c| c.1).chain(in_range.iter().map(|p| p.1.value)).fold(f64::INFINITY, f64::min);
    let hi = curves[6].iter().map(|c| c.1).chain(in_range.iter().map(|p| p.1.value)).fold(f64::NEG_INFINITY, f64::max);
    let step = nice_step(hi - lo, 8.0);
    let (y0, y1) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let (x0, x1) = axis.bounds();
    let frame = Frame::new((x0, x1), (y0, y1));

    let sex_key = if sex == Sex::Male { "sex-male" } else { "sex-female" };
    let (measure_name, sex_name) = (text(lang, measure_key(measure, axis), &[]), text(lang, sex_key, &[]));
    let (reference_key, curves_key) = reference_keys(reference);
    let (reference_name, curves_name) = (text(lang, reference_key, &[]), text(lang, curves_key, &[]));
    let title = match axis {
        Axis::Age { months, .. } => text(
            lang,
            "chart-title",
            &[
                ("measure", measure_name),
                ("sex", sex_name),
                ("reference", reference_name),
                ("months", months.to_string()),
            ],
        ),
        Axis::Length(_) => text(
            lang,
            "chart-title-length",
            &[
                ("measure", measure_name),
                ("sex", sex_name),
                ("reference", reference_name),
                ("from", format!("{x0:.0}")),
                ("to", format!("{x1:.0}")),
            ],
        ),
    };
    let desc = match in_range.last() {
        Some((at, p)) => {
            let pct =
                axis.lms(reference, measure, sex, *at).and_then(|lms| reference.z_score(lms, p.value)).map(percentile);
            let pct = pct
                .map(|v| text(lang, "chart-desc-percentile", &[("percentile", format!("{v:.0}"))]))
                .unwrap_or_default();
            let (key, place) = match axis {
                Axis::Age { .. } => ("chart-desc", ("age", format!("{:.1}", p.age_days as f64 / DAYS_PER_MONTH))),
                Axis::Length(_) => ("chart-desc-length", ("length", format!("{at:.1}"))),
            };
            text(
                lang,
                key,
                &[
                    ("count", in_range.len().to_string()),
                    place,
                    ("value", format!("{:.1}", p.value)),
                    ("unit", unit(measure).to_owned()),
                    ("percentile", pct),
                    ("curves", curves_name),
                ],
            )
        }
        None => text(lang, "chart-desc-empty", &[("curves", curves_name)]),
    };

    let mut s = String::with_capacity(32 * 1024);
    Frame::open(&mut s, &title, &desc);
    // Bands: 3–97, 10–90, 25–75.
    for (outer, fill) in [(0usize, "#e3eef9"), (1, "#c9dff3"), (2, "#afd0ed")] {
        let inner = 6 - outer;
        let poly = frame.points(curves[outer].iter().chain(curves[inner].iter().rev()).copied());
        let _ = writeln!(s, r#"<polygon points="{poly}" fill="{fill}" stroke="none"/>"#);
    }
    // Grid and axes.
    let mut v = y0;
    while v <= y1 + step / 2.0 {
        frame.grid_row(&mut s, v, &if step < 1.0 { format!("{v:.1}") } else { format!("{v:.0}") });
        v += step;
    }
    for (at, label) in axis.ticks() {
        frame.grid_column(&mut s, at, &label);
    }
    // Percentile lines and their labels.
    for ((p, _), curve) in LINES.iter().zip(&curves) {
        let (width, color) = if *p == 50 { ("1.6", "#1f5f99") } else { ("0.8", "#4a86c0") };
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}"/>"#,
            frame.points(curve.iter().copied())
        );
        if let Some((at, v)) = curve.last() {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#1f5f99">{p}</text>"##,
                frame.x(*at) + 4.0,
                frame.y(*v) + 3.0
            );
        }
    }
    // The child's points.
    if in_range.len() > 1 {
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#c0392b" stroke-width="2"/>"##,
            frame.points(in_range.iter().map(|(at, p)| (*at, p.value)))
        );
    }
    for (at, p) in &in_range {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#c0392b" stroke="#ffffff" stroke-width="1"/>"##,
            frame.x(*at),
            frame.y(p.value)
        );
    }
    // Title, axis labels, note.
    Frame::labels(&mut s, &title, &text(lang, axis.label_key(), &[]), unit(measure));
    // Only an age axis is corrected: length does not depend on it.
    if corrected && matches!(axis, Axis::Age { .. }) {
        let note = xml_escape(&text(lang, "chart-corrected-note", &[]));
        let _ = writeln!(s, r##"<text x="{}" y="42" font-size="11" fill="#8a4b00">{note}</text>"##, Frame::LEFT);
    }
    s.push_str("</svg>\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::lms::z_score;

    fn at_ages(points: &[(i64, f64)]) -> Vec<ChartPoint> {
        points.iter().map(|&(age_days, value)| ChartPoint { age_days, value, length_cm: None }).collect()
    }

    fn at_lengths(points: &[(i64, f64, f64)]) -> Vec<ChartPoint> {
        points.iter().map(|&(age_days, value, cm)| ChartPoint { age_days, value, length_cm: Some(cm) }).collect()
    }

    #[test]
    fn a_measurement_is_plotted_at_its_corrected_age_with_the_value_its_measure_reads() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let m = Measurement { date: day, weight_kg: Some(6.4), length_cm: Some(64.0), head_circumference_cm: None };
        let weight = ChartPoint::of(GrowthMeasure::WeightForAge, &m, 120, Some(80)).unwrap();
        assert_eq!(weight, ChartPoint { age_days: 80, value: 6.4, length_cm: Some(64.0) });
        // Without a correction, the age since birth; weight-for-length plots the weight at its length.
        let by_length = ChartPoint::of(GrowthMeasure::WeightForLengthHeight, &m, 120, None).unwrap();
        assert_eq!((by_length.age_days, by_length.value, by_length.length_cm), (120, 6.4, Some(64.0)));
        let bmi = ChartPoint::of(GrowthMeasure::BmiForAge, &m, 120, None).unwrap().value;
        assert!((bmi - 6.4 / 0.64_f64.powi(2)).abs() < 1e-9, "{bmi}");
        // A day without the measure's value has no point; a corrected age never goes below birth.
        assert_eq!(ChartPoint::of(GrowthMeasure::HeadCircumferenceForAge, &m, 120, None), None);
        assert_eq!(ChartPoint::of(GrowthMeasure::LengthHeightForAge, &m, 10, Some(-20)).unwrap().age_days, 0);
    }

    /// A boy's weight-for-length from birth to 23 months (kg at cm).
    const BOY_WEIGHT_AT_LENGTH: [(i64, f64, f64); 8] = [
        (0, 3.3, 50.0),
        (30, 4.5, 54.5),
        (100, 6.4, 61.0),
        (190, 7.9, 67.5),
        (280, 8.9, 71.5),
        (370, 9.6, 75.5),
        (550, 10.9, 81.5),
        (700, 11.6, 86.0),
    ];

    /// A boy's weight from birth to 4 years (day, kg), for the Japanese 2000 chart.
    const BOY_WEIGHT_TO_4_YEARS: [(i64, f64); 8] =
        [(0, 3.1), (100, 6.6), (190, 8.0), (370, 9.5), (550, 10.6), (740, 11.4), (1100, 13.2), (1460, 15.0)];

    /// Four sample charts: a girl's weight (term, 0–24 months, Japanese), a
    /// preterm boy's length at corrected ages (English), a boy's
    /// weight-for-length (Japanese), all against WHO; and a boy's weight to 4
    /// years against the Japanese 2000 reference (Japanese).
    pub(crate) fn samples() -> [(String, String); 4] {
        let girl = at_ages(&[(0, 3.1), (34, 4.3), (100, 5.9), (190, 7.2), (280, 8.1), (370, 8.9), (550, 10.4)]);
        let boy = at_ages(&[(0, 45.0), (60, 55.5), (150, 63.0), (250, 69.5), (400, 76.0), (600, 83.5)]);
        let a =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Female, &girl, false, "ja").unwrap();
        let b = chart_svg(GrowthReference::Who2006, GrowthMeasure::LengthHeightForAge, Sex::Male, &boy, true, "en")
            .unwrap();
        let wfl = at_lengths(&BOY_WEIGHT_AT_LENGTH);
        let c = chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Male, &wfl, false, "ja")
            .unwrap();
        let japan = at_ages(&BOY_WEIGHT_TO_4_YEARS);
        let d =
            chart_svg(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, Sex::Male, &japan, false, "ja").unwrap();
        [
            ("weight-girl-ja.svg".to_owned(), a),
            ("length-preterm-boy-en.svg".to_owned(), b),
            ("weight-for-length-boy-ja.svg".to_owned(), c),
            ("weight-boy-japan2000-ja.svg".to_owned(), d),
        ]
    }

    #[test]
    fn the_sample_charts_match_their_golden_files() {
        crate::svg::assert_golden("src/growth/golden", samples().to_vec());
    }

    #[test]
    fn a_chart_is_accessible_and_says_what_it_shows() {
        let [(_, ja), (_, en), _, _] = samples();
        assert!(ja.contains(r#"role="img" aria-labelledby="chart-title chart-desc""#));
        assert!(ja.contains("<title id=\"chart-title\">体重（女の子）WHO 成長基準 0〜24か月</title>"), "{ja}");
        assert!(ja.contains("7回の測定。最新は18.1か月で10.4 kg"), "{ja}");
        assert!(en.contains("Length/height-for-age (boys) — WHO standards, 0–24 months"));
        assert!(en.contains("Plotted at corrected age"));
        assert!(!ja.contains("corrected"), "no note when the ages are not corrected");
        assert_eq!(ja.matches("<circle").count(), 7);
        assert_eq!(ja.matches("<polygon").count(), 3, "three bands");
        assert_eq!(ja.matches(r##"fill="none" stroke="#"##).count(), 8, "seven percentile lines and the child's line");
    }

    #[test]
    fn an_older_child_gets_the_five_year_chart_and_text_is_escaped() {
        let pts = at_ages(&[(1000, 14.0)]);
        let svg =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Male, &pts, false, "en").unwrap();
        assert!(svg.contains("0–60 months"));
        assert!(
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Unknown, &pts, false, "en").is_none()
        );
        assert_eq!(xml_escape("a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
    }

    #[test]
    fn a_weight_for_length_chart_is_drawn_against_length_from_45_to_110_cm() {
        let [_, _, (_, ja), _] = samples();
        assert!(
            ja.contains("<title id=\"chart-title\">2歳未満の身長別体重（男の子）WHO 成長基準 45〜110 cm</title>"),
            "{ja}"
        );
        let last = lookup_by_length(GrowthReference::Who2006, Sex::Male, LengthOrHeight::Length, 86.0).unwrap();
        let pct = percentile(z_score(last, 11.6).unwrap());
        assert!(ja.contains(&format!("8回の測定。最新は身長86.0 cmで体重11.6 kg（{pct:.0}パーセンタイル）")), "{ja}");
        assert!(ja.contains(">身長（cm、寝かせて測定）</text>"));
        for cm in ["45", "50", "75", "110"] {
            assert!(ja.contains(&format!(r##"fill="#333333">{cm}</text>"##)), "tick {cm}");
        }
        assert_eq!(ja.matches("<circle").count(), 8);
        assert_eq!(ja.matches(r##"fill="none" stroke="#"##).count(), 8, "seven percentile lines and the child's line");
        let en = chart_svg(
            GrowthReference::Who2006,
            GrowthMeasure::WeightForLengthHeight,
            Sex::Male,
            &at_lengths(&BOY_WEIGHT_AT_LENGTH),
            true,
            "en",
        )
        .unwrap();
        assert!(en.contains("Weight-for-length (boys) — WHO standards, 45–110 cm"), "{en}");
        assert!(en.contains("The latest is 11.6 kg at 86.0 cm ("), "{en}");
        assert!(en.contains("Length (cm, lying down)"));
        assert!(!en.contains("corrected age"), "length does not depend on the age, corrected or not");
    }

    #[test]
    fn from_24_months_the_weight_for_height_chart_shows_the_standing_points() {
        let pts = at_lengths(&[(600, 10.5, 81.0), (800, 11.8, 86.5), (1200, 14.0, 96.0)]);
        let svg =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Female, &pts, false, "en")
                .unwrap();
        assert!(svg.contains("Weight-for-height (girls) — WHO standards, 65–120 cm"), "{svg}");
        assert!(svg.contains("Height (cm, standing)"));
        assert_eq!(svg.matches("<circle").count(), 2, "the point measured lying is not on the standing chart");
        assert!(svg.contains("2 measurements. The latest is 14.0 kg at 96.0 cm"), "{svg}");
        let ja =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Female, &pts, false, "ja")
                .unwrap();
        assert!(ja.contains("2〜5歳の身長別体重（女の子）WHO 成長基準 65〜120 cm"), "{ja}");
        assert!(ja.contains("身長（cm、立って測定）"));
    }

    #[test]
    fn a_weight_for_length_chart_skips_points_without_a_length_in_range_and_needs_a_binary_sex() {
        let mut pts = at_lengths(&[(100, 6.0, 61.0), (200, 7.5, 44.0), (300, 8.6, 111.0)]);
        pts.push(ChartPoint { age_days: 400, value: 9.5, length_cm: None });
        pts.push(ChartPoint { age_days: 500, value: f64::NAN, length_cm: Some(78.0) });
        let svg =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Male, &pts, false, "en")
                .unwrap();
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("45–110 cm"));
        let none =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Male, &[], false, "en")
                .unwrap();
        assert!(none.contains("No measurements yet") && none.contains("45–110 cm"));
        let unknown =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForLengthHeight, Sex::Unknown, &pts, false, "en");
        assert!(unknown.is_none());
    }

    #[test]
    fn a_japanese_2000_chart_names_its_reference_and_draws_its_percentiles() {
        let [(_, who), _, _, (_, ja)] = samples();
        assert!(
            ja.contains("<title id=\"chart-title\">体重（男の子）日本人小児の体格基準（2000年） 0〜60か月</title>"),
            "{ja}"
        );
        let last = lookup(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, Sex::Male, 1460).unwrap();
        let pct = percentile(z_score(last, 15.0).unwrap());
        assert!(ja.contains(&format!("8回の測定。最新は48.0か月で15.0 kg（{pct:.0}パーセンタイル）")), "{ja}");
        assert!(ja.contains(
            "曲線は日本人小児の体格基準（2000年、日本小児内分泌学会）の3・10・25・50・75・90・97パーセンタイル。"
        ));
        assert!(who.contains("曲線はWHO 成長基準の3・10・25・50・75・90・97パーセンタイル。"), "{who}");
        assert_eq!(ja.matches("<circle").count(), 8);
        assert_eq!(ja.matches("<polygon").count(), 3, "three bands");
        assert_eq!(ja.matches(r##"fill="none" stroke="#"##).count(), 8, "seven percentile lines and the child's line");
        // The same points against WHO draw other curves.
        let pts = at_ages(&BOY_WEIGHT_TO_4_YEARS);
        let against_who =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Male, &pts, false, "ja").unwrap();
        assert!(against_who.contains("WHO 成長基準 0〜60か月") && against_who != ja);
        let en = chart_svg(
            GrowthReference::Japan2000,
            GrowthMeasure::LengthHeightForAge,
            Sex::Female,
            &at_ages(&[(0, 48.0), (200, 66.0)]),
            false,
            "en",
        )
        .unwrap();
        assert!(en.contains("Length/height-for-age (girls) — Japanese 2000 growth reference, 0–24 months"), "{en}");
        assert!(en.contains(
            "percentiles of the Japanese 2000 growth reference (Japanese Society for Pediatric Endocrinology)."
        ));
    }

    #[test]
    fn past_five_years_the_japanese_chart_runs_to_the_next_whole_year_and_ends_at_17_5_years() {
        let pts = at_ages(&[(1000, 14.0), (2000, 19.0), (2600, 23.0)]); // the oldest 85.4 months
        let svg =
            chart_svg(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, Sex::Male, &pts, false, "en").unwrap();
        assert!(svg.contains("Weight-for-age (boys) — Japanese 2000 growth reference, 0–96 months"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        for tick in ["0", "12", "48", "96"] {
            assert!(svg.contains(&format!(r##"fill="#333333">{tick}</text>"##)), "tick {tick}");
        }
        // WHO stops at 60 months: only the points within it are drawn.
        let who =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Male, &pts, false, "en").unwrap();
        assert!(who.contains("0–60 months") && who.matches("<circle").count() == 1, "{who}");
        // An 18-year-old's point is past the tables: the chart ends at 210 months without it.
        let adult = at_ages(&[(4000, 35.0), (6600, 60.0)]);
        let svg =
            chart_svg(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, Sex::Male, &adult, false, "en").unwrap();
        assert!(svg.contains("0–210 months"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn the_japanese_reference_has_no_chart_for_head_circumference_bmi_or_weight_for_length() {
        let pts = at_lengths(&[(100, 6.0, 61.0)]);
        for measure in
            [GrowthMeasure::HeadCircumferenceForAge, GrowthMeasure::BmiForAge, GrowthMeasure::WeightForLengthHeight]
        {
            assert!(
                chart_svg(GrowthReference::Japan2000, measure, Sex::Male, &pts, false, "ja").is_none(),
                "{measure:?}"
            );
            assert!(
                chart_svg(GrowthReference::Who2006, measure, Sex::Male, &pts, false, "ja").is_some(),
                "{measure:?}"
            );
        }
        assert!(chart_svg(GrowthReference::Japan2000, GrowthMeasure::WeightForAge, Sex::Unknown, &pts, false, "ja")
            .is_none());
    }
}
