//! Ticket events on the recorded audits: comments become messages with
//! their authors' roles, field changes become `change` records, chat
//! transcripts one message per line.

use super::*;

/// The recorded audits as ticket events (`events` become `child_events`).
fn audits_as_events(path: &str, body: &Value) -> Vec<String> {
    let _ = path;
    body["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|audit| {
            let mut event = audit.clone();
            let object = event.as_object_mut().unwrap();
            let children = object.remove("events").unwrap();
            object.insert("child_events".into(), children);
            object.insert("via".into(), json!("Web form"));
            event.to_string()
        })
        .collect()
}

/// Loads staff from the users side-loaded with the recorded audits.
fn with_audit_users(extra: Value) -> (NativeConnector<MemoryStorage>, Vec<String>) {
    let mut connector = connector(extra);
    let recording = &recordings("zendesk_api_client_rb/ticket_audits.decoded.json")[0];
    let mut http = ScriptedHttp::default();
    http.expect(
        "/api/v2/incremental/users/cursor.json",
        ok(&users_export(&recording["body"]["users"])),
    );
    fetch_all(&mut connector, &mut http, "users");
    (connector, audits_as_events("audits", &recording["body"]))
}

/// The records of a kind.
fn of_kind(records: Vec<NormalizedRecord>, kind: &str) -> Vec<NormalizedRecord> {
    records.into_iter().filter(|r| r.kind == kind).collect()
}

#[test]
fn comments_become_messages_with_roles() {
    let (mut connector, events) = with_audit_users(json!({}));
    let messages: Vec<NormalizedRecord> = of_kind(
        events
            .iter()
            .flat_map(|e| map(&mut connector, "ticket_comments", e))
            .collect(),
        "message",
    );
    let comment_events: usize = events
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["child_events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["type"] == "Comment")
                .count()
        })
        .sum();
    assert_eq!(messages.len(), comment_events);
    assert!(messages.len() > 20);
    let first = data(&messages[0]);
    assert_eq!(messages[0].key, "21078922");
    assert_eq!(first["conversation_id"], "1");
    assert_eq!(first["author_role"], "agent", "an admin is an agent");
    assert_eq!(first["visibility"], "public");
    assert_eq!(
        first["body"],
        "This is the first comment. Feel free to delete this sample ticket."
    );
    assert!(first["html_body"]
        .as_str()
        .unwrap()
        .starts_with("<div class=\"zd-comment\">"));
    assert_eq!(
        first["created_at"], "2012-09-06T20:17:09Z",
        "the audit's time when the comment has none"
    );
    assert_eq!(data(&messages[1])["visibility"], "internal");

    let (mut no_notes, events) = with_audit_users(json!({"include_internal_notes": false}));
    let public: Vec<NormalizedRecord> = of_kind(
        events
            .iter()
            .flat_map(|e| no_notes.map_record("ticket_comments", e).unwrap())
            .collect(),
        "message",
    );
    assert_eq!(
        public.len(),
        messages
            .iter()
            .filter(|m| data(m)["visibility"] == "public")
            .count()
    );
    assert!(public.len() < messages.len());

    let (mut none, events) = with_audit_users(
        json!({"import_comments": false, "only_tickets_with_customer_comments": true}),
    );
    assert!(events.iter().all(|e| none
        .map_record("ticket_comments", e)
        .unwrap()
        .iter()
        .all(|r| r.kind == "change")));
}

#[test]
fn field_changes_become_change_records() {
    let (mut connector, events) = with_audit_users(json!({}));
    let changes = of_kind(
        events
            .iter()
            .flat_map(|e| map(&mut connector, "ticket_comments", e))
            .collect(),
        "change",
    );
    let change_events = events
        .iter()
        .flat_map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["child_events"]
                .as_array()
                .unwrap()
                .clone()
        })
        .filter(|c| c["type"] == "Change")
        .count();
    assert_eq!(changes.len(), change_events);
    let priority = changes.iter().find(|c| c.key == "21078977").unwrap();
    assert_eq!(
        data(priority),
        json!({"id": "21078977", "conversation_id": "1", "field": "priority", "from": "normal", "to": "high",
            "at": "2012-09-06T20:17:10Z", "author_id": "20014182"})
    );
    assert_eq!(priority.version.as_deref(), Some("2012-09-06T20:17:10Z"));
    let tags = changes
        .iter()
        .map(data)
        .find(|c| c["field"] == "tags" && c["from"].is_string())
        .unwrap();
    assert!(
        !tags["to"].as_str().unwrap().contains('['),
        "tags joined by spaces: {tags}"
    );

    // The events export names the field by a member of its own.
    let exported = json!({"id": 5, "ticket_id": 42, "timestamp": 1_767_225_000, "updater_id": -1, "via": "Rule", "event_type": "Audit",
    "child_events": [
        {"id": 51, "via": "Rule", "via_reference_id": null, "status": "solved", "previous_value": "open", "event_type": "Change"},
        {"id": 52, "via": "Rule", "via_reference_id": null, "priority": "urgent", "previous_value": null, "event_type": "Change"},
        {"id": 53, "via": "Rule", "via_reference_id": null, "tags": ["vip", "billing"], "previous_value": ["billing"], "event_type": "Change"},
        {"id": 54, "via": "Rule", "via_reference_id": null, "status": "solved", "event_type": "Create"}
    ]});
    let records = map(&mut connector, "ticket_comments", &exported.to_string());
    let mapped: Vec<Value> = records.iter().map(data).collect();
    assert_eq!(
        mapped,
        vec![
            json!({"id": "51", "conversation_id": "42", "field": "status", "from": "open", "to": "solved", "at": "2025-12-31T23:50:00Z", "author_id": "-1"}),
            json!({"id": "52", "conversation_id": "42", "field": "priority", "from": null, "to": "urgent", "at": "2025-12-31T23:50:00Z", "author_id": "-1"}),
            json!({"id": "53", "conversation_id": "42", "field": "tags", "from": "billing", "to": "vip billing", "at": "2025-12-31T23:50:00Z", "author_id": "-1"}),
        ]
    );
    assert!(records.iter().all(|r| r.kind == "change" && !r.deleted));
    // The older history (audit list, per ticket) maps its changes the same way.
    let backfilled: Vec<Value> = map(
        &mut connector,
        "ticket_comments_backfill",
        &exported.to_string(),
    )
    .iter()
    .map(data)
    .collect();
    assert_eq!(backfilled, mapped);
}

#[test]
fn authors_without_a_staff_entry_are_customers() {
    let mut connector = loaded(json!({}));
    let recorded = json("go-zendesk/GET/ticket_audits.json");
    let events = audits_as_events("go-zendesk", &recorded);
    let records = map(&mut connector, "ticket_comments", &events[0]);
    assert_eq!(records.len(), 2);
    let change = data(&records[1]);
    assert_eq!(
        (
            change["field"].as_str(),
            change["from"].as_str(),
            change["to"].as_str()
        ),
        (Some("status"), Some("new"), Some("open"))
    );
    let messages = of_kind(records, "message");
    assert_eq!(messages.len(), 1, "the Change event is not a message");
    let message = data_of(&messages);
    assert_eq!(message["author_id"], "5246746", "the audit's author");
    assert_eq!(message["author_role"], "customer");
    assert_eq!(message["visibility"], "internal");

    let staff = json!({"ticket_id": 7, "child_events": [
        {"id": 1, "type": "Comment", "author_id": 369537351454u64, "body": "Hi", "public": true,
         "attachments": [{"id": 3, "file_name": "log.txt", "content_type": "text/plain", "size": 12, "content_url": "https://acme.zendesk.com/attachments/token/x/?name=log.txt"}]},
        {"id": 2, "type": "Comment", "author_id": 369531345753u64, "body": "Thanks", "plain_body": "Thanks!", "public": true},
        {"id": 3, "type": "Comment", "author_id": 369537351454u64, "body": "Auto", "public": true, "via": {"channel": "rule", "source": {"rel": "trigger"}}},
        {"id": 4, "event_type": "VoiceComment", "author_id": -1, "body": "Call recording", "public": false}
    ]});
    let messages = map(&mut connector, "ticket_comments", &staff.to_string());
    let roles: Vec<Value> = messages
        .iter()
        .map(|m| data(m)["author_role"].clone())
        .collect();
    assert_eq!(
        roles,
        vec![
            json!("agent"),
            json!("customer"),
            json!("system"),
            json!("system")
        ]
    );
    assert_eq!(
        data(&messages[1])["body"],
        "Thanks!",
        "plain_body is preferred"
    );
    assert_eq!(data(&messages[0])["attachments"][0]["file_name"], "log.txt");
    assert_eq!(data(&messages[0])["attachments"][0]["id"], "3");
}

#[test]
fn chat_transcripts_become_one_message_per_line() {
    let mut connector = loaded(json!({}));
    let transcript = "Chat started: 2024-03-01 10:02 AM UTC\n\n\
        (10:02:13 AM) Jane Customer: Hello, my order is late\n\
        (10:02:20 AM) *** Sam Support joined the chat ***\n\
        (10:02:25 AM) Sam Support: Hi Jane, which order?\n\
        (10:03:01 AM) nukosuke: I can help too\n\
        order #42, placed last week\n\
        (10:04:00 PM) Jane Customer: Thanks!";
    let event = json!({"id": 10, "ticket_id": 99, "timestamp": 1_709_287_400, "created_at": "2024-03-01T10:05:00Z", "updater_id": 369531345753u64,
        "child_events": [{"id": 555, "type": "Comment", "event_type": "Comment", "author_id": 369531345753u64, "body": transcript,
        "html_body": "<p>..</p>", "public": true, "via": {"channel": "chat"}, "attachments": [], "created_at": "2024-03-01T10:05:00Z"}]});
    let messages = map(&mut connector, "ticket_comments", &event.to_string());
    assert_eq!(messages.len(), 7);
    let lines: Vec<Value> = messages.iter().map(data).collect();
    assert_eq!(messages[1].key, "555-2");
    assert_eq!(lines[1]["author_name"], "Jane Customer");
    assert_eq!(lines[1]["author_role"], "customer");
    assert_eq!(lines[1]["body"], "Hello, my order is late");
    assert_eq!(
        lines[1]["chat"],
        json!({"line": 2, "time": "10:02:13", "parsed": true})
    );
    assert_eq!(lines[2]["author_role"], "system");
    assert_eq!(lines[3]["author_role"], "agent", "joined the chat");
    assert_eq!(lines[4]["author_role"], "agent", "a staff member's name");
    assert_eq!(
        lines[5]["body"], "order #42, placed last week",
        "kept verbatim"
    );
    assert_eq!(lines[5]["chat"]["parsed"], false);
    assert_eq!(lines[0]["body"], "Chat started: 2024-03-01 10:02 AM UTC");
    assert_eq!(lines[6]["chat"]["time"], "22:04:00");
    assert!(lines.iter().all(|l| l["comment_id"] == "555"
        && l["conversation_id"] == "99"
        && l["html_body"].is_null()));

    // Ticket events name the channel (`"via": "Chat"`); no header line.
    let event = json!({"id": 11, "ticket_id": 98, "timestamp": 1_709_287_400, "updater_id": 369531345753u64, "via": "Chat",
        "child_events": [{"id": 557, "event_type": "Comment", "author_id": 369531345753u64, "public": true, "via": "Chat",
        "body": "(9:15:02 AM) Visitor 42: Is it shipped?\n(9:15:40 AM) nukosuke: Yes, today."}]});
    let lines: Vec<Value> = map(&mut connector, "ticket_comments", &event.to_string())
        .iter()
        .map(data)
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["author_role"].as_str(),
            lines[1]["author_role"].as_str()
        ),
        (Some("customer"), Some("agent"))
    );
    assert_eq!(lines[0]["channel"], "chat");

    let plain = json!({"ticket_id": 99, "child_events": [{"id": 556, "type": "Comment", "author_id": 1, "body": "no transcript here", "via": {"channel": "chat"}}]});
    assert_eq!(
        map(&mut connector, "ticket_comments", &plain.to_string()).len(),
        1
    );
}
