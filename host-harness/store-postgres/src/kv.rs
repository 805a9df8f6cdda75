//! The connectors' key-value storage and the host's OAuth tokens in the
//! `kv` and `credentials` tables. Sizes are bytes (`octet_length`), as the
//! runtime's quotas count them.

use connector_runtime::storage::{
    CredentialRow, CredentialTable, Expected, KeyValueStore, TokenStore,
};
use connector_runtime::StoreError;
use connector_sync::stored::unix_now;

use crate::db::Database;
use crate::errors::store_error;

/// The connection and a name, owned, for work sent to the store's runtime.
fn owned(connection: &str, name: &str) -> (String, String) {
    (connection.to_owned(), name.to_owned())
}

/// `values`, owned.
fn owned_values(values: &[(&str, &str)]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

impl KeyValueStore for Database {
    fn get(&self, connection: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (connection, key) = owned(connection, key);
        self.blocking(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT value FROM kv WHERE connection = $1 AND key = $2",
                    &[&connection, &key],
                )
                .await
                .map_err(store_error)?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn set(&self, connection: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (connection, key) = owned(connection, key);
        let value = value.to_vec();
        self.blocking(move |client| async move {
            client
                .execute(
                    "INSERT INTO kv (connection, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (connection, key) DO UPDATE SET value = excluded.value",
                    &[&connection, &key, &value],
                )
                .await
                .map(drop)
                .map_err(store_error)
        })
    }

    fn delete(&self, connection: &str, key: &str) -> Result<(), StoreError> {
        let (connection, key) = owned(connection, key);
        self.blocking(move |client| async move {
            client
                .execute(
                    "DELETE FROM kv WHERE connection = $1 AND key = $2",
                    &[&connection, &key],
                )
                .await
                .map(drop)
                .map_err(store_error)
        })
    }

    fn list_keys(&self, connection: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (connection, prefix) = owned(connection, prefix);
        self.blocking(move |client| async move {
            let rows = client
                .query(
                    "SELECT key FROM kv WHERE connection = $1 AND starts_with(key, $2) ORDER BY key",
                    &[&connection, &prefix],
                )
                .await
                .map_err(store_error)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn entry_size(&self, connection: &str, key: &str) -> Result<u64, StoreError> {
        let (connection, key) = owned(connection, key);
        self.blocking(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT (octet_length(key) + octet_length(value))::bigint FROM kv
                     WHERE connection = $1 AND key = $2",
                    &[&connection, &key],
                )
                .await
                .map_err(store_error)?;
            Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
        })
    }

    fn used_bytes(&self, connection: &str) -> Result<u64, StoreError> {
        let connection = connection.to_owned();
        self.blocking(move |client| async move {
            let row = client
                .query_one(
                    "SELECT COALESCE(SUM(octet_length(key) + octet_length(value)), 0)::bigint
                     FROM kv WHERE connection = $1",
                    &[&connection],
                )
                .await
                .map_err(store_error)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        let connection = connection.to_owned();
        self.blocking(move |client| async move {
            client
                .execute("DELETE FROM kv WHERE connection = $1", &[&connection])
                .await
                .map(|n| n as usize)
                .map_err(store_error)
        })
    }
}

/// Upsert credentials within a transaction.
async fn save_credentials(
    tx: &deadpool_postgres::Transaction<'_>,
    connection: &str,
    values: &[(String, String)],
) -> Result<(), StoreError> {
    let now = unix_now();
    let upsert = tx
        .prepare_cached(
            "INSERT INTO credentials (connection, name, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (connection, name) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at",
        )
        .await
        .map_err(store_error)?;
    for (name, value) in values {
        tx.execute(&upsert, &[&connection, name, value, &now])
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

impl TokenStore for Database {
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        let (connection, name) = owned(connection, name);
        self.blocking(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT value FROM credentials WHERE connection = $1 AND name = $2",
                    &[&connection, &name],
                )
                .await
                .map_err(store_error)?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let connection = connection.to_owned();
        let values = owned_values(values);
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(store_error)?;
            save_credentials(&tx, &connection, &values).await?;
            tx.commit().await.map_err(store_error)
        })
    }

    /// Swaps of one row are serialized by a transaction-scoped advisory
    /// lock on (connection, name), which exists whether or not the row
    /// does (a row lock alone could not make two first writers of a
    /// missing row wait for each other): a second worker's swap waits for
    /// the first's commit, then compares with what it committed.
    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        let (connection, name) = owned(connection, expected.name);
        let expected_value = expected.value.map(str::to_owned);
        let values = owned_values(values);
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(store_error)?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                &[&connection, &name],
            )
            .await
            .map_err(store_error)?;
            let stored: Option<String> = tx
                .query_opt(
                    "SELECT value FROM credentials WHERE connection = $1 AND name = $2",
                    &[&connection, &name],
                )
                .await
                .map_err(store_error)?
                .map(|row| row.get(0));
            if stored != expected_value {
                return Ok(false);
            }
            save_credentials(&tx, &connection, &values).await?;
            tx.commit().await.map_err(store_error)?;
            Ok(true)
        })
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        let connection = connection.to_owned();
        self.blocking(move |client| async move {
            client
                .execute(
                    "DELETE FROM credentials WHERE connection = $1",
                    &[&connection],
                )
                .await
                .map(|n| n as usize)
                .map_err(store_error)
        })
    }
}

impl CredentialTable for Database {
    fn sealed_credentials(&self) -> Result<usize, StoreError> {
        self.blocking(|client| async move {
            let row = client
                .query_one(
                    "SELECT count(*) FROM credentials WHERE value LIKE 'sealed:%'",
                    &[],
                )
                .await
                .map_err(store_error)?;
            Ok(row.get::<_, i64>(0) as usize)
        })
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRow>, StoreError> {
        self.blocking(|client| async move {
            let rows = client
                .query(
                    "SELECT connection, name, value FROM credentials ORDER BY connection, name",
                    &[],
                )
                .await
                .map_err(store_error)?;
            Ok(rows
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect())
        })
    }

    fn rewrite_credentials(&self, rows: &[CredentialRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(store_error)?;
            let update = tx
                .prepare_cached(
                    "UPDATE credentials SET value = $3 WHERE connection = $1 AND name = $2",
                )
                .await
                .map_err(store_error)?;
            for (connection, name, value) in &rows {
                tx.execute(&update, &[connection, name, value])
                    .await
                    .map_err(store_error)?;
            }
            tx.commit().await.map_err(store_error)
        })
    }
}
