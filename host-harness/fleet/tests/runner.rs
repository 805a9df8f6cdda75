//! The runner against a real, throw-away PostgreSQL: a lost lease stops
//! its sync, so does a process that cannot renew (before its lease
//! expires), a shutdown releases the leases, and a long sync holds one
//! slot while the others keep turning; a sync still ending is not started
//! again beside itself.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{names, open};
use connector_fleet::{overlapping, run, FleetOptions, Policy, Schedule, Syncer};
use connector_runtime::ConnectorError;
use connector_store_postgres::Database;
use connector_store_tests::postgres::TestDatabase;
use connector_sync::{Outcome, StopSignal, StreamReport, SyncReport};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

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
        Ok(stopped_early(connection))
    }
}

/// What a sync stopped on request reports.
fn stopped_early(stream: &str) -> SyncReport {
    SyncReport {
        streams: vec![StreamReport {
            stream: stream.to_owned(),
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

/// One process's runner over `all`, in the background.
struct Fleet {
    task: tokio::task::JoinHandle<()>,
    /// Asks the runner to drain.
    shutdown: StopSignal,
    /// Keeps the set of connections open while the runner runs.
    _connections: watch::Sender<Vec<String>>,
}

impl Fleet {
    /// Start the runner of `schedule` over `all`, syncing with `syncer`.
    fn start<S: Syncer>(
        schedule: &Schedule,
        options: FleetOptions,
        all: &[String],
        syncer: Arc<S>,
    ) -> Fleet {
        let (connections, receiver) = watch::channel(all.to_vec());
        let shutdown = StopSignal::default();
        let task = tokio::spawn(run(
            schedule.clone(),
            options,
            receiver,
            syncer,
            shutdown.clone(),
        ));
        Fleet {
            task,
            shutdown,
            _connections: connections,
        }
    }

    /// Wait (10 s at most) until the runner, asked to drain, has ended.
    async fn drained(self) {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the runner drained")
            .unwrap();
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
    let fleet = Fleet::start(&schedule, quick(), &all, syncer);
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
    fleet.shutdown.stop();
    fleet.drained().await;
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
    let fleet = Fleet::start(&schedule, quick(), &all, syncer);
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
    fleet.shutdown.stop();
    fleet.drained().await;
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
    let fleet = Fleet::start(
        &schedule,
        options,
        &all,
        Arc::new(OneLong { long: "account-00" }),
    );
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
    fleet.shutdown.stop();
    fleet.drained().await;
    assert!(overlapping(&schedule.runs().await.unwrap()).is_empty());
}

/// A sync that, once stopped, still takes until `release` to end (a page
/// being committed), and says when it started.
struct SlowToEnd {
    started: mpsc::UnboundedSender<String>,
    release: Arc<tokio::sync::Notify>,
}

impl Syncer for SlowToEnd {
    async fn sync(&self, connection: &str, stop: StopSignal) -> Result<SyncReport, ConnectorError> {
        let _ = self.started.send(connection.to_owned());
        stop.stopped().await;
        self.release.notified().await;
        Ok(stopped_early(connection))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_still_ending_is_not_started_again_beside_itself() {
    let test = TestDatabase::new();
    let all = names(1);
    let schedule = Schedule::new(open(&test), "runner");
    let (started, mut starts) = mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let syncer = Arc::new(SlowToEnd {
        started,
        release: release.clone(),
    });
    let fleet = Fleet::start(&schedule, quick(), &all, syncer);
    starts.recv().await.unwrap();
    // The lease expires under the running sync: it is told to stop, and
    // the connection is claimable again while the sync is still ending.
    execute(
        &open(&test),
        "UPDATE fleet_connections SET lease_expires_at = 0",
    )
    .await;
    let again = tokio::time::timeout(Duration::from_secs(2), starts.recv()).await;
    assert!(again.is_err(), "started again beside itself: {again:?}");
    // Once it ended, the connection is synced again.
    release.notify_one();
    tokio::time::timeout(Duration::from_secs(10), starts.recv())
        .await
        .expect("synced again after it ended")
        .unwrap();
    fleet.shutdown.stop();
    release.notify_one();
    fleet.drained().await;
}
