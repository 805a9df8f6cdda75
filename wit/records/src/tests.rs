use std::borrow::Cow;

use super::*;

/// Every `$ref` in a schema.
fn refs(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            map.contains_key("$ref") as usize + map.values().map(refs).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(refs).sum(),
        _ => 0,
    }
}

#[test]
fn every_kind_has_a_schema() {
    for kind in Kind::ALL {
        let schema = kind.schema();
        let schema = schema.as_value();
        let name = kind.name();
        assert_eq!(schema["title"], name);
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["type"], "object", "{name}");
        assert_eq!(schema["additionalProperties"], false, "{name}");
        assert!(schema["description"].is_string(), "{name}");
        assert_eq!(refs(schema), 0, "{name}: self-contained");
        let properties = schema["properties"].as_object().unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(required, keys, "{name}: every member is required");
        for (key, property) in properties {
            assert!(property["description"].is_string(), "{name}.{key}");
        }
    }
    let message = Kind::Message.schema();
    let roles: Vec<&Value> = message.as_value()["properties"]["author_role"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| &role["const"])
        .collect();
    assert_eq!(roles, ["customer", "agent", "system"]);
    assert_eq!(
        message.as_value()["properties"]["chat"]["required"],
        serde_json::json!(["line", "parsed", "time"])
    );
}

#[test]
fn kind_names_round_trip() {
    for kind in Kind::ALL {
        assert_eq!(Kind::from_name(kind.name()), Some(kind));
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.name()));
        assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
    }
    assert_eq!(Kind::from_name("macro"), None);
    assert_eq!(Conversation::KIND, Kind::Conversation);
    assert_eq!(Tag::KIND.name(), "tag");
}

#[test]
fn records_read_back_borrowing() {
    let tags = [Text::from("vip")];
    let conversation = Conversation {
        id: "1".into(),
        url: "https://acme.zendesk.com/agent/tickets/1".into(),
        subject: Some("Hello \"there\"".into()),
        status: Some("open".into()),
        priority: None,
        kind: None,
        channel: Some("web".into()),
        brand: Some(Ref {
            id: "2".into(),
            name: None,
        }),
        group: None,
        tags: Cow::Borrowed(&tags),
        requester_id: Some("3".into()),
        assignee_id: None,
        organization_id: None,
        custom_fields: CustomFields(vec![
            ("Tier".into(), FieldValue::Label("Gold".into())),
            ("Products".into(), FieldValue::Labels(vec!["A".into()])),
        ]),
        satisfaction: None,
        created_at: None,
        updated_at: None,
        deleted: false,
    };
    let json = serde_json::to_string(&conversation).unwrap();
    assert!(json.contains(r#""type":null"#), "null members are written");
    assert!(json.contains(r#""custom_fields":{"Tier":"Gold","Products":["A"]}"#));
    let read: Conversation<'_> = serde_json::from_str(&json).unwrap();
    assert!(matches!(read.status, Some(Text(Cow::Borrowed("open")))));
    assert_eq!(read.subject.as_deref(), Some("Hello \"there\""));
    assert!(matches!(
        read.custom_fields.0.as_slice(),
        [(Cow::Borrowed("Tier"), FieldValue::Raw(raw)), _] if raw.get() == r#""Gold""#
    ));
    assert_eq!(serde_json::to_string(&read).unwrap(), json);
    assert!(
        serde_json::from_str::<Tag<'_>>(r#"{"name":"a","count":1,"extra":2}"#).is_err(),
        "members outside the model are refused"
    );
}
