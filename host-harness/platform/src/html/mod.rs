//! `report --html FILE`: the support signals as one self-contained page
//! (inline CSS and SVG, no script, nothing fetched). The trends come first,
//! a row per customer (volume, first reply, sentiment, satisfaction over the
//! window's periods); then each customer's sentiment chart with its
//! sharpest drops, satisfaction rated and estimated, the volume heatmap,
//! the medians, escalations and the whole table. Hovering a cell, bar or
//! point shows its exact value.

mod charts;

use std::fmt::Write;

use charts::{bar_chart, esc, heatmap, line_chart, Segment, Series};

use crate::signals::table::{model_note, share, signed, trend_line};
use crate::signals::{cells, format_duration, CustomerSignals, Signals};
use crate::window::Window;

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
    let (outside, unattributed) = (
        match signals.outside {
            0 => String::new(),
            n => format!(" {n} tickets were created outside this window."),
        },
        match signals.unattributed {
            0 => String::new(),
            n => format!(" {n} tickets are not attributed to a customer."),
        },
    );
    let customers = signals.customers.len();
    match &signals.window {
        Some(window) => {
            let (first, last) = window.days();
            let noun = window.granularity.noun();
            let _ = write!(
                html,
                "<p>{customers} customers. Tickets created {first} to {last} (UTC, {} {noun}s).{outside}{unattributed}</p>",
                window.periods.len(),
            );
            trends(&mut html, signals, window);
            sentiment(&mut html, signals, window);
            satisfaction(&mut html, signals);
            let _ = write!(html, "<section><h2>Ticket volume per {noun}</h2>");
            html.push_str(&heatmap(signals, window));
            html.push_str("</section>");
        }
        None => {
            let _ = write!(
                html,
                "<p>{customers} customers. No ticket has a creation time, so there are no trends.{unattributed}</p>"
            );
            satisfaction(&mut html, signals);
        }
    }
    medians_and_escalations(&mut html, signals);

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

/// A sentence's first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A customer's series of one signal over the periods.
fn series<'a>(
    c: &CustomerSignals,
    window: &Window,
    color: &'a str,
    range: Option<(f64, f64)>,
    value: impl Fn(&crate::signals::Point) -> Option<(f64, String)>,
) -> Series<'a> {
    let (values, titles) = c
        .periods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (v, text) = value(p).unzip();
            let when = format!("{} of {}", window.granularity.noun(), window.label(i));
            (
                v,
                format!("{}, {when}: {}", c.label(), text.unwrap_or_default()),
            )
        })
        .unzip();
    Series {
        values,
        titles,
        color,
        range,
    }
}

/// The trends first: a row per customer, a small chart per signal.
fn trends(html: &mut String, signals: &Signals, window: &Window) {
    let noun = window.granularity.noun();
    let _ = write!(
        html,
        "<section><h2>Trends</h2><table class=\"trends\"><tr><th>Customer</th>\
         <th>Tickets per {noun}</th><th>Median first reply</th><th>Customer sentiment</th>\
         <th>Share rated good</th></tr>"
    );
    for c in &signals.customers {
        let volume = series(c, window, VOLUME, None, |p| {
            Some((p.tickets as f64, format!("{} tickets", p.tickets)))
        });
        let reply = series(c, window, REPLY, None, |p| {
            p.first_reply.map(|r| {
                (
                    r as f64,
                    format!("median first reply {}", format_duration(r)),
                )
            })
        });
        let mood = series(c, window, SENTIMENT, Some((-1.0, 1.0)), |p| {
            p.sentiment.map(|s| {
                (
                    s,
                    format!("mean sentiment {s:+.2} over {} messages", p.messages),
                )
            })
        });
        let rated = series(c, window, GOOD, Some((0.0, 1.0)), |p| {
            let n = p.good + p.bad;
            (n > 0).then(|| {
                let v = p.good as f64 / n as f64;
                (v, format!("{:.0}% of {n} ratings good", v * 100.0))
            })
        });
        let _ = write!(
            html,
            "<tr><td>{}<div class=\"trend\">{}</div></td>",
            esc(&c.label()),
            esc(&trend_line(signals, c))
        );
        for s in [volume, reply, mood, rated] {
            let _ = write!(html, "<td>{}</td>", line_chart(&s, 170, 40, None));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></section>");
}

/// A sentiment chart per customer, with its trend, negative share and
/// sharpest drops.
fn sentiment(html: &mut String, signals: &Signals, window: &Window) {
    let _ = write!(
        html,
        "<section><h2>Customer sentiment per {}</h2><p class=\"note\">Mean VADER score of \
         the messages customers wrote (-1 to +1; agents and internal notes do not count, nor \
         messages in other languages: {} of them).</p>",
        window.granularity.noun(),
        signals.sentiment.not_english
    );
    for c in &signals.customers {
        let s = &c.sentiment;
        let chart = series(c, window, SENTIMENT, Some((-1.0, 1.0)), |p| {
            p.sentiment.map(|v| {
                (
                    v,
                    format!("mean {v:+.2} over {} customer messages", p.messages),
                )
            })
        });
        let negative = (s.conversations > 0).then(|| s.negative as f64 / s.conversations as f64);
        let _ = write!(
            html,
            "<h3>{}</h3>{}<p class=\"note\">Mean {} over {} messages; negative conversations: {}.<br>{}</p>",
            esc(&c.label()),
            line_chart(&chart, 700, 130, Some(window)),
            signed(s.mean),
            s.messages,
            share(negative, s.conversations),
            esc(&capitalized(&trend_line(signals, c)))
        );
        if !s.drops.is_empty() {
            html.push_str("<ul class=\"drops\">");
            for d in &s.drops {
                let _ = write!(
                    html,
                    "<li>ticket {}: {:+.2} → {:+.2}</li>",
                    esc(&d.conversation),
                    d.first,
                    d.last
                );
            }
            html.push_str("</ul>");
        }
    }
    html.push_str("</section>");
}

/// Ratings by score, then rated, estimated and combined satisfaction.
fn satisfaction(html: &mut String, signals: &Signals) {
    let ratings: Vec<_> = signals
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
        &ratings,
        &[("good", GOOD), ("bad", BAD), ("offered", OFFERED)],
    ));
    let shares: Vec<_> = signals
        .customers
        .iter()
        .map(|c| {
            let combined = c.combined_satisfaction();
            let segments = combined
                .map(|(v, n)| Segment {
                    value: v,
                    color: GOOD,
                    title: format!(
                        "{}: {:.0}% of {n} tickets good, rated and estimated",
                        c.label(),
                        v * 100.0
                    ),
                })
                .into_iter()
                .collect();
            let text = format!(
                "rated {} · estimated {} · combined {}",
                share(c.rated_satisfaction(), c.good + c.bad),
                share(c.estimated_satisfaction(), c.estimated.tickets),
                combined.map_or("-".into(), |(v, n)| share(Some(v), n))
            );
            (c.label(), segments, text)
        })
        .collect();
    let _ = write!(
        html,
        "<h3>Share good: rated and estimated (eCSAT)</h3>{}<p class=\"note\">{}</p></section>",
        bar_chart(&shares, &[]),
        esc(&model_note(&signals.model))
    );
}

/// The median times, and escalations (which need change history).
fn medians_and_escalations(html: &mut String, signals: &Signals) {
    let no_history = "<p class=\"na\">n/a: no change history synced (records of kind \
                      <code>change</code>), so this signal is not available.</p>";
    let median_rows = |pick: &dyn Fn(&CustomerSignals) -> (Option<i64>, usize)| {
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
}

const GOOD: &str = "#16a34a";
const BAD: &str = "#dc2626";
const OFFERED: &str = "#a3a3a3";
const RAISED: &str = "#ea580c";
const REOPENED: &str = "#7c3aed";
const VOLUME: &str = "#2563eb";
const REPLY: &str = "#0d9488";
const SENTIMENT: &str = "#9333ea";

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1e293b;max-width:1100px}\
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\
svg{display:block;font-size:12px}svg text{fill:#1e293b}svg text.value{fill:#475569}\
svg text.axis{font-size:10px;fill:#64748b}svg text.cell{font-size:10px}svg text.dark{fill:#fff}\
.na{color:#64748b;font-style:italic}\
table{border-collapse:collapse;font-size:13px}th{font-size:11px;color:#475569}td,th{padding:4px 8px;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap}\
td:first-child,th:first-child{text-align:left}\
h3{font-size:.95rem;margin:1.2rem 0 .3rem}.note{color:#475569;font-size:13px}\
.trend{font-size:11px;color:#475569;white-space:normal;max-width:360px}\
table.trends td{vertical-align:middle}svg.spark{display:inline-block}svg line.zero{stroke:#cbd5e1;stroke-dasharray:3 3}\
.drops{font-size:13px;margin:.2rem 0}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecsat::Model;
    use crate::signals::{Point, SentimentTotals};
    use crate::window::{Range, Window};

    #[test]
    fn pages_are_self_contained_and_escaped() {
        let monday = 1_704_067_200;
        let window = Window::resolve(
            Range {
                since: Some(monday),
                until: Some(monday + 2 * crate::signals::WEEK),
            },
            None,
            None,
        );
        let point = |tickets, sentiment| Point {
            tickets,
            sentiment,
            messages: usize::from(sentiment.is_some()),
            ..Point::default()
        };
        let signals = Signals {
            connection: "acme".into(),
            window,
            customers: vec![CustomerSignals {
                customer_id: "x".into(),
                name: "<Tom & Jerry's>".into(),
                tickets: 3,
                periods: vec![point(1, Some(0.5)), point(2, Some(-0.25))],
                first_reply: Some(3600),
                replied: 2,
                good: 1,
                ..CustomerSignals::default()
            }],
            history: false,
            unattributed: 4,
            outside: 0,
            sentiment: SentimentTotals::default(),
            model: Model::Refused("only 1 rated tickets".into()),
        };
        let html = page(&signals);
        assert!(html.contains("&lt;Tom &amp; Jerry&#39;s&gt; (x)"), "{html}");
        assert!(!html.contains("<Tom"));
        assert_eq!(
            html.matches("<svg").count(),
            4 + 1 + 2 + 1 + 1,
            "trends, sentiment, satisfaction (2), volume, first reply"
        );
        assert_eq!(html.matches("n/a: no change history").count(), 2);
        assert!(html.contains("1h 00m (n=2)"));
        assert!(
            html.contains("mean sentiment -0.25 over 1 messages"),
            "{html}"
        );
        assert!(html.contains("ECSAT: not estimated: only 1 rated tickets"));
        assert!(!html.contains("http"), "nothing is fetched");
        assert!(!html.contains("<script"));
    }
}
