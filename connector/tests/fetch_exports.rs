//! `fetch-page` of the incremental exports against scripted responses:
//! progress, boundary duplicates, retries and error classification.

mod common;

use common::fetching::*;
use common::*;
use serde_json::json;
use zendesk_connector::api::TransportError;
use zendesk_connector::types::{ConnectorError, Progress};
use zendesk_connector::{MemoryStorage, NativeConnector};

#[test]
fn pages_say_how_far_the_stream_has_come_in_seconds_of_history() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let results = json!({"results": json("go-zendesk/GET/tickets.json")["tickets"], "meta": {"has_more": false, "after_cursor": null}});
    http.expect("/api/v2/search/export.json?", ok(&results.to_string()));
    let backfill = fetch(&mut connector, &mut http, "tickets", None);
    let total = CAP - START;
    assert_eq!(
        backfill.progress,
        Some(Progress { done: 0, total }),
        "the export starts at the window"
    );

    let export = json!({"tickets": [ticket(10, START + 10, json!({})), ticket(11, START + 5000, json!({}))],
        "after_cursor": "C1", "end_of_stream": false});
    http.expect(
        "/api/v2/incremental/tickets/cursor.json?start_time=",
        ok(&export.to_string()),
    );
    let middle = fetch(
        &mut connector,
        &mut http,
        "tickets",
        backfill.next_cursor.as_deref(),
    );
    assert!(!middle.done);
    assert_eq!(
        middle.progress,
        Some(Progress { done: 5000, total }),
        "Zendesk's cursor: the last record's time"
    );

    let last = json!({"tickets": [ticket(12, CAP - 5, json!({}))], "after_cursor": "C2", "end_of_stream": true});
    http.expect(
        "/api/v2/incremental/tickets/cursor.json?cursor=C1",
        ok(&last.to_string()),
    );
    let end = fetch(
        &mut connector,
        &mut http,
        "tickets",
        middle.next_cursor.as_deref(),
    );
    assert!(end.done);
    assert_eq!(end.progress, Some(Progress { done: total, total }));

    http.expect(
        "/api/v2/ticket_fields.json",
        ok(r#"{"ticket_fields":[],"next_page":null}"#),
    );
    let fields = fetch(&mut connector, &mut http, "ticket_fields", None);
    assert_eq!(fields.progress, None, "a list has no time order");
    assert!(http.finished());
}

#[test]
fn time_exports_drop_boundary_duplicates_and_never_stall() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let t1 = "2025-06-01T00:00:00Z";
    let t2 = "2025-06-02T00:00:00Z";
    let s2 = 1_748_822_400u64;
    let org = |id: u64, at: &str| json!({"id": id, "name": format!("Org {id}"), "updated_at": at});
    http.expect("/api/v2/incremental/organizations.json?start_time=0&per_page=1000", ok(&json!({"organizations": [org(1, t1), org(2, t2)], "end_time": s2, "end_of_stream": false}).to_string()));
    let first = fetch(&mut connector, &mut http, "organizations", None);
    assert_eq!(ids(&first), vec![1, 2]);
    assert_eq!(
        cursor_json(&first),
        json!({"v": 1, "phase": "time", "start": s2, "seen": [[2, s2]]})
    );

    http.expect(&format!("start_time={s2}&"), ok(&json!({"organizations": [org(2, t2), org(3, t2)], "end_time": s2, "end_of_stream": false}).to_string()));
    let second = fetch(
        &mut connector,
        &mut http,
        "organizations",
        first.next_cursor.as_deref(),
    );
    assert_eq!(ids(&second), vec![3], "the same id and version never twice");
    assert_eq!(cursor_json(&second)["seen"], json!([[2, s2], [3, s2]]));

    // Nothing new at that second: move past it (in the same page call).
    http.expect(&format!("start_time={s2}&"), ok(&json!({"organizations": [org(2, t2), org(3, t2)], "end_time": s2, "end_of_stream": false}).to_string()))
        .expect(&format!("start_time={}&", s2 + 1), ok(r#"{"organizations":[],"end_time":null,"end_of_stream":true}"#));
    let third = fetch(
        &mut connector,
        &mut http,
        "organizations",
        second.next_cursor.as_deref(),
    );
    assert_eq!(third.requests, 2);
    assert!(third.records.is_empty() && third.done);
    assert_eq!(
        cursor_json(&third),
        json!({"v": 1, "phase": "time", "start": s2 + 1})
    );
    assert!(http.finished());
}

#[test]
fn failures_are_classified_and_progress_kept() {
    let mut connector = connector(json!({"max_tickets": 10}));
    let mut http = ScriptedHttp::default();
    http.expect("tickets.json?sort_by", ok(r#"{"tickets":[{"id":1,"updated_at":"2025-12-01T00:00:00Z"}]}"#))
        .expect("cursor.json", response(429, r#"{"error":"APIRateLimitExceeded","description":"Number of allowed incremental export API requests per minute exceeded"}"#, &[("Retry-After", "30")]));
    let page = fetch(&mut connector, &mut http, "tickets", None);
    assert!(page.records.is_empty() && !page.done);
    assert_eq!(page.requests, 2);
    assert_eq!(
        cursor_json(&page)["phase"],
        "time",
        "the anchor is not requested again"
    );

    http.expect("cursor.json", response(429, "", &[("Retry-After", "30")]));
    let error = connector
        .fetch_page(
            &mut http,
            &request("tickets", page.next_cursor.as_deref(), NOW),
        )
        .unwrap_err();
    let ConnectorError::RateLimited(limit) = error else {
        panic!("{error:?}")
    };
    assert_eq!(limit.retry_after_ms, 30_000);

    http.expect("satisfaction_ratings.json", response(403, r#"{"error":{"title":"Forbidden","message":"You do not have access to this page. Please contact the account owner of this help desk for further help."}}"#, &[]));
    let error = fetch_err(&mut connector, &mut http, "satisfaction_ratings");
    assert!(
        matches!(&error, ConnectorError::Permission(m) if m.contains("satisfaction ratings") && m.contains("You do not have access")),
        "{error:?}"
    );

    http.expect(
        "groups.json",
        response(401, r#"{"error":"Couldn't authenticate you"}"#, &[]),
    );
    assert!(matches!(
        fetch_err(&mut connector, &mut http, "groups"),
        ConnectorError::Auth(_)
    ));
    http.expect("groups.json", response(503, "<html>", &[]));
    assert!(matches!(
        fetch_err(&mut connector, &mut http, "groups"),
        ConnectorError::Transient(_)
    ));
    http.fail("groups.json", TransportError::Dns("NXDOMAIN".into()));
    assert!(
        matches!(fetch_err(&mut connector, &mut http, "groups"), ConnectorError::Config(f) if f[0].field == "subdomain")
    );
    http.fail("groups.json", TransportError::Timeout("read".into()));
    assert!(matches!(
        fetch_err(&mut connector, &mut http, "groups"),
        ConnectorError::Transient(_)
    ));
    http.expect("groups.json", ok("not json"));
    assert!(matches!(
        fetch_err(&mut connector, &mut http, "groups"),
        ConnectorError::Protocol(_)
    ));

    let recorded = &recordings("zendesk_api_client_rb/ticket_import_cannot_import.decoded.json")[0];
    http.expect("groups.json", recorded_response(recorded));
    assert!(
        matches!(fetch_err(&mut connector, &mut http, "groups"), ConnectorError::Internal(m) if m.contains("Description: cannot be blank"))
    );
    let recorded =
        &recordings("zendesk_api_client_rb/topic_comment_import_cannot_import.decoded.json")[0];
    http.expect("groups.json", recorded_response(recorded));
    assert!(
        matches!(fetch_err(&mut connector, &mut http, "groups"), ConnectorError::Config(f) if f[0].message.contains("InvalidEndpoint"))
    );

    assert!(matches!(
        connector.fetch_page(&mut http, &request("tickets", Some("garbage"), NOW)),
        Err(ConnectorError::Internal(_))
    ));
    assert!(matches!(
        connector.fetch_page(
            &mut http,
            &request("groups", Some(r#"{"v":1,"phase":"anchor"}"#), NOW)
        ),
        Err(ConnectorError::Internal(_))
    ));
    assert!(http.finished());
}

fn fetch_err(
    connector: &mut NativeConnector<MemoryStorage>,
    http: &mut ScriptedHttp,
    stream: &str,
) -> ConnectorError {
    connector
        .fetch_page(http, &request(stream, None, NOW))
        .unwrap_err()
}
