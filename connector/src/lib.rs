//! Zendesk Support source connector: a WebAssembly component implementing
//! the `connector:source@0.4.0` contract (`wit/v0.4.0/connector.wit`).
//!
//! The core is sans-IO and compiles natively: configuration
//! ([`config`], [`spec`]), the API's requests, errors and rate limits
//! ([`api`]), streams and cursors ([`streams`]), stored reference data
//! ([`state`]), mapping to the platform-neutral model ([`mapping`]) and
//! chat transcripts ([`chat`]). [`NativeConnector`] offers the contract's
//! operations as Rust methods and as the guest SDK's `Connector`
//! (`connector/sdk`), which binds them to the WIT exports, the host's
//! storage and logging, and `wasi:http`; the `wasm32` glue is one line.

#![warn(missing_docs)]

pub mod api;
pub mod chat;
pub mod check;
pub mod config;
pub mod connector;
pub mod mapping;
pub mod spec;
pub mod state;
pub mod storage;
pub mod streams;
pub mod text;
pub mod time;
pub mod types;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod fuzz;

pub use connector::NativeConnector;
pub use connector_sdk::HttpClient;
pub use storage::{MemoryStorage, Storage};
