//! The four commands, each reporting its own failures as TRACE messages.

use std::sync::Arc;

use connector_runtime::connection::read_spec;
use connector_runtime::credentials::choose_scheme;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::HttpsClient;
use connector_runtime::storage::{KeyValueStore, MemoryStore};
use connector_runtime::{
    ConnectionRecipe, ConnectionSettings, ConnectorError, HostStores, LoadedConnector, Runtime,
};
use connector_sync::{Event, Outcome, SyncOptions, SyncReport};
use serde_json::Value;

use crate::catalog::{kind_streams, KindStream, Selection};
use crate::output::{ControlTokenStore, Output};
use crate::protocol::{
    Catalog, ConfiguredCatalog, ConnectionStatus, FailureType, Level, Message, StateMessage,
    Status, StreamStatus,
};
use crate::sink::AirbyteSink;
use crate::spec::{airbyte_spec, component_config, refresh_token_path};

/// The name a connection has under Airbyte (it namespaces nothing: a
/// process serves one connection).
const CONNECTION: &str = "airbyte";

/// A component ready to run: the engine, the compiled component and the
/// HTTP client its requests go through.
pub struct Plugin {
    /// The engine.
    pub runtime: Arc<Runtime>,
    /// The component.
    pub loaded: LoadedConnector,
    /// The client behind the sandbox's HTTP.
    pub client: Arc<HttpsClient>,
}

/// An Airbyte command, its files already read.
pub enum Command {
    /// SPEC.
    Spec,
    /// CONNECTION_STATUS for `config`.
    Check {
        /// The config.
        config: Value,
    },
    /// CATALOG for `config`.
    Discover {
        /// The config.
        config: Value,
    },
    /// RECORDs and STATEs of the catalog's streams.
    Read {
        /// The config.
        config: Value,
        /// The configured catalog.
        catalog: ConfiguredCatalog,
        /// The states of the previous read (empty for the first).
        states: Vec<StateMessage>,
        /// Stop signal, concurrency, budget reserve.
        options: SyncOptions,
    },
}

/// How a command ended; failures were already written as TRACE messages.
#[derive(Debug)]
pub enum Ended {
    /// It did all it was asked.
    Completed,
    /// A read was stopped on request; its last states say where to resume.
    Stopped,
    /// It failed with this error.
    Failed(ConnectorError),
}

/// Who must act on an error: the user, a retry, or the authors.
pub fn failure_type(error: &ConnectorError) -> FailureType {
    match error {
        ConnectorError::Config(_) | ConnectorError::Auth(_) | ConnectorError::Permission(_) => {
            FailureType::ConfigError
        }
        ConnectorError::RateLimited { .. }
        | ConnectorError::Transient(_)
        | ConnectorError::TimedOut(_) => FailureType::TransientError,
        _ => FailureType::SystemError,
    }
}

/// Run `command` for `plugin`, writing its messages to `output`.
pub async fn run(plugin: &Plugin, command: Command, output: &Output) -> Ended {
    let result = match command {
        Command::Spec => spec(plugin, output).await,
        Command::Check { config } => check(plugin, &config, output).await,
        Command::Discover { config } => discover(plugin, &config, output).await,
        Command::Read {
            config,
            catalog,
            states,
            options,
        } => read(plugin, config, &catalog, &states, options, output).await,
    };
    match result {
        Ok(ended) => ended,
        Err(error) => {
            output.emit_or_log(&Message::error(
                failure_type(&error),
                error.to_string(),
                None,
            ));
            Ended::Failed(error)
        }
    }
}

async fn spec(plugin: &Plugin, output: &Output) -> Result<Ended, ConnectorError> {
    let spec = read_spec(&plugin.runtime, &plugin.loaded).await?;
    output.emit(&Message::Spec {
        spec: airbyte_spec(&spec)?,
    })?;
    Ok(Ended::Completed)
}

/// How to open the connection `config` describes, with its stores.
async fn recipe(
    plugin: &Plugin,
    config: &Value,
    storage: MemoryStore,
    output: &Output,
) -> Result<ConnectionRecipe, ConnectorError> {
    let spec = read_spec(&plugin.runtime, &plugin.loaded).await?;
    let flat = component_config(config)?;
    let scheme = choose_scheme(
        &spec.auth_schemes,
        flat.auth_scheme.as_deref(),
        &flat.config,
        // Airbyte hands the tokens over in the config, never by sign-in.
        false,
    )?;
    let tokens = ControlTokenStore::new(
        output.clone(),
        config.clone(),
        scheme.and_then(|s| refresh_token_path(config, s)),
    );
    Ok(ConnectionRecipe {
        runtime: plugin.runtime.clone(),
        loaded: plugin.loaded.clone(),
        client: plugin.client.clone(),
        settings: ConnectionSettings {
            name: CONNECTION.into(),
            config: flat.config,
            auth_scheme: scheme.map(|s| s.id.clone()),
            stores: HostStores {
                storage: Arc::new(storage),
                tokens: Arc::new(tokens),
            },
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        },
    })
}

async fn check(plugin: &Plugin, config: &Value, output: &Output) -> Result<Ended, ConnectorError> {
    let checked = async {
        let recipe = recipe(plugin, config, MemoryStore::default(), output).await?;
        recipe.open().await?.check().await
    }
    .await;
    let connection_status = match checked {
        Ok(warnings) => ConnectionStatus {
            status: Status::Succeeded,
            message: (!warnings.is_empty()).then(|| {
                warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        },
        // Host failures are not the connection's: they fail the command.
        Err(e) if failure_type(&e) == FailureType::SystemError => return Err(e),
        Err(e) => ConnectionStatus {
            status: Status::Failed,
            message: Some(e.to_string()),
        },
    };
    output.emit(&Message::ConnectionStatus { connection_status })?;
    Ok(Ended::Completed)
}

/// The Airbyte streams of the connection.
async fn streams(recipe: &ConnectionRecipe) -> Result<Vec<KindStream>, ConnectorError> {
    let mut connection = recipe.open().await?;
    kind_streams(&connection.discover().await?)
}

async fn discover(
    plugin: &Plugin,
    config: &Value,
    output: &Output,
) -> Result<Ended, ConnectorError> {
    let recipe = recipe(plugin, config, MemoryStore::default(), output).await?;
    let streams = streams(&recipe)
        .await?
        .into_iter()
        .map(|k| k.stream)
        .collect();
    output.emit(&Message::Catalog {
        catalog: Catalog { streams },
    })?;
    Ok(Ended::Completed)
}

async fn read(
    plugin: &Plugin,
    config: Value,
    catalog: &ConfiguredCatalog,
    states: &[StateMessage],
    options: SyncOptions,
    output: &Output,
) -> Result<Ended, ConnectorError> {
    let storage = MemoryStore::default();
    let recipe = Arc::new(recipe(plugin, &config, storage.clone(), output).await?);
    let mut connection = recipe.open().await?;
    let discovered = connection.discover().await?;
    drop(connection);
    let kinds = kind_streams(&discovered)?;
    let selection = Selection::new(catalog, &kinds)?;
    let resume = crate::state::resume(states, &kinds, &selection)?;
    KeyValueStore::clear(&storage, CONNECTION)?;
    for (key, value) in &resume.storage {
        storage.set(CONNECTION, key, value)?;
    }
    let streams = connector_sync::plan(&discovered, &selection.component_streams(&kinds))?;
    let sink = AirbyteSink::new(
        output.clone(),
        storage,
        CONNECTION,
        &kinds,
        &selection,
        &resume,
    );
    let selected: Vec<KindStream> = kinds
        .into_iter()
        .filter(|k| selection.includes(&k.stream.name))
        .collect();
    let progress = Arc::new(StatusReporter::new(output.clone(), selected.clone()));
    let reporter = progress.clone();
    let report = connector_sync::run(
        connector_sync::connection_factory(recipe),
        streams,
        sink,
        options,
        Arc::new(move |event| reporter.on(event)),
    )
    .await;
    Ok(finish(&report, &selected, output))
}

/// TRACE errors for the streams that failed, and how the read ended.
fn finish(report: &SyncReport, selected: &[KindStream], output: &Output) -> Ended {
    for stream in &report.streams {
        if let Outcome::Failed(error) = &stream.outcome {
            let kind = selected
                .iter()
                .find(|k| k.sources.contains(&stream.stream))
                .map(|k| k.stream.name.as_str());
            output.emit_or_log(&Message::error(
                failure_type(error),
                format!("stream {}: {error}", stream.stream),
                kind,
            ));
        }
    }
    output.emit_or_log(&Message::log(
        Level::Info,
        format!(
            "read {} records in {:.1}s",
            report.records(),
            report.duration.as_secs_f64()
        ),
    ));
    match report.worst_failure() {
        Some(error) => Ended::Failed(error.clone()),
        None if report.interrupted() => Ended::Stopped,
        None => Ended::Completed,
    }
}

/// Turns the engine's progress into LOG messages and each selected
/// kind's STARTED, RUNNING, then COMPLETE or INCOMPLETE.
struct StatusReporter {
    output: Output,
    kinds: Vec<KindStream>,
    seen: std::sync::Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    started: std::collections::BTreeSet<String>,
    running: std::collections::BTreeSet<String>,
    finished: std::collections::BTreeMap<String, bool>,
}

impl StatusReporter {
    fn new(output: Output, kinds: Vec<KindStream>) -> Self {
        StatusReporter {
            output,
            kinds,
            seen: Default::default(),
        }
    }

    fn fed_by<'a>(&'a self, stream: &'a str) -> impl Iterator<Item = &'a KindStream> + 'a {
        self.kinds
            .iter()
            .filter(move |k| k.sources.iter().any(|s| s == stream))
    }

    fn status(&self, kind: &str, status: StreamStatus) {
        self.output
            .emit_or_log(&Message::stream_status(kind, status));
    }

    fn on(&self, event: Event) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Started { stream } => {
                for kind in self.fed_by(&stream) {
                    if seen.started.insert(kind.stream.name.clone()) {
                        self.status(&kind.stream.name, StreamStatus::Started);
                    }
                }
            }
            Event::Page {
                stream,
                total,
                pages,
                progress,
                time_left,
                ..
            } => {
                for kind in self.fed_by(&stream) {
                    if seen.running.insert(kind.stream.name.clone()) {
                        self.status(&kind.stream.name, StreamStatus::Running);
                    }
                }
                let done = progress
                    .filter(|p| p.total > 0)
                    .map(|p| format!(", {:.0}% done", 100.0 * p.done as f64 / p.total as f64))
                    .unwrap_or_default();
                let left = time_left
                    .map(|t| format!(", about {}s left", t.as_secs()))
                    .unwrap_or_default();
                self.output.emit_or_log(&Message::log(
                    Level::Info,
                    format!("{stream}: {total} records in {pages} pages{done}{left}"),
                ));
            }
            Event::Paused {
                stream,
                wait,
                reason,
            } => self.output.emit_or_log(&Message::log(
                Level::Info,
                format!("{stream}: waiting {:.1}s ({reason})", wait.as_secs_f64()),
            )),
            Event::Finished(report) => {
                let ok = matches!(report.outcome, Outcome::Done | Outcome::Skipped(_));
                if let Outcome::Skipped(why) = &report.outcome {
                    self.output.emit_or_log(&Message::log(
                        Level::Warn,
                        format!("{} skipped: {why}", report.stream),
                    ));
                }
                seen.finished.insert(report.stream.clone(), ok);
                for kind in self.fed_by(&report.stream) {
                    let ended: Option<Vec<bool>> = kind
                        .sources
                        .iter()
                        .map(|s| seen.finished.get(s).copied())
                        .collect();
                    if let Some(ended) = ended {
                        let status = if ended.iter().all(|ok| *ok) {
                            StreamStatus::Complete
                        } else {
                            StreamStatus::Incomplete
                        };
                        if !seen.started.contains(&kind.stream.name) {
                            self.status(&kind.stream.name, StreamStatus::Started);
                        }
                        self.status(&kind.stream.name, status);
                    }
                }
            }
        }
    }
}
