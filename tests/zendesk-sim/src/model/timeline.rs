//! Every audit of the account in time order, `(created_at, audit id)`: the generated ones
//! (computed once) merged with those mutations added. The events export walks it forwards;
//! the account-wide audit list walks it both ways.

use std::cmp::Reverse;
use std::ops::Bound;

use super::{history, Account, TicketState};

/// A place among the account's audits: `(created_at, audit id)`.
pub(crate) type AuditPosition = (i64, u64);

impl Account {
    /// Ticket audits in event order (`created_at`, audit id) strictly after `after`.
    pub(crate) fn events_after(
        &self,
        after: AuditPosition,
    ) -> impl Iterator<Item = AuditPosition> + '_ {
        let generated = self.generated_events();
        let start = generated.partition_point(|e| *e <= after);
        let extra = self
            .extra_events
            .range((Bound::Excluded(after), Bound::Unbounded))
            .copied();
        MergeSorted {
            a: generated[start..].iter().copied().peekable(),
            b: extra.peekable(),
        }
    }

    /// Ticket audits strictly before `before`, newest first.
    pub(crate) fn events_before(
        &self,
        before: AuditPosition,
    ) -> impl Iterator<Item = AuditPosition> + '_ {
        let generated = self.generated_events();
        let end = generated.partition_point(|e| *e < before);
        let extra = self
            .extra_events
            .range((Bound::Unbounded, Bound::Excluded(before)))
            .rev()
            .map(|&e| Reverse(e));
        MergeSorted {
            a: generated[..end]
                .iter()
                .rev()
                .map(|&e| Reverse(e))
                .peekable(),
            b: extra.peekable(),
        }
        .map(|Reverse(e)| e)
    }

    /// The generated audits of the initial tickets, sorted (computed on first use).
    fn generated_events(&self) -> &[AuditPosition] {
        self.generated_events.get_or_init(|| {
            let mut all = Vec::new();
            for id in 1..=self.initial_tickets as u64 {
                let t = &self.tickets[id as usize - 1];
                for k in 0..u64::from(t.base_audits) {
                    all.push((self.generated_audit_time(t, k), history::audit_id(id, k)));
                }
            }
            all.sort_unstable();
            all
        })
    }

    /// When generated audit `k` of a ticket happened.
    pub(super) fn generated_audit_time(&self, t: &TicketState, k: u64) -> i64 {
        let n = i64::from(t.base_audits);
        if n <= 1 {
            t.created_at
        } else {
            t.created_at + i64::from(t.base_span) * k as i64 / (n - 1)
        }
    }
}

/// Merges two ascending iterators.
struct MergeSorted<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<T: Ord + Copy, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for MergeSorted<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if y < x => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::model::{Mutation, Status};

    #[test]
    fn both_directions_walk_the_same_audits_in_opposite_orders() {
        let config = SimConfig {
            tickets: 40,
            ..SimConfig::default()
        };
        let mut acct = Account::generate("acme", &config, 1_700_000_000);
        acct.apply(Mutation::CreateTickets { count: 2 }, 1_700_000_100)
            .unwrap();
        let live = (1..=40)
            .find(|&id| acct.ticket(id).is_some_and(|t| t.status != Status::Deleted))
            .unwrap();
        acct.apply(
            Mutation::AddComment {
                ticket_id: live,
                public: true,
            },
            1_700_000_050,
        )
        .unwrap();
        let forward: Vec<AuditPosition> = acct.events_after((i64::MIN, 0)).collect();
        let mut backward: Vec<AuditPosition> = acct.events_before((i64::MAX, u64::MAX)).collect();
        assert!(
            forward.windows(2).all(|w| w[0] < w[1]),
            "strictly ascending"
        );
        backward.reverse();
        assert_eq!(forward, backward);
        let middle = forward[forward.len() / 2];
        let older: Vec<AuditPosition> = acct.events_before(middle).collect();
        assert_eq!(older.len(), forward.len() / 2);
        assert!(older.iter().all(|p| *p < middle));
        assert_eq!(older.first(), forward.get(forward.len() / 2 - 1));
    }
}
