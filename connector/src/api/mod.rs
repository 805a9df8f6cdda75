//! The Zendesk API without I/O: the requests the connector makes, the
//! responses it reads, error envelopes and rate-limit headers.

pub mod errors;
pub mod ratelimit;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

// The HTTP types every connector shares, from the SDK.
pub use connector_sdk::http::{HttpRequestSpec, HttpResponse, TransportError};

/// Builds a URL with a percent-encoded query string.
#[derive(Debug, Clone)]
pub struct Url {
    text: String,
    has_query: bool,
}

impl Url {
    /// `{base}{path}`, e.g. `https://acme.zendesk.com` and `/api/v2/tags.json`.
    pub fn new(base: &str, path: &str) -> Self {
        Url {
            text: format!("{base}{path}"),
            has_query: path.contains('?'),
        }
    }

    /// Appends `key=value`, both percent-encoded.
    pub fn param(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.text.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        encode_into(&mut self.text, key);
        self.text.push('=');
        encode_into(&mut self.text, value.as_ref());
        self
    }

    /// Appends `key=value` when `value` is present.
    pub fn param_opt(self, key: &str, value: Option<impl AsRef<str>>) -> Self {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }

    /// The finished URL as a `GET` request.
    pub fn get(self) -> HttpRequestSpec {
        HttpRequestSpec::get(self.text)
    }
}

/// Every byte but RFC 3986's unreserved characters (letters, digits,
/// `-`, `.`, `_`, `~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, text: &str) {
    out.extend(utf8_percent_encode(text, NOT_UNRESERVED));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        let request = Url::new("https://acme.zendesk.com", "/api/v2/search/export.json")
            .param("query", "type:ticket status<solved")
            .param("page[size]", "100")
            .param_opt("page[after]", None::<&str>)
            .get();
        assert_eq!(
            request.url,
            "https://acme.zendesk.com/api/v2/search/export.json?query=type%3Aticket%20status%3Csolved&page%5Bsize%5D=100"
        );
        assert_eq!(request.method, "GET");
    }

    #[test]
    fn only_unreserved_characters_pass_unencoded() {
        for (text, encoded) in [
            ("", ""),
            ("plain-Text_0.9~", "plain-Text_0.9~"),
            (
                " !\"#$%&'()*+,/",
                "%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F",
            ),
            (
                ":;<=>?@[\\]^`{|}",
                "%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D",
            ),
            ("\u{0}\u{1f}\u{7f}", "%00%1F%7F"),
            ("é€😀", "%C3%A9%E2%82%AC%F0%9F%98%80"),
            (
                "type:ticket updated>=2025-10-02",
                "type%3Aticket%20updated%3E%3D2025-10-02",
            ),
            ("100%", "100%25"),
        ] {
            let mut out = String::new();
            encode_into(&mut out, text);
            assert_eq!(out, encoded, "{text:?}");
        }
    }

    #[test]
    fn headers_match_case_insensitively() {
        let response = HttpResponse {
            status: 200,
            headers: vec![("Retry-After".into(), " 7 ".into())],
            body: Vec::new(),
        };
        assert_eq!(response.header("retry-after"), Some("7"));
        assert_eq!(response.header("x-missing"), None);
    }
}
