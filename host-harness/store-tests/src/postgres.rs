//! A fresh PostgreSQL database for each test.
//!
//! With `CONNECTOR_HOST_TEST_POSTGRES` set (a connection string that may
//! create databases; `.ci/run` sets it to a cluster of its own), every
//! test database is made there. Without it, the first test of a process
//! starts a throw-away cluster in a temporary folder (`initdb` found under
//! `/usr/lib/postgresql/*/bin`, run as `postgres` when the process is
//! root, as the server refuses root), listening only on a Unix socket in
//! that folder; it is stopped and deleted when the last test database of
//! the process is dropped. Each test gets its own database (`CREATE
//! DATABASE`), dropped when the test ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};

use tokio_postgres::config::Host;

/// The environment variable naming a server for the tests.
pub const SERVER_VARIABLE: &str = "CONNECTOR_HOST_TEST_POSTGRES";

/// A database of its own for one test, dropped with it.
pub struct TestDatabase {
    server: Server,
    name: String,
}

/// Where test databases are made: the connection string's parts.
#[derive(Clone)]
struct Server {
    config: tokio_postgres::Config,
    /// The throw-away cluster, when the tests started one.
    _cluster: Option<Arc<Cluster>>,
}

impl TestDatabase {
    /// A new, empty database.
    pub fn new() -> Self {
        let server = server();
        let name = format!("connector_test_{:016x}", fastrand::u64(..));
        admin(&server.config, &format!("CREATE DATABASE {name}"));
        TestDatabase { server, name }
    }

    /// Its connection string, as a `postgresql://` URL (the form `--db`
    /// takes).
    pub fn url(&self) -> String {
        let config = &self.server.config;
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let user = config.get_user().map(encode).unwrap_or_default();
        let password = config
            .get_password()
            .map(|p| format!(":{}", encode(&String::from_utf8_lossy(p))))
            .unwrap_or_default();
        let host = match config.get_hosts().first() {
            Some(Host::Unix(path)) => path.display().to_string(),
            Some(Host::Tcp(name)) => name.clone(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgresql://{user}{password}@/{}?host={}&port={port}",
            self.name,
            encode(&host)
        )
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(
            &self.server.config,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Run one statement on the server's maintenance database, on a thread of
/// its own (the caller may be inside a runtime).
fn admin(config: &tokio_postgres::Config, statement: &str) {
    let mut config = config.clone();
    config.dbname("postgres");
    let statement = statement.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test database");
        runtime.block_on(async move {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
            tokio::spawn(connection);
            client
                .batch_execute(&statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        })
    })
    .join()
    .expect("the test database statement ran");
}

/// The server for this process's tests.
fn server() -> Server {
    if let Ok(given) = std::env::var(SERVER_VARIABLE) {
        let config = tokio_postgres::Config::from_str(&given)
            .unwrap_or_else(|e| panic!("{SERVER_VARIABLE} is not a connection string: {e}"));
        return Server {
            config,
            _cluster: None,
        };
    }
    let cluster = Cluster::shared();
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(cluster.dir.path())
        .port(cluster.port)
        .user("postgres");
    Server {
        config,
        _cluster: Some(cluster),
    }
}

/// A throw-away cluster in a temporary folder.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

/// The cluster shared by the tests running now.
static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

impl Cluster {
    /// The running cluster, started when there is none.
    fn shared() -> Arc<Cluster> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cluster) = shared.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(Cluster::start());
        *shared = Arc::downgrade(&cluster);
        cluster
    }

    fn start() -> Cluster {
        let bin = postgres_bin().unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server to test against: install Debian's `postgresql` package \
                 (apt-get install postgresql), or set {SERVER_VARIABLE} to a connection string"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("connector-test-pg")
            .tempdir()
            .expect("a folder for the test cluster");
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        // The socket is in our own folder, so any port number is free.
        let port = 5432;
        let data = dir.path().join("data");
        run(as_server_user(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        let options = format!(
            "-p {port} -k {} -c listen_addresses='' -c fsync=off",
            dir.path().display()
        );
        run(as_server_user(&bin.join("pg_ctl"))
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .arg("start"));
        Cluster { bin, dir, port }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

/// The newest PostgreSQL's programs under `/usr/lib/postgresql`.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `program`, run as `postgres` when we are root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
