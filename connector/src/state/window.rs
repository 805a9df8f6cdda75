//! The first import's window: where the ticket and comment histories start.
//! Whichever of `tickets` and `ticket_comments` starts first resolves it
//! (for `max_tickets` with a request, see `streams`) and stores it under
//! `first-import`, so both streams start at the same second. It is reused
//! only while `start_date` and `max_tickets` are unchanged.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::storage::{Storage, StorageError};

/// Storage key of the window.
const KEY: &str = "first-import";

/// Default history: 90 days.
pub const DEFAULT_HISTORY_SECS: u64 = 90 * 86_400;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Stored {
    start_date: Option<i64>,
    max_tickets: Option<u32>,
    start_time: u64,
}

/// The stored start of the first import, if it was resolved with the same
/// `start_date` and `max_tickets`.
pub fn stored_start(storage: &dyn Storage, config: &Config) -> Result<Option<u64>, StorageError> {
    let stored: Option<Stored> = storage
        .get(KEY)?
        .and_then(|v| serde_json::from_slice(&v).ok());
    Ok(stored
        .filter(|s| s.start_date == config.start_date && s.max_tickets == config.max_tickets)
        .map(|s| s.start_time))
}

/// Stores the start of the first import.
pub fn store(storage: &dyn Storage, config: &Config, start_time: u64) -> Result<(), StorageError> {
    let stored = Stored {
        start_date: config.start_date,
        max_tickets: config.max_tickets,
        start_time,
    };
    storage.set(
        KEY,
        &serde_json::to_vec(&stored).expect("window serialises"),
    )
}

/// The start implied by the config alone: `start_date`, else 90 days before
/// the first sync.
pub fn configured_start(config: &Config, sync_started_at: u64) -> u64 {
    config
        .start_date
        .map_or(sync_started_at.saturating_sub(DEFAULT_HISTORY_SECS), |t| {
            t.max(0) as u64
        })
}
