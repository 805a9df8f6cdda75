//! An OAuth 2.0 token endpoint and the client that calls it: the grant's
//! form request (RFC 6749 §4.1.3, §4.4, §6) and the tokens it answers,
//! shared by token refreshes and by sign-in.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::contract::OAuth2;
use crate::errors::ConnectorError;
use crate::findings::Findings;
use crate::http_policy::Origin;
use crate::outbound::{HttpsClient, SendError};
use crate::secrets::{Redactor, Secret};
use crate::template::fill_template;

/// Where a connection's OAuth client obtains tokens, and with what identity.
pub(crate) struct TokenEndpoint {
    /// The token URL, filled from the config.
    pub url: String,
    /// Its origin, which must be one of the connector's allowed hosts.
    pub origin: Origin,
    client_id: String,
    client_secret: Secret,
    /// Scopes to request, space-separated; empty for the client's default.
    pub scopes: String,
}

/// Tokens a token endpoint issued.
pub(crate) struct IssuedTokens {
    /// The access token.
    pub access: Secret,
    /// When it expires (Unix seconds; `u64::MAX` when the answer did not say).
    pub expires_at: u64,
    /// The new refresh token, when one was issued.
    pub refresh: Option<Secret>,
}

/// Why a token request produced no tokens.
pub(crate) enum TokenError {
    /// The request could not be sent or its answer not read.
    Send(SendError),
    /// The endpoint refused the grant; the text names its status and error.
    Refused(String),
    /// The endpoint answered success without an access token.
    NoAccessToken,
}

/// Fill `template` (a URL of the OAuth client) from `config`; values may
/// only be host-name characters, so they cannot change the URL's path.
pub(crate) fn fill_url(
    template: &str,
    config: &serde_json::Value,
) -> Result<String, ConnectorError> {
    fill_template(template, config, |v| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
    .map_err(|e| ConnectorError::config("auth", e.to_string()))
}

/// The origin of a filled OAuth URL.
pub(crate) fn url_origin(url: &str) -> Result<Origin, ConnectorError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ConnectorError::config("auth", format!("OAuth URL `{url}`: {e}")))?;
    Origin::parse(&format!(
        "{}://{}{}",
        parsed.scheme(),
        parsed.host_str().unwrap_or_default(),
        parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
    ))
    .map_err(|e| ConnectorError::config("auth", format!("OAuth URL: {e}")))
}

/// A non-empty string field of the config.
pub(crate) fn config_text(config: &serde_json::Value, name: &str) -> Option<String> {
    config
        .get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A config field OAuth cannot do without.
pub(crate) fn required_text(
    config: &serde_json::Value,
    name: &str,
) -> Result<String, ConnectorError> {
    config_text(config, name)
        .ok_or_else(|| ConnectorError::config(name, "required for OAuth but not set"))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenEndpoint {
    /// The endpoint and client of `oauth`, filled from the full `config`;
    /// the client secret joins the secrets `redactor` scrubs.
    pub(crate) fn new(
        oauth: &OAuth2,
        config: &serde_json::Value,
        redactor: &Redactor,
    ) -> Result<Self, ConnectorError> {
        let url = fill_url(&oauth.token_url, config)?;
        let origin = url_origin(&url)?;
        let client_secret = required_text(config, &oauth.client_secret_field)?;
        redactor.add(&client_secret);
        Ok(TokenEndpoint {
            url,
            origin,
            client_id: required_text(config, &oauth.client_id_field)?,
            client_secret: Secret::new(client_secret),
            scopes: oauth.scopes.clone(),
        })
    }

    /// The client's id, for an authorization request.
    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// POST the grant's parameters with the client's credentials and read
    /// the tokens; every token seen joins the secrets `redactor` scrubs.
    pub(crate) async fn request(
        &self,
        client: &HttpsClient,
        grant: &[(&str, &str)],
        redactor: &Redactor,
    ) -> Result<IssuedTokens, TokenError> {
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.extend_pairs(grant.iter().copied())
                .append_pair("client_id", &self.client_id)
                .append_pair("client_secret", self.client_secret.expose());
            if !self.scopes.is_empty() {
                form.append_pair("scope", &self.scopes);
            }
            form.finish()
        };
        let request = http::Request::post(&self.url)
            .header(http::header::HOST, self.origin.host.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(
                Full::new(Bytes::from(body))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|_| TokenError::Refused("the OAuth token URL is invalid".into()))?;
        let timeouts = client.options().timeouts;
        let response = client
            .send(&self.origin, request, timeouts, &Findings::default())
            .await
            .map_err(TokenError::Send)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|code| TokenError::Send(SendError { code, denial: None }))?
            .to_bytes();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let text = |name: &str| parsed.get(name).and_then(|v| v.as_str());
        if !status.is_success() {
            return Err(TokenError::Refused(redactor.redact(&format!(
                "the OAuth token endpoint answered {status} ({} {})",
                text("error").unwrap_or("unknown"),
                text("error_description").unwrap_or("")
            ))));
        }
        let access = text("access_token").ok_or(TokenError::NoAccessToken)?;
        redactor.add(access);
        let refresh = text("refresh_token").map(|refresh| {
            redactor.add(refresh);
            Secret::new(refresh)
        });
        let expires_at = parsed
            .get("expires_in")
            .and_then(|v| v.as_u64())
            .map(|s| unix_now() + s)
            .unwrap_or(u64::MAX);
        Ok(IssuedTokens {
            access: Secret::new(access),
            expires_at,
            refresh,
        })
    }
}
