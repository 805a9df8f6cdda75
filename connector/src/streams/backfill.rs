//! `ticket_comments_backfill`: first, when the split's source is the
//! account-wide audit list, its walk (`super::audits`); then, for every
//! ticket in a pending set (imported, created before the split of the
//! comment history and not served by the walk, see `state::split`), the
//! comments made before the split, read ticket by
//! ticket from `/api/v2/tickets/{id}/comments.json` on the account budget;
//! later comments come from the events export (`ticket_comments`).
//!
//! One page reads [`TICKETS_AT_ONCE`] tickets, their requests in flight
//! together (a ticket's further comments pages, one at a time).
//! The pending sets are generations read in order, each once in ticket-id
//! order, so the cursor alone says which tickets are read; nothing is
//! unmarked. A cursor handed back by a later sync was committed (the host
//! may fetch ahead of its commits within a sync), so the generations before
//! it are deleted then. Each comment becomes a one-comment pseudo-event
//! `{"ticket_id":N,"child_events":[<comment as sent>]}`, the shape of the
//! events export, so both map alike.

use serde::Deserialize;

use super::audits;
use super::body::{peek, Body};
use super::context::{FetchContext, Handled, PlannedRequest, Step, LIST_MAX};
use super::cursor::{self, State};
use super::definition::Endpoint;
use super::filter::CommentGate;
use super::StreamName;
use crate::state::marks::Marks;
use crate::state::split;
use crate::text::Text;
use crate::time;
use crate::types::{ConnectorError, Page};

/// Tickets whose first comments page is requested at once, and requests a
/// page may make.
pub const TICKETS_AT_ONCE: usize = 10;

/// The queue's first state.
pub(super) fn initial(ctx: &FetchContext<'_>) -> State {
    State::Queue {
        generation: 0,
        next: 0,
        after: None,
        sync: ctx.sync_started_at,
    }
}

/// At the first page of a sync, the cursor handed back is committed: the
/// generations before its own are done and deleted.
pub(super) fn begin(ctx: &FetchContext<'_>, cursor: Option<&str>) -> Result<(), ConnectorError> {
    let Some(text) = cursor else {
        return Ok(());
    };
    if let State::Queue {
        generation, sync, ..
    } = cursor::decode(StreamName::TicketCommentsBackfill.as_str(), text)?
    {
        if sync != ctx.sync_started_at {
            split::forget_before(ctx.storage, generation)?;
        }
    }
    Ok(())
}

/// Up to `n` pending tickets at or after `(generation, next)`, in order.
fn next_pending(
    ctx: &FetchContext<'_>,
    generation: u64,
    next: u64,
    n: usize,
) -> Result<Vec<(u64, u64)>, ConnectorError> {
    let mut found = Vec::new();
    for g in split::generations(ctx.storage)?.range(generation..) {
        let mut marks = Marks::new(split::pending(*g));
        let mut from = if *g == generation { next } else { 0 };
        while found.len() < n {
            let Some(ticket) = marks.next_marked(ctx.storage, from)? else {
                break;
            };
            found.push((*g, ticket));
            from = ticket + 1;
        }
    }
    Ok(found)
}

/// The request for one ticket's comments page.
fn comments_request(
    ctx: &FetchContext<'_>,
    comments: &Endpoint,
    generation: u64,
    ticket: u64,
    after: Option<&str>,
) -> PlannedRequest {
    let http = ctx
        .url(&comments.path.replace("{id}", &ticket.to_string()))
        .param("page[size]", ctx.size(LIST_MAX).to_string())
        .param_opt("page[after]", after)
        .get();
    PlannedRequest {
        http,
        what: format!("the comments of ticket {ticket}"),
        stream: StreamName::TicketCommentsBackfill,
        state: State::Queue {
            generation,
            next: ticket,
            after: after.map(str::to_owned),
            sync: ctx.sync_started_at,
        },
    }
}

/// The requests for the next pending tickets' comments (the current
/// ticket's next page alone), or the last page.
pub(super) fn plan(
    ctx: &FetchContext<'_>,
    comments: &Endpoint,
    generation: u64,
    next: u64,
    after: Option<&str>,
) -> Result<Step, ConnectorError> {
    if after.is_none() && audits::walking(ctx)? {
        // The audit list first (splits whose source it is).
        return Ok(audits::request(ctx, None));
    }
    if after.is_some() {
        return Ok(Step::Request(comments_request(
            ctx, comments, generation, next, after,
        )));
    }
    let tickets = next_pending(ctx, generation, next, TICKETS_AT_ONCE)?;
    if tickets.is_empty() || split::stored(ctx.storage)?.is_none() {
        // Nothing pending: done until the tickets stream marks more.
        let state = State::Queue {
            generation,
            next,
            after: None,
            sync: ctx.sync_started_at,
        };
        return Ok(Step::finished(&state));
    }
    Ok(Step::Batch(
        tickets
            .into_iter()
            .map(|(generation, ticket)| comments_request(ctx, comments, generation, ticket, None))
            .collect(),
    ))
}

/// A ticket is read: the queue moves past it.
fn past(generation: u64, ticket: u64, sync: u64) -> State {
    State::Queue {
        generation,
        next: ticket + 1,
        after: None,
        sync,
    }
}

/// The ticket was deleted meanwhile (404): skipped.
pub(super) fn skipped(generation: u64, ticket: u64, sync: u64) -> Handled {
    Handled::Next(past(generation, ticket, sync))
}

/// What the split needs of a comment.
#[derive(Deserialize)]
struct CommentPeek<'a> {
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
}

/// A page of a ticket's comments: those made before the split become
/// pseudo-events, unless the ticket's comments are dropped (another brand,
/// or deleted before its first import: [`CommentGate`]). Comments are listed oldest first, so the first one at or
/// after the split ends the ticket.
pub(super) fn page(
    ctx: &FetchContext<'_>,
    comments: &Endpoint,
    body: &Body<'_>,
    generation: u64,
    ticket: u64,
) -> Result<Handled, ConnectorError> {
    let sync = ctx.sync_started_at;
    let Some(split) = split::stored(ctx.storage)? else {
        return Ok(Handled::Next(past(generation, ticket, sync)));
    };
    let mut gate = CommentGate::new(ctx.config, ctx.storage)?;
    let mut records = Vec::new();
    let mut reached = false;
    for raw in body.items(comments.key)? {
        let comment: CommentPeek<'_> = peek(raw, body.what)?;
        let at = comment.created_at.as_deref().and_then(time::parse_rfc3339);
        if at.is_some_and(|t| t >= split.start as i64) {
            reached = true;
        } else if !gate.drops(ctx.storage, ticket, at.unwrap_or_default().max(0) as u64)? {
            records.push(format!(
                "{{\"ticket_id\":{ticket},\"child_events\":[{}]}}",
                raw.get()
            ));
        }
    }
    gate.flush(ctx.storage)?;
    let next = match body.next_after()? {
        Some(after) if !reached => State::Queue {
            generation,
            next: ticket,
            after: Some(after),
            sync,
        },
        _ => past(generation, ticket, sync),
    };
    Ok(Handled::Page(Page {
        records,
        next_cursor: Some(cursor::encode(&next)),
        ..Page::default()
    }))
}
