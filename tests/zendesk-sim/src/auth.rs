//! Authentication: API tokens (HTTP Basic) and OAuth bearer tokens with rotating refresh tokens.

use std::collections::HashMap;

use base64::Engine as _;
use sha2::Digest as _;

use crate::model::{Account, Role};
use crate::rng::Draw;

/// An email and API token pair: `Authorization: Basic base64("{email}/token:{api_token}")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user's email.
    pub email: String,
    /// The account's API token.
    pub api_token: String,
}

impl Credentials {
    /// The value of the `Authorization` header for these credentials.
    pub fn authorization(&self) -> String {
        let raw = format!("{}/token:{}", self.email, self.api_token);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// An OAuth client registered on an account, with the refresh token it was first given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    /// The client's identifier (`client_id`).
    pub client_id: String,
    /// The client's secret (`client_secret`).
    pub client_secret: String,
    /// A refresh token issued to the admin at start; it stops working once used.
    pub refresh_token: String,
}

/// Who a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No credentials were sent.
    Anonymous,
    /// A user, by index in the account's users, with the scopes of its credentials.
    User {
        /// Index of the user.
        index: usize,
        /// Whether the credentials allow reading (API tokens always do).
        can_read: bool,
    },
}

/// Why a request is not authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// Bad Basic credentials, or token access disabled: `Couldn't authenticate you`.
    Basic,
    /// Unknown, expired or revoked OAuth access token: `invalid_token`.
    Bearer,
}

#[derive(Clone, Debug)]
struct AccessToken {
    user: usize,
    expires_ms: i64,
    scopes: String,
}

/// An authorization code issued at sign-in, until it is exchanged.
#[derive(Clone, Debug)]
struct AuthorizationCode {
    user: usize,
    redirect_uri: String,
    scopes: String,
    challenge: Option<String>,
    expires_ms: i64,
    /// Whether it was exchanged already.
    used: bool,
    /// The tokens it was exchanged for, until a second exchange revokes them.
    issued: Option<(String, Option<String>)>,
}

/// What a sign-in asks for (`GET /oauth/authorizations/new`).
#[derive(Clone, Debug)]
pub(crate) struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub challenge: Option<&'a str>,
}

#[derive(Clone, Debug)]
struct RefreshToken {
    user: usize,
    expires_ms: i64,
    scopes: String,
    access: String,
}

/// A newly issued token pair, as the token endpoint reports it.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: String,
}

/// Why a grant was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GrantError {
    /// `invalid_client`: unknown client or wrong secret.
    InvalidClient,
    /// `invalid_grant`: unknown, used or expired refresh token.
    InvalidGrant,
}

/// The secrets of one account: its API token, OAuth client and issued OAuth tokens.
#[derive(Debug)]
pub(crate) struct Secrets {
    pub api_token: String,
    pub client: OAuthClient,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    codes: HashMap<String, AuthorizationCode>,
    draw: Draw,
}

const D_SECRETS: u64 = 0x5EC2E7;

impl Secrets {
    /// Secrets for an account, derived from its seed; an initial refresh token is issued to
    /// the admin, valid for `refresh_ttl_ms` from `now_ms`.
    pub(crate) fn new(account: &Account, now_ms: i64, refresh_ttl_ms: i64) -> Secrets {
        let mut draw = Draw::new(account.seed, D_SECRETS, 0);
        let api_token = token(&mut draw, 40);
        let client = OAuthClient {
            client_id: format!("zdsim_{}", account.name),
            client_secret: token(&mut draw, 64),
            refresh_token: String::new(),
        };
        let mut secrets = Secrets {
            api_token,
            client,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            draw,
        };
        let issued = secrets.issue(0, "read write".to_string(), true, now_ms, 0, refresh_ttl_ms);
        secrets.client.refresh_token = issued.refresh_token.unwrap_or_default();
        secrets
    }

    /// Issues an access token (and a refresh token when `with_refresh`) for user `user`.
    fn issue(
        &mut self,
        user: usize,
        scopes: String,
        with_refresh: bool,
        now_ms: i64,
        access_ttl_ms: i64,
        refresh_ttl_ms: i64,
    ) -> Issued {
        let access_token = token(&mut self.draw, 64);
        self.access.insert(
            access_token.clone(),
            AccessToken {
                user,
                expires_ms: now_ms + access_ttl_ms,
                scopes: scopes.clone(),
            },
        );
        let refresh_token = with_refresh.then(|| {
            let refresh = token(&mut self.draw, 64);
            self.refresh.insert(
                refresh.clone(),
                RefreshToken {
                    user,
                    expires_ms: now_ms + refresh_ttl_ms,
                    scopes: scopes.clone(),
                    access: access_token.clone(),
                },
            );
            refresh
        });
        Issued {
            access_token,
            refresh_token,
            scopes,
        }
    }

    fn check_client(&self, client_id: &str, client_secret: &str) -> Result<(), GrantError> {
        if client_id == self.client.client_id && client_secret == self.client.client_secret {
            Ok(())
        } else {
            Err(GrantError::InvalidClient)
        }
    }

    /// The `client_credentials` grant: an access token for the admin, no refresh token.
    pub(crate) fn client_credentials(
        &mut self,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
        now_ms: i64,
        access_ttl_ms: i64,
    ) -> Result<Issued, GrantError> {
        self.check_client(client_id, client_secret)?;
        let scopes = scope.unwrap_or("read write").to_string();
        Ok(self.issue(0, scopes, false, now_ms, access_ttl_ms, 0))
    }

    /// The `refresh_token` grant: a new pair; the old refresh token and its access token stop
    /// working.
    pub(crate) fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        now_ms: i64,
        access_ttl_ms: i64,
        refresh_ttl_ms: i64,
    ) -> Result<Issued, GrantError> {
        self.check_client(client_id, client_secret)?;
        let old = self
            .refresh
            .remove(refresh_token)
            .ok_or(GrantError::InvalidGrant)?;
        self.access.remove(&old.access);
        if old.expires_ms <= now_ms {
            return Err(GrantError::InvalidGrant);
        }
        Ok(self.issue(
            old.user,
            old.scopes,
            true,
            now_ms,
            access_ttl_ms,
            refresh_ttl_ms,
        ))
    }

    /// Whether `redirect_uri` is one of the client's redirect URLs. The
    /// client registered `http://127.0.0.1/callback` and
    /// `http://localhost/callback`; loopback redirects match on any port
    /// (RFC 8252 §7.3), everything else must be equal.
    pub(crate) fn redirect_allowed(&self, redirect_uri: &str) -> bool {
        let Ok(url) = url::Url::parse(redirect_uri) else {
            return false;
        };
        url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "localhost"))
            && url.path() == "/callback"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
    }

    /// Issues a code for the signed-in admin, valid until `expires_ms`,
    /// once the client and its redirect URL are known.
    pub(crate) fn authorize(
        &mut self,
        request: &AuthorizationRequest,
        expires_ms: i64,
    ) -> Option<String> {
        if request.client_id != self.client.client_id
            || !self.redirect_allowed(request.redirect_uri)
        {
            return None;
        }
        let code = token(&mut self.draw, 40);
        self.codes.insert(
            code.clone(),
            AuthorizationCode {
                user: 0,
                redirect_uri: request.redirect_uri.to_string(),
                scopes: request.scopes.to_string(),
                challenge: request.challenge.map(String::from),
                expires_ms,
                used: false,
                issued: None,
            },
        );
        Some(code)
    }

    /// The `authorization_code` grant: a code is exchanged once, by the
    /// client it was issued to, with the redirect URL and (when the sign-in
    /// sent a challenge) the PKCE verifier of its request. A second
    /// exchange fails and revokes the tokens of the first (RFC 6749 §4.1.2).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now_ms: i64,
        access_ttl_ms: i64,
        refresh_ttl_ms: i64,
    ) -> Result<Issued, GrantError> {
        self.check_client(client_id, client_secret)?;
        let grant = self.codes.get_mut(code).ok_or(GrantError::InvalidGrant)?;
        if grant.used {
            if let Some((access, refresh)) = grant.issued.take() {
                self.access.remove(&access);
                if let Some(refresh) = refresh {
                    self.refresh.remove(&refresh);
                }
            }
            return Err(GrantError::InvalidGrant);
        }
        if grant.expires_ms <= now_ms || redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(GrantError::InvalidGrant);
        }
        if let Some(challenge) = &grant.challenge {
            let proof = verifier.map(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(v.as_bytes()))
            });
            if proof.as_deref() != Some(challenge.as_str()) {
                return Err(GrantError::InvalidGrant);
            }
        }
        let (user, scopes) = (grant.user, grant.scopes.clone());
        let issued = self.issue(user, scopes, true, now_ms, access_ttl_ms, refresh_ttl_ms);
        if let Some(grant) = self.codes.get_mut(code) {
            grant.used = true;
            grant.issued = Some((issued.access_token.clone(), issued.refresh_token.clone()));
        }
        Ok(issued)
    }

    /// Authenticates the `Authorization` header of a request to `account` at `now_ms`.
    pub(crate) fn authenticate(
        &self,
        account: &Account,
        header: Option<&str>,
        token_access: bool,
        now_ms: i64,
    ) -> Result<Caller, AuthError> {
        let Some(header) = header.map(str::trim) else {
            return Ok(Caller::Anonymous);
        };
        let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let token = self
                .access
                .get(value)
                .filter(|t| t.expires_ms > now_ms)
                .ok_or(AuthError::Bearer)?;
            return active(account, token.user, AuthError::Bearer).map(|index| Caller::User {
                index,
                can_read: token.scopes.split([' ', ',']).any(|s| s == "read"),
            });
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::Basic);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(AuthError::Basic)?;
        let (user, secret) = decoded.split_once(':').ok_or(AuthError::Basic)?;
        let email = user.strip_suffix("/token").ok_or(AuthError::Basic)?;
        if !token_access || secret != self.api_token {
            return Err(AuthError::Basic);
        }
        let index = account
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email))
            .ok_or(AuthError::Basic)?;
        active(account, index, AuthError::Basic).map(|index| Caller::User {
            index,
            can_read: true,
        })
    }

    /// Credentials of the first active user matching `pick`.
    pub(crate) fn credentials(
        &self,
        account: &Account,
        pick: impl Fn(&crate::model::User) -> bool,
    ) -> Credentials {
        let user = account
            .users
            .iter()
            .find(|u| u.active && pick(u))
            .unwrap_or(&account.users[0]);
        Credentials {
            email: user.email.clone(),
            api_token: self.api_token.clone(),
        }
    }
}

/// The user at `index` if it can sign in (deleted users cannot).
fn active(account: &Account, index: usize, err: AuthError) -> Result<usize, AuthError> {
    match account.users.get(index) {
        Some(u) if u.active => Ok(index),
        _ => Err(err),
    }
}

/// A hex token of `len` characters.
fn token(draw: &mut Draw, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        s.push_str(&format!("{:016x}", draw.next()));
    }
    s.truncate(len);
    s
}

/// Whether a role may use endpoints restricted to agents.
pub(crate) fn is_staff(role: Role) -> bool {
    role != Role::EndUser
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    const REDIRECT: &str = "http://127.0.0.1:8749/callback";
    /// RFC 7636, Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn secrets() -> Secrets {
        let config = SimConfig {
            tickets: 1,
            ..SimConfig::default()
        };
        Secrets::new(&Account::generate("acme", &config, 0), 0, 1_000_000)
    }

    /// A code issued to the client for `REDIRECT` with the PKCE challenge.
    fn code(secrets: &mut Secrets) -> String {
        let client_id = secrets.client.client_id.clone();
        let request = AuthorizationRequest {
            client_id: &client_id,
            redirect_uri: REDIRECT,
            scopes: "read",
            challenge: Some(CHALLENGE),
        };
        secrets.authorize(&request, 120_000).unwrap()
    }

    fn exchange(
        secrets: &mut Secrets,
        code: &str,
        redirect: &str,
        verifier: Option<&str>,
        now_ms: i64,
    ) -> Result<Issued, GrantError> {
        let (id, secret) = (
            secrets.client.client_id.clone(),
            secrets.client.client_secret.clone(),
        );
        secrets.exchange_code(
            &id,
            &secret,
            code,
            Some(redirect),
            verifier,
            now_ms,
            60_000,
            600_000,
        )
    }

    #[test]
    fn only_registered_loopback_redirects_are_accepted_on_any_port() {
        let s = secrets();
        assert!(s.redirect_allowed(REDIRECT));
        assert!(s.redirect_allowed("http://localhost:1/callback"));
        for refused in [
            "https://127.0.0.1:8749/callback",
            "http://127.0.0.1.evil.test/callback",
            "http://127.0.0.1:8749/other",
            "http://127.0.0.1:8749/callback?x=1",
            "http://user@127.0.0.1/callback",
            "not a url",
        ] {
            assert!(!s.redirect_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn a_code_is_exchanged_once_with_its_verifier_and_redirect_before_it_expires() {
        let mut s = secrets();
        let wrong_verifier = code(&mut s);
        assert_eq!(
            exchange(&mut s, &wrong_verifier, REDIRECT, Some("guessed"), 1).err(),
            Some(GrantError::InvalidGrant)
        );
        assert_eq!(
            exchange(&mut s, &wrong_verifier, REDIRECT, None, 1).err(),
            Some(GrantError::InvalidGrant)
        );
        let wrong_redirect = code(&mut s);
        let other = "http://127.0.0.1:1/callback";
        assert!(exchange(&mut s, &wrong_redirect, other, Some(VERIFIER), 1).is_err());
        let late = code(&mut s);
        assert!(exchange(&mut s, &late, REDIRECT, Some(VERIFIER), 120_000).is_err());

        let good = code(&mut s);
        let issued = exchange(&mut s, &good, REDIRECT, Some(VERIFIER), 1).unwrap();
        let refresh = issued.refresh_token.clone().unwrap();
        assert!(s.access.contains_key(&issued.access_token));
        // A second exchange fails and revokes what the first one issued.
        assert!(exchange(&mut s, &good, REDIRECT, Some(VERIFIER), 2).is_err());
        assert!(!s.access.contains_key(&issued.access_token));
        assert!(!s.refresh.contains_key(&refresh));
        assert!(exchange(&mut s, &good, REDIRECT, Some(VERIFIER), 3).is_err());
    }
}
