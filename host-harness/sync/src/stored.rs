//! What every store keeps of a sync, whatever the database: the committed
//! state of a stream, and the id a raw record is kept under. Shared by the
//! store crates so that both keep the same facts in the same shape.

use connector_runtime::contract::NormalizedRecord;
use connector_runtime::ConnectorError;

/// The committed state of one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    /// Stream name.
    pub stream: String,
    /// Cursor after the last committed page.
    pub cursor: Option<String>,
    /// Whether the last sweep reached the end.
    pub done: bool,
    /// Pages committed, over all syncs.
    pub pages: u64,
    /// Normalized records committed, over all syncs.
    pub records: u64,
    /// API requests made, over all syncs.
    pub requests: u64,
    /// When a sweep last finished (Unix seconds).
    pub last_synced_at: Option<i64>,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
}

impl StreamState {
    /// The state of a stream never synced.
    pub fn never_synced(stream: &str) -> Self {
        StreamState {
            stream: stream.to_string(),
            ..StreamState::default()
        }
    }
}

/// The id a raw record is kept under within its stream: the kind and key
/// of the first record it mapped to, or a digest of its text when it
/// mapped to none.
pub fn raw_record_id(raw: &str, mapped: &[NormalizedRecord]) -> String {
    use sha2::Digest;
    match mapped.first() {
        Some(record) => format!("{}:{}", record.kind, record.key),
        None => format!(
            "unmapped:{}",
            hex::encode(&sha2::Sha256::digest(raw.as_bytes())[..12])
        ),
    }
}

/// The tables that hold a connection's synced data and host-managed
/// state, in the order `delete` removes them.
pub const CONNECTION_TABLES: [&str; 5] = ["records", "raw_records", "streams", "kv", "credentials"];

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Visits one record of [`SyncedRecords::for_each_record`]: (kind, key,
/// version, deleted, data); an error (the export's) stops the visit.
pub type RecordVisitor<'a> =
    dyn FnMut(&str, &str, Option<&str>, bool, &str) -> std::io::Result<()> + 'a;

/// A connection's synced data as its store keeps it, beyond what a sync
/// needs (a [`crate::Sink`]): the reads and the upkeep of `status`,
/// `export`, `remap` and `forget`. Both store crates implement it, so the
/// commands work on either.
pub trait SyncedRecords {
    /// The committed state of a stream ([`StreamState::never_synced`] when
    /// never synced).
    fn stream_state(&self, stream: &str) -> Result<StreamState, ConnectorError>;

    /// Every stream's state, by stream name.
    fn all_stream_states(&self) -> Result<Vec<StreamState>, ConnectorError>;

    /// Replace records without touching the stream's cursor (for `remap`).
    fn upsert_records(
        &self,
        stream: &str,
        records: &[(String, Vec<NormalizedRecord>)],
    ) -> Result<u64, ConnectorError>;

    /// Remember a stream's last error (the cursor is left as committed).
    fn record_error(&self, stream: &str, error: &str) -> Result<(), ConnectorError>;

    /// Records per kind, as (kind, live, deleted), by kind.
    fn counts(&self) -> Result<Vec<(String, u64, u64)>, ConnectorError>;

    /// Visit a stream's normalized records in (kind, key) order, as
    /// (kind, key, version, deleted, data); returns how many were visited.
    fn for_each_record(
        &self,
        stream: &str,
        visit: &mut RecordVisitor<'_>,
    ) -> Result<u64, ConnectorError>;

    /// A stream's raw records, in the order they were first stored.
    fn raw_records(&self, stream: &str) -> Result<Vec<String>, ConnectorError>;

    /// Delete everything the host keeps for the connection. Returns the
    /// number of rows removed per table of [`CONNECTION_TABLES`].
    fn delete_connection(&self) -> Result<Vec<(&'static str, usize)>, ConnectorError>;
}

/// A visitor's failure to write what it was given (an export).
pub fn export_error(error: std::io::Error) -> ConnectorError {
    ConnectorError::Io {
        what: "cannot write the export".into(),
        source: error.into(),
    }
}
