//! Helpers of the `fetch-page` tests: the sync's clock, page requests,
//! and the items and responses Zendesk sends.

use serde_json::{json, Value};
use zendesk_connector::types::{Page, PageRequest};
use zendesk_connector::{MemoryStorage, NativeConnector};

use super::{response, ScriptedHttp};

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
