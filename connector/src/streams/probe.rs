//! The split of the comment history at the end of the first import's sweep
//! of the tickets (see `state::split`): where splitting may pay, one probe
//! page of the events export measures how many events the tickets have;
//! then the split is stored and the tickets created before it are marked.

use super::body::{peek, Body};
use super::context::{FetchContext, Handled, EXPORT_MAX};
use super::cursor::{self, State};
use super::exports::TimedPeek;
use super::StreamName;
use crate::api::{ratelimit, HttpRequestSpec};
use crate::state::split::{self, Plan, Rate, Rates, Scheme, Split};
use crate::state::window;
use crate::types::{Budget, ConnectorError, Page};

/// The probe's request (a page of the events export from `at`), and what
/// it reads.
pub(super) fn request(ctx: &FetchContext<'_>, at: u64) -> (HttpRequestSpec, String) {
    let http = ctx
        .url("/api/v2/incremental/ticket_events.json")
        .param("start_time", at.to_string())
        .param("per_page", ctx.size(EXPORT_MAX).to_string())
        .get();
    (http, "a page of the ticket events export".to_owned())
}

/// The two budgets, when Zendesk reports both: the account budget as the
/// per-ticket comments may use it.
fn rates(budgets: &[Budget]) -> Option<Rates> {
    let rate = |name| {
        let budget = ratelimit::find(budgets, name)?;
        Some(Rate {
            per_minute: f64::from(budget.limit?.max(1)),
            left: f64::from(budget.remaining.unwrap_or(0)),
        })
    };
    let (account, export) = (rate(ratelimit::ACCOUNT)?, rate(ratelimit::EXPORTS)?);
    Some(Rates {
        // Export requests count against the account budget too.
        account: Rate {
            per_minute: (account.per_minute - export.per_minute).max(1.0),
            ..account
        },
        export,
    })
}

/// The end of a sweep of the tickets. At the end of the first import's,
/// the comment history is split: where splitting may pay, after one probe
/// of the events export (the page then is not the last).
pub(super) fn finish_sweep(
    ctx: &mut FetchContext<'_>,
    mut page: Page,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let start = match split::stored(ctx.storage)? {
        Some(Split { marked: true, .. }) => return Ok(Handled::Page(page)),
        Some(split) => split.start,
        None => {
            let Some(window) = window::stored_start(ctx.storage, ctx.config)? else {
                return Ok(Handled::Page(page));
            };
            if let (Some(at), Some(resume)) = (probe_at(ctx, budgets)?, page.next_cursor.as_deref())
            {
                let resume = cursor::decode(StreamName::Tickets.as_str(), resume)?;
                page.done = false;
                page.next_cursor = Some(cursor::encode(&State::Probe {
                    at,
                    resume: Box::new(resume),
                }));
                return Ok(Handled::Page(page));
            }
            window
        }
    };
    settle(ctx, start)?;
    Ok(Handled::Page(page))
}

/// Where to probe the events export before splitting: the best split at an
/// assumed number of events per ticket, when that is not the window's start.
fn probe_at(ctx: &FetchContext<'_>, budgets: &[Budget]) -> Result<Option<u64>, ConnectorError> {
    let (Some(scheme), Some(rates), true) = (
        Scheme::stored(ctx.storage)?,
        rates(budgets),
        ctx.config.import_comments,
    ) else {
        return Ok(None);
    };
    let plan = Plan::collect(ctx.storage, scheme)?;
    let j = plan.best(split::PRIOR_EVENTS_PER_TICKET, rates);
    Ok((j > 0).then(|| scheme.boundary(j)))
}

/// The probe: how many events the tickets have, from one page of the events
/// export; then the split where both endpoints finish together.
pub(super) fn page(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    at: u64,
    resume: &State,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let window = window::stored_start(ctx.storage, ctx.config)?.unwrap_or(at);
    let start = match (Scheme::stored(ctx.storage)?, rates(budgets)) {
        (Some(scheme), Some(rates)) => {
            let plan = Plan::collect(ctx.storage, scheme)?;
            let events = body.items("ticket_events")?;
            let mut counted = 0;
            let mut last = at;
            for raw in &events {
                let event: TimedPeek<'_> = peek(raw, body.what)?;
                let t = event.timestamp.unwrap_or(at);
                if t <= scheme.to {
                    counted += 1;
                    last = last.max(t);
                }
            }
            let end_of_stream = body.end_of_stream()?;
            let until = if counted == events.len() && !end_of_stream {
                last
            } else {
                scheme.to
            };
            let per_ticket = plan
                .calibrate(at, until, counted)
                .unwrap_or(split::PRIOR_EVENTS_PER_TICKET);
            scheme.boundary(plan.best(per_ticket, rates))
        }
        _ => window,
    };
    settle(ctx, start)?;
    Ok(Handled::Page(Page {
        next_cursor: Some(cursor::encode(resume)),
        done: true,
        ..Page::default()
    }))
}

/// Stores the split and marks the tickets created before it.
fn settle(ctx: &FetchContext<'_>, start: u64) -> Result<(), ConnectorError> {
    split::store(ctx.storage, Split::unmarked(start))?;
    if let Some(scheme) = Scheme::stored(ctx.storage)? {
        split::mark_before(ctx.storage, scheme.boundary_at(start), ctx.sync_started_at)?;
    }
    split::store(
        ctx.storage,
        Split {
            start,
            marked: true,
        },
    )?;
    Ok(())
}
