//! Pieces shared by the SVG pictures phr-core draws (the growth charts, `growth::chart`, and
//! the prenatal charts, `prenatal::chart`): escaping text, nice axis steps, and in tests the
//! golden-file comparison and a well-formedness check with an XML parser (roxmltree).

/// `s` escaped for SVG text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Starts an accessible SVG picture of `width` × `height` on a white ground: `role="img"`,
/// labelled by its `<title>` and described by its `<desc>` (both escaped here).
pub(crate) fn open(out: &mut String, width: f64, height: f64, title: &str, desc: &str) {
    use std::fmt::Write as _;
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
    fn escaping_covers_markup_and_quotes_and_the_checker_refuses_broken_xml() {
        assert_eq!(xml_escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_well_formed_xml(r#"<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;</text></svg>"#);
        for broken in ["<svg><g></svg>", "<svg>&nbsp;</svg>", "<svg a=\"1\" a=\"2\"/>", "<g/>"] {
            assert!(std::panic::catch_unwind(|| assert_well_formed_xml(broken)).is_err(), "{broken}");
        }
    }
}
