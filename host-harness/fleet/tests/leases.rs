//! The schedule and the runner against a real, throw-away PostgreSQL
//! (`CONNECTOR_HOST_TEST_POSTGRES`, or a cluster of the test's own): two
//! claimers never get the same connection, the oldest due goes first, an
//! expired lease is taken over, a permanent failure waits for the slow
//! backoff, a lost lease stops its sync, so does a process that cannot
//! renew (before its lease expires), a shutdown releases the leases,
//! and a long sync holds one slot while the others keep turning.

use std::sync::Arc;
use std::time::Duration;

use connector_fleet::{
    overlapping, run, FleetOptions, Policy, Schedule, State, SyncOutcome, Syncer,
};
use connector_runtime::ConnectorError;
use connector_store_postgres::Database;
use connector_store_tests::postgres::TestDatabase;
use connector_sync::{Outcome, StopSignal, StreamReport, SyncReport};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A connection string's database, opened as the store opens it.
fn open(test: &TestDatabase) -> Database {
    Database::connect(&test.url()).unwrap()
}

fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("account-{i:02}")).collect()
}

/// Polls `condition` every 20 ms until it holds; panics after 20 s.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
    let deadline = Instant::now() + Duration::from_secs(20);
    let taken = loop {
        let taken = b.claim(&all, 1, Duration::from_secs(60)).await.unwrap();
        if !taken.is_empty() {
            break taken;
        }
        assert!(
            Instant::now() < deadline,
            "b never took the expired lease over"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
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

/// A sync that runs until it is stopped, and says when it started and
/// when it was stopped.
struct UntilStopped {
    started: mpsc::UnboundedSender<String>,
    stopped: mpsc::UnboundedSender<String>,
}

impl Syncer for UntilStopped {
    async fn sync(&self, connection: &str, stop: StopSignal) -> Result<SyncReport, ConnectorError> {
        let _ = self.started.send(connection.to_owned());
        stop.stopped().await;
        let _ = self.stopped.send(connection.to_owned());
        Ok(SyncReport {
            streams: vec![StreamReport {
                stream: connection.to_owned(),
                records: 0,
                pages: 0,
                requests: 0,
                rate_limited: 0,
                retries: 0,
                duration: Duration::ZERO,
                fetching: Duration::ZERO,
                mapping: Duration::ZERO,
                storing: Duration::ZERO,
                outcome: Outcome::Interrupted,
            }],
            duration: Duration::ZERO,
        })
    }
}

fn quick() -> FleetOptions {
    FleetOptions {
        max_syncs: 2,
        lease_ttl: Duration::from_millis(1500),
        poll: Duration::from_millis(50),
        policy: Policy::default(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_lease_stops_its_sync_and_a_shutdown_releases_the_rest() {
    let test = TestDatabase::new();
    let all = names(3);
    let schedule = Schedule::new(open(&test), "runner");
    let (started, mut starts) = mpsc::unbounded_channel();
    let (stopped, _stops) = mpsc::unbounded_channel();
    let syncer = Arc::new(UntilStopped { started, stopped });
    let (_set, connections) = watch::channel(all.clone());
    let shutdown = StopSignal::default();
    let fleet = tokio::spawn(run(
        schedule.clone(),
        quick(),
        connections,
        syncer,
        shutdown.clone(),
    ));
    starts.recv().await.unwrap();
    starts.recv().await.unwrap();
    // Bounded: two of three run, the heartbeat keeps them past their term.
    let held = |statuses: &[connector_fleet::ConnectionStatus]| {
        statuses
            .iter()
            .filter(|s| s.lease_owner.is_some())
            .map(|s| s.connection.clone())
            .collect::<Vec<_>>()
    };
    let (statuses, now) = schedule.status().await.unwrap();
    let leased = held(&statuses);
    assert_eq!(leased.len(), 2, "{statuses:?}");
    eventually("the leases are renewed past their first term", || {
        let schedule = schedule.clone();
        async move {
            let (statuses, _) = schedule.status().await.unwrap();
            held(&statuses).len() == 2
                && statuses
                    .iter()
                    .filter_map(|s| s.lease_expires_at)
                    .all(|expiry| expiry > now + 1_000)
        }
    })
    .await;

    // Another process takes one lease (as after an expiry): its sync stops,
    // and the third connection gets the free slot.
    let stolen = leased[0].clone();
    let db = open(&test);
    let target = stolen.clone();
    db.spawn(move |client| async move {
        client
            .execute(
                "UPDATE fleet_connections
                 SET lease_owner = 'thief', lease_expires_at = fleet_now_ms() + 600000
                 WHERE connection = $1",
                &[&target],
            )
            .await
            .map_err(connector_store_postgres::host_error)
    })
    .await
    .unwrap();
    let third = starts.recv().await.unwrap();
    assert!(!leased.contains(&third), "{third} ran twice");
    let runs = schedule.runs().await.unwrap();
    let stolen_run = runs.iter().find(|r| r.connection == stolen).unwrap();
    assert_eq!(stolen_run.outcome.as_deref(), Some("stopped"), "{runs:?}");
    let (statuses, _) = schedule.status().await.unwrap();
    assert_eq!(
        statuses
            .iter()
            .find(|s| s.connection == stolen)
            .unwrap()
            .lease_owner
            .as_deref(),
        Some("thief"),
        "the lost lease was released by its old owner"
    );

    // Shutdown: the running syncs stop, their leases are released at once,
    // due again for another process.
    shutdown.stop();
    tokio::time::timeout(Duration::from_secs(10), fleet)
        .await
        .expect("the runner drained")
        .unwrap();
    let (statuses, now) = schedule.status().await.unwrap();
    for status in statuses.iter().filter(|s| s.connection != stolen) {
        assert_eq!(status.lease_owner, None, "{status:?}");
        assert!(status.next_run_at <= now, "{status:?}");
    }
    let runs = schedule.runs().await.unwrap();
    assert!(runs.iter().all(|r| r.ended_at.is_some()), "{runs:?}");
}

/// Runs `statement` on `db`.
async fn execute(db: &Database, statement: &'static str) {
    db.spawn(move |client| async move {
        client
            .batch_execute(statement)
            .await
            .map_err(connector_store_postgres::host_error)
    })
    .await
    .unwrap();
}

/// The first value `query` answers on `db`.
async fn query_i64(db: &Database, query: &'static str) -> i64 {
    db.spawn(move |client| async move {
        let row = client
            .query_one(query, &[])
            .await
            .map_err(connector_store_postgres::host_error)?;
        Ok::<_, ConnectorError>(row.get(0))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_that_cannot_renew_stops_its_sync_before_the_lease_expires() {
    let test = TestDatabase::new();
    let all = names(1);
    let schedule = Schedule::new(open(&test), "runner");
    let (started, mut starts) = mpsc::unbounded_channel();
    let (stopped, mut stops) = mpsc::unbounded_channel();
    let syncer = Arc::new(UntilStopped { started, stopped });
    let (_set, connections) = watch::channel(all.clone());
    let shutdown = StopSignal::default();
    let fleet = tokio::spawn(run(
        schedule.clone(),
        quick(),
        connections,
        syncer,
        shutdown.clone(),
    ));
    starts.recv().await.unwrap();
    // The schedule's table goes away, as the database would: renewals fail.
    let admin = open(&test);
    execute(
        &admin,
        "ALTER TABLE fleet_connections RENAME TO fleet_connections_away",
    )
    .await;
    // The last renewal's expiry (none can follow).
    let expiry = query_i64(
        &admin,
        "SELECT lease_expires_at FROM fleet_connections_away",
    )
    .await;
    tokio::time::timeout(Duration::from_secs(10), stops.recv())
        .await
        .expect("the sync was stopped")
        .unwrap();
    let stopped_at = query_i64(&admin, "SELECT fleet_now_ms()").await;
    assert!(
        stopped_at < expiry,
        "stopped {} ms after the lease expired",
        stopped_at - expiry
    );
    execute(
        &admin,
        "ALTER TABLE fleet_connections_away RENAME TO fleet_connections",
    )
    .await;
    shutdown.stop();
    tokio::time::timeout(Duration::from_secs(10), fleet)
        .await
        .expect("the runner drained")
        .unwrap();
}

/// One connection's sync runs until stopped (a long first import); the
/// others' end at once.
struct OneLong {
    long: &'static str,
}

impl Syncer for OneLong {
    async fn sync(&self, connection: &str, stop: StopSignal) -> Result<SyncReport, ConnectorError> {
        if connection == self.long {
            stop.stopped().await;
        }
        Ok(SyncReport {
            streams: Vec::new(),
            duration: Duration::ZERO,
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_sync_holds_one_slot_while_the_others_keep_turning() {
    let test = TestDatabase::new();
    let all = names(4);
    let schedule = Schedule::new(open(&test), "runner");
    let options = FleetOptions {
        policy: Policy {
            every: Duration::from_millis(200),
            ..Policy::default()
        },
        ..quick()
    };
    let (_set, connections) = watch::channel(all.clone());
    let shutdown = StopSignal::default();
    let fleet = tokio::spawn(run(
        schedule.clone(),
        options,
        connections,
        Arc::new(OneLong { long: "account-00" }),
        shutdown.clone(),
    ));
    eventually("each small account synced three times", || {
        let schedule = schedule.clone();
        let all = all.clone();
        async move {
            let runs = schedule.runs().await.unwrap();
            all[1..].iter().all(|small| {
                runs.iter()
                    .filter(|r| r.connection == *small && r.outcome.as_deref() == Some("succeeded"))
                    .count()
                    >= 3
            })
        }
    })
    .await;
    let runs = schedule.runs().await.unwrap();
    let long: Vec<_> = runs
        .iter()
        .filter(|r| r.connection == "account-00")
        .collect();
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0].ended_at, None, "the long sync is still running");
    shutdown.stop();
    tokio::time::timeout(Duration::from_secs(10), fleet)
        .await
        .expect("the runner drained")
        .unwrap();
    assert!(overlapping(&schedule.runs().await.unwrap()).is_empty());
}
