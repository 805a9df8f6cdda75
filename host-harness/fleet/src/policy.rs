//! When a connection runs next, from how its last sync ended: pure, no
//! clock (the schedule adds the delay to the database's time).
//!
//! - After a success: the interval (hourly by default).
//! - After a failure a retry can mend (rate limits, lost connections,
//!   timeouts, and anything not known to be permanent): a short
//!   exponential backoff, capped at the interval.
//! - After a permanent failure (the `config`, `auth` and `permission`
//!   classes of [`ConnectorError`], decided by variant): the connection
//!   needs attention (its error's advice says what to do) and is retried
//!   on a slow backoff, so that a revoked token is not tried every minute
//!   forever.
//! - After a stop on request (shutdown, a lost lease): at once, by
//!   whichever process claims it first; nothing else changes.

use std::time::Duration;

use connector_runtime::ConnectorError;

/// How a connection's sync ended, as the schedule sees it.
#[derive(Clone, Copy, Debug)]
pub enum SyncOutcome<'a> {
    /// Every stream finished or was skipped.
    Succeeded,
    /// Stopped on request before the end; the next sync resumes.
    Stopped,
    /// Failed with this error (the worst of its streams').
    Failed(&'a ConnectorError),
}

/// A connection's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Synced on its interval.
    Scheduled,
    /// Its last sync failed in a way a retry may mend.
    Retrying,
    /// Its last sync failed in a way only an operator can mend (revoked
    /// token, lost admin role, invalid configuration).
    Attention,
}

impl State {
    /// Its name in the database and in `status --all`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::Retrying => "retrying",
            State::Attention => "attention",
        }
    }

    /// The state a name in the database stands for; an unknown name is
    /// read as `scheduled`.
    pub fn parse(name: &str) -> State {
        match name {
            "retrying" => State::Retrying,
            "attention" => State::Attention,
            _ => State::Scheduled,
        }
    }
}

/// Intervals and backoffs.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Between successful syncs of a connection.
    pub every: Duration,
    /// The first retry after a failure a retry may mend; doubles per
    /// consecutive failure, up to `every`.
    pub retry_first: Duration,
    /// The first retry of a connection needing attention; doubles per
    /// consecutive permanent failure, up to `attention_max`.
    pub attention_first: Duration,
    /// The longest wait of a connection needing attention.
    pub attention_max: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            every: Duration::from_secs(3600),
            retry_first: Duration::from_secs(60),
            attention_first: Duration::from_secs(3600),
            attention_max: Duration::from_secs(24 * 3600),
        }
    }
}

/// What the schedule keeps after a sync: the state, how long until the
/// next run, and the consecutive failures so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The connection's state from now on.
    pub state: State,
    /// How long until it is due again.
    pub delay: Duration,
    /// Consecutive failed syncs (0 after a success).
    pub failures: u32,
}

/// Whether only an operator can mend `error`: configuration, credentials
/// or permissions (by variant, never by message).
pub fn needs_attention(error: &ConnectorError) -> bool {
    matches!(
        error,
        ConnectorError::Config(_) | ConnectorError::Auth(_) | ConnectorError::Permission(_)
    )
}

/// `first` doubled `times` times, at most `cap`.
fn doubled(first: Duration, times: u32, cap: Duration) -> Duration {
    first
        .checked_mul(1u32.checked_shl(times.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(cap)
        .min(cap)
}

impl Policy {
    /// What follows a sync that ended with `outcome`, for a connection in
    /// `state` after `failures` consecutive failed syncs.
    pub fn decide(&self, outcome: SyncOutcome<'_>, state: State, failures: u32) -> Decision {
        match outcome {
            SyncOutcome::Succeeded => Decision {
                state: State::Scheduled,
                delay: self.every,
                failures: 0,
            },
            SyncOutcome::Stopped => Decision {
                state,
                delay: Duration::ZERO,
                failures,
            },
            SyncOutcome::Failed(error) if needs_attention(error) => {
                // The backoff counts permanent failures only: a connection
                // that had transient trouble first starts at the first step.
                let before = if state == State::Attention {
                    failures
                } else {
                    0
                };
                Decision {
                    state: State::Attention,
                    delay: doubled(self.attention_first, before, self.attention_max),
                    failures: before + 1,
                }
            }
            SyncOutcome::Failed(_) => Decision {
                state: State::Retrying,
                delay: doubled(self.retry_first, failures, self.every),
                failures: failures + 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;
    const HOUR: u64 = 3600;

    #[test]
    fn each_outcome_schedules_the_next_run_as_the_table_says() {
        let policy = Policy::default();
        let auth = ConnectorError::Auth("token revoked".into());
        let permission = ConnectorError::Permission("not an admin".into());
        let config = ConnectorError::config("subdomain", "missing");
        let transient = ConnectorError::Transient("reset".into());
        let limited = ConnectorError::RateLimited {
            retry_after: Duration::from_secs(5),
            message: "429".into(),
        };
        let protocol = ConnectorError::Protocol("html".into());
        use State::*;
        use SyncOutcome::*;
        // (outcome, state before, failures before) => (state, delay s, failures)
        let table: &[(SyncOutcome, State, u32, State, u64, u32)] = &[
            (Succeeded, Scheduled, 0, Scheduled, HOUR, 0),
            (Succeeded, Retrying, 5, Scheduled, HOUR, 0),
            (Succeeded, Attention, 3, Scheduled, HOUR, 0),
            (Stopped, Scheduled, 0, Scheduled, 0, 0),
            (Stopped, Retrying, 2, Retrying, 0, 2),
            (Stopped, Attention, 2, Attention, 0, 2),
            (Failed(&transient), Scheduled, 0, Retrying, MIN, 1),
            (Failed(&transient), Retrying, 1, Retrying, 2 * MIN, 2),
            (Failed(&limited), Retrying, 3, Retrying, 8 * MIN, 4),
            (Failed(&protocol), Retrying, 5, Retrying, 32 * MIN, 6),
            // Capped at the interval.
            (Failed(&transient), Retrying, 6, Retrying, HOUR, 7),
            (Failed(&transient), Retrying, 400, Retrying, HOUR, 401),
            (Failed(&auth), Scheduled, 0, Attention, HOUR, 1),
            // Transient failures before do not count.
            (Failed(&auth), Retrying, 4, Attention, HOUR, 1),
            (Failed(&permission), Attention, 1, Attention, 2 * HOUR, 2),
            (Failed(&config), Attention, 3, Attention, 8 * HOUR, 4),
            // Capped at a day.
            (Failed(&auth), Attention, 5, Attention, 24 * HOUR, 6),
            (Failed(&auth), Attention, 90, Attention, 24 * HOUR, 91),
        ];
        for (i, &(outcome, state, failures, next, delay, after)) in table.iter().enumerate() {
            assert_eq!(
                policy.decide(outcome, state, failures),
                Decision {
                    state: next,
                    delay: Duration::from_secs(delay),
                    failures: after
                },
                "row {i}: {outcome:?} in {state:?} after {failures}"
            );
        }
    }

    #[test]
    fn only_config_auth_and_permission_need_attention() {
        let attention = [
            ConnectorError::Auth("a".into()),
            ConnectorError::Permission("p".into()),
            ConnectorError::config("f", "m"),
        ];
        for error in &attention {
            assert!(needs_attention(error), "{error:?}");
        }
        let retried = [
            ConnectorError::Transient("t".into()),
            ConnectorError::TimedOut("t".into()),
            ConnectorError::Protocol("p".into()),
            ConnectorError::Internal("i".into()),
            ConnectorError::Crashed("c".into()),
        ];
        for error in &retried {
            assert!(!needs_attention(error), "{error:?}");
        }
    }

    #[test]
    fn states_keep_their_names() {
        for state in [State::Scheduled, State::Retrying, State::Attention] {
            assert_eq!(State::parse(state.as_str()), state);
        }
    }
}
