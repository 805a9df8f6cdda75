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

pub use connector_sync::stored::SyncedRecords;
pub use db::Database;
pub use records::{RecordStore, StreamState};
