//! The Airbyte messages a source writes, one JSON object per line, as the
//! protocol's published models name their members
//! (`airbyte-protocol-models`), and the configured catalog and state it
//! reads.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds since the Unix epoch, as Airbyte stamps messages.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One message on standard output.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message {
    /// What the connector is and what it needs (`spec`).
    Spec {
        /// The specification.
        spec: Value,
    },
    /// The outcome of `check`.
    ConnectionStatus {
        /// Succeeded or failed, with the connector's advice.
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
    /// The streams (`discover`).
    Catalog {
        /// The catalog.
        catalog: Catalog,
    },
    /// One record of a stream.
    Record {
        /// The record.
        record: Record,
    },
    /// A checkpoint: everything before it is covered.
    State {
        /// The state.
        state: StateMessage,
    },
    /// A log line.
    Log {
        /// The log line.
        log: Log,
    },
    /// An error or a stream's status.
    Trace {
        /// The trace.
        trace: Trace,
    },
    /// A request to the platform, e.g. to persist a rotated token.
    Control {
        /// The control message.
        control: Control,
    },
}

impl Message {
    /// The message as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("messages serialize")
    }

    /// A log message.
    pub fn log(level: Level, message: impl Into<String>) -> Self {
        Message::Log {
            log: Log {
                level,
                message: message.into(),
            },
        }
    }

    /// An error trace.
    pub fn error(failure_type: FailureType, message: String, stream: Option<&str>) -> Self {
        Message::Trace {
            trace: Trace {
                kind: TraceType::Error,
                emitted_at: now_ms() as f64,
                error: Some(ErrorTrace {
                    message,
                    failure_type,
                    stream_descriptor: stream.map(StreamDescriptor::named),
                }),
                stream_status: None,
            },
        }
    }

    /// A stream-status trace.
    pub fn stream_status(stream: &str, status: StreamStatus) -> Self {
        Message::Trace {
            trace: Trace {
                kind: TraceType::StreamStatus,
                emitted_at: now_ms() as f64,
                error: None,
                stream_status: Some(StreamStatusTrace {
                    stream_descriptor: StreamDescriptor::named(stream),
                    status,
                }),
            },
        }
    }
}

/// `SUCCEEDED` or `FAILED`, with a message.
#[derive(Debug, Serialize)]
pub struct ConnectionStatus {
    /// The outcome.
    pub status: Status,
    /// What was found; what to do when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A check's outcome.
#[derive(Debug, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The connection works.
    Succeeded,
    /// It does not.
    Failed,
}

/// The streams a source offers.
#[derive(Debug, Serialize)]
pub struct Catalog {
    /// One per stream.
    pub streams: Vec<Stream>,
}

/// A stream as Airbyte describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stream {
    /// The stream's name.
    pub name: String,
    /// JSON Schema of its records.
    pub json_schema: Value,
    /// `full_refresh` and/or `incremental`.
    pub supported_sync_modes: Vec<SyncMode>,
    /// Whether the source picks the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_cursor: Option<bool>,
    /// The cursor field, as a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_cursor_field: Option<Vec<String>>,
    /// The primary key, as paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_primary_key: Option<Vec<Vec<String>>>,
    /// Whether an interrupted read of the stream can resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_resumable: Option<bool>,
}

/// How a stream is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Everything, every read.
    FullRefresh,
    /// What changed since the state.
    Incremental,
}

/// The catalog a platform hands `read`: the streams to read and how.
#[derive(Clone, Debug, Deserialize)]
pub struct ConfiguredCatalog {
    /// The selected streams.
    pub streams: Vec<ConfiguredStream>,
}

/// One selected stream.
#[derive(Clone, Debug, Deserialize)]
pub struct ConfiguredStream {
    /// The stream, as discovered.
    pub stream: ConfiguredStreamName,
    /// How to read it.
    pub sync_mode: SyncMode,
}

/// The part of a configured stream `read` needs: its name.
#[derive(Clone, Debug, Deserialize)]
pub struct ConfiguredStreamName {
    /// The stream's name.
    pub name: String,
}

/// A record message.
#[derive(Debug, Serialize)]
pub struct Record {
    /// Its stream.
    pub stream: String,
    /// The record.
    pub data: Value,
    /// When it was read, in ms.
    pub emitted_at: u64,
}

/// A per-stream state message with the records it covers.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateMessage {
    /// Always `STREAM`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The stream and its state.
    pub stream: StreamState,
    /// Records of the stream since its previous state message.
    #[serde(
        rename = "sourceStats",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_stats: Option<SourceStats>,
}

/// A stream's state.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamState {
    /// The stream.
    pub stream_descriptor: StreamDescriptor,
    /// The state blob (this host's checkpoint).
    #[serde(default)]
    pub stream_state: Value,
}

/// Records covered by a state message.
#[derive(Debug, Serialize, Deserialize)]
pub struct SourceStats {
    /// How many.
    #[serde(rename = "recordCount")]
    pub record_count: f64,
}

/// Names a stream.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamDescriptor {
    /// The stream's name.
    pub name: String,
}

impl StreamDescriptor {
    fn named(name: &str) -> Self {
        StreamDescriptor {
            name: name.to_owned(),
        }
    }
}

/// A log line.
#[derive(Debug, Serialize)]
pub struct Log {
    /// Its level.
    pub level: Level,
    /// The text.
    pub message: String,
}

/// Log levels.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// Something failed.
    Error,
    /// Worth a look.
    Warn,
    /// Progress.
    Info,
    /// Detail.
    Debug,
}

/// A trace message.
#[derive(Debug, Serialize)]
pub struct Trace {
    /// `ERROR` or `STREAM_STATUS`.
    #[serde(rename = "type")]
    pub kind: TraceType,
    /// When, in ms.
    pub emitted_at: f64,
    /// The error, for `ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorTrace>,
    /// The status, for `STREAM_STATUS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_status: Option<StreamStatusTrace>,
}

/// Trace kinds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceType {
    /// An error.
    Error,
    /// A stream's status.
    StreamStatus,
}

/// An error, classified for the platform.
#[derive(Debug, Serialize)]
pub struct ErrorTrace {
    /// What happened and what to do.
    pub message: String,
    /// Config, transient or system.
    pub failure_type: FailureType,
    /// The stream, when one stream failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_descriptor: Option<StreamDescriptor>,
}

/// Whom a failure is for: the user (config), a retry (transient), or the
/// connector's authors (system).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    /// The user must fix the config or the credentials.
    ConfigError,
    /// A retry later may succeed.
    TransientError,
    /// A bug or a host failure.
    SystemError,
}

/// A stream's status.
#[derive(Debug, Serialize)]
pub struct StreamStatusTrace {
    /// The stream.
    pub stream_descriptor: StreamDescriptor,
    /// Its status.
    pub status: StreamStatus,
}

/// Stream statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    /// Reading began.
    Started,
    /// Records are flowing.
    Running,
    /// Read to its end.
    Complete,
    /// Ended early (failed or stopped); the state says where to resume.
    Incomplete,
}

/// A control message.
#[derive(Debug, Serialize)]
pub struct Control {
    /// Always `CONNECTOR_CONFIG`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When, in ms.
    pub emitted_at: f64,
    /// The config to persist.
    #[serde(rename = "connectorConfig")]
    pub connector_config: ConnectorConfig,
}

/// The updated config.
#[derive(Debug, Serialize)]
pub struct ConnectorConfig {
    /// The whole config, as the platform stores it.
    pub config: Value,
}
