//! Helpers shared by the integration tests: fixtures, a scripted HTTP
//! client, and a small JSON Schema checker for the published schemas.

#![allow(dead_code)] // each test binary uses a different part

pub mod fetching;

use std::collections::VecDeque;

use serde_json::Value;
use zendesk_connector::api::{HttpRequestSpec, HttpResponse, TransportError};
use zendesk_connector::types::NormalizedRecord;
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

/// Checks a value against the subset of JSON Schema the published schemas
/// use: `type` (one or a list), `properties`, `required`,
/// `additionalProperties` (boolean), `items`, `enum`.
pub fn check_schema(value: &Value, schema: &Value, path: &str) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => panic!("bad type in schema at {path}"),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{path}: {actual} is not {types:?}"));
        }
    }
    if let (Some(allowed), false) = (
        schema.get("enum").and_then(Value::as_array),
        value.is_null(),
    ) {
        if !allowed.contains(value) {
            return Err(format!("{path}: {value} not in {allowed:?}"));
        }
    }
    if let Value::Object(map) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(required.as_str().unwrap()) {
                return Err(format!("{path}: missing {required}"));
            }
        }
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check_schema(item, sub, &format!("{path}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: {key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_schema(item, sub, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

/// Asserts that every record matches its stream's published schema.
pub fn assert_schema(
    connector: &NativeConnector<MemoryStorage>,
    stream: &str,
    records: &[NormalizedRecord],
) {
    let info = connector
        .discover()
        .unwrap()
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap_or_else(|| panic!("no stream {stream}"));
    let schema: Value = serde_json::from_str(&info.json_schema).unwrap();
    for record in records {
        assert!(
            info.record_kinds.contains(&record.kind),
            "{} not in {:?}",
            record.kind,
            info.record_kinds
        );
        // A stream of several kinds publishes each kind's schema in `$defs`.
        let kind_schema = schema
            .get("$defs")
            .and_then(|defs| defs.get(&record.kind))
            .unwrap_or(&schema);
        if let Err(e) = check_schema(&data(record), kind_schema, &record.kind) {
            panic!("{e}\n{}", record.data);
        }
    }
}
