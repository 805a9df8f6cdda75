//! The limits on what a call may take and return, each against a hostile
//! component while the example connector keeps syncing on the same host:
//! a call that waits in a host timer is cut by the wall clock; requests past
//! the in-flight cap are refused; a huge cursor or key is refused before
//! the host keeps it.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_call_sleeping_in_a_host_timer_hits_the_wall_clock_while_another_connection_works() {
    let setup = Setup::new(120).await;
    let mut sleeper = setup.hostile(FEED_HOST, json!({"attack": "sleep"})).await;
    let mut feed = setup.feed().await;
    let started = std::time::Instant::now();
    let loot = request();
    let (slept, synced) = tokio::join!(sleeper.fetch_page(&loot), sync_feed(&mut feed));
    let err = slept.unwrap_err();
    assert_limit(&err, Limit::WallClock);
    assert!(err.to_string().contains("time limit per call"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "cut at the limit"
    );
    assert_eq!(synced, (120, 12));
    // The abandoned instance was replaced: the connection answers again.
    assert_eq!(sleeper.discover().await.unwrap()[0].name, "loot");
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_past_the_in_flight_cap_are_refused_while_another_connection_works() {
    let setup = Setup::new(120).await;
    let url = format!("https://{FEED_HOST}/echo-auth");
    let mut flood = setup
        .hostile(
            FEED_HOST,
            json!({"attack": "requests-in-flight", "url": url, "size_mb": 2}),
        )
        .await;
    let mut feed = setup.feed().await;
    let loot = request();
    let (flooded, synced) = tokio::join!(flood.fetch_page(&loot), sync_feed(&mut feed));
    let err = flooded.unwrap_err();
    assert_limit(&err, Limit::RequestsInFlight);
    let text = err.to_string();
    assert!(text.contains("8 requests were already in flight"), "{text}");
    assert_eq!(
        setup.server.hits("/echo-auth"),
        8,
        "of 2,000 requests, only the first 8 left the host"
    );
    assert_eq!(synced, (120, 12));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_cursor_or_key_is_refused_before_it_is_kept() {
    let setup = Setup::new(10).await;
    let mut cursor = setup
        .hostile(FEED_HOST, json!({"attack": "huge-cursor", "size_mb": 8}))
        .await;
    let err = cursor.fetch_page(&request()).await.unwrap_err();
    assert_limit(&err, Limit::Cursor);
    assert!(
        err.to_string()
            .contains("a cursor of 8388608 bytes, more than the 65536 allowed"),
        "{err}"
    );

    let mut key = setup
        .hostile(FEED_HOST, json!({"attack": "huge-key", "size_mb": 4}))
        .await;
    let page = key.fetch_page(&request()).await.unwrap();
    let err = key.map_record("loot", &page.records[0]).await.unwrap_err();
    assert_limit(&err, Limit::Key);
    assert!(
        err.to_string().contains("a record key of 4194304 bytes"),
        "{err}"
    );
    let mut feed = setup.feed().await;
    assert_eq!(sync_feed(&mut feed).await, (10, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_across_the_boundary_is_refused_while_another_connection_works() {
    let setup = Setup::new(10).await;
    let mut liar = setup
        .hostile(FEED_HOST, json!({"attack": "invalid-utf8"}))
        .await;
    let err = liar.fetch_page(&request()).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Crashed(_)), "{err:?}");
    // The trapped instance was replaced: the connection answers again.
    assert_eq!(liar.discover().await.unwrap()[0].name, "loot");
    let mut feed = setup.feed().await;
    assert_eq!(sync_feed(&mut feed).await, (10, 1));
}
