//! Credentials the host injects into a connection's requests: HTTP Basic
//! and bearer headers from templates, and OAuth 2.0 access tokens obtained
//! from a refresh token (rotated tokens are stored durably before use) or
//! with the client credentials grant. Connectors never see any of it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::HeaderValue;
use sha2::{Digest, Sha256};

use crate::contract::{AuthKind, AuthScheme, OAuth2};
use crate::errors::ConnectorError;
use crate::findings::Denial;
use crate::http_policy::Origin;
use crate::outbound::{HttpsClient, SendError};
use crate::secrets::{Redactor, Secret};
use crate::storage::{Expected, TokenStore};
use crate::template::fill_template;
use crate::token_endpoint::{config_text, unix_now, IssuedTokens, TokenEndpoint, TokenError};

/// Refresh an access token this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Pick the auth scheme: the one the operator named, else the first whose
/// required fields are all set in `config`. When the connection `signed_in`,
/// the tokens it holds stand for an OAuth scheme's refresh-token field.
pub fn choose_scheme<'a>(
    schemes: &'a [AuthScheme],
    requested: Option<&str>,
    config: &serde_json::Value,
    signed_in: bool,
) -> Result<Option<&'a AuthScheme>, ConnectorError> {
    if schemes.is_empty() {
        return Ok(None);
    }
    let missing = |scheme: &'a AuthScheme| -> Vec<&'a str> {
        let held = match &scheme.kind {
            AuthKind::OAuth2RefreshToken(oauth) if signed_in => {
                oauth.refresh_token_field.as_deref()
            }
            _ => None,
        };
        scheme
            .required_fields
            .iter()
            .map(String::as_str)
            .filter(|field| Some(*field) != held)
            .filter(|field| match config.get(*field) {
                Some(serde_json::Value::String(s)) => s.is_empty(),
                Some(serde_json::Value::Null) | None => true,
                Some(_) => false,
            })
            .collect()
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
        let missing = missing(scheme);
        if !missing.is_empty() {
            let sign_in = match &scheme.kind {
                AuthKind::OAuth2RefreshToken(oauth) if oauth.authorize_url.is_some() => {
                    " (or sign the connection in with the OAuth authorization flow, which keeps \
                     the refresh token in the host)"
                }
                _ => "",
            };
            return Err(ConnectorError::config(
                "auth",
                format!(
                    "auth scheme `{id}` needs these fields set: {}{sign_in}",
                    missing.join(", ")
                ),
            ));
        }
        return Ok(Some(scheme));
    }
    schemes
        .iter()
        .find(|s| missing(s).is_empty())
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

/// The rows of newly issued tokens (`expires`: their expiry, as text).
fn issued_values<'a>(
    issued: &'a IssuedTokens,
    seed: Option<&'a str>,
    expires: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let mut values = vec![
        (rows::ACCESS_TOKEN, issued.access.expose()),
        (rows::ACCESS_EXPIRES_AT, expires),
    ];
    if let Some(refresh) = &issued.refresh {
        values.push((rows::REFRESH_TOKEN, refresh.expose()));
    }
    if let Some(seed) = seed {
        values.push((rows::REFRESH_SEED, seed));
    }
    values
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

    /// Whether the stored tokens came from sign-in (and a refresh token is kept).
    pub fn signed_in(&self) -> Result<bool, ConnectorError> {
        Ok(
            self.load(rows::REFRESH_SEED)?.as_deref() == Some(rows::SIGNED_IN)
                && self
                    .load(rows::REFRESH_TOKEN)?
                    .is_some_and(|t| !t.is_empty()),
        )
    }

    /// Store newly issued tokens in one durable transaction; `seed` marks
    /// where the refresh token came from when it starts a new chain.
    pub(crate) fn save_issued(
        &self,
        issued: &IssuedTokens,
        seed: Option<&str>,
    ) -> Result<(), ConnectorError> {
        self.save_all(&issued_values(issued, seed, &issued.expires_at.to_string()))
    }

    /// Store tokens issued for the refresh token `used`, unless another
    /// worker stored its own rotation of it first; returns whether they
    /// were stored.
    fn save_rotation(&self, issued: &IssuedTokens, used: &str) -> Result<bool, ConnectorError> {
        let expected = Expected {
            name: rows::REFRESH_TOKEN,
            value: Some(used),
        };
        let expires = issued.expires_at.to_string();
        let values = issued_values(issued, None, &expires);
        Ok(self.store.save_if(&self.connection, expected, &values)?)
    }

    /// Delete everything stored for the connection; returns the values removed.
    pub fn clear(&self) -> Result<usize, ConnectorError> {
        Ok(self.store.clear(&self.connection)?)
    }
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
            Credentials::OAuth(session) => Some(&session.endpoint.origin),
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
    endpoint: TokenEndpoint,
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
    /// Fingerprint of the configured refresh token the session started
    /// from, or [`SIGNED_IN`] when the tokens came from sign-in.
    pub const REFRESH_SEED: &str = "oauth.refresh_token_seed";
    /// The seed of tokens obtained by sign-in rather than configured.
    pub const SIGNED_IN: &str = "signed-in";
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
        let endpoint = TokenEndpoint::new(oauth, config, redactor)?;
        // The configured refresh token seeds the session; once rotated, the
        // stored one is newer, unless the operator configured a new seed.
        // Without one in the config, the session continues from sign-in.
        let mut refresh = None;
        if uses_refresh {
            let field_name = oauth.refresh_token_field.as_deref().ok_or_else(|| {
                ConnectorError::config("auth", "the connector declares no refresh token field")
            })?;
            match config_text(config, field_name) {
                Some(seed) => {
                    redactor.add(&seed);
                    let seed_fingerprint = fingerprint(&seed);
                    if store.load(rows::REFRESH_SEED)?.as_deref() != Some(seed_fingerprint.as_str())
                    {
                        store.save_all(&[
                            (rows::REFRESH_SEED, seed_fingerprint.as_str()),
                            (rows::REFRESH_TOKEN, seed.as_str()),
                            (rows::ACCESS_TOKEN, ""),
                            (rows::ACCESS_EXPIRES_AT, "0"),
                        ])?;
                    }
                }
                None if store.signed_in()? => {}
                None => {
                    return Err(ConnectorError::config(
                        field_name,
                        "is not set and the connection was never signed in; sign in with \
                         the OAuth authorization flow, or set a refresh token",
                    ))
                }
            }
            refresh = store.load(rows::REFRESH_TOKEN)?;
        }
        let mut access = stored_access(&store)?;
        if access.is_none() {
            if let Some(token) = oauth
                .access_token_field
                .as_deref()
                .and_then(|f| config_text(config, f))
            {
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
            endpoint,
            uses_refresh,
            store,
            redactor: redactor.clone(),
            state: tokio::sync::Mutex::new(TokenState {
                access,
                refresh: refresh.map(Secret::new),
            }),
        })
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
        let grant = match &refresh {
            Some(token) => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose()),
            ],
            None => vec![("grant_type", "client_credentials")],
        };
        let issued = match self.endpoint.request(client, &grant, &self.redactor).await {
            Ok(issued) => issued,
            Err(TokenError::Send(err)) => return Err(err),
            Err(TokenError::Refused(why)) => {
                let advice = if self.uses_refresh {
                    "the refresh token was revoked, expired or already used; authorize the app again (the authorization-code sign-in), or configure a new refresh token"
                } else {
                    "check the OAuth client id and secret, and that the client may use the client credentials grant"
                };
                return Err(auth_denial(&format!("{why}; {advice}")));
            }
            Err(TokenError::NoAccessToken) => {
                return Err(auth_denial(
                    "the OAuth token endpoint answered without an access_token",
                ))
            }
        };
        // Durable before use: the old pair is already void at the provider.
        // When another worker rotated the same refresh token first, its
        // tokens stay stored (they are the chain's newest) and this one's
        // access token serves only this request.
        let stored = match &refresh {
            Some(used) => self.store.save_rotation(&issued, used.expose()),
            None => self.store.save_issued(&issued, None).map(|()| true),
        }
        .map_err(|e| {
            auth_denial(&format!(
                "could not store the rotated OAuth token ({e}); the request was not sent"
            ))
        })?;
        if !stored {
            if let Ok(Some(newer)) = self.store.load(rows::REFRESH_TOKEN) {
                self.redactor.add(&newer);
                state.refresh = Some(Secret::new(newer));
            }
            return Ok(issued.access);
        }
        if let Some(refresh) = issued.refresh {
            state.refresh = Some(refresh);
        }
        state.access = Some((issued.access.clone(), issued.expires_at));
        Ok(issued.access)
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
mod tests;
