//! A customer's sentiment in the window: the mean, the share of negative
//! conversations, the sharpest drops, and the trend: the mean of the last
//! periods with customer messages against the same number of periods before
//! them (four weeks, or three months). A trend is a change of at least
//! [`TREND_AT_LEAST`] that is also beyond twice its standard error, so that
//! a few messages more or less of a steady customer do not read as one.

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
    /// The variance of their scores.
    pub variance: f64,
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
        let squares: f64 = indices.iter().map(|i| periods[*i].sentiment_squares).sum();
        let mean = sum / messages as f64;
        Span {
            first: indices[0],
            last: indices[indices.len() - 1],
            mean,
            messages,
            variance: (squares / messages as f64 - mean * mean).max(0.0),
        }
    };
    let recent = span(&with[with.len() - k..]);
    let before = span(&with[with.len() - 2 * k..with.len() - k]);
    let change = recent.mean - before.mean;
    let standard_error = (recent.variance / recent.messages as f64
        + before.variance / before.messages as f64)
        .sqrt();
    let clear = change.abs() >= TREND_AT_LEAST && change.abs() >= 2.0 * standard_error;
    let direction = match (clear, change > 0.0) {
        (false, _) => Direction::Stable,
        (true, true) => Direction::Rising,
        (true, false) => Direction::Falling,
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
    let mut falling: Vec<_> = conversations
        .iter()
        .filter(|(_, s)| s.scored >= 2 && s.drop() > 0.0)
        .collect();
    falling.sort_by(|(a_key, a), (b_key, b)| b.drop().total_cmp(&a.drop()).then(a_key.cmp(b_key)));
    let drops: Vec<Drop> = falling
        .into_iter()
        .take(DROPS)
        .map(|(key, s)| Drop {
            conversation: key.to_string(),
            first: s.first,
            last: s.last,
        })
        .collect();
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

    /// Periods of two messages each, both scoring the mean given.
    fn points(means: &[Option<f64>]) -> Vec<Point> {
        means
            .iter()
            .map(|m| Point {
                sentiment: *m,
                sentiment_squares: 2.0 * m.unwrap_or(0.0).powi(2),
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

    #[test]
    fn a_change_within_the_noise_is_stable() {
        // Two periods of 20 messages: half at +0.9, half at -0.9 (mean 0),
        // then 11 and 9 (mean +0.09), then 13 and 7 (+0.27).
        let period = |up: usize, down: usize| Point {
            sentiment: Some(0.9 * (up as f64 - down as f64) / 20.0),
            sentiment_squares: 0.81 * 20.0,
            messages: 20,
            ..Point::default()
        };
        let noisy = [period(10, 10), period(13, 7)];
        let t = trend(&noisy, Granularity::Week).unwrap();
        assert!((t.recent.mean - t.before.mean - 0.27).abs() < 1e-9);
        assert_eq!(t.direction, Direction::Stable, "0.27 < 2 × 0.28: {t:?}");
        let clear = [period(10, 10), period(19, 1)];
        assert_eq!(
            trend(&clear, Granularity::Week).unwrap().direction,
            Direction::Rising
        );
    }
}
