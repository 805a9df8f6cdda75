//! Native mirrors of the WIT contract's types (`connector:source/types`), so
//! that the core compiles and is tested without WebAssembly. The wasm glue
//! converts them one to one.

use std::fmt;

/// A problem with one configuration field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `subdomain`.
    pub field: String,
    /// What is wrong and how to fix it, in one sentence.
    pub message: String,
}

/// A rate limit hit by the remote API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// How long to wait before the next request, in milliseconds.
    pub retry_after_ms: u64,
    /// Which budget was exhausted, and what Zendesk said.
    pub message: String,
}

/// A classified error; the message always says what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorError {
    /// The configuration is invalid; each entry names a field.
    Config(Vec<FieldError>),
    /// The credentials were rejected (HTTP 401 or an anonymous answer).
    Auth(String),
    /// Authenticated, but not allowed to read this (HTTP 403).
    Permission(String),
    /// Too many requests; retry after the given delay.
    RateLimited(RateLimit),
    /// A temporary failure (5xx, timeout, reset); retry with backoff.
    Transient(String),
    /// Zendesk answered something the connector cannot understand.
    Protocol(String),
    /// A bug in the connector, or a request Zendesk refused as malformed.
    Internal(String),
}

impl ConnectorError {
    /// A config error about one field.
    pub fn config(field: &str, message: impl Into<String>) -> Self {
        ConnectorError::Config(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectorError::Config(errors) => {
                f.write_str("invalid configuration:")?;
                for e in errors {
                    write!(f, " {}: {}", e.field, e.message)?;
                }
                Ok(())
            }
            ConnectorError::Auth(m) => write!(f, "authentication failed: {m}"),
            ConnectorError::Permission(m) => write!(f, "permission denied: {m}"),
            ConnectorError::RateLimited(r) => {
                write!(f, "rate limited for {} ms: {}", r.retry_after_ms, r.message)
            }
            ConnectorError::Transient(m) => write!(f, "temporary failure: {m}"),
            ConnectorError::Protocol(m) => write!(f, "unexpected answer: {m}"),
            ConnectorError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for ConnectorError {}

/// Where the host finds an OAuth 2.0 client's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// Template of the token endpoint URL.
    pub token_url: String,
    /// Config field holding the client id.
    pub client_id_field: String,
    /// Config field holding the client secret.
    pub client_secret_field: String,
    /// Config field holding the refresh token (none for client credentials).
    pub refresh_token_field: Option<String>,
    /// Config field holding an initial access token, if any.
    pub access_token_field: Option<String>,
    /// Scopes to request, space-separated.
    pub scopes: String,
}

/// How the host builds the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthKind {
    /// HTTP Basic; the template yields `user:password` before encoding.
    Basic(String),
    /// OAuth 2.0 access tokens obtained from a refresh token.
    OAuth2RefreshToken(OAuth2),
    /// OAuth 2.0 access tokens obtained with the client credentials grant.
    OAuth2ClientCredentials(OAuth2),
}

/// One way of authenticating that the connector supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthScheme {
    /// Stable identifier, e.g. `api_token`.
    pub id: String,
    /// One line for people choosing between schemes.
    pub description: String,
    /// Config fields this scheme needs.
    pub required_fields: Vec<String>,
    /// How the host builds the `Authorization` header.
    pub kind: AuthKind,
}

/// What the connector needs from the host before it can be configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSpec {
    /// Short machine name of the connector.
    pub name: String,
    /// The connector's own version (semver).
    pub version: String,
    /// One line describing the data source.
    pub description: String,
    /// JSON Schema (draft 2020-12) of the config object.
    pub config_schema: String,
    /// Supported authentication schemes, in order of preference.
    pub auth_schemes: Vec<AuthScheme>,
    /// Outbound host templates, e.g. `https://{subdomain}.zendesk.com`.
    pub allowed_hosts: Vec<String>,
}

/// How a stream can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Read everything every time.
    FullRefresh,
    /// Read only what changed since the last committed cursor.
    Incremental,
}

/// A stream the connector can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Unique name, e.g. `tickets`.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// The normalized record kinds `map-record` produces for this stream.
    pub record_kinds: Vec<String>,
    /// JSON Schema of the `data` of this stream's normalized records.
    pub json_schema: String,
    /// Field(s) forming the primary key of the normalized records.
    pub primary_key: Vec<String>,
    /// Field the cursor follows, if the stream is incremental.
    pub cursor_field: Option<String>,
    /// Supported sync modes, preferred first.
    pub sync_modes: Vec<SyncMode>,
    /// Streams that must have completed a page sweep before this one starts.
    pub depends_on: Vec<String>,
    /// Whether the sync still succeeds when this stream is forbidden.
    pub optional: bool,
}

/// A request for one page of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The stream to read.
    pub stream: String,
    /// The cursor returned with the previous page, or none to start.
    pub cursor: Option<String>,
    /// When the current sync started (Unix seconds).
    pub sync_started_at: u64,
    /// Preferred number of items per page; none for the connector's default.
    pub page_size: Option<u32>,
}

/// What the remote API said about one of its rate-limit budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Name of the budget, e.g. `account` or `incremental-exports`.
    pub name: String,
    /// Requests allowed per window, if known.
    pub limit: Option<u32>,
    /// Requests left in the current window, if known.
    pub remaining: Option<u32>,
    /// Seconds until the window resets, if known.
    pub reset_seconds: Option<u32>,
}

/// One page of raw records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// Raw records, each a JSON value copied from the response body.
    pub records: Vec<String>,
    /// Opaque cursor to resume after this page.
    pub next_cursor: Option<String>,
    /// True when the stream has nothing more for now.
    pub done: bool,
    /// Budgets reported by the API in the responses behind this page.
    pub budgets: Vec<Budget>,
    /// API requests made to produce this page.
    pub requests: u32,
    /// Where the stream is after this page, when the connector can tell.
    pub progress: Option<Progress>,
}

/// How far a stream has come, in the connector's units (here: seconds of
/// history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Units done, counted from the stream's origin.
    pub done: u64,
    /// Units in all up to the end of this sync.
    pub total: u64,
}

/// A record in the connector's platform-neutral model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedRecord {
    /// The kind of record, e.g. `conversation`.
    pub kind: String,
    /// Primary key, unique within the kind.
    pub key: String,
    /// Version for ordering updates, if known.
    pub version: Option<String>,
    /// The record, as a JSON object matching the kind's schema.
    pub data: String,
    /// True when the record was deleted at the source (a tombstone).
    pub deleted: bool,
}

/// A non-fatal finding of `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What was found and what to do about it.
    pub message: String,
}
