//! The connectors' key-value storage and the host's OAuth tokens in the
//! `kv` and `credentials` tables. Reads of connector storage go through
//! the read-only connection, so a fetch never waits for a page commit in
//! progress.

use connector_runtime::storage::{
    CredentialRow, CredentialTable, Expected, KeyValueStore, TokenStore,
};
use connector_runtime::StoreError;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::db::{store_error, Database};

impl KeyValueStore for Database {
    fn get(&self, connection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read()
            .query_row(
                "SELECT value FROM kv WHERE connection = ?1 AND key = ?2",
                params![connection, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)
    }

    fn set(&self, connection: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT INTO kv (connection, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (connection, key) DO UPDATE SET value = excluded.value",
                params![connection, key, value],
            )
            .map(drop)
            .map_err(store_error)
    }

    fn delete(&self, connection: &str, key: &str) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "DELETE FROM kv WHERE connection = ?1 AND key = ?2",
                params![connection, key],
            )
            .map(drop)
            .map_err(store_error)
    }

    fn list_keys(&self, connection: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let db = self.read();
        let mut stmt = db
            .prepare_cached(
                "SELECT key FROM kv WHERE connection = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )
            .map_err(store_error)?;
        let keys = stmt
            .query_map(params![connection, prefix], |row| row.get(0))
            .and_then(|rows| rows.collect());
        keys.map_err(store_error)
    }

    fn entry_size(&self, connection: &str, key: &str) -> Result<u64, StoreError> {
        let size: Option<i64> = self
            .lock()
            .query_row(
                "SELECT length(key) + length(value) FROM kv WHERE connection = ?1 AND key = ?2",
                params![connection, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)?;
        Ok(size.unwrap_or(0) as u64)
    }

    fn used_bytes(&self, connection: &str) -> Result<u64, StoreError> {
        let used: i64 = self
            .lock()
            .query_row(
                "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv WHERE connection = ?1",
                [connection],
                |row| row.get(0),
            )
            .map_err(store_error)?;
        Ok(used as u64)
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        self.lock()
            .execute("DELETE FROM kv WHERE connection = ?1", [connection])
            .map_err(store_error)
    }
}

impl TokenStore for Database {
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.lock()
            .query_row(
                "SELECT value FROM credentials WHERE connection = ?1 AND name = ?2",
                params![connection, name],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)
    }

    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut db = self.lock();
        let tx = db.transaction().map_err(store_error)?;
        save_credentials(&tx, connection, values)?;
        tx.commit().map_err(store_error)
    }

    /// The check and the write in one immediate transaction: it holds the
    /// database's write lock from the start, so another process cannot
    /// write between them.
    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        let mut db = self.lock();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(store_error)?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT value FROM credentials WHERE connection = ?1 AND name = ?2",
                params![connection, expected.name],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)?;
        if stored.as_deref() != expected.value {
            return Ok(false);
        }
        save_credentials(&tx, connection, values)?;
        tx.commit().map_err(store_error)?;
        Ok(true)
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        self.lock()
            .execute(
                "DELETE FROM credentials WHERE connection = ?1",
                [connection],
            )
            .map_err(store_error)
    }
}

/// Upsert credentials within `tx`.
fn save_credentials(
    tx: &rusqlite::Transaction<'_>,
    connection: &str,
    values: &[(&str, &str)],
) -> Result<(), StoreError> {
    let now = connector_sync::stored::unix_now();
    for (name, value) in values {
        tx.execute(
            "INSERT INTO credentials (connection, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (connection, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![connection, name, value, now],
        )
        .map_err(store_error)?;
    }
    Ok(())
}

impl CredentialTable for Database {
    fn sealed_credentials(&self) -> Result<usize, StoreError> {
        self.read()
            .query_row(
                "SELECT count(*) FROM credentials WHERE value LIKE 'sealed:%'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(store_error)
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRow>, StoreError> {
        let db = self.lock();
        let mut stmt = db
            .prepare("SELECT connection, name, value FROM credentials ORDER BY connection, name")
            .map_err(store_error)?;
        let rows = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(store_error)
    }

    fn rewrite_credentials(&self, rows: &[CredentialRow]) -> Result<(), StoreError> {
        let mut db = self.lock();
        let tx = db.transaction().map_err(store_error)?;
        for (connection, name, value) in rows {
            tx.execute(
                "UPDATE credentials SET value = ?3 WHERE connection = ?1 AND name = ?2",
                params![connection, name, value],
            )
            .map_err(store_error)?;
        }
        tx.commit().map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use connector_runtime::kv::{ConnectionStorage, StorageQuota};

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
        let mut storage = ConnectionStorage::open(Arc::new(db.clone()), "a", quota()).unwrap();
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
    fn usage_and_tokens_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        let db = Database::open(&path).unwrap();
        let mut storage = ConnectionStorage::open(Arc::new(db.clone()), "a", quota()).unwrap();
        storage.set("k1", b"one").unwrap();
        storage.set("k2", b"two").unwrap();
        storage.delete("k1").unwrap();
        db.save_all("a", &[("oauth.refresh_token", "r1")]).unwrap();
        drop((storage, db));
        let db = Database::open(&path).unwrap();
        let reopened = ConnectionStorage::open(Arc::new(db.clone()), "a", quota()).unwrap();
        assert_eq!(reopened.used_bytes(), 5);
        assert_eq!(
            db.load("a", "oauth.refresh_token").unwrap().as_deref(),
            Some("r1")
        );
        assert_eq!(TokenStore::clear(&db, "a").unwrap(), 1);
        assert_eq!(KeyValueStore::clear(&db, "a").unwrap(), 1);
    }
}
