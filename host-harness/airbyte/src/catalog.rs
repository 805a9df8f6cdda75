//! Airbyte streams from a component's streams: **one Airbyte stream per
//! record kind** (`conversation`, `message`, `change`, ...), because an
//! Airbyte stream has one schema and a destination one table per stream,
//! while a component's stream may emit several kinds (comments give
//! `message` and `change`) and several streams may emit one kind. Each
//! Airbyte stream knows the component streams that feed it.

use std::collections::BTreeMap;

use connector_runtime::contract::{NormalizedRecord, StreamInfo, SyncMode as ContractMode};
use connector_runtime::ConnectorError;
use serde_json::{json, Value};

use crate::protocol::{ConfiguredCatalog, Stream, SyncMode};

/// The member a deleted record carries (Airbyte's CDC convention): when
/// the source saw it deleted, so a destination can drop or mark it.
pub const DELETED_AT: &str = "_ab_cdc_deleted_at";

/// An Airbyte stream: a record kind and the component streams feeding it.
#[derive(Clone, Debug)]
pub struct KindStream {
    /// The stream as `discover` prints it.
    pub stream: Stream,
    /// The component streams whose records include this kind.
    pub sources: Vec<String>,
}

/// The schema of one kind within a component stream's schema: the whole
/// schema for a stream of one kind, else the kind's entry under `$defs`
/// (the contract's convention for several kinds), else the whole schema.
fn kind_schema(info: &StreamInfo, kind: &str) -> Result<Value, ConnectorError> {
    let schema: Value = serde_json::from_str(&info.json_schema).map_err(|e| {
        ConnectorError::Protocol(format!("stream {}: its schema is not JSON: {e}", info.name))
    })?;
    let mut schema = match schema.pointer(&format!("/$defs/{kind}")) {
        Some(def) if info.record_kinds.len() > 1 => def.clone(),
        _ => schema,
    };
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            DELETED_AT.into(),
            json!({"type": ["null", "string"], "format": "date-time",
                   "description": "Set when the source deleted the record"}),
        );
    }
    Ok(schema)
}

/// The Airbyte streams of a component's discovered streams, by kind, in
/// the order kinds first appear.
pub fn kind_streams(discovered: &[StreamInfo]) -> Result<Vec<KindStream>, ConnectorError> {
    let mut streams: Vec<KindStream> = Vec::new();
    for info in discovered {
        let incremental = info.sync_modes.contains(&ContractMode::Incremental);
        for kind in &info.record_kinds {
            if let Some(known) = streams.iter_mut().find(|s| s.stream.name == *kind) {
                known.sources.push(info.name.clone());
                if !incremental {
                    known.stream.supported_sync_modes = vec![SyncMode::FullRefresh];
                    known.stream.source_defined_cursor = None;
                    known.stream.default_cursor_field = None;
                }
                continue;
            }
            let cursor = info.cursor_field.clone().filter(|_| incremental);
            streams.push(KindStream {
                stream: Stream {
                    name: kind.clone(),
                    json_schema: kind_schema(info, kind)?,
                    supported_sync_modes: if incremental {
                        vec![SyncMode::FullRefresh, SyncMode::Incremental]
                    } else {
                        vec![SyncMode::FullRefresh]
                    },
                    source_defined_cursor: incremental.then_some(true),
                    default_cursor_field: cursor.map(|c| vec![c]),
                    source_defined_primary_key: Some(
                        info.primary_key.iter().map(|k| vec![k.clone()]).collect(),
                    ),
                    is_resumable: Some(true),
                },
                sources: vec![info.name.clone()],
            });
        }
    }
    Ok(streams)
}

/// What a configured catalog asks for: each selected kind's sync mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// Sync mode by Airbyte stream (kind).
    pub modes: BTreeMap<String, SyncMode>,
}

impl Selection {
    /// Check a configured catalog against the streams there are.
    pub fn new(
        catalog: &ConfiguredCatalog,
        streams: &[KindStream],
    ) -> Result<Self, ConnectorError> {
        let mut modes = BTreeMap::new();
        for configured in &catalog.streams {
            let name = &configured.stream.name;
            let Some(known) = streams.iter().find(|s| s.stream.name == *name) else {
                let names: Vec<&str> = streams.iter().map(|s| s.stream.name.as_str()).collect();
                return Err(ConnectorError::config(
                    "catalog",
                    format!("no stream `{name}`; `discover` lists: {}", names.join(", ")),
                ));
            };
            // Incremental where the stream has no cursor reads it whole,
            // as Airbyte's own sources do.
            let mode = if known
                .stream
                .supported_sync_modes
                .contains(&configured.sync_mode)
            {
                configured.sync_mode
            } else {
                SyncMode::FullRefresh
            };
            modes.insert(name.clone(), mode);
        }
        if modes.is_empty() {
            return Err(ConnectorError::config(
                "catalog",
                "selects no stream; select at least one of `discover`'s",
            ));
        }
        Ok(Selection { modes })
    }

    /// Whether a kind is read.
    pub fn includes(&self, kind: &str) -> bool {
        self.modes.contains_key(kind)
    }

    /// The component streams to read: those feeding a selected kind.
    pub fn component_streams(&self, streams: &[KindStream]) -> Vec<String> {
        let mut names: Vec<String> = streams
            .iter()
            .filter(|s| self.includes(&s.stream.name))
            .flat_map(|s| s.sources.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A normalized record's `data` as an Airbyte record's, marked when deleted.
pub fn record_data(record: &NormalizedRecord, deleted_at: &str) -> Result<Value, ConnectorError> {
    let mut data: Value = serde_json::from_str(&record.data).map_err(|e| {
        ConnectorError::Protocol(format!("a {} record's data is not JSON: {e}", record.kind))
    })?;
    if record.deleted {
        if let Some(object) = data.as_object_mut() {
            object.insert(DELETED_AT.into(), Value::String(deleted_at.to_owned()));
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConfiguredStream, ConfiguredStreamName};

    fn info(name: &str, kinds: &[&str], schema: Value, incremental: bool) -> StreamInfo {
        StreamInfo {
            name: name.into(),
            record_kinds: kinds.iter().map(|k| (*k).into()).collect(),
            json_schema: schema.to_string(),
            primary_key: vec!["id".into()],
            cursor_field: Some("updated_at".into()),
            sync_modes: vec![if incremental {
                ContractMode::Incremental
            } else {
                ContractMode::FullRefresh
            }],
            ..StreamInfo::default()
        }
    }

    fn discovered() -> Vec<StreamInfo> {
        let object = |title: &str| json!({"title": title, "type": "object", "properties": {"id": {"type": "string"}}});
        vec![
            info("tickets", &["conversation"], object("conversation"), true),
            info(
                "comments",
                &["message", "change"],
                json!({"oneOf": [], "$defs": {"message": object("message"), "change": object("change")}}),
                true,
            ),
            info(
                "chats",
                &["conversation", "message"],
                json!({"$defs": {}}),
                true,
            ),
            info("tags", &["tag"], object("tag"), false),
        ]
    }

    #[test]
    fn one_airbyte_stream_per_kind_with_its_own_schema_and_every_feeding_stream() {
        let streams = kind_streams(&discovered()).unwrap();
        let names: Vec<&str> = streams.iter().map(|s| s.stream.name.as_str()).collect();
        assert_eq!(names, ["conversation", "message", "change", "tag"]);
        assert_eq!(streams[0].sources, ["tickets", "chats"]);
        assert_eq!(streams[1].sources, ["comments", "chats"]);
        assert_eq!(streams[2].stream.json_schema["title"], "change");
        assert!(streams[2].stream.json_schema["properties"][DELETED_AT].is_object());
        assert_eq!(
            streams[0].stream.supported_sync_modes,
            [SyncMode::FullRefresh, SyncMode::Incremental]
        );
        assert_eq!(
            streams[0].stream.default_cursor_field,
            Some(vec!["updated_at".into()])
        );
        assert_eq!(
            streams[3].stream.supported_sync_modes,
            [SyncMode::FullRefresh]
        );
        assert_eq!(streams[3].stream.default_cursor_field, None);
        assert_eq!(
            streams[3].stream.source_defined_primary_key,
            Some(vec![vec!["id".to_owned()]])
        );
    }

    #[test]
    fn a_selection_reads_the_streams_feeding_its_kinds_and_refuses_unknown_ones() {
        let streams = kind_streams(&discovered()).unwrap();
        let configured = |names: &[(&str, SyncMode)]| ConfiguredCatalog {
            streams: names
                .iter()
                .map(|(name, mode)| ConfiguredStream {
                    stream: ConfiguredStreamName {
                        name: (*name).into(),
                    },
                    sync_mode: *mode,
                })
                .collect(),
        };
        let selection = Selection::new(
            &configured(&[
                ("message", SyncMode::Incremental),
                ("tag", SyncMode::Incremental),
            ]),
            &streams,
        )
        .unwrap();
        assert_eq!(
            selection.component_streams(&streams),
            ["chats", "comments", "tags"]
        );
        // A stream without a cursor is read whole, whatever was asked.
        assert_eq!(selection.modes["tag"], SyncMode::FullRefresh);
        let unknown = Selection::new(&configured(&[("nope", SyncMode::Incremental)]), &streams);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("conversation, message"));
        assert!(Selection::new(&configured(&[]), &streams).is_err());
    }

    #[test]
    fn deleted_records_carry_the_cdc_deletion_time() {
        let record = |deleted| NormalizedRecord {
            kind: "conversation".into(),
            key: "7".into(),
            version: None,
            data: r#"{"id":"7"}"#.into(),
            deleted,
        };
        let at = "2026-12-03T12:00:00Z";
        assert_eq!(record_data(&record(false), at).unwrap(), json!({"id": "7"}));
        assert_eq!(
            record_data(&record(true), at).unwrap(),
            json!({"id": "7", DELETED_AT: at})
        );
    }
}
