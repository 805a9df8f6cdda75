//! Helpers of the platform's tests: records written into a store (SQLite,
//! or either store where a test runs on both) as the Zendesk connector
//! writes them, a tricky account for the matching, and readers of the
//! results.
// Each test file uses a part of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;

use connector_platform::documents::{self, DocumentOptions};
use connector_platform::match_report::MatchReport;
use connector_platform::{customers, overrides, PlatformStore};
use connector_runtime::contract::NormalizedRecord;
use connector_store_sqlite::{Database, SyncedRecords};
use connector_store_tests::stores::StoreUnderTest;
use serde_json::{json, Value};

pub const CONNECTION: &str = "acme";
/// Monday 2024-01-01 00:00:00 UTC.
pub const MONDAY: i64 = 1_704_067_200;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// Unix seconds as RFC 3339.
pub fn iso(t: i64) -> String {
    connector_platform::text::format_time(t).replace(' ', "T") + "Z"
}

/// Write one normalized record of the connection, in the stream the
/// Zendesk connector uses for its kind.
pub fn put<S: StoreUnderTest>(db: &S, kind: &str, key: &str, data: Value, deleted: bool) {
    let stream = match kind {
        "conversation" => "tickets",
        "message" | "change" => "ticket_comments",
        "person" => "users",
        "account" => "organizations",
        "satisfaction" => "satisfaction_ratings",
        other => panic!("no stream for {other}"),
    };
    let record = NormalizedRecord {
        kind: kind.into(),
        key: key.into(),
        version: None,
        data: data.to_string(),
        deleted,
    };
    db.records(CONNECTION)
        .upsert_records(stream, &[(data.to_string(), vec![record])])
        .unwrap();
}

pub fn import_customers(db: &dyn PlatformStore, csv: &str) {
    let (list, _) = customers::parse_customers(csv, "customers.csv").unwrap();
    customers::import(db, &list).unwrap();
}

pub fn set_overrides(db: &dyn PlatformStore, csv: &str) {
    let rules = overrides::parse_overrides(csv, "overrides.csv").unwrap();
    overrides::replace_overrides(db, CONNECTION, &rules, "overrides.csv").unwrap();
}

/// The rows of a two-column query of the connection (`?1`).
pub fn rows<C: FromIterator<(String, String)>>(db: &Database, sql: &str) -> C {
    let db = db.lock();
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([CONNECTION], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The rows of a two-column query, as a map.
pub fn pairs(db: &Database, sql: &str) -> BTreeMap<String, String> {
    rows(db, sql)
}

pub fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Each matched ticket's customer, as stored.
pub fn ticket_customers(db: &dyn PlatformStore) -> BTreeMap<String, String> {
    let results = db.matching_results(CONNECTION).unwrap();
    results
        .conversations
        .into_iter()
        .map(|link| (link.key, link.customer_id))
        .collect()
}

/// Each matched person's customer and why, as stored.
pub fn person_customers(db: &dyn PlatformStore) -> BTreeMap<String, String> {
    let results = db.matching_results(CONNECTION).unwrap();
    results
        .people
        .into_iter()
        .map(|link| {
            (
                link.key,
                format!("{} via {}", link.customer_id, link.via.as_str()),
            )
        })
        .collect()
}

pub fn message_customers(db: &Database) -> BTreeMap<String, String> {
    pairs(
        db,
        "SELECT message_key, customer_id FROM customer_messages WHERE connection = ?1",
    )
}

pub fn statuses(report: &MatchReport) -> BTreeMap<String, String> {
    report
        .organizations
        .iter()
        .map(|r| {
            let outcome = match r.decision.outcome.customer_id() {
                Some(c) => format!("{} {c}", r.decision.outcome.status()),
                None => r.decision.outcome.status().to_string(),
            };
            (r.org.key.clone(), outcome)
        })
        .collect()
}

pub const TRICKY_CUSTOMERS: &str = "id,name,domains\n\
    acme,\"Acme, Inc.\",acme.com\n\
    acme-eu,Acme Europe,eu.acme.com\n\
    globex,Globex,\n\
    hooli,Hooli,shared.io\n\
    initech,Initech,shared.io\n";

pub fn tricky_account<S: StoreUnderTest>(db: &S) {
    let orgs = [
        ("1", "ACME Incorporated", vec!["acme.com"]),
        // A subsidiary on its parent's domain, listed as its own customer.
        ("2", "Acme Europe GmbH", vec!["acme.com"]),
        ("3", "Globex Corporation", vec![]),
        // A domain two customers share.
        ("4", "Shared Hosting", vec!["shared.io"]),
        ("5", "Initech, LLC", vec!["shared.io"]),
        ("6", "Umbrella", vec![]),
        ("7", "Acme Labs", vec!["labs.acme.com"]),
    ];
    for (key, name, domains) in orgs {
        put(
            db,
            "account",
            key,
            json!({"id": key, "name": name, "domains": domains}),
            false,
        );
    }
    let people = [
        ("101", Some("1"), "ann@acme.com", "end-user"),
        ("102", None, "jane@eu.acme.com", "end-user"),
        ("103", None, "bob@gmail.com", "end-user"),
        ("104", None, "x@shared.io", "end-user"),
        ("105", None, "agent@acme.com", "agent"),
        ("106", Some("2"), "eva@acme.com", "end-user"),
    ];
    for (key, org, email, role) in people {
        put(
            db,
            "person",
            key,
            json!({"id": key, "name": key, "email": email, "role": role, "organization_id": org}),
            false,
        );
    }
    let tickets = [
        ("1001", Some("1"), "101"),
        ("1002", Some("2"), "106"),
        ("1003", None, "102"),
        ("1004", None, "103"),
        ("1005", Some("3"), "103"),
        ("1006", Some("5"), "104"),
    ];
    for (key, org, requester) in tickets {
        put(
            db,
            "conversation",
            key,
            json!({"id": key, "organization_id": org, "requester_id": requester}),
            false,
        );
    }
    for (key, ticket) in [
        ("m1", "1001"),
        ("m2", "1001"),
        ("m3", "1002"),
        ("m4", "1003"),
    ] {
        put(
            db,
            "message",
            key,
            json!({"id": key, "conversation_id": ticket}),
            false,
        );
    }
}

/// The documents of the connection, parsed.
pub fn export(db: &dyn PlatformStore, options: DocumentOptions) -> Vec<Value> {
    let mut out = Vec::new();
    let n = documents::export(db, CONNECTION, &options, &mut out).unwrap();
    let docs: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(n as usize, docs.len());
    docs
}
