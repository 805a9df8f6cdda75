//! The integration platform's storage ([`PlatformStore`]) in the
//! database: records read by kind from `records`, and the platform's own
//! tables (see [`crate::schema`]). The platform computes; this only reads
//! and writes rows, decoded by `connector_platform::stored_rows` as the
//! SQLite store decodes them.

use std::collections::HashMap;

use connector_platform::customers::normalize_name;
use connector_platform::model::{Customer, MatchResults, Method, OverrideRule};
use connector_platform::sentiment::stored::StoredSentiment;
use connector_platform::stored_rows::{self, MatchRow, CONNECTION_TABLES, LINK_TABLES, RESULTS};
use connector_platform::{PlatformStore, StoredRecord, Tombstones};
use connector_runtime::ConnectorError;
use connector_sync::stored::unix_now;
use deadpool_postgres::GenericClient;

use crate::db::Database;
use crate::errors::host_error;
use crate::records::{clear, BATCH};

/// Rows of a query, each converted by `map`.
async fn query<T>(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    map: impl Fn(&tokio_postgres::Row) -> T,
) -> Result<Vec<T>, ConnectorError> {
    let rows = client.query(sql, params).await.map_err(host_error)?;
    Ok(rows.iter().map(map).collect())
}

impl PlatformStore for Database {
    /// Read in batches of [`BATCH`] by `id`, so that a connection's
    /// records are never all in memory at once.
    fn visit_records(
        &self,
        connection: &str,
        kind: &str,
        tombstones: Tombstones,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let include_deleted = tombstones == Tombstones::Include;
        let mut after = 0i64;
        loop {
            let (connection, kind) = (connection.to_owned(), kind.to_owned());
            let batch: Vec<(i64, String, String)> = self.blocking(move |client| async move {
                query(
                    &client,
                    "SELECT id, key, data::text FROM records
                     WHERE connection = $1 AND kind = $2 AND ($3 OR NOT deleted) AND id > $4
                     ORDER BY id LIMIT $5",
                    &[&connection, &kind, &include_deleted, &after, &BATCH],
                    |row| (row.get(0), row.get(1), row.get(2)),
                )
                .await
            })?;
            for (_, key, data) in &batch {
                visit(StoredRecord { key, data })?;
            }
            match batch.last() {
                Some((id, ..)) if batch.len() as i64 == BATCH => after = *id,
                _ => return Ok(()),
            }
        }
    }

    fn customers(&self) -> Result<Vec<Customer>, ConnectorError> {
        let rows = self.blocking(|client| async move {
            query(
                &client,
                "SELECT c.id, c.name, d.domain FROM customers c
                 LEFT JOIN customer_domains d ON d.customer_id = c.id
                 ORDER BY c.id, d.domain",
                &[],
                |row| (row.get(0), row.get(1), row.get(2)),
            )
            .await
        })?;
        Ok(stored_rows::customers(rows))
    }

    fn replace_customers(&self, customers: &[Customer]) -> Result<(), ConnectorError> {
        let before = PlatformStore::customers(self)?;
        let (removed, changed) = stored_rows::customer_changes(&before, customers);
        let changed: Vec<Customer> = changed.into_iter().cloned().collect();
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            for old in &removed {
                tx.execute("DELETE FROM customers WHERE id = $1", &[old])
                    .await
                    .map_err(host_error)?;
            }
            let now = unix_now();
            for customer in &changed {
                tx.execute(
                    "INSERT INTO customers (id, name, normalized_name, imported_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                        normalized_name = excluded.normalized_name,
                        imported_at = excluded.imported_at",
                    &[
                        &customer.id,
                        &customer.name,
                        &normalize_name(&customer.name),
                        &now,
                    ],
                )
                .await
                .map_err(host_error)?;
                tx.execute(
                    "DELETE FROM customer_domains WHERE customer_id = $1",
                    &[&customer.id],
                )
                .await
                .map_err(host_error)?;
                tx.execute(
                    "INSERT INTO customer_domains (customer_id, domain)
                     SELECT $1, unnest($2::text[])",
                    &[&customer.id, &customer.domains],
                )
                .await
                .map_err(host_error)?;
            }
            tx.commit().await.map_err(host_error)
        })
    }

    fn overrides(&self, connection: &str) -> Result<Vec<OverrideRule>, ConnectorError> {
        let connection = connection.to_owned();
        self.blocking(move |client| async move {
            query(
                &client,
                "SELECT org_key, action, customer_id FROM customer_overrides
                 WHERE connection = $1",
                &[&connection],
                |row| OverrideRule {
                    org_key: row.get(0),
                    action: row.get(1),
                    customer_id: row.get(2),
                },
            )
            .await
        })
    }

    fn replace_overrides(
        &self,
        connection: &str,
        rules: &[OverrideRule],
    ) -> Result<(), ConnectorError> {
        let (connection, rules) = (connection.to_owned(), rules.to_vec());
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            clear(&tx, &["customer_overrides"], &connection).await?;
            for rule in &rules {
                tx.execute(
                    "INSERT INTO customer_overrides (connection, org_key, action, customer_id)
                     VALUES ($1, $2, $3, $4)",
                    &[&connection, &rule.org_key, &rule.action, &rule.customer_id],
                )
                .await
                .map_err(host_error)?;
            }
            tx.commit().await.map_err(host_error)
        })
    }

    fn matching_results(&self, connection: &str) -> Result<MatchResults, ConnectorError> {
        let connection = connection.to_owned();
        self.blocking(move |client| async move {
            let organizations = query(
                &client,
                "SELECT org_key, org_name, status, customer_id, method, reason
                 FROM customer_matches WHERE connection = $1 ORDER BY org_key",
                &[&connection],
                |row| MatchRow {
                    org_key: row.get(0),
                    org_name: row.get(1),
                    status: row.get(2),
                    customer_id: row.get(3),
                    method: row.get(4),
                    reason: row.get(5),
                },
            )
            .await?
            .into_iter()
            .map(MatchRow::org_match)
            .collect::<Result<Vec<_>, _>>()?;
            let mut links = Vec::new();
            for (table, key) in LINK_TABLES {
                links.push(
                    query(
                        &client,
                        &format!(
                            "SELECT {key}, customer_id, via FROM {table}
                             WHERE connection = $1 ORDER BY {key}"
                        ),
                        &[&connection],
                        |row| (row.get(0), row.get(1), row.get(2)),
                    )
                    .await?
                    .into_iter()
                    .map(|row| stored_rows::link(table, row))
                    .collect::<Result<Vec<_>, _>>()?,
                );
            }
            let conversations = links.pop().unwrap_or_default();
            let people = links.pop().unwrap_or_default();
            Ok(MatchResults {
                organizations,
                people,
                conversations,
            })
        })
    }

    fn replace_matching_results(
        &self,
        connection: &str,
        results: &MatchResults,
    ) -> Result<(), ConnectorError> {
        let (connection, results) = (connection.to_owned(), results.clone());
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            clear(&tx, &RESULTS, &connection).await?;
            let now = unix_now();
            let orgs = &results.organizations;
            let keys: Vec<&str> = orgs.iter().map(|o| o.org_key.as_str()).collect();
            let names: Vec<Option<&str>> = orgs.iter().map(|o| o.org_name.as_deref()).collect();
            let statuses: Vec<&str> = orgs
                .iter()
                .map(|o| o.decision.outcome.status().as_str())
                .collect();
            let customers: Vec<Option<&str>> = orgs
                .iter()
                .map(|o| o.decision.outcome.customer_id())
                .collect();
            let methods: Vec<Option<&str>> = orgs
                .iter()
                .map(|o| o.decision.outcome.method().map(Method::as_str))
                .collect();
            let reasons: Vec<&str> = orgs.iter().map(|o| o.decision.reason.as_str()).collect();
            tx.execute(
                "INSERT INTO customer_matches
                 (connection, org_key, org_name, status, customer_id, method, reason, matched_at)
                 SELECT $1, r.*, $8 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                                             $6::text[], $7::text[]) AS r",
                &[
                    &connection,
                    &keys,
                    &names,
                    &statuses,
                    &customers,
                    &methods,
                    &reasons,
                    &now,
                ],
            )
            .await
            .map_err(host_error)?;
            for ((table, key), links) in LINK_TABLES
                .into_iter()
                .zip([&results.people, &results.conversations])
            {
                let keys: Vec<&str> = links.iter().map(|l| l.key.as_str()).collect();
                let customers: Vec<&str> = links.iter().map(|l| l.customer_id.as_str()).collect();
                let vias: Vec<&str> = links.iter().map(|l| l.via.as_str()).collect();
                tx.execute(
                    &format!(
                        "INSERT INTO {table} (connection, {key}, customer_id, via)
                         SELECT $1, r.* FROM unnest($2::text[], $3::text[], $4::text[]) AS r"
                    ),
                    &[&connection, &keys, &customers, &vias],
                )
                .await
                .map_err(host_error)?;
            }
            tx.commit().await.map_err(host_error)
        })
    }

    fn matched_connections(&self) -> Result<Vec<String>, ConnectorError> {
        self.blocking(|client| async move {
            query(
                &client,
                "SELECT connection FROM customer_matches
                 UNION SELECT connection FROM customer_people
                 UNION SELECT connection FROM customer_conversations
                 ORDER BY 1",
                &[],
                |row| row.get(0),
            )
            .await
        })
    }

    fn sentiment_scores(
        &self,
        connection: &str,
    ) -> Result<HashMap<String, StoredSentiment>, ConnectorError> {
        let connection = connection.to_owned();
        let rows = self.blocking(move |client| async move {
            query(
                &client,
                "SELECT message_key, fingerprint, outcome, compound FROM message_sentiment
                 WHERE connection = $1",
                &[&connection],
                |row| (row.get(0), row.get(1), row.get(2), row.get(3)),
            )
            .await
        })?;
        rows.into_iter().map(stored_rows::sentiment).collect()
    }

    fn update_sentiment_scores(
        &self,
        connection: &str,
        changed: &[(String, StoredSentiment)],
        removed: &[String],
    ) -> Result<(), ConnectorError> {
        let (connection, changed, removed) =
            (connection.to_owned(), changed.to_vec(), removed.to_vec());
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            let keys: Vec<&str> = changed.iter().map(|(key, _)| key.as_str()).collect();
            let fingerprints: Vec<i64> = changed.iter().map(|(_, s)| s.fingerprint).collect();
            let outcomes: Vec<&str> = changed
                .iter()
                .map(|(_, s)| s.sentiment.outcome_name())
                .collect();
            let compounds: Vec<Option<f64>> =
                changed.iter().map(|(_, s)| s.sentiment.score()).collect();
            tx.execute(
                "INSERT INTO message_sentiment (connection, message_key, fingerprint, outcome, compound)
                 SELECT $1, r.* FROM unnest($2::text[], $3::bigint[], $4::text[], $5::float8[]) AS r
                 ON CONFLICT (connection, message_key) DO UPDATE SET
                   fingerprint = excluded.fingerprint, outcome = excluded.outcome,
                   compound = excluded.compound",
                &[&connection, &keys, &fingerprints, &outcomes, &compounds],
            )
            .await
            .map_err(host_error)?;
            tx.execute(
                "DELETE FROM message_sentiment WHERE connection = $1 AND message_key = ANY($2)",
                &[&connection, &removed],
            )
            .await
            .map_err(host_error)?;
            tx.commit().await.map_err(host_error)
        })
    }

    fn forget_connection(
        &self,
        connection: &str,
    ) -> Result<Vec<(&'static str, usize)>, ConnectorError> {
        let connection = connection.to_owned();
        self.blocking(move |mut client| async move {
            let tx = client.transaction().await.map_err(host_error)?;
            let removed = clear(&tx, &CONNECTION_TABLES, &connection).await?;
            tx.commit().await.map_err(host_error)?;
            Ok(removed)
        })
    }
}
