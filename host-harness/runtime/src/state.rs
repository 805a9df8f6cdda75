//! What one connection's store holds, and the host side of every import a
//! connector may use: WASI (with nothing granted), HTTP through the policy,
//! logging and storage.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::credentials::Credentials;
use crate::findings::{Denial, Findings};
use crate::http_policy::Origin;
use crate::kv::ConnectionStorage;
use crate::logs::GuestLog;
use crate::outbound::{HttpsClient, SendError, Timeouts};
use crate::secrets::Redactor;

/// Per-call CPU accounting, driven by the engine's epoch ticks.
#[derive(Default)]
pub struct CpuBudget {
    /// Ticks observed while the guest ran during the current call.
    pub used_ticks: u64,
    /// Ticks allowed per call.
    pub budget_ticks: u64,
    /// Set when the budget ran out and the guest was interrupted.
    pub exceeded: bool,
}

/// Refuses linear memory growth past a fixed size and remembers that it did.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// Set when a growth request was refused.
    pub hit: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `max_bytes` of linear memory per instance.
    pub fn new(max_bytes: usize) -> Self {
        MemoryLimiter {
            max_bytes,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            wasmtime::bail!(
                "memory limit exceeded: {desired} bytes requested, {} allowed",
                self.max_bytes
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// A connection's view of the network: the shared client plus what this
/// connection may reach and how it authenticates. Clones share findings.
#[derive(Clone)]
pub struct ConnectionNetwork {
    /// The process-wide HTTPS client.
    pub client: Arc<HttpsClient>,
    /// Origins the connector declared, filled from its config. Empty until
    /// `configure` succeeded: nothing is reachable before.
    pub allowed: Arc<Vec<Origin>>,
    /// Credentials added to every request.
    pub credentials: Arc<Credentials>,
    /// What the host saw of the current call's requests (refusals, slow
    /// responses), for error reports.
    pub findings: Findings,
    /// Scrubs secrets from what is reported.
    pub redactor: Redactor,
    /// Permits for requests in flight (`Limits::max_requests_in_flight`),
    /// each held until its response body is read or dropped.
    pub in_flight: Arc<Semaphore>,
    /// Their number.
    pub max_in_flight: usize,
}

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl ConnectionNetwork {
    /// A network for a connection: nothing reachable yet, no credentials,
    /// at most `max_in_flight` requests at once.
    pub fn new(client: Arc<HttpsClient>, redactor: Redactor, max_in_flight: usize) -> Self {
        ConnectionNetwork {
            client,
            allowed: Arc::new(Vec::new()),
            credentials: Arc::new(Credentials::None),
            findings: Findings::default(),
            redactor,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
        }
    }

    /// Replace any `Authorization` the guest set with the connection's own.
    async fn authorize(&self, parts: &mut http::request::Parts) -> wasmtime_wasi_http::Result<()> {
        parts.headers.remove(http::header::AUTHORIZATION);
        if let Some(value) = self
            .credentials
            .authorization(&self.client)
            .await
            .map_err(|e| self.deny(e))?
        {
            parts.headers.insert(http::header::AUTHORIZATION, value);
        }
        Ok(())
    }

    fn deny(&self, err: SendError) -> wasmtime_wasi_http::Error {
        if let Some(why) = err.denial {
            tracing::warn!(
                "request refused: {}",
                self.redactor.redact(&why.to_string())
            );
            self.findings.deny(why);
        }
        err.code
    }

    /// Send `request` to `origin` with the connection's credentials.
    async fn send_authorized(
        &self,
        origin: &Origin,
        request: http::Request<WasiBody>,
        timeouts: Timeouts,
    ) -> wasmtime_wasi_http::Result<http::Response<WasiBody>> {
        let (mut parts, body) = request.into_parts();
        self.authorize(&mut parts).await?;
        self.client
            .send(
                origin,
                http::Request::from_parts(parts, body),
                timeouts,
                &self.findings,
            )
            .await
            .map_err(|e| self.deny(e))
    }

    /// Apply the policy to one request and send it.
    async fn send(
        self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> wasmtime_wasi_http::Result<http::Response<WasiBody>> {
        let uri = request.uri().clone();
        if uri.scheme_str() != Some("https") {
            return Err(self.deny(SendError::denied(
                wasmtime_wasi_http::Error::HttpRequestDenied,
                Denial::NotHttps {
                    uri: uri.to_string(),
                },
            )));
        }
        let origin = uri
            .authority()
            .and_then(|a| Origin::parse(&format!("https://{a}")).ok())
            .ok_or(wasmtime_wasi_http::Error::HttpRequestUriInvalid)?;
        if !self.allowed.contains(&origin) {
            return Err(self.deny(SendError::denied(
                wasmtime_wasi_http::Error::HttpRequestDenied,
                Denial::UndeclaredHost {
                    origin,
                    allowed: self.allowed.to_vec(),
                },
            )));
        }
        let timeouts = self.client.options().timeouts.capped_by(options);
        let method = request.method().clone();
        let headers = request.headers().clone();
        let response = self.send_authorized(&origin, request, timeouts).await?;
        // An OAuth access token may be revoked before it expires: obtain a
        // new one and repeat the request once, when it carries no body.
        let bodiless = method == http::Method::GET || method == http::Method::HEAD;
        if response.status() == http::StatusCode::UNAUTHORIZED
            && bodiless
            && self.credentials.invalidate().await
        {
            let mut retry = http::Request::builder()
                .method(method)
                .uri(uri)
                .body(wasmtime_wasi_http::WasiBody::default())
                .map_err(|_| wasmtime_wasi_http::Error::HttpRequestUriInvalid)?;
            *retry.headers_mut() = headers;
            return self.send_authorized(&origin, retry, timeouts).await;
        }
        Ok(response)
    }
}

impl WasiHttpHooks for ConnectionNetwork {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_body_io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        let network = self.clone();
        let permit = self.in_flight.clone().try_acquire_owned();
        Box::new(async move {
            let Ok(permit) = permit else {
                return Err(network.deny(SendError::denied(
                    wasmtime_wasi_http::Error::HttpRequestDenied,
                    Denial::TooManyInFlight {
                        max: network.max_in_flight,
                    },
                )));
            };
            let response = network.send(request, options).await?.map(|body| {
                HeldBody {
                    body,
                    _permit: permit,
                }
                .boxed_unsync()
            });
            let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// A response body that holds its request's in-flight permit until it is
/// read to the end or dropped.
struct HeldBody {
    body: WasiBody,
    _permit: OwnedSemaphorePermit,
}

impl Body for HeldBody {
    type Data = bytes::Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Everything a connection's store holds.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    /// The network policy and credentials.
    pub network: ConnectionNetwork,
    /// Linear memory limit.
    pub limiter: MemoryLimiter,
    /// CPU accounting of the current call.
    pub cpu: CpuBudget,
    /// The connection's key-value storage, served by `imports`.
    pub(crate) storage: ConnectionStorage,
    /// Set when the connector ran into its storage quota in this call.
    pub storage_quota_hit: Option<String>,
    /// The connection's bounded log.
    pub log: GuestLog,
}

impl HostState {
    /// A state granting nothing but what the connector contract provides:
    /// no files, environment, arguments, stdin or sockets; stdout and stderr
    /// go to the bounded log.
    pub fn new(
        network: ConnectionNetwork,
        storage: ConnectionStorage,
        log: GuestLog,
        memory_bytes: usize,
    ) -> Self {
        let wasi = WasiCtxBuilder::new()
            .stdout(log.clone())
            .stderr(log.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            network,
            limiter: MemoryLimiter::new(memory_bytes),
            cpu: CpuBudget::default(),
            storage,
            storage_quota_hit: None,
            log,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.network,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}
