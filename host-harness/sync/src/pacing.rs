//! How a stream paces itself: backoff after transient errors, pauses that
//! keep a reserve of each rate-limit budget, and the time left.

use std::time::{Duration, Instant};

use connector_runtime::contract::{self, Budget};

/// Estimates a stream's time left from how fast its progress has moved
/// since the first page of this sync.
#[derive(Default)]
pub struct TimeLeft {
    first: Option<(Instant, u64)>,
}

impl TimeLeft {
    /// The time left at `now`, when the stream is at `progress`; none until
    /// the progress has moved.
    pub fn at(&mut self, now: Instant, progress: contract::Progress) -> Option<Duration> {
        let (since, from) = *self.first.get_or_insert((now, progress.done));
        let moved = progress.done.checked_sub(from).filter(|&m| m > 0)?;
        let left = progress.total.saturating_sub(progress.done);
        Some(
            now.saturating_duration_since(since)
                .mul_f64(left as f64 / moved as f64),
        )
    }
}

/// Exponential backoff with full jitter: a random wait up to base × 2^attempt,
/// capped at one minute.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(60));
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// When a budget is down to its reserve, how long to wait for its reset.
pub fn budget_pause(budgets: &[Budget], reserve: f64) -> Option<(Duration, String)> {
    budget_pause_for(budgets, reserve, 1)
}

/// When what is left of a budget above its reserve cannot hold a page of
/// `page_requests` requests and as much again (less one) for the streams it
/// shares the budget with, how long to wait for its reset. A stream of many
/// requests a page thus stops while the streams of a request a page can
/// still go on (they go on down to the reserve).
pub fn budget_pause_for(
    budgets: &[Budget],
    reserve: f64,
    page_requests: u32,
) -> Option<(Duration, String)> {
    budgets
        .iter()
        .filter_map(|b| {
            let (limit, remaining, reset) = (b.limit?, b.remaining?, b.reset_seconds?);
            let keep = (f64::from(limit) * reserve.clamp(0.0, 0.9)).ceil() as u32;
            let room = page_requests.max(1).saturating_mul(2) - 1;
            (remaining < keep.saturating_add(room))
                .then(|| (Duration::from_secs(u64::from(reset.max(1))), b.name.clone()))
        })
        .max_by_key(|(wait, _)| *wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_of_progress() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let progress = |done| contract::Progress { done, total: 1000 };
        let mut left = TimeLeft::default();
        // The first page only sets the origin; so does a page that did not move.
        assert_eq!(left.at(at(0), progress(100)), None);
        assert_eq!(left.at(at(5), progress(100)), None);
        // 100 units in 10 s: 800 left take 80 s.
        assert_eq!(
            left.at(at(10), progress(200)),
            Some(Duration::from_secs(80))
        );
        // Slower now: 200 units in 40 s, 700 left take 140 s.
        assert_eq!(
            left.at(at(40), progress(300)),
            Some(Duration::from_secs(140))
        );
        // Caught up.
        assert_eq!(left.at(at(50), progress(1000)), Some(Duration::ZERO));
        // Units that go backwards (a connector that restarted) give none.
        assert_eq!(left.at(at(60), progress(50)), None);
    }

    #[test]
    fn budgets_pause_at_the_reserve() {
        let budget = |remaining| Budget {
            name: "incremental-exports".into(),
            limit: Some(10),
            remaining: Some(remaining),
            reset_seconds: Some(42),
        };
        assert_eq!(budget_pause(&[budget(5)], 0.1), None);
        assert_eq!(
            budget_pause(&[budget(1)], 0.1),
            Some((Duration::from_secs(42), "incremental-exports".into()))
        );
        assert_eq!(
            budget_pause(&[budget(0)], 0.0).map(|p| p.0),
            Some(Duration::from_secs(42))
        );
        let unknown = Budget {
            name: "x".into(),
            limit: None,
            remaining: Some(0),
            reset_seconds: None,
        };
        assert_eq!(budget_pause(&[unknown], 0.1), None);

        // A stream of 10-request pages stops while 10 are left above the
        // reserve after its next page; one of single requests goes on to
        // the reserve.
        let account = |remaining| Budget {
            name: "account".into(),
            limit: Some(700),
            remaining: Some(remaining),
            reset_seconds: Some(30),
        };
        assert_eq!(budget_pause_for(&[account(89)], 0.1, 10), None);
        assert!(budget_pause_for(&[account(88)], 0.1, 10).is_some());
        assert_eq!(budget_pause_for(&[account(71)], 0.1, 1), None);
        assert!(budget_pause_for(&[account(70)], 0.1, 1).is_some());
        assert!(budget_pause_for(&[account(18)], 0.0, 10).is_some());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 1..20 {
            let wait = backoff(base, attempt);
            let ceiling = (base * (1 << attempt.min(16))).min(Duration::from_secs(60));
            assert!(
                wait <= ceiling && wait >= ceiling / 2,
                "{attempt}: {wait:?}"
            );
        }
    }
}
