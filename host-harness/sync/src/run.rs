//! Running a sync: streams started once their dependencies are done, and
//! per stream a fetcher, a mapper and commits in order.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use connector_runtime::contract::{self, Page, PageRequest, StreamInfo};
use connector_runtime::ConnectorError;

use crate::pacing::{backoff, budget_pause_for, TimeLeft};
use crate::report::{Event, Outcome, Progress, StreamReport, SyncReport};
use crate::{PageCommit, Sink, Source, SourceFactory, SyncOptions};

/// A failure of the host itself while running a stream (a task that
/// stopped), as an error a caller classifies like any other.
fn host_failure(what: &str) -> ConnectorError {
    ConnectorError::Io {
        what: what.to_owned(),
        source: std::io::Error::other("a sync task ended unexpectedly").into(),
    }
}

/// Run a sync of `streams` (from `discover`) with a fresh source per
/// stream from `open`.
pub async fn run<S: Source + 'static, K: Sink>(
    open: SourceFactory<S>,
    streams: Vec<StreamInfo>,
    sink: K,
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
                sink: sink.clone(),
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
        Outcome::Failed(ConnectorError::Internal(
            "never started: the streams it depends on wait on each other".into(),
        ))
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
struct StreamWorker<K> {
    info: StreamInfo,
    sink: K,
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

/// A page commit in progress (records written and the time it took), with
/// the progress the page reached.
struct InFlight {
    commit: tokio::task::JoinHandle<Result<(u64, Duration), ConnectorError>>,
    progress: Option<contract::Progress>,
}

impl<K: Sink> StreamWorker<K> {
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
            (Err(e), _) | (_, Err(e)) => Outcome::Failed(e),
        };
        if let Outcome::Failed(error) = &report.outcome {
            let message = error.to_string();
            if let Err(e) = self.sink.record_failure(&self.info.name, &message).await {
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
        let mut cursor = match self.sink.cursor(name).await {
            Ok(cursor) => cursor,
            Err(e) => {
                let _ = pages.send(Fetched::End(Outcome::Failed(e))).await;
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
                    if matches!(e, ConnectorError::TimedOut(_)) {
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
                Err(e) => Outcome::Failed(e),
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
                None => {
                    break Outcome::Failed(host_failure("the page fetcher stopped unexpectedly"))
                }
            };
            let map_started = Instant::now();
            let mut mapped = Vec::with_capacity(page.records.len());
            let mut failure = None;
            for raw in page.records {
                match source.map_record(&self.info.name, &raw).await {
                    Ok(records) => mapped.push((raw, records)),
                    Err(e) => {
                        tracing::warn!("{}: mapping a record failed: {e}", self.info.name);
                        failure = Some(e);
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
            let sink = self.sink.clone();
            let commit = PageCommit {
                stream: self.info.name.clone(),
                records: mapped,
                cursor: page.next_cursor,
                done: page.done,
                requests: page.requests,
                keep_raw: self.options.keep_raw,
            };
            let done = commit.done;
            let commit = tokio::spawn(async move {
                let started = Instant::now();
                let written = sink.commit_page(commit).await?;
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
            Ok(Err(e)) => return Err(Outcome::Failed(e)),
            Err(e) => {
                return Err(Outcome::Failed(host_failure(&format!(
                    "the commit task failed: {e}"
                ))))
            }
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
