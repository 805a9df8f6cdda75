//! `report --html FILE`: the support signals as one self-contained page (inline
//! CSS and SVG, no script, nothing fetched), a chart per signal: a heatmap
//! of weekly ticket volume and bar charts of the medians, satisfaction and
//! escalations. Hovering a cell or bar shows its exact value.

use std::fmt::Write;

use crate::signals::{cells, format_duration, Signals};
use crate::text::format_time;

/// Text escaped for HTML and SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A label cut to fit its column.
fn short(text: &str, max: usize) -> String {
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
struct Segment {
    value: f64,
    color: &'static str,
    title: String,
}

/// Horizontal bars, one row per label; a row's segments are stacked, and
/// its text is written after the bar.
fn bar_chart(rows: &[(String, Vec<Segment>, String)], legend: &[(&str, &str)]) -> String {
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

/// Customers by weeks, each cell shaded by its count.
fn heatmap(signals: &Signals) -> String {
    let cell = (BAR_WIDTH / signals.weeks.len().max(1)).clamp(14, 40);
    let top = 46;
    let width = LABEL_WIDTH + cell * signals.weeks.len() + 20;
    let height = top + signals.customers.len() * ROW + 4;
    let max = signals
        .customers
        .iter()
        .flat_map(|c| c.weekly.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for (j, week) in signals.weeks.iter().enumerate() {
        let x = LABEL_WIDTH + j * cell + cell / 2;
        let date = &format_time(*week)[5..10];
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{}\" transform=\"rotate(-60 {x} {})\" class=\"axis\">{date}</text>",
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
        for (j, n) in c.weekly.iter().enumerate() {
            let opacity = if *n == 0 {
                0.04
            } else {
                0.15 + 0.85 * *n as f64 / max as f64
            };
            let x = LABEL_WIDTH + j * cell;
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#2563eb\" fill-opacity=\"{opacity:.2}\">\
                 <title>{}: {n} tickets in the week of {}</title></rect>",
                y + 1,
                cell - 2,
                ROW - 2,
                esc(&label),
                &format_time(signals.weeks[j])[..10],
            );
            if *n > 0 {
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

/// The whole page.
pub fn page(signals: &Signals) -> String {
    let mut html = String::new();
    let title = format!("Support signals: {}", signals.connection);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{}</style></head><body><h1>{}</h1>",
        esc(&title),
        STYLE,
        esc(&title)
    );
    if signals.customers.is_empty() {
        html.push_str(
            "<p>No matched customers: import the customer list and run the matching.</p></body></html>\n",
        );
        return html;
    }
    let period = match (signals.weeks.first(), signals.weeks.last()) {
        (Some(first), Some(last)) => format!(
            "Tickets created in the weeks of {} to {} (UTC, weeks from Monday).",
            &format_time(*first)[..10],
            &format_time(*last)[..10]
        ),
        _ => "No tickets.".into(),
    };
    let unattributed = match signals.unattributed {
        0 => String::new(),
        n => format!(" {n} tickets are not attributed to a customer."),
    };
    let _ = write!(
        html,
        "<p>{} customers. {period}{unattributed}</p>",
        signals.customers.len(),
    );
    let no_history = "<p class=\"na\">n/a: no change history synced (records of kind \
                      <code>change</code>), so this signal is not available.</p>";

    html.push_str("<section><h2>Ticket volume per week</h2>");
    html.push_str(&heatmap(signals));
    html.push_str("</section>");

    let median_rows = |pick: &dyn Fn(&crate::signals::CustomerSignals) -> (Option<i64>, usize)| {
        signals
            .customers
            .iter()
            .map(|c| {
                let (median, n) = pick(c);
                let text = median.map_or("-".into(), |m| format!("{} (n={n})", format_duration(m)));
                let segments = median
                    .map(|m| Segment {
                        value: m as f64,
                        color: "#0d9488",
                        title: format!(
                            "{}: median {} over {n} tickets",
                            c.label(),
                            format_duration(m)
                        ),
                    })
                    .into_iter()
                    .collect();
                (c.label(), segments, text)
            })
            .collect::<Vec<_>>()
    };
    html.push_str("<section><h2>Median first reply time</h2>");
    html.push_str(&bar_chart(
        &median_rows(&|c| (c.first_reply, c.replied)),
        &[],
    ));
    html.push_str("</section><section><h2>Median resolution time</h2>");
    if signals.history {
        html.push_str(&bar_chart(
            &median_rows(&|c| (c.resolution, c.resolved)),
            &[],
        ));
    } else {
        html.push_str(no_history);
    }
    html.push_str("</section>");

    let satisfaction: Vec<_> = signals
        .customers
        .iter()
        .map(|c| {
            let segment = |value: usize, color, what: &str| Segment {
                value: value as f64,
                color,
                title: format!("{}: {value} {what}", c.label()),
            };
            (
                c.label(),
                vec![
                    segment(c.good, GOOD, "rated good"),
                    segment(c.bad, BAD, "rated bad"),
                    segment(c.offered, OFFERED, "offered, not answered"),
                ],
                format!("{} / {} / {}", c.good, c.bad, c.offered),
            )
        })
        .collect();
    html.push_str("<section><h2>Satisfaction</h2>");
    html.push_str(&bar_chart(
        &satisfaction,
        &[("good", GOOD), ("bad", BAD), ("offered", OFFERED)],
    ));
    html.push_str("</section><section><h2>Escalations</h2>");
    if signals.history {
        let escalations: Vec<_> = signals
            .customers
            .iter()
            .map(|c| {
                (
                    c.label(),
                    vec![
                        Segment {
                            value: c.escalated as f64,
                            color: RAISED,
                            title: format!(
                                "{}: {} tickets raised to high or urgent",
                                c.label(),
                                c.escalated
                            ),
                        },
                        Segment {
                            value: c.reopened as f64,
                            color: REOPENED,
                            title: format!("{}: {} tickets reopened", c.label(), c.reopened),
                        },
                    ],
                    format!("{} / {}", c.escalated, c.reopened),
                )
            })
            .collect();
        html.push_str(&bar_chart(
            &escalations,
            &[("priority raised", RAISED), ("reopened", REOPENED)],
        ));
    } else {
        html.push_str(no_history);
    }
    html.push_str("</section>");

    let (header, rows) = cells(signals);
    html.push_str("<section><h2>All signals</h2><table><tr>");
    for h in &header {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr>");
    for row in &rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", esc(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></section></body></html>\n");
    html
}

const GOOD: &str = "#16a34a";
const BAD: &str = "#dc2626";
const OFFERED: &str = "#a3a3a3";
const RAISED: &str = "#ea580c";
const REOPENED: &str = "#7c3aed";

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1e293b;max-width:1100px}\
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\
svg{display:block;font-size:12px}svg text{fill:#1e293b}svg text.value{fill:#475569}\
svg text.axis{font-size:10px;fill:#64748b}svg text.cell{font-size:10px}svg text.dark{fill:#fff}\
.na{color:#64748b;font-style:italic}\
table{border-collapse:collapse;font-size:13px}th{font-size:11px;color:#475569}td,th{padding:4px 8px;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap}\
td:first-child,th:first-child{text-align:left}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::CustomerSignals;

    #[test]
    fn pages_are_self_contained_and_escaped() {
        let signals = Signals {
            connection: "acme".into(),
            weeks: vec![1_704_067_200, 1_704_067_200 + crate::signals::WEEK],
            customers: vec![CustomerSignals {
                customer_id: "x".into(),
                name: "<Tom & Jerry's>".into(),
                tickets: 3,
                weekly: vec![1, 2],
                first_reply: Some(3600),
                replied: 2,
                good: 1,
                ..CustomerSignals::default()
            }],
            history: false,
            unattributed: 4,
        };
        let html = page(&signals);
        assert!(html.contains("&lt;Tom &amp; Jerry&#39;s&gt; (x)"), "{html}");
        assert!(!html.contains("<Tom"));
        assert_eq!(
            html.matches("<svg").count(),
            3,
            "volume, first reply, satisfaction"
        );
        assert_eq!(html.matches("n/a: no change history").count(), 2);
        assert!(html.contains("1h 00m (n=2)"));
        assert!(!html.contains("http"), "nothing is fetched");
        assert!(!html.contains("<script"));
    }
}
