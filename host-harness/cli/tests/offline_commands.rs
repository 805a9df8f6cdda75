//! Commands that never talk to the API (`status`, `export`, `map`,
//! `remap`) run without the connection's secrets: an operator can read the
//! local database without the API token in the environment. Commands that
//! do talk to it (`check`) still refuse, naming the missing variable.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// A secret variable no test sets.
const UNSET: &str = "CONNECTOR_HOST_OFFLINE_TEST_TOKEN";

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(dir.join("offline.db"))
        .arg("--cache-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
        .args(args)
        .current_dir(dir)
        .env_remove(UNSET);
    match stdin {
        Some(text) => {
            let path = dir.join("stdin.json");
            std::fs::write(&path, text).unwrap();
            cmd.stdin(std::fs::File::open(path).unwrap());
        }
        None => {
            cmd.stdin(std::process::Stdio::null());
        }
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn commands_that_never_call_the_api_need_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.toml"),
        format!(
            "plugin = \"zendesk\"\n[config]\nsubdomain = \"acme\"\nemail = \"admin@acme.test\"\n\
             [secrets]\napi_token = {{ env = \"{UNSET}\" }}\n"
        ),
    )
    .unwrap();
    let ticket = r#"{"id": 7, "subject": "Printer on fire", "status": "open",
        "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z",
        "requester_id": 1, "custom_fields": [], "tags": ["fire"]}"#;

    let mapped = run(
        dir.path(),
        &["map", "--config", "acme.toml", "--stream", "tickets"],
        Some(ticket),
    );
    assert!(mapped.status.success(), "map: {}", text(&mapped));
    let first: serde_json::Value = serde_json::from_slice(
        mapped
            .stdout
            .split(|b| *b == b'\n')
            .next()
            .expect("a record"),
    )
    .unwrap();
    assert_eq!(first["kind"], "conversation");
    assert_eq!(first["data"]["subject"], "Printer on fire");

    for args in [
        &["status", "--config", "acme.toml"][..],
        &["export", "--config", "acme.toml", "--stream", "tickets"],
        &["remap", "--config", "acme.toml"],
    ] {
        let out = run(dir.path(), args, None);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains(UNSET), "{args:?}: {}", text(&out));
    }

    // A command that calls the API still needs the secret, and says which.
    let check = run(dir.path(), &["check", "--config", "acme.toml"], None);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(text(&check).contains(UNSET), "{}", text(&check));
}
