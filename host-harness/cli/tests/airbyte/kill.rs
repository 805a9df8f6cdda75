//! Reads killed with `kill -9` at random moments, each resumed from the
//! states the platform kept.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use zendesk_sim::{RateLimits, SimConfig, Simulator};

use super::{airbyte, configured_catalog, of_type, path, token_config, write_json, Platform};

/// Under Zendesk's budgets (a simulated minute a second) the first import
/// splits the comment history between the events export and the
/// per-ticket queue, both kept in the connector's storage: the kills land
/// in the split's probe and the queue too, and every read resumes from the
/// states alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_killed_at_random_moments_resumes_from_its_last_state_without_loss() {
    let sim = Simulator::start_settled(SimConfig {
        tickets: 6000,
        users: 400,
        organizations: 40,
        history_days: 60,
        rate_limits: RateLimits::plan("enterprise"),
        time_scale: 60.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first_import = sim.now();
    let dir = tempfile::tempdir().unwrap();
    let config = write_json(dir.path(), "config.json", &token_config(&sim));
    let catalog = write_json(
        dir.path(),
        "catalog.json",
        &configured_catalog(&sim, &config),
    );
    let seed = fastrand::u64(..);
    eprintln!("kill schedule seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut platform = Platform::default();
    let mut killed_mid_way = 0;
    for round in 0..11 {
        // What a dead process sent after its last state is not committed.
        platform.pending.clear();
        let state = platform.state_file(dir.path());
        let mut command = airbyte(
            &sim,
            &[
                "read",
                "--config",
                path(&config),
                "--catalog",
                path(&catalog),
                "--state",
                path(&state),
            ],
        );
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let last_round = round == 10;
        let kill_after = Duration::from_millis(rng.u64(200..1500));
        // The platform reads everything the process wrote before it died.
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
                .collect::<Vec<_>>()
        });
        let killed = !last_round && {
            let started = std::time::Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break false;
                }
                if started.elapsed() >= kill_after {
                    let _ = child.kill(); // SIGKILL
                    break true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        let status = child.wait().unwrap();
        let messages = reader.join().unwrap();
        let states = of_type(&messages, "STATE").len();
        eprintln!(
            "round {round}: killed after {kill_after:?}: {killed}, {} messages, {states} states",
            messages.len()
        );
        if killed && states > 0 {
            killed_mid_way += 1;
        }
        if last_round {
            assert!(status.success(), "the last read failed");
        }
        for message in &messages {
            platform.take(message);
        }
    }
    assert!(
        killed_mid_way >= 3,
        "the kills did not land mid-read; make the dataset larger"
    );

    let truth = sim.ground_truth("acme");
    assert_eq!(platform.ids("conversation", false), truth.tickets.live());
    assert_eq!(platform.ids("person", false), truth.users.live());
    // Where the history split, from the connector's storage in the state.
    let checkpoint = &platform.states["message"]["stream"]["stream_state"];
    let storage =
        connector_airbyte::state::decode_storage(checkpoint["storage"].as_str().unwrap()).unwrap();
    let split = storage
        .iter()
        .find(|(key, _)| key == "comment-split")
        .unwrap();
    let split: Value = serde_json::from_slice(&split.1).unwrap();
    assert!(
        !platform.tables["message"].is_empty() && split["start"].as_i64().is_some(),
        "{split}"
    );
    assert_eq!(
        platform.ids("message", false),
        truth.comments_with_split_at(split["start"].as_i64().unwrap(), first_import)
    );
    let twice: Vec<_> = platform
        .message_copies
        .iter()
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(twice.is_empty(), "messages committed twice: {twice:?}");
    platform.assert_no_absent_conversations();
    sim.shutdown().await;
}
