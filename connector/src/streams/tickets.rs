//! What the ticket pages of both exports (the search export and the
//! incremental one) note: the tickets' creation times, for the split of the
//! comment history, the tickets deleted before their first import, and the
//! catalogs their filters read.

use super::body::seconds;
use super::context::FetchContext;
use super::filter::TicketPeek;
use crate::state::deleted::DELETED;
use crate::state::marks::Marks;
use crate::state::split::{self, audits, Scheme, Split, TicketLog};
use crate::state::window;
use crate::time;
use crate::types::ConnectorError;

/// A ticket a page delivers: for the split of the comment history, and
/// for the rule on tickets deleted before their first import.
pub(super) enum Noted {
    /// A live ticket with its creation and last-update times, and whether
    /// it is closed (closed tickets may be archived).
    Live {
        id: u64,
        created: u64,
        updated: u64,
        closed: bool,
    },
    /// A tombstone.
    Deleted(u64),
}

impl Noted {
    /// What a delivered ticket tells (nothing of a live one without a
    /// creation time).
    pub(super) fn of(ticket: &TicketPeek<'_>) -> Option<Noted> {
        if ticket.status.as_deref() == Some("deleted") {
            return Some(Noted::Deleted(ticket.id));
        }
        let created = ticket.created_at.as_deref().and_then(time::parse_rfc3339)?;
        Some(Noted::Live {
            id: ticket.id,
            created: created.max(0) as u64,
            updated: seconds(ticket.updated_at.as_deref()),
            closed: ticket.status.as_deref() == Some("closed"),
        })
    }
}

/// Notes the tickets of a page. Every live ticket is logged: during the
/// first import with its times (to split the comment history) and whether
/// it may be archived (`state::split::audits`); later, a
/// ticket seen for the first time, marked for the per-ticket comments when
/// created before the split. A tombstone of a ticket the log does not know
/// (never delivered live) marks it deleted before its first import
/// (`state::deleted`); a live ticket is unmarked (a deleted ticket may be
/// restored).
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
    let storage = ctx.storage;
    let scheme = Scheme::load_or_create(storage, window, ctx.cap())?;
    let mut log = TicketLog::default();
    let mut deleted = Marks::new(DELETED);
    let split_marked = match split::stored(storage)? {
        Some(Split {
            start,
            marked: true,
            ..
        }) => Some(start),
        _ => None,
    };
    let mut pending = Marks::new(split::pending(ctx.sync_started_at));
    let mut archivable = Marks::new(split::ARCHIVABLE);
    for noted in tickets {
        match *noted {
            Noted::Live {
                id,
                created,
                updated,
                closed,
            } => {
                deleted.set(storage, id, false)?;
                match split_marked {
                    Some(start) => {
                        if !log.knows(storage, id)? {
                            log.set(storage, &scheme, id, created, updated)?;
                            pending.set(storage, id, created < start)?;
                        }
                    }
                    None => {
                        log.set(storage, &scheme, id, created, updated)?;
                        let possibly =
                            audits::possibly_archived(closed, updated, ctx.sync_started_at);
                        archivable.set(storage, id, possibly)?;
                    }
                }
            }
            Noted::Deleted(id) => {
                if !log.knows(storage, id)? {
                    deleted.set(storage, id, true)?;
                }
            }
        }
    }
    deleted.flush(storage)?;
    archivable.flush(storage)?;
    pending.flush(storage)?;
    log.flush(storage)?;
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
