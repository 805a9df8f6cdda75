//! Support signals per customer (`connector-host report`), over the tickets
//! the matching attributed to a customer, created in the report's window
//! ([`crate::window`]: weeks, or months for a window over half a year):
//!
//! * **volume**: tickets created per period;
//! * **first reply time**: from the ticket's creation to the first public
//!   message by an agent after it (chat lines of the transcript that opened
//!   the ticket were written before it existed and do not count), median
//!   over the tickets that have one;
//! * **resolution time**: from creation to the first change of status to
//!   `solved`, median over the tickets that have one (nothing is guessed
//!   for the others);
//! * **satisfaction**: tickets rated good, rated bad, and offered a survey
//!   not answered; and for solved tickets nobody rated, the satisfaction
//!   estimated by [`crate::ecsat`];
//! * **escalations**: tickets whose priority was raised to high or urgent
//!   after their creation, and tickets reopened (status from solved or
//!   closed back to new, open, pending or hold);
//! * **sentiment** of customer messages written in the window
//!   ([`crate::sentiment`]): mean per period, the share of negative
//!   conversations, the sharpest drops and the trend ([`trend`]).
//!
//! Resolution and escalations read `change` records (`{"conversation_id",
//! "field", "from", "to", "at"}`, fields `status` and `priority`); without
//! any, they are reported as not available rather than as zero. A median of
//! an even count is the mean of the two middle values, rounded down.

mod load;
pub mod table;
pub mod trend;

pub use load::load;
pub use table::{cells, table, Advice};

use std::collections::BTreeMap;

use crate::ecsat::Model;
use crate::sentiment::stored::ConversationSentiment;
use crate::window::Window;
use trend::Trend;

/// Seconds in a week.
pub const WEEK: i64 = 7 * 86_400;

/// The Monday 00:00 UTC starting the week of `t` (Unix seconds).
pub fn week_start(t: i64) -> i64 {
    let day = t.div_euclid(86_400);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * 86_400
}

/// The median, or `None` without values.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]).div_euclid(2)
    })
}

/// A duration for people: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn format_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// What the signals need of one ticket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFacts {
    /// Its record key.
    pub key: String,
    /// The customer it is attributed to.
    pub customer_id: Option<String>,
    /// Creation (Unix seconds).
    pub created_at: i64,
    /// Solved or closed.
    pub solved: bool,
    /// The first public agent message after creation.
    pub first_reply_at: Option<i64>,
    /// The first change of status to `solved`.
    pub solved_at: Option<i64>,
    /// `good`, `bad` or `offered`.
    pub satisfaction: Option<String>,
    /// Priority raised to high or urgent after creation.
    pub escalated: bool,
    /// Status moved back from solved or closed.
    pub reopened: bool,
    /// Its customer messages (scored or not).
    pub customer_messages: usize,
    /// Its customer sentiment, when a customer message was scored.
    pub sentiment: Option<ConversationSentiment>,
    /// The estimated probability of a good rating (solved, unrated, with
    /// a fitted model).
    pub estimate: Option<f64>,
}

impl TicketFacts {
    /// Rated good or bad: `Some(true)` for good.
    pub fn rated_good(&self) -> Option<bool> {
        match self.satisfaction.as_deref() {
            Some("good") => Some(true),
            Some("bad") => Some(false),
            _ => None,
        }
    }

    /// What the satisfaction model sees of it.
    pub fn features(&self) -> crate::ecsat::TicketFeatures {
        crate::ecsat::TicketFeatures {
            last_sentiment: self.sentiment.map(|s| s.last),
            min_sentiment: self.sentiment.map(|s| s.min),
            first_reply: self.first_reply_at.map(|t| t - self.created_at),
            resolution: self.solved_at.map(|t| t - self.created_at),
            reopened: self.reopened,
            escalated: self.escalated,
            customer_messages: self.customer_messages,
        }
    }
}

/// One change of a ticket's status or priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `status` or `priority`.
    pub field: String,
    /// The value before.
    pub from: Option<String>,
    /// The value after.
    pub to: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
}

fn priority_rank(priority: Option<&str>) -> u8 {
    match priority {
        Some("low") => 1,
        Some("normal") => 2,
        Some("high") => 3,
        Some("urgent") => 4,
        _ => 0,
    }
}

impl TicketFacts {
    /// Take a change of the ticket into account (in any order).
    pub fn apply(&mut self, change: &Change) {
        let (from, to) = (change.from.as_deref(), change.to.as_deref());
        match change.field.as_str() {
            "status" => {
                if to == Some("solved") && self.solved_at.is_none_or(|t| change.at < t) {
                    self.solved_at = Some(change.at);
                }
                if matches!(from, Some("solved" | "closed"))
                    && matches!(to, Some("new" | "open" | "pending" | "hold"))
                {
                    self.reopened = true;
                }
            }
            "priority" => {
                let raised = priority_rank(to) >= 3 && priority_rank(to) > priority_rank(from);
                if raised && change.at > self.created_at {
                    self.escalated = true;
                }
            }
            _ => {}
        }
    }
}

/// A customer message's score, with the customer and the time.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageScore {
    /// The customer its ticket is attributed to.
    pub customer_id: String,
    /// When it was written.
    pub at: i64,
    /// Its compound score; `None` for a message in another language.
    pub score: Option<f64>,
}

/// One period of one customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// Tickets created.
    pub tickets: usize,
    /// Median first reply time of those tickets.
    pub first_reply: Option<i64>,
    /// Of those tickets, rated good.
    pub good: usize,
    /// Rated bad.
    pub bad: usize,
    /// Mean sentiment of the customer messages written in the period.
    pub sentiment: Option<f64>,
    /// The sum of their squared scores (for the spread of a trend).
    pub sentiment_squares: f64,
    /// Scored customer messages written in the period.
    pub messages: usize,
}

/// A conversation whose customer sentiment fell.
#[derive(Clone, Debug, PartialEq)]
pub struct Drop {
    /// The ticket's key.
    pub conversation: String,
    /// The first customer message's score.
    pub first: f64,
    /// The last one's.
    pub last: f64,
}

/// The sentiment of one customer's messages in the window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerSentiment {
    /// Scored customer messages.
    pub messages: usize,
    /// Customer messages in another language (not scored).
    pub not_english: usize,
    /// Their mean score.
    pub mean: Option<f64>,
    /// Tickets with a scored customer message.
    pub conversations: usize,
    /// Of those, reading negative.
    pub negative: usize,
    /// The sharpest drops (first to last customer message), sharpest first.
    pub drops: Vec<Drop>,
    /// How the sentiment moved, when there is enough to tell.
    pub trend: Option<Trend>,
}

/// Satisfaction of one customer's solved tickets nobody rated, estimated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimated {
    /// Tickets estimated.
    pub tickets: usize,
    /// The expected number of them that would be rated good.
    pub good: f64,
}

/// The signals of one customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerSignals {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's name.
    pub name: String,
    /// Tickets attributed, created in the window.
    pub tickets: usize,
    /// Each period of the window ([`Window::periods`]).
    pub periods: Vec<Point>,
    /// Median first reply time (seconds).
    pub first_reply: Option<i64>,
    /// Tickets with a first reply.
    pub replied: usize,
    /// Median resolution time (seconds).
    pub resolution: Option<i64>,
    /// Tickets with a resolution time.
    pub resolved: usize,
    /// Tickets rated good.
    pub good: usize,
    /// Tickets rated bad.
    pub bad: usize,
    /// Tickets offered a survey not (yet) answered.
    pub offered: usize,
    /// Tickets whose priority was raised to high or urgent.
    pub escalated: usize,
    /// Tickets reopened.
    pub reopened: usize,
    /// Customer sentiment.
    pub sentiment: CustomerSentiment,
    /// Estimated satisfaction of the unrated solved tickets.
    pub estimated: Estimated,
}

impl CustomerSignals {
    /// `Name (id)`, as tables and charts show a customer.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.customer_id)
    }

    /// Tickets created per period.
    pub fn volume(&self) -> Vec<usize> {
        self.periods.iter().map(|p| p.tickets).collect()
    }

    /// The share rated good, over the rated tickets.
    pub fn rated_satisfaction(&self) -> Option<f64> {
        let rated = self.good + self.bad;
        (rated > 0).then(|| self.good as f64 / rated as f64)
    }

    /// The estimated share good, over the estimated tickets.
    pub fn estimated_satisfaction(&self) -> Option<f64> {
        let e = &self.estimated;
        (e.tickets > 0).then(|| e.good / e.tickets as f64)
    }

    /// Rated and estimated together: the share good over both, with the
    /// number of tickets it covers.
    pub fn combined_satisfaction(&self) -> Option<(f64, usize)> {
        let n = self.good + self.bad + self.estimated.tickets;
        (n > 0).then(|| ((self.good as f64 + self.estimated.good) / n as f64, n))
    }
}

/// Sentiment over the whole connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SentimentTotals {
    /// Customer messages scored (all time).
    pub scored: usize,
    /// Customer messages in another language.
    pub not_english: usize,
    /// Scored by this run (new or changed); the others were stored.
    pub computed: usize,
}

/// The signals of every matched customer.
#[derive(Clone, Debug)]
pub struct Signals {
    /// The connection.
    pub connection: String,
    /// The window and its periods; `None` when there is no ticket at all.
    pub window: Option<Window>,
    /// Customers, most tickets first.
    pub customers: Vec<CustomerSignals>,
    /// Whether any `change` record was synced (else resolution and
    /// escalations are not available).
    pub history: bool,
    /// Tickets in the window not attributed to any customer.
    pub unattributed: usize,
    /// Attributed tickets created outside the window.
    pub outside: usize,
    /// The connection's customer messages.
    pub sentiment: SentimentTotals,
    /// The satisfaction model, or why there is none.
    pub model: Model,
}

/// The signals of one customer from its tickets and messages in the window.
pub fn customer(
    (id, name): (&str, &str),
    tickets: &[&TicketFacts],
    messages: &[&MessageScore],
    window: &Window,
) -> CustomerSignals {
    let mut periods = vec![Point::default(); window.periods.len()];
    let mut replies_by_period: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for t in tickets {
        let Some(p) = window.period_of(t.created_at) else {
            continue;
        };
        periods[p].tickets += 1;
        match t.rated_good() {
            Some(true) => periods[p].good += 1,
            Some(false) => periods[p].bad += 1,
            None => {}
        }
        if let Some(reply) = t.first_reply_at {
            replies_by_period
                .entry(p)
                .or_default()
                .push(reply - t.created_at);
        }
    }
    for (p, mut replies) in replies_by_period {
        periods[p].first_reply = median(&mut replies);
    }
    let mut sums = vec![0.0; periods.len()];
    let mut not_english = 0;
    for m in messages {
        match (window.period_of(m.at), m.score) {
            (Some(p), Some(score)) => {
                sums[p] += score;
                periods[p].sentiment_squares += score * score;
                periods[p].messages += 1;
            }
            (Some(_), None) => not_english += 1,
            (None, _) => {}
        }
    }
    for (point, sum) in periods.iter_mut().zip(&sums) {
        point.sentiment = (point.messages > 0).then(|| sum / point.messages as f64);
    }
    let own: Vec<&TicketFacts> = tickets
        .iter()
        .copied()
        .filter(|t| window.contains(t.created_at))
        .collect();
    let mut replies: Vec<i64> = own
        .iter()
        .filter_map(|t| Some(t.first_reply_at? - t.created_at))
        .collect();
    let mut resolutions: Vec<i64> = own
        .iter()
        .filter_map(|t| Some(t.solved_at? - t.created_at))
        .filter(|d| *d >= 0)
        .collect();
    let score = |s: &str| {
        own.iter()
            .filter(|t| t.satisfaction.as_deref() == Some(s))
            .count()
    };
    let estimates: Vec<f64> = own.iter().filter_map(|t| t.estimate).collect();
    let sentiment = trend::customer_sentiment(&own, &periods, not_english, window);
    CustomerSignals {
        customer_id: id.to_string(),
        name: name.to_string(),
        tickets: own.len(),
        replied: replies.len(),
        first_reply: median(&mut replies),
        resolved: resolutions.len(),
        resolution: median(&mut resolutions),
        good: score("good"),
        bad: score("bad"),
        offered: score("offered"),
        escalated: own.iter().filter(|t| t.escalated).count(),
        reopened: own.iter().filter(|t| t.reopened).count(),
        estimated: Estimated {
            tickets: estimates.len(),
            good: estimates.iter().sum(),
        },
        periods,
        sentiment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2024-01-01 was a Monday.
        let monday = 1_704_067_200;
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + 6 * 86_400 + 86_399), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK);
        assert_eq!(week_start(0), -3 * 86_400);
    }

    #[test]
    fn medians_and_durations() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 10]), Some(3));
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(600), "10m");
        assert_eq!(format_duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
    }

    fn change(field: &str, from: Option<&str>, to: &str, at: i64) -> Change {
        Change {
            field: field.into(),
            from: from.map(str::to_string),
            to: Some(to.into()),
            at,
        }
    }

    #[test]
    fn changes_give_resolution_escalation_and_reopening() {
        let mut t = TicketFacts {
            created_at: 100,
            ..TicketFacts::default()
        };
        t.apply(&change("priority", Some("normal"), "urgent", 100));
        assert!(
            !t.escalated,
            "the priority a ticket is created with is no escalation"
        );
        t.apply(&change("priority", Some("urgent"), "high", 150));
        assert!(!t.escalated, "lowered");
        t.apply(&change("status", Some("open"), "solved", 900));
        t.apply(&change("status", Some("solved"), "open", 950));
        t.apply(&change("status", Some("new"), "solved", 500));
        assert_eq!(t.solved_at, Some(500), "the first solve counts");
        assert!(t.reopened);
        t.apply(&change("priority", None, "high", 200));
        assert!(t.escalated);
    }
}
