//! The `message_sentiment` table: the platform's stored sentiment scores
//! (see `connector_platform::sentiment::stored`).

use std::collections::HashMap;

use rusqlite::params;

use connector_platform::sentiment::stored::StoredSentiment;
use connector_platform::stored_rows;
use connector_runtime::ConnectorError;

use crate::db::{host_error, Database};
use crate::platform::query;

/// A connection's stored scores, by message key.
pub(crate) fn scores(
    db: &Database,
    connection: &str,
) -> Result<HashMap<String, StoredSentiment>, ConnectorError> {
    let rows = query(
        &db.read(),
        "SELECT message_key, fingerprint, outcome, compound FROM message_sentiment
         WHERE connection = ?1",
        [connection],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<f64>>(3)?,
            ))
        },
    )?;
    rows.into_iter().map(stored_rows::sentiment).collect()
}

/// Write changed scores and delete removed ones in one transaction.
pub(crate) fn update(
    db: &Database,
    connection: &str,
    changed: &[(String, StoredSentiment)],
    removed: &[String],
) -> Result<(), ConnectorError> {
    let mut conn = db.lock();
    let tx = conn.transaction().map_err(host_error)?;
    {
        let mut upsert = tx
            .prepare(
                "INSERT INTO message_sentiment (connection, message_key, fingerprint, outcome, compound)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (connection, message_key) DO UPDATE SET
                   fingerprint = excluded.fingerprint, outcome = excluded.outcome,
                   compound = excluded.compound",
            )
            .map_err(host_error)?;
        for (key, stored) in changed {
            let (outcome, compound) = (stored.sentiment.outcome_name(), stored.sentiment.score());
            upsert
                .execute(params![
                    connection,
                    key,
                    stored.fingerprint,
                    outcome,
                    compound
                ])
                .map_err(host_error)?;
        }
        let mut delete = tx
            .prepare("DELETE FROM message_sentiment WHERE connection = ?1 AND message_key = ?2")
            .map_err(host_error)?;
        for key in removed {
            delete
                .execute(params![connection, key])
                .map_err(host_error)?;
        }
    }
    tx.commit().map_err(host_error)
}
