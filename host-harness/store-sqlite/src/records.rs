//! Synced data in the database: normalized records, raw records and each
//! stream's cursor. A page's records and the cursor after it are committed
//! in one transaction, so a sync killed at any moment resumes without loss
//! or duplication.

use rusqlite::{params, OptionalExtension};

use connector_runtime::contract::NormalizedRecord;
use connector_runtime::ConnectorError;
use connector_sync::stored::{
    export_error, raw_record_id, RecordVisitor, SyncedRecords, CONNECTION_TABLES,
};
pub use connector_sync::StreamState;
use connector_sync::{PageCommit, Sink};

use crate::db::{host_error, Database};

/// A connection's synced data.
#[derive(Clone)]
pub struct RecordStore {
    db: Database,
    connection: String,
}

impl RecordStore {
    /// The store of `connection`.
    pub fn new(db: Database, connection: &str) -> Self {
        RecordStore {
            db,
            connection: connection.to_string(),
        }
    }

    /// Commit a page: its records, raw records and the cursor after it, in
    /// one transaction. Returns the number of normalized records written.
    pub fn commit_page(&self, page: &PageCommit) -> Result<u64, ConnectorError> {
        let mut db = self.db.lock();
        let tx = db.transaction().map_err(host_error)?;
        let synced_at = connector_sync::stored::unix_now();
        let written =
            self.write_records(&tx, &page.stream, &page.records, page.keep_raw, synced_at)?;
        tx.execute(
            "INSERT INTO streams (connection, stream, cursor, done, pages, records, requests, last_synced_at, last_error)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, CASE WHEN ?4 THEN ?7 END, NULL)
             ON CONFLICT (connection, stream) DO UPDATE SET
                cursor = excluded.cursor, done = excluded.done,
                pages = streams.pages + 1, records = streams.records + excluded.records,
                requests = streams.requests + excluded.requests,
                last_synced_at = COALESCE(excluded.last_synced_at, streams.last_synced_at),
                last_error = NULL",
            params![
                self.connection,
                page.stream,
                page.cursor,
                page.done,
                written as i64,
                page.requests as i64,
                synced_at,
            ],
        )
        .map_err(host_error)?;
        tx.commit().map_err(host_error)?;
        Ok(written)
    }

    fn write_records(
        &self,
        tx: &rusqlite::Transaction<'_>,
        stream: &str,
        records: &[(String, Vec<NormalizedRecord>)],
        keep_raw: bool,
        synced_at: i64,
    ) -> Result<u64, ConnectorError> {
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO records (connection, stream, kind, key, version, deleted, data, synced_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (connection, stream, kind, key) DO UPDATE SET
                    version = excluded.version, deleted = excluded.deleted,
                    data = excluded.data, synced_at = excluded.synced_at",
            )
            .map_err(host_error)?;
        let mut raw_upsert = tx
            .prepare_cached(
                "INSERT INTO raw_records (connection, stream, raw_id, raw) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connection, stream, raw_id) DO UPDATE SET raw = excluded.raw",
            )
            .map_err(host_error)?;
        let mut written = 0u64;
        for (raw, mapped) in records {
            for record in mapped {
                upsert
                    .execute(params![
                        self.connection,
                        stream,
                        record.kind,
                        record.key,
                        record.version,
                        record.deleted,
                        record.data,
                        synced_at,
                    ])
                    .map_err(host_error)?;
                written += 1;
            }
            if keep_raw {
                let id = raw_record_id(raw, mapped);
                raw_upsert
                    .execute(params![self.connection, stream, id, raw])
                    .map_err(host_error)?;
            }
        }
        Ok(written)
    }
}

impl SyncedRecords for RecordStore {
    fn stream_state(&self, stream: &str) -> Result<StreamState, ConnectorError> {
        let state = self
            .db
            .lock()
            .query_row(
                "SELECT cursor, done, pages, records, requests, last_synced_at, last_error
                 FROM streams WHERE connection = ?1 AND stream = ?2",
                params![self.connection, stream],
                |row| {
                    Ok(StreamState {
                        stream: stream.to_string(),
                        cursor: row.get(0)?,
                        done: row.get(1)?,
                        pages: row.get::<_, i64>(2)? as u64,
                        records: row.get::<_, i64>(3)? as u64,
                        requests: row.get::<_, i64>(4)? as u64,
                        last_synced_at: row.get(5)?,
                        last_error: row.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(host_error)?;
        Ok(state.unwrap_or_else(|| StreamState::never_synced(stream)))
    }

    fn all_stream_states(&self) -> Result<Vec<StreamState>, ConnectorError> {
        let names: Vec<String> = {
            let db = self.db.lock();
            let mut stmt = db
                .prepare("SELECT stream FROM streams WHERE connection = ?1 ORDER BY stream")
                .map_err(host_error)?;
            let rows = stmt
                .query_map([&self.connection], |row| row.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<String>, _>>());
            rows.map_err(host_error)?
        };
        names.iter().map(|n| self.stream_state(n)).collect()
    }

    fn upsert_records(
        &self,
        stream: &str,
        records: &[(String, Vec<NormalizedRecord>)],
    ) -> Result<u64, ConnectorError> {
        let mut db = self.db.lock();
        let tx = db.transaction().map_err(host_error)?;
        let written = self.write_records(
            &tx,
            stream,
            records,
            true,
            connector_sync::stored::unix_now(),
        )?;
        tx.commit().map_err(host_error)?;
        Ok(written)
    }

    fn record_error(&self, stream: &str, error: &str) -> Result<(), ConnectorError> {
        self.db
            .lock()
            .execute(
                "INSERT INTO streams (connection, stream, last_error) VALUES (?1, ?2, ?3)
                 ON CONFLICT (connection, stream) DO UPDATE SET last_error = excluded.last_error",
                params![self.connection, stream, error],
            )
            .map(|_| ())
            .map_err(host_error)
    }

    fn counts(&self) -> Result<Vec<(String, u64, u64)>, ConnectorError> {
        let db = self.db.lock();
        let mut stmt = db
            .prepare(
                "SELECT kind, SUM(deleted = 0), SUM(deleted = 1) FROM records
                 WHERE connection = ?1 GROUP BY kind ORDER BY kind",
            )
            .map_err(host_error)?;
        let rows = stmt
            .query_map([&self.connection], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)? as u64,
                    row.get::<_, i64>(2)? as u64,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(host_error)
    }

    fn for_each_record(
        &self,
        stream: &str,
        visit: &mut RecordVisitor<'_>,
    ) -> Result<u64, ConnectorError> {
        let db = self.db.lock();
        let mut stmt = db
            .prepare(
                "SELECT kind, key, version, deleted, data FROM records
                 WHERE connection = ?1 AND stream = ?2 ORDER BY kind, key",
            )
            .map_err(host_error)?;
        let mut rows = stmt
            .query(params![self.connection, stream])
            .map_err(host_error)?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(host_error)? {
            let kind: String = row.get(0).map_err(host_error)?;
            let key: String = row.get(1).map_err(host_error)?;
            let version: Option<String> = row.get(2).map_err(host_error)?;
            let deleted: bool = row.get(3).map_err(host_error)?;
            let data: String = row.get(4).map_err(host_error)?;
            visit(&kind, &key, version.as_deref(), deleted, &data).map_err(export_error)?;
            count += 1;
        }
        Ok(count)
    }

    fn raw_records(&self, stream: &str) -> Result<Vec<String>, ConnectorError> {
        let db = self.db.lock();
        let mut stmt = db
            .prepare(
                "SELECT raw FROM raw_records WHERE connection = ?1 AND stream = ?2 ORDER BY id",
            )
            .map_err(host_error)?;
        let rows = stmt
            .query_map(params![self.connection, stream], |row| row.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>());
        rows.map_err(host_error)
    }

    fn delete_connection(&self) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
        let mut db = self.db.lock();
        let tx = db.transaction().map_err(host_error)?;
        let mut removed = Vec::new();
        for table in CONNECTION_TABLES {
            let n = tx
                .execute(
                    &format!("DELETE FROM {table} WHERE connection = ?1"),
                    [&self.connection],
                )
                .map_err(host_error)?;
            removed.push((table, n));
        }
        tx.commit().map_err(host_error)?;
        Ok(removed)
    }
}

impl Sink for RecordStore {
    async fn cursor(&self, stream: &str) -> Result<Option<String>, ConnectorError> {
        let (store, stream) = (self.clone(), stream.to_owned());
        blocking(move || Ok(store.stream_state(&stream)?.cursor)).await
    }

    async fn commit_page(&self, page: PageCommit) -> Result<u64, ConnectorError> {
        let store = self.clone();
        blocking(move || store.commit_page(&page)).await
    }

    async fn record_failure(&self, stream: &str, message: &str) -> Result<(), ConnectorError> {
        let (store, stream, message) = (self.clone(), stream.to_owned(), message.to_owned());
        blocking(move || store.record_error(&stream, &message)).await
    }
}

/// Run SQLite work on a blocking thread, off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ConnectorError> + Send + 'static,
) -> Result<T, ConnectorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConnectorError::Internal(format!("a database task failed: {e}")))?
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, data: &str, deleted: bool) -> NormalizedRecord {
        NormalizedRecord {
            kind: "item".into(),
            key: key.into(),
            version: Some("1".into()),
            data: data.into(),
            deleted,
        }
    }

    #[test]
    fn pages_commit_records_and_cursor_together() {
        let db = Database::in_memory().unwrap();
        let store = RecordStore::new(db.clone(), "c");
        let page = vec![
            (
                "{\"id\":1}".to_string(),
                vec![record("1", "{\"a\":1}", false)],
            ),
            (
                "{\"id\":2}".to_string(),
                vec![record("2", "{\"a\":2}", false)],
            ),
        ];
        let written = store
            .commit_page(&PageCommit {
                stream: "items".into(),
                records: page,
                cursor: Some("c1".into()),
                done: false,
                requests: 1,
                keep_raw: true,
            })
            .unwrap();
        assert_eq!(written, 2);
        // A later page updates one record and deletes another.
        let page2 = vec![
            (
                "{\"id\":1,\"v\":2}".to_string(),
                vec![record("1", "{\"a\":10}", false)],
            ),
            (
                "{\"id\":2}".to_string(),
                vec![record("2", "{\"a\":2}", true)],
            ),
        ];
        store
            .commit_page(&PageCommit {
                stream: "items".into(),
                records: page2,
                cursor: Some("c2".into()),
                done: true,
                requests: 2,
                keep_raw: true,
            })
            .unwrap();
        let state = store.stream_state("items").unwrap();
        assert_eq!(state.cursor.as_deref(), Some("c2"));
        assert!(state.done);
        assert_eq!((state.pages, state.records, state.requests), (2, 4, 3));
        assert!(state.last_synced_at.is_some());
        assert_eq!(store.counts().unwrap(), vec![("item".into(), 1, 1)]);
        let mut seen = Vec::new();
        store
            .for_each_record("items", &mut |_, key, _, deleted, data| {
                seen.push((key.to_string(), deleted, data.to_string()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("1".into(), false, "{\"a\":10}".into()),
                ("2".into(), true, "{\"a\":2}".into())
            ]
        );
        assert_eq!(store.raw_records("items").unwrap().len(), 2);
        store.record_error("items", "boom").unwrap();
        assert_eq!(
            store.stream_state("items").unwrap().last_error.as_deref(),
            Some("boom")
        );
        let removed = store.delete_connection().unwrap();
        assert!(removed.iter().any(|(t, n)| *t == "records" && *n == 2));
        assert_eq!(
            store.stream_state("items").unwrap(),
            StreamState {
                stream: "items".into(),
                ..Default::default()
            }
        );
    }
}
