//! `connector-host`: the command line on top of the embeddable crates
//! (`connector-runtime`, `connector-sync`, `connector-store-sqlite`,
//! `connector-store-postgres`, `connector-platform`). Flags, connection files, progress display,
//! printed reports and the demo live here and nowhere else. It is a
//! library too only so that its tests can drive the commands.
//!
//! Features: `zendesk` (default) builds the Zendesk connector from source
//! and embeds it as the built-in plugin; `demo` (default) adds the `demo`
//! command and the Zendesk simulator it runs.

pub mod airbyte;
pub mod authorize;
pub mod cli;
pub mod connection_file;
pub mod context;
#[cfg(feature = "demo")]
pub mod demo;
pub mod platform_commands;
pub mod progress;
pub mod report;
pub mod serve;
pub mod store;
pub mod store_key;
