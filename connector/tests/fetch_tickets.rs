//! `fetch-page` of `tickets` against scripted responses: the first import
//! (search export of older unsolved tickets, then the incremental export up
//! to the cap), `max_tickets`, the split of the comment history under rate
//! limits, and the customer-comment and brand filters.

mod common;

use common::fetching::*;
use common::*;
use serde_json::{json, Value};
use zendesk_connector::types::ConnectorError;
use zendesk_connector::Storage;

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

#[test]
fn a_rate_limited_first_import_splits_the_comment_history_between_the_budgets() {
    let Swept {
        mut connector,
        mut http,
        probed: settled,
        probe_at,
    } = swept_and_probed(json!({"use_audit_list": false}));
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
    // marked, and only those. The search never returns deleted tickets: a
    // ticket active before the export took over that the sweep did not
    // deliver (4000) was deleted before the import, and gets no message; a
    // ticket active only later (4001) may be new, and keeps its comments.
    let resume = NOW - 600; // where the export took over from the sweep
    assert!(
        start + 2 < resume,
        "the split {start} is before the export took over"
    );
    let events = json!({"ticket_events": [event(1, 2000, start + 1, 5, true),
        event(2, 4000, start + 2, 5, true), event(3, 4001, resume + 1, 5, true)],
        "end_time": resume + 1, "end_of_stream": true});
    http.expect(
        &format!("ticket_events.json?start_time={start}&include=comment_events"),
        ok(&events.to_string()),
    );
    let bulk = fetch(&mut connector, &mut http, "ticket_comments", None);
    assert!(bulk.done);
    assert_eq!(ids(&bulk), vec![1, 3]);
    let mut deleted =
        zendesk_connector::state::marks::Marks::new(zendesk_connector::state::deleted::DELETED);
    assert!(deleted.is_marked(connector.storage(), 4000).unwrap());
    assert!(!deleted.is_marked(connector.storage(), 4001).unwrap());
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
