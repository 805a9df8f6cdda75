//! The `connector-host` command line: flags, loading a connection from its
//! file, and one function per command.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{
    Connection, ConnectionRecipe, ConnectionSettings, ConnectorError, HostStores, Limits,
    LoadedConnector, Runtime,
};
use connector_store_sqlite::{Database, RecordStore};
use connector_sync::{StopSignal, SyncOptions, SyncReport};

use crate::connection_file::{
    connection_name, refresh_intervals, ConnectionFile, Plugin, RefreshOverrides, Secrets,
};

/// Runs connector components in a sandbox and syncs their data into SQLite.
#[derive(Parser, Debug)]
#[command(name = "connector-host", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
}

/// Options shared by every command.
#[derive(Args, Debug, Clone)]
pub struct GlobalOptions {
    /// The SQLite database holding records, cursors and connector storage.
    #[arg(
        long,
        global = true,
        default_value = "connector-host.db",
        env = "CONNECTOR_HOST_DB"
    )]
    pub db: PathBuf,
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
    /// Show debug logs, including the connector's own.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the connector's spec: config schema, auth schemes, hosts.
    Spec(PluginArgs),
    /// Test the connection: credentials, permissions, reach.
    Check(ConnectionArgs),
    /// List the streams the connection can read.
    Discover(ConnectionArgs),
    /// Sync the connection's streams into the database (first import, then
    /// only changes).
    Sync(SyncArgs),
    /// Show each stream's cursor, last sync, record counts and last error.
    Status(ConnectionArgs),
    /// Write a stream's normalized records, or one document per ticket
    /// (`--documents`), as JSON Lines.
    Export(ExportArgs),
    /// Run raw records (a JSON object, an array, or JSON Lines) through the
    /// connector's mapping and print the normalized records.
    Map(MapArgs),
    /// Rebuild normalized records from the stored raw records (after a
    /// connector upgrade), without calling the API.
    Remap(ConnectionArgs),
    /// Delete the connection's credentials, tokens, cursors, storage and records.
    Disconnect(ConnectionArgs),
    /// Start a local Zendesk simulator and sync it into the database; needs
    /// no Zendesk account.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// The platform's customer list, and the matching of the connection's
    /// organizations, people and tickets to it.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Support signals per matched customer: weekly volume, first reply and
    /// resolution times, satisfaction, escalations.
    Report(ReportArgs),
}

/// The `customers` commands.
#[derive(Subcommand, Debug)]
pub enum CustomersCommand {
    /// Replace the customer list (one for the whole database) with a CSV or
    /// JSON file of `id`, `name`, `domains`, then re-match the connections
    /// matched before.
    Import(CustomersImportArgs),
    /// Match the connection's organizations to customers (by domain, then
    /// by name), propagate to people and tickets, and print each
    /// organization's outcome with its reason.
    Match(CustomersMatchArgs),
}

/// Arguments of `customers import`.
#[derive(Args, Debug)]
pub struct CustomersImportArgs {
    /// The customer list (CSV with a header row, or JSON).
    pub file: PathBuf,
    /// Also match this connection now (the list itself is shared).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Arguments of `customers match`.
#[derive(Args, Debug)]
pub struct CustomersMatchArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Replace the connection's overrides with this file (CSV or JSON of
    /// `organization`, `action` (pin or forbid), `customer`); without it the
    /// stored overrides apply.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
}

/// Arguments of `report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Also write the signals as a self-contained HTML page with charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Arguments of `sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Only these streams (comma-separated) and what they depend on.
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Keep syncing on this schedule (e.g. 15m, 1h, 1d) until interrupted.
    #[arg(long, value_parser = crate::connection_file::parse_duration)]
    pub every: Option<std::time::Duration>,
    /// Items per page to ask the API for (default: the connector's).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Share of each API budget left for the account's other integrations.
    #[arg(long, default_value_t = 0.1)]
    pub reserve: f64,
    /// Streams synced at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Do not keep raw records (then `remap` cannot rebuild the data).
    #[arg(long)]
    pub no_raw: bool,
}

/// Arguments of `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The stream to export.
    #[arg(
        long,
        required_unless_present = "documents",
        conflicts_with = "documents"
    )]
    pub stream: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export one document per ticket (the conversation, its properties,
    /// requester, organization and customer) instead of a stream.
    #[arg(long)]
    pub documents: bool,
    /// With --documents: put internal notes in the conversation.
    #[arg(long, requires = "documents")]
    pub internal_notes: bool,
    /// With --documents: only tickets on which a customer commented.
    #[arg(long, requires = "documents")]
    pub only_customer_feedback: bool,
    /// With --documents: only the N most recently updated tickets.
    #[arg(long, requires = "documents", value_name = "N")]
    pub limit: Option<usize>,
}

/// Where `--out` sends an export: the file, or standard output.
fn output(out: Option<&Path>) -> Result<Box<dyn std::io::Write>, ConnectorError> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| {
                ConnectorError::config("--out", format!("cannot create {}: {e}", path.display()))
            })?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Arguments of `demo`.
#[cfg(feature = "demo")]
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Tickets in the simulated account.
    #[arg(long, default_value_t = 2000)]
    pub tickets: usize,
}

/// Selects a plugin without a connection.
#[derive(Args, Debug)]
pub struct PluginArgs {
    /// `zendesk` for the built-in connector, or a component file.
    #[arg(long, default_value = "zendesk")]
    pub plugin: String,
}

/// Selects a connection.
#[derive(Args, Debug)]
pub struct ConnectionArgs {
    /// The connection file (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Arguments of `map`.
#[derive(Args, Debug)]
pub struct MapArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The stream the records come from.
    #[arg(long)]
    pub stream: String,
    /// The file of raw records (default: standard input).
    pub file: Option<PathBuf>,
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

/// Everything a command needs to talk to one connection.
pub struct Context {
    /// The engine.
    pub runtime: Arc<Runtime>,
    /// The database.
    pub db: Database,
    /// The global options.
    pub global: GlobalOptions,
}

impl Context {
    /// Open the runtime and the database.
    pub fn new(global: GlobalOptions) -> Result<Self, ConnectorError> {
        let cache = global.cache_dir.clone().or_else(default_cache_dir);
        Ok(Context {
            runtime: Arc::new(Runtime::new(Limits::default(), cache)?),
            db: Database::open(&global.db)?,
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

    /// How to open the connection described by a connection file; with
    /// [`Secrets::IfAvailable`] for commands that never talk to the API.
    pub fn recipe(
        &self,
        file: &Path,
        secrets: Secrets,
    ) -> Result<ConnectionRecipe, ConnectorError> {
        let (parsed, path) = ConnectionFile::load(file)?;
        let plugin = parsed.plugin(&path);
        let loaded = self.load(&plugin)?;
        let config = parsed.resolved_config(|var| std::env::var(var).ok(), secrets)?;
        let settings = ConnectionSettings {
            name: parsed.name_for(&path),
            config,
            auth_scheme: parsed.auth.clone(),
            stores: HostStores::new(self.db.clone()),
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        };
        Ok(ConnectionRecipe {
            runtime: self.runtime.clone(),
            loaded,
            client: self.client(parsed.allow_private_network)?,
            settings,
        })
    }

    /// Open the connection described by a connection file.
    pub async fn open(&self, file: &Path, secrets: Secrets) -> Result<Connection, ConnectorError> {
        self.recipe(file, secrets)?.open().await
    }
}

/// Discover, plan and run one sync of a connection, with progress shown;
/// streams are refreshed at the connector's intervals unless `refresh`
/// (the connection file's) says otherwise.
pub async fn sync_once(
    db: &Database,
    recipe: &Arc<ConnectionRecipe>,
    options: &SyncOptions,
    refresh: &RefreshOverrides,
) -> Result<SyncReport, ConnectorError> {
    let mut first = recipe.open().await?;
    let discovered = first.discover().await?;
    drop(first);
    let mut streams = connector_sync::plan(&discovered, &options.streams)?;
    let mut options = options.clone();
    options.refresh_every = refresh_intervals(&discovered, refresh);
    let options = &options;
    let store = RecordStore::new(db.clone(), &recipe.settings.name);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let last_synced = |name: &str| store.stream_state(name).ok().and_then(|s| s.last_synced_at);
    let skipped = connector_sync::not_due(&streams, options, last_synced, now);
    for (name, last) in &skipped {
        eprintln!(
            "{name}: not due (last synced {} UTC; refreshed every {}s)",
            connector_platform::text::format_time(*last),
            options.refresh_every[name].as_secs()
        );
    }
    streams.retain(|s| !skipped.iter().any(|(name, _)| *name == s.name));
    Ok(connector_sync::run(
        connector_sync::connection_factory(recipe.clone()),
        streams,
        store,
        options.clone(),
        crate::progress::for_stderr(),
    )
    .await)
}

/// How a command ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// It did all it was asked.
    Completed,
    /// A sync was stopped on request (Ctrl-C or SIGTERM); what it fetched
    /// is committed and the next sync resumes from there.
    Stopped,
}

/// Asks `stop` on the first Ctrl-C or SIGTERM, and quits at once on the
/// second (the database stays consistent either way).
fn stop_on_signals(stop: StopSignal) {
    tokio::spawn(async move {
        interrupted().await;
        eprintln!("stopping: committing the pages already fetched (Ctrl-C again to quit at once)");
        stop.stop();
        interrupted().await;
        eprintln!("quitting at once; the next sync resumes from the last committed page");
        std::process::exit(130);
    });
}

/// Completes on Ctrl-C or SIGTERM; never when the signals cannot be watched.
async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Run a command, printing its result to standard output.
pub async fn run(cli: Cli) -> Result<Finished, ConnectorError> {
    let context = Context::new(cli.global.clone())?;
    match cli.command {
        Command::Spec(args) => {
            let plugin = match args.plugin.as_str() {
                "zendesk" => Plugin::BuiltinZendesk,
                path => Plugin::File(PathBuf::from(path)),
            };
            let loaded = context.load(&plugin)?;
            let spec = connector_runtime::connection::read_spec(&context.runtime, &loaded).await?;
            println!("{}", crate::report::spec_json(&spec));
        }
        Command::Check(args) => {
            let mut connection = context.open(&args.config, Secrets::Required).await?;
            let warnings = connection.check().await?;
            println!("ok: {} can reach its data", connection.name());
            for warning in warnings {
                println!("warning: {warning}");
            }
        }
        Command::Discover(args) => {
            let mut connection = context.open(&args.config, Secrets::Required).await?;
            print!(
                "{}",
                crate::report::streams_table(&connection.discover().await?)
            );
        }
        Command::Map(args) => {
            let mut connection = context
                .open(&args.connection.config, Secrets::IfAvailable)
                .await?;
            let text = match &args.file {
                Some(path) => std::fs::read_to_string(path).map_err(|e| {
                    ConnectorError::config("FILE", format!("cannot read {}: {e}", path.display()))
                })?,
                None => std::io::read_to_string(std::io::stdin())
                    .map_err(|e| ConnectorError::config("stdin", e.to_string()))?,
            };
            for raw in connector_platform::input::json_items(&text)? {
                for record in connection.map_record(&args.stream, &raw).await? {
                    println!("{}", crate::report::record_json(&record));
                }
            }
        }
        Command::Sync(args) => {
            let recipe = Arc::new(context.recipe(&args.connection.config, Secrets::Required)?);
            let (file, _) = ConnectionFile::load(&args.connection.config)?;
            let refresh = file.refresh_overrides()?;
            let options = SyncOptions {
                streams: args.streams.clone(),
                keep_raw: !args.no_raw,
                page_size: args.page_size,
                budget_reserve: args.reserve,
                concurrency: args.concurrency,
                ..SyncOptions::default()
            };
            stop_on_signals(options.stop.clone());
            loop {
                let report = sync_once(&context.db, &recipe, &options, &refresh).await?;
                print!("{}", crate::progress::summary(&report));
                if !report.succeeded() && args.every.is_none() {
                    return Err(ConnectorError::Transient(
                        "some streams failed (see above); run `sync` again to resume from the last committed page".into(),
                    ));
                }
                if report.interrupted() {
                    return Ok(Finished::Stopped);
                }
                let Some(every) = args.every else {
                    break;
                };
                eprintln!("next sync in {}s (Ctrl-C to stop)", every.as_secs());
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = options.stop.stopped() => return Ok(Finished::Stopped),
                }
            }
        }
        Command::Status(args) => {
            let store = RecordStore::new(context.db.clone(), &connection_name(&args.config)?);
            print!("{}", crate::report::status(&store)?);
        }
        Command::Export(args) if args.documents => {
            let options = connector_platform::documents::DocumentOptions {
                internal_notes: args.internal_notes,
                only_customer_feedback: args.only_customer_feedback,
                limit: args.limit,
            };
            let mut out = output(args.out.as_deref())?;
            let count = crate::platform_commands::export_documents(
                &context.db,
                &args.connection.config,
                &options,
                &mut out,
            )?;
            out.flush()
                .map_err(|e| ConnectorError::Host(format!("cannot write the export: {e}")))?;
            eprintln!("exported {count} ticket documents");
        }
        Command::Export(args) => {
            let name = connection_name(&args.connection.config)?;
            let store = RecordStore::new(context.db.clone(), &name);
            let stream = args.stream.unwrap_or_default();
            let mut out = output(args.out.as_deref())?;
            let count = store.for_each_record(&stream, |kind, key, version, deleted, data| {
                writeln!(
                    out,
                    "{{\"kind\":{},\"key\":{},\"version\":{},\"deleted\":{deleted},\"data\":{data}}}",
                    serde_json::Value::from(kind),
                    serde_json::Value::from(key),
                    serde_json::to_string(&version).expect("strings serialize"),
                )
            })?;
            out.flush()
                .map_err(|e| ConnectorError::Host(format!("cannot write the export: {e}")))?;
            eprintln!("exported {count} records of stream {stream}");
        }
        Command::Remap(args) => {
            let recipe = context.recipe(&args.config, Secrets::IfAvailable)?;
            let mut connection = recipe.open().await?;
            let store = RecordStore::new(context.db.clone(), &recipe.settings.name);
            for stream in connection.discover().await? {
                let mut mapped = Vec::new();
                for raw in store.raw_records(&stream.name)? {
                    let records = connection.map_record(&stream.name, &raw).await?;
                    mapped.push((raw, records));
                }
                let written = store.upsert_records(&stream.name, &mapped)?;
                println!(
                    "{}: {} raw records remapped into {written} records",
                    stream.name,
                    mapped.len()
                );
            }
        }
        Command::Disconnect(args) => {
            let (parsed, path) = ConnectionFile::load(&args.config)?;
            let store = RecordStore::new(context.db.clone(), &parsed.name_for(&path));
            let platform = connector_platform::PlatformStore::forget_connection(
                &context.db,
                &parsed.name_for(&path),
            )?;
            for (table, rows) in store.delete_connection()?.into_iter().chain(platform) {
                println!("deleted {rows} rows from {table}");
            }
            // The connector says what to revoke; a component that cannot be
            // loaded any more gets the general advice.
            let advice = match context.load(&parsed.plugin(&path)) {
                Ok(loaded) => connector_runtime::connection::read_spec(&context.runtime, &loaded)
                    .await
                    .map(|spec| spec.disconnect_advice)
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            println!(
                "The host no longer holds anything of this connection. At the provider, revoke \
                 what it was given{}.",
                if advice.is_empty() {
                    " (API token or OAuth grant)".to_string()
                } else {
                    format!(": {advice}")
                }
            );
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => crate::demo::run(&context, args.tickets).await?,
        Command::Customers(CustomersCommand::Import(args)) => print!(
            "{}",
            crate::platform_commands::import_customers(
                &context.db,
                &args.file,
                args.config.as_deref()
            )?
        ),
        Command::Customers(CustomersCommand::Match(args)) => print!(
            "{}",
            crate::platform_commands::match_customers(
                &context.db,
                &args.connection.config,
                args.overrides.as_deref()
            )?
        ),
        Command::Report(args) => print!(
            "{}",
            crate::platform_commands::report(
                &context.db,
                &args.connection.config,
                args.html.as_deref()
            )?
        ),
    }
    Ok(Finished::Completed)
}
