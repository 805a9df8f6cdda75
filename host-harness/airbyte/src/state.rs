//! The host's checkpoint, carried in every STATE message, so that a read
//! resumes from the state alone (Airbyte keeps nothing else between runs):
//! the cursor of every component stream and the connector's key-value
//! storage (compressed), numbered so that the newest can be told apart.
//!
//! A platform keeps the last state of each stream. On resume, a component
//! stream continues from the **oldest** checkpoint among the selected
//! streams it feeds (a kind whose state lags gets its records again rather
//! than lose them), and starts over when one of them has no state or is
//! read in full refresh; storage and the cursors of streams read only as
//! dependencies come from the newest checkpoint. The connector already
//! tolerates storage ahead of a cursor: a database-backed sync killed
//! between a fetch and its commit resumes the same way. A kind whose state
//! is ahead by the page it lags (the process died between the page's
//! states) does not get that page twice: the resumed page that ends at the
//! cursor the kind already has is not emitted for it ([`Resume::ahead`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine as _;
use connector_runtime::ConnectorError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{KindStream, Selection};
use crate::protocol::{StateMessage, SyncMode};

/// What every state message of this host holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Grows with every committed page, across reads.
    pub seq: u64,
    /// The cursor after the last committed page of each component stream.
    pub cursors: BTreeMap<String, String>,
    /// The connector's storage: deflated JSON pairs of key and base64
    /// value, in base64.
    pub storage: String,
}

fn unreadable(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::config(
        "state",
        format!("{what}; it was not written by this host's `airbyte read`: run without --state to start over"),
    )
}

/// Storage entries in a checkpoint's compact form.
pub fn encode_storage(entries: &[(String, Vec<u8>)]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pairs: Vec<(&str, String)> = entries
        .iter()
        .map(|(key, value)| (key.as_str(), b64.encode(value)))
        .collect();
    let json = serde_json::to_vec(&pairs).expect("pairs serialize");
    let mut deflate =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate
        .write_all(&json)
        .expect("writing to memory succeeds");
    b64.encode(deflate.finish().expect("writing to memory succeeds"))
}

/// Storage entries from a checkpoint's compact form.
pub fn decode_storage(text: &str) -> Result<Vec<(String, Vec<u8>)>, ConnectorError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let deflated = b64.decode(text).map_err(unreadable)?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_end(&mut json)
        .map_err(unreadable)?;
    let pairs: Vec<(String, String)> = serde_json::from_slice(&json).map_err(unreadable)?;
    pairs
        .into_iter()
        .map(|(key, value)| Ok((key, b64.decode(value).map_err(unreadable)?)))
        .collect()
}

/// The state messages of a `--state` file: a list of them (what platforms
/// pass), or one.
pub fn parse_states(text: &str) -> Result<Vec<StateMessage>, ConnectorError> {
    let value: Value = serde_json::from_str(text).map_err(unreadable)?;
    let list = match value {
        Value::Array(list) => list,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    list.into_iter()
        .map(|state| serde_json::from_value(state).map_err(unreadable))
        .collect()
}

/// Where a read starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resume {
    /// Component stream cursors; absent ones start over.
    pub cursors: BTreeMap<String, String>,
    /// The connector's storage.
    pub storage: Vec<(String, Vec<u8>)>,
    /// The newest checkpoint's number (0 without state).
    pub seq: u64,
    /// By component stream resumed from an older checkpoint: the kinds
    /// already past that point, each with the cursor it has. The first
    /// page ending at that cursor is theirs already.
    pub ahead: BTreeMap<String, Vec<(String, String)>>,
}

/// Where a read of `selection` starts, given the states a platform kept.
pub fn resume(
    states: &[StateMessage],
    streams: &[KindStream],
    selection: &Selection,
) -> Result<Resume, ConnectorError> {
    let mut by_stream: BTreeMap<&str, Checkpoint> = BTreeMap::new();
    for state in states {
        if state.kind != "STREAM" {
            return Err(unreadable(format!("a {} state", state.kind)));
        }
        let checkpoint: Checkpoint = serde_json::from_value(state.stream.stream_state.clone())
            .map_err(|e| {
                unreadable(format!(
                    "stream {}: {e}",
                    state.stream.stream_descriptor.name
                ))
            })?;
        by_stream.insert(&state.stream.stream_descriptor.name, checkpoint);
    }
    let all_full_refresh = selection
        .modes
        .values()
        .all(|m| *m == SyncMode::FullRefresh);
    let Some(newest) = by_stream.values().max_by_key(|c| c.seq) else {
        return Ok(Resume::default());
    };
    if all_full_refresh {
        return Ok(Resume {
            seq: newest.seq,
            ..Resume::default()
        });
    }
    let mut cursors = newest.cursors.clone();
    let mut ahead = BTreeMap::new();
    for source in selection.component_streams(streams) {
        let fed: Vec<&KindStream> = streams
            .iter()
            .filter(|s| selection.includes(&s.stream.name) && s.sources.contains(&source))
            .collect();
        // A kind read in full, or without state, has nothing of the stream.
        let checkpoints: Vec<Option<&Checkpoint>> = fed
            .iter()
            .map(|s| match selection.modes[&s.stream.name] {
                SyncMode::FullRefresh => None,
                SyncMode::Incremental => by_stream.get(s.stream.name.as_str()),
            })
            .collect();
        let oldest: Option<Vec<&Checkpoint>> = checkpoints.iter().copied().collect();
        let from = oldest
            .and_then(|c| c.into_iter().min_by_key(|c| c.seq))
            .and_then(|c| c.cursors.get(&source));
        let past: Vec<(String, String)> = fed
            .iter()
            .zip(checkpoints.iter().copied())
            .filter_map(|(kind, checkpoint)| {
                let cursor = checkpoint?.cursors.get(&source)?;
                (Some(cursor) != from).then(|| (kind.stream.name.clone(), cursor.clone()))
            })
            .collect();
        if !past.is_empty() {
            ahead.insert(source.clone(), past);
        }
        match from {
            Some(cursor) => cursors.insert(source, cursor.clone()),
            None => cursors.remove(&source),
        };
    }
    Ok(Resume {
        cursors,
        storage: decode_storage(&newest.storage)?,
        seq: newest.seq,
        ahead,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::{Stream, StreamDescriptor, StreamState};

    fn kind(name: &str, sources: &[&str]) -> KindStream {
        KindStream {
            stream: Stream {
                name: name.into(),
                json_schema: json!({}),
                supported_sync_modes: vec![SyncMode::FullRefresh, SyncMode::Incremental],
                source_defined_cursor: None,
                default_cursor_field: None,
                source_defined_primary_key: None,
                is_resumable: None,
            },
            sources: sources.iter().map(|s| (*s).into()).collect(),
        }
    }

    fn streams() -> Vec<KindStream> {
        vec![
            kind("conversation", &["tickets"]),
            kind("message", &["comments"]),
            kind("change", &["comments"]),
        ]
    }

    fn state(stream: &str, seq: u64, cursors: &[(&str, &str)], storage: &str) -> StateMessage {
        let checkpoint = Checkpoint {
            seq,
            cursors: cursors
                .iter()
                .map(|(s, c)| ((*s).into(), (*c).into()))
                .collect(),
            storage: storage.into(),
        };
        StateMessage {
            kind: "STREAM".into(),
            stream: StreamState {
                stream_descriptor: StreamDescriptor {
                    name: stream.into(),
                },
                stream_state: serde_json::to_value(checkpoint).unwrap(),
            },
            source_stats: None,
        }
    }

    fn selection(modes: &[(&str, SyncMode)]) -> Selection {
        Selection {
            modes: modes.iter().map(|(k, m)| ((*k).into(), *m)).collect(),
        }
    }

    #[test]
    fn storage_survives_its_compact_form() {
        let entries = vec![
            ("comment-split".to_owned(), br#"{"start":12}"#.to_vec()),
            ("marks/0".to_owned(), vec![0, 255, 7]),
        ];
        let text = encode_storage(&entries);
        assert_eq!(decode_storage(&text).unwrap(), entries);
        assert_eq!(decode_storage("").unwrap(), vec![]);
        assert!(matches!(
            decode_storage("not base64!"),
            Err(ConnectorError::Config(_))
        ));
        let big: Vec<(String, Vec<u8>)> = (0..1000)
            .map(|i| (format!("k/{i}"), vec![0; 100]))
            .collect();
        assert!(encode_storage(&big).len() < 20_000, "compressed");
    }

    #[test]
    fn a_stream_resumes_from_the_oldest_state_of_the_kinds_it_feeds() {
        let storage = encode_storage(&[("k".into(), b"v".to_vec())]);
        let all = selection(&[
            ("conversation", SyncMode::Incremental),
            ("message", SyncMode::Incremental),
            ("change", SyncMode::Incremental),
        ]);
        // Killed between the message and change states of comments' page 3.
        let states = [
            state(
                "conversation",
                2,
                &[("tickets", "t2"), ("comments", "c1")],
                "",
            ),
            state(
                "message",
                4,
                &[("tickets", "t2"), ("comments", "c3")],
                &storage,
            ),
            state("change", 3, &[("tickets", "t2"), ("comments", "c2")], ""),
        ];
        let resumed = resume(&states, &streams(), &all).unwrap();
        assert_eq!(resumed.cursors["comments"], "c2");
        // Messages have comments' next page already.
        assert_eq!(
            resumed.ahead["comments"],
            vec![("message".to_owned(), "c3".to_owned())]
        );
        assert!(!resumed.ahead.contains_key("tickets"));
        assert_eq!(resumed.cursors["tickets"], "t2");
        assert_eq!(resumed.storage, vec![("k".to_owned(), b"v".to_vec())]);
        assert_eq!(resumed.seq, 4);

        // A kind without state yet, or read in full, restarts its streams;
        // the first page is not emitted again for the kinds that have it.
        let fresh = resume(&states[..2], &streams(), &all).unwrap();
        assert!(!fresh.cursors.contains_key("comments"));
        assert_eq!(
            fresh.ahead["comments"],
            vec![("message".to_owned(), "c3".to_owned())]
        );
        let mut full = all.clone();
        full.modes
            .insert("conversation".into(), SyncMode::FullRefresh);
        let full = resume(&states, &streams(), &full).unwrap();
        assert!(!full.cursors.contains_key("tickets"));
        assert_eq!(full.cursors["comments"], "c2");

        // Streams read only as dependencies keep the newest cursor.
        let messages = selection(&[("message", SyncMode::Incremental)]);
        let only = resume(&states, &streams(), &messages).unwrap();
        assert_eq!(only.cursors["comments"], "c3");
        assert_eq!(only.cursors["tickets"], "t2");

        // Everything in full refresh starts over, storage included.
        let none = resume(
            &states,
            &streams(),
            &selection(&[("message", SyncMode::FullRefresh)]),
        )
        .unwrap();
        assert!(none.cursors.is_empty() && none.storage.is_empty());
        assert_eq!(none.seq, 4);
    }

    #[test]
    fn states_of_other_hosts_are_refused_with_advice() {
        let all = selection(&[("message", SyncMode::Incremental)]);
        let foreign = parse_states(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"message"},"stream_state":{"updated_at":"2026"}}}]"#,
        )
        .unwrap();
        let error = resume(&foreign, &streams(), &all).unwrap_err();
        assert!(error.to_string().contains("run without --state"), "{error}");
        let global =
            parse_states(r#"{"type":"GLOBAL","stream":{"stream_descriptor":{"name":"x"}}}"#)
                .unwrap();
        assert!(resume(&global, &streams(), &all).is_err());
        assert!(parse_states("[]").unwrap().is_empty());
        assert!(parse_states("{").is_err());
    }
}
