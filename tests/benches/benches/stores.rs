//! The first import of the import benchmark's account (simulator on
//! loopback in a separate process, rate limits off) into SQLite and into
//! PostgreSQL, alternating in one session: records per second on each and
//! their ratio (target: PostgreSQL ≥ 0.7 × SQLite).
//!
//! PostgreSQL is the server `CONNECTOR_HOST_TEST_POSTGRES` names (each run
//! gets a new database on it), else a throw-away cluster of the tests'
//! (fsync off, so give a server for figures). `IMPORT_TICKETS` (default
//! 100000) and `STORES_RUNS` (default 3) change the size and the runs.

use std::time::Duration;

use benches::median;
use benches::sim::{env_or, import_into, Setup};
use connector_host::store::Store;
use connector_store_tests::postgres::TestDatabase;

/// A number the PostgreSQL store's server answers (`SELECT ...::bigint`).
fn server_number(store: &Store, query: &'static str) -> i64 {
    let Store::Postgres(db) = store else {
        panic!("not a PostgreSQL store")
    };
    db.blocking(move |client| async move {
        let row = client
            .query_one(query, &[])
            .await
            .map_err(|e| connector_runtime::ConnectorError::Internal(e.to_string()))?;
        Ok::<i64, connector_runtime::ConnectorError>(row.get(0))
    })
    .unwrap()
}

/// Where the server's write-ahead log is, in bytes.
const WAL_POSITION: &str = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";
/// The database's size on disk, in bytes.
const DATABASE_SIZE: &str = "SELECT pg_database_size(current_database())";

fn main() {
    let runs = env_or("STORES_RUNS", 3);
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
    let import = |store: &Store| import_into(&rt, &runtime, &loaded, &client, &config, store);

    let (mut sqlite_times, mut postgres_times) = (Vec::new(), Vec::new());
    let mut records = 0;
    let (mut wal, mut sizes) = (Vec::new(), (0, 0));
    for run in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stores.db");
        let sqlite = Store::open(&file.display().to_string()).unwrap();
        let (report, elapsed) = import(&sqlite);
        assert!(report.succeeded(), "{report:?}");
        let files = ["", "-wal"].map(|suffix| {
            let path = format!("{}{suffix}", file.display());
            std::fs::metadata(path).map_or(0, |m| m.len())
        });
        sizes.0 = files.iter().sum::<u64>();
        records = report.records();
        sqlite_times.push(elapsed);
        eprintln!(
            "sqlite run {run}: {records} records in {:.2}s",
            elapsed.as_secs_f64()
        );

        let database = TestDatabase::new();
        let postgres = Store::open(&database.url()).unwrap();
        let wal_before = server_number(&postgres, WAL_POSITION);
        let (report, elapsed) = import(&postgres);
        assert!(report.succeeded(), "{report:?}");
        wal.push(server_number(&postgres, WAL_POSITION) - wal_before);
        sizes.1 = server_number(&postgres, DATABASE_SIZE) as u64;
        assert_eq!(
            report.records(),
            records,
            "both stores write the same records"
        );
        postgres_times.push(elapsed);
        eprintln!(
            "postgres run {run}: {} records in {:.2}s",
            report.records(),
            elapsed.as_secs_f64()
        );
        for s in &report.streams {
            eprintln!(
                "  {}: fetching {:.2}s, mapping {:.2}s, storing {:.2}s",
                s.stream,
                s.fetching.as_secs_f64(),
                s.mapping.as_secs_f64(),
                s.storing.as_secs_f64()
            );
        }
    }
    sim.stop();

    let rate = |times: &[Duration]| records as f64 / median(times.to_vec()).as_secs_f64();
    let (sqlite, postgres) = (rate(&sqlite_times), rate(&postgres_times));
    let runs_of = |times: &[Duration]| {
        let text: Vec<String> = times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect();
        text.join(", ")
    };
    println!("| first import, {tickets} tickets, {records} records (median of {runs}) | SQLite | PostgreSQL |");
    println!("|---|---|---|");
    println!(
        "| runs (s) | {} | {} |",
        runs_of(&sqlite_times),
        runs_of(&postgres_times)
    );
    println!("| records/s | {sqlite:.0} | {postgres:.0} |");
    println!(
        "| PostgreSQL / SQLite | | {:.2} (target ≥ 0.7) |",
        postgres / sqlite
    );
    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    println!(
        "| size on disk (last run) | {:.0} MiB | {:.0} MiB |",
        mib(sizes.0),
        mib(sizes.1)
    );
    wal.sort();
    println!(
        "| WAL written by the import (median) | | {:.0} MiB |",
        mib(wal[wal.len() / 2] as u64)
    );
}
