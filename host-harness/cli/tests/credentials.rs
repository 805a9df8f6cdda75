//! Credentials at rest, through the binary: an OAuth sync leaves only
//! sealed values in the database (no usable token in a copy of it), a
//! wrong or lost key is a clear error that changes nothing, and
//! `rotate-key` seals everything with a new key. `authorize` signs a
//! connection in with OAuth's authorization code and PKCE, driven by a
//! scripted browser, so that its connection file holds no token.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

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
        self.command(args, key_file).output().unwrap()
    }

    /// The command `run` runs.
    fn command(&self, args: &[&str], key_file: Option<&Path>) -> Command {
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
        cmd
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

/// What a browser gets for `GET path` from `addr` (named `host`): the
/// status and the `Location` header.
fn browser_get(addr: SocketAddr, host: &str, path: &str) -> (u16, Option<String>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = answer
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("location: ").map(String::from));
    (status, location)
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_signs_in_with_pkce_and_the_connection_needs_no_token() {
    let host = Host::start().await;
    std::fs::write(
        host.dir.path().join("signed.toml"),
        format!(
            "plugin = \"zendesk\"\nauth = \"oauth_refresh_token\"\n[config]\nsubdomain = \"acme\"\noauth_client_id = \"{}\"\n\
             [secrets]\noauth_client_secret = {{ env = \"ZD_SECRET\" }}\n",
            host.client.client_id
        ),
    )
    .unwrap();
    // Before sign-in, the connection has no credentials and says how to get them.
    let out = host.run(&["check", "--config", "signed.toml"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("or sign the connection in"),
        "{}",
        text(&out)
    );

    let mut child = host
        .command(
            &[
                "authorize",
                "--config",
                "signed.toml",
                "--port",
                "0",
                "--no-browser",
            ],
            None,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no URL printed");
        if let Some(url) = line.trim().strip_prefix("https://acme.zendesk.com") {
            break url.to_string();
        }
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("code_challenge").len(), 43, "a SHA-256, base64url");
    assert!(param("state").len() >= 32);
    let redirect = url::Url::parse(&param("redirect_uri")).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    let loopback: SocketAddr = format!("127.0.0.1:{}", redirect.port().unwrap())
        .parse()
        .unwrap();

    // A forged redirect (another state) is refused and does not end the sign-in.
    let (status, _) = browser_get(loopback, "127.0.0.1", "/callback?code=forged&state=forged");
    assert_eq!(status, 400);

    // The browser: the sign-in page redirects back with a code.
    let (status, location) = browser_get(host.sim.http_addr(), "acme.zendesk.com", &url);
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(location.port(), redirect.port());
    let (code, state) = {
        let pairs: std::collections::BTreeMap<_, _> = location.query_pairs().into_owned().collect();
        (pairs["code"].clone(), pairs["state"].clone())
    };
    assert_eq!(state, param("state"));
    let (status, _) = browser_get(
        loopback,
        "127.0.0.1",
        &format!("{}?{}", location.path(), location.query().unwrap()),
    );
    assert_eq!(status, 200);
    let out = child.wait_with_output().unwrap();
    let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
    stderr.read_to_string(&mut said).unwrap();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("signed in") && said.contains("can reach its data"),
        "{said}"
    );

    // The connection syncs with the stored tokens; none is readable in the
    // database, and no secret was printed.
    let out = host.run(&["sync", "--config", "signed.toml"], None);
    assert!(out.status.success(), "{}", text(&out));
    let values = host.stored();
    assert!(values.len() >= 3, "{values:?}");
    assert!(
        values.iter().all(|v| v.starts_with("sealed:v1:")),
        "{values:?}"
    );
    assert!(!text(&out).contains(&host.client.client_secret));

    // The code works once: exchanging it again is refused (invalid_grant).
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id={}&client_secret={}&redirect_uri={}",
        host.client.client_id,
        host.client.client_secret,
        url::form_urlencoded::byte_serialize(redirect.as_str().as_bytes()).collect::<String>()
    );
    let mut stream = TcpStream::connect(host.sim.http_addr()).unwrap();
    write!(
        stream,
        "POST /oauth/tokens HTTP/1.1\r\nHost: acme.zendesk.com\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_grant"), "{answer}");
}
