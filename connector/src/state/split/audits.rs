//! The audit list's share of the split ([`super::Source::AuditList`]): the
//! tickets the account-wide audit list may not serve, those its walk served,
//! and the tickets left to the per-ticket queue when the walk ends.
//!
//! Zendesk leaves archived tickets out of the list (closed tickets, archived
//! about 120 days after they were closed, sooner on very busy accounts), and
//! a ticket archived while the list is walked would lose its older audits
//! half-way. So closed tickets last updated more than
//! [`ARCHIVE_SUSPECT_SECS`] before the first sweep are *possibly archived*
//! ([`ARCHIVABLE`]): the walk skips them and they are read per ticket. Of
//! the others, a ticket is served by the walk once it has delivered the
//! ticket's creation audit (the one with `Create` events, its oldest); at
//! the walk's end every logged ticket created before the split that is
//! neither served nor already pending goes to the per-ticket queue. An
//! account whose audits carry no `Create` event at all counts a ticket
//! served when any of its audits was delivered.

use super::log::each_logged;
use super::{generations, pending};
use crate::state::marks::Marks;
use crate::storage::{Storage, StorageError};

/// Tickets possibly archived: closed, and last updated more than
/// [`ARCHIVE_SUSPECT_SECS`] before the first sweep.
pub const ARCHIVABLE: &str = "archivable";
/// Tickets whose creation audit the walk delivered.
const CREATED: &str = "audit-walk/created";
/// Tickets of which the walk delivered any audit.
const SEEN: &str = "audit-walk/seen";
/// Storage key written when the walk has ended.
const DONE_KEY: &str = "audit-walk-done";
/// Storage key written once the walk has seen a `Create` event.
const SAW_CREATE_KEY: &str = "audit-walk-saw-create";

/// Age of a closed ticket's last update from which it may be archived
/// (Zendesk's 120 days, less a margin for busy accounts).
pub const ARCHIVE_SUSPECT_SECS: u64 = 110 * 86_400;

/// Whether a ticket may be archived, or become archived while the audit
/// list is walked: closed, and last updated long enough before `now`.
pub fn possibly_archived(closed: bool, updated: u64, now: u64) -> bool {
    closed && updated.saturating_add(ARCHIVE_SUSPECT_SECS) < now
}

/// Whether the walk of the audit list has ended.
pub fn walk_done(storage: &dyn Storage) -> Result<bool, StorageError> {
    Ok(storage.get(DONE_KEY)?.is_some())
}

/// What the walk knows of the tickets, loaded for one page and written back
/// by [`Walked::flush`].
pub struct Walked {
    archivable: Marks,
    created: Marks,
    seen: Marks,
    pending: Vec<Marks>,
    saw_create: bool,
}

impl Walked {
    /// The walk's sets, and the pending sets of every generation.
    pub fn load(storage: &dyn Storage) -> Result<Walked, StorageError> {
        Ok(Walked {
            archivable: Marks::new(ARCHIVABLE),
            created: Marks::new(CREATED),
            seen: Marks::new(SEEN),
            pending: generations(storage)?
                .into_iter()
                .map(|g| Marks::new(pending(g)))
                .collect(),
            saw_create: false,
        })
    }

    /// Whether the walk serves this ticket: neither possibly archived nor
    /// already queued per ticket.
    pub fn serves(&mut self, storage: &dyn Storage, ticket: u64) -> Result<bool, StorageError> {
        Ok(!self.archivable.is_marked(storage, ticket)? && !self.queued(storage, ticket)?)
    }

    /// Whether the ticket is in a pending set.
    fn queued(&mut self, storage: &dyn Storage, ticket: u64) -> Result<bool, StorageError> {
        for set in &mut self.pending {
            if set.is_marked(storage, ticket)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The walk delivered an audit of the ticket (its creation audit when
    /// `creation`).
    pub fn delivered(
        &mut self,
        storage: &dyn Storage,
        ticket: u64,
        creation: bool,
    ) -> Result<(), StorageError> {
        self.seen.set(storage, ticket, true)?;
        if creation {
            self.saw_create = true;
            self.created.set(storage, ticket, true)?;
        }
        Ok(())
    }

    /// Writes the sets.
    pub fn flush(&mut self, storage: &dyn Storage) -> Result<(), StorageError> {
        self.seen.flush(storage)?;
        self.created.flush(storage)?;
        if self.saw_create {
            storage.set(SAW_CREATE_KEY, b"1")?;
        }
        Ok(())
    }

    /// The walk has ended: every logged ticket created before boundary `j`
    /// that it did not serve, and that is not pending yet, is marked pending
    /// in `generation`; then the walk is done. Safe to repeat.
    pub fn finish(
        mut self,
        storage: &dyn Storage,
        j: u32,
        generation: u64,
    ) -> Result<(), StorageError> {
        self.flush(storage)?;
        let by_creation = storage.get(SAW_CREATE_KEY)?.is_some();
        let last = u32::from(super::log::BEFORE) + j;
        let mut queue = Marks::new(pending(generation));
        let mut unserved = Vec::new();
        each_logged(storage, |id, c, _| {
            if u32::from(c) <= last {
                unserved.push(id);
            }
            Ok(())
        })?;
        for id in unserved {
            let served = if by_creation {
                self.created.is_marked(storage, id)?
            } else {
                self.seen.is_marked(storage, id)?
            };
            let queued = queue.is_marked(storage, id)? || self.queued(storage, id)?;
            if !queued && (!served || self.archivable.is_marked(storage, id)?) {
                queue.set(storage, id, true)?;
            }
        }
        queue.flush(storage)?;
        storage.set(DONE_KEY, b"1")
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, TicketLog};
    use super::*;
    use crate::storage::MemoryStorage;

    const DAY: u64 = 86_400;

    #[test]
    fn closed_tickets_untouched_for_long_are_possibly_archived() {
        let now = 1000 * DAY;
        assert!(possibly_archived(true, now - 111 * DAY, now));
        assert!(!possibly_archived(true, now - 109 * DAY, now));
        assert!(!possibly_archived(false, 0, now));
    }

    /// Tickets 1 to 8 created at day `id`, logged over 10 days.
    fn logged() -> (MemoryStorage, Scheme) {
        let storage = MemoryStorage::new();
        let scheme = Scheme::load_or_create(&storage, 0, 10 * DAY).unwrap();
        let mut log = TicketLog::default();
        for id in 1..=8 {
            log.set(&storage, &scheme, id, id * DAY, id * DAY).unwrap();
        }
        log.flush(&storage).unwrap();
        (storage, scheme)
    }

    fn queued(storage: &MemoryStorage, generation: u64) -> Vec<u64> {
        let mut marks = Marks::new(pending(generation));
        (1..=8)
            .filter(|id| marks.is_marked(storage, *id).unwrap())
            .collect()
    }

    #[test]
    fn the_walk_queues_exactly_the_tickets_it_did_not_serve() {
        let (storage, scheme) = logged();
        let mut archivable = Marks::new(ARCHIVABLE);
        archivable.set(&storage, 2, true).unwrap();
        archivable.flush(&storage).unwrap();
        // Ticket 3 was marked by a later sync: queued already, not served.
        let mut later = Marks::new(pending(50));
        later.set(&storage, 3, true).unwrap();
        later.flush(&storage).unwrap();
        let mut walked = Walked::load(&storage).unwrap();
        assert!(!walked.serves(&storage, 2).unwrap());
        assert!(!walked.serves(&storage, 3).unwrap());
        assert!(walked.serves(&storage, 4).unwrap());
        // 1 and 4 whole; 5 only half-way (archived during the walk).
        for (ticket, creation) in [(1, true), (4, false), (4, true), (5, false)] {
            walked.delivered(&storage, ticket, creation).unwrap();
        }
        walked.flush(&storage).unwrap();
        assert!(!walk_done(&storage).unwrap());
        // The split before day 6: tickets 1 to 5 (ticket 6 at the boundary).
        let j = scheme.boundary_at(6 * DAY);
        Walked::load(&storage)
            .unwrap()
            .finish(&storage, j, 60)
            .unwrap();
        assert!(walk_done(&storage).unwrap());
        assert_eq!(queued(&storage, 60), vec![2, 5]);
        assert_eq!(queued(&storage, 50), vec![3]);
        // Finishing again (a page handled again after a kill) changes nothing.
        Walked::load(&storage)
            .unwrap()
            .finish(&storage, j, 60)
            .unwrap();
        assert_eq!(queued(&storage, 60), vec![2, 5]);
    }

    #[test]
    fn without_create_events_any_delivered_audit_serves_its_ticket() {
        let (storage, scheme) = logged();
        let mut walked = Walked::load(&storage).unwrap();
        walked.delivered(&storage, 1, false).unwrap();
        let j = scheme.boundary_at(3 * DAY);
        walked.finish(&storage, j, 7).unwrap();
        assert_eq!(queued(&storage, 7), vec![2]);
    }
}
