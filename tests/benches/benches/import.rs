//! Figures of the sync engine: a full first import of a large simulated
//! account (rate limits off, simulator on loopback in a separate process)
//! into SQLite — records per second, the host's peak memory, API requests
//! against the minimum the endpoints allow — and the same import with the
//! connector linked natively instead of as a component.
//!
//! `IMPORT_TICKETS` (default 100000) and `IMPORT_RUNS` (default 3) change
//! the size and the number of runs of each variant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::native::NativeSource;
use benches::sim::{env_or, import_into_sqlite, settings, Setup};
use benches::{median, peak_resident_bytes};
use connector_runtime::ConnectionRecipe;
use connector_store_sqlite::Database;
use connector_store_sqlite::RecordStore;
use connector_sync::{self as sync, SourceFactory, SyncOptions, SyncReport};

fn main() {
    let runs = env_or("IMPORT_RUNS", 3);
    let Some(Setup {
        sim,
        rt,
        cache: _cache,
        runtime,
        loaded,
    }) = Setup::start()
    else {
        return;
    };
    let tickets = sim.settings.tickets;
    let client = sim.client();
    let config = sim.config();

    let import_component =
        |dir: &std::path::Path| import_into_sqlite(&rt, &runtime, &loaded, &client, &config, dir);
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
                settings: settings(
                    "discover",
                    connector_runtime::HostStores::new(Database::in_memory().unwrap()),
                    &config,
                ),
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
    let sim_settings = sim.settings.clone();
    sim.stop();

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
