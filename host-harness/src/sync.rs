//! The sync engine: for each stream, fetch a page, map its records, and
//! commit records and cursor together; repeat until the stream is done.
//! Streams run concurrently (an instance each) once the streams they
//! depend on have finished; rate limits are honoured and transient errors
//! retried with backoff.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contract::{Budget, NormalizedRecord, Page, PageRequest, StreamInfo};
use crate::errors::ConnectorError;
use crate::store::{PageCommit, RecordStore};
use crate::Connection;

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
        }
    }
}

/// How a stream's sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached the end of the stream.
    Done,
    /// Forbidden for this account and optional: skipped.
    Skipped(String),
    /// Failed; the committed cursor is kept for the next run.
    Failed(String),
}

/// What one stream did.
#[derive(Clone, Debug)]
pub struct StreamReport {
    /// Stream name.
    pub stream: String,
    /// Normalized records committed.
    pub records: u64,
    /// Pages committed.
    pub pages: u64,
    /// API requests made.
    pub requests: u64,
    /// Times the API answered "rate limited".
    pub rate_limited: u64,
    /// Transient errors retried.
    pub retries: u64,
    /// Wall time.
    pub duration: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a sync did.
#[derive(Clone, Debug)]
pub struct SyncReport {
    /// Per stream, in completion order.
    pub streams: Vec<StreamReport>,
    /// Wall time.
    pub duration: Duration,
}

impl SyncReport {
    /// Whether every stream finished or was skipped.
    pub fn succeeded(&self) -> bool {
        self.streams
            .iter()
            .all(|s| !matches!(s.outcome, Outcome::Failed(_)))
    }

    /// Normalized records committed over all streams.
    pub fn records(&self) -> u64 {
        self.streams.iter().map(|s| s.records).sum()
    }
}

/// Progress events, for bars or log lines.
#[derive(Clone, Debug)]
pub enum Event {
    /// A stream started.
    Started {
        /// Stream name.
        stream: String,
    },
    /// A page was committed.
    Page {
        /// Stream name.
        stream: String,
        /// Records in the page.
        records: u64,
        /// Total records this sync.
        total: u64,
        /// Pages this sync.
        pages: u64,
    },
    /// The stream waits (rate limit, budget reserve or backoff).
    Paused {
        /// Stream name.
        stream: String,
        /// For how long.
        wait: Duration,
        /// Why.
        reason: String,
    },
    /// The stream ended.
    Finished(StreamReport),
}

/// Receives progress events.
pub type Progress = Arc<dyn Fn(Event) + Send + Sync>;

/// The streams to run: the selection plus everything it depends on.
pub fn plan(
    streams: &[StreamInfo],
    selection: &[String],
) -> Result<Vec<StreamInfo>, ConnectorError> {
    let by_name: BTreeMap<&str, &StreamInfo> =
        streams.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = if selection.is_empty() {
        streams.iter().map(|s| s.name.clone()).collect()
    } else {
        selection.to_vec()
    };
    while let Some(name) = queue.pop() {
        let info = by_name.get(name.as_str()).ok_or_else(|| {
            ConnectorError::config(
                "--streams",
                format!(
                    "unknown stream `{name}`; this connection has: {}",
                    by_name.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        if wanted.insert(name.clone()) {
            queue.extend(info.depends_on.iter().cloned());
        }
    }
    Ok(streams
        .iter()
        .filter(|s| wanted.contains(&s.name))
        .cloned()
        .collect())
}

/// Run a sync of `streams` (from `discover`) with a fresh source per
/// stream from `open`.
pub async fn run<S: Source + 'static>(
    open: SourceFactory<S>,
    streams: Vec<StreamInfo>,
    store: RecordStore,
    options: SyncOptions,
    progress: Progress,
) -> SyncReport {
    let started = Instant::now();
    let sync_started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let names: BTreeSet<String> = streams.iter().map(|s| s.name.clone()).collect();
    let mut pending: Vec<StreamInfo> = streams;
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut running = tokio::task::JoinSet::new();
    let mut reports = Vec::new();
    loop {
        // Start every stream whose dependencies (within this sync) are finished.
        while running.len() < options.concurrency.max(1) {
            let Some(index) = pending.iter().position(|s| {
                s.depends_on
                    .iter()
                    .all(|d| finished.contains(d) || !names.contains(d))
            }) else {
                break;
            };
            let info = pending.remove(index);
            let worker = StreamWorker {
                info,
                store: store.clone(),
                options: options.clone(),
                progress: progress.clone(),
                sync_started_at,
            };
            let open = open.clone();
            running.spawn(async move { worker.run(open).await });
        }
        match running.join_next().await {
            Some(Ok(report)) => {
                finished.insert(report.stream.clone());
                progress(Event::Finished(report.clone()));
                reports.push(report);
            }
            Some(Err(e)) => {
                // A panicking worker is a host bug; report it and go on.
                tracing::error!("a stream worker failed: {e}");
            }
            None => break,
        }
    }
    SyncReport {
        streams: reports,
        duration: started.elapsed(),
    }
}

struct StreamWorker {
    info: StreamInfo,
    store: RecordStore,
    options: SyncOptions,
    progress: Progress,
    sync_started_at: u64,
}

impl StreamWorker {
    async fn run<S: Source>(self, open: SourceFactory<S>) -> StreamReport {
        let started = Instant::now();
        let mut report = StreamReport {
            stream: self.info.name.clone(),
            records: 0,
            pages: 0,
            requests: 0,
            rate_limited: 0,
            retries: 0,
            duration: Duration::ZERO,
            outcome: Outcome::Done,
        };
        (self.progress)(Event::Started {
            stream: self.info.name.clone(),
        });
        report.outcome = match open().await {
            Ok(mut source) => self.sweep(&mut source, &mut report).await,
            Err(e) => Outcome::Failed(e.to_string()),
        };
        if let Outcome::Failed(message) = &report.outcome {
            if let Err(e) = self.store.record_error(&self.info.name, message) {
                tracing::error!("cannot record the error of {}: {e}", self.info.name);
            }
        }
        report.duration = started.elapsed();
        report
    }

    async fn pause(&self, wait: Duration, reason: String) {
        (self.progress)(Event::Paused {
            stream: self.info.name.clone(),
            wait,
            reason,
        });
        tokio::time::sleep(wait).await;
    }

    /// Read pages until the stream is done or fails.
    async fn sweep<S: Source>(&self, source: &mut S, report: &mut StreamReport) -> Outcome {
        let name = self.info.name.as_str();
        let mut cursor = match self.store.stream_state(name) {
            Ok(state) => state.cursor,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let mut page_size = self.options.page_size;
        let mut attempt = 0u32;
        loop {
            let request = PageRequest {
                stream: name.to_string(),
                cursor: cursor.clone(),
                sync_started_at: self.sync_started_at,
                page_size,
            };
            let page = match source.fetch_page(&request).await {
                Ok(page) => page,
                Err(ConnectorError::RateLimited {
                    retry_after,
                    message,
                }) => {
                    report.rate_limited += 1;
                    self.pause(retry_after, format!("rate limited: {message}"))
                        .await;
                    continue;
                }
                Err(e) if e.is_retryable() && attempt + 1 < self.options.max_attempts => {
                    attempt += 1;
                    report.retries += 1;
                    if looks_like_timeout(&e) {
                        // A large page timed out: ask for smaller ones.
                        page_size = Some(page_size.unwrap_or(1000).div_ceil(2).max(10));
                    }
                    let wait = backoff(self.options.backoff, attempt);
                    self.pause(wait, format!("retrying after: {e}")).await;
                    continue;
                }
                Err(ConnectorError::Permission(message)) if self.info.optional => {
                    return Outcome::Skipped(message);
                }
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            attempt = 0;
            report.requests += u64::from(page.requests);
            let mut mapped = Vec::with_capacity(page.records.len());
            for raw in page.records {
                match source.map_record(name, &raw).await {
                    Ok(records) => mapped.push((raw, records)),
                    // Nothing of this page is committed; the next run
                    // starts again from the same cursor.
                    Err(e) => return Outcome::Failed(format!("mapping a record failed: {e}")),
                }
            }
            let commit = PageCommit {
                stream: name,
                records: &mapped,
                cursor: page.next_cursor.as_deref(),
                done: page.done,
                requests: page.requests,
                keep_raw: self.options.keep_raw,
            };
            let written = match self.store.commit_page(&commit) {
                Ok(written) => written,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            report.records += written;
            report.pages += 1;
            (self.progress)(Event::Page {
                stream: name.to_string(),
                records: written,
                total: report.records,
                pages: report.pages,
            });
            if page.done {
                return Outcome::Done;
            }
            cursor = page.next_cursor;
            if let Some((wait, budget)) = budget_pause(&page.budgets, self.options.budget_reserve) {
                self.pause(wait, format!("keeping a reserve of the {budget} budget"))
                    .await;
            }
        }
    }
}

/// Whether an error reads like a timeout (or a gateway timeout, 504).
fn looks_like_timeout(err: &ConnectorError) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    text.contains("504") || text.contains("timeout") || text.contains("timed out")
}

/// Exponential backoff with full jitter: a random wait up to base × 2^attempt,
/// capped at one minute.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(60));
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// When a budget is down to its reserve, how long to wait for its reset.
pub fn budget_pause(budgets: &[Budget], reserve: f64) -> Option<(Duration, String)> {
    budgets
        .iter()
        .filter_map(|b| {
            let (limit, remaining, reset) = (b.limit?, b.remaining?, b.reset_seconds?);
            let keep = (f64::from(limit) * reserve.clamp(0.0, 0.9)).ceil() as u32;
            (remaining <= keep)
                .then(|| (Duration::from_secs(u64::from(reset.max(1))), b.name.clone()))
        })
        .max_by_key(|(wait, _)| *wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, deps: &[&str]) -> StreamInfo {
        StreamInfo {
            name: name.into(),
            description: String::new(),
            record_kinds: Vec::new(),
            json_schema: "{}".into(),
            primary_key: Vec::new(),
            cursor_field: None,
            sync_modes: Vec::new(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            optional: false,
        }
    }

    #[test]
    fn plans_include_dependencies_and_refuse_unknown_streams() {
        let all = vec![
            stream("ticket_fields", &[]),
            stream("tickets", &["ticket_fields"]),
            stream("users", &[]),
        ];
        let names = |p: Vec<StreamInfo>| p.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(plan(&all, &[]).unwrap()),
            vec!["ticket_fields", "tickets", "users"]
        );
        assert_eq!(
            names(plan(&all, &["tickets".into()]).unwrap()),
            vec!["ticket_fields", "tickets"]
        );
        let err = plan(&all, &["nope".into()]).unwrap_err();
        assert!(
            err.to_string().contains("ticket_fields, tickets, users"),
            "{err}"
        );
    }

    #[test]
    fn budgets_pause_at_the_reserve() {
        let budget = |remaining| Budget {
            name: "incremental-exports".into(),
            limit: Some(10),
            remaining: Some(remaining),
            reset_seconds: Some(42),
        };
        assert_eq!(budget_pause(&[budget(5)], 0.1), None);
        assert_eq!(
            budget_pause(&[budget(1)], 0.1),
            Some((Duration::from_secs(42), "incremental-exports".into()))
        );
        assert_eq!(
            budget_pause(&[budget(0)], 0.0).map(|p| p.0),
            Some(Duration::from_secs(42))
        );
        let unknown = Budget {
            name: "x".into(),
            limit: None,
            remaining: Some(0),
            reset_seconds: None,
        };
        assert_eq!(budget_pause(&[unknown], 0.1), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 1..20 {
            let wait = backoff(base, attempt);
            let ceiling = (base * (1 << attempt.min(16))).min(Duration::from_secs(60));
            assert!(
                wait <= ceiling && wait >= ceiling / 2,
                "{attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn timeouts_and_gateway_timeouts_shrink_pages() {
        assert!(looks_like_timeout(&ConnectorError::Transient(
            "Zendesk answered 504".into()
        )));
        assert!(looks_like_timeout(&ConnectorError::Transient(
            "connection read timeout".into()
        )));
        assert!(!looks_like_timeout(&ConnectorError::Transient(
            "503 unavailable".into()
        )));
    }
}
