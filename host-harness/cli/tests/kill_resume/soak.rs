//! The 100-kill soak, run by hand rather than in CI:
//!
//! ```text
//! cargo test -p connector-host --test kill_resume -- --ignored soak --nocapture
//! ```
//!
//! `kill -9` at random moments in four phases, a quarter of the kills
//! each: the first import of a medium account; a first import under
//! Enterprise budgets, time scaled so that the comment history splits
//! between the events export and the per-ticket endpoint; incremental
//! syncs, with tickets created, updated, commented, touched and deleted
//! and users and organizations changed before every kill; an OAuth
//! connection whose refresh token rotates on every refresh, its access
//! tokens good for about a second, so that rotations happen throughout.
//! Only kills that land while a sync runs count: when a sync ends before
//! its kill, one sync runs to the end and the database is checked (a first
//! import then starts over, the synced data forgotten). Nothing may be lost,
//! duplicated, unknown to the simulator or stale, no sync may have failed
//! on its own, and the OAuth connection must still authenticate with the
//! refresh token it stored. A summary table ends the run.
//!
//! `SOAK_KILLS` sets the total (default 100, split evenly), `SOAK_SEED`
//! replays a kill schedule (the seed is printed first), `SOAK_PHASES`
//! picks phases by name (`first-import,rate-limited,incremental,oauth`).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use zendesk_sim::{Mutation, SimConfig, SimHandle, Simulator};

mod summary;

use super::truth::{assert_clean, tally, Expect, FirstImport, KindTally};
use super::{
    comment_split, kill_rounds, per_ticket_comments, rate_limited_account, run_to_end,
    warm_component_cache, write_connection_file, Kills, Site, BIN,
};
use connector_store_tests::stores::StoreKind;
use summary::{print_summary, Row};

/// What one phase did and found.
struct Outcome {
    kills: Kills,
    tallies: Vec<KindTally>,
    /// Token endpoint calls during the kills and in all.
    rotations: Option<(u64, u64)>,
    /// What went wrong besides the records: failed syncs, a lost token.
    problems: Vec<String>,
}

impl Outcome {
    /// A phase's outcome; the syncs that failed on their own during the
    /// kills join its problems.
    fn new(
        kills: Kills,
        tallies: Vec<KindTally>,
        rotations: Option<(u64, u64)>,
        mut problems: Vec<String>,
    ) -> Self {
        problems.extend(kills.failures.iter().cloned());
        Outcome {
            kills,
            tallies,
            rotations,
            problems,
        }
    }
}

const PHASES: [&str; 4] = ["first-import", "rate-limited", "incremental", "oauth"];

pub(super) fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a soak of several minutes, run by hand; see the module's documentation"]
async fn soak_100_kills() {
    let total = env_number("SOAK_KILLS").unwrap_or(100) as usize;
    let seed = env_number("SOAK_SEED").unwrap_or_else(|| fastrand::u64(..));
    let chosen = std::env::var("SOAK_PHASES").unwrap_or_else(|_| PHASES.join(","));
    for name in chosen.split(',') {
        assert!(PHASES.contains(&name), "unknown phase {name:?}: {PHASES:?}");
    }
    eprintln!("soak seed: {seed} (replay with SOAK_SEED={seed} SOAK_KILLS={total})");
    let binary = std::fs::metadata(BIN).and_then(|m| m.modified()).ok();
    let warm = tempfile::tempdir().unwrap();
    warm_component_cache(warm.path());

    let mut rows = Vec::new();
    for (index, phase) in PHASES.into_iter().enumerate() {
        if !chosen.split(',').any(|name| name == phase) {
            continue;
        }
        // A quarter of the kills each; each phase its own schedule, so
        // that one phase replays alone.
        let rounds = total / 4 + usize::from(index < total % 4);
        let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(index as u64));
        eprintln!("== {phase}: {rounds} kills");
        let started = Instant::now();
        let outcome = match phase {
            "first-import" => first_import(rounds, &mut rng).await,
            "rate-limited" => rate_limited_import(rounds, &mut rng).await,
            "incremental" => incremental(rounds, &mut rng).await,
            _ => oauth_rotation(rounds, &mut rng).await,
        };
        let wall = started.elapsed();
        for t in &outcome.tallies {
            eprintln!(
                "{phase}: {} {} of {} expected; lost {}, duplicated {}, unexpected {}, stale {}",
                t.kind,
                t.synced,
                t.expected,
                t.lost.len(),
                t.duplicated.len(),
                t.unexpected.len(),
                t.stale.len()
            );
        }
        rows.push(Row {
            phase,
            outcome,
            wall,
        });
        let last = &rows[rows.len() - 1].outcome;
        if !last.tallies.iter().all(KindTally::is_clean) || !last.problems.is_empty() {
            print_summary(&rows, seed);
            eprintln!("soak seed: {seed}: replay with SOAK_SEED={seed} SOAK_PHASES={phase}");
            assert!(last.problems.is_empty(), "{}", last.problems.join("\n"));
            assert_clean(&last.tallies);
        }
    }
    print_summary(&rows, seed);
    let rebuilt = std::fs::metadata(BIN).and_then(|m| m.modified()).ok() != binary;
    if rebuilt {
        eprintln!("note: {BIN} was rebuilt during the soak");
    }
}

/// The simulated account, and its site (a SQLite store) with its API
/// token connection file.
pub(super) async fn account(config: SimConfig) -> (SimHandle, Site) {
    let sim = Simulator::start_settled(config).await.unwrap();
    let site = Site::new(StoreKind::Sqlite);
    write_connection_file(&sim, &site);
    (sim, site)
}

/// Kills at random moments until `wanted` of them landed mid-sync (at most
/// six times as many syncs started). Each epoch kills one workload until a
/// sync ends before its kill; then `settle(more)` finishes it, checks it
/// and, when `more` kills follow, prepares the next workload.
#[allow(clippy::too_many_arguments)]
async fn kill_epochs(
    sim: &SimHandle,
    site: &Site,
    extra: &[&str],
    wanted: usize,
    window_ms: std::ops::Range<u64>,
    rng: &mut fastrand::Rng,
    mut before: impl FnMut(),
    mut settle: impl FnMut(bool),
) -> Kills {
    let mut all = Kills::default();
    loop {
        let left = wanted - all.mid_sync;
        let kills = kill_rounds(sim, site, extra, left, window_ms.clone(), rng, true, |_| {
            before()
        })
        .await;
        all.add(kills);
        let more = all.mid_sync < wanted && all.rounds < wanted * 6;
        settle(more);
        if !more {
            return all;
        }
    }
}

/// Adds one epoch's tallies to a phase's.
fn merge(into: &mut Vec<KindTally>, more: Vec<KindTally>) {
    if into.is_empty() {
        *into = more;
        return;
    }
    for (total, epoch) in into.iter_mut().zip(more) {
        total.expected += epoch.expected;
        total.synced += epoch.synced;
        total.lost.extend(epoch.lost);
        total.duplicated.extend(epoch.duplicated);
        total.unexpected.extend(epoch.unexpected);
        total.stale.extend(epoch.stale);
    }
}

/// Everything synced forgotten, for the next first import: records, raw
/// records, cursors and the connector's storage; the credentials stay (an
/// OAuth chain goes on).
fn fresh_import(site: &Site) {
    let db = rusqlite::Connection::open(site.sqlite_path()).unwrap();
    db.execute_batch(
        "BEGIN; DELETE FROM records; DELETE FROM raw_records; DELETE FROM streams;
         DELETE FROM kv; COMMIT;",
    )
    .unwrap();
}

/// (1) First imports of a medium account, in small pages: each killed
/// until it ends, checked, then started over.
async fn first_import(rounds: usize, rng: &mut fastrand::Rng) -> Outcome {
    let (sim, site) = account(SimConfig {
        tickets: 10_000,
        users: 800,
        organizations: 40,
        history_days: 60,
        ..SimConfig::default()
    })
    .await;
    let extra = ["--page-size", "50"];
    let first_import = FirstImport::from_now(&sim);
    let (mut tallies, mut problems) = (Vec::new(), Vec::new());
    let kills = kill_epochs(
        &sim,
        &site,
        &extra,
        rounds,
        150..1200,
        rng,
        || {},
        |more| {
            problems.extend(run_to_end(&sim, &site, "sync", &extra).err());
            merge(
                &mut tallies,
                tally(
                    site.records().as_ref(),
                    &sim.ground_truth("acme"),
                    Expect::Everything(first_import),
                ),
            );
            if more {
                fresh_import(&site);
            }
        },
    )
    .await;
    sim.shutdown().await;
    Outcome::new(kills, tallies, None, problems)
}

/// (2) First imports under Enterprise budgets, a simulated minute a
/// second: the comment history splits between the events export and the
/// per-ticket endpoint, and kills land in the split's probe and the
/// per-ticket queue. Each import is killed until it ends, then checked.
async fn rate_limited_import(rounds: usize, rng: &mut fastrand::Rng) -> Outcome {
    let (sim, site) = account(rate_limited_account()).await;
    let first_import = FirstImport::from_now(&sim);
    let (mut tallies, mut problems) = (Vec::new(), Vec::new());
    let kills = kill_epochs(
        &sim,
        &site,
        &[],
        rounds,
        200..1500,
        rng,
        || {},
        |more| {
            problems.extend(run_to_end(&sim, &site, "sync", &[]).err());
            if per_ticket_comments(&site) == 0 {
                problems.push("the history was not split: nothing came per ticket".into());
            }
            let expect = Expect::SplitAt(comment_split(&site), first_import);
            merge(
                &mut tallies,
                tally(site.records().as_ref(), &sim.ground_truth("acme"), expect),
            );
            if more {
                fresh_import(&site);
            }
        },
    )
    .await;
    sim.shutdown().await;
    Outcome::new(kills, tallies, None, problems)
}

/// Changes to the account between two kills: tickets created, updated,
/// commented, touched and deleted; users created, edited and deleted;
/// organizations edited. Returns how many mutations were refused.
fn mutate(sim: &SimHandle, rng: &mut fastrand::Rng, created_users: &mut Vec<u64>) -> usize {
    let truth = sim.ground_truth("acme");
    let live: Vec<u64> = truth.tickets.live().into_iter().collect();
    let users: Vec<u64> = truth.users.live().into_iter().collect();
    let orgs: Vec<u64> = truth.organizations.live().into_iter().collect();
    let mut changes = vec![Mutation::CreateTickets {
        count: rng.usize(10..=60),
    }];
    for _ in 0..rng.usize(5..=20) {
        changes.push(Mutation::SetStatus {
            ticket_id: live[rng.usize(..live.len())],
            status: ["open", "pending", "hold", "solved"][rng.usize(..4)].into(),
        });
        changes.push(Mutation::AddComment {
            ticket_id: live[rng.usize(..live.len())],
            public: rng.bool(),
        });
    }
    changes.push(Mutation::TouchTickets {
        ticket_ids: (0..rng.usize(1..=5))
            .map(|_| live[rng.usize(..live.len())])
            .collect(),
    });
    let deleted: BTreeSet<u64> = (0..rng.usize(1..=3))
        .map(|_| live[rng.usize(..live.len())])
        .collect();
    changes.push(Mutation::DeleteTickets {
        ticket_ids: deleted.into_iter().collect(),
    });
    changes.push(Mutation::UpdateUser {
        user_id: users[rng.usize(..users.len())],
    });
    changes.push(Mutation::UpdateOrganization {
        organization_id: orgs[rng.usize(..orgs.len())],
    });
    // Only users made here are deleted: never the admin the sync signs in as.
    if !created_users.is_empty() && rng.bool() {
        let user_id = created_users.swap_remove(rng.usize(..created_users.len()));
        changes.push(Mutation::DeleteUser { user_id });
    }
    let refused = changes
        .into_iter()
        .filter(|change| sim.mutate("acme", change.clone()).is_err())
        .count();
    let count = rng.usize(1..=4);
    created_users.extend(sim.mutate("acme", Mutation::CreateUsers { count }).unwrap());
    refused
}

/// Simulated seconds between two syncs of the incremental phase: changes
/// reach the exports once older than a minute.
const STEP_SECS: std::ops::RangeInclusive<u64> = 61..=75;

/// (3) Incremental syncs after a clean first import, the account changed
/// and its clock moved on past the exports' one-minute exclusion before
/// every kill.
async fn incremental(rounds: usize, rng: &mut fastrand::Rng) -> Outcome {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The clock starts far enough behind this machine's to stay behind the
    // syncs' cap (a minute before the host's clock) through every step: a
    // step per sync started, at most six per kill (see `kill_epochs`).
    let behind = (rounds as u64 * 6 + 2) * STEP_SECS.end() + 600;
    let (sim, site) = account(SimConfig {
        tickets: 2000,
        users: 300,
        organizations: 30,
        history_days: 60,
        epoch: Some(now - behind as i64),
        ..SimConfig::default()
    })
    .await;
    // People and organizations are read on every sync, not daily.
    let file = site.dir().join("acme.toml");
    let every_sync = "[refresh]\nusers = \"every-sync\"\norganizations = \"every-sync\"\n";
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + every_sync).unwrap();
    let extra = ["--page-size", "10"];
    let mut problems = Vec::new();
    let first_import = FirstImport::from_now(&sim);
    problems.extend(run_to_end(&sim, &site, "sync", &extra).err());
    let first_import = first_import.completed(&sim);
    let mut changes = fastrand::Rng::with_seed(rng.u64(..));
    let mut created_users = Vec::new();
    let mut refused = 0;
    let before = || {
        refused += mutate(&sim, &mut changes, &mut created_users);
        sim.advance_time(changes.u64(STEP_SECS));
    };
    let kills = kill_epochs(&sim, &site, &extra, rounds, 10..250, rng, before, |_| {}).await;
    eprintln!("incremental: {refused} mutations refused by the simulator");
    sim.advance_time(*STEP_SECS.end());
    problems.extend(run_to_end(&sim, &site, "sync", &extra).err());
    let truth = sim.ground_truth("acme");
    let tallies = tally(
        site.records().as_ref(),
        &truth,
        Expect::Everything(first_import),
    );
    sim.shutdown().await;
    Outcome::new(kills, tallies, None, problems)
}

/// Calls of the simulator's token endpoint: one per rotation.
pub(super) fn token_calls(sim: &SimHandle) -> u64 {
    sim.request_counts()
        .get("oauth_tokens")
        .copied()
        .unwrap_or(0)
}

/// The connection file of the account's OAuth client, its secret and
/// first refresh token in files beside it.
pub(super) fn write_oauth_connection_file(sim: &SimHandle, dir: &Path) {
    let client = sim.oauth_client("acme");
    let secret = |name: &str, value: &str| {
        let path = dir.join(name);
        std::fs::write(&path, value).unwrap();
        path.display().to_string()
    };
    std::fs::write(
        dir.join("acme.toml"),
        format!(
            "plugin = \"zendesk\"\nauth = \"oauth_refresh_token\"\n[config]\n\
             subdomain = \"acme\"\noauth_client_id = \"{}\"\n[secrets]\n\
             oauth_client_secret = {{ file = {:?} }}\n\
             oauth_refresh_token = {{ file = {:?} }}\n",
            client.client_id,
            secret("client_secret", &client.client_secret),
            secret("refresh_token", &client.refresh_token),
        ),
    )
    .unwrap();
}

/// An account whose OAuth access tokens live 61 seconds (the host
/// refreshes a minute early, so about a second of use), and its OAuth
/// connection file.
pub(super) async fn oauth_account() -> (SimHandle, Site) {
    let (sim, site) = account(SimConfig {
        tickets: 3000,
        users: 300,
        organizations: 30,
        history_days: 60,
        access_token_ttl_secs: 61,
        ..SimConfig::default()
    })
    .await;
    write_oauth_connection_file(&sim, site.dir());
    (sim, site)
}

/// (4) An OAuth connection whose refresh token rotates on every refresh,
/// its access tokens good for 61 seconds (the host refreshes a minute
/// early, so about a second of use): first imports killed at random
/// moments, changes half-way through the kills (the clock moved on two
/// minutes, which voids the access token in use); after each import the
/// connection must still authenticate with the refresh token it stored
/// last, then the next starts over, the synced data forgotten and the
/// token chain going on.
async fn oauth_rotation(rounds: usize, rng: &mut fastrand::Rng) -> Outcome {
    let (sim, site) = oauth_account().await;
    let extra = ["--page-size", "50"];
    let first_import = FirstImport::from_now(&sim);
    let mut started = 0;
    let before = || {
        started += 1;
        if started == rounds / 2 {
            sim.mutate("acme", Mutation::CreateTickets { count: 30 })
                .unwrap();
            let comment = Mutation::AddComment {
                ticket_id: 7,
                public: true,
            };
            sim.mutate("acme", comment).unwrap();
            // Past the exports' exclusion; the access token in use expires
            // at the simulator, so the next request is refused (401) first.
            sim.advance_time(120);
        }
    };
    let (mut tallies, mut problems) = (Vec::new(), Vec::new());
    let (mut during, mut settled) = (0, 0);
    let kills = kill_epochs(&sim, &site, &extra, rounds, 50..1500, rng, before, |more| {
        during += token_calls(&sim) - settled;
        problems.extend(run_to_end(&sim, &site, "sync", &extra).err());
        problems.extend(still_authenticates(&sim, &site).err());
        merge(
            &mut tallies,
            tally(
                site.records().as_ref(),
                &sim.ground_truth("acme"),
                Expect::Everything(first_import),
            ),
        );
        if more {
            fresh_import(&site);
            write_oauth_connection_file(&sim, site.dir());
        }
        settled = token_calls(&sim);
    })
    .await;
    if during == 0 {
        problems.push("no refresh token rotated during the kills".into());
    }
    let rotations = Some((during, token_calls(&sim)));
    sim.shutdown().await;
    Outcome::new(kills, tallies, rotations, problems)
}

/// The token was never lost: with the last access token expired at the
/// simulator, `check` must refresh with the stored refresh token.
fn still_authenticates(sim: &SimHandle, site: &Site) -> Result<(), String> {
    let before = token_calls(sim);
    sim.advance_time(62);
    run_to_end(sim, site, "check", &[])?;
    match token_calls(sim) > before {
        true => Ok(()),
        false => {
            Err("check passed without refreshing: the stored refresh token went untried".into())
        }
    }
}
