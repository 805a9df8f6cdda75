//! Satisfaction ratings, swept by creation time up to the sync's cap; each
//! sweep re-reads [`RATINGS_LOOKBACK_SECS`] back, to catch ratings answered
//! after they were offered.

use super::body::Body;
use super::context::{page_of, FetchContext, Handled, PlannedRequest, Step, LIST_MAX};
use super::cursor::State;
use super::definition::Endpoint;
use super::StreamName;
use crate::types::ConnectorError;

/// Satisfaction ratings are re-read this far back, to catch ratings
/// answered after they were offered.
pub const RATINGS_LOOKBACK_SECS: u64 = 30 * 86_400;

/// The request for ratings created in `[since, until]` (`until` the sync's
/// cap when the sweep starts), or the sweep's end when nothing is left.
pub(super) fn plan(
    ctx: &FetchContext<'_>,
    ratings: &Endpoint,
    since: u64,
    until: Option<u64>,
    after: Option<&str>,
) -> Step {
    let state = |until| State::Ratings {
        since,
        until,
        after: after.map(str::to_owned),
    };
    let end = until.unwrap_or(ctx.cap());
    if since > end {
        return Step::finished(&state(until));
    }
    let http = ctx
        .url(ratings.path)
        .param("start_time", since.to_string())
        .param("end_time", end.to_string())
        .param("page[size]", ctx.size(LIST_MAX).to_string())
        .param_opt("page[after]", after)
        .get();
    Step::Request(PlannedRequest {
        http,
        what: ratings.key.replace('_', " "),
        stream: StreamName::SatisfactionRatings,
        state: state(Some(end)),
    })
}

/// A page of satisfaction ratings; a finished sweep sets the next one to
/// start [`RATINGS_LOOKBACK_SECS`] before this one's end.
pub(super) fn page(
    ratings: &Endpoint,
    body: &Body<'_>,
    since: u64,
    until: u64,
) -> Result<Handled, ConnectorError> {
    let items = body.items(ratings.key)?;
    let (next, done) = match body.next_after()? {
        Some(after) => (
            State::Ratings {
                since,
                until: Some(until),
                after: Some(after),
            },
            false,
        ),
        None => (
            State::Ratings {
                since: until.saturating_sub(RATINGS_LOOKBACK_SECS).max(since),
                until: None,
                after: None,
            },
            true,
        ),
    };
    Ok(Handled::Page(page_of(&items, &next, done)))
}
