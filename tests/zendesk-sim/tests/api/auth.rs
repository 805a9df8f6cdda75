//! Authentication and permissions: API tokens, OAuth, roles.

use serde_json::{json, Value};
use zendesk_sim::Credentials;

use super::client::Client;
use super::{small, start};

const COULD_NOT_AUTHENTICATE: &str = r#"{"error":"Couldn't authenticate you"}"#;

#[tokio::test]
async fn api_tokens_authenticate_and_failures_get_zendesk_401() {
    let sim = start(small()).await;
    let anonymous = Client::https(&sim, "acme");
    let me = anonymous.json("/api/v2/users/me.json").await;
    assert_eq!(
        me["user"]["id"],
        Value::Null,
        "anonymous users/me is 200 with id null"
    );
    assert_eq!(me["user"]["role"], "end-user");
    let r = anonymous.get("/api/v2/tickets.json").await;
    assert_eq!(
        (r.status, r.body.as_ref()),
        (401, COULD_NOT_AUTHENTICATE.as_bytes())
    );

    let admin = sim.admin_credentials("acme");
    let wrong = Credentials {
        api_token: "not-the-token".into(),
        ..admin.clone()
    };
    let r = Client::https(&sim, "acme")
        .with_auth(wrong.authorization())
        .get("/api/v2/users/me.json")
        .await;
    assert_eq!(
        (r.status, r.body.as_ref()),
        (401, COULD_NOT_AUTHENTICATE.as_bytes())
    );
    let password = format!("Basic {}", base64_of(&format!("{}:secret", admin.email)));
    let r = Client::https(&sim, "acme")
        .with_auth(password)
        .get("/api/v2/users/me.json")
        .await;
    assert_eq!(r.status, 401, "password authentication is not accepted");

    let c = Client::https(&sim, "acme").with_auth(admin.authorization());
    assert_eq!(
        c.json("/api/v2/users/me.json").await["user"]["role"],
        "admin"
    );
    sim.set_token_access(false);
    let r = c.get("/api/v2/users/me.json").await;
    assert_eq!(
        (r.status, r.body.as_ref()),
        (401, COULD_NOT_AUTHENTICATE.as_bytes())
    );
    sim.set_token_access(true);
    assert_eq!(c.get("/api/v2/users/me.json").await.status, 200);
    sim.shutdown().await;
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn agents_and_light_agents_are_refused_admin_endpoints() {
    let sim = start(small()).await;
    let as_user = |c: Credentials| Client::https(&sim, "acme").with_auth(c.authorization());
    let agent = as_user(sim.agent_credentials("acme"));
    let light = as_user(sim.light_agent_credentials("acme"));
    let end_user = as_user(sim.end_user_credentials("acme"));
    let me = light.json("/api/v2/users/me.json").await;
    assert_eq!(
        (
            me["user"]["role"].as_str(),
            me["user"]["role_type"].as_u64()
        ),
        (Some("agent"), Some(1))
    );
    assert_eq!(
        agent.json("/api/v2/users/me.json").await["user"]["role_type"],
        Value::Null
    );
    for path in [
        "/api/v2/incremental/tickets/cursor.json?start_time=0",
        "/api/v2/incremental/ticket_events.json?start_time=0",
        "/api/v2/satisfaction_ratings.json",
    ] {
        for who in [&agent, &light] {
            let r = who.get(path).await;
            assert_eq!(r.status, 403, "{path}");
            assert_eq!(r.json()["error"]["title"], "Forbidden");
            assert!(r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("You do not have access"));
        }
    }
    assert_eq!(agent.get("/api/v2/tickets.json").await.status, 200);
    assert_eq!(light.get("/api/v2/ticket_fields.json").await.status, 200);
    assert_eq!(end_user.get("/api/v2/tickets.json").await.status, 403);
    assert_eq!(end_user.get("/api/v2/users/me.json").await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_refresh_rotates_the_pair_and_tokens_expire() {
    let sim = start(small()).await;
    let client = sim.oauth_client("acme");
    let c = Client::https(&sim, "acme");
    let form = |refresh: &str| {
        format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh}",
            client.client_id, client.client_secret
        )
    };
    let first = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            &form(&client.refresh_token),
        )
        .await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let first = first.json();
    assert_eq!(first["token_type"], "bearer");
    assert!(first["expires_in"].as_u64().unwrap() > 0);
    assert!(first["refresh_token_expires_in"].as_u64().unwrap() > 0);
    let access1 = first["access_token"].as_str().unwrap().to_string();
    let refresh1 = first["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, client.refresh_token);
    let bearer = |t: &str| Client::https(&sim, "acme").with_auth(format!("Bearer {t}"));
    assert_eq!(
        bearer(&access1).json("/api/v2/users/me.json").await["user"]["role"],
        "admin"
    );

    // The used refresh token is gone.
    let again = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            &form(&client.refresh_token),
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    assert!(again.json()["error_description"].is_string());

    // Refreshing with JSON works too, and retires the previous access token.
    let body = json!({
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": refresh1,
    });
    let second = c
        .post("/oauth/tokens", "application/json", &body.to_string())
        .await
        .json();
    let access2 = second["access_token"].as_str().unwrap().to_string();
    let invalid = bearer(&access1).get("/api/v2/users/me.json").await;
    assert_eq!(invalid.status, 401);
    assert_eq!(
        invalid.json(),
        json!({"error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})
    );
    assert_eq!(
        bearer(&access2).get("/api/v2/tickets.json").await.status,
        200
    );
    sim.advance_time(31 * 60);
    assert_eq!(
        bearer(&access2).get("/api/v2/tickets.json").await.status,
        401,
        "expired"
    );

    let wrong_secret = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=zdsim_acme&client_secret=nope",
        )
        .await;
    assert_eq!(
        (wrong_secret.status, wrong_secret.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let credentials = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=read",
        client.client_id, client.client_secret
    );
    let cc = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            &credentials,
        )
        .await
        .json();
    assert!(
        cc.get("refresh_token").is_none(),
        "client credentials get no refresh token"
    );
    assert_eq!(
        bearer(cc["access_token"].as_str().unwrap())
            .get("/api/v2/brands.json")
            .await
            .status,
        200
    );
    let unsupported = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            "grant_type=password",
        )
        .await;
    assert_eq!(unsupported.status, 400);
    let write_only = c
        .post(
            "/oauth/tokens",
            "application/x-www-form-urlencoded",
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope=write",
                client.client_id, client.client_secret
            ),
        )
        .await
        .json();
    let r = bearer(write_only["access_token"].as_str().unwrap())
        .get("/api/v2/tickets.json")
        .await;
    assert_eq!(r.status, 403, "a token without the read scope cannot read");
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_is_valid_for_zendesk_names_and_localhost() {
    let sim = start(small()).await;
    let auth = sim.admin_credentials("acme").authorization();
    for host in ["acme.zendesk.com", "localhost"] {
        let c = Client::https(&sim, "acme")
            .with_host(host)
            .with_auth(auth.clone());
        assert_eq!(c.get("/api/v2/users/me.json").await.status, 200, "{host}");
    }
    let pem = std::fs::read_to_string(sim.ca_cert_path()).unwrap();
    assert_eq!(pem, sim.ca_cert_pem());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let untrusted = Client::https(&sim, "acme").with_host("example.org");
    assert!(
        untrusted
            .try_request("GET", "/", None, Vec::new())
            .await
            .is_err(),
        "name not in the certificate"
    );
    sim.shutdown().await;
}
