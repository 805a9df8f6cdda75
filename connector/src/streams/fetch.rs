//! `fetch-page` without I/O. [`next_request`] turns a stream and its cursor
//! into the request to make; [`handle_response`] turns the response into a
//! page of raw records (slices of the body) and the next cursor. A page may
//! be empty and not done (a preparatory step such as finding the
//! `max_tickets` anchor); the driver then asks again.
//!
//! Every cursor is capped at `sync-started-at` minus 60 s: items changed
//! later are left to the next sync, and boundary duplicates (the same id
//! and version at the cursor's second) are dropped.
//!
//! A cursor is first checked against its stream's definition
//! ([`super::definition`]); each phase is then planned and handled by its
//! endpoint family's module.

use super::body::Body;
use super::context::Handled;
pub use super::context::{FetchContext, PlannedRequest, Step, EXCLUSION_SECS};
use super::cursor::{self, Phase, State};
use super::definition::{Definition, Family};
use super::filter::brand_ids;
pub use super::ratings::RATINGS_LOOKBACK_SECS;
use super::search::Query;
pub use super::search::SEARCH_LAG_SECS;
use super::{anchor, audits, backfill, exports, lists, probe, ratings, search, StreamName};
use crate::api::errors::{self, ErrorContext};
use crate::api::{ratelimit, HttpResponse};
use crate::state::{split, window};
use crate::types::{ConnectorError, Page};

/// The first state of a stream that has no cursor yet.
fn initial_state(ctx: &FetchContext<'_>, stream: StreamName) -> Result<State, ConnectorError> {
    let history = |start: u64| match (stream, ctx.config.max_tickets) {
        (StreamName::Tickets, None) => State::Backfill { start, after: None },
        _ => State::Time {
            start,
            seen: Vec::new(),
        },
    };
    Ok(match stream {
        StreamName::TicketComments => match split::stored(ctx.storage)? {
            Some(split) => State::Time {
                start: split.start,
                seen: Vec::new(),
            },
            // Comments before tickets (the customer filter, or a failed
            // tickets stream): no split, the export starts at the window.
            None => match anchor::window_start(ctx)? {
                Some(start) => {
                    anchor::undivided(ctx, start)?;
                    history(start)
                }
                None => State::Anchor,
            },
        },
        StreamName::Tickets => match anchor::window_start(ctx)? {
            Some(start) => history(start),
            None => State::Anchor,
        },
        StreamName::TicketCommentsBackfill => backfill::initial(ctx),
        StreamName::Users | StreamName::Organizations => State::Time {
            start: 0,
            seen: Vec::new(),
        },
        StreamName::SatisfactionRatings => State::Ratings {
            since: window::stored_start(ctx.storage, ctx.config)?
                .unwrap_or_else(|| window::configured_start(ctx.config, ctx.sync_started_at)),
            until: None,
            after: None,
        },
        StreamName::TicketFields | StreamName::Tags | StreamName::Brands | StreamName::Groups => {
            State::List {
                after: None,
                page: None,
            }
        }
    })
}

/// Requests one page of a stream at `cursor` may make while it yields
/// records (more while steps yield none, see the driver): several for the
/// per-ticket queue, one otherwise (a page of the audit list is big).
pub fn requests_per_page(stream: StreamName, cursor: Option<&str>) -> u32 {
    let queue = cursor
        .and_then(|c| cursor::decode(stream.as_str(), c).ok())
        .is_some_and(|s| s.phase() == Phase::Queue);
    if queue && Definition::of(stream).endpoint.family == Family::PerTicket {
        backfill::TICKETS_AT_ONCE as u32
    } else {
        1
    }
}

/// Once per `fetch-page`, before its requests: the per-ticket queue
/// forgets the pending sets a committed cursor has moved past.
pub fn begin_page(
    ctx: &FetchContext<'_>,
    stream: StreamName,
    cursor: Option<&str>,
) -> Result<(), ConnectorError> {
    match Definition::of(stream).endpoint.family {
        Family::PerTicket => backfill::begin(ctx, cursor),
        _ => Ok(()),
    }
}

/// The request for a stream at a cursor (none to start), or the page when
/// nothing needs requesting. The same cursor always gives the same request.
pub fn next_request(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    cursor: Option<&str>,
) -> Result<Step, ConnectorError> {
    let state = match cursor {
        Some(c) => cursor::decode(stream.as_str(), c)?,
        None => initial_state(ctx, stream)?,
    };
    if stream == StreamName::Tickets && !ctx.config.brands.is_empty() {
        // An unknown brand name is a config error, found before any request.
        ctx.catalogs.brands.refresh(ctx.storage, None)?;
        brand_ids(ctx.config, ctx.catalogs)?;
    }
    plan(ctx, stream, state)
}

/// The step for a stream's state, by the phase's endpoint family.
fn plan(ctx: &FetchContext<'_>, stream: StreamName, state: State) -> Result<Step, ConnectorError> {
    let definition = Definition::of(stream);
    definition.admit(stream, &state)?;
    let endpoint = &definition.endpoint;
    let (http, what) = match &state {
        State::Anchor => anchor::request(ctx),
        State::Backfill { start, after } => {
            search::request(ctx, Query::UnsolvedBefore(*start), after.as_deref())
        }
        State::Sweep { since, after, .. } => {
            search::request(ctx, Query::UpdatedSince(*since), after.as_deref())
        }
        State::Probe { at, .. } => probe::request(ctx, *at),
        State::AuditProbe { .. } => probe::audits_request(ctx),
        State::Walk { before } => return Ok(audits::request(ctx, before.as_deref())),
        State::Queue {
            generation,
            next,
            after,
            ..
        } => return backfill::plan(ctx, endpoint, *generation, *next, after.as_deref()),
        State::After { after } => (
            exports::after_request(ctx, endpoint, after),
            exports::what(endpoint),
        ),
        State::Time { start, .. } if *start > ctx.cap() => return Ok(Step::finished(&state)),
        State::Time { start, .. } => (
            exports::time_request(ctx, endpoint, *start),
            exports::what(endpoint),
        ),
        State::List { after, page } => lists::request(ctx, endpoint, after.as_deref(), *page),
        State::Ratings {
            since,
            until,
            after,
        } => {
            return Ok(ratings::plan(
                ctx,
                endpoint,
                *since,
                *until,
                after.as_deref(),
            ))
        }
    };
    Ok(Step::Request(PlannedRequest {
        http,
        what,
        stream,
        state,
    }))
}

/// Turns a response into a page. Non-success statuses become classified
/// errors, except a comments page of a ticket deleted meanwhile (skipped),
/// an expired search-export cursor (the search restarts) and an audit list
/// refused (403, 404: the earlier comments come per ticket). The caller
/// reads the response's budgets.
pub fn handle_response(
    ctx: &mut FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Page, ConnectorError> {
    Ok(match handle(ctx, planned, response)? {
        Handled::Page(page) => page,
        Handled::Next(state) => Page {
            next_cursor: Some(cursor::encode(&state)),
            ..Page::default()
        },
    })
}

/// Handles the responses of a step's requests in order, into one page
/// (none when no response was handled). A batch stops at the first response
/// that leaves its item unfinished (another page of one ticket's comments:
/// the later responses are dropped, to be requested again) or that fails:
/// then the error comes too.
pub fn handle_all(
    ctx: &mut FetchContext<'_>,
    planned: &[PlannedRequest],
    responses: Vec<Result<HttpResponse, ConnectorError>>,
) -> (Option<Page>, Option<ConnectorError>) {
    let mut all: Option<Page> = None;
    for (planned, response) in planned.iter().zip(responses) {
        let page = match response.and_then(|r| handle_response(ctx, planned, &r)) {
            Ok(page) => page,
            Err(e) => return (all, Some(e)),
        };
        let unfinished = page
            .next_cursor
            .as_deref()
            .and_then(|c| cursor::decode(planned.stream.as_str(), c).ok())
            .is_some_and(|s| matches!(s, State::Queue { after: Some(_), .. }));
        let all = all.get_or_insert_with(Page::default);
        all.records.extend(page.records);
        all.next_cursor = page.next_cursor;
        all.done = page.done;
        if unfinished || all.done {
            break;
        }
    }
    (all, None)
}

/// A failed response: a skipped ticket, a restarted search, an audit list
/// refused, or an error.
fn handle_failure(
    ctx: &FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Handled, ConnectorError> {
    let status = response.status;
    let refused = matches!(status, 403 | 404);
    match &planned.state {
        State::Queue {
            generation, next, ..
        } if status == 404 => {
            return Ok(backfill::skipped(*generation, *next, ctx.sync_started_at));
        }
        State::AuditProbe {
            audits_start,
            per_ticket_start,
            resume,
        } if refused => {
            return probe::audits_answered(ctx, false, *audits_start, *per_ticket_start, resume);
        }
        State::Walk { .. } if refused => return audits::refused(ctx),
        _ => {}
    }
    if let Some(restarted) = search::restart(&planned.state, status) {
        return Ok(Handled::Next(restarted));
    }
    let context = ErrorContext {
        subdomain: &ctx.config.subdomain,
        auth: ctx.config.auth,
        what: &planned.what,
    };
    Err(errors::classify(response, &context))
}

/// A response to a planned request, by the phase's endpoint family.
fn handle(
    ctx: &mut FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Handled, ConnectorError> {
    if !(200..300).contains(&response.status) {
        return handle_failure(ctx, planned, response);
    }
    let body = Body::parse(&response.body, &planned.what)?;
    let budgets = ratelimit::budgets(&response.headers);
    let stream = planned.stream;
    let endpoint = &Definition::of(stream).endpoint;
    let handled = match &planned.state {
        State::Anchor => anchor::page(ctx, stream, &body),
        State::Backfill { start, .. } => search::older_unsolved_page(ctx, &body, *start, &budgets),
        State::Sweep {
            since,
            after,
            resume,
        } => search::sweep_page(ctx, &body, *since, after.is_none(), *resume),
        State::Probe { at, resume } => probe::page(ctx, &body, *at, resume, &budgets),
        State::AuditProbe {
            audits_start,
            per_ticket_start,
            resume,
        } => probe::audits_answered(ctx, true, *audits_start, *per_ticket_start, resume),
        State::Walk { .. } => audits::page(ctx, &body),
        State::Queue {
            generation, next, ..
        } => backfill::page(ctx, endpoint, &body, *generation, *next),
        State::After { .. } => exports::cursor_export_page(ctx, stream, endpoint, &body, None),
        State::Time { start, seen } if endpoint.family == Family::CursorExport => {
            exports::cursor_export_page(ctx, stream, endpoint, &body, Some((*start, seen)))
        }
        State::Time { start, seen } => {
            exports::time_export_page(ctx, stream, endpoint, &body, *start, seen)
        }
        State::List { page, .. } => lists::page(ctx, stream, endpoint, &body, *page),
        State::Ratings { since, until, .. } => {
            ratings::page(endpoint, &body, *since, until.unwrap_or(ctx.cap()))
        }
    }?;
    match handled {
        Handled::Page(page) if page.done && stream == StreamName::Tickets => {
            probe::finish_sweep(ctx, page, &budgets)
        }
        handled => Ok(handled),
    }
}
