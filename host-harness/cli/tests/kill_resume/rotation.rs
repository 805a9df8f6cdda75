//! The one window no client can close, measured by hand (see
//! [`rotation_window`]).

use std::time::Duration;

use super::soak::{oauth_account, token_calls, write_oauth_connection_file};
use super::{run_to_end, sync_command};

/// The one window no client can close, measured: Zendesk deletes the old
/// refresh token as it issues the new one, so a `kill -9` after the token
/// endpoint rotated and before the host committed the new token loses the
/// chain (the connection must be signed in again). Kills the sync
/// `ROTATION_KILL_DELAY_MS` (default 0) after each token endpoint call, six
/// times, and prints whether the stored token still works each time:
///
/// ```text
/// ROTATION_KILL_DELAY_MS=2 cargo test -p connector-host --test kill_resume -- --ignored rotation_window --nocapture
/// ```
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement run by hand; see its documentation"]
async fn rotation_window() {
    let delay_ms = super::soak::env_number("ROTATION_KILL_DELAY_MS").unwrap_or(0);
    let (sim, site) = oauth_account().await;
    let token = sim.admin_credentials("acme").api_token;
    let (mut kept, mut lost) = (0, 0);
    for attempt in 0..6 {
        let before = token_calls(&sim);
        let mut child = sync_command(&sim, &site, &token, &["--page-size", "50"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Polling, not synchronisation: the kill must land just after the
        // simulator has answered a token request.
        while token_calls(&sim) == before {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let next = run_to_end(&sim, &site, "check", &[]);
        eprintln!(
            "attempt {attempt}: killed {delay_ms} ms after a token call: the stored token {}",
            if next.is_ok() { "works" } else { "was lost" }
        );
        match next {
            Ok(()) => kept += 1,
            Err(_) => {
                lost += 1;
                // A fresh chain: a new refresh token and a new database.
                write_oauth_connection_file(&sim, site.dir());
                std::fs::remove_file(site.sqlite_path()).unwrap();
            }
        }
        // The next refresh is due once the access token has expired.
        sim.advance_time(62);
    }
    eprintln!("rotation window at {delay_ms} ms: kept {kept}, lost {lost}");
    sim.shutdown().await;
}
