//! The schedule and the leases, in PostgreSQL (`fleet_connections` and
//! `fleet_runs`, schema version 2 of `connector-store-postgres`).
//!
//! A process claims due connections with one statement: the oldest due
//! first, rows other processes are claiming skipped (`FOR UPDATE SKIP
//! LOCKED`), each given a lease that expires unless renewed, and a run
//! recorded. A lease that expired (its process died) makes the connection
//! claimable again; the claim closes the dead run at its lease's expiry.
//! Every time is the database's (`fleet_now_ms()`), so that machines whose
//! clocks differ agree.

use std::time::Duration;

use connector_runtime::ConnectorError;
use connector_store_postgres::{host_error, Database};

use crate::policy::{Decision, State};

/// One process's view of the shared schedule.
#[derive(Clone)]
pub struct Schedule {
    db: Database,
    owner: String,
}

/// A connection leased to this process, and the run recorded for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The connection's name.
    pub connection: String,
    /// The run's id in `fleet_runs`.
    pub run: i64,
    /// The connection's state before this sync.
    pub state: State,
    /// Consecutive failed syncs before this one.
    pub failures: u32,
}

/// A connection as `status --all` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionStatus {
    /// The connection's name.
    pub connection: String,
    /// Its scheduling state.
    pub state: State,
    /// The process holding its lease, while one does.
    pub lease_owner: Option<String>,
    /// When that lease expires unless renewed (Unix ms).
    pub lease_expires_at: Option<i64>,
    /// When it is due next (Unix ms).
    pub next_run_at: i64,
    /// Consecutive failed syncs.
    pub failures: u32,
    /// When a sync of it last succeeded (Unix ms).
    pub last_success_at: Option<i64>,
    /// The last failure's message, with its advice (cleared by a success).
    pub last_error: Option<String>,
    /// The last failure's class (`ConnectorError::class`).
    pub last_error_class: Option<String>,
}

/// One recorded sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// The connection synced.
    pub connection: String,
    /// The process that ran it.
    pub owner: String,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it ended (Unix ms); `None` while it runs.
    pub ended_at: Option<i64>,
    /// How it ended: `succeeded`, `stopped`, `failed: CLASS`, or `lease
    /// expired` (its process died or lost the database); `None` while it runs.
    pub outcome: Option<String>,
}

/// How a finished sync is written down.
#[derive(Clone, Copy, Debug)]
pub struct Finish<'a> {
    /// What the policy decided.
    pub decision: Decision,
    /// The run's outcome, as [`Run::outcome`] names it.
    pub outcome: &'a str,
    /// Whether the sync succeeded (sets the last success, clears the error).
    pub succeeded: bool,
    /// The failure, if it failed.
    pub error: Option<&'a ConnectorError>,
}

/// Claims due connections of `$1` (at most `$2`) for owner `$3`, with a
/// lease of `$4` ms; closes the runs whose lease expired; records a run
/// per claim.
const CLAIM: &str = "
WITH due AS (
    SELECT connection, lease_expires_at AS expired_at
    FROM fleet_connections
    WHERE connection = ANY($1::text[])
      AND next_run_at <= fleet_now_ms()
      AND (lease_owner IS NULL OR lease_expires_at <= fleet_now_ms())
    ORDER BY next_run_at, connection
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), abandoned AS (
    UPDATE fleet_runs r
    SET ended_at = COALESCE(due.expired_at, fleet_now_ms()), outcome = 'lease expired'
    FROM due
    WHERE r.connection = due.connection AND r.ended_at IS NULL
), leased AS (
    UPDATE fleet_connections c
    SET lease_owner = $3, lease_expires_at = fleet_now_ms() + $4
    FROM due
    WHERE c.connection = due.connection
    RETURNING c.connection, c.state, c.failures, c.next_run_at
), runs AS (
    INSERT INTO fleet_runs (connection, owner, started_at)
    SELECT connection, $3, fleet_now_ms() FROM leased
    RETURNING id, connection
)
SELECT runs.id, leased.connection, leased.state, leased.failures
FROM runs JOIN leased USING (connection)
ORDER BY leased.next_run_at, leased.connection";

/// Extends the unexpired leases of `$1` held by `$2` by `$3` ms.
const RENEW: &str = "
UPDATE fleet_connections
SET lease_expires_at = fleet_now_ms() + $3
WHERE connection = ANY($1::text[]) AND lease_owner = $2 AND lease_expires_at > fleet_now_ms()
RETURNING connection";

/// Releases `$1`'s lease held by `$2` and schedules it after `$3` ms.
const RELEASE: &str = "
UPDATE fleet_connections
SET lease_owner = NULL, lease_expires_at = NULL,
    next_run_at = fleet_now_ms() + $3, state = $4, failures = $5,
    last_success_at = CASE WHEN $6 THEN fleet_now_ms() ELSE last_success_at END,
    last_error = CASE WHEN $6 THEN NULL ELSE COALESCE($7, last_error) END,
    last_error_class = CASE WHEN $6 THEN NULL ELSE COALESCE($8, last_error_class) END
WHERE connection = $1 AND lease_owner = $2";

/// Closes run `$1` with outcome `$2` (a run closed by a takeover keeps its
/// outcome, and gets its true end).
const END_RUN: &str = "
UPDATE fleet_runs SET ended_at = fleet_now_ms(), outcome = COALESCE(outcome, $2) WHERE id = $1";

/// How long the runs of a connection are kept (30 days): at an hourly
/// interval, 720 rows per connection.
const RUNS_KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

/// Forgets the runs of `$1` that ended more than `$2` ms ago.
const PRUNE_RUNS: &str = "
DELETE FROM fleet_runs WHERE connection = $1 AND ended_at < fleet_now_ms() - $2";

/// Milliseconds of a duration, as the statements take them.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Schedule {
    /// The schedule in `db`, seen by the process named `owner` (unique
    /// across the fleet: it is how leases tell processes apart).
    pub fn new(db: Database, owner: impl Into<String>) -> Self {
        Schedule {
            db,
            owner: owner.into(),
        }
    }

    /// This process's name in leases and runs.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Adds the connections the schedule does not know yet, due at once
    /// (their first import); returns how many were new.
    pub async fn register(&self, connections: &[String]) -> Result<u64, ConnectorError> {
        let connections = connections.to_vec();
        self.db
            .spawn(move |client| async move {
                client
                    .execute(
                        "INSERT INTO fleet_connections (connection, next_run_at)
                         SELECT unnest($1::text[]), fleet_now_ms()
                         ON CONFLICT (connection) DO NOTHING",
                        &[&connections],
                    )
                    .await
                    .map_err(host_error)
            })
            .await
    }

    /// Leases up to `limit` due connections among `connections` for
    /// `ttl`, the longest overdue first, and records a run for each.
    pub async fn claim(
        &self,
        connections: &[String],
        limit: usize,
        ttl: Duration,
    ) -> Result<Vec<Claim>, ConnectorError> {
        if limit == 0 || connections.is_empty() {
            return Ok(Vec::new());
        }
        let connections = connections.to_vec();
        let owner = self.owner.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ttl = millis(ttl);
        self.db
            .spawn(move |client| async move {
                let rows = client
                    .query(CLAIM, &[&connections, &limit, &owner, &ttl])
                    .await
                    .map_err(host_error)?;
                Ok(rows
                    .iter()
                    .map(|row| Claim {
                        run: row.get(0),
                        connection: row.get(1),
                        state: State::parse(row.get(2)),
                        failures: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
                    })
                    .collect())
            })
            .await
    }

    /// Extends this process's unexpired leases of `connections` by `ttl`;
    /// returns those it still holds (a connection missing from the answer
    /// was lost: its sync must stop).
    pub async fn renew(
        &self,
        connections: &[String],
        ttl: Duration,
    ) -> Result<Vec<String>, ConnectorError> {
        if connections.is_empty() {
            return Ok(Vec::new());
        }
        let connections = connections.to_vec();
        let owner = self.owner.clone();
        let ttl = millis(ttl);
        self.db
            .spawn(move |client| async move {
                let rows = client
                    .query(RENEW, &[&connections, &owner, &ttl])
                    .await
                    .map_err(host_error)?;
                Ok(rows.iter().map(|row| row.get(0)).collect())
            })
            .await
    }

    /// Ends `claim`'s run (and forgets the connection's runs that ended
    /// over 30 days ago) and, if this process still holds the lease,
    /// releases it and schedules the next run as `finish` says; returns
    /// whether it still held the lease. One transaction.
    pub async fn finish(&self, claim: &Claim, finish: Finish<'_>) -> Result<bool, ConnectorError> {
        let connection = claim.connection.clone();
        let run = claim.run;
        let owner = self.owner.clone();
        let delay = millis(finish.decision.delay);
        let state = finish.decision.state.as_str();
        let failures = i32::try_from(finish.decision.failures).unwrap_or(i32::MAX);
        let outcome = finish.outcome.to_owned();
        let succeeded = finish.succeeded;
        let error = finish.error.map(|e| e.to_string());
        let class = finish.error.map(|e| e.class());
        self.db
            .spawn(move |mut client| async move {
                let tx = client.transaction().await.map_err(host_error)?;
                tx.execute(END_RUN, &[&run, &outcome])
                    .await
                    .map_err(host_error)?;
                tx.execute(PRUNE_RUNS, &[&connection, &RUNS_KEPT_MS])
                    .await
                    .map_err(host_error)?;
                let released = tx
                    .execute(
                        RELEASE,
                        &[
                            &connection,
                            &owner,
                            &delay,
                            &state,
                            &failures,
                            &succeeded,
                            &error,
                            &class,
                        ],
                    )
                    .await
                    .map_err(host_error)?;
                tx.commit().await.map_err(host_error)?;
                Ok(released == 1)
            })
            .await
    }

    /// Every connection of the schedule, by name, with the database's now
    /// (Unix ms) to read its times against.
    pub async fn status(&self) -> Result<(Vec<ConnectionStatus>, i64), ConnectorError> {
        self.db
            .spawn(move |client| async move {
                let rows = client
                    .query(
                        "SELECT connection, state, lease_owner, lease_expires_at, next_run_at,
                                failures, last_success_at, last_error, last_error_class
                         FROM fleet_connections ORDER BY connection",
                        &[],
                    )
                    .await
                    .map_err(host_error)?;
                let now: i64 = client
                    .query_one("SELECT fleet_now_ms()", &[])
                    .await
                    .map_err(host_error)?
                    .get(0);
                let statuses = rows
                    .iter()
                    .map(|row| ConnectionStatus {
                        connection: row.get(0),
                        state: State::parse(row.get(1)),
                        lease_owner: row.get(2),
                        lease_expires_at: row.get(3),
                        next_run_at: row.get(4),
                        failures: u32::try_from(row.get::<_, i32>(5)).unwrap_or(0),
                        last_success_at: row.get(6),
                        last_error: row.get(7),
                        last_error_class: row.get(8),
                    })
                    .collect();
                Ok((statuses, now))
            })
            .await
    }

    /// Every recorded run, by connection and start.
    pub async fn runs(&self) -> Result<Vec<Run>, ConnectorError> {
        self.db
            .spawn(move |client| async move {
                let rows = client
                    .query(
                        "SELECT connection, owner, started_at, ended_at, outcome
                         FROM fleet_runs ORDER BY connection, started_at, id",
                        &[],
                    )
                    .await
                    .map_err(host_error)?;
                Ok(rows
                    .iter()
                    .map(|row| Run {
                        connection: row.get(0),
                        owner: row.get(1),
                        started_at: row.get(2),
                        ended_at: row.get(3),
                        outcome: row.get(4),
                    })
                    .collect())
            })
            .await
    }
}

/// The runs of one connection that overlap in time (each pair once): a
/// run still open overlaps every later one. Empty when the schedule kept
/// its promise of one process at a time per connection.
pub fn overlapping(runs: &[Run]) -> Vec<(Run, Run)> {
    let mut found = Vec::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            let a_end = a.ended_at.unwrap_or(i64::MAX);
            let b_end = b.ended_at.unwrap_or(i64::MAX);
            if a.connection == b.connection && a.started_at < b_end && b.started_at < a_end {
                found.push((a.clone(), b.clone()));
            }
        }
    }
    found
}
