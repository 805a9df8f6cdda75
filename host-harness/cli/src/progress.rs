//! What the operator sees while a sync runs: a bar per stream on a
//! terminal, plain log lines otherwise, and a summary table at the end.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressStyle};

use connector_platform::text::table;
use connector_runtime::contract::Progress;
use connector_sync::{self as sync, Event, Outcome, SyncReport};

/// A progress sink for the current standard error: bars on a terminal,
/// throttled log lines elsewhere.
pub fn for_stderr() -> sync::Progress {
    if std::io::stderr().is_terminal() {
        bars()
    } else {
        lines(Duration::from_secs(5))
    }
}

fn bars() -> sync::Progress {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{spinner} {prefix:<22} {human_pos:>10} records  {per_sec:>12}  {elapsed:>4}  {msg}",
    )
    .expect("the template is valid");
    let bars: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    Arc::new(move |event| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        let mut bar = |stream: &str| {
            bars.entry(stream.to_string())
                .or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(stream.to_string());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bar
                })
                .clone()
        };
        match event {
            Event::Started { stream } => bar(&stream).set_message("starting"),
            Event::Page {
                stream,
                total,
                pages,
                progress,
                time_left,
                ..
            } => {
                let bar = bar(&stream);
                bar.set_position(total);
                bar.set_message(format!("{pages} pages{}", whereabouts(progress, time_left)));
            }
            Event::Paused {
                stream,
                wait,
                reason,
            } => bar(&stream).set_message(format!("paused {:.1}s: {reason}", wait.as_secs_f64())),
            Event::Finished(report) => {
                let bar = bar(&report.stream);
                bar.set_position(report.records);
                bar.finish_with_message(outcome_text(&report.outcome));
            }
        }
    })
}

fn lines(every: Duration) -> sync::Progress {
    let last: Mutex<HashMap<String, Instant>> = Mutex::new(HashMap::new());
    Arc::new(move |event| match event {
        Event::Started { stream } => eprintln!("{stream}: started"),
        Event::Page {
            stream,
            total,
            pages,
            progress,
            time_left,
            ..
        } => {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.get(&stream).is_none_or(|t| t.elapsed() >= every);
            if due {
                eprintln!(
                    "{stream}: {total} records, {pages} pages{}",
                    whereabouts(progress, time_left)
                );
                last.insert(stream, Instant::now());
            }
        }
        Event::Paused {
            stream,
            wait,
            reason,
        } => {
            eprintln!("{stream}: paused {:.1}s: {reason}", wait.as_secs_f64())
        }
        Event::Finished(report) => eprintln!(
            "{}: {} records in {:.1}s, {}",
            report.stream,
            report.records,
            report.duration.as_secs_f64(),
            outcome_text(&report.outcome)
        ),
    })
}

/// A progress sink of log events for `connection`: each stream's pauses
/// and end at `info` (a line per stream and sync), its start and pages at
/// `debug`.
pub fn for_logs(connection: &str) -> sync::Progress {
    let connection = connection.to_owned();
    Arc::new(move |event| match event {
        Event::Started { stream } => tracing::debug!(connection, stream, "stream started"),
        Event::Page {
            stream,
            total,
            pages,
            progress,
            time_left,
            ..
        } => tracing::debug!(
            connection,
            stream,
            records = total,
            pages,
            whereabouts = whereabouts(progress, time_left),
            "page committed"
        ),
        Event::Paused {
            stream,
            wait,
            reason,
        } => tracing::info!(
            connection,
            stream,
            wait_s = wait.as_secs_f64(),
            reason,
            "stream paused"
        ),
        Event::Finished(report) => tracing::info!(
            connection,
            stream = report.stream,
            records = report.records,
            requests = report.requests,
            rate_limited = report.rate_limited,
            duration_s = report.duration.as_secs_f64(),
            outcome = outcome_text(&report.outcome),
            "stream ended"
        ),
    })
}

/// `, 42%, about 3m 10s left` as far as known.
fn whereabouts(progress: Option<Progress>, time_left: Option<Duration>) -> String {
    let mut text = String::new();
    if let Some(p) = progress.filter(|p| p.total > 0) {
        text.push_str(&format!(", {}%", p.done.min(p.total) * 100 / p.total));
    }
    if let Some(left) = time_left {
        text.push_str(&format!(", about {} left", HumanDuration(left)));
    }
    text
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done => "done".into(),
        Outcome::Skipped(why) => format!("skipped: {why}"),
        Outcome::Failed(why) => format!("FAILED: {why}"),
        Outcome::Interrupted => "stopped: the next sync resumes here".into(),
    }
}

/// The end-of-sync summary table.
pub fn summary(report: &SyncReport) -> String {
    let mut rows: Vec<Vec<String>> = report
        .streams
        .iter()
        .map(|s| {
            vec![
                s.stream.clone(),
                s.records.to_string(),
                s.pages.to_string(),
                s.requests.to_string(),
                s.rate_limited.to_string(),
                format!("{:.1}s", s.duration.as_secs_f64()),
                match &s.outcome {
                    Outcome::Done => "done".into(),
                    Outcome::Skipped(_) => "skipped".into(),
                    Outcome::Failed(_) => "FAILED".into(),
                    Outcome::Interrupted => "stopped".into(),
                },
            ]
        })
        .collect();
    rows.sort();
    let sum = |f: fn(&sync::StreamReport) -> u64| report.streams.iter().map(f).sum::<u64>();
    rows.push(vec![
        "total".into(),
        sum(|s| s.records).to_string(),
        sum(|s| s.pages).to_string(),
        sum(|s| s.requests).to_string(),
        sum(|s| s.rate_limited).to_string(),
        format!("{:.1}s", report.duration.as_secs_f64()),
        String::new(),
    ]);
    let mut out = table(
        &[
            "STREAM", "RECORDS", "PAGES", "REQUESTS", "429s", "TIME", "STATUS",
        ],
        &rows,
    );
    for s in &report.streams {
        match &s.outcome {
            Outcome::Failed(why) => out.push_str(&format!("{}: {why}\n", s.stream)),
            Outcome::Skipped(why) => out.push_str(&format!("{} skipped: {why}\n", s.stream)),
            Outcome::Done | Outcome::Interrupted => {}
        }
    }
    if report.interrupted() {
        out.push_str(
            "stopped on request: what was fetched is committed; run `sync` again to resume from the last committed page\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whereabouts_say_what_is_known() {
        let half = Some(Progress {
            done: 50,
            total: 200,
        });
        let cases = [
            (None, None, ""),
            (half, None, ", 25%"),
            (
                half,
                Some(Duration::from_secs(190)),
                ", 25%, about 3 minutes left",
            ),
            (None, Some(Duration::from_secs(5)), ", about 5 seconds left"),
            (Some(Progress { done: 0, total: 0 }), None, ""),
            (Some(Progress { done: 9, total: 4 }), None, ", 100%"),
        ];
        for (progress, left, expected) in cases {
            assert_eq!(
                whereabouts(progress, left),
                expected,
                "{progress:?} {left:?}"
            );
        }
    }
}
