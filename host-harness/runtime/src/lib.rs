//! The embeddable connector runtime: loads any component implementing the
//! `connector:source` contract (`wit/`) and runs it in a sandbox.
//!
//! A connector gets nothing it was not granted: HTTP only to the hosts it
//! declared, through the host's policy (private networks refused), with
//! credentials the host injects; durable key-value storage in a store the
//! embedding platform provides ([`storage::KeyValueStore`],
//! [`storage::TokenStore`]); limits on CPU, memory, stack, logs and
//! responses. This crate has no CLI, database or progress display: the
//! `connector-sync` crate syncs streams through it, store crates persist.
//!
//! ```text
//! Runtime::new(limits, cache) ─► Runtime::load(bytes) ─► Connection::open(settings)
//!                                                          ├─ check / discover
//!                                                          └─ fetch_page / map_record
//! ```

mod config_policy;
mod connect;
pub mod connection;
pub mod contract;
pub mod credentials;
pub mod engine;
pub mod errors;
pub mod findings;
mod generated;
pub mod http_policy;
mod imports;
pub mod kv;
pub mod logs;
pub mod outbound;
pub mod output_limits;
pub mod sealed;
pub mod secrets;
pub mod sign_in;
mod state;
pub mod storage;
pub mod template;
mod token_endpoint;

pub use connection::{Connection, ConnectionRecipe, ConnectionSettings, HostStores};
pub use engine::{Limits, LoadedConnector, Runtime};
pub use errors::{ConnectorError, StoreError};
