//! Embedding the host in a platform: what a platform engineer writes to run
//! a connector component (here the Zendesk connector, built from source)
//! with credentials the host injects, and to sync a stream into the
//! platform's own storage through a [`Sink`] of its own. No CLI, no SQLite.
//!
//! Run it with `cargo run -p connector-tests --example embed`. Zendesk is
//! not reachable from here, so the project's simulator stands in for it on
//! loopback; a real platform leaves out the simulator, the `--resolve` pin
//! and the extra CA.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

use connector_runtime::contract::NormalizedRecord;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{
    ConnectionRecipe, ConnectionSettings, ConnectorError, HostStores, Limits, Runtime,
};
use connector_sync::{PageCommit, Sink, SyncOptions};
use serde_json::json;

/// The platform's storage: records by (kind, key) and each stream's
/// cursor, updated together under one lock, as a database transaction
/// would.
#[derive(Clone, Default)]
struct MemorySink(Arc<Mutex<Committed>>);

#[derive(Default)]
struct Committed {
    records: BTreeMap<(String, String), NormalizedRecord>,
    cursors: BTreeMap<String, Option<String>>,
}

impl MemorySink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Committed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for MemorySink {
    async fn cursor(&self, stream: &str) -> Result<Option<String>, ConnectorError> {
        Ok(self.lock().cursors.get(stream).cloned().flatten())
    }

    async fn commit_page(&self, page: PageCommit) -> Result<u64, ConnectorError> {
        let mut committed = self.lock();
        let mut written = 0;
        for record in page.records.into_iter().flat_map(|(_raw, mapped)| mapped) {
            committed
                .records
                .insert((record.kind.clone(), record.key.clone()), record);
            written += 1;
        }
        committed.cursors.insert(page.stream, page.cursor);
        Ok(written)
    }

    async fn record_failure(&self, stream: &str, message: &str) -> Result<(), ConnectorError> {
        eprintln!("{stream} failed: {message}");
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The stand-in for https://acme.zendesk.com.
    let sim = zendesk_sim::Simulator::start_settled(zendesk_sim::SimConfig {
        tickets: 300,
        ..zendesk_sim::SimConfig::default()
    })
    .await?;
    let admin = sim.admin_credentials("acme");

    // One runtime per process: the engine, its limits, the compile cache.
    let runtime = Arc::new(Runtime::new(Limits::default(), None)?);
    let component = runtime.load(&std::fs::read(env!("GUEST_ZENDESK"))?)?;
    let client = Arc::new(HttpsClient::new(NetworkOptions {
        resolve: ResolveOverrides::parse(&[format!("acme.zendesk.com:443:{}", sim.https_addr())])?,
        extra_ca_pem: sim.ca_cert_pem().into_bytes(),
        ..NetworkOptions::default()
    })?);

    // One connection: the connector sees "<secret>" in place of the token;
    // the host adds the Authorization header to requests to acme.zendesk.com.
    let recipe = Arc::new(ConnectionRecipe {
        runtime,
        loaded: component,
        client,
        settings: ConnectionSettings {
            name: "acme".into(),
            config: json!({
                "subdomain": "acme",
                "email": admin.email,
                "api_token": admin.api_token,
            }),
            auth_scheme: Some("api_token".into()),
            // The connector's own storage and rotated OAuth tokens; a
            // platform passes its database's implementation of the traits.
            stores: HostStores::in_memory(),
            storage_quota: Default::default(),
            log_limits: Default::default(),
            shared: Default::default(),
        },
    });
    let mut connection = recipe.open().await?;
    let warnings = connection.check().await?;
    let streams = connector_sync::plan(&connection.discover().await?, &["tickets".into()])?;
    drop(connection);

    let sink = MemorySink::default();
    let report = connector_sync::run(
        connector_sync::connection_factory(recipe),
        streams,
        sink.clone(),
        SyncOptions::default(),
        Arc::new(|_event| {}),
    )
    .await;

    let committed = sink.lock();
    // Deleted tickets arrive as tombstones (`deleted`), not as conversations.
    let conversations = committed
        .records
        .values()
        .filter(|r| r.kind == "conversation" && !r.deleted)
        .count();
    let expected = sim.ground_truth("acme").tickets.live().len();
    println!(
        "synced {} streams ({} warnings from check): {} records, {conversations} conversations \
         of the {expected} tickets the account has",
        report.streams.len(),
        warnings.len(),
        report.records(),
    );
    if !report.succeeded() || conversations != expected {
        return Err("the embedded sync did not bring every ticket".into());
    }
    Ok(())
}
