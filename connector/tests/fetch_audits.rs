//! `fetch-page` of the comment split's audit-list path against scripted
//! responses: the probe of the account-wide audit list, its refusal (today's
//! split), and the walk of `ticket_comments_backfill` from the newest page
//! back, then the per-ticket queue for what it did not serve.

mod common;

use common::fetching::*;
use common::*;
use serde_json::{json, Value};
use zendesk_connector::state::marks::Marks;
use zendesk_connector::Storage;

/// The stored split.
fn split(swept: &Swept) -> Value {
    let stored = swept.connector.storage().get("comment-split").unwrap();
    serde_json::from_slice(&stored.unwrap()).unwrap()
}

/// The probe's cursor after the events export answered: both splits.
fn audit_probe(swept: &Swept) -> (u64, u64) {
    assert!(!swept.probed.done);
    let probe = cursor_json(&swept.probed);
    assert_eq!(probe["phase"], "audit_probe", "{probe}");
    assert_eq!(probe["resume"], json!({"phase": "after", "after": "E"}));
    let starts = (
        probe["audits_start"].as_u64().unwrap(),
        probe["per_ticket_start"].as_u64().unwrap(),
    );
    assert!(
        starts.0 >= starts.1,
        "the list moves the split later: {starts:?}"
    );
    starts
}

/// Answers the probe of the audit list with `answer`; the sweep is done.
fn answer_probe(swept: &mut Swept, answer: zendesk_connector::api::HttpResponse) {
    swept
        .http
        .expect("/api/v2/ticket_audits.json?limit=1", answer);
    let cursor = swept.probed.next_cursor.clone();
    let settled = fetch(
        &mut swept.connector,
        &mut swept.http,
        "tickets",
        cursor.as_deref(),
    );
    assert!(settled.done && settled.records.is_empty());
    assert_eq!(
        cursor_json(&settled),
        json!({"v": 1, "phase": "after", "after": "E"})
    );
}

/// The tickets pending in this sync's generation, of the 2000.
fn pending(swept: &Swept) -> Vec<u64> {
    let mut marks = Marks::new(format!("comment-backfill/{NOW}"));
    (1..=2000)
        .filter(|id| marks.is_marked(swept.connector.storage(), *id).unwrap())
        .collect()
}

/// An audit of ticket `ticket` at `at`: a comment and a status change, and
/// the creation's events when `creation`.
fn audit(id: u64, ticket: u64, at_secs: u64, creation: bool) -> Value {
    let mut events = vec![
        json!({"id": id * 10, "type": "Comment", "author_id": 5, "body": format!("comment {id}"), "public": true}),
        json!({"id": id * 10 + 1, "type": "Change", "field_name": "status", "value": "open", "previous_value": "new"}),
    ];
    if creation {
        events.push(json!({"id": id * 10 + 2, "type": "Create", "field_name": "priority", "value": "normal"}));
    }
    json!({"id": id, "ticket_id": ticket, "created_at": at(at_secs), "author_id": 5,
           "via": {"channel": "email"}, "events": events})
}

/// Each of `tickets` has one comment, made when it was created.
fn expect_one_comment_each(swept: &mut Swept, tickets: std::ops::RangeInclusive<u64>) {
    for ticket in tickets {
        swept.http.expect(
            &format!("/api/v2/tickets/{ticket}/comments.json"),
            ok(&comments_page(
                &[comment(ticket, created(ticket - 1))],
                None,
            )),
        );
    }
}

#[test]
fn a_refused_audit_list_leaves_the_split_to_the_per_ticket_endpoint() {
    let mut swept = swept_and_probed(json!({}));
    let (_, per_ticket_start) = audit_probe(&swept);
    answer_probe(&mut swept, response(403, r#"{"error":"Forbidden"}"#, &[]));
    let split = split(&swept);
    assert_eq!(split["audits"], false);
    assert_eq!(split["start"], per_ticket_start);
    let expected: Vec<u64> = (0..2000)
        .filter(|i| created(*i) < per_ticket_start)
        .map(|i| i + 1)
        .collect();
    assert_eq!(pending(&swept), expected);
    // The per-ticket stream goes straight to its queue.
    expect_one_comment_each(&mut swept, 1..=10);
    let page = fetch(
        &mut swept.connector,
        &mut swept.http,
        "ticket_comments_backfill",
        None,
    );
    assert_eq!(page.records.len(), 10);
    assert!(swept.http.finished());
}

#[test]
fn the_audit_list_serves_the_older_history_and_queues_what_it_did_not() {
    let mut swept = swept_and_probed(json!({}));
    let (audits_start, _) = audit_probe(&swept);
    answer_probe(
        &mut swept,
        ok(r#"{"audits":[],"before_cursor":null,"before_url":null}"#),
    );
    let split = split(&swept);
    assert_eq!(
        (split["audits"].clone(), split["start"].as_u64()),
        (json!(true), Some(audits_start))
    );
    assert!(pending(&swept).is_empty(), "the walk marks, at its end");
    let start = audits_start;

    // Nothing archived: the split is late in the window.
    assert!(start > created(1500) && start < CAP, "{start}");
    // The newest page: ticket 1's creation audit and one at the split (the
    // export's), and an audit of a ticket the sweep never saw.
    let newest = json!({"audits": [
        audit(1, 1, start, false),
        audit(2, 1, created(0), true),
        audit(3, 9999, created(0), true),
    ], "before_cursor": "B1", "before_url": "https://acme.zendesk.com/api/v2/ticket_audits.json?cursor=B1&limit=1000",
       "after_cursor": null, "after_url": null});
    swept.http.expect(
        "/api/v2/ticket_audits.json?limit=1000",
        ok(&newest.to_string()),
    );
    let page = fetch(
        &mut swept.connector,
        &mut swept.http,
        "ticket_comments_backfill",
        None,
    );
    assert_eq!(page.requests, 1, "a page of the list is one request");
    assert_eq!(page.records.len(), 1);
    assert!(!page.done);
    assert_eq!(
        cursor_json(&page),
        json!({"v": 1, "phase": "walk", "before": "B1"})
    );
    // Its comment and its change map as the export's would.
    let records = swept
        .connector
        .map_record("ticket_comments_backfill", &page.records[0])
        .unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, vec!["message", "change"]);
    assert_eq!(data(&records[0])["channel"], "email");
    assert_eq!(data(&records[1])["field"], "status");

    // The oldest page (no cursor but `before_url`'s in the other reading):
    // ticket 2 only half-way (no creation audit). Nothing is older: the
    // tickets not served go per ticket, ticket 2 among them, and the page
    // goes on with the first ten.
    let oldest = json!({"audits": [audit(5, 2, created(1) + 5, false)],
        "before_cursor": null, "before_url": null, "after_cursor": "A1"});
    swept.http.expect(
        "/api/v2/ticket_audits.json?cursor=B1&limit=1000",
        ok(&oldest.to_string()),
    );
    expect_one_comment_each(&mut swept, 2..=11);
    let page = fetch(
        &mut swept.connector,
        &mut swept.http,
        "ticket_comments_backfill",
        page.next_cursor.as_deref(),
    );
    assert_eq!((page.requests, page.records.len()), (11, 11));
    assert_eq!(cursor_json(&page)["phase"], "queue");
    let expected: Vec<u64> = (1..2000)
        .filter(|i| created(*i) < start)
        .map(|i| i + 1)
        .collect();
    assert_eq!(pending(&swept), expected);
    assert!(swept.http.finished());
}
