//! `kill -9` at random moments of a sync, then `sync` again: nothing is
//! lost and nothing is duplicated, without rate limits (small pages,
//! changes between the kills) and under Zendesk's budgets (the comment
//! history split between two endpoints). Ctrl-C stops a sync cleanly, and
//! the next one resumes. The real `connector-host` binary syncs the
//! in-process Zendesk simulator; the database is compared with the
//! simulator's ground truth.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use zendesk_sim::{Mutation, RateLimits, SimConfig, SimHandle, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// `connector-host sync` of the simulated account, with `extra` arguments.
fn sync_command(sim: &SimHandle, dir: &Path, token: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(dir.join("kill.db"))
        .arg("--cache-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
        .arg("--resolve")
        .arg(format!("acme.zendesk.com:443:{}", sim.https_addr()))
        .arg("--ca-cert")
        .arg(sim.ca_cert_path())
        .arg("sync")
        .args(extra)
        .arg("--config")
        .arg(dir.join("acme.toml"))
        .env("ZD_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn counts(db: &Path) -> BTreeMap<String, (i64, i64)> {
    let db = rusqlite::Connection::open(db).unwrap();
    let mut stmt = db
        .prepare("SELECT kind, SUM(deleted = 0), SUM(deleted = 1) FROM records GROUP BY kind")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The ids of a kind's records, sorted; chat transcript messages (keyed
/// `comment-line`) count once per comment.
fn keys(db: &Path, kind: &str, deleted: bool) -> Vec<u64> {
    let db = rusqlite::Connection::open(db).unwrap();
    let mut stmt = db
        .prepare("SELECT key FROM records WHERE kind = ?1 AND deleted = ?2")
        .unwrap();
    let ids: std::collections::BTreeSet<u64> = stmt
        .query_map(rusqlite::params![kind, deleted], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|k| k.unwrap().split('-').next().unwrap().parse().unwrap())
        .collect();
    ids.into_iter().collect()
}

/// Pages committed so far.
fn pages(db: &Path) -> i64 {
    let Ok(db) = rusqlite::Connection::open(db) else {
        return 0;
    };
    db.query_row("SELECT COALESCE(SUM(pages), 0) FROM streams", [], |r| {
        r.get(0)
    })
    .unwrap_or(0)
}

/// Compare id lists, reporting only what differs.
fn assert_same(what: &str, synced: Vec<u64>, expected: Vec<u64>) {
    let synced: std::collections::BTreeSet<u64> = synced.into_iter().collect();
    let expected: std::collections::BTreeSet<u64> = expected.into_iter().collect();
    let missing: Vec<_> = expected.difference(&synced).take(20).collect();
    let extra: Vec<_> = synced.difference(&expected).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} missing (first: {missing:?}), {} unexpected (first: {extra:?})",
        expected.difference(&synced).count(),
        synced.difference(&expected).count()
    );
}

/// The database holds exactly the simulator's ground truth: tickets live
/// and deleted, users, organizations and comments.
fn assert_matches_ground_truth(db: &Path, sim: &SimHandle) {
    let truth = sim.ground_truth("acme");
    let all = |set: &std::collections::BTreeSet<u64>| set.iter().copied().collect::<Vec<_>>();
    assert_same(
        "live tickets",
        keys(db, "conversation", false),
        all(&truth.tickets.live()),
    );
    assert_same(
        "deleted tickets",
        keys(db, "conversation", true),
        all(&truth.tickets.deleted),
    );
    assert_same("users", keys(db, "person", false), all(&truth.users.live()));
    assert_same(
        "organizations",
        keys(db, "account", false),
        all(&truth.organizations.live()),
    );
    let mut messages = keys(db, "message", false);
    messages.extend(keys(db, "message", true));
    assert_same(
        "comments",
        messages,
        truth.comments.versions.keys().copied().collect(),
    );
    let counts = counts(db);
    assert_eq!(
        counts["conversation"],
        (
            truth.tickets.live().len() as i64,
            truth.tickets.deleted.len() as i64
        )
    );
}

/// SIGKILL `child` after `after` (no chance to clean up); whether it was
/// still running then.
fn kill_after(mut child: Child, after: Duration) -> bool {
    std::thread::sleep(after);
    let running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    running
}

/// The connection file of the simulated account, its token from `ZD_TOKEN`.
fn write_connection_file(sim: &SimHandle, dir: &Path) {
    std::fs::write(
        dir.join("acme.toml"),
        format!(
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\nemail = \"{}\"\n[secrets]\napi_token = {{ env = \"ZD_TOKEN\" }}\n",
            sim.admin_credentials("acme").email
        ),
    )
    .unwrap();
}

/// Runs `rounds` syncs killed at random moments within `window_ms`
/// (`between` runs before round 5), then one to the end; returns how many
/// were killed while running after committing more pages.
async fn kill_repeatedly(
    sim: &SimHandle,
    dir: &Path,
    extra: &[&str],
    window_ms: std::ops::Range<u64>,
    between: impl Fn(),
) -> usize {
    let token = sim.admin_credentials("acme").api_token;
    let db = dir.join("kill.db");
    // Compile the component into the cache first: a kill during the
    // compilation (slow on a loaded machine) would never reach a page.
    let warm = Command::new(BIN)
        .arg("--db")
        .arg(dir.join("warm.db"))
        .arg("--cache-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
        .arg("spec")
        .output()
        .unwrap();
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut interrupted_mid_way = 0;
    let mut pages_before = 0;
    for round in 0..10 {
        if round == 5 {
            between();
        }
        let child = sync_command(sim, dir, &token, extra).spawn().unwrap();
        let after = Duration::from_millis(rng.u64(window_ms.clone()));
        let killed = tokio::task::spawn_blocking(move || kill_after(child, after))
            .await
            .unwrap();
        let pages = pages(&db);
        eprintln!("round {round}: killed after {after:?} while running: {killed}, pages {pages}");
        if killed && pages > pages_before {
            interrupted_mid_way += 1;
        }
        pages_before = pages;
    }
    eprintln!("{interrupted_mid_way} of 10 syncs were killed after committing some pages but before the end");
    let finish = sync_command(sim, dir, &token, extra).output().unwrap();
    assert!(
        finish.status.success(),
        "the final sync failed: {}",
        String::from_utf8_lossy(&finish.stderr)
    );
    interrupted_mid_way
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_at_random_moments_loses_and_duplicates_nothing() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 4000,
        users: 600,
        organizations: 40,
        history_days: 60,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_connection_file(&sim, dir.path());
    let db = dir.path().join("kill.db");
    let interrupted_mid_way =
        kill_repeatedly(&sim, dir.path(), &["--page-size", "50"], 150..1200, || {
            // Changes arrive between interrupted syncs too.
            sim.mutate("acme", Mutation::CreateTickets { count: 20 })
                .unwrap();
            sim.mutate(
                "acme",
                Mutation::DeleteTickets {
                    ticket_ids: vec![2, 4, 6],
                },
            )
            .unwrap();
            sim.mutate(
                "acme",
                Mutation::AddComment {
                    ticket_id: 10,
                    public: false,
                },
            )
            .unwrap();
            sim.advance_time(120);
        })
        .await;
    assert!(
        interrupted_mid_way >= 4,
        "the kills did not land mid-sync; make the dataset larger"
    );

    assert_matches_ground_truth(&db, &sim);
    sim.shutdown().await;
}

/// Under Zendesk's budgets (a simulated minute a second) the first import
/// splits the comment history between the events export and the
/// per-ticket endpoint; kills land in the split's probe and the per-ticket
/// queue too. Every comment still arrives exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_first_import_killed_at_random_moments_loses_and_duplicates_nothing() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 6000,
        users: 400,
        organizations: 40,
        history_days: 60,
        rate_limits: RateLimits::plan("enterprise"),
        time_scale: 60.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_connection_file(&sim, dir.path());
    let db = dir.path().join("kill.db");
    let interrupted_mid_way = kill_repeatedly(&sim, dir.path(), &[], 200..1500, || {}).await;
    assert!(
        interrupted_mid_way >= 3,
        "the kills did not land mid-sync; make the dataset larger"
    );

    let truth = sim.ground_truth("acme");
    let live = truth.tickets.live();
    assert_same(
        "live tickets",
        keys(&db, "conversation", false),
        live.iter().copied().collect(),
    );
    let connection = rusqlite::Connection::open(&db).unwrap();
    let split: i64 = connection
        .query_row(
            "SELECT json_extract(CAST(value AS TEXT), '$.start') FROM kv WHERE key = 'comment-split'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let per_ticket: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM records WHERE stream = 'ticket_comments_backfill'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        per_ticket > 0,
        "the history was not split: nothing came per ticket"
    );
    assert_same(
        "comments",
        keys(&db, "message", false),
        truth.comments_with_split_at(split).into_iter().collect(),
    );
    let twice: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM (SELECT key FROM records WHERE kind = 'message'
             GROUP BY key HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "comments written by both comment streams");
    sim.shutdown().await;
}

/// Ctrl-C (SIGINT) during a sync: the pages already fetched are committed,
/// the summary says the sync stopped, the exit code is 130, and the next
/// sync resumes from the last committed page rather than starting over.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_a_sync_cleanly_and_the_next_one_resumes() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 3000,
        history_days: 60,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_connection_file(&sim, dir.path());
    let db = dir.path().join("kill.db");
    let token = sim.admin_credentials("acme").api_token;
    let extra = ["--page-size", "50", "--concurrency", "1"];
    let mut child = sync_command(&sim, dir.path(), &token, &extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let stderr = child.stderr.take().unwrap();
    let (stopped, stderr) = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        let mut lines = std::io::BufReader::new(stderr).lines();
        // The first committed page of the tickets stream.
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with("tickets: ") && line.contains(" pages") {
                break;
            }
        }
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        for line in lines {
            seen.push_str(&line.unwrap());
            seen.push('\n');
        }
        (status.success(), seen)
    })
    .await
    .unwrap();
    assert!(stopped, "could not send SIGINT");
    let output = child.wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "stderr:\n{stderr}\nstdout:\n{summary}"
    );
    assert!(
        stderr.contains("stopping: committing the pages already fetched"),
        "{stderr}"
    );
    assert!(summary.contains("stopped on request"), "{summary}");
    let committed = keys(&db, "conversation", false).len();
    let live = sim.ground_truth("acme").tickets.live();
    assert!(
        committed > 0 && committed < live.len(),
        "{committed} of {} tickets committed: the stop did not land mid-import",
        live.len()
    );

    let finish = sync_command(&sim, dir.path(), &token, &extra)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "the next sync failed: {}",
        String::from_utf8_lossy(&finish.stderr)
    );
    assert_matches_ground_truth(&db, &sim);
    // It resumed: the tickets committed before the stop were not read again.
    let summary = String::from_utf8_lossy(&finish.stdout);
    let tickets_read: usize = summary
        .lines()
        .find_map(|line| line.strip_prefix("tickets "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|records| records.parse().ok())
        .unwrap_or_else(|| panic!("no tickets row in the summary:\n{summary}"));
    let all_tickets = live.len() + sim.ground_truth("acme").tickets.deleted.len();
    assert!(
        tickets_read < all_tickets,
        "the next sync read {tickets_read} of {all_tickets} tickets: it started over"
    );
    sim.shutdown().await;
}
