//! What the runtime persists, as traits a platform implements on its own
//! database: the connectors' key-value storage and the OAuth tokens the
//! host rotates. `connector-store-sqlite` implements both; [`MemoryStore`]
//! keeps them in memory (reading a spec, tests, short-lived embeddings).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::errors::StoreError;

/// Durable key-value storage behind the connectors' `storage` import, for
/// every connection of a host; namespaced by connection name. Quotas are
/// the runtime's business (`kv::ConnectionStorage`), not the
/// store's.
pub trait KeyValueStore: Send + Sync {
    /// The value under `key`.
    fn get(&self, connection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Store `value` under `key`, replacing any value.
    fn set(&self, connection: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Remove `key` if present.
    fn delete(&self, connection: &str, key: &str) -> Result<(), StoreError>;
    /// Keys starting with `prefix`, sorted.
    fn list_keys(&self, connection: &str, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Bytes of `key` plus its value when present, else 0.
    fn entry_size(&self, connection: &str, key: &str) -> Result<u64, StoreError>;
    /// Bytes of every key plus value of the connection.
    fn used_bytes(&self, connection: &str) -> Result<u64, StoreError>;
    /// Delete the connection's whole namespace; returns the entries removed.
    fn clear(&self, connection: &str) -> Result<usize, StoreError>;
}

/// Durable storage of the credentials the host manages for a connection
/// (rotated OAuth tokens), as named values. Never given to connectors.
pub trait TokenStore: Send + Sync {
    /// The value named `name`.
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError>;
    /// Write several values in one durable transaction: a rotated refresh
    /// token is stored before it is used.
    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError>;
    /// [`TokenStore::save_all`], only if the value `expected.name` is still
    /// `expected.value` when the transaction writes: a compare-and-swap.
    /// Returns whether the values were written. Two workers rotating one
    /// connection's refresh token at once both expect the token they
    /// used; the first to store its rotation wins, the other learns that
    /// it lost and must not overwrite the newer token.
    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError>;
    /// Delete everything stored for the connection; returns the values removed.
    fn clear(&self, connection: &str) -> Result<usize, StoreError>;
}

/// One stored credential: (connection, name, stored value).
pub type CredentialRow = (String, String, String);

/// The credentials table as a whole, for the operator's key upkeep
/// (checking whether anything is sealed, sealing everything with a new
/// key). Never given to connectors.
pub trait CredentialTable: Send + Sync {
    /// How many credentials are stored sealed (`sealed:` values).
    fn sealed_credentials(&self) -> Result<usize, StoreError>;
    /// Every credential, by connection and name.
    fn all_credentials(&self) -> Result<Vec<CredentialRow>, StoreError>;
    /// Replace the stored values of these credentials, all in one
    /// transaction.
    fn rewrite_credentials(&self, rows: &[CredentialRow]) -> Result<(), StoreError>;
}

/// The condition of [`TokenStore::save_if`]: the stored value named
/// `name` is `value` (`None`: there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The value's name.
    pub name: &'a str,
    /// What it must hold.
    pub value: Option<&'a str>,
}

/// Values by (connection, key).
type Namespaced<V> = BTreeMap<(String, String), V>;

/// Both stores in memory; clones share their contents.
#[derive(Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<Namespaced<Vec<u8>>>>,
    tokens: Arc<Mutex<Namespaced<String>>>,
    /// Counts the writes to `entries`.
    changes: Arc<AtomicU64>,
}

fn entry(connection: &str, key: &str) -> (String, String) {
    (connection.to_owned(), key.to_owned())
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, Namespaced<Vec<u8>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Namespaced<String>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times the key-value entries have been written: unchanged
    /// means a snapshot taken since is still current.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }
}

impl KeyValueStore for MemoryStore {
    fn get(&self, connection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries().get(&entry(connection, key)).cloned())
    }

    fn set(&self, connection: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entries()
            .insert(entry(connection, key), value.to_vec());
        self.changed();
        Ok(())
    }

    fn delete(&self, connection: &str, key: &str) -> Result<(), StoreError> {
        self.entries().remove(&entry(connection, key));
        self.changed();
        Ok(())
    }

    fn list_keys(&self, connection: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .entries()
            .range(entry(connection, prefix)..)
            .map(|((c, k), _)| (c, k))
            .take_while(|(c, k)| *c == connection && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect())
    }

    fn entry_size(&self, connection: &str, key: &str) -> Result<u64, StoreError> {
        Ok(self
            .entries()
            .get(&entry(connection, key))
            .map_or(0, |v| (key.len() + v.len()) as u64))
    }

    fn used_bytes(&self, connection: &str) -> Result<u64, StoreError> {
        Ok(self
            .entries()
            .iter()
            .filter(|((c, _), _)| c == connection)
            .map(|((_, k), v)| (k.len() + v.len()) as u64)
            .sum())
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|(c, _), _| c != connection);
        self.changed();
        Ok(before - entries.len())
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.tokens().get(&entry(connection, name)).cloned())
    }

    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut tokens = self.tokens();
        for (name, value) in values {
            tokens.insert(entry(connection, name), (*value).to_owned());
        }
        Ok(())
    }

    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        let mut tokens = self.tokens();
        if tokens
            .get(&entry(connection, expected.name))
            .map(String::as_str)
            != expected.value
        {
            return Ok(false);
        }
        for (name, value) in values {
            tokens.insert(entry(connection, name), (*value).to_owned());
        }
        Ok(true)
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        let mut tokens = self.tokens();
        let before = tokens.len();
        tokens.retain(|(c, _), _| c != connection);
        Ok(before - tokens.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_namespaces_connections_and_measures_entries() {
        let store = MemoryStore::default();
        store.set("a", "k1", b"one").unwrap();
        store.set("a", "k2", b"two!").unwrap();
        store.set("b", "k1", b"other").unwrap();
        assert_eq!(store.get("a", "k1").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(store.list_keys("a", "k").unwrap(), vec!["k1", "k2"]);
        assert_eq!(store.list_keys("a", "k2").unwrap(), vec!["k2"]);
        assert_eq!(store.entry_size("a", "k2").unwrap(), 6);
        assert_eq!(store.entry_size("a", "nope").unwrap(), 0);
        assert_eq!(store.used_bytes("a").unwrap(), 11);
        let changes = store.changes();
        assert_eq!(changes, 3);
        store.get("a", "k1").unwrap();
        assert_eq!(store.clone().changes(), changes, "reads change nothing");
        assert_eq!(KeyValueStore::clear(&store, "a").unwrap(), 2);
        assert_eq!(store.changes(), changes + 1);
        assert_eq!(
            store.get("b", "k1").unwrap().as_deref(),
            Some(&b"other"[..])
        );

        store.save_all("a", &[("t", "1"), ("u", "2")]).unwrap();
        assert_eq!(store.load("a", "u").unwrap().as_deref(), Some("2"));
        assert_eq!(TokenStore::clear(&store, "a").unwrap(), 2);
        assert_eq!(store.load("a", "u").unwrap(), None);
    }

    #[test]
    fn memory_store_swaps_tokens_only_from_the_expected_value() {
        let store = MemoryStore::default();
        let absent = Expected {
            name: "refresh",
            value: None,
        };
        assert!(store.save_if("a", absent, &[("refresh", "r1")]).unwrap());
        assert!(!store.save_if("a", absent, &[("refresh", "lost")]).unwrap());
        let stale = Expected {
            name: "refresh",
            value: Some("r0"),
        };
        assert!(!store.save_if("a", stale, &[("refresh", "lost")]).unwrap());
        let current = Expected {
            name: "refresh",
            value: Some("r1"),
        };
        assert!(store
            .save_if("a", current, &[("refresh", "r2"), ("access", "a2")])
            .unwrap());
        assert_eq!(store.load("a", "refresh").unwrap().as_deref(), Some("r2"));
        assert_eq!(store.load("a", "access").unwrap().as_deref(), Some("a2"));
    }
}
