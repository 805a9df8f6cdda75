//! `kill -9` at random moments of a sync, then `sync` again: nothing is
//! lost and nothing is duplicated. The real `connector-host` binary syncs
//! the in-process Zendesk simulator; the database is compared with the
//! simulator's ground truth.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use zendesk_sim::{Mutation, SimConfig, SimHandle, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

fn sync_command(sim: &SimHandle, dir: &Path, token: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(dir.join("kill.db"))
        .arg("--cache-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
        .arg("--resolve")
        .arg(format!("acme.zendesk.com:443:{}", sim.https_addr()))
        .arg("--ca-cert")
        .arg(sim.ca_cert_path())
        .args(["sync", "--page-size", "50", "--config"])
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

/// (pages committed, whether every stream finished its sweep).
fn progress(db: &Path) -> (i64, bool) {
    let Ok(db) = rusqlite::Connection::open(db) else {
        return (0, false);
    };
    db.query_row(
        "SELECT COALESCE(SUM(pages), 0), COUNT(*) = 9 AND SUM(done) = COUNT(*) FROM streams",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((0, false))
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

fn kill_after(mut child: Child, after: Duration) {
    std::thread::sleep(after);
    // SIGKILL: no chance to clean up.
    let _ = child.kill();
    let _ = child.wait();
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
    let admin = sim.admin_credentials("acme");
    std::fs::write(
        dir.path().join("acme.toml"),
        format!(
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\nemail = \"{}\"\n[secrets]\napi_token = {{ env = \"ZD_TOKEN\" }}\n",
            admin.email
        ),
    )
    .unwrap();
    let db = dir.path().join("kill.db");

    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut interrupted_mid_way = 0;
    let mut pages_before = 0;
    for round in 0..10 {
        if round == 5 {
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
        }
        let child = sync_command(&sim, dir.path(), &admin.api_token)
            .spawn()
            .unwrap();
        let after = Duration::from_millis(rng.u64(150..1200));
        tokio::task::spawn_blocking(move || kill_after(child, after))
            .await
            .unwrap();
        let (pages, all_done) = progress(&db);
        if pages > pages_before && !all_done {
            interrupted_mid_way += 1;
        }
        pages_before = pages;
    }
    eprintln!("{interrupted_mid_way} of 10 syncs were killed after committing some pages but before the end");
    assert!(
        interrupted_mid_way >= 4,
        "the kills did not land mid-sync; make the dataset larger"
    );
    let finish = sync_command(&sim, dir.path(), &admin.api_token)
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "the final sync failed: {}",
        String::from_utf8_lossy(&finish.stderr)
    );

    let truth = sim.ground_truth("acme");
    let all = |set: &std::collections::BTreeSet<u64>| set.iter().copied().collect::<Vec<_>>();
    assert_same(
        "live tickets",
        keys(&db, "conversation", false),
        all(&truth.tickets.live()),
    );
    assert_same(
        "deleted tickets",
        keys(&db, "conversation", true),
        all(&truth.tickets.deleted),
    );
    assert_same(
        "users",
        keys(&db, "person", false),
        all(&truth.users.live()),
    );
    assert_same(
        "organizations",
        keys(&db, "account", false),
        all(&truth.organizations.live()),
    );
    let mut messages = keys(&db, "message", false);
    messages.extend(keys(&db, "message", true));
    assert_same(
        "comments",
        messages,
        truth.comments.versions.keys().copied().collect(),
    );
    let counts = counts(&db);
    assert_eq!(
        counts["conversation"],
        (
            truth.tickets.live().len() as i64,
            truth.tickets.deleted.len() as i64
        )
    );
    sim.shutdown().await;
}
