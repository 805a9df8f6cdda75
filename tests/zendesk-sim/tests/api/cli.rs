//! The `zendesk-sim` binary's `ground-truth` subcommand.

use std::process::Command;

use zendesk_sim::SimConfig;

#[test]
fn ground_truth_prints_the_dataset_of_the_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_zendesk-sim"))
        .args([
            "ground-truth",
            "--tickets",
            "25",
            "--seed",
            "9",
            "--epoch",
            "1700000000",
            "--accounts",
            "acme,globex",
        ])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let expected = zendesk_sim::ground_truth(&SimConfig {
        tickets: 25,
        seed: 9,
        epoch: Some(1_700_000_000),
        accounts: vec!["acme".into(), "globex".into()],
        ..SimConfig::default()
    });
    assert_eq!(printed, serde_json::to_value(&expected).unwrap());
    assert_eq!(
        printed["acme"]["tickets"]["versions"]
            .as_object()
            .unwrap()
            .len(),
        25
    );
    assert!(
        printed["globex"]["comments"]["versions"]
            .as_object()
            .unwrap()
            .len()
            >= 25
    );
}
