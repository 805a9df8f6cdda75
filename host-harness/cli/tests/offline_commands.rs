//! Commands that never talk to the API (`status`, `export`, `map`,
//! `remap`) run without the connection's secrets: an operator can read the
//! local database without the API token in the environment. Commands that
//! do talk to it (`check`) still refuse, naming the missing variable. On
//! SQLite and on PostgreSQL, where the key that seals tokens has no
//! default and must be given.

use std::path::Path;
use std::process::{Command, Output};

use connector_store_tests::on_both_stores;
use connector_store_tests::stores::{Place, StoreKind};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// A secret variable no test sets.
const UNSET: &str = "CONNECTOR_HOST_OFFLINE_TEST_TOKEN";

/// `connector-host ARGS` on the store at `place`, in `dir`, with `stdin`.
fn run(place: &Place, dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(place.db_argument())
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

on_both_stores!(commands_that_never_call_the_api_need_no_secrets);
fn commands_that_never_call_the_api_need_no_secrets(kind: StoreKind) {
    let place = kind.fresh();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("tokens.key").display().to_string();
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

    let map = ["map", "--config", "acme.toml", "--stream", "tickets"];
    if kind == StoreKind::Postgres {
        // No default key file for a shared database: the error says what
        // to give, and nothing is made.
        let refused = run(&place, dir.path(), &map, Some(ticket));
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
        assert!(text(&refused).contains("--key-file"), "{}", text(&refused));
        assert!(!dir.path().join("tokens.key").exists());
    }
    let mapped = run(
        &place,
        dir.path(),
        &[&["--key-file", &key][..], &map].concat(),
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
        let out = run(
            &place,
            dir.path(),
            &[&["--key-file", &key][..], args].concat(),
            None,
        );
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains(UNSET), "{args:?}: {}", text(&out));
    }

    // A command that calls the API still needs the secret, and says which.
    let check = run(
        &place,
        dir.path(),
        &["--key-file", &key, "check", "--config", "acme.toml"],
        None,
    );
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(text(&check).contains(UNSET), "{}", text(&check));
}
