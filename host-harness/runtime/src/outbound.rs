//! The host's HTTPS sender: `hyper-util`'s pooled client over the host's
//! own connector ([`crate::connect`]: names resolved by the host, forbidden
//! addresses refused, only vetted addresses connected to, TLS with the
//! configured trust roots). It caps response bodies, enforces timeouts and
//! never follows redirects. Connections are kept alive per origin and
//! reused once a response has been read to its end.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::capture_connection;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::connect::{ConnectError, VettingConnector, CONNECT_TIMEOUT};
use crate::errors::ConnectorError;
use crate::findings::{Denial, Findings, Slow};
use crate::http_policy::{Origin, ResolveOverrides};

/// Time limits of one request. A connector may ask for shorter ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing TCP and TLS.
    pub connect: Duration,
    /// From sending the request to the response head.
    pub first_byte: Duration,
    /// Between two chunks of the response body.
    pub between_bytes: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(60),
            between_bytes: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// These limits, lowered to what the guest asked for.
    pub fn capped_by(self, requested: Option<wasmtime_wasi_http::RequestOptions>) -> Self {
        let pick = |host: Duration, guest: Option<Duration>| match guest {
            Some(g) if g < host => g,
            _ => host,
        };
        let requested = requested.unwrap_or_default();
        Timeouts {
            connect: pick(self.connect, requested.connect_timeout),
            first_byte: pick(self.first_byte, requested.first_byte_timeout),
            between_bytes: pick(self.between_bytes, requested.between_bytes_timeout),
        }
    }
}

/// Network settings of a host process, from the command line.
#[derive(Clone, Debug)]
pub struct NetworkOptions {
    /// `--resolve` pins.
    pub resolve: ResolveOverrides,
    /// Extra trusted CA certificates (PEM), from `--ca-cert`.
    pub extra_ca_pem: Vec<u8>,
    /// `--allow-private-network`: permit loopback, private and link-local addresses.
    pub allow_private_network: bool,
    /// Request time limits.
    pub timeouts: Timeouts,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            resolve: ResolveOverrides::default(),
            extra_ca_pem: Vec::new(),
            allow_private_network: false,
            timeouts: Timeouts::default(),
            max_response_bytes: 64 << 20,
        }
    }
}

/// A refused or failed request: the code the guest sees and, for refusals,
/// why the host refused.
#[derive(Debug)]
pub struct SendError {
    /// What `wasi:http` reports to the guest.
    pub code: HttpError,
    /// Why the host refused, when it did; `None` for network failures.
    pub denial: Option<Denial>,
}

impl SendError {
    /// A policy refusal.
    pub fn denied(code: HttpError, why: Denial) -> Self {
        SendError {
            code,
            denial: Some(why),
        }
    }

    fn failed(code: HttpError) -> Self {
        SendError { code, denial: None }
    }
}

impl From<ConnectError> for SendError {
    fn from(err: ConnectError) -> Self {
        SendError {
            code: err.code.into(),
            denial: err.denial,
        }
    }
}

/// Idle connections kept per origin.
const IDLE_PER_ORIGIN: usize = 16;

/// How long an idle connection is kept: well under common servers'
/// keep-alive timeouts, so a reused connection is rarely closed under it.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// The shared HTTPS client of a host process.
pub struct HttpsClient {
    options: NetworkOptions,
    /// Pooled per origin (the pool's key is scheme and authority, and
    /// every request's URI is rebuilt from its origin).
    client: Client<VettingConnector, WasiBody>,
}

/// A TLS setup error with its cause.
fn tls_setup(
    what: &str,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> ConnectorError {
    ConnectorError::Tls {
        what: what.into(),
        source: source.map(Into::into),
    }
}

impl HttpsClient {
    /// Build the client: Mozilla's roots plus any `--ca-cert`.
    pub fn new(options: NetworkOptions) -> Result<Self, ConnectorError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if !options.extra_ca_pem.is_empty() {
            let mut reader = options.extra_ca_pem.as_slice();
            let mut added = 0;
            for cert in rustls_pemfile::certs(&mut reader) {
                let cert = cert.map_err(|e| {
                    tls_setup("--ca-cert: not a PEM certificate file", Some(e.into()))
                })?;
                roots
                    .add(cert)
                    .map_err(|e| tls_setup("--ca-cert: certificate refused", Some(e.into())))?;
                added += 1;
            }
            if added == 0 {
                return Err(tls_setup(
                    "--ca-cert: the file holds no PEM certificate",
                    None,
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_setup("TLS setup failed", Some(e.into())))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = VettingConnector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            resolve: options.resolve.clone(),
            allow_private_network: options.allow_private_network,
            connect_timeout: options.timeouts.connect,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(IDLE_PER_ORIGIN)
            .pool_idle_timeout(IDLE_FOR)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HttpsClient { options, client })
    }

    /// The network options in force.
    pub fn options(&self) -> &NetworkOptions {
        &self.options
    }

    /// Send `request` to `origin` (already allowed by the caller's policy),
    /// on an idle connection to `origin` when there is one. A body cut at
    /// the size cap, a timeout of the response and a `504` are reported to
    /// `findings`.
    pub async fn send(
        &self,
        origin: &Origin,
        mut request: http::Request<WasiBody>,
        timeouts: Timeouts,
        findings: &Findings,
    ) -> Result<http::Response<WasiBody>, SendError> {
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        *request.uri_mut() = format!("{origin}{path}")
            .parse()
            .map_err(|_| SendError::failed(HttpError::HttpRequestUriInvalid))?;
        let mut connection = capture_connection(&mut request);
        let sent = CONNECT_TIMEOUT.scope(timeouts.connect, async {
            let mut sending = std::pin::pin!(self.client.request(request));
            // The first-byte timeout runs once the request has a connection
            // (a new one is bounded by the connect timeout).
            tokio::select! {
                sent = &mut sending => return Some(sent),
                _ = connection.wait_for_connection_metadata() => {}
            }
            tokio::time::timeout(timeouts.first_byte, sending)
                .await
                .ok()
        });
        let response = match sent.await {
            None => {
                findings.slow(Slow::NoResponse {
                    origin: origin.clone(),
                    after: timeouts.first_byte,
                });
                return Err(SendError::failed(HttpError::ConnectionReadTimeout));
            }
            Some(Err(e)) => return Err(request_error(&e)),
            Some(Ok(response)) => response,
        };
        if response.status() == http::StatusCode::GATEWAY_TIMEOUT {
            findings.slow(Slow::GatewayTimeout {
                origin: origin.clone(),
            });
        }
        let max = self.options.max_response_bytes;
        if let Some(length) = response.body().size_hint().exact() {
            if length > max {
                return Err(SendError::denied(
                    HttpError::HttpResponseBodySize(Some(length)),
                    Denial::ResponseTooLarge {
                        origin: origin.clone(),
                        max,
                        announced: Some(length),
                    },
                ));
            }
        }
        Ok(response.map(|incoming| {
            CappedBody {
                inner: incoming,
                received: 0,
                max,
                origin: origin.clone(),
                findings: findings.clone(),
                between_bytes: timeouts.between_bytes,
                idle: Box::pin(tokio::time::sleep(timeouts.between_bytes)),
            }
            .boxed_unsync()
        }))
    }
}

/// What the guest sees of a request the pooled client failed: the host's
/// own reason when its connector failed, else a protocol error (what
/// `wasi:http` reports for a failed exchange).
fn request_error(err: &hyper_util::client::legacy::Error) -> SendError {
    let mut cause = err.source();
    while let Some(inner) = cause {
        if let Some(connect) = inner.downcast_ref::<ConnectError>() {
            return connect.clone().into();
        }
        cause = inner.source();
    }
    tracing::warn!("request failed: {err:?}");
    SendError::failed(HttpError::HttpProtocolError)
}

/// A response body that fails once it grows past the cap or stalls longer
/// than the between-bytes timeout.
struct CappedBody {
    inner: hyper::body::Incoming,
    received: u64,
    max: u64,
    origin: Origin,
    findings: Findings,
    between_bytes: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                    if self.received > self.max {
                        self.findings.deny(Denial::ResponseTooLarge {
                            origin: self.origin.clone(),
                            max: self.max,
                            announced: None,
                        });
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(
                            self.received,
                        )))));
                    }
                }
                let deadline = tokio::time::Instant::now() + self.between_bytes;
                self.idle.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.findings.slow(Slow::Stalled {
                        origin: self.origin.clone(),
                        after: self.between_bytes,
                    });
                    Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_may_only_shorten_timeouts() {
        let host = Timeouts::default();
        let asked = wasmtime_wasi_http::RequestOptions {
            connect_timeout: Some(Duration::from_secs(1)),
            first_byte_timeout: Some(Duration::from_secs(3600)),
            between_bytes_timeout: None,
        };
        let t = host.capped_by(Some(asked));
        assert_eq!(t.connect, Duration::from_secs(1));
        assert_eq!(t.first_byte, host.first_byte);
        assert_eq!(t.between_bytes, host.between_bytes);
    }

    #[test]
    fn bad_ca_files_are_refused_with_the_flag_name() {
        let options = NetworkOptions {
            extra_ca_pem: b"not a certificate".to_vec(),
            ..NetworkOptions::default()
        };
        let err = HttpsClient::new(options).err().unwrap();
        assert!(err.to_string().contains("--ca-cert"), "{err}");
    }
}
