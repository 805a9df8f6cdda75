//! Credentials the host injects into a connection's requests: HTTP Basic
//! and bearer headers from templates, and OAuth 2.0 access tokens obtained
//! from a refresh token (rotated tokens are stored durably before use) or
//! with the client credentials grant. Connectors never see any of it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};

use crate::contract::{AuthKind, AuthScheme, OAuth2};
use crate::errors::ConnectorError;
use crate::findings::{Denial, Findings};
use crate::http_policy::Origin;
use crate::outbound::{HttpsClient, SendError};
use crate::secrets::{Redactor, Secret};
use crate::storage::TokenStore;
use crate::template::fill_template;

/// Refresh an access token this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Pick the auth scheme: the one the operator named, else the first whose
/// required fields are all set in `config`.
pub fn choose_scheme<'a>(
    schemes: &'a [AuthScheme],
    requested: Option<&str>,
    config: &serde_json::Value,
) -> Result<Option<&'a AuthScheme>, ConnectorError> {
    if schemes.is_empty() {
        return Ok(None);
    }
    let present = |field: &String| match config.get(field) {
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Null) | None => false,
        Some(_) => true,
    };
    let ids = || {
        schemes
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(id) = requested {
        let scheme = schemes.iter().find(|s| s.id == id).ok_or_else(|| {
            ConnectorError::config(
                "auth",
                format!("unknown auth scheme `{id}`; choose one of: {}", ids()),
            )
        })?;
        let missing: Vec<&str> = scheme
            .required_fields
            .iter()
            .filter(|f| !present(f))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ConnectorError::config(
                "auth",
                format!(
                    "auth scheme `{id}` needs these fields set: {}",
                    missing.join(", ")
                ),
            ));
        }
        return Ok(Some(scheme));
    }
    schemes
        .iter()
        .find(|s| s.required_fields.iter().all(present))
        .map(Some)
        .ok_or_else(|| {
            let needs = schemes
                .iter()
                .map(|s| format!("`{}` needs {}", s.id, s.required_fields.join(" + ")))
                .collect::<Vec<_>>()
                .join("; ");
            ConnectorError::config("auth", format!("no credentials configured: {needs}"))
        })
}

/// One connection's credentials in the host's [`TokenStore`].
#[derive(Clone)]
pub struct CredentialStore {
    store: Arc<dyn TokenStore>,
    connection: String,
}

impl CredentialStore {
    /// The credentials of `connection` in `store`.
    pub fn new(store: Arc<dyn TokenStore>, connection: &str) -> Self {
        CredentialStore {
            store,
            connection: connection.to_string(),
        }
    }

    fn load(&self, name: &str) -> Result<Option<String>, ConnectorError> {
        Ok(self.store.load(&self.connection, name)?)
    }

    /// Write several values in one durable transaction.
    fn save_all(&self, values: &[(&str, &str)]) -> Result<(), ConnectorError> {
        Ok(self.store.save_all(&self.connection, values)?)
    }

    /// Delete everything stored for the connection; returns the values removed.
    pub fn clear(&self) -> Result<usize, ConnectorError> {
        Ok(self.store.clear(&self.connection)?)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fingerprint(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..16])
}

/// What the host adds to a connection's requests.
pub enum Credentials {
    /// Nothing.
    None,
    /// A fixed header value (Basic or Bearer).
    Static(Secret),
    /// OAuth tokens, refreshed as needed.
    OAuth(Box<OAuthSession>),
}

impl Credentials {
    /// Build the credentials of `scheme` from the full config (secrets included).
    pub fn from_scheme(
        scheme: Option<&AuthScheme>,
        config: &serde_json::Value,
        store: CredentialStore,
        redactor: &Redactor,
    ) -> Result<Self, ConnectorError> {
        let Some(scheme) = scheme else {
            return Ok(Credentials::None);
        };
        let fill = |template: &str| {
            fill_template(template, config, |v| !v.contains(['\r', '\n']))
                .map_err(|e| ConnectorError::config("auth", e.to_string()))
        };
        let header = match &scheme.kind {
            AuthKind::Basic(template) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(fill(template)?);
                format!("Basic {encoded}")
            }
            AuthKind::Bearer(template) => format!("Bearer {}", fill(template)?),
            AuthKind::OAuth2RefreshToken(oauth) | AuthKind::OAuth2ClientCredentials(oauth) => {
                let uses_refresh = matches!(scheme.kind, AuthKind::OAuth2RefreshToken(_));
                let session = OAuthSession::new(oauth, uses_refresh, config, store, redactor)?;
                return Ok(Credentials::OAuth(Box::new(session)));
            }
        };
        redactor.add(&header);
        redactor.add(header.split_once(' ').map(|(_, v)| v).unwrap_or(&header));
        Ok(Credentials::Static(Secret::new(header)))
    }

    /// The origin of the OAuth token endpoint, which must be an allowed host.
    pub fn token_origin(&self) -> Option<&Origin> {
        match self {
            Credentials::OAuth(session) => Some(&session.token_origin),
            _ => None,
        }
    }

    /// The `Authorization` value to send now, refreshing OAuth tokens when due.
    pub async fn authorization(
        &self,
        client: &HttpsClient,
    ) -> Result<Option<HeaderValue>, SendError> {
        let value = match self {
            Credentials::None => return Ok(None),
            Credentials::Static(header) => header.expose().to_string(),
            Credentials::OAuth(session) => {
                format!("Bearer {}", session.access_token(client).await?.expose())
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            SendError::denied(
                wasmtime_wasi_http::Error::HttpRequestDenied,
                Denial::InvalidCredentials,
            )
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Forget the current access token after the API rejected it (HTTP 401),
    /// so the next request obtains a new one. Returns whether a retry can help.
    pub async fn invalidate(&self) -> bool {
        match self {
            Credentials::OAuth(session) => {
                let mut state = session.state.lock().await;
                state.access = None;
                // The stored copy is void too; a failure to forget it only
                // costs one more rejected request.
                let _ = session
                    .store
                    .save_all(&[(rows::ACCESS_TOKEN, ""), (rows::ACCESS_EXPIRES_AT, "0")]);
                true
            }
            _ => false,
        }
    }
}

struct TokenState {
    access: Option<(Secret, u64)>,
    refresh: Option<Secret>,
}

/// One connection's OAuth client and tokens.
pub struct OAuthSession {
    token_url: String,
    token_origin: Origin,
    client_id: String,
    client_secret: Secret,
    scopes: String,
    uses_refresh: bool,
    store: CredentialStore,
    redactor: Redactor,
    state: tokio::sync::Mutex<TokenState>,
}

/// Names of the values an OAuth session keeps in the [`TokenStore`], for
/// stores that treat one specially (the Airbyte bridge hands a rotated
/// refresh token to its platform).
pub mod rows {
    /// The current refresh token.
    pub const REFRESH_TOKEN: &str = "oauth.refresh_token";
    /// Fingerprint of the configured refresh token the session started from.
    pub const REFRESH_SEED: &str = "oauth.refresh_token_seed";
    /// The current access token.
    pub const ACCESS_TOKEN: &str = "oauth.access_token";
    /// When it expires (Unix seconds).
    pub const ACCESS_EXPIRES_AT: &str = "oauth.access_expires_at";
}

impl OAuthSession {
    fn new(
        oauth: &OAuth2,
        uses_refresh: bool,
        config: &serde_json::Value,
        store: CredentialStore,
        redactor: &Redactor,
    ) -> Result<Self, ConnectorError> {
        let field = |name: &str| -> Option<String> {
            config
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let required = |name: &str| {
            field(name)
                .ok_or_else(|| ConnectorError::config(name, "required for OAuth but not set"))
        };
        let token_url = fill_template(&oauth.token_url, config, |v| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .map_err(|e| ConnectorError::config("auth", e.to_string()))?;
        let url = url::Url::parse(&token_url)
            .map_err(|e| ConnectorError::config("auth", format!("token URL `{token_url}`: {e}")))?;
        let token_origin = Origin::parse(&format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ))
        .map_err(|e| ConnectorError::config("auth", format!("token URL: {e}")))?;
        let client_secret = required(&oauth.client_secret_field)?;
        redactor.add(&client_secret);

        // The configured refresh token seeds the session; once rotated, the
        // stored one is newer, unless the operator configured a new seed.
        let mut refresh = None;
        if uses_refresh {
            let field_name = oauth.refresh_token_field.as_deref().ok_or_else(|| {
                ConnectorError::config("auth", "the connector declares no refresh token field")
            })?;
            let seed = required(field_name)?;
            redactor.add(&seed);
            let seed_fingerprint = fingerprint(&seed);
            if store.load(rows::REFRESH_SEED)?.as_deref() != Some(seed_fingerprint.as_str()) {
                store.save_all(&[
                    (rows::REFRESH_SEED, seed_fingerprint.as_str()),
                    (rows::REFRESH_TOKEN, seed.as_str()),
                    (rows::ACCESS_TOKEN, ""),
                    (rows::ACCESS_EXPIRES_AT, "0"),
                ])?;
            }
            refresh = store.load(rows::REFRESH_TOKEN)?;
        }
        let mut access = stored_access(&store)?;
        if access.is_none() {
            if let Some(token) = oauth.access_token_field.as_deref().and_then(field) {
                // An access token from the config, of unknown age: use it
                // until the API rejects it.
                access = Some((Secret::new(token), u64::MAX));
            }
        }
        for token in refresh.iter() {
            redactor.add(token);
        }
        if let Some((token, _)) = &access {
            redactor.add(token.expose());
        }
        Ok(OAuthSession {
            token_url,
            token_origin,
            client_id: required(&oauth.client_id_field)?,
            client_secret: Secret::new(client_secret),
            scopes: oauth.scopes.clone(),
            uses_refresh,
            store,
            redactor: redactor.clone(),
            state: tokio::sync::Mutex::new(TokenState {
                access,
                refresh: refresh.map(Secret::new),
            }),
        })
    }

    /// The form body of a token request (RFC 6749 §4.4 or §6).
    fn token_request_body(&self, refresh: Option<&Secret>) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match refresh {
            Some(token) => form
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", token.expose()),
            None => form.append_pair("grant_type", "client_credentials"),
        };
        form.append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose());
        if !self.scopes.is_empty() {
            form.append_pair("scope", &self.scopes);
        }
        form.finish()
    }

    /// A valid access token, obtaining a new one when the current one is
    /// missing or about to expire.
    async fn access_token(&self, client: &HttpsClient) -> Result<Secret, SendError> {
        let mut state = self.state.lock().await;
        let fresh = |access: &Option<(Secret, u64)>| {
            access
                .as_ref()
                .filter(|(_, expires_at)| {
                    expires_at.saturating_sub(EXPIRY_MARGIN.as_secs()) > unix_now()
                })
                .map(|(token, _)| token.clone())
        };
        if let Some(token) = fresh(&state.access) {
            return Ok(token);
        }
        // Another process may have refreshed meanwhile: its tokens are in
        // the database, and the refresh token we hold may be void.
        if let Ok(stored) = stored_access(&self.store) {
            if let Some(token) = fresh(&stored) {
                self.redactor.add(token.expose());
                state.access = stored;
                return Ok(token);
            }
        }
        if self.uses_refresh {
            if let Ok(Some(stored)) = self.store.load(rows::REFRESH_TOKEN) {
                self.redactor.add(&stored);
                state.refresh = Some(Secret::new(stored));
            }
        }
        let refresh = match (self.uses_refresh, &state.refresh) {
            (true, None) => {
                return Err(auth_denial(
                    "no OAuth refresh token is available; authorize the app again",
                ))
            }
            (true, Some(token)) => Some(token.clone()),
            (false, _) => None,
        };
        let body = self.token_request_body(refresh.as_ref());
        let request = http::Request::post(&self.token_url)
            .header(http::header::HOST, self.token_origin.host.as_str())
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
            .map_err(|_| auth_denial("the OAuth token URL is invalid"))?;
        let timeouts = client.options().timeouts;
        let response = client
            .send(&self.token_origin, request, timeouts, &Findings::default())
            .await?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|code| SendError { code, denial: None })?
            .to_bytes();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            let error = parsed
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown");
            let description = parsed
                .get("error_description")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let advice = if self.uses_refresh {
                "the refresh token was revoked, expired or already used; authorize the app again and configure the new refresh token"
            } else {
                "check the OAuth client id and secret, and that the client may use the client credentials grant"
            };
            return Err(auth_denial(&self.redactor.redact(&format!(
                "the OAuth token endpoint answered {status} ({error} {description}); {advice}"
            ))));
        }
        let access = parsed
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                auth_denial("the OAuth token endpoint answered without an access_token")
            })?
            .to_string();
        let expires_at = parsed
            .get("expires_in")
            .and_then(|v| v.as_u64())
            .map(|s| unix_now() + s)
            .unwrap_or(u64::MAX);
        self.redactor.add(&access);
        let new_refresh = parsed.get("refresh_token").and_then(|v| v.as_str());
        if let Some(refresh) = new_refresh {
            self.redactor.add(refresh);
        }
        // Durable before use: the old pair is already void at the provider.
        let expires_text = expires_at.to_string();
        let mut rows_to_save = vec![
            (rows::ACCESS_TOKEN, access.as_str()),
            (rows::ACCESS_EXPIRES_AT, expires_text.as_str()),
        ];
        if let Some(refresh) = new_refresh {
            rows_to_save.push((rows::REFRESH_TOKEN, refresh));
        }
        self.store.save_all(&rows_to_save).map_err(|e| {
            auth_denial(&format!(
                "could not store the rotated OAuth token ({e}); the request was not sent"
            ))
        })?;
        if let Some(refresh) = new_refresh {
            state.refresh = Some(Secret::new(refresh));
        }
        let token = Secret::new(access);
        state.access = Some((token.clone(), expires_at));
        Ok(token)
    }
}

fn stored_access(store: &CredentialStore) -> Result<Option<(Secret, u64)>, ConnectorError> {
    let token = store.load(rows::ACCESS_TOKEN)?;
    let expires = store
        .load(rows::ACCESS_EXPIRES_AT)?
        .and_then(|v| v.parse::<u64>().ok());
    Ok(token
        .zip(expires)
        .filter(|(t, _)| !t.is_empty())
        .map(|(t, e)| (Secret::new(t), e)))
}

fn auth_denial(message: &str) -> SendError {
    SendError::denied(
        wasmtime_wasi_http::Error::HttpRequestDenied,
        Denial::OAuth(message.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheme(id: &str, fields: &[&str]) -> AuthScheme {
        AuthScheme {
            id: id.into(),
            description: String::new(),
            required_fields: fields.iter().map(|f| f.to_string()).collect(),
            kind: AuthKind::Basic("{email}/token:{api_token}".into()),
        }
    }

    #[test]
    fn the_first_complete_scheme_wins_unless_one_is_named() {
        let schemes = [
            scheme("api_token", &["email", "api_token"]),
            scheme("oauth", &["client_id"]),
        ];
        let config = json!({"email": "a@b.c", "api_token": "t", "client_id": "c"});
        assert_eq!(
            choose_scheme(&schemes, None, &config).unwrap().unwrap().id,
            "api_token"
        );
        assert_eq!(
            choose_scheme(&schemes, Some("oauth"), &config)
                .unwrap()
                .unwrap()
                .id,
            "oauth"
        );
        let partial = json!({"email": "a@b.c", "api_token": ""});
        let err = choose_scheme(&schemes, None, &partial).unwrap_err();
        assert!(
            err.to_string()
                .contains("`api_token` needs email + api_token"),
            "{err}"
        );
        let err = choose_scheme(&schemes, Some("nope"), &config).unwrap_err();
        assert!(
            err.to_string().contains("choose one of: api_token, oauth"),
            "{err}"
        );
        let err = choose_scheme(&schemes, Some("oauth"), &partial).unwrap_err();
        assert!(
            err.to_string()
                .contains("needs these fields set: client_id"),
            "{err}"
        );
        assert!(choose_scheme(&[], None, &config).unwrap().is_none());
    }

    #[test]
    fn basic_headers_come_from_the_template_and_are_redacted() {
        let redactor = Redactor::default();
        let tokens = Arc::new(crate::storage::MemoryStore::default());
        let config = json!({"email": "admin@acme.test", "api_token": "tok-123"});
        let s = scheme("api_token", &["email", "api_token"]);
        let creds = Credentials::from_scheme(
            Some(&s),
            &config,
            CredentialStore::new(tokens, "c"),
            &redactor,
        )
        .unwrap();
        let Credentials::Static(header) = &creds else {
            panic!("static expected")
        };
        let expected =
            base64::engine::general_purpose::STANDARD.encode("admin@acme.test/token:tok-123");
        assert_eq!(header.expose(), format!("Basic {expected}"));
        assert_eq!(redactor.redact(&format!("sent {expected}")), "sent ***");
    }
}
