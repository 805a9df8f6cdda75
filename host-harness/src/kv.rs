//! The `storage` import: durable key-value storage for one connection,
//! backed by the host's database and held to quotas.

use rusqlite::{params, OptionalExtension};

use crate::db::{host_error, Database};
use crate::errors::ConnectorError;

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

/// One connection's namespace in the database.
pub struct ConnectionStorage {
    db: Database,
    connection: String,
    quota: StorageQuota,
    used_bytes: u64,
}

impl ConnectionStorage {
    /// Open the namespace of `connection`, measuring what it already uses.
    pub fn open(
        db: Database,
        connection: &str,
        quota: StorageQuota,
    ) -> Result<Self, ConnectorError> {
        let used_bytes: i64 = db
            .lock()
            .query_row(
                "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv WHERE connection = ?1",
                [connection],
                |row| row.get(0),
            )
            .map_err(host_error)?;
        Ok(ConnectionStorage {
            db,
            connection: connection.to_string(),
            quota,
            used_bytes: used_bytes as u64,
        })
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.db
            .read()
            .query_row(
                "SELECT value FROM kv WHERE connection = ?1 AND key = ?2",
                params![self.connection, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| StorageError::Unavailable(e.to_string()))
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
        let db = self.db.lock();
        let old = existing_size(&db, &self.connection, key)?;
        let new_total = self.used_bytes - old + (key.len() + value.len()) as u64;
        if new_total > self.quota.max_total_bytes {
            return Err(StorageError::QuotaExceeded(format!(
                "the connection's storage would hold {new_total} bytes, more than the {} allowed",
                self.quota.max_total_bytes
            )));
        }
        db.execute(
            "INSERT INTO kv (connection, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (connection, key) DO UPDATE SET value = excluded.value",
            params![self.connection, key, value],
        )
        .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.used_bytes = new_total;
        Ok(())
    }

    /// Remove `key` if present.
    pub fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        let db = self.db.lock();
        let old = existing_size(&db, &self.connection, key)?;
        db.execute(
            "DELETE FROM kv WHERE connection = ?1 AND key = ?2",
            params![self.connection, key],
        )
        .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.used_bytes -= old;
        Ok(())
    }

    /// Keys starting with `prefix`, sorted.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let db = self.db.read();
        let mut stmt = db
            .prepare_cached(
                "SELECT key FROM kv WHERE connection = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let keys = stmt
            .query_map(params![self.connection, prefix], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(keys)
    }

    /// Bytes used by keys and values.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }
}

fn existing_size(
    db: &rusqlite::Connection,
    connection: &str,
    key: &str,
) -> Result<u64, StorageError> {
    let size: Option<i64> = db
        .query_row(
            "SELECT length(key) + length(value) FROM kv WHERE connection = ?1 AND key = ?2",
            params![connection, key],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| StorageError::Unavailable(e.to_string()))?;
    Ok(size.unwrap_or(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota() -> StorageQuota {
        StorageQuota {
            max_key_bytes: 8,
            max_value_bytes: 16,
            max_total_bytes: 40,
        }
    }

    #[test]
    fn reads_see_what_is_committed_without_waiting_for_a_commit_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("kv.db")).unwrap();
        let mut storage = ConnectionStorage::open(db.clone(), "a", quota()).unwrap();
        storage.set("k", b"committed").unwrap();
        assert_eq!(
            storage.get("k").unwrap().as_deref(),
            Some(&b"committed"[..])
        );

        // A page commit in progress on the writer.
        let mut writer = db.lock();
        let tx = writer.transaction().unwrap();
        tx.execute("UPDATE kv SET value = x'00' WHERE key = 'k'", [])
            .unwrap();
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sent.send((storage.get("k"), storage.list_keys("")));
        });
        let (value, keys) = received
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the read waited for the commit");
        assert_eq!(value.unwrap().as_deref(), Some(&b"committed"[..]));
        assert_eq!(keys.unwrap(), vec!["k"]);
        tx.commit().unwrap();
    }

    #[test]
    fn values_round_trip_and_namespaces_are_separate() {
        let db = Database::in_memory().unwrap();
        let mut a = ConnectionStorage::open(db.clone(), "a", quota()).unwrap();
        let mut b = ConnectionStorage::open(db.clone(), "b", quota()).unwrap();
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
        let reopened = ConnectionStorage::open(db, "a", quota()).unwrap();
        assert_eq!(reopened.used_bytes(), a.used_bytes());
        assert_eq!(a.used_bytes(), 5);
    }

    #[test]
    fn quotas_refuse_and_keep_what_was_stored() {
        let db = Database::in_memory().unwrap();
        let mut s = ConnectionStorage::open(db, "c", quota()).unwrap();
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
