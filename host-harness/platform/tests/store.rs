//! The platform's data in the SQLite store: the customer list replaced,
//! overrides and matching results read back as written, and a
//! connection's platform data forgotten.

mod common;

use connector_platform::customers::{import, Customer, ImportSummary};
use connector_platform::model::{
    Decision, Link, MatchResults, Method, OrgMatch, Outcome, OverrideRule, Via,
};
use connector_platform::PlatformStore;
use connector_store_sqlite::Database;

use common::*;

#[test]
fn imports_replace_the_list() {
    let db = Database::in_memory().unwrap();
    let customer = |id: &str, domains: &[&str]| Customer {
        id: id.into(),
        name: id.to_uppercase(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
    };
    let first = import(&db, &[customer("a", &["a.com"]), customer("b", &[])]).unwrap();
    assert_eq!(first.added, 2);
    let second = import(
        &db,
        &[customer("a", &["a.com", "a.io"]), customer("c", &[])],
    )
    .unwrap();
    assert_eq!(
        second,
        ImportSummary {
            added: 1,
            updated: 1,
            unchanged: 0,
            removed: 1
        }
    );
    assert_eq!(
        db.customers().unwrap(),
        vec![customer("a", &["a.com", "a.io"]), customer("c", &[])]
    );
    let domains: i64 = db
        .lock()
        .query_row("SELECT COUNT(*) FROM customer_domains", [], |r| r.get(0))
        .unwrap();
    assert_eq!(domains, 2, "the removed customer's domains went with it");
}

#[test]
fn results_and_overrides_read_back_as_written_until_forgotten() {
    let db = Database::in_memory().unwrap();
    import_customers(&db, TRICKY_CUSTOMERS);
    let results = MatchResults {
        organizations: vec![
            OrgMatch {
                org_key: "1".into(),
                org_name: Some("Acme".into()),
                decision: Decision {
                    outcome: Outcome::Matched {
                        customer_id: "acme".into(),
                        method: Method::DomainAndName,
                    },
                    reason: "because".into(),
                },
            },
            OrgMatch {
                org_key: "2".into(),
                org_name: None,
                decision: Decision {
                    outcome: Outcome::Ambiguous,
                    reason: "several".into(),
                },
            },
        ],
        people: vec![Link {
            key: "101".into(),
            customer_id: "acme".into(),
            via: Via::EmailDomain,
        }],
        conversations: vec![Link {
            key: "1001".into(),
            customer_id: "acme".into(),
            via: Via::Requester,
        }],
    };
    db.replace_matching_results(CONNECTION, &results).unwrap();
    assert_eq!(db.matching_results(CONNECTION).unwrap(), results);
    assert_eq!(
        db.matching_results("other").unwrap(),
        MatchResults::default()
    );
    let rules = vec![OverrideRule {
        org_key: "2".into(),
        action: "pin".into(),
        customer_id: "acme".into(),
    }];
    db.replace_overrides(CONNECTION, &rules).unwrap();
    assert_eq!(db.overrides(CONNECTION).unwrap(), rules);
    assert_eq!(db.matched_connections().unwrap(), [CONNECTION]);

    let removed = db.forget_connection(CONNECTION).unwrap();
    assert_eq!(
        removed,
        [
            ("customer_overrides", 1),
            ("customer_matches", 2),
            ("customer_people", 1),
            ("customer_conversations", 1),
            ("message_sentiment", 0)
        ]
    );
    assert_eq!(
        db.matching_results(CONNECTION).unwrap(),
        MatchResults::default()
    );
    assert!(db.matched_connections().unwrap().is_empty());
    assert_eq!(db.customers().unwrap().len(), 5, "the list is shared");
}
