//! What the platform's side sees: OAuth rotation as CONTROL, and PyAirbyte
//! reading into DuckDB.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use zendesk_sim::{Mutation, SimConfig, Simulator};

use super::{
    airbyte, airbyte_python, host_args, of_type, path, run, token_config, write_json, BIN,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_refresh_token_reaches_the_platform_and_the_old_config_gets_auth_advice() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 50,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = sim.oauth_client("acme");
    let old = json!({
        "subdomain": "acme",
        "credentials": {
            "auth_type": "oauth_refresh_token",
            "oauth_client_id": client.client_id,
            "oauth_client_secret": client.client_secret,
            "oauth_refresh_token": client.refresh_token,
        },
    });
    let config = write_json(dir.path(), "old.json", &old);
    let catalog = json!({"streams": [{
        "stream": {"name": "conversation", "json_schema": {}, "supported_sync_modes": ["incremental"]},
        "sync_mode": "incremental", "destination_sync_mode": "append",
    }]});
    let catalog = write_json(dir.path(), "catalog.json", &catalog);
    let read = |config: &Path| {
        run(airbyte(
            &sim,
            &[
                "read",
                "--config",
                path(config),
                "--catalog",
                path(&catalog),
            ],
        ))
    };
    let (code, messages, stderr) = read(&config);
    assert_eq!(code, Some(0), "{stderr}");
    let controls = of_type(&messages, "CONTROL");
    assert_eq!(controls.len(), 1, "one rotation, one CONTROL");
    let control = &controls[0]["control"];
    assert_eq!(control["type"], "CONNECTOR_CONFIG");
    let rotated = &control["connectorConfig"]["config"];
    let new_token = rotated["credentials"]["oauth_refresh_token"]
        .as_str()
        .unwrap();
    assert_ne!(new_token, client.refresh_token);
    assert_eq!(rotated["subdomain"], "acme");
    // The CONTROL comes before any record read with the new tokens.
    let first_record = messages.iter().position(|m| m["type"] == "RECORD").unwrap();
    let control_at = messages
        .iter()
        .position(|m| m["type"] == "CONTROL")
        .unwrap();
    assert!(control_at < first_record);
    assert_eq!(
        of_type(&messages, "RECORD").len(),
        sim.ground_truth("acme").tickets.versions.len()
    );

    // The old config's token is void at Zendesk: auth advice, exit code 3.
    let (code, refused, _) = read(&config);
    assert_eq!(code, Some(3));
    let errors: Vec<_> = of_type(&refused, "TRACE")
        .into_iter()
        .filter(|t| t["trace"]["type"] == "ERROR")
        .collect();
    assert!(!errors.is_empty());
    let error = &errors[0]["trace"]["error"];
    assert_eq!(error["failure_type"], "config_error");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("authorize"), "{message}");
    assert!(!message.contains(&client.refresh_token) && !message.contains(new_token));

    // The config the platform persisted works.
    let persisted = write_json(dir.path(), "new.json", rotated);
    let (code, _, stderr) = read(&persisted);
    assert_eq!(code, Some(0), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pyairbyte_reads_every_stream_into_duckdb_then_only_the_changes() {
    let Some(python) = airbyte_python() else {
        return;
    };
    let sim = Simulator::start_settled(SimConfig {
        tickets: 300,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first_import = sim.now();
    let dir = tempfile::tempdir().unwrap();
    let config = write_json(dir.path(), "config.json", &token_config(&sim));
    // PyAirbyte runs an executable with the protocol's arguments only.
    let executable = dir.path().join("source-connector-host");
    let quoted: Vec<String> = host_args(&sim).iter().map(|a| format!("'{a}'")).collect();
    std::fs::write(
        &executable,
        format!(
            "#!/bin/sh\nexec '{BIN}' {} airbyte \"$@\"\n",
            quoted.join(" ")
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &executable,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cache = dir.path().join("cache.duckdb");
    let read = || {
        let out = Command::new(&python)
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/airbyte/pyairbyte_read.py"),
            )
            .args([path(&config), path(&executable), path(&cache)])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str::<Value>(stdout.lines().last().unwrap()).unwrap()
    };
    let truth = sim.ground_truth("acme");
    let first = read();
    let counts = &first["counts"];
    assert_eq!(counts["conversation"], truth.tickets.versions.len());
    assert_eq!(
        first["comments"],
        truth.comments_delivered(first_import).len()
    );
    assert_eq!(counts["person"], truth.users.versions.len());
    assert_eq!(counts["account"], truth.organizations.versions.len());

    sim.mutate("acme", Mutation::CreateTickets { count: 5 })
        .unwrap();
    sim.advance_time(120);
    let second = read();
    let tickets = sim.ground_truth("acme").tickets.versions.len() as u64;
    let cached = second["counts"]["conversation"].as_u64().unwrap();
    assert!(
        cached >= tickets,
        "{cached} conversations cached of {tickets}"
    );
    let processed = second["processed"].as_u64().unwrap();
    assert!(
        processed < first["processed"].as_u64().unwrap() / 5,
        "the second read fetched {processed} records, not only the changes"
    );
    sim.shutdown().await;
}
