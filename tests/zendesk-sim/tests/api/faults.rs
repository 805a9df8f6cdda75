//! Fault injection and request counters.

use std::time::{Duration, Instant};

use zendesk_sim::{Fault, FaultKind};

use super::{admin, small, start};

#[tokio::test]
async fn status_and_gateway_timeout_faults() {
    let sim = start(small()).await;
    let c = admin(&sim);
    sim.set_fault("tickets", Fault::next(2, FaultKind::Status(503)));
    assert_eq!(c.get("/api/v2/tickets.json").await.status, 503);
    assert_eq!(
        c.get("/api/v2/users.json").await.status,
        200,
        "other endpoints are unaffected"
    );
    assert_eq!(c.get("/api/v2/tickets.json").await.status, 503);
    assert_eq!(
        c.get("/api/v2/tickets.json").await.status,
        200,
        "only the next two"
    );
    sim.set_fault(
        "incremental_tickets_cursor",
        Fault::probability(1.0, FaultKind::GatewayTimeoutAbove(100)),
    );
    let big = c
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=500")
        .await;
    assert_eq!(big.status, 504);
    let default = c
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    assert_eq!(default.status, 504, "the default page size is 1000");
    let small_page = c
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=100")
        .await;
    assert_eq!(small_page.status, 200);
    sim.clear_faults();
    assert_eq!(
        c.get("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=500")
            .await
            .status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn broken_bodies_and_connections() {
    let sim = start(small()).await;
    let c = admin(&sim);
    sim.set_fault("users", Fault::next(1, FaultKind::TruncatedBody));
    assert!(
        c.try_request("GET", "/api/v2/users.json", None, Vec::new())
            .await
            .is_err(),
        "truncated"
    );
    sim.set_fault("users", Fault::next(1, FaultKind::MalformedJson));
    let r = c.get("/api/v2/users.json").await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&r.body).is_err(),
        "malformed JSON"
    );
    sim.set_fault("*", Fault::next(1, FaultKind::ConnectionReset));
    assert!(
        c.try_request("GET", "/api/v2/brands.json", None, Vec::new())
            .await
            .is_err(),
        "reset"
    );
    assert_eq!(c.get("/api/v2/brands.json").await.status, 200);
    sim.set_fault(
        "brands",
        Fault::next(1, FaultKind::Delay(Duration::from_millis(300))),
    );
    let started = Instant::now();
    assert_eq!(c.get("/api/v2/brands.json").await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "slow response"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn requests_are_counted_per_endpoint() {
    let sim = start(small()).await;
    let c = admin(&sim);
    c.get("/api/v2/users/me.json").await;
    c.get("/api/v2/tickets/3/comments.json").await;
    c.get("/api/v2/tickets/4/comments.json").await;
    c.get("/api/v2/nothing.json").await;
    let counts = sim.request_counts();
    assert_eq!(counts.get("users_me"), Some(&1));
    assert_eq!(counts.get("ticket_comments"), Some(&2));
    assert_eq!(counts.get("unknown_endpoint"), Some(&1));
    sim.reset_counts();
    assert!(sim.request_counts().is_empty());
    sim.shutdown().await;
}
