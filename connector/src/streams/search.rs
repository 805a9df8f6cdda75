//! The search export of tickets (`/api/v2/search/export.json`), on the
//! account budget: the older unsolved tickets of the first import, and,
//! under rate limits, a sweep of the window's tickets that leaves the
//! incremental export's budget to the comments.

use serde_json::value::RawValue;

use super::body::{peek, Body};
use super::context::{page_of, FetchContext, Handled, EXPORT_MAX};
use super::cursor::State;
use super::filter::{TicketFilter, TicketPeek};
use super::tickets::{note_tickets, refresh_for_tickets, Noted};
use crate::api::{ratelimit, HttpRequestSpec};
use crate::state::deleted::SearchSweep;
use crate::state::split;
use crate::time;
use crate::types::{Budget, ConnectorError};

/// The search index's lag: after a search sweep of the window's tickets,
/// the incremental export resumes this long before the sweep began.
pub const SEARCH_LAG_SECS: u64 = 600;

/// What a search export request looks for.
pub(super) enum Query {
    /// Unsolved tickets last updated before the history's start.
    UnsolvedBefore(u64),
    /// The window's tickets: updated since the day before its start (the
    /// search compares days; a day early leaves no gap).
    UpdatedSince(u64),
}

impl Query {
    /// The search query.
    fn text(&self) -> String {
        match *self {
            Query::UnsolvedBefore(start) => format!(
                "type:ticket status<solved updated<{}",
                time::format_rfc3339(start as i64)
            ),
            Query::UpdatedSince(since) => {
                let day = time::format_rfc3339(since.saturating_sub(86_400) as i64);
                format!("type:ticket updated>={}", &day[..10])
            }
        }
    }

    /// What the search reads, for messages.
    fn what(&self) -> &'static str {
        match self {
            Query::UnsolvedBefore(_) => "the search export of older unsolved tickets",
            Query::UpdatedSince(_) => "the search export of the window's tickets",
        }
    }
}

/// A search export page of the tickets `query` finds, and what it reads.
pub(super) fn request(
    ctx: &FetchContext<'_>,
    query: Query,
    after: Option<&str>,
) -> (HttpRequestSpec, String) {
    let http = ctx
        .url("/api/v2/search/export.json")
        .param("query", query.text())
        .param("filter[type]", "ticket")
        .param("page[size]", ctx.size(EXPORT_MAX).to_string())
        .param_opt("page[after]", after)
        .get();
    (http, query.what().to_owned())
}

/// A search whose cursor expired (400 or 422 on a later page) starts over:
/// the state to go on from, if `state` is such a search.
pub(super) fn restart(state: &State, status: u16) -> Option<State> {
    if !matches!(status, 400 | 422) {
        return None;
    }
    match state {
        State::Backfill {
            start,
            after: Some(_),
        } => Some(State::Backfill {
            start: *start,
            after: None,
        }),
        State::Sweep {
            since,
            after: Some(_),
            resume,
        } => Some(State::Sweep {
            since: *since,
            after: None,
            resume: *resume,
        }),
        _ => None,
    }
}

/// Whether comments are still to be imported and their history split.
fn split_pending(ctx: &FetchContext<'_>) -> Result<bool, ConnectorError> {
    Ok(ctx.config.import_comments && split::stored(ctx.storage)?.is_none())
}

/// Where the first import reads the window's tickets. From the search
/// export (account budget) when Zendesk reports rate limits and the comment
/// history is still to be split: then the incremental export's budget is
/// left to the comments. Otherwise from the incremental export.
fn window_tickets(
    ctx: &FetchContext<'_>,
    start: u64,
    budgets: &[Budget],
) -> Result<State, ConnectorError> {
    let limited = ratelimit::find(budgets, ratelimit::ACCOUNT).is_some_and(|b| b.limit.is_some());
    Ok(if limited && split_pending(ctx)? {
        State::Sweep {
            since: start,
            after: None,
            resume: ctx
                .sync_started_at
                .saturating_sub(SEARCH_LAG_SECS)
                .max(start),
        }
    } else {
        State::Time {
            start,
            seen: Vec::new(),
        }
    })
}

/// Tickets of a search-export page that the filters keep, noted.
fn search_results<'a>(
    ctx: &mut FetchContext<'_>,
    body: &Body<'a>,
) -> Result<Vec<&'a RawValue>, ConnectorError> {
    refresh_for_tickets(ctx)?;
    let mut filter = TicketFilter::new(ctx.config, ctx.catalogs)?;
    let mut kept = Vec::new();
    let mut noted = Vec::new();
    for raw in body.items("results")? {
        let ticket: TicketPeek<'_> = peek(raw, body.what)?;
        if filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
            kept.push(raw);
            noted.extend(Noted::of(&ticket));
        }
    }
    filter.flush(ctx.storage)?;
    note_tickets(ctx, &noted)?;
    Ok(kept)
}

/// Older unsolved tickets from the search export.
pub(super) fn older_unsolved_page(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    start: u64,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let kept = search_results(ctx, body)?;
    let next = match body.next_after()? {
        Some(after) => State::Backfill {
            start,
            after: Some(after),
        },
        None => window_tickets(ctx, start, budgets)?,
    };
    Ok(Handled::Page(page_of(&kept, &next, false)))
}

/// The window's tickets from the search export. A first page that holds
/// them all (no more than a page: the export budget is no bottleneck)
/// hands over to the incremental export from the window's start; else the
/// sweep goes on and the export resumes at `resume`, its tombstones before
/// then unread: the sweep is stored for the comment paths
/// ([`SearchSweep`]).
pub(super) fn sweep_page(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    since: u64,
    first: bool,
    resume: u64,
) -> Result<Handled, ConnectorError> {
    let kept = search_results(ctx, body)?;
    let time = |start| State::Time {
        start,
        seen: Vec::new(),
    };
    let next = match body.next_after()? {
        Some(after) => State::Sweep {
            since,
            after: Some(after),
            resume,
        },
        None if first => time(since),
        None => {
            // The export takes over at `resume`: what the sweep covered
            // tells the comment paths which tickets were deleted.
            SearchSweep {
                from: since,
                until: resume,
            }
            .store(ctx.storage)?;
            time(resume)
        }
    };
    Ok(Handled::Page(page_of(&kept, &next, false)))
}
