//! What the first sweep's log says, summed per bucket ([`Plan`]), and the
//! split where the endpoints finish together at the budgets Zendesk
//! reports.

use super::log::{each_logged, Scheme, AFTER, BEFORE, BUCKETS, FIRST};
use super::{pending, ARCHIVABLE};
use crate::state::marks::Marks;
use crate::storage::{Storage, StorageError};

/// Events a ticket is assumed to have until the export is probed.
pub const PRIOR_EVENTS_PER_TICKET: f64 = 4.0;
/// Events per export page.
const EVENTS_PER_PAGE: f64 = 1000.0;
/// Audits per page of the account-wide audit list (its older cursor).
const AUDITS_PER_PAGE: f64 = 1000.0;

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

/// Where the comments made before the split come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Ticket by ticket, for every ticket created before it.
    PerTicket,
    /// From the account-wide audit list, walked back once, for the tickets
    /// it lists; ticket by ticket for those possibly archived.
    AuditList,
}

/// What the first sweep's log says, summed per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    scheme: Scheme,
    /// Tickets created before each boundary (`below[j]`, `j` in
    /// `0..=BUCKETS`); `below[0]` counts those created before the window.
    below: Vec<u64>,
    /// Of those, the tickets possibly archived ([`ARCHIVABLE`]), which the
    /// audit list leaves out.
    archivable_below: Vec<u64>,
    /// Expected share of the tickets' events in each bucket: a ticket's
    /// events are spread evenly from its creation to its last update.
    activity: Vec<f64>,
}

impl Plan {
    /// Sums the log.
    pub fn collect(storage: &dyn Storage, scheme: Scheme) -> Result<Plan, StorageError> {
        let buckets = BUCKETS as usize;
        let mut created = vec![0u64; buckets + 1];
        let mut archivable = vec![0u64; buckets + 1];
        let mut activity = vec![0.0; buckets];
        let mut marks = Marks::new(ARCHIVABLE);
        each_logged(storage, |id, c, u| {
            // `created[0]`: before the window; `created[b + 1]`: bucket b.
            let bucket = match c {
                BEFORE => None,
                AFTER => return Ok(()),
                c => Some(usize::from(c - FIRST)),
            };
            let slot = bucket.map_or(0, |b| b + 1);
            created[slot] += 1;
            if marks.is_marked(storage, id)? {
                archivable[slot] += 1;
            }
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
        Ok(Plan {
            scheme,
            below: running_sums(created),
            archivable_below: running_sums(archivable),
            activity,
        })
    }

    /// Tickets created before boundary `j`: the per-ticket requests.
    pub fn tickets_before(&self, j: u32) -> u64 {
        self.below[j as usize]
    }

    /// Requests on the account budget for the comments made before boundary
    /// `j`: per ticket, or the audit list's pages (walked whole when any
    /// ticket it lists was created before `j`) and the possibly archived
    /// tickets per ticket.
    fn account_requests(&self, j: u32, events_per_ticket: f64, source: Source) -> f64 {
        let before = self.tickets_before(j);
        match source {
            Source::PerTicket => before as f64,
            Source::AuditList => {
                let archivable = self.archivable_below[j as usize];
                let listed = self.below[BUCKETS as usize] - self.archivable_below[BUCKETS as usize];
                let walk = if before > archivable {
                    (listed as f64 * events_per_ticket / AUDITS_PER_PAGE).ceil()
                } else {
                    0.0
                };
                archivable as f64 + walk
            }
        }
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

    /// The boundary where the sources finish soonest: the requests on the
    /// account budget for the earlier comments (from `source`) against the
    /// export pages at the export budget. Ties go to the boundary with the
    /// fewest requests, then the earliest. With the audit list the export
    /// keeps at least the last bucket: a split at the sweep's very end
    /// would start the export at a time a Zendesk clock a little behind the
    /// connector's refuses as too recent.
    pub fn best(&self, events_per_ticket: f64, rates: Rates, source: Source) -> u32 {
        let last = match source {
            Source::PerTicket => BUCKETS,
            Source::AuditList => BUCKETS - 1,
        };
        let mut best = (f64::INFINITY, f64::INFINITY, 0);
        for j in 0..=last {
            let account = self.account_requests(j, events_per_ticket, source);
            let pages = self.pages_from(j, events_per_ticket);
            let minutes = rates
                .account
                .minutes(account)
                .max(rates.export.minutes(pages));
            let requests = account + pages;
            let sooner = minutes < best.0 - 1e-9;
            if sooner || (minutes <= best.0 + 1e-9 && requests < best.1) {
                best = (minutes, requests, j);
            }
        }
        best.2
    }

    /// Events per ticket measured by a probe: `events` export events from
    /// `from` up to `to`; none when the probe saw too little to tell.
    pub fn calibrate(&self, from: u64, to: u64, events: usize) -> Option<f64> {
        let activity = self.activity_between(from, to.min(self.scheme.to));
        (events > 0 && activity >= 1.0).then(|| events as f64 / activity)
    }
}

/// Running sums: `sums[j]` is the sum of `counts[0..=j]`.
fn running_sums(counts: Vec<u64>) -> Vec<u64> {
    counts
        .into_iter()
        .scan(0, |sum, count| {
            *sum += count;
            Some(*sum)
        })
        .collect()
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
    use crate::state::split::TicketLog;
    use crate::storage::MemoryStorage;

    const DAY: u64 = 86_400;

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
        let j = plan.best(4.0, rates, Source::PerTicket);
        let per_ticket = plan.tickets_before(j) as f64 / 700.0;
        let bulk = plan.pages_from(j, 4.0) / 10.0;
        assert!((50..60).contains(&j), "{j}");
        assert!((per_ticket - bulk).abs() < 0.2, "{per_ticket} vs {bulk}");
        // Busier tickets move the split later; no export budget to speak
        // of moves everything per ticket; a tiny account budget nothing.
        assert!(plan.best(8.0, rates, Source::PerTicket) > j);
        let lopsided = |account, export| Rates {
            account: rate(account, 0.0),
            export: rate(export, 0.0),
        };
        assert_eq!(
            plan.best(4.0, lopsided(1e9, 1.0), Source::PerTicket),
            BUCKETS
        );
        assert_eq!(plan.best(4.0, lopsided(1.0, 10.0), Source::PerTicket), 0);
        // When the export budget left this minute covers the bulk, no split.
        let small = Plan::collect(&logged(500, 0, 0).0, scheme).unwrap();
        assert_eq!(
            small.best(
                4.0,
                Rates {
                    account: rate(700.0, 600.0),
                    export: rate(10.0, 8.0)
                },
                Source::PerTicket
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
    fn the_audit_list_takes_the_history_of_the_tickets_it_lists() {
        let (storage, scheme) = logged(20_000, 0, 0);
        let rates = Rates {
            account: Rate {
                per_minute: 690.0,
                left: 0.0,
            },
            export: Rate {
                per_minute: 10.0,
                left: 0.0,
            },
        };
        // Nothing archived: the list serves the whole history but the last
        // bucket, in 80 pages.
        let plan = Plan::collect(&storage, scheme).unwrap();
        let j = plan.best(4.0, rates, Source::AuditList);
        assert!((BUCKETS - 5..BUCKETS).contains(&j), "{j}");
        assert_eq!(plan.account_requests(BUCKETS, 4.0, Source::AuditList), 80.0);
        assert_eq!(plan.account_requests(0, 4.0, Source::AuditList), 0.0);
        // The older half possibly archived: those go per ticket, so the
        // split moves back, but never costs more than per ticket.
        let mut archivable = Marks::new(ARCHIVABLE);
        for i in 0..10_000 {
            archivable.set(&storage, 5000 + i, true).unwrap();
        }
        archivable.flush(&storage).unwrap();
        let plan = Plan::collect(&storage, scheme).unwrap();
        let j = plan.best(4.0, rates, Source::AuditList);
        assert!(j < BUCKETS / 2, "{j}");
        let minutes = |j, source| {
            let account = rates.account.minutes(plan.account_requests(j, 4.0, source));
            account.max(rates.export.minutes(plan.pages_from(j, 4.0)))
        };
        let per_ticket = plan.best(4.0, rates, Source::PerTicket);
        assert!(minutes(j, Source::AuditList) <= minutes(per_ticket, Source::PerTicket));
        assert_eq!(
            plan.account_requests(BUCKETS, 4.0, Source::AuditList),
            10_040.0
        );
    }
}
