//! What the platform needs of a store, whatever keeps the data: the
//! connections' synced records (read), and the platform's own data (the
//! customer list, overrides and matching results; read and replaced).
//! `connector-store-sqlite` implements it on its database.

use connector_runtime::ConnectorError;
use serde::de::DeserializeOwned;

use std::collections::HashMap;

use crate::model::{Customer, MatchResults, OverrideRule};
use crate::records::Kind;
use crate::sentiment::stored::StoredSentiment;

/// A normalized record as stored, lent while it is visited.
#[derive(Clone, Copy, Debug)]
pub struct StoredRecord<'a> {
    /// Its key (unique per stream and kind).
    pub key: &'a str,
    /// Its data, JSON.
    pub data: &'a str,
}

/// Whether records deleted at the source are read too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tombstones {
    /// Only records that exist at the source.
    Skip,
    /// Deleted ones too (a deleted user's tickets still belong to their
    /// company).
    Include,
}

/// The platform's storage.
pub trait PlatformStore {
    /// Visit a connection's records of `kind` (every stream's), in the
    /// order they were first stored; `visit` may stop the reading with an
    /// error, which is returned.
    fn visit_records(
        &self,
        connection: &str,
        kind: &str,
        tombstones: Tombstones,
        visit: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError>;

    /// The customer list (one for every connection), by id, each
    /// customer's domains sorted.
    fn customers(&self) -> Result<Vec<Customer>, ConnectorError>;

    /// Replace the customer list, at once; customers stored as they are
    /// stay untouched.
    fn replace_customers(&self, customers: &[Customer]) -> Result<(), ConnectorError>;

    /// A connection's overrides.
    fn overrides(&self, connection: &str) -> Result<Vec<OverrideRule>, ConnectorError>;

    /// Replace a connection's overrides, at once.
    fn replace_overrides(
        &self,
        connection: &str,
        rules: &[OverrideRule],
    ) -> Result<(), ConnectorError>;

    /// A connection's matching results (empty when never matched).
    fn matching_results(&self, connection: &str) -> Result<MatchResults, ConnectorError>;

    /// Replace a connection's matching results, at once.
    fn replace_matching_results(
        &self,
        connection: &str,
        results: &MatchResults,
    ) -> Result<(), ConnectorError>;

    /// The connections that have matching results, sorted.
    fn matched_connections(&self) -> Result<Vec<String>, ConnectorError>;

    /// The stored sentiment of a connection's customer messages, by
    /// message key.
    fn sentiment_scores(
        &self,
        connection: &str,
    ) -> Result<HashMap<String, StoredSentiment>, ConnectorError>;

    /// Store the scores of new or changed messages and drop those of
    /// `removed` messages, at once.
    fn update_sentiment_scores(
        &self,
        connection: &str,
        changed: &[(String, StoredSentiment)],
        removed: &[String],
    ) -> Result<(), ConnectorError>;

    /// Delete a connection's platform data (overrides, matching results
    /// and sentiment scores; the customer list is shared and stays). Returns the rows
    /// removed per table.
    fn forget_connection(
        &self,
        connection: &str,
    ) -> Result<Vec<(&'static str, usize)>, ConnectorError>;
}

/// A connection's records of a kind, typed, with their keys, in the
/// store's order. A record without the fields its kind has is an error
/// that names it.
pub fn read<T: Kind>(
    store: &dyn PlatformStore,
    connection: &str,
    tombstones: Tombstones,
) -> Result<Vec<(String, T)>, ConnectorError> {
    read_as(store, connection, T::KIND, tombstones)
}

/// [`read`] a kind as another type: e.g. whole records as JSON values.
pub fn read_as<T: DeserializeOwned>(
    store: &dyn PlatformStore,
    connection: &str,
    kind: &str,
    tombstones: Tombstones,
) -> Result<Vec<(String, T)>, ConnectorError> {
    let mut out = Vec::new();
    visit_as(store, connection, kind, tombstones, |key, record| {
        out.push((key.to_string(), record));
        Ok(())
    })?;
    Ok(out)
}

/// [`read`] without keeping the records: each is given to `each` (with
/// its key), in the store's order, and dropped.
pub fn visit<T: Kind>(
    store: &dyn PlatformStore,
    connection: &str,
    tombstones: Tombstones,
    each: impl FnMut(&str, T) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    visit_as(store, connection, T::KIND, tombstones, each)
}

fn visit_as<T: DeserializeOwned>(
    store: &dyn PlatformStore,
    connection: &str,
    kind: &str,
    tombstones: Tombstones,
    mut each: impl FnMut(&str, T) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    store.visit_records(connection, kind, tombstones, &mut |record| {
        let typed = serde_json::from_str(record.data).map_err(|e| {
            ConnectorError::Internal(format!(
                "the {kind} record {} of connection {connection} is not what its schema says ({e})",
                record.key
            ))
        })?;
        each(record.key, typed)
    })
}
