//! Fidelity with a real client nobody here wrote: the Python package `zenpy` reads the
//! simulator (`fidelity/zenpy_check.py`). Skipped, with a message, when python3 or zenpy is
//! missing.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use super::client::walk_list;
use super::exports::ids;
use super::{admin, small, start};

fn zenpy_available() -> Result<(), String> {
    match Command::new("python3")
        .args(["-c", "import zenpy"])
        .output()
    {
        Err(e) => Err(format!("python3 not runnable: {e}")),
        Ok(o) if !o.status.success() => Err(format!(
            "zenpy not importable ({}); `pip install zenpy` to run this test",
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        )),
        Ok(_) => Ok(()),
    }
}

fn id_set(v: &Value) -> BTreeSet<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn zenpy_reads_tickets_users_and_exports() {
    if let Err(why) = zenpy_available() {
        println!("SKIPPED zenpy fidelity test: {why}");
        return;
    }
    let sim = start(small()).await;
    let creds = sim.admin_credentials("acme");
    let script = format!("{}/fidelity/zenpy_check.py", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .env("ZD_SIM_PORT", sim.https_addr().port().to_string())
        .env("ZD_SIM_SUBDOMAIN", "acme")
        .env("ZD_SIM_EMAIL", &creds.email)
        .env("ZD_SIM_TOKEN", &creds.api_token)
        .env("REQUESTS_CA_BUNDLE", sim.ca_cert_path());
    // The script calls back into the simulator, which runs on this task's runtime.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "zenpy script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    let truth = sim.ground_truth("acme");
    let live = truth.tickets.live();

    assert_eq!(got["me"]["role"], "admin");
    assert_eq!(got["me"]["email"], creds.email.as_str());
    assert_eq!(
        id_set(&got["tickets"]),
        live,
        "tickets() lists every live ticket"
    );
    assert_eq!(
        got["tickets"].as_array().unwrap().len(),
        live.len(),
        "no ticket twice"
    );
    let active = truth.users.live();
    assert_eq!(
        id_set(&got["users"]),
        active,
        "users() lists every active user"
    );
    assert_eq!(
        id_set(&got["exported"]),
        truth.tickets.versions.keys().copied().collect(),
        "the cursor export reaches every ticket, deleted ones included"
    );
    let live_ratings = truth.satisfaction_ratings.live();
    assert_eq!(id_set(&got["ratings"]), live_ratings);
    for t in [
        "tagger",
        "multiselect",
        "text",
        "textarea",
        "checkbox",
        "date",
        "integer",
        "decimal",
    ] {
        assert!(
            got["field_types"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == t),
            "{t} field"
        );
    }

    // What zenpy saw agrees with what the API serves directly.
    let c = admin(&sim);
    let first = got["first_ticket"].as_u64().unwrap();
    let comments = c
        .json(&format!("/api/v2/tickets/{first}/comments.json"))
        .await;
    let direct: Vec<u64> = comments["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    let seen: Vec<u64> = got["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(seen, direct);
    assert_eq!(
        got["first_comment_author"],
        comments["comments"][0]["author_id"]
    );
    let open = c.json("/api/v2/search/export.json?query=type:ticket+status:open&filter[type]=ticket&page[size]=1000").await;
    let open_ids: BTreeSet<u64> = open["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert!(!open_ids.is_empty());
    assert_eq!(
        id_set(&got["open_tickets"]),
        open_ids,
        "zenpy's search export finds the open tickets"
    );
    let audits = walk_list(&c, "/api/v2/ticket_audits.json?page[size]=100", "audits").await;
    let in_order = |v: &Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        in_order(&got["audits"]),
        ids(&audits),
        "zenpy walks every audit, oldest first"
    );
    let recent = c.json("/api/v2/ticket_audits.json").await;
    assert_eq!(
        in_order(&got["recent_audits"]),
        ids(recent["audits"].as_array().unwrap()),
        "zenpy reads the older cursor's first page, newest first"
    );
    sim.shutdown().await;
}
