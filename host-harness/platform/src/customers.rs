//! The platform's customer list and how names and domains are compared.
//!
//! A list is CSV (a header row naming `id`, `name` and `domains`; several
//! domains in one cell are separated by `;`, `,`, `|` or spaces) or JSON
//! (an array of objects, one object, or JSON Lines; `domains` an array or
//! such a string). It is global to the store: importing replaces it for
//! every connection.

use std::collections::{BTreeMap, BTreeSet};

use connector_runtime::ConnectorError;

use crate::input::{read_rows, text_field};
pub use crate::model::Customer;
use crate::store::PlatformStore;

/// Parse a customer list. Errors name the line or item; a public email
/// domain in a customer's list is dropped with a warning (it would match
/// every company's end users).
pub fn parse_customers(
    text: &str,
    file: &str,
) -> Result<(Vec<Customer>, Vec<String>), ConnectorError> {
    let mut customers = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = BTreeSet::new();
    for (label, row) in read_rows(text, file)? {
        let id =
            text_field(&row, "id").ok_or_else(|| ConnectorError::config(&label, "missing `id`"))?;
        let name = text_field(&row, "name").ok_or_else(|| {
            ConnectorError::config(&label, format!("customer {id}: missing `name`"))
        })?;
        if !seen.insert(id.clone()) {
            return Err(ConnectorError::config(
                &label,
                format!("customer id {id} appears twice"),
            ));
        }
        let raw_domains: Vec<String> = match row.get("domains") {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            Some(serde_json::Value::String(s)) => s
                .split([';', ',', '|', ' ', '\t', '\n'])
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let mut domains = BTreeSet::new();
        for raw in raw_domains.iter().filter(|d| !d.trim().is_empty()) {
            let domain = normalize_domain(raw).ok_or_else(|| {
                ConnectorError::config(
                    &label,
                    format!("customer {id}: `{raw}` is not a domain name"),
                )
            })?;
            if is_public_email_domain(&domain) {
                warnings.push(format!(
                    "{label}: customer {id}: {domain} is a public email domain; it is not used for matching"
                ));
            } else {
                domains.insert(domain);
            }
        }
        customers.push(Customer {
            id,
            name,
            domains: domains.into_iter().collect(),
        });
    }
    Ok((customers, warnings))
}

/// What an import changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Customers new to the database.
    pub added: usize,
    /// Customers whose name or domains changed.
    pub updated: usize,
    /// Customers as they were.
    pub unchanged: usize,
    /// Customers no longer in the list, deleted.
    pub removed: usize,
}

/// Replace the store's customer list (shared by every connection); says
/// what changed.
pub fn import(
    store: &dyn PlatformStore,
    customers: &[Customer],
) -> Result<ImportSummary, ConnectorError> {
    let before: BTreeMap<String, Customer> = store
        .customers()?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let ids: BTreeSet<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    let mut summary = ImportSummary {
        removed: before
            .keys()
            .filter(|id| !ids.contains(id.as_str()))
            .count(),
        ..ImportSummary::default()
    };
    for customer in customers {
        match before.get(&customer.id) {
            Some(old) if old == customer => summary.unchanged += 1,
            Some(_) => summary.updated += 1,
            None => summary.added += 1,
        }
    }
    store.replace_customers(customers)?;
    Ok(summary)
}

/// Legal forms left out of names, compared after dots are removed
/// (`L.L.C.` is `llc`).
const LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "asa",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pte",
    "pty",
    "sa",
    "sarl",
    "sas",
    "spa",
    "srl",
];

/// A name as names are compared: lower case, `&` as `and`, punctuation
/// dropped, a leading `the` and trailing legal forms (Inc, LLC, GmbH, Ltd,
/// ...) removed. `"The ACME Company, Inc."` and `"Acme"` both give `acme`.
pub fn normalize_name(name: &str) -> String {
    let spaced: String = name
        .to_lowercase()
        .replace('&', " and ")
        .chars()
        .filter(|c| !matches!(c, '.' | '\'' | '’'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    while words.len() > 1 {
        match words.last() {
            Some(last) if LEGAL_SUFFIXES.contains(last) || *last == "and" => {
                words.pop();
            }
            _ => break,
        }
    }
    words.join(" ")
}

/// A domain as domains are compared: lower case, without scheme, `www.`,
/// port, path or trailing dot; an email address gives its domain. `None`
/// when what remains is not a domain name.
pub fn normalize_domain(text: &str) -> Option<String> {
    let mut d = text.trim().to_lowercase();
    if let Some((_, rest)) = d.split_once("://") {
        d = rest.to_string();
    }
    if let Some((_, domain)) = d.rsplit_once('@') {
        d = domain.to_string();
    }
    let d = d.split(['/', '?', '#', ':']).next().unwrap_or_default();
    let d = d.trim_end_matches('.');
    // Every leading `www.`: normalizing a normalized domain changes nothing.
    let mut d = d;
    while let Some(rest) = d.strip_prefix("www.") {
        d = rest;
    }
    let valid = d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    valid.then(|| d.to_string())
}

/// Domains of free email providers: they say nothing about a person's
/// company, so they never match.
const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "163.com",
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.com",
    "yandex.ru",
    "zoho.com",
];

/// Whether a normalized domain is a free email provider's.
pub fn is_public_email_domain(domain: &str) -> bool {
    // Also the big providers' country domains: yahoo.co.uk, hotmail.fr.
    let country_variant = domain.split_once('.').is_some_and(|(first, suffix)| {
        matches!(first, "gmail" | "hotmail" | "yahoo" | "outlook" | "live")
            && suffix.split('.').count() <= 2
            && suffix.split('.').all(|label| label.len() <= 3)
    });
    PUBLIC_EMAIL_DOMAINS.contains(&domain) || country_variant
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_case_punctuation_and_legal_forms() {
        assert_eq!(normalize_name("The ACME Company, Inc."), "acme");
        assert_eq!(normalize_name("Acme"), "acme");
        assert_eq!(normalize_name("acme, L.L.C."), "acme");
        assert_eq!(normalize_name("Müller GmbH"), "müller");
        assert_eq!(normalize_name("Smith & Co."), "smith");
        assert_eq!(normalize_name("Globex Co., Ltd."), "globex");
        assert_eq!(normalize_name("O'Reilly Media"), "oreilly media");
        // What distinguishes companies stays.
        assert_eq!(normalize_name("Acme Europe GmbH"), "acme europe");
        assert_eq!(normalize_name("Initech Labs"), "initech labs");
        // A name made only of a legal form keeps it.
        assert_eq!(normalize_name("Limited"), "limited");
        assert_eq!(normalize_name("The"), "the");
    }

    #[test]
    fn domains_are_reduced_to_host_names() {
        assert_eq!(normalize_domain("ACME.com").as_deref(), Some("acme.com"));
        assert_eq!(
            normalize_domain("https://www.acme.com/about?x").as_deref(),
            Some("acme.com")
        );
        assert_eq!(
            normalize_domain("jane@Mail.Acme.com").as_deref(),
            Some("mail.acme.com")
        );
        assert_eq!(normalize_domain("acme.com.").as_deref(), Some("acme.com"));
        assert_eq!(
            normalize_domain("acme.com:443").as_deref(),
            Some("acme.com")
        );
        assert_eq!(normalize_domain("localhost"), None);
        assert_eq!(normalize_domain("not a domain.com"), None);
        assert_eq!(normalize_domain("-bad.com"), None);
        // Found by `input::fuzz::customer_lists_parse_or_name_the_line`:
        // one `www.` was cut, so `www.www.acme.com` was kept as
        // `www.acme.com`, which an organization's `www.acme.com` (normalized
        // to `acme.com`) never matched.
        assert_eq!(
            normalize_domain("https://www.www.acme.com").as_deref(),
            Some("acme.com")
        );
        assert!(is_public_email_domain("gmail.com"));
        assert!(is_public_email_domain("yahoo.co.uk"));
        assert!(!is_public_email_domain("acme.com"));
        assert!(!is_public_email_domain("outlook.acme.com"));
    }

    #[test]
    fn lists_come_as_csv_or_json() {
        let csv = "\u{feff}id,Name,domains\n\
                   acme,\"Acme, Inc.\",\"acme.com; www.acme.co.uk\"\n\
                   \n\
                   globex,Globex,gmail.com\n";
        let (customers, warnings) = parse_customers(csv, "c.csv").unwrap();
        assert_eq!(
            customers[0],
            Customer {
                id: "acme".into(),
                name: "Acme, Inc.".into(),
                domains: vec!["acme.co.uk".into(), "acme.com".into()],
            }
        );
        assert!(customers[1].domains.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("c.csv line 4"), "{warnings:?}");

        let json = r#"[{"id": 7, "name": "Seven", "domains": ["seven.io"]},
                       {"id": "8", "name": "Eight", "domains": "eight.io,8.io"}]"#;
        let (customers, _) = parse_customers(json, "c.json").unwrap();
        assert_eq!(customers[0].id, "7");
        assert_eq!(customers[1].domains, vec!["8.io", "eight.io"]);
        let lines = "{\"id\":\"a\",\"name\":\"A\"}\n{\"id\":\"b\",\"name\":\"B\"}\n";
        assert_eq!(parse_customers(lines, "c.jsonl").unwrap().0.len(), 2);
    }

    #[test]
    fn bad_lists_name_the_line() {
        let err = parse_customers("id,name\na,A\na,Again\n", "c.csv").unwrap_err();
        assert!(err.to_string().contains("c.csv line 3"), "{err}");
        assert!(err.to_string().contains("appears twice"), "{err}");
        let err = parse_customers("id,name\n,Nameless\n", "c.csv").unwrap_err();
        assert!(err.to_string().contains("missing `id`"), "{err}");
        let err = parse_customers("id,name,domains\nx,X,not_a_domain\n", "c.csv").unwrap_err();
        assert!(err.to_string().contains("not a domain"), "{err}");
        let err = parse_customers("[1, 2]", "c.json").unwrap_err();
        assert!(err.to_string().contains("c.json item 1"), "{err}");
    }
}
