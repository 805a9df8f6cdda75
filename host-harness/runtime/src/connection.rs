//! One connection: a configured instance of a connector component with its
//! own store, network policy, credentials, storage namespace and log.
//! Calls are classified; an instance that trapped is thrown away and a
//! fresh one is configured on the next call.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wasmtime::{Store, Trap, UpdateDeadline};

pub use crate::config_policy::secret_fields;
use crate::config_policy::{check_host_fields, check_oauth_origin, checked_secret_fields};
use crate::contract::{AuthKind, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo};
use crate::credentials::{choose_scheme, CredentialStore, Credentials};
use crate::engine::{Limits, LoadedConnector, Runtime};
use crate::errors::{ConnectorError, Limit};
use crate::generated::{CallResult, Core, CorePre};
use crate::http_policy::{Origin, OriginError};
use crate::kv::{ConnectionStorage, StorageQuota};
use crate::logs::{GuestLog, LogLimits};
use crate::outbound::HttpsClient;
use crate::secrets::Redactor;
use crate::state::{ConnectionNetwork, HostState};
use crate::storage::{KeyValueStore, MemoryStore, TokenStore};

/// The placeholder a connector sees instead of a secret value.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// What a connection is made of.
#[derive(Clone)]
pub struct ConnectionSettings {
    /// Unique name; namespaces storage, credentials and records.
    pub name: String,
    /// The connector's config, secrets included (they stay in the host).
    pub config: Value,
    /// The auth scheme the operator chose, if any.
    pub auth_scheme: Option<String>,
    /// Where the connector's storage and the rotated tokens are kept.
    pub stores: HostStores,
    /// Storage quota.
    pub storage_quota: StorageQuota,
    /// Log limits.
    pub log_limits: LogLimits,
    /// Credentials and known secrets shared by every instance opened with
    /// these settings (clones share them), so that concurrent streams
    /// refresh one OAuth token instead of racing to rotate it, and every
    /// instance scrubs rotated tokens.
    pub shared: SharedSecrets,
}

/// The stores a connection persists to; clones share them.
#[derive(Clone)]
pub struct HostStores {
    /// The connectors' key-value storage.
    pub storage: Arc<dyn KeyValueStore>,
    /// The OAuth tokens the host rotates.
    pub tokens: Arc<dyn TokenStore>,
}

impl HostStores {
    /// Both stores in one value that implements both traits.
    pub fn new<S: KeyValueStore + TokenStore + 'static>(store: S) -> Self {
        let store = Arc::new(store);
        HostStores {
            storage: store.clone(),
            tokens: store,
        }
    }

    /// Stores in memory, gone with the process.
    pub fn in_memory() -> Self {
        HostStores::new(MemoryStore::default())
    }
}

/// Credentials built once and the secrets to scrub, shared by connections.
#[derive(Clone, Default)]
pub struct SharedSecrets {
    credentials: Arc<Mutex<Option<Arc<Credentials>>>>,
    redactor: Redactor,
}

/// A configured connection.
pub struct Connection {
    pre: CorePre,
    limits: Limits,
    name: String,
    stores: HostStores,
    storage_quota: StorageQuota,
    log: GuestLog,
    network: ConnectionNetwork,
    instance: Option<(Store<HostState>, Core)>,
    spec: ConnectorSpec,
    guest_config: String,
    auth_scheme: String,
    normalized_config: Value,
}

type CallFuture<'a, T> = Pin<Box<dyn Future<Output = CallResult<T>> + Send + 'a>>;

/// Everything needed to open a connection again and again: one instance
/// per stream of a sync.
pub struct ConnectionRecipe {
    /// The engine.
    pub runtime: Arc<Runtime>,
    /// The component.
    pub loaded: LoadedConnector,
    /// The HTTPS client.
    pub client: Arc<HttpsClient>,
    /// The connection's settings.
    pub settings: ConnectionSettings,
}

impl ConnectionRecipe {
    /// Open a new connection (a fresh instance).
    pub async fn open(&self) -> Result<Connection, ConnectorError> {
        Connection::open(
            &self.runtime,
            &self.loaded,
            self.client.clone(),
            self.settings.clone(),
        )
        .await
    }
}

/// Read a connector's spec without configuring a connection: no network,
/// a throwaway in-memory storage.
pub async fn read_spec(
    runtime: &Runtime,
    connector: &LoadedConnector,
) -> Result<ConnectorSpec, ConnectorError> {
    let client = Arc::new(HttpsClient::new(crate::outbound::NetworkOptions::default())?);
    let settings = ConnectionSettings {
        name: "spec".into(),
        config: Value::Null,
        auth_scheme: None,
        stores: HostStores::in_memory(),
        storage_quota: StorageQuota::default(),
        log_limits: LogLimits::default(),
        shared: SharedSecrets::default(),
    };
    Ok(
        Connection::instantiated(runtime, connector, client, &settings)
            .await?
            .spec,
    )
}

impl Connection {
    /// Instantiate the connector, read its spec, configure it and set up its
    /// network policy and credentials.
    pub async fn open(
        runtime: &Runtime,
        connector: &LoadedConnector,
        client: Arc<HttpsClient>,
        settings: ConnectionSettings,
    ) -> Result<Self, ConnectorError> {
        let mut connection = Self::instantiated(runtime, connector, client, &settings).await?;
        connection
            .configure(
                settings.config,
                settings.auth_scheme.as_deref(),
                &settings.shared,
            )
            .await?;
        Ok(connection)
    }

    /// A fresh instance whose spec has been read, not yet configured: what
    /// reading a spec needs, and the cost of a new connection's instance.
    pub async fn instantiated(
        runtime: &Runtime,
        connector: &LoadedConnector,
        client: Arc<HttpsClient>,
        settings: &ConnectionSettings,
    ) -> Result<Self, ConnectorError> {
        let redactor = settings.shared.redactor.clone();
        let log = GuestLog::new(&settings.name, settings.log_limits, redactor.clone());
        let network = ConnectionNetwork::new(
            client,
            redactor.clone(),
            runtime.limits().max_requests_in_flight,
        );
        let mut connection = Connection {
            pre: connector.pre.clone(),
            limits: runtime.limits(),
            name: settings.name.clone(),
            stores: settings.stores.clone(),
            storage_quota: settings.storage_quota,
            log,
            network,
            instance: None,
            spec: ConnectorSpec {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                config_schema: String::new(),
                auth_schemes: Vec::new(),
                allowed_hosts: Vec::new(),
                disconnect_advice: String::new(),
            },
            guest_config: String::new(),
            auth_scheme: String::new(),
            normalized_config: Value::Null,
        };
        connection.spec = connection
            .call(|store, core| Box::pin(async move { core.spec(store).await }))
            .await?;
        Ok(connection)
    }

    async fn configure(
        &mut self,
        config: Value,
        auth_scheme: Option<&str>,
        shared: &SharedSecrets,
    ) -> Result<(), ConnectorError> {
        let redactor = &shared.redactor;
        let Value::Object(config) = config else {
            return Err(ConnectorError::config(
                "",
                "the config must be a JSON object",
            ));
        };
        let secrets = checked_secret_fields(&self.spec)?;
        let mut guest_config = config.clone();
        for field in &secrets {
            if let Some(value) = guest_config.get_mut(field) {
                if let Some(text) = value.as_str() {
                    redactor.add(text);
                }
                if !value.is_null() {
                    *value = Value::String(SECRET_PLACEHOLDER.into());
                }
            }
        }
        let full_config = Value::Object(config);
        let tokens = CredentialStore::new(self.stores.tokens.clone(), &self.name);
        let signed_in = tokens.signed_in()?;
        let scheme = choose_scheme(
            &self.spec.auth_schemes,
            auth_scheme,
            &full_config,
            signed_in,
        )?
        .cloned();
        // The host holds a signed-in connection's refresh token: the
        // connector sees its placeholder, as for a configured one.
        if let Some(AuthKind::OAuth2RefreshToken(oauth)) = scheme.as_ref().map(|s| &s.kind) {
            if let Some(field) = oauth.refresh_token_field.as_deref() {
                if signed_in && full_config.get(field).is_none() {
                    guest_config.insert(field.to_string(), SECRET_PLACEHOLDER.into());
                }
            }
        }
        self.auth_scheme = scheme.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        self.guest_config = Value::Object(guest_config).to_string();
        let normalized = self.configure_instance().await?;

        // Templates are filled from the normalized config plus the secrets.
        let mut merged: Value = serde_json::from_str(&normalized).map_err(|e| {
            ConnectorError::Protocol(format!("configure returned a config that is not JSON: {e}"))
        })?;
        if let Value::Object(map) = &mut merged {
            for field in &secrets {
                // A placeholder the connector echoed is never a value.
                match full_config.get(field) {
                    Some(value) => map.insert(field.clone(), value.clone()),
                    None => map.remove(field),
                };
            }
        }
        check_host_fields(&self.spec.allowed_hosts, &full_config, &merged)?;
        let allowed = self
            .spec
            .allowed_hosts
            .iter()
            .map(|template| {
                Origin::from_template(template, &merged).map_err(|e| match e {
                    OriginError::Template(t) => {
                        ConnectorError::config("allowed-hosts", t.to_string())
                    }
                    other => ConnectorError::Refused(format!(
                        "the connector declares an invalid outbound host: {other}"
                    )),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credentials = {
            let mut slot = shared.credentials.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(existing) => existing.clone(),
                None => {
                    let built = Arc::new(Credentials::from_scheme(
                        scheme.as_ref(),
                        &merged,
                        tokens,
                        redactor,
                    )?);
                    *slot = Some(built.clone());
                    built
                }
            }
        };
        check_oauth_origin("token", credentials.token_origin(), &allowed)?;
        self.network.allowed = Arc::new(allowed);
        self.network.credentials = credentials;
        if let Some((store, _)) = self.instance.as_mut() {
            store.data_mut().network = self.network.clone();
        }
        self.normalized_config = merged;
        Ok(())
    }

    /// Call `configure` on the current instance with the stored config.
    async fn configure_instance(&mut self) -> Result<String, ConnectorError> {
        let config = self.guest_config.clone();
        let scheme = self.auth_scheme.clone();
        self.call(move |store, core| {
            Box::pin(async move { core.configure(store, &config, &scheme).await })
        })
        .await
    }

    /// The connector's spec.
    pub fn spec(&self) -> &ConnectorSpec {
        &self.spec
    }

    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The config as normalized by the connector, secrets included.
    pub fn normalized_config(&self) -> &Value {
        &self.normalized_config
    }

    /// The connection's log.
    pub fn log(&self) -> &GuestLog {
        &self.log
    }

    /// Test the connection; returns the connector's warnings.
    pub async fn check(&mut self) -> Result<Vec<String>, ConnectorError> {
        self.call(|store, core| Box::pin(async move { core.check(store).await }))
            .await
    }

    /// The streams this connection can read.
    pub async fn discover(&mut self) -> Result<Vec<StreamInfo>, ConnectorError> {
        self.call(|store, core| Box::pin(async move { core.discover(store).await }))
            .await
    }

    /// Fetch one page.
    pub async fn fetch_page(&mut self, request: &PageRequest) -> Result<Page, ConnectorError> {
        let request = request.clone();
        let page = self
            .call(move |store, core| {
                Box::pin(async move { core.fetch_page(store, &request).await })
            })
            .await?;
        crate::output_limits::check_page(&page, &self.limits)?;
        Ok(page)
    }

    /// Map one raw record.
    pub async fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        let (stream, raw) = (stream.to_string(), raw.to_string());
        let records = self
            .call(move |store, core| {
                Box::pin(async move { core.map_record(store, &stream, &raw).await })
            })
            .await?;
        crate::output_limits::check_records(&records, &self.limits)?;
        Ok(records)
    }

    /// A fresh instance of the component in a new store.
    async fn instantiate(&mut self) -> Result<(Store<HostState>, Core), ConnectorError> {
        let storage =
            ConnectionStorage::open(self.stores.storage.clone(), &self.name, self.storage_quota)?;
        let state = HostState::new(
            self.network.clone(),
            storage,
            self.log.clone(),
            self.limits.memory_bytes,
        );
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut ctx| {
            let cpu = &mut ctx.data_mut().cpu;
            cpu.used_ticks += 1;
            if cpu.used_ticks > cpu.budget_ticks {
                cpu.exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        self.reset_budgets(&mut store);
        match self.pre.instantiate_async(&mut store).await {
            Ok(core) => Ok((store, core)),
            Err(e) => Err(self.classify_trap(e, store.data())),
        }
    }

    fn reset_budgets(&self, store: &mut Store<HostState>) {
        let state = store.data_mut();
        state.cpu.used_ticks = 0;
        state.cpu.budget_ticks = self.limits.cpu_ticks();
        state.cpu.exceeded = false;
        state.storage_quota_hit = None;
        store.set_epoch_deadline(1);
        self.log.begin_call();
        self.network.findings.clear();
    }

    /// Run one export call with fresh budgets, classifying what goes wrong.
    async fn call<T, F>(&mut self, f: F) -> Result<T, ConnectorError>
    where
        F: for<'a> FnOnce(&'a mut Store<HostState>, &'a Core) -> CallFuture<'a, T>,
    {
        if self.instance.is_none() {
            let fresh = self.instantiate().await?;
            self.instance = Some(fresh);
            if !self.guest_config.is_empty() {
                // A replacement for a discarded instance: configure it again.
                Box::pin(self.configure_instance()).await?;
            }
        }
        let (mut store, core) = self.instance.take().expect("instance present");
        self.reset_budgets(&mut store);
        let redactor = self.network.redactor.clone();
        // The CPU budget does not count waiting (a guest sleeping in a host
        // timer, or on a response): the wall clock bounds the whole call. A
        // call cut short leaves its instance mid-way, so it is discarded.
        let Ok(outcome) =
            tokio::time::timeout(self.limits.wall_per_call, f(&mut store, &core)).await
        else {
            let error = ConnectorError::LimitExceeded {
                limit: Limit::WallClock,
                detail: format!("more than {:?} in one call", self.limits.wall_per_call),
            };
            return Err(error.redacted(|text| redactor.redact(text)));
        };
        let result = match outcome {
            Ok(Ok(value)) => {
                self.instance = Some((store, core));
                return Ok(value);
            }
            Ok(Err(err)) => {
                let quota = store.data().storage_quota_hit.clone();
                self.instance = Some((store, core));
                match quota {
                    Some(detail) => ConnectorError::LimitExceeded {
                        limit: Limit::Storage,
                        detail,
                    },
                    None => self.network.findings.seen().explain(err),
                }
            }
            // A trap: the instance is discarded and replaced on the next call.
            Err(trap) => self.classify_trap(trap, store.data()),
        };
        Err(result.redacted(|text| redactor.redact(text)))
    }

    fn classify_trap(&self, err: wasmtime::Error, state: &HostState) -> ConnectorError {
        if state.cpu.exceeded {
            return ConnectorError::LimitExceeded {
                limit: Limit::Cpu,
                detail: format!(
                    "more than {:?} of CPU in one call",
                    self.limits.cpu_per_call
                ),
            };
        }
        if state.limiter.hit {
            return ConnectorError::LimitExceeded {
                limit: Limit::Memory,
                detail: format!("more than {} MiB of memory", self.limits.memory_bytes >> 20),
            };
        }
        let what = match err.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => {
                return ConnectorError::LimitExceeded {
                    limit: Limit::Stack,
                    detail: format!("more than {} KiB of stack", self.limits.stack_bytes >> 10),
                }
            }
            Some(trap) => trap.to_string(),
            // Not a trap (a host function failed): its first line, without
            // the wasm backtrace.
            None => err
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        let last_words = self.log.recent().last().cloned().unwrap_or_default();
        ConnectorError::Crashed(if last_words.is_empty() {
            what
        } else {
            format!("{what} (its last message: {last_words})")
        })
    }
}
