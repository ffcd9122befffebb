//! A growth chart as an SVG picture apps and web pages show as is: the
//! reference's percentile bands (3–97, 10–90, 25–75) and lines (3, 10, 25,
//! 50, 75, 90, 97), the child's points joined by a line, axis labels in
//! Japanese or English, a note when ages are corrected, and an accessible
//! `<title>` and `<desc>` (`role="img"`). Deterministic: the same input gives
//! the same bytes (golden-file tests).

use std::fmt::Write as _;

use super::lms::{percentile, value_at_z, z_score};
use super::reference::{lookup, GrowthMeasure, GrowthReference};
use crate::dataset::common::Sex;
use crate::i18n::text;

/// One point on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// The age it is plotted at (corrected when it applies), in days.
    pub age_days: i64,
    /// The measurement, in the measure's unit.
    pub value: f64,
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

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 56.0;
/// Days per month on the x axis (365.25 / 12).
const DAYS_PER_MONTH: f64 = 30.4375;

fn unit(measure: GrowthMeasure) -> &'static str {
    match measure {
        GrowthMeasure::WeightForAge => "kg",
        GrowthMeasure::LengthHeightForAge | GrowthMeasure::HeadCircumferenceForAge => "cm",
        GrowthMeasure::BmiForAge => "kg/m²",
    }
}

fn measure_key(measure: GrowthMeasure) -> &'static str {
    match measure {
        GrowthMeasure::WeightForAge => "measure-weight-for-age",
        GrowthMeasure::LengthHeightForAge => "measure-length-height-for-age",
        GrowthMeasure::HeadCircumferenceForAge => "measure-head-circumference-for-age",
        GrowthMeasure::BmiForAge => "measure-bmi-for-age",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A "nice" step for about `target` ticks over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

/// The chart of `points` (oldest first) for a boy or girl against
/// `reference`, over 0–24 months or, when a point is older, 0–60 months.
/// `corrected`: the points are at corrected ages (a note says so). `None` for
/// a sex the reference has no table for. `lang`: a language tag of the
/// message catalogs ([`crate::i18n`]).
pub fn chart_svg(
    reference: GrowthReference,
    measure: GrowthMeasure,
    sex: Sex,
    points: &[ChartPoint],
    corrected: bool,
    lang: &str,
) -> Option<String> {
    lookup(reference, measure, sex, 0)?;
    let oldest = points.iter().map(|p| p.age_days).max().unwrap_or(0);
    let months = if oldest as f64 <= 24.0 * DAYS_PER_MONTH { 24 } else { 60 };
    let last_day = ((f64::from(months) * DAYS_PER_MONTH).round() as i64).min(1856);
    // The percentile curves, sampled every 7 days (and at the last day).
    let mut days: Vec<i64> = (0..last_day).step_by(7).collect();
    days.push(last_day);
    let curves: Vec<Vec<(i64, f64)>> = LINES
        .iter()
        .map(|(_, z)| {
            days.iter()
                .filter_map(|d| lookup(reference, measure, sex, *d).map(|lms| (*d, value_at_z(lms, *z))))
                .collect()
        })
        .collect();
    let in_range: Vec<&ChartPoint> =
        points.iter().filter(|p| (0..=last_day).contains(&p.age_days) && p.value.is_finite()).collect();
    let lo = curves[0].iter().map(|c| c.1).chain(in_range.iter().map(|p| p.value)).fold(f64::INFINITY, f64::min);
    let hi = curves[6].iter().map(|c| c.1).chain(in_range.iter().map(|p| p.value)).fold(f64::NEG_INFINITY, f64::max);
    let step = nice_step(hi - lo, 8.0);
    let (y0, y1) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |day: f64| LEFT + day / (f64::from(months) * DAYS_PER_MONTH) * plot_w;
    let y = |v: f64| TOP + (y1 - v) / (y1 - y0) * plot_h;
    let path = |pts: &mut dyn Iterator<Item = (f64, f64)>| {
        pts.map(|(a, b)| format!("{:.1},{:.1}", x(a), y(b))).collect::<Vec<_>>().join(" ")
    };

    let sex_key = if sex == Sex::Male { "sex-male" } else { "sex-female" };
    let title = text(
        lang,
        "chart-title",
        &[
            ("measure", text(lang, measure_key(measure), &[])),
            ("sex", text(lang, sex_key, &[])),
            ("months", months.to_string()),
        ],
    );
    let desc = match in_range.last() {
        Some(p) => {
            let pct = lookup(reference, measure, sex, p.age_days).and_then(|lms| z_score(lms, p.value)).map(percentile);
            text(
                lang,
                "chart-desc",
                &[
                    ("count", in_range.len().to_string()),
                    ("age", format!("{:.1}", p.age_days as f64 / DAYS_PER_MONTH)),
                    ("value", format!("{:.1}", p.value)),
                    ("unit", unit(measure).to_owned()),
                    (
                        "percentile",
                        pct.map(|v| text(lang, "chart-desc-percentile", &[("percentile", format!("{v:.0}"))]))
                            .unwrap_or_default(),
                    ),
                ],
            )
        }
        None => text(lang, "chart-desc-empty", &[]),
    };

    let mut s = String::with_capacity(32 * 1024);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif">
<title id="chart-title">{}</title>
<desc id="chart-desc">{}</desc>
<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>
"##,
        xml_escape(&title),
        xml_escape(&desc)
    );
    // Bands: 3–97, 10–90, 25–75.
    for (outer, fill) in [(0usize, "#e3eef9"), (1, "#c9dff3"), (2, "#afd0ed")] {
        let inner = 6 - outer;
        let mut poly = path(&mut curves[outer].iter().map(|(d, v)| (*d as f64, *v)));
        poly.push(' ');
        poly.push_str(&path(&mut curves[inner].iter().rev().map(|(d, v)| (*d as f64, *v))));
        let _ = writeln!(s, r#"<polygon points="{poly}" fill="{fill}" stroke="none"/>"#);
    }
    // Grid and axes.
    let mut v = y0;
    while v <= y1 + step / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="#d0d0d0" stroke-width="0.5"/><text x="{tx:.1}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#333333">{label}</text>"##,
            yy = y(v),
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y(v) + 4.0,
            label = if step < 1.0 { format!("{v:.1}") } else { format!("{v:.0}") }
        );
        v += step;
    }
    let month_step = if months == 24 { 3 } else { 6 };
    for m in (0..=months).step_by(month_step) {
        let xx = x(f64::from(m) * DAYS_PER_MONTH);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{yb:.1}" stroke="#d0d0d0" stroke-width="0.5"/><text x="{xx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle" fill="#333333">{m}</text>"##,
            yb = HEIGHT - BOTTOM,
            ty = HEIGHT - BOTTOM + 16.0
        );
    }
    // Percentile lines and their labels.
    for ((p, _), curve) in LINES.iter().zip(&curves) {
        let (width, color) = if *p == 50 { ("1.6", "#1f5f99") } else { ("0.8", "#4a86c0") };
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}"/>"#,
            path(&mut curve.iter().map(|(d, v)| (*d as f64, *v)))
        );
        if let Some((d, v)) = curve.last() {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#1f5f99">{p}</text>"##,
                x(*d as f64) + 4.0,
                y(*v) + 3.0
            );
        }
    }
    // The child's points.
    if in_range.len() > 1 {
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#c0392b" stroke-width="2"/>"##,
            path(&mut in_range.iter().map(|p| (p.age_days as f64, p.value)))
        );
    }
    for p in &in_range {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#c0392b" stroke="#ffffff" stroke-width="1"/>"##,
            x(p.age_days as f64),
            y(p.value)
        );
    }
    // Title, axis labels, note.
    let (x_label, note) =
        (xml_escape(&text(lang, "chart-x-axis", &[])), xml_escape(&text(lang, "chart-corrected-note", &[])));
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="24" font-size="15" font-weight="bold" fill="#222222">{}</text>
<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333333">{x_label}</text>
<text x="16" y="{:.1}" font-size="12" text-anchor="middle" fill="#333333" transform="rotate(-90 16 {:.1})">{}</text>"##,
        xml_escape(&title),
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        unit(measure)
    );
    if corrected {
        let _ = writeln!(s, r##"<text x="{LEFT}" y="42" font-size="11" fill="#8a4b00">{note}</text>"##);
    }
    s.push_str("</svg>\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sample charts: a girl's weight (term, 0–24 months, Japanese) and a
    /// preterm boy's length at corrected ages (English).
    pub(crate) fn samples() -> [(String, String); 2] {
        let girl: Vec<ChartPoint> = [(0, 3.1), (34, 4.3), (100, 5.9), (190, 7.2), (280, 8.1), (370, 8.9), (550, 10.4)]
            .into_iter()
            .map(|(age_days, value)| ChartPoint { age_days, value })
            .collect();
        let boy: Vec<ChartPoint> = [(0, 45.0), (60, 55.5), (150, 63.0), (250, 69.5), (400, 76.0), (600, 83.5)]
            .into_iter()
            .map(|(age_days, value)| ChartPoint { age_days, value })
            .collect();
        let a =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Female, &girl, false, "ja").unwrap();
        let b = chart_svg(GrowthReference::Who2006, GrowthMeasure::LengthHeightForAge, Sex::Male, &boy, true, "en")
            .unwrap();
        [("weight-girl-ja.svg".to_owned(), a), ("length-preterm-boy-en.svg".to_owned(), b)]
    }

    #[test]
    fn the_sample_charts_match_their_golden_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/growth/golden");
        for (name, svg) in samples() {
            let path = dir.join(&name);
            if std::env::var_os("PHR_UPDATE_GOLDEN").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &svg).unwrap();
            }
            let golden = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(golden == svg, "{name} differs from its golden file (PHR_UPDATE_GOLDEN=1 to accept)");
        }
    }

    #[test]
    fn a_chart_is_accessible_and_says_what_it_shows() {
        let [(_, ja), (_, en)] = samples();
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
        let pts = [ChartPoint { age_days: 1000, value: 14.0 }];
        let svg =
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Male, &pts, false, "en").unwrap();
        assert!(svg.contains("0–60 months"));
        assert!(
            chart_svg(GrowthReference::Who2006, GrowthMeasure::WeightForAge, Sex::Unknown, &pts, false, "en").is_none()
        );
        assert_eq!(xml_escape("a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
    }
}
