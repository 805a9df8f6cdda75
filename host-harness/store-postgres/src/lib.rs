//! The shared PostgreSQL store: one database holds every connection's
//! connector storage, OAuth tokens, cursors and records (as `jsonb`), for
//! any number of hosts on any number of machines. It implements the same
//! traits as `connector-store-sqlite`: [`Database`] is a
//! [`connector_runtime::storage::KeyValueStore`], a
//! [`connector_runtime::storage::TokenStore`] and a
//! [`connector_platform::PlatformStore`]; [`RecordStore`] is a
//! [`connector_sync::Sink`] and a
//! [`connector_sync::stored::SyncedRecords`]. The schema and its versions
//! live in [`schema`]; the connection pool and the bridge from the
//! traits' blocking methods to the driver in [`db`].

pub mod db;
mod errors;
mod kv;
mod platform;
mod records;
pub mod schema;

pub use db::Database;
/// A driver failure as the runtime's error (a lost connection is
/// `Transient`), for embeddings that run their own statements.
pub use errors::host_error;
pub use records::RecordStore;
