//! Two `connector-host serve` processes, one PostgreSQL database, one
//! Zendesk simulator serving several accounts: every connection ends
//! equal to its ground truth although one process is killed with
//! `kill -9` mid-sync (the other resumes from the last committed page);
//! no connection is ever synced by two processes at once (the runs
//! table); a revoked token ends in the attention state without a retry
//! storm; a connection file added later is picked up;
//! SIGTERM drains (exit 0, leases released at once); a SQLite `--db` is
//! refused with advice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use connector_fleet::{overlapping, Run, Schedule, State};
use connector_store_postgres::{host_error, Database};
use connector_store_tests::postgres::TestDatabase;
use tokio::time::Instant;
use zendesk_sim::{SimConfig, SimHandle, Simulator};

// The truth checks of the kill-and-resume tests (this binary uses only
// part of them).
#[allow(dead_code)]
#[path = "../kill_resume/truth.rs"]
mod truth;

use truth::{assert_clean, tally, Expect, FirstImport};

mod fleet;

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// Accounts synced with their admin's token.
const GOOD: [&str; 6] = ["acme", "globex", "initech", "hooli", "umbrella", "stark"];
/// Synced with a token the simulator does not know (revoked).
const REVOKED: &str = "revoked";
/// Its file is written once the others are done.
const LATE: &str = "late";

/// Any key will do, the same for both processes.
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The connection file of `account`, its token from `ZD_TOKEN_<ACCOUNT>`,
/// written whole (renamed into place: `serve` may be reading the folder).
fn write_connection_file(sim: &SimHandle, folder: &Path, account: &str) {
    let draft = folder.join(format!("{account}.draft"));
    std::fs::write(
        &draft,
        format!(
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"{account}\"\nemail = \"{}\"\n\
             [secrets]\napi_token = {{ env = \"ZD_TOKEN_{}\" }}\n",
            sim.admin_credentials(account).email,
            account.to_uppercase()
        ),
    )
    .unwrap();
    std::fs::rename(draft, folder.join(format!("{account}.toml"))).unwrap();
}

/// A free loopback port (for the metrics).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `connector-host ARGS` against the simulator and the database.
fn host(sim: &SimHandle, db: &TestDatabase, work: &Path, args: &[&str]) -> Command {
    host_of(&[sim], sim.ca_cert_path(), db, work, args)
}

/// `connector-host ARGS` against several simulators (`ca`: their CA
/// certificates) and the database: every account pinned to its simulator,
/// its token in `ZD_TOKEN_<ACCOUNT>`.
fn host_of(
    sims: &[&SimHandle],
    ca: &Path,
    db: &TestDatabase,
    work: &Path,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(db.url())
        .arg("--cache-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
        .arg("--ca-cert")
        .arg(ca)
        .env("CONNECTOR_HOST_KEY", KEY);
    for sim in sims {
        for account in sim.accounts() {
            cmd.arg("--resolve")
                .arg(format!("{account}.zendesk.com:443:{}", sim.https_addr()));
            let token = match account.as_str() {
                REVOKED => "revoked-token".to_owned(),
                _ => sim.admin_credentials(&account).api_token,
            };
            cmd.env(format!("ZD_TOKEN_{}", account.to_uppercase()), token);
        }
    }
    cmd.args(args).current_dir(work).stdout(Stdio::piped());
    cmd
}

/// A `serve` process of the folder, its logs in `log`.
fn serve(sim: &SimHandle, db: &TestDatabase, work: &Path, log: &Path, metrics: u16) -> Child {
    let folder = work.join("connections");
    let metrics = format!("127.0.0.1:{metrics}");
    host(
        sim,
        db,
        work,
        &[
            "serve",
            "--connections",
            folder.to_str().unwrap(),
            "--max-syncs",
            "2",
            "--lease-ttl",
            "3s",
            "--poll",
            "200ms",
            "--page-size",
            "20",
            "--metrics-addr",
            &metrics,
            "--log-format",
            "json",
        ],
    )
    .stderr(std::fs::File::create(log).unwrap())
    .spawn()
    .unwrap()
}

/// Whether `run` was started by the process `pid`.
fn by(run: &Run, pid: u32) -> bool {
    run.owner.split(':').nth(1) == Some(&pid.to_string())
}

/// Polls `found` every 100 ms until it finds something; panics after
/// `limit`, with the logs.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, logs: &[PathBuf], mut found: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = found().await {
            return found;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = logs
                .iter()
                .map(|log| std::fs::read_to_string(log).unwrap_or_default())
                .collect();
            panic!(
                "timed out waiting until {what}; logs:\n{}",
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records of a connection committed so far: all, or of one kind.
async fn records(db: &Database, connection: &str, kind: Option<&str>) -> i64 {
    let connection = connection.to_owned();
    let kind = kind.map(str::to_owned);
    db.spawn(move |client| async move {
        client
            .query_one(
                "SELECT count(*) FROM records
                 WHERE connection = $1 AND ($2::text IS NULL OR kind = $2)",
                &[&connection, &kind],
            )
            .await
            .map(|row| row.get(0))
            .map_err(host_error)
    })
    .await
    .unwrap()
}

/// The body of `GET path` on the loopback port.
async fn get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_of_two_survives_a_kill_and_drains_on_sigterm() {
    let mut accounts: Vec<String> = GOOD.iter().map(|a| a.to_string()).collect();
    accounts.extend([REVOKED.to_owned(), LATE.to_owned()]);
    let sim = Simulator::start_settled(SimConfig {
        tickets: 250,
        users: 40,
        organizations: 8,
        history_days: 30,
        accounts,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first_import = FirstImport::from_now(&sim);
    let test_db = TestDatabase::new();
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("connections");
    std::fs::create_dir(&folder).unwrap();
    for account in GOOD.iter().chain([&REVOKED]) {
        write_connection_file(&sim, &folder, account);
    }
    // Compile the component into the cache first: both processes would.
    let warm = host(&sim, &test_db, work.path(), &["spec"])
        .output()
        .unwrap();
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );

    let logs = [work.path().join("a.log"), work.path().join("b.log")];
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = serve(&sim, &test_db, work.path(), &logs[0], port_a);
    let mut b = serve(&sim, &test_db, work.path(), &logs[1], port_b);
    let db = Database::connect(&test_db.url()).unwrap();
    let schedule = Schedule::new(db.clone(), "test");

    // Kill `a` once it has committed part of a connection's tickets (a
    // stream with a cursor to resume from).
    let pid_a = a.id();
    let victim = eventually("a is mid-sync", Duration::from_secs(60), &logs, || {
        let (schedule, db) = (schedule.clone(), db.clone());
        async move {
            for run in schedule.runs().await.unwrap() {
                if by(&run, pid_a)
                    && run.ended_at.is_none()
                    && records(&db, &run.connection, Some("conversation")).await > 0
                {
                    return Some(run.connection);
                }
            }
            None
        }
    })
    .await;
    a.kill().unwrap();
    a.wait().unwrap();

    // `b` takes everything over, the victim after its lease expired.
    eventually(
        "every connection synced",
        Duration::from_secs(120),
        &logs,
        || {
            let schedule = schedule.clone();
            async move {
                let runs = schedule.runs().await.unwrap();
                GOOD.iter()
                    .all(|account| {
                        runs.iter().any(|r| {
                            r.connection == *account && r.outcome.as_deref() == Some("succeeded")
                        })
                    })
                    .then_some(())
            }
        },
    )
    .await;
    let runs = schedule.runs().await.unwrap();
    let victim_runs: Vec<&Run> = runs.iter().filter(|r| r.connection == victim).collect();
    assert_eq!(
        victim_runs[0].outcome.as_deref(),
        Some("lease expired"),
        "{victim_runs:?}"
    );
    assert!(victim_runs
        .iter()
        .any(|r| !by(r, pid_a) && r.outcome.as_deref() == Some("succeeded")));
    for account in GOOD {
        let stored = connector_store_postgres::RecordStore::new(db.clone(), account);
        let truth = sim.ground_truth(account);
        assert_clean(&tally(&stored, &truth, Expect::Everything(first_import)));
    }

    // The revoked token: attention, with advice, tried once in this window.
    let (statuses, _) = schedule.status().await.unwrap();
    let revoked = statuses.iter().find(|s| s.connection == REVOKED).unwrap();
    assert_eq!(revoked.state, State::Attention, "{revoked:?}");
    assert_eq!(
        revoked.last_error_class.as_deref(),
        Some("auth"),
        "{revoked:?}"
    );
    let attempts = runs.iter().filter(|r| r.connection == REVOKED).count();
    assert!((1..=2).contains(&attempts), "{attempts} attempts: {runs:?}");
    let status = host(&sim, &test_db, work.path(), &["status", "--all"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with(REVOKED) && l.contains("attention")),
        "{printed}"
    );
    assert_eq!(printed.lines().count(), 1 + GOOD.len() + 1, "{printed}");

    // Metrics and health of the survivor.
    let metrics = get(port_b, "/metrics").await;
    let committed_by_b = |account: &str| -> Option<i64> {
        let prefix = format!("connector_records_total{{connection=\"{account}\"}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix)?.parse().ok())
    };
    assert!(
        GOOD.iter().any(|a| committed_by_b(a).is_some()),
        "{metrics}"
    );
    // `b` resumed the victim from `a`'s last committed page: it committed
    // fewer records than the connection holds.
    let resumed = committed_by_b(&victim).unwrap();
    let held = records(&db, &victim, None).await;
    assert!(
        resumed < held,
        "{victim}: b committed {resumed} of {held} records: it started over"
    );
    assert!(
        metrics.contains("connector_seconds_since_last_success"),
        "{metrics}"
    );
    assert!(
        metrics.contains("connector_needs_attention{connection=\"revoked\"} 1"),
        "{metrics}"
    );
    assert!(get(port_b, "/healthz").await.starts_with("HTTP/1.1 200"));

    // A file added later is picked up; SIGTERM mid-sync drains.
    write_connection_file(&sim, &folder, LATE);
    eventually(
        "the late connection is mid-sync",
        Duration::from_secs(60),
        &logs,
        || {
            let (schedule, db) = (schedule.clone(), db.clone());
            async move {
                let running = schedule
                    .runs()
                    .await
                    .unwrap()
                    .into_iter()
                    .any(|r| r.connection == LATE && r.ended_at.is_none());
                (running && records(&db, LATE, None).await > 0).then_some(())
            }
        },
    )
    .await;
    let term = Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = b.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not drain within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        exit.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&logs[1]).unwrap()
    );
    let log = std::fs::read_to_string(&logs[1]).unwrap();
    for line in log.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "--log-format json wrote a line that is not a JSON object: {line}"
        );
    }
    assert!(log.contains("draining"), "{log}");
    let (statuses, now) = schedule.status().await.unwrap();
    let late = statuses.iter().find(|s| s.connection == LATE).unwrap();
    assert_eq!(late.lease_owner, None, "the lease was kept: {late:?}");
    assert!(late.next_run_at <= now, "{late:?}");
    let runs = schedule.runs().await.unwrap();
    let late_runs: Vec<&Run> = runs.iter().filter(|r| r.connection == LATE).collect();
    assert_eq!(
        late_runs.last().unwrap().outcome.as_deref(),
        Some("stopped"),
        "{late_runs:?}"
    );

    for run in &runs {
        eprintln!(
            "{:<10} {:<28} {:>14} {:>14?} {:?}",
            run.connection, run.owner, run.started_at, run.ended_at, run.outcome
        );
    }
    // Never two at once, over the whole test.
    assert!(overlapping(&runs).is_empty(), "{:?}", overlapping(&runs));
    sim.shutdown().await;
}

#[test]
fn serve_and_status_all_refuse_a_sqlite_database_saying_what_to_pass() {
    let work = tempfile::tempdir().unwrap();
    for args in [
        &["serve", "--connections", "."][..],
        &["status", "--all"][..],
    ] {
        let out = Command::new(BIN)
            .arg("--db")
            .arg(work.path().join("local.db"))
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--db postgres://"), "{args:?}: {stderr}");
    }
}
