//! How the host opens a connection, as a connector of `hyper-util`'s pooled
//! client: it resolves the name itself (or takes the operator's `--resolve`
//! pin), refuses addresses the policy forbids, connects to a vetted address
//! only and speaks TLS with the configured trust roots. The pool keeps
//! each connection for its own origin, so a reused connection is always
//! one of these.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wasmtime_wasi_http::p2::bindings::http::types::{DnsErrorPayload, ErrorCode};

use crate::findings::Denial;
use crate::http_policy::{address_allowed, classify, Origin, ResolveOverrides};

tokio::task_local! {
    /// The connect timeout of the request being sent, which a connector may
    /// have shortened. The pooled client asks for a new connection within
    /// the task of the request that needs it.
    pub(crate) static CONNECT_TIMEOUT: Duration;
}

/// Why no connection was opened: the code the guest sees and, when the
/// host refused, why.
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot connect: {code:?}")]
pub(crate) struct ConnectError {
    /// What `wasi:http` reports to the guest.
    pub code: ErrorCode,
    /// The host's refusal, when it refused.
    pub denial: Option<Denial>,
}

impl From<ErrorCode> for ConnectError {
    fn from(code: ErrorCode) -> Self {
        ConnectError { code, denial: None }
    }
}

/// Opens vetted TLS connections; `hyper-util`'s pool calls it for each new
/// connection to an origin.
#[derive(Clone)]
pub(crate) struct VettingConnector {
    /// TLS with the configured roots.
    pub tls: tokio_rustls::TlsConnector,
    /// The operator's `--resolve` pins.
    pub resolve: ResolveOverrides,
    /// Whether loopback, private and link-local addresses may be reached.
    pub allow_private_network: bool,
    /// The connect timeout when the request did not set one.
    pub connect_timeout: Duration,
}

impl tower_service::Service<Uri> for VettingConnector {
    type Response = TlsConnection;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsConnection, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let limit = CONNECT_TIMEOUT
            .try_with(|limit| *limit)
            .unwrap_or(self.connect_timeout);
        let connector = self.clone();
        Box::pin(async move {
            // The pool asks with its key: `https://` and the origin's authority.
            let origin = uri
                .authority()
                .filter(|_| uri.scheme_str() == Some("https"))
                .and_then(|a| Origin::parse(&format!("https://{a}")).ok())
                .ok_or(ErrorCode::HttpRequestUriInvalid)?;
            connector.connect(&origin, limit).await
        })
    }
}

impl VettingConnector {
    /// The addresses `origin` may be reached at, vetted.
    async fn vetted_addresses(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, ConnectError> {
        if let Some(pinned) = self.resolve.lookup(origin) {
            return Ok(vec![pinned]);
        }
        let candidates: Vec<SocketAddr> = match origin.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
            Err(_) => {
                let lookup = tokio::net::lookup_host((origin.host.as_str(), origin.port));
                match tokio::time::timeout(timeout, lookup).await {
                    Err(_) => return Err(ErrorCode::DnsTimeout.into()),
                    Ok(Err(e)) => {
                        return Err(ErrorCode::DnsError(DnsErrorPayload {
                            rcode: Some(e.to_string()),
                            info_code: None,
                        })
                        .into())
                    }
                    Ok(Ok(addrs)) => addrs.collect(),
                }
            }
        };
        let allowed: Vec<SocketAddr> = candidates
            .iter()
            .copied()
            .filter(|a| address_allowed(a.ip(), self.allow_private_network))
            .collect();
        if allowed.is_empty() {
            return Err(ConnectError {
                code: ErrorCode::DestinationIpProhibited,
                denial: Some(Denial::PrivateAddress {
                    origin: origin.clone(),
                    refused: candidates
                        .iter()
                        .map(|a| (a.ip(), classify(a.ip())))
                        .collect(),
                }),
            });
        }
        Ok(allowed)
    }

    /// A new connection to `origin`: vetted address, TCP, TLS; each step
    /// within `timeout`.
    async fn connect(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<TlsConnection, ConnectError> {
        let addresses = self.vetted_addresses(origin, timeout).await?;
        let connect = async {
            let mut last_error = None;
            for address in &addresses {
                match TcpStream::connect(address).await {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last_error = Some(e),
                }
            }
            Err(last_error.expect("at least one address"))
        };
        let tcp = match tokio::time::timeout(timeout, connect).await {
            Err(_) => return Err(ErrorCode::ConnectionTimeout.into()),
            Ok(Err(e)) => return Err(connect_error(&e).into()),
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        let server_name = match origin.host.parse::<IpAddr>() {
            Ok(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
            Err(_) => rustls::pki_types::ServerName::try_from(origin.host.clone())
                .map_err(|_| ErrorCode::HttpRequestUriInvalid)?,
        };
        match tokio::time::timeout(timeout, self.tls.connect(server_name, tcp)).await {
            Err(_) => Err(ErrorCode::ConnectionTimeout.into()),
            Ok(Err(e)) => Err(tls_error(origin, &e)),
            Ok(Ok(tls)) => Ok(TlsConnection(TokioIo::new(tls))),
        }
    }
}

fn connect_error(err: &std::io::Error) -> ErrorCode {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => ErrorCode::ConnectionRefused,
        std::io::ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
        _ => ErrorCode::DestinationUnavailable,
    }
}

/// A failed TLS handshake; a certificate the host does not trust is a
/// refusal a retry cannot mend.
fn tls_error(origin: &Origin, err: &std::io::Error) -> ConnectError {
    let certificate = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|e| match e {
            rustls::Error::InvalidCertificate(why) => Some(why),
            _ => None,
        });
    match certificate {
        Some(why) => ConnectError {
            code: ErrorCode::TlsCertificateError,
            denial: Some(Denial::UntrustedCertificate {
                origin: origin.clone(),
                reason: format!("{why:?}"),
            }),
        },
        None => ErrorCode::TlsProtocolError.into(),
    }
}

/// A TLS connection to a vetted address, as the pooled client drives it.
pub(crate) struct TlsConnection(TokioIo<TlsStream<TcpStream>>);

impl Connection for TlsConnection {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}
