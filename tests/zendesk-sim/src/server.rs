//! The listeners: HTTPS and plain HTTP on loopback, HTTP/1.1 with keep-alive, and the
//! faults of the wire (bodies cut short, trickling or chunked; connections reset).

use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::api::{self, Outcome, Reply, Req};
use crate::state::Shared;

/// Largest request body read (token requests are tiny).
const MAX_BODY: usize = 1 << 20;

/// Bytes per frame of a body sent without `Content-Length`.
const CHUNK: usize = 64 << 10;

/// How a reply's body goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Whole, with its `Content-Length`.
    Whole,
    /// The full `Content-Length` announced, half the body sent, then the connection closed.
    Truncated,
    /// The full `Content-Length` announced, half the body sent, then the connection reset.
    ResetMidBody,
    /// The full `Content-Length` announced, then one byte per interval.
    Trickle(Duration),
    /// Chunked, without `Content-Length`.
    Unsized,
}

/// Makes a connection end with a TCP reset instead of an orderly close, once tripped.
#[derive(Clone, Debug, Default)]
struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    /// The connection is to be reset when it closes.
    fn trip(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn tripped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An accepted TCP stream that closes with a reset (`SO_LINGER` 0) when its switch was
/// tripped.
struct ResettableStream {
    inner: TcpStream,
    reset: ResetSwitch,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.tripped() {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How a body ends once its bytes are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Complete.
    Clean,
    /// With an error: the connection closes.
    Close,
    /// With an error, after tripping the connection's reset switch.
    Reset,
}

/// A response body that can end early with an error, come in pieces or trickle.
pub(crate) struct SimBody {
    data: Bytes,
    /// Bytes per frame.
    frame: usize,
    /// Between two frames, when trickling.
    every: Option<Duration>,
    /// Until the next frame, when trickling.
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
    end: End,
    /// Whether the body already yielded before its error.
    flushed: bool,
    /// Whether the size hint is exact (hyper then sends `Content-Length` itself).
    exact: bool,
    reset: ResetSwitch,
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if !this.data.is_empty() {
            if let Some(wait) = &mut this.wait {
                std::task::ready!(wait.as_mut().poll(cx));
            }
            this.wait = this.every.map(|d| Box::pin(tokio::time::sleep(d)));
            let n = this.frame.min(this.data.len());
            return Poll::Ready(Some(Ok(Frame::data(this.data.split_to(n)))));
        }
        if this.end != End::Clean && !this.flushed {
            // Once, so that the head and the bytes so far reach the wire before the error
            // (hyper drops what it has not written when a body fails).
            this.flushed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match std::mem::replace(&mut this.end, End::Clean) {
            End::Clean => Poll::Ready(None),
            End::Close => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: truncated body",
            )))),
            End::Reset => {
                this.reset.trip();
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: connection reset mid-body",
                ))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty() && self.end == End::Clean
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            SizeHint::with_exact(self.data.len() as u64)
        } else {
            SizeHint::default()
        }
    }
}

/// Binds a listener on 127.0.0.1:`port` and serves it (over TLS when `tls` is given) until
/// `stop` changes.
pub(crate) async fn listen(
    shared: Arc<Shared>,
    port: u16,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, tls, shared, stop));
    Ok((addr, task))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let reset = ResetSwitch::default();
                let stream = ResettableStream { inner: stream, reset: reset.clone() };
                let shared = shared.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, shared, "https", reset).await;
                            }
                        }
                        None => serve(stream, shared, "http", reset).await,
                    }
                });
            }
        }
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn serve<S>(io: S, shared: Arc<Shared>, scheme: &'static str, reset: ResetSwitch)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), scheme, reset.clone(), req));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn handle(
    shared: Arc<Shared>,
    scheme: &'static str,
    reset: ResetSwitch,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let host_port = header(HOST)
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let path = parts.uri.path();
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: path.strip_suffix(".json").unwrap_or(path).to_string(),
        query: parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        base: format!("{scheme}://{host_port}"),
        host: strip_port(&host_port).to_string(),
        authorization: header(AUTHORIZATION).map(str::to_string),
        content_type: header(CONTENT_TYPE).map(str::to_string),
        body,
    };
    let outcome = tokio::task::spawn_blocking(move || api::process(&shared, &req))
        .await
        .map_err(std::io::Error::other)?;
    match outcome {
        Outcome::Send {
            reply,
            delay,
            delivery,
        } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(response(reply, delivery, reset))
        }
        Outcome::Reset => {
            reset.trip();
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault: connection reset",
            ))
        }
    }
}

/// `host:port` → `host` (also for `[::1]:port`).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn response(reply: Reply, delivery: Delivery, reset: ResetSwitch) -> Response<SimBody> {
    let full = reply.body.len();
    let mut data = Bytes::from(reply.body);
    let (end, every) = match delivery {
        Delivery::Whole | Delivery::Unsized => (End::Clean, None),
        Delivery::Truncated => (End::Close, None),
        Delivery::ResetMidBody => (End::Reset, None),
        Delivery::Trickle(every) => (End::Clean, Some(every)),
    };
    if end != End::Clean {
        data.truncate(full / 2);
    }
    let frame = match delivery {
        Delivery::Trickle(_) => 1,
        Delivery::Unsized => CHUNK,
        _ => usize::MAX,
    };
    let mut response = Response::new(SimBody {
        data,
        frame,
        every,
        wait: None,
        end,
        flushed: false,
        exact: delivery == Delivery::Whole,
        reset,
    });
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert("x-zendesk-api-version", HeaderValue::from_static("v2"));
    if !matches!(delivery, Delivery::Whole | Delivery::Unsized) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(full));
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fault, FaultKind, SimConfig, SimHandle, Simulator};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A simulator whose users list has `fault` once, and a plain TCP connection that has
    /// asked for that list (`Connection: close`).
    async fn ask_users(fault: FaultKind) -> (SimHandle, TcpStream) {
        let config = SimConfig {
            tickets: 5,
            users: 200,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await.unwrap();
        sim.set_fault("users", Fault::next(1, fault));
        let mut tcp = TcpStream::connect(sim.http_addr()).await.unwrap();
        let request = format!(
            "GET /api/v2/users.json HTTP/1.1\r\nHost: acme.zendesk.com\r\nAuthorization: {}\r\n\
             Connection: close\r\n\r\n",
            sim.admin_credentials("acme").authorization()
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        (sim, tcp)
    }

    /// What a faulty answer to the users list looks like on the wire: the head (lower
    /// case), the body bytes received, and how the connection ended.
    async fn exchange(fault: FaultKind) -> (String, Vec<u8>, std::io::Result<()>) {
        let (_sim, mut tcp) = ask_users(fault).await;
        let mut received = Vec::new();
        let ended = loop {
            let mut chunk = [0u8; 1 << 16];
            match tcp.read(&mut chunk).await {
                Ok(0) => break Ok(()),
                Ok(n) => received.extend_from_slice(&chunk[..n]),
                Err(e) => break Err(e),
            }
        };
        let split = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(received.len(), |i| i + 4);
        let body = received.split_off(split);
        (
            String::from_utf8_lossy(&received).to_lowercase(),
            body,
            ended,
        )
    }

    fn announced(head: &str) -> usize {
        let line = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap_or_else(|| panic!("no content-length: {head}"));
        line.trim().parse().unwrap()
    }

    #[tokio::test]
    async fn resets_and_truncations_cut_the_exchange_where_they_say() {
        let (head, body, ended) = exchange(FaultKind::ConnectionReset).await;
        assert!(head.is_empty() && body.is_empty(), "{head}");
        assert_eq!(
            ended.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionReset
        );

        let (head, body, ended) = exchange(FaultKind::ResetMidBody).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(body.len(), announced(&head) / 2);
        assert_eq!(
            ended.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionReset
        );

        let (head, body, ended) = exchange(FaultKind::TruncatedBody).await;
        assert_eq!(body.len(), announced(&head) / 2);
        assert!(ended.is_ok(), "an orderly close: {ended:?}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_announced_or_chunked_and_stay_json() {
        let bytes = 300_000;
        let oversized = |announced| FaultKind::OversizedBody { bytes, announced };
        let (head, body, _) = exchange(oversized(true)).await;
        assert_eq!(announced(&head), bytes);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(value["users"].is_array());
        let (head, body, _) = exchange(oversized(false)).await;
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        assert!(body.len() > bytes, "chunks carry the whole body");
    }

    #[tokio::test]
    async fn bombs_html_pages_and_rate_limits_say_what_they_are() {
        let expanded = 8 << 20;
        let (head, body, _) = exchange(FaultKind::GzipBomb(expanded)).await;
        assert!(head.contains("content-encoding: gzip"), "{head}");
        assert_eq!(&body[..2], &[0x1f, 0x8b]);
        assert!(body.len() as u64 * 10 < expanded, "{} bytes", body.len());
        let size = u32::from_le_bytes(body[body.len() - 4..].try_into().unwrap());
        assert_eq!(u64::from(size), expanded);
        let (head, _, _) = exchange(FaultKind::HtmlPage).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-type: text/html"), "{head}");
        let (head, body, _) = exchange(FaultKind::Status(429)).await;
        assert!(head.starts_with("http/1.1 429"), "{head}");
        assert!(!head.contains("retry-after"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("APIRateLimitExceeded"));
    }

    #[tokio::test]
    async fn a_trickle_sends_one_byte_per_interval() {
        let every = Duration::from_millis(30);
        let (_sim, mut tcp) = ask_users(FaultKind::Trickle(every)).await;
        let mut received = Vec::new();
        let mut chunk = [0u8; 1 << 16];
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut chunk).await.unwrap();
            received.extend_from_slice(&chunk[..n]);
        }
        let started = std::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(tcp.read(&mut chunk).await.unwrap(), 1, "one byte at a time");
        }
        assert!(started.elapsed() >= every * 2, "{:?}", started.elapsed());
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("acme.zendesk.com:8443"), "acme.zendesk.com");
        assert_eq!(strip_port("acme.zendesk.com"), "acme.zendesk.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }
}
