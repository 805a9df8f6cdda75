//! What the integration platform does with the synced data.
//!
//! * [`customers`]: the platform's customer list (one per database, shared by
//!   every connection), imported from CSV or JSON, with the normalization of
//!   names and domains.
//! * [`matching`]: Zendesk organizations matched to customers (by domain,
//!   then by normalized name, with overrides), propagated to people and
//!   tickets, per connection, into the `customer_*` tables.
//! * [`documents`]: one JSON document per ticket (`export --documents`).
//! * [`signals`]: support signals per customer (`report`), printed as a
//!   table or written as a self-contained HTML page by [`html`].
//!
//! Everything reads the normalized records (`records` table) of one
//! connection; the tables are described in `db.rs` and the README.

pub mod customers;
pub mod documents;
pub mod html;
pub mod matching;
pub mod signals;

use std::collections::HashMap;
use std::path::Path;

use crate::connection_file::ConnectionFile;
use crate::db::{host_error, Database};
use crate::errors::ConnectorError;

/// The name of the connection a connection file describes, without loading
/// its connector (platform commands only read the database).
pub fn connection_name(config: &Path) -> Result<String, ConnectorError> {
    let (parsed, path) = ConnectionFile::load(config)?;
    Ok(parsed.name_for(&path))
}

/// Read a text file named on the command line (`flag` names it in errors).
pub fn read_text(path: &Path, flag: &str) -> Result<String, ConnectorError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConnectorError::config(flag, format!("cannot read {}: {e}", path.display())))
}

/// `customers import FILE [--config FILE]`: replace the customer list, then
/// re-match every connection matched before (and the given one). Returns
/// what to print.
pub fn import_customers(
    db: &Database,
    file: &Path,
    config: Option<&Path>,
) -> Result<String, ConnectorError> {
    let named = config.map(connection_name).transpose()?;
    let text = read_text(file, "FILE")?;
    let (list, warnings) = customers::parse_customers(&text, &file.display().to_string())?;
    let summary = customers::import(db, &list)?;
    let mut out: String = warnings.iter().map(|w| format!("warning: {w}\n")).collect();
    out.push_str(&format!(
        "customers: {} added, {} updated, {} unchanged, {} removed ({} in the list)\n",
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.removed,
        list.len()
    ));
    let mut connections = matching::matched_connections(db)?;
    connections.extend(named);
    connections.sort();
    connections.dedup();
    if connections.is_empty() {
        out.push_str("match a connection with `customers match --config FILE`\n");
    }
    for connection in connections {
        let report = matching::run(db, &connection)?;
        out.push_str(&format!("{connection}: {}\n", summary_line(&report)));
    }
    Ok(out)
}

/// `customers match --config FILE [--overrides FILE]`: the full matching
/// report.
pub fn match_customers(
    db: &Database,
    config: &Path,
    overrides: Option<&Path>,
) -> Result<String, ConnectorError> {
    let connection = connection_name(config)?;
    let mut out = String::new();
    if let Some(path) = overrides {
        let rules = matching::parse_overrides(
            &read_text(path, "--overrides")?,
            &path.display().to_string(),
        )?;
        for warning in matching::replace_overrides(db, &connection, &rules)? {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out.push_str(&format!("overrides: {} rules\n", rules.len()));
    }
    if customers::load(db)?.is_empty() {
        return Err(no_customers());
    }
    out.push_str(&matching::report_text(&matching::run(db, &connection)?));
    Ok(out)
}

/// `report --config FILE [--html FILE]`: re-match, then the signals table
/// (and the page).
pub fn report(db: &Database, config: &Path, html: Option<&Path>) -> Result<String, ConnectorError> {
    let connection = connection_name(config)?;
    if customers::load(db)?.is_empty() {
        return Err(no_customers());
    }
    let matched = matching::run(db, &connection)?;
    eprintln!("matching: {}", summary_line(&matched));
    let signals = signals::load(db, &connection)?;
    let mut out = signals::table(&signals);
    if let Some(path) = html {
        std::fs::write(path, html::page(&signals)).map_err(|e| {
            ConnectorError::config("--html", format!("cannot write {}: {e}", path.display()))
        })?;
        out.push_str(&format!("wrote {}\n", path.display()));
    }
    Ok(out)
}

/// `export --documents`: re-match when there is a customer list, then
/// write the documents. Returns how many.
pub fn export_documents(
    db: &Database,
    config: &Path,
    options: &documents::DocumentOptions,
    out: &mut dyn std::io::Write,
) -> Result<u64, ConnectorError> {
    let connection = connection_name(config)?;
    if !customers::load(db)?.is_empty() {
        let matched = matching::run(db, &connection)?;
        eprintln!("matching: {}", summary_line(&matched));
    }
    documents::export(db, &connection, options, out)
}

fn no_customers() -> ConnectorError {
    ConnectorError::config(
        "customers",
        "the customer list is empty; import it with `connector-host customers import FILE`",
    )
}

/// One line on a matching run.
fn summary_line(report: &matching::MatchReport) -> String {
    format!(
        "{} of {} organizations matched ({} ambiguous), {} of {} tickets attributed",
        report.count("matched"),
        report.organizations.len(),
        report.count("ambiguous"),
        report.tickets_attributed,
        report.tickets
    )
}

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
