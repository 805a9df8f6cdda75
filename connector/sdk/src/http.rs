//! HTTP as a connector sees it: requests to make, responses as received,
//! and the [`HttpClient`] that sends them (in a component, `wasi:http`; in
//! native tests, whatever the test scripts).

use std::fmt;

/// An HTTP request to make; the host adds `Authorization`. Requests carry
/// no body: connectors read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequestSpec {
    /// The method, e.g. `GET`.
    pub method: &'static str,
    /// Absolute `https://` URL on one of the connector's allowed hosts.
    pub url: String,
    /// Request headers besides `Authorization`.
    pub headers: Vec<(&'static str, &'static str)>,
}

impl HttpRequestSpec {
    /// A JSON `GET` of `url`.
    pub fn get(url: String) -> Self {
        HttpRequestSpec {
            method: "GET",
            url,
            headers: vec![("accept", "application/json")],
        }
    }
}

/// An HTTP response as received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, matched case-insensitively and trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// Why a request got no response at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host name did not resolve.
    Dns(String),
    /// Connecting or reading timed out.
    Timeout(String),
    /// The host's policy refused the request.
    Denied(String),
    /// Any other failure (connection reset, TLS, ...).
    Other(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Dns(d) => write!(f, "the host name did not resolve ({d})"),
            TransportError::Timeout(d) => write!(f, "timed out ({d})"),
            TransportError::Denied(d) => write!(f, "the host refused the request ({d})"),
            TransportError::Other(d) => f.write_str(d),
        }
    }
}

impl std::error::Error for TransportError {}

/// Sends HTTP requests (the host adds `Authorization`).
pub trait HttpClient {
    /// Sends one request and reads the whole response.
    fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError>;

    /// Sends several requests, at once where the client can, and reads the
    /// responses, in the requests' order. One after another by default.
    fn send_many(
        &mut self,
        requests: &[HttpRequestSpec],
    ) -> Vec<Result<HttpResponse, TransportError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request with its URL's length as the status.
    struct Echo;

    impl HttpClient for Echo {
        fn send(&mut self, request: &HttpRequestSpec) -> Result<HttpResponse, TransportError> {
            if request.url.is_empty() {
                return Err(TransportError::Other("no URL".into()));
            }
            Ok(HttpResponse {
                status: request.url.len() as u16,
                ..HttpResponse::default()
            })
        }
    }

    #[test]
    fn send_many_answers_in_the_requests_order() {
        let requests = [
            HttpRequestSpec::get("https://a/".into()),
            HttpRequestSpec::get(String::new()),
            HttpRequestSpec::get("https://abc/".into()),
        ];
        let statuses: Vec<_> = Echo
            .send_many(&requests)
            .into_iter()
            .map(|r| r.map(|r| r.status))
            .collect();
        assert_eq!(
            statuses,
            [Ok(10), Err(TransportError::Other("no URL".into())), Ok(12)]
        );
        assert_eq!(requests[0].headers, [("accept", "application/json")]);
    }

    #[test]
    fn transport_errors_say_what_failed() {
        assert_eq!(
            TransportError::Dns("NXDOMAIN".into()).to_string(),
            "the host name did not resolve (NXDOMAIN)"
        );
        assert_eq!(TransportError::Other("reset".into()).to_string(), "reset");
    }
}
