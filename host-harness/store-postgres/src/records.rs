//! Synced data in the database: normalized records (`data jsonb`), raw
//! records and each stream's cursor. A page's records and the cursor after
//! it are committed in one transaction, so a sync killed at any moment
//! resumes without loss or duplication. A page is written with one
//! statement per table (`unnest` of arrays), not one per record.

use std::borrow::Cow;
use std::collections::HashMap;

use connector_runtime::contract::NormalizedRecord;
use connector_runtime::{ConnectorError, StoreError};
use connector_sync::stored::{
    export_error, raw_record_id, unix_now, RecordVisitor, StreamState, SyncedRecords,
    CONNECTION_TABLES,
};
use connector_sync::{PageCommit, Sink};
use deadpool_postgres::{Client, GenericClient, Transaction};

use crate::db::Database;
use crate::errors::host_error;

/// Rows read per round trip when records are visited.
pub(crate) const BATCH: i64 = 2000;

/// A connection's synced data.
#[derive(Clone)]
pub struct RecordStore {
    db: Database,
    connection: String,
    /// The fleet process whose lease every page commit checks.
    lease_owner: Option<String>,
}

impl RecordStore {
    /// The store of `connection`.
    pub fn new(db: Database, connection: &str) -> Self {
        RecordStore {
            db,
            connection: connection.to_string(),
            lease_owner: None,
        }
    }

    /// This store with its page commits fenced by a fleet lease: each
    /// commit first checks, in its own transaction, that `owner` still
    /// holds the connection's unexpired lease (`fleet_connections`), and
    /// keeps that row share-locked until it commits, so no other process
    /// can claim the connection meanwhile. A process that lost its lease
    /// commits nothing more.
    pub fn leased_to(mut self, owner: &str) -> Self {
        self.lease_owner = Some(owner.to_string());
        self
    }
}

/// Whether `owner` holds `connection`'s unexpired lease; the lease's row
/// stays share-locked until the transaction ends.
const LEASE_HELD: &str = "SELECT 1 FROM fleet_connections
    WHERE connection = $1 AND lease_owner = $2 AND lease_expires_at > fleet_now_ms()
    FOR SHARE";

const STREAM_COLUMNS: &str =
    "stream, cursor, done, pages, records, requests, last_synced_at, last_error";

fn stream_state(row: &tokio_postgres::Row) -> StreamState {
    StreamState {
        stream: row.get(0),
        cursor: row.get(1),
        done: row.get(2),
        pages: row.get::<_, i64>(3) as u64,
        records: row.get::<_, i64>(4) as u64,
        requests: row.get::<_, i64>(5) as u64,
        last_synced_at: row.get(6),
        last_error: row.get(7),
    }
}

async fn read_stream_state(
    client: &Client,
    connection: &str,
    stream: &str,
) -> Result<StreamState, ConnectorError> {
    let row = client
        .query_opt(
            &format!("SELECT {STREAM_COLUMNS} FROM streams WHERE connection = $1 AND stream = $2"),
            &[&connection, &stream],
        )
        .await
        .map_err(host_error)?;
    Ok(row.map_or_else(
        || StreamState::never_synced(stream),
        |row| stream_state(&row),
    ))
}

/// Upsert a page's records (and raw records when `keep_raw`), one
/// statement each. A key given twice keeps its last record, as one upsert
/// after another would. Returns the normalized records written.
async fn write_records(
    tx: &impl GenericClient,
    connection: &str,
    stream: &str,
    records: &[(String, Vec<NormalizedRecord>)],
    keep_raw: bool,
    synced_at: i64,
) -> Result<u64, ConnectorError> {
    let mut latest: Vec<&NormalizedRecord> = Vec::new();
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    let mut raws: Vec<(String, &str)> = Vec::new();
    let mut raw_at: HashMap<String, usize> = HashMap::new();
    let mut written = 0u64;
    for (raw, mapped) in records {
        for record in mapped {
            written += 1;
            match at.get(&(record.kind.as_str(), record.key.as_str())) {
                Some(&index) => latest[index] = record,
                None => {
                    at.insert((&record.kind, &record.key), latest.len());
                    latest.push(record);
                }
            }
        }
        if keep_raw {
            let id = raw_record_id(raw, mapped);
            match raw_at.get(&id) {
                Some(&index) => raws[index].1 = raw,
                None => {
                    raw_at.insert(id.clone(), raws.len());
                    raws.push((id, raw));
                }
            }
        }
    }
    if !latest.is_empty() {
        let kinds: Vec<&str> = latest.iter().map(|r| r.kind.as_str()).collect();
        let keys: Vec<&str> = latest.iter().map(|r| r.key.as_str()).collect();
        let versions: Vec<Option<&str>> = latest.iter().map(|r| r.version.as_deref()).collect();
        let deleted: Vec<bool> = latest.iter().map(|r| r.deleted).collect();
        let data: Vec<Cow<'_, str>> = latest.iter().map(|r| jsonb_text(&r.data)).collect();
        tx.execute(
            "INSERT INTO records (connection, stream, kind, key, version, deleted, data, synced_at)
             SELECT $1, $2, r.kind, r.key, r.version, r.deleted, r.data::jsonb, $8
             FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[])
                  AS r (kind, key, version, deleted, data)
             ON CONFLICT (connection, stream, kind, key) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted,
                data = excluded.data, synced_at = excluded.synced_at",
            &[
                &connection,
                &stream,
                &kinds,
                &keys,
                &versions,
                &deleted,
                &data,
                &synced_at,
            ],
        )
        .await
        .map_err(host_error)?;
    }
    if !raws.is_empty() {
        let ids: Vec<&str> = raws.iter().map(|(id, _)| id.as_str()).collect();
        let texts: Vec<&str> = raws.iter().map(|(_, raw)| *raw).collect();
        tx.execute(
            "INSERT INTO raw_records (connection, stream, raw_id, raw)
             SELECT $1, $2, r.raw_id, r.raw FROM unnest($3::text[], $4::text[]) AS r (raw_id, raw)
             ON CONFLICT (connection, stream, raw_id) DO UPDATE SET raw = excluded.raw",
            &[&connection, &stream, &ids, &texts],
        )
        .await
        .map_err(host_error)?;
    }
    Ok(written)
}

/// Delete a connection's rows from `tables`; returns rows removed per table.
pub(crate) async fn clear(
    tx: &Transaction<'_>,
    tables: &[&'static str],
    connection: &str,
) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
    let mut removed = Vec::new();
    for table in tables {
        let n = tx
            .execute(
                &format!("DELETE FROM {table} WHERE connection = $1"),
                &[&connection],
            )
            .await
            .map_err(host_error)?;
        removed.push((*table, n as usize));
    }
    Ok(removed)
}

/// Commit a page and the stream's cursor after it in one transaction.
async fn commit(
    mut client: Client,
    connection: String,
    lease_owner: Option<String>,
    page: PageCommit,
) -> Result<u64, ConnectorError> {
    let tx = client.transaction().await.map_err(host_error)?;
    if let Some(owner) = &lease_owner {
        let held = tx
            .query_opt(LEASE_HELD, &[&connection, owner])
            .await
            .map_err(host_error)?;
        if held.is_none() {
            return Err(StoreError::refused(
                format!(
                    "{connection}: this process ({owner}) no longer holds the connection's lease \
                     (it expired, or another process took the connection over); nothing of this \
                     page was committed"
                ),
                "nothing to do: the process holding the lease goes on from the last committed page",
            )
            .into());
        }
    }
    let synced_at = unix_now();
    let written = write_records(
        &tx,
        &connection,
        &page.stream,
        &page.records,
        page.keep_raw,
        synced_at,
    )
    .await?;
    tx.execute(
        "INSERT INTO streams (connection, stream, cursor, done, pages, records, requests, last_synced_at, last_error)
         VALUES ($1, $2, $3, $4, 1, $5, $6, CASE WHEN $4 THEN $7::bigint END, NULL)
         ON CONFLICT (connection, stream) DO UPDATE SET
            cursor = excluded.cursor, done = excluded.done,
            pages = streams.pages + 1, records = streams.records + excluded.records,
            requests = streams.requests + excluded.requests,
            last_synced_at = COALESCE(excluded.last_synced_at, streams.last_synced_at),
            last_error = NULL",
        &[
            &connection,
            &page.stream,
            &page.cursor,
            &page.done,
            &(written as i64),
            &i64::from(page.requests),
            &synced_at,
        ],
    )
    .await
    .map_err(host_error)?;
    tx.commit().await.map_err(host_error)?;
    Ok(written)
}

async fn record_error(
    client: Client,
    connection: String,
    stream: String,
    error: String,
) -> Result<(), ConnectorError> {
    client
        .execute(
            "INSERT INTO streams (connection, stream, last_error) VALUES ($1, $2, $3)
             ON CONFLICT (connection, stream) DO UPDATE SET last_error = excluded.last_error",
            &[&connection, &stream, &error],
        )
        .await
        .map(drop)
        .map_err(host_error)
}

/// A record as [`SyncedRecords::for_each_record`] reads it: kind, key,
/// version, deleted, data.
type RecordRow = (String, String, Option<String>, bool, String);

impl SyncedRecords for RecordStore {
    fn stream_state(&self, stream: &str) -> Result<StreamState, ConnectorError> {
        let (connection, stream) = (self.connection.clone(), stream.to_owned());
        self.db.blocking(move |client| async move {
            read_stream_state(&client, &connection, &stream).await
        })
    }

    fn all_stream_states(&self) -> Result<Vec<StreamState>, ConnectorError> {
        let connection = self.connection.clone();
        self.db.blocking(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT {STREAM_COLUMNS} FROM streams WHERE connection = $1 ORDER BY stream"
                    ),
                    &[&connection],
                )
                .await
                .map_err(host_error)?;
            Ok(rows.iter().map(stream_state).collect())
        })
    }

    fn upsert_records(
        &self,
        stream: &str,
        records: &[(String, Vec<NormalizedRecord>)],
    ) -> Result<u64, ConnectorError> {
        let (connection, stream) = (self.connection.clone(), stream.to_owned());
        let records = records.to_vec();
        self.db.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            let written =
                write_records(&tx, &connection, &stream, &records, true, unix_now()).await?;
            tx.commit().await.map_err(host_error)?;
            Ok(written)
        })
    }

    fn record_error(&self, stream: &str, error: &str) -> Result<(), ConnectorError> {
        let (connection, stream, error) =
            (self.connection.clone(), stream.to_owned(), error.to_owned());
        self.db
            .blocking(move |client| record_error(client, connection, stream, error))
    }

    fn counts(&self) -> Result<Vec<(String, u64, u64)>, ConnectorError> {
        let connection = self.connection.clone();
        self.db.blocking(move |client| async move {
            let rows = client
                .query(
                    "SELECT kind, count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted)
                     FROM records WHERE connection = $1 GROUP BY kind ORDER BY kind",
                    &[&connection],
                )
                .await
                .map_err(host_error)?;
            Ok(rows
                .iter()
                .map(|row| {
                    (
                        row.get(0),
                        row.get::<_, i64>(1) as u64,
                        row.get::<_, i64>(2) as u64,
                    )
                })
                .collect())
        })
    }

    /// Read in batches of [`BATCH`] by (kind, key), so that an export of a
    /// large stream holds one batch in memory.
    fn for_each_record(
        &self,
        stream: &str,
        visit: &mut RecordVisitor<'_>,
    ) -> Result<u64, ConnectorError> {
        let mut after: Option<(String, String)> = None;
        let mut count = 0;
        loop {
            let (connection, stream) = (self.connection.clone(), stream.to_owned());
            let from = after.take();
            let batch: Vec<RecordRow> = self.db.blocking(move |client| async move {
                const COLUMNS: &str = "SELECT kind, key, version, deleted, data::text FROM records
                     WHERE connection = $1 AND stream = $2";
                let rows = match &from {
                    None => {
                        client
                            .query(
                                &format!("{COLUMNS} ORDER BY kind, key LIMIT $3"),
                                &[&connection, &stream, &BATCH],
                            )
                            .await
                    }
                    Some((kind, key)) => {
                        client
                            .query(
                                &format!(
                                "{COLUMNS} AND (kind, key) > ($4, $5) ORDER BY kind, key LIMIT $3"
                            ),
                                &[&connection, &stream, &BATCH, kind, key],
                            )
                            .await
                    }
                }
                .map_err(host_error)?;
                Ok::<_, ConnectorError>(
                    rows.iter()
                        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
                        .collect(),
                )
            })?;
            let full = batch.len() as i64 == BATCH;
            for (kind, key, version, deleted, data) in &batch {
                visit(kind, key, version.as_deref(), *deleted, data).map_err(export_error)?;
                count += 1;
            }
            match batch.into_iter().last() {
                Some((kind, key, ..)) if full => after = Some((kind, key)),
                _ => return Ok(count),
            }
        }
    }

    fn raw_records(&self, stream: &str) -> Result<Vec<String>, ConnectorError> {
        let (connection, stream) = (self.connection.clone(), stream.to_owned());
        self.db.blocking(move |client| async move {
            let rows = client
                .query(
                    "SELECT raw FROM raw_records WHERE connection = $1 AND stream = $2 ORDER BY id",
                    &[&connection, &stream],
                )
                .await
                .map_err(host_error)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn delete_connection(&self) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
        let connection = self.connection.clone();
        self.db.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            let removed = clear(&tx, &CONNECTION_TABLES, &connection).await?;
            tx.commit().await.map_err(host_error)?;
            Ok(removed)
        })
    }
}

impl Sink for RecordStore {
    async fn cursor(&self, stream: &str) -> Result<Option<String>, ConnectorError> {
        let (connection, stream) = (self.connection.clone(), stream.to_owned());
        self.db
            .spawn(move |client| async move {
                Ok(read_stream_state(&client, &connection, &stream)
                    .await?
                    .cursor)
            })
            .await
    }

    async fn commit_page(&self, page: PageCommit) -> Result<u64, ConnectorError> {
        let (connection, lease_owner) = (self.connection.clone(), self.lease_owner.clone());
        self.db
            .spawn(move |client| commit(client, connection, lease_owner, page))
            .await
    }

    async fn record_failure(&self, stream: &str, message: &str) -> Result<(), ConnectorError> {
        let (connection, stream, message) = (
            self.connection.clone(),
            stream.to_owned(),
            message.to_owned(),
        );
        self.db
            .spawn(move |client| record_error(client, connection, stream, message))
            .await
    }
}

/// `data` as `jsonb` accepts it: `jsonb` refuses the escape `\u0000` (a
/// NUL character) in strings, which JSON allows, so each becomes `\ufffd`
/// (the replacement character) instead of failing the whole page. A
/// backslash that is itself escaped (`\\u0000`, the text `\u0000`) stays.
fn jsonb_text(data: &str) -> Cow<'_, str> {
    if !data.contains("\\u0000") {
        return Cow::Borrowed(data);
    }
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        if let Some(after) = escape.strip_prefix("\\u0000") {
            out.push_str("\\ufffd");
            rest = after;
        } else {
            // Any other escape is two characters (`\\`, `\"`, `\n`, `\u`
            // followed by digits that need no change).
            let end = escape
                .char_indices()
                .nth(2)
                .map_or(escape.len(), |(i, _)| i);
            out.push_str(&escape[..end]);
            rest = &escape[end..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::jsonb_text;

    #[test]
    fn nul_escapes_become_replacement_characters_and_nothing_else_changes() {
        for (data, stored) in [
            (r#"{"a":"plain"}"#, r#"{"a":"plain"}"#),
            (r#"{"a":"x\u0000y"}"#, r#"{"a":"x\ufffdy"}"#),
            (r#"{"a":"\u0000\u0000"}"#, r#"{"a":"\ufffd\ufffd"}"#),
            // An escaped backslash followed by the text u0000.
            (r#"{"a":"\\u0000"}"#, r#"{"a":"\\u0000"}"#),
            (r#"{"a":"\\\u0000"}"#, r#"{"a":"\\\ufffd"}"#),
            (r#"{"a":"\u00e9\n\"q\""}"#, r#"{"a":"\u00e9\n\"q\""}"#),
        ] {
            assert_eq!(jsonb_text(data), stored, "{data}");
            let parsed: serde_json::Value = serde_json::from_str(&jsonb_text(data)).unwrap();
            assert!(!parsed["a"].as_str().unwrap().contains('\0'), "{data}");
        }
    }
}
