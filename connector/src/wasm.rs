//! The component glue: WIT exports onto [`NativeConnector`], the host's
//! `storage` and `wasi:logging` imports, and HTTP through waki's
//! `wasi:http/outgoing-handler` bindings.

use std::cell::RefCell;

use waki::bindings::wasi::http::{outgoing_handler, types as http};
use waki::bindings::wasi::io::poll;
use waki::bindings::wasi::io::streams::StreamError;

use crate::api::{HttpRequestSpec, HttpResponse, TransportError};
use crate::storage::{Storage, StorageError};
use crate::types as native;
use crate::{HttpClient, NativeConnector};

wit_bindgen::generate!({
    path: "../wit/v0.2.0",
    world: "connector-core",
    generate_all,
});

use connector::source::storage as host;
use connector::source::types as wit;
use exports::connector::source::source::Guest;
use wasi::logging::logging::{log, Level};

/// Log context of every message.
const CONTEXT: &str = "zendesk-support";

/// The host's `storage` interface.
struct HostStorage;

impl From<host::StorageError> for StorageError {
    fn from(error: host::StorageError) -> Self {
        match error {
            host::StorageError::QuotaExceeded(m) => StorageError::QuotaExceeded(m),
            host::StorageError::Unavailable(m) => StorageError::Unavailable(m),
        }
    }
}

impl Storage for HostStorage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(host::get(key)?)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        Ok(host::set(key, value)?)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        Ok(host::delete(key)?)
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(host::list_keys(prefix)?)
    }
}

/// HTTP through `wasi:http` (the bindings waki generates); the host adds
/// `Authorization`. Several requests are in flight at once.
struct WakiClient;

/// Classifies a waki failure by its `wasi:http` error code.
fn transport_error(error: &waki::ErrorCode) -> TransportError {
    use waki::ErrorCode as E;
    let detail = format!("{error:?}");
    match error {
        E::DnsTimeout | E::DnsError(_) | E::DestinationNotFound => TransportError::Dns(detail),
        E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::HttpResponseTimeout => TransportError::Timeout(detail),
        E::HttpRequestDenied | E::DestinationIpProhibited => TransportError::Denied(detail),
        _ => TransportError::Other(detail),
    }
}

/// Connect timeout, in nanoseconds.
const CONNECT_TIMEOUT_NS: u64 = 30_000_000_000;

/// Starts a `GET`; its response comes through the returned future.
fn start(request: &HttpRequestSpec) -> Result<http::FutureIncomingResponse, TransportError> {
    let other = |what: &str| TransportError::Other(format!("{what} ({})", request.url));
    let rest = request
        .url
        .strip_prefix("https://")
        .ok_or_else(|| other("not an https URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let fields: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
        .collect();
    let headers = http::Fields::from_list(&fields).map_err(|_| other("a header is invalid"))?;
    let outgoing = http::OutgoingRequest::new(headers);
    let path = if path.is_empty() { "/" } else { path };
    let set = outgoing
        .set_method(&http::Method::Get)
        .and(outgoing.set_scheme(Some(&http::Scheme::Https)))
        .and(outgoing.set_authority(Some(authority)))
        .and(outgoing.set_path_with_query(Some(path)));
    set.map_err(|()| other("the URL is invalid"))?;
    let body = outgoing.body().map_err(|()| other("no request body"))?;
    let options = http::RequestOptions::new();
    options
        .set_connect_timeout(Some(CONNECT_TIMEOUT_NS))
        .map_err(|()| other("no connect timeout"))?;
    let future =
        outgoing_handler::handle(outgoing, Some(options)).map_err(|e| transport_error(&e))?;
    http::OutgoingBody::finish(body, None).map_err(|e| transport_error(&e))?;
    Ok(future)
}

/// Reads a whole response.
fn read(response: http::IncomingResponse) -> Result<HttpResponse, TransportError> {
    let status = response.status();
    let headers = {
        let fields = response.headers();
        fields
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect()
    };
    let failed = |what: &str| TransportError::Other(what.to_owned());
    let body = response
        .consume()
        .map_err(|()| failed("the response body was already read"))?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| failed("the response body was already read"))?;
        loop {
            match stream.blocking_read(1 << 20) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(TransportError::Other(e.to_debug_string()))
                }
            }
        }
    }
    drop(body);
    log(
        Level::Debug,
        CONTEXT,
        &format!("HTTP {status}, {} bytes", bytes.len()),
    );
    Ok(HttpResponse {
        status,
        headers,
        body: bytes,
    })
}

impl HttpClient for WakiClient {
    fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError> {
        self.send_many(std::slice::from_ref(request))
            .pop()
            .expect("one response per request")
    }

    fn send_many(
        &mut self,
        requests: &[HttpRequestSpec],
    ) -> Vec<Result<HttpResponse, TransportError>> {
        for request in requests {
            log(
                Level::Debug,
                CONTEXT,
                &format!("{} {}", request.method, request.url),
            );
        }
        let started: Vec<_> = requests.iter().map(start).collect();
        // Wait until every response has arrived (or failed).
        let mut waiting: Vec<poll::Pollable> = started
            .iter()
            .filter_map(|f| f.as_ref().ok().map(|f| f.subscribe()))
            .collect();
        while !waiting.is_empty() {
            let ready = {
                let refs: Vec<&poll::Pollable> = waiting.iter().collect();
                poll::poll(&refs)
            };
            let mut index = 0;
            waiting.retain(|_| {
                index += 1;
                !ready.contains(&(index - 1))
            });
        }
        started
            .into_iter()
            .map(|future| {
                let future = future?;
                let response = future
                    .get()
                    .ok_or_else(|| TransportError::Other("no response yet".into()))?
                    .map_err(|()| TransportError::Other("the response was already taken".into()))?
                    .map_err(|e| transport_error(&e))?;
                read(response)
            })
            .collect()
    }
}

thread_local! {
    static CONNECTOR: RefCell<NativeConnector<HostStorage>> = RefCell::new(NativeConnector::new(HostStorage));
}

fn with<T>(f: impl FnOnce(&mut NativeConnector<HostStorage>) -> T) -> T {
    CONNECTOR.with(|c| f(&mut c.borrow_mut()))
}

impl From<native::ConnectorError> for wit::ConnectorError {
    fn from(error: native::ConnectorError) -> Self {
        log(Level::Warn, CONTEXT, &error.to_string());
        match error {
            native::ConnectorError::Config(fields) => wit::ConnectorError::Config(
                fields
                    .into_iter()
                    .map(|f| wit::FieldError {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            ),
            native::ConnectorError::Auth(m) => wit::ConnectorError::Auth(m),
            native::ConnectorError::Permission(m) => wit::ConnectorError::Permission(m),
            native::ConnectorError::RateLimited(r) => {
                wit::ConnectorError::RateLimited(wit::RateLimit {
                    retry_after_ms: r.retry_after_ms,
                    message: r.message,
                })
            }
            native::ConnectorError::Transient(m) => wit::ConnectorError::Transient(m),
            native::ConnectorError::Protocol(m) => wit::ConnectorError::Protocol(m),
            native::ConnectorError::Internal(m) => wit::ConnectorError::Internal(m),
        }
    }
}

fn oauth2(o: native::OAuth2) -> wit::Oauth2 {
    wit::Oauth2 {
        token_url: o.token_url,
        client_id_field: o.client_id_field,
        client_secret_field: o.client_secret_field,
        refresh_token_field: o.refresh_token_field,
        access_token_field: o.access_token_field,
        scopes: o.scopes,
    }
}

fn spec(s: native::ConnectorSpec) -> wit::ConnectorSpec {
    wit::ConnectorSpec {
        name: s.name,
        version: s.version,
        description: s.description,
        config_schema: s.config_schema,
        auth_schemes: s
            .auth_schemes
            .into_iter()
            .map(|a| wit::AuthScheme {
                id: a.id,
                description: a.description,
                required_fields: a.required_fields,
                kind: match a.kind {
                    native::AuthKind::Basic(t) => wit::AuthKind::Basic(t),
                    native::AuthKind::Bearer(t) => wit::AuthKind::Bearer(t),
                    native::AuthKind::OAuth2RefreshToken(o) => {
                        wit::AuthKind::Oauth2RefreshToken(oauth2(o))
                    }
                    native::AuthKind::OAuth2ClientCredentials(o) => {
                        wit::AuthKind::Oauth2ClientCredentials(oauth2(o))
                    }
                },
            })
            .collect(),
        allowed_hosts: s.allowed_hosts,
    }
}

fn stream_info(s: native::StreamInfo) -> wit::StreamInfo {
    wit::StreamInfo {
        name: s.name,
        description: s.description,
        record_kinds: s.record_kinds,
        json_schema: s.json_schema,
        primary_key: s.primary_key,
        cursor_field: s.cursor_field,
        sync_modes: s
            .sync_modes
            .into_iter()
            .map(|m| match m {
                native::SyncMode::FullRefresh => wit::SyncMode::FullRefresh,
                native::SyncMode::Incremental => wit::SyncMode::Incremental,
            })
            .collect(),
        depends_on: s.depends_on,
        optional: s.optional,
    }
}

fn page(p: native::Page) -> wit::Page {
    wit::Page {
        records: p.records,
        next_cursor: p.next_cursor,
        done: p.done,
        budgets: p
            .budgets
            .into_iter()
            .map(|b| wit::Budget {
                name: b.name,
                limit: b.limit,
                remaining: b.remaining,
                reset_seconds: b.reset_seconds,
            })
            .collect(),
        requests: p.requests,
        progress: p.progress.map(|p| wit::Progress {
            done: p.done,
            total: p.total,
        }),
    }
}

fn normalized(r: native::NormalizedRecord) -> wit::NormalizedRecord {
    wit::NormalizedRecord {
        kind: r.kind,
        key: r.key,
        version: r.version,
        data: r.data,
        deleted: r.deleted,
    }
}

/// The exported component.
struct Component;

impl Guest for Component {
    fn spec() -> wit::ConnectorSpec {
        spec(with(|c| c.spec()))
    }

    fn configure(config: String, auth_scheme: String) -> Result<String, wit::ConnectorError> {
        Ok(with(|c| c.configure(&config, &auth_scheme))?)
    }

    fn check() -> Result<Vec<wit::Warning>, wit::ConnectorError> {
        let warnings = with(|c| c.check(&mut WakiClient))?;
        Ok(warnings
            .into_iter()
            .map(|w| wit::Warning { message: w.message })
            .collect())
    }

    fn discover() -> Result<Vec<wit::StreamInfo>, wit::ConnectorError> {
        Ok(with(|c| c.discover())?
            .into_iter()
            .map(stream_info)
            .collect())
    }

    fn fetch_page(request: wit::PageRequest) -> Result<wit::Page, wit::ConnectorError> {
        let request = native::PageRequest {
            stream: request.stream,
            cursor: request.cursor,
            sync_started_at: request.sync_started_at,
            page_size: request.page_size,
        };
        Ok(page(with(|c| c.fetch_page(&mut WakiClient, &request))?))
    }

    fn map_record(
        stream: String,
        raw: String,
    ) -> Result<Vec<wit::NormalizedRecord>, wit::ConnectorError> {
        Ok(with(|c| c.map_record(&stream, &raw))?
            .into_iter()
            .map(normalized)
            .collect())
    }
}

export!(Component);
