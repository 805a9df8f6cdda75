//! The sync engine: for each stream, fetch a page, map its records, and
//! commit records and cursor together; repeat until the stream is done.
//! Streams run concurrently (an instance each) once the streams they
//! depend on have finished; rate limits are honoured and transient errors
//! retried with backoff. A [`StopSignal`] ends a sync early without losing
//! anything: pages already fetched are committed, the rest waits for the
//! next sync.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contract::{self, Budget, NormalizedRecord, Page, PageRequest, StreamInfo};
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

/// How a stream's sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached the end of the stream.
    Done,
    /// Forbidden for this account and optional: skipped.
    Skipped(String),
    /// Failed; the committed cursor is kept for the next run.
    Failed(String),
    /// Stopped on request (or never started); the next sync resumes from
    /// the last committed page.
    Interrupted,
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
    /// Of which waiting for pages (the API and the connector's parsing).
    pub fetching: Duration,
    /// Of which mapping records.
    pub mapping: Duration,
    /// Of which committing to the database.
    pub storing: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

impl StreamReport {
    /// A report of a stream that has done nothing yet.
    fn new(stream: &str, outcome: Outcome) -> Self {
        StreamReport {
            stream: stream.to_owned(),
            records: 0,
            pages: 0,
            requests: 0,
            rate_limited: 0,
            retries: 0,
            duration: Duration::ZERO,
            fetching: Duration::ZERO,
            mapping: Duration::ZERO,
            storing: Duration::ZERO,
            outcome,
        }
    }
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

    /// Whether a stop request ended any stream early.
    pub fn interrupted(&self) -> bool {
        self.streams
            .iter()
            .any(|s| s.outcome == Outcome::Interrupted)
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
        /// How far the stream has come, when the connector says.
        progress: Option<contract::Progress>,
        /// The estimated time left, once the progress has moved.
        time_left: Option<Duration>,
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

/// The streams to run: the selection plus everything it depends on. A
/// connector whose streams cannot all run (a name listed twice, a
/// dependency it does not list, a dependency cycle) is refused before any
/// work starts.
pub fn plan(
    streams: &[StreamInfo],
    selection: &[String],
) -> Result<Vec<StreamInfo>, ConnectorError> {
    let mut by_name: BTreeMap<&str, &StreamInfo> = BTreeMap::new();
    for stream in streams {
        if by_name.insert(stream.name.as_str(), stream).is_some() {
            return Err(ConnectorError::Internal(format!(
                "the connector lists stream `{}` twice",
                stream.name
            )));
        }
    }
    if let Some(unknown) = selection.iter().find(|n| !by_name.contains_key(n.as_str())) {
        return Err(ConnectorError::config(
            "--streams",
            format!(
                "unknown stream `{unknown}`; this connection has: {}",
                by_name.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut queue: Vec<&str> = if selection.is_empty() {
        by_name.keys().copied().collect()
    } else {
        selection.iter().map(String::as_str).collect()
    };
    while let Some(name) = queue.pop() {
        if wanted.insert(name) {
            for dependency in &by_name[name].depends_on {
                if !by_name.contains_key(dependency.as_str()) {
                    return Err(ConnectorError::Internal(format!(
                        "stream `{name}` depends on `{dependency}`, which the connector does not list"
                    )));
                }
                queue.push(dependency);
            }
        }
    }
    // Every stream must be able to start: take away the streams whose
    // dependencies are all taken; what remains waits on itself.
    let mut waiting = wanted.clone();
    while let Some(ready) = waiting.iter().copied().find(|n| {
        by_name[n]
            .depends_on
            .iter()
            .all(|d| !waiting.contains(d.as_str()))
    }) {
        waiting.remove(ready);
    }
    if !waiting.is_empty() {
        return Err(ConnectorError::Internal(format!(
            "these streams depend on each other in a cycle and can never start: {}",
            waiting.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(streams
        .iter()
        .filter(|s| wanted.contains(s.name.as_str()))
        .cloned()
        .collect())
}

/// The streams of a plan that are not due yet, with when they last synced:
/// those with a refresh interval that synced more recently than it, unless
/// the operator named them.
pub fn not_due(
    plan: &[StreamInfo],
    options: &SyncOptions,
    last_synced_at: impl Fn(&str) -> Option<i64>,
    now: i64,
) -> Vec<(String, i64)> {
    plan.iter()
        .filter(|s| !options.streams.contains(&s.name))
        .filter_map(|s| {
            let every = options.refresh_every.get(&s.name)?;
            let last = last_synced_at(&s.name)?;
            (now - last < every.as_secs() as i64).then(|| (s.name.clone(), last))
        })
        .collect()
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
        while running.len() < options.concurrency.max(1) && !options.stop.is_stopped() {
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
    // Streams that never started (they sent no events): a stop kept them
    // from it, or (without `plan`) their dependencies wait on each other.
    let never_started = if options.stop.is_stopped() {
        Outcome::Interrupted
    } else {
        Outcome::Failed("never started: the streams it depends on wait on each other".into())
    };
    reports.extend(
        pending
            .iter()
            .map(|info| StreamReport::new(&info.name, never_started.clone())),
    );
    SyncReport {
        streams: reports,
        duration: started.elapsed(),
    }
}

#[derive(Clone)]
struct StreamWorker {
    info: StreamInfo,
    store: RecordStore,
    options: SyncOptions,
    progress: Progress,
    sync_started_at: u64,
}

/// What the fetcher hands the mapper: a page, or how the stream ended.
enum Fetched {
    Page(Page),
    End(Outcome),
}

/// What the fetcher counted.
#[derive(Default)]
struct FetchStats {
    requests: u64,
    rate_limited: u64,
    retries: u64,
    fetching: Duration,
}

/// A page commit running on a blocking thread (records written and the
/// time it took), with the progress the page reached.
struct InFlight {
    commit: tokio::task::JoinHandle<Result<(u64, Duration), ConnectorError>>,
    progress: Option<contract::Progress>,
}

/// Estimates a stream's time left from how fast its progress has moved
/// since the first page of this sync.
#[derive(Default)]
pub struct TimeLeft {
    first: Option<(Instant, u64)>,
}

impl TimeLeft {
    /// The time left at `now`, when the stream is at `progress`; none until
    /// the progress has moved.
    pub fn at(&mut self, now: Instant, progress: contract::Progress) -> Option<Duration> {
        let (since, from) = *self.first.get_or_insert((now, progress.done));
        let moved = progress.done.checked_sub(from).filter(|&m| m > 0)?;
        let left = progress.total.saturating_sub(progress.done);
        Some(
            now.saturating_duration_since(since)
                .mul_f64(left as f64 / moved as f64),
        )
    }
}

impl StreamWorker {
    /// Sync one stream with two instances of the source: one fetches pages
    /// (with retries and pauses) while the other maps the previous page,
    /// and a blocking thread commits the page before that, in order.
    async fn run<S: Source + 'static>(self, open: SourceFactory<S>) -> StreamReport {
        let started = Instant::now();
        let mut report = StreamReport::new(&self.info.name, Outcome::Done);
        (self.progress)(Event::Started {
            stream: self.info.name.clone(),
        });
        report.outcome = match (open().await, open().await) {
            (Ok(fetching), Ok(mut mapping)) => {
                let (pages, rx) = tokio::sync::mpsc::channel(1);
                let fetcher = tokio::spawn(self.clone().fetch_pages(fetching, pages));
                let outcome = self.map_and_commit(&mut mapping, rx, &mut report).await;
                let stats = fetcher.await.unwrap_or_default();
                report.requests = stats.requests;
                report.rate_limited = stats.rate_limited;
                report.retries = stats.retries;
                report.fetching = stats.fetching;
                outcome
            }
            (Err(e), _) | (_, Err(e)) => Outcome::Failed(e.to_string()),
        };
        if let Outcome::Failed(message) = &report.outcome {
            if let Err(e) = self.store.record_error(&self.info.name, message) {
                tracing::error!("cannot record the error of {}: {e}", self.info.name);
            }
        }
        report.duration = started.elapsed();
        report
    }

    /// Wait (rate limit, reserve, backoff), or less when a stop is asked for.
    async fn pause(&self, wait: Duration, reason: String) {
        (self.progress)(Event::Paused {
            stream: self.info.name.clone(),
            wait,
            reason,
        });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.options.stop.stopped() => {}
        }
    }

    /// Fetch pages from the committed cursor on, retrying what is worth
    /// retrying, until the stream is done, fails, or the mapper stops
    /// listening.
    async fn fetch_pages<S: Source>(
        self,
        mut source: S,
        pages: tokio::sync::mpsc::Sender<Fetched>,
    ) -> FetchStats {
        let mut stats = FetchStats::default();
        let name = self.info.name.as_str();
        let mut cursor = match self.store.stream_state(name) {
            Ok(state) => state.cursor,
            Err(e) => {
                let _ = pages
                    .send(Fetched::End(Outcome::Failed(e.to_string())))
                    .await;
                return stats;
            }
        };
        let mut page_size = self.options.page_size;
        let mut attempt = 0u32;
        // The most requests a page of this stream has made.
        let mut page_requests = 1u32;
        loop {
            let request = PageRequest {
                stream: name.to_string(),
                cursor: cursor.clone(),
                sync_started_at: self.sync_started_at,
                page_size,
            };
            let fetch_started = Instant::now();
            // A stop abandons the request in flight: nothing of it is
            // committed, so the next sync asks again.
            let fetched = tokio::select! {
                biased;
                () = self.options.stop.stopped() => None,
                fetched = source.fetch_page(&request) => Some(fetched),
            };
            stats.fetching += fetch_started.elapsed();
            let Some(fetched) = fetched else {
                let _ = pages.send(Fetched::End(Outcome::Interrupted)).await;
                return stats;
            };
            let end = match fetched {
                Ok(page) => {
                    attempt = 0;
                    stats.requests += u64::from(page.requests);
                    page_requests = page_requests.max(page.requests);
                    let (done, next) = (page.done, page.next_cursor.clone());
                    let pause =
                        budget_pause_for(&page.budgets, self.options.budget_reserve, page_requests);
                    if pages.send(Fetched::Page(page)).await.is_err() || done {
                        return stats;
                    }
                    cursor = next;
                    if let Some((wait, budget)) = pause {
                        self.pause(wait, format!("keeping a reserve of the {budget} budget"))
                            .await;
                    }
                    continue;
                }
                Err(ConnectorError::RateLimited {
                    retry_after,
                    message,
                }) => {
                    stats.rate_limited += 1;
                    self.pause(retry_after, format!("rate limited: {message}"))
                        .await;
                    continue;
                }
                Err(e) if e.is_retryable() && attempt + 1 < self.options.max_attempts => {
                    attempt += 1;
                    stats.retries += 1;
                    if looks_like_timeout(&e) {
                        // A large page timed out: ask for smaller ones.
                        page_size = Some(page_size.unwrap_or(1000).div_ceil(2).max(10));
                    }
                    let wait = backoff(self.options.backoff, attempt);
                    self.pause(wait, format!("retrying after: {e}")).await;
                    continue;
                }
                Err(ConnectorError::Permission(message)) if self.info.optional => {
                    Outcome::Skipped(message)
                }
                Err(e) => Outcome::Failed(e.to_string()),
            };
            let _ = pages.send(Fetched::End(end)).await;
            return stats;
        }
    }

    /// Map each fetched page and commit it (records and cursor together);
    /// whatever ends the stream, a page already mapped is committed first.
    async fn map_and_commit<S: Source>(
        &self,
        source: &mut S,
        mut pages: tokio::sync::mpsc::Receiver<Fetched>,
        report: &mut StreamReport,
    ) -> Outcome {
        let mut in_flight = None;
        let mut time_left = TimeLeft::default();
        let outcome = loop {
            let page = match pages.recv().await {
                Some(Fetched::Page(page)) => page,
                Some(Fetched::End(outcome)) => break outcome,
                None => break Outcome::Failed("the page fetcher stopped unexpectedly".into()),
            };
            let map_started = Instant::now();
            let mut mapped = Vec::with_capacity(page.records.len());
            let mut failure = None;
            for raw in page.records {
                match source.map_record(&self.info.name, &raw).await {
                    Ok(records) => mapped.push((raw, records)),
                    Err(e) => {
                        failure = Some(format!("mapping a record failed: {e}"));
                        break;
                    }
                }
            }
            report.mapping += map_started.elapsed();
            // Nothing of a page that failed to map is committed; the next
            // run starts again from the cursor before it.
            if let Some(failure) = failure {
                break Outcome::Failed(failure);
            }
            if let Err(failed) = self.settle(&mut in_flight, &mut time_left, report).await {
                break failed;
            }
            let store = self.store.clone();
            let (stream, next_cursor, keep_raw) = (
                self.info.name.clone(),
                page.next_cursor,
                self.options.keep_raw,
            );
            let (done, requests) = (page.done, page.requests);
            let commit = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let written = store.commit_page(&PageCommit {
                    stream: &stream,
                    records: &mapped,
                    cursor: next_cursor.as_deref(),
                    done,
                    requests,
                    keep_raw,
                })?;
                Ok((written, started.elapsed()))
            });
            in_flight = Some(InFlight {
                commit,
                progress: page.progress,
            });
            if done {
                break Outcome::Done;
            }
        };
        match self.settle(&mut in_flight, &mut time_left, report).await {
            Ok(()) => outcome,
            Err(failed) => failed,
        }
    }

    /// Wait for the commit in flight, if any, and account for it.
    async fn settle(
        &self,
        in_flight: &mut Option<InFlight>,
        time_left: &mut TimeLeft,
        report: &mut StreamReport,
    ) -> Result<(), Outcome> {
        let Some(InFlight { commit, progress }) = in_flight.take() else {
            return Ok(());
        };
        let (written, took) = match commit.await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(Outcome::Failed(e.to_string())),
            Err(e) => return Err(Outcome::Failed(format!("the commit task failed: {e}"))),
        };
        report.storing += took;
        report.records += written;
        report.pages += 1;
        (self.progress)(Event::Page {
            stream: self.info.name.clone(),
            records: written,
            total: report.records,
            pages: report.pages,
            progress,
            time_left: progress.and_then(|p| time_left.at(Instant::now(), p)),
        });
        Ok(())
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
    budget_pause_for(budgets, reserve, 1)
}

/// When what is left of a budget above its reserve cannot hold a page of
/// `page_requests` requests and as much again (less one) for the streams it
/// shares the budget with, how long to wait for its reset. A stream of many
/// requests a page thus stops while the streams of a request a page can
/// still go on (they go on down to the reserve).
pub fn budget_pause_for(
    budgets: &[Budget],
    reserve: f64,
    page_requests: u32,
) -> Option<(Duration, String)> {
    budgets
        .iter()
        .filter_map(|b| {
            let (limit, remaining, reset) = (b.limit?, b.remaining?, b.reset_seconds?);
            let keep = (f64::from(limit) * reserve.clamp(0.0, 0.9)).ceil() as u32;
            let room = page_requests.max(1).saturating_mul(2) - 1;
            (remaining < keep.saturating_add(room))
                .then(|| (Duration::from_secs(u64::from(reset.max(1))), b.name.clone()))
        })
        .max_by_key(|(wait, _)| *wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_of_progress() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let progress = |done| contract::Progress { done, total: 1000 };
        let mut left = TimeLeft::default();
        // The first page only sets the origin; so does a page that did not move.
        assert_eq!(left.at(at(0), progress(100)), None);
        assert_eq!(left.at(at(5), progress(100)), None);
        // 100 units in 10 s: 800 left take 80 s.
        assert_eq!(
            left.at(at(10), progress(200)),
            Some(Duration::from_secs(80))
        );
        // Slower now: 200 units in 40 s, 700 left take 140 s.
        assert_eq!(
            left.at(at(40), progress(300)),
            Some(Duration::from_secs(140))
        );
        // Caught up.
        assert_eq!(left.at(at(50), progress(1000)), Some(Duration::ZERO));
        // Units that go backwards (a connector that restarted) give none.
        assert_eq!(left.at(at(60), progress(50)), None);
    }

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
    fn plans_refuse_a_connector_whose_streams_cannot_be_planned() {
        let cases: [(&[StreamInfo], &str); 4] = [
            (
                &[stream("tickets", &[]), stream("tickets", &[])],
                "the connector lists stream `tickets` twice",
            ),
            (
                &[stream("tickets", &["ticket_fields"])],
                "stream `tickets` depends on `ticket_fields`, which the connector does not list",
            ),
            (
                &[stream("a", &["b"]), stream("b", &["a"]), stream("c", &[])],
                "in a cycle and can never start: a, b",
            ),
            (&[stream("a", &["a"])], "in a cycle and can never start: a"),
        ];
        for (streams, expected) in cases {
            let err = plan(streams, &[]).unwrap_err();
            assert_eq!(err.class(), "internal", "{err}");
            assert!(err.to_string().contains(expected), "{err}");
            assert!(
                err.to_string()
                    .contains("report it to the connector's authors"),
                "{err}"
            );
        }
        // A cycle outside the selection does not matter.
        let streams = [stream("a", &["b"]), stream("b", &["a"]), stream("c", &[])];
        assert_eq!(plan(&streams, &["c".into()]).unwrap().len(), 1);
    }

    #[test]
    fn streams_refreshed_recently_are_not_due() {
        let all = vec![stream("users", &[]), stream("tickets", &[])];
        let mut options = SyncOptions::default();
        options
            .refresh_every
            .insert("users".into(), Duration::from_secs(86_400));
        let synced_at = |name: &str| (name == "users").then_some(1_000);
        let skipped = not_due(&all, &options, synced_at, 1_000 + 3_600);
        assert_eq!(skipped, vec![("users".to_string(), 1_000)]);
        assert!(not_due(&all, &options, synced_at, 1_000 + 86_400).is_empty());
        assert!(not_due(&all, &options, |_| None, 5_000).is_empty());
        options.streams = vec!["users".into()];
        assert!(not_due(&all, &options, synced_at, 1_000 + 3_600).is_empty());
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

        // A stream of 10-request pages stops while 10 are left above the
        // reserve after its next page; one of single requests goes on to
        // the reserve.
        let account = |remaining| Budget {
            name: "account".into(),
            limit: Some(700),
            remaining: Some(remaining),
            reset_seconds: Some(30),
        };
        assert_eq!(budget_pause_for(&[account(89)], 0.1, 10), None);
        assert!(budget_pause_for(&[account(88)], 0.1, 10).is_some());
        assert_eq!(budget_pause_for(&[account(71)], 0.1, 1), None);
        assert!(budget_pause_for(&[account(70)], 0.1, 1).is_some());
        assert!(budget_pause_for(&[account(18)], 0.0, 10).is_some());
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
