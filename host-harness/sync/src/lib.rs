//! The sync engine: for each stream, fetch a page, map its records, and
//! commit records and cursor together; repeat until the stream is done.
//! Streams run concurrently (an instance each) once the streams they
//! depend on have finished; rate limits are honoured and transient errors
//! retried with backoff. A [`StopSignal`] ends a sync early without losing
//! anything: pages already fetched are committed, the rest waits for the
//! next sync.
//!
//! The engine reads from a [`Source`] (a runtime [`Connection`], or a
//! connector linked natively) and commits to a [`Sink`] (a store crate, or
//! an embedding platform's own). Nothing here prints: progress goes to a
//! [`Progress`] callback.

mod pacing;
mod plan;
mod report;
mod run;
pub mod stored;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use connector_runtime::contract::{NormalizedRecord, Page, PageRequest};
use connector_runtime::{Connection, ConnectionRecipe, ConnectorError};

pub use pacing::{backoff, budget_pause, budget_pause_for, TimeLeft};
pub use plan::{not_due, plan};
pub use report::{Event, Outcome, Progress, StreamReport, SyncReport};
pub use run::run;
pub use stored::StreamState;

/// What the sync engine reads from: a connection (an instance of a
/// component) or, for comparisons, a connector linked natively.
pub trait Source: Send {
    /// Fetch one page of a stream.
    fn fetch_page(
        &mut self,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page, ConnectorError>> + Send;

    /// Map one raw record of a stream.
    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> impl Future<Output = Result<Vec<NormalizedRecord>, ConnectorError>> + Send;
}

impl Source for Connection {
    fn fetch_page(
        &mut self,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page, ConnectorError>> + Send {
        Connection::fetch_page(self, request)
    }

    fn map_record(
        &mut self,
        stream: &str,
        raw: &str,
    ) -> impl Future<Output = Result<Vec<NormalizedRecord>, ConnectorError>> + Send {
        Connection::map_record(self, stream, raw)
    }
}

/// Opens a fresh source (for a connection: its own instance) for one stream.
pub type SourceFactory<S> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<S, ConnectorError>> + Send>> + Send + Sync>;

/// Opens a fresh connection (its own instance) for one stream.
pub type ConnectionFactory = SourceFactory<Connection>;

/// Opens a fresh connection of `recipe` (its own instance) for each stream.
pub fn connection_factory(recipe: Arc<ConnectionRecipe>) -> ConnectionFactory {
    Arc::new(move || {
        let recipe = recipe.clone();
        Box::pin(async move { recipe.open().await })
    })
}

/// One page ready to commit: its raw records with their mapped records,
/// and the stream's cursor after it.
#[derive(Clone, Debug)]
pub struct PageCommit {
    /// The stream.
    pub stream: String,
    /// Each raw record and what it mapped to.
    pub records: Vec<(String, Vec<NormalizedRecord>)>,
    /// Cursor after this page.
    pub cursor: Option<String>,
    /// Whether the stream is done for now.
    pub done: bool,
    /// API requests the page took.
    pub requests: u32,
    /// Whether raw records are kept (for rebuilding records after a
    /// connector upgrade).
    pub keep_raw: bool,
}

/// Where a sync commits what it read, and where it finds each stream's
/// cursor. A page's records and the cursor after it are committed
/// atomically, so a sync killed at any moment resumes without loss or
/// duplication.
pub trait Sink: Clone + Send + Sync + 'static {
    /// The cursor committed with a stream's last page; `None` before its
    /// first.
    fn cursor(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<String>, ConnectorError>> + Send;

    /// Commit a page's records and the stream's cursor after it, both or
    /// neither. Returns the normalized records written.
    fn commit_page(
        &self,
        page: PageCommit,
    ) -> impl Future<Output = Result<u64, ConnectorError>> + Send;

    /// Remember that a stream failed (its committed cursor stays).
    fn record_failure(
        &self,
        stream: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), ConnectorError>> + Send;
}

/// Asks a running sync to stop: no new page is fetched and no new stream
/// starts, pages already fetched are committed, and a page request in
/// flight is abandoned (nothing of it was committed, so the next sync asks
/// again).
#[derive(Clone, Debug)]
pub struct StopSignal(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl StopSignal {
    /// Ask the sync to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once a stop is asked for.
    pub async fn stopped(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }
}

/// How a sync runs.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Only these streams (and what they depend on); all when empty.
    pub streams: Vec<String>,
    /// Keep raw records for `remap`.
    pub keep_raw: bool,
    /// Page size to ask for; the connector's default when `None`.
    pub page_size: Option<u32>,
    /// Attempts per page for transient errors before the stream fails.
    pub max_attempts: u32,
    /// Share of each rate-limit budget left for the account's other
    /// integrations (0.0 to 0.9).
    pub budget_reserve: f64,
    /// Streams running at once.
    pub concurrency: usize,
    /// First backoff delay; doubles per attempt, with jitter.
    pub backoff: Duration,
    /// Streams refreshed less often than every sync (e.g. people daily):
    /// skipped while their last sync is more recent than the interval,
    /// unless named in `streams`.
    pub refresh_every: BTreeMap<String, Duration>,
    /// Ends the sync early when asked (Ctrl-C in `connector-host sync`).
    pub stop: StopSignal,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            streams: Vec::new(),
            keep_raw: true,
            page_size: None,
            max_attempts: 8,
            budget_reserve: 0.1,
            concurrency: 4,
            backoff: Duration::from_millis(500),
            refresh_every: BTreeMap::new(),
            stop: StopSignal::default(),
        }
    }
}
