//! The connection's configuration: parsing, validation and normalisation
//! (`configure`). Secrets never reach the connector: the host replaces their
//! values with [`SECRET_PLACEHOLDER`], so only their presence is checked.

use serde_json::{Map, Value};

use crate::time;
use crate::types::{ConnectorError, FieldError};

/// What the host puts in place of a secret's value.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// Largest `max_tickets`: the sorted ticket list reaches 10,000 tickets
/// (100 pages of 100) before Zendesk refuses offset pagination.
pub const MAX_TICKETS_LIMIT: u32 = 10_000;

/// The authentication schemes the `spec` module publishes, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSchemeId {
    /// OAuth access tokens refreshed with a refresh token.
    OAuthRefreshToken,
    /// OAuth access tokens from the client credentials grant.
    OAuthClientCredentials,
    /// An admin's email and API token (HTTP Basic), retired on 2027-04-30.
    ApiToken,
}

impl AuthSchemeId {
    /// Every scheme, in order of preference.
    pub const ALL: [AuthSchemeId; 3] = [
        AuthSchemeId::OAuthRefreshToken,
        AuthSchemeId::OAuthClientCredentials,
        AuthSchemeId::ApiToken,
    ];

    /// The scheme's stable id.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthSchemeId::OAuthRefreshToken => "oauth_refresh_token",
            AuthSchemeId::OAuthClientCredentials => "oauth_client_credentials",
            AuthSchemeId::ApiToken => "api_token",
        }
    }

    /// The scheme with this id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == id)
    }

    /// Config fields the scheme needs.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            AuthSchemeId::OAuthRefreshToken => &[
                "oauth_client_id",
                "oauth_client_secret",
                "oauth_refresh_token",
            ],
            AuthSchemeId::OAuthClientCredentials => &["oauth_client_id", "oauth_client_secret"],
            AuthSchemeId::ApiToken => &["email", "api_token"],
        }
    }
}

/// A brand named in the `brands` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrandRef {
    /// A brand id.
    Id(u64),
    /// A brand name, matched case-insensitively.
    Name(String),
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The account's subdomain (`acme` for `acme.zendesk.com`).
    pub subdomain: String,
    /// The authentication scheme the host applies.
    pub auth: AuthSchemeId,
    /// Start of the first import's history (Unix seconds); none for the
    /// default, 90 days before the first sync.
    pub start_date: Option<i64>,
    /// Limit of the first import to the N most recently updated tickets.
    pub max_tickets: Option<u32>,
    /// Brands to import; empty for all.
    pub brands: Vec<BrandRef>,
    /// Whether comments become messages.
    pub import_comments: bool,
    /// Whether internal notes become messages.
    pub include_internal_notes: bool,
    /// Whether only tickets with a comment by a customer are imported.
    pub only_tickets_with_customer_comments: bool,
    /// Whether the first import may read older comments from the
    /// account-wide audit list (else ticket by ticket).
    pub use_audit_list: bool,
}

impl Config {
    /// The API origin, `https://{subdomain}.zendesk.com`.
    pub fn base_url(&self) -> String {
        format!("https://{}.zendesk.com", self.subdomain)
    }
}

/// Reduces what a person typed or pasted to a subdomain: `acme`,
/// `acme.zendesk.com` and `https://acme.zendesk.com/agent/tickets/1` all give
/// `acme`. The error says what was extracted and why it is refused.
pub fn normalize_subdomain(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("enter your Zendesk subdomain, the part before .zendesk.com (e.g. acme for acme.zendesk.com)".into());
    }
    let lower = trimmed.to_ascii_lowercase();
    let without_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split_once(':').map_or(host, |(h, _)| h);
    let host = host.strip_suffix('.').unwrap_or(host);
    let extracted = host.strip_suffix(".zendesk.com").unwrap_or(host);
    let refuse = |why: &str| {
        Err(format!(
            "\"{trimmed}\" gives the subdomain \"{extracted}\", which {why}"
        ))
    };
    if extracted.is_empty() {
        return refuse(
            "is empty: enter the part before .zendesk.com, e.g. acme for acme.zendesk.com",
        );
    }
    if extracted.contains('.') {
        return refuse("is not a Zendesk subdomain: enter the part before .zendesk.com (the API is always on {subdomain}.zendesk.com, never on a custom help-center domain)");
    }
    if !extracted
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return refuse("may contain only letters, digits and hyphens");
    }
    if extracted.starts_with('-') || extracted.ends_with('-') || extracted.len() > 63 {
        return refuse("must be 1 to 63 characters and cannot start or end with a hyphen");
    }
    Ok(extracted.to_owned())
}

/// Collects field errors while a config is read.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A present, non-null value.
    fn value(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A non-empty string field.
    fn string(&mut self, field: &str) -> Option<String> {
        match self.value(field) {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                self.error(field, "must be a string");
                None
            }
        }
    }

    fn boolean(&mut self, field: &str, default: bool) -> bool {
        match self.value(field) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(_) => {
                self.error(field, "must be true or false");
                default
            }
        }
    }
}

/// Reads the `brands` filter: a list of ids and names, or one
/// comma-separated string.
fn brands(reader: &mut Reader<'_>) -> Vec<BrandRef> {
    let items: Vec<String> = match reader.value("brands") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_owned).collect(),
        Some(Value::Array(values)) => {
            let mut items = Vec::new();
            for v in values {
                match v {
                    Value::String(s) => items.push(s.clone()),
                    Value::Number(n) => items.push(n.to_string()),
                    _ => {
                        reader.error(
                            "brands",
                            "must list brand ids or names (strings or numbers)",
                        );
                        return Vec::new();
                    }
                }
            }
            items
        }
        Some(_) => {
            reader.error("brands", "must be a list of brand ids or names");
            return Vec::new();
        }
    };
    let mut result: Vec<BrandRef> = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let brand = match item.parse::<u64>() {
            Ok(id) => BrandRef::Id(id),
            Err(_) => BrandRef::Name(item.to_owned()),
        };
        if !result.contains(&brand) {
            result.push(brand);
        }
    }
    result
}

/// Validates a config (a JSON object) for an auth scheme at `now` (Unix
/// seconds). Returns the config and its normalised JSON, which keeps every
/// field it was given (secrets stay as placeholders) with the values the
/// connector owns rewritten: `subdomain`, `brands`, `start_date`, `email`.
pub fn configure(
    raw: &str,
    auth_scheme: &str,
    now: i64,
) -> Result<(Config, String), ConnectorError> {
    let mut map: Map<String, Value> = match serde_json::from_str(raw) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ConnectorError::config(
                "",
                "the config must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(ConnectorError::config(
                "",
                format!("the config is not valid JSON: {e}"),
            ))
        }
    };
    let mut reader = Reader {
        map: &map,
        errors: Vec::new(),
    };

    let auth = AuthSchemeId::parse(auth_scheme);
    match auth {
        None => {
            let known: Vec<_> = AuthSchemeId::ALL.iter().map(|s| s.as_str()).collect();
            reader.error(
                "auth_scheme",
                format!(
                    "unknown auth scheme \"{auth_scheme}\"; use one of {}",
                    known.join(", ")
                ),
            );
        }
        Some(scheme) => {
            for field in scheme.required_fields() {
                if reader.string(field).is_none() {
                    reader.error(
                        field,
                        format!("is required for the {} auth scheme", scheme.as_str()),
                    );
                }
            }
        }
    }

    let subdomain = match reader.string("subdomain") {
        None => {
            reader.error(
                "subdomain",
                "is required: the part before .zendesk.com, e.g. acme",
            );
            None
        }
        Some(s) => match normalize_subdomain(&s) {
            Ok(s) => Some(s),
            Err(message) => {
                reader.error("subdomain", message);
                None
            }
        },
    };

    let email = reader.string("email");
    if let Some(email) = &email {
        if email == SECRET_PLACEHOLDER || !email.contains('@') {
            reader.error(
                "email",
                "must be the email address of a verified Zendesk user (an admin)",
            );
        }
    }

    let start_date = reader.string("start_date").and_then(|s| {
        let parsed = time::parse_date(&s).or_else(|| time::parse_rfc3339(&s));
        match parsed {
            None => {
                reader.error(
                    "start_date",
                    format!("\"{s}\" is not a date: use YYYY-MM-DD (UTC) or an RFC 3339 time"),
                );
                None
            }
            Some(t) if t > now => {
                reader.error(
                    "start_date",
                    format!("\"{s}\" is in the future: history can only start in the past"),
                );
                None
            }
            Some(t) => Some(t),
        }
    });

    let max_tickets = match reader.value("max_tickets") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=u64::from(MAX_TICKETS_LIMIT)).contains(&n) => Some(n as u32),
            _ => {
                reader.error(
                    "max_tickets",
                    format!("must be a whole number from 1 to {MAX_TICKETS_LIMIT}, or absent to import all unsolved tickets plus the history since start_date"),
                );
                None
            }
        },
    };

    let brands = brands(&mut reader);
    let import_comments = reader.boolean("import_comments", true);
    let include_internal_notes = reader.boolean("include_internal_notes", true);
    let only_tickets_with_customer_comments =
        reader.boolean("only_tickets_with_customer_comments", false);
    let use_audit_list = reader.boolean("use_audit_list", true);

    let errors = reader.errors;
    let (Some(subdomain), Some(auth), true) = (subdomain, auth, errors.is_empty()) else {
        return Err(ConnectorError::Config(errors));
    };

    map.insert("subdomain".into(), Value::String(subdomain.clone()));
    if let Some(email) = email {
        map.insert("email".into(), Value::String(email));
    }
    if let Some(start) = start_date {
        map.insert(
            "start_date".into(),
            Value::String(time::format_rfc3339(start)),
        );
    }
    if map.contains_key("brands") {
        let list = brands
            .iter()
            .map(|b| match b {
                BrandRef::Id(id) => Value::String(id.to_string()),
                BrandRef::Name(name) => Value::String(name.clone()),
            })
            .collect();
        map.insert("brands".into(), Value::Array(list));
    }
    let normalized = Value::Object(map).to_string();
    Ok((
        Config {
            subdomain,
            auth,
            start_date,
            max_tickets,
            brands,
            import_comments,
            include_internal_notes,
            only_tickets_with_customer_comments,
            use_audit_list,
        },
        normalized,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    fn fields(error: ConnectorError) -> Vec<FieldError> {
        match error {
            ConnectorError::Config(fields) => fields,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn pasted_urls_are_reduced_to_the_subdomain() {
        for input in [
            "acme",
            "ACME",
            " acme.zendesk.com ",
            "acme.zendesk.com.",
            "https://acme.zendesk.com",
            "https://acme.zendesk.com/agent/tickets/1",
            "http://Acme.Zendesk.com:443/hc/en-us?x=1",
            "acme.zendesk.com/agent#x",
        ] {
            assert_eq!(normalize_subdomain(input).as_deref(), Ok("acme"), "{input}");
        }
        assert_eq!(
            normalize_subdomain("old-style-1").as_deref(),
            Ok("old-style-1")
        );
    }

    #[test]
    fn refusals_show_what_was_extracted() {
        let message = normalize_subdomain("https://support.acme.com/hc").unwrap_err();
        assert!(message.contains("\"support.acme.com\""), "{message}");
        assert!(message.contains("before .zendesk.com"), "{message}");
        let message = normalize_subdomain("acme.zendesk.com.zendesk.com").unwrap_err();
        assert!(message.contains("\"acme.zendesk.com\""), "{message}");
        let message = normalize_subdomain("ac me").unwrap_err();
        assert!(
            message.contains("\"ac me\"") && message.contains("letters, digits"),
            "{message}"
        );
        let message = normalize_subdomain("-acme").unwrap_err();
        assert!(message.contains("hyphen"), "{message}");
        assert!(normalize_subdomain("  ").is_err());
        assert!(normalize_subdomain("https://.zendesk.com")
            .unwrap_err()
            .contains("\"\""));
    }

    #[test]
    fn configure_normalises_and_keeps_other_fields() {
        let raw = r#"{"subdomain":"https://acme.zendesk.com/agent/tickets/1","email":" admin@acme.com ",
            "api_token":"<secret>","brands":"Main, 360002143133 ,Main","start_date":"2025-10-01","host_extra":1}"#;
        let (config, normalized) = configure(raw, "api_token", NOW).unwrap();
        assert_eq!(config.subdomain, "acme");
        assert_eq!(config.auth, AuthSchemeId::ApiToken);
        assert_eq!(
            config.brands,
            vec![BrandRef::Name("Main".into()), BrandRef::Id(360_002_143_133)]
        );
        assert_eq!(config.start_date, time::parse_date("2025-10-01"));
        assert!(config.import_comments && config.include_internal_notes);
        assert!(!config.only_tickets_with_customer_comments);
        let value: Value = serde_json::from_str(&normalized).unwrap();
        assert_eq!(value["subdomain"], "acme");
        assert_eq!(value["email"], "admin@acme.com");
        assert_eq!(value["api_token"], SECRET_PLACEHOLDER);
        assert_eq!(value["brands"], serde_json::json!(["Main", "360002143133"]));
        assert_eq!(value["start_date"], "2025-10-01T00:00:00Z");
        assert_eq!(value["host_extra"], 1);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let raw = r#"{"subdomain":"help.acme.com","start_date":"2099-01-01","max_tickets":0,
            "import_comments":"yes","brands":[{"id":1}]}"#;
        let errors = fields(configure(raw, "api_token", NOW).unwrap_err());
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "email",
            "api_token",
            "subdomain",
            "start_date",
            "max_tickets",
            "import_comments",
            "brands",
        ] {
            assert!(named.contains(&field), "{field} missing from {named:?}");
        }
        let subdomain = errors.iter().find(|e| e.field == "subdomain").unwrap();
        assert!(subdomain.message.contains("\"help.acme.com\""));
    }

    #[test]
    fn schemes_require_their_fields() {
        let raw = r#"{"subdomain":"acme","oauth_client_id":"id","oauth_client_secret":"<secret>"}"#;
        assert!(configure(raw, "oauth_client_credentials", NOW).is_ok());
        let errors = fields(configure(raw, "oauth_refresh_token", NOW).unwrap_err());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "oauth_refresh_token");
        let errors = fields(configure(raw, "password", NOW).unwrap_err());
        assert_eq!(errors[0].field, "auth_scheme");
        assert!(errors[0].message.contains("api_token"));
    }

    #[test]
    fn max_tickets_is_bounded() {
        let ok =
            r#"{"subdomain":"acme","email":"a@b.c","api_token":"<secret>","max_tickets":10000}"#;
        assert_eq!(
            configure(ok, "api_token", NOW).unwrap().0.max_tickets,
            Some(10_000)
        );
        let too_many = ok.replace("10000", "10001");
        assert_eq!(
            fields(configure(&too_many, "api_token", NOW).unwrap_err())[0].field,
            "max_tickets"
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(matches!(
            configure("[]", "api_token", NOW),
            Err(ConnectorError::Config(_))
        ));
        assert!(matches!(
            configure("{", "api_token", NOW),
            Err(ConnectorError::Config(_))
        ));
    }
}
