//! The integration platform on real syncs: documents and support signals
//! of a simulated account checked against its raw data, and the platform
//! commands end to end through the binary, each on SQLite and on
//! PostgreSQL (`name::sqlite`, `name::postgres`). The platform's own tests
//! are in `host-harness/platform/tests/`.

#[path = "../../../platform/tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use connector_host::store::Store;
use connector_platform::documents::DocumentOptions;
use connector_platform::matching;
use connector_platform::signals::{self, week_start, CustomerSignals, Signals};
use connector_platform::window::Range;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::ConnectionRecipe;
use connector_runtime::{ConnectionSettings, HostStores, Limits, Runtime};
use connector_store_tests::on_both_stores;
use connector_store_tests::stores::{StoreKind, StoreUnderTest};
use connector_sync::SyncOptions;
use serde_json::{json, Value};
use zendesk_sim::{SimConfig, Simulator};

use common::*;

mod trends;

/// Unix seconds of an RFC 3339 time as the simulator writes them
/// (`2024-01-01T10:00:00Z`).
fn unix(text: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    // Days since 1970-01-01 (a Thursday) by the proleptic Gregorian rule.
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469;
    days * DAY + n(11..13) * HOUR + n(14..16) * 60 + n(17..19)
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

/// The raw API data of a synced account (kept in `raw_records`), read
/// without the connector's mapping.
struct RawAccount {
    tickets: Vec<Value>,
    users: HashMap<String, Value>,
    orgs: Vec<Value>,
    events: Vec<Value>,
}

/// A change of a ticket's status or priority in the raw data.
#[derive(Clone)]
struct RawChange {
    field: String,
    from: Option<String>,
    to: Option<String>,
    at: i64,
}

/// Per ticket: (created, public, by staff) of each comment.
type Comments = HashMap<String, Vec<(i64, bool, bool)>>;
/// Per ticket: its changes.
type Changes = HashMap<String, Vec<RawChange>>;

/// One live ticket as the raw data describes it.
struct Expected {
    created: i64,
    /// First reply time.
    reply: Option<i64>,
    /// Resolution time.
    resolution: Option<i64>,
    score: Option<String>,
    escalated: bool,
    reopened: bool,
}

fn is_comment(event: &Value) -> bool {
    event["event_type"] == "Comment" || event["type"] == "Comment"
}

impl RawAccount {
    /// The platform's list: each organization (customer `c{id}`) by its
    /// first domain, and a retailer owning the domain of the end users
    /// without organization.
    fn customer_list(&self) -> String {
        let mut csv = String::from("id,name,domains\nretail,Retail customers,customers.example\n");
        for org in &self.orgs {
            csv.push_str(&format!(
                "c{},\"{}\",{}\n",
                org["id"],
                org["name"].as_str().unwrap(),
                org["domain_names"][0].as_str().unwrap()
            ));
        }
        csv
    }

    fn read(db: &Store) -> Self {
        let records = db.records(CONNECTION);
        let of = |stream: &str| -> Vec<Value> {
            let raw = records.raw_records(stream).unwrap();
            raw.iter()
                .map(|raw| serde_json::from_str(raw).unwrap())
                .collect()
        };
        RawAccount {
            tickets: of("tickets"),
            users: of("users")
                .into_iter()
                .map(|u| (u["id"].to_string(), u))
                .collect(),
            orgs: of("organizations"),
            events: of("ticket_comments"),
        }
    }

    fn live_tickets(&self) -> impl Iterator<Item = &Value> {
        self.tickets.iter().filter(|t| t["status"] != "deleted")
    }

    /// The comments and changes of each ticket.
    fn history(&self) -> (Comments, Changes) {
        let staff = |id: &Value| {
            self.users
                .get(&id.to_string())
                .is_some_and(|u| matches!(u["role"].as_str(), Some("agent" | "admin")))
        };
        let mut comments = Comments::new();
        let mut changes = Changes::new();
        for event in &self.events {
            let ticket = event["ticket_id"].to_string();
            for child in event["child_events"].as_array().unwrap() {
                if is_comment(child) {
                    comments.entry(ticket.clone()).or_default().push((
                        unix(child["created_at"].as_str().unwrap()),
                        child["public"].as_bool().unwrap_or(true),
                        staff(&child["author_id"]),
                    ));
                } else if let Some(mut change) = raw_change(child) {
                    change.at = unix(event["created_at"].as_str().unwrap());
                    changes.entry(ticket.clone()).or_default().push(change);
                }
            }
        }
        (comments, changes)
    }

    /// Each customer's live tickets: a ticket's customer is its
    /// organization's (`c{id}`), else its requester's email domain's
    /// (`retail`); the first reply is the first public comment by staff
    /// after creation.
    fn expected(&self) -> BTreeMap<String, Vec<Expected>> {
        let (comments, changes) = self.history();
        let rank = |p: &Option<String>| {
            ["low", "normal", "high", "urgent"]
                .iter()
                .position(|x| Some(*x) == p.as_deref())
                .map_or(0, |i| i + 1)
        };
        let mut expected: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
        for t in self.live_tickets() {
            let id = t["id"].to_string();
            let customer = match t["organization_id"].as_u64() {
                Some(org) => format!("c{org}"),
                None => {
                    let email = self.users[&t["requester_id"].to_string()]["email"]
                        .as_str()
                        .unwrap();
                    assert!(email.ends_with("@customers.example"), "{email}");
                    "retail".into()
                }
            };
            let created = unix(t["created_at"].as_str().unwrap());
            let reply = comments
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|(at, public, staff)| *public && *staff && *at > created)
                .map(|(at, ..)| *at - created)
                .min();
            let own = changes.get(&id).cloned().unwrap_or_default();
            let resolution = own
                .iter()
                .filter(|c| c.field == "status" && c.to.as_deref() == Some("solved"))
                .map(|c| c.at - created)
                .min()
                .filter(|d| *d >= 0);
            let escalated = own.iter().any(|c| {
                c.field == "priority"
                    && rank(&c.to) >= 3
                    && rank(&c.to) > rank(&c.from)
                    && c.at > created
            });
            let reopened = own.iter().any(|c| {
                c.field == "status"
                    && matches!(c.from.as_deref(), Some("solved" | "closed"))
                    && matches!(c.to.as_deref(), Some("new" | "open" | "pending" | "hold"))
            });
            expected.entry(customer).or_default().push(Expected {
                created,
                reply,
                resolution,
                score: t["satisfaction_rating"]["score"]
                    .as_str()
                    .filter(|s| *s != "unoffered")
                    .map(str::to_string),
                escalated,
                reopened,
            });
        }
        expected
    }

    /// Internal notes on live tickets.
    fn internal_notes(&self) -> usize {
        self.events
            .iter()
            .filter(|e| self.live_tickets().any(|t| t["id"] == e["ticket_id"]))
            .flat_map(|e| e["child_events"].as_array().unwrap().iter())
            .filter(|c| is_comment(c) && c["public"] == false)
            .map(|c| c["id"].to_string())
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// The transcript of a live chat ticket: its id and lines.
    fn chat_transcript(&self) -> (String, String) {
        let chat = self
            .live_tickets()
            .find(|t| t["via"]["channel"] == "chat")
            .expect("a chat ticket");
        let transcript = self
            .events
            .iter()
            .filter(|e| e["ticket_id"] == chat["id"])
            .flat_map(|e| e["child_events"].as_array().unwrap().iter())
            .find_map(|c| c["body"].as_str().filter(|b| b.starts_with('(')))
            .expect("the transcript");
        (chat["id"].to_string(), transcript.to_string())
    }
}

/// A change event: `{"status": "open", "previous_value": "new"}` in the
/// events export, `field_name` and `value` in audits; its time comes from
/// the event around it.
fn raw_change(event: &Value) -> Option<RawChange> {
    let is_change = event["event_type"] == "Change" || event["type"] == "Change";
    if !is_change {
        return None;
    }
    let text = |v: &Value| v.as_str().map(str::to_string);
    let (field, to) = match event["field_name"].as_str() {
        Some(field) => (field.to_string(), text(&event["value"])),
        None => {
            let field = ["status", "priority"]
                .into_iter()
                .find(|f| event.get(*f).is_some())?;
            (field.to_string(), text(&event[field]))
        }
    };
    Some(RawChange {
        field,
        from: text(&event["previous_value"]),
        to,
        at: 0,
    })
}

async fn sync_simulated_account(db: &Store, config: SimConfig) -> zendesk_sim::SimHandle {
    let sim = Simulator::start_settled(config).await.unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let runtime = Arc::new(Runtime::new(Limits::default(), Some(cache)).unwrap());
    let admin = sim.admin_credentials("acme");
    let recipe = Arc::new(ConnectionRecipe {
        loaded: runtime
            .load(connector_host::context::builtin_zendesk())
            .unwrap(),
        runtime,
        client: Arc::new(
            HttpsClient::new(NetworkOptions {
                resolve: ResolveOverrides::parse(&[format!(
                    "acme.zendesk.com:443:{}",
                    sim.https_addr()
                )])
                .unwrap(),
                extra_ca_pem: sim.ca_cert_pem().into_bytes(),
                ..NetworkOptions::default()
            })
            .unwrap(),
        ),
        settings: ConnectionSettings {
            name: CONNECTION.into(),
            config: json!({"subdomain": "acme", "email": admin.email, "api_token": admin.api_token}),
            auth_scheme: Some("api_token".into()),
            stores: HostStores {
                storage: db.key_value(),
                tokens: db.tokens(),
            },
            storage_quota: StorageQuota::default(),
            log_limits: LogLimits::default(),
            shared: Default::default(),
        },
    });
    let report = connector_host::context::sync_once(
        db,
        &recipe,
        &SyncOptions::default(),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(report.succeeded(), "the sync finished every stream");
    sim
}

on_both_stores!(async a_simulated_account_gives_documents_and_signals_matching_its_raw_data);
async fn a_simulated_account_gives_documents_and_signals_matching_its_raw_data(kind: StoreKind) {
    let place = kind.fresh();
    let db = Store::open(&place.db_argument()).unwrap();
    let _sim = sync_simulated_account(
        &db,
        SimConfig {
            tickets: 80,
            users: 40,
            organizations: 5,
            history_days: 30,
            ..SimConfig::default()
        },
    )
    .await;
    let raw = RawAccount::read(&db);
    assert!(raw.tickets.len() >= 80 && !raw.events.is_empty());

    import_customers(db.platform(), &raw.customer_list());
    let report = matching::run(db.platform(), CONNECTION).unwrap();
    assert!(report
        .organizations
        .iter()
        .all(|r| r.decision.outcome.customer_id() == Some(&format!("c{}", r.org.key))));

    let expected = raw.expected();
    let signals: Signals = signals::load(db.platform(), CONNECTION, Range::default()).unwrap();
    let periods = &signals.window.as_ref().unwrap().periods;
    assert_eq!(signals.unattributed, 0);
    let first_week = expected
        .values()
        .flatten()
        .map(|t| week_start(t.created))
        .min()
        .unwrap();
    assert_eq!(periods[0], first_week);
    let by_id: BTreeMap<&str, &CustomerSignals> = signals
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c))
        .collect();
    assert_eq!(
        by_id.keys().copied().collect::<BTreeSet<_>>(),
        expected.keys().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for (customer, tickets) in &expected {
        let got = by_id[customer.as_str()];
        let mut weekly = vec![0; periods.len()];
        for t in tickets {
            weekly[((week_start(t.created) - first_week) / (7 * DAY)) as usize] += 1;
        }
        let count = |score: &str| {
            tickets
                .iter()
                .filter(|t| t.score.as_deref() == Some(score))
                .count()
        };
        assert_eq!(got.tickets, tickets.len(), "{customer}");
        assert_eq!(got.volume(), weekly, "{customer}");
        assert_eq!(
            got.first_reply,
            median(tickets.iter().filter_map(|t| t.reply).collect()),
            "{customer}"
        );
        assert_eq!(
            (got.good, got.bad, got.offered),
            (count("good"), count("bad"), count("offered")),
            "{customer}"
        );
        if signals.history {
            assert_eq!(
                got.resolution,
                median(tickets.iter().filter_map(|t| t.resolution).collect()),
                "{customer}"
            );
            let escalated = tickets.iter().filter(|t| t.escalated).count();
            let reopened = tickets.iter().filter(|t| t.reopened).count();
            assert_eq!(
                (got.escalated, got.reopened),
                (escalated, reopened),
                "{customer}"
            );
        } else {
            assert_eq!((got.resolution, got.escalated), (None, 0), "{customer}");
        }
    }
    // Not vacuous: the simulated agents answer, and (with change history)
    // solve and escalate.
    assert!(signals.customers.iter().any(|c| c.first_reply.is_some()));
    if signals.history {
        assert!(signals.customers.iter().any(|c| c.resolution.is_some()));
        assert!(signals.customers.iter().any(|c| c.escalated > 0));
    }

    // Documents: one per live ticket; a chat ticket's transcript lines in
    // order; internal notes only when asked for, as many as the raw data has.
    let docs = export(
        db.platform(),
        DocumentOptions {
            internal_notes: true,
            ..DocumentOptions::default()
        },
    );
    assert_eq!(docs.len(), raw.live_tickets().count());
    let (chat_id, transcript) = raw.chat_transcript();
    let doc = docs
        .iter()
        .find(|d| d["metadata"]["ticket_id"] == chat_id.as_str())
        .unwrap();
    let text = doc["content"].as_str().unwrap();
    assert!(text.contains("· chat transcript\n"), "{text}");
    let mut from = 0;
    for line in transcript.lines() {
        // `(10:02:13 AM) Jane Customer: Hello` → `Jane Customer (customer): Hello`.
        let (speaker, said) = line.split_once(") ").unwrap().1.split_once(": ").unwrap();
        from = text[from..]
            .find(&format!("{speaker} ("))
            .and_then(|i| text[from + i..].find(said).map(|j| from + i + j))
            .unwrap_or_else(|| panic!("{line:?} in order in\n{text}"));
    }
    let notes = |docs: &[Value]| -> usize {
        docs.iter()
            .map(|d| {
                d["content"]
                    .as_str()
                    .unwrap()
                    .matches("· internal note\n")
                    .count()
            })
            .sum()
    };
    assert!(
        raw.internal_notes() > 0,
        "the simulator writes internal notes"
    );
    assert_eq!(notes(&docs), raw.internal_notes());
    assert_eq!(notes(&export(db.platform(), DocumentOptions::default())), 0);
}

on_both_stores!(the_commands_work_end_to_end);
/// The commands, through the binary: import, match with overrides,
/// documents and the report with its page.
fn the_commands_work_end_to_end(kind: StoreKind) {
    match kind {
        StoreKind::Sqlite => commands_end_to_end::<connector_store_sqlite::Database>(),
        StoreKind::Postgres => commands_end_to_end::<connector_store_postgres::Database>(),
    }
}

/// [`the_commands_work_end_to_end`] on the store `S`.
fn commands_end_to_end<S: StoreUnderTest>() {
    let dir = tempfile::tempdir().unwrap();
    let (db, place) = S::fresh();
    tricky_account(&db);
    let db_argument = place.db_argument();
    std::fs::write(
        dir.path().join("acme.toml"),
        "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("customers.csv"), TRICKY_CUSTOMERS).unwrap();
    std::fs::write(
        dir.path().join("overrides.json"),
        r#"[{"organization": "2", "action": "pin", "customer": "acme-eu"}]"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .arg("--db")
            .arg(&db_argument)
            .arg("--key-file")
            .arg(dir.path().join("tokens.key"))
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    let out = run(&[
        "customers",
        "import",
        "customers.csv",
        "--config",
        "acme.toml",
    ]);
    assert!(out.contains("customers: 5 added"), "{out}");
    assert!(
        out.contains("acme: 4 of 7 organizations matched (2 ambiguous)"),
        "{out}"
    );
    let out = run(&[
        "customers",
        "match",
        "--config",
        "acme.toml",
        "--overrides",
        "overrides.json",
    ]);
    assert!(out.contains("overrides: 1 rules"), "{out}");
    assert!(
        out.contains("pinned to Acme Europe (acme-eu) by an override"),
        "{out}"
    );
    assert!(out.contains("1 tickets moved"), "{out}");
    // Stored overrides apply to later runs.
    let out = run(&["customers", "match", "--config", "acme.toml"]);
    assert!(out.contains("0 tickets moved"), "{out}");
    let docs = run(&["export", "--config", "acme.toml", "--documents"]);
    assert_eq!(docs.lines().count(), 6);
    let ticket: Value = serde_json::from_str(
        docs.lines()
            .find(|l| l.contains("\"ticket_id\":\"1002\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ticket["customer"]["id"], "acme-eu");
    run(&[
        "export",
        "--config",
        "acme.toml",
        "--documents",
        "--limit",
        "2",
        "--out",
        "docs.jsonl",
    ]);
    let docs = std::fs::read_to_string(dir.path().join("docs.jsonl")).unwrap();
    assert_eq!(docs.lines().count(), 2);
    let out = run(&[
        "report",
        "--config",
        "acme.toml",
        "--html",
        "signals.html",
        "--all",
    ]);
    assert!(out.contains("Acme Europe (acme-eu)"), "{out}");
    assert!(out.contains("n/a: no change history synced"), "{out}");
    let page = std::fs::read_to_string(dir.path().join("signals.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    // `export --stream` still works, and disconnecting forgets the results.
    let out = run(&[
        "export",
        "--config",
        "acme.toml",
        "--stream",
        "organizations",
    ]);
    assert_eq!(out.lines().count(), 7);
    let out = run(&["disconnect", "--config", "acme.toml"]);
    assert!(out.contains("rows from customer_conversations"), "{out}");
    assert!(ticket_customers(&S::reopen(&place).unwrap()).is_empty());
}
