//! The signals as text: a trend line per customer first, then a table, then
//! notes on what the figures cover.

use super::{format_duration, CustomerSignals, Signals};
use crate::ecsat::Model;
use crate::window::Granularity;

/// What stands for a value that cannot be computed without change history.
const NO_HISTORY: &str = "n/a";

/// A share as a percentage with its count: `80% of 10`, or `-`.
pub fn share(value: Option<f64>, n: usize) -> String {
    value.map_or("-".into(), |v| format!("{:.0}% of {n}", v * 100.0))
}

/// A sentiment score with its sign: `+0.31`, or `-`.
pub fn signed(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:+.2}"))
}

/// The signals as cells: a header and a row per customer (`n/a` where
/// change history is missing, `-` where there is nothing to measure).
pub fn cells(signals: &Signals) -> (Vec<String>, Vec<Vec<String>>) {
    let periods = signals.window.as_ref().map_or(0, |w| w.periods.len());
    let noun = signals
        .window
        .as_ref()
        .map_or("week", |w| w.granularity.noun());
    let recent = periods.min(8);
    let history = |n: usize| {
        if signals.history {
            n.to_string()
        } else {
            NO_HISTORY.into()
        }
    };
    let rows = signals
        .customers
        .iter()
        .map(|c| {
            let volume = c.volume();
            let s = &c.sentiment;
            vec![
                c.label(),
                c.tickets.to_string(),
                format!("{:.1}", c.tickets as f64 / periods.max(1) as f64),
                volume[volume.len() - recent..]
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                c.first_reply.map_or("-".into(), format_duration),
                match (signals.history, c.resolution) {
                    (false, _) => NO_HISTORY.into(),
                    (true, None) => "-".into(),
                    (true, Some(d)) => format_duration(d),
                },
                c.good.to_string(),
                c.bad.to_string(),
                c.offered.to_string(),
                history(c.escalated),
                history(c.reopened),
                signed(s.mean),
                share(
                    (s.conversations > 0).then(|| s.negative as f64 / s.conversations as f64),
                    s.conversations,
                ),
                share(c.rated_satisfaction(), c.good + c.bad),
                share(c.estimated_satisfaction(), c.estimated.tickets),
                c.combined_satisfaction()
                    .map_or("-".into(), |(v, n)| share(Some(v), n)),
            ]
        })
        .collect();
    let header = [
        "CUSTOMER",
        "TICKETS",
        &format!("PER {}", noun.to_uppercase()),
        &format!("LAST {recent} {}S", noun.to_uppercase()),
        "FIRST REPLY",
        "RESOLUTION",
        "GOOD",
        "BAD",
        "OFFERED",
        "ESCALATED",
        "REOPENED",
        "SENTIMENT",
        "NEGATIVE",
        "CSAT",
        "ECSAT",
        "COMBINED",
    ]
    .map(str::to_string)
    .to_vec();
    (header, rows)
}

/// What the signals table advises people to do, in the words of the
/// program that shows it.
#[derive(Clone, Copy, Debug)]
pub struct Advice<'a> {
    /// What to do when no customer is matched: follows `no matched
    /// customers: `.
    pub no_customers: &'a str,
    /// Where to see why tickets have no customer: follows `N tickets are
    /// not attributed to a customer; `.
    pub unattributed: &'a str,
    /// How to see the whole history: follows `N tickets were created
    /// outside the window; `.
    pub whole_history: &'a str,
}

/// A customer's trend line: the sentiment trend and the sharpest drop.
pub fn trend_line(signals: &Signals, c: &CustomerSignals) -> String {
    let trend = match (&signals.window, &c.sentiment.trend) {
        (Some(window), Some(trend)) => format!("sentiment {}", trend.describe(window)),
        _ => "sentiment: too few customer messages to tell a trend".into(),
    };
    match c.sentiment.drops.first() {
        Some(d) => format!(
            "{trend}; sharpest drop: ticket {} ({:+.2} to {:+.2})",
            d.conversation, d.first, d.last
        ),
        None => trend,
    }
}

/// What the satisfaction model is, in a sentence.
pub fn model_note(model: &Model) -> String {
    match model {
        Model::Fitted(m) => {
            let mut weights = m.weights.clone();
            weights.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            let strongest: Vec<String> = weights
                .iter()
                .take(3)
                .map(|(name, w)| format!("{name} ({w:+.2})"))
                .collect();
            format!(
                "ECSAT: the share of solved, unrated tickets estimated to be good, by a logistic \
                 regression fitted on {} rated tickets: right on {:.0}% of held-out tickets \
                 ({}-fold), against {:.0}% for always guessing the majority score; strongest \
                 inputs: {}",
                m.rated,
                m.accuracy * 100.0,
                crate::ecsat::FOLDS,
                m.baseline * 100.0,
                strongest.join(", ")
            )
        }
        Model::Refused(why) => format!("ECSAT: not estimated: {why}"),
    }
}

/// The signals as text: trends, the table, and notes on what they cover.
pub fn table(signals: &Signals, advice: &Advice<'_>) -> String {
    if signals.customers.is_empty() {
        return format!("no matched customers: {}\n", advice.no_customers);
    }
    let mut out = String::from("TRENDS\n");
    for c in &signals.customers {
        out.push_str(&format!("{}: {}\n", c.label(), trend_line(signals, c)));
    }
    out.push('\n');
    let (header, rows) = cells(signals);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    out.push_str(&crate::text::table(&header, &rows));
    out.push('\n');
    if let Some(window) = &signals.window {
        let (first, last) = window.days();
        out.push_str(&format!(
            "tickets created {first} to {last} (UTC; {} {}s{}); FIRST REPLY and RESOLUTION are medians\n",
            window.periods.len(),
            window.granularity.noun(),
            if window.granularity == Granularity::Week {
                ", from Monday"
            } else {
                ""
            },
        ));
    }
    if signals.outside > 0 {
        out.push_str(&format!(
            "{} tickets were created outside the window; {}\n",
            signals.outside, advice.whole_history
        ));
    }
    if !signals.history {
        out.push_str(
            "n/a: no change history synced (records of kind `change`): resolution time, \
             escalations and reopened tickets are not available\n",
        );
    }
    let s = &signals.sentiment;
    out.push_str(&format!(
        "SENTIMENT: mean VADER score (-1 to +1) of customer messages written in the window; \
         NEGATIVE: conversations whose mean is at most {}; {} customer messages scored, {} in \
         other languages not scored ({} new or changed since the last run, the others' scores \
         were stored)\n",
        crate::sentiment::NEGATIVE_AT_MOST,
        s.scored,
        s.not_english,
        s.computed,
    ));
    out.push_str(&model_note(&signals.model));
    out.push('\n');
    if signals.unattributed > 0 {
        out.push_str(&format!(
            "{} tickets are not attributed to a customer; {}\n",
            signals.unattributed, advice.unattributed
        ));
    }
    out
}
