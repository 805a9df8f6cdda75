//! The first sweep's log of the tickets: per ticket id, the buckets of its
//! creation and last update over the window ([`Scheme`], [`TicketLog`]).

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// Storage key of the log's [`Scheme`]; its chunks are `ticket-log/{n}`.
const SCHEME_KEY: &str = "ticket-log";
/// Prefix of the log's chunks.
const CHUNK_PREFIX: &str = "ticket-log/";

/// Buckets the window is cut into.
pub const BUCKETS: u32 = 250;
/// Ticket ids per log chunk (2 bytes each: 4 KiB).
const CHUNK_IDS: u64 = 2048;

/// Log value: not logged.
pub(super) const UNKNOWN: u8 = 0;
/// Log value: before the window.
pub(super) const BEFORE: u8 = 1;
/// Log value of the window's first bucket.
pub(super) const FIRST: u8 = 2;
/// Log value: at or after the window's end.
pub(super) const AFTER: u8 = FIRST + BUCKETS as u8;

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

    pub(super) fn span(&self) -> u64 {
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
pub(super) fn each_logged(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
