//! The charts of the signals page, as inline SVG: horizontal bars, a
//! heatmap of volume per period, and line charts over the periods. Hovering
//! a cell, bar or point shows its exact value.

use std::fmt::Write;

use crate::signals::Signals;
use crate::window::Window;

/// Text escaped for HTML and SVG.
pub(super) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A label cut to fit its column.
pub(super) fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

const LABEL_WIDTH: usize = 230;
const BAR_WIDTH: usize = 460;
const ROW: usize = 22;

/// One bar segment: value, colour and hover text.
pub(super) struct Segment {
    pub value: f64,
    pub color: &'static str,
    pub title: String,
}

/// Horizontal bars, one row per label; a row's segments are stacked, and
/// its text is written after the bar.
pub(super) fn bar_chart(
    rows: &[(String, Vec<Segment>, String)],
    legend: &[(&str, &str)],
) -> String {
    let max = rows
        .iter()
        .map(|(_, segments, _)| segments.iter().map(|s| s.value).sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-9);
    let legend_height = if legend.is_empty() { 0 } else { ROW };
    let height = legend_height + rows.len() * ROW + 4;
    let width = LABEL_WIDTH + BAR_WIDTH + 110;
    let mut svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    let mut x = LABEL_WIDTH;
    for (name, color) in legend {
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"14\">{}</text>",
            x + 16,
            esc(name)
        );
        x += 24 + name.len() * 8;
    }
    for (i, (label, segments, text)) in rows.iter().enumerate() {
        let y = legend_height + i * ROW;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL_WIDTH - 8,
            y + 15,
            esc(label),
            esc(&short(label, 30))
        );
        let mut x = LABEL_WIDTH as f64;
        for s in segments {
            let w = s.value / max * BAR_WIDTH as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                y + 3,
                ROW - 6,
                s.color,
                esc(&s.title)
            );
            x += w;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text>",
            x + 6.0,
            y + 15,
            esc(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Customers by periods, each cell shaded by its count of tickets.
pub(super) fn heatmap(signals: &Signals, window: &Window) -> String {
    let periods = window.periods.len();
    let cell = (BAR_WIDTH / periods.max(1)).clamp(14, 40);
    let top = 46;
    let width = LABEL_WIDTH + cell * periods + 20;
    let height = top + signals.customers.len() * ROW + 4;
    let max = signals
        .customers
        .iter()
        .flat_map(|c| c.periods.iter().map(|p| p.tickets))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for j in 0..periods {
        let x = LABEL_WIDTH + j * cell + cell / 2;
        let label = window.label(j);
        let short_label = &label[label.len() - 5..];
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{}\" transform=\"rotate(-60 {x} {})\" class=\"axis\">{short_label}</text>",
            top - 6,
            top - 6
        );
    }
    for (i, c) in signals.customers.iter().enumerate() {
        let y = top + i * ROW;
        let label = c.label();
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL_WIDTH - 8,
            y + 15,
            esc(&label),
            esc(&short(&label, 30))
        );
        for (j, point) in c.periods.iter().enumerate() {
            let n = point.tickets;
            let opacity = if n == 0 {
                0.04
            } else {
                0.15 + 0.85 * n as f64 / max as f64
            };
            let x = LABEL_WIDTH + j * cell;
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#2563eb\" fill-opacity=\"{opacity:.2}\">\
                 <title>{}: {n} tickets in the {} of {}</title></rect>",
                y + 1,
                cell - 2,
                ROW - 2,
                esc(&label),
                window.granularity.noun(),
                window.label(j),
            );
            if n > 0 {
                let class = if opacity > 0.55 { "cell dark" } else { "cell" };
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"{class}\">{n}</text>",
                    x + (cell - 2) / 2,
                    y + 15
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One series of a sparkline: a value per period (none where nothing was
/// measured) and the hover text of each point.
pub(super) struct Series<'a> {
    pub values: Vec<Option<f64>>,
    pub titles: Vec<String>,
    pub color: &'a str,
    /// The value range drawn (e.g. -1 to 1 for sentiment); `None`: 0 to the
    /// largest value.
    pub range: Option<(f64, f64)>,
}

/// A line chart over the periods: the line breaks where a period has no
/// value; a dashed line marks zero when the range spans it. With `axes`,
/// the range's ends are labelled on the left and the first and last
/// periods below (a sparkline has none).
pub(super) fn line_chart(
    series: &Series<'_>,
    width: usize,
    height: usize,
    axes: Option<&Window>,
) -> String {
    let n = series.values.len().max(1);
    let (low, high) = series.range.unwrap_or_else(|| {
        let max = series.values.iter().flatten().copied().fold(0.0, f64::max);
        (0.0, max.max(1e-9))
    });
    let pad = 4.0;
    let (left, bottom) = if axes.is_some() {
        (34.0, 16.0)
    } else {
        (0.0, 0.0)
    };
    let plot_height = height as f64 - bottom;
    let x = |i: usize| left + pad + (width as f64 - left - 2.0 * pad) * (i as f64 + 0.5) / n as f64;
    let y = |v: f64| {
        let t = ((v - low) / (high - low)).clamp(0.0, 1.0);
        plot_height - pad - t * (plot_height - 2.0 * pad)
    };
    let mut svg = format!(
        "<svg class=\"spark\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    if low < 0.0 && high > 0.0 {
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{width}\" y1=\"{0:.1}\" y2=\"{0:.1}\" class=\"zero\"/>",
            y(0.0)
        );
    }
    if let Some(window) = axes {
        let mut ticks = vec![low, high];
        if low < 0.0 && high > 0.0 {
            ticks.push(0.0);
        }
        for v in ticks {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">{}</text>",
                left - 6.0,
                (y(v) + 3.0).max(10.0),
                if v == 0.0 {
                    "0".to_string()
                } else {
                    format!("{v:+}")
                }
            );
        }
        let last = window.periods.len().saturating_sub(1);
        for (i, anchor) in [(0, "start"), (last, "end")] {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"axis\">{}</text>",
                x(i),
                height - 3,
                window.label(i)
            );
        }
    }
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in series.values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(*v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
            path.trim_end(),
            series.color
        );
    }
    for (i, v) in series.values.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"><title>{}</title></circle>",
                x(i),
                y(*v),
                series.color,
                esc(&series.titles[i])
            );
        }
    }
    svg.push_str("</svg>");
    svg
}
