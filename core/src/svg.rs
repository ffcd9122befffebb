//! Pieces shared by the SVG pictures phr-core draws (the growth charts, `growth::chart`, and
//! the prenatal charts, `prenatal::chart`): escaping text, nice axis steps, the plot frame
//! both charts draw in (size, margins, scales, grid lines, title and axis labels), and in
//! tests the golden-file comparison and a well-formedness check with an XML parser
//! (roxmltree).

use std::fmt::Write as _;

/// `s` escaped for SVG text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Starts an accessible SVG picture of `width` × `height` on a white ground: `role="img"`,
/// labelled by its `<title>` and described by its `<desc>` (both escaped here).
pub(crate) fn open(out: &mut String, width: f64, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif">
<title id="chart-title">{}</title>
<desc id="chart-desc">{}</desc>
<rect width="{width}" height="{height}" fill="#ffffff"/>
"##,
        xml_escape(title),
        xml_escape(desc)
    );
}

/// The frame a chart is drawn in: a [`Frame::WIDTH`] × [`Frame::HEIGHT`] picture whose plot
/// area sits inside fixed margins (room for the title and legend above, tick labels below
/// and at the left), and the linear scales from the data's x and y ranges onto it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    /// The x (a day, or cm) at the plot's left and right edges.
    x: (f64, f64),
    /// The y value at the plot's bottom and top edges.
    y: (f64, f64),
}

impl Frame {
    pub(crate) const WIDTH: f64 = 640.0;
    pub(crate) const HEIGHT: f64 = 440.0;
    pub(crate) const LEFT: f64 = 60.0;
    pub(crate) const RIGHT: f64 = 40.0;
    pub(crate) const TOP: f64 = 56.0;
    pub(crate) const BOTTOM: f64 = 56.0;
    pub(crate) const PLOT_WIDTH: f64 = Self::WIDTH - Self::LEFT - Self::RIGHT;
    pub(crate) const PLOT_HEIGHT: f64 = Self::HEIGHT - Self::TOP - Self::BOTTOM;

    /// The frame plotting x from `x.0` to `x.1` and y from `y.0` (bottom) to `y.1` (top).
    pub(crate) fn new(x: (f64, f64), y: (f64, f64)) -> Self {
        Frame { x, y }
    }

    /// Starts the picture (see [`open`]).
    pub(crate) fn open(out: &mut String, title: &str, desc: &str) {
        open(out, Self::WIDTH, Self::HEIGHT, title, desc);
    }

    /// The picture's x of data x `at`.
    pub(crate) fn x(&self, at: f64) -> f64 {
        Self::LEFT + (at - self.x.0) / (self.x.1 - self.x.0) * Self::PLOT_WIDTH
    }

    /// The picture's y of value `v`.
    pub(crate) fn y(&self, v: f64) -> f64 {
        Self::TOP + (self.y.1 - v) / (self.y.1 - self.y.0) * Self::PLOT_HEIGHT
    }

    /// The `points` attribute of a polyline or polygon through `pts` (data x, value).
    pub(crate) fn points(&self, pts: impl IntoIterator<Item = (f64, f64)>) -> String {
        pts.into_iter().map(|(at, v)| format!("{:.1},{:.1}", self.x(at), self.y(v))).collect::<Vec<_>>().join(" ")
    }

    /// A horizontal grid line at value `v`, labelled at the left.
    pub(crate) fn grid_row(&self, out: &mut String, v: f64, label: &str) {
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{x2:.1}" y2="{yy:.1}" stroke="#d0d0d0" stroke-width="0.5"/><text x="{tx:.1}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#333333">{label}</text>"##,
            left = Self::LEFT,
            yy = self.y(v),
            x2 = Self::WIDTH - Self::RIGHT,
            tx = Self::LEFT - 6.0,
            ty = self.y(v) + 4.0,
            label = xml_escape(label)
        );
    }

    /// A vertical grid line at data x `at`, labelled below the plot.
    pub(crate) fn grid_column(&self, out: &mut String, at: f64, label: &str) {
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{yb:.1}" stroke="#d0d0d0" stroke-width="0.5"/><text x="{xx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle" fill="#333333">{label}</text>"##,
            xx = self.x(at),
            top = Self::TOP,
            yb = Self::HEIGHT - Self::BOTTOM,
            ty = Self::HEIGHT - Self::BOTTOM + 16.0,
            label = xml_escape(label)
        );
    }

    /// The title above the plot, the x axis label below it and the y axis label turned
    /// along the left edge (all escaped here).
    pub(crate) fn labels(out: &mut String, title: &str, x_label: &str, y_label: &str) {
        let middle_x = Self::LEFT + Self::PLOT_WIDTH / 2.0;
        let middle_y = Self::TOP + Self::PLOT_HEIGHT / 2.0;
        let _ = writeln!(
            out,
            r##"<text x="{left}" y="24" font-size="15" font-weight="bold" fill="#222222">{}</text>
<text x="{middle_x:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333333">{}</text>
<text x="16" y="{middle_y:.1}" font-size="12" text-anchor="middle" fill="#333333" transform="rotate(-90 16 {middle_y:.1})">{}</text>"##,
            xml_escape(title),
            Self::HEIGHT - 14.0,
            xml_escape(x_label),
            xml_escape(y_label),
            left = Self::LEFT,
        );
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) for about `target` ticks over `span`.
pub(crate) fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

/// Compares each `(file name, svg)` with its golden file in `dir` (relative to this crate);
/// with `PHR_UPDATE_GOLDEN` set, writes them first (to accept a change).
#[cfg(test)]
pub(crate) fn assert_golden(dir: &str, samples: Vec<(String, String)>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    for (name, svg) in samples {
        assert_well_formed_xml(&svg);
        let path = dir.join(&name);
        if std::env::var_os("PHR_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &svg).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(golden == svg, "{name} differs from its golden file (PHR_UPDATE_GOLDEN=1 to accept)");
    }
}

/// Panics unless `svg` is well-formed XML with an `<svg>` root.
#[cfg(test)]
pub(crate) fn assert_well_formed_xml(svg: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(10.0, 8.0), 2.0);
        assert_eq!(nice_step(100.0, 8.0), 20.0);
        assert!((nice_step(0.3, 8.0) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn a_frame_maps_its_ranges_onto_the_plot_area_inside_the_margins() {
        let frame = Frame::new((0.0, 294.0), (40.0, 160.0));
        assert_eq!((frame.x(0.0), frame.x(294.0)), (Frame::LEFT, Frame::WIDTH - Frame::RIGHT));
        assert_eq!((frame.y(40.0), frame.y(160.0)), (Frame::HEIGHT - Frame::BOTTOM, Frame::TOP));
        assert_eq!(frame.points([(0.0, 160.0), (147.0, 100.0)]), "60.0,56.0 330.0,220.0");
        let mut out = String::new();
        frame.grid_row(&mut out, 100.0, "100");
        frame.grid_column(&mut out, 147.0, "<21>");
        Frame::labels(&mut out, "T & t", "weeks", "mmHg");
        assert_well_formed_xml(&format!(r#"<svg xmlns="http://www.w3.org/2000/svg">{out}</svg>"#));
        assert!(out.contains(r#"y1="220.0""#) && out.contains(r#"x1="330.0""#), "{out}");
        assert!(out.contains("&lt;21&gt;") && out.contains("T &amp; t"), "labels are escaped: {out}");
    }

    #[test]
    fn escaping_covers_markup_and_quotes_and_the_checker_refuses_broken_xml() {
        assert_eq!(xml_escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_well_formed_xml(r#"<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;</text></svg>"#);
        for broken in ["<svg><g></svg>", "<svg>&nbsp;</svg>", "<svg a=\"1\" a=\"2\"/>", "<g/>"] {
            assert!(std::panic::catch_unwind(|| assert_well_formed_xml(broken)).is_err(), "{broken}");
        }
    }
}
