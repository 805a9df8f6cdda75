//! `fetch-page` and `check` against scripted responses: requests planned,
//! cursors, the one-minute cap, boundary duplicates, retries, filters,
//! budgets and error classification.

mod common;

use common::*;
use serde_json::{json, Value};
use zendesk_connector::api::TransportError;
use zendesk_connector::types::{ConnectorError, Page, PageRequest, Progress};
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

/// RFC 3339 of Unix seconds.
fn at(seconds: u64) -> String {
    zendesk_connector::time::format_rfc3339(seconds as i64)
}

/// A comment as the per-ticket endpoint lists it.
fn comment(id: u64, created: u64) -> Value {
    json!({"id": id, "type": "Comment", "author_id": 5, "body": format!("comment {id}"), "public": true, "created_at": at(created)})
}

fn comments_page(comments: &[Value], after: Option<&str>) -> String {
    json!({"comments": comments, "meta": {"has_more": after.is_some(), "after_cursor": after}})
        .to_string()
}

#[test]
fn tickets_created_before_the_events_export_get_their_earlier_comments_per_ticket() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    // The first import: an old unsolved ticket (2), an old ticket updated in
    // the window (10), a ticket of the window (11), a deleted one (12).
    let old = START - 40 * 86_400;
    let unsolved = json!({"results": [ticket(2, old, json!({"created_at": at(old), "updated_at": at(old + 5)}))], "meta": {"has_more": false}});
    let export = json!({"tickets": [
        ticket(10, START + 10, json!({"created_at": at(START - 3 * 86_400), "updated_at": at(START + 10)})),
        ticket(11, START + 20, json!({"created_at": at(START + 15), "updated_at": at(START + 20)})),
        ticket(12, START + 30, json!({"created_at": at(START - 86_400), "status": "deleted"}))
    ], "after_cursor": "C1", "end_of_stream": true});
    http.expect("search/export.json", ok(&unsolved.to_string()))
        .expect("tickets/cursor.json", ok(&export.to_string()));
    let first = fetch(&mut connector, &mut http, "tickets", None);
    let second = fetch(
        &mut connector,
        &mut http,
        "tickets",
        first.next_cursor.as_deref(),
    );
    assert!(
        second.done,
        "no rate limits: no probe, the split is the window's start"
    );

    // The bulk export starts at the window.
    http.expect(&format!("/api/v2/incremental/ticket_events.json?start_time={START}&include=comment_events&per_page=1000"), ok(r#"{"ticket_events":[],"end_time":null,"end_of_stream":true}"#));
    assert!(fetch(&mut connector, &mut http, "ticket_comments", None).done);

    // Per ticket: 2 (gone meanwhile) is skipped; 10 keeps the comments made
    // before the window, over two pages; 11 and the deleted 12 are not read.
    http.expect(
        "/api/v2/tickets/2/comments.json?page%5Bsize%5D=100",
        response(
            404,
            r#"{"error":"RecordNotFound","description":"Not found"}"#,
            &[],
        ),
    )
    .expect(
        "/api/v2/tickets/10/comments.json?page%5Bsize%5D=100",
        ok(&comments_page(
            &[comment(100, START - 3 * 86_400)],
            Some("P2"),
        )),
    )
    .expect(
        "/api/v2/tickets/10/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=P2",
        ok(&comments_page(
            &[
                comment(101, START - 1),
                comment(102, START),
                comment(103, START + 5),
            ],
            Some("P3"),
        )),
    );
    let backfill = fetch(&mut connector, &mut http, "ticket_comments_backfill", None);
    assert_eq!(backfill.requests, 3, "one page reads several tickets");
    assert_eq!(
        backfill.records.len(),
        2,
        "comments from the window's start on come in bulk"
    );
    assert!(backfill.records[0].starts_with(r#"{"ticket_id":10,"child_events":[{"#));
    assert!(backfill.done);
    assert_eq!(
        cursor_json(&backfill),
        json!({"v": 1, "phase": "queue", "generation": NOW, "next": 11, "sync": NOW}),
        "the pending set of the sync that split the history, read up to ticket 10"
    );
    let messages = connector
        .map_record("ticket_comments_backfill", &backfill.records[1])
        .unwrap();
    assert_eq!(
        (
            messages[0].key.as_str(),
            data(&messages[0])["conversation_id"].as_str()
        ),
        ("101", Some("10"))
    );
    assert!(connector
        .storage()
        .get(&format!("comment-backfill/{NOW}/0"))
        .unwrap()
        .is_some());

    // The same cursor again: nothing is read twice.
    let idle = fetch(
        &mut connector,
        &mut http,
        "ticket_comments_backfill",
        backfill.next_cursor.as_deref(),
    );
    assert!(idle.done && idle.requests == 0);

    // A later sync sees an old ticket (30) for the first time and 10 again:
    // only 30 is read, for its comments made before the window.
    let later = NOW + 3600;
    let export = json!({"tickets": [
        ticket(10, CAP - 5, json!({"created_at": at(START - 3 * 86_400), "updated_at": at(CAP - 5)})),
        ticket(30, CAP - 4, json!({"created_at": at(START - 90 * 86_400), "updated_at": at(CAP - 4)}))
    ], "after_cursor": "C2", "end_of_stream": true});
    http.expect("cursor.json?cursor=C1", ok(&export.to_string()))
        .expect(
            "/api/v2/tickets/30/comments.json",
            ok(&comments_page(
                &[comment(300, START - 90 * 86_400), comment(301, CAP - 4)],
                None,
            )),
        );
    let at_sync = |stream: &str, cursor: Option<&str>, sync: u64| PageRequest {
        stream: stream.into(),
        cursor: cursor.map(str::to_owned),
        sync_started_at: sync,
        page_size: None,
    };
    connector
        .fetch_page(
            &mut http,
            &at_sync("tickets", second.next_cursor.as_deref(), later),
        )
        .unwrap();
    let again = connector
        .fetch_page(
            &mut http,
            &at_sync(
                "ticket_comments_backfill",
                idle.next_cursor.as_deref(),
                later,
            ),
        )
        .unwrap();
    assert_eq!(again.records.len(), 1);
    assert!(again.records[0].contains("comment 300"));
    assert_eq!(
        cursor_json(&again),
        json!({"v": 1, "phase": "queue", "generation": later, "next": 31, "sync": later})
    );
    // Handed back by the next sync (so committed), the cursor has moved past
    // the first generation, which is forgotten.
    let next_sync = connector
        .fetch_page(
            &mut http,
            &at_sync(
                "ticket_comments_backfill",
                again.next_cursor.as_deref(),
                later + 3600,
            ),
        )
        .unwrap();
    assert!(next_sync.done && next_sync.requests == 0);
    assert!(connector
        .storage()
        .list_keys(&format!("comment-backfill/{NOW}/"))
        .unwrap()
        .is_empty());
    assert!(!connector
        .storage()
        .list_keys(&format!("comment-backfill/{later}/"))
        .unwrap()
        .is_empty());
    assert!(http.finished());
}

#[test]
fn comment_events_carry_changes_and_only_the_wanted_events_are_kept() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    let cursor = format!(r#"{{"v":1,"phase":"time","start":{START}}}"#);
    let events = json!({"ticket_events": [event(1, 3, START + 5, 5, true),
        {"id": 2, "ticket_id": 3, "timestamp": START + 6, "child_events": [{"id": 9, "event_type": "Change", "priority": "urgent", "previous_value": "normal"}]},
        {"id": 3, "ticket_id": 3, "timestamp": START + 6, "child_events": [{"id": 8, "event_type": "Notification", "body": "sent"}]}],
        "end_time": START + 6, "end_of_stream": true, "count": 3});
    http.expect(&format!("/api/v2/incremental/ticket_events.json?start_time={START}&include=comment_events&per_page=1000"), ok(&events.to_string()));
    let bulk = fetch(&mut connector, &mut http, "ticket_comments", Some(&cursor));
    assert_eq!(
        ids(&bulk),
        vec![1, 2],
        "events without a comment or a change are dropped"
    );
    assert!(bulk.done);
    assert_eq!(
        cursor_json(&bulk),
        json!({"v": 1, "phase": "time", "start": START + 6, "seen": [[2, START + 6], [3, START + 6]]})
    );
    let change = connector
        .map_record("ticket_comments", &bulk.records[1])
        .unwrap();
    assert_eq!(change.len(), 1);
    assert_eq!(change[0].kind, "change");
    assert!(http.finished());
}

/// Headers of a response under rate limits.
fn limited(account_left: u32, exports_left: Option<u32>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("X-Rate-Limit", "700".to_owned()),
        ("X-Rate-Limit-Remaining", account_left.to_string()),
        ("ratelimit-reset", "20".to_owned()),
    ];
    if let Some(left) = exports_left {
        headers.push((
            "zendesk-ratelimit-incremental-exports",
            format!("total=10; remaining={left}; resets=20"),
        ));
    }
    headers
}

fn limited_ok(
    body: &str,
    account_left: u32,
    exports_left: Option<u32>,
) -> zendesk_connector::api::HttpResponse {
    let headers = limited(account_left, exports_left);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    response(200, body, &refs)
}

#[test]
fn a_rate_limited_first_import_splits_the_comment_history_between_the_budgets() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    // 2000 tickets created evenly over the window, each updated at once.
    let spacing = (CAP - START) / 2000;
    let created = |i: u64| START + i * spacing;
    let results = |range: std::ops::Range<u64>| -> Vec<Value> {
        range
            .map(|i| {
                ticket(
                    i + 1,
                    created(i),
                    json!({"created_at": at(created(i)), "updated_at": at(created(i))}),
                )
            })
            .collect()
    };
    http.expect("search/export.json?query=type%3Aticket%20status%3Csolved", limited_ok(r#"{"results":[],"meta":{"has_more":false}}"#, 690, None))
        .expect("search/export.json?query=type%3Aticket%20updated%3E%3D2025-10-02&filter%5Btype%5D=ticket&page%5Bsize%5D=1000", limited_ok(&json!({"results": results(0..1000), "meta": {"has_more": true, "after_cursor": "S1"}}).to_string(), 689, None))
        .expect("page%5Bafter%5D=S1", limited_ok(&json!({"results": results(1000..2000), "meta": {"has_more": false}}).to_string(), 688, None));
    let mut cursor = None;
    let mut pages = Vec::new();
    for _ in 0..2 {
        let page = fetch(&mut connector, &mut http, "tickets", cursor.as_deref());
        cursor = page.next_cursor.clone();
        pages.push(page);
    }
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 2000);
    let resume = NOW - 600;
    assert_eq!(
        pages[0].requests, 2,
        "the older unsolved tickets, then the sweep"
    );
    assert_eq!(
        cursor_json(&pages[1]),
        json!({"v": 1, "phase": "time", "start": resume}),
        "after the search sweep, the export takes over a margin before it began"
    );

    // The export's last page: the split is planned, after one probe.
    http.expect(
        &format!("cursor.json?start_time={resume}&"),
        limited_ok(
            r#"{"tickets":[],"after_cursor":"E","end_of_stream":true}"#,
            687,
            Some(0),
        ),
    );
    let last = fetch(&mut connector, &mut http, "tickets", cursor.as_deref());
    assert!(!last.done);
    let probe = cursor_json(&last);
    assert_eq!(probe["phase"], "probe");
    assert_eq!(probe["resume"], json!({"phase": "after", "after": "E"}));
    let probe_at = probe["at"].as_u64().unwrap();
    assert!(probe_at > START && probe_at < CAP, "{probe_at}");

    // Twice the events per ticket that were assumed: the split moves later.
    let activity = 125;
    let span = activity * spacing;
    let events: Vec<Value> = (0..1000u64)
        .map(|i| json!({"id": i + 1, "ticket_id": 1, "timestamp": probe_at + i * span / 1000, "child_events": []}))
        .collect();
    http.expect(
        &format!("/api/v2/incremental/ticket_events.json?start_time={probe_at}&per_page=1000"),
        limited_ok(
            &json!({"ticket_events": events, "end_time": probe_at + span, "end_of_stream": false})
                .to_string(),
            686,
            Some(0),
        ),
    );
    let settled = fetch(
        &mut connector,
        &mut http,
        "tickets",
        last.next_cursor.as_deref(),
    );
    assert!(settled.done && settled.records.is_empty());
    assert_eq!(
        cursor_json(&settled),
        json!({"v": 1, "phase": "after", "after": "E"})
    );
    let split: Value =
        serde_json::from_slice(&connector.storage().get("comment-split").unwrap().unwrap())
            .unwrap();
    let start = split["start"].as_u64().unwrap();
    assert!(start > probe_at && start < CAP, "{start} after {probe_at}");
    assert_eq!(split["marked"], true);

    // The bulk export starts at the split; the tickets created before it are
    // marked, and only those.
    http.expect(
        &format!("ticket_events.json?start_time={start}&include=comment_events"),
        ok(r#"{"ticket_events":[],"end_of_stream":true}"#),
    );
    assert!(fetch(&mut connector, &mut http, "ticket_comments", None).done);
    let mut marks = zendesk_connector::state::marks::Marks::new(format!("comment-backfill/{NOW}"));
    for i in 0..2000 {
        assert_eq!(
            marks.is_marked(connector.storage(), i + 1).unwrap(),
            created(i) < start,
            "ticket {}",
            i + 1
        );
    }

    // Per ticket, ten tickets at a time; the comments from the split on are
    // the bulk's; a page stops when the account budget is down to the
    // host's reserve.
    for i in 0..10u64 {
        let comments = [comment(100 + i, created(i)), comment(200 + i, start)];
        http.expect(
            &format!("/api/v2/tickets/{}/comments.json", i + 1),
            limited_ok(&comments_page(&comments, None), 79 - i as u32, None),
        );
    }
    let page = fetch(&mut connector, &mut http, "ticket_comments_backfill", None);
    assert_eq!((page.requests, page.records.len()), (10, 10));
    assert!(!page.done);
    assert_eq!(
        cursor_json(&page),
        json!({"v": 1, "phase": "queue", "generation": NOW, "next": 11, "sync": NOW})
    );
    assert!(http.finished());
}

#[test]
fn per_ticket_batches_keep_ticket_order_through_long_tickets_and_errors() {
    let mut connector = connector(json!({}));
    let storage = connector.storage();
    storage
        .set(
            "comment-split",
            format!(r#"{{"start":{START},"marked":true}}"#).as_bytes(),
        )
        .unwrap();
    let mut pending =
        zendesk_connector::state::marks::Marks::new(format!("comment-backfill/{NOW}"));
    for id in [1, 2, 3] {
        pending.set(storage, id, true).unwrap();
    }
    pending.flush(storage).unwrap();
    let mut http = ScriptedHttp::default();
    let old = |id| comment(id, START - 100);
    // Ticket 1 has a second page: the answers for 2 and 3 are dropped and
    // asked again after it; 3 is then rate limited.
    http.expect(
        "/tickets/1/comments.json?page%5Bsize%5D=100",
        ok(&comments_page(&[old(10)], Some("A"))),
    )
    .expect(
        "/tickets/2/comments.json",
        ok(&comments_page(&[old(20)], None)),
    )
    .expect(
        "/tickets/3/comments.json",
        ok(&comments_page(&[old(30)], None)),
    )
    .expect(
        "/tickets/1/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=A",
        ok(&comments_page(&[old(11)], None)),
    )
    .expect(
        "/tickets/2/comments.json",
        ok(&comments_page(&[old(20)], None)),
    )
    .expect(
        "/tickets/3/comments.json",
        response(429, "", &[("Retry-After", "7")]),
    );
    let page = fetch(&mut connector, &mut http, "ticket_comments_backfill", None);
    assert_eq!(page.requests, 6);
    let comments: Vec<u64> = page
        .records
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r).unwrap()["child_events"][0]["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(comments, vec![10, 11, 20]);
    assert_eq!(
        cursor_json(&page),
        json!({"v": 1, "phase": "queue", "generation": NOW, "next": 3, "sync": NOW})
    );
    http.expect(
        "/tickets/3/comments.json",
        response(429, "", &[("Retry-After", "7")]),
    );
    let error = connector
        .fetch_page(
            &mut http,
            &request("ticket_comments_backfill", page.next_cursor.as_deref(), NOW),
        )
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::RateLimited(ref r) if r.retry_after_ms == 7000),
        "{error:?}"
    );
    http.expect(
        "/tickets/3/comments.json",
        ok(&comments_page(&[old(30)], None)),
    );
    let last = fetch(
        &mut connector,
        &mut http,
        "ticket_comments_backfill",
        page.next_cursor.as_deref(),
    );
    assert_eq!((last.records.len(), last.done), (1, true));
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

    http.expect("ticket_events.json", ok(&json!({"ticket_events": [event(1, 100, START + 1, customer, true), event(2, 101, START + 2, admin, true)], "end_time": START + 2, "end_of_stream": true}).to_string()));
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
        "ticket_comments_backfill",
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
    assert_eq!(comments.record_kinds, vec!["message", "change"]);
    let schema: Value = serde_json::from_str(&comments.json_schema).unwrap();
    assert_eq!(schema["$defs"]["message"]["title"], "message");
    assert_eq!(schema["$defs"]["change"]["title"], "change");
    let backfill = streams
        .iter()
        .find(|s| s.name == "ticket_comments_backfill")
        .unwrap();
    assert_eq!(backfill.depends_on, vec!["users", "tickets"]);
    assert_eq!(backfill.record_kinds, vec!["message"]);

    let quiet = common::connector(json!({"import_comments": false}));
    assert!(quiet
        .discover()
        .unwrap()
        .iter()
        .all(|s| !s.name.starts_with("ticket_comments")));
    assert!(matches!(
        NativeConnector::new(MemoryStorage::new()).discover(),
        Err(ConnectorError::Config(_))
    ));
}
