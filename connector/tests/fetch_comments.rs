//! `fetch-page` of the comments against scripted responses: the events
//! export (`ticket_comments`) and the per-ticket comments made before it
//! (`ticket_comments_backfill`).

mod common;

use common::fetching::*;
use common::*;
use serde_json::{json, Value};
use zendesk_connector::types::{ConnectorError, PageRequest};
use zendesk_connector::Storage;

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

/// A ticket event holding one field change, the status's to `to`.
fn status_change(id: u64, ticket: u64, at: u64, to: &str) -> Value {
    json!({"id": id, "ticket_id": ticket, "timestamp": at, "updater_id": 5, "event_type": "Audit",
        "child_events": [{"id": id * 10, "event_type": "Change", "status": to, "previous_value": "open"}]})
}

/// Whether the ticket is marked deleted before its first import.
fn marked_deleted(
    connector: &zendesk_connector::NativeConnector<zendesk_connector::MemoryStorage>,
    ticket: u64,
) -> bool {
    zendesk_connector::state::marks::Marks::new(zendesk_connector::state::deleted::DELETED)
        .is_marked(connector.storage(), ticket)
        .unwrap()
}

#[test]
fn tickets_deleted_before_their_first_import_get_no_messages_or_changes() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    // The first import reads the window from the incremental export: 11
    // and 13 live, 12 only ever a tombstone.
    let export = json!({"tickets": [
        ticket(11, START + 20, json!({"created_at": at(START + 15), "updated_at": at(START + 20)})),
        ticket(12, START + 30, json!({"created_at": at(START + 16), "status": "deleted"})),
        ticket(13, START + 40, json!({"created_at": at(START + 17), "updated_at": at(START + 40)}))
    ], "after_cursor": "C1", "end_of_stream": true});
    http.expect(
        "search/export.json",
        ok(r#"{"results":[],"meta":{"has_more":false}}"#),
    )
    .expect("tickets/cursor.json", ok(&export.to_string()));
    let tickets = fetch(&mut connector, &mut http, "tickets", None);
    assert!(tickets.done);
    assert_eq!(
        ids(&tickets),
        vec![11, 12, 13],
        "the tombstone is delivered"
    );
    assert!(marked_deleted(&connector, 12));
    assert!(!marked_deleted(&connector, 11) && !marked_deleted(&connector, 13));

    // The events export still carries 12's comments and its deletion.
    let events = json!({"ticket_events": [event(1, 11, START + 20, 5, true), event(2, 12, START + 21, 5, true),
        status_change(3, 12, START + 30, "deleted"), event(4, 13, START + 40, 5, true)],
        "end_time": START + 40, "end_of_stream": true});
    http.expect(
        &format!("ticket_events.json?start_time={START}&include=comment_events"),
        ok(&events.to_string()),
    );
    let bulk = fetch(&mut connector, &mut http, "ticket_comments", None);
    assert_eq!(ids(&bulk), vec![1, 4], "nothing of ticket 12");

    // A later sync: 13, imported live, was deleted (it keeps what it had,
    // and gets its last comment and its deletion); 14 was created and
    // deleted between the syncs (a tombstone, nothing else).
    let later = NOW + 3600;
    let export = json!({"tickets": [
        ticket(13, NOW + 200, json!({"created_at": at(START + 17), "status": "deleted"})),
        ticket(14, NOW + 300, json!({"created_at": at(NOW + 100), "status": "deleted"}))
    ], "after_cursor": "C2", "end_of_stream": true});
    http.expect("cursor.json?cursor=C1", ok(&export.to_string()));
    let tickets = connector
        .fetch_page(
            &mut http,
            &request("tickets", tickets.next_cursor.as_deref(), later),
        )
        .unwrap();
    assert_eq!(ids(&tickets), vec![13, 14]);
    assert!(!marked_deleted(&connector, 13) && marked_deleted(&connector, 14));
    let events = json!({"ticket_events": [event(5, 13, NOW + 150, 5, true), status_change(6, 13, NOW + 200, "deleted"),
        event(7, 14, NOW + 100, 5, true), status_change(8, 14, NOW + 300, "deleted")],
        "end_time": NOW + 300, "end_of_stream": true});
    http.expect(
        &format!(
            "ticket_events.json?start_time={}&include=comment_events",
            START + 40
        ),
        ok(&events.to_string()),
    );
    let bulk = connector
        .fetch_page(
            &mut http,
            &request("ticket_comments", bulk.next_cursor.as_deref(), later),
        )
        .unwrap();
    assert_eq!(ids(&bulk), vec![5, 6], "nothing of ticket 14");
    assert!(http.finished());
}
