//! `POST /oauth/tokens`: the `authorization_code` (with PKCE),
//! `client_credentials` and `refresh_token` grants; and
//! `GET /oauth/authorizations/new`, the sign-in page of the authorization-code
//! grant, where the simulated admin is signed in and allows access at once.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{Reply, Req};
use crate::auth::{AuthorizationRequest, GrantError};
use crate::state::{lock, AccountState, Shared};

/// The request's parameters, from a JSON or a form body.
fn params(req: &Req) -> Vec<(String, String)> {
    let json = req
        .content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if json {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect()
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::error(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Client credentials from the body, or else from HTTP Basic authentication.
fn client(req: &Req, get: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (get("client_id"), get("client_secret")) {
        return Some((id, secret));
    }
    let header = req.authorization.as_deref()?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Answers the token endpoint.
pub(super) fn tokens(shared: &Shared, account: &AccountState, req: &Req) -> Reply {
    let params = params(req);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(grant) = get("grant_type") else {
        return invalid_request();
    };
    if !matches!(
        grant.as_str(),
        "authorization_code" | "client_credentials" | "refresh_token"
    ) {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    let Some((client_id, client_secret)) = client(req, &get) else {
        return invalid_client();
    };
    let clock = &shared.clock;
    let now_ms = clock.now_ms();
    // Lifetimes asked for in the request are real seconds, like every duration told to clients.
    let ttl = |param: &str, default_secs: u64| {
        get(param)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|real| clock.sim_ms_for_real_secs(real))
            .unwrap_or(default_secs as i64 * 1000)
    };
    let access_ttl = ttl("expires_in", shared.access_ttl_secs);
    let refresh_ttl = ttl("refresh_token_expires_in", shared.refresh_ttl_secs);
    let mut secrets = lock(&account.secrets);
    let issued = match grant.as_str() {
        "authorization_code" => {
            let Some(code) = get("code") else {
                return invalid_request();
            };
            secrets.exchange_code(
                &client_id,
                &client_secret,
                &code,
                get("redirect_uri").as_deref(),
                get("code_verifier").as_deref(),
                now_ms,
                access_ttl,
                refresh_ttl,
            )
        }
        "refresh_token" => {
            let Some(refresh) = get("refresh_token") else {
                return invalid_request();
            };
            secrets.refresh(
                &client_id,
                &client_secret,
                &refresh,
                now_ms,
                access_ttl,
                refresh_ttl,
            )
        }
        _ => secrets.client_credentials(
            &client_id,
            &client_secret,
            get("scope").as_deref(),
            now_ms,
            access_ttl,
        ),
    };
    match issued {
        Ok(issued) => {
            let mut body = json!({
                "access_token": issued.access_token,
                "token_type": "bearer",
                "scope": issued.scopes,
                "expires_in": clock.real_secs_ceil(access_ttl),
            });
            if let Some(refresh) = issued.refresh_token {
                body["refresh_token"] = json!(refresh);
                body["refresh_token_expires_in"] = json!(clock.real_secs_ceil(refresh_ttl));
            }
            Reply::json(200, &body)
        }
        Err(GrantError::InvalidClient) => invalid_client(),
        Err(GrantError::InvalidGrant) => oauth_error(
            400,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        ),
    }
}

fn invalid_request() -> Reply {
    oauth_error(
        400,
        "invalid_request",
        "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.",
    )
}

fn invalid_client() -> Reply {
    oauth_error(
        401,
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
    )
}

/// How long a sign-in's code may wait for its exchange, in real seconds.
const CODE_LIFETIME_SECS: u64 = 120;

/// Answers the sign-in page: an unknown client or redirect URL gets an
/// error page (never a redirect, RFC 6749 §4.1.2.1); other mistakes are
/// redirected with their error; a valid request is redirected with a code
/// and the request's `state`.
pub(super) fn authorize(shared: &Shared, account: &AccountState, req: &Req) -> Reply {
    let param = |name: &str| req.param(name).filter(|v| !v.is_empty());
    let (Some(client_id), Some(redirect_uri)) = (param("client_id"), param("redirect_uri")) else {
        return Reply::html(400, SIGN_IN_ERROR);
    };
    let mut secrets = lock(&account.secrets);
    if client_id != secrets.client.client_id || !secrets.redirect_allowed(redirect_uri) {
        return Reply::html(400, SIGN_IN_ERROR);
    }
    let mut answer = vec![];
    match (param("response_type"), param("code_challenge_method")) {
        (Some("code"), None | Some("S256")) if param("scope").is_some() => {
            let request = AuthorizationRequest {
                client_id,
                redirect_uri,
                scopes: param("scope").unwrap_or_default(),
                challenge: param("code_challenge"),
            };
            let expires =
                shared.clock.now_ms() + shared.clock.sim_ms_for_real_secs(CODE_LIFETIME_SECS);
            match secrets.authorize(&request, expires) {
                Some(code) => answer.push(("code", code)),
                None => return Reply::html(400, SIGN_IN_ERROR),
            }
        }
        (Some("code"), _) => {
            answer.push(("error", "invalid_request".to_string()));
            answer.push((
                "error_description",
                "The request is missing a required parameter (scope) or has an unsupported code_challenge_method (use S256).".to_string(),
            ));
        }
        _ => answer.push(("error", "unsupported_response_type".to_string())),
    }
    if let Some(state) = req.param("state") {
        answer.push(("state", state.to_string()));
    }
    let mut location = url::Url::parse(redirect_uri).expect("checked above");
    location.query_pairs_mut().extend_pairs(answer);
    let mut reply = Reply::html(302, "<html><body>You are being redirected.</body></html>");
    reply.headers.push(("location", location.into()));
    reply
}

/// The page an invalid sign-in request shows instead of redirecting.
const SIGN_IN_ERROR: &str =
    "<!DOCTYPE html><html><head><title>Invalid authorization request</title></head>\
<body><h1>Invalid authorization request</h1>\
<p>The client or its redirect URL is not registered on this account.</p></body></html>";
