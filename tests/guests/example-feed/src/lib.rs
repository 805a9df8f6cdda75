//! A well-behaved example connector that is not Zendesk: it reads a
//! paginated JSON feed of items (`GET /items?after=ID&limit=N`, bearer
//! token) and maps each item to an `item` record. It proves the contract is
//! generic and that connectors swap in the same host.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "connector-core",
    generate_all,
});

use std::cell::RefCell;

use connector::source::storage;
use connector::source::types::{
    AuthKind, AuthScheme, ConnectorError, ConnectorSpec, FieldError, NormalizedRecord, Page,
    PageRequest, StreamInfo, SyncMode, Warning,
};
use exports::connector::source::source::Guest;
use serde::Deserialize;
use serde_json::value::RawValue;
use wasi::logging::logging::{log, Level};

struct Feed;

/// The adopted configuration.
#[derive(Clone, Deserialize)]
struct Config {
    host: String,
    #[serde(default = "default_page_size")]
    page_size: u32,
}

fn default_page_size() -> u32 {
    50
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn config() -> Result<Config, ConnectorError> {
    CONFIG
        .with(|c| c.borrow().clone())
        .ok_or_else(|| ConnectorError::Internal("configure was not called".into()))
}

#[derive(Deserialize)]
struct ItemsPage<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
    has_more: bool,
}

#[derive(Deserialize)]
struct Item {
    id: u64,
    title: String,
    updated_at: String,
    #[serde(default)]
    deleted: bool,
}

fn get(url: &str) -> Result<(u16, Vec<u8>), ConnectorError> {
    let response = waki::Client::new()
        .get(url)
        .connect_timeout(std::time::Duration::from_secs(10))
        .send()
        .map_err(|e| ConnectorError::Transient(format!("request to {url} failed: {e}")))?;
    let status = response.status_code();
    let body = response
        .body()
        .map_err(|e| ConnectorError::Transient(format!("reading {url} failed: {e}")))?;
    Ok((status, body))
}

fn classify(status: u16, body: &[u8]) -> ConnectorError {
    let text = String::from_utf8_lossy(body)
        .chars()
        .take(200)
        .collect::<String>();
    match status {
        401 => ConnectorError::Auth("the API key was rejected; check `api_key`".into()),
        403 => ConnectorError::Permission("the API key may not read items".into()),
        429 => ConnectorError::RateLimited(connector::source::types::RateLimit {
            retry_after_ms: 1000,
            message: "the feed asked us to slow down".into(),
        }),
        500..=599 => ConnectorError::Transient(format!("the feed answered {status}")),
        _ => ConnectorError::Protocol(format!("the feed answered {status}: {text}")),
    }
}

impl Guest for Feed {
    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "example-feed".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Items from a paginated JSON feed (an example connector)".into(),
            config_schema: serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "required": ["host", "api_key"],
                "properties": {
                    "host": {"type": "string", "description": "The feed's host name"},
                    "api_key": {"type": "string", "x-secret": true},
                    "page_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
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
        let parsed: Config = serde_json::from_str(&config).map_err(|e| {
            ConnectorError::Config(vec![FieldError {
                field: "host".into(),
                message: format!("the config is incomplete: {e}"),
            }])
        })?;
        if !(1..=500).contains(&parsed.page_size) {
            return Err(ConnectorError::Config(vec![FieldError {
                field: "page_size".into(),
                message: format!("must be between 1 and 500, not {}", parsed.page_size),
            }]));
        }
        CONFIG.with(|c| *c.borrow_mut() = Some(parsed));
        Ok(config)
    }

    fn check() -> Result<Vec<Warning>, ConnectorError> {
        let config = config()?;
        let (status, body) = get(&format!("https://{}/items?limit=1", config.host))?;
        if status != 200 {
            return Err(classify(status, &body));
        }
        Ok(Vec::new())
    }

    fn discover() -> Result<Vec<StreamInfo>, ConnectorError> {
        Ok(vec![StreamInfo {
            name: "items".into(),
            description: "Every item of the feed".into(),
            record_kinds: vec!["item".into()],
            json_schema: serde_json::json!({
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "updated_at": {"type": "string"}
                }
            })
            .to_string(),
            primary_key: vec!["id".into()],
            cursor_field: Some("id".into()),
            sync_modes: vec![SyncMode::Incremental, SyncMode::FullRefresh],
            depends_on: Vec::new(),
            optional: false,
        }])
    }

    fn fetch_page(request: PageRequest) -> Result<Page, ConnectorError> {
        if request.stream != "items" {
            return Err(ConnectorError::Config(vec![FieldError {
                field: "stream".into(),
                message: format!("unknown stream `{}`", request.stream),
            }]));
        }
        let config = config()?;
        let after = request.cursor.unwrap_or_else(|| "0".into());
        let limit = request.page_size.unwrap_or(config.page_size);
        let url = format!("https://{}/items?after={after}&limit={limit}", config.host);
        let (status, body) = get(&url)?;
        if status != 200 {
            return Err(classify(status, &body));
        }
        let page: ItemsPage = serde_json::from_slice(&body)
            .map_err(|e| ConnectorError::Protocol(format!("the feed's page is not valid: {e}")))?;
        let last_id = page
            .items
            .last()
            .map(|raw| serde_json::from_str::<Item>(raw.get()).map(|i| i.id))
            .transpose()
            .map_err(|e| ConnectorError::Protocol(format!("an item is not valid: {e}")))?;
        let pages_seen = storage::get("pages-seen")
            .ok()
            .flatten()
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let _ = storage::set("pages-seen", (pages_seen + 1).to_string().as_bytes());
        log(
            Level::Debug,
            "fetch",
            &format!("{} items after {after}", page.items.len()),
        );
        Ok(Page {
            records: page.items.iter().map(|r| r.get().to_string()).collect(),
            next_cursor: Some(last_id.map(|id| id.to_string()).unwrap_or(after)),
            done: !page.has_more,
            budgets: Vec::new(),
            requests: 1,
        })
    }

    fn map_record(stream: String, raw: String) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        if stream != "items" {
            return Err(ConnectorError::Internal(format!(
                "unknown stream `{stream}`"
            )));
        }
        let item: Item = serde_json::from_str(&raw)
            .map_err(|e| ConnectorError::Protocol(format!("an item is not valid: {e}")))?;
        Ok(vec![NormalizedRecord {
            kind: "item".into(),
            key: item.id.to_string(),
            version: Some(item.updated_at.clone()),
            data: serde_json::json!({
                "id": item.id,
                "title": item.title,
                "updated_at": item.updated_at,
            })
            .to_string(),
            deleted: item.deleted,
        }])
    }
}

export!(Feed);
