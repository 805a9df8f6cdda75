//! Lists, per-ticket comments, search, ratings and side-loads; separate
//! accounts and a dataset reproducible from its seed.

use std::collections::BTreeSet;

use serde_json::Value;
use zendesk_sim::{Mutation, SimConfig};

use super::client::{path_of, walk_export_cursor, walk_list, Client};
use super::exports::{ids, unique};
use super::{admin, small, start};

#[tokio::test]
async fn comments_lists_page_with_cursors_and_hold_notes_and_chats() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let truth = sim.ground_truth("acme");
    let mut seen = Vec::new();
    let mut private = 0;
    for id in truth.tickets.live() {
        let comments = walk_list(
            &c,
            &format!("/api/v2/tickets/{id}/comments.json?page[size]=2"),
            "comments",
        )
        .await;
        private += comments.iter().filter(|c| c["public"] == false).count();
        seen.extend(ids(&comments));
    }
    assert_eq!(unique(&seen), truth.comments.live());
    assert!(private > 0, "internal notes exist");
    sim.shutdown().await;
}

#[tokio::test]
async fn chat_tickets_have_transcripts_and_chat_started_events() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let tickets = walk_list(&c, "/api/v2/tickets.json?page[size]=100", "tickets").await;
    let chat = tickets
        .iter()
        .find(|t| t["via"]["channel"] == "chat")
        .expect("a chat ticket");
    let id = chat["id"].as_u64().unwrap();
    let comments = c.json(&format!("/api/v2/tickets/{id}/comments.json")).await;
    let transcript = &comments["comments"][0];
    assert_eq!(transcript["via"]["channel"], "chat");
    let lines: Vec<&str> = transcript["body"].as_str().unwrap().lines().collect();
    assert!(lines.len() >= 4);
    for line in &lines {
        let (clock, rest) = line
            .strip_prefix('(')
            .and_then(|l| l.split_once(") "))
            .expect(line);
        assert!(clock.ends_with(" AM") || clock.ends_with(" PM"), "{line}");
        assert_eq!(clock.matches(':').count(), 2, "{line}");
        assert!(rest.contains(": "), "{line}");
    }
    assert!(lines[0].ends_with(": Hello"));
    let audits = c.json(&format!("/api/v2/tickets/{id}/audits.json")).await;
    let started = audits["audits"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ChatStartedEvent")
        .expect("a ChatStartedEvent")
        .clone();
    let history = started["value"]["history"].as_array().unwrap();
    assert_eq!(history.len(), lines.len());
    for (m, line) in history.iter().zip(&lines) {
        assert_eq!(m["type"], "ChatMessage");
        assert!(m["actor_id"].is_u64() && m["timestamp"].as_i64().unwrap() > 1_000_000_000_000);
        assert!(["end-user", "agent"].contains(&m["actor_type"].as_str().unwrap()));
        let said = format!(
            "{}: {}",
            m["actor_name"].as_str().unwrap(),
            m["message"].as_str().unwrap()
        );
        assert!(line.ends_with(&said), "{line} / {said}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn lists_search_ratings_and_side_loads() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let truth = sim.ground_truth("acme");
    let (tickets, _) = walk_export_cursor(
        &c,
        "/api/v2/incremental/tickets/cursor.json?start_time=0",
        "tickets",
    )
    .await;
    let unsolved: BTreeSet<u64> = tickets
        .iter()
        .filter(|t| ["new", "open", "pending", "hold"].contains(&t["status"].as_str().unwrap()))
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    let found = walk_list(
        &c,
        "/api/v2/search/export.json?query=type%3Aticket+status%3Csolved&filter[type]=ticket&page[size]=9",
        "results",
    )
    .await;
    assert!(found.iter().all(|t| t["result_type"] == "ticket"));
    assert_eq!(unique(&ids(&found)), unsolved);
    let open: BTreeSet<u64> = tickets
        .iter()
        .filter(|t| t["status"] == "open")
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    let found = walk_list(
        &c,
        "/api/v2/search/export.json?query=status:open&filter%5Btype%5D=ticket",
        "results",
    )
    .await;
    assert_eq!(unique(&ids(&found)), open);
    assert_eq!(
        c.get("/api/v2/search/export.json?query=status:open")
            .await
            .status,
        400,
        "filter[type] is required"
    );

    let ratings = walk_list(
        &c,
        "/api/v2/satisfaction_ratings.json?page[size]=7",
        "satisfaction_ratings",
    )
    .await;
    assert_eq!(unique(&ids(&ratings)), truth.satisfaction_ratings.live());
    for score in ["offered", "good", "bad"] {
        assert!(
            ratings.iter().any(|r| r["score"] == score),
            "a {score} rating"
        );
    }
    assert!(ratings
        .iter()
        .filter(|r| r["score"] == "bad")
        .all(|r| r["reason"].is_string()));

    let list = walk_list(&c, "/api/v2/tickets.json?page[size]=40", "tickets").await;
    assert_eq!(
        list.len() as u64,
        truth.tickets.versions.len() as u64 - truth.tickets.deleted.len() as u64
    );
    let offset = c.json("/api/v2/tickets.json?per_page=50&page=2").await;
    assert_eq!(offset["tickets"].as_array().unwrap().len(), 50);
    assert_eq!(offset["count"].as_u64(), Some(list.len() as u64));
    assert!(offset["next_page"].as_str().unwrap().contains("page=3"));
    assert_eq!(
        c.get("/api/v2/tickets.json?per_page=100&page=101")
            .await
            .status,
        400
    );
    assert_eq!(
        c.get("/api/v2/tickets.json?page[size]=101").await.status,
        400
    );

    let victim = *truth.tickets.live().iter().next().unwrap();
    let status =
        c.json(&format!("/api/v2/tickets/{victim}.json")).await["ticket"]["status"].clone();
    sim.mutate(
        "acme",
        Mutation::DeleteTickets {
            ticket_ids: vec![victim],
        },
    )
    .unwrap();
    let deleted = c.json("/api/v2/deleted_tickets.json").await;
    let listed = deleted["deleted_tickets"].as_array().unwrap();
    let entry = listed
        .iter()
        .find(|d| d["id"] == victim)
        .expect("the deleted ticket is listed");
    assert_eq!(entry["previous_state"], status);
    let now_deleted = sim.ground_truth("acme").tickets.deleted;
    for d in listed {
        assert!(now_deleted.contains(&d["id"].as_u64().unwrap()));
        assert!(d["actor"]["id"].is_u64() && d["deleted_at"].is_string());
    }
    // Tickets deleted more than 30 days ago are scrubbed, and no longer listed.
    let scrubbed: Vec<&Value> = tickets
        .iter()
        .filter(|t| t["subject"] == "SCRUBBED")
        .collect();
    assert!(scrubbed.iter().all(|t| t["status"] == "deleted"));
    assert!(scrubbed
        .iter()
        .all(|t| !listed.iter().any(|d| d["id"] == t["id"])));
    assert_eq!(
        c.get(&format!("/api/v2/tickets/{victim}.json"))
            .await
            .status,
        404
    );

    let page = c
        .json("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=20&include=users,groups,organizations")
        .await;
    let side =
        |key: &str| -> BTreeSet<u64> { ids(page[key].as_array().unwrap()).into_iter().collect() };
    for t in page["tickets"].as_array().unwrap() {
        assert!(side("users").contains(&t["requester_id"].as_u64().unwrap()));
        assert!(side("groups").contains(&t["group_id"].as_u64().unwrap()));
        if let Some(org) = t["organization_id"].as_u64() {
            assert!(side("organizations").contains(&org));
        }
    }
    let tags = c.json("/api/v2/tags.json").await;
    let first = &tags["tags"][0];
    assert!(first["name"].is_string() && first["count"].as_u64().unwrap() > 0);
    assert_eq!(c.get("/api/v2/tickets/999999.json").await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn accounts_are_separate_and_unknown_subdomains_are_404() {
    let sim = start(SimConfig {
        accounts: vec!["acme".into(), "globex".into()],
        ..small()
    })
    .await;
    let acme = admin(&sim).json("/api/v2/users/me.json").await;
    let globex =
        Client::http(&sim, "globex").with_auth(sim.admin_credentials("globex").authorization());
    let g = globex.json("/api/v2/users/me.json").await;
    assert_eq!(g["user"]["email"], "admin@globex.example");
    assert_ne!(acme["user"]["email"], g["user"]["email"]);
    assert_ne!(sim.ground_truth("acme"), sim.ground_truth("globex"));
    // Credentials of one account do not open another.
    let cross =
        Client::http(&sim, "globex").with_auth(sim.admin_credentials("acme").authorization());
    assert_eq!(cross.get("/api/v2/tickets.json").await.status, 401);
    let missing = Client::http(&sim, "initech")
        .get("/api/v2/users/me.json")
        .await;
    assert_eq!(missing.status, 404);
    let url = g["user"]["url"].as_str().unwrap();
    assert!(url.starts_with("http://globex.zendesk.com"), "{url}");
    assert_eq!(
        path_of(url),
        format!("/api/v2/users/{}.json", g["user"]["id"])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_dataset_is_reproducible_from_its_seed() {
    let config = SimConfig {
        epoch: Some(1_700_000_000),
        ..small()
    };
    let a = zendesk_sim::ground_truth(&config);
    assert_eq!(a, zendesk_sim::ground_truth(&config));
    let b = zendesk_sim::ground_truth(&SimConfig { seed: 7, ..config });
    assert_ne!(a, b);
    let t = &a["acme"].tickets;
    assert_eq!(t.versions.len(), 150);
    let oldest = t.versions.values().map(|v| v.updated_at).min().unwrap();
    assert!((1_700_000_000 - 90 * 86_400..1_700_000_000 - 60 * 86_400).contains(&oldest));
}
