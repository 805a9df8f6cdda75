//! A matching run: a connection's organizations matched to the customer
//! list ([`crate::matcher`]), and the match propagated to people and
//! tickets.
//!
//! People take their organization's customer; end users without an
//! organization are matched by their email's domain. A ticket takes its
//! organization's customer, or when it has none, its requester's; messages
//! follow their ticket (the store's `customer_messages`). Each run replaces
//! the connection's results, so a new sync or changed overrides move
//! everything they affect.

use std::collections::HashMap;

use connector_runtime::ConnectorError;

use crate::match_report::{MatchReport, OrgResult};
use crate::matcher::{Matcher, Organization};
use crate::model::{Link, MatchResults, OrgMatch, Outcome, Via};
use crate::overrides::{self, OrgOverrides};
use crate::records::{Account, Conversation, Person};
use crate::store::{read, PlatformStore, Tombstones};

/// Match the connection's organizations, people and tickets to the
/// customer list and replace its results.
pub fn run(store: &dyn PlatformStore, connection: &str) -> Result<MatchReport, ConnectorError> {
    let matcher = Matcher::new(store.customers()?);
    let overrides = overrides::load(store, connection)?;
    let mut orgs = read::<Account>(store, connection, Tombstones::Skip)?;
    orgs.sort_by(|a, b| a.0.cmp(&b.0));
    // Every person, tombstones included: a deleted user's tickets still
    // belong to their company.
    let people = read::<Person>(store, connection, Tombstones::Include)?;
    let previous = store.matching_results(connection)?;
    let previous_orgs: HashMap<&str, Option<&str>> = previous
        .organizations
        .iter()
        .map(|o| (o.org_key.as_str(), o.decision.outcome.customer_id()))
        .collect();
    let previous_tickets = Link::customers_by_key(&previous.conversations);

    let mut report = MatchReport {
        rerun: !previous.organizations.is_empty() || !previous.conversations.is_empty(),
        customer_labels: matcher.customer_labels(),
        ..MatchReport::default()
    };
    let none = OrgOverrides::default();
    for (key, account) in orgs {
        let org = Organization {
            key,
            name: account.name,
            domains: account.domains.unwrap_or_default(),
        };
        let decision = matcher.organization(&org, overrides.get(&org.key).unwrap_or(&none));
        let before = previous_orgs.get(org.key.as_str()).copied().flatten();
        let after = decision.outcome.customer_id();
        if report.rerun && before != after {
            report.changed_organizations.push((
                org.key.clone(),
                org.name.clone().unwrap_or_default(),
                before.map(str::to_string),
                after.map(str::to_string),
            ));
        }
        report.organizations.push(OrgResult { org, decision });
    }
    let org_customer: HashMap<&str, &str> = report
        .organizations
        .iter()
        .filter_map(|r| Some((r.org.key.as_str(), r.decision.outcome.customer_id()?)))
        .collect();

    let mut person_links = Vec::new();
    for (key, person) in people {
        match (&person.organization_id, person.role.as_deref()) {
            (Some(org), _) => {
                if let Some(customer) = org_customer.get(org.as_str()) {
                    person_links.push(link(key, customer, Via::Organization));
                    report.people_by_organization += 1;
                }
            }
            (None, Some("end-user") | None) => {
                let decision = matcher.email(person.email.as_deref());
                match decision.outcome {
                    Outcome::Matched { customer_id, .. } => {
                        person_links.push(link(key, &customer_id, Via::EmailDomain));
                        report.people_by_email += 1;
                    }
                    Outcome::Ambiguous => {
                        *report.ambiguous_email.entry(decision.reason).or_default() += 1;
                    }
                    Outcome::Unmatched => report.people_unmatched += 1,
                }
            }
            (None, Some(_)) => {}
        }
    }
    let person_customer = Link::customers_by_key(&person_links);

    let tickets = read::<Conversation>(store, connection, Tombstones::Skip)?;
    report.tickets = tickets.len();
    let ticket_links: Vec<Link> = tickets
        .into_iter()
        .filter_map(|(key, ticket)| match &ticket.organization_id {
            Some(org) => Some(link(
                key,
                org_customer.get(org.as_str())?,
                Via::Organization,
            )),
            None => {
                let requester = ticket.requester_id.as_deref()?;
                Some(link(key, person_customer.get(requester)?, Via::Requester))
            }
        })
        .collect();
    report.tickets_attributed = ticket_links.len();
    let now = Link::customers_by_key(&ticket_links);
    report.tickets_moved = now
        .iter()
        .filter(|(k, c)| previous_tickets.get(*k) != Some(*c))
        .count()
        + previous_tickets
            .keys()
            .filter(|k| !now.contains_key(*k))
            .count();

    let results = MatchResults {
        organizations: report
            .organizations
            .iter()
            .map(|r| OrgMatch {
                org_key: r.org.key.clone(),
                org_name: r.org.name.clone(),
                decision: r.decision.clone(),
            })
            .collect(),
        people: person_links,
        conversations: ticket_links,
    };
    store.replace_matching_results(connection, &results)?;
    report.organizations.sort_by_key(|r| {
        (
            r.decision.outcome.status(),
            r.org.name.clone(),
            r.org.key.clone(),
        )
    });
    Ok(report)
}

fn link(key: String, customer_id: &str, via: Via) -> Link {
    Link {
        key,
        customer_id: customer_id.to_string(),
        via,
    }
}
