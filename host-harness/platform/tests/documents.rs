//! Conversation documents: chat lines, internal notes, filters, and the
//! ticket's context (requester, organization, customer, satisfaction).

mod common;

use connector_platform::documents::DocumentOptions;
use connector_platform::matching;
use connector_store_sqlite::Database;
use serde_json::{json, Value};

use common::*;

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

pub fn ids(docs: &[Value]) -> Vec<&str> {
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
