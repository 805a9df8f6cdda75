//! Rate limiting: the account-wide budget per minute and the incremental export budget.

use crate::clock::SimClock;
use crate::config::RateLimits;

const WINDOW_MS: i64 = 60_000;

/// Requests used in the current one-minute window, which starts at its first request.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    started_ms: i64,
    used: u32,
}

impl Budget {
    fn roll(&mut self, now_ms: i64) {
        if now_ms - self.started_ms >= WINDOW_MS || self.used == 0 {
            *self = Budget {
                started_ms: now_ms,
                used: 0,
            };
        }
    }

    fn reset_in_ms(&self, now_ms: i64) -> i64 {
        (self.started_ms + WINDOW_MS - now_ms).max(0)
    }
}

/// The budgets of one account.
#[derive(Debug, Default)]
pub(crate) struct LimitState {
    account: Budget,
    incremental: Budget,
}

/// The outcome of a rate-limit check.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// Headers to add to the response.
    pub headers: Vec<(&'static str, String)>,
    /// `Some((description, retry_after_secs))` when the request is refused with a 429.
    pub refused: Option<(&'static str, Option<u64>)>,
}

impl LimitState {
    /// Counts a request (unless refused) and returns the headers to send.
    pub(crate) fn check(
        &mut self,
        limits: &RateLimits,
        incremental: bool,
        clock: &SimClock,
    ) -> Verdict {
        let now = clock.now_ms();
        self.account.roll(now);
        self.incremental.roll(now);
        let over_incremental =
            incremental && self.incremental.used >= limits.incremental_per_minute;
        let over_account = self.account.used >= limits.account_per_minute;
        let refused = if over_incremental {
            Some((
                "Number of allowed incremental export API requests per minute exceeded",
                self.incremental.reset_in_ms(now),
            ))
        } else if over_account {
            Some((
                "Number of allowed API requests per minute exceeded",
                self.account.reset_in_ms(now),
            ))
        } else {
            self.account.used += 1;
            if incremental {
                self.incremental.used += 1;
            }
            None
        };
        let remaining = limits.account_per_minute.saturating_sub(self.account.used);
        let reset = clock.real_secs_ceil(self.account.reset_in_ms(now));
        let mut headers = vec![
            ("x-rate-limit", limits.account_per_minute.to_string()),
            ("x-rate-limit-remaining", remaining.to_string()),
            ("ratelimit-limit", limits.account_per_minute.to_string()),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset.to_string()),
        ];
        if incremental {
            headers.push((
                "zendesk-ratelimit-incremental-exports",
                format!(
                    "total={}; remaining={}; resets={}",
                    limits.incremental_per_minute,
                    limits
                        .incremental_per_minute
                        .saturating_sub(self.incremental.used),
                    clock.real_secs_ceil(self.incremental.reset_in_ms(now))
                ),
            ));
        }
        let refused = refused.map(|(description, wait_ms)| {
            let retry = clock.real_secs_ceil(wait_ms);
            if limits.send_retry_after {
                headers.push(("retry-after", retry.to_string()));
            }
            (description, limits.send_retry_after.then_some(retry))
        });
        Verdict { headers, refused }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits {
            account_per_minute: 11,
            incremental_per_minute: 10,
            send_retry_after: true,
        }
    }

    #[test]
    fn eleventh_incremental_request_is_refused_until_the_window_ends() {
        let clock = SimClock::new(1_700_000_000, 1.0);
        let mut state = LimitState::default();
        for i in 0..10 {
            let v = state.check(&limits(), true, &clock);
            assert!(v.refused.is_none(), "request {i}");
        }
        let v = state.check(&limits(), true, &clock);
        let (description, retry) = v.refused.expect("11th refused");
        assert!(description.contains("incremental export"));
        assert!(matches!(retry, Some(1..=60)));
        assert!(v.headers.iter().any(|(k, _)| *k == "retry-after"));
        // Other endpoints still have account budget left.
        assert!(state.check(&limits(), false, &clock).refused.is_none());
        assert!(state.check(&limits(), false, &clock).refused.is_some());
        clock.advance(61);
        assert!(state.check(&limits(), true, &clock).refused.is_none());
    }

    #[test]
    fn retry_after_can_be_left_out() {
        let clock = SimClock::new(1_700_000_000, 1.0);
        let mut state = LimitState::default();
        let l = RateLimits {
            account_per_minute: 1,
            send_retry_after: false,
            ..limits()
        };
        assert!(state.check(&l, false, &clock).refused.is_none());
        let v = state.check(&l, false, &clock);
        assert_eq!(v.refused.map(|r| r.1), Some(None));
        assert!(!v.headers.iter().any(|(k, _)| *k == "retry-after"));
    }
}
