//! `check` against scripted responses, and `discover`.

mod common;

use common::*;
use serde_json::{json, Value};
use zendesk_connector::api::TransportError;
use zendesk_connector::types::ConnectorError;
use zendesk_connector::{MemoryStorage, NativeConnector};

#[test]
fn check_verifies_user_role_and_warns_about_api_tokens() {
    let mut connector = connector(json!({}));
    let mut http = ScriptedHttp::default();
    http.expect(
        "https://acme.zendesk.com/api/v2/users/me.json",
        recorded_response(&recordings("zendesk_api_client_rb/current_user.decoded.json")[0]),
    );
    let warnings = connector.check(&mut http).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].message.contains("2027-04-30")
            && warnings[0].message.contains("days")
            && warnings[0].message.contains("OAuth")
    );

    let as_me = |path: &str| {
        let recording = &recordings(path)[0];
        ok(&json!({"user": recording["body"]["users"][0]}).to_string())
    };
    http.expect(
        "users/me.json",
        as_me("zendesk_api_client_rb/valid_user_agent.decoded.json"),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("an agent") && m.contains("admin"))
    );
    http.expect(
        "users/me.json",
        as_me("zendesk_api_client_rb/valid_user_end-user.decoded.json"),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("end-user"))
    );
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":null,"name":"Anonymous user","role":"end-user"}}"#),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Auth(m)) if m.contains("anonymous"))
    );
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":1,"role":"agent","role_type":1}}"#),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Permission(m)) if m.contains("light agent"))
    );
    http.expect(
        "users/me.json",
        response(401, r#"{"error":"Couldn't authenticate you"}"#, &[]),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Auth(m)) if m.contains("token access is enabled"))
    );
    http.expect(
        "users/me.json",
        response(
            404,
            r#"{"error":"InvalidEndpoint","description":"Not found"}"#,
            &[],
        ),
    );
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Config(f)) if f[0].field == "subdomain")
    );
    http.fail("users/me.json", TransportError::Dns("no such host".into()));
    assert!(
        matches!(connector.check(&mut http), Err(ConnectorError::Config(f)) if f[0].message.contains("acme.zendesk.com does not resolve"))
    );

    let mut oauth = NativeConnector::new(MemoryStorage::new());
    oauth.configure(r#"{"subdomain":"acme","oauth_client_id":"c","oauth_client_secret":"<secret>","oauth_refresh_token":"<secret>"}"#, "oauth_refresh_token").unwrap();
    http.expect(
        "users/me.json",
        ok(r#"{"user":{"id":1,"role":"admin","restricted_agent":true}}"#),
    );
    let warnings = oauth.check(&mut http).unwrap();
    assert_eq!(warnings.len(), 1, "no token warning with OAuth");
    assert!(warnings[0].message.contains("restricted"));
    assert!(http.finished());
}

#[test]
fn discover_lists_streams_for_the_config() {
    let connector = connector(json!({}));
    let streams = connector.discover().unwrap();
    let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
    for name in [
        "tickets",
        "ticket_comments",
        "ticket_comments_backfill",
        "users",
        "organizations",
        "ticket_fields",
        "satisfaction_ratings",
        "tags",
        "brands",
        "groups",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    for stream in &streams {
        assert_eq!(stream.optional, stream.name != "tickets", "{}", stream.name);
        let schema: Value = serde_json::from_str(&stream.json_schema).unwrap();
        assert_eq!(schema["type"], "object");
        assert!(
            schema["properties"].get(&stream.primary_key[0]).is_some(),
            "{}",
            stream.name
        );
    }
    let tickets = streams.iter().find(|s| s.name == "tickets").unwrap();
    assert_eq!(
        tickets.depends_on,
        vec!["ticket_fields", "brands", "groups"]
    );
    let comments = streams
        .iter()
        .find(|s| s.name == "ticket_comments")
        .unwrap();
    assert_eq!(comments.depends_on, vec!["users", "tickets"]);
    assert_eq!(comments.record_kinds, vec!["message", "change"]);
    let schema: Value = serde_json::from_str(&comments.json_schema).unwrap();
    assert_eq!(schema["$defs"]["message"]["title"], "message");
    assert_eq!(schema["$defs"]["change"]["title"], "change");
    let backfill = streams
        .iter()
        .find(|s| s.name == "ticket_comments_backfill")
        .unwrap();
    assert_eq!(backfill.depends_on, vec!["users", "tickets"]);
    assert_eq!(backfill.record_kinds, vec!["message", "change"]);

    let quiet = common::connector(json!({"import_comments": false}));
    assert!(quiet
        .discover()
        .unwrap()
        .iter()
        .all(|s| !s.name.starts_with("ticket_comments")));
    assert!(matches!(
        NativeConnector::new(MemoryStorage::new()).discover(),
        Err(ConnectorError::Config(_))
    ));
}
