//! Overrides: organizations pinned to a customer, or forbidden to match
//! one (or any) customer, per connection. A file of rules replaces the
//! stored ones; every later matching run applies them.

use std::collections::{BTreeSet, HashMap};

use connector_runtime::ConnectorError;

use crate::input::{read_rows, text_field};
pub use crate::model::OverrideRule;
use crate::records::Account;
use crate::store::{read, PlatformStore, Tombstones};

/// The overrides of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgOverrides {
    /// The customer it must match.
    pub pin: Option<String>,
    /// Customers it must not match; `*` forbids any match.
    pub forbid: BTreeSet<String>,
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

/// Replace a connection's overrides. Customers must be in the list (an
/// error names `source`, where the rules come from); organizations not
/// synced (yet) give warnings.
pub fn replace_overrides(
    store: &dyn PlatformStore,
    connection: &str,
    rules: &[OverrideRule],
    source: &str,
) -> Result<Vec<String>, ConnectorError> {
    let customers: BTreeSet<String> = store.customers()?.into_iter().map(|c| c.id).collect();
    let orgs: BTreeSet<String> = read::<Account>(store, connection, Tombstones::Skip)?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mut warnings = Vec::new();
    for rule in rules {
        if rule.customer_id != "*" && !customers.contains(&rule.customer_id) {
            return Err(ConnectorError::config(
                source,
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
    store.replace_overrides(connection, rules)?;
    Ok(warnings)
}

/// A connection's stored overrides, by organization.
pub fn load(
    store: &dyn PlatformStore,
    connection: &str,
) -> Result<HashMap<String, OrgOverrides>, ConnectorError> {
    let mut overrides: HashMap<String, OrgOverrides> = HashMap::new();
    for rule in store.overrides(connection)? {
        let entry = overrides.entry(rule.org_key).or_default();
        if rule.action == "pin" {
            entry.pin = Some(rule.customer_id);
        } else {
            entry.forbid.insert(rule.customer_id);
        }
    }
    Ok(overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

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
