//! The emergency card as a picture: the SMART Health Link's QR code and a
//! one-line label on a card the size of an ID-1 card (85.6 × 54 mm), as SVG,
//! which apps show on the lock screen or print and web pages embed as is.
//!
//! The QR code is encoded by the `qrcode` crate (error correction level M, as
//! SMART Health Cards use), drawn as one SVG path of its dark modules with the
//! four-module quiet zone QR readers need; the SVG carries a `<title>` and a
//! `<desc>` for screen readers, and the label is XML-escaped.

use qrcode::{Color, EcLevel, QrCode};

/// Card width, in millimetres (ISO/IEC 7810 ID-1).
pub const CARD_WIDTH_MM: f64 = 85.6;
/// Card height, in millimetres.
pub const CARD_HEIGHT_MM: f64 = 54.0;
/// Modules of white around the code.
pub const QUIET_ZONE: usize = 4;
/// Longest label drawn, in characters (the SHL label limit).
pub const MAX_LABEL_CHARS: usize = crate::crypto::shl::MAX_LABEL_CHARS;

/// Why a card cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The link does not fit in a QR code.
    #[error("the link does not fit in a QR code: {0}")]
    TooLong(String),
    /// The label is longer than [`MAX_LABEL_CHARS`].
    #[error("the label is longer than {MAX_LABEL_CHARS} characters")]
    LabelTooLong,
}

fn escape(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The dark modules of `link`'s QR code as an SVG path in module units (quiet zone included),
/// and the code's width in modules with the quiet zone.
pub fn qr_path(link: &str) -> Result<(String, usize), CardError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
        .map_err(|e| CardError::TooLong(e.to_string()))?;
    let width = code.width();
    let mut d = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            d.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok((d, width + 2 * QUIET_ZONE))
}

/// Roughly how wide `c` is, in ems: CJK and other wide characters 1, the rest about half.
fn em_width(c: char) -> f64 {
    if (c as u32) >= 0x2E80 {
        1.0
    } else {
        0.6
    }
}

/// `text` broken into lines at most `width` wide at `font_size` (both in mm), breaking
/// at spaces where it can and inside a word (CJK has no spaces) where it must.
fn wrap(text: &str, width: f64, font_size: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0.0;
    for word in text.split_inclusive(' ') {
        let w: f64 = word.chars().map(em_width).sum::<f64>() * font_size;
        if used + w > width && !line.is_empty() && w <= width {
            lines.push(line.trim_end().to_owned());
            line.clear();
            used = 0.0;
        }
        for c in word.chars() {
            if c == ' ' && line.is_empty() {
                continue;
            }
            let cw = em_width(c) * font_size;
            if used + cw > width && !line.is_empty() {
                lines.push(line.trim_end().to_owned());
                line.clear();
                used = 0.0;
                if c == ' ' {
                    continue;
                }
            }
            line.push(c);
            used += cw;
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// `<text>` lines starting at `y`, `step` apart.
fn text_lines(lines: &[String], x: f64, y: f64, step: f64, style: &str) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("<text x=\"{x:.1}\" y=\"{:.1}\" {style}>{}</text>", y + step * i as f64, escape(l)))
        .collect()
}

/// The card: the QR code of `link` (the `shlink:/…` text) on the left, `title` (e.g.
/// "緊急カード / Emergency card", one line per `/` part) and `label` (wrapped) on the
/// right, as a standalone SVG document.
pub fn card_svg(link: &str, title: &str, label: &str) -> Result<String, CardError> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(CardError::LabelTooLong);
    }
    let (path, modules) = qr_path(link)?;
    // The code fills the card's height less a 4 mm margin on each side.
    let margin = 4.0;
    let qr_mm = CARD_HEIGHT_MM - 2.0 * margin;
    let scale = qr_mm / modules as f64;
    let x = qr_mm + 2.0 * margin;
    let column = CARD_WIDTH_MM - x - margin;
    let (title_size, label_size) = (3.2, 2.8);
    let title_lines: Vec<String> = title.split(" / ").flat_map(|part| wrap(part.trim(), column, title_size)).collect();
    let title_svg = text_lines(
        &title_lines,
        x,
        margin + title_size + 2.0,
        title_size * 1.3,
        "font-family=\"sans-serif\" font-size=\"3.2\" font-weight=\"bold\" fill=\"#b00020\"",
    );
    let label_top = margin + title_size + 2.0 + title_size * 1.3 * title_lines.len() as f64 + 2.0;
    let label_svg = text_lines(
        &wrap(label, column, label_size),
        x,
        label_top,
        label_size * 1.35,
        "font-family=\"sans-serif\" font-size=\"2.8\" fill=\"#000000\"",
    );
    Ok(format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\" ",
            "role=\"img\" aria-labelledby=\"card-title card-desc\">",
            "<title id=\"card-title\">{title}</title>",
            "<desc id=\"card-desc\">{label}: a SMART Health Link QR code for an emergency team to scan</desc>",
            "<rect x=\"0.4\" y=\"0.4\" width=\"{iw}\" height=\"{ih}\" rx=\"3\" fill=\"#ffffff\" stroke=\"#b00020\" stroke-width=\"0.8\"/>",
            "<g transform=\"translate({margin} {margin}) scale({scale:.6})\" shape-rendering=\"crispEdges\">",
            "<rect width=\"{m}\" height=\"{m}\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></g>",
            "{title_svg}{label_svg}",
            "</svg>"
        ),
        w = CARD_WIDTH_MM,
        h = CARD_HEIGHT_MM,
        iw = CARD_WIDTH_MM - 0.8,
        ih = CARD_HEIGHT_MM - 0.8,
        title = escape(title),
        label = escape(label),
        margin = margin,
        scale = scale,
        m = modules,
        path = path,
        title_svg = title_svg,
        label_svg = label_svg,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "shlink:/eyJ1cmwiOiJodHRwczovL3Boci5leGFtcGxlL3NobC9hYmMiLCJrZXkiOiJBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBIn0";

    #[test]
    fn the_card_draws_every_dark_module_of_the_links_qr_code_with_a_quiet_zone() {
        let code = QrCode::with_error_correction_level(LINK.as_bytes(), EcLevel::M).unwrap();
        let dark = code.to_colors().iter().filter(|c| **c == Color::Dark).count();
        let (path, modules) = qr_path(LINK).unwrap();
        assert_eq!(path.matches('M').count(), dark);
        assert_eq!(modules, code.width() + 8);
        assert!(
            path.starts_with(&format!("M{QUIET_ZONE} {QUIET_ZONE}")),
            "the finder pattern starts after the quiet zone"
        );
    }

    #[test]
    fn labels_wrap_to_the_column_at_spaces_or_inside_cjk_text() {
        assert_eq!(wrap("山田 花子 — 緊急サマリー", 16.0, 2.8), ["山田 花子", "— 緊急サマ", "リー"]);
        assert_eq!(wrap("Emergency card", 27.0, 3.2), ["Emergency card"]);
        assert_eq!(wrap("Emergency card", 20.0, 3.6), ["Emergency", "card"]);
    }

    #[test]
    fn the_card_is_an_accessible_svg_with_the_label_escaped() {
        let svg = card_svg(LINK, "緊急カード / Emergency card", "母 <A&B>").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title id=\"card-title\">緊急カード / Emergency card</title>"));
        assert!(svg.contains("母 &lt;A&amp;B&gt;") && !svg.contains("<A&B>"));
        assert!(
            svg.contains(">緊急カード</text>") && svg.contains(">Emergency card</text>"),
            "one title line per part"
        );
        assert!(svg.ends_with("</svg>"));
        assert_eq!(card_svg(LINK, "t", &"x".repeat(81)), Err(CardError::LabelTooLong));
        assert!(matches!(card_svg(&"x".repeat(5000), "t", "l"), Err(CardError::TooLong(_))));
    }
}
