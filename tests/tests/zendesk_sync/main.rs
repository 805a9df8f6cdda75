//! The Zendesk connector, run by the host against the Zendesk simulator:
//! a first import and incremental syncs end with exactly the simulator's
//! ground truth (nothing missing, nothing duplicated, deletions applied),
//! at a known API cost; OAuth tokens rotate durably; faults are retried.
//! The tests where the store matters (commits, cursors, tokens) run on
//! SQLite and on PostgreSQL (`name::sqlite`, `name::postgres`).

mod window;
mod wire_faults;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use connector_host::store::Store;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::ConnectionRecipe;
use connector_runtime::{ConnectionSettings, HostStores, Limits, Runtime};
use connector_store_tests::contents;
use connector_store_tests::on_both_stores;
use connector_store_tests::stores::{Place, StoreKind};
use connector_sync::{self as sync, Event, Outcome, StreamReport, SyncOptions, SyncReport};
use serde_json::{json, Value};
use zendesk_sim::{Fault, FaultKind, Mutation, SimConfig, SimHandle, Simulator};

struct Env {
    sim: SimHandle,
    /// The simulated time before the first import (Unix seconds): tickets
    /// deleted earlier get no messages.
    first_import: i64,
    runtime: Arc<Runtime>,
    db: Store,
    _place: Place,
}

/// A simulated account with `n` tickets and the default everything else.
fn tickets(n: usize) -> SimConfig {
    SimConfig {
        tickets: n,
        ..SimConfig::default()
    }
}

/// The simulator with `config`, and a SQLite store.
async fn env(config: SimConfig) -> Env {
    env_on(StoreKind::Sqlite, config).await
}

/// The simulator with `config`, and a new store of `kind`.
async fn env_on(kind: StoreKind, config: SimConfig) -> Env {
    let sim = Simulator::start_settled(config).await.unwrap();
    let place = kind.fresh();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    Env {
        first_import: sim.now(),
        sim,
        runtime: Arc::new(Runtime::new(Limits::default(), Some(cache)).unwrap()),
        db: Store::open(&place.db_argument()).unwrap(),
        _place: place,
    }
}

impl Env {
    /// The host's network: `acme.zendesk.com` pinned to the simulator, whose CA it trusts.
    fn network(&self) -> NetworkOptions {
        NetworkOptions {
            resolve: ResolveOverrides::parse(&[format!(
                "acme.zendesk.com:443:{}",
                self.sim.https_addr()
            )])
            .unwrap(),
            extra_ca_pem: self.sim.ca_cert_pem().into_bytes(),
            ..NetworkOptions::default()
        }
    }

    fn recipe(&self, name: &str, config: Value, auth: &str) -> Arc<ConnectionRecipe> {
        self.recipe_over(self.network(), name, config, auth)
    }

    /// A connection whose host reaches the network with `network`.
    fn recipe_over(
        &self,
        network: NetworkOptions,
        name: &str,
        config: Value,
        auth: &str,
    ) -> Arc<ConnectionRecipe> {
        let client = HttpsClient::new(network).unwrap();
        Arc::new(ConnectionRecipe {
            runtime: self.runtime.clone(),
            loaded: self
                .runtime
                .load(connector_host::context::builtin_zendesk())
                .unwrap(),
            client: Arc::new(client),
            settings: ConnectionSettings {
                name: name.into(),
                config,
                auth_scheme: Some(auth.into()),
                stores: HostStores {
                    storage: self.db.key_value(),
                    tokens: self.db.tokens(),
                },
                storage_quota: StorageQuota::default(),
                log_limits: LogLimits::default(),
                shared: Default::default(),
            },
        })
    }

    fn token_recipe(&self, name: &str) -> Arc<ConnectionRecipe> {
        self.recipe(name, self.token_config("acme"), "api_token")
    }

    /// The config of the admin's API token on `subdomain` (the account is always `acme`).
    fn token_config(&self, subdomain: &str) -> Value {
        let admin = self.sim.admin_credentials("acme");
        json!({"subdomain": subdomain, "email": admin.email, "api_token": admin.api_token})
    }

    /// Applies a change to the account; the ids of the tickets or users it made.
    fn mutate(&self, change: Mutation) -> Vec<u64> {
        self.sim.mutate("acme", change).unwrap()
    }

    /// Every record of `connection` in the database.
    fn records(&self, connection: &str) -> Vec<contents::StoredRecord> {
        contents::all_records(self.db.records(connection).as_ref())
    }

    /// Ids of `kind` in the database: (live, deleted).
    fn ids(&self, connection: &str, kind: &str) -> (BTreeSet<u64>, BTreeSet<u64>) {
        contents::ids(&self.records(connection), kind)
    }

    /// The SQLite database, for the tests that read it with SQL.
    fn sqlite(&self) -> &connector_store_sqlite::Database {
        match &self.db {
            Store::Sqlite { db, .. } => db,
            Store::Postgres(_) => panic!("this test reads the SQLite store's tables"),
        }
    }

    /// The database holds exactly the simulator's ground truth.
    fn assert_matches_ground_truth(&self, connection: &str) {
        let truth = self.sim.ground_truth("acme");
        let (live, deleted) = self.ids(connection, "conversation");
        assert_eq!(live, truth.tickets.live(), "live tickets");
        assert_eq!(deleted, truth.tickets.deleted, "deleted tickets");
        let (live, _) = self.ids(connection, "person");
        assert_eq!(live, truth.users.live(), "users");
        let (live, _) = self.ids(connection, "account");
        assert_eq!(live, truth.organizations.live(), "organizations");
        let (messages, _) = self.ids(connection, "message");
        assert_eq!(
            messages,
            truth.comments_delivered(self.first_import),
            "comments"
        );
        self.assert_no_absent_conversations(connection);
    }

    /// Every message and change names a conversation the database holds
    /// (live or a tombstone).
    fn assert_no_absent_conversations(&self, connection: &str) {
        let records = self.records(connection);
        let (live, deleted) = contents::ids(&records, "conversation");
        let named = contents::named_conversations(&records);
        assert!(!named.is_empty(), "no message or change to check");
        let absent = zendesk_sim::absent_conversations(&(&live | &deleted), named);
        assert!(absent.is_empty(), "absent conversations: {absent:?}");
    }
}

async fn run_sync(db: &Store, recipe: &Arc<ConnectionRecipe>, options: SyncOptions) -> SyncReport {
    run_watched_sync(db, recipe, options, Arc::new(|_| {})).await
}

async fn run_watched_sync(
    db: &Store,
    recipe: &Arc<ConnectionRecipe>,
    options: SyncOptions,
    progress: sync::Progress,
) -> SyncReport {
    let mut first = recipe.open().await.unwrap();
    let streams = sync::plan(&first.discover().await.unwrap(), &options.streams).unwrap();
    drop(first);
    db.sync(
        &recipe.settings.name,
        connector_sync::connection_factory(recipe.clone()),
        streams,
        options,
        progress,
    )
    .await
}

/// A sync of every stream with the default options, each stream done.
async fn sync_to_the_end(db: &Store, recipe: &Arc<ConnectionRecipe>) -> SyncReport {
    let report = run_sync(db, recipe, SyncOptions::default()).await;
    assert_all_done(&report);
    report
}

/// The report of one stream of a sync.
fn stream<'a>(report: &'a SyncReport, name: &str) -> &'a StreamReport {
    report
        .streams
        .iter()
        .find(|s| s.stream == name)
        .unwrap_or_else(|| panic!("no report of {name}: {report:?}"))
}

fn assert_all_done(report: &SyncReport) {
    for stream in &report.streams {
        assert_eq!(stream.outcome, Outcome::Done, "{}", stream.stream);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_tell_the_operator_how_far_the_import_is_and_the_time_left() {
    let env = env(SimConfig {
        history_days: 60,
        ..tickets(400)
    })
    .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = SyncOptions {
        streams: vec!["tickets".into()],
        page_size: Some(50),
        ..SyncOptions::default()
    };
    let watch: sync::Progress = Arc::new(move |event| seen.lock().unwrap().push(event));
    assert_all_done(&run_watched_sync(&env.db, &env.token_recipe("acme"), options, watch).await);
    let mut tickets = Vec::new();
    for event in events.lock().unwrap().iter() {
        if let Event::Page {
            stream,
            progress,
            time_left,
            ..
        } = event
        {
            if stream == "tickets" {
                tickets.push((progress.expect("the tickets export says"), *time_left));
            }
        }
    }
    assert!(
        tickets.len() >= 8,
        "{} pages of 50 of 400 tickets",
        tickets.len()
    );
    let (last, _) = tickets[tickets.len() - 1];
    assert_eq!(last.done, last.total, "caught up at the end");
    for pair in tickets.windows(2) {
        assert!(pair[0].0.done <= pair[1].0.done, "{tickets:?}");
        assert_eq!(pair[0].0.total, pair[1].0.total, "{tickets:?}");
    }
    let middle = &tickets[1..tickets.len() - 1];
    assert!(
        middle.iter().any(|(p, _)| 0 < p.done && p.done < p.total),
        "{tickets:?}"
    );
    assert!(middle.iter().any(|(_, left)| left.is_some()), "{tickets:?}");
}

on_both_stores!(async a_first_import_and_incremental_syncs_match_the_ground_truth);
async fn a_first_import_and_incremental_syncs_match_the_ground_truth(store: StoreKind) {
    let env = env_on(
        store,
        SimConfig {
            history_days: 60,
            ..tickets(400)
        },
    )
    .await;
    let recipe = env.token_recipe("acme");
    sync_to_the_end(&env.db, &recipe).await;
    env.assert_matches_ground_truth("acme");
    // Tickets deleted before the import are tombstones without messages.
    let truth = env.sim.ground_truth("acme");
    let deleted_before = truth.deleted_before(env.first_import);
    assert!(deleted_before.len() > 5, "{deleted_before:?}");
    let (messages, _) = env.ids("acme", "message");
    assert!(truth
        .comment_tickets
        .iter()
        .all(|(comment, ticket)| !deleted_before.contains(ticket) || !messages.contains(comment)));

    // API cost of the first import: one page per 1000 items per export.
    let counts = env.sim.request_counts();
    let total: u64 = counts.values().sum();
    assert!(total <= 20, "{total} requests: {counts:?}");

    // Changes while nobody syncs: new tickets, a reply, a deletion.
    let created = env.mutate(Mutation::CreateTickets { count: 5 });
    env.mutate(Mutation::AddComment {
        ticket_id: 3,
        public: true,
    });
    env.mutate(Mutation::DeleteTickets {
        ticket_ids: vec![7],
    });
    env.sim.advance_time(120);
    env.sim.reset_counts();
    let report = sync_to_the_end(&env.db, &recipe).await;
    env.assert_matches_ground_truth("acme");
    let (live, deleted) = env.ids("acme", "conversation");
    assert!(created.iter().all(|id| live.contains(id)));
    assert!(deleted.contains(&7));
    // Only changes were fetched.
    let ticket_records = stream(&report, "tickets").records;
    assert!(
        ticket_records < 20,
        "{ticket_records} tickets fetched again"
    );

    // A ticket created and deleted while nobody syncs was never imported:
    // a tombstone, with no message or change.
    let created = env.mutate(Mutation::CreateTickets { count: 2 });
    env.mutate(Mutation::DeleteTickets {
        ticket_ids: vec![created[0]],
    });
    env.sim.advance_time(120);
    sync_to_the_end(&env.db, &recipe).await;
    let (live, deleted) = env.ids("acme", "conversation");
    assert!(deleted.contains(&created[0]) && live.contains(&created[1]));
    let truth = env.sim.ground_truth("acme");
    let (messages, _) = env.ids("acme", "message");
    let of = |ticket: u64| -> BTreeSet<u64> {
        let comments = truth.comment_tickets.iter();
        comments
            .filter(|(_, t)| **t == ticket)
            .map(|(c, _)| *c)
            .collect()
    };
    assert!(!of(created[0]).is_empty() && messages.is_disjoint(&of(created[0])));
    assert!(of(created[1]).is_subset(&messages));
    env.assert_no_absent_conversations("acme");
}

on_both_stores!(async transient_faults_are_retried_without_loss);
async fn transient_faults_are_retried_without_loss(store: StoreKind) {
    let env = env_on(store, tickets(150)).await;
    env.sim.set_fault(
        "incremental_tickets_cursor",
        Fault::next(2, FaultKind::Status(503)),
    );
    env.sim.set_fault(
        "incremental_ticket_events",
        Fault::next(1, FaultKind::Status(500)),
    );
    let recipe = env.token_recipe("acme");
    let options = SyncOptions {
        backoff: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    };
    let report = run_sync(&env.db, &recipe, options).await;
    assert_all_done(&report);
    let retries: u64 = report.streams.iter().map(|s| s.retries).sum();
    assert!(retries >= 1, "{report:?}");
    env.assert_matches_ground_truth("acme");
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_timeouts_of_large_pages_make_the_pages_smaller() {
    let env = env(tickets(150)).await;
    // The tickets export times out at the gateway (504) for pages of more
    // than 300 tickets; the connector asks for 1000 unless told otherwise.
    env.sim.set_fault(
        "incremental_tickets_cursor",
        Fault::probability(1.0, FaultKind::GatewayTimeoutAbove(300)),
    );
    let recipe = env.token_recipe("acme");
    let options = SyncOptions {
        backoff: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    };
    let pauses = Arc::new(Mutex::new(Vec::new()));
    let seen = pauses.clone();
    let progress: sync::Progress = Arc::new(move |event| {
        if let Event::Paused { stream, reason, .. } = event {
            seen.lock().unwrap().push((stream, reason));
        }
    });
    let report = run_watched_sync(&env.db, &recipe, options, progress).await;
    assert_all_done(&report);
    // 1000 and 500 timed out, 250 went through.
    assert_eq!(stream(&report, "tickets").retries, 2, "{report:?}");
    let pauses = pauses.lock().unwrap();
    let retried: Vec<&String> = pauses
        .iter()
        .filter(|(stream, _)| stream == "tickets")
        .map(|(_, reason)| reason)
        .collect();
    assert_eq!(retried.len(), 2, "{pauses:?}");
    for reason in retried {
        assert!(
            reason.contains("504 Gateway Timeout") && reason.contains("smaller pages"),
            "{reason}"
        );
    }
    env.assert_matches_ground_truth("acme");
}

/// Progress that asks `stop` once the first page of `stream` is committed.
fn stop_after_first_page_of(stream: &'static str, stop: sync::StopSignal) -> sync::Progress {
    Arc::new(move |event| {
        if matches!(&event, Event::Page { stream: s, .. } if s == stream) {
            stop.stop();
        }
    })
}

on_both_stores!(async a_stopped_sync_keeps_what_it_committed_and_the_next_one_finishes);
async fn a_stopped_sync_keeps_what_it_committed_and_the_next_one_finishes(store: StoreKind) {
    let env = env_on(store, tickets(400)).await;
    let recipe = env.token_recipe("acme");
    let options = SyncOptions {
        page_size: Some(50),
        concurrency: 1,
        ..SyncOptions::default()
    };
    let progress = stop_after_first_page_of("tickets", options.stop.clone());
    let report = run_watched_sync(&env.db, &recipe, options, progress).await;
    assert!(report.interrupted(), "{report:?}");
    assert!(report.succeeded(), "a stop is not a failure: {report:?}");
    let tickets = stream(&report, "tickets");
    assert_eq!(tickets.outcome, Outcome::Interrupted);
    assert!(tickets.pages >= 1, "{tickets:?}");
    // Streams that depend on tickets never started.
    let comments = stream(&report, "ticket_comments");
    assert_eq!(
        (&comments.outcome, comments.pages),
        (&Outcome::Interrupted, 0)
    );
    // What the report counts is in the database, and only part of it.
    let (live, deleted) = env.ids("acme", "conversation");
    let committed = (live.len() + deleted.len()) as u64;
    let truth = env.sim.ground_truth("acme");
    let all = (truth.tickets.live().len() + truth.tickets.deleted.len()) as u64;
    assert!(committed > 0 && committed < all, "{committed} of {all}");
    assert!(
        committed <= tickets.records,
        "{committed} > {}",
        tickets.records
    );

    let resumed = sync_to_the_end(&env.db, &recipe).await;
    let again = stream(&resumed, "tickets").records;
    assert!(
        again < all,
        "the next sync read {again} of {all} tickets again"
    );
    env.assert_matches_ground_truth("acme");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_abandons_a_request_in_flight() {
    let env = env(tickets(100)).await;
    // The tickets export hangs for an hour.
    env.sim.set_fault(
        "incremental_tickets_cursor",
        Fault::next(1, FaultKind::Delay(std::time::Duration::from_secs(3600))),
    );
    let recipe = env.token_recipe("acme");
    let options = SyncOptions::default();
    let stop = options.stop.clone();
    let sync = tokio::spawn(async move { run_sync(&env.db, &recipe, options).await });
    // Wait (bounded) until the hanging request has reached the simulator.
    let asked = || {
        env.sim
            .request_counts()
            .get("incremental_tickets_cursor")
            .is_some_and(|&n| n > 0)
    };
    for _ in 0..6000 {
        if asked() || sync.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(asked(), "the tickets export was never asked for");
    stop.stop();
    // Without abandoning it, the request would end only at the host's
    // 60-second first-byte timeout.
    let report = tokio::time::timeout(std::time::Duration::from_secs(20), sync)
        .await
        .expect("the stop did not abandon the hanging request")
        .unwrap();
    let tickets = stream(&report, "tickets");
    assert_eq!(tickets.outcome, Outcome::Interrupted);
    assert_eq!(tickets.pages, 0);
    assert!(report.succeeded(), "{report:?}");
}

on_both_stores!(async oauth_refresh_tokens_rotate_and_are_stored_before_use);
async fn oauth_refresh_tokens_rotate_and_are_stored_before_use(store: StoreKind) {
    let env = env_on(store, tickets(50)).await;
    let client = env.sim.oauth_client("acme");
    let config = json!({
        "subdomain": "acme",
        "oauth_client_id": client.client_id,
        "oauth_client_secret": client.client_secret,
        "oauth_refresh_token": client.refresh_token,
    });
    let recipe = env.recipe("oauth", config.clone(), "oauth_refresh_token");
    sync_to_the_end(&env.db, &recipe).await;
    env.assert_matches_ground_truth("oauth");
    let stored = |name: &str| -> String { env.db.tokens().load("oauth", name).unwrap().unwrap() };
    let rotated = stored("oauth.refresh_token");
    assert_ne!(rotated, client.refresh_token, "the refresh token rotated");

    // The configured refresh token is now void at Zendesk; a new process
    // with the same config must use the stored, rotated one.
    env.sim.advance_time(3 * 3600);
    let again = env.recipe("oauth", config, "oauth_refresh_token");
    let mut connection = again.open().await.unwrap();
    connection.check().await.unwrap();
    assert_ne!(
        stored("oauth.refresh_token"),
        rotated,
        "rotated again after expiry"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_and_a_light_agent_get_actionable_errors() {
    let env = env(tickets(10)).await;
    let admin = env.sim.admin_credentials("acme");
    let wrong = env.recipe(
        "wrong",
        json!({"subdomain": "acme", "email": admin.email, "api_token": "not-the-token"}),
        "api_token",
    );
    let err = wrong.open().await.unwrap().check().await.unwrap_err();
    assert!(
        matches!(err, connector_runtime::ConnectorError::Auth(_)),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-token"), "{err}");

    let light = env.sim.light_agent_credentials("acme");
    let agent = env.recipe(
        "light",
        json!({"subdomain": "acme", "email": light.email, "api_token": light.api_token}),
        "api_token",
    );
    let err = agent.open().await.unwrap().check().await.unwrap_err();
    assert!(
        matches!(err, connector_runtime::ConnectorError::Permission(_)),
        "{err}"
    );
}
