//! Where the comments of the first import split between endpoints with
//! separate budgets: comments made from `start` on come in bulk from the
//! ticket-events export (10 requests a minute); comments made before
//! `start` come from the account budget, either ticket by ticket from the
//! per-ticket comments endpoint for every imported ticket created before
//! `start` ([`Source::PerTicket`]), or ([`Source::AuditList`], when the
//! account-wide audit list answers) from that list, walked back once from
//! its newest page, for the tickets it lists, and ticket by ticket only for
//! the tickets it cannot serve: those possibly archived ([`audits`]) and
//! those the walk never saw. A comment's time decides its endpoint, and its
//! ticket decides between the audit list and the per-ticket endpoint, so
//! each comment is delivered once.
//!
//! To choose `start`, the `tickets` stream logs every ticket of its first
//! sweep (2 bytes per ticket id: the buckets of its creation and last update
//! over the window, [`TicketLog`]; and whether it may be archived). At the
//! end of that sweep, [`Plan`] estimates for each bucket boundary the
//! requests on the account budget (tickets created before it, or the audit
//! list's pages and the possibly archived tickets) and the export pages
//! (events after it, from the tickets' activity, calibrated by one probe of
//! the export) and picks the boundary where both budgets finish together at
//! the rates Zendesk reports. Tickets to read one by one are then marked in
//! a pending set, which `ticket_comments_backfill` works off (after its
//! walk of the audit list); later syncs mark tickets created before `start`
//! that they see for the first time (an old ticket updated again). Each
//! sync marks into a set of its own, a *generation* ([`pending`]), read once
//! in id order: progress lives in the per-ticket stream's cursor, and a
//! generation is deleted once a committed cursor has moved past it, so no
//! mark is ever removed ahead of a commit.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

pub mod audits;
mod log;
mod plan;

pub use audits::ARCHIVABLE;
pub use log::{Scheme, TicketLog, BUCKETS};
pub use plan::{mark_before, Plan, Rate, Rates, Source, PRIOR_EVENTS_PER_TICKET};

/// Storage key of the [`Split`].
const SPLIT_KEY: &str = "comment-split";

/// Prefix of the pending sets: `comment-backfill/{generation}/{chunk}`.
const PENDING_PREFIX: &str = "comment-backfill/";

/// The pending set of a generation (the start of the sync that marked it):
/// tickets whose earlier comments are to be read per ticket (a bitmap, see
/// [`crate::state::marks`]).
pub fn pending(generation: u64) -> String {
    format!("{PENDING_PREFIX}{generation}")
}

/// The generations that have a pending set, oldest first.
pub fn generations(storage: &dyn Storage) -> Result<BTreeSet<u64>, StorageError> {
    Ok(storage
        .list_keys(PENDING_PREFIX)?
        .iter()
        .filter_map(|key| {
            key.strip_prefix(PENDING_PREFIX)?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect())
}

/// Deletes the pending sets of generations before `generation`.
pub fn forget_before(storage: &dyn Storage, generation: u64) -> Result<(), StorageError> {
    for key in storage.list_keys(PENDING_PREFIX)? {
        let old = key
            .strip_prefix(PENDING_PREFIX)
            .and_then(|rest| rest.split('/').next()?.parse::<u64>().ok())
            .is_some_and(|g| g < generation);
        if old {
            storage.delete(&key)?;
        }
    }
    Ok(())
}

/// The split of the comment history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Unix seconds: the bulk export starts here; earlier comments come per
    /// ticket.
    pub start: u64,
    /// Whether the tickets created before `start` are marked pending (with
    /// the audit list: whether the split is settled; the walk marks).
    pub marked: bool,
    /// Whether the earlier comments of the tickets the audit list serves
    /// come from it (splits stored before it existed: no).
    #[serde(default)]
    pub audits: bool,
}

impl Split {
    /// The split at `start`, before the older tickets are marked.
    pub fn unmarked(start: u64, source: Source) -> Split {
        Split {
            start,
            marked: false,
            audits: source == Source::AuditList,
        }
    }

    /// Where the comments made before the split come from.
    pub fn source(&self) -> Source {
        if self.audits {
            Source::AuditList
        } else {
            Source::PerTicket
        }
    }
}

/// The stored split, if decided.
pub fn stored(storage: &dyn Storage) -> Result<Option<Split>, StorageError> {
    Ok(storage
        .get(SPLIT_KEY)?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Stores the split.
pub fn store(storage: &dyn Storage, split: Split) -> Result<(), StorageError> {
    storage.set(
        SPLIT_KEY,
        &serde_json::to_vec(&split).expect("the split serialises"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::marks::Marks;
    use crate::storage::MemoryStorage;

    #[test]
    fn generations_are_listed_and_forgotten() {
        let storage = MemoryStorage::new();
        for generation in [30, 4, 100] {
            let mut marks = Marks::new(pending(generation));
            marks.set(&storage, 1, true).unwrap();
            marks.set(&storage, 50_000, true).unwrap();
            marks.flush(&storage).unwrap();
        }
        storage.set("comment-split", b"{}").unwrap();
        assert_eq!(generations(&storage).unwrap(), BTreeSet::from([4, 30, 100]));
        forget_before(&storage, 30).unwrap();
        assert_eq!(generations(&storage).unwrap(), BTreeSet::from([30, 100]));
        assert_eq!(storage.list_keys("comment-backfill/30/").unwrap().len(), 2);
        assert!(storage.get("comment-split").unwrap().is_some());
    }

    #[test]
    fn the_split_is_stored() {
        let storage = MemoryStorage::new();
        assert_eq!(stored(&storage).unwrap(), None);
        let split = Split {
            start: 42,
            marked: true,
            audits: true,
        };
        store(&storage, split).unwrap();
        assert_eq!(stored(&storage).unwrap(), Some(split));
        // A split stored before the audit list existed reads as per ticket.
        storage
            .set(SPLIT_KEY, br#"{"start":42,"marked":true}"#)
            .unwrap();
        let old = stored(&storage).unwrap().unwrap();
        assert_eq!(old.source(), Source::PerTicket);
    }
}
