//! Real-shaped bodies and records for the fuzz targets, from the recorded
//! fixtures (`tests/fixtures`, see its SOURCE.md), completed with the
//! members the incremental exports add (`after_cursor`, `end_time`, ...).

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::streams::StreamName;

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are JSON")
}

/// The first recording's body of a `.decoded.json` cassette.
fn recorded(text: &str) -> Value {
    fixture(text)[0]["body"].clone()
}

/// A body with more members.
fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body
}

/// The recorded audits as ticket events (`events` become `child_events`),
/// the shape the events export documents.
fn ticket_events() -> Vec<Value> {
    let audits = recorded(include_str!(
        "../../tests/fixtures/zendesk_api_client_rb/ticket_audits.decoded.json"
    ));
    audits["audits"]
        .as_array()
        .expect("audits")
        .iter()
        .map(|audit| {
            let mut event = audit.clone();
            let children = event["events"].take();
            event["child_events"] = children;
            event["via"] = json!("Web form");
            event
        })
        .collect()
}

/// Response bodies, one of every endpoint family's shapes.
pub(crate) fn bodies() -> &'static [String] {
    static BODIES: OnceLock<Vec<String>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let go = |text: &str| fixture(text);
        let tickets = go(include_str!(
            "../../tests/fixtures/go-zendesk/GET/tickets.json"
        ));
        let more = json!({"has_more": true, "after_cursor": "eyJvIjoiaWQifQ=="});
        [
            with(
                tickets.clone(),
                json!({"after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "end_of_stream": false}),
            ),
            with(
                go(include_str!(
                    "../../tests/fixtures/go-zendesk/GET/users.json"
                )),
                json!({"after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "end_of_stream": true}),
            ),
            with(
                go(include_str!(
                    "../../tests/fixtures/go-zendesk/GET/organizations.json"
                )),
                json!({"end_time": 1_600_000_000u64, "end_of_stream": true}),
            ),
            json!({"ticket_events": ticket_events(), "end_time": 1_349_000_000u64,
                "end_of_stream": false}),
            go(include_str!(
                "../../tests/fixtures/go-zendesk/GET/ticket_comments.json"
            )),
            with(
                recorded(include_str!(
                    "../../tests/fixtures/zendesk_api_client_rb/satisfaction_ratings.decoded.json"
                )),
                json!({"meta": more}),
            ),
            go(include_str!(
                "../../tests/fixtures/go-zendesk/GET/ticket_fields.json"
            )),
            go(include_str!(
                "../../tests/fixtures/go-zendesk/GET/brands.json"
            )),
            json!({"groups": [{"id": 360002440594u64, "name": "Support", "deleted": false,
                "created_at": "2018-02-28T08:40:40Z", "updated_at": "2018-02-28T08:40:40Z"}],
                "meta": {"has_more": false}}),
            json!({"tags": [{"name": "vip", "count": 12}, {"name": "billing", "count": 3}],
                "next_page": null}),
            json!({"results": tickets["tickets"], "meta": more}),
        ]
        .iter()
        .map(Value::to_string)
        .collect()
    })
}

/// Real raw records, each with the stream that maps it.
pub(crate) fn records() -> &'static [(StreamName, String)] {
    static RECORDS: OnceLock<Vec<(StreamName, String)>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let bodies = bodies();
        let items = |body: usize, key: &str| -> Vec<Value> {
            let body: Value = serde_json::from_str(&bodies[body]).expect("JSON");
            body[key].as_array().cloned().unwrap_or_default()
        };
        let mut records = Vec::new();
        let mut add = |stream: StreamName, values: Vec<Value>| {
            records.extend(values.iter().map(|v| (stream, v.to_string())));
        };
        add(StreamName::Tickets, items(0, "tickets"));
        add(StreamName::Users, items(1, "users"));
        add(StreamName::Organizations, items(2, "organizations"));
        add(StreamName::TicketComments, items(3, "ticket_events"));
        // Per-ticket comments become one-comment pseudo-events.
        let pseudo = items(4, "comments")
            .into_iter()
            .map(|c| json!({"ticket_id": 1, "child_events": [c]}))
            .collect();
        add(StreamName::TicketCommentsBackfill, pseudo);
        add(
            StreamName::SatisfactionRatings,
            items(5, "satisfaction_ratings"),
        );
        add(StreamName::TicketFields, items(6, "ticket_fields"));
        add(StreamName::Brands, items(7, "brands"));
        add(StreamName::Groups, items(8, "groups"));
        add(StreamName::Tags, items(9, "tags"));
        records
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_has_real_records() {
        assert_eq!(bodies().len(), 11);
        for stream in StreamName::ALL {
            assert!(
                records().iter().any(|(s, _)| *s == stream),
                "no record of {stream:?}"
            );
        }
    }
}
