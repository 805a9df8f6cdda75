//! The platform's own data, as a `PlatformStore` (the `store` module)
//! keeps it: the customer list, overrides, and what the matching decided.

use std::collections::HashMap;

/// One customer of the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// The platform's id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Normalized domains (see `customers::normalize_domain`),
    /// without public email domains.
    pub domains: Vec<String>,
}

/// One rule of an overrides file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideRule {
    /// The organization's key (Zendesk id).
    pub org_key: String,
    /// `pin` or `forbid`.
    pub action: String,
    /// The customer id; `*` (forbid only) for any customer.
    pub customer_id: String,
}

/// How an organization was matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// Pinned by an override.
    Override,
    /// By one of its domains.
    Domain,
    /// By a domain several customers share, settled by the name.
    DomainAndName,
    /// By normalized name.
    Name,
}

impl Method {
    const ALL: [Method; 4] = [
        Method::Override,
        Method::Domain,
        Method::DomainAndName,
        Method::Name,
    ];

    /// The name stored in `customer_matches.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Override => "override",
            Method::Domain => "domain",
            Method::DomainAndName => "domain+name",
            Method::Name => "name",
        }
    }

    /// The method of a stored name.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Whether an organization was matched: [`Outcome`] without the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Several customers could be meant; none is chosen.
    Ambiguous,
    /// No customer.
    Unmatched,
    /// One customer.
    Matched,
}

impl Status {
    const ALL: [Status; 3] = [Status::Ambiguous, Status::Unmatched, Status::Matched];

    /// The name stored in `customer_matches.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Matched => "matched",
            Status::Unmatched => "unmatched",
            Status::Ambiguous => "ambiguous",
        }
    }

    /// The status of a stored name.
    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of matching one organization or email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// One customer.
    Matched {
        /// The customer's id.
        customer_id: String,
        /// How.
        method: Method,
    },
    /// No customer.
    Unmatched,
    /// Several customers could be meant; none is chosen.
    Ambiguous,
}

impl Outcome {
    /// Matched, unmatched or ambiguous.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Matched { .. } => Status::Matched,
            Outcome::Unmatched => Status::Unmatched,
            Outcome::Ambiguous => Status::Ambiguous,
        }
    }

    /// The matched customer, if any.
    pub fn customer_id(&self) -> Option<&str> {
        match self {
            Outcome::Matched { customer_id, .. } => Some(customer_id),
            _ => None,
        }
    }

    /// The method of a match, if any.
    pub fn method(&self) -> Option<Method> {
        match self {
            Outcome::Matched { method, .. } => Some(*method),
            _ => None,
        }
    }

    /// The outcome of a stored status, customer and method; `None` when
    /// they do not make one.
    pub fn from_parts(
        status: Status,
        customer_id: Option<String>,
        method: Option<Method>,
    ) -> Option<Outcome> {
        match (status, customer_id, method) {
            (Status::Matched, Some(customer_id), Some(method)) => Some(Outcome::Matched {
                customer_id,
                method,
            }),
            (Status::Unmatched, None, None) => Some(Outcome::Unmatched),
            (Status::Ambiguous, None, None) => Some(Outcome::Ambiguous),
            _ => None,
        }
    }
}

/// An outcome with its reason, for people to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What was decided.
    pub outcome: Outcome,
    /// Why, in a sentence.
    pub reason: String,
}

/// What one organization's matching left in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgMatch {
    /// The organization's record key.
    pub org_key: String,
    /// Its name when it was matched.
    pub org_name: Option<String>,
    /// The decision.
    pub decision: Decision,
}

/// Why a person or a ticket has its customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Their (its) organization's customer.
    Organization,
    /// A person without an organization: their email's domain.
    EmailDomain,
    /// A ticket without an organization: its requester's customer.
    Requester,
}

impl Via {
    const ALL: [Via; 3] = [Via::Organization, Via::EmailDomain, Via::Requester];

    /// The name stored in the `via` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Organization => "organization",
            Via::EmailDomain => "email_domain",
            Via::Requester => "requester",
        }
    }

    /// The reason of a stored name.
    pub fn from_name(name: &str) -> Option<Via> {
        Via::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// A person or a ticket with its customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The record key of the person or the ticket.
    pub key: String,
    /// The customer.
    pub customer_id: String,
    /// Why.
    pub via: Via,
}

impl Link {
    /// Each linked key's customer.
    pub fn customers_by_key(links: &[Link]) -> HashMap<&str, &str> {
        links
            .iter()
            .map(|l| (l.key.as_str(), l.customer_id.as_str()))
            .collect()
    }
}

/// A connection's matching results: every organization with its
/// decision, and the people and tickets that have a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchResults {
    /// Every organization (not deleted), matched or not.
    pub organizations: Vec<OrgMatch>,
    /// People with a customer (`via` organization or email domain).
    pub people: Vec<Link>,
    /// Tickets with a customer (`via` organization or requester).
    pub conversations: Vec<Link>,
}
