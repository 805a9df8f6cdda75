//! A customer's sentiment in the window: the mean, the share of negative
//! conversations, the sharpest drops, and the trend: the mean of the last
//! periods with customer messages against the same number of periods before
//! them (four weeks, or three months).

use super::{CustomerSentiment, Drop, Point, TicketFacts};
use crate::window::{Granularity, Window};

/// A change of the mean larger than this is a trend; smaller is stable.
pub const TREND_AT_LEAST: f64 = 0.1;
/// Conversations listed among the sharpest drops, per customer.
pub const DROPS: usize = 3;

/// Which way the sentiment goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Up by at least [`TREND_AT_LEAST`].
    Rising,
    /// Within it.
    Stable,
    /// Down by at least [`TREND_AT_LEAST`].
    Falling,
}

impl Direction {
    /// `rising`, `stable` or `falling`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Rising => "rising",
            Direction::Stable => "stable",
            Direction::Falling => "falling",
        }
    }
}

/// Some periods' customer sentiment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// The first period (index into the window's periods).
    pub first: usize,
    /// The last period.
    pub last: usize,
    /// Mean score of their messages.
    pub mean: f64,
    /// Scored messages.
    pub messages: usize,
}

/// The recent periods against those before.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    /// Which way.
    pub direction: Direction,
    /// The last periods with messages.
    pub recent: Span,
    /// As many periods with messages before them.
    pub before: Span,
}

impl Trend {
    /// One line: `falling: -0.21 (weeks of 2024-05-06 to 2024-05-27, 31
    /// messages) vs +0.35 (weeks of 2024-04-08 to 2024-04-29, 28 messages)`.
    pub fn describe(&self, window: &Window) -> String {
        let span = |s: &Span| {
            format!(
                "{:+.2} ({}s of {} to {}, {} messages)",
                s.mean,
                window.granularity.noun(),
                window.label(s.first),
                window.label(s.last),
                s.messages
            )
        };
        format!(
            "{}: {} vs {}",
            self.direction.as_str(),
            span(&self.recent),
            span(&self.before)
        )
    }
}

/// The trend of per-period sentiment; `None` with fewer than two periods
/// that have messages.
pub fn trend(periods: &[Point], granularity: Granularity) -> Option<Trend> {
    let with: Vec<usize> = (0..periods.len())
        .filter(|i| periods[*i].messages > 0)
        .collect();
    let wanted = match granularity {
        Granularity::Week => 4,
        Granularity::Month => 3,
    };
    let k = wanted.min(with.len() / 2);
    if k == 0 {
        return None;
    }
    let span = |indices: &[usize]| {
        let messages: usize = indices.iter().map(|i| periods[*i].messages).sum();
        let sum: f64 = indices
            .iter()
            .map(|i| periods[*i].sentiment.unwrap_or(0.0) * periods[*i].messages as f64)
            .sum();
        Span {
            first: indices[0],
            last: indices[indices.len() - 1],
            mean: sum / messages as f64,
            messages,
        }
    };
    let recent = span(&with[with.len() - k..]);
    let before = span(&with[with.len() - 2 * k..with.len() - k]);
    let change = recent.mean - before.mean;
    let direction = if change >= TREND_AT_LEAST {
        Direction::Rising
    } else if change <= -TREND_AT_LEAST {
        Direction::Falling
    } else {
        Direction::Stable
    };
    Some(Trend {
        direction,
        recent,
        before,
    })
}

/// A customer's sentiment from their tickets in the window and the periods
/// already summed.
pub fn customer_sentiment(
    tickets: &[&TicketFacts],
    periods: &[Point],
    not_english: usize,
    window: &Window,
) -> CustomerSentiment {
    let messages: usize = periods.iter().map(|p| p.messages).sum();
    let sum: f64 = periods
        .iter()
        .map(|p| p.sentiment.unwrap_or(0.0) * p.messages as f64)
        .sum();
    let conversations: Vec<(&str, _)> = tickets
        .iter()
        .filter_map(|t| Some((t.key.as_str(), t.sentiment?)))
        .collect();
    let mut drops: Vec<Drop> = conversations
        .iter()
        .filter(|(_, s)| s.scored >= 2 && s.drop() > 0.0)
        .map(|(key, s)| Drop {
            conversation: key.to_string(),
            first: s.first,
            last: s.last,
        })
        .collect();
    drops.sort_by(|a, b| {
        (b.first - b.last)
            .total_cmp(&(a.first - a.last))
            .then_with(|| a.conversation.cmp(&b.conversation))
    });
    drops.truncate(DROPS);
    CustomerSentiment {
        messages,
        not_english,
        mean: (messages > 0).then(|| sum / messages as f64),
        conversations: conversations.len(),
        negative: conversations.iter().filter(|(_, s)| s.negative()).count(),
        drops,
        trend: trend(periods, window.granularity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(means: &[Option<f64>]) -> Vec<Point> {
        means
            .iter()
            .map(|m| Point {
                sentiment: *m,
                messages: usize::from(m.is_some()) * 2,
                ..Point::default()
            })
            .collect()
    }

    #[test]
    fn trends_compare_the_last_periods_with_messages_to_those_before() {
        let falling = points(&[
            Some(0.6),
            Some(0.5),
            None,
            Some(0.5),
            Some(0.4),
            Some(0.1),
            Some(-0.2),
            None,
            Some(-0.3),
            Some(-0.4),
        ]);
        let t = trend(&falling, Granularity::Week).unwrap();
        assert_eq!(t.direction, Direction::Falling);
        assert_eq!((t.recent.first, t.recent.last), (5, 9));
        assert_eq!((t.before.first, t.before.last), (0, 4));
        assert!((t.recent.mean - -0.2).abs() < 1e-9, "{t:?}");
        assert_eq!(t.recent.messages, 8);
        let rising = points(&[Some(-0.5), Some(0.3)]);
        assert_eq!(
            trend(&rising, Granularity::Month).unwrap().direction,
            Direction::Rising
        );
        let stable = points(&[Some(0.2), Some(0.25), Some(0.15), Some(0.2)]);
        assert_eq!(
            trend(&stable, Granularity::Week).unwrap().direction,
            Direction::Stable
        );
        assert_eq!(trend(&points(&[None, Some(0.1)]), Granularity::Week), None);
    }
}
