//! The Airbyte protocol for any connector component: `spec`, `check`,
//! `discover` and `read` write Airbyte messages, one JSON object per line,
//! to an [`Output`]. A read resumes from the STATE it emitted and nothing
//! else (no database): the checkpoint in every state carries the
//! component streams' cursors and the connector's storage. Credentials
//! stay in the host; a rotated OAuth refresh token reaches the platform in
//! a CONTROL message before it is used.
//!
//! ```text
//! config ─► credentials.auth_type + flat config ─► discover ─► one Airbyte stream per record kind
//! read:  state ─► resume (cursors, storage) ─► connector-sync ─► AirbyteSink: RECORDs, then STATEs
//! ```

pub mod catalog;
pub mod output;
pub mod protocol;
mod read;
pub mod sink;
pub mod spec;
pub mod state;

pub use output::{Captured, Output};
pub use read::{failure_type, run, Command, Ended, Plugin};
