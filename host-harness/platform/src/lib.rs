//! What the integration platform does with the synced data.
//!
//! * [`customers`]: the platform's customer list (one per database, shared by
//!   every connection), imported from CSV or JSON, with the normalization of
//!   names and domains.
//! * [`matching`]: organizations matched to customers (by domain, then by
//!   normalized name, with overrides), propagated to people and
//!   conversations, per connection, into the `customer_*` tables.
//! * [`documents`]: one JSON document per conversation.
//! * [`signals`]: support signals per customer, as a text table or a
//!   self-contained HTML page ([`html`]).
//!
//! Everything reads the normalized records of one connection. Nothing here
//! prints or knows the command line: the `connector-host` binary does.

pub mod customers;
pub mod documents;
pub mod html;
pub mod input;
pub mod matching;
pub mod signals;
pub mod text;

use std::collections::HashMap;

use connector_runtime::ConnectorError;
use connector_store_sqlite::db::host_error;
use connector_store_sqlite::Database;

/// Run a query and collect its rows.
pub(crate) fn query<T>(
    db: &Database,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, ConnectorError> {
    let conn = db.lock();
    let mut stmt = conn.prepare(sql).map_err(host_error)?;
    let rows = stmt
        .query_map(params, map)
        .and_then(|rows| rows.collect::<Result<Vec<T>, _>>());
    rows.map_err(host_error)
}

/// A record time (RFC 3339 text, or Unix seconds as a number) as Unix
/// seconds, in SQL: `json_extract` of `path` in `data`.
pub(crate) fn sql_time(path: &str) -> String {
    format!(
        "CASE WHEN json_type(data, '{path}') IN ('integer', 'real') \
         THEN CAST(json_extract(data, '{path}') AS INTEGER) \
         ELSE unixepoch(json_extract(data, '{path}')) END"
    )
}

/// Each ticket's satisfaction `{score, reason, comment}`: from the newest
/// `satisfaction` record of the ticket when one was synced (ratings are
/// answered after the ticket changes), else from the ticket itself.
/// Unoffered ratings are left out.
pub(crate) fn satisfaction_by_ticket(
    db: &Database,
    connection: &str,
) -> Result<HashMap<String, serde_json::Value>, ConnectorError> {
    let rows = query(
        db,
        "SELECT json_extract(data, '$.conversation_id') AS ticket,
                json_object('score', json_extract(data, '$.score'),
                            'reason', json_extract(data, '$.reason'),
                            'comment', json_extract(data, '$.comment')),
                1 AS rank, json_extract(data, '$.updated_at') AS at
         FROM records
         WHERE connection = ?1 AND kind = 'satisfaction' AND deleted = 0 AND ticket IS NOT NULL
         UNION ALL
         SELECT key, json_extract(data, '$.satisfaction'), 0, NULL
         FROM records
         WHERE connection = ?1 AND kind = 'conversation' AND deleted = 0
           AND json_type(data, '$.satisfaction') = 'object'
         ORDER BY rank, at",
        [connection],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )?;
    let mut by_ticket = HashMap::new();
    // Later rows win: satisfaction records after the tickets' own, newest last.
    for (ticket, json) in rows {
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        if matches!(value["score"].as_str(), None | Some("unoffered")) {
            by_ticket.remove(&ticket);
        } else {
            by_ticket.insert(ticket, value);
        }
    }
    Ok(by_ticket)
}

/// Delete the connection's platform data (matching results and overrides);
/// the customer list is shared and stays. Returns rows removed per table.
pub fn forget_connection(
    db: &Database,
    connection: &str,
) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
    let mut conn = db.lock();
    let tx = conn.transaction().map_err(host_error)?;
    let removed = clear(
        &tx,
        &["customer_overrides", RESULTS[0], RESULTS[1], RESULTS[2]],
        connection,
    )?;
    tx.commit().map_err(host_error)?;
    Ok(removed)
}

/// The tables of a connection's matching results.
pub(crate) const RESULTS: [&str; 3] = [
    "customer_matches",
    "customer_people",
    "customer_conversations",
];

/// Delete a connection's rows from `tables`; returns rows removed per table.
pub(crate) fn clear(
    tx: &rusqlite::Transaction<'_>,
    tables: &[&'static str],
    connection: &str,
) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
    tables
        .iter()
        .map(|table| {
            tx.execute(
                &format!("DELETE FROM {table} WHERE connection = ?1"),
                [connection],
            )
            .map(|n| (*table, n))
            .map_err(host_error)
        })
        .collect()
}
