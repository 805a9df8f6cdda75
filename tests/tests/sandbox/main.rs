//! The sandbox, proven with real components built from source: a
//! well-behaved example connector (not Zendesk), and hostile components
//! whose every attack must be stopped with a clear, classified error while
//! the host, and other connections in it, keep working.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use connector_runtime::contract::PageRequest;
use connector_runtime::engine::ContractVersion;
use connector_runtime::errors::Limit;
use connector_runtime::http_policy::ResolveOverrides;
use connector_runtime::kv::StorageQuota;
use connector_runtime::logs::LogLimits;
use connector_runtime::outbound::{HttpsClient, NetworkOptions};
use connector_runtime::{Connection, ConnectionSettings, ConnectorError, Limits, Runtime};
use connector_store_sqlite::Database;
use connector_tests::{TestServer, EXAMPLE_FEED, FEED_API_KEY, HOSTILE, SOCKETS_IMPORTER};
use serde_json::{json, Value};

mod airbyte;
mod limits;

const FEED_HOST: &str = "feed.example.test";

fn limits() -> Limits {
    Limits {
        cpu_per_call: Duration::from_secs(1),
        memory_bytes: 64 << 20,
        stack_bytes: 512 << 10,
        max_page_bytes: 16 << 20,
        wall_per_call: Duration::from_secs(3),
        max_requests_in_flight: 8,
        max_cursor_bytes: 64 << 10,
        max_key_bytes: 1 << 10,
        ..Limits::default()
    }
}

fn runtime() -> Runtime {
    // One compile cache for every test of this binary.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    Runtime::new(limits(), Some(cache)).unwrap()
}

fn client(server: &TestServer, allow_private_network: bool) -> Arc<HttpsClient> {
    let pin = format!("{FEED_HOST}:443:{}", server.addr);
    Arc::new(
        HttpsClient::new(NetworkOptions {
            resolve: ResolveOverrides::parse(&[pin]).unwrap(),
            extra_ca_pem: server.ca_pem.clone().into_bytes(),
            allow_private_network,
            max_response_bytes: 8 << 20,
            ..NetworkOptions::default()
        })
        .unwrap(),
    )
}

fn settings(name: &str, db: &Database, config: Value) -> ConnectionSettings {
    ConnectionSettings {
        name: name.into(),
        config,
        auth_scheme: None,
        stores: connector_runtime::HostStores::new(db.clone()),
        storage_quota: StorageQuota {
            max_total_bytes: 4 << 20,
            ..StorageQuota::default()
        },
        log_limits: LogLimits::default(),
        shared: Default::default(),
    }
}

async fn open(
    runtime: &Runtime,
    wasm: &str,
    client: Arc<HttpsClient>,
    settings: ConnectionSettings,
) -> Result<Connection, ConnectorError> {
    let loaded = runtime.load_file(Path::new(wasm))?;
    Connection::open(runtime, &loaded, client, settings).await
}

fn request() -> PageRequest {
    PageRequest {
        stream: "loot".into(),
        cursor: None,
        sync_started_at: 0,
        page_size: None,
    }
}

/// Read the whole feed through the example connector; returns (items, deleted).
async fn sync_feed(connection: &mut Connection) -> (usize, usize) {
    let mut cursor = None;
    let (mut items, mut deleted) = (0, 0);
    loop {
        let page = connection
            .fetch_page(&PageRequest {
                stream: "items".into(),
                cursor: cursor.clone(),
                sync_started_at: 0,
                page_size: None,
            })
            .await
            .unwrap();
        for raw in &page.records {
            for record in connection.map_record("items", raw).await.unwrap() {
                assert_eq!(record.kind, "item");
                items += 1;
                deleted += usize::from(record.deleted);
            }
        }
        cursor = page.next_cursor;
        if page.done {
            return (items, deleted);
        }
    }
}

/// What every case needs: a test server, a runtime and a database.
struct Setup {
    server: TestServer,
    runtime: Runtime,
    db: Database,
}

impl Setup {
    async fn new(items: u64) -> Self {
        Setup {
            server: TestServer::start(items).await,
            runtime: runtime(),
            db: Database::in_memory().unwrap(),
        }
    }

    /// The example connector, reading the server's feed.
    async fn feed(&self) -> Connection {
        let config = json!({"host": FEED_HOST, "api_key": FEED_API_KEY, "page_size": 50});
        self.open(EXAMPLE_FEED, "feed", config).await.unwrap()
    }

    /// The hostile connector declaring `host`, carrying out `attack`.
    async fn hostile(&self, host: &str, attack: Value) -> Connection {
        let mut config = json!({"host": host, "api_key": FEED_API_KEY});
        config
            .as_object_mut()
            .unwrap()
            .extend(attack.as_object().unwrap().clone());
        self.open(HOSTILE, "hostile", config).await.unwrap()
    }

    async fn open(
        &self,
        wasm: &str,
        name: &str,
        config: Value,
    ) -> Result<Connection, ConnectorError> {
        open(
            &self.runtime,
            wasm,
            client(&self.server, false),
            settings(name, &self.db, config),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_connector_reads_a_feed_end_to_end() {
    let setup = Setup::new(120).await;
    let mut feed = setup.feed().await;
    assert_eq!(feed.spec().name, "example-feed");
    assert!(feed.check().await.unwrap().is_empty());
    let streams = feed.discover().await.unwrap();
    assert_eq!(streams[0].name, "items");
    assert_eq!(sync_feed(&mut feed).await, (120, 12));
    // Three pages of 50, plus the check; all authenticated by the host.
    assert_eq!(setup.server.hits("/items"), 4);
    assert_eq!(
        setup.server.connections(),
        1,
        "the connection is kept alive"
    );
    // The connector's storage is durable and scoped to the connection.
    let stored: Vec<u8> = setup
        .db
        .lock()
        .query_row(
            "SELECT value FROM kv WHERE connection = 'feed' AND key = 'pages-seen'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, b"3");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_host_serves_both_contract_versions_side_by_side() {
    let setup = Setup::new(120).await;
    let feed = setup.runtime.load_file(Path::new(EXAMPLE_FEED)).unwrap();
    let hostile = setup.runtime.load_file(Path::new(HOSTILE)).unwrap();
    let zendesk = setup
        .runtime
        .load(connector_host::context::builtin_zendesk())
        .unwrap();
    assert_eq!(hostile.version, ContractVersion::V0_1);
    assert_eq!(feed.version, ContractVersion::V0_4);
    assert_eq!(zendesk.version, ContractVersion::V0_4);
    let config = json!({"subdomain": "acme", "email": "a@example.com", "api_token": "t"});
    let mut settings = settings("zendesk", &setup.db, config);
    settings.auth_scheme = Some("api_token".into());
    let mut newer = Connection::open(
        &setup.runtime,
        &zendesk,
        client(&setup.server, false),
        settings,
    )
    .await
    .unwrap();
    // A 0.1 component reads the feed through the same host meanwhile.
    let url = format!("https://{FEED_HOST}/items?limit=5");
    let mut older = setup
        .hostile(FEED_HOST, json!({"attack": "request", "url": url}))
        .await;
    let page = older.fetch_page(&request()).await.unwrap();
    let fetched: Value = serde_json::from_str(&page.records[0]).unwrap();
    assert_eq!(fetched["status"], 200, "{fetched}");
    let mut feed = setup.feed().await;
    assert_eq!(sync_feed(&mut feed).await, (120, 12));
    let streams = newer.discover().await.unwrap();
    assert!(streams.iter().any(|s| s.name == "tickets"), "{streams:?}");
    assert!(older.fetch_page(&request()).await.is_ok());
    assert_eq!(sync_feed(&mut feed).await, (120, 12));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_an_auth_error_and_a_bad_config_names_the_field() {
    let setup = Setup::new(5).await;
    let config = json!({"host": FEED_HOST, "api_key": "wrong-key-123"});
    let mut feed = setup.open(EXAMPLE_FEED, "f", config).await.unwrap();
    let err = feed.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth(_)), "{err}");
    assert!(!err.to_string().contains("wrong-key-123"));

    let config = json!({"host": FEED_HOST, "api_key": FEED_API_KEY, "page_size": 9999});
    let err = setup.open(EXAMPLE_FEED, "g", config).await.err().unwrap();
    let ConnectorError::Config(fields) = &err else {
        panic!("config error expected, got {err}")
    };
    assert_eq!(fields[0].field, "page_size");

    let err = setup
        .open(EXAMPLE_FEED, "h", json!({"host": FEED_HOST}))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("`api_key` needs api_key"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infinite_loop_hits_the_cpu_limit_while_another_connection_works() {
    let setup = Setup::new(120).await;
    let mut looping = setup
        .hostile(FEED_HOST, json!({"attack": "cpu-loop"}))
        .await;
    let mut feed = setup.feed().await;
    let loot = request();
    let (attack, synced) = tokio::join!(looping.fetch_page(&loot), sync_feed(&mut feed));
    let err = attack.unwrap_err();
    assert_limit(&err, Limit::Cpu);
    assert!(err.to_string().contains("CPU time limit"), "{err}");
    assert_eq!(synced, (120, 12));
    // The trapped instance was replaced: the connection answers again.
    assert_eq!(looping.discover().await.unwrap()[0].name, "loot");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_hits_the_memory_limit() {
    let setup = Setup::new(10).await;
    let mut bomb = setup
        .hostile(FEED_HOST, json!({"attack": "memory-bomb"}))
        .await;
    let err = bomb.fetch_page(&request()).await.unwrap_err();
    assert_limit(&err, Limit::Memory);
    let mut feed = setup.feed().await;
    assert_eq!(sync_feed(&mut feed).await, (10, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_recursion_hits_the_stack_limit() {
    let setup = Setup::new(1).await;
    let mut deep = setup
        .hostile(FEED_HOST, json!({"attack": "stack-overflow"}))
        .await;
    let err = deep.fetch_page(&request()).await.unwrap_err();
    assert_limit(&err, Limit::Stack);
}

/// The hostile connector requests `url` with `host` as its declared host;
/// returns the error the host reports.
async fn attempt(host: &str, url: &str) -> (ConnectorError, Setup) {
    let setup = Setup::new(1).await;
    let mut conn = setup
        .hostile(host, json!({"attack": "request", "url": url}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    (err, setup)
}

/// Asserts that `err` says `limit` was exceeded.
fn assert_limit(err: &ConnectorError, limit: Limit) {
    assert!(
        matches!(err, ConnectorError::LimitExceeded { limit: hit, .. } if *hit == limit),
        "{err}"
    );
}

fn assert_refused(err: &ConnectorError, because: &str) {
    assert!(matches!(err, ConnectorError::Permission(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("the host refused a request"), "{text}");
    assert!(text.contains(because), "expected `{because}` in: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_private_and_metadata_addresses_are_refused() {
    let cases = [
        ("127.0.0.1", "https://127.0.0.1/", "a loopback address"),
        (
            "[::ffff:127.0.0.1]",
            "https://[::ffff:127.0.0.1]/",
            "a loopback address",
        ),
        (
            "169.254.169.254",
            "https://169.254.169.254/latest/meta-data/",
            "link-local",
        ),
        ("localhost", "https://localhost/", "a loopback address"),
        ("10.0.0.1", "https://10.0.0.1/", "a private-network address"),
    ];
    for (host, url, because) in cases {
        let (err, _) = attempt(host, url).await;
        assert_refused(&err, because);
        assert!(err.to_string().contains("--allow-private-network"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn undeclared_hosts_and_plain_http_are_refused() {
    let (err, _) = attempt(FEED_HOST, "https://other.example.net/").await;
    assert_refused(&err, "did not declare this host");
    assert!(
        err.to_string().contains("https://feed.example.test"),
        "{err}"
    );
    let (err, setup) = attempt(FEED_HOST, "http://feed.example.test/items").await;
    assert_refused(&err, "only use https");
    assert_eq!(setup.server.hits("/items"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_not_followed_and_following_one_elsewhere_is_refused() {
    let setup = Setup::new(1).await;
    let url = format!("https://{FEED_HOST}/redirect");
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "follow-redirect", "url": url}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    assert_refused(&err, "https://elsewhere.example.org");
    assert_eq!(setup.server.hits("/redirect"), 1);
    assert_eq!(setup.server.hits("/landing"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn files_environment_and_arguments_are_not_there() {
    std::env::set_var("HOST_SECRET_ENV", "leaked");
    let setup = Setup::new(1).await;
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "read-file-and-env"}))
        .await;
    let page = conn.fetch_page(&request()).await.unwrap();
    let loot: Value = serde_json::from_str(&page.records[0]).unwrap();
    assert!(
        loot["file"].as_str().unwrap().starts_with("denied"),
        "{loot}"
    );
    assert_eq!(loot["env"], json!([]));
    assert_eq!(loot["args"], json!([]));
    assert!(!page.records[0].contains("leaked"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_never_reaches_the_connector_nor_leaves_through_it() {
    let setup = Setup::new(1).await;
    let url = format!("https://{FEED_HOST}/echo-auth");
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "steal-secret", "url": url}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    let text = err.to_string();
    // The connector saw a placeholder instead of the secret...
    assert!(text.contains("<secret>"), "{text}");
    // ...the echo of the injected header is scrubbed from what it reports...
    assert!(text.contains("echoed ***"), "{text}");
    assert!(!text.contains(FEED_API_KEY), "{text}");
    // ...its logs are scrubbed too, and it cannot send anything elsewhere.
    assert!(text.contains("exfiltration None"), "{text}");
    assert_refused(&err, "https://exfiltrate.example.net refused");
    let logs = conn.log().recent().join("\n");
    assert!(logs.contains("echoed ***"), "{logs}");
    assert!(!logs.contains(FEED_API_KEY), "{logs}");
    assert_eq!(setup.server.hits("/echo-auth"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_flood_is_cut_and_the_host_keeps_working() {
    let setup = Setup::new(1).await;
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "log-flood"}))
        .await;
    let page = conn.fetch_page(&request()).await.unwrap();
    assert_eq!(page.records, vec!["{\"survived\":true}"]);
    assert!(
        conn.log().dropped_this_call() >= 20_000,
        "{}",
        conn.log().dropped_this_call()
    );
    let recent = conn.log().recent();
    assert!(recent.len() <= LogLimits::default().recent_lines);
    assert!(recent
        .iter()
        .all(|line| line.len() <= 4096 + " [truncated]".len()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_storage_quota_holds() {
    let setup = Setup::new(1).await;
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "storage-quota"}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    assert_limit(&err, Limit::Storage);
    let used: i64 = setup
        .db
        .lock()
        .query_row("SELECT SUM(length(key) + length(value)) FROM kv", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(used <= 4 << 20, "{used}");
}

#[tokio::test(flavor = "multi_thread")]
async fn gigantic_responses_and_pages_are_refused() {
    let setup = Setup::new(1).await;
    let url = format!("https://{FEED_HOST}/huge");
    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "request", "url": url}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Transient(_)
                | ConnectorError::Protocol(_)
                | ConnectorError::LimitExceeded { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().to_lowercase().contains("size"), "{err}");

    let mut conn = setup
        .hostile(FEED_HOST, json!({"attack": "huge-page", "size_mb": 20}))
        .await;
    let err = conn.fetch_page(&request()).await.unwrap_err();
    assert_limit(&err, Limit::Page);
}

#[tokio::test(flavor = "multi_thread")]
async fn components_importing_sockets_or_core_modules_are_refused() {
    let runtime = runtime();
    let err = runtime
        .load_file(Path::new(SOCKETS_IMPORTER))
        .err()
        .unwrap();
    assert!(matches!(err, ConnectorError::Refused(_)), "{err}");
    assert!(err.to_string().contains("wasi:sockets"), "{err}");
    let err = runtime.load(b"\0asm\x01\0\0\0").err().unwrap();
    assert!(err.to_string().contains("core WebAssembly module"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(limits(), Some(dir.path().to_path_buf())).unwrap();
    let first = runtime.load_file(Path::new(EXAMPLE_FEED)).unwrap();
    assert!(!first.from_cache);
    let second = runtime.load_file(Path::new(EXAMPLE_FEED)).unwrap();
    assert!(second.from_cache);
    assert_eq!(first.digest, second.digest);
    // A corrupt entry is recompiled, not trusted.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let third = runtime.load_file(Path::new(EXAMPLE_FEED)).unwrap();
    assert!(!third.from_cache);
}
