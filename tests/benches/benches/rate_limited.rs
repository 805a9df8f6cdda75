//! A first import under Zendesk's real budgets (time-scaled): 20,000
//! tickets with about 4 comments each, an account budget of 700 requests a
//! minute (Enterprise) and 10 incremental-export requests a minute, through
//! the host and the Zendesk component against the simulator. Prints the
//! simulated minutes the import took against the single-endpoint bound (the
//! export requests a plan reading everything from the incremental exports
//! needs, at 10 a minute), the 429s, the requests per endpoint, and checks
//! the database against the ground truth.
//!
//! `RATE_TICKETS` (default 20000), `RATE_ACCOUNT` (requests a minute,
//! default 700), `RATE_SCALE` (simulated seconds per real second, default
//! 2: rate-limit headers count whole real seconds, so a larger scale
//! coarsens every wait), `RATE_RESERVE` (the host's reserve, default
//! 0.1), `RATE_HISTORY_DAYS` (default 90), `RATE_ARCHIVED` (the share of
//! tickets archived, closed over 120 days before the start: default 0; a
//! share needs a history longer than 120 days), `RATE_AUDITS` (0: the
//! connector's `use_audit_list` off, today's two-way split; default 1) and
//! `RATE_WINDOW_DAYS` (the import's history; default: all of it) change the
//! run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::ConnectionRecipe;
use connector_runtime::{ConnectionSettings, Limits, Runtime};
use connector_store_sqlite::Database;
use connector_store_sqlite::RecordStore;
use connector_sync::{self as sync, Event, SyncOptions};
use serde_json::{json, Value};
use zendesk_sim::{RateLimits, SimConfig, Simulator};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Pauses per (stream, reason): how many, and simulated minutes.
type Pauses = BTreeMap<(String, String), (u32, f64)>;

/// Export pages of `n` items, 1000 a page.
fn pages(n: usize) -> u64 {
    n.div_ceil(1000) as u64
}

/// Rows of `kind` in the database: keys (chat lines folded into their
/// comment), and keys written by more than one stream.
fn keys(db: &Database, kind: &str, deleted: bool) -> (BTreeSet<u64>, i64) {
    let db = db.lock();
    let mut stmt = db
        .prepare("SELECT key FROM records WHERE kind = ?1 AND deleted = ?2")
        .unwrap();
    let keys: BTreeSet<u64> = stmt
        .query_map((kind, i64::from(deleted)), |r| r.get::<_, String>(0))
        .unwrap()
        .map(|k| k.unwrap().split('-').next().unwrap().parse().unwrap())
        .collect();
    let twice: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT key FROM records WHERE kind = ?1 GROUP BY key HAVING COUNT(*) > 1)",
            [kind],
            |r| r.get(0),
        )
        .unwrap();
    (keys, twice)
}

/// A value the connector keeps in its storage.
fn stored(db: &Database, key: &str) -> Value {
    let value: Vec<u8> = db
        .lock()
        .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
        .unwrap();
    serde_json::from_slice(&value).unwrap()
}

fn main() {
    let tickets: usize = env("RATE_TICKETS", 20_000);
    let account: u32 = env("RATE_ACCOUNT", 700);
    let scale: f64 = env("RATE_SCALE", 2.0);
    let reserve: f64 = env("RATE_RESERVE", 0.1);
    let history_days: u32 = env("RATE_HISTORY_DAYS", 90);
    let archived_share: f64 = env("RATE_ARCHIVED", 0.0);
    let use_audit_list = env("RATE_AUDITS", 1u8) != 0;
    let window_days: Option<i64> = std::env::var("RATE_WINDOW_DAYS")
        .ok()
        .and_then(|v| v.parse().ok());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = SimConfig {
        tickets,
        comments_per_ticket: 4,
        users: 2000,
        organizations: 200,
        history_days,
        archived_share,
        rate_limits: Some(RateLimits {
            account_per_minute: account,
            incremental_per_minute: 10,
            send_retry_after: true,
        }),
        ..SimConfig::default()
    }
    .behind_real_time();
    let epoch = config.epoch.expect("set behind real time");
    let truth = &zendesk_sim::ground_truth(&config)["acme"];
    rt.block_on(async {
        let sim = Simulator::start_settled(config.clone()).await.unwrap();
        let admin = sim.admin_credentials("acme");
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("rate.db")).unwrap();
        let runtime = Arc::new(Runtime::new(Limits::default(), Some(dir.path().join("cache"))).unwrap());
        let loaded = runtime.load(connector_host::context::builtin_zendesk()).unwrap();
        let client = HttpsClient::new(NetworkOptions {
            resolve: ResolveOverrides::parse(&[format!("acme.zendesk.com:443:{}", sim.https_addr())]).unwrap(),
            extra_ca_pem: sim.ca_cert_pem().into_bytes(),
            ..NetworkOptions::default()
        })
        .unwrap();
        // The whole history: every ticket is imported (archived tickets span a history of
        // the same length before the others').
        let window = window_days.unwrap_or(i64::from(2 * history_days + 1));
        let start_date = zendesk_connector::time::format_rfc3339(epoch - window * 86_400);
        let recipe = Arc::new(ConnectionRecipe {
            runtime,
            loaded,
            client: Arc::new(client),
            settings: ConnectionSettings {
                name: "acme".into(),
                config: json!({"subdomain": "acme", "email": admin.email, "api_token": admin.api_token, "start_date": start_date, "use_audit_list": use_audit_list}),
                auth_scheme: Some("api_token".into()),
                stores: connector_runtime::HostStores::new(db.clone()),
                storage_quota: StorageQuota::default(),
                log_limits: LogLimits::default(),
                shared: Default::default(),
            },
        });
        let mut first = recipe.open().await.unwrap();
        let streams = sync::plan(&first.discover().await.unwrap(), &[]).unwrap();
        drop(first);
        sim.reset_counts();
        // The simulated clock runs `scale` times real time from here.
        sim.set_time_scale(scale);
        let (sim_started, started) = (sim.now(), Instant::now());
        let options = SyncOptions {
            budget_reserve: reserve,
            ..SyncOptions::default()
        };
        let pauses: Arc<Mutex<Pauses>> = Arc::default();
        let seen = pauses.clone();
        let progress = Arc::new(move |event| {
            if let Event::Paused { stream, wait, reason } = event {
                // Keep what a 429 said; other reasons by kind.
                let reason = if reason.starts_with("rate limited") {
                    reason
                } else {
                    reason.split(':').next().unwrap_or_default().to_owned()
                };
                let mut pauses = seen.lock().unwrap();
                let entry = pauses.entry((stream, reason)).or_insert((0, 0.0));
                entry.0 += 1;
                entry.1 += wait.as_secs_f64() * scale / 60.0;
            }
        });
        let report = sync::run(connector_sync::connection_factory(recipe.clone()), streams, RecordStore::new(db.clone(), "acme"), options, progress).await;
        let (sim_minutes, real) = ((sim.now() - sim_started) as f64 / 60.0, started.elapsed());
        sim.set_time_scale(1.0);
        assert!(report.succeeded(), "{report:?}");

        // Against the ground truth: every live ticket with every comment,
        // each comment once over both comment streams (with a window: the
        // tickets imported, each with every comment).
        let (live, twice_tickets) = keys(&db, "conversation", false);
        let (tombstones, _) = keys(&db, "conversation", true);
        let (messages, twice) = keys(&db, "message", false);
        if window_days.is_none() {
            assert_eq!(live, truth.tickets.live(), "live tickets");
        }
        assert!(tombstones.is_subset(&truth.tickets.deleted));
        assert_eq!(twice + twice_tickets, 0, "a record written twice");
        let split = stored(&db, "comment-split")["start"].as_u64().unwrap() as i64;
        // Nothing is deleted while the bench runs: every deleted ticket was
        // deleted before the import. With a window, live tickets it did not
        // import have no comments.
        let all_live = truth.tickets.live();
        let expected: BTreeSet<u64> = truth
            .comments_with_split_at(split, epoch)
            .into_iter()
            .filter(|c| {
                let ticket = truth.comment_tickets[c];
                live.contains(&ticket) || !all_live.contains(&ticket)
            })
            .collect();
        let missing: Vec<&u64> = expected.difference(&messages).take(5).collect();
        let unexpected: Vec<&u64> = messages.difference(&expected).take(5).collect();
        assert!(missing.is_empty() && unexpected.is_empty(), "comments: missing {missing:?}, unexpected {unexpected:?}");
        let (users, _) = keys(&db, "person", false);
        assert_eq!(users, truth.users.live(), "users");

        let counts = sim.request_counts();
        let events = truth.comments.versions.len(); // one audit per comment in this dataset
        let bound_requests = pages(truth.tickets.versions.len())
            + pages(truth.users.versions.len())
            + pages(truth.organizations.versions.len())
            + pages(events);
        let bound = bound_requests as f64 / 10.0;
        let rate_limited: u64 = report.streams.iter().map(|s| s.rate_limited).sum();
        let first_comment = truth.comments.versions.values().map(|v| v.updated_at).min().unwrap();
        let last_comment = truth.comments.versions.values().map(|v| v.updated_at).max().unwrap();
        let split_share = (split - first_comment) as f64 / (last_comment - first_comment) as f64;
        let export_requests: u64 = counts
            .iter()
            .filter(|(name, _)| name.starts_with("incremental_"))
            .map(|(_, n)| n)
            .sum();
        let account_requests: u64 = counts.values().sum::<u64>() - export_requests;
        println!("| figure | value |");
        println!("|---|---|");
        println!("| dataset | {tickets} tickets ({} archived), {} comments, {} users, {} organizations, {history_days} days |", truth.archived.len(), truth.comments.versions.len(), truth.users.versions.len(), truth.organizations.versions.len());
        println!("| budgets | account {account}/min, incremental exports 10/min, host reserve {reserve} |");
        println!("| planner | {} |", if use_audit_list { "audit list (use_audit_list on)" } else { "two-way, per ticket (use_audit_list off)" });
        println!("| imported | {} tickets, {} comments, from {start_date} |", live.len(), messages.len());
        println!("| first import | **{sim_minutes:.2} simulated minutes** ({:.1} s real at {scale}x) |", real.as_secs_f64());
        println!("| single-endpoint bound | {bound_requests} export requests / 10 per min = {bound:.1} min |");
        println!("| ratio | **{:.2}** (target <= 0.7) |", sim_minutes / bound);
        println!("| 429s | {rate_limited} |");
        println!("| requests | {export_requests} to the exports, {account_requests} on the account budget |");
        println!("| per endpoint | {} |", counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
        println!("| split | comments before {:.0}% of the history came from the audit list or per ticket ({}) |", split_share * 100.0, stored(&db, "comment-split"));
        println!("| ground truth | {} live tickets, {} comments, {} users: equal |", live.len(), messages.len(), users.len());
        for ((stream, reason), (count, minutes)) in pauses.lock().unwrap().iter() {
            eprintln!("pauses: {stream} {reason}: {count} ({minutes:.2} simulated min)");
        }
        for stream in &report.streams {
            eprintln!(
                "{:<26} {:>7} records {:>5} pages {:>6} requests {:>3} 429s {:>7.1}s",
                stream.stream,
                stream.records,
                stream.pages,
                stream.requests,
                stream.rate_limited,
                stream.duration.as_secs_f64()
            );
        }
        sim.shutdown().await;
    });
}
