//! `map-record` on the recorded fixtures, with reference data loaded the way
//! a sync loads it (through `fetch-page` of the reference streams).

#[path = "../common/mod.rs"]
mod common;
mod events;

use common::*;
use serde_json::{json, Value};
use zendesk_connector::types::{ConnectorError, NormalizedRecord, PageRequest};
use zendesk_connector::{MemoryStorage, NativeConnector};

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;

fn fetch_all(
    connector: &mut NativeConnector<MemoryStorage>,
    http: &mut ScriptedHttp,
    stream: &str,
) -> Vec<String> {
    let mut cursor = None;
    let mut records = Vec::new();
    loop {
        let request = PageRequest {
            stream: stream.into(),
            cursor,
            sync_started_at: NOW,
            page_size: None,
        };
        let page = connector.fetch_page(http, &request).unwrap();
        records.extend(page.records);
        if page.done {
            return records;
        }
        cursor = page.next_cursor;
    }
}

/// Users as the cursor export sends them.
fn users_export(users: &Value) -> String {
    json!({"users": users, "after_cursor": "next", "end_of_stream": true}).to_string()
}

/// Loads fields, brands, groups and users (hence staff) into storage.
fn loaded(extra: Value) -> NativeConnector<MemoryStorage> {
    let mut connector = connector(extra);
    let mut http = ScriptedHttp::default();
    http.expect("/api/v2/ticket_fields.json", ok(&fixture("go-zendesk/GET/ticket_fields.json")))
        .expect("/api/v2/brands.json", ok(&fixture("go-zendesk/GET/brands.json")))
        .expect("/api/v2/groups.json", ok(r#"{"groups":[{"id":360004077472,"name":"Support","deleted":false}],"meta":{"has_more":false}}"#))
        .expect("/api/v2/incremental/users/cursor.json", ok(&users_export(&json("go-zendesk/GET/users.json")["users"])));
    for stream in ["ticket_fields", "brands", "groups", "users"] {
        fetch_all(&mut connector, &mut http, stream);
    }
    assert!(http.finished());
    connector
}

fn map(
    connector: &mut NativeConnector<MemoryStorage>,
    stream: &str,
    raw: &str,
) -> Vec<NormalizedRecord> {
    let records = connector.map_record(stream, raw).unwrap();
    assert_schema(connector, stream, &records);
    records
}

fn items(path: &str, key: &str) -> Vec<Value> {
    json(path)[key].as_array().unwrap().clone()
}

#[test]
fn tickets_become_conversations() {
    let mut connector = loaded(json!({}));
    let tickets = items("go-zendesk/GET/tickets.json", "tickets");
    let records = map(&mut connector, "tickets", &tickets[0].to_string());
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(
        (record.kind.as_str(), record.key.as_str()),
        ("conversation", "2")
    );
    assert_eq!(record.version.as_deref(), Some("2019-06-05T01:13:24Z"));
    assert!(!record.deleted);
    let data = data(record);
    assert_eq!(data["url"], "https://acme.zendesk.com/agent/tickets/2");
    assert_eq!(data["subject"], "Mail to create fixture ticket for testing");
    assert_eq!(data["status"], "solved");
    assert_eq!(data["channel"], "email");
    assert_eq!(data["requester_id"], "377922500012");
    assert_eq!(data["organization_id"], "360363695492");
    assert_eq!(
        data["group"],
        json!({"id": "360004077472", "name": "Support"})
    );
    assert_eq!(
        data["brand"],
        json!({"id": "360002256672", "name": null}),
        "a brand the brands stream did not list"
    );
    assert_eq!(data["custom_fields"], json!({}));
    assert_eq!(data["satisfaction"], Value::Null);
    assert_eq!(data["type"], Value::Null);

    let second = map(&mut connector, "tickets", &tickets[1].to_string());
    assert_eq!(data_of(&second)["subject"], "にゃー");
    assert_eq!(data_of(&second)["channel"], "web");

    let single = json("go-zendesk/GET/ticket.json")["ticket"].to_string();
    assert_eq!(map(&mut connector, "tickets", &single)[0].key, "2");
}

fn data_of(records: &[NormalizedRecord]) -> Value {
    data(&records[0])
}

#[test]
fn custom_fields_are_keyed_by_title_with_labels() {
    let mut connector = loaded(json!({}));
    let mut ticket = json("go-zendesk/GET/ticket.json")["ticket"].clone();
    ticket["brand_id"] = json!(360002143133u64);
    ticket["tags"] = json!(["vip", "opt2"]);
    ticket["generated_timestamp"] = json!(1_559_697_205u64);
    ticket["a_field_zendesk_adds_later"] = json!({"nested": [1, 2]});
    ticket["custom_fields"] = json!([
        {"id": 360011759674u64, "value": "opt2"},
        {"id": 360011747994u64, "value": "hello"},
        {"id": 360011672533u64, "value": true},
        {"id": 360011748014u64, "value": null},
        {"id": 999, "value": "x"},
        {"id": 360011759674u64, "value": "retired_option"}
    ]);
    let records = map(&mut connector, "tickets", &ticket.to_string());
    assert_eq!(
        records[0].data.matches("\"Tagger Field\"").count(),
        1,
        "keys are unique"
    );
    let data = data_of(&records);
    let fields = data["custom_fields"].as_object().unwrap();
    assert_eq!(
        fields["Tagger Field"], "retired_option",
        "the last value wins; unknown options keep their value"
    );
    assert_eq!(fields["Text Field"], "hello");
    assert_eq!(fields["Checkbox Field"], true);
    assert_eq!(fields["field_999"], "x");
    assert!(
        !fields.contains_key("Integer Field"),
        "empty values are left out"
    );
    assert_eq!(data["brand"]["name"], "brand2");
    assert_eq!(data["tags"], json!(["vip", "opt2"]));
    assert_eq!(
        records[0].version.as_deref(),
        Some("2019-06-05T01:13:25Z"),
        "generated_timestamp orders versions"
    );

    ticket["custom_fields"] = json!([{"id": 360011759674u64, "value": "opt1"}]);
    assert_eq!(
        data_of(&map(&mut connector, "tickets", &ticket.to_string()))["custom_fields"],
        json!({"Tagger Field": "Option 1"})
    );
}

#[test]
fn repeated_titles_and_multiselects() {
    let mut connector = connector(json!({}));
    let mut fields =
        recordings("zendesk_api_client_rb/ticket_fields.decoded.json")[0]["body"].clone();
    fields["ticket_fields"].as_array_mut().unwrap().push(json!({
        "id": 77, "type": "multiselect", "title": "Products",
        "custom_field_options": [{"id": 1, "name": "Widget Pro", "value": "widget_pro"}, {"id": 2, "name": "Gadget", "value": "gadget"}]
    }));
    let mut http = ScriptedHttp::default();
    http.expect("/api/v2/ticket_fields.json", ok(&fields.to_string()));
    let raw = fetch_all(&mut connector, &mut http, "ticket_fields");
    assert_eq!(raw.len(), 16);
    let ticket = json!({"id": 9, "custom_fields": [
        {"id": 20012676, "value": "41"}, {"id": 20010327, "value": "x"}, {"id": 77, "value": ["gadget", "other"]}
    ]});
    let conversation = data_of(&map(&mut connector, "tickets", &ticket.to_string()));
    assert_eq!(
        conversation["custom_fields"],
        json!({"Age (20012676)": "41", "Subject": "x", "Products": ["Gadget", "other"]})
    );

    let field_records: Vec<NormalizedRecord> = raw
        .iter()
        .flat_map(|r| map(&mut connector, "ticket_fields", r))
        .collect();
    let products = data(field_records.last().unwrap());
    assert_eq!(
        products["options"],
        json!([{"value": "widget_pro", "label": "Widget Pro"}, {"value": "gadget", "label": "Gadget"}])
    );
    assert_eq!(data(&field_records[0])["system"], true);
}

#[test]
fn ticket_satisfaction_and_tombstones() {
    let mut connector = loaded(json!({}));
    let mut ticket = json("go-zendesk/GET/ticket.json")["ticket"].clone();
    ticket["satisfaction_rating"] = json!({"id": 5, "score": "bad", "comment": "Too slow", "reason": "The issue took too long to resolve"});
    let data = data_of(&map(&mut connector, "tickets", &ticket.to_string()));
    assert_eq!(
        data["satisfaction"],
        json!({"score": "bad", "reason": "The issue took too long to resolve", "comment": "Too slow"})
    );

    ticket["status"] = json!("deleted");
    ticket["subject"] = json!("SCRUBBED");
    let records = map(&mut connector, "tickets", &ticket.to_string());
    assert!(records[0].deleted);
    assert_eq!(data_of(&records)["deleted"], true);
}

#[test]
fn users_become_persons() {
    let mut connector = loaded(json!({}));
    let users = items("go-zendesk/GET/users.json", "users");
    let customer = map(&mut connector, "users", &users[0].to_string());
    let data = data_of(&customer);
    assert_eq!(customer[0].key, "369531345753");
    assert_eq!(data["role"], "end-user");
    assert_eq!(data["email"], "customer@example.com");
    assert_eq!(data["iana_time_zone"], "Asia/Tokyo");
    assert_eq!(data["user_fields"], json!({}));
    assert_eq!(data["active"], true);
    assert!(!customer[0].deleted);
    let admin = data_of(&map(&mut connector, "users", &users[1].to_string()));
    assert_eq!(admin["organization_id"], "360091290114");

    let mut deleted = users[0].clone();
    deleted["active"] = json!(false);
    deleted["user_fields"] = json!({"plan": "gold"});
    let records = map(&mut connector, "users", &deleted.to_string());
    assert!(records[0].deleted);
    assert_eq!(data_of(&records)["user_fields"], json!({"plan": "gold"}));

    let me = recordings("zendesk_api_client_rb/current_user.decoded.json")[0]["body"]["user"]
        .to_string();
    assert_eq!(
        data_of(&map(&mut connector, "users", &me))["time_zone"],
        "Alaska"
    );
}

#[test]
fn organizations_become_accounts() {
    let mut connector = connector(json!({}));
    let orgs = items("go-zendesk/GET/organizations.json", "organizations");
    let records = map(&mut connector, "organizations", &orgs[0].to_string());
    assert_eq!(records[0].kind, "account");
    let data = data_of(&records);
    assert_eq!(data["name"], "Rebel Alliance");
    assert_eq!(data["domains"], json!(["hoth.com", "dantooine.com"]));
    assert_eq!(data["tags"], json!(["test"]));
    assert_eq!(data["organization_fields"], Value::Null);
    let mut deleted = orgs[1].clone();
    deleted["deleted_at"] = json!("2020-01-01T00:00:00Z");
    deleted["organization_fields"] = json!({"tier": "enterprise"});
    let records = map(&mut connector, "organizations", &deleted.to_string());
    assert!(records[0].deleted);
    assert_eq!(
        data_of(&records)["organization_fields"]["tier"],
        "enterprise"
    );
}

#[test]
fn satisfaction_ratings_brands_and_tags() {
    let mut connector = connector(json!({}));
    let ratings = recordings("zendesk_api_client_rb/satisfaction_ratings.decoded.json")[0]["body"]
        ["satisfaction_ratings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(ratings.len(), 65);
    let mapped: Vec<Value> = ratings
        .iter()
        .map(|r| data_of(&map(&mut connector, "satisfaction_ratings", &r.to_string())))
        .collect();
    assert_eq!(mapped[0]["score"], "good");
    assert_eq!(mapped[0]["comment"], "Satisfaction!");
    assert_eq!(mapped[0]["conversation_id"], "35");
    assert_eq!(
        mapped.iter().filter(|r| r["score"] == "offered").count(),
        64
    );

    let brands = items("go-zendesk/GET/brands.json", "brands");
    let brand = data_of(&map(&mut connector, "brands", &brands[1].to_string()));
    assert_eq!(brand["name"], "サンドボックス");
    assert_eq!(brand["default"], true);

    let tag = map(&mut connector, "tags", r#"{"name":"billing","count":14}"#);
    assert_eq!(
        (tag[0].key.as_str(), data_of(&tag)["count"].as_u64()),
        ("billing", Some(14))
    );
    let group = map(
        &mut connector,
        "groups",
        r#"{"id":1,"name":"Tier 2","deleted":true}"#,
    );
    assert!(group[0].deleted);
}

#[test]
fn bad_input_is_classified() {
    let mut connector = connector(json!({}));
    assert!(matches!(
        connector.map_record("tickets", "{not json"),
        Err(ConnectorError::Protocol(_))
    ));
    assert!(matches!(
        connector.map_record("tickets", r#"{"subject":"no id"}"#),
        Err(ConnectorError::Protocol(_))
    ));
    assert!(matches!(
        connector.map_record("macros", "{}"),
        Err(ConnectorError::Internal(_))
    ));
    let mut fresh = NativeConnector::new(MemoryStorage::new());
    assert!(matches!(
        fresh.map_record("tickets", "{}"),
        Err(ConnectorError::Config(_))
    ));
}
