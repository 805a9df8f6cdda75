//! One process's part of the fleet: claim due connections up to a bound,
//! sync each through a [`Syncer`], keep their leases alive with a
//! heartbeat, stop a sync whose lease is lost or in danger, write down
//! how each ended, and drain on shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use connector_runtime::ConnectorError;
use connector_sync::{StopSignal, SyncReport};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::policy::{Policy, SyncOutcome};
use crate::schedule::{Claim, Finish, Schedule};

/// Syncs one connection once: what the platform plugs in (the CLI opens
/// its connection file and runs the sync engine into its store).
pub trait Syncer: Send + Sync + 'static {
    /// Sync `connection` once, ending early (at a page boundary) when
    /// `stop` is asked.
    fn sync(
        &self,
        connection: &str,
        stop: StopSignal,
    ) -> impl Future<Output = Result<SyncReport, ConnectorError>> + Send;
}

/// How a process takes part in the fleet.
#[derive(Clone, Copy, Debug)]
pub struct FleetOptions {
    /// Syncs running at once in this process.
    pub max_syncs: usize,
    /// How long a lease lasts unless renewed; renewed every third of it.
    pub lease_ttl: Duration,
    /// How often to look for due connections.
    pub poll: Duration,
    /// Intervals and backoffs.
    pub policy: Policy,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            max_syncs: 4,
            lease_ttl: Duration::from_secs(30),
            poll: Duration::from_secs(2),
            policy: Policy::default(),
        }
    }
}

/// A sync this process runs.
struct Running {
    stop: StopSignal,
    /// When the last successful renewal (or the claim) was sent.
    renewed: Instant,
    /// Its task.
    task: tokio::task::Id,
}

/// Runs this process's part of the fleet until `shutdown` is asked, then
/// drains: no new claim, every running sync stopped at a page boundary,
/// its lease released and the connection due at once for another process.
/// `connections` is the set this process can sync (it may change); failures
/// of the database are logged and retried, never fatal.
pub async fn run<S: Syncer>(
    schedule: Schedule,
    options: FleetOptions,
    mut connections: watch::Receiver<Vec<String>>,
    syncer: Arc<S>,
    shutdown: StopSignal,
) {
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut poll = tokio::time::interval(options.poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat = tokio::time::interval(heartbeat_every(&options));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut registered = false;
    let mut watching = true;
    metrics::gauge!("connector_fleet_info", "owner" => schedule.owner().to_owned()).set(1.0);
    loop {
        let draining = shutdown.is_stopped();
        if draining {
            // Also the syncs a claim started as the shutdown came.
            for sync in running.values() {
                sync.stop.stop();
            }
            if tasks.is_empty() {
                return;
            }
        }
        tokio::select! {
            () = shutdown.stopped(), if !draining => {
                tracing::info!(running = running.len(), "draining: stopping the running syncs at a page boundary");
            }
            changed = connections.changed(), if !draining && watching => match changed {
                Ok(()) => registered = false,
                // The set can no longer change: keep the last one.
                Err(_) => watching = false,
            },
            Some(done) = tasks.join_next_with_id() => {
                let id = match done {
                    Ok((id, _)) => id,
                    Err(e) => {
                        // A sync task panicked: its lease expires on its own.
                        tracing::error!(error = %e, "a sync task ended abnormally");
                        e.id()
                    }
                };
                running.retain(|_, sync| sync.task != id);
                metrics::gauge!("connector_syncs_running").set(running.len() as f64);
            }
            _ = heartbeat.tick() => renew(&schedule, &options, &mut running).await,
            _ = poll.tick(), if !draining => {
                let known = connections.borrow().clone();
                if !registered {
                    match bounded(&options, schedule.register(&known)).await {
                        Ok(_) => registered = true,
                        Err(e) => tracing::warn!(error = %e, "cannot register the connections; retrying"),
                    }
                }
                let free = options.max_syncs.saturating_sub(running.len());
                // A sync still ending here (its lease lost or expired) is
                // not started again beside itself.
                let idle: Vec<String> = known.into_iter().filter(|c| !running.contains_key(c)).collect();
                let sent = Instant::now();
                let claims = match bounded(&options, schedule.claim(&idle, free, options.lease_ttl)).await {
                    Ok(claims) => claims,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim due connections; retrying");
                        continue;
                    }
                };
                for claim in claims {
                    let stop = StopSignal::default();
                    let connection = claim.connection.clone();
                    metrics::gauge!("connector_lease_held", "connection" => connection.clone()).set(1.0);
                    let task = tasks.spawn(sync_and_finish(schedule.clone(), options.policy, claim, syncer.clone(), stop.clone()));
                    running.insert(connection, Running { stop, renewed: sent, task: task.id() });
                }
                metrics::gauge!("connector_syncs_running").set(running.len() as f64);
            }
        }
    }
}

/// `work` on the database, given up after a heartbeat period: the loop
/// that renews the leases (and stops the syncs whose leases are in
/// danger) never waits longer, whatever the network does.
async fn bounded<T>(
    options: &FleetOptions,
    work: impl Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    tokio::time::timeout(heartbeat_every(options), work)
        .await
        .unwrap_or_else(|_| {
            Err(ConnectorError::Transient(
                "the database did not answer within a heartbeat; it is asked again at the next"
                    .into(),
            ))
        })
}

/// How often leases are renewed: a third of their term.
fn heartbeat_every(options: &FleetOptions) -> Duration {
    (options.lease_ttl / 3).max(Duration::from_millis(1))
}

/// Renews the leases of the running syncs; stops each sync whose lease
/// was lost, or was not renewed for half its term (the database
/// is unreachable): it then stops before the lease expires, so that no
/// other process starts it while it runs.
async fn renew(
    schedule: &Schedule,
    options: &FleetOptions,
    running: &mut HashMap<String, Running>,
) {
    if running.is_empty() {
        return;
    }
    let held: Vec<String> = running.keys().cloned().collect();
    let sent = Instant::now();
    match bounded(options, schedule.renew(&held, options.lease_ttl)).await {
        Ok(still_held) => {
            for (connection, sync) in running.iter_mut() {
                if still_held.contains(connection) {
                    sync.renewed = sent;
                } else if !sync.stop.is_stopped() {
                    tracing::warn!(connection, "lease lost: stopping its sync");
                    sync.stop.stop();
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot renew the leases"),
    }
    // Checked every third of the term: a sync whose renewals fail is
    // stopped at the second failed one (two thirds of the term after the
    // last success, whatever the timers' jitter), a third before expiry.
    let danger = options.lease_ttl / 2;
    for (connection, sync) in running.iter() {
        if sync.renewed.elapsed() >= danger && !sync.stop.is_stopped() {
            tracing::warn!(connection, "lease not renewed in time: stopping its sync");
            sync.stop.stop();
        }
    }
}

/// Syncs one claimed connection, then writes down how it ended and
/// releases its lease.
async fn sync_and_finish<S: Syncer>(
    schedule: Schedule,
    policy: Policy,
    claim: Claim,
    syncer: Arc<S>,
    stop: StopSignal,
) {
    let connection = claim.connection.clone();
    tracing::info!(connection, run = claim.run, "sync started");
    let started = std::time::Instant::now();
    let result = syncer.sync(&connection, stop).await;
    let failure = match &result {
        Ok(report) => report.worst_failure().cloned(),
        Err(e) => Some(e.clone()),
    };
    let interrupted = matches!(&result, Ok(report) if report.interrupted());
    let outcome = match &failure {
        Some(error) => SyncOutcome::Failed(error),
        None if interrupted => SyncOutcome::Stopped,
        None => SyncOutcome::Succeeded,
    };
    let outcome_name = match outcome {
        SyncOutcome::Succeeded => "succeeded".to_owned(),
        SyncOutcome::Stopped => "stopped".to_owned(),
        SyncOutcome::Failed(error) => format!("failed: {}", error.class()),
    };
    record_metrics(&connection, &result, failure.as_ref(), started.elapsed());
    let decision = policy.decide(outcome, claim.state, claim.failures);
    let finish = Finish {
        decision,
        outcome: &outcome_name,
        succeeded: matches!(outcome, SyncOutcome::Succeeded),
        error: failure.as_ref(),
    };
    match schedule.finish(&claim, finish).await {
        Ok(true) => tracing::info!(
            connection,
            outcome = outcome_name,
            state = decision.state.as_str(),
            next_in_s = decision.delay.as_secs(),
            error = failure.as_ref().map(|e| e.to_string()),
            "sync ended"
        ),
        Ok(false) => tracing::warn!(
            connection,
            outcome = outcome_name,
            "sync ended after its lease was lost; another process has the connection"
        ),
        Err(e) => tracing::warn!(
            connection,
            error = %e,
            "cannot write down how the sync ended; its lease expires on its own"
        ),
    }
    metrics::gauge!("connector_lease_held", "connection" => connection).set(0.0);
}

/// Counts a finished sync into the metrics, by connection.
fn record_metrics(
    connection: &str,
    result: &Result<SyncReport, ConnectorError>,
    failure: Option<&ConnectorError>,
    took: Duration,
) {
    if let Ok(report) = result {
        let sum = |field: fn(&connector_sync::StreamReport) -> u64| -> u64 {
            report.streams.iter().map(field).sum()
        };
        metrics::counter!("connector_records_total", "connection" => connection.to_owned())
            .increment(report.records());
        metrics::counter!("connector_requests_total", "connection" => connection.to_owned())
            .increment(sum(|s| s.requests));
        metrics::counter!("connector_rate_limited_total", "connection" => connection.to_owned())
            .increment(sum(|s| s.rate_limited));
    }
    metrics::histogram!("connector_sync_duration_seconds", "connection" => connection.to_owned())
        .record(took.as_secs_f64());
    if let Some(error) = failure {
        metrics::counter!(
            "connector_sync_errors_total",
            "connection" => connection.to_owned(), "class" => error.class()
        )
        .increment(1);
    }
}
