//! Native forms of the WIT contract's types (`connector:source/types`), so
//! that the core compiles and is tested without WebAssembly. The wasm glue
//! converts them one to one. The records are the contract's shared Rust
//! types ([`connector_types`]); the errors are the connector's own.

use std::fmt;

pub use connector_types::{
    AuthKind, AuthScheme, Budget, ConnectorSpec, NormalizedRecord, OAuth2, Page, PageRequest,
    Progress, StreamInfo, SyncMode,
};

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

/// A non-fatal finding of `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What was found and what to do about it.
    pub message: String,
}
