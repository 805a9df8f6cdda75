//! Zendesk's error envelopes and the classification of failed responses.
//!
//! Envelopes seen in the wild: `{"error":"Code","description":".."}`,
//! `{"error":"Couldn't authenticate you"}`, `{"error":{"title","message"}}`,
//! `{"errors":[{"code","title","detail"}]}`, OAuth's
//! `{"error":"invalid_token","error_description":".."}`, and validation
//! errors with `details: {field: [{description, error}]}`.

use serde_json::Value;

use super::ratelimit;
use super::{HttpResponse, TransportError};
use crate::config::AuthSchemeId;
use crate::types::{ConnectorError, RateLimit};

/// What an error body says, whatever its shape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// A machine code such as `RecordInvalid` or `invalid_token`.
    pub code: Option<String>,
    /// The human message(s).
    pub messages: Vec<String>,
}

impl Envelope {
    /// One line: `code: message; message`.
    pub fn summary(&self) -> String {
        let messages = self.messages.join("; ");
        match (&self.code, messages.is_empty()) {
            (Some(code), true) => code.clone(),
            (Some(code), false) => format!("{code}: {messages}"),
            (None, _) => messages,
        }
    }
}

/// A string member of a JSON object, if non-empty.
fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Reads any of Zendesk's error envelopes; `None` when the body is not a
/// JSON object or says nothing recognisable.
pub fn parse_envelope(body: &[u8]) -> Option<Envelope> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.as_object()?;
    let mut envelope = Envelope::default();
    match value.get("error") {
        Some(Value::String(error)) => {
            // A code has no spaces (`RecordInvalid`); a sentence is a message.
            if error.contains(' ') {
                envelope.messages.push(error.clone());
            } else {
                envelope.code = Some(error.clone());
            }
        }
        Some(error @ Value::Object(_)) => {
            envelope.code = text(error, "title").map(str::to_owned);
            envelope
                .messages
                .extend(text(error, "message").map(str::to_owned));
        }
        _ => {}
    }
    for key in ["description", "error_description", "message"] {
        envelope
            .messages
            .extend(text(&value, key).map(str::to_owned));
    }
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        for error in errors {
            if let Some(s) = error.as_str() {
                envelope.messages.push(s.to_owned());
                continue;
            }
            if envelope.code.is_none() {
                envelope.code = text(error, "code").map(str::to_owned);
            }
            let title = text(error, "title");
            let detail = text(error, "detail").or_else(|| text(error, "message"));
            match (title, detail) {
                (Some(t), Some(d)) => envelope.messages.push(format!("{t}: {d}")),
                (Some(m), None) | (None, Some(m)) => envelope.messages.push(m.to_owned()),
                (None, None) => {}
            }
        }
    }
    if let Some(details) = value.get("details").and_then(Value::as_object) {
        for (field, problems) in details {
            let problems = problems.as_array().map(Vec::as_slice).unwrap_or_default();
            for problem in problems {
                let description = text(problem, "description")
                    .or_else(|| text(problem, "error"))
                    .or_else(|| problem.as_str());
                if let Some(d) = description {
                    envelope.messages.push(format!("{field}: {d}"));
                }
            }
        }
    }
    (envelope.code.is_some() || !envelope.messages.is_empty()).then_some(envelope)
}

/// What a failed request was about, for messages.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext<'a> {
    /// The account's subdomain.
    pub subdomain: &'a str,
    /// The authentication scheme in use.
    pub auth: AuthSchemeId,
    /// What was being read, e.g. `the tickets export`.
    pub what: &'a str,
}

/// What to do about a 401 with this scheme.
fn auth_advice(auth: AuthSchemeId) -> &'static str {
    match auth {
        AuthSchemeId::ApiToken => "check that the email is a verified user's (an admin), that token access is enabled in Admin Center > Apps and integrations > APIs, and that the token is still active (Zendesk deactivates tokens unused for 30 days and retires all API tokens on 2027-04-30)",
        AuthSchemeId::OAuthRefreshToken | AuthSchemeId::OAuthClientCredentials => "the OAuth token was refused (expired, revoked, or the refresh token was already used): reconnect the OAuth client (scope read) to obtain new tokens",
    }
}

/// Classifies a response whose status is not a success. Messages say what
/// to do next; they quote Zendesk's envelope, never a credential.
pub fn classify(response: &HttpResponse, context: &ErrorContext<'_>) -> ConnectorError {
    let status = response.status;
    let said = parse_envelope(&response.body)
        .map(|e| format!(" Zendesk said: {}.", e.summary().trim_end_matches('.')))
        .unwrap_or_default();
    let what = context.what;
    let host = format!("{}.zendesk.com", context.subdomain);
    match status {
        401 => ConnectorError::Auth(format!(
            "Zendesk refused the credentials while reading {what} (HTTP 401).{said} To fix it: {}.",
            auth_advice(context.auth)
        )),
        403 => ConnectorError::Permission(format!(
            "Zendesk forbids reading {what} with these credentials (HTTP 403).{said} The incremental exports and satisfaction ratings are for admins: light agents and agents cannot use them, so connect with an admin's credentials (OAuth tokens need the read scope). Brand- or group-restricted admins see only part of the data; a plan without this feature makes the stream unavailable."
        )),
        404 => ConnectorError::config(
            "subdomain",
            format!("Zendesk answered 404 (not found) for {what} on {host}.{said} Check that \"{}\" is your account's subdomain, the part before .zendesk.com.", context.subdomain),
        ),
        429 => {
            let budgets = ratelimit::budgets(&response.headers);
            let exhausted: Vec<&str> = budgets.iter().filter(|b| b.remaining == Some(0)).map(|b| b.name.as_str()).collect();
            let which = if exhausted.is_empty() {
                String::new()
            } else {
                format!(" (budget exhausted: {})", exhausted.join(", "))
            };
            ConnectorError::RateLimited(RateLimit {
                retry_after_ms: ratelimit::retry_after_ms(response.header("retry-after"), &budgets),
                message: format!(
                    "Zendesk's rate limit was reached while reading {what}{which}.{said} Other integrations share the account's budget; the sync resumes after the wait."
                ),
            })
        }
        408 | 500..=599 => ConnectorError::Transient(format!(
            "Zendesk answered HTTP {status} while reading {what}.{said} This is usually temporary: retry later, and check status.zendesk.com if it persists."
        )),
        300..=399 => ConnectorError::config(
            "subdomain",
            format!(
                "Zendesk redirected the request for {what} (HTTP {status}) to {}: the account may have moved to another subdomain. Use the subdomain of the redirect target.",
                response.header("location").unwrap_or("an unknown location")
            ),
        ),
        400 | 405 | 406 | 413 | 414 | 422 => ConnectorError::Internal(format!(
            "Zendesk refused the connector's request for {what} as malformed (HTTP {status}).{said} This is a connector bug: report it with this message."
        )),
        409 | 423 | 425 => ConnectorError::Transient(format!(
            "Zendesk answered HTTP {status} (conflict) while reading {what}.{said} Retry later."
        )),
        _ => ConnectorError::Protocol(format!(
            "Zendesk answered an unexpected HTTP {status} while reading {what}.{said}"
        )),
    }
}

/// Classifies a request that got no response.
pub fn classify_transport(error: &TransportError, context: &ErrorContext<'_>) -> ConnectorError {
    let host = format!("{}.zendesk.com", context.subdomain);
    match error {
        TransportError::Dns(detail) => ConnectorError::config(
            "subdomain",
            format!("{host} does not resolve ({detail}): check the subdomain, the part before .zendesk.com."),
        ),
        TransportError::Timeout(detail) => ConnectorError::Transient(format!(
            "reading {} from {host} timed out ({detail}); retry later, with a smaller page size if it repeats.",
            context.what
        )),
        TransportError::Denied(detail) => ConnectorError::Internal(format!(
            "the host refused the request to {host} ({detail}); its allow-list must include https://{host}."
        )),
        TransportError::Other(detail) => ConnectorError::Transient(format!(
            "the request to {host} for {} failed ({detail}); retry later.",
            context.what
        )),
    }
}

/// A message for a 2xx body that could not be read.
pub fn unreadable(what: &str, error: &serde_json::Error) -> ConnectorError {
    ConnectorError::Protocol(format!(
        "Zendesk's answer for {what} is not the expected JSON ({error}); retry later, and report it if it persists."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const CONTEXT: ErrorContext<'static> = ErrorContext {
        subdomain: "acme",
        auth: AuthSchemeId::ApiToken,
        what: "the tickets export",
    };

    #[test]
    fn reads_every_envelope() {
        let cases = [
            (
                r#"{"error":"Couldn't authenticate you"}"#,
                "Couldn't authenticate you",
            ),
            (
                r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Description: cannot be blank","error":"BlankValue"}]}}"#,
                "RecordInvalid: Record validation errors; base: Description: cannot be blank",
            ),
            (
                r#"{"error":{"title":"Forbidden","message":"You do not have access to this page."}}"#,
                "Forbidden: You do not have access to this page.",
            ),
            (
                r#"{"errors":[{"code":"TooManyValues","title":"Too many values","detail":"max 100"}]}"#,
                "TooManyValues: Too many values: max 100",
            ),
            (
                r#"{"error":"invalid_token","error_description":"The access token expired"}"#,
                "invalid_token: The access token expired",
            ),
            (
                r#"{"error":"InvalidEndpoint","description":"Not found"}"#,
                "InvalidEndpoint: Not found",
            ),
            (
                r#"{"error":"Forbidden","description":"You are missing the following required scopes: read"}"#,
                "Forbidden: You are missing the following required scopes: read",
            ),
        ];
        for (body, summary) in cases {
            assert_eq!(
                parse_envelope(body.as_bytes()).unwrap().summary(),
                summary,
                "{body}"
            );
        }
        assert_eq!(parse_envelope(b"<html>Not found</html>"), None);
        assert_eq!(parse_envelope(b"{}"), None);
        assert_eq!(parse_envelope(b"[1]"), None);
    }

    #[test]
    fn classifies_statuses() {
        let auth = classify(
            &response(401, r#"{"error":"Couldn't authenticate you"}"#, &[]),
            &CONTEXT,
        );
        let ConnectorError::Auth(message) = auth else {
            panic!("{auth:?}")
        };
        assert!(
            message.contains("Couldn't authenticate you")
                && message.contains("Admin Center > Apps and integrations > APIs")
        );
        assert!(message.contains("verified"));

        let oauth = ErrorContext {
            auth: AuthSchemeId::OAuthRefreshToken,
            ..CONTEXT
        };
        let ConnectorError::Auth(message) =
            classify(&response(401, r#"{"error":"invalid_token"}"#, &[]), &oauth)
        else {
            panic!()
        };
        assert!(message.contains("reconnect") && !message.contains("Admin Center"));

        let forbidden = classify(
            &response(
                403,
                r#"{"error":{"title":"Forbidden","message":"You do not have access to this page."}}"#,
                &[],
            ),
            &CONTEXT,
        );
        let ConnectorError::Permission(message) = forbidden else {
            panic!("{forbidden:?}")
        };
        assert!(message.contains("light agents") && message.contains("restricted"));
        assert!(
            message.contains("this page. The"),
            "one full stop: {message}"
        );

        let ConnectorError::Config(fields) = classify(
            &response(
                404,
                r#"{"error":"InvalidEndpoint","description":"Not found"}"#,
                &[],
            ),
            &CONTEXT,
        ) else {
            panic!()
        };
        assert_eq!(fields[0].field, "subdomain");
        assert!(fields[0].message.contains("acme.zendesk.com"));

        for status in [500, 502, 503, 504, 408] {
            assert!(
                matches!(
                    classify(&response(status, "", &[]), &CONTEXT),
                    ConnectorError::Transient(_)
                ),
                "{status}"
            );
        }
        assert!(matches!(
            classify(
                &response(422, r#"{"error":"RecordInvalid"}"#, &[]),
                &CONTEXT
            ),
            ConnectorError::Internal(_)
        ));
        assert!(matches!(
            classify(&response(418, "", &[]), &CONTEXT),
            ConnectorError::Protocol(_)
        ));
        let ConnectorError::Config(fields) = classify(
            &response(301, "", &[("Location", "https://new.zendesk.com/")]),
            &CONTEXT,
        ) else {
            panic!()
        };
        assert!(fields[0].message.contains("https://new.zendesk.com/"));
    }

    #[test]
    fn rate_limits_carry_the_wait() {
        let body = r#"{"error":"APIRateLimitExceeded","description":"Number of allowed incremental export API requests per minute exceeded"}"#;
        let limited = classify(&response(429, body, &[("Retry-After", "17")]), &CONTEXT);
        let ConnectorError::RateLimited(limit) = limited else {
            panic!("{limited:?}")
        };
        assert_eq!(limit.retry_after_ms, 17_000);
        assert!(limit.message.contains("APIRateLimitExceeded"));

        let headers = [(
            "zendesk-ratelimit-incremental-exports",
            "total=10; remaining=0; resets=23",
        )];
        let ConnectorError::RateLimited(limit) = classify(&response(429, body, &headers), &CONTEXT)
        else {
            panic!()
        };
        assert_eq!(limit.retry_after_ms, 23_000);
        assert!(limit.message.contains("incremental-exports"));

        let ConnectorError::RateLimited(limit) = classify(&response(429, "", &[]), &CONTEXT) else {
            panic!()
        };
        assert_eq!(limit.retry_after_ms, ratelimit::DEFAULT_RETRY_AFTER_MS);
    }

    #[test]
    fn transport_failures_are_classified() {
        let ConnectorError::Config(fields) =
            classify_transport(&TransportError::Dns("no such host".into()), &CONTEXT)
        else {
            panic!()
        };
        assert_eq!(fields[0].field, "subdomain");
        assert!(fields[0]
            .message
            .contains("acme.zendesk.com does not resolve"));
        assert!(matches!(
            classify_transport(&TransportError::Timeout("read".into()), &CONTEXT),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            classify_transport(&TransportError::Other("reset".into()), &CONTEXT),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            classify_transport(&TransportError::Denied("policy".into()), &CONTEXT),
            ConnectorError::Internal(_)
        ));
    }
}
