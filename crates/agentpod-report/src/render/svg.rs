//! Inline SVG charts drawn by hand: histograms, shares with their intervals, and estimates
//! against references. No script, no font, no network: the page must open from a CI artifact.

use std::fmt::Write;

use crate::render::format::truncate;
use crate::render::inert_text::xml_text;

use super::terminal::Show;

const WIDTH: f64 = 360.0;
const MAX_BINS: usize = 24;

/// A histogram of `values` with equal-width bins (about √n of them).
pub(crate) fn histogram(title: &str, values: &[f64], show: Show) -> String {
    let mut out = String::new();
    let height = 180.0;
    let (left, right, top, bottom) = (34.0, 10.0, 24.0, 28.0);
    let _ = write!(
        out,
        "<svg class=\"chart histogram\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        xml_text(title)
    );
    let _ = write!(
        out,
        "<text x=\"{left}\" y=\"15\" class=\"chart-title\">{}</text>",
        xml_text(title)
    );
    if values.is_empty() {
        out.push_str(
            "<text x=\"50%\" y=\"50%\" text-anchor=\"middle\" class=\"muted\">no data</text></svg>",
        );
        return out;
    }
    let minimum = values.iter().copied().fold(f64::INFINITY, f64::min);
    let maximum = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = maximum - minimum;
    let bins = if span > 0.0 {
        ((values.len() as f64).sqrt().ceil() as usize).clamp(1, MAX_BINS)
    } else {
        1
    };
    let mut counts = vec![0_usize; bins];
    for value in values {
        let bin = if span > 0.0 {
            (((value - minimum) / span * bins as f64) as usize).min(bins - 1)
        } else {
            0
        };
        counts[bin] += 1;
    }
    let tallest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let plot_width = WIDTH - left - right;
    let plot_height = height - top - bottom;
    let bar_width = plot_width / bins as f64;
    for (bin, count) in counts.iter().enumerate() {
        let bar_height = *count as f64 / tallest * plot_height;
        let from = minimum + span * bin as f64 / bins as f64;
        let to = minimum + span * (bin + 1) as f64 / bins as f64;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}–{}: {count} issue{}</title></rect>",
            left + bin as f64 * bar_width + 1.0,
            top + plot_height - bar_height,
            (bar_width - 2.0).max(1.0),
            bar_height,
            xml_text(&show(from)),
            xml_text(&show(to)),
            if *count == 1 { "" } else { "s" }
        );
    }
    let base = top + plot_height;
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        WIDTH - right
    );
    let _ = write!(
        out,
        "<text x=\"{left}\" y=\"{}\" class=\"tick\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"tick\">{}</text>",
        base + 16.0,
        xml_text(&show(minimum)),
        WIDTH - right,
        base + 16.0,
        xml_text(&show(maximum))
    );
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"tick\">{}</text><text x=\"{}\" y=\"{base}\" text-anchor=\"end\" class=\"tick\">0</text></svg>",
        left - 4.0,
        top + 4.0,
        tallest,
        left - 4.0
    );
    out
}

/// One row of a share chart: a label, a share in [0, 1] and its interval.
pub(crate) struct ShareRow {
    pub(crate) label: String,
    pub(crate) share: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    pub(crate) note: String,
}

/// Horizontal bars of shares (pass rates) with interval whiskers.
pub(crate) fn shares(title: &str, rows: &[ShareRow]) -> String {
    let row_height = 26.0;
    let (label_width, right, top) = (140.0, 110.0, 24.0);
    let width = 620.0;
    let height = top + row_height * rows.len() as f64 + 8.0;
    let plot = width - label_width - right;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart shares\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{0}</title><text x=\"0\" y=\"15\" class=\"chart-title\">{0}</text>",
        xml_text(title)
    );
    for (index, row) in rows.iter().enumerate() {
        let y = top + index as f64 * row_height;
        let middle = y + row_height / 2.0;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label\">{}</text>",
            label_width - 8.0,
            middle + 4.0,
            xml_text(&truncate(&row.label, 20))
        );
        let _ = write!(
            out,
            "<rect class=\"track\" x=\"{label_width}\" y=\"{:.1}\" width=\"{plot:.1}\" height=\"14\"/><rect class=\"bar\" x=\"{label_width}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\"/>",
            middle - 7.0,
            middle - 7.0,
            row.share.clamp(0.0, 1.0) * plot
        );
        whisker(
            &mut out,
            label_width + row.low * plot,
            label_width + row.high * plot,
            middle,
        );
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>",
            label_width + plot + 8.0,
            middle + 4.0,
            xml_text(&row.note)
        );
    }
    out.push_str("</svg>");
    out
}

/// One row of an estimate chart: the estimate with its interval, and the references it is set
/// against (a budget, today's handling), each drawn as a vertical mark.
pub(crate) struct EstimateRow {
    pub(crate) label: String,
    pub(crate) value: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// `within`, `over`, `undecided`, or empty for no budget.
    pub(crate) standing: &'static str,
    pub(crate) budget: Option<f64>,
    pub(crate) current: Option<f64>,
    pub(crate) note: String,
}

/// Each row on its own scale (a month's dollars and a p95 in seconds share no axis).
pub(crate) fn estimates(title: &str, rows: &[EstimateRow]) -> String {
    let row_height = 34.0;
    let (label_width, right, top) = (170.0, 250.0, 40.0);
    let width = 820.0;
    let height = top + row_height * rows.len() as f64 + 8.0;
    let plot = width - label_width - right;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart estimates\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{0}</title><text x=\"0\" y=\"15\" class=\"chart-title\">{0}</text>",
        xml_text(title)
    );
    let _ = write!(
        out,
        "<g class=\"legend\"><rect class=\"bar within\" x=\"{label_width}\" y=\"22\" width=\"10\" height=\"10\"/><text x=\"{:.0}\" y=\"31\" class=\"tick\">estimate, 95% interval</text><line class=\"budget\" x1=\"{:.0}\" y1=\"20\" x2=\"{:.0}\" y2=\"34\"/><text x=\"{:.0}\" y=\"31\" class=\"tick\">budget</text><line class=\"current\" x1=\"{:.0}\" y1=\"20\" x2=\"{:.0}\" y2=\"34\"/><text x=\"{:.0}\" y=\"31\" class=\"tick\">today</text></g>",
        label_width + 14.0,
        label_width + 150.0,
        label_width + 150.0,
        label_width + 156.0,
        label_width + 210.0,
        label_width + 210.0,
        label_width + 216.0
    );
    for (index, row) in rows.iter().enumerate() {
        let y = top + index as f64 * row_height;
        let middle = y + row_height / 2.0;
        // One linear scale for the estimate and every reference: when today's handling is a
        // hundred times the agent's figure, the bar is a sliver beside it, which is the truth
        // (clamping today to the edge once made 1 h against 200 h look like 85%).
        let scale_top = [Some(row.high), row.budget, row.current]
            .into_iter()
            .flatten()
            .fold(0.0_f64, f64::max)
            * 1.15;
        let at = |value: f64| {
            if scale_top > 0.0 {
                label_width + (value / scale_top).clamp(0.0, 1.0) * plot
            } else {
                label_width
            }
        };
        let _ = write!(
            out,
            "<g class=\"row\"><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label\">{}</text><rect class=\"track\" x=\"{label_width}\" y=\"{:.1}\" width=\"{plot:.1}\" height=\"14\"/><rect class=\"bar {}\" x=\"{label_width}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\"/>",
            label_width - 8.0,
            middle + 4.0,
            xml_text(&row.label),
            middle - 7.0,
            row.standing,
            middle - 7.0,
            at(row.value) - label_width
        );
        whisker(&mut out, at(row.low), at(row.high), middle);
        for (class, reference) in [("budget", row.budget), ("current", row.current)] {
            if let Some(reference) = reference {
                let x = at(reference);
                let _ = write!(
                    out,
                    "<line class=\"{class}\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>",
                    middle - 12.0,
                    middle + 12.0
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text></g>",
            label_width + plot + 10.0,
            middle + 4.0,
            xml_text(&row.note)
        );
    }
    out.push_str("</svg>");
    out
}

fn whisker(out: &mut String, from: f64, to: f64, middle: f64) {
    let _ = write!(
        out,
        "<path class=\"whisker\" d=\"M{from:.1} {:.1}v8M{from:.1} {middle:.1}H{to:.1}M{to:.1} {:.1}v8\"/>",
        middle - 4.0,
        middle - 4.0
    );
}
