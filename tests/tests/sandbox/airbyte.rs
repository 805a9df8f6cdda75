//! The Airbyte bridge runs any component, not only Zendesk: the example
//! connector through `connector-airbyte`, in-process.

use std::path::Path;
use std::sync::Arc;

use connector_airbyte::protocol::ConfiguredCatalog;
use connector_airbyte::{Captured, Command, Ended, Output, Plugin};
use connector_tests::{TestServer, EXAMPLE_FEED, FEED_API_KEY};
use serde_json::{json, Value};

use super::{client, runtime, FEED_HOST};

/// The Airbyte bridge is for any component: the example connector's
/// spec, check, catalog and read are protocol messages (validated with
/// `airbyte-protocol-models` when `CONNECTOR_HOST_TEST_PYTHON` has it),
/// and a second read from the first's state reads nothing again.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_connector_speaks_the_airbyte_protocol() {
    let server = TestServer::start(120).await;
    let runtime = Arc::new(runtime());
    let plugin = Plugin {
        loaded: runtime.load_file(Path::new(EXAMPLE_FEED)).unwrap(),
        runtime,
        client: client(&server, false),
    };
    let config = json!({"host": FEED_HOST, "credentials": {"auth_type": "api_key", "api_key": FEED_API_KEY}});
    let catalog: ConfiguredCatalog = serde_json::from_value(
        json!({"streams": [{"stream": {"name": "item"}, "sync_mode": "incremental"}]}),
    )
    .unwrap();
    let captured = Captured::default();
    let output = Output::new(Box::new(captured.clone()));
    let read = |states| Command::Read {
        config: config.clone(),
        catalog: catalog.clone(),
        states,
        options: Default::default(),
    };
    for command in [
        Command::Spec,
        Command::Check {
            config: config.clone(),
        },
        Command::Discover {
            config: config.clone(),
        },
        read(Vec::new()),
    ] {
        assert!(matches!(
            connector_airbyte::run(&plugin, command, &output).await,
            Ended::Completed
        ));
    }
    let text = captured.text();
    let messages: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &str| {
        messages
            .iter()
            .filter(|m| m["type"] == kind)
            .collect::<Vec<_>>()
    };
    let spec = &of("SPEC")[0]["spec"]["connectionSpecification"];
    assert_eq!(
        spec["properties"]["credentials"]["oneOf"][0]["properties"]["api_key"]["airbyte_secret"],
        true
    );
    assert_eq!(
        of("CONNECTION_STATUS")[0]["connectionStatus"]["status"],
        "SUCCEEDED"
    );
    assert_eq!(of("CATALOG")[0]["catalog"]["streams"][0]["name"], "item");
    assert_eq!(of("RECORD").len(), 120);
    let last = of("STATE").last().unwrap()["state"].clone();

    let ended = connector_airbyte::run(
        &plugin,
        read(vec![serde_json::from_value(last).unwrap()]),
        &output,
    )
    .await;
    assert!(matches!(ended, Ended::Completed));
    let all = captured.text();
    let second = &all[text.len()..];
    assert!(
        !second.contains(r#""type":"RECORD""#),
        "nothing is read twice"
    );

    let Ok(python) = std::env::var("CONNECTOR_HOST_TEST_PYTHON") else {
        eprintln!("skipped the protocol models' check: CONNECTOR_HOST_TEST_PYTHON is not set");
        return;
    };
    let messages = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(messages.path(), all).unwrap();
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("airbyte/validate.py"))
        .arg(messages.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
