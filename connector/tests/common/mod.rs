//! Helpers shared by the integration tests: fixtures, a scripted HTTP
//! client, and validation of records against the published schemas.

#![allow(dead_code)] // each test binary uses a different part

pub mod fetching;

use std::collections::VecDeque;

use serde_json::Value;
use zendesk_connector::api::{HttpRequestSpec, HttpResponse, TransportError};
use zendesk_connector::types::{NormalizedRecord, StreamInfo};
use zendesk_connector::{HttpClient, MemoryStorage, NativeConnector};

/// A fixture's text.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A fixture as JSON.
pub fn json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

/// The recordings of a `.decoded.json` cassette.
pub fn recordings(path: &str) -> Vec<Value> {
    json(path).as_array().unwrap().clone()
}

/// A recording as an HTTP response (headers flattened).
pub fn recorded_response(recording: &Value) -> HttpResponse {
    let headers = recording["headers"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(k, values)| {
            values
                .as_array()
                .unwrap()
                .iter()
                .map(move |v| (k.clone(), v.as_str().unwrap().to_owned()))
        })
        .collect();
    HttpResponse {
        status: recording["status"].as_u64().unwrap() as u16,
        headers,
        body: recording["body"].to_string().into_bytes(),
    }
}

/// A JSON response.
pub fn ok(body: &str) -> HttpResponse {
    response(200, body, &[])
}

/// A response.
pub fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// An HTTP client that answers a script, in order, and records requests.
#[derive(Default)]
pub struct ScriptedHttp {
    script: VecDeque<(String, Result<HttpResponse, TransportError>)>,
    /// URLs requested so far.
    pub requested: Vec<String>,
}

impl ScriptedHttp {
    /// Expects a request whose URL contains `part`, answered by `response`.
    pub fn expect(&mut self, part: &str, response: HttpResponse) -> &mut Self {
        self.script.push_back((part.to_owned(), Ok(response)));
        self
    }

    /// Expects a request that fails without a response.
    pub fn fail(&mut self, part: &str, error: TransportError) -> &mut Self {
        self.script.push_back((part.to_owned(), Err(error)));
        self
    }

    /// Whether every scripted request was made.
    pub fn finished(&self) -> bool {
        self.script.is_empty()
    }
}

impl HttpClient for ScriptedHttp {
    fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError> {
        assert_eq!(request.method, "GET");
        self.requested.push(request.url.clone());
        let (part, answer) = self
            .script
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected request {}", request.url));
        assert!(
            request.url.contains(&part),
            "expected a request containing {part}, got {}",
            request.url
        );
        answer
    }
}

/// Base config fields; `extra` is merged in.
pub fn config_json(extra: Value) -> String {
    let mut config = serde_json::json!({
        "subdomain": "https://acme.zendesk.com/agent/tickets/1",
        "email": "admin@acme.com",
        "api_token": "<secret>",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config.to_string()
}

/// A configured connector over memory.
pub fn connector(extra: Value) -> NativeConnector<MemoryStorage> {
    let mut connector = NativeConnector::new(MemoryStorage::new());
    connector
        .configure(&config_json(extra), "api_token")
        .unwrap();
    connector
}

/// The data of a normalized record.
pub fn data(record: &NormalizedRecord) -> Value {
    serde_json::from_str(&record.data).unwrap()
}

/// The published schema of a stream.
pub fn published_schema(connector: &NativeConnector<MemoryStorage>, stream: &str) -> StreamInfo {
    connector
        .discover()
        .unwrap()
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap_or_else(|| panic!("no stream {stream}"))
}

/// Validates a record's data against a stream's published schema (draft
/// 2020-12, which the schema must itself follow) and, for a stream of
/// several kinds, against its kind's schema in `$defs` too. The errors,
/// each with the path of the member at fault.
pub fn schema_errors(json_schema: &str, kind: &str, data: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(json_schema).unwrap();
    let mut schemas = vec![&schema];
    schemas.extend(schema.get("$defs").and_then(|defs| defs.get(kind)));
    schemas
        .into_iter()
        .flat_map(|schema| {
            let validator = jsonschema::draft202012::new(schema)
                .unwrap_or_else(|e| panic!("the published schema is not valid: {e}"));
            validator
                .iter_errors(data)
                .map(|e| format!("{kind}{}: {e}", e.instance_path()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Asserts that every record matches its stream's published schema.
pub fn assert_schema(
    connector: &NativeConnector<MemoryStorage>,
    stream: &str,
    records: &[NormalizedRecord],
) {
    let info = published_schema(connector, stream);
    for record in records {
        assert!(
            info.record_kinds.contains(&record.kind),
            "{} not in {:?}",
            record.kind,
            info.record_kinds
        );
        let errors = schema_errors(&info.json_schema, &record.kind, &data(record));
        assert!(errors.is_empty(), "{}\n{}", errors.join("\n"), record.data);
    }
}
