//! The platform's data as rows, for the store crates: the tables a
//! connection's platform data lives in, and the rows read back into the
//! platform's types (names the platform does not know are refused, with
//! advice). One place for both stores, so that they keep the same facts.

use connector_runtime::{ConnectorError, StoreError};

use crate::model::{Customer, Decision, Link, Method, OrgMatch, Outcome, Status, Via};
use crate::sentiment::stored::StoredSentiment;
use crate::sentiment::Sentiment;

/// The tables of a connection's matching results.
pub const RESULTS: [&str; 3] = [
    "customer_matches",
    "customer_people",
    "customer_conversations",
];

/// The tables of a connection's platform data, as
/// [`crate::PlatformStore::forget_connection`] deletes them.
pub const CONNECTION_TABLES: [&str; 5] = [
    "customer_overrides",
    RESULTS[0],
    RESULTS[1],
    RESULTS[2],
    "message_sentiment",
];

/// The link tables of matching results, with their key column.
pub const LINK_TABLES: [(&str, &str); 2] = [
    ("customer_people", "person_key"),
    ("customer_conversations", "conversation_key"),
];

/// A stored value that is none of the names the platform writes.
fn unknown(table: &str, value: &str) -> ConnectorError {
    StoreError::refused(
        format!("{table} holds `{value}`, which this connector-host does not know"),
        "match the connection again",
    )
    .into()
}

/// Customers from rows of (id, name, domain) sorted by id then domain, a
/// customer without domains having one row with none.
pub fn customers(rows: Vec<(String, String, Option<String>)>) -> Vec<Customer> {
    let mut customers: Vec<Customer> = Vec::new();
    for (id, name, domain) in rows {
        if customers.last().is_none_or(|c| c.id != id) {
            customers.push(Customer {
                id,
                name,
                domains: Vec::new(),
            });
        }
        if let (Some(domain), Some(last)) = (domain, customers.last_mut()) {
            last.domains.push(domain);
        }
    }
    customers
}

/// A `customer_matches` row.
pub struct MatchRow {
    /// `org_key`.
    pub org_key: String,
    /// `org_name`.
    pub org_name: Option<String>,
    /// `status`.
    pub status: String,
    /// `customer_id`.
    pub customer_id: Option<String>,
    /// `method`.
    pub method: Option<String>,
    /// `reason`.
    pub reason: String,
}

impl MatchRow {
    /// The organization's match the row keeps.
    pub fn org_match(self) -> Result<OrgMatch, ConnectorError> {
        let method = match &self.method {
            Some(name) => Some(
                Method::from_name(name).ok_or_else(|| unknown("customer_matches.method", name))?,
            ),
            None => None,
        };
        let outcome = Status::from_name(&self.status)
            .and_then(|s| Outcome::from_parts(s, self.customer_id, method))
            .ok_or_else(|| unknown("customer_matches.status", &self.status))?;
        Ok(OrgMatch {
            org_key: self.org_key,
            org_name: self.org_name,
            decision: Decision {
                outcome,
                reason: self.reason,
            },
        })
    }
}

/// A row of a link table (`table`): (key, customer id, via).
pub fn link(
    table: &str,
    (key, customer_id, via): (String, String, String),
) -> Result<Link, ConnectorError> {
    Ok(Link {
        key,
        customer_id,
        via: Via::from_name(&via).ok_or_else(|| unknown(table, &via))?,
    })
}

/// A `message_sentiment` row: (message key, fingerprint, outcome, compound).
pub fn sentiment(
    (key, fingerprint, outcome, compound): (String, i64, String, Option<f64>),
) -> Result<(String, StoredSentiment), ConnectorError> {
    let Some(sentiment) = Sentiment::from_outcome(&outcome, compound) else {
        return Err(StoreError::refused(
            format!("message_sentiment holds `{outcome}` for message {key}"),
            "delete the connection's rows of message_sentiment; they are computed again",
        )
        .into());
    };
    Ok((
        key,
        StoredSentiment {
            fingerprint,
            sentiment,
        },
    ))
}

/// What replacing the customer list `before` with `after` changes: the ids
/// to delete, and the customers to write (new or different); customers
/// stored as they are stay untouched.
pub fn customer_changes<'a>(
    before: &[Customer],
    after: &'a [Customer],
) -> (Vec<String>, Vec<&'a Customer>) {
    let old: std::collections::BTreeMap<&str, &Customer> =
        before.iter().map(|c| (c.id.as_str(), c)).collect();
    let ids: std::collections::BTreeSet<&str> = after.iter().map(|c| c.id.as_str()).collect();
    let removed = old
        .keys()
        .filter(|id| !ids.contains(*id))
        .map(|id| (*id).to_owned())
        .collect();
    let changed = after
        .iter()
        .filter(|c| old.get(c.id.as_str()) != Some(c))
        .collect();
    (removed, changed)
}
