//! `fetch-page` of the list endpoints and the satisfaction ratings against
//! scripted responses: page sizes, cursor and offset pagination, sweeps.

mod common;

use common::fetching::*;
use common::*;
use serde_json::json;
use zendesk_connector::types::PageRequest;

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
