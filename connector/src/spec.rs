//! `spec`: the config schema, the authentication schemes the host applies on
//! the connector's behalf, and the one origin the connector talks to.

use crate::config::AuthSchemeId;
use crate::types::{AuthKind, AuthScheme, ConnectorSpec, OAuth2};

/// The connector's machine name.
pub const NAME: &str = "zendesk-support";

/// JSON Schema of the config object; secret fields carry `"x-secret": true`.
pub const CONFIG_SCHEMA: &str = include_str!("spec/config.schema.json");

/// Zendesk's token endpoint, as a host template.
const TOKEN_URL: &str = "https://{subdomain}.zendesk.com/oauth/tokens";

/// Zendesk's authorization page of the authorization-code grant, as a host
/// template.
const AUTHORIZE_URL: &str = "https://{subdomain}.zendesk.com/oauth/authorizations/new";

/// The OAuth client settings shared by both OAuth schemes.
fn oauth(refresh_token_field: Option<&str>) -> OAuth2 {
    OAuth2 {
        token_url: TOKEN_URL.to_owned(),
        // Sign-in yields a refresh token; client credentials need none.
        authorize_url: refresh_token_field.map(|_| AUTHORIZE_URL.to_owned()),
        client_id_field: "oauth_client_id".to_owned(),
        client_secret_field: "oauth_client_secret".to_owned(),
        refresh_token_field: refresh_token_field.map(str::to_owned),
        access_token_field: Some("oauth_access_token".to_owned()),
        scopes: "read".to_owned(),
    }
}

/// The authentication scheme with this id, as declared to the host.
pub fn auth_scheme(id: AuthSchemeId) -> AuthScheme {
    let (description, kind) = match id {
        AuthSchemeId::OAuthRefreshToken => (
            "OAuth: an access token refreshed with a refresh token (scope read); Zendesk rotates the refresh token on every refresh",
            AuthKind::OAuth2RefreshToken(oauth(Some("oauth_refresh_token"))),
        ),
        AuthSchemeId::OAuthClientCredentials => (
            "OAuth client credentials of a confidential client (scope read)",
            AuthKind::OAuth2ClientCredentials(oauth(None)),
        ),
        AuthSchemeId::ApiToken => (
            "An admin's email and API token (read-only use); Zendesk retires API tokens on 2027-04-30",
            AuthKind::Basic("{email}/token:{api_token}".to_owned()),
        ),
    };
    AuthScheme {
        id: id.as_str().to_owned(),
        description: description.to_owned(),
        required_fields: id
            .required_fields()
            .iter()
            .map(|f| (*f).to_owned())
            .collect(),
        kind,
    }
}

/// The connector's spec. Pure: no I/O, no config.
pub fn spec() -> ConnectorSpec {
    ConnectorSpec {
        name: NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        description:
            "Zendesk Support: tickets, comments, users, organizations and their reference data"
                .to_owned(),
        config_schema: CONFIG_SCHEMA.to_owned(),
        auth_schemes: AuthSchemeId::ALL.into_iter().map(auth_scheme).collect(),
        allowed_hosts: vec!["https://{subdomain}.zendesk.com".to_owned()],
        disconnect_advice: "in Zendesk Admin Center > Apps and integrations > APIs, delete the \
                            API token (Zendesk API > Settings) or revoke the OAuth client's \
                            grant (OAuth Clients)"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn secrets_are_marked_and_schemes_name_existing_fields() {
        let schema: Value = serde_json::from_str(CONFIG_SCHEMA).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        for secret in [
            "api_token",
            "oauth_client_secret",
            "oauth_refresh_token",
            "oauth_access_token",
        ] {
            assert_eq!(properties[secret]["x-secret"], true, "{secret}");
        }
        for field in ["subdomain", "email", "oauth_client_id", "start_date"] {
            assert!(properties[field].get("x-secret").is_none(), "{field}");
        }
        let spec = spec();
        assert_eq!(spec.auth_schemes[0].id, "oauth_refresh_token");
        for scheme in &spec.auth_schemes {
            for field in &scheme.required_fields {
                assert!(properties.contains_key(field), "{field}");
            }
        }
        let api = spec
            .auth_schemes
            .iter()
            .find(|s| s.id == "api_token")
            .unwrap();
        assert_eq!(
            api.kind,
            AuthKind::Basic("{email}/token:{api_token}".into())
        );
        let AuthKind::OAuth2RefreshToken(oauth) = &spec.auth_schemes[0].kind else {
            panic!("first scheme is not the refresh-token one");
        };
        assert_eq!(
            oauth.token_url,
            "https://{subdomain}.zendesk.com/oauth/tokens"
        );
        assert_eq!(oauth.scopes, "read");
        assert_eq!(spec.allowed_hosts, vec!["https://{subdomain}.zendesk.com"]);
    }
}
