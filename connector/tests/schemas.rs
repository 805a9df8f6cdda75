//! The published schemas check what they claim: records that do not match
//! are rejected by the validator the other tests rely on (`assert_schema`).

mod common;

use common::*;
use serde_json::{json, Value};

/// A change made to a valid record.
type Edit<'a> = &'a dyn Fn(&mut Value);

/// The errors of `of`, edited, against a stream's schema for `kind`.
fn check(stream: &str, kind: &str, of: &Value, edit: Edit<'_>) -> Vec<String> {
    let schema = published_schema(&connector(json!({})), stream).json_schema;
    let mut data = of.clone();
    edit(&mut data);
    schema_errors(&schema, kind, &data)
}

#[test]
fn conversations_that_do_not_match_are_rejected() {
    let mut connector = connector(json!({}));
    let ticket = json("go-zendesk/GET/ticket.json")["ticket"].to_string();
    let records = connector.map_record("tickets", &ticket).unwrap();
    let conversation = data(&records[0]);
    assert!(check("tickets", "conversation", &conversation, &|_| {}).is_empty());
    let status = check("tickets", "conversation", &conversation, &|d| {
        d["status"] = json!(5)
    });
    assert!(
        status.iter().any(|e| e.contains("/status")),
        "a number for a string, at its path: {status:?}"
    );
    let wrong: [(&str, Edit<'_>); 4] = [
        ("a member left out", &|d| {
            d.as_object_mut().unwrap().remove("requester_id");
        }),
        ("a member outside the model", &|d| d["score"] = json!(1)),
        ("a nested member of the wrong type", &|d| {
            d["brand"] = json!({"id": 1, "name": null})
        }),
        ("a tag that is not a string", &|d| d["tags"] = json!([1])),
    ];
    for (what, edit) in wrong {
        assert!(
            !check("tickets", "conversation", &conversation, edit).is_empty(),
            "{what} is rejected"
        );
    }
}

#[test]
fn messages_and_changes_that_do_not_match_are_rejected() {
    let mut connector = connector(json!({}));
    let event = json!({"id": 5, "ticket_id": 42, "created_at": "2026-01-01T00:00:00Z", "updater_id": 7, "child_events": [
        {"id": 51, "type": "Comment", "body": "Hello", "public": true},
        {"id": 52, "type": "Change", "field_name": "status", "value": "open", "previous_value": "new"}
    ]});
    let records = connector
        .map_record("ticket_comments", &event.to_string())
        .unwrap();
    let (message, change) = (data(&records[0]), data(&records[1]));
    assert_eq!(
        (records[0].kind.as_str(), records[1].kind.as_str()),
        ("message", "change")
    );
    assert!(check("ticket_comments", "message", &message, &|_| {}).is_empty());
    assert!(check("ticket_comments", "change", &change, &|_| {}).is_empty());
    let wrong: [(&str, &str, &Value, Edit<'_>); 5] = [
        ("a role outside the enum", "message", &message, &|d| {
            d["author_role"] = json!("robot")
        }),
        (
            "a chat line without its number",
            "message",
            &message,
            &|d| d["chat"] = json!({"time": null, "parsed": true}),
        ),
        ("a change without its field", "change", &change, &|d| {
            d.as_object_mut().unwrap().remove("field");
        }),
        ("a change named a message", "message", &change, &|_| {}),
        (
            "a message with a change's member",
            "message",
            &message,
            &|d| d["field"] = json!("status"),
        ),
    ];
    for (what, kind, of, edit) in wrong {
        assert!(
            !check("ticket_comments", kind, of, edit).is_empty(),
            "{what} is rejected"
        );
    }
}
