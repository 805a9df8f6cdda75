//! Tickets deleted before their first import. The rule: such a ticket
//! yields no `message` and no `change` on any path; its conversation is a
//! tombstone when the ticket export delivered one, and absent when the
//! first import read its window from the search export (which never returns
//! deleted tickets). A ticket deleted after it was imported keeps the
//! messages and changes it had, and gets those made until its deletion.
//!
//! Two facts are kept, both written by `tickets` before the comment streams
//! read them (they depend on it):
//!
//! * the [`DELETED`] marks (a bitmap, see [`crate::state::marks`]): tickets
//!   whose tombstone `tickets` delivered while the ticket log did not know
//!   them (never delivered live), and tickets a comment path found deleted;
//! * the first import's [`SearchSweep`]: when the first import read its
//!   window from the search export, every ticket live then and active in
//!   the window before the incremental export took over was delivered and
//!   logged, so a ticket active then that the log does not know was deleted.

use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// Tickets deleted before their first import: `deleted/{id / 32768}`.
pub const DELETED: &str = "deleted";

/// Storage key of the [`SearchSweep`].
const SWEEP_KEY: &str = "search-sweep";

/// What the first import's search sweep of its window covered: every
/// ticket live during the sweep and updated since `from` (Unix seconds),
/// the incremental export taking over at `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchSweep {
    /// The window's start.
    pub from: u64,
    /// Where the incremental export took over.
    pub until: u64,
}

impl SearchSweep {
    /// Whether a ticket active at `at` was live during the sweep only if
    /// the sweep delivered it.
    pub fn covers(&self, at: u64) -> bool {
        (self.from..self.until).contains(&at)
    }

    /// Stores the sweep.
    pub fn store(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        storage.set(
            SWEEP_KEY,
            &serde_json::to_vec(self).expect("the sweep serialises"),
        )
    }

    /// The stored sweep, if the first import's window came from the search
    /// export.
    pub fn stored(storage: &dyn Storage) -> Result<Option<SearchSweep>, StorageError> {
        Ok(storage
            .get(SWEEP_KEY)?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }
}
