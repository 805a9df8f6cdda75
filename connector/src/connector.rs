//! [`NativeConnector`]: the WIT exports as plain Rust methods, over a
//! [`Storage`] and an [`HttpClient`], and as the SDK's [`Connector`], which
//! the component exports. Native callers (tests, the host's benchmarks)
//! call the methods.

use std::time::{SystemTime, UNIX_EPOCH};

use connector_sdk::{Connector, HttpClient};

use crate::api::errors::{classify_transport, ErrorContext};
use crate::api::{ratelimit, HttpRequestSpec};
use crate::check;
use crate::config::{self, Config};
use crate::mapping::{self, MapContext};
use crate::spec;
use crate::state::catalog::Catalogs;
use crate::storage::Storage;
use crate::streams::fetch::{self, FetchContext, Step};
use crate::streams::progress;
use crate::streams::{self, StreamName};
use crate::types::{
    ConnectorError, ConnectorSpec, NormalizedRecord, Page, PageRequest, StreamInfo, Warning,
};

/// Requests one `fetch-page` may chain when steps yield no records (e.g.
/// finding the `max_tickets` anchor, or a page of duplicates only).
pub const MAX_REQUESTS_PER_PAGE: u32 = 8;

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
    /// [`MAX_REQUESTS_PER_PAGE`] requests while steps yield no records; a
    /// stream that reads several items per page (the per-ticket comments,
    /// several requests at once) goes on while it yields records, up to its
    /// own number of requests ([`fetch::requests_per_page`]), and stops when
    /// a budget is down to the host's default reserve. When a later request
    /// fails, the progress made so far is returned (with that response's
    /// budgets, so the host waits) and the error comes on the next call.
    /// The page says how far the stream has come ([`progress::estimate`]).
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
        let mut page = fetch_records(&mut ctx, stream, http, request.cursor.as_deref())?;
        page.progress = progress::estimate(&ctx, stream, &page);
        Ok(page)
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

impl<S: Storage + Default> Default for NativeConnector<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

/// The component's export: each operation is the method of the same name
/// (inherent methods take precedence, so these calls do not recurse).
impl<S: Storage> Connector for NativeConnector<S> {
    const LOG_CONTEXT: &'static str = "zendesk-support";

    fn spec(&self) -> ConnectorSpec {
        self.spec()
    }

    fn configure(&mut self, config: &str, auth_scheme: &str) -> Result<String, ConnectorError> {
        self.configure(config, auth_scheme)
    }

    fn check(&mut self, http: &mut impl HttpClient) -> Result<Vec<Warning>, ConnectorError> {
        self.check(http)
    }

    fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        self.discover()
    }

    fn fetch_page(
        &mut self,
        http: &mut impl HttpClient,
        request: &PageRequest,
    ) -> Result<Page, ConnectorError> {
        self.fetch_page(http, request)
    }

    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> Result<Vec<NormalizedRecord>, ConnectorError> {
        self.map_record(stream, raw)
    }
}

/// The records, cursor and budgets of a page from `cursor` (see
/// [`NativeConnector::fetch_page`]).
fn fetch_records(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    http: &mut impl HttpClient,
    cursor: Option<&str>,
) -> Result<Page, ConnectorError> {
    fetch::begin_page(ctx, stream, cursor)?;
    let mut page = Page {
        next_cursor: cursor.map(str::to_owned),
        ..Page::default()
    };
    loop {
        let planned = match fetch::next_request(ctx, stream, page.next_cursor.as_deref())? {
            Step::Finished(last) => {
                page.records.extend(last.records);
                page.next_cursor = last.next_cursor;
                page.done = last.done;
                return Ok(page);
            }
            Step::Request(planned) => vec![planned],
            Step::Batch(planned) => planned,
        };
        let specs: Vec<HttpRequestSpec> = planned.iter().map(|p| p.http.clone()).collect();
        let before = page.requests;
        page.requests += specs.len() as u32;
        let mut budgets = Vec::new();
        let responses = http
            .send_many(&specs)
            .into_iter()
            .zip(&planned)
            .map(|(sent, planned)| {
                let response = sent.map_err(|e| {
                    let context = ErrorContext {
                        subdomain: &ctx.config.subdomain,
                        auth: ctx.config.auth,
                        what: &planned.what,
                    };
                    classify_transport(&e, &context)
                })?;
                ratelimit::merge_concurrent(&mut budgets, ratelimit::budgets(&response.headers));
                Ok(response)
            })
            .collect();
        ratelimit::merge(&mut page.budgets, budgets);
        let (handled, failure) = fetch::handle_all(ctx, &planned, responses);
        let progressed = before > 0 || handled.is_some();
        if let Some(handled) = handled {
            page.records.extend(handled.records);
            page.next_cursor = handled.next_cursor;
            page.done = handled.done;
        }
        if let Some(error) = failure {
            if !progressed {
                return Err(error);
            }
            // Progress first; the error comes again on the next call.
            return Ok(page);
        }
        let more = if page.done {
            false
        } else if page.records.is_empty() {
            page.requests < MAX_REQUESTS_PER_PAGE && !ratelimit::exhausted(&page.budgets)
        } else {
            page.requests < fetch::requests_per_page(stream, page.next_cursor.as_deref())
                && !ratelimit::low(&page.budgets)
        };
        if !more {
            return Ok(page);
        }
    }
}
