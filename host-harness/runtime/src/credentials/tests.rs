//! Which auth scheme a connection uses (a sign-in counts as its refresh
//! token), and the headers injected from templates, redacted.

use super::*;
use serde_json::json;

fn scheme(id: &str, fields: &[&str]) -> AuthScheme {
    AuthScheme {
        id: id.into(),
        description: String::new(),
        required_fields: fields.iter().map(|f| f.to_string()).collect(),
        kind: AuthKind::Basic("{email}/token:{api_token}".into()),
    }
}

#[test]
fn the_first_complete_scheme_wins_unless_one_is_named() {
    let schemes = [
        scheme("api_token", &["email", "api_token"]),
        scheme("oauth", &["client_id"]),
    ];
    let config = json!({"email": "a@b.c", "api_token": "t", "client_id": "c"});
    assert_eq!(
        choose_scheme(&schemes, None, &config, false)
            .unwrap()
            .unwrap()
            .id,
        "api_token"
    );
    assert_eq!(
        choose_scheme(&schemes, Some("oauth"), &config, false)
            .unwrap()
            .unwrap()
            .id,
        "oauth"
    );
    let partial = json!({"email": "a@b.c", "api_token": ""});
    let err = choose_scheme(&schemes, None, &partial, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("`api_token` needs email + api_token"),
        "{err}"
    );
    let err = choose_scheme(&schemes, Some("nope"), &config, false).unwrap_err();
    assert!(
        err.to_string().contains("choose one of: api_token, oauth"),
        "{err}"
    );
    let err = choose_scheme(&schemes, Some("oauth"), &partial, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("needs these fields set: client_id"),
        "{err}"
    );
    assert!(choose_scheme(&[], None, &config, false).unwrap().is_none());
}

#[test]
fn a_signed_in_connection_needs_no_refresh_token_in_its_config() {
    let oauth = OAuth2 {
        token_url: "https://{subdomain}.example.com/oauth/tokens".into(),
        authorize_url: Some("https://{subdomain}.example.com/oauth/authorize".into()),
        client_id_field: "client_id".into(),
        client_secret_field: "client_secret".into(),
        refresh_token_field: Some("refresh_token".into()),
        access_token_field: None,
        scopes: String::new(),
    };
    let schemes = [AuthScheme {
        kind: AuthKind::OAuth2RefreshToken(oauth),
        ..scheme("oauth", &["client_id", "client_secret", "refresh_token"])
    }];
    let config = json!({"client_id": "c", "client_secret": "s"});
    let err = choose_scheme(&schemes, Some("oauth"), &config, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("needs these fields set: refresh_token (or sign the connection in"),
        "{err}"
    );
    assert!(choose_scheme(&schemes, None, &config, false).is_err());
    for requested in [None, Some("oauth")] {
        let chosen = choose_scheme(&schemes, requested, &config, true).unwrap();
        assert_eq!(chosen.unwrap().id, "oauth");
    }
    // Signing in stands for the refresh token only.
    let partial = json!({"client_id": "c"});
    assert!(choose_scheme(&schemes, None, &partial, true).is_err());
}

#[test]
fn basic_headers_come_from_the_template_and_are_redacted() {
    let redactor = Redactor::default();
    let tokens = Arc::new(crate::storage::MemoryStore::default());
    let config = json!({"email": "admin@acme.test", "api_token": "tok-123"});
    let s = scheme("api_token", &["email", "api_token"]);
    let creds = Credentials::from_scheme(
        Some(&s),
        &config,
        CredentialStore::new(tokens, "c"),
        &redactor,
    )
    .unwrap();
    let Credentials::Static(header) = &creds else {
        panic!("static expected")
    };
    let expected =
        base64::engine::general_purpose::STANDARD.encode("admin@acme.test/token:tok-123");
    assert_eq!(header.expose(), format!("Basic {expected}"));
    assert_eq!(redactor.redact(&format!("sent {expected}")), "sent ***");
}
