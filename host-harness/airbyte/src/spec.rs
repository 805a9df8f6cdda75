//! The component's spec as Airbyte's: its config schema with the auth
//! schemes as a `oneOf` under `credentials` (chosen by `auth_type`),
//! secrets marked `airbyte_secret`, OAuth advertised as `advanced_auth`;
//! and an Airbyte config turned back into the component's flat config.

use connector_runtime::contract::{AuthKind, AuthScheme, ConnectorSpec, OAuth2};
use connector_runtime::ConnectorError;
use serde_json::{json, Map, Value};

/// The config member that holds the chosen auth scheme and its fields.
pub const CREDENTIALS: &str = "credentials";
/// The member of `credentials` naming the scheme.
pub const AUTH_TYPE: &str = "auth_type";

/// The config fields an auth scheme reads, required ones first.
fn scheme_fields(scheme: &AuthScheme) -> Vec<String> {
    let mut fields = scheme.required_fields.clone();
    if let AuthKind::OAuth2RefreshToken(oauth) | AuthKind::OAuth2ClientCredentials(oauth) =
        &scheme.kind
    {
        let optional = [
            Some(&oauth.client_id_field),
            Some(&oauth.client_secret_field),
        ]
        .into_iter()
        .flatten()
        .chain(oauth.refresh_token_field.iter())
        .chain(oauth.access_token_field.iter());
        for field in optional {
            if !fields.contains(field) {
                fields.push(field.clone());
            }
        }
    }
    fields
}

/// A config property for Airbyte: `x-secret` becomes `airbyte_secret`.
fn airbyte_property(property: &Value) -> Value {
    let mut property = property.clone();
    if let Some(object) = property.as_object_mut() {
        if object.remove("x-secret") == Some(Value::Bool(true)) {
            object.insert("airbyte_secret".into(), Value::Bool(true));
        }
    }
    property
}

/// The SPEC message's `spec` for a component's spec.
pub fn airbyte_spec(spec: &ConnectorSpec) -> Result<Value, ConnectorError> {
    let schema: Value = serde_json::from_str(&spec.config_schema).map_err(|e| {
        ConnectorError::Protocol(format!("the connector's config schema is not JSON: {e}"))
    })?;
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let auth_fields: Vec<String> = spec.auth_schemes.iter().flat_map(scheme_fields).collect();

    let mut top = Map::new();
    for (name, property) in properties {
        if !auth_fields.contains(name) {
            top.insert(name.clone(), airbyte_property(property));
        }
    }
    let mut top_required: Vec<String> = required
        .iter()
        .filter(|f| !auth_fields.contains(f))
        .cloned()
        .collect();
    if !spec.auth_schemes.is_empty() {
        let choices: Vec<Value> = spec
            .auth_schemes
            .iter()
            .map(|scheme| {
                let mut members = Map::new();
                members.insert(
                    AUTH_TYPE.into(),
                    json!({"type": "string", "const": scheme.id, "default": scheme.id}),
                );
                for field in scheme_fields(scheme) {
                    let property = properties
                        .get(&field)
                        .map(airbyte_property)
                        .unwrap_or_else(|| json!({"type": "string"}));
                    members.insert(field, property);
                }
                let mut scheme_required = vec![AUTH_TYPE.to_owned()];
                scheme_required.extend(scheme.required_fields.iter().cloned());
                json!({
                    "title": scheme.id,
                    "description": scheme.description,
                    "type": "object",
                    "required": scheme_required,
                    "properties": members,
                })
            })
            .collect();
        top.insert(
            CREDENTIALS.into(),
            json!({"title": "Authentication", "type": "object", "oneOf": choices}),
        );
        top_required.push(CREDENTIALS.into());
    }
    let mut connection = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": schema.get("title").cloned().unwrap_or_else(|| json!(spec.name)),
        "type": "object",
        "required": top_required,
        "properties": top,
    });
    if let Some(description) = schema.get("description") {
        connection["description"] = description.clone();
    }
    let mut out = json!({
        "connectionSpecification": connection,
        "supportsIncremental": true,
        "protocol_version": "0.5.2",
    });
    if let Some((scheme, oauth)) = spec.auth_schemes.iter().find_map(|s| match &s.kind {
        AuthKind::OAuth2RefreshToken(oauth) => Some((s, oauth)),
        _ => None,
    }) {
        out["advanced_auth"] = advanced_auth(scheme, oauth, properties);
    }
    Ok(out)
}

/// How a platform runs the OAuth authorization itself and where it puts
/// what it obtained: the client in `credentials`, the tokens beside it,
/// the token URL's placeholders (e.g. the subdomain) from the config.
fn advanced_auth(scheme: &AuthScheme, oauth: &OAuth2, properties: &Map<String, Value>) -> Value {
    let at =
        |field: &str| json!({"type": "string", "path_in_connector_config": [CREDENTIALS, field]});
    let mut output = Map::new();
    for (name, field) in [
        ("refresh_token", &oauth.refresh_token_field),
        ("access_token", &oauth.access_token_field),
    ] {
        if let Some(field) = field {
            let mut entry = at(field);
            entry["path_in_oauth_response"] = json!([name]);
            output.insert(field.clone(), entry);
        }
    }
    let placeholders: Map<String, Value> = oauth
        .token_url
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| properties.contains_key(*name))
        .map(|name| {
            (
                name.to_owned(),
                json!({"type": "string", "path_in_connector_config": [name]}),
            )
        })
        .collect();
    json!({
        "auth_flow_type": "oauth2.0",
        "predicate_key": [CREDENTIALS, AUTH_TYPE],
        "predicate_value": scheme.id,
        "oauth_config_specification": {
            "oauth_user_input_from_connector_config_specification": {
                "type": "object", "additionalProperties": false, "properties": placeholders,
            },
            "complete_oauth_output_specification": {
                "type": "object", "additionalProperties": false, "properties": output,
            },
            "complete_oauth_server_input_specification": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            },
            "complete_oauth_server_output_specification": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "client_id": at(&oauth.client_id_field),
                    "client_secret": at(&oauth.client_secret_field),
                },
            },
        },
    })
}

/// A config as the component reads it, with the auth scheme chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentConfig {
    /// The flat config, secrets included (the host keeps them).
    pub config: Value,
    /// The scheme `credentials.auth_type` names, if any.
    pub auth_scheme: Option<String>,
}

/// Flatten an Airbyte config: the members of `credentials` join the top
/// level and `auth_type` names the scheme. A config without
/// `credentials` is taken as the component's own (flat) config.
pub fn component_config(airbyte: &Value) -> Result<ComponentConfig, ConnectorError> {
    let Some(object) = airbyte.as_object() else {
        return Err(ConnectorError::config(
            "config",
            "the config must be a JSON object; see the connector's `spec`",
        ));
    };
    let mut flat = object.clone();
    let mut auth_scheme = None;
    match flat.remove(CREDENTIALS) {
        None => {}
        Some(Value::Object(credentials)) => {
            for (name, value) in credentials {
                if name == AUTH_TYPE {
                    auth_scheme = value.as_str().map(String::from);
                } else {
                    flat.insert(name, value);
                }
            }
        }
        Some(_) => {
            return Err(ConnectorError::config(
                CREDENTIALS,
                "must be an object with `auth_type` and the scheme's fields",
            ))
        }
    }
    Ok(ComponentConfig {
        config: Value::Object(flat),
        auth_scheme,
    })
}

/// Where the refresh token of an OAuth scheme sits in an Airbyte config:
/// in `credentials` when the config has that member, else at the top.
pub fn refresh_token_path(airbyte: &Value, scheme: &AuthScheme) -> Option<Vec<String>> {
    let AuthKind::OAuth2RefreshToken(oauth) = &scheme.kind else {
        return None;
    };
    let field = oauth.refresh_token_field.clone()?;
    Some(if airbyte.get(CREDENTIALS).is_some() {
        vec![CREDENTIALS.to_owned(), field]
    } else {
        vec![field]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme(id: &str, kind: AuthKind, required: &[&str]) -> AuthScheme {
        AuthScheme {
            id: id.into(),
            description: format!("{id} scheme"),
            required_fields: required.iter().map(|f| (*f).into()).collect(),
            kind,
        }
    }

    fn oauth() -> OAuth2 {
        OAuth2 {
            token_url: "https://{subdomain}.example.com/oauth/tokens".into(),
            authorize_url: None,
            client_id_field: "client_id".into(),
            client_secret_field: "client_secret".into(),
            refresh_token_field: Some("refresh_token".into()),
            access_token_field: None,
            scopes: "read".into(),
        }
    }

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "example".into(),
            version: "1.0.0".into(),
            description: "An example".into(),
            config_schema: json!({
                "title": "Example", "type": "object", "required": ["subdomain"],
                "properties": {
                    "subdomain": {"type": "string"},
                    "email": {"type": "string"},
                    "api_token": {"type": "string", "x-secret": true},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string", "x-secret": true},
                    "refresh_token": {"type": "string", "x-secret": true},
                    "start_date": {"type": "string"},
                }
            })
            .to_string(),
            auth_schemes: vec![
                scheme(
                    "oauth",
                    AuthKind::OAuth2RefreshToken(oauth()),
                    &["client_id", "client_secret", "refresh_token"],
                ),
                scheme(
                    "api_token",
                    AuthKind::Basic("{email}/token:{api_token}".into()),
                    &["email", "api_token"],
                ),
            ],
            allowed_hosts: vec!["https://{subdomain}.example.com".into()],
            disconnect_advice: String::new(),
        }
    }

    #[test]
    fn auth_schemes_become_a_one_of_under_credentials_with_secrets_marked() {
        let out = airbyte_spec(&spec()).unwrap();
        let connection = &out["connectionSpecification"];
        assert_eq!(connection["required"], json!(["subdomain", "credentials"]));
        let top = connection["properties"].as_object().unwrap();
        assert!(top.contains_key("start_date") && !top.contains_key("api_token"));
        let choices = connection["properties"]["credentials"]["oneOf"]
            .as_array()
            .unwrap();
        assert_eq!(choices.len(), 2);
        let token = &choices[1];
        assert_eq!(token["properties"]["auth_type"]["const"], "api_token");
        assert_eq!(
            token["required"],
            json!(["auth_type", "email", "api_token"])
        );
        assert_eq!(token["properties"]["api_token"]["airbyte_secret"], true);
        assert!(token["properties"]["api_token"].get("x-secret").is_none());
        let auth = &out["advanced_auth"];
        assert_eq!(auth["predicate_value"], "oauth");
        let config = &auth["oauth_config_specification"];
        assert_eq!(
            config["complete_oauth_output_specification"]["properties"]["refresh_token"]
                ["path_in_connector_config"],
            json!(["credentials", "refresh_token"])
        );
        assert_eq!(
            config["oauth_user_input_from_connector_config_specification"]["properties"]
                ["subdomain"]["path_in_connector_config"],
            json!(["subdomain"])
        );
    }

    #[test]
    fn an_airbyte_config_flattens_to_the_components_and_names_its_scheme() {
        let airbyte = json!({
            "subdomain": "acme",
            "credentials": {"auth_type": "api_token", "email": "a@acme.com", "api_token": "t"},
        });
        let flat = component_config(&airbyte).unwrap();
        assert_eq!(flat.auth_scheme.as_deref(), Some("api_token"));
        assert_eq!(
            flat.config,
            json!({"subdomain": "acme", "email": "a@acme.com", "api_token": "t"})
        );
        let plain = json!({"subdomain": "acme", "email": "a@acme.com"});
        assert_eq!(component_config(&plain).unwrap().config, plain);
        assert!(matches!(
            component_config(&json!({"credentials": "x"})),
            Err(ConnectorError::Config(_))
        ));
        assert!(matches!(
            component_config(&json!([1])),
            Err(ConnectorError::Config(_))
        ));
        let oauth = &spec().auth_schemes[0];
        assert_eq!(
            refresh_token_path(&airbyte, oauth).unwrap(),
            ["credentials", "refresh_token"]
        );
        assert_eq!(
            refresh_token_path(&plain, oauth).unwrap(),
            ["refresh_token"]
        );
        assert_eq!(refresh_token_path(&airbyte, &spec().auth_schemes[1]), None);
    }
}
