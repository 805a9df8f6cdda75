//! Reference host for connector components.
//!
//! Runs any component implementing the `connector:source` contract
//! (`wit/`) in a sandbox: HTTP only to the hosts the connector declared and
//! through the host's policy, credentials injected by the host, durable
//! storage in SQLite, and limits on CPU, memory, stack, logs and responses.

pub mod cli;
pub mod connection;
pub mod connection_file;
pub mod contract;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod engine;
pub mod errors;
mod generated;
pub mod http_policy;
pub mod kv;
pub mod logs;
pub mod outbound;
pub mod platform;
pub mod progress;
pub mod report;
pub mod secrets;
mod state;
pub mod store;
pub mod sync;
pub mod template;

pub use connection::{Connection, ConnectionSettings};
pub use engine::{Limits, LoadedConnector, Runtime};
pub use errors::ConnectorError;
