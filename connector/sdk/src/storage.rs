//! The connection's durable key-value storage, behind a trait so that a
//! connector runs natively against [`MemoryStorage`] and in its component
//! against the host's `storage` interface (`HostStorage`).

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::types::ConnectorError;

/// Why a storage call failed (mirrors the WIT `storage-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The key, the value or the total size exceeds the connection's quota.
    QuotaExceeded(String),
    /// The host's store failed; the call may be retried.
    Unavailable(String),
}

impl From<StorageError> for ConnectorError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::QuotaExceeded(m) => ConnectorError::Internal(format!(
                "the connection's storage quota is exhausted ({m}); raise the quota for this connection"
            )),
            StorageError::Unavailable(m) => ConnectorError::Transient(format!(
                "the host's storage is unavailable ({m}); retry later"
            )),
        }
    }
}

/// Durable key-value storage private to one connection.
pub trait Storage {
    /// The value stored under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// The keys that start with `prefix`, in lexical order.
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
}

/// An in-memory [`Storage`], for tests and native benchmarks.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    entries: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(self
            .entries
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_storage_lists_a_prefix_in_order() {
        let storage = MemoryStorage::new();
        assert!(storage.is_empty());
        for key in ["b/2", "a", "b/1", "c"] {
            storage.set(key, key.as_bytes()).unwrap();
        }
        storage.delete("c").unwrap();
        storage.delete("missing").unwrap();
        assert_eq!(storage.len(), 3);
        assert_eq!(storage.list_keys("b/").unwrap(), ["b/1", "b/2"]);
        assert_eq!(storage.get("a").unwrap(), Some(b"a".to_vec()));
        assert_eq!(storage.get("c").unwrap(), None);
    }

    #[test]
    fn storage_errors_become_classified_errors() {
        let quota = ConnectorError::from(StorageError::QuotaExceeded("4 MiB".into()));
        assert!(matches!(quota, ConnectorError::Internal(m) if m.contains("raise the quota")));
        let down = ConnectorError::from(StorageError::Unavailable("locked".into()));
        assert!(matches!(down, ConnectorError::Transient(m) if m.contains("retry later")));
    }
}
