//! `check`: one `GET /api/v2/users/me.json`. Zendesk answers 200 with an
//! anonymous user (`id: null`) when no credentials arrive, so the user's id
//! and role are checked: only admins may use the incremental exports.

use serde::Deserialize;

use crate::api::errors::{self, ErrorContext};
use crate::api::{HttpRequestSpec, HttpResponse, Url};
use crate::config::{AuthSchemeId, Config};
use crate::time;
use crate::types::{ConnectorError, Warning};

/// The day Zendesk stops accepting API tokens.
pub const API_TOKEN_RETIREMENT: &str = "2027-04-30";

/// What `check` reads, for messages.
const WHAT: &str = "the connected user (users/me)";

/// The request `check` makes.
pub fn check_request(config: &Config) -> HttpRequestSpec {
    Url::new(&config.base_url(), "/api/v2/users/me.json").get()
}

#[derive(Deserialize)]
struct Me {
    user: User,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    role_type: Option<u32>,
    #[serde(default)]
    restricted_agent: Option<bool>,
}

/// The API-token retirement warning at `now` (Unix seconds).
pub fn token_warning(now: i64) -> Warning {
    let retirement = time::parse_date(API_TOKEN_RETIREMENT).expect("a valid date");
    let days = time::days_until(now, retirement);
    let when = match days {
        d if d > 1 => format!("in {d} days"),
        1 => "tomorrow".to_owned(),
        0 => "today".to_owned(),
        d => format!("{} days ago", -d),
    };
    Warning {
        message: format!(
            "This connection uses an API token: Zendesk retires API tokens on {API_TOKEN_RETIREMENT} ({when}), after which every token stops working. Switch the connection to OAuth (scheme oauth_refresh_token or oauth_client_credentials) before then."
        ),
    }
}

/// Judges the answer to [`check_request`] at `now` (Unix seconds).
pub fn handle_check_response(
    config: &Config,
    response: &HttpResponse,
    now: i64,
) -> Result<Vec<Warning>, ConnectorError> {
    if !(200..300).contains(&response.status) {
        let context = ErrorContext {
            subdomain: &config.subdomain,
            auth: config.auth,
            what: WHAT,
        };
        return Err(errors::classify(response, &context));
    }
    let me: Me =
        serde_json::from_slice(&response.body).map_err(|e| errors::unreadable(WHAT, &e))?;
    let user = me.user;
    if user.id.is_none() {
        let advice = match config.auth {
            AuthSchemeId::ApiToken => "check the email and the API token, and that token access is enabled in Admin Center > Apps and integrations > APIs",
            _ => "reconnect the OAuth client to obtain new tokens",
        };
        return Err(ConnectorError::Auth(format!(
            "Zendesk answered as an anonymous user: the credentials were not sent or not recognised. {advice}."
        )));
    }
    let role = user.role.as_deref().unwrap_or("unknown");
    match role {
        "admin" => {}
        "agent" => {
            let who = if user.role_type == Some(1) {
                "a light agent"
            } else {
                "an agent"
            };
            return Err(ConnectorError::Permission(format!(
                "The credentials belong to {who}: light agents and agents cannot use the incremental exports this connector reads. Connect with an admin's credentials."
            )));
        }
        other => {
            return Err(ConnectorError::Permission(format!(
                "The credentials belong to a user with role \"{other}\": only admins can use the incremental exports. Connect with an admin's credentials."
            )));
        }
    }
    let mut warnings = Vec::new();
    if user.restricted_agent == Some(true) {
        warnings.push(Warning {
            message: "This admin is restricted to some brands or groups: Zendesk returns only part of the account's data. Connect with an unrestricted admin to import everything.".to_owned(),
        });
    }
    if config.auth == AuthSchemeId::ApiToken {
        warnings.push(token_warning(now));
    }
    Ok(warnings)
}
