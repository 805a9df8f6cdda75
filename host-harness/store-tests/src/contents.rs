//! What a store holds, read the same way from either: the end-to-end
//! tests compare a connection's records with the simulator's ground truth
//! through [`SyncedRecords`], not through one database's SQL.

use std::collections::BTreeSet;

use connector_sync::stored::SyncedRecords;

/// One stored normalized record.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    /// The stream that wrote it.
    pub stream: String,
    /// Its kind (`conversation`, `message`, ...).
    pub kind: String,
    /// Its key within the kind.
    pub key: String,
    /// Its version, as the connector wrote it (an RFC 3339 time).
    pub version: Option<String>,
    /// Whether it is a tombstone.
    pub deleted: bool,
    /// Its data.
    pub data: serde_json::Value,
}

impl StoredRecord {
    /// The source object's id: the key, or its part before `-` (chat
    /// transcripts split into messages keyed `comment-line`).
    pub fn object_id(&self) -> u64 {
        let id = self.key.split('-').next().unwrap_or_default();
        id.parse()
            .unwrap_or_else(|_| panic!("{} key {:?} names no object id", self.kind, self.key))
    }

    /// The version in Unix seconds.
    pub fn version_seconds(&self) -> Option<i64> {
        let version = self.version.as_deref()?;
        let time =
            time::OffsetDateTime::parse(version, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| {
                    panic!("{} {} has version {version:?}: {e}", self.kind, self.key)
                });
        Some(time.unix_timestamp())
    }
}

/// Every record of a connection, over all its streams.
pub fn all_records(records: &dyn SyncedRecords) -> Vec<StoredRecord> {
    let states = records.all_stream_states().expect("the stream states read");
    states
        .iter()
        .flat_map(|state| stream_records(records, &state.stream))
        .collect()
}

/// A stream's records, in the (kind, key) order the store visits them;
/// panics unless the store counts as many as it visited.
pub fn stream_records(records: &dyn SyncedRecords, stream: &str) -> Vec<StoredRecord> {
    let mut all = Vec::new();
    let count = records
        .for_each_record(stream, &mut |kind, key, version, deleted, data| {
            all.push(StoredRecord {
                stream: stream.to_owned(),
                kind: kind.to_owned(),
                key: key.to_owned(),
                version: version.map(str::to_owned),
                deleted,
                data: serde_json::from_str(data).expect("stored data is JSON"),
            });
            Ok(())
        })
        .expect("the records are visited");
    assert_eq!(
        count as usize,
        all.len(),
        "{stream}: visited and counted differ"
    );
    all
}

/// The object ids of `kind`: (live, deleted).
pub fn ids(records: &[StoredRecord], kind: &str) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let mut live = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for record in records.iter().filter(|r| r.kind == kind) {
        if record.deleted {
            deleted.insert(record.object_id());
        } else {
            live.insert(record.object_id());
        }
    }
    (live, deleted)
}

/// The conversations that messages and changes name, one entry per record.
pub fn named_conversations(records: &[StoredRecord]) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r.kind == "message" || r.kind == "change")
        .map(|r| {
            let id = &r.data["conversation_id"];
            id.as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("{} {} names no conversation: {id}", r.kind, r.key))
        })
        .collect()
}
