//! What the host itself saw of the requests a connector made during one
//! call: why it refused or failed some ([`Denial`]) and which responses
//! came too slowly ([`Slow`]). A connector reports its own error; the
//! host's findings turn it into the error the operator and the sync
//! engine act on ([`Seen::explain`]).

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::errors::{ConnectorError, Limit};
use crate::http_policy::{AddressClass, Origin};

/// Why the host refused or failed a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// A request not made over https.
    #[error("request to {uri} refused: connectors may only use https")]
    NotHttps {
        /// The URI the connector asked for.
        uri: String,
    },
    /// A request to an origin the connector did not declare.
    #[error(
        "request to {origin} refused: the connector did not declare this host \
         (it may reach only: {})",
        reachable(.allowed)
    )]
    UndeclaredHost {
        /// The origin asked for.
        origin: Origin,
        /// The origins the connection may reach.
        allowed: Vec<Origin>,
    },
    /// The origin resolves only to addresses connectors may not reach.
    #[error(
        "{origin} resolves only to {}; connectors may not reach such addresses \
         unless the operator passes --allow-private-network",
        refused_addresses(.refused)
    )]
    PrivateAddress {
        /// The origin asked for.
        origin: Origin,
        /// Each address it resolved to, and what kind of address it is.
        refused: Vec<(IpAddr, AddressClass)>,
    },
    /// A response body larger than the cap.
    #[error("{}", too_large(.origin, *.max, *.announced))]
    ResponseTooLarge {
        /// Who sent it.
        origin: Origin,
        /// The most the host accepts, in bytes.
        max: u64,
        /// The size its `Content-Length` announced, when the host refused
        /// it from the head; `None` when the body grew past the cap.
        announced: Option<u64>,
    },
    /// The configured credentials cannot be sent in a header.
    #[error("the configured credentials contain characters not allowed in an HTTP header")]
    InvalidCredentials,
    /// The host could not obtain an OAuth access token.
    #[error("OAuth: {0}")]
    OAuth(String),
    /// The server's certificate is not one the host trusts.
    #[error(
        "{origin} presented a certificate the host does not trust ({reason}); if the server \
         is behind a proxy or uses a private certificate authority, give the host that CA"
    )]
    UntrustedCertificate {
        /// Who presented it.
        origin: Origin,
        /// Why the TLS library refused it.
        reason: String,
    },
    /// More requests at once than an instance may have in flight.
    #[error("a request was refused: {max} requests were already in flight")]
    TooManyInFlight {
        /// The most an instance may have in flight.
        max: usize,
    },
}

fn reachable(allowed: &[Origin]) -> String {
    if allowed.is_empty() {
        return "nothing yet".into();
    }
    allowed
        .iter()
        .map(Origin::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn refused_addresses(refused: &[(IpAddr, AddressClass)]) -> String {
    refused
        .iter()
        .map(|(ip, class)| format!("{ip} ({})", class.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn too_large(origin: &Origin, max: u64, announced: Option<u64>) -> String {
    match announced {
        Some(length) => {
            format!("{origin} sent a response of {length} bytes, more than the {max} allowed")
        }
        None => format!("{origin} sent a response of more than {max} bytes, the most allowed"),
    }
}

/// A response that came too slowly: one smaller pages may help with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slow {
    /// No response head within the first-byte timeout.
    NoResponse {
        /// Who was asked.
        origin: Origin,
        /// The timeout.
        after: Duration,
    },
    /// The body stalled for longer than the between-bytes timeout.
    Stalled {
        /// Who was sending.
        origin: Origin,
        /// The timeout.
        after: Duration,
    },
    /// A gateway answered that the server did not respond in time (HTTP 504).
    GatewayTimeout {
        /// Who answered.
        origin: Origin,
    },
}

impl fmt::Display for Slow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slow::NoResponse { origin, after } => {
                write!(f, "{origin} did not answer within {after:?}")
            }
            Slow::Stalled { origin, after } => {
                write!(
                    f,
                    "{origin} sent nothing for {after:?} in the middle of a response"
                )
            }
            Slow::GatewayTimeout { origin } => write!(f, "{origin} answered 504 Gateway Timeout"),
        }
    }
}

/// What the host saw during one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Requests refused or failed by the host, in order.
    pub denials: Vec<Denial>,
    /// Responses that came too slowly, in order.
    pub slow: Vec<Slow>,
}

impl Seen {
    /// The error to report for a call whose connector returned `err`: a
    /// refusal of the host explains it (the last one wins); a temporary
    /// failure after a slow response becomes [`ConnectorError::TimedOut`].
    pub fn explain(&self, err: ConnectorError) -> ConnectorError {
        if let Some(denial) = self.denials.last() {
            return match denial {
                Denial::OAuth(_) => ConnectorError::Auth(denial.to_string()),
                Denial::ResponseTooLarge { .. } => ConnectorError::LimitExceeded {
                    limit: Limit::ResponseBody,
                    detail: denial.to_string(),
                },
                Denial::TooManyInFlight { .. } => ConnectorError::LimitExceeded {
                    limit: Limit::RequestsInFlight,
                    detail: denial.to_string(),
                },
                Denial::UntrustedCertificate { .. } => ConnectorError::Tls {
                    what: denial.to_string(),
                    source: None,
                },
                Denial::NotHttps { .. }
                | Denial::UndeclaredHost { .. }
                | Denial::PrivateAddress { .. }
                | Denial::InvalidCredentials => ConnectorError::Permission(format!(
                    "the host refused a request: {denial} (the connector then reported: {err})"
                )),
            };
        }
        match (err, self.slow.last()) {
            (ConnectorError::Transient(message), Some(slow)) => {
                ConnectorError::TimedOut(format!("{slow} (the connector reported: {message})"))
            }
            (err, _) => err,
        }
    }
}

/// Where the host records what it sees of a connection's requests during
/// a call. Clones share the record; the connection clears it before each call.
#[derive(Clone, Debug, Default)]
pub struct Findings(Arc<Mutex<Seen>>);

impl Findings {
    fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Record a refusal.
    pub fn deny(&self, denial: Denial) {
        self.with(|seen| seen.denials.push(denial));
    }

    /// Record a response that came too slowly.
    pub fn slow(&self, slow: Slow) {
        self.with(|seen| seen.slow.push(slow));
    }

    /// Forget everything seen (a new call starts).
    pub fn clear(&self) {
        self.with(|seen| *seen = Seen::default());
    }

    /// What has been seen since the last [`Findings::clear`].
    pub fn seen(&self) -> Seen {
        self.with(|seen| seen.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::parse("https://acme.zendesk.com").unwrap()
    }

    fn seen(denials: Vec<Denial>, slow: Vec<Slow>) -> Seen {
        Seen { denials, slow }
    }

    #[test]
    fn a_temporary_failure_after_a_slow_response_is_a_timeout() {
        let transient = || ConnectorError::Transient("Zendesk answered HTTP 504".into());
        for slow in [
            Slow::GatewayTimeout { origin: origin() },
            Slow::NoResponse {
                origin: origin(),
                after: Duration::from_secs(60),
            },
            Slow::Stalled {
                origin: origin(),
                after: Duration::from_secs(30),
            },
        ] {
            let err = seen(vec![], vec![slow.clone()]).explain(transient());
            let ConnectorError::TimedOut(message) = &err else {
                panic!("{slow:?}: {err:?}");
            };
            assert!(message.contains(&slow.to_string()), "{message}");
            assert!(message.contains("Zendesk answered HTTP 504"), "{message}");
            assert!(err.is_retryable());
            assert_eq!(err.class(), "transient");
            assert!(err.to_string().contains("smaller pages"), "{err}");
        }
        // Without a slow response, whatever the connector's words.
        assert_eq!(Seen::default().explain(transient()), transient());
        // Other errors keep their class: a rate limit keeps its wait.
        let gateway = seen(vec![], vec![Slow::GatewayTimeout { origin: origin() }]);
        let limited = ConnectorError::RateLimited {
            retry_after: Duration::from_secs(5),
            message: "slow down".into(),
        };
        assert_eq!(gateway.explain(limited.clone()), limited);
        let protocol = ConnectorError::Protocol("not JSON".into());
        assert_eq!(gateway.explain(protocol.clone()), protocol);
    }

    #[test]
    fn refusals_explain_the_error_by_kind() {
        let transient = ConnectorError::Transient("the request failed".into());
        let oauth = Denial::OAuth("the token endpoint answered 400".into());
        assert_eq!(
            seen(vec![oauth], vec![]).explain(transient.clone()),
            ConnectorError::Auth("OAuth: the token endpoint answered 400".into())
        );
        let large = Denial::ResponseTooLarge {
            origin: origin(),
            max: 100,
            announced: None,
        };
        assert_eq!(
            seen(vec![large], vec![]).explain(transient.clone()),
            ConnectorError::LimitExceeded {
                limit: Limit::ResponseBody,
                detail: "https://acme.zendesk.com sent a response of more than 100 bytes, the \
                         most allowed"
                    .into()
            }
        );
        // A refusal wins over a slow response; the last refusal wins.
        let undeclared = Denial::UndeclaredHost {
            origin: Origin::parse("https://evil.test").unwrap(),
            allowed: vec![],
        };
        let both = seen(
            vec![Denial::InvalidCredentials, undeclared],
            vec![Slow::GatewayTimeout { origin: origin() }],
        );
        let ConnectorError::Permission(message) = both.explain(transient) else {
            panic!("permission expected");
        };
        assert_eq!(
            message,
            "the host refused a request: request to https://evil.test refused: the connector \
             did not declare this host (it may reach only: nothing yet) (the connector then \
             reported: temporary failure: the request failed; it will be retried)"
        );
    }

    #[test]
    fn denials_read_as_before() {
        let private = Denial::PrivateAddress {
            origin: origin(),
            refused: vec![
                ("127.0.0.1".parse().unwrap(), AddressClass::Loopback),
                ("10.0.0.1".parse().unwrap(), AddressClass::Private),
            ],
        };
        assert_eq!(
            private.to_string(),
            format!(
                "https://acme.zendesk.com resolves only to 127.0.0.1 ({}), 10.0.0.1 ({}); \
                 connectors may not reach such addresses unless the operator passes \
                 --allow-private-network",
                AddressClass::Loopback.describe(),
                AddressClass::Private.describe()
            )
        );
        let announced = Denial::ResponseTooLarge {
            origin: origin(),
            max: 10,
            announced: Some(20),
        };
        assert_eq!(
            announced.to_string(),
            "https://acme.zendesk.com sent a response of 20 bytes, more than the 10 allowed"
        );
        let findings = Findings::default();
        findings.deny(announced.clone());
        findings
            .clone()
            .slow(Slow::GatewayTimeout { origin: origin() });
        assert_eq!(findings.seen().denials, vec![announced]);
        assert_eq!(findings.seen().slow.len(), 1);
        findings.clear();
        assert_eq!(findings.seen(), Seen::default());
    }
}
