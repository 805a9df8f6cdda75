//! Figures of the foundation (issue: contract and sandboxed host):
//! compiling vs starting from the compile cache, a new instance per
//! connection, memory per idle connection, and a `map-record` round trip
//! of a 2 KB ticket through the component vs the same Rust function
//! called natively. Prints one table; every figure is a median.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::{median_per_op, resident_bytes, ticket_2kb};
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{Connection, ConnectionSettings, Limits, Runtime};
use connector_store_sqlite::Database;
use serde_json::json;
use zendesk_connector::{MemoryStorage, NativeConnector};

fn settings(name: &str, db: &Database) -> ConnectionSettings {
    ConnectionSettings {
        name: name.into(),
        config: json!({"subdomain": "acme", "email": "admin@acme.test", "api_token": "bench-token"}),
        auth_scheme: Some("api_token".into()),
        stores: connector_runtime::HostStores::new(db.clone()),
        storage_quota: StorageQuota::default(),
        log_limits: LogLimits::default(),
        shared: Default::default(),
    }
}

fn row(what: &str, value: String, target: &str) {
    println!("| {what} | {value} | {target} |");
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bytes = connector_host::context::builtin_zendesk();
    let cache = tempfile::tempdir().unwrap();

    println!("| figure | median | target |");
    println!("|---|---|---|");

    // Compiling from scratch (no cache).
    let uncached = Runtime::new(Limits::default(), None).unwrap();
    let compile = median_per_op(5, 1, || {
        uncached.load(bytes).unwrap();
    });
    row(
        "compile the Zendesk component from scratch",
        format!("{:.1} ms", ms(compile)),
        "(~200 ms)",
    );

    // Starting from the compile cache: a new engine, then the load.
    Runtime::new(Limits::default(), Some(cache.path().to_path_buf()))
        .unwrap()
        .load(bytes)
        .unwrap();
    let start = median_per_op(21, 1, || {
        let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
        let loaded = runtime.load(bytes).unwrap();
        assert!(loaded.from_cache);
    });
    row(
        "start from the compile cache (engine + load)",
        format!("{:.2} ms", ms(start)),
        "< 5 ms",
    );

    let runtime = Runtime::new(Limits::default(), Some(cache.path().to_path_buf())).unwrap();
    let loaded = runtime.load(bytes).unwrap();
    let client = Arc::new(HttpsClient::new(NetworkOptions::default()).unwrap());
    let db = Database::in_memory().unwrap();

    // A new instance per connection (instantiate + the spec call).
    let instance = rt.block_on(async {
        let settings = settings("bench", &db);
        let mut samples = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let connection = Connection::instantiated(&runtime, &loaded, client.clone(), &settings)
                .await
                .unwrap();
            samples.push(t.elapsed());
            drop(connection);
        }
        samples.sort();
        samples[samples.len() / 2]
    });
    row(
        "new instance per connection (instantiate + spec)",
        format!("{:.1} µs", us(instance)),
        "< 100 µs",
    );

    // Memory per idle, configured connection.
    let idle = rt.block_on(async {
        let before = resident_bytes();
        let mut connections = Vec::new();
        for i in 0..200 {
            connections.push(
                Connection::open(
                    &runtime,
                    &loaded,
                    client.clone(),
                    settings(&format!("c{i}"), &db),
                )
                .await
                .unwrap(),
            );
        }
        let after = resident_bytes();
        let per = (after.saturating_sub(before)) / connections.len() as u64;
        drop(connections);
        per
    });
    row(
        "memory per idle connection (RSS / 200)",
        format!("{:.2} MiB", idle as f64 / (1 << 20) as f64),
        "< 2 MiB",
    );

    // map-record: component vs native, same record, same function.
    let ticket = ticket_2kb();
    let (component, native) = rt.block_on(async {
        let mut connection =
            Connection::open(&runtime, &loaded, client.clone(), settings("map", &db))
                .await
                .unwrap();
        let mut native = NativeConnector::new(MemoryStorage::default());
        native
            .configure(
                &settings("map", &db)
                    .config
                    .to_string()
                    .replace("bench-token", "<secret>"),
                "api_token",
            )
            .unwrap();
        // Same output both ways.
        let a = connection.map_record("tickets", &ticket).await.unwrap();
        let b = native.map_record("tickets", &ticket).unwrap();
        assert_eq!(a.len(), b.len());
        assert_eq!(a[0].data, b[0].data);
        let mut component_samples = Vec::new();
        let mut native_samples = Vec::new();
        // Interleaved batches, so both sides see the same machine noise.
        for _ in 0..31 {
            let t = Instant::now();
            for _ in 0..500 {
                connection.map_record("tickets", &ticket).await.unwrap();
            }
            component_samples.push(t.elapsed() / 500);
            let t = Instant::now();
            for _ in 0..500 {
                std::hint::black_box(
                    native
                        .map_record("tickets", std::hint::black_box(&ticket))
                        .unwrap(),
                );
            }
            native_samples.push(t.elapsed() / 500);
        }
        component_samples.sort();
        native_samples.sort();
        // The fixed cost of a call: a tiny record of another stream, both ways.
        let tiny = r#"{"name":"vip","count":3}"#;
        let mut tiny_component = Vec::new();
        let mut tiny_native = Vec::new();
        for _ in 0..31 {
            let t = Instant::now();
            for _ in 0..500 {
                connection.map_record("tags", tiny).await.unwrap();
            }
            tiny_component.push(t.elapsed() / 500);
            let t = Instant::now();
            for _ in 0..500 {
                std::hint::black_box(
                    native
                        .map_record("tags", std::hint::black_box(tiny))
                        .unwrap(),
                );
            }
            tiny_native.push(t.elapsed() / 500);
        }
        tiny_component.sort();
        tiny_native.sort();
        row(
            "map-record of a tiny tag record, component (call overhead)",
            format!("{:.2} µs", us(tiny_component[15])),
            "",
        );
        row(
            "map-record of a tiny tag record, native",
            format!("{:.2} µs", us(tiny_native[15])),
            "",
        );
        // What the 2 KB ticket costs beyond a tiny record: the mapping work
        // itself, without the fixed cost of a call (what batching could
        // never remove).
        let marginal_component = component_samples[15].saturating_sub(tiny_component[15]);
        let marginal_native = native_samples[15].saturating_sub(tiny_native[15]);
        row(
            "ratio of the mapping work alone (2 KB minus tiny), component / native",
            format!(
                "{:.2}",
                marginal_component.as_secs_f64() / marginal_native.as_secs_f64()
            ),
            "",
        );
        (component_samples[15], native_samples[15])
    });
    row(
        "map-record of a 2 KB ticket, component",
        format!("{:.1} µs", us(component)),
        "",
    );
    row(
        "map-record of a 2 KB ticket, native",
        format!("{:.1} µs", us(native)),
        "",
    );
    row(
        "ratio component / native",
        format!("{:.2}", component.as_secs_f64() / native.as_secs_f64()),
        "≤ 1.5",
    );
    row(
        "mapping throughput inside the component",
        format!("{:.0} tickets/s", 1.0 / component.as_secs_f64()),
        "≥ 50,000 tickets/s",
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
