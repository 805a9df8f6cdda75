//! Signing a connection in with OAuth 2.0's authorization-code grant and
//! PKCE (RFC 6749 §4.1, RFC 7636): the authorization URL, the check of the
//! redirect that comes back, and the exchange of its code for tokens, which
//! are stored like rotated ones. The embedding application shows the URL
//! to the operator and receives the redirect (the CLI on a loopback port).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config_policy::{check_oauth_origin, checked_secret_fields};
use crate::contract::{AuthKind, ConnectorSpec, OAuth2};
use crate::credentials::{rows, CredentialStore};
use crate::errors::ConnectorError;
use crate::http_policy::Origin;
use crate::outbound::HttpsClient;
use crate::secrets::{Redactor, Secret};
use crate::token_endpoint::{fill_url, url_origin, TokenEndpoint, TokenError};

/// A sign-in under way: what the operator must open, and what the redirect
/// must carry back.
pub struct SignIn {
    url: String,
    redirect_uri: String,
    state: String,
    verifier: Secret,
    endpoint: TokenEndpoint,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Why a redirect gave no authorization code.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// The redirect's `state` is not this sign-in's: it was not started
    /// here (a forged or stale link) and must be ignored.
    #[error(
        "the redirect does not belong to this sign-in (its state does not match); it was ignored"
    )]
    WrongState,
    /// The provider refused (e.g. the operator chose not to allow access).
    #[error("the provider refused the sign-in: {error} {description}; start the sign-in again and allow access")]
    Refused {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The provider's description.
        description: String,
    },
    /// The redirect carried neither a code nor an error.
    #[error("the redirect carried no authorization code; start the sign-in again")]
    NoCode,
}

/// A URL-safe string of `bytes` bytes from the operating system's
/// generator: a state or verifier must not be guessable.
fn random_token(bytes: usize) -> String {
    use chacha20poly1305::aead::rand_core::RngCore as _;
    let mut random = vec![0u8; bytes];
    chacha20poly1305::aead::OsRng.fill_bytes(&mut random);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// The S256 code challenge of a verifier (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The OAuth client of the scheme to sign in with: the one named, else the
/// first refresh-token scheme with an authorization endpoint.
fn sign_in_client<'a>(
    spec: &'a ConnectorSpec,
    requested: Option<&str>,
) -> Result<(&'a OAuth2, &'a str), ConnectorError> {
    let signs_in = |kind: &'a AuthKind| match kind {
        AuthKind::OAuth2RefreshToken(oauth) => oauth
            .authorize_url
            .as_deref()
            .map(|authorize| (oauth, authorize)),
        _ => None,
    };
    let found = match requested {
        Some(id) => spec
            .auth_schemes
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| signs_in(&s.kind)),
        None => spec.auth_schemes.iter().find_map(|s| signs_in(&s.kind)),
    };
    found.ok_or_else(|| {
        let which = requested.map_or(String::from("none of its auth schemes"), |id| {
            format!("its auth scheme `{id}`")
        });
        ConnectorError::config(
            "auth",
            format!(
                "the connector `{}` offers no OAuth sign-in for {which}; configure its \
                 credentials in the connection instead",
                spec.name
            ),
        )
    })
}

impl SignIn {
    /// Start signing in with `spec`'s OAuth scheme (the one named
    /// `requested`, if any), configured by the full `config`; the provider
    /// will redirect to `redirect_uri`. Both the authorization and the token
    /// endpoint must be among the connector's allowed hosts.
    pub fn start(
        spec: &ConnectorSpec,
        requested: Option<&str>,
        config: &serde_json::Value,
        redirect_uri: &str,
        redactor: &Redactor,
    ) -> Result<Self, ConnectorError> {
        checked_secret_fields(spec)?;
        let (oauth, authorize_template) = sign_in_client(spec, requested)?;
        let endpoint = TokenEndpoint::new(oauth, config, redactor)?;
        let authorize = fill_url(authorize_template, config)?;
        let allowed = spec
            .allowed_hosts
            .iter()
            .filter_map(|t| Origin::from_template(t, config).ok())
            .collect::<Vec<_>>();
        check_oauth_origin("authorization", Some(&url_origin(&authorize)?), &allowed)?;
        check_oauth_origin("token", Some(&endpoint.origin), &allowed)?;
        let state = random_token(24);
        let verifier = random_token(48);
        let mut url = url::Url::parse(&authorize).map_err(|e| {
            ConnectorError::config("auth", format!("authorization URL `{authorize}`: {e}"))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", endpoint.client_id())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &endpoint.scopes)
            .append_pair("state", &state)
            .append_pair("code_challenge", &code_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(SignIn {
            url: url.into(),
            redirect_uri: redirect_uri.to_string(),
            state,
            verifier: Secret::new(verifier),
            endpoint,
        })
    }

    /// The URL the operator opens to allow access.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The code a redirect's query string carries, once its state is this
    /// sign-in's.
    pub fn code(&self, query: &str) -> Result<Secret, RedirectError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if get("state") != Some(self.state.as_str()) {
            return Err(RedirectError::WrongState);
        }
        if let Some(error) = get("error") {
            return Err(RedirectError::Refused {
                error: error.to_string(),
                description: get("error_description").unwrap_or_default().to_string(),
            });
        }
        get("code")
            .filter(|c| !c.is_empty())
            .map(Secret::new)
            .ok_or(RedirectError::NoCode)
    }

    /// Exchange `code` at the token endpoint and store the tokens in
    /// `store`, where the connection's OAuth session continues from them.
    pub async fn finish(
        &self,
        client: &HttpsClient,
        code: &Secret,
        store: &CredentialStore,
        redactor: &Redactor,
    ) -> Result<(), ConnectorError> {
        redactor.add(code.expose());
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", self.verifier.expose()),
        ];
        let issued = match self.endpoint.request(client, &grant, redactor).await {
            Ok(issued) => issued,
            Err(TokenError::Send(err)) => {
                let why = match &err.denial {
                    Some(denial) => denial.to_string(),
                    None => format!("{:?}", err.code),
                };
                return Err(ConnectorError::Transient(format!(
                    "the OAuth token endpoint could not be reached ({}); check the network and sign in again",
                    redactor.redact(&why)
                )));
            }
            Err(TokenError::Refused(why)) => {
                return Err(ConnectorError::Auth(format!(
                    "{why}; a code works once and only for a few minutes: sign in again"
                )))
            }
            Err(TokenError::NoAccessToken) => {
                return Err(ConnectorError::Protocol(
                    "the OAuth token endpoint answered without an access_token".into(),
                ))
            }
        };
        if issued.refresh.is_none() {
            return Err(ConnectorError::Auth(
                "the OAuth token endpoint issued no refresh token, so the connection could not \
                 stay signed in; allow the client refresh tokens at the provider"
                    .into(),
            ));
        }
        store.save_issued(&issued, Some(rows::SIGNED_IN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::AuthScheme;
    use serde_json::json;

    fn spec(authorize_url: &str, allowed: &str) -> ConnectorSpec {
        let oauth = OAuth2 {
            token_url: "https://{subdomain}.example.com/oauth/tokens".into(),
            authorize_url: Some(authorize_url.into()),
            client_id_field: "client_id".into(),
            client_secret_field: "client_secret".into(),
            refresh_token_field: Some("refresh_token".into()),
            access_token_field: None,
            scopes: "read".into(),
        };
        ConnectorSpec {
            name: "example".into(),
            version: "1.0.0".into(),
            description: String::new(),
            config_schema: "{}".into(),
            auth_schemes: vec![AuthScheme {
                id: "oauth".into(),
                description: String::new(),
                required_fields: vec!["client_id".into(), "refresh_token".into()],
                kind: AuthKind::OAuth2RefreshToken(oauth),
            }],
            allowed_hosts: vec![allowed.into()],
            disconnect_advice: String::new(),
        }
    }

    fn config() -> serde_json::Value {
        json!({"subdomain": "acme", "client_id": "cid", "client_secret": "shh-secret"})
    }

    #[test]
    fn the_sign_in_url_carries_the_client_redirect_state_and_s256_challenge() {
        let redactor = Redactor::default();
        let spec = spec(
            "https://{subdomain}.example.com/oauth/authorize",
            "https://{subdomain}.example.com",
        );
        let redirect = "http://127.0.0.1:8749/callback";
        let sign_in = SignIn::start(&spec, None, &config(), redirect, &redactor).unwrap();
        let url = url::Url::parse(sign_in.url()).unwrap();
        assert_eq!(url.host_str(), Some("acme.example.com"));
        assert_eq!(url.path(), "/oauth/authorize");
        let query: std::collections::BTreeMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "cid");
        assert_eq!(query["redirect_uri"], redirect);
        assert_eq!(query["scope"], "read");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(
            query["code_challenge"],
            code_challenge(sign_in.verifier.expose())
        );
        assert!(!sign_in.url().contains("shh-secret"));
        let state = &query["state"];
        assert_eq!(state, &sign_in.state);

        let redirect_with = |pairs: &[(&str, &str)]| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let code = sign_in.code(&redirect_with(&[("code", "c0de"), ("state", state)]));
        assert_eq!(code.unwrap().expose(), "c0de");
        for (pairs, expected) in [
            (
                vec![("code", "c0de"), ("state", "forged")],
                RedirectError::WrongState,
            ),
            (vec![("code", "c0de")], RedirectError::WrongState),
            (vec![("state", state.as_str())], RedirectError::NoCode),
            (
                vec![("error", "access_denied"), ("state", state.as_str())],
                RedirectError::Refused {
                    error: "access_denied".into(),
                    description: String::new(),
                },
            ),
        ] {
            assert_eq!(sign_in.code(&redirect_with(&pairs)).err(), Some(expected));
        }
        // Every sign-in has its own state and verifier.
        let again = SignIn::start(&spec, None, &config(), redirect, &redactor).unwrap();
        assert_ne!(again.state, sign_in.state);
        assert_ne!(again.verifier, sign_in.verifier);
    }

    #[test]
    fn sign_in_needs_an_authorization_endpoint_among_the_allowed_hosts() {
        let redactor = Redactor::default();
        let redirect = "http://127.0.0.1:8749/callback";
        let elsewhere = spec(
            "https://login.other.test/authorize",
            "https://{subdomain}.example.com",
        );
        let err = SignIn::start(&elsewhere, None, &config(), redirect, &redactor).unwrap_err();
        assert!(matches!(err, ConnectorError::Refused(_)), "{err}");
        let mut none = spec(
            "https://{subdomain}.example.com/a",
            "https://{subdomain}.example.com",
        );
        if let AuthKind::OAuth2RefreshToken(oauth) = &mut none.auth_schemes[0].kind {
            oauth.authorize_url = None;
        }
        let err = SignIn::start(&none, None, &config(), redirect, &redactor).unwrap_err();
        assert!(matches!(err, ConnectorError::Config(_)), "{err}");
        let smuggled = json!({"subdomain": "evil.test/x", "client_id": "c", "client_secret": "s"});
        let ok = spec(
            "https://{subdomain}.example.com/a",
            "https://{subdomain}.example.com",
        );
        let err = SignIn::start(&ok, None, &smuggled, redirect, &redactor).unwrap_err();
        assert!(matches!(err, ConnectorError::Config(_)), "{err}");
    }

    #[test]
    fn the_code_challenge_is_rfc_7636s_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
