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
    set: &'static str,
    chunks: HashMap<u64, Vec<u8>>,
    dirty: BTreeSet<u64>,
}

impl Marks {
    /// The set stored under `{set}/`, loaded lazily.
    pub fn new(set: &'static str) -> Self {
        Marks {
            set,
            chunks: HashMap::new(),
            dirty: BTreeSet::new(),
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
}
