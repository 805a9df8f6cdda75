//! Pagination correctness of every export and list, against the ground truth, and mutations
//! showing up in later pages.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zendesk_sim::Mutation;

use super::client::{walk_export_cursor, walk_export_time};
use super::{admin, small, start};

pub(super) fn ids(items: &[Value]) -> Vec<u64> {
    items
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect()
}

pub(super) fn unique(ids: &[u64]) -> BTreeSet<u64> {
    let set: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "every id exactly once");
    set
}

#[tokio::test]
async fn cursor_ticket_export_returns_every_ticket_once_with_its_version() {
    let sim = start(small()).await;
    let truth = sim.ground_truth("acme");
    let (tickets, _) = walk_export_cursor(
        &admin(&sim),
        "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=17",
        "tickets",
    )
    .await;
    let seen = unique(&ids(&tickets));
    assert_eq!(seen, truth.tickets.versions.keys().copied().collect());
    for t in &tickets {
        let id = t["id"].as_u64().unwrap();
        let version = truth.tickets.versions[&id];
        assert_eq!(
            t["generated_timestamp"].as_i64(),
            Some(version.generated_timestamp)
        );
        assert_eq!(
            t["status"] == "deleted",
            truth.tickets.deleted.contains(&id),
            "ticket {id}"
        );
    }
    assert!(
        !truth.tickets.deleted.is_empty(),
        "the dataset has deleted tickets"
    );
    // Some tickets had system updates: generated_timestamp is later than updated_at.
    assert!(truth
        .tickets
        .versions
        .values()
        .any(|v| v.generated_timestamp > v.updated_at));
    sim.shutdown().await;
}

#[tokio::test]
async fn time_based_ticket_export_repeats_boundaries_and_grows_pages_over_ties() {
    let sim = start(small()).await;
    let c = admin(&sim);
    // A bulk system update gives ten tickets one generated_timestamp.
    let touched: Vec<u64> = (20..30).collect();
    sim.mutate(
        "acme",
        Mutation::TouchTickets {
            ticket_ids: touched.clone(),
        },
    )
    .unwrap();
    sim.advance_time(120);
    let truth = sim.ground_truth("acme");
    let (tickets, pages, end_time) = walk_export_time(
        &c,
        "/api/v2/incremental/tickets.json?start_time=0&per_page=4",
        "tickets",
    )
    .await;
    assert!(pages > 2);
    let all = ids(&tickets);
    assert!(
        all.len() > truth.tickets.versions.len(),
        "page boundaries repeat items"
    );
    let mut latest: BTreeMap<u64, i64> = BTreeMap::new();
    for t in &tickets {
        let ts = t["generated_timestamp"].as_i64().unwrap();
        let e = latest.entry(t["id"].as_u64().unwrap()).or_insert(ts);
        *e = (*e).max(ts);
    }
    let expected: BTreeMap<u64, i64> = truth
        .tickets
        .versions
        .iter()
        .map(|(id, v)| (*id, v.generated_timestamp))
        .collect();
    assert_eq!(
        latest, expected,
        "after upserting by id, the export equals the dataset"
    );
    let bulk_ts = truth.tickets.versions[&20].generated_timestamp;
    assert_eq!(end_time, bulk_ts, "the touched tickets are the newest");
    // The page that holds the tie holds all ten tickets although per_page is 4.
    let page = c
        .json(&format!(
            "/api/v2/incremental/tickets.json?start_time={bulk_ts}&per_page=4"
        ))
        .await;
    let on_page: BTreeSet<u64> = ids(page["tickets"].as_array().unwrap())
        .into_iter()
        .collect();
    assert!(on_page.len() >= 10, "{on_page:?}");
    assert!(touched.iter().all(|id| on_page.contains(id)));
    sim.shutdown().await;
}

#[tokio::test]
async fn mutations_show_up_after_end_of_stream_once_a_minute_old() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let (_, cursor) = walk_export_cursor(
        &c,
        "/api/v2/incremental/tickets/cursor.json?start_time=0",
        "tickets",
    )
    .await;
    let deleted = sim.ground_truth("acme").tickets.deleted;
    let mut live = (1..).filter(|id| !deleted.contains(id));
    let (commented, victim) = (live.next().unwrap(), live.next().unwrap());
    let new = sim
        .mutate("acme", Mutation::CreateTickets { count: 2 })
        .unwrap();
    sim.mutate(
        "acme",
        Mutation::AddComment {
            ticket_id: commented,
            public: true,
        },
    )
    .unwrap();
    sim.mutate(
        "acme",
        Mutation::DeleteTickets {
            ticket_ids: vec![victim],
        },
    )
    .unwrap();
    let path = format!("/api/v2/incremental/tickets/cursor.json?cursor={cursor}");
    let page = c.json(&path).await;
    assert_eq!(
        page["tickets"].as_array().unwrap().len(),
        0,
        "the last minute is left out"
    );
    assert_eq!(page["end_of_stream"], true);
    assert_eq!(
        page["after_cursor"],
        cursor.as_str(),
        "an empty page keeps the cursor"
    );
    sim.advance_time(61);
    let (changed, _) = walk_export_cursor(&c, &path, "tickets").await;
    let mut expected: Vec<u64> = new.clone();
    expected.extend([commented, victim]);
    assert_eq!(unique(&ids(&changed)), expected.into_iter().collect());
    let truth = sim.ground_truth("acme");
    for t in &changed {
        let id = t["id"].as_u64().unwrap();
        assert_eq!(
            t["generated_timestamp"].as_i64(),
            Some(truth.tickets.versions[&id].generated_timestamp)
        );
    }
    let deleted = changed.iter().find(|t| t["id"] == victim).unwrap();
    assert_eq!(deleted["status"], "deleted");
    let comments = c
        .json(&format!("/api/v2/tickets/{commented}/comments.json"))
        .await;
    let last = comments["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["via"]["channel"], "api",
        "the new comment is the last one"
    );
    assert_eq!(
        c.get(&format!("/api/v2/tickets/{victim}/comments.json"))
            .await
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn start_time_errors_have_zendesk_bodies() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let recent = sim.now() - 10;
    let r = c
        .get(&format!(
            "/api/v2/incremental/tickets.json?start_time={recent}"
        ))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"], "InvalidValue");
    assert!(r.json()["description"]
        .as_str()
        .unwrap()
        .starts_with("Too recent start_time"));
    let r = c
        .get("/api/v2/incremental/tickets/cursor.json?start_time=yesterday")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "InvalidValue");
    let r = c.get("/api/v2/incremental/organizations.json").await;
    assert_eq!(r.status, 400, "start_time is required");
    let r = c
        .get("/api/v2/incremental/tickets/cursor.json?cursor=garbage")
        .await;
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_and_organization_exports_match_the_dataset() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let (users, cursor) = walk_export_cursor(
        &c,
        "/api/v2/incremental/users/cursor.json?start_time=0&per_page=7",
        "users",
    )
    .await;
    let truth = sim.ground_truth("acme");
    assert_eq!(
        unique(&ids(&users)),
        truth.users.versions.keys().copied().collect()
    );
    let inactive: BTreeSet<u64> = users
        .iter()
        .filter(|u| u["active"] == false)
        .map(|u| u["id"].as_u64().unwrap())
        .collect();
    assert_eq!(inactive, truth.users.deleted);
    let agent = users.iter().find(|u| u["role"] == "agent").unwrap()["id"]
        .as_u64()
        .unwrap();
    sim.mutate("acme", Mutation::UpdateUser { user_id: agent })
        .unwrap();
    let created = sim
        .mutate("acme", Mutation::CreateUsers { count: 1 })
        .unwrap();
    sim.advance_time(61);
    let (later, _) = walk_export_cursor(
        &c,
        &format!("/api/v2/incremental/users/cursor.json?cursor={cursor}"),
        "users",
    )
    .await;
    assert_eq!(
        unique(&ids(&later)),
        [agent, created[0]].into_iter().collect()
    );

    let (orgs, _, _) = walk_export_time(
        &c,
        "/api/v2/incremental/organizations.json?start_time=0&per_page=3",
        "organizations",
    )
    .await;
    let latest: BTreeSet<u64> = ids(&orgs).into_iter().collect();
    assert_eq!(
        latest,
        truth.organizations.versions.keys().copied().collect()
    );
    assert!(orgs
        .iter()
        .all(|o| o["domain_names"].as_array().is_some_and(|d| !d.is_empty())));
    let (time_users, _, _) = walk_export_time(
        &c,
        "/api/v2/incremental/users.json?start_time=0&per_page=9",
        "users",
    )
    .await;
    assert_eq!(
        ids(&time_users).into_iter().collect::<BTreeSet<_>>(),
        sim.ground_truth("acme")
            .users
            .versions
            .keys()
            .copied()
            .collect()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ticket_events_carry_every_comment_once() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let truth = sim.ground_truth("acme");
    let (events, _, _) = walk_export_time(
        &c,
        "/api/v2/incremental/ticket_events.json?start_time=0&include=comment_events&per_page=100",
        "ticket_events",
    )
    .await;
    let mut comments = BTreeSet::new();
    let mut audits = BTreeSet::new();
    for e in &events {
        assert_eq!(e["event_type"], "Audit");
        assert!(e["via"].is_string(), "event via is a string");
        audits.insert(e["id"].as_u64().unwrap());
        for child in e["child_events"].as_array().unwrap() {
            if child["event_type"] == "Comment" {
                assert_eq!(child["type"], "Comment");
                assert_eq!(child["audit_id"], e["id"]);
                for key in [
                    "author_id",
                    "body",
                    "html_body",
                    "public",
                    "attachments",
                    "via",
                    "via_reference_id",
                    "created_at",
                ] {
                    assert!(child.get(key).is_some(), "comment event has {key}");
                }
                comments.insert(child["id"].as_u64().unwrap());
            }
        }
    }
    assert_eq!(comments, truth.comments.versions.keys().copied().collect());
    let plain = c
        .json("/api/v2/incremental/ticket_events.json?start_time=0&per_page=50")
        .await;
    let any_comment = plain["ticket_events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["child_events"].as_array().unwrap())
        .any(|child| child["event_type"] == "Comment");
    assert!(!any_comment, "comments only with include=comment_events");
    assert!(audits.len() >= truth.tickets.versions.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn ticket_events_carry_field_changes_as_in_the_audits() {
    let sim = start(small()).await;
    let c = admin(&sim);
    let (events, _, _) = walk_export_time(
        &c,
        "/api/v2/incremental/ticket_events.json?start_time=0&per_page=100",
        "ticket_events",
    )
    .await;
    // (ticket, child id) -> (field, value, previous value)
    let mut changes = BTreeMap::new();
    for e in &events {
        for child in e["child_events"].as_array().unwrap() {
            if child["event_type"] != "Change" {
                continue;
            }
            // The export names the field by a member of its own.
            let fields: Vec<&String> = child
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    ![
                        "id",
                        "via",
                        "via_reference_id",
                        "previous_value",
                        "event_type",
                    ]
                    .contains(&k.as_str())
                })
                .collect();
            assert_eq!(fields.len(), 1, "{child}");
            let field = fields[0].clone();
            changes.insert(
                (
                    e["ticket_id"].as_u64().unwrap(),
                    child["id"].as_u64().unwrap(),
                ),
                (
                    field.clone(),
                    child[&field].clone(),
                    child["previous_value"].clone(),
                ),
            );
        }
    }
    let escalations: Vec<_> = changes
        .iter()
        .filter(|(_, (field, to, from))| {
            field == "priority" && from == "normal" && (to == "high" || to == "urgent")
        })
        .collect();
    assert!(!escalations.is_empty(), "some tickets were escalated");
    assert!(changes.values().any(|(field, _, _)| field == "status"));
    // The audits of an escalated ticket hold the same change.
    let (&(ticket, id), (_, to, _)) = escalations[0];
    let audits = c
        .json(&format!("/api/v2/tickets/{ticket}/audits.json"))
        .await;
    let same = audits["audits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["events"].as_array().unwrap())
        .find(|event| event["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        (
            same["type"].as_str(),
            same["field_name"].as_str(),
            same["previous_value"].as_str()
        ),
        (Some("Change"), Some("priority"), Some("normal"))
    );
    assert_eq!(&same["value"], to);
    let ticket = c.json(&format!("/api/v2/tickets/{ticket}.json")).await;
    assert_eq!(
        &ticket["ticket"]["priority"], to,
        "the ticket keeps the raised priority"
    );
    sim.shutdown().await;
}
