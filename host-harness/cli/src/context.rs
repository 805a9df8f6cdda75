//! What every command needs: the engine, the database and the loaded
//! connector of one connection, and one sync of it with progress shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::sealed::{SealedTokenStore, StoreKey};
use connector_runtime::{
    Connection, ConnectionRecipe, ConnectionSettings, ConnectorError, HostStores, Limits,
    LoadedConnector, Runtime,
};
use connector_sync::{SyncOptions, SyncReport};

use crate::connection_file::{
    refresh_intervals, ConnectionFile, Plugin, RefreshOverrides, Secrets,
};
use crate::store::Store;
use crate::store_key::KeySource;

/// Options shared by every command.
#[derive(Args, Debug, Clone)]
pub struct GlobalOptions {
    /// The database holding records, cursors, credentials and connector
    /// storage: a SQLite file, or a shared PostgreSQL database
    /// (postgres://USER[:PASSWORD]@HOST[:PORT]/NAME; give a URL with a
    /// password in CONNECTOR_HOST_DB rather than on the command line).
    #[arg(
        long,
        global = true,
        default_value = "connector-host.db",
        env = "CONNECTOR_HOST_DB",
        value_name = "FILE|URL"
    )]
    pub db: String,
    /// Where compiled components are cached (default: the user's cache folder).
    #[arg(long, global = true, env = "CONNECTOR_HOST_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// Pin HOST:PORT to an address, like curl's --resolve; the address may
    /// carry its own port (HOST:PORT:ADDR:PORT2). Repeatable.
    #[arg(long = "resolve", global = true, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Let connectors reach loopback, private and link-local addresses.
    #[arg(long, global = true)]
    pub allow_private_network: bool,
    /// The key that seals stored credentials (default: a SQLite database's
    /// path with `.key` added, created on first use; or the key itself in
    /// CONNECTOR_HOST_KEY). A PostgreSQL database needs one of the two, the
    /// same on every host that shares it.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "CONNECTOR_HOST_KEY_FILE"
    )]
    pub key_file: Option<PathBuf>,
    /// Show debug logs, including the connector's own.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// How log lines are written to standard error: `text` for people,
    /// `json` (one object per line) for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The bytes of the built-in Zendesk connector component.
#[cfg(feature = "zendesk")]
pub fn builtin_zendesk() -> &'static [u8] {
    include_bytes!(env!("ZENDESK_COMPONENT"))
}

/// The default compile cache folder.
fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|base| base.join("connector-host"))
}

/// The engine and the network options, for commands that keep nothing
/// locally (`spec`, `airbyte`): no database.
pub struct Host {
    /// The engine.
    pub runtime: Arc<Runtime>,
    /// The global options.
    pub global: GlobalOptions,
}

impl Host {
    /// Start the engine, with the compile cache of the options.
    pub fn new(global: GlobalOptions) -> Result<Self, ConnectorError> {
        let cache = global.cache_dir.clone().or_else(default_cache_dir);
        Ok(Host {
            runtime: Arc::new(Runtime::new(Limits::default(), cache)?),
            global,
        })
    }

    /// The HTTPS client for a connection.
    pub fn client(&self, allow_private_network: bool) -> Result<Arc<HttpsClient>, ConnectorError> {
        let extra_ca_pem = match &self.global.ca_cert {
            Some(path) => std::fs::read(path).map_err(|e| {
                ConnectorError::config("--ca-cert", format!("cannot read {}: {e}", path.display()))
            })?,
            None => Vec::new(),
        };
        let resolve = ResolveOverrides::parse(&self.global.resolve)
            .map_err(|e| ConnectorError::config("--resolve", e.to_string()))?;
        Ok(Arc::new(HttpsClient::new(NetworkOptions {
            resolve,
            extra_ca_pem,
            allow_private_network: allow_private_network || self.global.allow_private_network,
            ..NetworkOptions::default()
        })?))
    }

    /// Load a plugin's component.
    pub fn load(&self, plugin: &Plugin) -> Result<LoadedConnector, ConnectorError> {
        match plugin {
            #[cfg(feature = "zendesk")]
            Plugin::BuiltinZendesk => self.runtime.load(builtin_zendesk()),
            #[cfg(not(feature = "zendesk"))]
            Plugin::BuiltinZendesk => Err(ConnectorError::config(
                "plugin",
                "this connector-host was built without the built-in Zendesk connector; \
                 give the path of a connector component",
            )),
            Plugin::File(path) => self.runtime.load_file(path),
        }
    }
}

/// Everything a command needs to talk to one connection: the host and the
/// database (whose credentials' key is loaded when a connection is opened,
/// so that `status`, `report` or `disconnect` work without it).
pub struct Context {
    /// The engine and network options.
    pub host: Host,
    /// The database.
    pub db: Store,
}

impl Context {
    /// Open the runtime and the database.
    pub fn new(global: GlobalOptions) -> Result<Self, ConnectorError> {
        let db = Store::open(&global.db)?;
        Ok(Context {
            host: Host::new(global)?,
            db,
        })
    }

    /// The key that seals the database's credentials (created on first
    /// use), and where it came from.
    pub fn key(&self) -> Result<(StoreKey, KeySource), ConnectorError> {
        let global = &self.host.global;
        crate::store_key::load(&self.db, global.key_file.as_deref())
    }

    /// The stores a connection uses: the database for connector storage,
    /// and for credentials sealed with the key.
    pub fn stores(&self) -> Result<HostStores, ConnectorError> {
        let (key, _) = self.key()?;
        Ok(HostStores {
            storage: self.db.key_value(),
            tokens: Arc::new(SealedTokenStore::new(self.db.tokens(), key)),
        })
    }

    /// How to open the connection described by a connection file; with
    /// [`Secrets::IfAvailable`] for commands that never talk to the API.
    pub fn recipe(
        &self,
        file: &Path,
        secrets: Secrets,
    ) -> Result<ConnectionRecipe, ConnectorError> {
        let (parsed, path) = ConnectionFile::load(file)?;
        let plugin = parsed.plugin(&path);
        let loaded = self.host.load(&plugin)?;
        let config = parsed.resolved_config(|var| std::env::var(var).ok(), secrets)?;
        let settings = ConnectionSettings {
            name: parsed.name_for(&path),
            config,
            auth_scheme: parsed.auth.clone(),
            stores: self.stores()?,
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        };
        Ok(ConnectionRecipe {
            runtime: self.host.runtime.clone(),
            loaded,
            client: self.host.client(parsed.allow_private_network)?,
            settings,
        })
    }

    /// Open the connection described by a connection file.
    pub async fn open(&self, file: &Path, secrets: Secrets) -> Result<Connection, ConnectorError> {
        self.recipe(file, secrets)?.open().await
    }
}

/// Where a sync tells its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard error, for people: bars on a terminal, lines elsewhere.
    Terminal,
    /// Log events (`tracing`), for `serve`: one stream of log lines,
    /// JSON ones included, with nothing else mixed in.
    Logs,
}

/// [`sync_once_to`] with progress on the terminal.
pub async fn sync_once(
    db: &Store,
    recipe: &Arc<ConnectionRecipe>,
    options: &SyncOptions,
    refresh: &RefreshOverrides,
) -> Result<SyncReport, ConnectorError> {
    sync_once_to(db, recipe, options, refresh, Output::Terminal, None).await
}

/// Discover, plan and run one sync of a connection, with progress told to
/// `output`, its page commits fenced by the fleet lease of `lease_owner`
/// when given ([`Store::sync_leased`]);
/// streams are refreshed at the connector's intervals unless `refresh`
/// (the connection file's) says otherwise.
pub async fn sync_once_to(
    db: &Store,
    recipe: &Arc<ConnectionRecipe>,
    options: &SyncOptions,
    refresh: &RefreshOverrides,
    output: Output,
    lease_owner: Option<&str>,
) -> Result<SyncReport, ConnectorError> {
    let mut first = recipe.open().await?;
    let discovered = first.discover().await?;
    drop(first);
    let mut streams = connector_sync::plan(&discovered, &options.streams)?;
    let mut options = options.clone();
    options.refresh_every = refresh_intervals(&discovered, refresh);
    let options = &options;
    let name = &recipe.settings.name;
    // The records' handle is not `Send`: it is gone before the sync
    // awaits, so that `serve` can run syncs on any worker.
    let skipped = {
        let store = db.records(name);
        let last_synced = |name: &str| store.stream_state(name).ok().and_then(|s| s.last_synced_at);
        connector_sync::not_due(&streams, options, last_synced, unix_now())
    };
    for (stream, last) in &skipped {
        let last = connector_platform::text::format_time(*last);
        let every = options.refresh_every[stream].as_secs();
        match output {
            Output::Terminal => {
                eprintln!("{stream}: not due (last synced {last} UTC; refreshed every {every}s)")
            }
            Output::Logs => tracing::info!(
                connection = name,
                stream,
                last_synced = last,
                every_s = every,
                "stream not due"
            ),
        }
    }
    streams.retain(|s| !skipped.iter().any(|(name, _)| *name == s.name));
    let open = connector_sync::connection_factory(recipe.clone());
    let progress = match output {
        Output::Terminal => crate::progress::for_stderr(),
        Output::Logs => crate::progress::for_logs(name),
    };
    match lease_owner {
        Some(owner) => {
            db.sync_leased(name, owner, open, streams, options.clone(), progress)
                .await
        }
        None => Ok(db
            .sync(name, open, streams, options.clone(), progress)
            .await),
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
