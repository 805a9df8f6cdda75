//! Responses have the shapes of recorded Zendesk responses, field for field: every key of a
//! recorded object is present in the simulator's object, with the same JSON type where
//! neither value is null.

use serde_json::Value;

use super::{admin, small, start};

pub(super) fn fixture(path: &str) -> Value {
    let full = format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The body of the `index`th recorded exchange of a decoded cassette.
pub(super) fn recorded(path: &str, index: usize) -> Value {
    fixture(path)[index]["body"].clone()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn compare(
    recorded: &Value,
    simulated: &Value,
    path: &str,
    exempt: &[&str],
    problems: &mut Vec<String>,
) {
    if recorded.is_null() || simulated.is_null() {
        return;
    }
    if kind(recorded) != kind(simulated) {
        problems.push(format!(
            "{path}: recorded {} but simulated {}",
            kind(recorded),
            kind(simulated)
        ));
        return;
    }
    match (recorded, simulated) {
        (Value::Object(r), Value::Object(s)) => {
            for (key, value) in r {
                let p = format!("{path}.{key}");
                if exempt.contains(&p.as_str()) {
                    continue;
                }
                match s.get(key) {
                    None => problems.push(format!("{p}: missing")),
                    Some(sv) => compare(value, sv, &p, exempt, problems),
                }
            }
        }
        (Value::Array(r), Value::Array(s)) => {
            if let (Some(r0), Some(s0)) = (r.first(), s.first()) {
                compare(r0, s0, &format!("{path}[]"), exempt, problems);
            }
        }
        _ => {}
    }
}

/// Panics listing every key of `recorded` that `simulated` lacks or types differently.
pub(super) fn assert_shape(recorded: &Value, simulated: &Value, what: &str, exempt: &[&str]) {
    let mut problems = Vec::new();
    compare(recorded, simulated, "", exempt, &mut problems);
    assert!(
        problems.is_empty(),
        "{what}: {problems:#?}\nsimulated: {simulated:#}"
    );
}

#[test]
fn the_comparison_catches_missing_keys_and_type_changes() {
    let recorded = serde_json::json!({"a": 1, "b": {"c": "x"}, "d": null, "e": [{"f": true}]});
    let good = serde_json::json!({"a": 2, "b": {"c": "y", "z": 0}, "d": 5, "e": [{"f": false}]});
    let mut problems = Vec::new();
    compare(&recorded, &good, "", &[], &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let bad = serde_json::json!({"a": "2", "b": {}, "e": [{"f": 1}]});
    compare(&recorded, &bad, "", &[], &mut problems);
    assert_eq!(problems.len(), 4, "{problems:?}");
}

#[tokio::test]
async fn tickets_match_the_recorded_tickets() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let list = c.json("/api/v2/tickets.json").await;
    let mut envelope = fixture("go-zendesk/tickets.json");
    envelope["tickets"] = Value::Array(Vec::new());
    assert_shape(&envelope, &list, "ticket list", &[]);
    let tickets = list["tickets"].as_array().unwrap();
    let by_channel = |channel: &str| {
        tickets
            .iter()
            .find(|t| t["via"]["channel"] == channel)
            .unwrap_or_else(|| panic!("a {channel} ticket"))["id"]
            .as_u64()
            .unwrap()
    };
    let email = c
        .json(&format!("/api/v2/tickets/{}.json", by_channel("email")))
        .await;
    assert_shape(
        &fixture("go-zendesk/ticket.json"),
        &email,
        "email ticket",
        &[],
    );
    let web = c
        .json(&format!("/api/v2/tickets/{}.json", by_channel("web")))
        .await;
    let recorded_web = &fixture("go-zendesk/tickets.json")["tickets"][1];
    assert_eq!(recorded_web["via"]["channel"], "web");
    assert_shape(recorded_web, &web["ticket"], "web ticket", &[]);
    sim.shutdown().await;
}

#[tokio::test]
async fn users_match_the_recorded_users() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let me = c.json("/api/v2/users/me.json").await;
    // `authenticity_token` was a CSRF token of 2015 browser sessions (recorded as REDACTED).
    assert_shape(
        &recorded("zendesk_api_client_rb/current_user.decoded.json", 0),
        &me,
        "users/me",
        &[".user.authenticity_token"],
    );
    let admin_id = me["user"]["id"].as_u64().unwrap();
    let user = c.json(&format!("/api/v2/users/{admin_id}.json")).await;
    assert_shape(
        &fixture("go-zendesk/user.json"),
        &user,
        "user with photo",
        &[],
    );
    let users = c.json("/api/v2/users.json").await;
    assert_shape(&fixture("go-zendesk/users.json"), &users, "user list", &[]);
    let agent = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "agent")
        .expect("an agent")
        .clone();
    let recorded_agent =
        &recorded("zendesk_api_client_rb/valid_user_agent.decoded.json", 0)["users"][0];
    assert_shape(recorded_agent, &agent, "agent", &[]);
    let end_user = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "end-user")
        .expect("an end user")
        .clone();
    let recorded_end_user =
        &recorded("zendesk_api_client_rb/valid_user_end-user.decoded.json", 0)["users"][0];
    assert_shape(recorded_end_user, &end_user, "end user", &[]);
    sim.shutdown().await;
}

#[tokio::test]
async fn catalogs_match_the_recorded_ones() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let orgs = c.json("/api/v2/organizations.json").await;
    assert_shape(
        &fixture("go-zendesk/organizations.json"),
        &orgs,
        "organizations",
        &[],
    );
    let brands = c.json("/api/v2/brands.json").await;
    assert_shape(&fixture("go-zendesk/brands.json"), &brands, "brands", &[]);
    let fields = c.json("/api/v2/ticket_fields.json").await;
    let simulated = fields["ticket_fields"].as_array().unwrap();
    for recording in [
        fixture("go-zendesk/ticket_fields.json"),
        recorded("zendesk_api_client_rb/ticket_fields.decoded.json", 0),
    ] {
        for field in recording["ticket_fields"].as_array().unwrap() {
            let same_type = simulated
                .iter()
                .find(|f| f["type"] == field["type"])
                .unwrap_or_else(|| panic!("a {} field", field["type"]));
            assert_shape(field, same_type, &format!("{} field", field["type"]), &[]);
        }
        let mut envelope = recording.clone();
        envelope["ticket_fields"] = Value::Array(Vec::new());
        assert_shape(&envelope, &fields, "ticket field list", &[]);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn comments_audits_and_ratings_match_the_recorded_ones() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let list = c.json("/api/v2/tickets.json?page[size]=100").await;
    let ticket = list["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["via"]["channel"] == "web" && t["status"] == "closed")
        .expect("a closed web ticket")["id"]
        .as_u64()
        .unwrap();
    let comments = c
        .json(&format!(
            "/api/v2/tickets/{ticket}/comments.json?page[size]=1"
        ))
        .await;
    assert_shape(
        &fixture("go-zendesk/ticket_comments.json"),
        &comments,
        "comments",
        &[],
    );

    let audits = c
        .json(&format!("/api/v2/tickets/{ticket}/audits.json"))
        .await;
    let simulated_events: Vec<Value> = audits["audits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap().clone())
        .collect();
    let go = fixture("go-zendesk/ticket_audits.json");
    let rb = recorded("zendesk_api_client_rb/ticket_audits.decoded.json", 0);
    for recording in [&go, &rb] {
        let mut envelope = recording.clone();
        envelope["audits"] = Value::Array(Vec::new());
        // The Ruby client's recording asked for `include=users`.
        assert_shape(&envelope, &audits, "audit list", &[".users"]);
        let mut audit = recording["audits"][0].clone();
        audit["events"] = Value::Array(Vec::new());
        assert_shape(&audit, &audits["audits"][0], "audit", &[]);
        for event in recording["audits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["events"].as_array().unwrap())
        {
            // The same kind of event on the same field, or else on a field of the same type.
            let same = simulated_events
                .iter()
                .find(|e| {
                    e["type"] == event["type"] && e.get("field_name") == event.get("field_name")
                })
                .or_else(|| {
                    simulated_events.iter().find(|e| {
                        e["type"] == event["type"] && kind(&e["value"]) == kind(&event["value"])
                    })
                });
            // The go-zendesk Change event was made by a trigger (`via.channel: rule`); changes
            // made by people carry no `via`, as in the Ruby client's recording.
            if let Some(same) = same {
                assert_shape(event, same, &format!("{} event", event["type"]), &[".via"]);
            } else {
                panic!("no simulated {} event", event["type"]);
            }
        }
    }

    let ratings = c.json("/api/v2/satisfaction_ratings.json").await;
    assert_shape(
        &recorded("zendesk_api_client_rb/satisfaction_ratings.decoded.json", 0),
        &ratings,
        "satisfaction ratings",
        &[],
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_endpoints_answer_the_recorded_404() {
    let sim = start(small()).await;
    let r = admin(&sim).get("/api/v2/no_such_thing.json").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        recorded(
            "zendesk_api_client_rb/topic_comment_import_cannot_import.decoded.json",
            0
        )
    );
    sim.shutdown().await;
}
