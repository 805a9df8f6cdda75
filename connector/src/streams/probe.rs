//! The split of the comment history at the end of the first import's sweep
//! of the tickets (see `state::split`): where splitting may pay, one probe
//! page of the events export measures how many events the tickets have;
//! unless the config says not to, one request to the account-wide audit
//! list (one audit) tells whether it answers: refused (403, not an admin's
//! token; 404), the earlier comments all come per ticket, as without it.
//! Then the split is stored and the tickets to read per ticket marked (with
//! the audit list, when its walk ends).

use super::body::{peek, Body};
use super::context::{FetchContext, Handled, EXPORT_MAX};
use super::cursor::{self, State};
use super::exports::TimedPeek;
use super::StreamName;
use crate::api::{ratelimit, HttpRequestSpec};
use crate::state::split::{self, Plan, Rate, Rates, Scheme, Source, Split};
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
    let (start, source) = match split::stored(ctx.storage)? {
        Some(Split { marked: true, .. }) => return Ok(Handled::Page(page)),
        Some(split) => (split.start, split.source()),
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
            (window, Source::PerTicket)
        }
    };
    settle(ctx, start, source)?;
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
    let j = plan.best(split::PRIOR_EVENTS_PER_TICKET, rates, Source::PerTicket);
    Ok((j > 0).then(|| scheme.boundary(j)))
}

/// The probe: how many events the tickets have, from one page of the events
/// export; then the split where the sources finish together, or the probe
/// of the audit list, which chooses between two.
pub(super) fn page(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    at: u64,
    resume: &State,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let window = window::stored_start(ctx.storage, ctx.config)?.unwrap_or(at);
    let starts = match (Scheme::stored(ctx.storage)?, rates(budgets)) {
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
            let start = |source| scheme.boundary(plan.best(per_ticket, rates, source));
            Some((start(Source::AuditList), start(Source::PerTicket)))
        }
        _ => None,
    };
    match starts {
        Some((audits_start, per_ticket_start)) if ctx.config.use_audit_list => {
            let probe = State::AuditProbe {
                audits_start,
                per_ticket_start,
                resume: Box::new(resume.clone()),
            };
            return Ok(Handled::Next(probe));
        }
        Some((_, per_ticket_start)) => settle(ctx, per_ticket_start, Source::PerTicket)?,
        None => settle(ctx, window, Source::PerTicket)?,
    }
    Ok(resumed(resume))
}

/// The probe of the audit list: one audit, to learn whether it answers.
pub(super) fn audits_request(ctx: &FetchContext<'_>) -> (HttpRequestSpec, String) {
    let http = ctx.url(super::audits::PATH).param("limit", "1").get();
    (http, "the account-wide audit list".to_owned())
}

/// The audit list answers (`available`) or refused: the split of its source,
/// stored; then the tickets stream resumes.
pub(super) fn audits_answered(
    ctx: &FetchContext<'_>,
    available: bool,
    audits_start: u64,
    per_ticket_start: u64,
    resume: &State,
) -> Result<Handled, ConnectorError> {
    if available {
        settle(ctx, audits_start, Source::AuditList)?;
    } else {
        settle(ctx, per_ticket_start, Source::PerTicket)?;
    }
    Ok(resumed(resume))
}

/// The last page of the sweep, resuming at `resume`.
fn resumed(resume: &State) -> Handled {
    Handled::Page(Page {
        next_cursor: Some(cursor::encode(resume)),
        done: true,
        ..Page::default()
    })
}

/// Stores the split and, reading per ticket, marks the tickets created
/// before it (with the audit list, its walk marks those it cannot serve).
fn settle(ctx: &FetchContext<'_>, start: u64, source: Source) -> Result<(), ConnectorError> {
    let unmarked = Split::unmarked(start, source);
    split::store(ctx.storage, unmarked)?;
    if let (Some(scheme), Source::PerTicket) = (Scheme::stored(ctx.storage)?, source) {
        split::mark_before(ctx.storage, scheme.boundary_at(start), ctx.sync_started_at)?;
    }
    split::store(
        ctx.storage,
        Split {
            marked: true,
            ..unmarked
        },
    )?;
    Ok(())
}
