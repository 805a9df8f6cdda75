//! Fuzz targets of the operator's input files: customer lists and
//! override files (CSV or JSON) and JSON item files, on arbitrary text and
//! on text spelled from the formats' own pieces. Only a value or a config
//! error naming the file may come out. `cargo test` runs each for
//! [`CI_TIME`]; `cargo +nightly bolero test -p connector-platform
//! input::fuzz::<target>` under libFuzzer.

use std::collections::BTreeSet;
use std::time::Duration;

use connector_runtime::ConnectorError;

use super::json_items;
use crate::customers::{is_public_email_domain, normalize_domain, parse_customers};
use crate::matcher::{Matcher, Organization};
use crate::model::Outcome;
use crate::overrides::{parse_overrides, OrgOverrides};

/// How long each target runs under `cargo test`.
const CI_TIME: Duration = Duration::from_millis(1500);

/// The pieces customer lists and override files are made of.
const PIECES: &[&str] = &[
    "id",
    "name",
    "domains",
    "organization",
    "action",
    "customer",
    "pin",
    "forbid",
    "*",
    ",",
    ";",
    "|",
    "\n",
    "\r\n",
    "\"",
    " ",
    "\t",
    "1",
    "42",
    "Acme Inc.",
    "acme.com",
    "www.",
    "https://",
    "@",
    ":8080/x",
    "gmail.com",
    "yahoo.co.uk",
    "-",
    ".",
    "é",
    "\u{feff}",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    "true",
    "1e999",
    "\\u0000",
];

fn spelled(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| PIECES[usize::from(*b) % PIECES.len()])
        .collect()
}

/// A refusal is a config error naming the file (or one of its lines or
/// items), with a message.
fn assert_classified(error: &ConnectorError, file: &str, text: &str) {
    let ConnectorError::Config(fields) = error else {
        panic!("{text:?}: not a config error: {error:?}");
    };
    assert!(!fields.is_empty(), "{text:?}");
    for field in fields {
        assert!(field.field.starts_with(file), "{text:?}: {field:?}");
        assert!(!field.message.is_empty(), "{text:?}");
    }
}

/// Target `customer_lists_parse_or_name_the_line`: a parsed list has
/// unique ids, names, and normalized non-public domains, and a matcher
/// built from it matches an organization on any of its domains (to the
/// one customer listing it, else ambiguously).
#[test]
fn customer_lists_parse_or_name_the_line() {
    bolero::check!()
        .with_type::<(String, Vec<u8>)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, pieces)| {
            let spelled = format!("id,name,domains\n{}", spelled(pieces));
            for text in [text.as_str(), spelled.as_str()] {
                let customers = match parse_customers(text, "list.csv") {
                    Ok((customers, _warnings)) => customers,
                    Err(e) => {
                        assert_classified(&e, "list.csv", text);
                        continue;
                    }
                };
                let mut ids = BTreeSet::new();
                for c in &customers {
                    assert!(ids.insert(c.id.clone()), "{text:?}: id {} twice", c.id);
                    assert!(!c.id.is_empty() && !c.name.is_empty(), "{text:?}: {c:?}");
                    for d in &c.domains {
                        assert_eq!(normalize_domain(d).as_ref(), Some(d), "{text:?}");
                        assert!(!is_public_email_domain(d), "{text:?}: {d}");
                    }
                }
                let matcher = Matcher::new(customers.clone());
                for c in &customers {
                    for d in &c.domains {
                        let org = Organization {
                            key: "1".into(),
                            name: None,
                            domains: vec![d.clone()],
                        };
                        let outcome = matcher.organization(&org, &OrgOverrides::default()).outcome;
                        let owners = customers.iter().filter(|o| o.domains.contains(d)).count();
                        if owners == 1 {
                            assert_eq!(outcome.customer_id(), Some(c.id.as_str()), "{d}");
                        } else {
                            assert_eq!(outcome, Outcome::Ambiguous, "{d}: {owners} owners");
                        }
                    }
                }
            }
        });
}

/// Target `override_files_parse_or_name_the_line`: parsed rules are `pin`
/// or `forbid`, at most one pin per organization, never a pin and a
/// forbid of the same customer.
#[test]
fn override_files_parse_or_name_the_line() {
    bolero::check!()
        .with_type::<(String, Vec<u8>)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, pieces)| {
            let spelled = format!("organization,action,customer\n{}", spelled(pieces));
            for text in [text.as_str(), spelled.as_str()] {
                let rules = match parse_overrides(text, "overrides.csv") {
                    Ok(rules) => rules,
                    Err(e) => {
                        assert_classified(&e, "overrides.csv", text);
                        continue;
                    }
                };
                let mut pinned = BTreeSet::new();
                for rule in &rules {
                    assert!(!rule.org_key.is_empty(), "{text:?}");
                    match rule.action.as_str() {
                        "pin" => {
                            assert!(pinned.insert(&rule.org_key), "{text:?}: two pins");
                            assert_ne!(rule.customer_id, "*", "{text:?}");
                        }
                        "forbid" => {}
                        other => panic!("{text:?}: action {other}"),
                    }
                    let contradicted = rules.iter().any(|r| {
                        r.org_key == rule.org_key
                            && r.customer_id == rule.customer_id
                            && r.action != rule.action
                    });
                    assert!(!contradicted, "{text:?}: {rule:?} and its opposite");
                }
            }
        });
}

/// Target `json_items_parse_or_name_the_line`: one value, an array or
/// JSON Lines; every item given back is JSON.
#[test]
fn json_items_parse_or_name_the_line() {
    bolero::check!()
        .with_type::<(String, Vec<u8>)>()
        .with_test_time(CI_TIME)
        .for_each(|(text, pieces)| {
            let spelled = spelled(pieces);
            for text in [text.as_str(), spelled.as_str()] {
                match json_items(text) {
                    Ok(items) => {
                        for item in items {
                            let parsed = serde_json::from_str::<serde_json::Value>(&item);
                            assert!(parsed.is_ok(), "{text:?} gave {item:?}");
                        }
                    }
                    Err(e) => assert_classified(&e, "input", text),
                }
            }
        });
}

#[test]
fn deeply_nested_lists_are_refused_not_overflowed() {
    // 100 000 `[`: serde_json's recursion limit refuses them, as a config
    // error, without exhausting the stack.
    let text = "[".repeat(100_000);
    let error = parse_customers(&text, "list.json").unwrap_err();
    assert_classified(&error, "list.json", "[[[...");
    let error = json_items(&format!("{text}\n{text}")).unwrap_err();
    assert_classified(&error, "input", "[[[...");
}
