//! Classified errors: what went wrong, in a form the host can act on
//! (retry, wait, skip a stream, stop) and a person can read.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A problem with one configuration field: the contract's own type.
pub use connector_types::FieldError;

/// A sandbox limit that stopped a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The per-call CPU budget (epoch deadline) ran out.
    Cpu,
    /// Linear memory would have grown past the memory limit.
    Memory,
    /// The WebAssembly stack overflowed.
    Stack,
    /// The connection's storage quota.
    Storage,
    /// The response body size cap.
    ResponseBody,
    /// The size cap of a page returned by the connector.
    Page,
    /// The wall-clock time of one call, waiting included.
    WallClock,
    /// Outgoing requests one instance may have in flight at once.
    RequestsInFlight,
    /// The size cap of a cursor.
    Cursor,
    /// The size cap of a record key (or version).
    Key,
    /// The size cap of a record kind's name.
    Kind,
    /// The size cap of one record.
    Record,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Cpu => "CPU time limit",
            Limit::Memory => "memory limit",
            Limit::Stack => "stack limit",
            Limit::Storage => "storage quota",
            Limit::ResponseBody => "response size limit",
            Limit::Page => "page size limit",
            Limit::WallClock => "time limit per call",
            Limit::RequestsInFlight => "limit of requests in flight",
            Limit::Cursor => "cursor size limit",
            Limit::Key => "record key size limit",
            Limit::Kind => "record kind size limit",
            Limit::Record => "record size limit",
        })
    }
}

/// A failure of the storage behind the host (a database, the file
/// system), with its cause kept and advice on what to do.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{what}{}; {advice}", after_colon(.source))]
pub struct StoreError {
    what: String,
    advice: &'static str,
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A failure while doing `what`, caused by `source`; `advice` says what
    /// to do next.
    pub fn new(
        what: impl Into<String>,
        advice: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            what: what.into(),
            advice,
            source: Some(Arc::new(source)),
        }
    }

    /// A refusal that no failure caused (a schema newer than the build, a
    /// stored value the store does not know): `what` says what is wrong,
    /// `advice` what to do next.
    pub fn refused(what: impl Into<String>, advice: &'static str) -> Self {
        StoreError {
            what: what.into(),
            advice,
            source: None,
        }
    }
}

/// `: cause` when there is a cause.
fn after_colon(cause: &Option<Arc<dyn std::error::Error + Send + Sync>>) -> String {
    cause
        .as_ref()
        .map(|cause| format!(": {cause}"))
        .unwrap_or_default()
}

impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for StoreError {}

/// The cause of a host failure, kept by an error that must stay `Clone`:
/// shared, and equal to another cause that reads the same.
#[derive(Debug)]
pub struct Shared<E: ?Sized>(Arc<E>);

impl<E: ?Sized> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Shared<E> {
    fn from(error: E) -> Self {
        Shared(Arc::new(error))
    }
}

impl From<Box<dyn std::error::Error + Send + Sync>>
    for Shared<dyn std::error::Error + Send + Sync>
{
    fn from(error: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Shared(Arc::from(error))
    }
}

impl<E: ?Sized> std::ops::Deref for Shared<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E: fmt::Display + ?Sized> fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + ?Sized> std::error::Error for Shared<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl<E: fmt::Display + ?Sized> PartialEq for Shared<E> {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl<E: fmt::Display + ?Sized> Eq for Shared<E> {}

/// Any error, shared.
pub type AnyCause = Shared<dyn std::error::Error + Send + Sync>;

/// Every error the host reports about a connector or a connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The configuration is invalid.
    #[error("invalid configuration: {}; fix the config and run again", list(.0))]
    Config(Vec<FieldError>),
    /// Credentials were rejected.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Authenticated but not allowed.
    #[error("permission denied: {0}")]
    Permission(String),
    /// The remote API asked us to slow down.
    #[error("rate limited: {message}; retrying after {retry_after:?}")]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
        /// Detail from the connector.
        message: String,
    },
    /// A temporary failure worth retrying.
    #[error("temporary failure: {0}; it will be retried")]
    Transient(String),
    /// A temporary failure of a call during which the host saw a response
    /// time out or a gateway time out (HTTP 504): worth retrying with
    /// smaller pages.
    #[error("timed out: {0}; it will be retried with smaller pages")]
    TimedOut(String),
    /// The remote answered something unexpected.
    #[error(
        "unexpected response from the API: {0}; if it persists, report it with --verbose output"
    )]
    Protocol(String),
    /// A bug in the connector.
    #[error("connector bug: {0}; report it to the connector's authors")]
    Internal(String),
    /// The component hit a sandbox limit and was stopped; its instance was discarded.
    #[error("the connector exceeded its {limit} and was stopped ({detail}); raise the limit only if you trust this connector")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Detail, e.g. the configured value.
        detail: String,
    },
    /// The component crashed (a trap other than a limit); its instance was discarded.
    #[error("the connector crashed: {0}; report it to the connector's authors")]
    Crashed(String),
    /// The component cannot be loaded by this host.
    #[error("cannot load the connector: {0}")]
    Refused(String),
    /// The storage behind the host failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host's own I/O failed (a file, a thread).
    #[error("host error: {what}: {source}")]
    Io {
        /// What the host was doing, e.g. `cannot start the epoch ticker`.
        what: String,
        /// The failure.
        #[source]
        source: Shared<std::io::Error>,
    },
    /// The WebAssembly engine could not be set up.
    #[error("host error: {what}: {source}")]
    Engine {
        /// What failed, e.g. `cannot link host imports`.
        what: String,
        /// The engine's error.
        #[source]
        source: AnyCause,
    },
    /// TLS could not be set up: an unusable `--ca-cert` file, the TLS
    /// library refused its configuration, or a server presented a
    /// certificate the host does not trust (a retry cannot mend it).
    #[error("host error: {what}{}", in_parentheses(.source))]
    Tls {
        /// What is wrong, e.g. `--ca-cert: certificate refused`.
        what: String,
        /// The TLS library's or the PEM reader's error, if there is one.
        #[source]
        source: Option<AnyCause>,
    },
}

/// The contract's error, as a connector reports it (`connector-types`),
/// becomes the host's error of the same class.
impl From<connector_types::ConnectorError> for ConnectorError {
    fn from(err: connector_types::ConnectorError) -> Self {
        use connector_types::ConnectorError as Reported;
        match err {
            Reported::Config(fields) => ConnectorError::Config(fields),
            Reported::Auth(m) => ConnectorError::Auth(m),
            Reported::Permission(m) => ConnectorError::Permission(m),
            Reported::RateLimited(r) => ConnectorError::RateLimited {
                retry_after: Duration::from_millis(r.retry_after_ms),
                message: r.message,
            },
            Reported::Transient(m) => ConnectorError::Transient(m),
            Reported::Protocol(m) => ConnectorError::Protocol(m),
            Reported::Internal(m) => ConnectorError::Internal(m),
        }
    }
}

fn in_parentheses(cause: &Option<AnyCause>) -> String {
    cause
        .as_ref()
        .map(|cause| format!(" ({cause})"))
        .unwrap_or_default()
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConnectorError {
    /// A single-field config error.
    pub fn config(field: &str, message: impl Into<String>) -> Self {
        ConnectorError::Config(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::RateLimited { .. }
                | ConnectorError::Transient(_)
                | ConnectorError::TimedOut(_)
        )
    }

    /// A short machine-readable name of the class, for logs and the database.
    pub fn class(&self) -> &'static str {
        match self {
            ConnectorError::Config(_) => "config",
            ConnectorError::Auth(_) => "auth",
            ConnectorError::Permission(_) => "permission",
            ConnectorError::RateLimited { .. } => "rate-limited",
            // A timeout is a transient failure to the database and the logs.
            ConnectorError::Transient(_) | ConnectorError::TimedOut(_) => "transient",
            ConnectorError::Protocol(_) => "protocol",
            ConnectorError::Internal(_) => "internal",
            ConnectorError::LimitExceeded { .. } => "limit",
            ConnectorError::Crashed(_) => "crashed",
            ConnectorError::Refused(_) => "refused",
            ConnectorError::Store(_)
            | ConnectorError::Io { .. }
            | ConnectorError::Engine { .. }
            | ConnectorError::Tls { .. } => "host",
        }
    }

    /// The same error with every occurrence of a secret replaced by `***`.
    pub fn redacted(self, redact: impl Fn(&str) -> String) -> Self {
        use ConnectorError::*;
        match self {
            Config(fields) => Config(
                fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: f.field,
                        message: redact(&f.message),
                    })
                    .collect(),
            ),
            Auth(m) => Auth(redact(&m)),
            Permission(m) => Permission(redact(&m)),
            RateLimited {
                retry_after,
                message,
            } => RateLimited {
                retry_after,
                message: redact(&message),
            },
            Transient(m) => Transient(redact(&m)),
            TimedOut(m) => TimedOut(redact(&m)),
            Protocol(m) => Protocol(redact(&m)),
            Internal(m) => Internal(redact(&m)),
            Crashed(m) => Crashed(redact(&m)),
            LimitExceeded { limit, detail } => LimitExceeded {
                limit,
                detail: redact(&detail),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do_and_classes_are_stable() {
        let err = ConnectorError::config("subdomain", "must be set");
        assert_eq!(
            err.to_string(),
            "invalid configuration: subdomain: must be set; fix the config and run again"
        );
        assert_eq!(err.class(), "config");
        assert!(!err.is_retryable());
        let limit = ConnectorError::LimitExceeded {
            limit: Limit::Memory,
            detail: "64 MiB".into(),
        };
        assert!(limit.to_string().contains("memory limit"));
        assert!(ConnectorError::Transient("x".into()).is_retryable());
        let secret = ConnectorError::Auth("token s3cr3t rejected".into())
            .redacted(|m| m.replace("s3cr3t", "***"));
        assert_eq!(
            secret.to_string(),
            "authentication failed: token *** rejected"
        );
    }

    #[test]
    fn host_failures_keep_their_cause_and_stay_comparable() {
        use std::error::Error as _;
        let io = || ConnectorError::Io {
            what: "cannot start the epoch ticker".into(),
            source: std::io::Error::other("no threads left").into(),
        };
        let err = io();
        assert_eq!(
            err.to_string(),
            "host error: cannot start the epoch ticker: no threads left"
        );
        assert_eq!(err.source().unwrap().to_string(), "no threads left");
        assert_eq!(err.clone(), io());
        assert_eq!(err.class(), "host");
        assert!(!err.is_retryable());
        let tls = ConnectorError::Tls {
            what: "--ca-cert: the file holds no PEM certificate".into(),
            source: None,
        };
        assert_eq!(
            tls.to_string(),
            "host error: --ca-cert: the file holds no PEM certificate"
        );
        assert!(tls.source().is_none());
    }
}
