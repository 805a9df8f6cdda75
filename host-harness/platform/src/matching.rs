//! Zendesk organizations matched to the platform's customers, and the
//! match propagated to people and tickets.
//!
//! An organization (`account` record) is matched
//!
//! 1. by an override: pinned to a customer, or forbidden to match one (or
//!    any) customer;
//! 2. by domain: each of its `domains` against the customers' domains, the
//!    most specific customer domain winning (`eu.acme.com` is under
//!    `acme.com`, but a customer listing `eu.acme.com` itself is preferred:
//!    subsidiaries). Public email domains never match;
//! 3. by normalized name ([`normalize_name`]), when no domain matched.
//!
//! Several customers on one domain, or a domain and a name pointing to
//! different customers, make the organization *ambiguous* (a name equal to
//! one of the domain's customers settles it); no candidate leaves it
//! *unmatched*. Every outcome carries its reason.
//!
//! People take their organization's customer; end users without an
//! organization are matched by their email's domain. A ticket takes its
//! organization's customer, or when it has none, its requester's; messages
//! follow their ticket (the `customer_messages` view). Each run rewrites the
//! connection's results, so a new sync or changed overrides move everything
//! they affect.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::params;

use crate::customers::{
    is_public_email_domain, normalize_domain, normalize_name, read_rows, text_field, Customer,
};
use connector_runtime::ConnectorError;
use connector_store_sqlite::db::host_error;
use connector_store_sqlite::Database;

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
    /// The name stored in `customer_matches.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Override => "override",
            Method::Domain => "domain",
            Method::DomainAndName => "domain+name",
            Method::Name => "name",
        }
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
    /// The name stored in `customer_matches.status`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Matched { .. } => "matched",
            Outcome::Unmatched => "unmatched",
            Outcome::Ambiguous => "ambiguous",
        }
    }

    /// The matched customer, if any.
    pub fn customer_id(&self) -> Option<&str> {
        match self {
            Outcome::Matched { customer_id, .. } => Some(customer_id),
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

/// What matching needs of an organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    /// The record key (Zendesk id).
    pub key: String,
    /// Its name.
    pub name: Option<String>,
    /// Its domains, as synced.
    pub domains: Vec<String>,
}

/// The overrides of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgOverrides {
    /// The customer it must match.
    pub pin: Option<String>,
    /// Customers it must not match; `*` forbids any match.
    pub forbid: BTreeSet<String>,
}

/// The customer list, indexed for matching.
pub struct Matcher {
    customers: BTreeMap<String, Customer>,
    by_domain: HashMap<String, BTreeSet<String>>,
    by_name: HashMap<String, BTreeSet<String>>,
}

impl Matcher {
    /// Index a customer list.
    pub fn new(customers: Vec<Customer>) -> Self {
        let mut by_domain: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut by_name: HashMap<String, BTreeSet<String>> = HashMap::new();
        for c in &customers {
            for d in &c.domains {
                by_domain.entry(d.clone()).or_default().insert(c.id.clone());
            }
            by_name
                .entry(normalize_name(&c.name))
                .or_default()
                .insert(c.id.clone());
        }
        Matcher {
            customers: customers.into_iter().map(|c| (c.id.clone(), c)).collect(),
            by_domain,
            by_name,
        }
    }

    /// `Name (id)` of a customer.
    pub fn label(&self, id: &str) -> String {
        match self.customers.get(id) {
            Some(c) => format!("{} ({id})", c.name),
            None => id.to_string(),
        }
    }

    fn labels<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> String {
        ids.into_iter()
            .map(|id| self.label(id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The most specific customer domain that is `domain` or a parent of
    /// it, with its customers.
    fn domain_customers(&self, domain: &str) -> Option<(&str, &BTreeSet<String>)> {
        let mut rest = domain;
        loop {
            if let Some((d, ids)) = self.by_domain.get_key_value(rest) {
                return Some((d.as_str(), ids));
            }
            rest = rest.split_once('.')?.1;
            if !rest.contains('.') {
                return None;
            }
        }
    }

    /// Match an organization.
    pub fn organization(&self, org: &Organization, overrides: &OrgOverrides) -> Decision {
        if let Some(pin) = &overrides.pin {
            return if self.customers.contains_key(pin) {
                Decision {
                    outcome: Outcome::Matched {
                        customer_id: pin.clone(),
                        method: Method::Override,
                    },
                    reason: format!("pinned to {} by an override", self.label(pin)),
                }
            } else {
                unmatched(format!(
                    "an override pins it to customer {pin}, which is not in the customer list"
                ))
            };
        }
        if overrides.forbid.contains("*") {
            return unmatched("an override forbids matching it".into());
        }
        let allowed = |id: &String| !overrides.forbid.contains(id);
        let mut forbidden = BTreeSet::new();
        let mut notes = Vec::new();

        // By domain: each organization domain to its most specific customer domain.
        let mut via_domain: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut domains: Vec<String> = org
            .domains
            .iter()
            .filter_map(|d| normalize_domain(d))
            .collect();
        domains.sort();
        domains.dedup();
        for domain in &domains {
            if is_public_email_domain(domain) {
                notes.push(format!("{domain} is a public email domain"));
                continue;
            }
            if let Some((customer_domain, ids)) = self.domain_customers(domain) {
                let shown = if customer_domain == domain {
                    domain.clone()
                } else {
                    format!("{domain} (under {customer_domain})")
                };
                for id in ids {
                    if allowed(id) {
                        via_domain
                            .entry(shown.clone())
                            .or_default()
                            .insert(id.clone());
                    } else {
                        forbidden.insert(id.clone());
                    }
                }
            }
        }
        let by_domain: BTreeSet<String> = via_domain.values().flatten().cloned().collect();

        // By name.
        let name = org.name.as_deref().unwrap_or_default();
        let normalized = normalize_name(name);
        let mut by_name = BTreeSet::new();
        let named = self
            .by_name
            .get(&normalized)
            .filter(|_| !normalized.is_empty());
        for id in named.into_iter().flatten() {
            if allowed(id) {
                by_name.insert(id.clone());
            } else {
                forbidden.insert(id.clone());
            }
        }
        if !forbidden.is_empty() {
            notes.push(format!(
                "an override forbids {}",
                self.labels(forbidden.iter())
            ));
        }

        let domain_text = || {
            via_domain
                .iter()
                .map(|(d, ids)| format!("{d}: {}", self.labels(ids)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let both: BTreeSet<&String> = by_domain.intersection(&by_name).collect();
        let decision = match (by_domain.len(), by_name.len()) {
            (1, _) if by_name.is_empty() || both.len() == 1 => {
                let id = by_domain.first().expect("one").clone();
                matched(id, Method::Domain, format!("domain {}", domain_text()))
            }
            (1, _) => Decision {
                outcome: Outcome::Ambiguous,
                reason: format!(
                    "the domain points to {} but the name to {}",
                    domain_text(),
                    self.labels(by_name.iter())
                ),
            },
            (n, _) if n > 1 && both.len() == 1 => {
                let id = (*both.first().expect("one")).clone();
                let reason = format!(
                    "its domains point to several customers ({}); the name matches {}",
                    domain_text(),
                    self.label(&id)
                );
                matched(id, Method::DomainAndName, reason)
            }
            (n, _) if n > 1 => Decision {
                outcome: Outcome::Ambiguous,
                reason: format!("its domains point to several customers: {}", domain_text()),
            },
            (_, 1) => {
                let id = by_name.first().expect("one").clone();
                let reason = format!(
                    "name \"{name}\" matches \"{}\" (normalized: \"{normalized}\")",
                    self.customers[&id].name
                );
                matched(id, Method::Name, reason)
            }
            (_, n) if n > 1 => Decision {
                outcome: Outcome::Ambiguous,
                reason: format!(
                    "name \"{name}\" matches several customers: {}",
                    self.labels(by_name.iter())
                ),
            },
            _ => {
                let mut reason = if domains.is_empty() {
                    format!("no domain, and no customer named like \"{name}\"")
                } else {
                    format!(
                        "no customer has domain {}, nor a name like \"{name}\"",
                        domains.join(", ")
                    )
                };
                if let Some(close) = self.closest_name(&normalized) {
                    reason.push_str(&format!(" (closest name: {})", self.label(close)));
                }
                unmatched(reason)
            }
        };
        with_notes(decision, &notes)
    }

    /// A customer whose normalized name is close to `normalized` (a typo or
    /// an extra word away), as a hint in the reason of an unmatched
    /// organization; never a match.
    fn closest_name(&self, normalized: &str) -> Option<&String> {
        if normalized.chars().count() < 4 {
            return None;
        }
        self.by_name
            .iter()
            .filter_map(|(name, ids)| {
                let distance = edit_distance(name, normalized);
                let word_prefix = name.starts_with(&format!("{normalized} "))
                    || normalized.starts_with(&format!("{name} "));
                let limit = (normalized.chars().count() / 5).max(1);
                (distance <= limit || word_prefix).then(|| (distance, ids.first()))
            })
            .min()
            .and_then(|(_, id)| id)
    }

    /// Match an end user by their email's domain.
    pub fn email(&self, email: Option<&str>) -> Decision {
        let Some(domain) = email.and_then(normalize_domain) else {
            return unmatched("no email address".into());
        };
        if is_public_email_domain(&domain) {
            return unmatched(format!("{domain} is a public email domain"));
        }
        match self.domain_customers(&domain) {
            None => unmatched(format!("no customer has domain {domain}")),
            Some((_, ids)) if ids.len() == 1 => {
                let id = ids.first().expect("one").clone();
                matched(id, Method::Domain, format!("email domain {domain}"))
            }
            Some((shared, ids)) => Decision {
                outcome: Outcome::Ambiguous,
                reason: format!(
                    "domain {shared} is listed by several customers: {}",
                    self.labels(ids.iter())
                ),
            },
        }
    }
}

fn matched(customer_id: String, method: Method, reason: String) -> Decision {
    Decision {
        outcome: Outcome::Matched {
            customer_id,
            method,
        },
        reason,
    }
}

fn unmatched(reason: String) -> Decision {
    Decision {
        outcome: Outcome::Unmatched,
        reason,
    }
}

fn with_notes(mut decision: Decision, notes: &[String]) -> Decision {
    for note in notes {
        decision.reason.push_str("; ");
        decision.reason.push_str(note);
    }
    decision
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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

/// Parse an overrides file: CSV with the columns `organization`, `action`
/// (`pin` or `forbid`) and `customer` (empty with `forbid`: any customer),
/// or JSON objects with the same fields.
pub fn parse_overrides(text: &str, file: &str) -> Result<Vec<OverrideRule>, ConnectorError> {
    let mut rules: Vec<OverrideRule> = Vec::new();
    for (label, row) in read_rows(text, file)? {
        let org_key = text_field(&row, "organization")
            .ok_or_else(|| ConnectorError::config(&label, "missing `organization` (its id)"))?;
        let action = text_field(&row, "action")
            .unwrap_or_default()
            .to_lowercase();
        let customer = text_field(&row, "customer");
        let customer_id = match (action.as_str(), customer) {
            ("pin", Some(c)) if c != "*" => c,
            ("pin", _) => {
                return Err(ConnectorError::config(
                    &label,
                    "`pin` needs the `customer` to pin the organization to",
                ))
            }
            ("forbid", c) => c.unwrap_or_else(|| "*".into()),
            (other, _) => {
                return Err(ConnectorError::config(
                    &label,
                    format!("action `{other}`: use `pin` or `forbid`"),
                ))
            }
        };
        let rule = OverrideRule {
            org_key,
            action,
            customer_id,
        };
        if rules.contains(&rule) {
            continue;
        }
        let OverrideRule {
            org_key,
            action,
            customer_id,
        } = &rule;
        let conflict = rules.iter().find(|r| {
            r.org_key == *org_key
                && ((action == "pin" && r.action == "pin")
                    || (r.customer_id == *customer_id && r.action != *action))
        });
        if let Some(other) = conflict {
            return Err(ConnectorError::config(
                &label,
                format!(
                    "organization {org_key} already has `{} {}`",
                    other.action, other.customer_id
                ),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Replace a connection's overrides. Customers must be in the list;
/// organizations not synced (yet) give warnings.
pub fn replace_overrides(
    db: &Database,
    connection: &str,
    rules: &[OverrideRule],
) -> Result<Vec<String>, ConnectorError> {
    let customers: BTreeSet<String> = crate::customers::load(db)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let orgs: BTreeSet<String> = crate::query(
        db,
        "SELECT key FROM records WHERE connection = ?1 AND kind = 'account' AND deleted = 0",
        [connection],
        |row| row.get(0),
    )?
    .into_iter()
    .collect();
    let mut warnings = Vec::new();
    for rule in rules {
        if rule.customer_id != "*" && !customers.contains(&rule.customer_id) {
            return Err(ConnectorError::config(
                "--overrides",
                format!(
                    "organization {}: no customer {} in the customer list; import the list first",
                    rule.org_key, rule.customer_id
                ),
            ));
        }
        if !orgs.contains(&rule.org_key) {
            warnings.push(format!(
                "override of organization {}: no such organization synced (yet)",
                rule.org_key
            ));
        }
    }
    let mut conn = db.lock();
    let tx = conn.transaction().map_err(host_error)?;
    tx.execute(
        "DELETE FROM customer_overrides WHERE connection = ?1",
        [connection],
    )
    .map_err(host_error)?;
    for rule in rules {
        tx.execute(
            "INSERT INTO customer_overrides (connection, org_key, action, customer_id)
             VALUES (?1, ?2, ?3, ?4)",
            params![connection, rule.org_key, rule.action, rule.customer_id],
        )
        .map_err(host_error)?;
    }
    tx.commit().map_err(host_error)?;
    Ok(warnings)
}

fn load_overrides(
    db: &Database,
    connection: &str,
) -> Result<HashMap<String, OrgOverrides>, ConnectorError> {
    let rows = crate::query(
        db,
        "SELECT org_key, action, customer_id FROM customer_overrides WHERE connection = ?1",
        [connection],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get(2)?,
            ))
        },
    )?;
    let mut overrides: HashMap<String, OrgOverrides> = HashMap::new();
    for (org, action, customer) in rows {
        let entry = overrides.entry(org).or_default();
        if action == "pin" {
            entry.pin = Some(customer);
        } else {
            entry.forbid.insert(customer);
        }
    }
    Ok(overrides)
}

/// One organization's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgResult {
    /// The organization.
    pub org: Organization,
    /// What was decided.
    pub decision: Decision,
}

/// What a matching run found and changed.
#[derive(Clone, Debug, Default)]
pub struct MatchReport {
    /// Every organization, ambiguous first, then unmatched, then matched.
    pub organizations: Vec<OrgResult>,
    /// People matched through their organization.
    pub people_by_organization: usize,
    /// End users without an organization matched by email domain.
    pub people_by_email: usize,
    /// End users without an organization left unmatched.
    pub people_unmatched: usize,
    /// Ambiguous email domains: reason and number of people.
    pub ambiguous_email: BTreeMap<String, usize>,
    /// Tickets (not deleted).
    pub tickets: usize,
    /// Tickets with a customer.
    pub tickets_attributed: usize,
    /// Whether the connection had results before this run.
    pub rerun: bool,
    /// Organizations whose customer changed: key, name, before, after.
    pub changed_organizations: Vec<(String, String, Option<String>, Option<String>)>,
    /// Tickets whose customer changed (gained, lost or switched).
    pub tickets_moved: usize,
    /// `Name (id)` of every customer, for display.
    pub customer_labels: BTreeMap<String, String>,
}

impl MatchReport {
    /// Organizations with this status (`matched`, `unmatched`, `ambiguous`).
    pub fn count(&self, status: &str) -> usize {
        self.organizations
            .iter()
            .filter(|r| r.decision.outcome.status() == status)
            .count()
    }
}

/// Match the connection's organizations, people and tickets to the
/// customer list and rewrite its results, in one transaction.
pub fn run(db: &Database, connection: &str) -> Result<MatchReport, ConnectorError> {
    let matcher = Matcher::new(crate::customers::load(db)?);
    let overrides = load_overrides(db, connection)?;
    let orgs = crate::query(
        db,
        "SELECT key, json_extract(data, '$.name'), json_extract(data, '$.domains')
         FROM records WHERE connection = ?1 AND kind = 'account' AND deleted = 0
         ORDER BY key",
        [connection],
        |row| {
            let domains: Option<String> = row.get(2)?;
            Ok(Organization {
                key: row.get(0)?,
                name: row.get(1)?,
                domains: domains
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or_default(),
            })
        },
    )?;
    // Every person, tombstones included: a deleted user's tickets still
    // belong to their company.
    let people = crate::query(
        db,
        "SELECT key, json_extract(data, '$.email'),
                CAST(json_extract(data, '$.organization_id') AS TEXT), json_extract(data, '$.role')
         FROM records WHERE connection = ?1 AND kind = 'person'",
        [connection],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        },
    )?;
    let previous_orgs: HashMap<String, Option<String>> = crate::query(
        db,
        "SELECT org_key, customer_id FROM customer_matches WHERE connection = ?1",
        [connection],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?
    .into_iter()
    .collect();
    let previous_tickets: HashMap<String, String> = crate::query(
        db,
        "SELECT conversation_key, customer_id FROM customer_conversations WHERE connection = ?1",
        [connection],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?
    .into_iter()
    .collect();

    let mut report = MatchReport {
        rerun: !previous_orgs.is_empty() || !previous_tickets.is_empty(),
        customer_labels: matcher
            .customers
            .keys()
            .map(|id| (id.clone(), matcher.label(id)))
            .collect(),
        ..MatchReport::default()
    };
    let none = OrgOverrides::default();
    for org in orgs {
        let decision = matcher.organization(&org, overrides.get(&org.key).unwrap_or(&none));
        let before = previous_orgs.get(&org.key).cloned().flatten();
        let after = decision.outcome.customer_id().map(str::to_string);
        if report.rerun && before != after {
            report.changed_organizations.push((
                org.key.clone(),
                org.name.clone().unwrap_or_default(),
                before,
                after,
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
    for (key, email, org, role) in &people {
        match (org, role.as_deref()) {
            (Some(org), _) => {
                if let Some(customer) = org_customer.get(org.as_str()) {
                    person_links.push((key, customer.to_string(), "organization"));
                    report.people_by_organization += 1;
                }
            }
            (None, Some("end-user") | None) => {
                let decision = matcher.email(email.as_deref());
                match decision.outcome {
                    Outcome::Matched { customer_id, .. } => {
                        person_links.push((key, customer_id, "email_domain"));
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

    let mut conn = db.lock();
    let tx = conn.transaction().map_err(host_error)?;
    crate::clear(&tx, &crate::RESULTS, connection)?;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO customer_matches
                 (connection, org_key, org_name, status, customer_id, method, reason, matched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, unixepoch())",
            )
            .map_err(host_error)?;
        for r in &report.organizations {
            let method = match &r.decision.outcome {
                Outcome::Matched { method, .. } => Some(method.as_str()),
                _ => None,
            };
            insert
                .execute(params![
                    connection,
                    r.org.key,
                    r.org.name,
                    r.decision.outcome.status(),
                    r.decision.outcome.customer_id(),
                    method,
                    r.decision.reason,
                ])
                .map_err(host_error)?;
        }
        let mut insert = tx
            .prepare(
                "INSERT INTO customer_people (connection, person_key, customer_id, via)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(host_error)?;
        for (key, customer, via) in &person_links {
            insert
                .execute(params![connection, key, customer, via])
                .map_err(host_error)?;
        }
    }
    tx.execute(
        "INSERT INTO customer_conversations (connection, conversation_key, customer_id, via)
         SELECT ?1, c.key,
                CASE WHEN c.org IS NOT NULL THEN m.customer_id ELSE p.customer_id END,
                CASE WHEN c.org IS NOT NULL THEN 'organization' ELSE 'requester' END
         FROM (SELECT key, json_extract(data, '$.organization_id') AS org,
                      json_extract(data, '$.requester_id') AS requester
               FROM records
               WHERE connection = ?1 AND kind = 'conversation' AND deleted = 0) c
         LEFT JOIN customer_matches m
           ON m.connection = ?1 AND m.org_key = c.org AND m.status = 'matched'
         LEFT JOIN customer_people p ON p.connection = ?1 AND p.person_key = c.requester
         WHERE (CASE WHEN c.org IS NOT NULL THEN m.customer_id ELSE p.customer_id END) IS NOT NULL",
        [connection],
    )
    .map_err(host_error)?;
    report.tickets = tx
        .query_row(
            "SELECT COUNT(*) FROM records WHERE connection = ?1 AND kind = 'conversation' AND deleted = 0",
            [connection],
            |row| row.get::<_, i64>(0),
        )
        .map_err(host_error)? as usize;
    let tickets: Vec<(String, String)> = {
        let mut stmt = tx
            .prepare(
                "SELECT conversation_key, customer_id FROM customer_conversations
                 WHERE connection = ?1",
            )
            .map_err(host_error)?;
        let rows = stmt
            .query_map([connection], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
        rows.map_err(host_error)?
    };
    tx.commit().map_err(host_error)?;
    report.tickets_attributed = tickets.len();
    let now: HashMap<&str, &str> = tickets
        .iter()
        .map(|(k, c)| (k.as_str(), c.as_str()))
        .collect();
    report.tickets_moved = now
        .iter()
        .filter(|(k, c)| previous_tickets.get(**k).map(String::as_str) != Some(**c))
        .count()
        + previous_tickets
            .keys()
            .filter(|k| !now.contains_key(k.as_str()))
            .count();
    report.organizations.sort_by_key(|r| {
        let rank = match r.decision.outcome {
            Outcome::Ambiguous => 0,
            Outcome::Unmatched => 1,
            Outcome::Matched { .. } => 2,
        };
        (rank, r.org.name.clone(), r.org.key.clone())
    });
    Ok(report)
}

/// Connections that have matching results (to re-match after an import).
pub fn matched_connections(db: &Database) -> Result<Vec<String>, ConnectorError> {
    crate::query(
        db,
        "SELECT connection FROM customer_matches
         UNION SELECT connection FROM customer_people
         UNION SELECT connection FROM customer_conversations
         ORDER BY 1",
        [],
        |row| row.get(0),
    )
}

/// The report people read: every organization with its outcome and
/// reason, then totals and what changed since the previous run.
pub fn report_text(report: &MatchReport) -> String {
    let label = |id: &Option<String>| match id {
        Some(id) => report
            .customer_labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.clone()),
        None => "-".into(),
    };
    let rows: Vec<Vec<String>> = report
        .organizations
        .iter()
        .map(|r| {
            let (customer, method) = match &r.decision.outcome {
                Outcome::Matched {
                    customer_id,
                    method,
                } => (label(&Some(customer_id.clone())), method.as_str()),
                _ => ("-".into(), "-"),
            };
            vec![
                r.org.key.clone(),
                r.org.name.clone().unwrap_or_default(),
                r.decision.outcome.status().into(),
                customer,
                method.into(),
                r.decision.reason.clone(),
            ]
        })
        .collect();
    let mut out = crate::text::table(
        &[
            "ORGANIZATION",
            "NAME",
            "STATUS",
            "CUSTOMER",
            "METHOD",
            "REASON",
        ],
        &rows,
    );
    let mut methods: BTreeMap<Method, usize> = BTreeMap::new();
    for r in &report.organizations {
        if let Outcome::Matched { method, .. } = r.decision.outcome {
            *methods.entry(method).or_default() += 1;
        }
    }
    let methods: Vec<String> = methods
        .iter()
        .map(|(m, n)| format!("{n} by {}", m.as_str()))
        .collect();
    out.push_str(&format!(
        "\norganizations: {} matched ({}), {} unmatched, {} ambiguous\n",
        report.count("matched"),
        if methods.is_empty() {
            "-".into()
        } else {
            methods.join(", ")
        },
        report.count("unmatched"),
        report.count("ambiguous"),
    ));
    out.push_str(&format!(
        "people: {} through their organization; end users without one: {} matched by email domain, {} unmatched, {} ambiguous\n",
        report.people_by_organization,
        report.people_by_email,
        report.people_unmatched,
        report.ambiguous_email.values().sum::<usize>(),
    ));
    for (reason, n) in &report.ambiguous_email {
        out.push_str(&format!("  ambiguous: {n} people: {reason}\n"));
    }
    out.push_str(&format!(
        "tickets: {} of {} attributed to a customer\n",
        report.tickets_attributed, report.tickets
    ));
    if report.rerun {
        out.push_str(&format!(
            "since the last run: {} organizations changed customer, {} tickets moved\n",
            report.changed_organizations.len(),
            report.tickets_moved
        ));
        for (key, name, before, after) in &report.changed_organizations {
            out.push_str(&format!(
                "  {key} {name}: {} -> {}\n",
                label(before),
                label(after)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str, name: &str, domains: &[&str]) -> Customer {
        Customer {
            id: id.into(),
            name: name.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn org(name: &str, domains: &[&str]) -> Organization {
        Organization {
            key: "1".into(),
            name: Some(name.into()),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn matcher() -> Matcher {
        Matcher::new(vec![
            customer("acme", "Acme, Inc.", &["acme.com"]),
            customer("acme-eu", "Acme Europe GmbH", &["eu.acme.com"]),
            customer("globex", "Globex", &["globex.com", "shared.io"]),
            customer("globex-corp", "Globex Corp", &[]),
            customer("initech", "Initech", &["shared.io"]),
            customer("hooli", "Hooli", &[]),
        ])
    }

    fn decide(o: &Organization) -> Decision {
        matcher().organization(o, &OrgOverrides::default())
    }

    fn customer_of(d: &Decision) -> Option<&str> {
        d.outcome.customer_id()
    }

    #[test]
    fn domains_match_the_most_specific_customer() {
        let d = decide(&org("Whatever", &["ACME.com"]));
        assert_eq!(customer_of(&d), Some("acme"), "{d:?}");
        assert_eq!(d.reason, "domain acme.com: Acme, Inc. (acme)");
        // A subdomain of the parent's domain goes to the parent...
        let d = decide(&org("Acme US", &["us.acme.com"]));
        assert_eq!(customer_of(&d), Some("acme"), "{d:?}");
        assert!(d.reason.contains("under acme.com"), "{d:?}");
        // ...unless a subsidiary lists it.
        let d = decide(&org("Acme EU", &["mail.eu.acme.com"]));
        assert_eq!(customer_of(&d), Some("acme-eu"), "{d:?}");
    }

    #[test]
    fn shared_domains_are_ambiguous_unless_the_name_settles_it() {
        let d = decide(&org("Shared Services", &["shared.io"]));
        assert_eq!(d.outcome, Outcome::Ambiguous);
        assert!(
            d.reason.contains("Globex (globex), Initech (initech)"),
            "{d:?}"
        );
        let d = decide(&org("Initech LLC", &["shared.io"]));
        assert_eq!(
            d.outcome,
            Outcome::Matched {
                customer_id: "initech".into(),
                method: Method::DomainAndName
            }
        );
    }

    #[test]
    fn a_domain_and_a_name_that_disagree_are_ambiguous() {
        // A subsidiary using its parent's domain, listed as its own customer.
        let d = decide(&org("ACME Europe", &["acme.com"]));
        assert_eq!(d.outcome, Outcome::Ambiguous, "{d:?}");
        assert!(d.reason.contains("Acme Europe GmbH (acme-eu)"), "{d:?}");
        // The name agreeing with the domain is fine.
        let d = decide(&org("Acme LLC", &["acme.com"]));
        assert_eq!(customer_of(&d), Some("acme"));
    }

    #[test]
    fn names_match_when_no_domain_does() {
        let d = decide(&org("HOOLI, Inc.", &[]));
        assert_eq!(
            d.outcome,
            Outcome::Matched {
                customer_id: "hooli".into(),
                method: Method::Name
            }
        );
        assert!(d.reason.contains("normalized: \"hooli\""), "{d:?}");
        // Near-identical names that normalize alike are ambiguous...
        let d = decide(&org("Globex Corporation", &["globex-unknown.com"]));
        assert_eq!(d.outcome, Outcome::Ambiguous, "{d:?}");
        // ...and near-identical ones that do not, unmatched with a hint.
        let d = decide(&org("Hoolie", &[]));
        assert_eq!(d.outcome, Outcome::Unmatched);
        assert!(d.reason.contains("closest name: Hooli (hooli)"), "{d:?}");
        let d = decide(&org("Initech Labs", &[]));
        assert_eq!(d.outcome, Outcome::Unmatched);
        assert!(d.reason.contains("closest name: Initech"), "{d:?}");
        let d = decide(&org("Umbrella", &[]));
        assert_eq!(
            d.reason,
            "no domain, and no customer named like \"Umbrella\""
        );
    }

    #[test]
    fn public_email_domains_never_match() {
        let m = Matcher::new(vec![customer("g", "Gmail fans", &["gmail.com"])]);
        let d = m.organization(
            &org("Freelancers", &["gmail.com"]),
            &OrgOverrides::default(),
        );
        assert_eq!(d.outcome, Outcome::Unmatched);
        assert!(d.reason.contains("public email domain"), "{d:?}");
        assert_eq!(m.email(Some("jo@gmail.com")).outcome, Outcome::Unmatched);
    }

    #[test]
    fn overrides_pin_and_forbid() {
        let m = matcher();
        let pin = OrgOverrides {
            pin: Some("hooli".into()),
            ..OrgOverrides::default()
        };
        let d = m.organization(&org("Acme", &["acme.com"]), &pin);
        assert_eq!(
            d.outcome,
            Outcome::Matched {
                customer_id: "hooli".into(),
                method: Method::Override
            }
        );
        let forbid_acme = OrgOverrides {
            forbid: ["acme".to_string()].into(),
            ..OrgOverrides::default()
        };
        let d = m.organization(&org("Acme Europe", &["acme.com"]), &forbid_acme);
        assert_eq!(customer_of(&d), Some("acme-eu"), "{d:?}");
        assert!(
            d.reason.contains("an override forbids Acme, Inc. (acme)"),
            "{d:?}"
        );
        let forbid_all = OrgOverrides {
            forbid: ["*".to_string()].into(),
            ..OrgOverrides::default()
        };
        let d = m.organization(&org("Acme", &["acme.com"]), &forbid_all);
        assert_eq!(d.outcome, Outcome::Unmatched);
        let unknown = OrgOverrides {
            pin: Some("gone".into()),
            ..OrgOverrides::default()
        };
        assert_eq!(
            m.organization(&org("Acme", &["acme.com"]), &unknown)
                .outcome,
            Outcome::Unmatched
        );
    }

    #[test]
    fn emails_match_by_domain() {
        let m = matcher();
        assert_eq!(
            m.email(Some("Jane@EU.acme.com")).outcome.customer_id(),
            Some("acme-eu")
        );
        assert_eq!(
            m.email(Some("joe@sales.acme.com")).outcome.customer_id(),
            Some("acme")
        );
        assert_eq!(m.email(Some("x@shared.io")).outcome, Outcome::Ambiguous);
        assert_eq!(m.email(Some("x@other.org")).outcome, Outcome::Unmatched);
        assert_eq!(m.email(None).outcome, Outcome::Unmatched);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("hooli", "hoolie"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn override_files_are_checked() {
        let rules = parse_overrides(
            "organization,action,customer\n1,pin,acme\n2,forbid,\n3,FORBID,globex\n",
            "o.csv",
        )
        .unwrap();
        assert_eq!(rules[1].customer_id, "*");
        assert_eq!(rules[2].action, "forbid");
        let err = parse_overrides("organization,action,customer\n1,pin,a\n1,pin,b\n", "o.csv")
            .unwrap_err();
        assert!(err.to_string().contains("o.csv line 3"), "{err}");
        let err = parse_overrides(
            "organization,action,customer\n1,pin,a\n1,forbid,a\n",
            "o.csv",
        )
        .unwrap_err();
        assert!(err.to_string().contains("already has `pin a`"), "{err}");
        let err =
            parse_overrides(r#"[{"organization": 1, "action": "merge"}]"#, "o.json").unwrap_err();
        assert!(err.to_string().contains("use `pin` or `forbid`"), "{err}");
        let err = parse_overrides("organization,action\n1,pin\n", "o.csv").unwrap_err();
        assert!(err.to_string().contains("needs the `customer`"), "{err}");
    }
}
