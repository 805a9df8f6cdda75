//! The schedule's statements against a real, throw-away PostgreSQL
//! (`CONNECTOR_HOST_TEST_POSTGRES`, or a cluster of the test's own): two
//! claimers never get the same connection, the oldest due goes first, an
//! expired lease is taken over, a process that lost its lease commits no
//! page, a permanent failure waits for the slow backoff, old runs are
//! forgotten.

mod common;

use std::time::Duration;

use common::{names, open};
use connector_fleet::{overlapping, Claim, Policy, Schedule, State, SyncOutcome};
use connector_runtime::contract::NormalizedRecord;
use connector_runtime::ConnectorError;
use connector_store_postgres::RecordStore;
use connector_store_tests::postgres::TestDatabase;
use connector_sync::stored::SyncedRecords;
use connector_sync::{PageCommit, Sink};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread")]
async fn two_claimers_never_get_the_same_connection() {
    let test = TestDatabase::new();
    let all = names(40);
    let a = Schedule::new(open(&test), "a");
    let b = Schedule::new(open(&test), "b");
    assert_eq!(a.register(&all).await.unwrap(), 40);
    assert_eq!(b.register(&all).await.unwrap(), 0, "registered twice");
    let claim_all = |schedule: Schedule, all: Vec<String>| async move {
        let mut mine = Vec::new();
        loop {
            let claims = schedule
                .claim(&all, 3, Duration::from_secs(60))
                .await
                .unwrap();
            if claims.is_empty() {
                return mine;
            }
            mine.extend(claims.into_iter().map(|c| c.connection));
        }
    };
    let (mine_a, mine_b) = tokio::join!(
        tokio::spawn(claim_all(a.clone(), all.clone())),
        tokio::spawn(claim_all(b.clone(), all.clone()))
    );
    let (mut mine_a, mine_b) = (mine_a.unwrap(), mine_b.unwrap());
    assert!(
        mine_a.iter().all(|name| !mine_b.contains(name)),
        "{mine_a:?} {mine_b:?}"
    );
    mine_a.extend(mine_b);
    mine_a.sort();
    assert_eq!(mine_a, all, "every connection was claimed exactly once");
    let (statuses, _) = a.status().await.unwrap();
    assert!(statuses.iter().all(|s| s.lease_owner.is_some()));
    assert!(overlapping(&a.runs().await.unwrap()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oldest_due_connection_is_claimed_first() {
    let test = TestDatabase::new();
    let a = Schedule::new(open(&test), "a");
    let all = names(3);
    a.register(&all).await.unwrap();
    // account-00 ran most recently (a stop makes it due at once, now);
    // the others have been due since they were registered.
    let first = a
        .claim(&all[..1], 1, Duration::from_secs(60))
        .await
        .unwrap();
    let policy = Policy::default();
    let stopped = connector_fleet::Finish {
        decision: policy.decide(SyncOutcome::Stopped, State::Scheduled, 0),
        outcome: "stopped",
        succeeded: false,
        error: None,
    };
    assert!(a.finish(&first[0], stopped).await.unwrap());
    let next = a.claim(&all, 1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(next[0].connection, "account-01");
}

/// `claimer`'s claim of `all`, polled until another process's lease has
/// expired (20 s at most).
async fn take_over_once_expired(claimer: &Schedule, all: &[String]) -> Vec<Claim> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let taken = claimer
            .claim(all, 1, Duration::from_secs(60))
            .await
            .unwrap();
        if !taken.is_empty() {
            return taken;
        }
        assert!(
            Instant::now() < deadline,
            "{} never took the expired lease over",
            claimer.owner()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_lease_is_taken_over_and_the_dead_run_closed_at_its_expiry() {
    let test = TestDatabase::new();
    let all = names(1);
    let a = Schedule::new(open(&test), "a");
    let b = Schedule::new(open(&test), "b");
    a.register(&all).await.unwrap();
    let ttl = Duration::from_millis(400);
    let held = a.claim(&all, 1, ttl).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        b.claim(&all, 1, ttl).await.unwrap().is_empty(),
        "leased twice"
    );
    // `a` dies: it renews no more. `b` gets the connection once the lease expires.
    let taken = take_over_once_expired(&b, &all).await;
    assert_eq!(taken[0].connection, all[0]);
    assert!(
        a.renew(&all, ttl).await.unwrap().is_empty(),
        "a still renews"
    );
    let runs = b.runs().await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].owner, "a");
    assert_eq!(runs[0].outcome.as_deref(), Some("lease expired"));
    assert!(runs[0].ended_at.unwrap() <= runs[1].started_at, "{runs:?}");
    assert!(overlapping(&runs).is_empty(), "{runs:?}");
    // `a`'s late report changes nothing but its run's end.
    let late = connector_fleet::Finish {
        decision: Policy::default().decide(SyncOutcome::Succeeded, State::Scheduled, 0),
        outcome: "succeeded",
        succeeded: true,
        error: None,
    };
    assert!(!a.finish(&held[0], late).await.unwrap());
    let (statuses, _) = b.status().await.unwrap();
    assert_eq!(statuses[0].lease_owner.as_deref(), Some("b"));
    assert_eq!(statuses[0].last_success_at, None);
}

/// A page of one record keyed `key`, its cursor `key`.
fn page(key: &str) -> PageCommit {
    let record = NormalizedRecord {
        kind: "item".into(),
        key: key.into(),
        version: None,
        data: "{}".into(),
        deleted: false,
    };
    PageCommit {
        stream: "s".into(),
        records: vec![("{}".into(), vec![record])],
        cursor: Some(key.into()),
        done: false,
        requests: 1,
        keep_raw: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_that_lost_its_lease_commits_no_page() {
    let test = TestDatabase::new();
    let all = names(1);
    let a = Schedule::new(open(&test), "a");
    let b = Schedule::new(open(&test), "b");
    a.register(&all).await.unwrap();
    let ttl = Duration::from_millis(400);
    a.claim(&all, 1, ttl).await.unwrap();
    let store = RecordStore::new(open(&test), &all[0]);
    let fenced_a = store.clone().leased_to("a");
    assert_eq!(fenced_a.commit_page(page("1")).await.unwrap(), 1);
    // Not `b`'s lease: `b` may not commit while `a` holds it.
    let fenced_b = store.clone().leased_to("b");
    assert!(fenced_b.commit_page(page("2")).await.is_err());
    // `a` stalls past its lease; `b` takes the connection over.
    take_over_once_expired(&b, &all).await;
    let late = fenced_a.commit_page(page("3")).await.unwrap_err();
    assert!(matches!(late, ConnectorError::Store(_)), "{late}");
    assert!(late.to_string().contains("no longer holds"), "{late}");
    assert_eq!(fenced_b.commit_page(page("4")).await.unwrap(), 1);
    // Nothing of `a`'s late page, nor of `b`'s early one: the cursor is `b`'s.
    let state = store.stream_state("s").unwrap();
    assert_eq!((state.cursor.as_deref(), state.pages), (Some("4"), 2));
    assert_eq!(store.counts().unwrap(), vec![("item".to_string(), 2, 0)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_needs_attention_and_waits_for_the_slow_backoff() {
    let test = TestDatabase::new();
    let all = names(1);
    let a = Schedule::new(open(&test), "a");
    a.register(&all).await.unwrap();
    let claim = a.claim(&all, 1, Duration::from_secs(60)).await.unwrap();
    let error = ConnectorError::Auth("the API token was revoked; create a new one".into());
    let decision = Policy::default().decide(SyncOutcome::Failed(&error), claim[0].state, 0);
    let finish = connector_fleet::Finish {
        decision,
        outcome: "failed: auth",
        succeeded: false,
        error: Some(&error),
    };
    assert!(a.finish(&claim[0], finish).await.unwrap());
    let (statuses, now) = a.status().await.unwrap();
    let status = &statuses[0];
    assert_eq!(status.state, State::Attention);
    assert_eq!(status.lease_owner, None);
    assert_eq!(status.last_error_class.as_deref(), Some("auth"));
    assert!(status
        .last_error
        .as_deref()
        .unwrap()
        .contains("create a new one"));
    assert!(status.next_run_at >= now + 3_500_000, "{status:?}");
    assert!(a
        .claim(&all, 1, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_older_than_thirty_days_are_forgotten() {
    let test = TestDatabase::new();
    let all = names(2);
    let a = Schedule::new(open(&test), "a");
    a.register(&all).await.unwrap();
    let db = open(&test);
    db.spawn(|client| async move {
        client
            .batch_execute(
                "INSERT INTO fleet_runs (connection, owner, started_at, ended_at, outcome)
                 VALUES ('account-00', 'old', 0, 1, 'succeeded'),
                        ('account-01', 'old', 0, 1, 'succeeded'),
                        ('account-00', 'recent', fleet_now_ms() - 1000, fleet_now_ms(), 'succeeded')",
            )
            .await
            .map_err(connector_store_postgres::host_error)
    })
    .await
    .unwrap();
    let claim = a
        .claim(&all[..1], 1, Duration::from_secs(60))
        .await
        .unwrap();
    let finish = connector_fleet::Finish {
        decision: Policy::default().decide(SyncOutcome::Succeeded, State::Scheduled, 0),
        outcome: "succeeded",
        succeeded: true,
        error: None,
    };
    assert!(a.finish(&claim[0], finish).await.unwrap());
    let owners: Vec<(String, String)> = a
        .runs()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.connection, r.owner))
        .collect();
    let pair = |c: &str, o: &str| (c.to_owned(), o.to_owned());
    assert_eq!(
        owners,
        [
            pair("account-00", "recent"),
            pair("account-00", "a"),
            // Another connection's runs are pruned by its own syncs.
            pair("account-01", "old"),
        ]
    );
}
