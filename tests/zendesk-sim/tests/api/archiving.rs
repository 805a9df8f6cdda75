//! Archived tickets ("About archived tickets": closed tickets are archived 120 days after they
//! were closed): gone from the ticket list and the account's audit list, still in the
//! incremental exports, the search export and behind the per-ticket endpoints.

use std::collections::BTreeSet;

use serde_json::Value;
use zendesk_sim::{Mutation, SimConfig};

use super::audits::{all_events, archiving};
use super::client::{walk_export_cursor, walk_list};
use super::exports::{ids, unique};
use super::{admin, small, start};

#[tokio::test]
async fn archiving_is_off_by_default_and_takes_the_oldest_tickets() {
    let plain = &zendesk_sim::ground_truth(&small())["acme"];
    assert!(plain.archived.is_empty());
    assert_eq!(plain.listed_tickets(), plain.tickets.live());
    let config = SimConfig {
        epoch: Some(1_700_000_000),
        ..archiving()
    };
    let truth = &zendesk_sim::ground_truth(&config)["acme"];
    assert_eq!(
        truth.archived,
        (1..=45).collect::<BTreeSet<u64>>(),
        "30% of 150, the oldest ids"
    );
    let closed_by = 1_700_000_000 - 120 * 86_400;
    for id in &truth.archived {
        let v = truth.tickets.versions[id];
        assert!(
            v.updated_at < closed_by,
            "ticket {id} closed 120 days before the start"
        );
    }
    // The others keep the history they had.
    let oldest_other = truth
        .tickets
        .versions
        .iter()
        .filter(|(id, _)| !truth.archived.contains(id))
        .map(|(_, v)| v.updated_at)
        .min()
        .unwrap();
    assert!(oldest_other >= 1_700_000_000 - 90 * 86_400);
}

#[tokio::test]
async fn archived_tickets_leave_the_lists_but_not_the_exports_search_or_their_endpoints() {
    let sim = start(archiving()).await;
    let c = admin(&sim);
    let truth = sim.ground_truth("acme");
    let archived = truth.archived.clone();
    assert_eq!(archived.len(), 45);
    assert!(archived.is_subset(&truth.tickets.live()));

    // The ticket list and the audit list leave them out.
    let listed = walk_list(&c, "/api/v2/tickets.json?page[size]=100", "tickets").await;
    assert_eq!(unique(&ids(&listed)), truth.listed_tickets());
    let offset = c.json("/api/v2/tickets.json?per_page=100").await;
    assert_eq!(
        offset["count"].as_u64(),
        Some(truth.listed_tickets().len() as u64)
    );
    let audits = c.json("/api/v2/ticket_audits.json").await;
    let audits = audits["audits"].as_array().unwrap();
    assert!(!audits.is_empty());
    assert!(audits
        .iter()
        .all(|a| !archived.contains(&a["ticket_id"].as_u64().unwrap())));

    // The incremental ticket export has them, closed.
    let (exported, _) = walk_export_cursor(
        &c,
        "/api/v2/incremental/tickets/cursor.json?start_time=0",
        "tickets",
    )
    .await;
    let closed: BTreeSet<u64> = exported
        .iter()
        .filter(|t| t["status"] == "closed")
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert!(archived.is_subset(&closed));
    // So do the search export and the ticket event export, with their comments.
    let found = walk_list(
        &c,
        "/api/v2/search/export.json?query=status:closed&filter[type]=ticket&page[size]=50",
        "results",
    )
    .await;
    assert!(archived.is_subset(&unique(&ids(&found))));
    let events = all_events(&c).await;
    let exported_comments: BTreeSet<u64> = events
        .values()
        .flat_map(|e| e["child_events"].as_array().unwrap())
        .filter(|e| e["event_type"] == "Comment")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let archived_comments: BTreeSet<u64> = truth
        .comment_tickets
        .iter()
        .filter(|(_, t)| archived.contains(t))
        .map(|(c, _)| *c)
        .collect();
    assert!(archived_comments.is_subset(&exported_comments));

    // Each one's own endpoints answer; its audits come whole, without pagination.
    for &id in &archived {
        let ticket = c.json(&format!("/api/v2/tickets/{id}.json")).await;
        assert_eq!(ticket["ticket"]["status"], "closed");
        let comments = walk_list(
            &c,
            &format!("/api/v2/tickets/{id}/comments.json?page[size]=2"),
            "comments",
        )
        .await;
        let of_ticket: BTreeSet<u64> = archived_comments
            .iter()
            .filter(|c| truth.comment_tickets[*c] == id)
            .copied()
            .collect();
        assert_eq!(unique(&ids(&comments)), of_ticket);
        let page = c
            .json(&format!("/api/v2/tickets/{id}/audits.json?page[size]=1"))
            .await;
        let got = ids(page["audits"].as_array().unwrap());
        let want: Vec<u64> = events
            .values()
            .filter(|e| e["ticket_id"] == id)
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "ticket {id}: every audit on one page");
        assert_eq!(page["count"].as_u64(), Some(want.len() as u64));
        assert!(page["next_page"].is_null() && page.get("meta").is_none());
    }
    // A live ticket's audits still page.
    let live = *truth.listed_tickets().iter().next().unwrap();
    let page = c
        .json(&format!("/api/v2/tickets/{live}/audits.json?page[size]=1"))
        .await;
    assert_eq!(page["audits"].as_array().unwrap().len(), 1);
    assert!(page["meta"]["has_more"].is_boolean());
    sim.shutdown().await;
}

#[tokio::test]
async fn archived_tickets_cannot_be_updated_but_can_be_deleted() {
    let sim = start(archiving()).await;
    let archived: Vec<u64> = sim.ground_truth("acme").archived.into_iter().collect();
    let comment = Mutation::AddComment {
        ticket_id: archived[0],
        public: true,
    };
    assert!(sim.mutate("acme", comment).is_err());
    let reopen = Mutation::SetStatus {
        ticket_id: archived[0],
        status: "open".into(),
    };
    assert!(sim.mutate("acme", reopen).is_err());
    sim.mutate(
        "acme",
        Mutation::DeleteTickets {
            ticket_ids: vec![archived[1]],
        },
    )
    .unwrap();
    let truth = sim.ground_truth("acme");
    assert!(!truth.archived.contains(&archived[1]));
    assert!(truth.tickets.deleted.contains(&archived[1]));
    let c = admin(&sim);
    assert_eq!(
        c.get(&format!("/api/v2/tickets/{}.json", archived[1]))
            .await
            .status,
        404
    );
    let ticket = c
        .json(&format!("/api/v2/tickets/{}.json", archived[0]))
        .await;
    assert_eq!(ticket["ticket"]["status"], Value::from("closed"));
    sim.shutdown().await;
}
