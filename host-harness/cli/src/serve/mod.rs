//! `connector-host serve`: run every connection of a folder on its
//! schedule, as one process of a fleet sharing one PostgreSQL database
//! (`connector-fleet` does the scheduling and leasing), and `status
//! --all`, the fleet's view of every connection.

mod connections;
mod http;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use connector_fleet::{FleetOptions, Policy, Schedule, Syncer};
use connector_platform::text::{format_time, table};
use connector_runtime::ConnectorError;
use connector_sync::{StopSignal, SyncOptions, SyncReport};

use crate::cli::{interrupted, Finished};
use crate::connection_file::{parse_duration, ConnectionFile, Secrets};
use crate::context::{sync_once_to, Context, Output};
use crate::store::Store;
use connections::Files;

/// Arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The folder of connection files (*.toml) to run, read again when
    /// it changes; each file's connection is named as for `sync`.
    #[arg(long, value_name = "DIR")]
    pub connections: PathBuf,
    /// Syncs running at once in this process.
    #[arg(long, default_value_t = 4)]
    pub max_syncs: usize,
    /// Between successful syncs of a connection (e.g. 15m, 1h, 1d).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub every: Duration,
    /// How long a connection stays leased to a process that stopped
    /// renewing it (it died): then another process takes it over.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub lease_ttl: Duration,
    /// How often to look for due connections and changed files.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub poll: Duration,
    /// Serve Prometheus metrics at /metrics and a health check at
    /// /healthz on this address (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Share of each API budget left for the account's other integrations.
    #[arg(long, default_value_t = 0.1)]
    pub reserve: f64,
    /// Items per page to ask the API for (default: the connector's).
    #[arg(long)]
    pub page_size: Option<u32>,
}

/// The shared PostgreSQL database `serve` and `status --all` need.
fn postgres(
    context: &Context,
    command: &str,
) -> Result<connector_store_postgres::Database, ConnectorError> {
    match &context.db {
        Store::Postgres(db) => Ok(db.clone()),
        Store::Sqlite { .. } => Err(ConnectorError::config(
            "--db",
            format!(
                "`{command}` needs the fleet's shared PostgreSQL database, not a SQLite file: pass \
                 --db postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set CONNECTOR_HOST_DB)"
            ),
        )),
    }
}

/// This process's name in leases and runs: host, process id and a random
/// part (a restarted process is another owner).
fn owner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}:{:04x}", std::process::id(), fastrand::u16(..))
}

/// Syncs a connection from its file in the watched folder, its commits
/// fenced by this process's lease.
struct FileSyncer {
    context: Context,
    /// This process, as the schedule names its leases' owner.
    owner: String,
    files: Files,
    reserve: f64,
    page_size: Option<u32>,
}

impl Syncer for FileSyncer {
    async fn sync(&self, connection: &str, stop: StopSignal) -> Result<SyncReport, ConnectorError> {
        let path = self
            .files
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(connection)
            .cloned()
            .ok_or_else(|| {
                ConnectorError::config(
                    "--connections",
                    format!(
                        "no connection file names {connection} any more; put its file back in \
                         the folder to sync it again"
                    ),
                )
            })?;
        let recipe = Arc::new(self.context.recipe(&path, Secrets::Required)?);
        let (file, _) = ConnectionFile::load(&path)?;
        let refresh = file.refresh_overrides()?;
        let options = SyncOptions {
            budget_reserve: self.reserve,
            page_size: self.page_size,
            stop,
            ..SyncOptions::default()
        };
        let owner = Some(self.owner.as_str());
        sync_once_to(
            &self.context.db,
            &recipe,
            &options,
            &refresh,
            Output::Logs,
            owner,
        )
        .await
    }
}

/// Asks `shutdown` on the first Ctrl-C or SIGTERM, and quits at once on
/// the second (the leases then expire on their own); said in the logs.
fn drain_on_signals(shutdown: StopSignal) {
    tokio::spawn(async move {
        interrupted().await;
        tracing::info!(
            "draining: no new sync; running syncs stop at a page boundary (signal again to quit at once)"
        );
        shutdown.stop();
        interrupted().await;
        tracing::warn!("quitting at once; the leases expire on their own");
        std::process::exit(130);
    });
}

/// Run `serve` until SIGTERM or Ctrl-C, then drain: no new sync, running
/// ones stopped at a page boundary, their leases released; exit 0.
pub async fn run(context: Context, args: &ServeArgs) -> Result<Finished, ConnectorError> {
    if args.max_syncs == 0 {
        return Err(ConnectorError::config("--max-syncs", "must be at least 1"));
    }
    let schedule = Schedule::new(postgres(&context, "serve")?, owner_name());
    if let Some(addr) = args.metrics_addr {
        let bound = http::serve(addr, http::install_recorder()?, schedule.clone()).await?;
        tracing::info!(%bound, "metrics at /metrics, health at /healthz");
    }
    let (files, names) = connections::watch_dir(args.connections.clone(), args.poll)?;
    let shutdown = StopSignal::default();
    drain_on_signals(shutdown.clone());
    tracing::info!(owner = schedule.owner(), "serving");
    let options = FleetOptions {
        max_syncs: args.max_syncs,
        lease_ttl: args.lease_ttl,
        poll: args.poll,
        policy: Policy {
            every: args.every,
            ..Policy::default()
        },
    };
    let syncer = Arc::new(FileSyncer {
        context,
        owner: schedule.owner().to_owned(),
        files,
        reserve: args.reserve,
        page_size: args.page_size,
    });
    connector_fleet::run(schedule, options, names, syncer, shutdown).await;
    tracing::info!("drained: every lease released");
    Ok(Finished::Completed)
}

/// `status --all`: every connection of the fleet's schedule.
pub async fn status_all(context: &Context) -> Result<String, ConnectorError> {
    let schedule = Schedule::new(postgres(context, "status --all")?, "status");
    let (statuses, now) = schedule.status().await?;
    if statuses.is_empty() {
        return Ok(
            "no connection is scheduled yet: start `connector-host serve --connections DIR`\n"
                .into(),
        );
    }
    let time = |ms: i64| format_time(ms.div_euclid(1000));
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let owner = match (&s.lease_owner, s.lease_expires_at) {
                (Some(owner), Some(expiry)) if expiry > now => owner.clone(),
                (Some(owner), _) => format!("{owner} (lease expired)"),
                _ => "-".into(),
            };
            let next = if s.lease_owner.is_some() {
                "running".into()
            } else if s.next_run_at <= now {
                "due".into()
            } else {
                time(s.next_run_at)
            };
            vec![
                s.connection.clone(),
                s.state.as_str().into(),
                owner,
                s.last_success_at
                    .map(time)
                    .unwrap_or_else(|| "never".into()),
                next,
                s.failures.to_string(),
                s.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(table(
        &[
            "CONNECTION",
            "STATE",
            "OWNER",
            "LAST SUCCESS (UTC)",
            "NEXT RUN (UTC)",
            "FAILURES",
            "LAST ERROR",
        ],
        &rows,
    ))
}
