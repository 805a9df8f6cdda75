//! The matcher: one organization, or one end user's email, against the
//! customer list.
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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::customers::{is_public_email_domain, normalize_domain, normalize_name, Customer};
use crate::model::{Decision, Method, Outcome};
use crate::overrides::OrgOverrides;

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

    /// `Name (id)` of every customer, by id.
    pub fn customer_labels(&self) -> BTreeMap<String, String> {
        self.customers
            .keys()
            .map(|id| (id.clone(), self.label(id)))
            .collect()
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
}
