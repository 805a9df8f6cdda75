//! [`NativeConnector`]: the WIT exports as plain Rust methods, over a
//! [`Storage`] and an [`HttpClient`]. The component's glue and native
//! callers (tests, the host's benchmarks) use it alike.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::errors::{classify_transport, ErrorContext};
use crate::api::{ratelimit, HttpRequestSpec, HttpResponse, TransportError};
use crate::check;
use crate::config::{self, Config};
use crate::mapping::{self, MapContext};
use crate::spec;
use crate::state::catalog::Catalogs;
use crate::storage::Storage;
use crate::streams::fetch::{self, FetchContext, Step};
use crate::streams::{self, StreamName};
use crate::types::{
    ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo, Warning,
};

/// Requests one `fetch-page` may chain when steps yield no records (e.g.
/// finding the `max_tickets` anchor, or a page of duplicates only).
pub const MAX_REQUESTS_PER_PAGE: u32 = 8;

/// Sends HTTP requests (the host adds `Authorization`).
pub trait HttpClient {
    /// Sends one request and reads the whole response.
    fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError>;
}

/// Seconds since the Unix epoch.
fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch.
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The connector, with the same operations as the WIT `source` interface.
pub struct NativeConnector<S: Storage> {
    storage: S,
    config: Option<Config>,
    catalogs: Catalogs,
}

impl<S: Storage> NativeConnector<S> {
    /// A connector over the connection's storage, not yet configured.
    pub fn new(storage: S) -> Self {
        NativeConnector {
            storage,
            config: None,
            catalogs: Catalogs::default(),
        }
    }

    /// The connection's storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// `spec`: config schema, auth schemes, outbound hosts.
    pub fn spec(&self) -> ConnectorSpec {
        spec::spec()
    }

    fn config(&self) -> Result<&Config, ConnectorError> {
        self.config.as_ref().ok_or_else(|| {
            ConnectorError::config("", "the connector is not configured: call configure first")
        })
    }

    /// `configure`: validates and adopts a config; returns it normalised.
    pub fn configure(&mut self, config: &str, auth_scheme: &str) -> Result<String, ConnectorError> {
        let (config, normalized) = config::configure(config, auth_scheme, now_seconds())?;
        self.config = Some(config);
        Ok(normalized)
    }

    /// `check`: credentials, role and reach, with warnings.
    pub fn check(&mut self, http: &mut impl HttpClient) -> Result<Vec<Warning>, ConnectorError> {
        let config = self.config()?;
        let request = check::check_request(config);
        let response = http.send(&request).map_err(|e| {
            let context = ErrorContext {
                subdomain: &config.subdomain,
                auth: config.auth,
                what: "the connected user",
            };
            classify_transport(&e, &context)
        })?;
        check::handle_check_response(config, &response, now_seconds())
    }

    /// `discover`: the streams this config reads.
    pub fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        Ok(streams::discover(self.config()?))
    }

    /// The stream with this name, if this config reads it.
    fn stream(config: &Config, name: &str) -> Result<StreamName, ConnectorError> {
        StreamName::parse(name)
            .filter(|s| s.enabled(config))
            .ok_or_else(|| {
                ConnectorError::Internal(format!(
                    "there is no stream \"{name}\" with this config; call discover for the list"
                ))
            })
    }

    /// `fetch-page`: one page of a stream. Chains up to
    /// [`MAX_REQUESTS_PER_PAGE`] requests while steps yield no records, and
    /// stops early when a rate-limit budget is exhausted. When a later
    /// request fails, the progress made so far is returned as an empty page
    /// (the error comes back on the next call).
    pub fn fetch_page(
        &mut self,
        http: &mut impl HttpClient,
        request: &PageRequest,
    ) -> Result<Page, ConnectorError> {
        let config = self.config.as_ref().ok_or_else(|| {
            ConnectorError::config("", "the connector is not configured: call configure first")
        })?;
        let stream = Self::stream(config, &request.stream)?;
        let mut ctx = FetchContext {
            config,
            storage: &self.storage,
            catalogs: &mut self.catalogs,
            sync_started_at: request.sync_started_at,
            page_size: request.page_size,
        };
        let mut cursor = request.cursor.clone();
        let mut budgets = Vec::new();
        let mut requests = 0;
        loop {
            let planned = match fetch::next_request(&mut ctx, stream, cursor.as_deref())? {
                Step::Finished(page) => {
                    return Ok(Page {
                        budgets,
                        requests,
                        ..page
                    })
                }
                Step::Request(planned) => planned,
            };
            requests += 1;
            let result = http
                .send(&planned.http)
                .map_err(|e| {
                    let context = ErrorContext {
                        subdomain: &config.subdomain,
                        auth: config.auth,
                        what: &planned.what,
                    };
                    classify_transport(&e, &context)
                })
                .and_then(|response| fetch::handle_response(&mut ctx, &planned, &response));
            let mut page = match result {
                Ok(page) => page,
                Err(_) if requests > 1 => {
                    return Ok(Page {
                        records: Vec::new(),
                        next_cursor: cursor,
                        done: false,
                        budgets,
                        requests,
                    });
                }
                Err(e) => return Err(e),
            };
            ratelimit::merge(&mut budgets, std::mem::take(&mut page.budgets));
            let step_only = page.records.is_empty() && !page.done;
            if step_only && requests < MAX_REQUESTS_PER_PAGE && !ratelimit::exhausted(&budgets) {
                cursor = page.next_cursor;
                continue;
            }
            return Ok(Page {
                budgets,
                requests,
                ..page
            });
        }
    }

    /// `map-record`: one raw record to normalized records.
    pub fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        let config = self.config.as_ref().ok_or_else(|| {
            ConnectorError::config("", "the connector is not configured: call configure first")
        })?;
        let stream = Self::stream(config, stream)?;
        let mut ctx = MapContext {
            config,
            storage: &self.storage,
            catalogs: &mut self.catalogs,
            now_ms: now_millis(),
        };
        mapping::map_record(&mut ctx, stream, raw)
    }
}
