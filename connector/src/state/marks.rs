//! Sets of ticket ids kept as bitmaps: one bit per ticket id in 4 KiB
//! chunks stored under `{set}/{id / 32768}` (Zendesk ticket ids are small
//! per-account sequence numbers, so a few chunks cover an account).

use std::collections::{BTreeSet, HashMap};

use crate::storage::{Storage, StorageError};

/// Ticket ids per chunk.
const CHUNK_BITS: u64 = 32_768;

/// Tickets on which a customer has commented
/// (`only_tickets_with_customer_comments`).
pub const CUSTOMER_COMMENTED: &str = "customer-commented";

/// Tickets of brands outside the `brands` filter, whose comments are dropped.
pub const OTHER_BRAND: &str = "other-brand";

/// A set of ticket ids loaded for one call, written back by [`Marks::flush`].
#[derive(Debug)]
pub struct Marks {
    set: String,
    chunks: HashMap<u64, Vec<u8>>,
    dirty: BTreeSet<u64>,
    /// The stored chunks' numbers, listed on the first scan.
    stored: Option<BTreeSet<u64>>,
}

impl Marks {
    /// The set stored under `{set}/`, loaded lazily.
    pub fn new(set: impl Into<String>) -> Self {
        Marks {
            set: set.into(),
            chunks: HashMap::new(),
            dirty: BTreeSet::new(),
            stored: None,
        }
    }

    fn key(&self, chunk: u64) -> String {
        format!("{}/{chunk}", self.set)
    }

    fn chunk(&mut self, storage: &dyn Storage, chunk: u64) -> Result<&mut Vec<u8>, StorageError> {
        if !self.chunks.contains_key(&chunk) {
            let mut bits = storage.get(&self.key(chunk))?.unwrap_or_default();
            bits.resize((CHUNK_BITS / 8) as usize, 0);
            self.chunks.insert(chunk, bits);
        }
        Ok(self.chunks.get_mut(&chunk).expect("chunk inserted above"))
    }

    /// Whether the ticket is marked.
    pub fn is_marked(
        &mut self,
        storage: &dyn Storage,
        ticket_id: u64,
    ) -> Result<bool, StorageError> {
        let bit = ticket_id % CHUNK_BITS;
        let bits = self.chunk(storage, ticket_id / CHUNK_BITS)?;
        Ok(bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// Adds the ticket to the set, or removes it.
    pub fn set(
        &mut self,
        storage: &dyn Storage,
        ticket_id: u64,
        marked: bool,
    ) -> Result<(), StorageError> {
        let chunk = ticket_id / CHUNK_BITS;
        let bit = ticket_id % CHUNK_BITS;
        let bits = self.chunk(storage, chunk)?;
        let byte = &mut bits[(bit / 8) as usize];
        let before = *byte;
        let mask = 1 << (bit % 8);
        if marked {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        if *byte != before {
            self.dirty.insert(chunk);
        }
        Ok(())
    }

    /// The smallest marked ticket id at or after `from`.
    pub fn next_marked(
        &mut self,
        storage: &dyn Storage,
        from: u64,
    ) -> Result<Option<u64>, StorageError> {
        if self.stored.is_none() {
            let prefix = format!("{}/", self.set);
            let numbers = storage
                .list_keys(&prefix)?
                .iter()
                .filter_map(|k| k.strip_prefix(&prefix)?.parse().ok())
                .collect();
            self.stored = Some(numbers);
        }
        let mut chunks: BTreeSet<u64> = self.stored.clone().unwrap_or_default();
        chunks.extend(self.chunks.keys());
        for chunk in chunks.range(from / CHUNK_BITS..) {
            let first = if *chunk == from / CHUNK_BITS {
                from % CHUNK_BITS
            } else {
                0
            };
            let bits = self.chunk(storage, *chunk)?;
            let found = (first..CHUNK_BITS).find(|bit| {
                let byte = bits[(bit / 8) as usize];
                byte != 0 && byte & (1 << (bit % 8)) != 0
            });
            if let Some(bit) = found {
                return Ok(Some(chunk * CHUNK_BITS + bit));
            }
        }
        Ok(None)
    }

    /// Writes the changed chunks.
    pub fn flush(&mut self, storage: &dyn Storage) -> Result<(), StorageError> {
        for chunk in std::mem::take(&mut self.dirty) {
            storage.set(&self.key(chunk), &self.chunks[&chunk])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn marks_survive_a_flush() {
        let storage = MemoryStorage::new();
        let mut marks = Marks::new(CUSTOMER_COMMENTED);
        marks.set(&storage, 3, true).unwrap();
        marks.set(&storage, 5, true).unwrap();
        marks.set(&storage, 5, false).unwrap();
        marks.set(&storage, 40_000, true).unwrap();
        assert!(!marks.is_marked(&storage, 5).unwrap());
        assert!(marks.is_marked(&storage, 3).unwrap());
        assert!(!marks.is_marked(&storage, 4).unwrap());
        marks.flush(&storage).unwrap();
        assert_eq!(storage.len(), 2);
        assert!(storage.get("customer-commented/1").unwrap().is_some());
        let mut again = Marks::new(CUSTOMER_COMMENTED);
        assert!(again.is_marked(&storage, 40_000).unwrap());
        assert!(!again.is_marked(&storage, 2).unwrap());
        again.flush(&storage).unwrap();
    }

    #[test]
    fn marked_ids_are_found_in_order_across_chunks() {
        let storage = MemoryStorage::new();
        let mut marks = Marks::new(CUSTOMER_COMMENTED);
        for id in [7, 100_000, 4 * CHUNK_BITS + 1] {
            marks.set(&storage, id, true).unwrap();
        }
        marks.flush(&storage).unwrap();
        let mut scan = Marks::new(CUSTOMER_COMMENTED);
        assert_eq!(scan.next_marked(&storage, 0).unwrap(), Some(7));
        assert_eq!(scan.next_marked(&storage, 8).unwrap(), Some(100_000));
        assert_eq!(
            scan.next_marked(&storage, 100_001).unwrap(),
            Some(4 * CHUNK_BITS + 1)
        );
        scan.set(&storage, 4 * CHUNK_BITS + 1, false).unwrap();
        assert_eq!(scan.next_marked(&storage, 100_001).unwrap(), None);
        scan.set(&storage, 40 * CHUNK_BITS, true).unwrap();
        assert_eq!(
            scan.next_marked(&storage, 100_001).unwrap(),
            Some(40 * CHUNK_BITS),
            "unflushed chunks count"
        );
    }
}
