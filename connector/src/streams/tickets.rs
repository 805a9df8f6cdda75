//! What the ticket pages of both exports (the search export and the
//! incremental one) note: the tickets' creation times, for the split of the
//! comment history, and the catalogs their filters read.

use super::body::seconds;
use super::context::FetchContext;
use super::filter::TicketPeek;
use crate::state::marks::Marks;
use crate::state::split::{self, audits, Scheme, Split, TicketLog};
use crate::state::window;
use crate::time;
use crate::types::ConnectorError;

/// A ticket a page delivers, for the split of the comment history.
pub(super) struct Noted {
    id: u64,
    created: u64,
    updated: u64,
    closed: bool,
}

impl Noted {
    /// A live ticket with its creation time.
    pub(super) fn of(ticket: &TicketPeek<'_>) -> Option<Noted> {
        if ticket.status.as_deref() == Some("deleted") {
            return None;
        }
        let created = ticket.created_at.as_deref().and_then(time::parse_rfc3339)?;
        Some(Noted {
            id: ticket.id,
            created: created.max(0) as u64,
            updated: seconds(ticket.updated_at.as_deref()),
            closed: ticket.status.as_deref() == Some("closed"),
        })
    }
}

/// Notes the tickets of a page. During the first import every ticket is
/// logged (to split the comment history), and whether it may be archived
/// (`state::split::audits`); later, a ticket created before
/// the split and seen for the first time is marked for the per-ticket
/// comments.
pub(super) fn note_tickets(
    ctx: &FetchContext<'_>,
    tickets: &[Noted],
) -> Result<(), ConnectorError> {
    let Some(window) = window::stored_start(ctx.storage, ctx.config)? else {
        return Ok(());
    };
    if tickets.is_empty() {
        return Ok(());
    }
    let scheme = Scheme::load_or_create(ctx.storage, window, ctx.cap())?;
    let mut log = TicketLog::default();
    match split::stored(ctx.storage)? {
        Some(Split {
            start,
            marked: true,
            ..
        }) => {
            let mut pending = Marks::new(split::pending(ctx.sync_started_at));
            for t in tickets.iter().filter(|t| t.created < start) {
                if !log.knows(ctx.storage, t.id)? {
                    log.set(ctx.storage, &scheme, t.id, t.created, t.updated)?;
                    pending.set(ctx.storage, t.id, true)?;
                }
            }
            pending.flush(ctx.storage)?;
        }
        _ => {
            let mut archivable = Marks::new(split::ARCHIVABLE);
            for t in tickets {
                log.set(ctx.storage, &scheme, t.id, t.created, t.updated)?;
                let possibly = audits::possibly_archived(t.closed, t.updated, ctx.sync_started_at);
                archivable.set(ctx.storage, t.id, possibly)?;
            }
            archivable.flush(ctx.storage)?;
        }
    }
    log.flush(ctx.storage)?;
    Ok(())
}

/// The catalogs a ticket filter reads, made current.
pub(super) fn refresh_for_tickets(ctx: &mut FetchContext<'_>) -> Result<(), ConnectorError> {
    ctx.catalogs.brands.refresh(ctx.storage, None)?;
    if ctx.config.only_tickets_with_customer_comments {
        ctx.catalogs.staff.refresh(ctx.storage, None)?;
    }
    Ok(())
}
