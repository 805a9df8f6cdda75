//! The import benchmarks' simulated account, served by a child process (the
//! bench binary itself, run again) so that its work does not count against
//! the host's, and the import into a store (SQLite or PostgreSQL) they
//! compare with.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{
    ConnectionRecipe, ConnectionSettings, HostStores, Limits, LoadedConnector, Runtime,
};
use connector_host::store::Store;
use connector_sync::{self as sync, SyncOptions, SyncReport};
use zendesk_sim::SimConfig;

/// Set in the child: the epoch of the simulator to serve.
const EPOCH_VAR: &str = "IMPORT_BENCH_SIM_EPOCH";

/// The dataset: `tickets` tickets with four comments each, 60 days of history.
pub fn dataset(tickets: usize, epoch: Option<i64>) -> SimConfig {
    SimConfig {
        tickets,
        comments_per_ticket: 4,
        users: tickets / 5,
        organizations: tickets / 50,
        history_days: 60,
        epoch,
        ..SimConfig::default()
    }
}

/// The simulator in a child process, and how to reach it.
pub struct SimProcess {
    child: Child,
    /// Its HTTPS address.
    pub addr: String,
    /// Its CA certificate (PEM file).
    pub ca: String,
    /// The admin's email.
    pub email: String,
    /// The admin's API token.
    pub token: String,
    /// The dataset it serves (for the ground truth).
    pub settings: SimConfig,
}

impl SimProcess {
    /// In the child, serve `tickets` until standard input closes and return
    /// true; in the parent, return false.
    pub fn serve_if_child(tickets: usize) -> bool {
        let Ok(epoch) = std::env::var(EPOCH_VAR) else {
            return false;
        };
        let epoch: i64 = epoch.parse().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let sim = zendesk_sim::Simulator::start_settled(dataset(tickets, Some(epoch)))
                .await
                .unwrap();
            let admin = sim.admin_credentials("acme");
            println!(
                "READY {} {} {} {}",
                sim.https_addr(),
                sim.ca_cert_path().display(),
                admin.email,
                admin.api_token
            );
            std::io::stdout().flush().unwrap();
            tokio::task::spawn_blocking(|| {
                let mut sink = String::new();
                while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            })
            .await
            .unwrap();
            sim.shutdown().await;
        });
        true
    }

    /// Start the child serving `tickets` (the environment variable
    /// `tickets_var` carries the size to it).
    pub fn start(tickets: usize, tickets_var: &str) -> Self {
        // The parent's ground truth and the child's simulator share one epoch.
        let settings = dataset(tickets, None).behind_real_time();
        let epoch = settings.epoch.expect("set behind real time");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(EPOCH_VAR, epoch.to_string())
            .env(tickets_var, tickets.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts[0], "READY", "the simulator did not start: {line}");
        SimProcess {
            child,
            addr: parts[1].into(),
            ca: parts[2].into(),
            email: parts[3].into(),
            token: parts[4].into(),
            settings,
        }
    }

    /// The `--resolve` pin of the account's host to the simulator.
    pub fn resolve(&self) -> String {
        format!("acme.zendesk.com:443:{}", self.addr)
    }

    /// An HTTPS client that reaches the simulator and trusts its CA.
    pub fn client(&self) -> Arc<HttpsClient> {
        Arc::new(
            HttpsClient::new(NetworkOptions {
                resolve: ResolveOverrides::parse(&[self.resolve()]).unwrap(),
                extra_ca_pem: std::fs::read(&self.ca).unwrap(),
                ..NetworkOptions::default()
            })
            .unwrap(),
        )
    }

    /// The connector's config for the account (API token).
    pub fn config(&self) -> serde_json::Value {
        serde_json::json!({"subdomain": "acme", "email": self.email, "api_token": self.token})
    }

    /// Stop the child.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// What every import benchmark starts with: the simulator's child serving
/// `IMPORT_TICKETS` tickets (default 100,000), a tokio runtime, the engine
/// compiling into a temporary cache, and the built-in Zendesk component.
pub struct Setup {
    /// The simulator.
    pub sim: SimProcess,
    /// The tokio runtime.
    pub rt: tokio::runtime::Runtime,
    /// The engine's compilation cache.
    pub cache: tempfile::TempDir,
    /// The engine.
    pub runtime: Arc<Runtime>,
    /// The component.
    pub loaded: LoadedConnector,
}

impl Setup {
    /// In the simulator's child process, serve until the parent is done and
    /// return `None`; in the parent, start the child and the rest.
    pub fn start() -> Option<Setup> {
        let tickets = env_or("IMPORT_TICKETS", 100_000);
        if SimProcess::serve_if_child(tickets) {
            return None;
        }
        let sim = SimProcess::start(tickets, "IMPORT_TICKETS");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let (runtime, loaded) = zendesk_component(cache.path());
        Some(Setup {
            sim,
            rt,
            cache,
            runtime,
            loaded,
        })
    }
}

/// A number from the environment variable `var`, else `default`.
pub fn env_or(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The engine, compiling into `cache`, and the built-in Zendesk component.
pub fn zendesk_component(cache: &std::path::Path) -> (Arc<Runtime>, LoadedConnector) {
    let runtime = Arc::new(Runtime::new(Limits::default(), Some(cache.to_path_buf())).unwrap());
    let loaded = runtime
        .load(connector_host::context::builtin_zendesk())
        .unwrap();
    (runtime, loaded)
}

/// The settings of connection `name` of the account (API token).
pub fn settings(name: &str, stores: HostStores, config: &serde_json::Value) -> ConnectionSettings {
    ConnectionSettings {
        name: name.into(),
        config: config.clone(),
        auth_scheme: Some("api_token".into()),
        stores,
        storage_quota: StorageQuota::default(),
        log_limits: LogLimits::default(),
        shared: Default::default(),
    }
}

/// One first import through the component into a new SQLite file in `dir`.
pub fn import_into_sqlite(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    loaded: &LoadedConnector,
    client: &Arc<HttpsClient>,
    config: &serde_json::Value,
    dir: &std::path::Path,
) -> (SyncReport, Duration) {
    let store = Store::open(&dir.join("component.db").display().to_string()).unwrap();
    import_into(rt, runtime, loaded, client, config, &store)
}

/// One first import through the component into `store`, as connection
/// `acme`; the report and the time it took.
pub fn import_into(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    loaded: &LoadedConnector,
    client: &Arc<HttpsClient>,
    config: &serde_json::Value,
    store: &Store,
) -> (SyncReport, Duration) {
    let stores = HostStores {
        storage: store.key_value(),
        tokens: store.tokens(),
    };
    let recipe = Arc::new(ConnectionRecipe {
        runtime: runtime.clone(),
        loaded: loaded.clone(),
        client: client.clone(),
        settings: settings("acme", stores, config),
    });
    rt.block_on(async {
        let started = Instant::now();
        let mut first = recipe.open().await.unwrap();
        let streams = sync::plan(&first.discover().await.unwrap(), &[]).unwrap();
        drop(first);
        let report = store
            .sync(
                "acme",
                sync::connection_factory(recipe.clone()),
                streams,
                SyncOptions::default(),
                Arc::new(|_| {}),
            )
            .await;
        (report, started.elapsed())
    })
}
