//! How far a stream has come, for the host's estimate of the time left: in
//! seconds of history, from the start of the import window to the sync's
//! cap. The position is the cursor's time, or the time of the page's last
//! record when the cursor is Zendesk's own (cursor-based exports, rating
//! sweeps). Streams without a time order (the search export, the
//! per-ticket queue, the small lists) report none.

use serde::Deserialize;

use super::context::FetchContext;
use super::cursor::{self, State};
use super::StreamName;
use crate::state::window;
use crate::time;
use crate::types::{Page, Progress};

/// The time fields a record's position is read from, most precise first.
#[derive(Deserialize)]
struct Stamp<'a> {
    generated_timestamp: Option<u64>,
    #[serde(borrow)]
    updated_at: Option<&'a str>,
    #[serde(borrow)]
    created_at: Option<&'a str>,
}

/// The time of a raw record, if it has one.
fn record_time(raw: &str) -> Option<u64> {
    let stamp: Stamp<'_> = serde_json::from_str(raw).ok()?;
    stamp.generated_timestamp.or_else(|| {
        let text = stamp.updated_at.or(stamp.created_at)?;
        time::parse_rfc3339(text).and_then(|t| u64::try_from(t).ok())
    })
}

/// Where `stream` is after `page`, if the connector can tell.
pub fn estimate(ctx: &FetchContext<'_>, stream: StreamName, page: &Page) -> Option<Progress> {
    let state = cursor::decode(stream.as_str(), page.next_cursor.as_deref()?).ok()?;
    let last_record = || page.records.last().and_then(|raw| record_time(raw));
    let (origin, position) = match state {
        State::Time { start, .. } => (None, start),
        State::After { .. } => (None, last_record()?),
        State::Ratings {
            since,
            until: Some(_),
            ..
        } => (Some(since), last_record().unwrap_or(since)),
        _ => return None,
    };
    let origin = match origin {
        Some(origin) => origin,
        None => window::stored_start(ctx.storage, ctx.config).ok()??,
    };
    let total = ctx.cap().saturating_sub(origin);
    let done = if page.done {
        total
    } else {
        position.saturating_sub(origin).min(total)
    };
    Some(Progress { done, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_placed_by_their_most_precise_time() {
        let cases = [
            (
                r#"{"id":1,"generated_timestamp":1700000000,"updated_at":"2020-01-01T00:00:00Z"}"#,
                Some(1_700_000_000),
            ),
            (
                r#"{"id":1,"updated_at":"2023-11-14T22:13:20Z"}"#,
                Some(1_700_000_000),
            ),
            (
                r#"{"id":1,"created_at":"2023-11-14T22:13:20Z"}"#,
                Some(1_700_000_000),
            ),
            (
                r#"{"id":1,"updated_at":null,"created_at":"2023-11-14T22:13:20Z"}"#,
                Some(1_700_000_000),
            ),
            (r#"{"id":1}"#, None),
            (r#"{"id":1,"updated_at":"yesterday"}"#, None),
            ("not json", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(record_time(raw), expected, "{raw}");
        }
    }
}
