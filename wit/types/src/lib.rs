//! The records of the connector contract (`connector:source/types`) in
//! plain, version-neutral Rust.
//!
//! The host converts every WIT version it serves into these types, and a
//! connector written in Rust builds them natively before its WebAssembly
//! glue (the guest SDK, `connector/sdk`) converts them into its contract
//! version's bindings. The contract's error ([`ConnectorError`]) is here
//! too, as a connector reports it; the host may wrap it in errors of its
//! own (limits, refusals).

mod error;

pub use error::{ConnectorError, FieldError, RateLimit};

/// Where the host finds an OAuth 2.0 client's settings in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// Template of the token endpoint URL.
    pub token_url: String,
    /// Template of the authorization endpoint of the authorization-code
    /// grant (with PKCE), if the provider has one a host can start.
    pub authorize_url: Option<String>,
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
    /// A static bearer token; the template yields the token.
    Bearer(String),
    /// OAuth 2.0 access tokens obtained from a (rotating) refresh token.
    OAuth2RefreshToken(OAuth2),
    /// OAuth 2.0 access tokens obtained with the client credentials grant.
    OAuth2ClientCredentials(OAuth2),
}

/// One way of authenticating that a connector supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthScheme {
    /// Stable identifier the operator names, e.g. `api_token`.
    pub id: String,
    /// One line for people choosing between schemes.
    pub description: String,
    /// Config fields this scheme needs.
    pub required_fields: Vec<String>,
    /// How the host builds the `Authorization` header.
    pub kind: AuthKind,
}

/// What a connector declares about itself before it is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSpec {
    /// Short machine name of the connector.
    pub name: String,
    /// The connector's own version (semver).
    pub version: String,
    /// One line describing the data source.
    pub description: String,
    /// JSON Schema of the config object, secret fields marked `"x-secret": true`.
    pub config_schema: String,
    /// Supported authentication schemes, in order of preference.
    pub auth_schemes: Vec<AuthScheme>,
    /// Outbound host templates, e.g. `https://{subdomain}.example.com`.
    pub allowed_hosts: Vec<String>,
    /// What to revoke at the provider after disconnecting; empty when
    /// nothing (contract 0.3; empty from older connectors).
    pub disconnect_advice: String,
}

/// How a stream can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Read everything every time.
    FullRefresh,
    /// Read only what changed since the last committed cursor.
    Incremental,
}

/// A stream a connector can read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Default seconds between refreshes; `None`: every sync (contract
    /// 0.3; `None` from older connectors).
    pub refresh_every_seconds: Option<u64>,
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
    /// Where the stream is after this page, when the connector can tell
    /// (contract 0.2 and later).
    pub progress: Option<Progress>,
}

/// How far a stream has come, in the connector's own units.
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

/// A non-fatal finding of `check`, e.g. a credential about to expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What was found and what to do about it.
    pub message: String,
}
