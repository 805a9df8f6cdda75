//! The first import of the import benchmark's account through the Airbyte
//! bridge, next to `sync` into SQLite, one run each on one machine: every
//! message of `airbyte read` written to /dev/null (the bridge in-process,
//! as the binary runs it), and PyAirbyte running the release binary into
//! its DuckDB cache.
//!
//! `IMPORT_TICKETS` (default 100000) sets the size. PyAirbyte runs when
//! `CONNECTOR_HOST_BIN` names a release `connector-host` and
//! `AIRBYTE_PYTHON` a Python with `airbyte` (.ci/run's
//! target/airbyte-venv/bin/python has it).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use benches::sim::{import_into_sqlite, Setup};
use connector_airbyte::protocol::ConfiguredCatalog;
use connector_airbyte::{Captured, Command, Ended, Output, Plugin};
use serde_json::{json, Value};

/// Every stream the bridge discovers, incremental where it can be.
fn catalog(rt: &tokio::runtime::Runtime, plugin: &Plugin, config: &Value) -> ConfiguredCatalog {
    let captured = Captured::default();
    let output = Output::new(Box::new(captured.clone()));
    let discover = Command::Discover {
        config: config.clone(),
    };
    assert!(matches!(
        rt.block_on(connector_airbyte::run(plugin, discover, &output)),
        Ended::Completed
    ));
    let message: Value = serde_json::from_str(&captured.text()).unwrap();
    let streams: Vec<Value> = message["catalog"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(
            |s| json!({"stream": s, "sync_mode": "incremental", "destination_sync_mode": "append"}),
        )
        .collect();
    serde_json::from_value(json!({ "streams": streams })).unwrap()
}

/// Discards messages (as /dev/null would) and measures them: bytes, and
/// the number and largest size of the STATE lines.
#[derive(Clone, Default)]
struct Tally(Arc<std::sync::Mutex<(u64, u64, usize)>>);

impl std::io::Write for Tally {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut tally = self.0.lock().unwrap();
        tally.0 += buf.len() as u64;
        for line in buf.split(|b| *b == b'\n') {
            if line.starts_with(br#"{"type":"STATE""#) {
                tally.1 += 1;
                tally.2 = tally.2.max(line.len());
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let Some(Setup {
        sim,
        rt,
        cache,
        runtime,
        loaded,
    }) = Setup::start()
    else {
        return;
    };
    let tickets = sim.settings.tickets;
    let resolve = sim.resolve();
    let client = sim.client();
    let config = sim.config();
    let mut rows = Vec::new();

    let dir = tempfile::tempdir().unwrap();
    let (report, took) = import_into_sqlite(&rt, &runtime, &loaded, &client, &config, dir.path());
    assert!(report.succeeded(), "{report:?}");
    let sqlite_rate = report.records() as f64 / took.as_secs_f64();
    eprintln!(
        "sqlite: {} records in {:.1}s, peak memory {} MiB",
        report.records(),
        took.as_secs_f64(),
        benches::peak_resident_bytes() >> 20
    );
    rows.push(format!(
        "| `sync` into SQLite | {} | {:.1} s | {sqlite_rate:.0} | 1.00 |",
        report.records(),
        took.as_secs_f64()
    ));

    let plugin = Plugin {
        runtime: runtime.clone(),
        loaded: loaded.clone(),
        client: client.clone(),
    };
    let catalog_ = catalog(&rt, &plugin, &config);
    let tally = Tally::default();
    let output = Output::new(Box::new(tally.clone()));
    let started = Instant::now();
    let read = Command::Read {
        config: config.clone(),
        catalog: catalog_,
        states: Vec::new(),
        options: Default::default(),
    };
    assert!(matches!(
        rt.block_on(connector_airbyte::run(&plugin, read, &output)),
        Ended::Completed
    ));
    let took = started.elapsed();
    let (bytes, states, largest) = *tally.0.lock().unwrap();
    eprintln!(
        "airbyte read: {:.1}s, peak memory {} MiB, {} MiB of messages, {states} states, the largest {largest} bytes",
        took.as_secs_f64(),
        benches::peak_resident_bytes() >> 20,
        bytes >> 20
    );
    // The same records as the SQLite import: the bridge drops none.
    let rate = report.records() as f64 / took.as_secs_f64();
    rows.push(format!(
        "| `airbyte read` to /dev/null | {} | {:.1} s | {rate:.0} | {:.2} |",
        report.records(),
        took.as_secs_f64(),
        rate / sqlite_rate
    ));

    if let (Ok(bin), Ok(python)) = (
        std::env::var("CONNECTOR_HOST_BIN"),
        std::env::var("AIRBYTE_PYTHON"),
    ) {
        let work = tempfile::tempdir().unwrap();
        let executable = work.path().join("source-connector-host");
        std::fs::write(
            &executable,
            format!(
                "#!/bin/sh\nexec '{bin}' --cache-dir '{}' --resolve '{resolve}' --ca-cert '{}' airbyte \"$@\"\n",
                cache.path().display(),
                sim.ca
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &executable,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let config_file = work.path().join("config.json");
        // In the shape `airbyte spec` publishes (PyAirbyte validates it).
        let airbyte_config = json!({
            "subdomain": "acme",
            "credentials": {"auth_type": "api_token", "email": sim.email, "api_token": sim.token},
        });
        std::fs::write(&config_file, airbyte_config.to_string()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../airbyte/pyairbyte_read.py");
        let started = Instant::now();
        let out = std::process::Command::new(python)
            .arg(script)
            .arg(&config_file)
            .arg(&executable)
            .arg(work.path().join("cache.duckdb"))
            .current_dir(work.path())
            .output()
            .unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        let processed = result["processed"].as_u64().unwrap();
        let rate = processed as f64 / took.as_secs_f64();
        rows.push(format!(
            "| PyAirbyte into DuckDB (check, discover, read, cache) | {processed} | {:.1} s | {rate:.0} | {:.2} |",
            took.as_secs_f64(),
            rate / sqlite_rate
        ));
    } else {
        eprintln!("PyAirbyte skipped: set CONNECTOR_HOST_BIN and AIRBYTE_PYTHON");
    }
    sim.stop();
    println!("| first import, {tickets} tickets | records | time | records/s | vs SQLite |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
