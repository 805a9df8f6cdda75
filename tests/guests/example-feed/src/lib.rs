//! A well-behaved example connector that is not Zendesk: it reads a
//! paginated JSON feed of items (`GET /items?after=ID&limit=N`, bearer
//! token) and maps each item to an `item` record. It proves the contract is
//! generic and that connectors swap in the same host, and shows a connector
//! on the guest SDK: sans-IO logic over the SDK's traits, one line of glue.

use connector_sdk::log::{log, Level};
use connector_sdk::types::{
    AuthKind, AuthScheme, ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest,
    RateLimit, StreamInfo, SyncMode, Warning,
};
use connector_sdk::{Connector, HttpClient, HttpRequestSpec, Storage};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The connector, over the connection's storage.
#[derive(Default)]
struct Feed<S> {
    storage: S,
    config: Option<Config>,
}

connector_sdk::export_connector!(Feed<connector_sdk::HostStorage>);

/// The adopted configuration.
#[derive(Deserialize)]
struct Config {
    host: String,
    #[serde(default = "default_page_size")]
    page_size: u32,
}

fn default_page_size() -> u32 {
    50
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

/// `GET url`: its status and body.
fn get(http: &mut impl HttpClient, url: &str) -> Result<(u16, Vec<u8>), ConnectorError> {
    let response = http
        .send(&HttpRequestSpec::get(url.to_owned()))
        .map_err(|e| ConnectorError::Transient(format!("request to {url} failed: {e}")))?;
    Ok((response.status, response.body))
}

fn classify(status: u16, body: &[u8]) -> ConnectorError {
    let text = String::from_utf8_lossy(body)
        .chars()
        .take(200)
        .collect::<String>();
    match status {
        401 => ConnectorError::Auth("the API key was rejected; check `api_key`".into()),
        403 => ConnectorError::Permission("the API key may not read items".into()),
        429 => ConnectorError::RateLimited(RateLimit {
            retry_after_ms: 1000,
            message: "the feed asked us to slow down".into(),
        }),
        500..=599 => ConnectorError::Transient(format!("the feed answered {status}")),
        _ => ConnectorError::Protocol(format!("the feed answered {status}: {text}")),
    }
}

impl<S> Feed<S> {
    fn config(&self) -> Result<&Config, ConnectorError> {
        self.config
            .as_ref()
            .ok_or_else(|| ConnectorError::Internal("configure was not called".into()))
    }
}

impl<S: Storage> Connector for Feed<S> {
    const LOG_CONTEXT: &'static str = "example-feed";

    fn spec(&self) -> ConnectorSpec {
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
            disconnect_advice: "revoke the API key at the feed".into(),
        }
    }

    fn configure(&mut self, config: &str, _auth_scheme: &str) -> Result<String, ConnectorError> {
        let parsed: Config = serde_json::from_str(config).map_err(|e| {
            ConnectorError::config("host", format!("the config is incomplete: {e}"))
        })?;
        if !(1..=500).contains(&parsed.page_size) {
            return Err(ConnectorError::config(
                "page_size",
                format!("must be between 1 and 500, not {}", parsed.page_size),
            ));
        }
        self.config = Some(parsed);
        Ok(config.to_owned())
    }

    fn check(&mut self, http: &mut impl HttpClient) -> Result<Vec<Warning>, ConnectorError> {
        let config = self.config()?;
        let (status, body) = get(http, &format!("https://{}/items?limit=1", config.host))?;
        if status != 200 {
            return Err(classify(status, &body));
        }
        Ok(Vec::new())
    }

    fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
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
            refresh_every_seconds: None,
        }])
    }

    fn fetch_page(
        &mut self,
        http: &mut impl HttpClient,
        request: &PageRequest,
    ) -> Result<Page, ConnectorError> {
        if request.stream != "items" {
            return Err(ConnectorError::config(
                "stream",
                format!("unknown stream `{}`", request.stream),
            ));
        }
        let config = self.config()?;
        let after = request.cursor.clone().unwrap_or_else(|| "0".into());
        let limit = request.page_size.unwrap_or(config.page_size);
        let url = format!("https://{}/items?after={after}&limit={limit}", config.host);
        let (status, body) = get(http, &url)?;
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
        let pages_seen = self
            .storage
            .get("pages-seen")
            .ok()
            .flatten()
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let _ = self
            .storage
            .set("pages-seen", (pages_seen + 1).to_string().as_bytes());
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
            progress: None,
        })
    }

    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        if stream != "items" {
            return Err(ConnectorError::Internal(format!(
                "unknown stream `{stream}`"
            )));
        }
        let item: Item = serde_json::from_str(raw)
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
