//! A small HTTP/1.1 client over real sockets (plain or TLS trusting the simulator's CA) and
//! helpers that walk Zendesk's paginations.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use zendesk_sim::SimHandle;

/// Sends requests for one account to a simulator.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    host: String,
    tls: Option<tokio_rustls::TlsConnector>,
    auth: Option<String>,
}

/// A response with its body read in full.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    /// A plain HTTP client for `account`.
    pub fn http(sim: &SimHandle, account: &str) -> Client {
        Client {
            addr: sim.http_addr(),
            host: format!("{account}.zendesk.com"),
            tls: None,
            auth: None,
        }
    }

    /// An HTTPS client for `account` that trusts only the simulator's CA.
    pub fn https(sim: &SimHandle, account: &str) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(sim.ca_cert_pem().as_bytes()) {
            roots
                .add(cert.expect("CA PEM parses"))
                .expect("CA accepted");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        Client {
            addr: sim.https_addr(),
            host: format!("{account}.zendesk.com"),
            tls: Some(tokio_rustls::TlsConnector::from(Arc::new(config))),
            auth: None,
        }
    }

    /// The same client sending this `Authorization` header.
    pub fn with_auth(mut self, authorization: impl Into<String>) -> Client {
        self.auth = Some(authorization.into());
        self
    }

    /// The same client addressing another host name (account or TLS name).
    pub fn with_host(mut self, host: &str) -> Client {
        self.host = host.to_string();
        self
    }

    /// Sends one request on a fresh connection; fails on any transport error.
    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<Resp> {
        let tcp = TcpStream::connect(self.addr).await?;
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("accept", "application/json");
        if let Some(auth) = &self.auth {
            builder = builder.header("authorization", auth);
        }
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        let request = builder.body(Full::new(Bytes::from(body)))?;
        let response = match &self.tls {
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone())?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .context("TLS handshake")?;
                send(TokioIo::new(stream), request).await?
            }
            None => send(TokioIo::new(tcp), request).await?,
        };
        Ok(response)
    }

    /// GET `path` (panics on transport errors).
    pub async fn get(&self, path: &str) -> Resp {
        self.try_request("GET", path, None, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
    }

    /// POST a body to `path` (panics on transport errors).
    pub async fn post(&self, path: &str, content_type: &str, body: &str) -> Resp {
        self.try_request("POST", path, Some(content_type), body.as_bytes().to_vec())
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e:#}"))
    }

    /// GET `path`, expecting 200, as JSON.
    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(
            r.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }
}

async fn send<IO>(io: TokioIo<IO>, request: Request<Full<Bytes>>) -> anyhow::Result<Resp>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    drop(sender);
    let _ = driver.await;
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// The path and query of an absolute URL the simulator returned.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_string(), |i| rest[i..].to_string())
}

/// Walks a cursor-based incremental export from `first` until `end_of_stream`; returns the
/// items and the last `after_cursor`.
pub async fn walk_export_cursor(client: &Client, first: &str, key: &str) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut path = first.to_string();
    for _ in 0..10_000 {
        let page = client.json(&path).await;
        items.extend(page[key].as_array().expect("items").iter().cloned());
        let cursor = page["after_cursor"]
            .as_str()
            .expect("after_cursor")
            .to_string();
        if page["end_of_stream"] == Value::Bool(true) {
            return (items, cursor);
        }
        path = path_of(page["after_url"].as_str().expect("after_url"));
    }
    panic!("export from {first} did not end");
}

/// Walks a time-based incremental export from `first` until `end_of_stream`; returns the
/// items, the number of pages and the last `end_time`.
pub async fn walk_export_time(client: &Client, first: &str, key: &str) -> (Vec<Value>, usize, i64) {
    let mut items = Vec::new();
    let mut path = first.to_string();
    for pages in 1..10_000 {
        let page = client.json(&path).await;
        let list = page[key].as_array().expect("items");
        assert_eq!(
            page["count"].as_u64(),
            Some(list.len() as u64),
            "count matches the page"
        );
        items.extend(list.iter().cloned());
        let end_time = page["end_time"].as_i64().expect("end_time");
        if page["end_of_stream"] == Value::Bool(true) {
            return (items, pages, end_time);
        }
        path = path_of(page["next_page"].as_str().expect("next_page"));
    }
    panic!("export from {first} did not end");
}

/// Walks a cursor-paginated list (`links.next` while `meta.has_more`).
pub async fn walk_list(client: &Client, first: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = first.to_string();
    for _ in 0..10_000 {
        let page = client.json(&path).await;
        items.extend(page[key].as_array().expect("items").iter().cloned());
        if page["meta"]["has_more"] != Value::Bool(true) {
            return items;
        }
        path = path_of(page["links"]["next"].as_str().expect("links.next"));
    }
    panic!("list from {first} did not end");
}
