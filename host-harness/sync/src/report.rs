//! What a sync reports: per-stream outcomes and counters, and the
//! progress events sent while it runs.

use std::sync::Arc;
use std::time::Duration;

use connector_runtime::{contract, ConnectorError};

/// How a stream's sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached the end of the stream.
    Done,
    /// Forbidden for this account and optional: skipped.
    Skipped(String),
    /// Failed with this error (its class says whether a retry can help);
    /// the committed cursor is kept for the next run.
    Failed(ConnectorError),
    /// Stopped on request (or never started); the next sync resumes from
    /// the last committed page.
    Interrupted,
}

/// What one stream did.
#[derive(Clone, Debug)]
pub struct StreamReport {
    /// Stream name.
    pub stream: String,
    /// Normalized records committed.
    pub records: u64,
    /// Pages committed.
    pub pages: u64,
    /// API requests made.
    pub requests: u64,
    /// Times the API answered "rate limited".
    pub rate_limited: u64,
    /// Transient errors retried.
    pub retries: u64,
    /// Wall time.
    pub duration: Duration,
    /// Of which waiting for pages (the API and the connector's parsing).
    pub fetching: Duration,
    /// Of which mapping records.
    pub mapping: Duration,
    /// Of which committing to the database.
    pub storing: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

impl StreamReport {
    /// A report of a stream that has done nothing yet.
    pub(crate) fn new(stream: &str, outcome: Outcome) -> Self {
        StreamReport {
            stream: stream.to_owned(),
            records: 0,
            pages: 0,
            requests: 0,
            rate_limited: 0,
            retries: 0,
            duration: Duration::ZERO,
            fetching: Duration::ZERO,
            mapping: Duration::ZERO,
            storing: Duration::ZERO,
            outcome,
        }
    }
}

/// What a sync did.
#[derive(Clone, Debug)]
pub struct SyncReport {
    /// Per stream, in completion order.
    pub streams: Vec<StreamReport>,
    /// Wall time.
    pub duration: Duration,
}

impl SyncReport {
    /// Whether every stream finished or was skipped.
    pub fn succeeded(&self) -> bool {
        self.streams
            .iter()
            .all(|s| !matches!(s.outcome, Outcome::Failed(_)))
    }

    /// The failure that decides what to do next: one a retry cannot
    /// mend (configuration, credentials, a broken component) before one it
    /// can; the first of its kind.
    pub fn worst_failure(&self) -> Option<&ConnectorError> {
        let failures = || {
            self.streams.iter().filter_map(|s| match &s.outcome {
                Outcome::Failed(error) => Some(error),
                _ => None,
            })
        };
        failures()
            .find(|e| !e.is_retryable())
            .or_else(|| failures().next())
    }

    /// Normalized records committed over all streams.
    pub fn records(&self) -> u64 {
        self.streams.iter().map(|s| s.records).sum()
    }

    /// Whether a stop request ended any stream early.
    pub fn interrupted(&self) -> bool {
        self.streams
            .iter()
            .any(|s| s.outcome == Outcome::Interrupted)
    }
}

/// Progress events, for bars or log lines.
#[derive(Clone, Debug)]
pub enum Event {
    /// A stream started.
    Started {
        /// Stream name.
        stream: String,
    },
    /// A page was committed.
    Page {
        /// Stream name.
        stream: String,
        /// Records in the page.
        records: u64,
        /// Total records this sync.
        total: u64,
        /// Pages this sync.
        pages: u64,
        /// How far the stream has come, when the connector says.
        progress: Option<contract::Progress>,
        /// The estimated time left, once the progress has moved.
        time_left: Option<Duration>,
    },
    /// The stream waits (rate limit, budget reserve or backoff).
    Paused {
        /// Stream name.
        stream: String,
        /// For how long.
        wait: Duration,
        /// Why.
        reason: String,
    },
    /// The stream ended.
    Finished(StreamReport),
}

/// Receives progress events.
pub type Progress = Arc<dyn Fn(Event) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_failure_is_one_a_retry_cannot_mend() {
        let stream = |outcome| StreamReport::new("s", outcome);
        let report = |outcomes: Vec<Outcome>| SyncReport {
            streams: outcomes.into_iter().map(stream).collect(),
            duration: Duration::ZERO,
        };
        let transient = ConnectorError::Transient("reset".into());
        let crashed = ConnectorError::Crashed("trap".into());
        assert_eq!(report(vec![Outcome::Done]).worst_failure(), None);
        let mixed = report(vec![
            Outcome::Failed(transient.clone()),
            Outcome::Done,
            Outcome::Failed(crashed.clone()),
        ]);
        assert_eq!(mixed.worst_failure(), Some(&crashed));
        let retryable = report(vec![Outcome::Failed(transient.clone())]);
        assert_eq!(retryable.worst_failure(), Some(&transient));
    }
}
