//! The expected dataset: what a complete, correct sync of an account must end up with.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The version of one object: what changes when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Version {
    /// `updated_at` in Unix seconds (`created_at` for comments, which never change).
    pub updated_at: i64,
    /// `generated_timestamp` in Unix seconds for tickets (also bumped by system updates);
    /// the same as `updated_at` for the other kinds.
    pub generated_timestamp: i64,
}

/// Every object of one kind, by id, with the ids of the deleted ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindTruth {
    /// Every object the exports return, deleted ones included, with its current version.
    pub versions: BTreeMap<u64, Version>,
    /// Ids of deleted objects: tickets with status `deleted`, users with `active: false`, and
    /// the comments and satisfaction ratings of deleted tickets.
    pub deleted: BTreeSet<u64>,
}

impl KindTruth {
    /// Ids of the objects that are not deleted.
    pub fn live(&self) -> BTreeSet<u64> {
        self.versions
            .keys()
            .filter(|id| !self.deleted.contains(id))
            .copied()
            .collect()
    }
}

/// The expected dataset of one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroundTruth {
    /// Tickets (incremental ticket export).
    pub tickets: KindTruth,
    /// Users (incremental user export).
    pub users: KindTruth,
    /// Organizations (incremental organization export).
    pub organizations: KindTruth,
    /// Comments of every ticket.
    pub comments: KindTruth,
    /// The ticket of each comment.
    pub comment_tickets: BTreeMap<u64, u64>,
    /// Satisfaction ratings (offered or rated).
    pub satisfaction_ratings: KindTruth,
    /// Ids of the archived tickets that are not deleted (see [`crate::SimConfig::archived_share`]).
    /// They are among `tickets.live()`, in the exports, search and per-ticket endpoints, but not
    /// in `/api/v2/tickets` or `/api/v2/ticket_audits`.
    pub archived: BTreeSet<u64>,
}

impl GroundTruth {
    /// Ids of the tickets the list endpoints (`/api/v2/tickets`) return and whose audits
    /// `/api/v2/ticket_audits` returns: live and not archived.
    pub fn listed_tickets(&self) -> BTreeSet<u64> {
        self.tickets
            .live()
            .into_iter()
            .filter(|id| !self.archived.contains(id))
            .collect()
    }

    /// Tickets deleted before `first_import` (Unix seconds): a deleted ticket's `updated_at` is
    /// its deletion.
    pub fn deleted_before(&self, first_import: i64) -> BTreeSet<u64> {
        self.tickets
            .deleted
            .iter()
            .filter(|id| self.tickets.versions[*id].updated_at < first_import)
            .copied()
            .collect()
    }

    /// The comments a sync delivers as messages, when its first import began reading tickets
    /// at `first_import` (Unix seconds): every comment of a live ticket and of a ticket deleted
    /// since (imported before it was deleted), none of a ticket deleted before (the connector
    /// delivers no message of a ticket deleted before its first import).
    pub fn comments_delivered(&self, first_import: i64) -> BTreeSet<u64> {
        self.comments_with_split_at(i64::MIN, first_import)
    }

    /// The comments a first import delivers when its comment history splits at `split` (Unix
    /// seconds) between the per-ticket endpoint and the events export, later syncs included
    /// (see [`GroundTruth::comments_delivered`]): every comment of a live ticket, those of a
    /// ticket deleted since `first_import` made from the split on (the events export still
    /// carries them; a deleted ticket's comments list is gone), and none of a ticket deleted
    /// before.
    pub fn comments_with_split_at(&self, split: i64, first_import: i64) -> BTreeSet<u64> {
        let live = self.tickets.live();
        let deleted_before = self.deleted_before(first_import);
        self.comments
            .versions
            .iter()
            .filter(|(id, v)| {
                let ticket = self.comment_tickets[id];
                live.contains(&ticket)
                    || (v.updated_at >= split && !deleted_before.contains(&ticket))
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The conversations that messages and changes name but the records lack: `conversations` are
/// the ids of every `conversation` record (tombstones included), `references` the
/// `conversation_id` of every `message` and `change` record. A sync must leave none.
pub fn absent_conversations(
    conversations: &BTreeSet<u64>,
    references: impl IntoIterator<Item = u64>,
) -> BTreeSet<u64> {
    references
        .into_iter()
        .filter(|id| !conversations.contains(id))
        .collect()
}
