//! The listeners: HTTPS and plain HTTP on loopback, HTTP/1.1 with keep-alive.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::api::{self, Outcome, Reply, Req};
use crate::state::Shared;

/// Largest request body read (token requests are tiny).
const MAX_BODY: usize = 1 << 20;

/// A response body that can end early with an error (the truncated-body fault).
pub(crate) struct SimBody {
    data: Option<Bytes>,
    fail: bool,
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if std::mem::take(&mut self.fail) {
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: truncated body",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && !self.fail
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.fail) {
            (_, true) => SizeHint::default(),
            (Some(d), false) => SizeHint::with_exact(d.len() as u64),
            (None, false) => SizeHint::with_exact(0),
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
                let shared = shared.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, shared, "https").await;
                            }
                        }
                        None => serve(stream, shared, "http").await,
                    }
                });
            }
        }
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn serve<S>(io: S, shared: Arc<Shared>, scheme: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), scheme, req));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn handle(
    shared: Arc<Shared>,
    scheme: &'static str,
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
        Outcome::Send { reply, delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(response(reply, false))
        }
        Outcome::Truncate(reply) => Ok(response(reply, true)),
        Outcome::Drop => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: connection reset",
        )),
    }
}

/// `host:port` → `host` (also for `[::1]:port`).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn response(reply: Reply, truncate: bool) -> Response<SimBody> {
    let full = reply.body.len();
    let mut body = Bytes::from(reply.body);
    if truncate {
        body.truncate(full / 2);
    }
    let mut response = Response::new(SimBody {
        data: Some(body),
        fail: truncate,
    });
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert("x-zendesk-api-version", HeaderValue::from_static("v2"));
    if truncate {
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

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("acme.zendesk.com:8443"), "acme.zendesk.com");
        assert_eq!(strip_port("acme.zendesk.com"), "acme.zendesk.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }
}
