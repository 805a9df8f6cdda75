//! Cursors: the opaque strings handed to the host after every page, JSON of
//! a versioned [`State`]. The same cursor always gives the same request,
//! so a retried page is safe.

use serde::{Deserialize, Serialize};

use crate::types::ConnectorError;

/// The cursor format's version.
const VERSION: u32 = 1;

/// Where a stream is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum State {
    /// Finding when the `max_tickets`-th most recently updated ticket was
    /// updated (one sorted list request), to start the export there.
    Anchor,
    /// Unsolved tickets last updated before `start` (the search export).
    Backfill {
        /// Start of the history.
        start: u64,
        /// The search export's next-page cursor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// The window's tickets from the search export (`updated>=` the day
    /// before `since`), on the account budget, when the incremental export
    /// budget is the first import's bottleneck; the export takes over at
    /// `resume`, a margin before the sweep began (the search index lags).
    Sweep {
        /// Start of the history.
        since: u64,
        /// The search export's next-page cursor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// Where the incremental export resumes after the sweep.
        resume: u64,
    },
    /// The first import's tickets are read: one page of the events export
    /// from `at` measures how many events tickets have, to split the
    /// comment history (`state::split`); then `resume`.
    Probe {
        /// Unix seconds.
        at: u64,
        /// The tickets stream's state after the probe.
        resume: Box<State>,
    },
    /// The first import's tickets are read and the events export probed:
    /// one request to the account-wide audit list tells whether it answers
    /// (then the split is `audits_start`, else `per_ticket_start`); then
    /// `resume`.
    AuditProbe {
        /// The split when the audit list serves the earlier comments.
        audits_start: u64,
        /// The split when they all come per ticket.
        per_ticket_start: u64,
        /// The tickets stream's state after the probe.
        resume: Box<State>,
    },
    /// The account-wide audit list walked back from its newest page: the
    /// audits made before the split of the tickets it serves; then the
    /// per-ticket queue.
    Walk {
        /// The list's cursor towards older audits (none: its newest page).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
    },
    /// Tickets whose comments made before the split are read one by one:
    /// the pending sets from generation `generation`, ticket `next`, on.
    Queue {
        /// The pending set being read.
        generation: u64,
        /// The next ticket to read (the current one while `after` is set).
        next: u64,
        /// The current ticket's next comments page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// The sync that wrote this cursor: handed back by a later sync, it
        /// was committed, and the generations before `generation` are done.
        sync: u64,
    },
    /// A cursor-based export, resumed from Zendesk's `after_cursor`.
    After {
        /// Zendesk's cursor.
        after: String,
    },
    /// A time position: items changed at or after `start`, minus those
    /// already delivered at exactly `start` (boundary duplicates).
    Time {
        /// Unix seconds.
        start: u64,
        /// `(id, version)` pairs delivered at `start`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        seen: Vec<(u64, u64)>,
    },
    /// A list endpoint's next page (cursor or offset pagination).
    List {
        /// Cursor pagination's `after_cursor`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// Offset pagination's page number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<u32>,
    },
    /// A sweep of satisfaction ratings created in `[since, until]`.
    Ratings {
        /// Unix seconds.
        since: u64,
        /// Unix seconds; none until the sweep starts (then the sync's cap).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
        /// Cursor pagination's `after_cursor`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
}

/// The kind of a [`State`], without its data: what a stream's definition
/// lists as the cursors it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// [`State::Anchor`].
    Anchor,
    /// [`State::Backfill`].
    Backfill,
    /// [`State::Sweep`].
    Sweep,
    /// [`State::Probe`].
    Probe,
    /// [`State::AuditProbe`].
    AuditProbe,
    /// [`State::Walk`].
    Walk,
    /// [`State::Queue`].
    Queue,
    /// [`State::After`].
    After,
    /// [`State::Time`].
    Time,
    /// [`State::List`].
    List,
    /// [`State::Ratings`].
    Ratings,
}

impl State {
    /// The state's kind.
    pub fn phase(&self) -> Phase {
        match self {
            State::Anchor => Phase::Anchor,
            State::Backfill { .. } => Phase::Backfill,
            State::Sweep { .. } => Phase::Sweep,
            State::Probe { .. } => Phase::Probe,
            State::AuditProbe { .. } => Phase::AuditProbe,
            State::Walk { .. } => Phase::Walk,
            State::Queue { .. } => Phase::Queue,
            State::After { .. } => Phase::After,
            State::Time { .. } => Phase::Time,
            State::List { .. } => Phase::List,
            State::Ratings { .. } => Phase::Ratings,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Versioned {
    v: u32,
    #[serde(flatten)]
    state: State,
}

/// The cursor of a state.
pub fn encode(state: &State) -> String {
    serde_json::to_string(&Versioned {
        v: VERSION,
        state: state.clone(),
    })
    .expect("cursor states serialise")
}

/// The state of a cursor.
pub fn decode(stream: &str, cursor: &str) -> Result<State, ConnectorError> {
    let unreadable = |why: String| {
        ConnectorError::Internal(format!(
            "the {stream} cursor {cursor:?} is not one this connector version wrote ({why}); reset the stream's state to read it again"
        ))
    };
    let versioned: Versioned =
        serde_json::from_str(cursor).map_err(|e| unreadable(e.to_string()))?;
    if versioned.v != VERSION {
        return Err(unreadable(format!("version {}", versioned.v)));
    }
    Ok(versioned.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let states = [
            State::Anchor,
            State::Backfill {
                start: 5,
                after: Some("abc".into()),
            },
            State::Sweep {
                since: 5,
                after: Some("abc".into()),
                resume: 9,
            },
            State::Probe {
                at: 7,
                resume: Box::new(State::After { after: "C".into() }),
            },
            State::AuditProbe {
                audits_start: 9,
                per_ticket_start: 7,
                resume: Box::new(State::After { after: "C".into() }),
            },
            State::Walk { before: None },
            State::Walk {
                before: Some("MTcwMDAwMDAwMA".into()),
            },
            State::Queue {
                generation: 4,
                next: 3,
                after: Some("p".into()),
                sync: 9,
            },
            State::After {
                after: "MTU3NjYxMzUzOS4wfHwxMzQ3NTMxNTA0fA==".into(),
            },
            State::Time {
                start: 1_700_000_000,
                seen: vec![(1, 1_700_000_000), (2, 1_700_000_000)],
            },
            State::Time {
                start: 0,
                seen: Vec::new(),
            },
            State::List {
                after: None,
                page: Some(3),
            },
            State::Ratings {
                since: 1,
                until: Some(2),
                after: None,
            },
        ];
        for state in states {
            let cursor = encode(&state);
            assert_eq!(decode("tickets", &cursor).unwrap(), state, "{cursor}");
        }
        assert_eq!(
            encode(&State::Time {
                start: 7,
                seen: vec![(1, 7)]
            }),
            r#"{"v":1,"phase":"time","start":7,"seen":[[1,7]]}"#
        );
        assert_eq!(
            encode(&State::Probe {
                at: 7,
                resume: Box::new(State::After { after: "C".into() })
            }),
            r#"{"v":1,"phase":"probe","at":7,"resume":{"phase":"after","after":"C"}}"#
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        for cursor in [
            "",
            "abc",
            r#"{"v":2,"phase":"anchor"}"#,
            r#"{"v":1,"phase":"unknown"}"#,
        ] {
            let error = decode("tickets", cursor).unwrap_err();
            assert!(
                matches!(&error, ConnectorError::Internal(m) if m.contains("reset")),
                "{error:?}"
            );
        }
    }
}
