//! The incremental exports: cursor-based (tickets, users), resumed from
//! Zendesk's `after_cursor` once it has given one, and time-based
//! (organizations, ticket events). Every page is capped at the sync's cap,
//! and boundary duplicates are dropped (see [`super::dedupe`]).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::body::{peek, seconds, Body};
use super::context::{page_of, FetchContext, Handled, EXPORT_MAX};
use super::cursor::State;
use super::dedupe::{dedupe_and_cap, seen_at, Stamped};
use super::definition::Endpoint;
use super::filter::{CommentGate, TicketFilter, TicketPeek};
use super::tickets::{note_tickets, refresh_for_tickets, Noted};
use super::StreamName;
use crate::api::HttpRequestSpec;
use crate::state::catalog::{Role, StaffMember};
use crate::state::marks::{Marks, CUSTOMER_COMMENTED};
use crate::text::Text;
use crate::types::ConnectorError;

/// What an export request reads, for messages.
pub(super) fn what(export: &Endpoint) -> String {
    format!("the {} export", export.key)
}

/// A cursor-based export's page after Zendesk's cursor.
pub(super) fn after_request(
    ctx: &FetchContext<'_>,
    export: &Endpoint,
    after: &str,
) -> HttpRequestSpec {
    ctx.url(export.path)
        .param("cursor", after)
        .param("per_page", ctx.size(EXPORT_MAX).to_string())
        .get()
}

/// An export's page from a time position.
pub(super) fn time_request(
    ctx: &FetchContext<'_>,
    export: &Endpoint,
    start: u64,
) -> HttpRequestSpec {
    let url = ctx.url(export.path).param("start_time", start.to_string());
    let url = match export.include {
        Some((key, value)) => url.param(key, value),
        None => url,
    };
    url.param("per_page", ctx.size(EXPORT_MAX).to_string())
        .get()
}

/// What boundaries need of a user.
#[derive(Deserialize)]
struct UserPeek<'a> {
    id: u64,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    role: Option<Text<'a>>,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
}

/// A page of a cursor-based export (tickets, users), from Zendesk's cursor
/// (`from` none) or from a time position.
pub(super) fn cursor_export_page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    export: &Endpoint,
    body: &Body<'_>,
    from: Option<(u64, &Vec<(u64, u64)>)>,
) -> Result<Handled, ConnectorError> {
    let cap = ctx.cap();
    let raws = body.items(export.key)?;
    let mut items = Vec::with_capacity(raws.len());
    let mut staff_changes = Vec::new();
    let mut filter = None;
    if stream == StreamName::Tickets {
        refresh_for_tickets(ctx)?;
        filter = Some(TicketFilter::new(ctx.config, ctx.catalogs)?);
    }
    let mut keep_ids = HashSet::new();
    let mut noted = Vec::new();
    for raw in raws {
        if let Some(filter) = filter.as_mut() {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            let at = ticket
                .generated_timestamp
                .unwrap_or_else(|| seconds(ticket.updated_at.as_deref()));
            if at <= cap && filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
                keep_ids.insert(ticket.id);
                noted.extend(Noted::of(&ticket));
            }
            items.push(Stamped {
                raw,
                id: ticket.id,
                at,
            });
        } else {
            let user: UserPeek<'_> = peek(raw, body.what)?;
            let at = seconds(user.updated_at.as_deref());
            if at <= cap {
                staff_changes.push(user_staff(&user));
            }
            items.push(Stamped {
                raw,
                id: user.id,
                at,
            });
        }
    }
    if let Some(mut filter) = filter {
        filter.flush(ctx.storage)?;
        note_tickets(ctx, &noted)?;
    } else {
        apply_staff(ctx, staff_changes)?;
    }
    let (start, seen) = from.map_or((None, &[][..]), |(s, seen)| (Some(s), seen.as_slice()));
    let (kept, capped) = dedupe_and_cap(items, seen, cap);
    let after: Option<String> = body.get("after_cursor")?;
    let end_of_stream = body.end_of_stream()?;
    let (next, done) = match (capped, after.filter(|a| !a.is_empty()), from) {
        (true, _, _) => {
            let previous = (start == Some(cap)).then_some(seen);
            (
                State::Time {
                    start: cap,
                    seen: seen_at(&kept, cap, previous),
                },
                true,
            )
        }
        (false, Some(after), _) => (State::After { after }, end_of_stream),
        // No cursor yet (nothing since `start`): stay at the time position.
        (false, None, Some((start, seen))) => (
            State::Time {
                start,
                seen: seen.clone(),
            },
            true,
        ),
        (false, None, None) => {
            return Err(ConnectorError::Protocol(format!(
                "Zendesk's answer for {} has no after_cursor; retry later",
                body.what
            )))
        }
    };
    let records: Vec<&RawValue> = if stream == StreamName::Tickets {
        kept.iter()
            .filter(|i| keep_ids.contains(&i.id))
            .map(|i| i.raw)
            .collect()
    } else {
        kept.iter().map(|i| i.raw).collect()
    };
    Ok(Handled::Page(page_of(&records, &next, done)))
}

/// The staff catalog change a user implies: agents and admins are added
/// (or renamed), anyone else removed.
fn user_staff(user: &UserPeek<'_>) -> (u64, Option<StaffMember>) {
    let member = match user.role.as_deref() {
        Some(role @ ("agent" | "admin")) => Some(StaffMember {
            role: role.to_owned(),
            name: user.name.as_deref().unwrap_or_default().to_owned(),
        }),
        _ => None,
    };
    (user.id, member)
}

/// Applies a page's staff catalog changes.
fn apply_staff(
    ctx: &mut FetchContext<'_>,
    changes: Vec<(u64, Option<StaffMember>)>,
) -> Result<(), ConnectorError> {
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for (id, member) in changes {
        match member {
            Some(m) => upserts.push((id, m)),
            None => removals.push(id),
        }
    }
    ctx.catalogs.staff.apply(ctx.storage, upserts, &removals)?;
    Ok(())
}

/// What boundaries need of an organization or a ticket event.
#[derive(Deserialize)]
pub(super) struct TimedPeek<'a> {
    id: u64,
    #[serde(default)]
    ticket_id: Option<u64>,
    /// The event's time (ticket events).
    #[serde(default)]
    pub(super) timestamp: Option<u64>,
    #[serde(default)]
    updater_id: Option<i64>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    child_events: Vec<ChildPeek<'a>>,
}

/// A child event of a ticket event.
#[derive(Deserialize)]
struct ChildPeek<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    event_type: Option<Text<'a>>,
    #[serde(default)]
    author_id: Option<i64>,
}

impl ChildPeek<'_> {
    fn is_comment(&self) -> bool {
        let is = |t: &Option<Text<'_>>| matches!(t.as_deref(), Some("Comment" | "VoiceComment"));
        is(&self.kind) || is(&self.event_type)
    }

    fn is_change(&self) -> bool {
        let is = |t: &Option<Text<'_>>| t.as_deref() == Some("Change");
        is(&self.kind) || is(&self.event_type)
    }
}

/// A page of a time-based export (organizations, ticket events).
pub(super) fn time_export_page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    export: &Endpoint,
    body: &Body<'_>,
    start: u64,
    seen: &[(u64, u64)],
) -> Result<Handled, ConnectorError> {
    let cap = ctx.cap();
    let comments = stream == StreamName::TicketComments;
    let customer_filter = comments && ctx.config.only_tickets_with_customer_comments;
    if customer_filter {
        ctx.catalogs.staff.refresh(ctx.storage, None)?;
    }
    let mut customer_commented = Marks::new(CUSTOMER_COMMENTED);
    let mut gate = CommentGate::new(ctx.config, ctx.storage)?;
    let mut items = Vec::new();
    let mut keep = HashSet::new();
    for raw in body.items(export.key)? {
        let item: TimedPeek<'_> = peek(raw, body.what)?;
        let at = match item.timestamp {
            Some(t) => t,
            None => seconds(item.updated_at.as_deref().or(item.created_at.as_deref())),
        };
        if comments {
            let ticket = item.ticket_id.unwrap_or_default();
            let mut has_comment = false;
            for child in item.child_events.iter().filter(|c| c.is_comment()) {
                has_comment = true;
                if customer_filter
                    && at <= cap
                    && ctx.catalogs.role_of(child.author_id.or(item.updater_id)) == Role::Customer
                {
                    customer_commented.set(ctx.storage, ticket, true)?;
                }
            }
            let has_change = item.child_events.iter().any(ChildPeek::is_change);
            let wanted = ((has_comment && ctx.config.import_comments) || has_change)
                && !gate.drops(ctx.storage, ticket, at)?;
            if wanted {
                keep.insert(item.id);
            }
        } else {
            keep.insert(item.id);
        }
        items.push(Stamped {
            raw,
            id: item.id,
            at,
        });
    }
    customer_commented.flush(ctx.storage)?;
    gate.flush(ctx.storage)?;
    let (kept, mut capped) = dedupe_and_cap(items, seen, cap);
    let end_of_stream = body.end_of_stream()?;
    let end_time: Option<u64> = body.get("end_time")?;
    let proposed = end_time
        .or_else(|| kept.iter().map(|i| i.at).max())
        .unwrap_or(start)
        .max(start);
    capped |= proposed > cap;
    let mut next_start = proposed.min(cap);
    let done = capped || end_of_stream;
    let previous = (next_start == start).then_some(seen);
    let mut next_seen = seen_at(&kept, next_start, previous);
    if !done && next_start == start && kept.is_empty() {
        // Zendesk returns every item of a second in one page, so a page
        // with nothing new at the same second means that second is done.
        next_start = start + 1;
        next_seen.clear();
    }
    let records: Vec<&RawValue> = kept
        .iter()
        .filter(|i| keep.contains(&i.id))
        .map(|i| i.raw)
        .collect();
    let next = State::Time {
        start: next_start,
        seen: next_seen,
    };
    Ok(Handled::Page(page_of(&records, &next, done)))
}
