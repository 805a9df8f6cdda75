//! `connector-host demo`: a full sync of a simulated Zendesk account, with
//! no account and no network: the project's Zendesk simulator runs
//! in-process on loopback and the built-in connector syncs it.

use std::sync::Arc;

use serde_json::json;

use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{ConnectionRecipe, ConnectionSettings, ConnectorError};
use connector_sync::SyncOptions;

use crate::context::Context;

/// The demo connection's name in the database.
pub const DEMO_CONNECTION: &str = "demo-acme";

/// Run the demo with a simulated account of `tickets` tickets.
pub async fn run(context: &Context, tickets: usize) -> Result<(), ConnectorError> {
    let sim_config = zendesk_sim::SimConfig {
        tickets,
        users: (tickets / 4).max(20),
        organizations: (tickets / 40).max(5),
        history_days: 60,
        ..zendesk_sim::SimConfig::default()
    };
    let sim = zendesk_sim::Simulator::start(sim_config)
        .await
        .map_err(|e| ConnectorError::Io {
            what: "cannot start the Zendesk simulator".into(),
            source: std::io::Error::other(format!("{e:#}")).into(),
        })?;
    eprintln!(
        "Zendesk simulator: account `acme` with {tickets} tickets on https://{} (as https://acme.zendesk.com)",
        sim.https_addr()
    );
    let admin = sim.admin_credentials("acme");
    let client = Arc::new(HttpsClient::new(NetworkOptions {
        resolve: ResolveOverrides::parse(&[format!("acme.zendesk.com:443:{}", sim.https_addr())])
            .expect("a valid pin"),
        extra_ca_pem: sim.ca_cert_pem().into_bytes(),
        ..NetworkOptions::default()
    })?);
    let recipe = Arc::new(ConnectionRecipe {
        runtime: context.host.runtime.clone(),
        loaded: context
            .host
            .load(&crate::connection_file::Plugin::BuiltinZendesk)?,
        client,
        settings: ConnectionSettings {
            name: DEMO_CONNECTION.into(),
            config: json!({
                "subdomain": "acme",
                "email": admin.email,
                "api_token": admin.api_token,
            }),
            auth_scheme: Some("api_token".into()),
            stores: context.stores()?,
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        },
    });
    // Every demo starts from scratch: the simulated account is new each time.
    let store = context.db.records(DEMO_CONNECTION);
    store.delete_connection()?;
    let report = crate::context::sync_once(
        &context.db,
        &recipe,
        &SyncOptions::default(),
        &Default::default(),
    )
    .await?;
    print!("{}", crate::progress::summary(&report));
    println!();
    print!("{}", crate::report::status(store.as_ref())?);
    let requests: u64 = sim.request_counts().values().sum();
    println!(
        "\n{} records in {:.1}s ({:.0} records/s), {requests} API requests. Database: {}",
        report.records(),
        report.duration.as_secs_f64(),
        report.records() as f64 / report.duration.as_secs_f64().max(1e-9),
        context.db.describe()
    );
    match context.db.sqlite_path() {
        Some(path) => println!(
            "Try: sqlite3 {} \"SELECT json_extract(data, '$.subject') FROM records WHERE kind = 'conversation' LIMIT 5\"",
            path.display()
        ),
        None => println!(
            "Try, in psql on that database: SELECT data->>'subject' FROM records WHERE kind = 'conversation' LIMIT 5;"
        ),
    }
    sim.shutdown().await;
    if report.succeeded() {
        Ok(())
    } else {
        Err(ConnectorError::Transient(
            "the demo sync did not finish every stream (see above)".into(),
        ))
    }
}
