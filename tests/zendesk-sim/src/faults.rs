//! Fault injection per endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rng::Draw;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Answer with this status (e.g. 500, 502, 503) and a short error body.
    Status(u16),
    /// Answer 504 when the requested page size (`per_page` or `page[size]`) exceeds this.
    GatewayTimeoutAbove(u32),
    /// Wait this long (real time) before answering normally.
    Delay(Duration),
    /// Announce the full `Content-Length` but send only half of the body, then close.
    TruncatedBody,
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Close the connection without answering.
    ConnectionReset,
}

/// When a fault fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultTrigger {
    /// On each of the next N matching requests.
    Next(u32),
    /// On each matching request with this probability (drawn from the seeded generator).
    Probability(f64),
}

/// A fault and when it fires.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// When.
    pub trigger: FaultTrigger,
}

impl Fault {
    /// `kind` on each of the next `n` requests.
    pub fn next(n: u32, kind: FaultKind) -> Fault {
        Fault {
            kind,
            trigger: FaultTrigger::Next(n),
        }
    }

    /// `kind` on each request with probability `p`.
    pub fn probability(p: f64, kind: FaultKind) -> Fault {
        Fault {
            kind,
            trigger: FaultTrigger::Probability(p),
        }
    }
}

/// The faults set per endpoint name (`"*"` matches every endpoint).
#[derive(Debug)]
pub(crate) struct FaultTable {
    faults: BTreeMap<String, Vec<Fault>>,
    draw: Draw,
}

impl FaultTable {
    /// An empty table whose probabilities draw from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        FaultTable {
            faults: BTreeMap::new(),
            draw: Draw::new(seed, 0xFA17, 0),
        }
    }

    /// Adds a fault for `endpoint`.
    pub(crate) fn add(&mut self, endpoint: &str, fault: Fault) {
        self.faults
            .entry(endpoint.to_string())
            .or_default()
            .push(fault);
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    /// The fault that fires for a request to `endpoint` asking for `page_size` items, if any.
    pub(crate) fn fire(&mut self, endpoint: &str, page_size: u32) -> Option<FaultKind> {
        for key in [endpoint, "*"] {
            let Some(list) = self.faults.get_mut(key) else {
                continue;
            };
            for fault in list.iter_mut() {
                if let FaultKind::GatewayTimeoutAbove(limit) = fault.kind {
                    if page_size <= limit {
                        continue;
                    }
                }
                let fires = match &mut fault.trigger {
                    FaultTrigger::Next(0) => false,
                    FaultTrigger::Next(n) => {
                        *n -= 1;
                        true
                    }
                    FaultTrigger::Probability(p) => self.draw.chance(*p),
                };
                if fires {
                    return Some(fault.kind.clone());
                }
            }
            list.retain(|f| f.trigger != FaultTrigger::Next(0));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_fire_exactly_n_times_and_only_on_their_endpoint() {
        let mut t = FaultTable::new(1);
        t.add("tickets", Fault::next(2, FaultKind::Status(503)));
        assert_eq!(t.fire("users", 100), None);
        assert_eq!(t.fire("tickets", 100), Some(FaultKind::Status(503)));
        assert_eq!(t.fire("tickets", 100), Some(FaultKind::Status(503)));
        assert_eq!(t.fire("tickets", 100), None);
    }

    #[test]
    fn gateway_timeout_depends_on_page_size_and_wildcard_matches_all() {
        let mut t = FaultTable::new(1);
        t.add(
            "*",
            Fault::probability(1.0, FaultKind::GatewayTimeoutAbove(100)),
        );
        assert_eq!(t.fire("anything", 100), None);
        assert_eq!(
            t.fire("anything", 101),
            Some(FaultKind::GatewayTimeoutAbove(100))
        );
    }

    #[test]
    fn probability_is_roughly_respected() {
        let mut t = FaultTable::new(9);
        t.add("x", Fault::probability(0.25, FaultKind::MalformedJson));
        let hits = (0..4000).filter(|_| t.fire("x", 1).is_some()).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
