//! `kill -9` at random moments of a sync, then `sync` again: nothing is
//! lost and nothing is duplicated, without rate limits (small pages,
//! changes between the kills) and under Zendesk's budgets (the comment
//! history split between two endpoints). Ctrl-C stops a sync cleanly, and
//! the next one resumes. The real `connector-host` binary syncs the
//! in-process Zendesk simulator; the database is compared with the
//! simulator's ground truth. The kill tests run on SQLite and on
//! PostgreSQL (`name::sqlite`, `name::postgres`). `soak` holds the
//! 100-kill soak, run by hand.

use std::io::BufRead;
use std::ops::Range;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use connector_store_tests::contents;
use connector_store_tests::on_both_stores;
use connector_store_tests::stores::{Place, StoreKind};
use connector_sync::stored::SyncedRecords;
use zendesk_sim::{Mutation, RateLimits, SimConfig, SimHandle, Simulator};

mod rotation;
mod soak;
mod truth;

use truth::{assert_clean, assert_matches_ground_truth, tally, Expect, FirstImport};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// The compiled-component cache every run of these tests shares.
fn cache_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// Where a test's host keeps things: a folder for the connection file
/// (`acme.toml`), logs and the key that seals tokens, and a store.
struct Site {
    dir: tempfile::TempDir,
    place: Place,
}

impl Site {
    /// A new folder and a new, empty store of `kind`.
    fn new(kind: StoreKind) -> Site {
        Site {
            dir: tempfile::tempdir().unwrap(),
            place: kind.fresh(),
        }
    }

    /// The folder.
    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The synced data of the connection `acme`.
    fn records(&self) -> Box<dyn SyncedRecords> {
        self.place.records("acme")
    }

    /// A value the connector keeps for `acme`, as JSON.
    fn stored(&self, key: &str) -> serde_json::Value {
        let value = self.place.key_value().get("acme", key).unwrap();
        serde_json::from_slice(&value.unwrap_or_else(|| panic!("no {key} stored"))).unwrap()
    }

    /// The SQLite file, for the soak's direct upkeep.
    fn sqlite_path(&self) -> std::path::PathBuf {
        match &self.place {
            Place::Sqlite(_) => self.place.db_argument().into(),
            Place::Postgres(_) => panic!("the soak runs on SQLite"),
        }
    }
}

/// `connector-host sync` of the simulated account, with `extra` arguments.
fn sync_command(sim: &SimHandle, site: &Site, token: &str, extra: &[&str]) -> Command {
    host_command(sim, site, token, "sync", extra)
}

/// `connector-host ACTION EXTRA --config acme.toml` against the simulator,
/// on `site`'s store, `token` in `ZD_TOKEN`.
fn host_command(
    sim: &SimHandle,
    site: &Site,
    token: &str,
    action: &str,
    extra: &[&str],
) -> Command {
    let dir = site.dir();
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(site.place.db_argument())
        .arg("--key-file")
        .arg(dir.join("tokens.key"))
        .arg("--cache-dir")
        .arg(cache_dir())
        .arg("--resolve")
        .arg(format!("acme.zendesk.com:443:{}", sim.https_addr()))
        .arg("--ca-cert")
        .arg(sim.ca_cert_path())
        .arg(action)
        .args(extra)
        .arg("--config")
        .arg(dir.join("acme.toml"))
        .env("ZD_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// The ids of a kind's records, sorted; chat transcript messages (keyed
/// `comment-line`) count once per comment.
fn keys(site: &Site, kind: &str, deleted: bool) -> Vec<u64> {
    let (live, tombstones) = contents::ids(&contents::all_records(site.records().as_ref()), kind);
    let ids = if deleted { tombstones } else { live };
    ids.into_iter().collect()
}

/// Pages committed so far.
fn pages(site: &Site) -> u64 {
    // Opening a missing SQLite file would create an empty database.
    if !site.place.exists() {
        return 0;
    }
    let states = site.records().all_stream_states().unwrap_or_default();
    states.iter().map(|s| s.pages).sum()
}

/// A member of the first import's split of the comment history.
fn comment_split_member(site: &Site, member: &str) -> i64 {
    let split = site.stored("comment-split");
    split[member]
        .as_i64()
        .or_else(|| split[member].as_bool().map(i64::from))
        .unwrap_or_else(|| panic!("comment-split has no {member}: {split}"))
}

/// Where the first import split the comment history (Unix seconds): older
/// comments came from the audit list or per ticket, newer ones from the
/// events export.
fn comment_split(site: &Site) -> i64 {
    comment_split_member(site, "start")
}

/// Comments that came from the audit list or the per-ticket endpoint.
fn per_ticket_comments(site: &Site) -> usize {
    let records = contents::all_records(site.records().as_ref());
    records
        .iter()
        .filter(|r| r.stream == "ticket_comments_backfill")
        .count()
}

/// SIGKILL `child` after `after` (no chance to clean up); `None` if it was
/// still running then, else how it had ended on its own.
fn kill_after(mut child: Child, after: Duration) -> Option<ExitStatus> {
    std::thread::sleep(after);
    let ended = child.try_wait().ok().flatten();
    let _ = child.kill();
    let _ = child.wait();
    ended
}

/// The connection file of the simulated account, its token from `ZD_TOKEN`.
fn write_connection_file(sim: &SimHandle, site: &Site) {
    std::fs::write(
        site.dir().join("acme.toml"),
        format!(
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\nemail = \"{}\"\n[secrets]\napi_token = {{ env = \"ZD_TOKEN\" }}\n",
            sim.admin_credentials("acme").email
        ),
    )
    .unwrap();
}

/// Compile the component into the cache: a kill during the compilation
/// (slow on a loaded machine) would never reach a page.
fn warm_component_cache(dir: &Path) {
    let warm = Command::new(BIN)
        .arg("--db")
        .arg(dir.join("warm.db"))
        .arg("--cache-dir")
        .arg(cache_dir())
        .arg("spec")
        .output()
        .unwrap();
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
}

/// What the kills of [`kill_rounds`] hit.
#[derive(Debug, Default)]
struct Kills {
    /// Syncs started, each killed (or ended before its kill).
    rounds: usize,
    /// Syncs still running when killed.
    mid_sync: usize,
    /// Of those, the ones that had committed more pages.
    progressed: usize,
    /// Syncs that had ended on their own before their kill.
    after_end: usize,
    /// Syncs that ended on their own with an error: round, status and the
    /// end of their standard error.
    failures: Vec<String>,
}

impl Kills {
    /// Counts `more` in.
    fn add(&mut self, more: Kills) {
        self.rounds += more.rounds;
        self.mid_sync += more.mid_sync;
        self.progressed += more.progressed;
        self.after_end += more.after_end;
        self.failures.extend(more.failures);
    }
}

/// The last lines of a log file.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `rounds` syncs, each killed at a random moment within `window_ms`
/// drawn from `rng`; `before(round)` runs before each one starts. With
/// `until_done`, stops early after a sync that ended before its kill.
#[allow(clippy::too_many_arguments)]
async fn kill_rounds(
    sim: &SimHandle,
    site: &Site,
    extra: &[&str],
    rounds: usize,
    window_ms: Range<u64>,
    rng: &mut fastrand::Rng,
    until_done: bool,
    mut before: impl FnMut(usize),
) -> Kills {
    let token = sim.admin_credentials("acme").api_token;
    let log = site.dir().join("sync.log");
    let mut kills = Kills::default();
    let mut pages_before = pages(site);
    for round in 0..rounds {
        before(round);
        kills.rounds += 1;
        // Standard error to a file: a full pipe would stall the sync.
        let child = sync_command(sim, site, &token, extra)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let after = Duration::from_millis(rng.u64(window_ms.clone()));
        let ended = tokio::task::spawn_blocking(move || kill_after(child, after))
            .await
            .unwrap();
        let pages = pages(site);
        match ended {
            None => {
                kills.mid_sync += 1;
                kills.progressed += usize::from(pages > pages_before);
            }
            Some(status) => {
                kills.after_end += 1;
                if !status.success() {
                    kills
                        .failures
                        .push(format!("round {round}: {status}:\n{}", tail(&log, 20)));
                }
            }
        }
        eprintln!(
            "round {round}: killed after {after:?} while running: {}, pages {pages}",
            ended.is_none()
        );
        pages_before = pages;
        if until_done && ended.is_some() {
            break;
        }
    }
    kills
}

/// `connector-host ACTION` to its end; its standard error if it fails.
fn run_to_end(sim: &SimHandle, site: &Site, action: &str, extra: &[&str]) -> Result<(), String> {
    let token = sim.admin_credentials("acme").api_token;
    let out = host_command(sim, site, &token, action, extra)
        .output()
        .unwrap();
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{action} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// Runs 10 syncs killed at random moments within `window_ms` (`between`
/// runs before round 5), then one to the end; returns how many were
/// killed while running after committing more pages.
async fn kill_repeatedly(
    sim: &SimHandle,
    site: &Site,
    extra: &[&str],
    window_ms: Range<u64>,
    between: impl Fn(),
) -> usize {
    warm_component_cache(site.dir());
    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let kills = kill_rounds(sim, site, extra, 10, window_ms, &mut rng, false, |round| {
        if round == 5 {
            between();
        }
    })
    .await;
    eprintln!(
        "{} of 10 syncs were killed after committing some pages but before the end",
        kills.progressed
    );
    run_to_end(sim, site, "sync", extra).unwrap_or_else(|e| panic!("the final sync: {e}"));
    kills.progressed
}

on_both_stores!(async a_sync_killed_at_random_moments_loses_and_duplicates_nothing);
async fn a_sync_killed_at_random_moments_loses_and_duplicates_nothing(store: StoreKind) {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 4000,
        users: 600,
        organizations: 40,
        history_days: 60,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let site = Site::new(store);
    write_connection_file(&sim, &site);
    let first_import = FirstImport::from_now(&sim);
    let interrupted_mid_way =
        kill_repeatedly(&sim, &site, &["--page-size", "50"], 150..1200, || {
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

    // Tickets 2, 4 and 6 were deleted while the first import was killed:
    // imported first or not, both are right.
    assert_matches_ground_truth(site.records().as_ref(), &sim, first_import.completed(&sim));
    sim.shutdown().await;
}

/// An account under Enterprise budgets, a simulated minute a second: big
/// enough that its first import splits the comment history.
fn rate_limited_account() -> SimConfig {
    SimConfig {
        tickets: 6000,
        users: 400,
        organizations: 40,
        history_days: 60,
        rate_limits: RateLimits::plan("enterprise"),
        time_scale: 60.0,
        ..SimConfig::default()
    }
}

on_both_stores!(async a_rate_limited_first_import_killed_at_random_moments_loses_and_duplicates_nothing);
/// Under Zendesk's budgets (a simulated minute a second) the first import
/// splits the comment history between the events export and the
/// account-wide audit list (walked back page by page); kills land in the
/// split's probes and the walk too. Every comment still arrives exactly
/// once.
async fn a_rate_limited_first_import_killed_at_random_moments_loses_and_duplicates_nothing(
    store: StoreKind,
) {
    let sim = Simulator::start_settled(rate_limited_account())
        .await
        .unwrap();
    let site = Site::new(store);
    write_connection_file(&sim, &site);
    let first_import = FirstImport::from_now(&sim);
    let interrupted_mid_way = kill_repeatedly(&sim, &site, &[], 200..1500, || {}).await;
    assert!(
        interrupted_mid_way >= 3,
        "the kills did not land mid-sync; make the dataset larger"
    );

    assert!(
        per_ticket_comments(&site) > 0,
        "the history was not split: nothing came from the audit list or per ticket"
    );
    assert_eq!(
        comment_split_member(&site, "audits"),
        1,
        "the audit list was not used"
    );
    let walked = sim
        .request_counts()
        .get("all_ticket_audits")
        .copied()
        .unwrap_or(0);
    assert!(walked > 1, "the audit list was not walked");
    let truth = sim.ground_truth("acme");
    assert_clean(&tally(
        site.records().as_ref(),
        &truth,
        Expect::SplitAt(comment_split(&site), first_import),
    ));
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
    let first_import = FirstImport::from_now(&sim);
    let site = Site::new(StoreKind::Sqlite);
    write_connection_file(&sim, &site);
    let token = sim.admin_credentials("acme").api_token;
    let extra = ["--page-size", "50", "--concurrency", "1"];
    let mut child = sync_command(&sim, &site, &token, &extra)
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
    let committed = keys(&site, "conversation", false).len();
    let live = sim.ground_truth("acme").tickets.live();
    assert!(
        committed > 0 && committed < live.len(),
        "{committed} of {} tickets committed: the stop did not land mid-import",
        live.len()
    );

    let finish = sync_command(&sim, &site, &token, &extra)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        finish.status.success(),
        "the next sync failed: {}",
        String::from_utf8_lossy(&finish.stderr)
    );
    assert_matches_ground_truth(site.records().as_ref(), &sim, first_import);
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
