//! Credentials at rest, through the binary: an OAuth sync leaves only
//! sealed values in the database (no usable token in a copy of it), a
//! wrong or lost key is a clear error that changes nothing, and
//! `rotate-key` seals everything with a new key.

use std::path::Path;
use std::process::{Command, Output};

use zendesk_sim::{OAuthClient, SimConfig, SimHandle, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_connector-host");

/// The simulated account, a folder with its OAuth connection file, and the
/// binary run in it.
struct Host {
    sim: SimHandle,
    client: OAuthClient,
    dir: tempfile::TempDir,
}

impl Host {
    async fn start() -> Host {
        let sim = Simulator::start_settled(SimConfig {
            tickets: 30,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let client = sim.oauth_client("acme");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("acme.toml"),
            format!(
                "plugin = \"zendesk\"\nauth = \"oauth_refresh_token\"\n[config]\n\
                 subdomain = \"acme\"\noauth_client_id = \"{}\"\n[secrets]\n\
                 oauth_client_secret = {{ env = \"ZD_SECRET\" }}\n\
                 oauth_refresh_token = {{ env = \"ZD_REFRESH\" }}\n",
                client.client_id
            ),
        )
        .unwrap();
        Host { sim, client, dir }
    }

    /// `connector-host ARGS`, with `--key-file` when given.
    fn run(&self, args: &[&str], key_file: Option<&Path>) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--db")
            .arg(self.dir.path().join("host.db"))
            .arg("--cache-dir")
            .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"))
            .arg("--resolve")
            .arg(format!("acme.zendesk.com:443:{}", self.sim.https_addr()))
            .arg("--ca-cert")
            .arg(self.sim.ca_cert_path())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CONNECTOR_HOST_KEY")
            .env_remove("CONNECTOR_HOST_KEY_FILE")
            .env("ZD_SECRET", &self.client.client_secret)
            .env("ZD_REFRESH", &self.client.refresh_token);
        if let Some(file) = key_file {
            cmd.arg("--key-file").arg(file);
        }
        cmd.output().unwrap()
    }

    fn sync(&self, key_file: Option<&Path>) -> Output {
        self.run(&["sync", "--config", "acme.toml"], key_file)
    }

    /// Every value of the `credentials` table, as a copy of the file shows.
    fn stored(&self) -> Vec<String> {
        let db = rusqlite::Connection::open(self.dir.path().join("host.db")).unwrap();
        let mut stmt = db.prepare("SELECT value FROM credentials").unwrap();
        let values = stmt
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        values
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_tokens_are_sealed_and_open_only_with_their_key() {
    let host = Host::start().await;
    let out = host.sync(None);
    assert!(out.status.success(), "{}", text(&out));

    // The key file was made beside the database, for its owner only.
    let key_path = host.dir.path().join("host.db.key");
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(key.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No usable token in the database: every value is sealed.
    let values = host.stored();
    assert!(
        values.len() >= 2,
        "the access and refresh tokens: {values:?}"
    );
    for value in &values {
        assert!(value.starts_with("sealed:v1:"), "{value}");
        assert!(!value.contains(&host.client.refresh_token));
    }

    // A wrong key: a clear error naming the fix; nothing changed.
    let wrong = host.dir.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32))).unwrap();
    let out = host.sync(Some(&wrong));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("were sealed with key"), "{said}");
    assert!(said.contains("restore the key file"), "{said}");
    assert_eq!(host.stored(), values);

    // A lost key file: refused, never replaced by a new key; commands that
    // open no connection still work (status, disconnect).
    let kept = host.dir.path().join("kept.key");
    std::fs::rename(&key_path, &kept).unwrap();
    let out = host.sync(None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("host.db.key does not exist"),
        "{}",
        text(&out)
    );
    assert!(!key_path.exists(), "no new key over sealed data");
    let out = host.run(&["status", "--config", "acme.toml"], None);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::rename(&kept, &key_path).unwrap();

    // Rotation: everything sealed again with a new key, which the next sync
    // opens (the rotated refresh token still works).
    let out = host.run(&["rotate-key"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("credentials sealed again with key"),
        "{}",
        text(&out)
    );
    assert_ne!(std::fs::read_to_string(&key_path).unwrap(), key);
    assert!(host.stored().iter().all(|v| !values.contains(v)));
    let out = host.sync(None);
    assert!(out.status.success(), "{}", text(&out));
}
