//! Where the first import's history starts: the configured start, or with
//! `max_tickets` the update time of the N-th most recently updated ticket,
//! found with one request to the ticket list sorted by update time.

use super::body::{peek, seconds, Body};
use super::context::{FetchContext, Handled, LIST_MAX};
use super::cursor::State;
use super::filter::TicketPeek;
use super::StreamName;
use crate::api::HttpRequestSpec;
use crate::state::split::{self, Source, Split};
use crate::state::window;
use crate::types::ConnectorError;

/// The first import's window start: stored, or resolved from the config
/// and stored; none while `max_tickets` needs its anchor request.
pub(super) fn window_start(ctx: &FetchContext<'_>) -> Result<Option<u64>, ConnectorError> {
    if let Some(start) = window::stored_start(ctx.storage, ctx.config)? {
        return Ok(Some(start));
    }
    if ctx.config.max_tickets.is_some() {
        return Ok(None);
    }
    let start = window::configured_start(ctx.config, ctx.sync_started_at);
    window::store(ctx.storage, ctx.config, start)?;
    Ok(Some(start))
}

/// Records that the comment history is not split: the events export starts
/// at the window's start (`tickets` still marks the older tickets).
pub(super) fn undivided(ctx: &FetchContext<'_>, start: u64) -> Result<(), ConnectorError> {
    if split::stored(ctx.storage)?.is_none() {
        split::store(ctx.storage, Split::unmarked(start, Source::PerTicket))?;
    }
    Ok(())
}

/// The anchor request: the page of the ticket list, sorted by update time,
/// that holds the `max_tickets`-th ticket; and what it reads.
pub(super) fn request(ctx: &FetchContext<'_>) -> (HttpRequestSpec, String) {
    let n = ctx.config.max_tickets.unwrap_or(1);
    let per_page = n.min(LIST_MAX);
    let page = n.div_ceil(per_page);
    let http = ctx
        .url("/api/v2/tickets.json")
        .param("sort_by", "updated_at")
        .param("sort_order", "desc")
        .param("per_page", per_page.to_string())
        .param("page", page.to_string())
        .get();
    (
        http,
        "the ticket list sorted by update time (max_tickets)".to_owned(),
    )
}

/// The `max_tickets`-th most recently updated ticket's update time starts
/// the history (0 when the account has fewer tickets).
pub(super) fn page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    body: &Body<'_>,
) -> Result<Handled, ConnectorError> {
    let n = ctx.config.max_tickets.unwrap_or(1);
    let index = ((n - 1) % n.min(LIST_MAX)) as usize;
    let tickets = body.items("tickets")?;
    let start = match tickets.get(index) {
        None => 0,
        Some(raw) => {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            seconds(ticket.updated_at.as_deref())
        }
    };
    window::store(ctx.storage, ctx.config, start)?;
    // `max_tickets` keeps to the incremental export (its N is counted in
    // the export's terms).
    if stream == StreamName::TicketComments {
        undivided(ctx, start)?;
    }
    Ok(Handled::Next(State::Time {
        start,
        seen: Vec::new(),
    }))
}
