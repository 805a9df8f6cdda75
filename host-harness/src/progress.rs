//! What the operator sees while a sync runs: a bar per stream on a
//! terminal, plain log lines otherwise, and a summary table at the end.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::report::table;
use crate::sync::{Event, Outcome, Progress, SyncReport};

/// A progress sink for the current standard error: bars on a terminal,
/// throttled log lines elsewhere.
pub fn for_stderr() -> Progress {
    if std::io::stderr().is_terminal() {
        bars()
    } else {
        lines(Duration::from_secs(5))
    }
}

fn bars() -> Progress {
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
                ..
            } => {
                let bar = bar(&stream);
                bar.set_position(total);
                bar.set_message(format!("{pages} pages"));
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

fn lines(every: Duration) -> Progress {
    let last: Mutex<HashMap<String, Instant>> = Mutex::new(HashMap::new());
    Arc::new(move |event| match event {
        Event::Started { stream } => eprintln!("{stream}: started"),
        Event::Page {
            stream,
            total,
            pages,
            ..
        } => {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.get(&stream).is_none_or(|t| t.elapsed() >= every);
            if due {
                eprintln!("{stream}: {total} records, {pages} pages");
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

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done => "done".into(),
        Outcome::Skipped(why) => format!("skipped: {why}"),
        Outcome::Failed(why) => format!("FAILED: {why}"),
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
                },
            ]
        })
        .collect();
    rows.sort();
    let sum = |f: fn(&crate::sync::StreamReport) -> u64| report.streams.iter().map(f).sum::<u64>();
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
            Outcome::Done => {}
        }
    }
    out
}
