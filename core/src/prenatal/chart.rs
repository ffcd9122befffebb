//! A prenatal chart as an SVG picture apps and web pages show as is: one
//! measure of the mother's prenatal visits against gestational age (0–42
//! weeks, a tick every 4 weeks), the points joined by a line, axis labels in
//! Japanese or English, and an accessible `<title>` and `<desc>`
//! (`role="img"`). Deterministic: the same input gives the same bytes
//! (golden-file tests); every number is written with a fixed precision.
//!
//! - **Blood pressure**: systolic (circles) and diastolic (squares) as two
//!   series with a legend, so they differ by shape and not by color alone;
//!   dashed reference lines at 140 mmHg systolic and 90 mmHg diastolic, the
//!   thresholds of hypertensive disorders of pregnancy (Japan Society of
//!   Obstetrics and Gynecology: systolic ≥ 140 or diastolic ≥ 90 mmHg).
//! - **Weight gain**: kg gained since before pregnancy, with a zero line. No
//!   recommended curve is drawn (the published recommendations are totals for
//!   the end of pregnancy by pre-pregnancy BMI, not curves); `<desc>` states
//!   them in words.
//! - **Fundal height**: cm, with McDonald's rule as a shaded band from 20 to
//!   36 weeks (fundal height in cm ≈ gestational weeks ± 3).
//!
//! Points after 42 weeks, and values that are not finite or outside the
//! measure's plausible range, are left out. The y axis covers a fixed range
//! per measure, widened to "nice" ticks when a point lies outside it.

use std::fmt::Write as _;

use crate::i18n::{text, text_with, Arg};
use crate::svg::{nice_step, xml_escape, Frame};

/// One prenatal visit's measurements for the chart.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PrenatalChartPoint {
    /// Gestational age at the visit, in days (weeks × 7 + days).
    pub gestational_days: u32,
    /// Systolic blood pressure, mmHg.
    pub systolic: Option<f64>,
    /// Diastolic blood pressure, mmHg.
    pub diastolic: Option<f64>,
    /// Weight gained since before pregnancy, kg (negative for a loss).
    pub weight_gain_kg: Option<f64>,
    /// Fundal height, cm.
    pub fundal_height_cm: Option<f64>,
}

/// What a prenatal chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PrenatalMeasure {
    /// Systolic and diastolic blood pressure (mmHg), with the 140/90 thresholds.
    BloodPressure,
    /// Weight gain since before pregnancy (kg), with a zero line.
    WeightGain,
    /// Fundal height (cm), with McDonald's rule (weeks ± 3 cm, 20–36 weeks).
    FundalHeight,
}

/// The last week on the x axis.
const LAST_WEEK: u32 = 42;
/// Weeks between the labelled ticks of the x axis.
const WEEK_TICK: usize = 4;
/// The last day on the x axis (42 weeks).
const LAST_DAY: u32 = LAST_WEEK * 7;
/// The thresholds of hypertensive disorders of pregnancy (JSOG), mmHg.
const SYSTOLIC_THRESHOLD: f64 = 140.0;
const DIASTOLIC_THRESHOLD: f64 = 90.0;
/// McDonald's rule: from 20 to 36 weeks, fundal height in cm is about the
/// gestational age in weeks, give or take 3 cm. A rough bedside rule, drawn
/// as a band (weeks − 3 to weeks + 3), not a reference curve.
const MCDONALD_WEEKS: (f64, f64) = (20.0, 36.0);
const MCDONALD_TOLERANCE_CM: f64 = 3.0;

/// The marker of a series: its shape is what tells the series apart
/// (besides the legend), not its color alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Square,
}

/// One series of a chart: which value of a point it plots, how, and its
/// legend label (a catalog key).
struct Series {
    value: fn(&PrenatalChartPoint) -> Option<f64>,
    marker: Marker,
    color: &'static str,
    legend_key: &'static str,
}

impl PrenatalMeasure {
    /// The series drawn for this measure.
    fn series(self) -> Vec<Series> {
        match self {
            Self::BloodPressure => vec![
                Series {
                    value: |p| p.systolic,
                    marker: Marker::Circle,
                    color: "#c0392b",
                    legend_key: "prenatal-chart-legend-systolic",
                },
                Series {
                    value: |p| p.diastolic,
                    marker: Marker::Square,
                    color: "#1f5f99",
                    legend_key: "prenatal-chart-legend-diastolic",
                },
            ],
            Self::WeightGain => {
                vec![Series { value: |p| p.weight_gain_kg, marker: Marker::Circle, color: "#c0392b", legend_key: "" }]
            }
            Self::FundalHeight => {
                vec![Series { value: |p| p.fundal_height_cm, marker: Marker::Circle, color: "#c0392b", legend_key: "" }]
            }
        }
    }

    /// The y range always shown (it holds the reference lines and band).
    fn default_range(self) -> (f64, f64) {
        match self {
            Self::BloodPressure => (40.0, 160.0),
            Self::WeightGain => (-2.0, 16.0),
            Self::FundalHeight => (0.0, 40.0),
        }
    }

    /// The values plotted at all: outside, a value is left out as implausible.
    fn limits(self) -> (f64, f64) {
        match self {
            Self::BloodPressure => (0.0, 300.0),
            Self::WeightGain => (-50.0, 100.0),
            Self::FundalHeight => (0.0, 60.0),
        }
    }

    /// The catalog keys of the title, the y axis label and the note of `<desc>`.
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::BloodPressure => (
                "prenatal-chart-title-blood-pressure",
                "prenatal-chart-y-axis-blood-pressure",
                "prenatal-chart-note-blood-pressure",
            ),
            Self::WeightGain => (
                "prenatal-chart-title-weight-gain",
                "prenatal-chart-y-axis-weight-gain",
                "prenatal-chart-note-weight-gain",
            ),
            Self::FundalHeight => (
                "prenatal-chart-title-fundal-height",
                "prenatal-chart-y-axis-fundal-height",
                "prenatal-chart-note-fundal-height",
            ),
        }
    }

    /// A point's values in words for `<desc>`, when it has any on this
    /// chart: "128/82 mmHg", "+7.8 kg", "30.5 cm".
    fn value_text(self, p: &PrenatalChartPoint) -> Option<String> {
        let shown = |v: Option<f64>| v.filter(|v| self.plots(*v));
        match self {
            Self::BloodPressure => {
                let (sys, dia) = (shown(p.systolic), shown(p.diastolic));
                if sys.is_none() && dia.is_none() {
                    return None;
                }
                let part = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
                Some(format!("{}/{} mmHg", part(sys), part(dia)))
            }
            Self::WeightGain => shown(p.weight_gain_kg).map(|v| format!("{} kg", signed(v))),
            Self::FundalHeight => shown(p.fundal_height_cm).map(|v| format!("{v:.1} cm")),
        }
    }

    /// Whether `value` is drawn on this chart.
    fn plots(self, value: f64) -> bool {
        let (lo, hi) = self.limits();
        value.is_finite() && (lo..=hi).contains(&value)
    }
}

/// `v` to one decimal with its sign ("+7.8", "-0.6", "0.0").
fn signed(v: f64) -> String {
    let text = format!("{v:+.1}");
    if text == "+0.0" || text == "-0.0" {
        "0.0".to_owned()
    } else {
        text
    }
}

/// A number of the y axis: one decimal when the step is under 1, none
/// otherwise; never "-0".
fn tick_label(v: f64, step: f64) -> String {
    let v = v + 0.0;
    let text = if step < 1.0 { format!("{v:.1}") } else { format!("{v:.0}") };
    match text.as_str() {
        "-0" => "0".to_owned(),
        "-0.0" => "0.0".to_owned(),
        _ => text,
    }
}

/// An SVG marker of `shape` at (`cx`, `cy`).
fn marker_svg(shape: Marker, cx: f64, cy: f64, color: &str) -> String {
    match shape {
        Marker::Circle => {
            format!(r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.5" fill="{color}" stroke="#ffffff" stroke-width="1"/>"##)
        }
        Marker::Square => format!(
            r##"<rect x="{:.1}" y="{:.1}" width="7.0" height="7.0" fill="{color}" stroke="#ffffff" stroke-width="1"/>"##,
            cx - 3.5,
            cy - 3.5
        ),
    }
}

/// The chart of `measure` for the visits in `points` (any order: they are
/// drawn by gestational age, visits on the same day in their given order),
/// over 0–42 weeks of gestation. Points after 42 weeks and values that are
/// not finite or implausible for the measure are left out; with none left
/// the chart still draws its axes and reference lines, and says there are no
/// measurements. `lang`: a language tag of the message catalogs
/// ([`crate::i18n`]).
pub fn chart_svg(measure: PrenatalMeasure, points: &[PrenatalChartPoint], lang: &str) -> String {
    let mut on_chart: Vec<&PrenatalChartPoint> = points.iter().filter(|p| p.gestational_days <= LAST_DAY).collect();
    on_chart.sort_by_key(|p| p.gestational_days);
    let series = measure.series();
    let plotted: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            on_chart
                .iter()
                .filter_map(|p| (s.value)(p).filter(|v| measure.plots(*v)).map(|v| (f64::from(p.gestational_days), v)))
                .collect()
        })
        .collect();

    let (mut lo, mut hi) = measure.default_range();
    for (_, v) in plotted.iter().flatten() {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let step = nice_step(hi - lo, 10.0);
    let (y0, y1) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let frame = Frame::new((0.0, f64::from(LAST_DAY)), (y0, y1));

    let (title_key, y_axis_key, note_key) = measure.keys();
    let title = text(lang, title_key, &[]);
    let note = text(lang, note_key, &[]);
    let with_values: Vec<(&PrenatalChartPoint, String)> =
        on_chart.iter().filter_map(|p| Some((*p, measure.value_text(p)?))).collect();
    let desc = match with_values.last() {
        Some((latest, value)) => text_with(
            lang,
            "prenatal-chart-desc",
            &[
                ("count", Arg::Count(with_values.len() as u32)),
                ("weeks", Arg::Text((latest.gestational_days / 7).to_string())),
                ("days", Arg::Text((latest.gestational_days % 7).to_string())),
                ("value", Arg::Text(value.clone())),
                ("note", Arg::Text(note)),
            ],
        ),
        None => text(lang, "prenatal-chart-desc-empty", &[("note", note)]),
    };

    let mut s = String::with_capacity(16 * 1024);
    Frame::open(&mut s, &title, &desc);

    // McDonald's rule (fundal height cm ≈ weeks ± 3, 20–36 weeks): a band,
    // under the grid and the points.
    if measure == PrenatalMeasure::FundalHeight {
        let (from, to) = MCDONALD_WEEKS;
        let corners = [
            (from * 7.0, from - MCDONALD_TOLERANCE_CM),
            (to * 7.0, to - MCDONALD_TOLERANCE_CM),
            (to * 7.0, to + MCDONALD_TOLERANCE_CM),
            (from * 7.0, from + MCDONALD_TOLERANCE_CM),
        ];
        let _ = writeln!(s, r##"<polygon points="{}" fill="#d6e6f5" stroke="none"/>"##, frame.points(corners));
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#1f5f99">{}</text>"##,
            frame.x(from * 7.0),
            frame.y(from - MCDONALD_TOLERANCE_CM) + 14.0,
            xml_escape(&text(lang, "prenatal-chart-band-fundal-height", &[]))
        );
    }

    // Grid and axes.
    let rows = ((y1 - y0) / step).round() as u32;
    for i in 0..=rows {
        let v = y0 + f64::from(i) * step;
        frame.grid_row(&mut s, v, &tick_label(v, step));
    }
    for week in (0..=LAST_WEEK).step_by(WEEK_TICK) {
        frame.grid_column(&mut s, f64::from(week * 7), &week.to_string());
    }
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="{:.1}" height="{:.1}" fill="none" stroke="#999999" stroke-width="0.8"/>"##,
        Frame::LEFT,
        Frame::TOP,
        Frame::PLOT_WIDTH,
        Frame::PLOT_HEIGHT
    );

    // Reference lines; the thresholds labelled at the left, where early
    // pregnancy's values are usually well below them.
    match measure {
        PrenatalMeasure::BloodPressure => {
            for (v, key) in [
                (SYSTOLIC_THRESHOLD, "prenatal-chart-threshold-systolic"),
                (DIASTOLIC_THRESHOLD, "prenatal-chart-threshold-diastolic"),
            ] {
                let _ = writeln!(
                    s,
                    r##"<line x1="{left}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="#8a4b00" stroke-width="1.2" stroke-dasharray="6 4"/><text x="{tx:.1}" y="{ty:.1}" font-size="10" fill="#8a4b00" stroke="#ffffff" stroke-width="3" paint-order="stroke">{label}</text>"##,
                    left = Frame::LEFT,
                    yy = frame.y(v),
                    x2 = Frame::WIDTH - Frame::RIGHT,
                    tx = Frame::LEFT + 4.0,
                    ty = frame.y(v) - 4.0,
                    label = xml_escape(&text(lang, key, &[]))
                );
            }
        }
        PrenatalMeasure::WeightGain => {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="#666666" stroke-width="1.2"/>"##,
                left = Frame::LEFT,
                yy = frame.y(0.0),
                x2 = Frame::WIDTH - Frame::RIGHT
            );
        }
        PrenatalMeasure::FundalHeight => {}
    }

    // The mother's points: each series a line and its markers.
    for (serie, pts) in series.iter().zip(&plotted) {
        if pts.len() > 1 {
            let _ = writeln!(
                s,
                r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
                frame.points(pts.iter().copied()),
                serie.color
            );
        }
        for (day, v) in pts {
            let _ = writeln!(s, "{}", marker_svg(serie.marker, frame.x(*day), frame.y(*v), serie.color));
        }
    }

    // The legend, when there is more than one series.
    if series.len() > 1 {
        for (i, serie) in series.iter().enumerate() {
            let lx = Frame::WIDTH - Frame::RIGHT - 200.0 + 100.0 * i as f64;
            let _ = writeln!(
                s,
                r##"{}<text x="{:.1}" y="42" font-size="11" fill="#333333">{}</text>"##,
                marker_svg(serie.marker, lx + 4.0, 38.0, serie.color),
                lx + 12.0,
                xml_escape(&text(lang, serie.legend_key, &[]))
            );
        }
    }

    if plotted.iter().all(Vec::is_empty) {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle" fill="#666666">{}</text>"##,
            Frame::LEFT + Frame::PLOT_WIDTH / 2.0,
            Frame::TOP + Frame::PLOT_HEIGHT / 2.0,
            xml_escape(&text(lang, "prenatal-chart-empty", &[]))
        );
    }

    // Title and axis labels.
    Frame::labels(&mut s, &title, &text(lang, "prenatal-chart-x-axis", &[]), &text(lang, y_axis_key, &[]));
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::svg::assert_well_formed_xml;

    fn point(
        week: u32,
        day: u32,
        bp: Option<(f64, f64)>,
        gain: Option<f64>,
        fundal: Option<f64>,
    ) -> PrenatalChartPoint {
        PrenatalChartPoint {
            gestational_days: week * 7 + day,
            systolic: bp.map(|b| b.0),
            diastolic: bp.map(|b| b.1),
            weight_gain_kg: gain,
            fundal_height_cm: fundal,
        }
    }

    /// One pregnancy's visits from 8 to 38 weeks: the blood pressure rising
    /// past 140/90 at the end, the gain ending near 10 kg, the fundal height
    /// from 20 weeks (below the band at 38 weeks).
    pub(crate) fn sample_points() -> Vec<PrenatalChartPoint> {
        vec![
            point(8, 2, Some((112.0, 70.0)), Some(0.4), None),
            point(12, 0, Some((110.0, 68.0)), Some(-0.6), None),
            point(16, 1, Some((108.0, 66.0)), Some(1.8), None),
            point(20, 0, Some((112.0, 70.0)), Some(3.1), Some(19.5)),
            point(24, 3, Some((114.0, 72.0)), Some(4.6), Some(23.0)),
            point(28, 0, Some((118.0, 74.0)), Some(6.0), Some(27.5)),
            point(30, 2, Some((122.0, 78.0)), Some(6.9), Some(29.0)),
            point(32, 0, Some((126.0, 80.0)), Some(7.8), Some(30.5)),
            point(34, 1, Some((132.0, 84.0)), Some(8.6), Some(33.0)),
            point(36, 0, Some((138.0, 88.0)), Some(9.3), Some(34.5)),
            point(37, 2, Some((142.0, 92.0)), Some(9.9), Some(35.0)),
            point(38, 4, Some((146.0, 94.0)), Some(10.4), Some(34.5)),
        ]
    }

    const MEASURES: [(PrenatalMeasure, &str); 3] = [
        (PrenatalMeasure::BloodPressure, "blood-pressure"),
        (PrenatalMeasure::WeightGain, "weight-gain"),
        (PrenatalMeasure::FundalHeight, "fundal-height"),
    ];

    /// The sample charts: each measure of [`sample_points`] in Japanese and English.
    pub(crate) fn samples() -> Vec<(String, String)> {
        let points = sample_points();
        let mut out = Vec::new();
        for (measure, name) in MEASURES {
            for lang in ["ja", "en"] {
                out.push((format!("{name}-{lang}.svg"), chart_svg(measure, &points, lang)));
            }
        }
        out
    }

    #[test]
    fn the_prenatal_sample_charts_match_their_golden_files() {
        crate::svg::assert_golden("src/prenatal/golden", samples());
    }

    #[test]
    fn every_prenatal_chart_is_well_formed_accessible_and_deterministic() {
        for (name, svg) in samples() {
            assert_well_formed_xml(&svg);
            assert!(svg.contains(r#"role="img" aria-labelledby="chart-title chart-desc""#), "{name}");
            assert!(svg.contains(r#"<title id="chart-title">"#) && svg.contains(r#"<desc id="chart-desc">"#), "{name}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
        }
        let points = sample_points();
        let mut reversed = points.clone();
        reversed.reverse();
        for (measure, _) in MEASURES {
            assert_eq!(chart_svg(measure, &points, "en"), chart_svg(measure, &points, "en"));
            assert_eq!(chart_svg(measure, &reversed, "en"), chart_svg(measure, &points, "en"), "drawn by age");
        }
    }

    #[test]
    fn the_blood_pressure_chart_has_two_series_told_apart_by_shape_and_legend_and_the_thresholds() {
        let points = sample_points();
        let en = chart_svg(PrenatalMeasure::BloodPressure, &points, "en");
        assert!(en.contains(r#"<title id="chart-title">Blood pressure during pregnancy</title>"#), "{en}");
        assert!(en.contains("12 measurements. The latest, at 38+4 weeks, is 146/94 mmHg."), "{en}");
        assert!(en.contains("140 mmHg systolic and 90 mmHg diastolic"), "{en}");
        // 12 circles and 12 squares, and one of each in the legend.
        assert_eq!(en.matches("<circle").count(), 13);
        assert_eq!(en.matches(r#"<rect x="#).count(), 13 + 1, "squares, and the plot frame");
        assert!(en.contains(">Systolic</text>") && en.contains(">Diastolic</text>"));
        assert_eq!(en.matches("<polyline").count(), 2);
        assert_eq!(en.matches(r#"stroke-dasharray="6 4""#).count(), 2);
        assert!(en.contains(">140 mmHg (systolic)</text>") && en.contains(">90 mmHg (diastolic)</text>"));
        // 40–160 mmHg every 20: 140 is at 56 + 20/120 × 328.
        assert!(en.contains(r##"y1="110.7" x2="600.0" y2="110.7" stroke="#8a4b00""##), "{en}");
        let ja = chart_svg(PrenatalMeasure::BloodPressure, &points, "ja");
        assert!(ja.contains("12回の測定。最新は妊娠38週4日で146/94 mmHg。"), "{ja}");
        assert!(ja.contains(">収縮期血圧</text>") && ja.contains("日本産科婦人科学会"));
        // One value of a pair alone is still drawn, in its own series.
        let one = [PrenatalChartPoint { gestational_days: 100, systolic: Some(120.0), ..Default::default() }];
        let svg = chart_svg(PrenatalMeasure::BloodPressure, &one, "en");
        assert!(svg.contains("One measurement. The latest, at 14+2 weeks, is 120/– mmHg."), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn the_weight_gain_chart_has_a_zero_line_and_the_recommendations_in_words_only() {
        let points = sample_points();
        let en = chart_svg(PrenatalMeasure::WeightGain, &points, "en");
        assert!(en.contains("The latest, at 38+4 weeks, is +10.4 kg."), "{en}");
        assert!(en.contains("10–13 kg"), "{en}");
        assert!(!en.contains("<polygon"), "no recommended band is drawn");
        // −2 to 16 kg every 2: 0 is at 56 + 16/18 × 328.
        assert!(en.contains(r##"y1="347.6" x2="600.0" y2="347.6" stroke="#666666""##), "{en}");
        assert!(en.contains(">-2</text>") && en.contains(">16</text>"), "{en}");
        assert_eq!(en.matches("<circle").count(), 12);
        let loss = [point(10, 0, None, Some(-0.04), None)];
        assert!(chart_svg(PrenatalMeasure::WeightGain, &loss, "en").contains("is 0.0 kg."));
        let ja = chart_svg(PrenatalMeasure::WeightGain, &points, "ja");
        assert!(ja.contains("最新は妊娠38週4日で+10.4 kg。") && ja.contains("12〜15 kg"), "{ja}");
    }

    #[test]
    fn the_fundal_height_chart_draws_mcdonalds_rule_from_20_to_36_weeks() {
        let points = sample_points();
        let en = chart_svg(PrenatalMeasure::FundalHeight, &points, "en");
        assert_eq!(en.matches("<polygon").count(), 1);
        // 20 weeks at x 317.1, 36 at 522.9; 0–40 cm: 17 cm at 56 + 23/40 × 328, 39 at 56 + 1/40 × 328.
        assert!(en.contains(r#"<polygon points="317.1,244.6 522.9,113.4 522.9,64.2 317.1,195.4""#), "{en}");
        assert!(en.contains("McDonald"), "{en}");
        assert!(en.contains("9 measurements. The latest, at 38+4 weeks, is 34.5 cm."), "{en}");
        assert_eq!(en.matches("<circle").count(), 9, "the visits before 20 weeks have no fundal height");
        let ja = chart_svg(PrenatalMeasure::FundalHeight, &points, "ja");
        assert!(ja.contains("マクドナルド") && ja.contains(">子宮底長（cm）</text>"), "{ja}");
    }

    #[test]
    fn an_empty_chart_is_valid_and_says_there_are_no_measurements() {
        for (measure, _) in MEASURES {
            for (lang, words) in [("en", "No measurements yet"), ("ja", "測定はまだありません")] {
                for points in [vec![], vec![point(20, 0, None, None, None)]] {
                    let svg = chart_svg(measure, &points, lang);
                    assert_well_formed_xml(&svg);
                    assert!(svg.contains(&format!(">{words}</text>")), "{svg}");
                    assert!(svg.contains(&format!(r#"<desc id="chart-desc">{words}"#)), "{svg}");
                    let legend = usize::from(measure == PrenatalMeasure::BloodPressure);
                    assert_eq!(svg.matches("<circle").count(), legend, "{svg}");
                    assert!(!svg.contains("<polyline"), "{svg}");
                }
            }
        }
        let bp = chart_svg(PrenatalMeasure::BloodPressure, &[], "en");
        assert_eq!(bp.matches(r#"stroke-dasharray="6 4""#).count(), 2, "the thresholds are drawn all the same");
    }

    #[test]
    fn points_after_42_weeks_and_implausible_values_are_left_out() {
        let points = [
            point(0, 0, Some((110.0, 70.0)), Some(0.0), Some(1.0)),
            point(42, 0, Some((120.0, 75.0)), Some(11.0), Some(36.0)),
            point(42, 1, Some((130.0, 80.0)), Some(12.0), Some(37.0)),
            point(45, 0, Some((130.0, 80.0)), Some(12.0), Some(37.0)),
            point(20, 0, Some((f64::NAN, f64::INFINITY)), Some(f64::NAN), Some(-1.0)),
            point(21, 0, Some((400.0, -5.0)), Some(200.0), Some(80.0)),
        ];
        for (measure, _) in MEASURES {
            let svg = chart_svg(measure, &points, "en");
            assert_well_formed_xml(&svg);
            assert!(svg.contains("2 measurements. The latest, at 42+0 weeks"), "{measure:?}: {svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
        }
        let bp = chart_svg(PrenatalMeasure::BloodPressure, &points, "en");
        assert_eq!(bp.matches("<circle").count(), 2 + 1, "two systolic points and the legend");
        let fundal = chart_svg(PrenatalMeasure::FundalHeight, &points, "en");
        assert_eq!(fundal.matches("<circle").count(), 2);
        // The axis stays 0–42 weeks; the y axis stays at its usual range.
        assert!(fundal.contains(">40</text>") && !fundal.contains(">44</text>"));
        assert!(!fundal.contains(">80</text>"));
    }

    #[test]
    fn a_value_beyond_the_usual_range_widens_the_y_axis_to_nice_ticks() {
        let svg = chart_svg(PrenatalMeasure::BloodPressure, &[point(30, 0, Some((182.0, 118.0)), None, None)], "en");
        assert!(svg.contains(">200</text>") && svg.contains(">40</text>"), "{svg}");
        let gain = chart_svg(PrenatalMeasure::WeightGain, &[point(30, 0, None, Some(-5.3), None)], "en");
        assert!(gain.contains(">-10</text>") && gain.contains(">20</text>") && !gain.contains(">-0</text>"), "{gain}");
        assert_eq!(tick_label(-0.0, 2.0), "0");
        assert_eq!(tick_label(-0.0, 0.5), "0.0");
        assert_eq!(signed(-0.6), "-0.6");
        assert_eq!(signed(7.84), "+7.8");
    }
}
