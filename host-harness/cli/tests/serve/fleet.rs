//! The fleet's figures, measured by hand (BENCHMARKS.md), in a release build:
//!
//! ```text
//! CONNECTOR_HOST_TEST_POSTGRES=... cargo test --release -p connector-host --test serve \
//!     -- --ignored fleet_figures --nocapture
//! ```
//!
//! `FLEET_ACCOUNTS` accounts (default 200) in five simulators of 1,000,
//! 2,000, 3,000, 4,000 and 5,000 tickets an account, `FLEET_PROCESSES`
//! `serve` processes (default 3) on one PostgreSQL database. One process is
//! killed with `kill -9` once a third of the accounts are imported. When
//! all are, every account is checked against its ground truth; then 1% of
//! each account's tickets change, every connection is made due (the hour
//! passes), and the round of incremental syncs is timed and checked too.

use std::time::Instant;

use super::*;

/// Tickets an account, one simulator each.
const SIZES: [usize; 5] = [1000, 2000, 3000, 4000, 5000];

/// A number from the environment, else `default`.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?}")))
        .unwrap_or(default)
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// A number the database answers.
async fn number(db: &Database, query: &'static str) -> i64 {
    db.spawn(move |client| async move {
        client
            .query_one(query, &[])
            .await
            .map(|row| row.get(0))
            .map_err(host_error)
    })
    .await
    .unwrap()
}

/// How many of `accounts` have a sync that succeeded after `since` (Unix ms).
async fn synced_since(schedule: &Schedule, accounts: &[String], since: i64) -> usize {
    let runs = schedule.runs().await.unwrap();
    accounts
        .iter()
        .filter(|account| {
            runs.iter().any(|r| {
                &r.connection == *account
                    && r.started_at >= since
                    && r.outcome.as_deref() == Some("succeeded")
            })
        })
        .count()
}

/// Every account's records against its simulator's ground truth; panics
/// naming the first that differs.
fn check(db: &Database, sims: &[(SimHandle, FirstImport)]) {
    for (sim, first_import) in sims {
        for account in sim.accounts() {
            let stored = connector_store_postgres::RecordStore::new(db.clone(), &account);
            let truth = sim.ground_truth(&account);
            assert_clean(&tally(&stored, &truth, Expect::Everything(*first_import)));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "figures measured by hand in a release build; see the module's documentation"]
async fn fleet_figures() {
    let accounts_wanted = env_number("FLEET_ACCOUNTS", 200);
    let processes = env_number("FLEET_PROCESSES", 3);
    let mut sims = Vec::new();
    for (index, tickets) in SIZES.into_iter().enumerate() {
        let count = accounts_wanted / SIZES.len() + usize::from(index < accounts_wanted % 5);
        let sim = Simulator::start_settled(SimConfig {
            seed: index as u64 + 1,
            tickets,
            users: tickets / 5,
            organizations: tickets / 100,
            history_days: 60,
            accounts: (0..count).map(|i| format!("t{tickets}n{i:03}")).collect(),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let first_import = FirstImport::from_now(&sim);
        sims.push((sim, first_import));
    }
    let handles: Vec<&SimHandle> = sims.iter().map(|(sim, _)| sim).collect();
    let accounts: Vec<String> = handles.iter().flat_map(|sim| sim.accounts()).collect();
    let tickets: usize = handles
        .iter()
        .map(|sim| sim.accounts().len())
        .zip(SIZES)
        .map(|(n, size)| n * size)
        .sum();
    eprintln!(
        "{} accounts, {tickets} tickets, {processes} processes",
        accounts.len()
    );

    let test_db = TestDatabase::new();
    let work = tempfile::tempdir().unwrap();
    let ca = work.path().join("ca.pem");
    let bundle: String = handles.iter().map(|sim| sim.ca_cert_pem()).collect();
    std::fs::write(&ca, bundle).unwrap();
    let folder = work.path().join("connections");
    std::fs::create_dir(&folder).unwrap();
    for sim in &handles {
        for account in sim.accounts() {
            write_connection_file(sim, &folder, &account);
        }
    }
    let command = |args: &[&str]| host_of(&handles, &ca, &test_db, work.path(), args);
    let warm = command(&["spec"]).output().unwrap();
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );

    let db = Database::connect(&test_db.url()).unwrap();
    let schedule = Schedule::new(db.clone(), "figures");
    let logs: Vec<PathBuf> = (0..processes)
        .map(|i| work.path().join(format!("serve-{i}.log")))
        .collect();
    let started = Instant::now();
    let since = number(&db, "SELECT fleet_now_ms()").await;
    let mut serving: Vec<Child> = logs
        .iter()
        .map(|log| {
            command(&[
                "serve",
                "--connections",
                folder.to_str().unwrap(),
                "--lease-ttl",
                "10s",
            ])
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
        })
        .collect();
    let all = accounts.len();
    eventually("a third are imported", Duration::from_secs(3600), &logs, || {
        let schedule = schedule.clone();
        let accounts = accounts.clone();
        async move { (synced_since(&schedule, &accounts, since).await * 3 >= all).then_some(()) }
    })
    .await;
    let victim = serving.remove(0);
    let victim_peak = peak_mib(victim.id());
    let killed_at = started.elapsed();
    let mut victim = victim;
    victim.kill().unwrap();
    victim.wait().unwrap();
    eprintln!("killed one process at {:.0} s", killed_at.as_secs_f64());
    eventually("all are imported", Duration::from_secs(3600), &logs, || {
        let schedule = schedule.clone();
        let accounts = accounts.clone();
        async move { (synced_since(&schedule, &accounts, since).await == all).then_some(()) }
    })
    .await;
    let import = started.elapsed();
    let records = number(&db, "SELECT sum(records)::bigint FROM streams").await;
    let size = number(&db, "SELECT pg_database_size(current_database())").await;
    let peaks: Vec<f64> = serving.iter().map(|child| peak_mib(child.id())).collect();
    check(&db, &sims);

    // The hour passes: 1% of each account's tickets change.
    for sim in &handles {
        for account in sim.accounts() {
            let live: Vec<u64> = sim
                .ground_truth(&account)
                .tickets
                .live()
                .into_iter()
                .collect();
            let changed = live.iter().step_by(100).copied().collect();
            sim.mutate(
                &account,
                zendesk_sim::Mutation::TouchTickets {
                    ticket_ids: changed,
                },
            )
            .unwrap();
        }
        // Past the exports' one-minute exclusion.
        sim.advance_time(120);
        sim.reset_counts();
    }
    let round_since = number(&db, "SELECT fleet_now_ms()").await;
    let round_started = Instant::now();
    db.spawn(|client| async move {
        client
            .execute(
                "UPDATE fleet_connections SET next_run_at = fleet_now_ms()",
                &[],
            )
            .await
            .map_err(host_error)
    })
    .await
    .unwrap();
    eventually("the hourly round is done", Duration::from_secs(3600), &logs, || {
        let schedule = schedule.clone();
        let accounts = accounts.clone();
        async move { (synced_since(&schedule, &accounts, round_since).await == all).then_some(()) }
    })
    .await;
    let round = round_started.elapsed();
    let requests: u64 = handles
        .iter()
        .map(|sim| sim.request_counts().values().sum::<u64>())
        .sum();
    check(&db, &sims);
    let runs = schedule.runs().await.unwrap();
    assert!(overlapping(&runs).is_empty(), "{:?}", overlapping(&runs));
    let lost_leases = runs
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("lease expired"))
        .count();
    for mut child in serving {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().unwrap();
    }

    println!("| figure | value |");
    println!("|---|---|");
    println!("| connections / tickets / serve processes | {all} / {tickets} / {processes} |");
    println!(
        "| time until all are imported | {:.1} s (one process killed at {:.0} s) |",
        import.as_secs_f64(),
        killed_at.as_secs_f64()
    );
    println!(
        "| records / aggregate records/s | {records} / {:.0} |",
        records as f64 / import.as_secs_f64()
    );
    println!(
        "| peak RSS per process | {victim_peak:.0} MiB (killed), {} |",
        peaks
            .iter()
            .map(|p| format!("{p:.0} MiB"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| database size after the import | {:.0} MiB |",
        size as f64 / (1 << 20) as f64
    );
    println!("| runs closed as `lease expired` (the killed process's) | {lost_leases} |");
    println!(
        "| hourly round, 1% of tickets changed: time | {:.1} s |",
        round.as_secs_f64()
    );
    println!(
        "| hourly round: requests per connection | {:.1} |",
        requests as f64 / all as f64
    );
    println!("| ground truth after the import and after the round | every account exact; no overlapping runs |");
}
