//! Support for the end-to-end tests: the paths of the test components
//! (built from `tests/guests` by `build.rs`) and a local HTTPS server that
//! plays the example feed API and the hosts the hostile tests aim at.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The well-behaved example connector (not Zendesk).
pub const EXAMPLE_FEED: &str = env!("GUEST_EXAMPLE_FEED");
/// The hostile connector; its config's `attack` picks the attack.
pub const HOSTILE: &str = env!("GUEST_HOSTILE");
/// A connector that imports `wasi:sockets`.
pub const SOCKETS_IMPORTER: &str = env!("GUEST_SOCKETS_IMPORTER");

/// The API key the feed server accepts.
pub const FEED_API_KEY: &str = "feed-key-5f1d2c9a";

/// A running HTTPS test server on 127.0.0.1.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// PEM of the CA that signed its certificate.
    pub ca_pem: String,
    /// Requests received, by path.
    pub hits: Arc<Mutex<BTreeMap<String, u64>>>,
    /// TLS connections accepted.
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    response
}

/// Parse `a=1&b=2`.
fn query(request: &Request<Incoming>) -> BTreeMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn route(request: Request<Incoming>, items: u64) -> Response<Body> {
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match request.uri().path() {
        "/items" => {
            if auth != format!("Bearer {FEED_API_KEY}") {
                return full(StatusCode::UNAUTHORIZED, r#"{"error":"bad key"}"#);
            }
            let q = query(&request);
            let after: u64 = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit: u64 = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
            let page: Vec<serde_json::Value> = (after + 1..=items.min(after + limit))
                .map(|id| {
                    serde_json::json!({
                        "id": id,
                        "title": format!("Item {id}"),
                        "updated_at": format!("2026-01-01T00:00:{:02}Z", id % 60),
                        "deleted": id % 10 == 0,
                    })
                })
                .collect();
            let has_more = after + limit < items;
            full(
                StatusCode::OK,
                serde_json::json!({"items": page, "has_more": has_more}).to_string(),
            )
        }
        "/echo-auth" => full(StatusCode::OK, auth),
        "/redirect" => {
            let mut response = full(StatusCode::FOUND, "");
            response.headers_mut().insert(
                "location",
                "https://elsewhere.example.org/landing".parse().unwrap(),
            );
            response
        }
        "/huge" => {
            // 64 MiB in 1 MiB chunks, without a content-length.
            let chunk = Bytes::from(vec![b'z'; 1 << 20]);
            Response::new(Chunks { chunk, left: 64 }.boxed())
        }
        _ => full(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A body of `left` copies of `chunk`, without a content-length.
struct Chunks {
    chunk: Bytes,
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }
}

impl TestServer {
    /// Start a server whose feed has `items` items.
    pub async fn start(items: u64) -> TestServer {
        let ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut ca = ca;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "connector-tests CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let names = vec![
            "feed.example.test".to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let leaf = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let counter = hits.clone();
        let connections = Arc::new(AtomicU64::new(0));
        let accepted = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                let accepted = accepted.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let service = service_fn(move |request: Request<Incoming>| {
                        *counter
                            .lock()
                            .unwrap()
                            .entry(request.uri().path().to_string())
                            .or_default() += 1;
                        async move { Ok::<_, Infallible>(route(request, items)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            ca_pem: ca_cert.pem(),
            hits,
            connections,
            task,
        }
    }

    /// TLS connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests received on `path`.
    pub fn hits(&self, path: &str) -> u64 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}
