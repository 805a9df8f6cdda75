//! `connector-host airbyte` as Airbyte and PyAirbyte run it, against the
//! in-process Zendesk simulator: every message validates against the
//! protocol's published models; a "platform" that commits on STATE (as
//! Airbyte does) ends equal to the ground truth after reads killed with
//! `kill -9` and resumed from their last states; a rotated OAuth refresh
//! token reaches the platform in a CONTROL message; PyAirbyte reads every
//! stream into DuckDB, then only the changes.
//!
//! The Python checks need `airbyte-protocol-models` and `airbyte` (PyPI):
//! `.ci/run` installs them in a virtual environment and names its Python
//! in `CONNECTOR_HOST_TEST_PYTHON`; without it they say they were skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use zendesk_sim::{Mutation, SimConfig, SimHandle, Simulator};

mod clients;
mod kill;

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// The global options that point the host at the simulator.
fn host_args(sim: &SimHandle) -> Vec<String> {
    vec![
        "--cache-dir".into(),
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("component-cache")
            .display()
            .to_string(),
        "--resolve".into(),
        format!("acme.zendesk.com:443:{}", sim.https_addr()),
        "--ca-cert".into(),
        sim.ca_cert_path().display().to_string(),
    ]
}

/// `connector-host airbyte ARGS`.
fn airbyte(sim: &SimHandle, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(host_args(sim)).arg("airbyte").args(args);
    command
}

/// Run to the end; its exit code and messages.
fn run(mut command: Command) -> (Option<i32>, Vec<Value>, String) {
    let out = command.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let messages = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (
        out.status.code(),
        messages,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["type"] == kind).collect()
}

/// An API-token config in Airbyte's shape.
fn token_config(sim: &SimHandle) -> Value {
    let admin = sim.admin_credentials("acme");
    json!({
        "subdomain": "acme",
        "credentials": {"auth_type": "api_token", "email": admin.email, "api_token": admin.api_token},
    })
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

/// Every discovered stream, incremental where it can be.
fn configured_catalog(sim: &SimHandle, config: &Path) -> Value {
    let (code, messages, stderr) = run(airbyte(sim, &["discover", "--config", path(config)]));
    assert_eq!(code, Some(0), "{stderr}");
    let streams: Vec<Value> = of_type(&messages, "CATALOG")[0]["catalog"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stream| {
            let incremental = stream["supported_sync_modes"]
                .as_array()
                .unwrap()
                .contains(&json!("incremental"));
            json!({
                "stream": stream,
                "sync_mode": if incremental { "incremental" } else { "full_refresh" },
                "destination_sync_mode": "append",
            })
        })
        .collect();
    json!({ "streams": streams })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a platform that commits on STATE keeps: each stream's records up
/// to its last state, and that state.
#[derive(Default)]
struct Platform {
    /// Committed records, by stream and id (the last copy wins).
    tables: BTreeMap<String, BTreeMap<String, Value>>,
    /// Copies of each live message committed (comments never change).
    message_copies: BTreeMap<String, usize>,
    /// The last state of each stream.
    states: BTreeMap<String, Value>,
    /// Records received but not yet covered by a state.
    pending: BTreeMap<String, Vec<Value>>,
}

impl Platform {
    fn take(&mut self, message: &Value) {
        match message["type"].as_str().unwrap() {
            "RECORD" => {
                let record = &message["record"];
                let stream = record["stream"].as_str().unwrap().to_owned();
                self.pending
                    .entry(stream)
                    .or_default()
                    .push(record["data"].clone());
            }
            "STATE" => {
                let stream = message["state"]["stream"]["stream_descriptor"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                for data in self.pending.remove(&stream).unwrap_or_default() {
                    let id = match &data["id"] {
                        Value::String(s) => s.clone(),
                        _ => data["name"].to_string(),
                    };
                    if stream == "message" && data["_ab_cdc_deleted_at"].is_null() {
                        *self.message_copies.entry(id.clone()).or_default() += 1;
                    }
                    self.tables
                        .entry(stream.clone())
                        .or_default()
                        .insert(id, data);
                }
                self.states.insert(stream, message["state"].clone());
            }
            _ => {}
        }
    }

    /// The `--state` file of the next read.
    fn state_file(&self, dir: &Path) -> PathBuf {
        write_json(
            dir,
            "state.json",
            &Value::Array(self.states.values().cloned().collect()),
        )
    }

    /// Ids of a stream's records, live or deleted; messages of a chat
    /// transcript (`comment-line`) count once per comment.
    fn ids(&self, stream: &str, deleted: bool) -> BTreeSet<u64> {
        self.tables
            .get(stream)
            .into_iter()
            .flatten()
            .filter(|(_, data)| data["_ab_cdc_deleted_at"].is_null() != deleted)
            .map(|(id, _)| id.split('-').next().unwrap().parse().unwrap())
            .collect()
    }

    /// The tables hold the simulator's ground truth, for a first import
    /// begun at `first_import` (simulated Unix seconds).
    fn assert_matches_ground_truth(&self, sim: &SimHandle, first_import: i64) {
        let truth = sim.ground_truth("acme");
        assert_eq!(self.ids("conversation", false), truth.tickets.live());
        assert_eq!(self.ids("conversation", true), truth.tickets.deleted);
        assert_eq!(self.ids("person", false), truth.users.live());
        assert_eq!(self.ids("account", false), truth.organizations.live());
        let mut messages = self.ids("message", false);
        messages.extend(self.ids("message", true));
        let expected = truth.comments_delivered(first_import);
        assert_eq!(
            messages.len(),
            expected.len(),
            "missing: {:?}",
            expected.difference(&messages).take(10).collect::<Vec<_>>()
        );
        assert_eq!(messages, expected);
        let twice: Vec<_> = self
            .message_copies
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect();
        assert!(twice.is_empty(), "messages committed twice: {twice:?}");
        self.assert_no_absent_conversations();
    }

    /// Every message and change names a conversation the tables hold
    /// (live or a tombstone).
    fn assert_no_absent_conversations(&self) {
        let mut conversations = self.ids("conversation", false);
        conversations.extend(self.ids("conversation", true));
        let named: Vec<u64> = ["message", "change"]
            .iter()
            .filter_map(|kind| self.tables.get(*kind))
            .flat_map(|table| table.values())
            .map(|data| data["conversation_id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(!named.is_empty(), "no message or change to check");
        let absent = zendesk_sim::absent_conversations(&conversations, named);
        assert!(absent.is_empty(), "absent conversations: {absent:?}");
    }
}

/// The Python that has the Airbyte packages, or why the test is skipped.
fn airbyte_python() -> Option<String> {
    let python = std::env::var("CONNECTOR_HOST_TEST_PYTHON").ok();
    if python.is_none() {
        eprintln!(
            "skipped: CONNECTOR_HOST_TEST_PYTHON names no Python with airbyte and \
             airbyte-protocol-models (.ci/run installs them)"
        );
    }
    python
}

/// Validate messages with the protocol's models.
fn validate(python: &str, messages: &[Value], dir: &Path) {
    let file = dir.join("messages.jsonl");
    let lines: String = messages.iter().map(|m| format!("{m}\n")).collect();
    std::fs::write(&file, lines).unwrap();
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/airbyte/validate.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("validated: {}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_prints_only_protocol_messages_and_a_read_resumes_from_its_state() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 300,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first_import = sim.now();
    let dir = tempfile::tempdir().unwrap();
    let config = write_json(dir.path(), "config.json", &token_config(&sim));
    let mut all = Vec::new();

    let (code, spec, _) = run(airbyte(&sim, &["spec"]));
    assert_eq!(code, Some(0));
    let connection = &spec[0]["spec"]["connectionSpecification"];
    let schemes = connection["properties"]["credentials"]["oneOf"]
        .as_array()
        .unwrap();
    assert!(schemes.len() >= 3, "every auth scheme is a choice");
    let token = schemes
        .iter()
        .find(|s| s["properties"]["auth_type"]["const"] == "api_token")
        .unwrap();
    assert_eq!(token["properties"]["api_token"]["airbyte_secret"], true);
    assert_eq!(
        spec[0]["spec"]["advanced_auth"]["auth_flow_type"],
        "oauth2.0"
    );
    all.extend(spec);

    let (code, check, _) = run(airbyte(&sim, &["check", "--config", path(&config)]));
    assert_eq!(code, Some(0));
    assert_eq!(check[0]["connectionStatus"]["status"], "SUCCEEDED");
    all.extend(check);
    let mut wrong = token_config(&sim);
    wrong["credentials"]["api_token"] = json!("wrong");
    let wrong = write_json(dir.path(), "wrong.json", &wrong);
    let (code, failed, _) = run(airbyte(&sim, &["check", "--config", path(&wrong)]));
    assert_eq!(code, Some(0), "a failed check is a status, not a crash");
    assert_eq!(failed[0]["connectionStatus"]["status"], "FAILED");
    let advice = failed[0]["connectionStatus"]["message"].as_str().unwrap();
    assert!(advice.contains("authentication failed"), "{advice}");
    all.extend(failed);

    let catalog = write_json(
        dir.path(),
        "catalog.json",
        &configured_catalog(&sim, &config),
    );
    let (_, discover, _) = run(airbyte(&sim, &["discover", "--config", path(&config)]));
    all.extend(discover);

    let read = |state: Option<&Path>| {
        let mut args = vec![
            "read",
            "--config",
            path(&config),
            "--catalog",
            path(&catalog),
        ];
        if let Some(state) = state {
            args.extend(["--state", path(state)]);
        }
        run(airbyte(&sim, &args))
    };
    let mut platform = Platform::default();
    let (code, first, stderr) = read(None);
    assert_eq!(code, Some(0), "{stderr}");
    // Every state comes after the records it counts.
    let mut unstated: BTreeMap<String, f64> = BTreeMap::new();
    for message in &first {
        match message["type"].as_str().unwrap() {
            "RECORD" => {
                *unstated
                    .entry(message["record"]["stream"].as_str().unwrap().into())
                    .or_default() += 1.0
            }
            "STATE" => {
                let stream = message["state"]["stream"]["stream_descriptor"]["name"]
                    .as_str()
                    .unwrap();
                let counted = message["state"]["sourceStats"]["recordCount"]
                    .as_f64()
                    .unwrap();
                assert_eq!(unstated.remove(stream).unwrap_or(0.0), counted, "{stream}");
            }
            _ => {}
        }
        platform.take(message);
    }
    assert!(
        unstated.is_empty(),
        "records after the last state: {unstated:?}"
    );
    let statuses: Vec<&str> = of_type(&first, "TRACE")
        .iter()
        .filter(|t| t["trace"]["stream_status"]["stream_descriptor"]["name"] == "conversation")
        .map(|t| t["trace"]["stream_status"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["STARTED", "RUNNING", "COMPLETE"]);
    platform.assert_matches_ground_truth(&sim, first_import);

    // Killed between a page's `message` and `change` states: the next read
    // gives `change` that page and `message` nothing twice.
    let name = |m: &Value| m["state"]["stream"]["stream_descriptor"]["name"].clone();
    let cut = first
        .windows(2)
        .position(|w| name(&w[0]) == "message" && name(&w[1]) == "change")
        .expect("a page feeding both kinds");
    let mut crashed = Platform::default();
    for message in &first[..=cut] {
        crashed.take(message);
    }
    crashed.pending.clear(); // the dead process's uncommitted records
    let (code, resumed, stderr) = read(Some(&crashed.state_file(dir.path())));
    assert_eq!(code, Some(0), "{stderr}");
    for message in &resumed {
        crashed.take(message);
    }
    crashed.assert_matches_ground_truth(&sim, first_import);
    all.extend(first);

    // Changes only, from the state alone.
    sim.mutate("acme", Mutation::CreateTickets { count: 7 })
        .unwrap();
    sim.mutate(
        "acme",
        Mutation::AddComment {
            ticket_id: 3,
            public: true,
        },
    )
    .unwrap();
    sim.advance_time(120);
    let (code, second, stderr) = read(Some(&platform.state_file(dir.path())));
    assert_eq!(code, Some(0), "{stderr}");
    let conversations = second
        .iter()
        .filter(|m| m["type"] == "RECORD" && m["record"]["stream"] == "conversation")
        .count();
    assert!(
        (7..=10).contains(&conversations),
        "{conversations} conversations read again"
    );
    for message in &second {
        platform.take(message);
    }
    platform.assert_matches_ground_truth(&sim, first_import);
    all.extend(second);

    // A bad file is a config error, as a TRACE, with advice.
    let garbage = write_json(dir.path(), "garbage.json", &json!([{"type": "STREAM"}]));
    let (code, refused, _) = read(Some(&garbage));
    assert_eq!(code, Some(2));
    let error = &of_type(&refused, "TRACE")[0]["trace"]["error"];
    assert_eq!(error["failure_type"], "config_error");
    assert!(error["message"].as_str().unwrap().contains("--state"));
    all.extend(refused);

    if let Some(python) = airbyte_python() {
        validate(&python, &all, dir.path());
    }
    sim.shutdown().await;
}
