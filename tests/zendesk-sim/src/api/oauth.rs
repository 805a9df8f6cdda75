//! `POST /oauth/tokens`: the `client_credentials` and `refresh_token` grants.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{Reply, Req};
use crate::auth::GrantError;
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
    if !matches!(grant.as_str(), "client_credentials" | "refresh_token") {
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
