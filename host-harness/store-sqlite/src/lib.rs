//! The embedded SQLite store: one file holds every connection's connector
//! storage, OAuth tokens, cursors and records. It implements the
//! runtime's storage traits ([`Database`] is a
//! [`connector_runtime::storage::KeyValueStore`] and a
//! [`connector_runtime::storage::TokenStore`]) and the sync engine's
//! [`connector_sync::Sink`] ([`RecordStore`]), and the integration
//! platform's [`connector_platform::PlatformStore`] ([`Database`] too). The
//! schema and its version (`PRAGMA user_version`) live in [`db`].

pub mod db;
mod kv;
mod platform;
pub mod records;
mod sentiment;

pub use db::Database;
pub use records::{RecordStore, StreamState};

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
