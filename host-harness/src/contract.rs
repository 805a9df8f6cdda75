//! The connector contract in version-neutral host types. Each supported WIT
//! version converts its generated types into these, so the rest of the host
//! serves every version the same way.

/// How the host builds the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// HTTP Basic from a `user:password` template.
    Basic(String),
    /// A bearer token from a template.
    Bearer(String),
    /// OAuth 2.0 with a (rotating) refresh token.
    OAuth2RefreshToken(OAuth2),
    /// OAuth 2.0 client credentials grant.
    OAuth2ClientCredentials(OAuth2),
}

/// Where an OAuth client's settings live in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2 {
    /// Token endpoint URL template.
    pub token_url: String,
    /// Config field with the client id.
    pub client_id_field: String,
    /// Config field with the client secret.
    pub client_secret_field: String,
    /// Config field with the refresh token.
    pub refresh_token_field: Option<String>,
    /// Config field with an initial access token.
    pub access_token_field: Option<String>,
    /// Space-separated scopes.
    pub scopes: String,
}

/// One authentication scheme a connector supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthScheme {
    /// Identifier the operator may name.
    pub id: String,
    /// One line for people.
    pub description: String,
    /// Config fields the scheme needs.
    pub required_fields: Vec<String>,
    /// How the header is built.
    pub kind: AuthKind,
}

/// What a connector declares about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorSpec {
    /// Machine name.
    pub name: String,
    /// Connector version.
    pub version: String,
    /// One line about the data source.
    pub description: String,
    /// JSON Schema of the config, secret fields marked `"x-secret": true`.
    pub config_schema: String,
    /// Supported auth schemes, preferred first.
    pub auth_schemes: Vec<AuthScheme>,
    /// Outbound host templates.
    pub allowed_hosts: Vec<String>,
}

/// How a stream can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Everything every time.
    FullRefresh,
    /// Changes since the committed cursor.
    Incremental,
}

/// A stream a connection can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Unique name.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Record kinds `map-record` produces.
    pub record_kinds: Vec<String>,
    /// JSON Schema of the records' data.
    pub json_schema: String,
    /// Primary key fields.
    pub primary_key: Vec<String>,
    /// Cursor field, if incremental.
    pub cursor_field: Option<String>,
    /// Supported modes.
    pub sync_modes: Vec<SyncMode>,
    /// Streams that must be swept first.
    pub depends_on: Vec<String>,
    /// Whether a forbidden stream may be skipped.
    pub optional: bool,
}

/// A request for one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Stream name.
    pub stream: String,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Sync start, Unix seconds.
    pub sync_started_at: u64,
    /// Preferred page size.
    pub page_size: Option<u32>,
}

/// A rate-limit budget reported by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Budget name.
    pub name: String,
    /// Requests per window.
    pub limit: Option<u32>,
    /// Requests left.
    pub remaining: Option<u32>,
    /// Seconds to reset.
    pub reset_seconds: Option<u32>,
}

/// One page of raw records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Raw JSON records.
    pub records: Vec<String>,
    /// Cursor after this page.
    pub next_cursor: Option<String>,
    /// Nothing more for now.
    pub done: bool,
    /// Budgets seen.
    pub budgets: Vec<Budget>,
    /// Requests made.
    pub requests: u32,
    /// How far the stream has come, when the connector says (0.2 and later).
    pub progress: Option<Progress>,
}

/// How far a stream has come, in the connector's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Units done.
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// A record in the connector's normalized model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedRecord {
    /// Kind, e.g. `conversation`.
    pub kind: String,
    /// Key within the kind.
    pub key: String,
    /// Version for ordering updates.
    pub version: Option<String>,
    /// JSON object.
    pub data: String,
    /// Tombstone flag.
    pub deleted: bool,
}
