//! The account-wide audit list, `/api/v2/ticket_audits`: both of its paginations walk every
//! audit of the listed tickets exactly once (the older cursor newest first, cursor pagination
//! oldest first, as Zendesk's own responses), page sizes are capped, and the endpoint is for
//! admins on the account budget.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zendesk_sim::{GroundTruth, Mutation, RateLimits, SimConfig};

use super::client::{path_of, walk_export_time, walk_list, Client};
use super::exports::unique;
use super::shapes::{assert_shape, fixture, recorded};
use super::{admin, small, start};

/// The small dataset with three tickets in ten archived.
pub(super) fn archiving() -> SimConfig {
    SimConfig {
        archived_share: 0.3,
        ..small()
    }
}

/// `(created_at, id)` of an audit (or ticket event): the list's order.
pub(super) fn key(a: &Value) -> (String, u64) {
    (
        a["created_at"].as_str().expect("created_at").to_string(),
        a["id"].as_u64().expect("id"),
    )
}

/// Every audit, as the ticket event export has it (deduplicated), by `(created_at, id)`.
pub(super) async fn all_events(c: &Client) -> BTreeMap<(String, u64), Value> {
    let (events, _, _) = walk_export_time(
        c,
        "/api/v2/incremental/ticket_events.json?start_time=0&include=comment_events",
        "ticket_events",
    )
    .await;
    events.into_iter().map(|e| (key(&e), e)).collect()
}

/// The audits `ticket_audits` must list, oldest first: those of the listed tickets.
async fn expected(c: &Client, truth: &GroundTruth) -> Vec<(String, u64)> {
    let listed = truth.listed_tickets();
    all_events(c)
        .await
        .into_iter()
        .filter(|(_, e)| listed.contains(&e["ticket_id"].as_u64().unwrap()))
        .map(|(k, _)| k)
        .collect()
}

/// Walks the older cursor from `first` along `before_url`; returns the audits and the size of
/// each page.
async fn walk_legacy(c: &Client, first: &str) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    let mut path = first.to_string();
    for _ in 0..10_000 {
        let page = c.json(&path).await;
        let fields: BTreeSet<&str> = page
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let documented = [
            "after_cursor",
            "after_url",
            "audits",
            "before_cursor",
            "before_url",
        ];
        assert_eq!(fields, BTreeSet::from(documented), "the documented fields");
        let audits = page["audits"].as_array().expect("audits");
        sizes.push(audits.len());
        items.extend(audits.iter().cloned());
        match page["before_url"].as_str() {
            Some(url) => path = path_of(url),
            None => {
                assert!(page["before_cursor"].is_null());
                return (items, sizes);
            }
        }
    }
    panic!("the walk from {first} did not end");
}

fn keys(audits: &[Value]) -> Vec<(String, u64)> {
    audits.iter().map(key).collect()
}

#[tokio::test]
async fn both_paginations_walk_every_listed_audit_once() {
    let sim = start(archiving()).await;
    let c = admin(&sim);
    let truth = sim.ground_truth("acme");
    let oldest_first = expected(&c, &truth).await;
    assert!(oldest_first.len() > 200, "{}", oldest_first.len());
    let mut newest_first = oldest_first.clone();
    newest_first.reverse();

    // The older cursor: newest first along `before_url`, `limit` a page.
    let (walked, sizes) = walk_legacy(&c, "/api/v2/ticket_audits.json?limit=37").await;
    assert_eq!(keys(&walked), newest_first);
    let (last, full) = sizes.split_last().unwrap();
    assert!(full.len() > 3 && full.iter().all(|n| *n == 37), "{sizes:?}");
    assert!((1..=37).contains(last));
    // Without `limit`, a page holds up to 1000: the whole small dataset, no cursor either way.
    let whole = c.json("/api/v2/ticket_audits.json").await;
    assert_eq!(keys(whole["audits"].as_array().unwrap()), newest_first);
    assert!(whole["before_url"].is_null() && whole["after_url"].is_null());
    // `after_url` goes back to newer audits.
    let first = c.json("/api/v2/ticket_audits.json?limit=37").await;
    assert!(
        first["after_url"].is_null(),
        "nothing is newer than the first page"
    );
    let second = c
        .json(&path_of(first["before_url"].as_str().unwrap()))
        .await;
    let again = c
        .json(&path_of(second["after_url"].as_str().unwrap()))
        .await;
    assert_eq!(again["audits"], first["audits"]);

    // Cursor pagination: oldest first along `links.next` while `meta.has_more`.
    let walked = walk_list(&c, "/api/v2/ticket_audits.json?page[size]=40", "audits").await;
    assert_eq!(keys(&walked), oldest_first);
    let first = c.json("/api/v2/ticket_audits.json?page[size]=40").await;
    assert_eq!(first["audits"].as_array().unwrap().len(), 40);
    assert_eq!(first["meta"]["has_more"], true);
    let second = c
        .json(&path_of(first["links"]["next"].as_str().unwrap()))
        .await;
    let again = c
        .json(&path_of(second["links"]["prev"].as_str().unwrap()))
        .await;
    assert_eq!(again["audits"], first["audits"]);
    let default = c.json("/api/v2/ticket_audits.json?page[after]=").await;
    assert_eq!(
        default["audits"].as_array().unwrap().len(),
        100,
        "100 by default"
    );

    // Comments come as `Comment` events of their audits, every one of a listed ticket once.
    let listed = truth.listed_tickets();
    let comments: Vec<u64> = walked
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap())
        .filter(|e| e["type"] == "Comment")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let of_listed: BTreeSet<u64> = truth
        .comment_tickets
        .iter()
        .filter(|(_, t)| listed.contains(t))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(unique(&comments), of_listed);
    sim.shutdown().await;
}

#[tokio::test]
async fn audits_and_events_have_the_documented_fields() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let page = c.json("/api/v2/ticket_audits.json?page[size]=100").await;
    let mut envelope = fixture("go-zendesk/ticket_comments.json");
    envelope.as_object_mut().unwrap().remove("comments");
    envelope["audits"] = Value::Array(Vec::new());
    assert_shape(&envelope, &page, "audit page", &[]);
    let mut audit =
        recorded("zendesk_api_client_rb/ticket_audits.decoded.json", 0)["audits"][0].clone();
    audit["events"] = Value::Array(Vec::new());
    let (mut creates, mut changes) = (0, 0);
    for a in page["audits"].as_array().unwrap() {
        assert_shape(&audit, a, "audit", &[]);
        for e in a["events"].as_array().unwrap() {
            let has = |fields: &[&str]| fields.iter().all(|f| e.get(*f).is_some());
            match e["type"].as_str().unwrap() {
                "Comment" => {
                    assert!(
                        has(&["id", "body", "html_body", "plain_body", "public"]),
                        "{e}"
                    );
                    assert!(has(&["author_id", "attachments", "audit_id"]), "{e}");
                    assert_eq!(e["audit_id"], a["id"]);
                }
                "Create" => {
                    assert!(has(&["id", "field_name", "value"]), "{e}");
                    creates += 1;
                }
                "Change" => {
                    assert!(has(&["id", "field_name", "value", "previous_value"]), "{e}");
                    changes += 1;
                }
                other => assert_eq!(other, "ChatStartedEvent"),
            }
        }
    }
    assert!(creates > 0 && changes > 0, "{creates} {changes}");
    // The first audit of every ticket on the page sets its fields with `Create` events.
    let mut firsts = BTreeSet::new();
    for a in page["audits"].as_array().unwrap() {
        if firsts.insert(a["ticket_id"].as_u64().unwrap()) {
            assert!(a["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "Create"));
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn page_sizes_above_the_documented_maxima_and_bad_cursors_get_400() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let first = c.json("/api/v2/ticket_audits.json?page[size]=2").await;
    let after = first["meta"]["after_cursor"].as_str().unwrap().to_string();
    let before = first["meta"]["before_cursor"].as_str().unwrap().to_string();
    let both = format!("/api/v2/ticket_audits.json?page[after]={after}&page[before]={before}");
    for (path, why) in [
        (
            "/api/v2/ticket_audits.json?page[size]=101",
            "up to 100 a page",
        ),
        ("/api/v2/ticket_audits.json?page[size]=0", "at least 1"),
        ("/api/v2/ticket_audits.json?limit=1001", "up to 1000 a page"),
        ("/api/v2/ticket_audits.json?limit=0", "at least 1"),
        ("/api/v2/ticket_audits.json?limit=ten", "a number"),
        (
            "/api/v2/ticket_audits.json?cursor=bm9wZQ%3D%3D",
            "not a cursor",
        ),
        (
            "/api/v2/ticket_audits.json?page[after]=bm9wZQ%3D%3D",
            "not a cursor",
        ),
        (both.as_str(), "after and before together"),
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, 400, "{why}: {path}");
        assert!(r.json()["error"].is_string(), "{why}");
    }
    assert_eq!(
        c.json("/api/v2/ticket_audits.json?page[size]=100").await["audits"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn only_admins_get_it_and_it_counts_on_the_account_budget() {
    let sim = start(small()).await;
    for creds in [
        sim.agent_credentials("acme"),
        sim.light_agent_credentials("acme"),
        sim.end_user_credentials("acme"),
    ] {
        let who = Client::https(&sim, "acme").with_auth(creds.authorization());
        let r = who.get("/api/v2/ticket_audits.json").await;
        assert_eq!(r.status, 403, "{}", creds.email);
        assert_eq!(r.json()["error"]["title"], "Forbidden");
    }
    let agent =
        Client::https(&sim, "acme").with_auth(sim.agent_credentials("acme").authorization());
    assert_eq!(
        agent.get("/api/v2/tickets/1/audits.json").await.status,
        200,
        "agents list one ticket's audits"
    );

    sim.reset_counts();
    sim.set_rate_limits(Some(RateLimits {
        account_per_minute: 3,
        incremental_per_minute: 10,
        send_retry_after: true,
    }));
    let c = admin(&sim);
    for remaining in ["2", "1", "0"] {
        let r = c.get("/api/v2/ticket_audits.json?limit=5").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-rate-limit-remaining"), Some(remaining));
        assert!(r.header("zendesk-ratelimit-incremental-exports").is_none());
    }
    let r = c.get("/api/v2/ticket_audits.json?page[size]=5").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json()["description"],
        "Number of allowed API requests per minute exceeded"
    );
    assert_eq!(sim.request_counts()["all_ticket_audits"], 4);
    // The incremental export budget is untouched.
    sim.advance_time(60);
    let r = c
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1")
        .await;
    let header = r.header("zendesk-ratelimit-incremental-exports").unwrap();
    assert!(header.starts_with("total=10; remaining=9;"), "{header}");
    sim.shutdown().await;
}

#[tokio::test]
async fn new_audits_come_first_and_deleted_tickets_leave() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let listed = sim.ground_truth("acme").listed_tickets();
    let mut it = listed.iter().copied();
    let (commented, deleted) = (it.next().unwrap(), it.next().unwrap());
    sim.mutate(
        "acme",
        Mutation::AddComment {
            ticket_id: commented,
            public: false,
        },
    )
    .unwrap();
    sim.mutate(
        "acme",
        Mutation::DeleteTickets {
            ticket_ids: vec![deleted],
        },
    )
    .unwrap();
    let newest = &c.json("/api/v2/ticket_audits.json?limit=1").await["audits"][0];
    assert_eq!(newest["ticket_id"], commented);
    let note = &newest["events"][0];
    assert_eq!(
        (note["type"].as_str(), &note["public"]),
        (Some("Comment"), &Value::Bool(false))
    );
    let walked = walk_list(&c, "/api/v2/ticket_audits.json?page[size]=100", "audits").await;
    assert_eq!(
        walked.last().unwrap()["id"],
        newest["id"],
        "oldest first: the new one last"
    );
    assert!(walked.iter().all(|a| a["ticket_id"] != deleted));
    assert_eq!(
        unique(
            &walked
                .iter()
                .map(|a| a["id"].as_u64().unwrap())
                .collect::<Vec<_>>()
        )
        .len(),
        walked.len()
    );
    sim.shutdown().await;
}
