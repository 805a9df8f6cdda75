//! The `storage` import: durable key-value storage for one connection,
//! backed by the host's [`KeyValueStore`] and held to quotas.

use std::sync::Arc;

use crate::errors::{ConnectorError, StoreError};
use crate::storage::KeyValueStore;

/// Size limits of one connection's storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageQuota {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Keys plus values, in bytes, for the whole connection.
    pub max_total_bytes: u64,
}

impl Default for StorageQuota {
    fn default() -> Self {
        StorageQuota {
            max_key_bytes: 512,
            max_value_bytes: 1 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

/// Why a storage call failed; mirrors the WIT `storage-error`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A quota would be exceeded.
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The database failed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<ConnectorError> for StorageError {
    fn from(err: ConnectorError) -> Self {
        StorageError::Unavailable(err.to_string())
    }
}

/// One connection's namespace in the host's [`KeyValueStore`], held to
/// its quota.
pub struct ConnectionStorage {
    store: Arc<dyn KeyValueStore>,
    connection: String,
    quota: StorageQuota,
    used_bytes: u64,
}

fn unavailable(err: StoreError) -> StorageError {
    StorageError::Unavailable(err.to_string())
}

impl ConnectionStorage {
    /// Open the namespace of `connection`, measuring what it already uses.
    pub fn open(
        store: Arc<dyn KeyValueStore>,
        connection: &str,
        quota: StorageQuota,
    ) -> Result<Self, ConnectorError> {
        let used_bytes = store.used_bytes(connection)?;
        Ok(ConnectionStorage {
            store,
            connection: connection.to_string(),
            quota,
            used_bytes,
        })
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.get(&self.connection, key).map_err(unavailable)
    }

    /// Store `value` under `key`, within the quota.
    pub fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        if key.len() > self.quota.max_key_bytes {
            return Err(StorageError::QuotaExceeded(format!(
                "key of {} bytes is longer than the {} allowed",
                key.len(),
                self.quota.max_key_bytes
            )));
        }
        if value.len() > self.quota.max_value_bytes {
            return Err(StorageError::QuotaExceeded(format!(
                "value of {} bytes is larger than the {} allowed",
                value.len(),
                self.quota.max_value_bytes
            )));
        }
        let old = self
            .store
            .entry_size(&self.connection, key)
            .map_err(unavailable)?;
        let new_total = self.used_bytes - old + (key.len() + value.len()) as u64;
        if new_total > self.quota.max_total_bytes {
            return Err(StorageError::QuotaExceeded(format!(
                "the connection's storage would hold {new_total} bytes, more than the {} allowed",
                self.quota.max_total_bytes
            )));
        }
        self.store
            .set(&self.connection, key, value)
            .map_err(unavailable)?;
        self.used_bytes = new_total;
        Ok(())
    }

    /// Remove `key` if present.
    pub fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        let old = self
            .store
            .entry_size(&self.connection, key)
            .map_err(unavailable)?;
        self.store
            .delete(&self.connection, key)
            .map_err(unavailable)?;
        self.used_bytes -= old;
        Ok(())
    }

    /// Keys starting with `prefix`, sorted.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.store
            .list_keys(&self.connection, prefix)
            .map_err(unavailable)
    }

    /// Bytes used by keys and values.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn quota() -> StorageQuota {
        StorageQuota {
            max_key_bytes: 8,
            max_value_bytes: 16,
            max_total_bytes: 40,
        }
    }

    #[test]
    fn values_round_trip_and_namespaces_are_separate() {
        let store: Arc<dyn KeyValueStore> = Arc::new(MemoryStore::default());
        let mut a = ConnectionStorage::open(store.clone(), "a", quota()).unwrap();
        let mut b = ConnectionStorage::open(store.clone(), "b", quota()).unwrap();
        a.set("k1", b"one").unwrap();
        a.set("k2", b"two").unwrap();
        b.set("k1", b"other").unwrap();
        assert_eq!(a.get("k1").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(b.get("k1").unwrap().as_deref(), Some(&b"other"[..]));
        assert_eq!(a.list_keys("k").unwrap(), vec!["k1", "k2"]);
        assert_eq!(b.list_keys("").unwrap(), vec!["k1"]);
        a.delete("k1").unwrap();
        a.delete("missing").unwrap();
        assert_eq!(a.get("k1").unwrap(), None);
        // Usage survives reopening.
        let reopened = ConnectionStorage::open(store, "a", quota()).unwrap();
        assert_eq!(reopened.used_bytes(), a.used_bytes());
        assert_eq!(a.used_bytes(), 5);
    }

    #[test]
    fn quotas_refuse_and_keep_what_was_stored() {
        let mut s =
            ConnectionStorage::open(Arc::new(MemoryStore::default()), "c", quota()).unwrap();
        assert!(matches!(
            s.set("a-very-long-key", b"x"),
            Err(StorageError::QuotaExceeded(_))
        ));
        assert!(matches!(
            s.set("k", &[0; 17]),
            Err(StorageError::QuotaExceeded(_))
        ));
        s.set("k1", &[1; 16]).unwrap();
        s.set("k2", &[2; 16]).unwrap();
        assert!(matches!(
            s.set("k3", &[3; 16]),
            Err(StorageError::QuotaExceeded(_))
        ));
        // Replacing a value only counts the difference.
        s.set("k2", &[4; 16]).unwrap();
        assert_eq!(s.get("k1").unwrap(), Some(vec![1; 16]));
        assert_eq!(s.get("k3").unwrap(), None);
        s.delete("k1").unwrap();
        s.set("k3", &[3; 16]).unwrap();
    }
}
