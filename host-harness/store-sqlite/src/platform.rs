//! The integration platform's storage ([`PlatformStore`]) in the database:
//! records read by kind from `records`, and the platform's own tables
//! (`customers`, `customer_domains`, `customer_overrides`,
//! `customer_matches`, `customer_people`, `customer_conversations`; see
//! [`crate::db`]). The platform computes; this only reads and writes rows.

use std::collections::HashMap;

use rusqlite::{params, Transaction};

use connector_platform::customers::normalize_name;
use connector_platform::model::{Customer, Link, MatchResults, Method, OverrideRule};
use connector_platform::sentiment::stored::StoredSentiment;
use connector_platform::stored_rows::{self, MatchRow, CONNECTION_TABLES, LINK_TABLES, RESULTS};
use connector_platform::{PlatformStore, StoredRecord, Tombstones};
use connector_runtime::ConnectorError;

use crate::db::{host_error, Database};

/// Run a query and collect its rows.
pub(crate) fn query<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, ConnectorError> {
    let mut stmt = conn.prepare(sql).map_err(host_error)?;
    let rows = stmt
        .query_map(params, map)
        .and_then(|rows| rows.collect::<Result<Vec<T>, _>>());
    rows.map_err(host_error)
}

/// Delete a connection's rows from `tables`; returns rows removed per table.
fn clear(
    tx: &Transaction<'_>,
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

/// A text column of a row, borrowed.
fn text<'a>(row: &'a rusqlite::Row<'_>, index: usize) -> Result<&'a str, ConnectorError> {
    row.get_ref(index)
        .and_then(|value| value.as_str().map_err(rusqlite::Error::from))
        .map_err(host_error)
}

impl PlatformStore for Database {
    fn visit_records(
        &self,
        connection: &str,
        kind: &str,
        tombstones: Tombstones,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(match tombstones {
                Tombstones::Skip => {
                    "SELECT key, data FROM records
                     WHERE connection = ?1 AND kind = ?2 AND deleted = 0 ORDER BY id"
                }
                Tombstones::Include => {
                    "SELECT key, data FROM records
                     WHERE connection = ?1 AND kind = ?2 ORDER BY id"
                }
            })
            .map_err(host_error)?;
        let mut rows = stmt.query([connection, kind]).map_err(host_error)?;
        while let Some(row) = rows.next().map_err(host_error)? {
            visit(StoredRecord {
                key: text(row, 0)?,
                data: text(row, 1)?,
            })?;
        }
        Ok(())
    }

    fn customers(&self) -> Result<Vec<Customer>, ConnectorError> {
        let rows = query(
            &self.lock(),
            "SELECT c.id, c.name, d.domain FROM customers c
             LEFT JOIN customer_domains d ON d.customer_id = c.id
             ORDER BY c.id, d.domain",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )?;
        Ok(stored_rows::customers(rows))
    }

    fn replace_customers(&self, customers: &[Customer]) -> Result<(), ConnectorError> {
        let before = PlatformStore::customers(self)?;
        let (removed, changed) = stored_rows::customer_changes(&before, customers);
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(host_error)?;
        for old in &removed {
            tx.execute("DELETE FROM customers WHERE id = ?1", [old])
                .map_err(host_error)?;
        }
        for customer in changed {
            tx.execute(
                "INSERT INTO customers (id, name, normalized_name, imported_at)
                 VALUES (?1, ?2, ?3, unixepoch())
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                    normalized_name = excluded.normalized_name, imported_at = excluded.imported_at",
                params![customer.id, customer.name, normalize_name(&customer.name)],
            )
            .map_err(host_error)?;
            tx.execute(
                "DELETE FROM customer_domains WHERE customer_id = ?1",
                [&customer.id],
            )
            .map_err(host_error)?;
            for domain in &customer.domains {
                tx.execute(
                    "INSERT INTO customer_domains (customer_id, domain) VALUES (?1, ?2)",
                    params![customer.id, domain],
                )
                .map_err(host_error)?;
            }
        }
        tx.commit().map_err(host_error)
    }

    fn overrides(&self, connection: &str) -> Result<Vec<OverrideRule>, ConnectorError> {
        query(
            &self.lock(),
            "SELECT org_key, action, customer_id FROM customer_overrides WHERE connection = ?1",
            [connection],
            |row| {
                Ok(OverrideRule {
                    org_key: row.get(0)?,
                    action: row.get(1)?,
                    customer_id: row.get(2)?,
                })
            },
        )
    }

    fn replace_overrides(
        &self,
        connection: &str,
        rules: &[OverrideRule],
    ) -> Result<(), ConnectorError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(host_error)?;
        clear(&tx, &["customer_overrides"], connection)?;
        for rule in rules {
            tx.execute(
                "INSERT INTO customer_overrides (connection, org_key, action, customer_id)
                 VALUES (?1, ?2, ?3, ?4)",
                params![connection, rule.org_key, rule.action, rule.customer_id],
            )
            .map_err(host_error)?;
        }
        tx.commit().map_err(host_error)
    }

    fn matching_results(&self, connection: &str) -> Result<MatchResults, ConnectorError> {
        let conn = self.lock();
        let organizations = query(
            &conn,
            "SELECT org_key, org_name, status, customer_id, method, reason
             FROM customer_matches WHERE connection = ?1 ORDER BY org_key",
            [connection],
            |row| {
                Ok(MatchRow {
                    org_key: row.get(0)?,
                    org_name: row.get(1)?,
                    status: row.get(2)?,
                    customer_id: row.get(3)?,
                    method: row.get(4)?,
                    reason: row.get(5)?,
                })
            },
        )?
        .into_iter()
        .map(MatchRow::org_match)
        .collect::<Result<Vec<_>, _>>()?;
        let links = |(table, key): (&str, &str)| -> Result<Vec<Link>, ConnectorError> {
            query(
                &conn,
                &format!(
                    "SELECT {key}, customer_id, via FROM {table} WHERE connection = ?1 ORDER BY {key}"
                ),
                [connection],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?
            .into_iter()
            .map(|row| stored_rows::link(table, row))
            .collect()
        };
        Ok(MatchResults {
            organizations,
            people: links(LINK_TABLES[0])?,
            conversations: links(LINK_TABLES[1])?,
        })
    }

    fn replace_matching_results(
        &self,
        connection: &str,
        results: &MatchResults,
    ) -> Result<(), ConnectorError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(host_error)?;
        clear(&tx, &RESULTS, connection)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO customer_matches
                     (connection, org_key, org_name, status, customer_id, method, reason, matched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, unixepoch())",
                )
                .map_err(host_error)?;
            for org in &results.organizations {
                let outcome = &org.decision.outcome;
                insert
                    .execute(params![
                        connection,
                        org.org_key,
                        org.org_name,
                        outcome.status().as_str(),
                        outcome.customer_id(),
                        outcome.method().map(Method::as_str),
                        org.decision.reason,
                    ])
                    .map_err(host_error)?;
            }
            for ((table, key), links) in LINK_TABLES
                .into_iter()
                .zip([&results.people, &results.conversations])
            {
                let mut insert = tx
                    .prepare(&format!(
                        "INSERT INTO {table} (connection, {key}, customer_id, via)
                         VALUES (?1, ?2, ?3, ?4)"
                    ))
                    .map_err(host_error)?;
                for link in links {
                    insert
                        .execute(params![
                            connection,
                            link.key,
                            link.customer_id,
                            link.via.as_str()
                        ])
                        .map_err(host_error)?;
                }
            }
        }
        tx.commit().map_err(host_error)
    }

    fn matched_connections(&self) -> Result<Vec<String>, ConnectorError> {
        query(
            &self.lock(),
            "SELECT connection FROM customer_matches
             UNION SELECT connection FROM customer_people
             UNION SELECT connection FROM customer_conversations
             ORDER BY 1",
            [],
            |row| row.get(0),
        )
    }

    fn sentiment_scores(
        &self,
        connection: &str,
    ) -> Result<HashMap<String, StoredSentiment>, ConnectorError> {
        crate::sentiment::scores(self, connection)
    }

    fn update_sentiment_scores(
        &self,
        connection: &str,
        changed: &[(String, StoredSentiment)],
        removed: &[String],
    ) -> Result<(), ConnectorError> {
        crate::sentiment::update(self, connection, changed, removed)
    }

    fn forget_connection(
        &self,
        connection: &str,
    ) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(host_error)?;
        let removed = clear(&tx, &CONNECTION_TABLES, connection)?;
        tx.commit().map_err(host_error)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use connector_platform::records::Time;

    use super::*;

    #[test]
    fn record_times_read_as_sqlite_reads_them() {
        let db = Database::in_memory().unwrap();
        let conn = db.lock();
        for text in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.999Z",
            "2024-01-01T10:00:00.9999Z",
            "2024-01-01 10:00:00+02:00",
            "2024-01-01T10:00-05:30",
            "2024-01-01T10:00:00 Z",
            "2024-01-01",
            "2024-01-01T",
            "2024-02-30T00:00:00Z",
            "2000-02-29T24:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "0001-01-01T00:00:00Z",
            "2024-01-01T10:00:00+15:00",
            "2024-01-01T10",
            "2024-13-01",
            "2024-1-01",
            " 2024-01-01",
            "2024-01-01x",
            "soon",
            "",
        ] {
            let sqlite: Option<i64> = conn
                .query_row("SELECT unixepoch(?1)", [text], |row| row.get(0))
                .unwrap();
            assert_eq!(Time::Text(text.into()).unix(), sqlite, "{text:?}");
        }
    }
}
