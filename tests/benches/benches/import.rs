//! Figures of the sync engine: a full first import of a large simulated
//! account (rate limits off, simulator on loopback in a separate process)
//! into SQLite — records per second, the host's peak memory, API requests
//! against the minimum the endpoints allow — and the same import with the
//! connector linked natively instead of as a component.
//!
//! `IMPORT_TICKETS` (default 100000) and `IMPORT_RUNS` (default 3) change
//! the size and the number of runs of each variant.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::native::NativeSource;
use benches::peak_resident_bytes;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::ConnectionRecipe;
use connector_runtime::{ConnectionSettings, Limits, Runtime};
use connector_store_sqlite::Database;
use connector_store_sqlite::RecordStore;
use connector_sync::{self as sync, SourceFactory, SyncOptions, SyncReport};
use serde_json::json;
use zendesk_sim::SimConfig;

fn sim_config(tickets: usize, epoch: Option<i64>) -> SimConfig {
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

/// The child process: serve the simulator until standard input closes.
fn serve(tickets: usize, epoch: i64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sim = zendesk_sim::Simulator::start_settled(sim_config(tickets, Some(epoch)))
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
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let tickets: usize = std::env::var("IMPORT_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("IMPORT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    if let Ok(epoch) = std::env::var("IMPORT_BENCH_SIM_EPOCH") {
        return serve(tickets, epoch.parse().unwrap());
    }
    // The parent's ground truth and the child's simulator share one epoch.
    let sim_settings = sim_config(tickets, None).behind_real_time();
    let epoch = sim_settings.epoch.expect("set behind real time");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("IMPORT_BENCH_SIM_EPOCH", epoch.to_string())
        .env("IMPORT_TICKETS", tickets.to_string())
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
    let (addr, ca, email, token) = (parts[1], parts[2], parts[3], parts[4]);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        Arc::new(Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap());
    let loaded = runtime
        .load(connector_host::context::builtin_zendesk())
        .unwrap();
    let client = Arc::new(
        HttpsClient::new(NetworkOptions {
            resolve: ResolveOverrides::parse(&[format!("acme.zendesk.com:443:{addr}")]).unwrap(),
            extra_ca_pem: std::fs::read(ca).unwrap(),
            ..NetworkOptions::default()
        })
        .unwrap(),
    );
    let config = json!({"subdomain": "acme", "email": email, "api_token": token});

    let import_component = |dir: &std::path::Path| -> (SyncReport, Duration) {
        let db = Database::open(&dir.join("component.db")).unwrap();
        let recipe = Arc::new(ConnectionRecipe {
            runtime: runtime.clone(),
            loaded: loaded.clone(),
            client: client.clone(),
            settings: ConnectionSettings {
                name: "acme".into(),
                config: config.clone(),
                auth_scheme: Some("api_token".into()),
                stores: connector_runtime::HostStores::new(db.clone()),
                storage_quota: StorageQuota::default(),
                log_limits: LogLimits::default(),
                shared: Default::default(),
            },
        });
        rt.block_on(async {
            let started = Instant::now();
            let mut first = recipe.open().await.unwrap();
            let streams = sync::plan(&first.discover().await.unwrap(), &[]).unwrap();
            drop(first);
            let report = sync::run(
                connector_sync::connection_factory(recipe.clone()),
                streams,
                RecordStore::new(db, "acme"),
                SyncOptions::default(),
                Arc::new(|_| {}),
            )
            .await;
            (report, started.elapsed())
        })
    };
    let import_native = |dir: &std::path::Path| -> (SyncReport, Duration) {
        let db = Database::open(&dir.join("native.db")).unwrap();
        rt.block_on(async {
            let started = Instant::now();
            let (db2, config2, client2) = (db.clone(), config.clone(), client.clone());
            let open: SourceFactory<NativeSource> = Arc::new(move || {
                let source = NativeSource::open(&db2, "acme", &config2, client2.clone());
                Box::pin(async move { source })
            });
            // The same streams, discovered by the component.
            let mut first = ConnectionRecipe {
                runtime: runtime.clone(),
                loaded: loaded.clone(),
                client: client.clone(),
                settings: ConnectionSettings {
                    name: "discover".into(),
                    config: config.clone(),
                    auth_scheme: Some("api_token".into()),
                    stores: connector_runtime::HostStores::new(Database::in_memory().unwrap()),
                    storage_quota: StorageQuota::default(),
                    log_limits: LogLimits::default(),
                    shared: Default::default(),
                },
            }
            .open()
            .await
            .unwrap();
            let streams = sync::plan(&first.discover().await.unwrap(), &[]).unwrap();
            drop(first);
            let report = sync::run(
                open,
                streams,
                RecordStore::new(db, "acme"),
                SyncOptions::default(),
                Arc::new(|_| {}),
            )
            .await;
            (report, started.elapsed())
        })
    };

    let mut component_times = Vec::new();
    let mut native_times = Vec::new();
    let mut peak = 0;
    let mut last: Option<SyncReport> = None;
    for run in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let (report, elapsed) = import_component(dir.path());
        assert!(report.succeeded(), "{report:?}");
        if run == 0 {
            peak = peak_resident_bytes();
        }
        component_times.push(elapsed);
        eprintln!(
            "component run {run}: {} records in {:.2}s",
            report.records(),
            elapsed.as_secs_f64()
        );
        eprint!("{}", connector_host::progress::summary(&report));
        for s in &report.streams {
            eprintln!(
                "{}: fetching {:.2}s, mapping {:.2}s, storing {:.2}s",
                s.stream,
                s.fetching.as_secs_f64(),
                s.mapping.as_secs_f64(),
                s.storing.as_secs_f64()
            );
        }
        let (native, native_elapsed) = import_native(dir.path());
        assert!(native.succeeded(), "{native:?}");
        assert_eq!(native.records(), report.records());
        native_times.push(native_elapsed);
        eprintln!(
            "native run {run}: {} records in {:.2}s",
            native.records(),
            native_elapsed.as_secs_f64()
        );
        last = Some(report);
    }
    drop(child.stdin.take());
    let _ = child.wait();

    let report = last.unwrap();
    let component = median(component_times);
    let native = median(native_times);
    let truth = &zendesk_sim::ground_truth(&sim_settings)["acme"];
    let pages = |n: usize, size: usize| n.div_ceil(size) as u64;
    let minimum = pages(truth.tickets.versions.len(), 1000)
        + pages(truth.users.versions.len(), 1000)
        + pages(truth.organizations.versions.len(), 1000)
        + pages(truth.comments.versions.len(), 1000)
        + pages(truth.satisfaction_ratings.versions.len(), 100)
        + 4; // ticket fields, brands, groups, tags: one page each
    let requests: u64 = report.streams.iter().map(|s| s.requests).sum();
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| first import, {tickets} tickets: records | {} | |",
        report.records()
    );
    println!(
        "| first import through the component (median of {runs}) | {:.2} s, {:.0} records/s | ≥ 25,000 records/s |",
        component.as_secs_f64(),
        report.records() as f64 / component.as_secs_f64()
    );
    println!(
        "| peak memory of the host process (VmHWM) | {:.0} MiB | < 200 MiB |",
        peak as f64 / (1 << 20) as f64
    );
    println!(
        "| API requests / minimum the endpoints allow | {requests} / {minimum} = {:.3} | ≤ 1.05 |",
        requests as f64 / minimum as f64
    );
    println!(
        "| the same import with the connector linked natively (median of {runs}) | {:.2} s | |",
        native.as_secs_f64()
    );
    println!(
        "| component / native | {:.2} | ≤ 1.3 |",
        component.as_secs_f64() / native.as_secs_f64()
    );
}
