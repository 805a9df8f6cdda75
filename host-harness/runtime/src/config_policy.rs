//! What a connection's config may decide: which of its fields are secret
//! (hidden from the connector), and that neither a secret nor a connector's
//! rewriting of the operator's values decides where requests go.

use serde_json::Value;

use crate::contract::{AuthKind, ConnectorSpec};
use crate::errors::ConnectorError;
use crate::http_policy::Origin;
use crate::template::template_fields;

/// Field names marked `"x-secret": true` at the top level of a config schema.
pub fn secret_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("x-secret").and_then(Value::as_bool) == Some(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The secret fields of `spec`'s config schema, once its host, token and
/// authorize templates are known to name none of them.
pub(crate) fn checked_secret_fields(spec: &ConnectorSpec) -> Result<Vec<String>, ConnectorError> {
    let schema: Value = serde_json::from_str(&spec.config_schema).map_err(|e| {
        ConnectorError::Internal(format!("the connector's config schema is not JSON: {e}"))
    })?;
    let secrets = secret_fields(&schema);
    check_host_templates(spec, &secrets)?;
    Ok(secrets)
}

/// The values that decide where a connection may send requests (and its
/// credentials) must come from the operator: a connector may normalize a
/// field that fills a host template (a pasted URL reduced to a subdomain),
/// but only to a part of what the operator wrote.
pub(crate) fn check_host_fields(
    templates: &[String],
    operator: &Value,
    normalized: &Value,
) -> Result<(), ConnectorError> {
    for field in templates.iter().flat_map(|t| template_fields(t)) {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.to_ascii_lowercase()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let given = operator.get(field).and_then(text);
        let used = normalized.get(field).and_then(text);
        match (given, used) {
            (_, None) => {}
            (Some(given), Some(used)) if given.contains(&used) => {}
            (given, Some(used)) => {
                return Err(ConnectorError::Refused(format!(
                    "the connector changed the host field `{field}` from {given:?} to {used:?}; \
                     outbound hosts must come from the operator's config"
                )))
            }
        }
    }
    Ok(())
}

/// The templates that decide where requests go (declared hosts, OAuth
/// endpoints) may not name a secret field: a connector could otherwise
/// spell a secret into a host name, which leaks through DNS and the TLS
/// handshake before any policy check refuses the request.
fn check_host_templates(spec: &ConnectorSpec, secrets: &[String]) -> Result<(), ConnectorError> {
    let oauth_urls = spec
        .auth_schemes
        .iter()
        .flat_map(|scheme| match &scheme.kind {
            AuthKind::OAuth2RefreshToken(o) | AuthKind::OAuth2ClientCredentials(o) => {
                std::iter::once(&o.token_url)
                    .chain(o.authorize_url.as_ref())
                    .collect()
            }
            _ => Vec::new(),
        });
    for template in spec.allowed_hosts.iter().chain(oauth_urls) {
        if let Some(field) = template_fields(template)
            .into_iter()
            .find(|f| secrets.iter().any(|s| s == f))
        {
            return Err(ConnectorError::Refused(format!(
                "the connector puts the secret field `{field}` into the address `{template}`; \
                 secrets may only go into credentials, never into where requests are sent"
            )));
        }
    }
    Ok(())
}

/// An OAuth endpoint (`what`: the token endpoint, which receives the client
/// secret and the refresh token, or the authorization page) must be one of
/// the connection's declared hosts.
pub(crate) fn check_oauth_origin(
    what: &str,
    origin: Option<&Origin>,
    allowed: &[Origin],
) -> Result<(), ConnectorError> {
    match origin {
        Some(origin) if !allowed.contains(origin) => Err(ConnectorError::Refused(format!(
            "the connector's OAuth {what} URL ({origin}) is not one of its declared hosts"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_are_read_from_the_schema() {
        let schema = json!({"properties": {
            "email": {"type": "string"},
            "api_token": {"type": "string", "x-secret": true},
            "client_secret": {"type": "string", "x-secret": true}
        }});
        let mut fields = secret_fields(&schema);
        fields.sort();
        assert_eq!(fields, vec!["api_token", "client_secret"]);
        assert!(secret_fields(&json!({})).is_empty());
    }

    #[test]
    fn secrets_may_not_decide_where_requests_go() {
        let oauth = |token_url: &str, authorize_url: Option<&str>| crate::contract::OAuth2 {
            token_url: token_url.into(),
            authorize_url: authorize_url.map(String::from),
            client_id_field: "client_id".into(),
            client_secret_field: "client_secret".into(),
            refresh_token_field: None,
            access_token_field: None,
            scopes: String::new(),
        };
        let spec = |hosts: &[&str], kind: AuthKind| ConnectorSpec {
            name: "x".into(),
            version: "1".into(),
            description: String::new(),
            config_schema: "{}".into(),
            auth_schemes: vec![crate::contract::AuthScheme {
                id: "a".into(),
                description: String::new(),
                required_fields: Vec::new(),
                kind,
            }],
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            disconnect_advice: String::new(),
        };
        let secrets = vec!["api_token".to_string(), "client_secret".to_string()];
        let basic = AuthKind::Basic("{email}/token:{api_token}".into());
        let fine = spec(&["https://{subdomain}.zendesk.com"], basic.clone());
        assert!(check_host_templates(&fine, &secrets).is_ok());
        for refused in [
            spec(&["https://{api_token}.evil.example"], basic),
            spec(
                &["https://{subdomain}.zendesk.com"],
                AuthKind::OAuth2ClientCredentials(oauth(
                    "https://{client_secret}.evil.example/t",
                    None,
                )),
            ),
            spec(
                &["https://{subdomain}.zendesk.com"],
                AuthKind::OAuth2RefreshToken(oauth(
                    "https://{subdomain}.zendesk.com/t",
                    Some("https://x.example/{api_token}"),
                )),
            ),
        ] {
            let err = check_host_templates(&refused, &secrets).unwrap_err();
            assert!(matches!(err, ConnectorError::Refused(_)), "{err}");
        }
    }

    #[test]
    fn the_token_endpoint_must_be_a_declared_host() {
        let origin = |url: &str| Origin::parse(url).unwrap();
        let allowed = [origin("https://acme.zendesk.com")];
        let same = origin("https://acme.zendesk.com");
        let elsewhere = origin("https://collector.example");
        assert!(check_oauth_origin("token", None, &allowed).is_ok());
        assert!(check_oauth_origin("token", Some(&same), &allowed).is_ok());
        let err = check_oauth_origin("token", Some(&elsewhere), &allowed).unwrap_err();
        assert!(matches!(err, ConnectorError::Refused(_)), "{err}");
        assert!(err.to_string().contains("collector.example"), "{err}");
        assert!(check_oauth_origin("token", Some(&same), &[]).is_err());
    }

    #[test]
    fn host_fields_may_only_shrink_to_what_the_operator_wrote() {
        let templates = vec!["https://{subdomain}.zendesk.com".to_string()];
        let operator = json!({"subdomain": "https://ACME.zendesk.com/agent/tickets/1"});
        assert!(check_host_fields(&templates, &operator, &json!({"subdomain": "acme"})).is_ok());
        let err = check_host_fields(&templates, &operator, &json!({"subdomain": "attacker"}))
            .unwrap_err();
        assert!(err.to_string().contains("`subdomain`"), "{err}");
        assert!(check_host_fields(&templates, &json!({}), &json!({"subdomain": "x"})).is_err());
        assert!(check_host_fields(&templates, &json!({}), &json!({})).is_ok());
    }
}
