//! `fetch-page` and `check` against scripted responses: requests planned,
//! cursors, the one-minute cap, boundary duplicates, retries, filters,
//! budgets and error classification.

mod common;

use common::*;
use serde_json::{json, Value};
use zendesk_connector::api::TransportError;
use zendesk_connector::types::{ConnectorError, Page, PageRequest};
use zendesk_connector::{MemoryStorage, NativeConnector, Storage};

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
const CAP: u64 = NOW - 60;
/// 90 days before NOW: 2025-10-03T00:00:00Z.
const START: u64 = NOW - 90 * 86_400;

fn request(stream: &str, cursor: Option<&str>, at: u64) -> PageRequest {
    PageRequest {
        stream: stream.into(),
        cursor: cursor.map(str::to_owned),
        sync_started_at: at,
        page_size: None,
    }
}

fn fetch(
    connector: &mut NativeConnector<MemoryStorage>,
    http: &mut ScriptedHttp,
    stream: &str,
    cursor: Option<&str>,
) -> Page {
    connector
        .fetch_page(http, &request(stream, cursor, NOW))
        .unwrap()
}

fn ticket(id: u64, generated: u64, extra: Value) -> Value {
    let mut t = json!({"id": id, "generated_timestamp": generated, "updated_at": "2025-12-01T00:00:00Z", "status": "open", "brand_id": 1, "submitter_id": 5});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

fn ids(page: &Page) -> Vec<u64> {
    page.records
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn cursor_json(page: &Page) -> Value {
    serde_json::from_str(page.next_cursor.as_deref().unwrap()).unwrap()
}

#[test]
fn first_import_backfills_unsolved_tickets_then_exports_up_to_the_cap() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let results = json!({"results": json("go-zendesk/GET/tickets.json")["tickets"], "meta": {"has_more": false, "after_cursor": null}});
    http.expect(
        "/api/v2/search/export.json?query=type%3Aticket%20status%3Csolved%20updated%3C2025-10-03T00%3A00%3A00Z&filter%5Btype%5D=ticket&page%5Bsize%5D=1000",
        ok(&results.to_string()),
    );
    let backfill = fetch(&mut connector, &mut http, "tickets", None);
    assert_eq!(ids(&backfill), vec![2, 3]);
    assert!(!backfill.done);
    assert_eq!(backfill.requests, 1);
    assert_eq!(
        cursor_json(&backfill),
        json!({"v": 1, "phase": "time", "start": START})
    );
    assert!(
        backfill.records[0].starts_with("{\n") || backfill.records[0].starts_with('{'),
        "a slice of the body"
    );

    let export = json!({"tickets": [ticket(10, START + 10, json!({})), ticket(11, CAP, json!({})), ticket(12, CAP + 30, json!({}))],
        "after_cursor": "C1", "end_of_stream": false});
    let headers = [
        ("X-Rate-Limit", "700"),
        ("X-Rate-Limit-Remaining", "650"),
        (
            "zendesk-ratelimit-incremental-exports",
            "total=10; remaining=9; resets=41",
        ),
    ];
    let url = format!("/api/v2/incremental/tickets/cursor.json?start_time={START}&per_page=1000");
    http.expect(&url, response(200, &export.to_string(), &headers));
    let page = fetch(
        &mut connector,
        &mut http,
        "tickets",
        backfill.next_cursor.as_deref(),
    );
    assert_eq!(ids(&page), vec![10, 11], "ticket 12 changed after the cap");
    assert!(page.done);
    assert_eq!(
        cursor_json(&page),
        json!({"v": 1, "phase": "time", "start": CAP, "seen": [[11, CAP]]})
    );
    assert_eq!(page.budgets.len(), 2);
    assert_eq!(
        (page.budgets[0].name.as_str(), page.budgets[0].remaining),
        ("account", Some(650))
    );
    assert_eq!(
        (
            page.budgets[1].name.as_str(),
            page.budgets[1].limit,
            page.budgets[1].reset_seconds
        ),
        ("incremental-exports", Some(10), Some(41))
    );

    // A retried page makes the same request.
    http.expect(&url, ok(&export.to_string()));
    let again = fetch(
        &mut connector,
        &mut http,
        "tickets",
        backfill.next_cursor.as_deref(),
    );
    assert_eq!(again.next_cursor, page.next_cursor);
    assert_eq!(http.requested[1], http.requested[2]);

    // The next sync resumes at the cap and drops the boundary duplicate.
    let later = NOW + 3600;
    let resumed = json!({"tickets": [ticket(11, CAP, json!({})), ticket(12, CAP + 30, json!({})), ticket(13, CAP + 31, json!({}))],
        "after_cursor": "C2", "end_of_stream": true});
    http.expect(
        &format!("cursor.json?start_time={CAP}&"),
        ok(&resumed.to_string()),
    );
    let next = connector
        .fetch_page(
            &mut http,
            &request("tickets", page.next_cursor.as_deref(), later),
        )
        .unwrap();
    assert_eq!(ids(&next), vec![12, 13]);
    assert!(next.done);
    assert_eq!(
        cursor_json(&next),
        json!({"v": 1, "phase": "after", "after": "C2"})
    );

    http.expect(
        "/api/v2/incremental/tickets/cursor.json?cursor=C2&per_page=1000",
        ok(r#"{"tickets":[],"after_cursor":"C2","end_of_stream":true}"#),
    );
    let idle = connector
        .fetch_page(
            &mut http,
            &request("tickets", next.next_cursor.as_deref(), later + 3600),
        )
        .unwrap();
    assert!(idle.records.is_empty() && idle.done);
    assert!(http.finished());
}

#[test]
fn max_tickets_starts_the_export_at_the_nth_most_recent_ticket() {
    let mut connector = connector(json!({"max_tickets": 250}));
    let mut http = ScriptedHttp::default();
    let listed: Vec<Value> = (0..50)
        .map(|i| json!({"id": 1000 - i, "updated_at": if i == 49 { "2025-12-01T00:00:00Z" } else { "2025-12-20T00:00:00Z" }}))
        .collect();
    let anchor = 1_764_547_200u64; // 2025-12-01
    http.expect("/api/v2/tickets.json?sort_by=updated_at&sort_order=desc&per_page=100&page=3", ok(&json!({"tickets": listed}).to_string()))
        .expect(&format!("cursor.json?start_time={anchor}&per_page=1000"), ok(&json!({"tickets": [ticket(7, anchor + 5, json!({}))], "after_cursor": "A", "end_of_stream": true}).to_string()));
    let page = fetch(&mut connector, &mut http, "tickets", None);
    assert_eq!(page.requests, 2, "the anchor and the export in one page");
    assert_eq!(ids(&page), vec![7]);

    // Comments start at the same second, without a backfill.
    http.expect(&format!("/api/v2/incremental/ticket_events.json?start_time={anchor}&include=comment_events&per_page=1000"), ok(r#"{"ticket_events":[],"end_time":null,"end_of_stream":true}"#));
    let comments = fetch(&mut connector, &mut http, "ticket_comments", None);
    assert!(comments.done);

    // Fewer tickets than max_tickets: everything.
    let mut small = common::connector(json!({"max_tickets": 3}));
    http.expect(
        "per_page=3&page=1",
        ok(r#"{"tickets":[{"id":1,"updated_at":"2025-01-01T00:00:00Z"}]}"#),
    )
    .expect(
        "cursor.json?start_time=0&",
        ok(r#"{"tickets":[],"after_cursor":"B","end_of_stream":true}"#),
    );
    assert!(fetch(&mut small, &mut http, "tickets", None).done);
    assert!(http.finished());
}

fn event(id: u64, ticket: u64, at: u64, author: u64, public: bool) -> Value {
    json!({"id": id, "ticket_id": ticket, "timestamp": at, "created_at": "2025-12-01T00:00:00Z", "updater_id": author, "via": "Web form", "event_type": "Audit",
        "child_events": [{"id": id * 10, "type": "Comment", "event_type": "Comment", "author_id": author, "body": "hi", "public": public, "attachments": []}]})
}

#[test]
fn comments_of_old_unsolved_tickets_come_per_ticket_then_in_bulk() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let found = json!({"results": [{"id": 2, "brand_id": 1}, {"id": 3, "brand_id": 1}], "meta": {"has_more": false}});
    http.expect("/api/v2/search/export.json?query=type%3Aticket%20status%3Csolved%20updated%3C2025-10-03T00%3A00%3A00Z&filter%5Btype%5D=ticket&page%5Bsize%5D=100", ok(&found.to_string()))
        .expect("/api/v2/tickets/2/comments.json?page%5Bsize%5D=100", ok(&fixture("go-zendesk/GET/ticket_comments.json")));
    let first = fetch(&mut connector, &mut http, "ticket_comments", None);
    assert_eq!(first.requests, 2);
    assert_eq!(first.records.len(), 2);
    assert!(first.records[0].starts_with(r#"{"ticket_id":2,"child_events":[{"#));
    let messages = connector
        .map_record("ticket_comments", &first.records[0])
        .unwrap();
    assert_eq!(data(&messages[0])["conversation_id"], "2");
    assert_eq!(messages[0].key, "2");

    let later_comments = json!({"comments": [
        {"id": 30, "type": "Comment", "author_id": 5, "body": "old", "public": true, "created_at": "2025-01-01T00:00:00Z"},
        {"id": 31, "type": "Comment", "author_id": 5, "body": "new", "public": true, "created_at": "2025-12-01T00:00:00Z"}
    ], "meta": {"has_more": false}});
    http.expect(
        "/api/v2/tickets/2/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=xxx",
        response(
            404,
            r#"{"error":"RecordNotFound","description":"Not found"}"#,
            &[],
        ),
    )
    .expect(
        "/api/v2/tickets/3/comments.json",
        ok(&later_comments.to_string()),
    );
    let second = fetch(
        &mut connector,
        &mut http,
        "ticket_comments",
        first.next_cursor.as_deref(),
    );
    assert_eq!(
        second.records.len(),
        1,
        "the later comment comes from the events export"
    );
    assert!(
        second.records[0].contains(r#""body": "old""#)
            || second.records[0].contains(r#""body":"old""#)
    );
    assert_eq!(
        cursor_json(&second),
        json!({"v": 1, "phase": "time", "start": START})
    );

    let events = json!({"ticket_events": [event(1, 3, START + 5, 5, true), {"id": 2, "ticket_id": 3, "timestamp": START + 6, "child_events": [{"id": 9, "event_type": "Change", "field_name": "status"}]}],
        "end_time": START + 6, "end_of_stream": true, "count": 2});
    http.expect(&format!("/api/v2/incremental/ticket_events.json?start_time={START}&include=comment_events&per_page=1000"), ok(&events.to_string()));
    let bulk = fetch(
        &mut connector,
        &mut http,
        "ticket_comments",
        second.next_cursor.as_deref(),
    );
    assert_eq!(ids(&bulk), vec![1], "events without a comment are dropped");
    assert!(bulk.done);
    assert_eq!(
        cursor_json(&bulk),
        json!({"v": 1, "phase": "time", "start": START + 6, "seen": [[2, START + 6]]})
    );
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
fn page_size_is_honoured_and_clamped() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    http.expect(
        "organizations.json?start_time=0&per_page=50",
        ok(r#"{"organizations":[],"end_of_stream":true}"#),
    )
    .expect(
        "tags.json?page%5Bsize%5D=50",
        ok(r#"{"tags":[{"name":"a","count":1}],"meta":{"has_more":true,"after_cursor":"T2"}}"#),
    )
    .expect(
        "organizations.json?start_time=0&per_page=1000",
        ok(r#"{"organizations":[],"end_of_stream":true}"#),
    );
    let sized = |stream: &str, size| PageRequest {
        page_size: Some(size),
        ..request(stream, None, NOW)
    };
    connector
        .fetch_page(&mut http, &sized("organizations", 50))
        .unwrap();
    let tags = connector.fetch_page(&mut http, &sized("tags", 50)).unwrap();
    assert!(!tags.done);
    connector
        .fetch_page(&mut http, &sized("organizations", 5000))
        .unwrap();

    http.expect(
        "tags.json?page%5Bsize%5D=100&page%5Bafter%5D=T2",
        ok(r#"{"tags":[{"name":"b","count":1}],"meta":{"has_more":false,"after_cursor":"T3"}}"#),
    );
    let last = fetch(
        &mut connector,
        &mut http,
        "tags",
        tags.next_cursor.as_deref(),
    );
    assert!(last.done);
    assert_eq!(
        last.next_cursor, None,
        "a full refresh starts over next time"
    );

    http.expect("brands.json?page%5Bsize%5D=100", ok(r#"{"brands":[{"id":1,"name":"A"}],"next_page":"https://acme.zendesk.com/api/v2/brands.json?page=2","count":2}"#))
        .expect("brands.json?per_page=100&page=2", ok(r#"{"brands":[{"id":2,"name":"B"}],"next_page":null}"#));
    let offset = fetch(&mut connector, &mut http, "brands", None);
    assert!(!offset.done, "offset pagination is followed");
    assert!(
        fetch(
            &mut connector,
            &mut http,
            "brands",
            offset.next_cursor.as_deref()
        )
        .done
    );
    assert!(http.finished());
}

#[test]
fn satisfaction_ratings_sweep_up_to_the_cap_then_look_back() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let recorded = &recordings("zendesk_api_client_rb/satisfaction_ratings.decoded.json")[0];
    let mut body = recorded["body"].clone();
    body["meta"] = json!({"has_more": false});
    http.expect(&format!("/api/v2/satisfaction_ratings.json?start_time={START}&end_time={CAP}&page%5Bsize%5D=100"), recorded_response(&json!({"status": 200, "headers": recorded["headers"], "body": body})));
    let page = fetch(&mut connector, &mut http, "satisfaction_ratings", None);
    assert_eq!(page.records.len(), 65);
    assert!(page.done);
    assert_eq!(
        cursor_json(&page),
        json!({"v": 1, "phase": "ratings", "since": CAP - 30 * 86_400})
    );
    let later = NOW + 86_400;
    http.expect(
        &format!("start_time={}&end_time={}", CAP - 30 * 86_400, later - 60),
        ok(r#"{"satisfaction_ratings":[],"meta":{"has_more":false}}"#),
    );
    connector
        .fetch_page(
            &mut http,
            &request("satisfaction_ratings", page.next_cursor.as_deref(), later),
        )
        .unwrap();
    assert!(http.finished());
}

#[test]
fn customer_comment_and_brand_filters() {
    let mut connector = connector(
        json!({"only_tickets_with_customer_comments": true, "brands": ["brand2"], "import_comments": false}),
    );
    let streams = connector.discover().unwrap();
    let tickets = streams.iter().find(|s| s.name == "tickets").unwrap();
    assert!(
        tickets.depends_on.contains(&"ticket_comments".to_owned())
            && tickets.depends_on.contains(&"users".to_owned())
    );
    let comments = streams
        .iter()
        .find(|s| s.name == "ticket_comments")
        .unwrap();
    assert_eq!(comments.depends_on, vec!["users"]);

    let mut http = ScriptedHttp::default();
    http.expect("brands.json", ok(&fixture("go-zendesk/GET/brands.json")))
        .expect("users/cursor.json", ok(&json!({"users": json("go-zendesk/GET/users.json")["users"], "after_cursor": "U", "end_of_stream": true}).to_string()));
    fetch(&mut connector, &mut http, "brands", None);
    fetch(&mut connector, &mut http, "users", None);
    let customer = 369_531_345_753u64;
    let admin = 369_537_351_454u64;
    let brand2 = 360_002_143_133u64;

    http.expect("search/export.json", ok(r#"{"results":[],"meta":{"has_more":false}}"#))
        .expect("ticket_events.json", ok(&json!({"ticket_events": [event(1, 100, START + 1, customer, true), event(2, 101, START + 2, admin, true)], "end_time": START + 2, "end_of_stream": true}).to_string()));
    let events = fetch(&mut connector, &mut http, "ticket_comments", None);
    assert!(
        events.records.is_empty(),
        "import_comments is off: comments only mark tickets"
    );
    assert!(events.done);

    let export = json!({"tickets": [
        ticket(100, START + 1, json!({"submitter_id": admin, "brand_id": brand2})),
        ticket(101, START + 2, json!({"submitter_id": admin, "brand_id": brand2})),
        ticket(102, START + 3, json!({"submitter_id": customer, "brand_id": brand2})),
        ticket(103, START + 4, json!({"submitter_id": customer, "brand_id": 360_000_021_288u64})),
        ticket(104, START + 5, json!({"status": "deleted", "brand_id": 360_000_021_288u64}))
    ], "after_cursor": "T", "end_of_stream": true});
    http.expect(
        "search/export.json",
        ok(r#"{"results":[],"meta":{"has_more":false}}"#),
    )
    .expect("tickets/cursor.json", ok(&export.to_string()));
    let page = fetch(&mut connector, &mut http, "tickets", None);
    assert_eq!(ids(&page), vec![100, 102, 104]);
    assert!(connector.storage().get("other-brand/0").unwrap().is_some());

    // Later comments of the other brand's ticket are dropped.
    let mut with_comments = common::connector(json!({"brands": ["360000021288"]}));
    with_comments
        .storage()
        .set(
            "first-import",
            format!(r#"{{"start_date":null,"max_tickets":null,"start_time":{START}}}"#).as_bytes(),
        )
        .unwrap();
    let mut marks = vec![0u8; 4096];
    marks[(103 / 8) as usize] |= 1 << (103 % 8);
    with_comments
        .storage()
        .set("other-brand/0", &marks)
        .unwrap();
    let cursor = format!(r#"{{"v":1,"phase":"time","start":{START}}}"#);
    http.expect("ticket_events.json", ok(&json!({"ticket_events": [event(5, 103, START + 1, customer, true), event(6, 104, START + 1, customer, true)], "end_time": START + 1, "end_of_stream": true}).to_string()));
    assert_eq!(
        ids(&fetch(
            &mut with_comments,
            &mut http,
            "ticket_comments",
            Some(&cursor)
        )),
        vec![6]
    );

    let mut unknown = common::connector(json!({"brands": ["Nope"]}));
    let error = unknown
        .fetch_page(
            &mut http,
            &request(
                "tickets",
                Some(&format!(r#"{{"v":1,"phase":"time","start":{START}}}"#)),
                NOW,
            ),
        )
        .unwrap_err();
    let ConnectorError::Config(fields) = error else {
        panic!("{error:?}")
    };
    assert_eq!(fields[0].field, "brands");
    assert!(fields[0].message.contains("\"Nope\""));
    assert!(http.finished(), "no request is made with an unknown brand");
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

#[test]
fn check_verifies_user_role_and_warns_about_api_tokens() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    http.expect(
        "https://acme.zendesk.com/api/v2/users/me.json",
        recorded_response(&recordings("zendesk_api_client_rb/current_user.decoded.json")[0]),
    );
    let warnings = connector.check(&mut http).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].message.contains("2027-04-30")
            && warnings[0].message.contains("days")
            && warnings[0].message.contains("OAuth")
    );

    let as_me = |path: &str| {
        let recording = &recordings(path)[0];
        ok(&json!({"user": recording["body"]["users"][0]}).to_string())
    };
    http.expect(
        "users/me.json",
        as_me("zendesk_api_client_rb/valid_user_agent.decoded.json"),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("an agent") && m.contains("admin"))
    );
    http.expect(
        "users/me.json",
        as_me("zendesk_api_client_rb/valid_user_end-user.decoded.json"),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("end-user"))
    );
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":null,"name":"Anonymous user","role":"end-user"}}"#),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Auth(m)) if m.contains("anonymous"))
    );
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":1,"role":"agent","role_type":1}}"#),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("light agent"))
    );
    http.expect(
        "users/me.json",
        response(401, r#"{"error":"Couldn't authenticate you"}"#, &[]),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Auth(m)) if m.contains("token access is enabled"))
    );
    http.expect(
        "users/me.json",
        response(
            404,
            r#"{"error":"InvalidEndpoint","description":"Not found"}"#,
            &[],
        ),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Config(f)) if f[0].field == "subdomain")
    );
    http.fail("users/me.json", TransportError::Dns("no such host".into()));
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Config(f)) if f[0].message.contains("acme.zendesk.com does not resolve"))
    );

    let mut oauth = NativeConnector::new(MemoryStorage::new());
    oauth.configure(r#"{"subdomain":"acme","oauth_client_id":"c","oauth_client_secret":"<secret>","oauth_refresh_token":"<secret>"}"#, "oauth_refresh_token").unwrap();
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":1,"role":"admin","restricted_agent":true}}"#),
    );
    let warnings = oauth.check(&mut http).unwrap();
    assert_eq!(warnings.len(), 1, "no token warning with OAuth");
    assert!(warnings[0].message.contains("restricted"));
    assert!(http.finished());
}

#[test]
fn discover_lists_streams_for_the_config() {
    let connector = connector(json!({}));
    let streams = connector.discover().unwrap();
    let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
    for name in [
        "tickets",
        "ticket_comments",
        "users",
        "organizations",
        "ticket_fields",
        "satisfaction_ratings",
        "tags",
        "brands",
        "groups",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    for stream in &streams {
        assert_eq!(stream.optional, stream.name != "tickets", "{}", stream.name);
        let schema: Value = serde_json::from_str(&stream.json_schema).unwrap();
        assert_eq!(schema["type"], "object");
        assert!(
            schema["properties"].get(&stream.primary_key[0]).is_some(),
            "{}",
            stream.name
        );
    }
    let tickets = streams.iter().find(|s| s.name == "tickets").unwrap();
    assert_eq!(
        tickets.depends_on,
        vec!["ticket_fields", "brands", "groups"]
    );
    let comments = streams
        .iter()
        .find(|s| s.name == "ticket_comments")
        .unwrap();
    assert_eq!(comments.depends_on, vec!["users", "tickets"]);

    let quiet = common::connector(json!({"import_comments": false}));
    assert!(quiet
        .discover()
        .unwrap()
        .iter()
        .all(|s| s.name != "ticket_comments"));
    assert!(matches!(
        NativeConnector::new(MemoryStorage::new()).discover(),
        Err(ConnectorError::Config(_))
    ));
}
