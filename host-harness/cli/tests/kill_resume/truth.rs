//! The database against the simulator's ground truth, kind by kind: the
//! objects missing, stored twice, stored but unknown to the simulator, and
//! stored in an old version or with the wrong deleted flag.

use std::collections::{BTreeMap, BTreeSet};

use connector_store_tests::contents::{self, StoredRecord};
use connector_sync::stored::SyncedRecords;
use zendesk_sim::{GroundTruth, KindTruth, SimHandle, Version};

/// The ids of one kind of record against the ground truth.
#[derive(Debug)]
pub(crate) struct KindTally {
    /// The record kind: `conversation`, `message`, `person` or `account`;
    /// `conversation_id` for the conversations messages and changes name
    /// (`lost`: those absent).
    pub(crate) kind: &'static str,
    /// Objects the ground truth expects.
    pub(crate) expected: usize,
    /// Distinct objects in the database.
    pub(crate) synced: usize,
    /// Expected, not stored.
    pub(crate) lost: Vec<u64>,
    /// Stored more than once (by two streams).
    pub(crate) duplicated: Vec<u64>,
    /// Stored, unknown to the ground truth.
    pub(crate) unexpected: Vec<u64>,
    /// Stored in an older version, or live where deleted (or the reverse).
    pub(crate) stale: Vec<u64>,
}

impl KindTally {
    /// Nothing lost, duplicated, unexpected or stale.
    pub(crate) fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.unexpected.is_empty()
            && self.stale.is_empty()
    }
}

/// Each kind's records, by object id: (key, deleted, version in Unix
/// seconds). Chat transcript messages are keyed `comment-line`.
fn stored(records: &[StoredRecord], kind: &str) -> BTreeMap<u64, Vec<(String, bool, Option<i64>)>> {
    let mut by_id: BTreeMap<u64, Vec<_>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.kind == kind) {
        by_id.entry(record.object_id()).or_default().push((
            record.key.clone(),
            record.deleted,
            record.version_seconds(),
        ));
    }
    by_id
}

/// `kind` against `expected`, which may also hold any of `known`;
/// `current(id, deleted, version)` says whether a stored copy is the
/// object's current one.
fn compare(
    records: &[StoredRecord],
    kind: &'static str,
    expected: &BTreeSet<u64>,
    known: &BTreeSet<u64>,
    current: impl Fn(u64, bool, Option<i64>) -> bool,
) -> KindTally {
    let stored = stored(records, kind);
    let ids: BTreeSet<u64> = stored.keys().copied().collect();
    let duplicated = stored
        .iter()
        .filter(|(_, rows)| {
            let keys: BTreeSet<&String> = rows.iter().map(|(key, _, _)| key).collect();
            keys.len() < rows.len()
        })
        .map(|(id, _)| *id)
        .collect();
    let stale = stored
        .iter()
        .filter(|(id, rows)| {
            known.contains(id)
                && !rows
                    .iter()
                    .all(|(_, deleted, version)| current(**id, *deleted, *version))
        })
        .map(|(id, _)| *id)
        .collect();
    KindTally {
        kind,
        expected: expected.len(),
        synced: ids.len(),
        lost: expected.difference(&ids).copied().collect(),
        duplicated,
        unexpected: ids.difference(known).copied().collect(),
        stale,
    }
}

/// Tickets, users or organizations: every one the exports return (the
/// live ones only without `tombstones`), each in its current version
/// (`version` of the ground truth) and deleted flag.
fn objects(
    records: &[StoredRecord],
    kind: &'static str,
    truth: &KindTruth,
    tombstones: bool,
    version: fn(&Version) -> i64,
) -> KindTally {
    let known = truth.versions.keys().copied().collect();
    let expected = match tombstones {
        true => truth.versions.keys().copied().collect(),
        false => truth.live(),
    };
    compare(records, kind, &expected, &known, |id, deleted, stored| {
        deleted == truth.deleted.contains(&id) && stored == Some(version(&truth.versions[&id]))
    })
}

/// When the first import read the tickets, in simulated Unix seconds: a
/// ticket deleted before `from` was deleted before its first import (no
/// messages), one deleted after `to` was imported first (its messages
/// stay); one deleted in between, while syncs were killed, may be either.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FirstImport {
    /// Before the first import began.
    pub(crate) from: i64,
    /// After it completed.
    pub(crate) to: i64,
}

impl FirstImport {
    /// A first import that begins now, on the simulator's clock.
    pub(crate) fn from_now(sim: &SimHandle) -> FirstImport {
        FirstImport {
            from: sim.now(),
            to: i64::MAX,
        }
    }

    /// The same first import, completed now.
    pub(crate) fn completed(self, sim: &SimHandle) -> FirstImport {
        FirstImport {
            to: sim.now(),
            ..self
        }
    }
}

/// What a complete sync delivers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect {
    /// Every ticket, tombstones included, and every comment but those of
    /// tickets deleted before the first import.
    Everything(FirstImport),
    /// After a first import whose comment history split at this time
    /// (under rate limits): the comments of
    /// [`GroundTruth::comments_with_split_at`], and no tombstones of the
    /// tickets deleted before it (the search export it reads has none).
    SplitAt(i64, FirstImport),
}

/// A connection's stored `records` against `truth`, kind by kind, and the
/// conversations its messages and changes name but it lacks.
pub(crate) fn tally(
    records: &dyn SyncedRecords,
    truth: &GroundTruth,
    expect: Expect,
) -> Vec<KindTally> {
    let all = contents::all_records(records);
    let (split, first_import, tombstones) = match expect {
        Expect::Everything(first_import) => (i64::MIN, first_import, true),
        Expect::SplitAt(split, first_import) => (split, first_import, false),
    };
    // A ticket deleted during the first import may have been imported
    // first: its comments may be there, and need not.
    let comments = truth.comments_with_split_at(split, first_import.to);
    let known = truth.comments_with_split_at(split, first_import.from);
    vec![
        objects(&all, "conversation", &truth.tickets, tombstones, |v| {
            v.generated_timestamp
        }),
        // Comments never change: any stored copy is current.
        compare(&all, "message", &comments, &known, |_, _, _| true),
        objects(&all, "person", &truth.users, true, |v| v.updated_at),
        objects(&all, "account", &truth.organizations, true, |v| {
            v.updated_at
        }),
        absent_conversations(&all),
    ]
}

/// The conversations that messages and changes name but the database
/// lacks, as the `lost` of a tally of kind `conversation_id`.
fn absent_conversations(records: &[StoredRecord]) -> KindTally {
    let (live, deleted) = contents::ids(records, "conversation");
    let named = contents::named_conversations(records);
    let absent = zendesk_sim::absent_conversations(&(&live | &deleted), named.clone());
    KindTally {
        kind: "conversation_id",
        expected: named.len(),
        synced: named.len() - absent.len(),
        lost: absent.into_iter().collect(),
        duplicated: Vec::new(),
        unexpected: Vec::new(),
        stale: Vec::new(),
    }
}

/// Panics, naming the first ids of each kind that differs, unless every
/// kind matches.
pub(crate) fn assert_clean(tallies: &[KindTally]) {
    let first = |ids: &[u64]| ids.iter().take(20).copied().collect::<Vec<_>>();
    let differences: Vec<String> = tallies
        .iter()
        .filter(|t| !t.is_clean())
        .map(|t| {
            format!(
                "{}: {} lost (first: {:?}), {} duplicated ({:?}), {} unexpected ({:?}), {} stale ({:?})",
                t.kind,
                t.lost.len(),
                first(&t.lost),
                t.duplicated.len(),
                first(&t.duplicated),
                t.unexpected.len(),
                first(&t.unexpected),
                t.stale.len(),
                first(&t.stale),
            )
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// The database holds exactly the simulator's ground truth: tickets live
/// and deleted, users, organizations and every comment but those of
/// tickets deleted before the first import.
pub(crate) fn assert_matches_ground_truth(
    records: &dyn SyncedRecords,
    sim: &SimHandle,
    first_import: FirstImport,
) {
    let truth = sim.ground_truth("acme");
    assert_clean(&tally(records, &truth, Expect::Everything(first_import)));
}
