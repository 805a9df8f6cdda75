//! What the integration platform does with the synced data: customers
//! matched to the connections' organizations, people and tickets, one
//! document per ticket, and support signals per customer.
//!
//! Everything computes here, in Rust, over typed records ([`records`]) read
//! through a store-neutral trait ([`store::PlatformStore`]; SQL lives in
//! the store crates, `connector-store-sqlite` for the host's database).
//!
//! * [`customers`]: the platform's customer list (one per store, shared by
//!   every connection), imported from CSV or JSON, with the normalization
//!   of names and domains.
//! * [`matcher`]: an organization or an email matched to a customer (by
//!   domain, then by normalized name, with [`overrides`]); [`matching`]: a
//!   connection's run, propagated to people and tickets and stored, with
//!   its report ([`match_report`]).
//! * [`documents`]: one JSON document per ticket.
//! * [`signals`]: support signals per customer, as a text table or a
//!   self-contained HTML page ([`html`]).
//!
//! Nothing here prints or knows the command line: the `connector-host`
//! binary does.

pub mod customers;
pub mod documents;
pub mod ecsat;
pub mod html;
pub mod input;
pub mod match_report;
pub mod matcher;
pub mod matching;
pub mod model;
pub mod overrides;
pub mod records;
pub mod satisfaction;
pub mod sentiment;
pub mod signals;
pub mod store;
pub mod stored_rows;
pub mod text;
pub mod window;

pub use store::{PlatformStore, StoredRecord, Tombstones};
