//! Customer matching on tricky cases and its propagation to people,
//! tickets and messages; re-runs move what they affect.

mod common;

use std::collections::BTreeSet;

use connector_platform::match_report::report_text;
use connector_platform::model::Status;
use connector_platform::{matching, overrides};
use connector_store_sqlite::Database;
use serde_json::json;

use common::*;

#[test]
fn matching_handles_tricky_cases_and_propagates() {
    let db = Database::in_memory().unwrap();
    import_customers(&db, TRICKY_CUSTOMERS);
    tricky_account(&db);
    let report = matching::run(&db, CONNECTION).unwrap();
    assert_eq!(
        statuses(&report),
        map(&[
            ("1", "matched acme"),
            ("2", "ambiguous"),
            ("3", "matched globex"),
            ("4", "ambiguous"),
            ("5", "matched initech"),
            ("6", "unmatched"),
            ("7", "matched acme"),
        ])
    );
    let reason = |key: &str| {
        let r = report.organizations.iter().find(|r| r.org.key == key);
        r.unwrap().decision.reason.clone()
    };
    assert_eq!(
        reason("2"),
        "the domain points to acme.com: Acme, Inc. (acme) but the name to Acme Europe (acme-eu)"
    );
    assert!(reason("4").contains("Hooli (hooli), Initech (initech)"));
    assert!(reason("5").contains("the name matches Initech (initech)"));
    assert!(reason("7").contains("labs.acme.com (under acme.com)"));
    // The stored rows say the same, with the method.
    assert_eq!(
        pairs(
            &db,
            "SELECT org_key, status || ' ' || COALESCE(method, '-') FROM customer_matches WHERE connection = ?1"
        ),
        map(&[
            ("1", "matched domain"),
            ("2", "ambiguous -"),
            ("3", "matched name"),
            ("4", "ambiguous -"),
            ("5", "matched domain+name"),
            ("6", "unmatched -"),
            ("7", "matched domain"),
        ])
    );
    // People: through their organization, else (end users only) by email
    // domain; public and shared domains do not match.
    assert_eq!(
        person_customers(&db),
        map(&[
            ("101", "acme via organization"),
            ("102", "acme-eu via email_domain"),
        ])
    );
    assert_eq!((report.people_by_email, report.people_unmatched), (1, 1));
    assert_eq!(report.ambiguous_email.values().sum::<usize>(), 1);
    // Tickets: their organization's customer (an ambiguous organization
    // gives none), else their requester's; messages follow.
    assert_eq!(
        ticket_customers(&db),
        map(&[
            ("1001", "acme"),
            ("1003", "acme-eu"),
            ("1005", "globex"),
            ("1006", "initech"),
        ])
    );
    assert_eq!(
        message_customers(&db),
        map(&[("m1", "acme"), ("m2", "acme"), ("m4", "acme-eu")])
    );
    assert!(!report.rerun);
    let text = report_text(&report);
    assert!(
        text.contains(
            "organizations: 4 matched (2 by domain, 1 by domain+name, 1 by name), 1 unmatched, 2 ambiguous"
        ),
        "{text}"
    );
    assert!(text.contains("tickets: 4 of 6 attributed"), "{text}");
    assert!(
        text.find("Acme Europe GmbH").unwrap() < text.find("ACME Incorporated").unwrap(),
        "ambiguous organizations come first:\n{text}"
    );
}

#[test]
fn re_running_after_overrides_or_a_sync_moves_what_they_affect() {
    let db = Database::in_memory().unwrap();
    import_customers(&db, TRICKY_CUSTOMERS);
    tricky_account(&db);
    matching::run(&db, CONNECTION).unwrap();

    // Pin the subsidiary, forbid the first organization its customer.
    set_overrides(
        &db,
        "organization,action,customer\n2,pin,acme-eu\n1,forbid,acme\n",
    );
    let report = matching::run(&db, CONNECTION).unwrap();
    assert!(report.rerun);
    let org1 = &report
        .organizations
        .iter()
        .find(|r| r.org.key == "1")
        .unwrap();
    assert_eq!(org1.decision.outcome.status(), Status::Unmatched);
    assert!(
        org1.decision
            .reason
            .contains("an override forbids Acme, Inc. (acme)"),
        "{:?}",
        org1.decision
    );
    assert_eq!(
        ticket_customers(&db),
        map(&[
            ("1002", "acme-eu"),
            ("1003", "acme-eu"),
            ("1005", "globex"),
            ("1006", "initech"),
        ])
    );
    assert_eq!(
        person_customers(&db),
        map(&[
            ("102", "acme-eu via email_domain"),
            ("106", "acme-eu via organization"),
        ])
    );
    assert_eq!(
        message_customers(&db),
        map(&[("m3", "acme-eu"), ("m4", "acme-eu")])
    );
    assert_eq!(report.tickets_moved, 2);
    let changed: BTreeSet<&str> = report
        .changed_organizations
        .iter()
        .map(|(key, ..)| key.as_str())
        .collect();
    assert_eq!(changed, BTreeSet::from(["1", "2"]));
    let text = report_text(&report);
    assert!(
        text.contains("since the last run: 2 organizations changed customer, 2 tickets moved"),
        "{text}"
    );
    assert!(
        text.contains("2 Acme Europe GmbH: - -> Acme Europe (acme-eu)"),
        "{text}"
    );

    // A later sync brings an organization and a ticket; the overrides stay.
    put(
        &db,
        "account",
        "8",
        json!({"id": "8", "name": "HOOLI inc.", "domains": []}),
        false,
    );
    put(
        &db,
        "conversation",
        "1007",
        json!({"id": "1007", "organization_id": "8", "requester_id": "101"}),
        false,
    );
    let report = matching::run(&db, CONNECTION).unwrap();
    assert_eq!(report.tickets_moved, 1);
    assert_eq!(
        ticket_customers(&db).get("1007").map(String::as_str),
        Some("hooli")
    );
    assert_eq!(
        ticket_customers(&db).get("1002").map(String::as_str),
        Some("acme-eu")
    );

    // Dropping the overrides (an empty file) undoes them.
    set_overrides(&db, "organization,action,customer\n");
    let report = matching::run(&db, CONNECTION).unwrap();
    assert_eq!(
        report.tickets_moved, 2,
        "1001 back to acme, 1002 ambiguous again"
    );
    assert_eq!(
        ticket_customers(&db).get("1001").map(String::as_str),
        Some("acme")
    );
    assert!(!ticket_customers(&db).contains_key("1002"));

    // A new customer list re-matches too: Umbrella becomes a customer.
    import_customers(
        &db,
        &format!("{TRICKY_CUSTOMERS}umbrella,Umbrella Corp,umbrella.com\n"),
    );
    let report = matching::run(&db, CONNECTION).unwrap();
    assert_eq!(statuses(&report)["6"], "matched umbrella");
    // Overrides naming customers outside the list are refused.
    let rules = overrides::parse_overrides("organization,action,customer\n6,pin,nobody\n", "o.csv")
        .unwrap();
    let err = overrides::replace_overrides(&db, CONNECTION, &rules, "o.csv").unwrap_err();
    assert!(err.to_string().contains("no customer nobody"), "{err}");
}
