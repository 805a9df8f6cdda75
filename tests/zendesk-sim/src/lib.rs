//! A high-fidelity simulator of the Zendesk Support API, for tests, benchmarks and demos.
//!
//! [`Simulator::start`] generates a deterministic dataset per account and serves Zendesk's
//! read API over HTTPS (with a throwaway CA) and plain HTTP on loopback. The account is the
//! subdomain of the `Host` header: connect to [`SimHandle::https_addr`] and send
//! `Host: acme.zendesk.com`. The handle exposes the expected dataset ([`GroundTruth`]),
//! per-endpoint request counts, live [`Mutation`]s, [`Fault`] injection, rate limits and a
//! scalable clock.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use zendesk_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await?;
//! let creds = sim.admin_credentials("acme");
//! println!("{} {} {}", sim.https_addr(), creds.email, creds.authorization());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod api;
mod auth;
mod clock;
mod config;
mod faults;
mod limits;
mod model;
mod render;
mod rng;
mod server;
mod state;
mod timefmt;
mod tls;
mod truth;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::{Credentials, OAuthClient};
pub use config::{RateLimits, SimConfig};
pub use faults::{Fault, FaultKind, FaultTrigger};
pub use model::Mutation;
pub use truth::{absent_conversations, GroundTruth, KindTruth, Version};

use model::Role;
use state::{lock, AccountState, Shared};

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Starts `config` [behind real time](SimConfig::behind_real_time) and moves its clock
    /// on two minutes: everything generated is then older than the exports' one-minute
    /// exclusion, and nothing lies after the cap a connector takes from the host's clock.
    /// What end-to-end tests and benchmarks against a real connector start.
    pub async fn start_settled(config: SimConfig) -> anyhow::Result<SimHandle> {
        let sim = Self::start(config.behind_real_time()).await?;
        sim.advance_time(120);
        Ok(sim)
    }

    /// Generates the dataset of every account in `config` and starts serving it on the
    /// current Tokio runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let material = tls::generate()?;
        let (ca_cert_path, temp_dir) = match &config.ca_cert_path {
            Some(path) => (path.clone(), None),
            None => {
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let dir = std::env::temp_dir().join(format!(
                    "zendesk-sim-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                (dir.join("ca.pem"), Some(dir))
            }
        };
        std::fs::write(&ca_cert_path, &material.ca_pem)
            .with_context(|| format!("writing {}", ca_cert_path.display()))?;
        let shared = Arc::new(
            tokio::task::spawn_blocking({
                let config = config.clone();
                move || Shared::new(&config)
            })
            .await?,
        );
        let (stop, stopped) = watch::channel(false);
        let acceptor = tokio_rustls::TlsAcceptor::from(material.server);
        let (https_addr, https_task) = server::listen(
            shared.clone(),
            config.https_port,
            Some(acceptor),
            stopped.clone(),
        )
        .await?;
        let (http_addr, http_task) =
            server::listen(shared.clone(), config.http_port, None, stopped).await?;
        Ok(SimHandle {
            shared,
            https_addr,
            http_addr,
            ca_cert_path,
            ca_pem: material.ca_pem,
            temp_dir,
            stop,
            tasks: vec![https_task, http_task],
        })
    }
}

/// Whether the organization at `index` (0-based, in id order) is one whose
/// customers grow unhappier over the account's history: their comments read
/// more negative and their ratings turn bad (every fifth: the second, the
/// seventh, ...).
pub fn souring_organization(index: usize) -> bool {
    index % 5 == 1
}

/// The expected dataset of every account of `config`, without serving anything (the same
/// dataset a simulator started with `config` serves before any mutation).
pub fn ground_truth(config: &SimConfig) -> BTreeMap<String, GroundTruth> {
    let shared = Shared::new(config);
    shared
        .accounts
        .iter()
        .map(|(name, account)| (name.clone(), account.read().ground_truth()))
        .collect()
}

/// A running simulator.
pub struct SimHandle {
    shared: Arc<Shared>,
    https_addr: SocketAddr,
    http_addr: SocketAddr,
    ca_cert_path: PathBuf,
    ca_pem: String,
    temp_dir: Option<PathBuf>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Address of the HTTPS listener (127.0.0.1).
    pub fn https_addr(&self) -> SocketAddr {
        self.https_addr
    }

    /// Address of the plain HTTP listener (127.0.0.1).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Path of the PEM file of the CA that signed the server certificate.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert_path
    }

    /// The CA certificate in PEM.
    pub fn ca_cert_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The subdomains served.
    pub fn accounts(&self) -> Vec<String> {
        self.shared.accounts.keys().cloned().collect()
    }

    fn account(&self, account: &str) -> &AccountState {
        self.shared
            .accounts
            .get(account)
            .unwrap_or_else(|| panic!("the simulator serves no account {account:?}"))
    }

    fn credentials(&self, account: &str, pick: impl Fn(&model::User) -> bool) -> Credentials {
        let state = self.account(account);
        let data = state.read();
        lock(&state.secrets).credentials(&data, pick)
    }

    /// API token credentials of the account's admin. Panics if `account` is not served.
    pub fn admin_credentials(&self, account: &str) -> Credentials {
        self.credentials(account, |u| u.role == Role::Admin)
    }

    /// API token credentials of an agent (not the light agent). Panics if `account` is not
    /// served.
    pub fn agent_credentials(&self, account: &str) -> Credentials {
        self.credentials(account, |u| u.role == Role::Agent && !u.light_agent)
    }

    /// API token credentials of the light agent (role `agent`, `role_type` 1). Panics if
    /// `account` is not served.
    pub fn light_agent_credentials(&self, account: &str) -> Credentials {
        self.credentials(account, |u| u.light_agent)
    }

    /// API token credentials of an end user. Panics if `account` is not served.
    pub fn end_user_credentials(&self, account: &str) -> Credentials {
        self.credentials(account, |u| u.role == Role::EndUser)
    }

    /// The account's OAuth client and the refresh token it was issued at start. Panics if
    /// `account` is not served.
    pub fn oauth_client(&self, account: &str) -> OAuthClient {
        lock(&self.account(account).secrets).client.clone()
    }

    /// The dataset a complete sync of `account` must yield now. Panics if `account` is not
    /// served.
    pub fn ground_truth(&self, account: &str) -> GroundTruth {
        self.account(account).read().ground_truth()
    }

    /// Requests per endpoint name since start or the last [`SimHandle::reset_counts`].
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.counts).clone()
    }

    /// Sets every request count back to zero.
    pub fn reset_counts(&self) {
        lock(&self.shared.counts).clear();
    }

    /// Changes `account`'s data now; returns the ids created or changed.
    pub fn mutate(&self, account: &str, m: Mutation) -> anyhow::Result<Vec<u64>> {
        let state = self
            .shared
            .accounts
            .get(account)
            .with_context(|| format!("no account {account:?}"))?;
        let now = self.shared.clock.now();
        let ids = state.write().apply(m, now)?;
        Ok(ids)
    }

    /// Adds a fault to `endpoint` (a name from [`SimHandle::request_counts`], such as
    /// `incremental_tickets_cursor`, or `"*"` for every endpoint).
    pub fn set_fault(&self, endpoint: &str, fault: Fault) {
        lock(&self.shared.faults).add(endpoint, fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Changes how fast simulated time runs (1.0 = real time).
    pub fn set_time_scale(&self, scale: f64) {
        self.shared.clock.set_scale(scale);
    }

    /// Moves simulated time forward by `secs` seconds at once.
    pub fn advance_time(&self, secs: u64) {
        self.shared.clock.advance(secs);
    }

    /// Simulated Unix time in seconds.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Turns rate limiting on (with these budgets) or off (`None`).
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        *lock(&self.shared.rate_limits) = limits;
    }

    /// Enables or disables API token access.
    pub fn set_token_access(&self, enabled: bool) {
        self.shared.token_access.store(enabled, Ordering::Relaxed);
    }

    /// Stops serving and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
