//! HTTP through `wasi:http/outgoing-handler` (the bindings waki generates);
//! the host adds `Authorization`. Several requests are in flight at once.

use waki::bindings::wasi::http::{outgoing_handler, types as http};
use waki::bindings::wasi::io::poll;
use waki::bindings::wasi::io::streams::StreamError;

use crate::http::{HttpClient, HttpRequestSpec, HttpResponse, TransportError};
use crate::log::{log, Level};

/// Connect timeout, in nanoseconds.
const CONNECT_TIMEOUT_NS: u64 = 30_000_000_000;

/// The [`HttpClient`] of a component; logs each request and response at
/// debug level under the connector's log context.
pub(crate) struct WasiHttp {
    /// The connector's log context.
    pub(crate) context: &'static str,
}

/// Classifies a waki failure by its `wasi:http` error code.
fn transport_error(error: &waki::ErrorCode) -> TransportError {
    use waki::ErrorCode as E;
    let detail = format!("{error:?}");
    match error {
        E::DnsTimeout | E::DnsError(_) | E::DestinationNotFound => TransportError::Dns(detail),
        E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::HttpResponseTimeout => TransportError::Timeout(detail),
        E::HttpRequestDenied | E::DestinationIpProhibited => TransportError::Denied(detail),
        _ => TransportError::Other(detail),
    }
}

/// The `wasi:http` method named `name`.
fn method(name: &str) -> http::Method {
    match name {
        "GET" => http::Method::Get,
        other => http::Method::Other(other.to_owned()),
    }
}

/// Starts a request; its response comes through the returned future.
fn start(request: &HttpRequestSpec) -> Result<http::FutureIncomingResponse, TransportError> {
    let other = |what: &str| TransportError::Other(format!("{what} ({})", request.url));
    let rest = request
        .url
        .strip_prefix("https://")
        .ok_or_else(|| other("not an https URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let fields: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
        .collect();
    let headers = http::Fields::from_list(&fields).map_err(|_| other("a header is invalid"))?;
    let outgoing = http::OutgoingRequest::new(headers);
    let path = if path.is_empty() { "/" } else { path };
    let set = outgoing
        .set_method(&method(request.method))
        .and(outgoing.set_scheme(Some(&http::Scheme::Https)))
        .and(outgoing.set_authority(Some(authority)))
        .and(outgoing.set_path_with_query(Some(path)));
    set.map_err(|()| other("the URL is invalid"))?;
    let body = outgoing.body().map_err(|()| other("no request body"))?;
    let options = http::RequestOptions::new();
    options
        .set_connect_timeout(Some(CONNECT_TIMEOUT_NS))
        .map_err(|()| other("no connect timeout"))?;
    let future =
        outgoing_handler::handle(outgoing, Some(options)).map_err(|e| transport_error(&e))?;
    http::OutgoingBody::finish(body, None).map_err(|e| transport_error(&e))?;
    Ok(future)
}

impl WasiHttp {
    /// Reads a whole response.
    fn read(&self, response: http::IncomingResponse) -> Result<HttpResponse, TransportError> {
        let status = response.status();
        let headers = {
            let fields = response.headers();
            fields
                .entries()
                .into_iter()
                .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
                .collect()
        };
        let failed = |what: &str| TransportError::Other(what.to_owned());
        let body = response
            .consume()
            .map_err(|()| failed("the response body was already read"))?;
        let mut bytes = Vec::new();
        {
            let stream = body
                .stream()
                .map_err(|()| failed("the response body was already read"))?;
            loop {
                match stream.blocking_read(1 << 20) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(TransportError::Other(e.to_debug_string()))
                    }
                }
            }
        }
        drop(body);
        log(
            Level::Debug,
            self.context,
            &format!("HTTP {status}, {} bytes", bytes.len()),
        );
        Ok(HttpResponse {
            status,
            headers,
            body: bytes,
        })
    }
}

impl HttpClient for WasiHttp {
    fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError> {
        self.send_many(std::slice::from_ref(request))
            .pop()
            .expect("one response per request")
    }

    fn send_many(
        &mut self,
        requests: &[HttpRequestSpec],
    ) -> Vec<Result<HttpResponse, TransportError>> {
        for request in requests {
            log(
                Level::Debug,
                self.context,
                &format!("{} {}", request.method, request.url),
            );
        }
        let started: Vec<_> = requests.iter().map(start).collect();
        // Wait until every response has arrived (or failed).
        let mut waiting: Vec<poll::Pollable> = started
            .iter()
            .filter_map(|f| f.as_ref().ok().map(|f| f.subscribe()))
            .collect();
        while !waiting.is_empty() {
            let ready = {
                let refs: Vec<&poll::Pollable> = waiting.iter().collect();
                poll::poll(&refs)
            };
            let mut index = 0;
            waiting.retain(|_| {
                index += 1;
                !ready.contains(&(index - 1))
            });
        }
        started
            .into_iter()
            .map(|future| {
                let future = future?;
                let response = future
                    .get()
                    .ok_or_else(|| TransportError::Other("no response yet".into()))?
                    .map_err(|()| TransportError::Other("the response was already taken".into()))?
                    .map_err(|e| transport_error(&e))?;
                self.read(response)
            })
            .collect()
    }
}
