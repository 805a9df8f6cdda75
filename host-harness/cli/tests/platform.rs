//! What the integration platform does with synced data: customer matching
//! on tricky cases and its propagation to people, tickets and messages
//! (re-runs move what they affect), conversation documents (chat lines,
//! internal notes, filters), support signals checked against values
//! computed by hand and against a simulated account's raw data, and the
//! commands end to end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use connector_platform::documents::{self, DocumentOptions};
use connector_platform::matching::{self, MatchReport};
use connector_platform::signals::{self, week_start, CustomerSignals, Signals};
use connector_platform::{customers, html};
use connector_runtime::contract::NormalizedRecord;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::ConnectionRecipe;
use connector_runtime::{ConnectionSettings, Limits, Runtime};
use connector_store_sqlite::Database;
use connector_store_sqlite::RecordStore;
use connector_sync::SyncOptions;
use serde_json::{json, Value};
use zendesk_sim::{SimConfig, Simulator};

const CONNECTION: &str = "acme";
/// Monday 2024-01-01 00:00:00 UTC.
const MONDAY: i64 = 1_704_067_200;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Unix seconds as RFC 3339.
fn iso(t: i64) -> String {
    connector_platform::text::format_time(t).replace(' ', "T") + "Z"
}

/// Write one normalized record of the connection, in the stream the
/// Zendesk connector uses for its kind.
fn put(db: &Database, kind: &str, key: &str, data: Value, deleted: bool) {
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
    RecordStore::new(db.clone(), CONNECTION)
        .upsert_records(stream, &[(data.to_string(), vec![record])])
        .unwrap();
}

fn import_customers(db: &Database, csv: &str) {
    let (list, _) = customers::parse_customers(csv, "customers.csv").unwrap();
    customers::import(db, &list).unwrap();
}

fn set_overrides(db: &Database, csv: &str) {
    let rules = matching::parse_overrides(csv, "overrides.csv").unwrap();
    matching::replace_overrides(db, CONNECTION, &rules).unwrap();
}

/// The rows of a two-column query of the connection (`?1`).
fn rows<C: FromIterator<(String, String)>>(db: &Database, sql: &str) -> C {
    let db = db.lock();
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([CONNECTION], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The rows of a two-column query, as a map.
fn pairs(db: &Database, sql: &str) -> BTreeMap<String, String> {
    rows(db, sql)
}

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ticket_customers(db: &Database) -> BTreeMap<String, String> {
    pairs(
        db,
        "SELECT conversation_key, customer_id FROM customer_conversations WHERE connection = ?1",
    )
}

fn person_customers(db: &Database) -> BTreeMap<String, String> {
    pairs(
        db,
        "SELECT person_key, customer_id || ' via ' || via FROM customer_people WHERE connection = ?1",
    )
}

fn message_customers(db: &Database) -> BTreeMap<String, String> {
    pairs(
        db,
        "SELECT message_key, customer_id FROM customer_messages WHERE connection = ?1",
    )
}

fn statuses(report: &MatchReport) -> BTreeMap<String, String> {
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

const TRICKY_CUSTOMERS: &str = "id,name,domains\n\
    acme,\"Acme, Inc.\",acme.com\n\
    acme-eu,Acme Europe,eu.acme.com\n\
    globex,Globex,\n\
    hooli,Hooli,shared.io\n\
    initech,Initech,shared.io\n";

fn tricky_account(db: &Database) {
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
    let text = matching::report_text(&report);
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
    assert_eq!(org1.decision.outcome.status(), "unmatched");
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
    let text = matching::report_text(&report);
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
    let rules =
        matching::parse_overrides("organization,action,customer\n6,pin,nobody\n", "o.csv").unwrap();
    let err = matching::replace_overrides(&db, CONNECTION, &rules).unwrap_err();
    assert!(err.to_string().contains("no customer nobody"), "{err}");
}

/// A small account for documents: a chat ticket with an internal note, an
/// outbound ticket only agents wrote in, an older customer ticket and a
/// deleted one.
fn documents_account(db: &Database) {
    import_customers(db, "id,name,domains\nacme,Acme,acme.com\n");
    put(
        db,
        "account",
        "1",
        json!({"id": "1", "name": "Acme Inc", "domains": ["acme.com"]}),
        false,
    );
    put(
        db,
        "person",
        "101",
        json!({"id": "101", "name": "Jane Doe", "email": "jane@acme.com", "role": "end-user",
               "organization_id": "1", "locale": "en-US", "user_fields": {"plan": "gold"}}),
        false,
    );
    put(
        db,
        "person",
        "201",
        json!({"id": "201", "name": "Agent Smith", "email": "smith@support.example", "role": "agent"}),
        false,
    );
    let ticket = |key: &str, subject: &str, updated: i64| {
        json!({
            "id": key, "subject": subject, "status": "solved", "priority": "high",
            "url": format!("https://acme.zendesk.com/agent/tickets/{key}"),
            "channel": "chat", "requester_id": "101", "organization_id": "1",
            "tags": ["login", "mobile"],
            "custom_fields": {"Product": "Mobile app", "Order number": "ORD-1"},
            "created_at": iso(MONDAY + 10 * HOUR), "updated_at": iso(updated),
        })
    };
    let mut chat = ticket("9", "Login fails", MONDAY + 12 * HOUR);
    chat["satisfaction"] = json!({"score": "offered", "reason": null, "comment": null});
    put(db, "conversation", "9", chat, false);
    put(
        db,
        "conversation",
        "10",
        ticket("10", "Planned maintenance", MONDAY + 13 * HOUR),
        false,
    );
    put(
        db,
        "conversation",
        "11",
        ticket("11", "Invoice", MONDAY + 9 * HOUR),
        false,
    );
    put(
        db,
        "conversation",
        "12",
        ticket("12", "Gone", MONDAY + 14 * HOUR),
        true,
    );
    // The satisfaction stream's newer answer wins over the ticket's.
    put(
        db,
        "satisfaction",
        "7001",
        json!({"id": "7001", "conversation_id": "9", "score": "good", "reason": "Fast",
               "comment": "Thanks!", "updated_at": iso(MONDAY + 20 * HOUR)}),
        false,
    );
    let message = |ticket: &str, comment: &str, author: Option<&str>, role: &str, at: i64| {
        json!({"id": comment, "conversation_id": ticket, "comment_id": comment,
               "author_id": author, "author_role": role, "visibility": "public",
               "created_at": iso(at), "attachments": []})
    };
    // Written in a shuffled order: documents sort them.
    let mut reply = message("9", "5003", Some("201"), "agent", MONDAY + 11 * HOUR);
    reply["body"] = json!("Fixed now.\n");
    reply["attachments"] = json!([{"id": "1", "file_name": "fix.png"}]);
    put(db, "message", "5003", reply, false);
    let mut note = message("9", "5002", Some("201"), "agent", MONDAY + 10 * HOUR + 1800);
    note["visibility"] = json!("internal");
    note["body"] = json!("Known issue, see JIRA-1");
    put(db, "message", "5002", note, false);
    let lines = [
        (3, Some("Agent Smith"), "agent", "10:00:20", "Let me check"),
        (
            1,
            None,
            "system",
            "10:00:05",
            "*** Agent Smith joined the chat ***",
        ),
        (
            2,
            Some("Jane Doe"),
            "customer",
            "10:00:10",
            "Hi, I cannot log in",
        ),
    ];
    for (line, name, role, time, body) in lines {
        let key = format!("5001-{line}");
        let mut m = message("9", "5001", None, role, MONDAY + 10 * HOUR);
        m["id"] = json!(key);
        m["author_name"] = json!(name);
        m["body"] = json!(body);
        m["chat"] = json!({"line": line, "time": time, "parsed": true});
        put(db, "message", &key, m, false);
    }
    let mut outbound = message("10", "6001", Some("201"), "agent", MONDAY + 13 * HOUR);
    outbound["body"] = json!("We will be down on Sunday.");
    put(db, "message", "6001", outbound, false);
    let mut question = message("11", "6101", Some("101"), "customer", MONDAY + 9 * HOUR);
    question["body"] = json!("Where is my invoice?");
    put(db, "message", "6101", question, false);
    matching::run(db, CONNECTION).unwrap();
}

fn export(db: &Database, options: DocumentOptions) -> Vec<Value> {
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

fn ids(docs: &[Value]) -> Vec<&str> {
    docs.iter()
        .map(|d| d["metadata"]["ticket_id"].as_str().unwrap())
        .collect()
}

#[test]
fn documents_hold_the_conversation_and_its_context() {
    let db = Database::in_memory().unwrap();
    documents_account(&db);
    let docs = export(&db, DocumentOptions::default());
    assert_eq!(
        ids(&docs),
        ["9", "10", "11"],
        "ticket id order, deleted left out"
    );
    let chat = &docs[0];
    assert_eq!(
        chat["content"],
        "Subject: Login fails\n\
         \n--- 2024-01-01 10:00:00 UTC · chat transcript\n\
         [10:00:05] *** Agent Smith joined the chat ***\n\
         [10:00:10] Jane Doe (customer): Hi, I cannot log in\n\
         [10:00:20] Agent Smith (agent): Let me check\n\
         \n--- 2024-01-01 11:00:00 UTC · Agent Smith (agent)\n\
         Fixed now.\n\
         (attachments: fix.png)\n"
    );
    assert_eq!(chat["id"], "acme:ticket:9");
    assert_eq!(
        chat["metadata"],
        json!({
            "connection": "acme", "ticket_id": "9", "subject": "Login fails", "status": "solved",
            "url": "https://acme.zendesk.com/agent/tickets/9", "channel": "chat",
            "priority": "high", "type": null,
            "created_at": "2024-01-01T10:00:00Z", "updated_at": "2024-01-01T12:00:00Z",
        })
    );
    assert_eq!(
        chat["properties"],
        json!({
            "custom_fields": {"Product": "Mobile app", "Order number": "ORD-1"},
            "satisfaction": {"score": "good", "reason": "Fast", "comment": "Thanks!"},
            "tags": ["login", "mobile"],
        })
    );
    assert_eq!(chat["requester"]["name"], "Jane Doe");
    assert_eq!(chat["requester"]["user_fields"]["plan"], "gold");
    assert_eq!(chat["organization"]["name"], "Acme Inc");
    assert_eq!(
        chat["customer"],
        json!({"id": "acme", "name": "Acme", "via": "organization"})
    );
    // The ticket's own satisfaction when no rating record exists: none here.
    assert_eq!(docs[1]["properties"]["satisfaction"], Value::Null);

    // Internal notes only when asked for, in their place.
    let with_notes = export(
        &db,
        DocumentOptions {
            internal_notes: true,
            ..DocumentOptions::default()
        },
    );
    let content = with_notes[0]["content"].as_str().unwrap();
    let note = content
        .find("--- 2024-01-01 10:30:00 UTC · Agent Smith (agent) · internal note\nKnown issue, see JIRA-1\n")
        .expect(content);
    assert!(content.find("Let me check").unwrap() < note);
    assert!(note < content.find("Fixed now.").unwrap());
    assert!(!docs
        .iter()
        .any(|d| d["content"].as_str().unwrap().contains("JIRA-1")));

    // Only tickets a customer wrote in (a chat line counts).
    let feedback = export(
        &db,
        DocumentOptions {
            only_customer_feedback: true,
            ..DocumentOptions::default()
        },
    );
    assert_eq!(ids(&feedback), ["9", "11"]);
    // The most recently updated, after the filter.
    let latest = |only_customer_feedback, limit| {
        export(
            &db,
            DocumentOptions {
                only_customer_feedback,
                limit: Some(limit),
                ..DocumentOptions::default()
            },
        )
    };
    assert_eq!(ids(&latest(false, 1)), ["10"]);
    assert_eq!(ids(&latest(true, 1)), ["9"]);
    assert_eq!(ids(&latest(false, 2)), ["9", "10"]);
}

/// Hand-made tickets of two customers with replies, changes and ratings,
/// whose signals are worked out in the comments.
fn signals_account(db: &Database, with_history: bool) {
    import_customers(
        db,
        "id,name,domains\nacme,Acme,acme.com\nglobex,Globex,globex.com\nidle,Idle,idle.com\n",
    );
    for (key, name, domain) in [("1", "Acme", "acme.com"), ("2", "Globex", "globex.com")] {
        put(
            db,
            "account",
            key,
            json!({"id": key, "name": name, "domains": [domain]}),
            false,
        );
    }
    put(
        db,
        "person",
        "900",
        json!({"id": "900", "email": "x@gmail.com", "role": "end-user"}),
        false,
    );
    let mut messages = 0;
    let mut message = |ticket: &str, role: &str, visibility: &str, at: i64, chat: bool| {
        messages += 1;
        let key = format!("m{messages}");
        let mut data = json!({"id": key, "conversation_id": ticket, "comment_id": key,
                              "author_role": role, "visibility": visibility, "created_at": iso(at)});
        if chat {
            data["chat"] = json!({"line": 1, "time": "10:00:00", "parsed": true});
        }
        put(db, "message", &key, data, false);
    };
    let mut changes = 0;
    let mut change = |ticket: &str, field: &str, from: Option<&str>, to: &str, at: String| {
        changes += 1;
        if with_history {
            put(
                db,
                "change",
                &format!("c{changes}"),
                json!({"id": format!("c{changes}"), "conversation_id": ticket, "field": field,
                       "from": from, "to": to, "at": at, "author_id": "201"}),
                false,
            );
        }
    };
    let ticket = |key: &str, org: Option<&str>, created: i64, satisfaction: Option<&str>| {
        put(
            db,
            "conversation",
            key,
            json!({"id": key, "organization_id": org, "requester_id": "900",
                   "created_at": iso(created), "updated_at": iso(created + DAY),
                   "satisfaction": satisfaction.map(|s| json!({"score": s}))}),
            false,
        );
    };
    let rating = |key: &str, ticket: &str, score: &str| {
        put(
            db,
            "satisfaction",
            key,
            json!({"id": key, "conversation_id": ticket, "score": score, "updated_at": iso(MONDAY + 30 * DAY)}),
            false,
        );
    };

    // Acme, week 1. a1: the internal note does not count, the public reply
    // at 30 min does (first reply 1800 s); solved at 2 h (resolution 7200 s,
    // the later solve after reopening does not count), reopened; rated
    // good; created normal (no escalation).
    let a1 = MONDAY + DAY + 9 * HOUR;
    ticket("a1", Some("1"), a1, None);
    message("a1", "customer", "public", a1, false);
    message("a1", "agent", "internal", a1 + 600, false);
    message("a1", "agent", "public", a1 + 1800, false);
    change("a1", "priority", None, "normal", iso(a1));
    change("a1", "status", Some("open"), "solved", iso(a1 + 2 * HOUR));
    change("a1", "status", Some("solved"), "open", iso(a1 + 3 * HOUR));
    change("a1", "status", Some("open"), "solved", iso(a1 + 5 * HOUR));
    rating("r1", "a1", "good");
    // a2: first reply 7200 s; escalated normal → urgent (the time written
    // with an offset); solved after a day; rated bad on the ticket only.
    let a2 = MONDAY + 2 * DAY + 10 * HOUR;
    ticket("a2", Some("1"), a2, Some("bad"));
    message("a2", "agent", "public", a2 + 2 * HOUR, false);
    let plus_two = connector_platform::text::format_time(a2 + HOUR + 2 * HOUR).replace(' ', "T");
    change(
        "a2",
        "priority",
        Some("normal"),
        "urgent",
        format!("{plus_two}+02:00"),
    );
    change("a2", "status", Some("open"), "solved", iso(a2 + DAY));
    // Acme, week 3. a3: a chat whose agent line is at the creation (not a
    // reply); first reply 14400 s; not solved; offered on the ticket but
    // answered good in the ratings.
    let a3 = MONDAY + 14 * DAY + 8 * HOUR;
    ticket("a3", Some("1"), a3, Some("offered"));
    message("a3", "customer", "public", a3, true);
    message("a3", "agent", "public", a3, true);
    message("a3", "agent", "public", a3 + 4 * HOUR, false);
    rating("r3", "a3", "good");
    // a4: no reply; solved after 10 h; raised low → high; offered.
    let a4 = MONDAY + 15 * DAY;
    ticket("a4", Some("1"), a4, Some("offered"));
    change("a4", "priority", Some("low"), "high", iso(a4 + HOUR));
    change(
        "a4",
        "status",
        Some("pending"),
        "solved",
        iso(a4 + 10 * HOUR),
    );
    // Globex, week 2: replies after 600 s and 1200 s (median 900), solved
    // after 3600 s and 7200 s (median 5400); created urgent (no
    // escalation); one bad rating.
    let g1 = MONDAY + 7 * DAY + 12 * HOUR;
    ticket("g1", Some("2"), g1, None);
    message("g1", "agent", "public", g1 + 600, false);
    change("g1", "status", Some("new"), "solved", iso(g1 + HOUR));
    rating("r4", "g1", "bad");
    let g2 = MONDAY + 8 * DAY;
    ticket("g2", Some("2"), g2, None);
    message("g2", "agent", "public", g2 + 1200, false);
    change("g2", "priority", None, "urgent", iso(g2));
    change("g2", "status", Some("open"), "solved", iso(g2 + 2 * HOUR));
    // Not counted: a deleted Acme ticket, and a ticket of nobody's.
    put(
        db,
        "conversation",
        "a5",
        json!({"id": "a5", "organization_id": "1", "created_at": iso(MONDAY + 3 * DAY)}),
        true,
    );
    ticket("n1", None, MONDAY + 4 * DAY, Some("bad"));
    matching::run(db, CONNECTION).unwrap();
}

#[test]
fn signals_match_values_computed_by_hand() {
    let db = Database::in_memory().unwrap();
    signals_account(&db, true);
    let signals = signals::load(&db, CONNECTION).unwrap();
    assert_eq!(
        signals.weeks,
        vec![MONDAY, MONDAY + 7 * DAY, MONDAY + 14 * DAY]
    );
    assert!(signals.history);
    assert_eq!(signals.unattributed, 1);
    let acme = CustomerSignals {
        customer_id: "acme".into(),
        name: "Acme".into(),
        tickets: 4,
        weekly: vec![2, 0, 2],
        first_reply: Some(7200),
        replied: 3,
        resolution: Some(36_000),
        resolved: 3,
        good: 2,
        bad: 1,
        offered: 1,
        escalated: 2,
        reopened: 1,
    };
    let globex = CustomerSignals {
        customer_id: "globex".into(),
        name: "Globex".into(),
        tickets: 2,
        weekly: vec![0, 2, 0],
        first_reply: Some(900),
        replied: 2,
        resolution: Some(5400),
        resolved: 2,
        good: 0,
        bad: 1,
        offered: 0,
        escalated: 0,
        reopened: 0,
    };
    // Customers without a matched organization, person or ticket are left out.
    assert_eq!(signals.customers, vec![acme, globex]);
    let table = signals::table(&signals);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        columns(lines[1]),
        [
            "Acme (acme)",
            "4",
            "1.3",
            "2 0 2",
            "2h 00m",
            "10h 00m",
            "2",
            "1",
            "1",
            "2",
            "1"
        ]
    );
    assert_eq!(
        columns(lines[2]),
        [
            "Globex (globex)",
            "2",
            "0.7",
            "0 2 0",
            "15m",
            "1h 30m",
            "0",
            "1",
            "0",
            "0",
            "0"
        ]
    );
    assert!(
        table.contains("2024-01-01 to 2024-01-15 (3 weeks)"),
        "{table}"
    );
    assert!(table.contains("1 tickets are not attributed"), "{table}");
    assert!(!table.contains("n/a"), "{table}");

    let page = html::page(&signals);
    assert_eq!(page.matches("<svg").count(), 5, "one chart per signal");
    assert!(page.contains("Acme (acme): 2 tickets in the week of 2024-01-01"));
    assert!(page.contains("Globex (globex): median 15m over 2 tickets"));
    assert!(!page.contains("http"), "self-contained");
}

#[test]
fn signals_without_change_history_say_so() {
    let db = Database::in_memory().unwrap();
    signals_account(&db, false);
    let signals = signals::load(&db, CONNECTION).unwrap();
    assert!(!signals.history);
    let acme = &signals.customers[0];
    assert_eq!(
        (acme.first_reply, acme.good, acme.resolution, acme.escalated),
        (Some(7200), 2, None, 0)
    );
    let table = signals::table(&signals);
    assert_eq!(
        columns(table.lines().nth(1).unwrap()),
        [
            "Acme (acme)",
            "4",
            "1.3",
            "2 0 2",
            "2h 00m",
            "n/a",
            "2",
            "1",
            "1",
            "n/a",
            "n/a"
        ]
    );
    assert!(table.contains("n/a: no change history synced"), "{table}");
    let page = html::page(&signals);
    assert_eq!(page.matches("<svg").count(), 3);
    assert_eq!(page.matches("n/a: no change history synced").count(), 2);
}

/// The cells of a table line (columns are two or more spaces apart).
fn columns(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Unix seconds of an RFC 3339 time as the simulator writes them
/// (`2024-01-01T10:00:00Z`).
fn unix(text: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    // Days since 1970-01-01 (a Thursday) by the proleptic Gregorian rule.
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469;
    days * DAY + n(11..13) * HOUR + n(14..16) * 60 + n(17..19)
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

/// The raw API data of a synced account (kept in `raw_records`), read
/// without the connector's mapping.
struct RawAccount {
    tickets: Vec<Value>,
    users: HashMap<String, Value>,
    orgs: Vec<Value>,
    events: Vec<Value>,
}

/// A change of a ticket's status or priority in the raw data.
#[derive(Clone)]
struct RawChange {
    field: String,
    from: Option<String>,
    to: Option<String>,
    at: i64,
}

/// Per ticket: (created, public, by staff) of each comment.
type Comments = HashMap<String, Vec<(i64, bool, bool)>>;
/// Per ticket: its changes.
type Changes = HashMap<String, Vec<RawChange>>;

/// One live ticket as the raw data describes it.
struct Expected {
    created: i64,
    /// First reply time.
    reply: Option<i64>,
    /// Resolution time.
    resolution: Option<i64>,
    score: Option<String>,
    escalated: bool,
    reopened: bool,
}

fn is_comment(event: &Value) -> bool {
    event["event_type"] == "Comment" || event["type"] == "Comment"
}

impl RawAccount {
    fn read(db: &Database) -> Self {
        let rows: Vec<(String, String)> = rows(
            db,
            "SELECT stream, raw FROM raw_records WHERE connection = ?1",
        );
        let of = |stream: &str| -> Vec<Value> {
            rows.iter()
                .filter(|(s, _)| s == stream)
                .map(|(_, raw)| serde_json::from_str(raw).unwrap())
                .collect()
        };
        RawAccount {
            tickets: of("tickets"),
            users: of("users")
                .into_iter()
                .map(|u| (u["id"].to_string(), u))
                .collect(),
            orgs: of("organizations"),
            events: of("ticket_comments"),
        }
    }

    fn live_tickets(&self) -> impl Iterator<Item = &Value> {
        self.tickets.iter().filter(|t| t["status"] != "deleted")
    }

    /// The comments and changes of each ticket.
    fn history(&self) -> (Comments, Changes) {
        let staff = |id: &Value| {
            self.users
                .get(&id.to_string())
                .is_some_and(|u| matches!(u["role"].as_str(), Some("agent" | "admin")))
        };
        let mut comments = Comments::new();
        let mut changes = Changes::new();
        for event in &self.events {
            let ticket = event["ticket_id"].to_string();
            for child in event["child_events"].as_array().unwrap() {
                if is_comment(child) {
                    comments.entry(ticket.clone()).or_default().push((
                        unix(child["created_at"].as_str().unwrap()),
                        child["public"].as_bool().unwrap_or(true),
                        staff(&child["author_id"]),
                    ));
                } else if let Some(mut change) = raw_change(child) {
                    change.at = unix(event["created_at"].as_str().unwrap());
                    changes.entry(ticket.clone()).or_default().push(change);
                }
            }
        }
        (comments, changes)
    }

    /// Each customer's live tickets: a ticket's customer is its
    /// organization's (`c{id}`), else its requester's email domain's
    /// (`retail`); the first reply is the first public comment by staff
    /// after creation.
    fn expected(&self) -> BTreeMap<String, Vec<Expected>> {
        let (comments, changes) = self.history();
        let rank = |p: &Option<String>| {
            ["low", "normal", "high", "urgent"]
                .iter()
                .position(|x| Some(*x) == p.as_deref())
                .map_or(0, |i| i + 1)
        };
        let mut expected: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
        for t in self.live_tickets() {
            let id = t["id"].to_string();
            let customer = match t["organization_id"].as_u64() {
                Some(org) => format!("c{org}"),
                None => {
                    let email = self.users[&t["requester_id"].to_string()]["email"]
                        .as_str()
                        .unwrap();
                    assert!(email.ends_with("@customers.example"), "{email}");
                    "retail".into()
                }
            };
            let created = unix(t["created_at"].as_str().unwrap());
            let reply = comments
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|(at, public, staff)| *public && *staff && *at > created)
                .map(|(at, ..)| *at - created)
                .min();
            let own = changes.get(&id).cloned().unwrap_or_default();
            let resolution = own
                .iter()
                .filter(|c| c.field == "status" && c.to.as_deref() == Some("solved"))
                .map(|c| c.at - created)
                .min()
                .filter(|d| *d >= 0);
            let escalated = own.iter().any(|c| {
                c.field == "priority"
                    && rank(&c.to) >= 3
                    && rank(&c.to) > rank(&c.from)
                    && c.at > created
            });
            let reopened = own.iter().any(|c| {
                c.field == "status"
                    && matches!(c.from.as_deref(), Some("solved" | "closed"))
                    && matches!(c.to.as_deref(), Some("new" | "open" | "pending" | "hold"))
            });
            expected.entry(customer).or_default().push(Expected {
                created,
                reply,
                resolution,
                score: t["satisfaction_rating"]["score"]
                    .as_str()
                    .filter(|s| *s != "unoffered")
                    .map(str::to_string),
                escalated,
                reopened,
            });
        }
        expected
    }

    /// Internal notes on live tickets.
    fn internal_notes(&self) -> usize {
        self.events
            .iter()
            .filter(|e| self.live_tickets().any(|t| t["id"] == e["ticket_id"]))
            .flat_map(|e| e["child_events"].as_array().unwrap().iter())
            .filter(|c| is_comment(c) && c["public"] == false)
            .map(|c| c["id"].to_string())
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// The transcript of a live chat ticket: its id and lines.
    fn chat_transcript(&self) -> (String, String) {
        let chat = self
            .live_tickets()
            .find(|t| t["via"]["channel"] == "chat")
            .expect("a chat ticket");
        let transcript = self
            .events
            .iter()
            .filter(|e| e["ticket_id"] == chat["id"])
            .flat_map(|e| e["child_events"].as_array().unwrap().iter())
            .find_map(|c| c["body"].as_str().filter(|b| b.starts_with('(')))
            .expect("the transcript");
        (chat["id"].to_string(), transcript.to_string())
    }
}

/// A change event: `{"status": "open", "previous_value": "new"}` in the
/// events export, `field_name` and `value` in audits; its time comes from
/// the event around it.
fn raw_change(event: &Value) -> Option<RawChange> {
    let is_change = event["event_type"] == "Change" || event["type"] == "Change";
    if !is_change {
        return None;
    }
    let text = |v: &Value| v.as_str().map(str::to_string);
    let (field, to) = match event["field_name"].as_str() {
        Some(field) => (field.to_string(), text(&event["value"])),
        None => {
            let field = ["status", "priority"]
                .into_iter()
                .find(|f| event.get(*f).is_some())?;
            (field.to_string(), text(&event[field]))
        }
    };
    Some(RawChange {
        field,
        from: text(&event["previous_value"]),
        to,
        at: 0,
    })
}

async fn sync_simulated_account(db: &Database, config: SimConfig) -> zendesk_sim::SimHandle {
    let sim = Simulator::start_settled(config).await.unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let runtime = Arc::new(Runtime::new(Limits::default(), Some(cache)).unwrap());
    let admin = sim.admin_credentials("acme");
    let recipe = Arc::new(ConnectionRecipe {
        loaded: runtime
            .load(connector_host::cli::builtin_zendesk())
            .unwrap(),
        runtime,
        client: Arc::new(
            HttpsClient::new(NetworkOptions {
                resolve: ResolveOverrides::parse(&[format!(
                    "acme.zendesk.com:443:{}",
                    sim.https_addr()
                )])
                .unwrap(),
                extra_ca_pem: sim.ca_cert_pem().into_bytes(),
                ..NetworkOptions::default()
            })
            .unwrap(),
        ),
        settings: ConnectionSettings {
            name: CONNECTION.into(),
            config: json!({"subdomain": "acme", "email": admin.email, "api_token": admin.api_token}),
            auth_scheme: Some("api_token".into()),
            stores: connector_runtime::HostStores::new(db.clone()),
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        },
    });
    let report =
        connector_host::cli::sync_once(db, &recipe, &SyncOptions::default(), &Default::default())
            .await
            .unwrap();
    assert!(report.succeeded(), "the sync finished every stream");
    sim
}

#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_account_gives_documents_and_signals_matching_its_raw_data() {
    let db = Database::in_memory().unwrap();
    let _sim = sync_simulated_account(
        &db,
        SimConfig {
            tickets: 80,
            users: 40,
            organizations: 5,
            history_days: 30,
            ..SimConfig::default()
        },
    )
    .await;
    let raw = RawAccount::read(&db);
    assert!(raw.tickets.len() >= 80 && !raw.events.is_empty());

    // The platform's list: each organization by its first domain, and a
    // retailer owning the domain of the end users without organization.
    let mut csv = String::from("id,name,domains\nretail,Retail customers,customers.example\n");
    for org in &raw.orgs {
        csv.push_str(&format!(
            "c{},\"{}\",{}\n",
            org["id"],
            org["name"].as_str().unwrap(),
            org["domain_names"][0].as_str().unwrap()
        ));
    }
    import_customers(&db, &csv);
    let report = matching::run(&db, CONNECTION).unwrap();
    assert!(report
        .organizations
        .iter()
        .all(|r| r.decision.outcome.customer_id() == Some(&format!("c{}", r.org.key))));

    let expected = raw.expected();
    let signals: Signals = signals::load(&db, CONNECTION).unwrap();
    assert_eq!(signals.unattributed, 0);
    let first_week = expected
        .values()
        .flatten()
        .map(|t| week_start(t.created))
        .min()
        .unwrap();
    assert_eq!(signals.weeks[0], first_week);
    let by_id: BTreeMap<&str, &CustomerSignals> = signals
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c))
        .collect();
    assert_eq!(
        by_id.keys().copied().collect::<BTreeSet<_>>(),
        expected.keys().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for (customer, tickets) in &expected {
        let got = by_id[customer.as_str()];
        let mut weekly = vec![0; signals.weeks.len()];
        for t in tickets {
            weekly[((week_start(t.created) - first_week) / (7 * DAY)) as usize] += 1;
        }
        let count = |score: &str| {
            tickets
                .iter()
                .filter(|t| t.score.as_deref() == Some(score))
                .count()
        };
        assert_eq!(got.tickets, tickets.len(), "{customer}");
        assert_eq!(got.weekly, weekly, "{customer}");
        assert_eq!(
            got.first_reply,
            median(tickets.iter().filter_map(|t| t.reply).collect()),
            "{customer}"
        );
        assert_eq!(
            (got.good, got.bad, got.offered),
            (count("good"), count("bad"), count("offered")),
            "{customer}"
        );
        if signals.history {
            assert_eq!(
                got.resolution,
                median(tickets.iter().filter_map(|t| t.resolution).collect()),
                "{customer}"
            );
            let escalated = tickets.iter().filter(|t| t.escalated).count();
            let reopened = tickets.iter().filter(|t| t.reopened).count();
            assert_eq!(
                (got.escalated, got.reopened),
                (escalated, reopened),
                "{customer}"
            );
        } else {
            assert_eq!((got.resolution, got.escalated), (None, 0), "{customer}");
        }
    }
    // Not vacuous: the simulated agents answer, and (with change history)
    // solve and escalate.
    assert!(signals.customers.iter().any(|c| c.first_reply.is_some()));
    if signals.history {
        assert!(signals.customers.iter().any(|c| c.resolution.is_some()));
        assert!(signals.customers.iter().any(|c| c.escalated > 0));
    }

    // Documents: one per live ticket; a chat ticket's transcript lines in
    // order; internal notes only when asked for, as many as the raw data has.
    let docs = export(
        &db,
        DocumentOptions {
            internal_notes: true,
            ..DocumentOptions::default()
        },
    );
    assert_eq!(docs.len(), raw.live_tickets().count());
    let (chat_id, transcript) = raw.chat_transcript();
    let doc = docs
        .iter()
        .find(|d| d["metadata"]["ticket_id"] == chat_id.as_str())
        .unwrap();
    let text = doc["content"].as_str().unwrap();
    assert!(text.contains("· chat transcript\n"), "{text}");
    let mut from = 0;
    for line in transcript.lines() {
        // `(10:02:13 AM) Jane Customer: Hello` → `Jane Customer (customer): Hello`.
        let (speaker, said) = line.split_once(") ").unwrap().1.split_once(": ").unwrap();
        from = text[from..]
            .find(&format!("{speaker} ("))
            .and_then(|i| text[from + i..].find(said).map(|j| from + i + j))
            .unwrap_or_else(|| panic!("{line:?} in order in\n{text}"));
    }
    let notes = |docs: &[Value]| -> usize {
        docs.iter()
            .map(|d| {
                d["content"]
                    .as_str()
                    .unwrap()
                    .matches("· internal note\n")
                    .count()
            })
            .sum()
    };
    assert!(
        raw.internal_notes() > 0,
        "the simulator writes internal notes"
    );
    assert_eq!(notes(&docs), raw.internal_notes());
    assert_eq!(notes(&export(&db, DocumentOptions::default())), 0);
}

/// The commands, through the binary: import, match with overrides,
/// documents and the report with its page.
#[test]
fn the_commands_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("platform.db");
    {
        let db = Database::open(&db_path).unwrap();
        tricky_account(&db);
    }
    std::fs::write(
        dir.path().join("acme.toml"),
        "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("customers.csv"), TRICKY_CUSTOMERS).unwrap();
    std::fs::write(
        dir.path().join("overrides.json"),
        r#"[{"organization": "2", "action": "pin", "customer": "acme-eu"}]"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .arg("--db")
            .arg(&db_path)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    let out = run(&[
        "customers",
        "import",
        "customers.csv",
        "--config",
        "acme.toml",
    ]);
    assert!(out.contains("customers: 5 added"), "{out}");
    assert!(
        out.contains("acme: 4 of 7 organizations matched (2 ambiguous)"),
        "{out}"
    );
    let out = run(&[
        "customers",
        "match",
        "--config",
        "acme.toml",
        "--overrides",
        "overrides.json",
    ]);
    assert!(out.contains("overrides: 1 rules"), "{out}");
    assert!(
        out.contains("pinned to Acme Europe (acme-eu) by an override"),
        "{out}"
    );
    assert!(out.contains("1 tickets moved"), "{out}");
    // Stored overrides apply to later runs.
    let out = run(&["customers", "match", "--config", "acme.toml"]);
    assert!(out.contains("0 tickets moved"), "{out}");
    let docs = run(&["export", "--config", "acme.toml", "--documents"]);
    assert_eq!(docs.lines().count(), 6);
    let ticket: Value = serde_json::from_str(
        docs.lines()
            .find(|l| l.contains("\"ticket_id\":\"1002\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ticket["customer"]["id"], "acme-eu");
    run(&[
        "export",
        "--config",
        "acme.toml",
        "--documents",
        "--limit",
        "2",
        "--out",
        "docs.jsonl",
    ]);
    let docs = std::fs::read_to_string(dir.path().join("docs.jsonl")).unwrap();
    assert_eq!(docs.lines().count(), 2);
    let out = run(&["report", "--config", "acme.toml", "--html", "signals.html"]);
    assert!(out.contains("Acme Europe (acme-eu)"), "{out}");
    assert!(out.contains("n/a: no change history synced"), "{out}");
    let page = std::fs::read_to_string(dir.path().join("signals.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    // `export --stream` still works, and disconnecting forgets the results.
    let out = run(&[
        "export",
        "--config",
        "acme.toml",
        "--stream",
        "organizations",
    ]);
    assert_eq!(out.lines().count(), 7);
    let out = run(&["disconnect", "--config", "acme.toml"]);
    assert!(out.contains("rows from customer_conversations"), "{out}");
    let db = Database::open(&db_path).unwrap();
    assert!(ticket_customers(&db).is_empty());
}
