//! The sync engine's [`Sink`] for Airbyte: a committed page becomes its
//! RECORD messages followed by a STATE message for each selected kind its
//! stream feeds, written at once; the state carries the checkpoint a read
//! resumes from, so a platform that commits on STATE loses nothing and
//! duplicates nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use connector_runtime::storage::{KeyValueStore, MemoryStore};
use connector_runtime::ConnectorError;
use connector_sync::{PageCommit, Sink};

use crate::catalog::{record_data, KindStream, Selection};
use crate::output::Output;
use crate::protocol::{
    now_ms, Message, Record, SourceStats, StateMessage, StreamDescriptor, StreamState,
};
use crate::state::{encode_storage, Checkpoint, Resume};

/// Commits pages as Airbyte messages; clones share everything.
#[derive(Clone)]
pub struct AirbyteSink(Arc<Shared>);

struct Shared {
    output: Output,
    storage: MemoryStore,
    connection: String,
    /// Selected kinds and the component streams feeding them.
    kinds: Vec<KindStream>,
    selection: Selection,
    /// Where each component stream started.
    initial: BTreeMap<String, String>,
    /// The last storage snapshot, with the store's change count then.
    snapshot: Mutex<Option<(u64, String)>>,
    progress: Mutex<Progress>,
}

/// What the states written so far cover.
struct Progress {
    seq: u64,
    cursors: BTreeMap<String, String>,
    /// Records per kind since its last state.
    unstated: BTreeMap<String, u64>,
    /// Kinds a stream's next page must skip if it ends where they are.
    ahead: BTreeMap<String, Vec<(String, String)>>,
}

impl AirbyteSink {
    /// A sink writing to `output`, resuming from `resume`; `storage` holds
    /// the connection's key-value storage.
    pub fn new(
        output: Output,
        storage: MemoryStore,
        connection: &str,
        kinds: &[KindStream],
        selection: &Selection,
        resume: &Resume,
    ) -> Self {
        AirbyteSink(Arc::new(Shared {
            output,
            storage,
            connection: connection.to_owned(),
            kinds: kinds
                .iter()
                .filter(|k| selection.includes(&k.stream.name))
                .cloned()
                .collect(),
            selection: selection.clone(),
            initial: resume.cursors.clone(),
            snapshot: Mutex::new(None),
            progress: Mutex::new(Progress {
                seq: resume.seq,
                cursors: resume.cursors.clone(),
                unstated: BTreeMap::new(),
                ahead: resume.ahead.clone(),
            }),
        }))
    }

    /// The connector's storage, compact; encoded again only after it
    /// changed (a large account's storage is some hundred KB).
    fn storage_snapshot(&self) -> Result<String, ConnectorError> {
        let shared = &self.0;
        let changes = shared.storage.changes();
        let mut snapshot = shared.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, encoded)) = snapshot.as_ref() {
            if *at == changes {
                return Ok(encoded.clone());
            }
        }
        let mut entries = Vec::new();
        for key in shared.storage.list_keys(&shared.connection, "")? {
            if let Some(value) = shared.storage.get(&shared.connection, &key)? {
                entries.push((key, value));
            }
        }
        let encoded = encode_storage(&entries);
        *snapshot = Some((changes, encoded.clone()));
        Ok(encoded)
    }
}

/// Now, as RFC 3339 (a deleted record's deletion mark).
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Sink for AirbyteSink {
    async fn cursor(&self, stream: &str) -> Result<Option<String>, ConnectorError> {
        Ok(self.0.initial.get(stream).cloned())
    }

    async fn commit_page(&self, page: PageCommit) -> Result<u64, ConnectorError> {
        let shared = &self.0;
        let emitted_at = now_ms();
        let deleted_at = now_rfc3339();
        // A kind that has this page already (its state was ahead) skips it.
        let has_page: Vec<String> = shared
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ahead
            .remove(&page.stream)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, cursor)| page.cursor.as_ref() == Some(cursor))
            .map(|(kind, _)| kind)
            .collect();
        let emitted =
            |kind: &str| shared.selection.includes(kind) && !has_page.iter().any(|k| k == kind);
        let mut lines = String::new();
        let mut written: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, records) in &page.records {
            for record in records.iter().filter(|r| emitted(&r.kind)) {
                let message = Message::Record {
                    record: Record {
                        stream: record.kind.clone(),
                        data: record_data(record, &deleted_at)?,
                        emitted_at,
                    },
                };
                lines.push_str(&message.to_line());
                lines.push('\n');
                *written.entry(&record.kind).or_default() += 1;
            }
        }
        let storage = self.storage_snapshot()?;
        // States are numbered in the order they are written.
        let mut progress = shared.progress.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, count) in &written {
            *progress.unstated.entry((*kind).to_owned()).or_default() += count;
        }
        progress.seq += 1;
        match &page.cursor {
            Some(cursor) => progress.cursors.insert(page.stream.clone(), cursor.clone()),
            None => progress.cursors.remove(&page.stream),
        };
        let checkpoint = serde_json::to_value(Checkpoint {
            seq: progress.seq,
            cursors: progress.cursors.clone(),
            storage,
        })
        .expect("checkpoints serialize");
        for kind in shared
            .kinds
            .iter()
            .filter(|k| k.sources.contains(&page.stream))
        {
            let name = &kind.stream.name;
            let count = progress.unstated.remove(name).unwrap_or(0);
            let message = Message::State {
                state: StateMessage {
                    kind: "STREAM".into(),
                    stream: StreamState {
                        stream_descriptor: StreamDescriptor { name: name.clone() },
                        stream_state: checkpoint.clone(),
                    },
                    source_stats: Some(SourceStats {
                        record_count: count as f64,
                    }),
                },
            };
            lines.push_str(&message.to_line());
            lines.push('\n');
        }
        shared.output.write_lines(&lines)?;
        Ok(written.values().sum())
    }

    async fn record_failure(&self, _stream: &str, _message: &str) -> Result<(), ConnectorError> {
        // Failures are reported as TRACE messages when the read ends.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use connector_runtime::contract::NormalizedRecord;
    use serde_json::{json, Value};

    use super::*;
    use crate::output::Captured;
    use crate::protocol::{Stream, SyncMode};

    fn kind(name: &str) -> KindStream {
        KindStream {
            stream: Stream {
                name: name.into(),
                json_schema: json!({}),
                supported_sync_modes: vec![SyncMode::Incremental],
                source_defined_cursor: None,
                default_cursor_field: None,
                source_defined_primary_key: None,
                is_resumable: None,
            },
            sources: vec!["comments".into()],
        }
    }

    fn record(kind: &str, id: u32) -> NormalizedRecord {
        NormalizedRecord {
            kind: kind.into(),
            key: id.to_string(),
            version: None,
            data: format!(r#"{{"id":"{id}"}}"#),
            deleted: false,
        }
    }

    fn page(cursor: &str, records: Vec<NormalizedRecord>) -> PageCommit {
        PageCommit {
            stream: "comments".into(),
            records: vec![("{}".into(), records)],
            cursor: Some(cursor.into()),
            done: false,
            requests: 1,
            keep_raw: false,
        }
    }

    #[tokio::test]
    async fn records_come_before_their_states_and_a_kind_ahead_skips_the_page_it_has() {
        let lines = Captured::default();
        let kinds = [kind("message"), kind("change")];
        let selection = Selection {
            modes: [
                ("message", SyncMode::Incremental),
                ("change", SyncMode::Incremental),
            ]
            .map(|(k, m)| (k.to_owned(), m))
            .into(),
        };
        let resume = Resume {
            cursors: [("comments".to_owned(), "c2".to_owned())].into(),
            storage: Vec::new(),
            seq: 7,
            ahead: [(
                "comments".to_owned(),
                vec![("message".to_owned(), "c3".to_owned())],
            )]
            .into(),
        };
        let storage = MemoryStore::default();
        storage.set("airbyte", "split", b"42").unwrap();
        let sink = AirbyteSink::new(
            Output::new(Box::new(lines.clone())),
            storage,
            "airbyte",
            &kinds,
            &selection,
            &resume,
        );
        assert_eq!(
            sink.cursor("comments").await.unwrap().as_deref(),
            Some("c2")
        );
        let both = || vec![record("message", 1), record("change", 2)];
        assert_eq!(sink.commit_page(page("c3", both())).await.unwrap(), 1);
        assert_eq!(sink.commit_page(page("c4", both())).await.unwrap(), 2);

        let text = lines.text();
        let messages: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary: Vec<String> = messages
            .iter()
            .map(|m| match m["type"].as_str().unwrap() {
                "RECORD" => format!("record {}", m["record"]["stream"].as_str().unwrap()),
                _ => format!(
                    "state {} {} {}",
                    m["state"]["stream"]["stream_descriptor"]["name"]
                        .as_str()
                        .unwrap(),
                    m["state"]["stream"]["stream_state"]["seq"],
                    m["state"]["sourceStats"]["recordCount"]
                ),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "record change",
                "state message 8 0.0",
                "state change 8 1.0",
                "record message",
                "record change",
                "state message 9 1.0",
                "state change 9 1.0",
            ]
        );
        let checkpoint = &messages.last().unwrap()["state"]["stream"]["stream_state"];
        assert_eq!(checkpoint["cursors"]["comments"], "c4");
        let storage =
            crate::state::decode_storage(checkpoint["storage"].as_str().unwrap()).unwrap();
        assert_eq!(storage, vec![("split".to_owned(), b"42".to_vec())]);
    }
}
