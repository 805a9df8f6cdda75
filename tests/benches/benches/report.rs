//! `report` on the import benchmark's account (every organization a
//! customer, by its domain): how fast customer messages are scored
//! (messages/s, one core), and how long the report takes through the
//! library the first time (every customer message scored and stored) and
//! again (scores reused). With `CONNECTOR_HOST_BIN` (a release
//! `connector-host`) and `OLD_CONNECTOR_HOST_BIN` (one built before
//! sentiment, e.g. from commit 9cb7282), it also times both binaries'
//! whole `report --all` on the same database, one after the other.
//!
//! `IMPORT_TICKETS` (default 100000) sets the size.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use benches::sim::{import_into_sqlite, Setup};
use connector_platform::records::{Account, Message};
use connector_platform::sentiment::stored::is_customer_message;
use connector_platform::sentiment::Scorer;
use connector_platform::store::read;
use connector_platform::window::Range;
use connector_platform::{customers, html, matching, signals, Tombstones};
use connector_store_sqlite::Database;

const ADVICE: signals::Advice<'static> = signals::Advice {
    no_customers: "",
    unattributed: "",
    whole_history: "",
};

/// The library's report: signals, table and page.
fn report(db: &Database) -> (Duration, signals::Signals) {
    let started = Instant::now();
    matching::run(db, "acme").unwrap();
    let s = signals::load(db, "acme", Range::default()).unwrap();
    let text = signals::table(&s, &ADVICE);
    let page = html::page(&s);
    assert!(text.len() > 100 && page.len() > 100);
    (started.elapsed(), s)
}

/// A whole `report` of `bin` on the database, with `args`.
fn command(bin: &str, db: &Path, dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(bin)
        .arg("--db")
        .arg(db)
        .args(["report", "--config", "acme.toml"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn main() {
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
    let dir = tempfile::tempdir().unwrap();
    let (imported, took) = import_into_sqlite(
        &rt,
        &runtime,
        &loaded,
        &sim.client(),
        &sim.config(),
        dir.path(),
    );
    assert!(imported.succeeded(), "{imported:?}");
    sim.stop();
    eprintln!(
        "imported {} records in {:.1}s",
        imported.records(),
        took.as_secs_f64()
    );
    let db_path = dir.path().join("component.db");
    let db = Database::open(&db_path).unwrap();

    let mut csv = String::from("id,name,domains\n");
    for (key, org) in read::<Account>(&db, "acme", Tombstones::Skip).unwrap() {
        let domain = org
            .domains
            .and_then(|d| d.into_iter().next())
            .unwrap_or_default();
        let name = org.name.unwrap_or_default().replace('"', "");
        csv.push_str(&format!("c{key},\"{name}\",{domain}\n"));
    }
    let (list, _) = customers::parse_customers(&csv, "customers.csv").unwrap();
    customers::import(&db, &list).unwrap();

    let bodies: Vec<String> = read::<Message>(&db, "acme", Tombstones::Skip)
        .unwrap()
        .into_iter()
        .filter(|(_, m)| is_customer_message(m))
        .map(|(_, m)| m.body.unwrap_or_default())
        .collect();
    let scorer = Scorer::default();
    std::hint::black_box(scorer.score("warm the lexicons up"));
    let started = Instant::now();
    for body in &bodies {
        std::hint::black_box(scorer.score(body));
    }
    let scoring = started.elapsed();
    let rate = bodies.len() as f64 / scoring.as_secs_f64();
    println!(
        "| scoring | {} customer messages | {:.1} s | {rate:.0} messages/s |",
        bodies.len(),
        scoring.as_secs_f64()
    );

    let (first, s) = report(&db);
    let (again, _) = report(&db);
    println!(
        "| library report, first (scores computed) | {:.1} s | {} customers, model: {} |",
        first.as_secs_f64(),
        s.customers.len(),
        signals::table::model_note(&s.model)
    );
    println!(
        "| library report, again (scores stored) | {:.1} s | {:.2} of the first |",
        again.as_secs_f64(),
        again.as_secs_f64() / first.as_secs_f64()
    );
    eprintln!("peak memory {} MiB", benches::peak_resident_bytes() >> 20);
    drop(db);

    if let (Ok(new), Ok(old)) = (
        std::env::var("CONNECTOR_HOST_BIN"),
        std::env::var("OLD_CONNECTOR_HOST_BIN"),
    ) {
        std::fs::write(
            dir.path().join("acme.toml"),
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\n",
        )
        .unwrap();
        // The old binary has no window: it always covers the whole history.
        let before = command(&old, &db_path, dir.path(), &[]);
        let conn = drop_stored_scores(&db_path);
        let after_first = command(&new, &db_path, dir.path(), &["--all"]);
        let after_again = command(&new, &db_path, dir.path(), &["--all"]);
        println!(
            "| `report`, before (no sentiment) | {:.1} s | 1.00 |",
            before.as_secs_f64()
        );
        println!(
            "| `report --all`, after, first ({conn} stored scores dropped) | {:.1} s | {:.2} |",
            after_first.as_secs_f64(),
            after_first.as_secs_f64() / before.as_secs_f64()
        );
        println!(
            "| `report --all`, after, again | {:.1} s | {:.2} |",
            after_again.as_secs_f64(),
            after_again.as_secs_f64() / before.as_secs_f64()
        );
    }
}

/// Drop the stored scores (so the command scores every message), returning
/// how many there were.
fn drop_stored_scores(db_path: &Path) -> usize {
    let db = Database::open(db_path).unwrap();
    let conn = db.lock();
    conn.execute("DELETE FROM message_sentiment", []).unwrap()
}
