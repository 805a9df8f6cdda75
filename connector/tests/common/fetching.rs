//! Helpers of the `fetch-page` tests: the sync's clock, page requests,
//! and the items and responses Zendesk sends.

use serde_json::{json, Value};
use zendesk_connector::types::{Page, PageRequest};
use zendesk_connector::{MemoryStorage, NativeConnector};

use super::{connector, response, ScriptedHttp};

/// 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;
/// The sync's cap: a minute before NOW.
pub const CAP: u64 = NOW - 60;
/// 90 days before NOW: 2025-10-03T00:00:00Z.
pub const START: u64 = NOW - 90 * 86_400;

/// A page request of a stream at a cursor, for a sync started at `at`.
pub fn request(stream: &str, cursor: Option<&str>, at: u64) -> PageRequest {
    PageRequest {
        stream: stream.into(),
        cursor: cursor.map(str::to_owned),
        sync_started_at: at,
        page_size: None,
    }
}

/// One page of a stream at a cursor, in a sync started at NOW.
pub fn fetch(
    connector: &mut NativeConnector<MemoryStorage>,
    http: &mut ScriptedHttp,
    stream: &str,
    cursor: Option<&str>,
) -> Page {
    connector
        .fetch_page(http, &request(stream, cursor, NOW))
        .unwrap()
}

/// A ticket as the exports send it, with `extra` members merged in.
pub fn ticket(id: u64, generated: u64, extra: Value) -> Value {
    let mut t = json!({"id": id, "generated_timestamp": generated, "updated_at": "2025-12-01T00:00:00Z", "status": "open", "brand_id": 1, "submitter_id": 5});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

/// The ids of a page's records.
pub fn ids(page: &Page) -> Vec<u64> {
    page.records
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// A page's next cursor as JSON.
pub fn cursor_json(page: &Page) -> Value {
    serde_json::from_str(page.next_cursor.as_deref().unwrap()).unwrap()
}

/// A ticket event holding one comment by `author`.
pub fn event(id: u64, ticket: u64, at: u64, author: u64, public: bool) -> Value {
    json!({"id": id, "ticket_id": ticket, "timestamp": at, "created_at": "2025-12-01T00:00:00Z", "updater_id": author, "via": "Web form", "event_type": "Audit",
        "child_events": [{"id": id * 10, "type": "Comment", "event_type": "Comment", "author_id": author, "body": "hi", "public": public, "attachments": []}]})
}

/// RFC 3339 of Unix seconds.
pub fn at(seconds: u64) -> String {
    zendesk_connector::time::format_rfc3339(seconds as i64)
}

/// A comment as the per-ticket endpoint lists it.
pub fn comment(id: u64, created: u64) -> Value {
    json!({"id": id, "type": "Comment", "author_id": 5, "body": format!("comment {id}"), "public": true, "created_at": at(created)})
}

/// A page of the per-ticket comments endpoint.
pub fn comments_page(comments: &[Value], after: Option<&str>) -> String {
    json!({"comments": comments, "meta": {"has_more": after.is_some(), "after_cursor": after}})
        .to_string()
}

/// Headers of a response under rate limits.
pub fn limited(account_left: u32, exports_left: Option<u32>) -> Vec<(&'static str, String)> {
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

/// A 200 response under rate limits (see [`limited`]).
pub fn limited_ok(
    body: &str,
    account_left: u32,
    exports_left: Option<u32>,
) -> zendesk_connector::api::HttpResponse {
    let headers = limited(account_left, exports_left);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    response(200, body, &refs)
}

/// When ticket `i + 1` of [`swept_and_probed`] was created (and updated).
pub fn created(i: u64) -> u64 {
    START + i * ((CAP - START) / 2000)
}

/// A rate-limited first import, its sweep of the tickets done and its
/// probe of the events export answered.
pub struct Swept {
    /// The connector.
    pub connector: NativeConnector<MemoryStorage>,
    /// Its script, every response used.
    pub http: ScriptedHttp,
    /// The page the probe's answer gave.
    pub probed: Page,
    /// Where the probe read the events export.
    pub probe_at: u64,
}

/// 2000 tickets created evenly over the window ([`created`]), each updated
/// at once, swept from the search export under Enterprise budgets; the
/// probe of the events export finds twice the events per ticket assumed.
pub fn swept_and_probed(config: Value) -> Swept {
    let mut connector = connector(config);
    let mut http = ScriptedHttp::default();
    let spacing = (CAP - START) / 2000;
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
    Swept {
        connector,
        http,
        probed: settled,
        probe_at,
    }
}
