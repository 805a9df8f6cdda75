//! The host's HTTPS sender: it resolves names itself, refuses addresses the
//! policy forbids, connects only to the address it vetted, speaks TLS with
//! the configured trust roots, caps response bodies and enforces timeouts.
//! It never follows redirects. Connections are kept alive and reused per
//! origin once a response has been read to its end.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::errors::ConnectorError;
use crate::http_policy::{address_allowed, classify, Origin, ResolveOverrides};

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

/// Where the sender reports refusals that happen after the response head,
/// such as a body growing past the cap.
pub type Denials = Arc<std::sync::Mutex<Vec<String>>>;

/// A refused or failed request: the code the guest sees and, for refusals,
/// the sentence the operator sees.
#[derive(Debug)]
pub struct SendError {
    /// What `wasi:http` reports to the guest.
    pub code: HttpError,
    /// Why the host refused, when it did; `None` for network failures.
    pub denial: Option<String>,
}

impl SendError {
    /// A policy refusal.
    pub fn denied(code: HttpError, why: String) -> Self {
        SendError {
            code,
            denial: Some(why),
        }
    }

    fn failed(code: HttpError) -> Self {
        SendError { code, denial: None }
    }
}

/// Idle connections kept per origin.
const IDLE_PER_ORIGIN: usize = 16;

/// How long an idle connection is kept: well under common servers'
/// keep-alive timeouts, so a reused connection is rarely closed under it.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// Idle keep-alive connections, per origin. A connection is only put back
/// after its response was read to the end; each went to an address that
/// was vetted when it was opened.
#[derive(Clone, Default)]
struct Pool(Arc<Mutex<HashMap<Origin, Vec<IdleConnection>>>>);

/// A kept connection and since when it has been idle.
type IdleConnection = (Instant, SendRequest<WasiBody>);

/// How long a request waits for an idle connection to turn ready (its
/// connection task has yet to notice that the last response ended).
const READY_WITHIN: Duration = Duration::from_secs(1);

impl Pool {
    /// The connection to `origin` idle the shortest time, ready for a
    /// request, if there is one; closed and stale ones are dropped.
    async fn take(&self, origin: &Origin) -> Option<SendRequest<WasiBody>> {
        let mut sender = {
            let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let kept = idle.get_mut(origin)?;
            kept.retain(|(since, sender)| !sender.is_closed() && since.elapsed() < IDLE_FOR);
            kept.pop()?.1
        };
        match tokio::time::timeout(READY_WITHIN, sender.ready()).await {
            Ok(Ok(())) => Some(sender),
            _ => None,
        }
    }

    /// Keep `sender` for a later request to `origin`.
    fn put(&self, origin: Origin, sender: SendRequest<WasiBody>) {
        let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let kept = idle.entry(origin).or_default();
        if kept.len() < IDLE_PER_ORIGIN {
            kept.push((Instant::now(), sender));
        }
    }
}

/// The shared HTTPS client of a host process.
pub struct HttpsClient {
    tls: tokio_rustls::TlsConnector,
    options: NetworkOptions,
    pool: Pool,
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
                    ConnectorError::Host(format!("--ca-cert: not a PEM certificate file ({e})"))
                })?;
                roots.add(cert).map_err(|e| {
                    ConnectorError::Host(format!("--ca-cert: certificate refused ({e})"))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(ConnectorError::Host(
                    "--ca-cert: the file holds no PEM certificate".into(),
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectorError::Host(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            options,
            pool: Pool::default(),
        })
    }

    /// The network options in force.
    pub fn options(&self) -> &NetworkOptions {
        &self.options
    }

    /// The addresses `origin` may be reached at, vetted.
    async fn vetted_addresses(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, SendError> {
        if let Some(pinned) = self.options.resolve.lookup(origin) {
            return Ok(vec![pinned]);
        }
        let candidates: Vec<SocketAddr> = match origin.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
            Err(_) => {
                let lookup = tokio::net::lookup_host((origin.host.as_str(), origin.port));
                match tokio::time::timeout(timeout, lookup).await {
                    Err(_) => return Err(SendError::failed(HttpError::DnsTimeout)),
                    Ok(Err(e)) => {
                        return Err(SendError::failed(HttpError::DnsError {
                            rcode: Some(e.to_string()),
                            info_code: None,
                        }))
                    }
                    Ok(Ok(addrs)) => addrs.collect(),
                }
            }
        };
        let allowed: Vec<SocketAddr> = candidates
            .iter()
            .copied()
            .filter(|a| address_allowed(a.ip(), self.options.allow_private_network))
            .collect();
        if allowed.is_empty() {
            let refused = candidates
                .iter()
                .map(|a| format!("{} ({})", a.ip(), classify(a.ip()).describe()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SendError::denied(
                HttpError::DestinationIpProhibited,
                format!(
                    "{origin} resolves only to {refused}; connectors may not reach such addresses \
                     unless the operator passes --allow-private-network"
                ),
            ));
        }
        Ok(allowed)
    }

    /// A new connection to `origin`: vetted address, TCP, TLS, HTTP/1.1.
    async fn connect(
        &self,
        origin: &Origin,
        timeouts: Timeouts,
    ) -> Result<SendRequest<WasiBody>, SendError> {
        let addresses = self.vetted_addresses(origin, timeouts.connect).await?;
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
        let tcp = match tokio::time::timeout(timeouts.connect, connect).await {
            Err(_) => return Err(SendError::failed(HttpError::ConnectionTimeout)),
            Ok(Err(e)) => return Err(SendError::failed(connect_error(&e))),
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        let server_name = match origin.host.parse::<IpAddr>() {
            Ok(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
            Err(_) => rustls::pki_types::ServerName::try_from(origin.host.clone())
                .map_err(|_| SendError::failed(HttpError::HttpRequestUriInvalid))?,
        };
        let tls = match tokio::time::timeout(timeouts.connect, self.tls.connect(server_name, tcp))
            .await
        {
            Err(_) => return Err(SendError::failed(HttpError::ConnectionTimeout)),
            Ok(Err(e)) => return Err(SendError::failed(tls_error(&e))),
            Ok(Ok(tls)) => tls,
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| SendError::failed(HttpError::from(e)))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection closed with an error: {e}");
            }
        });
        Ok(sender)
    }

    /// Send `request` to `origin` (already allowed by the caller's policy),
    /// on an idle connection when there is one. A body cut at the size cap
    /// is reported to `denials`.
    pub async fn send(
        &self,
        origin: &Origin,
        mut request: http::Request<WasiBody>,
        timeouts: Timeouts,
        denials: &Denials,
    ) -> Result<http::Response<WasiBody>, SendError> {
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        *request.uri_mut() = path
            .parse()
            .map_err(|_| SendError::failed(HttpError::HttpRequestUriInvalid))?;
        let mut request = Some(request);
        let mut idle = self.pool.take(origin).await;
        let (sender, response) = loop {
            let reused = idle.is_some();
            let mut sender = match idle.take() {
                Some(sender) => sender,
                None => self.connect(origin, timeouts).await?,
            };
            let sending = sender.try_send_request(request.take().expect("a request to send"));
            match tokio::time::timeout(timeouts.first_byte, sending).await {
                Err(_) => return Err(SendError::failed(HttpError::ConnectionReadTimeout)),
                Ok(Ok(response)) => break (sender, response),
                // An idle connection the server closed meanwhile: the
                // request was not sent, so it goes on a new connection.
                Ok(Err(mut unsent)) if reused && unsent.message().is_some() => {
                    request = unsent.take_message();
                }
                Ok(Err(e)) => return Err(SendError::failed(HttpError::from(e.into_error()))),
            }
        };
        let max = self.options.max_response_bytes;
        if let Some(length) = response.body().size_hint().exact() {
            if length > max {
                return Err(SendError::denied(
                    HttpError::HttpResponseBodySize(Some(length)),
                    format!(
                        "{origin} sent a response of {length} bytes, more than the {max} allowed"
                    ),
                ));
            }
        }
        Ok(response.map(|incoming| {
            CappedBody {
                inner: incoming,
                received: 0,
                max,
                origin: origin.to_string(),
                denials: denials.clone(),
                between_bytes: timeouts.between_bytes,
                idle: Box::pin(tokio::time::sleep(timeouts.between_bytes)),
                keep_alive: Some((self.pool.clone(), origin.clone(), sender)),
            }
            .boxed_unsync()
        }))
    }
}

fn connect_error(err: &std::io::Error) -> HttpError {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
        std::io::ErrorKind::TimedOut => HttpError::ConnectionTimeout,
        _ => HttpError::DestinationUnavailable,
    }
}

fn tls_error(err: &std::io::Error) -> HttpError {
    let certificate_problem = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
    if certificate_problem {
        HttpError::TlsCertificateError
    } else {
        HttpError::TlsProtocolError
    }
}

/// A response body that fails once it grows past the cap or stalls longer
/// than the between-bytes timeout.
struct CappedBody {
    inner: hyper::body::Incoming,
    received: u64,
    max: u64,
    origin: String,
    denials: Denials,
    between_bytes: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
    /// Where the connection goes once the body has been read to its end.
    keep_alive: Option<(Pool, Origin, SendRequest<WasiBody>)>,
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
                        let why = format!(
                            "{} sent a response of more than {} bytes, the most allowed",
                            self.origin, self.max
                        );
                        self.denials
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(why);
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
            Poll::Ready(None) => {
                if let Some((pool, origin, sender)) = self.keep_alive.take() {
                    pool.put(origin, sender);
                }
                Poll::Ready(None)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
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
