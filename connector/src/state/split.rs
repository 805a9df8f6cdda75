//! Where the comments of the first import split between two endpoints with
//! separate budgets: comments made from `start` on come in bulk from the
//! ticket-events export (10 requests a minute), and comments made before
//! `start` come ticket by ticket from the per-ticket comments endpoint (the
//! account budget) for every imported ticket created before `start`. A
//! comment's time decides its endpoint, so each comment is delivered once.
//!
//! To choose `start`, the `tickets` stream logs every ticket of its first
//! sweep (2 bytes per ticket id: the buckets of its creation and last update
//! over the window, [`TicketLog`]). At the end of that sweep, [`Plan`]
//! estimates for each bucket boundary the per-ticket requests (tickets
//! created before it) and the export pages (events after it, from the
//! tickets' activity, calibrated by one probe of the export) and picks the
//! boundary where both endpoints finish together at the budgets Zendesk
//! reports. Tickets created before `start` are then marked in a pending
//! set, which `ticket_comments_backfill` works off; later syncs mark tickets
//! created before `start` that they see for the first time (an old ticket
//! updated again). Each sync marks into a set of its own, a *generation*
//! ([`pending`]), read once in id order: progress lives in the per-ticket
//! stream's cursor, and a generation is deleted once a committed cursor has
//! moved past it, so no mark is ever removed ahead of a commit.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// Storage key of the [`Split`].
const SPLIT_KEY: &str = "comment-split";
/// Storage key of the log's [`Scheme`]; its chunks are `ticket-log/{n}`.
const SCHEME_KEY: &str = "ticket-log";
/// Prefix of the log's chunks.
const CHUNK_PREFIX: &str = "ticket-log/";

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

/// Buckets the window is cut into.
pub const BUCKETS: u32 = 250;
/// Ticket ids per log chunk (2 bytes each: 4 KiB).
const CHUNK_IDS: u64 = 2048;

/// Log value: not logged.
const UNKNOWN: u8 = 0;
/// Log value: before the window.
const BEFORE: u8 = 1;
/// Log value of the window's first bucket.
const FIRST: u8 = 2;
/// Log value: at or after the window's end.
const AFTER: u8 = FIRST + BUCKETS as u8;

/// Events a ticket is assumed to have until the export is probed.
pub const PRIOR_EVENTS_PER_TICKET: f64 = 4.0;
/// Events per export page.
const EVENTS_PER_PAGE: f64 = 1000.0;

/// The split of the comment history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Unix seconds: the bulk export starts here; earlier comments come per
    /// ticket.
    pub start: u64,
    /// Whether the tickets created before `start` are marked [`PENDING`].
    pub marked: bool,
}

impl Split {
    /// The split at `start`, before the older tickets are marked.
    pub fn unmarked(start: u64) -> Split {
        Split {
            start,
            marked: false,
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

/// How times map to buckets: the window `[from, to)` cut into [`BUCKETS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheme {
    /// The window's start (Unix seconds).
    pub from: u64,
    /// The end of the first sweep (its cap).
    pub to: u64,
}

impl Scheme {
    /// The stored scheme, or a new one over `[from, to)`, stored.
    pub fn load_or_create(
        storage: &dyn Storage,
        from: u64,
        to: u64,
    ) -> Result<Scheme, StorageError> {
        if let Some(scheme) = Self::stored(storage)? {
            return Ok(scheme);
        }
        let scheme = Scheme {
            from,
            to: to.max(from + 1),
        };
        storage.set(
            SCHEME_KEY,
            &serde_json::to_vec(&scheme).expect("the scheme serialises"),
        )?;
        Ok(scheme)
    }

    /// The stored scheme, if the first sweep has logged tickets.
    pub fn stored(storage: &dyn Storage) -> Result<Option<Scheme>, StorageError> {
        Ok(storage
            .get(SCHEME_KEY)?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    fn span(&self) -> u64 {
        self.to - self.from
    }

    /// The log value of a time.
    fn value(&self, at: u64) -> u8 {
        if at < self.from {
            BEFORE
        } else if at >= self.to {
            AFTER
        } else {
            FIRST + ((at - self.from) * u64::from(BUCKETS) / self.span()) as u8
        }
    }

    /// Boundary `j` (0 to [`BUCKETS`]): a time is before it exactly when its
    /// value is at most `FIRST + j - 1`.
    pub fn boundary(&self, j: u32) -> u64 {
        self.from + (u64::from(j) * self.span()).div_ceil(u64::from(BUCKETS))
    }

    /// The boundary at a time (the first at or after it).
    pub fn boundary_at(&self, at: u64) -> u32 {
        (0..=BUCKETS)
            .find(|j| self.boundary(*j) >= at)
            .unwrap_or(BUCKETS)
    }
}

/// The tickets log: creation and last-update buckets by ticket id, loaded
/// chunk by chunk for one call and written back by [`TicketLog::flush`].
#[derive(Debug, Default)]
pub struct TicketLog {
    chunks: HashMap<u64, Vec<u8>>,
    dirty: Vec<u64>,
}

impl TicketLog {
    fn chunk(&mut self, storage: &dyn Storage, n: u64) -> Result<&mut Vec<u8>, StorageError> {
        Ok(match self.chunks.entry(n) {
            Entry::Occupied(chunk) => chunk.into_mut(),
            Entry::Vacant(slot) => {
                let mut bytes = storage
                    .get(&format!("{CHUNK_PREFIX}{n}"))?
                    .unwrap_or_default();
                bytes.resize((CHUNK_IDS * 2) as usize, UNKNOWN);
                slot.insert(bytes)
            }
        })
    }

    /// Whether the ticket has been logged.
    pub fn knows(&mut self, storage: &dyn Storage, id: u64) -> Result<bool, StorageError> {
        let at = ((id % CHUNK_IDS) * 2) as usize;
        Ok(self.chunk(storage, id / CHUNK_IDS)?[at] != UNKNOWN)
    }

    /// Logs a ticket created at `created` and last updated at `updated`.
    pub fn set(
        &mut self,
        storage: &dyn Storage,
        scheme: &Scheme,
        id: u64,
        created: u64,
        updated: u64,
    ) -> Result<(), StorageError> {
        let n = id / CHUNK_IDS;
        let at = ((id % CHUNK_IDS) * 2) as usize;
        let values = [scheme.value(created), scheme.value(updated.max(created))];
        let chunk = self.chunk(storage, n)?;
        if chunk[at..at + 2] != values {
            chunk[at..at + 2].copy_from_slice(&values);
            if !self.dirty.contains(&n) {
                self.dirty.push(n);
            }
        }
        Ok(())
    }

    /// Writes the changed chunks.
    pub fn flush(&mut self, storage: &dyn Storage) -> Result<(), StorageError> {
        for n in std::mem::take(&mut self.dirty) {
            storage.set(&format!("{CHUNK_PREFIX}{n}"), &self.chunks[&n])?;
        }
        Ok(())
    }
}

/// Calls `f(id, created value, updated value)` for every logged ticket.
fn each_logged(
    storage: &dyn Storage,
    mut f: impl FnMut(u64, u8, u8) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    for key in storage.list_keys(CHUNK_PREFIX)? {
        let Some(n) = key
            .strip_prefix(CHUNK_PREFIX)
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let bytes = storage.get(&key)?.unwrap_or_default();
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            if pair[0] != UNKNOWN {
                f(n * CHUNK_IDS + i as u64, pair[0], pair[1])?;
            }
        }
    }
    Ok(())
}

/// A budget as Zendesk reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per minute.
    pub per_minute: f64,
    /// Requests left in the current minute.
    pub left: f64,
}

impl Rate {
    /// Minutes `requests` take: what is left now is free, the rest comes at
    /// the per-minute rate.
    fn minutes(&self, requests: f64) -> f64 {
        (requests - self.left).max(0.0) / self.per_minute
    }
}

/// The two budgets the comment history is split between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// The account-wide budget (per-ticket comments).
    pub account: Rate,
    /// The incremental-export budget (the bulk export).
    pub export: Rate,
}

/// What the first sweep's log says, summed per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    scheme: Scheme,
    /// Tickets created before each boundary (`below[j]`, `j` in
    /// `0..=BUCKETS`); `below[0]` counts those created before the window.
    below: Vec<u64>,
    /// Expected share of the tickets' events in each bucket: a ticket's
    /// events are spread evenly from its creation to its last update.
    activity: Vec<f64>,
}

impl Plan {
    /// Sums the log.
    pub fn collect(storage: &dyn Storage, scheme: Scheme) -> Result<Plan, StorageError> {
        let buckets = BUCKETS as usize;
        let mut created = vec![0u64; buckets + 1];
        let mut activity = vec![0.0; buckets];
        each_logged(storage, |_, c, u| {
            // `created[0]`: before the window; `created[b + 1]`: bucket b.
            let bucket = match c {
                BEFORE => None,
                AFTER => return Ok(()),
                c => Some(usize::from(c - FIRST)),
            };
            created[bucket.map_or(0, |b| b + 1)] += 1;
            if u >= FIRST {
                let last = usize::from(u - FIRST).min(buckets - 1);
                let first = bucket.unwrap_or(0).min(last);
                let share = 1.0 / (last - first + 1) as f64;
                for slot in &mut activity[first..=last] {
                    *slot += share;
                }
            }
            Ok(())
        })?;
        // Tickets below boundary j: created[0..=j].
        let mut below = Vec::with_capacity(buckets + 1);
        let mut sum = 0;
        for count in created {
            sum += count;
            below.push(sum);
        }
        Ok(Plan {
            scheme,
            below,
            activity,
        })
    }

    /// Tickets created before boundary `j`: the per-ticket requests.
    pub fn tickets_before(&self, j: u32) -> u64 {
        self.below[j as usize]
    }

    /// Expected activity (in tickets' worth of events) in `[from, to)`,
    /// interpolating inside buckets.
    pub fn activity_between(&self, from: u64, to: u64) -> f64 {
        let width = self.scheme.span() as f64 / f64::from(BUCKETS);
        let mut sum = 0.0;
        for (b, share) in self.activity.iter().enumerate() {
            let start = self.scheme.from as f64 + b as f64 * width;
            let end = start + width;
            let overlap = (end.min(to as f64) - start.max(from as f64)).max(0.0);
            sum += share * overlap / width;
        }
        sum
    }

    /// Expected export pages from boundary `j` on.
    pub fn pages_from(&self, j: u32, events_per_ticket: f64) -> f64 {
        let activity: f64 = self.activity[j as usize..].iter().sum();
        (activity * events_per_ticket / EVENTS_PER_PAGE).ceil()
    }

    /// The boundary where both endpoints finish soonest: per-ticket
    /// requests at the account budget against export pages at the export
    /// budget. Ties go to the earlier boundary (fewer requests).
    pub fn best(&self, events_per_ticket: f64, rates: Rates) -> u32 {
        let mut best = (f64::INFINITY, 0);
        for j in 0..=BUCKETS {
            let per_ticket = rates.account.minutes(self.tickets_before(j) as f64);
            let bulk = rates.export.minutes(self.pages_from(j, events_per_ticket));
            let minutes = per_ticket.max(bulk);
            if minutes < best.0 {
                best = (minutes, j);
            }
        }
        best.1
    }

    /// Events per ticket measured by a probe: `events` export events from
    /// `from` up to `to`; none when the probe saw too little to tell.
    pub fn calibrate(&self, from: u64, to: u64, events: usize) -> Option<f64> {
        let activity = self.activity_between(from, to.min(self.scheme.to));
        (events > 0 && activity >= 1.0).then(|| events as f64 / activity)
    }
}

/// Marks every logged ticket created before boundary `j` pending, in
/// `generation`.
pub fn mark_before(storage: &dyn Storage, j: u32, generation: u64) -> Result<(), StorageError> {
    let last = u32::from(BEFORE) + j;
    let mut pending = crate::state::marks::Marks::new(pending(generation));
    each_logged(storage, |id, c, _| {
        if u32::from(c) <= last {
            pending.set(storage, id, true)?;
        }
        Ok(())
    })?;
    pending.flush(storage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::marks::Marks;
    use crate::storage::MemoryStorage;

    const DAY: u64 = 86_400;

    #[test]
    fn values_and_boundaries_agree() {
        let scheme = Scheme {
            from: 1000,
            to: 1000 + 250 * 7 + 3,
        };
        for at in [0, 999, 1000, 1001, 1006, 1007, 1500, 2752, 2753, 9999] {
            let v = scheme.value(at);
            for j in 0..=BUCKETS {
                let before = at < scheme.boundary(j);
                assert_eq!(
                    before,
                    u32::from(v) < u32::from(FIRST) + j,
                    "at {at}, j {j}"
                );
            }
        }
        assert_eq!(scheme.boundary(0), 1000);
        assert_eq!(scheme.boundary(BUCKETS), scheme.to);
        assert_eq!(scheme.boundary_at(1000), 0);
        assert_eq!(scheme.boundary_at(1001), 1);
        assert_eq!(scheme.boundary_at(u64::MAX), BUCKETS);
    }

    /// A log of `n` tickets created evenly over 100 days, each active for
    /// `span` seconds, plus `old` tickets created before the window.
    fn logged(n: u64, span: u64, old: u64) -> (MemoryStorage, Scheme) {
        let storage = MemoryStorage::new();
        let from = 100 * DAY;
        let scheme = Scheme::load_or_create(&storage, from, from + 100 * DAY).unwrap();
        let mut log = TicketLog::default();
        for i in 0..n {
            let created = from + i * 100 * DAY / n;
            log.set(&storage, &scheme, 5000 + i, created, created + span)
                .unwrap();
        }
        for i in 0..old {
            log.set(&storage, &scheme, 10 + i, from - 30 * DAY, from - 20 * DAY)
                .unwrap();
        }
        log.flush(&storage).unwrap();
        (storage, scheme)
    }

    #[test]
    fn the_split_balances_both_budgets() {
        let (storage, scheme) = logged(20_000, 0, 0);
        assert_eq!(
            Scheme::load_or_create(&storage, 0, 1).unwrap(),
            scheme,
            "stored once"
        );
        let plan = Plan::collect(&storage, scheme).unwrap();
        assert_eq!(plan.tickets_before(0), 0);
        assert_eq!(plan.tickets_before(BUCKETS), 20_000);
        assert_eq!(plan.pages_from(0, 4.0), 80.0);
        // 700 a minute against 10: per-ticket takes about 22% of the window.
        let rate = |per_minute, left| Rate { per_minute, left };
        let rates = Rates {
            account: rate(700.0, 0.0),
            export: rate(10.0, 0.0),
        };
        let j = plan.best(4.0, rates);
        let per_ticket = plan.tickets_before(j) as f64 / 700.0;
        let bulk = plan.pages_from(j, 4.0) / 10.0;
        assert!((50..60).contains(&j), "{j}");
        assert!((per_ticket - bulk).abs() < 0.2, "{per_ticket} vs {bulk}");
        // Busier tickets move the split later; no export budget to speak
        // of moves everything per ticket; a tiny account budget nothing.
        assert!(plan.best(8.0, rates) > j);
        let lopsided = |account, export| Rates {
            account: rate(account, 0.0),
            export: rate(export, 0.0),
        };
        assert_eq!(plan.best(4.0, lopsided(1e9, 1.0)), BUCKETS);
        assert_eq!(plan.best(4.0, lopsided(1.0, 10.0)), 0);
        // When the export budget left this minute covers the bulk, no split.
        let small = Plan::collect(&logged(500, 0, 0).0, scheme).unwrap();
        assert_eq!(
            small.best(
                4.0,
                Rates {
                    account: rate(700.0, 600.0),
                    export: rate(10.0, 8.0)
                }
            ),
            0
        );
    }

    #[test]
    fn activity_spreads_over_each_tickets_life_and_calibrates() {
        let (storage, scheme) = logged(1000, 10 * DAY, 7);
        let plan = Plan::collect(&storage, scheme).unwrap();
        assert_eq!(
            plan.tickets_before(0),
            7,
            "older tickets always go per ticket"
        );
        // Activity past the window's end counts in its last bucket; tickets
        // older than the window are not active in it.
        let total = plan.activity_between(0, u64::MAX);
        assert!((total - 1000.0).abs() < 1e-6, "{total}");
        let half = plan.activity_between(scheme.from, scheme.from + 50 * DAY);
        assert!((half - 450.0).abs() < 10.0, "{half}");
        let k = plan
            .calibrate(scheme.from, scheme.from + 50 * DAY, 2250)
            .unwrap();
        assert!((k - 5.0).abs() < 0.2, "{k}");
        assert_eq!(plan.calibrate(scheme.from, scheme.from + 1, 1000), None);
        assert_eq!(plan.calibrate(scheme.from, scheme.to, 0), None);
    }

    #[test]
    fn marking_takes_exactly_the_tickets_created_before_the_boundary() {
        let (storage, scheme) = logged(250, 0, 2);
        let j = 100;
        mark_before(&storage, j, 7).unwrap();
        let mut pending = Marks::new(super::pending(7));
        let start = scheme.boundary(j);
        let mut marked = 0;
        for i in 0..250 {
            let created = scheme.from + i * 100 * DAY / 250;
            let is = pending.is_marked(&storage, 5000 + i).unwrap();
            assert_eq!(is, created < start, "ticket {i}");
            marked += u64::from(is);
        }
        assert!(
            pending.is_marked(&storage, 10).unwrap() && pending.is_marked(&storage, 11).unwrap()
        );
        let plan = Plan::collect(&storage, scheme).unwrap();
        assert_eq!(plan.tickets_before(j), marked + 2);
        let mut log = TicketLog::default();
        assert!(log.knows(&storage, 5000).unwrap());
        assert!(!log.knows(&storage, 4999).unwrap());
    }

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
        };
        store(&storage, split).unwrap();
        assert_eq!(stored(&storage).unwrap(), Some(split));
    }
}
