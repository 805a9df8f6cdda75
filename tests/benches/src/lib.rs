//! Shared helpers of the benchmarks: timing with medians, memory, a 2 KB
//! ticket, and the Zendesk connector linked natively.

pub mod native;
pub mod sim;

use std::time::{Duration, Instant};

/// The median of several timings.
pub fn median(mut timings: Vec<Duration>) -> Duration {
    timings.sort();
    timings[timings.len() / 2]
}

/// Run `f` `batches` times and return the median duration of one batch
/// divided by `per_batch` (the median time of one operation).
pub fn median_per_op(batches: usize, per_batch: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed() / per_batch as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A Zendesk ticket of about 2 KB: the recorded fixture's ticket with a
/// longer description.
pub fn ticket_2kb() -> String {
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../../connector/tests/fixtures/go-zendesk/GET/ticket.json"
    ))
    .expect("the fixture is JSON");
    let mut ticket = fixture["ticket"].clone();
    let base = ticket.to_string().len();
    let description = ticket["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pad = 2048usize.saturating_sub(base);
    ticket["description"] = (description + &"x".repeat(pad)).into();
    ticket.to_string()
}

/// Peak resident memory of this process so far, in bytes (Linux `VmHWM`).
pub fn peak_resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}
