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

use benches::sim::{env_or, import_into, Setup};
use connector_host::store::Store;
use connector_store_tests::postgres::TestDatabase;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

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
    for run in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open(&dir.path().join("stores.db").display().to_string()).unwrap();
        let (report, elapsed) = import(&sqlite);
        assert!(report.succeeded(), "{report:?}");
        records = report.records();
        sqlite_times.push(elapsed);
        eprintln!("sqlite run {run}: {records} records in {:.2}s", elapsed.as_secs_f64());

        let database = TestDatabase::new();
        let postgres = Store::open(&database.url()).unwrap();
        let (report, elapsed) = import(&postgres);
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(report.records(), records, "both stores write the same records");
        postgres_times.push(elapsed);
        eprintln!("postgres run {run}: {} records in {:.2}s", report.records(), elapsed.as_secs_f64());
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
        let text: Vec<String> = times.iter().map(|t| format!("{:.2}", t.as_secs_f64())).collect();
        text.join(", ")
    };
    println!("| first import, {tickets} tickets, {records} records (median of {runs}) | SQLite | PostgreSQL |");
    println!("|---|---|---|");
    println!("| runs (s) | {} | {} |", runs_of(&sqlite_times), runs_of(&postgres_times));
    println!("| records/s | {sqlite:.0} | {postgres:.0} |");
    println!("| PostgreSQL / SQLite | | {:.2} (target ≥ 0.7) |", postgres / sqlite);
}
