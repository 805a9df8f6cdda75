//! Many hosts, one PostgreSQL: which connection runs next, on which
//! process, and what happened. Embeds in a platform; prints nothing and
//! knows no command-line flags (`connector-host serve` is one front end).
//!
//! - [`policy`]: when a connection runs next after a success, a failure a
//!   retry may mend, a permanent failure (attention, slow backoff) or a
//!   stop. Pure.
//! - [`schedule`]: the `fleet_connections` and `fleet_runs` tables: claims
//!   with `FOR UPDATE SKIP LOCKED`, oldest due first, leases that expire
//!   unless renewed, and a record of every sync.
//! - [`gauges`]: the schedule's view as gauges (last success, attention,
//!   lease owner), for each scrape.
//! - [`runner`]: one process's loop: bounded concurrency, the heartbeat
//!   that stops a sync before its lease can expire, the drain on shutdown,
//!   and the metrics (through the `metrics` facade: the embedding installs
//!   a recorder, e.g. Prometheus).

pub mod gauges;
pub mod policy;
pub mod runner;
pub mod schedule;

pub use gauges::StatusGauges;
pub use policy::{Decision, Policy, State, SyncOutcome};
pub use runner::{run, FleetOptions, Syncer};
pub use schedule::{overlapping, Claim, ConnectionStatus, Finish, Run, Schedule};
