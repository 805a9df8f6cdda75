//! The contract's classified error (`connector-error`), as a connector
//! reports it.

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
    /// Which budget was exhausted, and what the remote API said.
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
    /// The remote API answered something the connector cannot understand.
    Protocol(String),
    /// A bug in the connector, or a request the remote API refused as
    /// malformed.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_case_and_the_detail() {
        let config = ConnectorError::Config(vec![
            FieldError {
                field: "subdomain".into(),
                message: "is missing".into(),
            },
            FieldError {
                field: "email".into(),
                message: "is not an address".into(),
            },
        ]);
        assert_eq!(
            config.to_string(),
            "invalid configuration: subdomain: is missing email: is not an address"
        );
        let limited = ConnectorError::RateLimited(RateLimit {
            retry_after_ms: 1500,
            message: "account budget".into(),
        });
        assert_eq!(
            limited.to_string(),
            "rate limited for 1500 ms: account budget"
        );
        assert_eq!(
            ConnectorError::config("host", "is empty"),
            ConnectorError::Config(vec![FieldError {
                field: "host".into(),
                message: "is empty".into(),
            }])
        );
        assert_eq!(
            ConnectorError::Protocol("not JSON".into()).to_string(),
            "unexpected answer: not JSON"
        );
    }
}
