//! Rate limits: the incremental export budget, the account budget and their headers.

use zendesk_sim::{RateLimits, SimConfig};

use super::{admin, small, start};

#[tokio::test]
async fn the_eleventh_export_request_in_a_minute_gets_429() {
    let sim = start(SimConfig {
        rate_limits: RateLimits::plan("enterprise"),
        ..small()
    })
    .await;
    let c = admin(&sim);
    let path = "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=5";
    for i in 0..10 {
        let r = c.get(path).await;
        assert_eq!(r.status, 200, "request {i}");
        let header = r
            .header("zendesk-ratelimit-incremental-exports")
            .expect("export header");
        assert!(
            header.starts_with(&format!("total=10; remaining={}; resets=", 9 - i)),
            "{header}"
        );
        assert_eq!(r.header("x-rate-limit"), Some("700"));
        assert_eq!(r.header("ratelimit-limit"), Some("700"));
        assert!(r.header("ratelimit-reset").is_some());
    }
    let r = c.get(path).await;
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(r.json()["error"], "APIRateLimitExceeded");
    assert_eq!(
        r.json()["description"],
        "Number of allowed incremental export API requests per minute exceeded"
    );
    // Other endpoints still answer, with the account budget in the headers.
    let other = c.get("/api/v2/users/me.json").await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("x-rate-limit-remaining"), Some("689"));
    assert!(other
        .header("zendesk-ratelimit-incremental-exports")
        .is_none());
    sim.advance_time(60);
    assert_eq!(c.get(path).await.status, 200, "a new minute, a new budget");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_account_budget_and_a_missing_retry_after() {
    let sim = start(small()).await;
    let c = admin(&sim);
    assert!(
        c.get("/api/v2/brands.json")
            .await
            .header("x-rate-limit")
            .is_none(),
        "no limits, no headers"
    );
    sim.set_rate_limits(Some(RateLimits {
        account_per_minute: 3,
        incremental_per_minute: 10,
        send_retry_after: false,
    }));
    for _ in 0..3 {
        assert_eq!(c.get("/api/v2/brands.json").await.status, 200);
    }
    let r = c.get("/api/v2/groups.json").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_none());
    assert_eq!(
        r.json()["description"],
        "Number of allowed API requests per minute exceeded"
    );
    assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
    // A compressed clock makes the minute pass quickly; advancing it is instant.
    sim.set_time_scale(60.0);
    sim.advance_time(60);
    assert_eq!(c.get("/api/v2/groups.json").await.status, 200);
    sim.shutdown().await;
}
