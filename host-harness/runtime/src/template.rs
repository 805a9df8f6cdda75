//! `{field}` templates filled from a connection's config, as used by the
//! connector's declared host and credential templates.

/// Why a template could not be filled.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template names a config field that is not set.
    #[error("config field `{0}` is required but not set")]
    MissingField(String),
    /// The field's value is not allowed where the template puts it.
    #[error("config field `{field}` has a value that cannot be used in `{template}`")]
    InvalidValue {
        /// The field whose value was refused.
        field: String,
        /// The template being filled.
        template: String,
    },
    /// An unclosed `{`.
    #[error("template `{0}` is malformed (unclosed `{{`)")]
    Malformed(String),
}

/// A template cut into its literal text and `{field}` placeholders. A
/// field name holds neither brace: `{a{b}` is malformed, so that
/// [`fill_template`] and [`template_fields`] always agree on the fields a
/// template reads (the host checks those fields' values).
fn pieces(template: &str) -> Result<Vec<(&str, Option<&str>)>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after
            .find(['{', '}'])
            .filter(|end| after[*end..].starts_with('}'))
            .ok_or_else(|| TemplateError::Malformed(template.to_string()))?;
        pieces.push((&rest[..start], Some(&after[..end])));
        rest = &after[end + 1..];
    }
    pieces.push((rest, None));
    Ok(pieces)
}

/// Replace every `{field}` in `template` with the config's value for that
/// top-level field (strings as they are, numbers and booleans printed).
/// `accept` vets every substituted value.
pub fn fill_template(
    template: &str,
    config: &serde_json::Value,
    accept: impl Fn(&str) -> bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for (text, field) in pieces(template)? {
        out.push_str(text);
        let Some(field) = field else {
            continue;
        };
        let value = match config.get(field) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            _ => return Err(TemplateError::MissingField(field.to_string())),
        };
        if !accept(&value) {
            return Err(TemplateError::InvalidValue {
                field: field.to_string(),
                template: template.to_string(),
            });
        }
        out.push_str(&value);
    }
    Ok(out)
}

/// The field names a template refers to, in order: exactly those
/// [`fill_template`] reads (none when the template is malformed, which
/// cannot be filled).
pub fn template_fields(template: &str) -> Vec<&str> {
    pieces(template)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, field)| field)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_fields_and_reports_what_is_missing() {
        let config = json!({"email": "a@b.c", "api_token": "t0k", "port": 8443, "empty": ""});
        let any = |_: &str| true;
        assert_eq!(
            fill_template("{email}/token:{api_token}", &config, any).unwrap(),
            "a@b.c/token:t0k"
        );
        assert_eq!(fill_template("x:{port}", &config, any).unwrap(), "x:8443");
        assert_eq!(fill_template("plain", &config, any).unwrap(), "plain");
        assert_eq!(
            fill_template("{nope}", &config, any),
            Err(TemplateError::MissingField("nope".into()))
        );
        assert_eq!(
            fill_template("{empty}", &config, any),
            Err(TemplateError::MissingField("empty".into()))
        );
        assert_eq!(
            fill_template("{email", &config, any),
            Err(TemplateError::Malformed("{email".into()))
        );
        assert!(matches!(
            fill_template("{email}", &config, |v| !v.contains('@')),
            Err(TemplateError::InvalidValue { .. })
        ));
        assert_eq!(
            template_fields("{email}/token:{api_token}"),
            vec!["email", "api_token"]
        );
    }

    #[test]
    fn fuzz_regression_a_field_cannot_hide_from_template_fields() {
        // Found by `http_policy::fuzz::templates_read_only_their_fields`
        // (shrunk to `{{}`): `{x{y}` was filled from the field `x{y` while
        // `template_fields` named `y`, so the check that host fields come
        // from the operator (`connection.rs`) never saw the field that a
        // connector's normalized config could add to pick its own host.
        let config = json!({"x{y": "evil.example", "y": "acme", "{": "x"});
        let any = |_: &str| true;
        for template in [
            "{{}",
            "https://{x{y}",
            "https://{x{y}.zendesk.com",
            "{a}{b{c}",
        ] {
            assert_eq!(
                fill_template(template, &config, any),
                Err(TemplateError::Malformed(template.into())),
                "{template}"
            );
            assert!(template_fields(template).is_empty(), "{template}");
        }
        assert_eq!(template_fields("{a}}{b}"), vec!["a", "b"]);
        let config = json!({"a": "1", "b": "2"});
        assert_eq!(fill_template("{a}}{b}", &config, any).unwrap(), "1}2");
    }
}
